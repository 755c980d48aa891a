r"""Prodigy (Mishchenko & Defazio 2023) and D-Adaptation Adam (Defazio & Mishchenko 2023).

Chapter: *Prodigy*. Oracles: ``prodigyopt.Prodigy`` 1.1.2 and ``dadaptation.DAdaptAdam`` 3.2
(``tests/test_prodigy.py``); the arguments, defaults and state keys are theirs.

Both are Adam whose step size is ``d · lr``, where d estimates D = ‖w₀ − w*‖ from the run itself,
and lr (default 1.0) only adjusts that estimate. d is **one number for the whole model**: it needs
sums over every parameter before any parameter moves. So the rule is written once in three parts:

1. ``accumulate(p, g, s, h, x, c)`` — for one tensor: update its moments and its sum of weighted
   gradients ``s``, and return its two contributions (numerator, ‖s‖₁) to the estimate of d;
2. ``estimate(c, h, numerator, denominator)`` — the new d from the sums (scalars only);
3. ``apply(p, g, s, h, x, c)`` — for one tensor: the Adam step with the step size d·lr.

``c`` holds the run's scalars (d, its step size ``dlr`` = d·lr·bias correction, β's, ...). The NumPy
face (one tensor per run, the last axis; leading axes are independent runs, each with its own d)
runs the three parts back to back in ``update``; the torch face (:class:`optim.torch.Prodigy`) runs
pass 1 over every parameter of every param group, sums, estimates once, then runs pass 2 —
as the oracles do. The run's scalars live where the oracles keep them: in every param group
(``d``, ``d_max``, ``d_numerator``, ``k``, ...), so the oracles' state dicts load; in the NumPy
face they are fields of the state.

Differences from the oracles, all deliberate:

* ``maximize`` (every optimizer of the book has it; neither oracle does).
* The gradient is never modified: both oracles add the coupled weight decay λw to ``p.grad``
  *in place* (the caller's gradient changes); here the sum is a new tensor (same numbers).
* Validation is stricter where the oracles accept nonsense: ``weight_decay ≥ 0``, ``d_coef > 0``,
  ``growth_rate ≥ 1`` (below 1 the oracle's d shrinks every step), ``beta3`` in [0, 1] or None,
  ``slice_p`` an integer ≥ 1. The oracles' own checks (``lr > 0``, ``eps > 0``, ``d0 > 0``, β's in
  [0, 1)) are kept, with the book's messages.
* Prodigy's state for an all-zero parameter: the oracle stores ``p0`` as a 0-d zero (to save memory);
  the torch face does the same, the NumPy face keeps a full copy (the same numbers).
* ``fsdp_in_use=True``: the two sums are all-reduced with ``torch.distributed`` on the parameters'
  device (the oracles move them to CUDA first; DAdaptAdam's oracle all-reduces its already averaged
  numerator, the same number). Without an initialised process group the step raises ``RuntimeError``.
  The torch face also turns it on by itself for FSDP2's sharded DTensor parameters (the oracles
  look for FSDP1's ``_fsdp_flattened`` only). Under ZeRO-1 each process steps whole tensors of its
  own, which nothing marks: pass ``fsdp_in_use=True`` there. Tested on 2 processes against one
  (``tests/test_distributed.py``).
* DAdaptAdam's torch face also stores ``d_hat`` in the param groups (the oracle computes it but
  keeps only ``d`` and ``numerator_weighted``): an extra key, ignored by the oracle on loading.

Where the oracles differ from the papers is listed in each ``*_update`` docstring.
"""
from __future__ import annotations

import math
import numbers
from types import SimpleNamespace

import numpy as np

from .core import Optimizer, State, enabled, require, require_betas, PURE


# ---------------------------------------------------------------- scalar helpers (floats or per-run arrays)
def _scalar(*values) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _max(a, b):
    return max(a, b) if _scalar(a, b) else np.maximum(a, b)


def _min(a, b):
    return min(a, b) if _scalar(a, b) else np.minimum(a, b)


def _where(cond, a, b):
    """``a if cond else b``, run by run."""
    return (a if cond else b) if _scalar(cond) else np.where(cond, a, b)


def _sqrt(a):
    return math.sqrt(a) if _scalar(a) else np.sqrt(a)


def _safe(den):
    """The denominator, with 1 where it is 0 (those runs do not step; see ``update``)."""
    return den if _scalar(den) and den != 0 else _where(den == 0, 1.0, den)


def _l1(a, x):
    """‖a‖₁ of one tensor (NumPy face: of the last axis)."""
    return x.dot(abs(a), 1.0)


def effective_gradient(p, g, h, x, decouple):
    """The gradient the estimate and the step follow: sign flipped for ``maximize``, and λw added
    when the weight decay is coupled (an L2 term). A new tensor; ``g`` itself is not touched."""
    if h.maximize:
        g = -g
    if enabled(h.weight_decay) and not decouple:
        g = x.plus(g, p, h.weight_decay)
    return g


def bias_correction(c):
    """√(1−β₂^(k+1)) / (1−β₁^(k+1)) with ``use_bias_correction``, else 1 (both oracles' default)."""
    if not c.use_bias_correction:
        return 1
    return ((1 - c.beta2 ** (c.k + 1)) ** 0.5) / (1 - c.beta1 ** (c.k + 1))


# ================================================================ Prodigy
def prodigy_scalars(run, h, lr=None):
    """The scalars a step reads (``run``: the NumPy state, or torch's first param group)."""
    beta1, beta2 = h.betas if hasattr(h, "betas") else (h.beta1, h.beta2)
    c = SimpleNamespace(d=run.d, d_max=run.d_max, d_numerator=run.d_numerator, k=run.k,
                        beta1=beta1, beta2=beta2,
                        beta3=_sqrt(beta2) if h.beta3 is None else h.beta3,
                        use_bias_correction=h.use_bias_correction, decouple=h.decouple)
    c.dlr = c.d * (h.lr if lr is None else lr) * bias_correction(c)
    return c


def prodigy_accumulate(p, g, s, h, x, c):
    r"""Pass 1 of Prodigy for one tensor: moments, weighted gradient sum, and its share of d's estimate.

    With λ_k = d_k·(d_k·lr)/d₀ (``(d / d0) * dlr``; d₀ cancels in the ratio, it only keeps the
    sums far from underflow)::

        numerator share  = λ_k ⟨g_k, w₀ − w_k⟩          (over every slice_p-th entry)
        m_k = β₁ m_{k−1} + d_k (1−β₁) g_k
        v_k = β₂ v_{k−1} + d_k² (1−β₂) g_k²
        s_k = β₃ s_{k−1} + λ_k g_k                      (safeguard_warmup: d_k²/d₀ instead of λ_k)
        denominator share = ‖s_k‖₁

    Returns the two shares as numbers (per run in the NumPy face).
    """
    d, k = c.d, h.slice_p
    weight = d / h.d0 * c.dlr
    g_s = x.every(g, k)
    numerator = weight * x.value(x.dot(g_s, s.p0 - x.every(p, k)))
    if s.m is not None:
        s.m = x.add(x.mul(s.m, c.beta1), g, alpha=d * (1 - c.beta1))
    s.v = x.addcmul(x.mul(s.v, c.beta2), g, g, value=d * d * (1 - c.beta2))
    s.s = x.add(x.mul(s.s, c.beta3), g_s, alpha=d / h.d0 * (d if h.safeguard_warmup else c.dlr))
    return numerator, x.value(_l1(s.s, x))


def prodigy_estimate(c, h, numerator, denominator):
    r"""Between the passes: the new d from the sums over every parameter.

    .. math::
        r_k = \beta_3 r_{k-1} + \textstyle\sum \lambda_k \langle g_k, w_0 - w_k\rangle, \qquad
        \hat d_k = d_{\text{coef}}\, \frac{r_k}{\lVert s_k\rVert_1}, \qquad
        d_{k+1} = \min\bigl(\max_{i \le k} \hat d_i,\; d_k \cdot \text{growth\_rate}\bigr)

    (the first rise from d₀ is not capped by the growth rate). d never decreases.
    Returns the new values of the run's scalars.
    """
    d_numerator = c.d_numerator * c.beta3 + numerator
    d_hat = h.d_coef * d_numerator / _safe(denominator)
    d = _where(c.d == h.d0, _max(c.d, d_hat), c.d)
    d_max = _max(c.d_max, d_hat)
    d = _min(d_max, d * h.growth_rate)
    return dict(d_numerator=d_numerator, d_denom=denominator, d=d, d_max=d_max, d_hat=d_hat)


def prodigy_apply(p, g, s, h, x, c):
    r"""Pass 2 of Prodigy for one tensor: Adam's step with step size ``dlr`` (the d *before* this step's
    estimate) and ε scaled by the *new* d, as in the oracle::

        w ← w − dlr·λ·w                     (decouple=True and λ > 0)
        w ← w − dlr · m_k / (√v_k + d_{k+1} ε)      (β₁ = 0: dlr·d_{k+1}·g_k in place of dlr·m_k)
    """
    s.t = s.t + 1                 # a new number (NumPy face: t may be a per-run array)
    denom = x.sqrt(s.v) + c.d * h.eps
    if enabled(h.weight_decay) and c.decouple:
        p = x.add(p, p, alpha=-h.weight_decay * c.dlr)
    if s.m is None:
        return x.addcdiv(p, g, denom, -c.dlr * c.d)
    if np.ndim(c.beta1) and np.any(c.beta1 == 0):  # a NumPy sweep over β₁ that includes 0: that run's path
        return x.addcdiv(p, np.where(c.beta1 == 0, g * c.d, s.m), denom, -c.dlr)
    return x.addcdiv(p, s.m, denom, -c.dlr)


def prodigy_update(p, g, s, h, x):
    r"""One step of Prodigy (Mishchenko & Defazio 2023; the Adam version of its section 5) as
    ``prodigyopt.Prodigy`` 1.1.2 computes it; one tensor per run (the NumPy face).

    .. math::
        \lambda_k &= d_k^2\, \text{lr} / d_0 \\
        r_k &= \beta_3 r_{k-1} + \lambda_k \langle g_k, w_0 - w_k\rangle, \qquad
        s_k = \beta_3 s_{k-1} + \lambda_k g_k \\
        d_{k+1} &= \max\bigl(d_k,\; d_{\text{coef}}\, r_k / \lVert s_k\rVert_1\bigr) \\
        m_k &= \beta_1 m_{k-1} + (1-\beta_1)\, d_k g_k, \qquad
        v_k = \beta_2 v_{k-1} + (1-\beta_2)\, d_k^2 g_k^2 \\
        w_{k+1} &= w_k - d_k\,\text{lr}\; m_k / (\sqrt{v_k} + d_{k+1}\epsilon)

    with β₃ = √β₂ by default. Where the oracle (followed here) differs from the paper's algorithm:

    * the paper weighs r and s by (1 − β₃)λ_k; the oracle drops (1 − β₃) and divides by d₀ —
      both cancel in r/‖s‖₁, so d is the same;
    * the paper's denominator is √v + d_k ε; the oracle's uses the new d_{k+1};
    * the oracle adds ``d_coef`` (multiplies d̂), ``growth_rate`` (caps d's growth per step),
      ``safeguard_warmup`` (λ_k without lr in s), Adam's bias correction as an option (off), decoupled
      weight decay by dlr·λ (on by default), and ``slice_p`` (the estimate from every p-th entry);
    * with β₁ = 0 the oracle keeps no m and steps by d_{k+1}·g_k (the d of after the estimate).

    A run whose ‖s_k‖₁ is 0 (no gradient yet) does not move and keeps its scalars (the oracle
    returns before its second pass); its m, v, s have still taken their EMA step.
    """
    g = effective_gradient(p, g, h, x, h.decouple)
    c = prodigy_scalars(s, h)
    numerator, denominator = prodigy_accumulate(p, g, s, h, x, c)
    new = prodigy_estimate(c, h, numerator, denominator)
    c.d = new["d"]
    stepped = prodigy_apply(p, g, s, h, x, c)
    return _commit(p, stepped, s, new, denominator)


def _commit(p, stepped, s, new, denominator):
    """Store the new scalars and return the new params, run by run only where ‖s‖₁ > 0."""
    moved = denominator != 0
    if _scalar(moved) and moved or np.all(moved):
        s.__dict__.update(new)
        s.k = s.k + 1
        return stepped
    for key, value in new.items():
        setattr(s, key, _where(moved, value, getattr(s, key)))
    s.k = _where(moved, s.k + 1, s.k)
    s.t = _where(moved, s.t, s.t - 1)
    return _where(moved, stepped, p)


def init_prodigy(p, h, x):
    k = getattr(h, "slice_p", 1)
    beta1 = h.betas[0] if hasattr(h, "betas") else h.beta1
    return dict(t=0, m=x.zeros_like(p) if enabled(beta1) else None, v=x.zeros_like(p),
                s=x.zeros_like(x.every(p, k)), p0=x.add(x.zeros_like(x.every(p, k)), x.every(p, k)))


def validate_prodigy(hp):
    require("lr", hp["lr"], 0.0, low_open=True)
    require_betas(hp["betas"])
    if hp.get("beta3") is not None:
        require("beta3", hp["beta3"], 0.0, 1.0)   # 1: the plain sums of the paper's analysis
    require("eps", hp["eps"], 0.0, low_open=True)
    require("weight_decay", hp["weight_decay"], 0.0)
    require("d0", hp["d0"], 0.0, low_open=True)
    if "d_coef" in hp:
        require("d_coef", hp["d_coef"], 0.0, low_open=True)
    require("growth_rate", hp["growth_rate"], 1.0)
    if "slice_p" in hp:
        k = hp["slice_p"]
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"Invalid slice_p: {k!r} (allowed: an integer slice_p >= 1)")


class _DAdaptation(Optimizer):
    """The NumPy face's state: the per-tensor buffers plus the run's scalars."""

    #: the run's scalars (param-group keys in the torch face) and their values before the first step
    scalars: dict = {}

    def init(self, params) -> State:
        params = np.asarray(params)
        fields = self.init_state(params, self.h, PURE)
        fields.update({k: (self.h.d0 if v == "d0" else v) for k, v in self.scalars.items()})
        return State(f"{self.name}State", **fields)


class Prodigy(_DAdaptation):
    """Prodigy, with the arguments and defaults of ``prodigyopt.Prodigy`` 1.1.2 (plus ``maximize``).

    lr = 1.0 is meant to stay 1.0: the step size is d·lr, d estimated. The state holds, besides
    Adam's m and v, the weighted gradient sum s and the starting point p0 (4 buffers per parameter,
    Adam's 2), and the run's scalars d, d_max, d_numerator, d_denom, d_hat, k.
    """

    name = "Prodigy"
    defaults = dict(lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8, weight_decay=0.0, decouple=True,
                    use_bias_correction=False, safeguard_warmup=False, d0=1e-6, d_coef=1.0,
                    growth_rate=float("inf"), slice_p=1, maximize=False)
    torch_keys = dict(t="step", m="exp_avg", v="exp_avg_sq", s="s", p0="p0")
    scalars = dict(d="d0", d_max="d0", d_numerator=0.0, d_denom=0.0, d_hat="d0", k=0)
    update = staticmethod(prodigy_update)
    validate = staticmethod(validate_prodigy)
    init_state = staticmethod(init_prodigy)
    scalars_of = staticmethod(prodigy_scalars)
    accumulate = staticmethod(prodigy_accumulate)
    estimate = staticmethod(prodigy_estimate)
    apply = staticmethod(prodigy_apply)


# ================================================================ D-Adaptation Adam
def dadapt_scalars(run, h, lr=None):
    beta1, beta2 = h.betas if hasattr(h, "betas") else (h.beta1, h.beta2)
    c = SimpleNamespace(d=run.d, numerator_weighted=run.numerator_weighted, k=run.k,
                        beta1=beta1, beta2=beta2, sqrt_beta2=beta2 ** 0.5,
                        use_bias_correction=h.use_bias_correction, decouple=h.decouple)
    c.dlr = c.d * (h.lr if lr is None else lr) * bias_correction(c)
    return c


def dadapt_accumulate(p, g, s, h, x, c):
    r"""Pass 1 of D-Adaptation Adam for one tensor (r: the group's ``layer_scale``, 1 by default)::

        numerator share   = r·dlr ⟨g_k, s_{k−1} / (√v_{k−1} + ε)⟩
        m_k = β₁ m_{k−1} + r·dlr (1−β₁) g_k           (m already holds the step size)
        v_k = β₂ v_{k−1} + (1−β₂) g_k²
        s_k = √β₂ s_{k−1} + dlr (1−√β₂) g_k
        denominator share = r ‖s_k‖₁
    """
    r, b = h.layer_scale, c.sqrt_beta2
    numerator = r * c.dlr * x.value(x.dot(g, s.s / (x.sqrt(s.v) + h.eps)))
    s.m = x.add(x.mul(s.m, c.beta1), g, alpha=r * c.dlr * (1 - c.beta1))
    s.v = x.addcmul(x.mul(s.v, c.beta2), g, g, value=1 - c.beta2)
    s.s = x.add(x.mul(s.s, b), g, alpha=c.dlr * (1 - b))
    return numerator, r * x.value(_l1(s.s, x))


def dadapt_estimate(c, h, numerator, denominator):
    r"""Between the passes: the weighted numerator's EMA and the new d.

    .. math::
        \tilde r_k = \sqrt{\beta_2}\,\tilde r_{k-1} + (1-\sqrt{\beta_2}) \textstyle\sum \text{shares}, \qquad
        \hat d_k = \frac{\tilde r_k}{(1-\sqrt{\beta_2}) \lVert s_k\rVert_1}, \qquad
        d_{k+1} = \max\bigl(d_k,\ \min(\hat d_k,\ d_k\cdot\text{growth\_rate})\bigr)
    """
    b = c.sqrt_beta2
    numerator_weighted = b * c.numerator_weighted + (1 - b) * numerator
    d_hat = numerator_weighted / ((1 - b) * _safe(denominator))
    d = _max(c.d, _min(d_hat, c.d * h.growth_rate))
    return dict(numerator_weighted=numerator_weighted, d=d, d_hat=d_hat)


def dadapt_apply(p, g, s, h, x, c):
    """Pass 2 of D-Adaptation Adam for one tensor: w ← w − dlr·λ·w (decouple), w ← w − m_k/(√v_k + ε)."""
    s.t = s.t + 1                 # a new number (NumPy face: t may be a per-run array)
    denom = x.sqrt(s.v) + h.eps
    if enabled(h.weight_decay) and c.decouple:
        p = x.add(p, p, alpha=-h.weight_decay * c.dlr)
    return x.addcdiv(p, s.m, denom, -1.0)


def dadapt_update(p, g, s, h, x):
    r"""One step of D-Adaptation Adam (Defazio & Mishchenko 2023) as ``dadaptation.DAdaptAdam`` 3.2
    computes it; one tensor per run (NumPy face).

    .. math::
        m_k &= \beta_1 m_{k-1} + (1-\beta_1)\, d_k \text{lr}\, g_k, \qquad
        v_k = \beta_2 v_{k-1} + (1-\beta_2)\, g_k^2 \\
        s_k &= \sqrt{\beta_2}\, s_{k-1} + (1-\sqrt{\beta_2})\, d_k \text{lr}\, g_k \\
        \tilde r_k &= \sqrt{\beta_2}\, \tilde r_{k-1}
                    + (1-\sqrt{\beta_2})\, d_k \text{lr} \langle g_k, s_{k-1}/(\sqrt{v_{k-1}}+\epsilon)\rangle \\
        d_{k+1} &= \max\Bigl(d_k,\ \frac{\tilde r_k}{(1-\sqrt{\beta_2}) \lVert s_k\rVert_1}\Bigr), \qquad
        w_{k+1} = w_k - m_k / (\sqrt{v_k} + \epsilon)

    The step size d_k·lr enters m (and s) when the gradient is added, so m carries old step sizes.
    The estimate is the one of dadaptation ≥ 3.0, the inner-product ("IP") bound r̃ built from
    ⟨g_k, s_{k−1}/(√v+ε)⟩; the paper's Adam variant (kept by the package as
    ``experimental/dadapt_adam_preprint.py``) estimated d from ‖s‖² and Σ‖g‖² terms instead, with
    β₂ (not √β₂) in s — the package's changelog says 3.0 "may behave differently in practice".
    Where the oracle (followed here) also goes beyond the paper: ``growth_rate``, Adam's bias correction
    as an option (off by default), decoupled weight decay by dlr·λ (``decouple``, off by default),
    and the group key ``layer_scale`` (torch face only). A run whose ‖s‖₁ is 0 does not move.
    """
    g = effective_gradient(p, g, h, x, h.decouple)
    c = dadapt_scalars(s, h)
    numerator, denominator = dadapt_accumulate(p, g, s, h, x, c)
    new = dadapt_estimate(c, h, numerator, denominator)
    stepped = dadapt_apply(p, g, s, h, x, c)
    return _commit(p, stepped, s, new, denominator)


def init_dadapt(p, h, x):
    return dict(t=0, m=x.zeros_like(p), v=x.zeros_like(p), s=x.zeros_like(p))


def validate_dadapt(hp):
    validate_prodigy({**hp, "beta3": None})


class DAdaptAdam(_DAdaptation):
    """D-Adaptation Adam, with the arguments and defaults of ``dadaptation.DAdaptAdam`` 3.2 (plus
    ``maximize``). lr = 1.0 is meant to stay 1.0. State: m, v and the gradient sum s (3 buffers per
    parameter), and the run's scalars d, numerator_weighted, d_hat, k."""

    name = "DAdaptAdam"
    defaults = dict(lr=1.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decouple=False,
                    use_bias_correction=False, d0=1e-6, growth_rate=float("inf"), maximize=False)
    fixed = dict(layer_scale=1.0)
    torch_keys = dict(t="step", m="exp_avg", v="exp_avg_sq", s="s")
    scalars = dict(d="d0", numerator_weighted=0.0, d_hat="d0", k=0)
    update = staticmethod(dadapt_update)
    validate = staticmethod(validate_dadapt)
    init_state = staticmethod(init_dadapt)
    scalars_of = staticmethod(dadapt_scalars)
    accumulate = staticmethod(dadapt_accumulate)
    estimate = staticmethod(dadapt_estimate)
    apply = staticmethod(dadapt_apply)
