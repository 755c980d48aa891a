"""Ranger: Lookahead around RAdam, with gradient centralization. Chapter: *Ranger*.

Ranger was assembled by Less Wright in August 2019 from RAdam (Liu et al. 2020) and
Lookahead (Zhang et al. 2019); in April 2020, about eight months later, he added
gradient centralization (Yong et al. 2020), and that is its best-known version. Its defaults are that repository's, tuned by its author on
image classification (ImageNette/ImageWoof leaderboards in fast.ai), not derived:

* ``lr=1e-3``; ``betas=(0.95, 0.999)`` — a β₁ higher than Adam's 0.9;
* ``eps=1e-5`` — added to the uncorrected √v_t as in RAdam;
* ``k=6, alpha=0.5`` — Lookahead syncs every 6 steps, halfway;
* the RAdam threshold ρ_t > 5 (``N_sma_threshhold=5`` there): below it, an
  un-normalised, bias-corrected momentum step;
* ``use_gc=True``: every gradient of a tensor with more than one dimension is
  centred, g ← g − mean(g) over all axes but the first (``gc_conv_only=True``
  restricts this to convolution kernels, 4-D and up). A matrix with a single
  column (``torch.nn.Linear(1, n)``) is centred to zero and never trains; use
  ``gc_conv_only=True`` for such models;
* weight decay (default 0) is decoupled, as in AdamW.
"""
import inspect

from .core import Optimizer, _differs
from .lookahead import Lookahead
from .radam import RAdam


class CentralizedRAdam(RAdam):
    """RAdam whose gradients are centred first (gradient centralization); Ranger's inner optimizer.

    In the NumPy face each run's parameters are one vector, and Ranger leaves
    vectors (like biases) alone, so ``use_gc`` changes nothing there; in the torch
    face it centres every weight matrix and kernel.
    """

    name = "RAdam"
    defaults = {**RAdam.defaults, "betas": (0.95, 0.999), "eps": 1e-5,
                "decoupled_weight_decay": True, "use_gc": True, "gc_conv_only": False}


class Ranger(Lookahead):
    """Ranger = Lookahead(RAdam + gradient centralization), with Less Wright's defaults."""

    name = "Ranger"

    def __init__(self, lr=1e-3, betas=(0.95, 0.999), eps=1e-5, weight_decay=0.0,
                 k=6, alpha=0.5, use_gc=True, gc_conv_only=False):
        inner = CentralizedRAdam(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                 use_gc=use_gc, gc_conv_only=gc_conv_only)
        super().__init__(inner, k=k, alpha=alpha)

    def with_hyper(self, **changes) -> "Ranger":
        hyper = {key: self.hyper[key] for key in ("lr", "betas", "eps", "weight_decay", "use_gc", "gc_conv_only")}
        return Ranger(**{**hyper, "k": self.k, "alpha": self.alpha, **changes})

    def __repr__(self) -> str:
        defaults = inspect.signature(Ranger.__init__).parameters
        current = {**{key: self.hyper[key] for key in ("lr", "betas", "eps", "weight_decay", "use_gc",
                                                       "gc_conv_only")}, "k": self.k, "alpha": self.alpha}
        args = ", ".join(f"{k}={v!r}" for k, v in current.items() if _differs(v, defaults[k].default))
        return f"optim.Ranger({args})"
