r"""Schedule-Free SGD and AdamW (Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky 2024,
"The Road Less Scheduled"). Chapter: *Schedule-Free*.

Three sequences, one of them stored::

    y_t = (1 − β) z_t + β x_t                  where the gradient is taken (the parameters while training)
    z_{t+1} = z_t − γ_t u_t                    the base optimizer's step (u_t: g_t, or Adam's g_t/(√v̂_t+ε))
    x_{t+1} = (1 − c_{t+1}) x_t + c_{t+1} z_{t+1}   the average, where the model is evaluated

The parameters hold y; the state holds z (and Adam's v); x is never stored, it is
recovered from the other two: x = (y − (1 − β) z)/β. So the rule updates y directly
(the oracle's memory-efficient form, derived in the chapter)::

    y_{t+1} = (1 − c) y_t + c z_t − γ_t (1 − β(1 − c)) u_t,      z_{t+1} = z_t − γ_t u_t

The averaging weight c_{t+1} = w_t / Σ_{i≤t} w_i, w_t = t^r · γ_max,t^p (p = ``weight_lr_power``,
γ_max,t the largest scheduled rate so far, t counted from 1): with a constant rate and
r = 0, c_{t+1} = 1/t and x_{t+1} is the plain mean of z_2, …, z_{t+1}.

Oracle: the ``schedulefree`` package 1.4.1 (``SGDScheduleFree``, ``AdamWScheduleFree``).
Same arguments, same defaults, same numbers (tests/test_schedulefree.py). Where it and the
paper or its own README differ (each checked in the sources named):

* The README's formula averages with 1/(t+1), x_{t+1} = (1 − 1/(t+1)) x_t +
  z_{t+1}/(t+1), which keeps x₁ = z₁ in the mean; the code's weight is 1 at the first step
  (weight/weight_sum = 1), so x₂ = z₂ and x₁ drops out. We follow the code.
* AdamW: the code divides by √(v_t/(1 − β₂ᵗ)) + ε and leaves γ alone. The paper's version
  (kept in the package as ``AdamWScheduleFreePaper``, "the version used in the published
  experiments in the original paper") instead scales the rate,
  γ_t = γ √(1 − β₂ᵗ), uses √v_t + ε, and that scaled rate also scales the decay λy_t and enters
  the averaging weights. The README dates the change to version 1.3 ("changes the behavior of
  weight decay during learning rate warmup"). Not offered here.
* Weight decay is computed at y (``λ y_t`` added to u_t) in both AdamW versions.
* The averaging weight uses γ_max (the largest rate so far), not the current γ_t (both AdamW
  versions): the same while the rate only grows (warmup), different once a scheduler lowers it.

Differences from the oracle's interface, all deliberate: hyperparameters are validated
(the oracle checks only SGD's lr, momentum and weight_decay; AdamW nothing), β₁ = 0 is refused
(x cannot be recovered from y = z); the gradient is never modified in place (the oracle
divides ``p.grad`` by the denominator and adds the decay to it); a step in eval mode raises
``RuntimeError`` (the oracle a bare ``Exception``, same message).
"""
import numpy as np

from .core import PURE, Optimizer, require, require_betas


# ---------------------------------------------------------------- the averaging weight (per step, not per tensor)
def averaging_weight(s, h):
    r"""The scheduled rate γ_t and the averaging weight c_{t+1}; advances ``s.t``, ``s.lr_max``, ``s.weight_sum``.

    .. math::
        \gamma_t = \alpha \min(1, t/T_\text{warmup}), \quad
        \gamma^{\max}_t = \max(\gamma^{\max}_{t-1}, \gamma_t), \quad
        w_t = t^r (\gamma^{\max}_t)^p, \quad
        c_{t+1} = \frac{w_t}{\sum_{i=1}^t w_i}\ (0 \text{ if the sum is } 0)

    ``s`` is a parameter's state in the NumPy face and the param group in the torch face
    (the oracle keeps these three numbers in the group: they depend only on the step count
    and the rate).
    """
    k = s.t                                      # steps taken before this one
    if np.ndim(h.warmup_steps) == 0 and np.ndim(k) == 0:
        sched = (k + 1) / h.warmup_steps if k < h.warmup_steps else 1.0
    else:                                        # a sweep over warmup_steps
        with np.errstate(divide="ignore", invalid="ignore"):
            sched = np.where(k < h.warmup_steps, (k + 1) / np.asarray(h.warmup_steps, float), 1.0)
    lr = h.lr * sched
    lr_max = max(lr, s.lr_max) if np.ndim(lr) == 0 and np.ndim(s.lr_max) == 0 else np.maximum(lr, s.lr_max)
    weight = (k + 1) ** h.r * lr_max ** h.weight_lr_power
    weight_sum = s.weight_sum + weight
    if np.ndim(weight_sum) == 0:
        c = weight / weight_sum if weight_sum != 0 else 0.0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(weight_sum != 0, weight / np.where(weight_sum != 0, weight_sum, 1.0), 0.0)
    s.t, s.lr_max, s.weight_sum = k + 1, lr_max, weight_sum
    return lr, c


# ---------------------------------------------------------------- the step on one tensor
def schedulefree_sgd_step(p, g, s, h, x, lr, c, t):
    r"""Schedule-Free SGD on one tensor, given γ_t (``lr``), c_{t+1} (``c``) and t; p holds y.

    .. math::
        u_t &= g_t + \lambda y_t \\
        y_{t+1} &= (1-c_{t+1})\, y_t + c_{t+1} z_t - \gamma_t\,(1 - \beta(1-c_{t+1}))\, u_t \\
        z_{t+1} &= z_t - \gamma_t u_t
    """
    u = x.plus(g, p, h.weight_decay) if np.ndim(h.weight_decay) or h.weight_decay != 0 else g
    p = x.lerp(p, s.z, c)
    p = x.add(p, u, lr * (h.momentum * (1 - c) - 1))
    s.z = x.add(s.z, u, -lr)
    return p


def schedulefree_adamw_step(p, g, s, h, x, lr, c, t):
    r"""Schedule-Free AdamW on one tensor, given γ_t, c_{t+1} and t; p holds y.

    .. math::
        v_t &= \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2 \\
        u_t &= \frac{g_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon} + \lambda y_t \\
        y_{t+1} &= (1-c_{t+1})\, y_t + c_{t+1} z_t - \gamma_t\,(1 - \beta_1(1-c_{t+1}))\, u_t \\
        z_{t+1} &= z_t - \gamma_t u_t
    """
    s.v = x.ema_sq(s.v, g, h.beta2)
    u = g / (x.sqrt(s.v / (1 - h.beta2 ** t)) + h.eps)
    if np.ndim(h.weight_decay) or h.weight_decay != 0:
        u = x.add(u, p, h.weight_decay)                      # u is ours (a new array), never the gradient
    p = x.lerp(p, s.z, c)
    p = x.add(p, u, lr * (h.beta1 * (1 - c) - 1))
    s.z = x.add(s.z, u, -lr)
    return p


def schedulefree_sgd_update(p, g, s, h, x):
    """One step of Schedule-Free SGD (NumPy face): the averaging weight, then the step."""
    lr, c = averaging_weight(s, h)
    return schedulefree_sgd_step(p, g, s, h, x, lr, c, s.t)


def schedulefree_adamw_update(p, g, s, h, x):
    """One step of Schedule-Free AdamW (NumPy face): the averaging weight, then the step."""
    lr, c = averaging_weight(s, h)
    return schedulefree_adamw_step(p, g, s, h, x, lr, c, s.t)


# ---------------------------------------------------------------- x and y from each other
def to_x(y, z, beta, x):
    """The evaluation point x = (y − (1 − β) z)/β, as y + (1 − 1/β)(z − y) (the oracle's ``eval()``)."""
    return x.lerp(y, z, 1 - 1 / beta)


def to_y(xs, z, beta, x):
    """The gradient point y = (1 − β) z + β x, as x + (1 − β)(z − x) (the oracle's ``train()``)."""
    return x.lerp(xs, z, 1 - beta)


# ---------------------------------------------------------------- validation
def _validate_common(hp):
    require("lr", hp["lr"], 0.0)
    require("weight_decay", hp["weight_decay"], 0.0)
    require("warmup_steps", hp["warmup_steps"], 0.0)
    require("r", hp["r"], 0.0)
    require("weight_lr_power", hp["weight_lr_power"], 0.0)


def validate_sgd(hp):
    _validate_common(hp)
    require("momentum", hp["momentum"], 0.0, 1.0, low_open=True, high_open=True)


def validate_adamw(hp):
    _validate_common(hp)
    require("eps", hp["eps"], 0.0)
    require_betas(hp["betas"])
    # β₁ = 0 makes y = z: x can no longer be recovered from the two stored sequences
    require("beta parameter at index 0", hp["betas"][0], 0.0, 1.0, low_open=True, high_open=True)


class _ScheduleFree(Optimizer):
    """What the two share: the evaluation point, and the state's x/y/z."""

    beta_name = "momentum"

    def _beta(self):
        return self.h.momentum if self.beta_name == "momentum" else self.h.beta1

    def eval_params(self, params, state):
        """x, the point to evaluate (and to ship) the model at: ``opt.eval_params(params, state)``.

        ``params`` are y, where :meth:`step` takes gradients; the state holds z. This is the
        NumPy face's ``optimizer.eval()``: it returns x and changes nothing.
        """
        return to_x(np.asarray(params), state.z, self._beta(), PURE)

    def train_params(self, xs, state):
        """y from x (the NumPy face's ``optimizer.train()``): the inverse of :meth:`eval_params`."""
        return to_y(np.asarray(xs), state.z, self._beta(), PURE)

    def sequences(self, params, state) -> dict:
        """The three sequences by name: ``{"x": ..., "y": params, "z": state.z}``."""
        return dict(x=self.eval_params(params, state), y=np.asarray(params), z=state.z)


class ScheduleFreeSGD(_ScheduleFree):
    """Schedule-Free SGD with the arguments and defaults of ``schedulefree.SGDScheduleFree`` 1.4.1.

    ``momentum`` is the interpolation β (y between z and x); ``lr`` defaults to 1.0, as in
    the package. State: ``t`` (steps taken; the oracle's group key ``k``), ``lr_max``,
    ``weight_sum`` (the averaging weight's numbers) and ``z``. The params are y;
    :meth:`eval_params` gives x.
    """

    name = "ScheduleFreeSGD"
    defaults = dict(lr=1.0, momentum=0.9, weight_decay=0.0, warmup_steps=0, r=0.0, weight_lr_power=2.0)
    torch_keys = dict(z="z")
    update = staticmethod(schedulefree_sgd_update)
    validate = staticmethod(validate_sgd)

    @staticmethod
    def init_state(p, h, x):
        return dict(t=0, lr_max=-1.0, weight_sum=0.0, z=x.clone(p) if x is not PURE else
                    np.array(p, dtype=np.result_type(p, np.float64)))


class ScheduleFreeAdamW(_ScheduleFree):
    """Schedule-Free AdamW with the arguments and defaults of ``schedulefree.AdamWScheduleFree`` 1.4.1.

    β₁ is the interpolation (there is no first moment), β₂ Adam's second moment; ``lr``
    defaults to 0.0025, as in the package. State: ``t``, ``lr_max``, ``weight_sum``, ``z`` and
    ``v`` (the oracle's ``exp_avg_sq``). The params are y; :meth:`eval_params` gives x.
    """

    name = "ScheduleFreeAdamW"
    beta_name = "beta1"
    defaults = dict(lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
                    weight_lr_power=2.0)
    torch_keys = dict(z="z", v="exp_avg_sq")
    update = staticmethod(schedulefree_adamw_update)
    validate = staticmethod(validate_adamw)

    @staticmethod
    def init_state(p, h, x):
        z = x.clone(p) if x is not PURE else np.array(p, dtype=np.result_type(p, np.float64))
        return dict(t=0, lr_max=-1.0, weight_sum=0.0, z=z, v=x.zeros_like(p))
