"""Landscapes: the test functions on which the book watches optimizers move.

Each landscape is a loss ``f`` over the plane with its analytic gradient, vectorised over any
number of leading dimensions: ``xy`` has shape ``(..., 2)``, ``f(xy)`` shape ``(...)`` and
``grad(xy)`` shape ``(..., 2)``. So one call evaluates a whole grid (for contour plots) or a whole
batch of independent runs (for the trajectory engine).

    >>> from optim.landscapes import rosenbrock
    >>> rosenbrock.f(rosenbrock.minima)
    array([0.])

Every gradient here is derived by hand (no finite differences); the tests check each one against
torch autograd. The module uses NumPy only.

Besides the two-dimensional landscapes it holds the online problem of Reddi, Kale & Kumar (2018),
on which Adam provably fails and AMSGrad does not: a one-dimensional loss that changes with the
step ``t`` and a feasible set to project onto.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, ClassVar

import numpy as np

__all__ = [
    "Landscape", "Quadratic", "OnlineProblem",
    "rosenbrock", "beale", "himmelblau", "booth", "saddle", "rastrigin",
    "quadratic", "noisy", "amsgrad_problem", "ALL",
]


@dataclass(frozen=True, eq=False, repr=False)
class Landscape:
    """A loss over the plane, its gradient, and what a plot needs to show it.

    Attributes:
        name: display name, e.g. ``"Rosenbrock"``.
        f: ``f(xy)``, ``xy`` of shape ``(..., 2)`` -> loss of shape ``(...)``.
        grad: ``grad(xy)`` -> analytic gradient of shape ``(..., 2)``.
        minima: ``(k, 2)`` array of all global minima (``(0, 2)`` when there is none).
        bounds: ``((xmin, xmax), (ymin, ymax))``, a good plotting window.
        start: ``(2,)`` a classic starting point for demonstrations.
        log_contours: whether contours read better on a log scale (deep, curved valleys).
        min_value: the loss at every global minimum (NaN when there is none).
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    minima: np.ndarray
    bounds: tuple
    start: np.ndarray
    log_contours: bool = False
    min_value: float = 0.0

    # The trajectory engine reads these: a landscape is 2-D and the same loss at every step.
    dim: ClassVar[int] = 2
    time_dependent: ClassVar[bool] = False

    def __post_init__(self):
        # Landscapes are shared by every chapter: their arrays are read-only copies.
        object.__setattr__(self, "minima", _readonly(self.minima).reshape(-1, self.dim))
        object.__setattr__(self, "start", _readonly(self.start))
        object.__setattr__(self, "bounds", tuple(map(tuple, self.bounds)))

    def restarted(self) -> Landscape:
        """This landscape with its random stream (if any) back at its seed.

        The trajectory engine calls it before every run, so that a run on a :func:`noisy`
        landscape gives the same trajectory each time it is repeated.
        """
        restart = getattr(self.grad, "restarted", None)
        return self if restart is None else replace(self, grad=restart())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _readonly(values) -> np.ndarray:
    array = np.array(values, dtype=float)  # a copy
    array.flags.writeable = False
    return array


def _xy(xy):
    """Split ``(..., 2)`` points into their x and y coordinates (as float arrays)."""
    xy = np.asarray(xy, dtype=float)
    return xy[..., 0], xy[..., 1]


# --- Rosenbrock (1960): a curved, flat-bottomed valley. f = (a − x)² + b (y − x²)², a = 1, b = 100.

def _rosenbrock_f(xy, a=1.0, b=100.0):
    x, y = _xy(xy)
    return (a - x) ** 2 + b * (y - x**2) ** 2


def _rosenbrock_grad(xy, a=1.0, b=100.0):
    x, y = _xy(xy)
    valley = y - x**2
    return np.stack([-2 * (a - x) - 4 * b * x * valley, 2 * b * valley], axis=-1)


rosenbrock = Landscape("Rosenbrock", _rosenbrock_f, _rosenbrock_grad, minima=[[1.0, 1.0]],
                       bounds=((-2.0, 2.0), (-1.0, 3.0)), start=(-1.2, 1.0), log_contours=True)


# --- Beale: f = Σᵢ (cᵢ − x + x yⁱ)², i = 1, 2, 3, c = (1.5, 2.25, 2.625); sharp ridges, flat plateaus.

_BEALE_C = (1.5, 2.25, 2.625)


def _beale_f(xy):
    x, y = _xy(xy)
    return sum((c - x + x * y**i) ** 2 for i, c in enumerate(_BEALE_C, start=1))


def _beale_grad(xy):
    x, y = _xy(xy)
    dx = dy = 0.0
    for i, c in enumerate(_BEALE_C, start=1):
        residual = c - x + x * y**i
        dx = dx + 2 * residual * (y**i - 1)
        dy = dy + 2 * residual * i * x * y ** (i - 1)
    return np.stack([dx, dy], axis=-1)


beale = Landscape("Beale", _beale_f, _beale_grad, minima=[[3.0, 0.5]],
                  bounds=((-4.5, 4.5), (-4.5, 4.5)), start=(1.0, 1.5), log_contours=True)


# --- Himmelblau (1972): f = (x² + y − 11)² + (x + y² − 7)², four global minima of loss 0.

def _himmelblau_f(xy):
    x, y = _xy(xy)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(xy):
    x, y = _xy(xy)
    a, b = x**2 + y - 11, x + y**2 - 7
    return np.stack([4 * x * a + 2 * b, 2 * a + 4 * y * b], axis=-1)


# (3, 2) is exact; the other three are roots of a quartic, polished by Newton's method in float64
# (their gradient is below 2e-14).
himmelblau = Landscape(
    "Himmelblau", _himmelblau_f, _himmelblau_grad,
    minima=[[3.0, 2.0],
            [-2.805118086952745, 3.131312518250573],
            [-3.779310253377747, -3.2831859912861696],
            [3.5844283403304917, -1.8481265269644034]],
    bounds=((-5.0, 5.0), (-5.0, 5.0)), start=(0.0, 0.0), log_contours=True)


# --- Booth: f = (x + 2y − 7)² + (2x + y − 5)², a quadratic with condition number 9.

def _booth_f(xy):
    x, y = _xy(xy)
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _booth_grad(xy):
    x, y = _xy(xy)
    r1, r2 = x + 2 * y - 7, 2 * x + y - 5
    return np.stack([2 * r1 + 4 * r2, 4 * r1 + 2 * r2], axis=-1)


booth = Landscape("Booth", _booth_f, _booth_grad, minima=[[1.0, 3.0]],
                  bounds=((-10.0, 10.0), (-10.0, 10.0)), start=(-8.0, -6.0))


# --- The saddle x² − y²: a minimum along x, a maximum along y, unbounded below.

def _saddle_f(xy):
    x, y = _xy(xy)
    return x**2 - y**2


def _saddle_grad(xy):
    x, y = _xy(xy)
    return np.stack([2 * x, -2 * y], axis=-1)


# The start lies just off the x axis, the saddle's attracting direction: gradient descent first slides
# towards the saddle point, and escapes along y only as the tiny offset grows.
saddle = Landscape("Saddle", _saddle_f, _saddle_grad, minima=np.empty((0, 2)),
                   bounds=((-2.0, 2.0), (-2.0, 2.0)), start=(-1.5, 1e-3), min_value=np.nan)


# --- Rastrigin (2-D, A = 10): f = 2A + Σ (xᵢ² − A cos 2πxᵢ), a bowl covered in local minima.

_RASTRIGIN_A = 10.0


def _rastrigin_f(xy):
    xy = np.asarray(xy, dtype=float)
    return 2 * _RASTRIGIN_A + (xy**2 - _RASTRIGIN_A * np.cos(2 * np.pi * xy)).sum(axis=-1)


def _rastrigin_grad(xy):
    xy = np.asarray(xy, dtype=float)
    return 2 * xy + 2 * np.pi * _RASTRIGIN_A * np.sin(2 * np.pi * xy)


rastrigin = Landscape("Rastrigin", _rastrigin_f, _rastrigin_grad, minima=[[0.0, 0.0]],
                      bounds=((-5.12, 5.12), (-5.12, 5.12)), start=(-4.5, 4.0))


# --- The ill-conditioned quadratic, the model problem of every convergence-rate argument.

def _rotation(angle):
    """The matrix that rotates the plane by ``angle`` radians (counter-clockwise)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _quadratic_hessian(kappa, angle):
    rotation = _rotation(angle)
    return rotation @ np.diag([1.0, kappa]) @ rotation.T


@dataclass(frozen=True, eq=False, repr=False)
class Quadratic(Landscape):
    """f(w) = ½ wᵀ H w with H = R diag(1, κ) Rᵀ, R the rotation by ``angle`` radians.

    In the rotated coordinates (u, v) = Rᵀ w the loss is ½(λ₁u² + λ₂v²) with λ₁ = 1 (the flat
    direction u, the x axis before rotation) and λ₂ = κ (the steep direction v, the y axis before
    rotation). The minimum is w = 0 with loss 0.
    """

    kappa: float = 10.0
    angle: float = 0.0

    @property
    def eigenvalues(self) -> np.ndarray:
        """(λ₁, λ₂) = (1, κ), in increasing order."""
        return np.array([1.0, self.kappa])

    @property
    def eigenvectors(self) -> np.ndarray:
        """Columns u and v: the directions of λ₁ and λ₂ (the rotation matrix R)."""
        return _rotation(self.angle)

    @property
    def hessian(self) -> np.ndarray:
        """H = R diag(1, κ) Rᵀ, a symmetric 2×2 matrix."""
        return _quadratic_hessian(self.kappa, self.angle)

    @property
    def condition_number(self) -> float:
        """κ = λ_max / λ_min."""
        return float(self.kappa)


def quadratic(kappa: float = 10.0, angle: float = 0.0) -> Quadratic:
    """The quadratic ½(u² + κv²) rotated by ``angle`` radians (see :class:`Quadratic`).

    ``kappa`` is the condition number, at least 1. At ``angle=0`` the loss is ½(x² + κy²).
    """
    if not np.isfinite(kappa) or kappa < 1:
        raise ValueError(f"Invalid kappa: {kappa} (the condition number must be >= 1)")
    hessian = _quadratic_hessian(kappa, angle)

    def f(xy):
        xy = np.asarray(xy, dtype=float)
        return 0.5 * np.einsum("...i,ij,...j->...", xy, hessian, xy)

    def grad(xy):
        return np.asarray(xy, dtype=float) @ hessian  # H is symmetric: ∇f = H w = (wᵀ H)ᵀ

    # The start sits off both axes, so the steep direction makes gradient descent zig-zag.
    return Quadratic("Quadratic", f, grad, minima=np.zeros((1, 2)),
                     bounds=((-2.5, 2.5), (-2.5, 2.5)), start=_rotation(angle) @ np.array([-2.0, 1.0]),
                     kappa=float(kappa), angle=float(angle))


# --- Noise: the stochastic gradient of the clean loss.

class _NoisyGradient:
    """``grad(xy) + σ·N(0, I)``, drawn from a generator seeded with ``seed``."""

    def __init__(self, clean_grad, sigma, seed):
        self.clean_grad, self.sigma, self.seed = clean_grad, sigma, seed
        self.rng = np.random.default_rng(seed)

    def __call__(self, xy):
        g = self.clean_grad(xy)
        return g + self.sigma * self.rng.standard_normal(g.shape)

    def restarted(self):
        return _NoisyGradient(self.clean_grad, self.sigma, self.seed)


def noisy(landscape: Landscape, sigma: float, seed: int = 0) -> Landscape:
    """``landscape`` with Gaussian noise of standard deviation ``sigma`` added to every gradient.

    ``f`` stays the clean loss (what we measure), ``grad`` becomes a stochastic gradient (what the
    optimizer sees): each call adds fresh noise, one independent draw per coordinate, from a
    ``np.random.Generator`` seeded with ``seed``. Creating it again with the same seed gives the
    same sequence of draws; so does :meth:`Landscape.restarted`, which the trajectory engine calls
    before every run. Draws are taken in the shape of the batch, so a batched run does not see the
    same noise as the same runs done one by one.
    """
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"Invalid sigma: {sigma} (the noise's standard deviation must be >= 0)")
    return replace(landscape, name=f"{landscape.name} (noise σ={sigma:g})",
                   grad=_NoisyGradient(landscape.grad, sigma, seed))


# --- Reddi, Kale & Kumar (2018): the online problem on which Adam does not converge.

@dataclass(frozen=True, eq=False, repr=False)
class OnlineProblem:
    """A one-dimensional online convex problem: a linear loss that changes with the step ``t``::

        f_t(x) = high · x   if t mod period == 1
        f_t(x) = low · x    otherwise,                 x in the feasible set [-1, 1],

    with steps counted from ``t = 1`` (so the first step sees the large gradient). The defaults
    are the synthetic experiment of Reddi, Kale & Kumar, "On the convergence of Adam and beyond"
    (ICLR 2018), section 5: ``f_t(x) = 1010x`` for ``t mod 101 = 1``, ``-10x`` otherwise. Over one
    period the losses add up to ``(1010 - 100·10)·x = 10x``, so the best fixed point is ``x = -1``;
    yet Adam (β₁ = 0.9, β₂ = 0.99, step size α/√t) drifts to ``x = +1``, while AMSGrad moves to
    ``-1`` (the tests reproduce both). The family of section 3 (Theorem 1) is
    ``OnlineProblem(period=3, high=C, low=-1.0)`` with C > 2.

    Positions have shape ``(..., 1)``; ``f(x, t)`` and ``grad(x, t)`` take the step ``t`` (an int,
    or an array that broadcasts against the leading dimensions of ``x``).
    """

    name: str = "Reddi et al. (2018)"
    period: int = 101
    high: float = 1010.0
    low: float = -10.0
    bounds: tuple = ((-1.0, 1.0),)
    start: np.ndarray = field(default_factory=lambda: _readonly([0.0]))

    dim: ClassVar[int] = 1
    time_dependent: ClassVar[bool] = True

    def slope(self, t):
        """f_t'(x): ``high`` on the steps with ``t mod period == 1``, ``low`` on the others."""
        return np.where(np.asarray(t) % self.period == 1, self.high, self.low)

    def f(self, x, t):
        """f_t(x) for ``x`` of shape ``(..., 1)``: a loss of shape ``(...)``."""
        return self.slope(t) * np.asarray(x, dtype=float)[..., 0]

    def grad(self, x, t):
        """∇f_t(x), of the shape of ``x``: the slope, whatever ``x`` is."""
        x = np.asarray(x, dtype=float)
        return np.broadcast_to(np.expand_dims(self.slope(t), -1), x.shape).copy()

    def project(self, x):
        """The Euclidean projection onto the feasible set [-1, 1]: a clip."""
        (low, high), = self.bounds
        return np.clip(x, low, high)

    @property
    def minima(self) -> np.ndarray:
        """The best fixed point in the long run, shape ``(1, 1)``: x* = -1 with the defaults.

        The losses of one period add up to ``period_slope · x``; the best point is the end of
        [-1, 1] that makes it smallest.
        """
        (low, high), = self.bounds
        return np.array([[low if self.period_slope > 0 else high]])

    @property
    def period_slope(self) -> float:
        """The slope of the sum of the losses over one period: ``high + (period - 1)·low``."""
        return self.high + (self.period - 1) * self.low

    def regret(self, positions) -> np.ndarray:
        """The regret R_T = Σ_{t≤T} f_t(x_t) − min_{x∈[-1,1]} Σ_{t≤T} f_t(x) after each T = 1, 2, …

        ``positions[k]`` is x_{k+1} (as in ``Trajectory.positions``): shape ``(T, ..., 1)``.
        Returns shape ``(T, ...)``. The best point in hindsight is computed exactly for every T
        (early in a period it can be +1); in the long run it is x* = -1. The paper plots
        ``R_T / T`` (see :meth:`average_regret`), which tends to 0 for an algorithm that converges.
        """
        positions = np.asarray(positions, dtype=float)
        t = np.arange(1, len(positions) + 1).reshape(-1, *[1] * (positions.ndim - 2))
        incurred = np.cumsum(self.f(positions, t), axis=0)
        total_slope = np.cumsum(self.slope(t), axis=0)  # Σ f_t(x) = total_slope · x: linear
        (low, high), = self.bounds
        return incurred - np.minimum(low * total_slope, high * total_slope)

    def average_regret(self, positions) -> np.ndarray:
        """R_T / T after each step T: the quantity of the paper's figure 1."""
        regret = self.regret(positions)
        return regret / np.arange(1, len(regret) + 1).reshape(-1, *[1] * (regret.ndim - 1))

    def restarted(self) -> OnlineProblem:
        return self  # deterministic

    def __repr__(self) -> str:
        return f"<OnlineProblem {self.name!r}: period={self.period}, high={self.high}, low={self.low}>"


amsgrad_problem = OnlineProblem()


ALL: dict[str, Landscape] = {
    landscape.name: landscape
    for landscape in (rosenbrock, beale, himmelblau, booth, saddle, rastrigin, quadratic())
}
