"""The reader's optimizers, transcribed from their TensorFlow sources into PyTorch.

Each class does, update by update, what the TensorFlow code the reader plugged into
google-research/bert's ``optimization.create_optimizer`` does: same formulas, same
counters, same off-by-ones. The sources (commit, file, lines) are cited on each
class; the chapter shows them side by side. These are REPRODUCTIONS of other code,
bugs included, not recommendations: the book's own optimizers are ``optim.torch``.

``increments_global_step`` says whether the TensorFlow optimizer's
``apply_gradients(..., global_step=global_step)`` adds 1 to the global step (every
``tf.train.Optimizer`` that does not override ``apply_gradients`` does). BERT's
``create_optimizer`` adds 1 itself as well, so with such an optimizer the global step
advances by 2 per update: the learning-rate schedule runs at double speed and
training stops after half the updates (see :func:`finetuning_lab.bert.finetune`).

Sources read (see the chapter for the lines):

* google-research/bert ``optimization.py`` (file at f39e881, 2018-12-18);
* lifeiteng/Optimizers ``radam_optimizer.py`` and ``lookahead_optimizer.py`` (542e5c7);
* michaelrzhang/lookahead ``lookahead_tensorflow.py`` (22f9e9a);
* jyhengcoder/Ranger_tensorflow ``ranger.py`` (7134e3c).
"""
from __future__ import annotations

import math
import re

import torch

NO_DECAY = ("LayerNorm", "layer_norm", "bias")   # BERT's exclude_from_weight_decay


def bert_groups(model, weight_decay: float = 0.01):
    """Parameter groups as BERT's ``_do_use_weight_decay`` splits them: ``re.search`` of
    "LayerNorm", "layer_norm" or "bias" anywhere in the name turns decay off."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if any(re.search(r, name) for r in NO_DECAY) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def _moments(st: dict, p, b1: float, b2: float) -> dict:
    """Adam's two moving averages of ``p.grad``, created as zeros (TensorFlow's slots)."""
    if not st:
        st["m"], st["v"] = torch.zeros_like(p), torch.zeros_like(p)
    st["m"].mul_(b1).add_(p.grad, alpha=1 - b1)
    st["v"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
    return st


class BertAdamW(torch.optim.Optimizer):
    """BERT's ``AdamWeightDecayOptimizer`` (optimization.py L87–174).

    m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η (m/(√v + ε) + λw).
    No bias correction, ε = 1e-6 outside the root, decay decoupled and inside the
    learning rate. Its ``apply_gradients`` ignores ``global_step`` (hence BERT's own
    increment, and its comment "if you use a different optimizer, you should probably
    take this line out").
    """
    increments_global_step = False

    def __init__(self, params, lr=0.0, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            (b1, b2), eps, lr, wd = group["betas"], group["eps"], group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = _moments(self.state[p], p, b1, b2)
                update = st["m"] / (st["v"].sqrt() + eps)
                if wd:
                    update.add_(p, alpha=wd)
                p.sub_(lr * update)


class TFRAdam(torch.optim.Optimizer):
    """RAdam as the reader's TensorFlow code computes it, with its counters as options.

    Defaults are lifeiteng's ``RAdamOptimizer`` (radam_optimizer.py L28–29, L83–140):
    a step counter read as n at update n (``step_lag=0``), β powers β₁ⁿ, β₂ⁿ; with
    ρ∞ = 2/(1−β₂) − 1 and ρ = ρ∞ − 2·step·β₂ⁿ/(1−β₂ⁿ):

    * ρ > 5 (strict): w ← w − η/(1−β₁ⁿ) · r · m/(√v + ε), where
      r = √((1−β₂ⁿ)(ρ−4)(ρ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρ)) (ε on the *uncorrected* √v);
    * otherwise the un-adapted momentum step w ← w − η·m/(1−β₁ⁿ).

    No weight decay. jyhengcoder's Ranger uses the same rule with ``step_lag=1`` (its
    step variable starts at 0 while its β powers start at β, ranger.py L70–72,
    L139–161), ε on the corrected root (``eps_on_corrected=True``) and ρ ≥ 5
    (``inclusive=True``); with ``step_lag=1``, ρ at update 1 is ρ∞, so r₁ = 1 and
    the momentum branch never runs. ``row_sparse``: parameters whose step, as in
    TensorFlow's sparse path for ``tf.gather``-ed embeddings, only touches the rows
    with a gradient (Ranger's ``_resource_apply_sparse``).
    """
    increments_global_step = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 step_lag=0, eps_on_corrected=False, inclusive=False, row_sparse=()):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.step_lag, self.eps_on_corrected, self.inclusive = step_lag, eps_on_corrected, inclusive
        self.row_sparse = {id(p) for p in row_sparse}
        self.n = 0          # updates so far (TensorFlow's non-slot counters follow from it)

    def rectification(self, n: int, beta2: float) -> tuple[float, bool]:
        """(r as the code computes it, rectified?) at update n."""
        b2n = beta2 ** n
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 * (n - self.step_lag) * b2n / (1 - b2n)
        rectified = rho >= 5 if self.inclusive else rho > 5
        if not rectified:
            return 0.0, False
        r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return r, True

    @torch.no_grad()
    def step(self, closure=None):
        self.n += 1
        n = self.n
        for group in self.param_groups:
            (b1, b2), eps, lr, wd = group["betas"], group["eps"], group["lr"], group["weight_decay"]
            r, rectified = self.rectification(n, b2)
            c1, c2 = 1 - b1 ** n, 1 - b2 ** n
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = _moments(self.state[p], p, b1, b2)
                if not rectified:
                    update = st["m"] / c1
                elif self.eps_on_corrected:
                    update = r * (st["m"] / c1) / ((st["v"] / c2).sqrt() + eps)
                else:
                    update = (r * math.sqrt(c2) / c1) * st["m"] / (st["v"].sqrt() + eps)
                if wd:
                    update.add_(p, alpha=wd)
                if id(p) in self.row_sparse:
                    update.mul_((p.grad != 0).any(dim=-1, keepdim=True))
                p.sub_(lr * update)


class TFLookahead(torch.optim.Optimizer):
    """Lookahead as the reader's TensorFlow wrappers do it: slow weights that start at ZERO.

    After the inner optimizer's update n, if ``(n − offset) % period == 0``:
    slow ← slow + α(w − slow); w ← slow. The slow weights are ``_zeros_slot``s, never
    copied from the pre-trained weights, so the first sync sets w ← α·w.

    * lifeiteng ``LookaheadOptimizer`` (lookahead_optimizer.py L26–30, L97–129):
      k = 5, α = 0.5, sync at n = 5, 10, … (``period=5``); it calls the inner
      optimizer's ``apply_gradients`` with the global step, so it increments the
      global step exactly when the inner optimizer does.
    * michaelrzhang ``Lookahead`` (lookahead_tensorflow.py L18–113): ``la_steps=5``,
      α = 0.8, a counter compared with ``>=`` then reset, so a sync every 6 updates
      (``period=6``); the base class ``apply_gradients`` increments the global step.
    * jyhengcoder ``Ranger`` (ranger.py L77, L169–172): k = 6, α = 0.5, sync when
      ``step % k == 0`` with a step that starts at 0: n = 1, 7, 13, … (``offset=1``).

    ``zero_slow=False`` copies the weights instead (the paper's Algorithm 1).
    """

    def __init__(self, inner, alpha=0.5, period=5, offset=0, zero_slow=True,
                 increments_global_step=None):
        self.inner, self.alpha, self.period, self.offset = inner, alpha, period, offset
        self.increments_global_step = (getattr(inner, "increments_global_step", True)
                                       if increments_global_step is None else increments_global_step)
        self.param_groups, self.n = inner.param_groups, 0
        self.defaults, self.state = inner.defaults, inner.state
        self.slow = {id(p): (torch.zeros_like(p) if zero_slow else p.detach().clone())
                     for g in self.param_groups for p in g["params"]}

    def zero_grad(self, set_to_none: bool = True):
        self.inner.zero_grad(set_to_none)

    @torch.no_grad()
    def step(self, closure=None):
        self.inner.step()
        self.n += 1
        if (self.n - self.offset) % self.period:
            return
        for group in self.param_groups:
            for p in group["params"]:
                slow = self.slow[id(p)]
                slow.add_(p - slow, alpha=self.alpha)
                p.copy_(slow)


class Exhausted(torch.optim.Optimizer):
    """lifeiteng's Lookahead(AdamW) under Python 3, as BERT calls it: no weight ever moves.

    BERT passes ``zip(grads, tvars)`` (optimization.py L76–77). The wrapper's
    ``apply_gradients`` iterates it once to list the variables (lookahead_optimizer.py
    L95), then hands the same, now exhausted, iterator to the inner optimizer (L104):
    BERT's AdamW loops over nothing, and the graph still runs without an error.
    """
    increments_global_step = False
    moves_nothing = True      # the training loop may skip the forward and backward passes

    def __init__(self, params):
        super().__init__(params, dict(lr=0.0))

    def step(self, closure=None):
        return None


def ranger_jyhengcoder(params, row_sparse=()):
    """jyhengcoder's Ranger with its defaults (lr 1e-3 is replaced by BERT's schedule)."""
    inner = TFRAdam(params, eps=1e-8, step_lag=1, eps_on_corrected=True, inclusive=True,
                    row_sparse=row_sparse)
    return TFLookahead(inner, alpha=0.5, period=6, offset=1)
