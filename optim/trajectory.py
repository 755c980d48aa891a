"""The trajectory engine: run an optimizer on a landscape and record where it goes.

    >>> import optim
    >>> from optim.landscapes import rosenbrock
    >>> from optim.trajectory import run
    >>> traj = run(optim.Adam(lr=0.1), rosenbrock, steps=500)
    >>> traj.positions.shape, traj.losses.shape
    ((501, 2), (501,))

Everything is batched. Leading dimensions of the start are independent runs, and so are the
dimensions of array-valued hyperparameters (which broadcast against the parameters, as in the
optimizer contract): ``run(optim.SGD(lr=np.geomspace(1e-4, 1, 1000)[:, None]), rosenbrock)``
runs a thousand learning rates in one vectorised loop, with positions of shape ``(101, 1000, 2)``.

A run that diverges (NaN, inf, or a position beyond ``DIVERGENCE_FACTOR`` times the size of the
landscape's window) is cut: from its first bad step on, its positions and losses are NaN, so a
plot stops there; it is flagged in ``diverged``/``diverged_at``; the other runs are not affected.
No warning is raised for it.

Online problems, whose loss changes with the step (``landscape.time_dependent``, e.g.
:data:`optim.landscapes.amsgrad_problem`), are run the same way: the engine calls ``grad(x, t)``
and ``f(x, t)`` with the step ``t = 1, 2, …`` and projects every iterate with the problem's
``project`` (or the ``project`` argument), and positions have the problem's dimension (1).
"""

from __future__ import annotations

import numbers
from collections import Counter
from dataclasses import dataclass

import numpy as np

__all__ = ["Trajectory", "run", "run_many", "DIVERGENCE_FACTOR"]

#: A position farther than this many times the landscape's half-window from the origin counts as
#: diverged. Huge, so that only a run that is really blowing up is cut.
DIVERGENCE_FACTOR = 1e6


@dataclass(eq=False)  # arrays have no single truth value: compare fields with NumPy
class Trajectory:
    """Where an optimizer went: one or a batch of runs of ``steps`` steps.

    Attributes:
        positions: ``(steps + 1, *batch, dim)``; ``positions[0]`` is the start, ``positions[k]``
            the point after ``k`` steps. NaN from ``diverged_at`` on.
        losses: ``(steps + 1, *batch)``, the loss at each position (for an online problem,
            ``losses[k] = f_{k+1}(positions[k])``, the loss at which the gradient of step ``k + 1``
            was taken). NaN from ``diverged_at`` on.
        diverged: ``(*batch,)`` bool, whether the run blew up.
        diverged_at: ``(*batch,)`` int, the first index of ``positions`` that was not finite or
            was beyond the blow-up bound; -1 for a run that never diverged.
        name: the optimizer's display name (``opt.name``), which also picks its colour in plots.
    """

    positions: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    name: str

    @property
    def steps(self) -> int:
        """The number of steps taken (``len(positions) - 1``)."""
        return len(self.positions) - 1

    @property
    def batch_shape(self) -> tuple:
        """The shape of the batch of independent runs (``()`` for a single run)."""
        return self.losses.shape[1:]


def run(opt, landscape, start=None, steps: int = 100, *, project=None, schedule=None) -> Trajectory:
    """Run ``opt`` for ``steps`` steps on ``landscape`` from ``start``.

    Args:
        opt: an optimizer of the NumPy face (``opt.init``, ``opt.step``, ``opt.hyper``,
            ``opt.name``).
        landscape: a :class:`~optim.landscapes.Landscape` or an online problem.
        start: shape ``(dim,)`` or ``(*batch, dim)``; defaults to ``landscape.start``.
        steps: the number of optimizer steps.
        project: a function applied to every new iterate (e.g. a clip onto the feasible set);
            defaults to ``landscape.project`` where the landscape has one, else none.
        schedule: optional ``schedule(t) -> dict`` of hyperparameters for step ``t = 1, 2, …``,
            e.g. ``lambda t: {"lr": 0.5 / t**0.5}``; step ``t`` is taken by
            ``opt.with_hyper(**schedule(t))``. Scheduled arrays must broadcast to the run's shape.

    Returns:
        A :class:`Trajectory`. Its batch shape is the broadcast of ``start``'s leading dimensions
        with the shapes of the array-valued hyperparameters (without their last axis, which
        broadcasts against the coordinates).
    """
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"Invalid steps: {steps!r} (must be an integer >= 0)")
    # A noisy landscape restarts its random stream, so that repeating a run repeats its result.
    landscape = landscape.restarted() if hasattr(landscape, "restarted") else landscape
    if project is None:
        project = getattr(landscape, "project", None)
    dim = getattr(landscape, "dim", 2)
    time_dependent = getattr(landscape, "time_dependent", False)

    start = np.asarray(landscape.start if start is None else start, dtype=float)
    if start.ndim == 0 or start.shape[-1] != dim:
        raise ValueError(f"Invalid start of shape {start.shape}: {landscape.name} needs points "
                         f"of shape (..., {dim})")
    shape = _run_shape(start.shape, getattr(opt, "hyper", {}))

    if time_dependent:  # online problem: f_t and its gradient depend on the step t = 1, 2, ...
        loss_at, grad_at = landscape.f, landscape.grad
    else:
        loss_at, grad_at = (lambda x, t: landscape.f(x)), (lambda x, t: landscape.grad(x))

    positions = np.empty((steps + 1, *shape))
    losses = np.empty((steps + 1, *shape[:-1]))
    x = np.broadcast_to(start, shape)
    state = opt.init(x)
    # Diverged runs keep computing with inf and NaN until the end (cheaper than removing them
    # from the batch); their warnings are silenced here and their records cut below. The loss is
    # taken step by step, while x is still in the cache: faster than one pass over all positions.
    bound = DIVERGENCE_FACTOR * _scale(landscape)
    def within(x, loss) -> bool:  # every run in bounds and finite (a NaN fails each comparison)
        return bool(x.max() <= bound and x.min() >= -bound and np.isfinite(loss.sum()))

    with np.errstate(all="ignore"):
        positions[0], losses[0] = x, loss_at(x, 1)
        healthy = within(x, losses[0])  # checked step by step, while x is still in the cache
        for t in range(1, steps + 1):
            stepper = opt if schedule is None else opt.with_hyper(**schedule(t))
            x, state = stepper.step(x, grad_at(x, t), state)
            if project is not None:
                x = project(x)
            positions[t], losses[t] = x, loss_at(x, t + 1)
            healthy = healthy and within(x, losses[t])
        diverged_at = np.full(losses.shape[1:], -1) if healthy else _cut_divergence(positions, losses, bound)
    return Trajectory(positions, losses, diverged_at >= 0, diverged_at, opt.name)


def run_many(optimizers, landscape, start=None, steps: int = 100, *, project=None,
             schedule=None) -> dict[str, Trajectory]:
    """Run several optimizers on the same landscape from the same start.

    ``optimizers`` is a dict ``label -> opt`` or a list of optimizers, labelled by ``opt.name``
    (a name that occurs more than once is numbered: ``"SGD"``, ``"SGD #2"``, …).
    Returns a dict ``label -> Trajectory``, in the given order.
    """
    if not isinstance(optimizers, dict):
        optimizers = dict(zip(_unique_labels([opt.name for opt in optimizers]), optimizers))
    return {label: run(opt, landscape, start, steps, project=project, schedule=schedule)
            for label, opt in optimizers.items()}


def _run_shape(start_shape, hyper) -> tuple:
    """The shape of the parameters of a batched run: start broadcast with the hyperparameters."""
    shapes = {name: np.shape(value) for name, value in _array_hyper(hyper)}
    try:
        return np.broadcast_shapes(start_shape, *shapes.values())
    except ValueError:
        arrays = {name: shape for name, shape in shapes.items() if shape}
        raise ValueError(
            f"Hyperparameter shapes {arrays} do not broadcast against parameters of shape "
            f"{start_shape}: a hyperparameter array broadcasts against (*batch, dim), so give a "
            f"sweep a trailing axis, e.g. lr=np.array([...])[:, None]") from None


def _array_hyper(hyper):
    """(name, value) for every numeric hyperparameter, with tuples such as betas unpacked."""
    for name, value in hyper.items():
        if isinstance(value, (tuple, list)):
            yield from _array_hyper({f"{name}[{i}]": v for i, v in enumerate(value)})
        elif isinstance(value, (numbers.Number, np.ndarray)):
            yield name, value


def _scale(landscape) -> float:
    """The size of the landscape's window: the largest coordinate of its bounds."""
    return float(np.abs(np.asarray(landscape.bounds, dtype=float)).max())


def _cut_divergence(positions, losses, bound) -> np.ndarray:
    """Set positions and losses to NaN from each run's first bad step on; return that step or -1.

    A step is bad when a coordinate is not finite or beyond ``bound`` in absolute value, or when
    the loss is not finite.
    """
    bad = ~np.isfinite(losses)
    for i in range(positions.shape[-1]):  # one coordinate at a time: faster than .all(axis=-1)
        bad |= ~(np.abs(positions[..., i]) <= bound)  # NaN <= bound is False
    diverged = bad.any(axis=0)
    if not diverged.any():
        return np.full(diverged.shape, -1)
    after = np.logical_or.accumulate(bad, axis=0)
    positions[after] = np.nan
    losses[after] = np.nan
    return np.where(diverged, bad.argmax(axis=0), -1)


def _unique_labels(names) -> list[str]:
    """Number the repeats of a name: ["SGD", "Adam", "SGD"] -> ["SGD", "Adam", "SGD #2"]."""
    seen = Counter()
    labels = []
    for name in names:
        seen[name] += 1
        labels.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return labels
