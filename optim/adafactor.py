"""Adafactor (Shazeer & Stern 2018, "Adaptive Learning Rates with Sublinear Memory Cost") — ``torch.optim.Adafactor``'s rule.

Chapter: *Adafactor*.

Adafactor keeps, for a weight matrix of n × m entries, not Adam's n·m second moments but a
moving average R of the *row* means of g² (n numbers) and C of the *column* means (m numbers),
and rebuilds the second moment as the rank-1 matrix V̂ = R C / mean(R): n + m numbers instead
of n·m. It has no first moment (no momentum), its step is relative to the weights' own size
(RMS(w)), its β₂ grows with the step count (β̂₂ₜ = 1 − t^−0.8), and each update is clipped to an
RMS of at most d.

**Oracle**: ``torch.optim.Adafactor`` (torch 2.13): the same arguments and defaults
(``lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0``, keyword-only
``foreach`` and ``maximize``), the same state under the same keys (``step``; ``row_var`` of
shape ``[..., n, 1]`` and ``col_var`` of shape ``[..., 1, m]`` for a parameter of two or more
dimensions; ``variance`` for a vector or a number), the same numbers (``tests/test_adafactor.py``).

**Which parameters are factored.** torch factors every parameter with two or more dimensions,
over its last two (a 4-D convolution kernel ``(o, i, h, w)`` keeps ``o·i·h + o·i·w`` numbers);
RMS(w) and RMS(U) are over the whole tensor. The torch face does exactly that. The NumPy face
cannot guess, because its leading axes are independent runs: a batch of 2-D landscape points has
shape ``(runs, 2)`` and must not be factored into one matrix. So it asks:

* ``optim.Adafactor(...)`` (``matrix=False``, the default): each run's parameter is a **vector**
  in the last axis; full ``variance``; RMS over the last axis.
* ``optim.Adafactor(..., matrix=True)``: each run's parameter is a **matrix** in the last two
  axes; ``row_var`` ``[..., n, 1]``, ``col_var`` ``[..., 1, m]``; RMS over the last two axes.
  A parameter with fewer than two axes is refused.

The rule itself never asks: it branches on the state it was given (``variance is None`` means
factored), as torch's loop does.

**torch against the paper** (the paper's Algorithms 4 (matrices) and 5 (vectors) and its proposed
hyperparameters ε₁ = 10⁻³⁰, ε₂ = 10⁻³, d = 1, ρₜ = min(10⁻², 1/√t), β̂₂ₜ = 1 − t^−0.8; torch's
docstring lists four of these differences, the first three and the last):

* ε₁: the paper adds ε₁ = 10⁻³⁰ to g² before the row and column means; torch leaves R and C
  alone and instead clamps the denominator mean(R) below by ε₁, and V̂ below by ε₁² (i.e.
  √V̂ by ε₁), with ε₁ = the dtype's machine epsilon when ``eps[0]`` is ``None``
  (2.2e-16 in float64, 1.2e-7 in float32).
* ρₜ = min(lr, 1/√t): the paper fixes the cap at 10⁻² and has no lr; torch's ``lr`` is that cap
  (default 1e-2, so by default the same numbers). The step is αₜ = max(ε₂, RMS(w_{t−1}))·ρₜ, the
  paper's relative step with parameter scaling — both always on in torch (they are switches,
  ``relative_step``/``scale_parameter``, in HF transformers).
* Weight decay: the paper has none; torch multiplies the weights by (1 − lr·λ) before the step
  (decoupled, with ``lr``, not αₜ), after RMS(w) was taken.
* No first moment: the paper's algorithm drops momentum (its abstract: "dropping momentum"); torch
  has no ``beta1`` (HF transformers does, as an option), and neither has this class.
* Means instead of sums: torch keeps row and column *means* of g² and divides by mean(R); the
  paper sums and divides by 1ᵀR. R C / 1ᵀR with sums equals R C / mean(R) with means, exactly
  in real arithmetic (chapter, exercise 1).

**Where this class differs from torch** (all deliberate, none changes the numbers of a run in
one dtype):

* ``foreach`` is accepted and ignored (torch defaults to its for-loop too).
* With ``eps[0]=None``, torch's loop sets ε₁ from the *first* parameter's dtype and keeps it for
  the rest of the group; here each tensor uses its own dtype's epsilon (they agree unless a group
  mixes dtypes).
* Arithmetic: R and C are ``mean(g*g)`` (torch: ``‖g‖²/n`` along the axis), 1/√V̂ is ``1/sqrt``
  (torch: ``rsqrt``); the same numbers up to rounding (``tests/test_adafactor.py``: within a relative
  1e-10 in float64 and 1e-5 in float32 after 210 noisy steps).
* ``maximize`` and ``foreach`` are keyword-only, as in torch. Complex parameters are not checked
  for (torch refuses them).
* torch's docstring gives ``weight_decay`` "(default: 1e-2)" in its argument list, but its signature's
  default is 0.0; this class has the signature's 0.0.

**HF transformers** (``transformers.optimization.Adafactor``; its ``_approx_sq_grad`` is marked as copied
from fairseq's): defaults
``lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, beta1=None,
scale_parameter=True, relative_step=True, warmup_init=False``; adds ε₁ to g² (the paper's
place); with ``relative_step`` ρₜ = min(1e-2, 1/√t) (or min(1e-6·t, 1/√t) with
``warmup_init``), otherwise ρₜ = lr; weight decay λ·αₜ (with the scaled step, not lr); keeps
``exp_avg_sq_row``/``exp_avg_sq_col`` without the kept axis, computes in float32 for half
parameters, and has the optional first moment β₁.
"""
from __future__ import annotations

import math

import numpy as np

from .core import HyperparameterTypeError, Optimizer, enabled, require


def tensor_rms(a, factored, x, d=1.0):
    """RMS(a) / d of one parameter's tensor: ‖a‖ / (√n · d), as torch computes it.

    torch face: over the whole tensor (a Python number, as torch's ``.item()``). NumPy face: over
    each run's tensor (the last axis, or the last two when ``factored``), kept for broadcasting.
    """
    if factored:                      # a matrix rule's tensor is its last two axes: flatten them into one
        a = a.reshape(tuple(a.shape[:-2]) + (-1,))
    norm = x.norm(a)                  # NumPy: over the last axis; torch: the whole tensor (0-d)
    n = math.prod(a.shape) // math.prod(np.shape(norm))       # entries per tensor, in either face
    r = x.value(norm) / (n**0.5 * d)
    return r[..., None] if factored and np.ndim(r) else r


def machine_eps(p) -> float:
    """The machine epsilon of the parameter's floating dtype (torch.finfo or np.finfo): torch's ε₁ default."""
    if type(p).__module__.startswith("torch"):
        import torch                    # only reached in the torch face: optim itself never imports torch
        return torch.finfo(p.dtype).eps
    dtype = np.result_type(p)
    return float(np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps)


def factored_second_moment(row_var, col_var, eps1, x):
    r"""V̂ = R C / max(mean(R), ε₁): the rank-1 estimate of E[g²] from the row means R ([..., n, 1])
    and the column means C ([..., 1, m]). The outer product is a matmul of a column by a row."""
    mean_r = x.mean(row_var, -2)
    return x.matmul(row_var, col_var) / x.where(mean_r > eps1, mean_r, eps1)


def adafactor_update(p, g, s, h, x):
    r"""One step of Adafactor as torch.optim.Adafactor takes it (no first moment).

    .. math::
        \hat\beta_{2,t} &= 1 - t^{\tau}, \qquad \rho_t = \min(\alpha, 1/\sqrt t), \qquad
            \alpha_t = \max(\epsilon_2, \mathrm{RMS}(w_{t-1}))\, \rho_t \\
        w &\leftarrow (1 - \alpha\lambda)\, w_{t-1} \\
        R_t &= \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t})\, \mathrm{mean}_j\, g_t^2, \quad
        C_t = \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t})\, \mathrm{mean}_i\, g_t^2, \quad
        \hat V_t = \frac{R_t C_t}{\max(\mathrm{mean}_i R_t,\ \epsilon_1)}
        \quad\text{(matrices)} \\
        \hat V_t &= \hat\beta_{2,t} \hat V_{t-1} + (1-\hat\beta_{2,t})\, g_t^2 \quad\text{(vectors)} \\
        U_t &= g_t / \max(\sqrt{\hat V_t}, \epsilon_1), \qquad
        w_t = w - \alpha_t\, U_t / \max(1, \mathrm{RMS}(U_t)/d)

    τ = ``beta2_decay`` (−0.8), α = ``lr``, (ε₁, ε₂) = ``eps`` (ε₁ = None: the dtype's machine
    epsilon), d the clipping threshold, λ = ``weight_decay``. At t = 1, β̂₂ = 0: R, C, V start
    at the first gradient's moments, with no bias correction needed. The state: ``t`` (``step``)
    and either ``row_var`` R and ``col_var`` C (a factored parameter) or ``variance`` V̂.
    """
    if h.maximize:
        g = -g
    factored = s.variance is None
    eps1, eps2 = h.eps
    if eps1 is None:
        eps1 = machine_eps(p)
    s.t += 1
    t = x.value(s.t)
    one_minus_beta2 = t**h.beta2_decay
    lr = x.value(h.lr)
    rho = np.minimum(lr, 1 / t**0.5)
    alpha = np.maximum(eps2, tensor_rms(p, factored, x)) * rho        # RMS of w_{t-1}, before the decay
    if enabled(h.weight_decay):
        p = x.mul(p, 1 - lr * h.weight_decay)
    g2 = g * g
    if factored:
        s.row_var = x.lerp(s.row_var, x.mean(g2, -1), one_minus_beta2)
        s.col_var = x.lerp(s.col_var, x.mean(g2, -2), one_minus_beta2)
        v = factored_second_moment(s.row_var, s.col_var, eps1, x)
    else:
        s.variance = x.lerp(s.variance, g2, one_minus_beta2)
        v = s.variance
    u = g / x.sqrt(x.where(v > eps1 * eps1, v, eps1 * eps1))
    clip = np.maximum(1.0, tensor_rms(u, factored, x, h.d))
    return x.add(p, u, alpha=-alpha / clip)


def validate_adafactor(hp):
    require("lr", hp["lr"], 0.0)
    require("beta2_decay", hp["beta2_decay"], high=0.0)
    eps = hp["eps"]
    if not isinstance(eps, (tuple, list)):
        raise HyperparameterTypeError(f"Invalid eps: {eps!r} (expected a pair (eps1, eps2), eps1 may be None; "
                                      f"got {type(eps).__name__})")
    if len(eps) != 2:
        raise ValueError(f"Invalid eps: {eps!r} (expected a pair (eps1, eps2), got {len(eps)} values)")
    if eps[0] is not None:
        require("eps1 (eps[0])", eps[0], 0.0)
    require("eps2 (eps[1])", eps[1], 0.0)
    require("d", hp["d"], 1.0)
    require("weight_decay", hp["weight_decay"], 0.0)


def init_adafactor(p, h, x):
    """``row_var``/``col_var`` for a factored parameter, ``variance`` for the rest.

    Factored: in the NumPy face when the optimizer says ``matrix=True``; in the torch face (whose
    hyperparameters carry no ``matrix``) when the parameter has two or more dimensions, as torch.
    """
    matrix = getattr(h, "matrix", None)
    factored = p.ndim > 1 if matrix is None else bool(matrix)
    if factored and p.ndim < 2:
        raise ValueError(f"Adafactor(matrix=True) factors the last two axes of each parameter, but got "
                         f"parameters of shape {tuple(p.shape)}; use matrix=False for vectors (their "
                         f"last axis is one run's parameter)")
    if not factored:
        return dict(t=x.counter(0), row_var=None, col_var=None, variance=x.zeros_like(p))
    zeros = x.zeros_like(p)
    return dict(t=x.counter(0), row_var=x.mean(zeros, -1), col_var=x.mean(zeros, -2), variance=None)


class Adafactor(Optimizer):
    """Adafactor with the arguments and defaults of ``torch.optim.Adafactor``.

    NumPy face only: ``matrix=True`` factors the last two axes of each run's parameter (see the
    module's docstring); the default treats each run's parameter as a vector (the last axis).
    """

    name = "Adafactor"
    defaults = dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False)
    torch_keys = dict(t="step", row_var="row_var", col_var="col_var", variance="variance")
    update = staticmethod(adafactor_update)
    validate = staticmethod(validate_adafactor)
    init_state = staticmethod(init_adafactor)

    def __init__(self, matrix=False, **hyper):
        if not isinstance(matrix, (bool, np.bool_)):
            raise HyperparameterTypeError(f"Invalid matrix: {matrix!r} (expected True or False)")
        super().__init__(**hyper)
        self.matrix = bool(matrix)
        self.h.matrix = self.matrix

    def with_hyper(self, **changes) -> "Adafactor":
        return type(self)(matrix=self.matrix, **{**self.hyper, **changes})

    def __repr__(self) -> str:
        text = super().__repr__()
        if not self.matrix:
            return text
        return text[:-1] + (", " if not text.endswith("()") else "") + "matrix=True)"
