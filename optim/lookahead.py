"""Lookahead (Zhang, Lucas, Hinton & Ba 2019): k steps forward, one step back. Chapter: *Lookahead*.

Slow weights φ start as a copy of the initial weights θ₀. After every k steps of
the inner ("fast") optimizer — at steps k, 2k, … — they move a fraction α
towards the fast weights, and the fast weights restart from them. (This is the
paper's Algorithm 1 and what ``pytorch-optimizer``'s ``Lookahead`` does; versions
that create φ lazily at the first sync make that first sync a no-op, and the
TensorFlow versions that create φ with ``_zeros_slot`` — michaelrzhang/lookahead's
``lookahead_tensorflow.py`` (α = 0.8, a sync every k + 1 updates),
lifeiteng/Optimizers' ``lookahead_optimizer.py`` and jyhengcoder/Ranger_tensorflow's
``ranger.py`` (a sync at the very first update) — scale every weight by α at their
first sync. The chapter cites them by line.)

The counter and the slow weights are state: a checkpoint must hold both (the first
author's ``lookahead_pytorch.py`` saves neither, so a restored run syncs late).
"""
import numbers

from .core import PURE, Optimizer, State, require


def lookahead_sync(fast, slow, alpha, x):
    r"""φ ← φ + α(θ − φ), then θ ← φ. Returns ``(fast, slow)``."""
    slow = x.lerp(slow, fast, alpha)
    fast = x.copy(fast, slow)
    return fast, slow


def validate_lookahead(k, alpha):
    if not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"Invalid k: {k!r} (allowed: an integer k >= 1)")
    require("alpha", alpha, 0.0, 1.0, low_open=True)


class Lookahead(Optimizer):
    """Lookahead around any optimizer of this package: ``Lookahead(Adam(lr=1e-3), k=5, alpha=0.5)``."""

    name = "Lookahead"

    def __init__(self, base: Optimizer, k: int = 5, alpha: float = 0.5):
        if not isinstance(base, Optimizer):
            raise TypeError(f"Lookahead wraps an optim optimizer, got {type(base).__name__}")
        validate_lookahead(k, alpha)
        self.base, self.k, self.alpha = base, k, alpha
        self.hyper = {**base.hyper, "k": k, "alpha": alpha}

    def init(self, params) -> State:
        return State("LookaheadState", t=0, slow=PURE.clone(params), base=self.base.init(params))

    def step(self, params, grads, state: State):
        fast, base_state = self.base.step(params, grads, state.base)
        t, slow = state.t + 1, state.slow
        if t % self.k == 0:
            fast, slow = lookahead_sync(fast, slow, self.alpha, PURE)
        return fast, State("LookaheadState", t=t, slow=slow, base=base_state)

    def with_hyper(self, **changes) -> "Lookahead":
        k, alpha = changes.pop("k", self.k), changes.pop("alpha", self.alpha)
        return type(self)(self.base.with_hyper(**changes), k=k, alpha=alpha)

    def __repr__(self) -> str:
        return f"optim.Lookahead({self.base!r}, k={self.k}, alpha={self.alpha})"
