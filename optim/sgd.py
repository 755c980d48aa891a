"""SGD, with momentum (heavy ball) and Nesterov momentum — ``torch.optim.SGD``'s rule.

Chapters: *SGD*, *Momentum*, *Nesterov*.
"""
import numpy as np

from .core import Optimizer, enabled, gradient, require


def sgd_update(p, g, s, h, x):
    r"""One step of SGD, optionally with momentum μ and Nesterov's look-ahead.

    .. math::
        g_t &= \nabla f(w_t) \; (+\, \lambda w_t)            \\
        m_t &= \mu\, m_{t-1} + (1 - \text{dampening})\, g_t  \quad (m_1 = g_1)\\
        d_t &= g_t + \mu\, m_t \ \text{(Nesterov)} \quad\text{or}\quad m_t \\
        w_{t+1} &= w_t - \alpha\, d_t

    This is torch's form of momentum, ``v ← μv + g``; the exponential-moving-average
    form ``v ← μv + (1-μ)g`` follows the same path with α scaled by 1/(1-μ).
    """
    p, g = gradient(p, g, h, x)
    if enabled(h.momentum):
        if s.m is None:                       # the first step starts the buffer at g
            s.m = x.clone(g)
        else:
            s.m = x.add(x.mul(s.m, h.momentum), g, alpha=1 - h.dampening)
        g = x.plus(g, s.m, h.momentum) if h.nesterov else s.m
    return x.add(p, g, alpha=-h.lr)


class SGD(Optimizer):
    """Stochastic gradient descent, with the arguments and defaults of ``torch.optim.SGD``."""

    name = "SGD"
    defaults = dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                    nesterov=False, maximize=False)
    torch_keys = dict(m="momentum_buffer")
    update = staticmethod(sgd_update)

    @staticmethod
    def validate(hp):
        require("lr", hp["lr"], 0.0)
        require("momentum", hp["momentum"], 0.0)
        require("dampening", hp["dampening"])
        require("weight_decay", hp["weight_decay"], 0.0)
        if hp["nesterov"]:  # every element of a sweep, as for the scalar
            momentum = np.asarray(hp["momentum"], dtype=float)
            dampening = np.asarray(hp["dampening"], dtype=float)
            bad_m, bad_d = momentum[~(momentum > 0)], dampening[dampening != 0]
            if bad_m.size or bad_d.size:
                raise ValueError(
                    f"Invalid nesterov=True with momentum={bad_m[0] if bad_m.size else hp['momentum']} and "
                    f"dampening={bad_d[0] if bad_d.size else hp['dampening']} "
                    f"(Nesterov momentum requires momentum > 0 and dampening = 0)")

    @staticmethod
    def init_state(p, h, x):
        # torch creates the momentum buffer at the first step, from the gradient
        return dict(m=None) if enabled(h.momentum) else {}


class Momentum(SGD):
    """SGD with heavy-ball momentum (Polyak 1964): ``SGD(momentum=0.9)`` by another name."""

    name = "Momentum"
    defaults = {**SGD.defaults, "momentum": 0.9}


class Nesterov(SGD):
    """SGD with Nesterov momentum (Sutskever et al. 2013's form, as torch writes it)."""

    name = "Nesterov"
    defaults = {**SGD.defaults, "momentum": 0.9, "nesterov": True}
