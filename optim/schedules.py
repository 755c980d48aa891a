"""Learning-rate schedules: one factor per step, plugged into both faces. Chapter: *Schedules*.

A schedule is a function ``factor(t)`` of the step number t = 1, 2, … (the step about to
be taken) that multiplies the base learning rate::

    sched = optim.schedules.warmup_linear(warmup=100, total=1000)     # Hugging Face's formula
    sched(1), sched(100), sched(1000)                                  # 0.01, 1.0, 0.0

NumPy face: the trajectory engine takes ``schedule=sched.for_run(opt)``; by hand,
``opt.with_hyper(lr=base_lr * sched(t)).step(params, grads, state)`` (the state holds no
hyperparameters, so one state is stepped by the changing optimizers).
torch face (or torch.optim): ``sched.torch(optimizer)`` is a ``LambdaLR``; call its ``step()``
after each ``optimizer.step()``, as usual.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

__all__ = ["Schedule", "constant", "step_decay", "cosine", "linear_warmup", "warmup_linear",
           "warmup_cosine"]


@dataclass(frozen=True)
class Schedule:
    """A learning-rate factor per step, with a name for plots."""

    name: str
    factor: Callable[[int], float]

    def __call__(self, t: int) -> float:
        if t < 1:
            raise ValueError(f"Invalid step t: {t} (steps are numbered from 1)")
        return float(self.factor(t))

    def for_run(self, opt) -> Callable[[int], dict]:
        """The ``schedule=`` argument of :func:`optim.trajectory.run` for ``opt``'s base rate."""
        base = opt.hyper["lr"]
        return lambda t: {"lr": base * self(t)}

    def torch(self, optimizer):
        """A ``torch.optim.lr_scheduler.LambdaLR`` following this schedule.

        LambdaLR's counter starts at 0 for the first step; ours at 1.
        """
        from torch.optim.lr_scheduler import LambdaLR

        return LambdaLR(optimizer, lambda k: self(k + 1))


def _positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Invalid {name}: {value!r} (allowed: an integer {name} >= 1)")


def constant() -> Schedule:
    return Schedule("constant", lambda t: 1.0)


def step_decay(step_size: int, gamma: float = 0.1) -> Schedule:
    """× γ every ``step_size`` steps (torch's StepLR)."""
    _positive_int("step_size", step_size)
    return Schedule(f"step (×{gamma} every {step_size})", lambda t: gamma ** ((t - 1) // step_size))


def cosine(total: int, floor: float = 0.0) -> Schedule:
    """Half a cosine from 1 at t = 1 down to ``floor`` at t = total (then stays there)."""
    _positive_int("total", total)
    return Schedule("cosine", lambda t: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t - 1, total - 1) / max(total - 1, 1))))


def linear_warmup(warmup: int) -> Schedule:
    """From 1/warmup up to 1 over the first ``warmup`` steps, then constant."""
    _positive_int("warmup", warmup)
    return Schedule(f"warm-up ({warmup})", lambda t: min(1.0, t / warmup))


def warmup_linear(warmup: int, total: int) -> Schedule:
    """Linear warm-up, then linear decay to 0 at ``total``: ``t / warmup`` for t <= warmup, then
    ``max(0, (total - t) / (total - warmup))``.

    This is the formula of Hugging Face's ``get_linear_schedule_with_warmup``, evaluated at
    t = 1, 2, ...; under torch's ``LambdaLR`` Hugging Face evaluates it at the step counter
    k = t - 1 = 0, 1, ..., so its first step has rate 0 and every later step the rate that this
    schedule gives the step before. It is not BERT's own schedule (google-research/bert,
    ``create_optimizer``): there the rate is ``init_lr * (1 - k / total)`` from k = 0
    (``polynomial_decay`` with power 1), replaced by ``init_lr * k / warmup`` while k < warmup,
    with k = ``global_step`` = t - 1: the first step has rate 0 and the peak is
    ``1 - warmup / total``. The chapter *Schedules* compares the three.
    """
    _positive_int("warmup", warmup)
    _positive_int("total", total)
    if total <= warmup:
        raise ValueError(f"Invalid total: {total} (allowed: total > warmup = {warmup})")
    return Schedule(f"warm-up ({warmup}) + linear decay",
                    lambda t: t / warmup if t <= warmup else max(0.0, (total - t) / (total - warmup)))


def warmup_cosine(warmup: int, total: int, floor: float = 0.0) -> Schedule:
    """Linear warm-up, then a half cosine down to ``floor`` at ``total``."""
    _positive_int("warmup", warmup)
    _positive_int("total", total)
    if total <= warmup:
        raise ValueError(f"Invalid total: {total} (allowed: total > warmup = {warmup})")
    decay = cosine(total - warmup, floor)
    return Schedule(f"warm-up ({warmup}) + cosine",
                    lambda t: t / warmup if t <= warmup else decay(t - warmup))
