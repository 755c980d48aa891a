"""Muon (Jordan et al. 2024) — ``torch.optim.Muon``'s rule: momentum, orthogonalised by Newton–Schulz.

Chapter: *Muon*.

Muon updates *matrices*: the hidden weight matrices of a network. Its step is the momentum
buffer's nearest semi-orthogonal matrix (approximately: ``U Vᵀ`` of the buffer's SVD ``U Σ Vᵀ``),
computed by five steps of a quintic Newton–Schulz iteration. Embeddings, biases, gains and the
output head are not for Muon: train them with AdamW (chapter *Muon*, section "Muon and AdamW
side by side")::

    hidden = [p for p in model.body.parameters() if p.ndim == 2]
    others = [p for p in model.parameters() if all(p is not q for q in hidden)]
    opts = [optim.torch.Muon(hidden, lr=0.02), optim.torch.AdamW(others, lr=3e-4)]

In the NumPy face the last two axes of a parameter are the matrix; leading axes are independent
runs (a sweep over learning rates of shape ``(B, 1, 1)`` is one call).

The oracle is ``torch.optim.Muon`` (torch 2.13), with the same arguments and defaults
(``lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=(3.4445, -4.7750,
2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None``), the same state (``momentum_buffer``), the same
refusal of parameters that are not 2-D, and the same numbers (``tests/test_muon.py``).
Differences, all deliberate or forced:

* **Precision.** ``torch.optim.Muon`` casts the matrix to **bfloat16** before Newton–Schulz, on
  every device, CPU included (``_zeropower_via_newtonschulz``: ``grad.bfloat16()``), and adds the
  bfloat16 result to the parameter. Here Newton–Schulz runs in the parameter's own dtype
  (float64 or float32). Against torch with that one cast made a same-dtype copy, the two agree after
  200 steps to at most 1.6e-13 (float64) and 2.7e-5 (float32; 2e-6 or less on all but one sensitive
  row of the grid) in ``tests/test_muon.py``. Against torch as shipped, one update differs by
  bfloat16's rounding: 1.3e-2 to 3.2e-2 of the update's largest entry (measured there, three
  matrices), 6e-2 of the parameters after 200 steps. Keller Jordan's reference casts to bfloat16 too (the
  iteration was designed to be stable there, on GPUs).
* ``maximize`` (every optimizer of the book has it; torch's Muon does not).
* Validation, stricter than torch's: ``momentum`` in [0, 1) (torch only checks ≥ 0), ``eps`` ≥ 0,
  ``ns_steps`` an integer in [0, 100) and ``ns_coefficients`` three numbers are checked at
  construction (torch checks the last two only when it steps, and ``eps`` never).
* Sharded parameters: Newton–Schulz needs the whole matrix. Under ZeRO-1 each rank steps whole
  tensors, so it has it. Under FSDP2 the rule gathers nothing itself, but its matrix products run on
  DTensor shards and DTensor redistributes them as each product needs (a row-sharded ``G`` times
  ``G.T`` comes out row-sharded): the result equals one process's to rounding
  (``tests/test_distributed.py``: within 1e-12 in float64 after 30 steps), at the cost of that
  communication, which is not measured. (Keller Jordan's distributed ``Muon`` instead gives each
  process whole matrices and all-gathers the results.)
* The refusal of a non-matrix parameter says what to do instead (torch: "Muon only supports 2D
  parameters whereas we found a parameter with size: ..."; the message here starts the same way).

Where torch and Keller Jordan's reference (``KellerJordan/Muon``, ``muon.py``) differ:

* defaults: the reference has ``lr=0.02, weight_decay=0, momentum=0.95`` and no ``nesterov``,
  ``ns_steps`` or coefficient arguments (Nesterov always on, 5 steps, the same coefficients);
  torch has ``lr=1e-3, weight_decay=0.1``.
* normalisation before the iteration: the reference divides by ``‖X‖_F + 1e-7``, torch by
  ``max(‖X‖_F, eps)`` (this class: torch's).
* the reference's Nesterov step writes into ``p.grad`` (``grad.lerp_(momentum, beta)``); torch and
  this class leave the gradient alone.
* the reference flattens 4-D convolution filters to ``(out, in·h·w)`` and runs on them; torch
  (and this class) refuse anything but 2-D.
* the reference gives a parameter without a gradient a zero gradient (it still decays and moves
  by the momentum's orthogonalisation); torch (and this class) skip it.
* the learning-rate adjustment: the reference scales the update by ``max(1, A/B)^½`` for an
  ``A × B`` matrix — torch's ``adjust_lr_fn=None`` or ``"original"``; ``"match_rms_adamw"`` is
  Moonshot's ``0.2·√max(A, B)`` (Liu et al. 2025), which makes the update's RMS about AdamW's so
  that AdamW's lr and weight decay carry over.
* torch's docstring writes the momentum as ``B_t = μ B_{t−1} + g_t``; its code (and the reference)
  keep the moving average ``B_t = μ B_{t−1} + (1−μ) g_t``. After the normalisation the two give
  the same direction (they differ by the factor 1−μ, which only ``eps`` could see).
"""
from __future__ import annotations

import numbers

import numpy as np

from .core import HyperparameterTypeError, Optimizer, gradient, require

#: Keller Jordan's quintic coefficients (a, b, c): p(σ) = aσ + bσ³ + cσ⁵
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
#: the values torch.optim.Muon's adjust_lr_fn accepts
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def orthogonalize(G, coefficients=NS_COEFFICIENTS, steps=5, eps=1e-7, x=None):
    r"""The Newton–Schulz iteration: G = U Σ Vᵀ ↦ ≈ U Vᵀ, on the last two axes.

    .. math::
        X_0 = G / \max(\lVert G\rVert_F, \epsilon), \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \quad A_k = X_k X_k^\top

    Each step maps every singular value σ of X to p(σ) = aσ + bσ³ + cσ⁵ and keeps the singular
    vectors. Dividing by the Frobenius norm puts every σ in (0, 1]. A tall matrix (rows > cols)
    is transposed first, so that A = X Xᵀ is the smaller Gram matrix (torch does the same).
    """
    if x is None:
        from .core import PURE as x
    a, b, c = coefficients
    tall = G.shape[-2] > G.shape[-1]
    X = x.mT(G) if tall else G
    n = x.matrix_norm(X)
    X = X / x.where(n > eps, n, eps)
    for _ in range(steps):
        A = x.matmul(X, x.mT(X))
        B = b * A + c * x.matmul(A, A)
        X = a * X + x.matmul(B, X)
    return x.mT(X) if tall else X


def adjusted_lr(lr, adjust_lr_fn, shape):
    """The learning rate for an A × B matrix: α·max(1, A/B)^½ (Keller Jordan's, torch's default) or
    α·0.2·√max(A, B) (``"match_rms_adamw"``, Moonshot's)."""
    A, B = shape[-2], shape[-1]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * max(A, B) ** 0.5)
    return lr * max(1, A / B) ** 0.5


def muon_update(p, g, s, h, x):
    r"""One step of Muon: momentum, orthogonalised.

    .. math::
        m_t &= \mu\, m_{t-1} + (1-\mu)\, g_t \\
        u_t &= \begin{cases} (1-\mu)\, g_t + \mu\, m_t & \text{nesterov} \\ m_t & \text{otherwise}\end{cases} \\
        O_t &= \mathrm{NS}_5(u_t) \approx U V^\top \quad (u_t = U \Sigma V^\top) \\
        W_{t+1} &= (1-\alpha\lambda)\, W_t - \alpha\, s(A, B)\, O_t

    with s(A, B) = max(1, A/B)^½ for an A × B matrix (or 0.2·√max(A, B) with
    ``adjust_lr_fn="match_rms_adamw"``). The weight decay uses the unscaled α. The state is one
    buffer, m (torch key ``momentum_buffer``).
    """
    p, g = gradient(p, g, h, x)                      # maximize; W ← (1 − αλ) W
    s.m = x.lerp(s.m, g, 1 - h.momentum)
    u = x.lerp(x.clone(g), s.m, h.momentum) if h.nesterov else s.m
    O = orthogonalize(u, h.ns_coefficients, h.ns_steps, h.eps, x)
    return x.add(p, O, alpha=-adjusted_lr(h.lr, h.adjust_lr_fn, p.shape))


def not_a_matrix(shape, numpy_face=False) -> str:
    """The message for a parameter Muon cannot update, saying what to do instead."""
    what = (f"Muon updates matrices: the last two axes of the parameters (leading axes are independent "
            f"runs); got parameters of shape {tuple(shape)}." if numpy_face else
            f"Muon only supports 2D parameters whereas we found a parameter with size: {shape}.")
    return (f"{what} Train biases, gains, embeddings and the output head with AdamW: two optimizers, "
            f"Muon(hidden weight matrices, e.g. [p for p in model.body.parameters() if p.ndim == 2]) and "
            f"AdamW(every other parameter), both stepped each iteration (chapter Muon, section "
            f"'Muon and AdamW side by side')")


def validate_muon(hp):
    require("lr", hp["lr"], 0.0)
    require("weight_decay", hp["weight_decay"], 0.0)
    require("momentum", hp["momentum"], 0.0, 1.0, high_open=True)
    require("eps", hp["eps"], 0.0)
    coefficients = hp["ns_coefficients"]
    if not isinstance(coefficients, (tuple, list)):
        raise HyperparameterTypeError(f"Invalid ns_coefficients: {coefficients!r} (expected three numbers "
                                      f"(a, b, c), got {type(coefficients).__name__})")
    if len(coefficients) != 3:
        raise ValueError(f"Invalid ns_coefficients: {coefficients!r} (expected three numbers (a, b, c), "
                         f"got {len(coefficients)})")
    for name, value in zip("abc", coefficients):
        require(f"ns_coefficients {name}", value)
    steps = hp["ns_steps"]
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        require("ns_steps", steps)                   # a string, None: HyperparameterTypeError
        raise ValueError(f"Invalid ns_steps: {steps!r} (allowed: an integer 0 <= ns_steps < 100)")
    require("ns_steps", steps, 0, 100, high_open=True)
    if not (hp["adjust_lr_fn"] is None or isinstance(hp["adjust_lr_fn"], str)) \
            or hp["adjust_lr_fn"] not in ADJUST_LR_FNS:
        raise ValueError(f"Invalid adjust_lr_fn: {hp['adjust_lr_fn']!r} (allowed: None, 'original', "
                         f"'match_rms_adamw')")


class Muon(Optimizer):
    """Muon, with the arguments and defaults of ``torch.optim.Muon`` (plus ``maximize``)."""

    name = "Muon"
    defaults = dict(lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=NS_COEFFICIENTS,
                    eps=1e-7, ns_steps=5, adjust_lr_fn=None, maximize=False)
    fixed = dict(decoupled_weight_decay=True)
    torch_keys = dict(m="momentum_buffer")
    update = staticmethod(muon_update)
    validate = staticmethod(validate_muon)

    @staticmethod
    def init_state(p, h, x):
        if p.ndim < 2:
            raise ValueError(not_a_matrix(p.shape, numpy_face=x.name == "numpy"))
        return dict(m=x.zeros_like(p))
