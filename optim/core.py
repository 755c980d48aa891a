"""The machinery every optimizer of the book shares: one update rule, two faces.

An algorithm is written once, as an *update rule*::

    def update(p, g, s, h, x):        # params, gradient, state, hyperparameters, ops
        ...
        return new_p

* ``s`` holds the algorithm's state under readable names (``s.m``, ``s.v``, ``s.t``);
  the rule reads it and assigns new values to it.
* ``h`` holds the hyperparameters (``h.lr``, ``h.beta1``, ...), numbers or arrays.
* ``x`` is the *ops*: the handful of array operations a rule needs
  (``lerp``, ``ema_sq``, ``addcdiv``, ``sqrt``, ...). Everything else is plain
  arithmetic with ``+ - * / **``.

The two faces run the same rule with different ops:

* the NumPy face (this module, :class:`Optimizer`) passes :data:`PURE`, whose ops
  return new arrays, and hands the rule a fresh copy of the state, so a step is a
  pure function ``params, state = opt.step(params, grads, state)``;
* the torch face (:mod:`optim.torch`) passes ops that work *in place* on the
  buffers the optimizer owns (``m.lerp_(g, 1 - beta1)``), which is what makes it as
  fast as ``torch.optim``. The rule's rule of thumb: the first argument of an op is
  a state buffer or the parameter, never the gradient.

A rule returns the new parameters. Leading dimensions of the arrays are independent
runs, and any hyperparameter may be an array that broadcasts against the
parameters: the rule is element-wise, so broadcasting does the batching.
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, ClassVar

import numpy as np

__all__ = ["State", "Optimizer", "SparseRows", "PURE", "require", "enabled", "gradient", "HyperparameterTypeError"]


class State:
    """An optimizer's state: a few named arrays and counters, printed readably.

    ``state.m``, ``state.v``, ``state.t`` ... as the book's equations name them.
    It holds no hyperparameters, so one state can be stepped by optimizers whose
    hyperparameters change from step to step (a learning-rate schedule).
    """

    def __init__(self, kind: str = "State", **fields: Any):
        object.__setattr__(self, "_kind", kind)
        self.__dict__.update(fields)

    def copy(self) -> "State":
        # A shallow copy is enough: the NumPy ops never write into an array they were given.
        new = object.__new__(State)
        new.__dict__.update(self.__dict__)
        return new

    def fields(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_kind"}

    def __getattr__(self, name):  # only called for missing attributes
        if name.startswith("_"):  # copy/pickle probe before __dict__ is filled
            raise AttributeError(name)
        raise AttributeError(f"{self._kind} has no field {name!r}; it has {list(self.fields())}")

    def __eq__(self, other):
        if not isinstance(other, State) or self.fields().keys() != other.fields().keys():
            return NotImplemented
        return all(_same(a, other.fields()[k]) for k, a in self.fields().items())

    def __repr__(self) -> str:
        with np.printoptions(precision=4, threshold=8, edgeitems=2):
            body = ", ".join(f"{k}={_short(v)}" for k, v in self.fields().items())
        return f"{self._kind}({body})"


def _same(a, b) -> bool:
    """Equal contents; a NaN equals a NaN in the same place (two runs that diverged alike hold the same state)."""
    if a is None or b is None or isinstance(a, State):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    try:
        return np.array_equal(a, b, equal_nan=True)
    except TypeError:          # arrays that cannot hold a NaN (objects, strings)
        return np.array_equal(a, b)


def _short(v) -> str:
    return repr(v) if not isinstance(v, np.ndarray) else np.array2string(v, separator=", ")


class SparseRows:
    """A sparse gradient of a table (an embedding): ``values[i]`` is the gradient of row ``indices[i]``.

    Rows may repeat; their gradients add up (as in ``tf.IndexedSlices`` and
    torch's uncoalesced sparse tensors).
    """

    def __init__(self, indices, values):
        self.indices, self.values = np.asarray(indices), np.asarray(values)

    def __repr__(self):
        return f"SparseRows(indices={self.indices!r}, values=<{self.values.shape}>)"


def _ndim(v) -> int:
    """np.ndim, without its cost for the numbers and arrays a rule sees (it runs per op)."""
    return v.ndim if type(v) is np.ndarray else (0 if type(v) in (float, int) else np.ndim(v))


# ---------------------------------------------------------------- ops (NumPy face)
class PureOps:
    """Array operations for the NumPy face: every op returns a new array."""

    name = "numpy"

    # Each op computes into one fresh array, updated in place (``out *= w``) rather than making
    # a temporary per operator: the same numbers, a third of the memory traffic. Only a scalar
    # weight can be applied in place; an array (a sweep) may broadcast to a larger shape.
    @staticmethod
    def lerp(a, b, w):
        """a + w (b - a): an exponential moving average when w = 1 - β."""
        if _ndim(w) or _ndim(a) < _ndim(b) or _ndim(b) == 0:
            return a + w * (b - a)
        out = np.subtract(b, a)
        out *= w
        out += a
        return out

    @staticmethod
    def ema_sq(a, g, beta):
        """β a + (1 - β) g², the moving average of squared gradients."""
        if _ndim(beta) or _ndim(g) == 0:
            return a * beta + (1 - beta) * (g * g)
        out = np.multiply(g, g)
        out *= 1 - beta
        out += a * beta
        return out

    @staticmethod
    def add(a, b, alpha=1.0):
        """a + α b."""
        return a + alpha * b

    @staticmethod
    def plus(a, b, alpha=1.0):
        """a + α b into a new array, even in the torch face (for the gradient, which is not ours)."""
        return a + alpha * b

    @staticmethod
    def addcmul(a, b, c, value=1.0):
        """a + value · b · c."""
        return a + value * (b * c)

    @staticmethod
    def addcdiv(a, b, c, value=1.0):
        """a + value · b / c."""
        if _ndim(value) or _ndim(b) == 0 and _ndim(c) == 0:
            return a + value * (b / c)
        out = np.divide(b, c)
        out *= value
        out += a
        return out

    @staticmethod
    def mul(a, b):
        return a * b

    @staticmethod
    def copy(a, b):
        """The value of b, to be stored where a was."""
        return np.array(b, copy=True)

    maximum = staticmethod(np.maximum)
    sqrt = staticmethod(np.sqrt)

    @staticmethod
    def clone(a):
        return np.array(a, copy=True)

    @staticmethod
    def zeros_like(p):
        return np.zeros_like(p, dtype=np.result_type(p, np.float64))

    @staticmethod
    def full_like(p, value):
        return np.full_like(p, value, dtype=np.result_type(p, np.float64))

    @staticmethod
    def counter(value):
        """A step counter or other scalar state (torch keeps these as tensors)."""
        return value

    @staticmethod
    def value(c):
        """The number in a counter made by :meth:`counter`."""
        return c

    @staticmethod
    def centralize(g, conv_only=False):
        """Gradient centralization leaves vectors alone, and each run here is one vector."""
        return g

    @staticmethod
    def is_sparse(g):
        return isinstance(g, SparseRows)

    @staticmethod
    def coalesce(g):
        """(unique row indices, values with duplicate rows summed)."""
        rows, inverse = np.unique(np.asarray(g.indices), return_inverse=True)
        values = np.zeros((len(rows),) + np.shape(g.values)[1:], dtype=np.result_type(g.values, float))
        np.add.at(values, inverse.ravel(), g.values)
        return rows, values

    @staticmethod
    def rows(a, idx):
        return a[idx]

    @staticmethod
    def set_rows(a, idx, values):
        out = a.copy()
        out[idx] = values
        return out

    # --- beyond element-wise (Part 7). A *vector rule* (layer-wise norms, sums) sees one tensor
    # per run in the last axis; a *matrix rule* (Muon, Shampoo, Adafactor) the last two axes.
    # Leading axes stay independent runs. Reductions keep their axes, so results broadcast back.
    sign = staticmethod(np.sign)

    @staticmethod
    def norm(a):
        """‖a‖₂ of one tensor: here over the last axis (one run's parameters), kept for broadcasting."""
        return np.sqrt(np.sum(a * a, axis=-1, keepdims=True)) if _ndim(a) else np.abs(a)

    @staticmethod
    def dot(a, b):
        """Σ a·b over one tensor: here over the last axis, kept for broadcasting."""
        return np.sum(a * b, axis=-1, keepdims=True) if _ndim(a) or _ndim(b) else a * b

    @staticmethod
    def matmul(a, b):
        return np.matmul(a, b)

    @staticmethod
    def mT(a):
        """The matrix transpose: the last two axes swapped."""
        return np.swapaxes(a, -1, -2)

    @staticmethod
    def matrix_norm(a):
        """The Frobenius norm of each matrix (the last two axes), kept for broadcasting."""
        return np.sqrt(np.sum(a * a, axis=(-2, -1), keepdims=True))

    @staticmethod
    def mean(a, axis):
        """The mean over ``axis`` (an int or a tuple), kept for broadcasting."""
        return np.mean(a, axis=axis, keepdims=True)

    @staticmethod
    def eigh(a):
        """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix in the last two axes."""
        return np.linalg.eigh(a)

    where = staticmethod(np.where)

    # Shampoo and SOAP (optim/shampoo.py): identity, eigenvector order, QR, sorting.
    @staticmethod
    def eye(n, like):
        """The n×n identity in ``like``'s float dtype."""
        return np.eye(n, dtype=np.result_type(like, np.float64))

    @staticmethod
    def flip(a, axis):
        """``a`` reversed along ``axis``."""
        return np.flip(a, axis)

    @staticmethod
    def qr(a, float32=False):
        """Q of the reduced QR of each matrix in the last two axes (computed in float32 if asked, returned in a's dtype)."""
        return np.linalg.qr(a.astype(np.float32) if float32 else a)[0].astype(a.dtype)

    @staticmethod
    def argsort(a):
        """Indices that sort ``a`` ascending along the last axis."""
        return np.argsort(a, axis=-1)

    @staticmethod
    def take_along(a, idx, axis):
        """``a``'s entries at ``idx`` along ``axis`` (other axes broadcast): np.take_along_axis."""
        return np.take_along_axis(a, idx, axis)

    @staticmethod
    def every(a, k):
        """Every k-th entry of one tensor (here of the last axis; torch: of the flattened tensor), as
        Prodigy's ``slice_p`` samples it. k = 1 is the whole tensor."""
        return a if k == 1 or _ndim(a) == 0 else a[..., ::k]


PURE = PureOps()


def enabled(h) -> bool:
    """Whether an optional term (momentum, weight decay, ...) is switched on.

    A scalar 0 switches it off; an array switches it on (a sweep that includes 0
    still gives the right numbers: the term is then multiplied by 0).
    """
    if type(h) in (int, float, bool):     # the common case, kept fast for the torch face
        return h != 0
    return np.ndim(h) > 0 or bool(h != 0)


# ---------------------------------------------------------------- validation
class HyperparameterTypeError(TypeError, ValueError):
    """A hyperparameter that is not a number at all (a string, ``None``, ...).

    Both a ``TypeError`` (what ``torch.optim`` raises for these, from its range
    comparisons) and a ``ValueError`` (what this package raises for every bad
    hyperparameter), so code written for either catches it.
    """


def _not_a_number(value) -> bool:
    if value is None or isinstance(value, (str, bytes)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_not_a_number(v) for v in value)
    return False


def require(name: str, value, low=None, high=None, *, low_open=False, high_open=False):
    """Raise ``ValueError`` naming the parameter, its value and the allowed range.

    ``value`` may be a number or an array (every element is checked). A value that
    is not a number (a string such as ``"1e-3"``, ``None``) raises
    :class:`HyperparameterTypeError`, a ``ValueError`` that is also a ``TypeError``.
    """
    if isinstance(value, bool):
        return
    if _not_a_number(value):
        raise HyperparameterTypeError(
            f"Invalid {name}: {value!r} (expected a number, got {type(value).__name__})")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise HyperparameterTypeError(
            f"Invalid {name}: {value!r} (expected a number, got {type(value).__name__})") from None
    ok = ~np.isnan(arr)
    if low is not None:
        ok &= arr > low if low_open else arr >= low
    if high is not None:
        ok &= arr < high if high_open else arr <= high
    if not np.all(ok):
        bad = value if arr.ndim == 0 else arr[~ok].ravel()[0]
        lo = "" if low is None else f"{low} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high}"
        raise ValueError(f"Invalid {name}: {bad} (allowed: {lo}{name}{hi})")


def require_betas(betas, low_open=False):
    """Both β's in [0, 1), like torch.optim."""
    if not isinstance(betas, (tuple, list)):
        raise HyperparameterTypeError(
            f"Invalid betas: {betas!r} (expected a pair (beta1, beta2), got {type(betas).__name__})")
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (expected a pair (beta1, beta2), got {len(betas)} "
                         f"value{'s' if len(betas) != 1 else ''})")
    for i, b in enumerate(betas):
        require(f"beta parameter at index {i}", b, 0.0, 1.0, high_open=True)


def require_flag(name: str, value):
    """A switch (``amsgrad``, ``nesterov``, ``maximize``, ...): True or False (or 1, 0), never a string."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return
    raise HyperparameterTypeError(f"Invalid {name}: {value!r} (expected True or False)")


# ---------------------------------------------------------------- the NumPy face
class Optimizer:
    """The NumPy face of an algorithm: functional, batched, pure.

    Subclasses declare ``name``, ``defaults`` (the torch signature's defaults, in
    order), ``validate`` (the hyperparameter checks shared with the torch face),
    ``init_state`` and ``update`` (the rule). Nothing else.
    """

    name: ClassVar[str]
    defaults: ClassVar[dict]
    #: readable state name -> the key torch.optim uses in ``optimizer.state[p]``
    torch_keys: ClassVar[dict] = {}
    update: ClassVar[Callable]
    #: hyperparameters a variant fixes rather than exposes (AdamW: decoupled decay)
    fixed: ClassVar[dict] = {}

    def __init__(self, **hyper):
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected hyperparameters {sorted(unknown)}")
        self.hyper = {**self.defaults, **hyper}
        for key, default in self.defaults.items():   # switches: a string "False" would be true
            if isinstance(default, bool):
                require_flag(key, self.hyper[key])
        self.validate(self.hyper)
        self.h = Hyper({**self.hyper, **self.fixed})

    @staticmethod
    def validate(hyper: dict) -> None:
        """Raise ValueError for a hyperparameter out of range (overridden)."""

    @staticmethod
    def init_state(p, h, x) -> dict:
        """The initial state fields for parameters ``p`` (overridden)."""
        return {}

    def init(self, params) -> State:
        """The state before the first step."""
        params = np.asarray(params)
        return State(f"{self.name}State", **self.init_state(params, self.h, PURE))

    def step(self, params, grads, state: State):
        """One step: returns ``(new_params, new_state)``; the inputs are not touched."""
        s = state.copy()
        grads = grads if isinstance(grads, SparseRows) else np.asarray(grads)  # LazyAdam's sparse rows
        new = type(self).update(np.asarray(params), grads, s, self.h, PURE)
        return new, s

    def with_hyper(self, **changes) -> "Optimizer":
        """The same algorithm with some hyperparameters changed (for schedules)."""
        return type(self)(**{**self.hyper, **changes})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items() if _differs(v, self.defaults[k]))
        return f"optim.{type(self).__name__}({args})"


def _differs(a, b) -> bool:
    try:
        return bool(np.any(np.asarray(a) != np.asarray(b)))
    except ValueError:  # ragged tuples
        return True


class Hyper:
    """Hyperparameters as attributes: ``h.lr``, ``h.beta1``; torch's ``betas`` pair is split."""

    def __init__(self, hyper: dict):
        self.__dict__.update(hyper)
        if "betas" in hyper:
            self.beta1, self.beta2 = hyper["betas"]

    def __repr__(self):
        return f"Hyper({self.__dict__})"


def gradient(p, g, h, x):
    """The gradient the rule follows, and the parameters after decoupled decay.

    ``maximize`` flips the sign; ``weight_decay`` λ is either an L2 penalty added to
    the gradient (g + λw, torch's default) or, with ``decoupled_weight_decay``, a
    shrinking of the weights by (1 - αλ) before the step (AdamW).
    """
    if h.maximize:
        g = -g
    if getattr(h, "use_gc", False):           # Ranger's gradient centralization
        g = x.centralize(g, h.gc_conv_only)
    if enabled(h.weight_decay):
        if getattr(h, "decoupled_weight_decay", False):
            p = x.mul(p, 1 - h.lr * h.weight_decay)
        else:
            g = x.plus(g, p, h.weight_decay)
    return p, g
