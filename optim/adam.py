"""Adam (with AMSGrad) and AdamW — ``torch.optim.Adam`` / ``torch.optim.AdamW``'s rule.

Chapters: *Adam*, *AdamW*.
"""
from .core import Optimizer, gradient, require, require_betas


def adam_update(p, g, s, h, x):
    r"""One step of Adam (Kingma & Ba 2015, Algorithm 1), ε where torch and the paper put it.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2
              \qquad (\text{AMSGrad: } v^{\max}_t = \max(v^{\max}_{t-1}, v_t) \text{ replaces } v_t) \\
        w_{t+1} &= w_t - \alpha\, \frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}
                 = w_t - \alpha_t\, \frac{m_t}{\sqrt{v_t} + \hat\epsilon}

    with α_t = α√(1-β₂ᵗ)/(1-β₁ᵗ) and ε̂ = ε√(1-β₂ᵗ): the paper's own "more efficient
    order of computation" (end of its section 2). It is the same number as ε added
    *after* the bias-corrected square root (torch, the paper), and it saves a pass
    over memory. Weight decay λ is an L2 term in the gradient, or decoupled (AdamW).

    α is the typical length of a coordinate's step, not a hard bound: |Δ_t| can reach
    α(1−β₁)/√((1−β₂)(1−β₁²/β₂)) ≈ 7.27α for the defaults (a gradient growing by β₂/β₁ per
    step; derived and measured in the chapter *Adam*).
    """
    p, g = gradient(p, g, h, x)
    s.t += 1
    t = x.value(s.t)
    s.m = x.lerp(s.m, g, 1 - h.beta1)
    s.v = x.ema_sq(s.v, g, h.beta2)
    v = s.v
    if h.amsgrad:
        s.v_max = x.maximum(s.v_max, s.v)
        v = s.v_max
    bias_correction1 = 1 - h.beta1**t
    bias_correction2 = 1 - h.beta2**t
    lr_t = h.lr * bias_correction2**0.5 / bias_correction1
    eps_hat = h.eps * bias_correction2**0.5
    return x.addcdiv(p, s.m, x.sqrt(v) + eps_hat, -lr_t)


def validate_adam(hp):
    require("lr", hp["lr"], 0.0)
    require("eps", hp["eps"], 0.0)
    require_betas(hp["betas"])
    require("weight_decay", hp["weight_decay"], 0.0)


def init_adam(p, h, x):
    state = dict(t=x.counter(0), m=x.zeros_like(p), v=x.zeros_like(p))
    if h.amsgrad:
        state["v_max"] = x.zeros_like(p)
    return state


class Adam(Optimizer):
    """Adam, with the arguments and defaults of ``torch.optim.Adam``."""

    name = "Adam"
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                    amsgrad=False, maximize=False, decoupled_weight_decay=False)
    torch_keys = dict(t="step", m="exp_avg", v="exp_avg_sq", v_max="max_exp_avg_sq")
    update = staticmethod(adam_update)
    validate = staticmethod(validate_adam)
    init_state = staticmethod(init_adam)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): ``torch.optim.AdamW``.

    The decay shrinks the weights by (1 - αλ) before the Adam step; it is not
    divided by √v as an L2 gradient term would be. Default λ = 0.01, as in torch.
    """

    name = "AdamW"
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                    amsgrad=False, maximize=False)
    fixed = dict(decoupled_weight_decay=True)
