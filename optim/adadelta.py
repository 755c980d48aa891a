"""AdaDelta (Zeiler 2012) — ``torch.optim.Adadelta``'s rule. Chapter: *AdaDelta*."""
from .core import Optimizer, gradient, require


def adadelta_update(p, g, s, h, x):
    r"""One step of AdaDelta: the ratio carries the units of w, so the paper has no learning rate.

    But √ε (inside both roots) sets the size of the first steps and acts as one
    (measured in the AdaDelta chapter).

    .. math::
        V_t &= \rho V_{t-1} + (1-\rho)\, g_t^2 \\
        \Delta_t &= \frac{\sqrt{U_{t-1} + \epsilon}}{\sqrt{V_t + \epsilon}}\, g_t \\
        U_t &= \rho U_{t-1} + (1-\rho)\, \Delta_t^2 \\
        w_{t+1} &= w_t - \alpha\, \Delta_t \qquad (\alpha = 1 \text{ in Zeiler's paper and torch})

    ε sits *inside* both square roots, as in the paper.
    """
    s.t += 1
    p, g = gradient(p, g, h, x)
    s.v = x.ema_sq(s.v, g, h.rho)
    delta = x.sqrt(s.u + h.eps) / x.sqrt(s.v + h.eps) * g
    s.u = x.ema_sq(s.u, delta, h.rho)
    return x.add(p, delta, alpha=-h.lr)


class Adadelta(Optimizer):
    """AdaDelta, with the arguments and defaults of ``torch.optim.Adadelta``."""

    name = "Adadelta"
    defaults = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False)
    torch_keys = dict(t="step", v="square_avg", u="acc_delta")
    update = staticmethod(adadelta_update)

    @staticmethod
    def validate(hp):
        require("lr", hp["lr"], 0.0)
        require("rho", hp["rho"], 0.0, 1.0)
        require("eps", hp["eps"], 0.0)
        require("weight_decay", hp["weight_decay"], 0.0)

    @staticmethod
    def init_state(p, h, x):
        return dict(t=x.counter(0), v=x.zeros_like(p), u=x.zeros_like(p))
