"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms") — ``lion_pytorch.Lion``'s rule.

Chapter: *Lion*.

Where the defaults come from. The authors' PyTorch reference (``google/automl``,
``lion/lion_pytorch.py``) and lucidrains' ``lion-pytorch`` 0.2.5 (``lion_pytorch.Lion``, the
oracle of ``tests/test_lion.py``) both take ``lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0`` and
multiply the weights by ``1 − lr·weight_decay`` before the step (the paper's decoupled decay).
This class has the same defaults and the same decay. Differences, all deliberate:

* ``lion_pytorch.Lion(use_triton=..., decoupled_weight_decay=...)`` are not offered.
  ``use_triton`` selects a CUDA kernel for the same rule. Their ``decoupled_weight_decay=True``
  divides λ by the *constructor's* lr (so the decay per step is λ·lr/lr₀, and with a constant lr
  simply λ); for a constant lr, ``weight_decay=λ/lr`` here gives the same numbers (tested).
* ``maximize`` (every optimizer of the book has it; neither reference does).
* Validation: ``lr < 0`` or a β outside [0, 1) raises ``ValueError`` (the ranges the automl
  reference checks), and so does ``weight_decay < 0``. lion-pytorch only checks, with
  ``assert``, that ``lr > 0`` (so it refuses ``lr=0``, accepted here) and β in [0, 1]; no λ.
* ``pytorch_optimizer.Lion`` (4.1) has the same defaults and rule but: the momentum is updated
  with ``lerp`` (the same number up to rounding); ``weight_decouple=False`` adds λw to the gradient
  *before* the sign (an L2 term, not offered here); ``fixed_decay=True`` multiplies by 1 − λ
  regardless of lr; it negates ``p.grad`` in place for ``maximize`` (this class never touches the
  gradient); and it has extras (``foreach``, ``cautious``, ``use_gc``, ``adanorm``).
"""
from .core import Optimizer, gradient, require, require_betas


def lion_update(p, g, s, h, x):
    r"""One step of Lion: the sign of an interpolation, then a slower memory.

    .. math::
        c_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        w_{t+1} &= (1 - \alpha\lambda)\, w_t - \alpha\, \mathrm{sign}(c_t) \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2)\, g_t

    β₁ weighs the new gradient in the *update*, β₂ in the *memory*; the memory is updated after
    the update is computed, so c_t uses m_{t−1}. sign(0) = 0. Every coordinate with c ≠ 0 moves
    by exactly α (plus the decay). The state is one buffer, m (torch key ``exp_avg``).
    """
    p, g = gradient(p, g, h, x)                       # maximize; p ← (1 − αλ) p
    c = s.m * h.beta1 + g * (1 - h.beta1)              # a new array: m is still m_{t−1}
    p = x.add(p, x.sign(c), alpha=-h.lr)
    s.m = x.add(x.mul(s.m, h.beta2), g, alpha=1 - h.beta2)
    return p


def validate_lion(hp):
    require("lr", hp["lr"], 0.0)
    require_betas(hp["betas"])
    require("weight_decay", hp["weight_decay"], 0.0)


class Lion(Optimizer):
    """Lion, with the arguments and defaults of ``lion_pytorch.Lion`` (and the authors' reference)."""

    name = "Lion"
    defaults = dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False)
    fixed = dict(decoupled_weight_decay=True)
    torch_keys = dict(m="exp_avg")
    update = staticmethod(lion_update)
    validate = staticmethod(validate_lion)

    @staticmethod
    def init_state(p, h, x):
        return dict(m=x.zeros_like(p))
