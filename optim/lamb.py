"""LARS (You, Gitman & Ginsburg 2017) and LAMB (You et al. 2020): layer-wise trust ratios.

Chapter: *LARS and LAMB*. Oracles: ``pytorch_optimizer.LARS`` and ``pytorch_optimizer.Lamb``
(pytorch-optimizer 4.1.0), whose arguments, defaults and state keys the torch face keeps.

Both rules are *layer-wise*: the step of a whole parameter tensor (a layer) is rescaled by a
trust ratio built from two norms of that tensor, ‖w‖ and the norm of its update. They are
vector rules in the sense of :mod:`optim.core`: ``x.norm`` is the L2 norm of one tensor, in
the NumPy face over the last axis (each run's parameters are one layer), in the torch face
over the whole parameter.
"""
import numpy as np

from .core import Optimizer, enabled, require, require_betas

#: pytorch_optimizer.Lamb clamps the weight norm at this value (``Lamb.clamp = 10.0``)
WEIGHT_NORM_CLAMP = 10.0


def adapts(p, x) -> bool:
    """Whether the trust ratio scales this tensor's step (LARS).

    The torch face follows pytorch_optimizer's LARS: tensors with more than one dimension
    (weight matrices, kernels) are adapted; vectors and scalars (biases, norm scales) take a
    plain momentum-SGD step, without trust ratio *and without weight decay*. In the NumPy
    face every run is one layer (its last axis), and it is always adapted.
    """
    return x.name == "numpy" or p.ndim > 1


def _safe(where, cond, a_thunk, b):
    with np.errstate(divide="ignore", invalid="ignore"):  # the branch not taken may divide by 0
        return where(cond, a_thunk(), b)


def lars_update(p, g, s, h, x):
    r"""One step of LARS, as ``pytorch_optimizer.LARS`` takes it.

    For a layer w (a tensor with more than one dimension in the torch face):

    .. math::
        \text{trust}_t &= \eta\, \frac{\|w_t\|}{\|g_t\| + \lambda \|w_t\|}
            \quad (1 \text{ if } \|w_t\| = 0 \text{ or the denominator is } 0) \\
        u_t &= \text{trust}_t\, (g_t + \lambda w_t) \\
        b_t &= \mu\, b_{t-1} + (1 - \text{dampening})\, u_t
            \qquad (b_0 = 0;\ \text{no buffer when } \mu = 0) \\
        w_{t+1} &= w_t - \alpha\, b_t
            \qquad (\text{Nesterov: } w_t - \alpha\,(u_t + \mu b_t))

    η is ``trust_coefficient`` (default 1e-3), α ``lr``, λ ``weight_decay``, μ ``momentum``.
    A vector or scalar (a bias) has u_t = g_t: no trust ratio, no weight decay.

    Differences from the paper (You, Gitman & Ginsburg 2017, Algorithm 1), all the oracle's:

    * the paper keeps the global rate γ_t *inside* the momentum buffer
      (v ← m v + γ_t λ^l (∇L + βw), w ← w − v); here α multiplies the buffer. The same path
      for a constant α; with a schedule the buffer remembers old rates in the paper, not here;
    * the paper adapts every layer; the oracle (and this torch face) leaves out tensors of
      one dimension or less, and gives them no weight decay either;
    * the first buffer is (1 − dampening)·u₁ (the buffer starts at zero), where
      ``torch.optim.SGD`` would start it at u₁.
    """
    if h.maximize:
        g = -g
    if adapts(p, x):
        w_norm, g_norm = x.norm(p), x.norm(g)
        denom = g_norm + h.weight_decay * w_norm
        inner = _safe(x.where, denom > 0, lambda: h.trust_coefficient * w_norm / denom, 1.0)
        trust = x.where(w_norm > 0, inner, 1.0)
        g = (g + h.weight_decay * p) * trust          # a new tensor: the gradient is not ours
    if enabled(h.momentum):
        s.b = x.add(x.mul(s.b, h.momentum), g, alpha=1 - h.dampening)
        g = g + h.momentum * s.b if h.nesterov else s.b
    return x.add(p, g, alpha=-h.lr)


def validate_lars(hp):
    require("lr", hp["lr"], 0.0)
    require("weight_decay", hp["weight_decay"], 0.0)
    require("momentum", hp["momentum"], 0.0, 1.0, high_open=True)
    require("dampening", hp["dampening"], 0.0, 1.0, high_open=True)
    require("trust_coefficient", hp["trust_coefficient"], 0.0)


class LARS(Optimizer):
    """LARS with the arguments and defaults of ``pytorch_optimizer.LARS`` (see :func:`lars_update`)."""

    name = "LARS"
    defaults = dict(lr=1e-3, weight_decay=0.0, momentum=0.9, dampening=0.0, trust_coefficient=1e-3,
                    nesterov=False, maximize=False)
    torch_keys = dict(b="momentum_buffer")
    update = staticmethod(lars_update)
    validate = staticmethod(validate_lars)

    @staticmethod
    def init_state(p, h, x):
        return dict(b=x.zeros_like(p) if enabled(h.momentum) else None)


# ---------------------------------------------------------------------------------------- LAMB
def pre_norm_scale(norm, max_grad_norm, eps):
    """min(1, max_grad_norm / (‖g‖ + ε)); 1 when max_grad_norm = 0 (the oracle's ``pre_norm``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(max_grad_norm) == 0, 1.0, np.minimum(max_grad_norm / (norm + eps), 1.0))


def rectified_step_size(t, lr, beta2, threshold, degenerated_to_sgd):
    """(step size before bias correction, whether the adaptive step is on): the oracle's ``rectify``.

    ρ_∞ = 2/(1−β₂) − 1, ρ_t = ρ_∞ − 2tβ₂ᵗ/(1−β₂ᵗ); while ρ_t ≥ threshold the step is
    α·√((1−β₂ᵗ)(ρ_t−4)(ρ_t−2)ρ_∞ / ((ρ_∞−4)(ρ_∞−2)ρ_t)); below it α (``degenerated_to_sgd``)
    or −α, which the oracle reads as "no step at all".
    """
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    b2t = beta2**t
    rho_t = rho_inf - 2 * t * b2t / (1.0 - b2t)
    on = rho_t >= threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sqrt(np.maximum((1.0 - b2t) * (rho_t - 4) / (rho_inf - 4) * (rho_t - 2) / rho_t
                               * rho_inf / (rho_inf - 2), 0.0))
    r = np.where(on, r, np.where(degenerated_to_sgd, 1.0, -1.0))
    if np.ndim(r) == 0:
        return lr * float(r), bool(on)
    return lr * r, on


def lamb_update(p, g, s, h, x):
    r"""One step of LAMB, as ``pytorch_optimizer.Lamb`` takes it (its default: the paper's v3, no debiasing of v).

    .. math::
        g_t &\leftarrow g_t \cdot \min\!\big(1, \tfrac{\text{max\_grad\_norm}}{\|g_t\|_{\text{all}} + \epsilon}\big)
              \qquad (\text{only with } \texttt{pre\_norm}) \\
        w_t &\leftarrow (1 - \alpha\lambda)\, w_t
              \qquad (\texttt{weight\_decouple}, \text{the default}; 1-\lambda \text{ with } \texttt{fixed\_decay}) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t
              \qquad (\text{without } \texttt{grad\_averaging}: + g_t) \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        r_t &= m_t / (\sqrt{v_t} + \epsilon)
              \qquad (+\,\lambda w_t \text{ when not } \texttt{weight\_decouple}: \text{the paper's form}) \\
        \text{trust}_t &= \frac{\min(\|w_t\|, 10)}{\|r_t\| + \epsilon}
              \quad (1 \text{ if either norm is } 0;\ 1 \text{ always with } \texttt{adam=True}) \\
        w_{t+1} &= w_t - \frac{\alpha}{1-\beta_1^t}\, \text{trust}_t\, r_t

    The state keeps, besides m_t (``exp_avg``) and v_t (``exp_avg_sq``), the oracle's
    diagnostics ``weight_norm`` (clamped), ``adam_norm`` (‖r_t‖) and ``trust_ratio``.

    ``rectify=True`` replaces r_t by RAdam's rectified step (:func:`rectified_step_size`) and,
    as the oracle does, takes the norm in the trust ratio of w_t − (step)·r_t, the would-be new
    weights, not of the update: the ratio is then ≈ 1, so rectified LAMB is close to RAdam
    without layer adaptation; it also drops a coupled (non-decoupled) weight decay.

    Differences between the oracle and the paper (You et al. 2020, Algorithm 2, arXiv v5) and
    other libraries, listed in the chapter:

    * bias correction: the paper's later versions (v5, as transcribed by the docs of
      mlx-optimizers and NNabla; "Paper v3 does not use debiasing", says cybertronai's
      pytorch-lamb) divide m by 1−β₁ᵗ and v by 1−β₂ᵗ *inside* r_t, where the trust ratio then
      cancels them (up to λ and ε); the oracle never corrects v and divides the *step* by
      1−β₁ᵗ after the trust ratio, so its first step is 1/(1−β₁) = 10 times longer (β₁ = 0.9),
      relative to ‖w‖, than its late steps;
    * φ: the paper's scaling function φ(‖w‖) = min(max(‖w‖, γ_l), γ_u); the oracle clamps
      at 10 from above only (the README of cybertronai/pytorch-lamb: "The paper doesn't
      specify clamp values for ϕ, so I use 10"); TF-Addons uses φ = identity;
    * ε in the trust ratio: the oracle divides by ‖r_t‖ + ε; the paper and TF-Addons by ‖r_t‖
      (TF-Addons corrects m and v as the paper does);
    * weight decay: the paper adds λw to r_t inside the trust ratio (here
      ``weight_decouple=False``); the oracle's default decays the weights AdamW-style,
      before the step and outside the ratio;
    * every tensor is adapted here (biases included); TF-Addons excludes the parameters named
      in ``exclude_from_layer_adaptation`` (by default those excluded from weight decay); NVIDIA
      apex's FusedLAMB, per its docstring, applies the adaptive rate to parameters with λ = 0
      only with ``use_nvlamb=True``;
    * ``pre_norm``: the oracle computes the clipping factor over all parameters in float32;
      the NumPy face (one tensor per run) in the parameters' dtype.
    """
    if h.maximize:
        g = -g
    if h.pre_norm:
        scale = getattr(h, "pre_norm_scale", None)      # the torch face's: over all parameters
        if scale is None:
            scale = pre_norm_scale(x.norm(g), h.max_grad_norm, h.eps)
        g = g * scale
    if h.weight_decouple and enabled(h.weight_decay):
        p = x.mul(p, 1.0 - h.weight_decay * (1.0 if h.fixed_decay else h.lr))
    s.t += 1
    t = x.value(s.t)
    s.m = x.add(x.mul(s.m, h.beta1), g, alpha=1.0 - h.beta1 if h.grad_averaging else 1.0)
    s.v = x.ema_sq(s.v, g, h.beta2)
    bias_correction1 = 1.0 - h.beta1**t
    if h.rectify:
        return _rectified(p, s, h, x, t, bias_correction1)
    r = s.m / (x.sqrt(s.v) + h.eps)
    if not h.weight_decouple and enabled(h.weight_decay):
        r = r + h.weight_decay * p
    step_size = h.lr / bias_correction1
    w_norm = x.norm(p)
    w_norm = x.where(w_norm > WEIGHT_NORM_CLAMP, WEIGHT_NORM_CLAMP, w_norm)
    r_norm = x.norm(r)
    trust = _safe(x.where, (w_norm != 0) & (r_norm != 0), lambda: w_norm / (r_norm + h.eps), 1.0)
    s.weight_norm, s.adam_norm, s.trust_ratio = w_norm, r_norm, trust
    # the step as the oracle takes it, a fused p + (−step)·u: in float32 with adam=True (no ratio to
    # normalise the step) a separate rounding of (−step)·u grows to 5e-4 in 200 steps (measured)
    return x.add(p, r if h.adam else r * trust, alpha=-step_size)


def _rectified(p, s, h, x, t, bias_correction1):
    """The oracle's ``rectify=True`` branch (see :func:`lamb_update`)."""
    step, on = rectified_step_size(t, h.lr, h.beta2, h.n_sma_threshold, h.degenerated_to_sgd)
    step = step / bias_correction1
    if np.ndim(step) == 0:
        if step <= 0:                           # the oracle takes no step (the decay above stays)
            return p
        direction = s.m / (x.sqrt(s.v) + h.eps) if on else s.m
    else:                                       # a sweep (NumPy face): both branches at once
        direction = np.where(on, s.m / (np.sqrt(s.v) + h.eps), s.m)
    w_norm = x.norm(p)
    w_norm = x.where(w_norm > WEIGHT_NORM_CLAMP, WEIGHT_NORM_CLAMP, w_norm)
    u_norm = x.norm(p - direction * step)       # the oracle's: the norm of the would-be new weights
    trust = _safe(x.where, (w_norm != 0) & (u_norm != 0), lambda: w_norm / (u_norm + h.eps), 1.0)
    s.weight_norm, s.adam_norm, s.trust_ratio = w_norm, u_norm, trust
    if h.adam:
        trust = 1.0
    if np.ndim(step) == 0:
        return x.add(p, direction * (trust * -step))
    return np.where(step > 0, p - direction * (trust * step), p)


def validate_lamb(hp):
    require("lr", hp["lr"], 0.0)
    require_betas(hp["betas"])
    require("weight_decay", hp["weight_decay"], 0.0)
    require("max_grad_norm", hp["max_grad_norm"], 0.0)
    require("eps", hp["eps"], 0.0)
    require("n_sma_threshold", hp["n_sma_threshold"])


class LAMB(Optimizer):
    """LAMB with the arguments and defaults of ``pytorch_optimizer.Lamb`` (see :func:`lamb_update`)."""

    name = "LAMB"
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0, weight_decouple=True, fixed_decay=False,
                    rectify=False, degenerated_to_sgd=False, n_sma_threshold=5, grad_averaging=True,
                    max_grad_norm=1.0, adam=False, pre_norm=False, eps=1e-6, maximize=False)
    torch_keys = dict(t="step", m="exp_avg", v="exp_avg_sq", weight_norm="weight_norm",
                      adam_norm="adam_norm", trust_ratio="trust_ratio")
    update = staticmethod(lamb_update)
    validate = staticmethod(validate_lamb)

    @staticmethod
    def init_state(p, h, x):
        return dict(t=x.counter(0), m=x.zeros_like(p), v=x.zeros_like(p),
                    weight_norm=None, adam_norm=None, trust_ratio=None)
