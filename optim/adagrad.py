"""AdaGrad (Duchi, Hazan & Singer 2011) — ``torch.optim.Adagrad``'s rule. Chapter: *AdaGrad*."""
from .core import Optimizer, gradient, require


def adagrad_update(p, g, s, h, x):
    r"""One step of AdaGrad: a learning rate per coordinate, from the sum of squared gradients.

    .. math::
        \alpha_t &= \alpha / (1 + (t-1)\,\text{lr\_decay}) \\
        V_t &= V_{t-1} + g_t^2 \qquad (V_0 = \text{initial\_accumulator\_value}) \\
        w_{t+1} &= w_t - \alpha_t\, g_t / (\sqrt{V_t} + \epsilon)

    V_t only grows, so the effective rate α/√V_t only shrinks.
    """
    s.t += 1
    t = x.value(s.t)
    p, g = gradient(p, g, h, x)
    lr_t = h.lr / (1 + (t - 1) * h.lr_decay)
    s.v = x.addcmul(s.v, g, g)
    return x.addcdiv(p, g, x.sqrt(s.v) + h.eps, -lr_t)


class Adagrad(Optimizer):
    """AdaGrad, with the arguments and defaults of ``torch.optim.Adagrad``."""

    name = "Adagrad"
    defaults = dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                    eps=1e-10, maximize=False)
    torch_keys = dict(t="step", v="sum")
    update = staticmethod(adagrad_update)

    @staticmethod
    def validate(hp):
        require("lr", hp["lr"], 0.0)
        require("lr_decay", hp["lr_decay"], 0.0)
        require("weight_decay", hp["weight_decay"], 0.0)
        require("initial_accumulator_value", hp["initial_accumulator_value"], 0.0)
        require("eps", hp["eps"], 0.0)

    @staticmethod
    def init_state(p, h, x):
        return dict(t=x.counter(0), v=x.full_like(p, h.initial_accumulator_value))
