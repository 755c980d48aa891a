"""RAdam (Liu et al. 2020) — ``torch.optim.RAdam``'s rule. Chapter: *RAdam*."""
import numpy as np

from .adam import validate_adam
from .core import Optimizer, gradient


def rectification(t, beta2):
    r"""ρ_t and the rectification r_t of RAdam (r_t is None while ρ_t ≤ 5).

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t}, \qquad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}

    ρ_t approximates the degrees of freedom of the adaptive rate's estimate; the
    variance of 1/√v̂_t is finite only when ρ_t > 4. Where to switch the adaptive step
    on differs: the paper's Algorithm 2 when ρ_t > 4, the authors' code
    (LiyuanLucasLiu/RAdam, ``N_sma >= 5``) when ρ_t ≥ 5, ``torch.optim.RAdam`` when
    ρ_t > 5. With β₂ = 0.999 (ρ_5 ≈ 4.996) the paper's first adaptive step is t = 5,
    the other two's t = 6. This function follows torch: r_t is None while ρ_t ≤ 5.
    """
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if np.ndim(rho_t) == 0:
        if rho_t <= 5.0:  # also when ρ_∞ ≤ 5 (β₂ ≤ 2/3), where the ratio may be 0/0 (β₂ = 0.6: ρ_∞ = 4)
            return rho_t, None
        return rho_t, ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    with np.errstate(divide="ignore", invalid="ignore"):  # a sweep over β₂; those entries are NaN anyway
        ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        return rho_t, np.where(rho_t > 5.0, np.sqrt(np.maximum(ratio, 0.0)), np.nan)


def radam_update(p, g, s, h, x):
    r"""One step of RAdam: Adam's adaptive step, rectified, and only once it is trustworthy.

    .. math::
        \hat m_t &= m_t / (1-\beta_1^t) \\
        w_{t+1} &= w_t - \alpha\, \hat m_t \cdot
            \begin{cases} r_t\, \sqrt{1-\beta_2^t} / (\sqrt{v_t} + \epsilon) & \rho_t > 5 \\
                          1 & \text{otherwise (an un-normalised momentum step)} \end{cases}

    Note ε is added to the *uncorrected* √v_t here, as in torch. The scalars (α, r_t and the
    two bias corrections) are folded into one factor, so that the step is one ``addcdiv``: the
    same numbers as torch's loop up to rounding, without a temporary per scalar (each one a
    pass over memory; see the chapter *How fast can a step be?*).
    """
    p, g = gradient(p, g, h, x)
    s.t += 1
    t = x.value(s.t)
    s.m = x.lerp(s.m, g, 1 - h.beta1)
    s.v = x.ema_sq(s.v, g, h.beta2)
    bias_correction1 = 1 - h.beta1**t
    rho_t, r_t = rectification(t, h.beta2)
    if r_t is None:                                  # ρ_t ≤ 5: no adaptive step yet
        return x.add(p, s.m, alpha=-h.lr / bias_correction1)
    if np.ndim(rho_t):                               # a sweep over β₂: both regimes at once
        adaptive = (1 - h.beta2**t) ** 0.5 / (x.sqrt(s.v) + h.eps)
        return x.add(p, s.m / bias_correction1 * h.lr * np.where(rho_t > 5.0, adaptive * r_t, 1.0), alpha=-1.0)
    return x.addcdiv(p, s.m, x.sqrt(s.v) + h.eps, -h.lr * r_t * (1 - h.beta2**t) ** 0.5 / bias_correction1)


class RAdam(Optimizer):
    """RAdam, with the arguments and defaults of ``torch.optim.RAdam``."""

    name = "RAdam"
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                    decoupled_weight_decay=False, maximize=False)
    torch_keys = dict(t="step", m="exp_avg", v="exp_avg_sq")
    update = staticmethod(radam_update)
    validate = staticmethod(validate_adam)

    @staticmethod
    def init_state(p, h, x):
        return dict(t=x.counter(0), m=x.zeros_like(p), v=x.zeros_like(p))
