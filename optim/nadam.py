"""NAdam (Dozat 2016) — ``torch.optim.NAdam``'s rule. Chapter: *Nadam*."""
from .adam import validate_adam
from .core import Optimizer, gradient, require


def nadam_update(p, g, s, h, x):
    r"""One step of NAdam: Adam whose momentum looks one step ahead, with Dozat's μ schedule.

    .. math::
        \mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{\,t\,\psi}\bigr)
                  \qquad (\psi = \text{momentum\_decay}) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        w_{t+1} &= w_t - \alpha \Bigl[\frac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\, g_t
                  + \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i}\, m_t\Bigr]
                  \Big/ \Bigl(\sqrt{v_t/(1-\beta_2^t)} + \epsilon\Bigr)

    ``s.mu_product`` is ∏μ_i. torch keeps it as a tensor of the default scalar dtype
    (float32 unless the default dtype is float64); the torch face does the same.

    ``momentum_decay=float("inf")`` turns the schedule off (μ_t = β₁, ∏μ_i = β₁ᵗ):
    Nadam without schedule, m̂ = β₁m_t/(1−β₁ᵗ⁺¹) + (1−β₁)g_t/(1−β₁ᵗ), Dozat's correction
    (Ruder's 2016 overview simplifies it to β₁m_t/(1−β₁ᵗ) for the first term).

    With torch's ψ = 0.004, μ_t ≈ 0.45 for thousands of steps and ∏μ_i ≈ 0 after a few
    dozen: the step is then ≈ α[(1−μ_t)g_t + μ_{t+1}m_t]/(√v̂_t + ε), QHAdam (Ma & Yarats
    2019) with ν ≈ 0.45 and m_t still an average with β₁.
    """
    p, g = gradient(p, g, h, x)
    s.t += 1
    t = x.value(s.t)
    mu = h.beta1 * (1.0 - 0.5 * 0.96 ** (t * h.momentum_decay))
    mu_next = h.beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * h.momentum_decay))
    s.mu_product = s.mu_product * mu
    mu_product = x.value(s.mu_product)
    s.m = x.lerp(s.m, g, 1 - h.beta1)
    s.v = x.ema_sq(s.v, g, h.beta2)
    denom = x.sqrt(s.v / (1 - h.beta2**t)) + h.eps
    p = x.addcdiv(p, g, denom, -h.lr * (1.0 - mu) / (1.0 - mu_product))
    return x.addcdiv(p, s.m, denom, -h.lr * mu_next / (1.0 - mu_product * mu_next))


class NAdam(Optimizer):
    """NAdam, with the arguments and defaults of ``torch.optim.NAdam``."""

    name = "NAdam"
    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                    momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False)
    torch_keys = dict(t="step", mu_product="mu_product", m="exp_avg", v="exp_avg_sq")
    update = staticmethod(nadam_update)

    @staticmethod
    def validate(hp):
        validate_adam(hp)
        require("momentum_decay", hp["momentum_decay"], 0.0)

    @staticmethod
    def init_state(p, h, x):
        return dict(t=x.counter(0), mu_product=x.counter(1.0), m=x.zeros_like(p), v=x.zeros_like(p))
