"""RMSprop (Tieleman & Hinton 2012) — ``torch.optim.RMSprop``'s rule. Chapter: *RMSprop*."""
from .core import Optimizer, enabled, gradient, require


def rmsprop_update(p, g, s, h, x):
    r"""One step of RMSprop: divide by a moving root-mean-square of recent gradients.

    .. math::
        V_t &= \beta_2 V_{t-1} + (1-\beta_2)\, g_t^2 \\
        \bar g_t &= \beta_2 \bar g_{t-1} + (1-\beta_2)\, g_t
            \quad\text{(centered: } V_t - \bar g_t^2 \text{ estimates the variance)} \\
        m_t &= \mu\, m_{t-1} + g_t / (\sqrt{V_t} + \epsilon)  \quad\text{(with momentum)} \\
        w_{t+1} &= w_t - \alpha\, m_t \quad\text{or}\quad w_t - \alpha\, g_t / (\sqrt{V_t} + \epsilon)

    torch calls the averaging constant β₂ ``alpha`` (default 0.99). ε is added outside the
    root, as in torch; TensorFlow's RMSProp kernel, Keras ≥ 2.11 and Keras 3 add it inside,
    √(V_t + ε), and Keras' older ``optimizer_v2`` RMSprop (TF 2.0-2.10) outside when
    ``momentum=0``, inside otherwise. With β₂ = 0 and ε = 0 the step is α·sign(g_t).
    """
    s.t += 1
    p, g = gradient(p, g, h, x)
    s.v = x.ema_sq(s.v, g, h.alpha)
    if h.centered:
        s.g_avg = x.lerp(s.g_avg, g, 1 - h.alpha)
        avg = x.sqrt(s.v - s.g_avg * s.g_avg) + h.eps
    else:
        avg = x.sqrt(s.v) + h.eps
    if enabled(h.momentum):
        s.m = x.addcdiv(x.mul(s.m, h.momentum), g, avg)
        return x.add(p, s.m, alpha=-h.lr)
    return x.addcdiv(p, g, avg, -h.lr)


class RMSprop(Optimizer):
    """RMSprop (plain, centered, with momentum), with the arguments and defaults of ``torch.optim.RMSprop``."""

    name = "RMSprop"
    defaults = dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                    centered=False, maximize=False)
    torch_keys = dict(t="step", v="square_avg", g_avg="grad_avg", m="momentum_buffer")
    update = staticmethod(rmsprop_update)

    @staticmethod
    def validate(hp):
        require("lr", hp["lr"], 0.0)
        require("eps", hp["eps"], 0.0)
        require("momentum", hp["momentum"], 0.0)
        require("weight_decay", hp["weight_decay"], 0.0)
        require("alpha", hp["alpha"], 0.0)

    @staticmethod
    def init_state(p, h, x):
        state = dict(t=x.counter(0), v=x.zeros_like(p))
        if enabled(h.momentum):
            state["m"] = x.zeros_like(p)
        if h.centered:
            state["g_avg"] = x.zeros_like(p)
        return state
