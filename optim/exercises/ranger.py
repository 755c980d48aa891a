"""Exercises of the chapter *Ranger*: gradient centralization of one gradient tensor, and one
whole Ranger step (centralization, RAdam, Lookahead's sync) on a weight matrix.

Gradient centralization (Yong et al. 2020) subtracts from the gradient of a weight matrix or
kernel its mean over all axes but the first (one mean per output unit); vectors (biases) are
left alone. The NumPy face of ``optim`` treats each run as one vector, so it never centres:
the references below centre the gradient here and let ``optim.Ranger`` do the rest.
"""

import numpy as np

import optim

from .cases import numbers, pick, positive
from .core import Case, Exercise, Mistake, register

CHAPTER = "Ranger"


# --- centralize: g − mean over all axes but the first ------------------------------------

def centralize(g, conv_only):
    g = np.asarray(g, dtype=float)
    if g.ndim <= (3 if conv_only else 1):           # a bias, a number (or a matrix if conv_only)
        return g.copy()
    return g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)


def _gc_cases(rng):
    def grad(shape, scale=1.0, shift=0.0, conv_only=False):
        return dict(g=numbers(rng, shape, scale) + shift, conv_only=conv_only)
    return [
        Case("a 3 × 4 weight matrix", grad((3, 4), shift=0.5)),
        Case("a 5 × 2 weight matrix", grad((5, 2), shift=-1.0)),
        Case("a 4 × 4 weight matrix", grad((4, 4), shift=0.3)),
        Case("a 3 × 5 matrix, tiny numbers (≈1e-8)", grad((3, 5), 1e-8, 2e-9)),
        Case("a 3 × 5 matrix, huge numbers (≈1e8)", grad((3, 5), 1e8, 5e7)),
        Case("a conv kernel 4 × 3 × 2 × 2 (out, in, h, w)", grad((4, 3, 2, 2), shift=0.2)),
        Case("a 3-D tensor 2 × 3 × 4", grad((2, 3, 4), shift=-0.4)),
        Case("a column matrix 3 × 1 (one input)", grad((3, 1), shift=1.0)),
        Case("a row matrix 1 × 4 (one output)", grad((1, 4), shift=1.0)),
        Case("a vector (a bias) of 5", grad((5,), shift=0.7)),
        Case("a number", grad((), shift=0.5)),
        Case("conv_only: a conv kernel 3 × 2 × 3 × 3", grad((3, 2, 3, 3), shift=0.6, conv_only=True)),
        Case("conv_only: a 3 × 4 weight matrix", grad((3, 4), shift=0.5, conv_only=True)),
        Case("conv_only: a vector of 4", grad((4,), shift=0.5, conv_only=True)),
    ]


def _mutant(centre_if, axis="rest", keepdims=True):
    """A centralization that centres when `centre_if(ndim, conv_only)`, over `axis`."""
    def centre(g, conv_only):
        g = np.asarray(g, dtype=float)
        if not centre_if(g.ndim, conv_only):
            return g.copy()
        axes = {"rest": tuple(range(1, g.ndim)), "first": 0, "last": -1, "all": None}[axis]
        if g.ndim == 1:
            axes = 0
        if g.ndim == 0:
            return g - g
        return g - g.mean(axis=axes, keepdims=keepdims)
    return centre


def _right(ndim, conv_only):
    return ndim > (3 if conv_only else 1)


_over_axis_zero = _mutant(_right, axis="first")
_global_mean = _mutant(_right, axis="all")
_last_axis_only = _mutant(_right, axis="last")
_no_keepdims = _mutant(_right, keepdims=False)
_vectors_too = _mutant(lambda ndim, conv_only: ndim > 3 if conv_only else True)
_ignored_conv_only = _mutant(lambda ndim, conv_only: ndim > 1)
_kernels_only = _mutant(lambda ndim, conv_only: ndim > 3)


def _in_place(g, conv_only):
    if np.ndim(g) > (3 if conv_only else 1):
        g -= g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
    return np.asarray(g, dtype=float)


register(Exercise(
    name="centralize", chapter=CHAPTER, reference=centralize,
    make_cases=_gc_cases, returns=("g",),
    task="""
Gradient centralization of one gradient tensor `g`, as Ranger applies it:

* a tensor with more than one axis (a weight matrix out × in, a kernel out × in × h × w):
  subtract from every entry the mean over all axes but the first, so that each output
  unit's slice (a row of a matrix, one filter of a kernel) has mean zero;
* a vector (a bias) or a number: return it unchanged;
* with `conv_only=True` (Ranger's `gc_conv_only`), only tensors with four or more axes
  (convolution kernels) are centred; matrices are left alone too.

Return a new array; leave the input as it is.
""",
    mistakes=(
        Mistake("centred over the first axis instead of the others",
                "The mean is taken over all axes *but* the first, one mean per output unit: "
                "`g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)`. `axis=0` centres each "
                "input column over the output units instead.", _over_axis_zero),
        Mistake("subtracted one global mean",
                "Each output unit (each row of a matrix, each filter of a kernel) has its own "
                "mean: average over axes 1, 2, ..., not over the whole tensor.", _global_mean),
        Mistake("centred over the last axis only",
                "For a matrix the last axis is the only one after the first, but a kernel "
                "(out, in, h, w) is centred over in, h and w together: "
                "`axis=tuple(range(1, g.ndim))`.", _last_axis_only),
        Mistake("mean without keepdims",
                "`g.mean(axis=...)` drops the averaged axes, so `g - mean` broadcasts the means "
                "along the wrong axis (or fails). Keep them with `keepdims=True`.",
                _no_keepdims),
        Mistake("centred vectors and biases too",
                "Ranger leaves tensors with a single axis (biases, gains) alone: centring a "
                "bias's gradient would freeze the sum of the biases. Return vectors and "
                "numbers unchanged.", _vectors_too),
        Mistake("ignored conv_only",
                "With `conv_only=True` only tensors with four or more axes (kernels) are "
                "centred: test `g.ndim > 3` then, `g.ndim > 1` otherwise.", _ignored_conv_only),
        Mistake("centred only convolution kernels, even without conv_only",
                "Ranger's default (`gc_conv_only=False`) centres every tensor with two or more "
                "axes, weight matrices included; only `conv_only=True` restricts it to "
                "kernels.", _kernels_only),
        Mistake("centred the gradient in place",
                "`g -= ...` changes the caller's gradient (pytorch_optimizer's Ranger does "
                "this to `p.grad`). Write `g = g - g.mean(...)`: a new array.", _in_place),
    ),
))


# --- ranger_step: centralize, RAdam, sync ------------------------------------------------

BETA1S = (0.95, 0.9)
BETA2S = (0.999, 0.99)
EPSILONS = (1e-5, 1e-8)
KS = (6, 5, 3)
ALPHAS = (0.5, 0.8, 0.3)
LEARNING_RATES = (0.01, 0.1, 0.001)


def ranger_step(w, g, slow, m, v, t, lr, beta1, beta2, eps, k, alpha):
    w = np.asarray(w, dtype=float)
    ranger = optim.Ranger(lr=lr, betas=(beta1, beta2), eps=eps, k=k, alpha=alpha,
                          use_gc=False)      # the NumPy face never centres: we do it here
    state = ranger.init(w)
    inner = state.base.copy()
    inner.t, inner.m, inner.v = t - 1, np.asarray(m, dtype=float), np.asarray(v, dtype=float)
    state = state.copy()
    state.t, state.slow, state.base = t - 1, np.asarray(slow, dtype=float), inner
    w, state = ranger.step(w, centralize(g, conv_only=False), state)
    return w, state.slow, state.base.m, state.base.v


def _step_args(rng, shape, t, k=None, scale=1.0):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale) + 0.3 * scale,
                slow=numbers(rng, shape, scale), m=numbers(rng, shape, 0.1 * scale),
                v=positive(rng, shape, (0.1 * scale) ** 2), t=t, lr=pick(rng, LEARNING_RATES),
                beta1=pick(rng, BETA1S), beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS),
                k=pick(rng, KS) if k is None else k, alpha=pick(rng, ALPHAS))


def _step_cases(rng):
    first = _step_args(rng, (3, 4), t=1, k=6)
    return [
        Case("first step of a 3 × 4 matrix: t = 1, m = v = 0",
             {**first, "m": np.zeros((3, 4)), "v": np.zeros((3, 4))}),
        Case("a matrix, t = 3 (momentum step, no sync)", _step_args(rng, (3, 4), t=3, k=6)),
        Case("a matrix, t = 5 = k − 1 (no sync yet)", _step_args(rng, (2, 5), t=5, k=6)),
        Case("a matrix, t = 6 = k: first adaptive step and a sync",
             _step_args(rng, (3, 4), t=6, k=6)),
        Case("a matrix, t = 3 = k: a sync after momentum steps",
             _step_args(rng, (4, 3), t=3, k=3)),
        Case("a matrix, t = 7 (adaptive, no sync)", _step_args(rng, (3, 4), t=7, k=6)),
        Case("a matrix, t = 10 = 2k", _step_args(rng, (3, 3), t=10, k=5)),
        Case("a conv kernel 2 × 3 × 2 × 2, t = 12", _step_args(rng, (2, 3, 2, 2), t=12, k=6)),
        Case("a vector (bias) of 5, t = 6 = k", _step_args(rng, (5,), t=6, k=6)),
        Case("a vector (bias) of 4, t = 2", _step_args(rng, (4,), t=2, k=6)),
        Case("a matrix, late: t = 100 (no sync)", _step_args(rng, (3, 4), t=100, k=6)),
        Case("a matrix, tiny numbers (≈1e-8), t = 12", _step_args(rng, (3, 4), t=12, k=6,
                                                                   scale=1e-8)),
    ]


# the catalogued mistakes: the rule with one thing changed

def _rule(w, g, slow, m, v, t, lr, beta1, beta2, eps, k, alpha, *, centre=None,
          below="momentum", sync=lambda t, k: t % k == 0, restart=True, reset=False):
    w, slow = np.asarray(w, dtype=float), np.asarray(slow, dtype=float)
    g = (centre or centralize)(g, False)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho_t > 5:
        r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        w = w - lr * r_t * m_hat * np.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)
    elif below == "momentum":
        w = w - lr * m_hat
    elif below == "uphill":
        w = w + lr * m_hat
    if sync(t, k):
        slow = slow + alpha * (w - slow)
        if restart:
            w = slow
        if reset:
            m, v = np.zeros_like(m), np.zeros_like(v)
    return w, slow, m, v


def _no_gc(*args):
    return _rule(*args, centre=lambda g, conv_only: np.asarray(g, dtype=float))


def _gc_axis_zero(*args):
    return _rule(*args, centre=_over_axis_zero)


def _gc_vectors_too(*args):
    return _rule(*args, centre=_vectors_too)


def _no_step_below(*args):
    return _rule(*args, below="nothing")


def _uphill_below(*args):
    return _rule(*args, below="uphill")


def _sync_early(*args):
    return _rule(*args, sync=lambda t, k: (t + 1) % k == 0)


def _no_restart(*args):
    return _rule(*args, restart=False)


def _reset_moments(*args):
    return _rule(*args, reset=True)


def _state_in_place(w, g, slow, m, v, t, lr, beta1, beta2, eps, k, alpha):
    w, slow, m_new, v_new = _rule(w, g, slow, m, v, t, lr, beta1, beta2, eps, k, alpha)
    m[...] = m_new                                   # the caller's arrays, overwritten
    v[...] = v_new
    return w, slow, m, v


register(Exercise(
    name="ranger_step", chapter=CHAPTER, reference=ranger_step,
    make_cases=_step_cases, returns=("w", "slow", "m", "v"),
    task="""
One step of Ranger on one parameter tensor `w` (a weight matrix, a kernel, or a bias vector)
with gradient `g`. `t` is the number of this step (1 for the first); `slow` holds Lookahead's
slow weights, `m` and `v` RAdam's moving averages before this step.

1. gradient centralization: if `g` has more than one axis, g ← g − (mean of g over all axes
   but the first, keepdims); a vector is left alone (your `centralize`);
2. RAdam's step, as in the chapter RAdam (your `radam_step`):
       m ← β₁·m + (1 − β₁)·g          v ← β₂·v + (1 − β₂)·g²        m̂ = m / (1 − β₁ᵗ)
       ρ_∞ = 2/(1 − β₂) − 1           ρ_t = ρ_∞ − 2·t·β₂ᵗ / (1 − β₂ᵗ)
       if ρ_t > 5:  w ← w − lr·r_t·m̂·√(1 − β₂ᵗ) / (√v + ε)
       otherwise:   w ← w − lr·m̂
3. Lookahead: if t is a multiple of k,  slow ← slow + α·(w − slow), then w ← slow.

Return the tuple `(w, slow, m, v)` as new arrays; leave the inputs unchanged.
""",
    mistakes=(
        Mistake("no gradient centralization",
                "Ranger centres the gradient of every tensor with more than one axis before "
                "RAdam sees it: g ← g − g.mean(axis=tuple(range(1, g.ndim)), keepdims=True). "
                "Both moving averages are built from the centred gradient.", _no_gc),
        Mistake("centred over the first axis instead of the others",
                "One mean per output unit: average over all axes but the first, "
                "`axis=tuple(range(1, g.ndim))`, not `axis=0`.", _gc_axis_zero),
        Mistake("centred the bias vectors too",
                "Vectors (biases) are left alone by gradient centralization; only tensors "
                "with two or more axes are centred.", _gc_vectors_too),
        Mistake("no step below the threshold",
                "While ρ_t ≤ 5 Ranger (like torch.optim.RAdam) takes the momentum step "
                "w − lr·m̂; it does not stand still.", _no_step_below),
        Mistake("stepped up the gradient below the threshold",
                "Below the threshold the step is w − lr·m̂, downhill. pytorch_optimizer's "
                "Ranger with its default degenerated_to_sgd=False adds lr·m̂ instead, which "
                "climbs the gradient for the first five steps.", _uphill_below),
        Mistake("synced one step early",
                "The sync comes after inner steps k, 2k, ...: test `t % k == 0`, with t "
                "counting this step. `(t + 1) % k == 0` syncs one step early.", _sync_early),
        Mistake("did not restart the fast weights from the slow ones",
                "After slow ← slow + α(w − slow) the fast weights restart there: w ← slow. "
                "Without it the slow weights are only a by-product.", _no_restart),
        Mistake("reset the moving averages at the sync",
                "Ranger keeps RAdam's m and v across a sync (pytorch_optimizer's Lookahead "
                "calls this pullback_momentum='none'); only the weights are pulled back.",
                _reset_moments),
        Mistake("updated the state in place",
                "`m *= beta1` (or `m[:] = ...`) changes the caller's arrays. Write "
                "`m = beta1 * m + (1 - beta1) * g`: new arrays, the old state untouched.",
                _state_in_place),
    ),
))
