"""Exercises of the chapter *LazyAdam*: one lazy step on the rows of a table, and a run of them."""

import numpy as np

import optim

from .cases import numbers, pick, positive
from .core import Case, Exercise, Mistake, register, state_with

CHAPTER = "LazyAdam"
LEARNING_RATES = (0.1, 0.01, 0.5)
BETA1S = (0.9, 0.8, 0.5)
BETA2S = (0.999, 0.99, 0.9)
EPSILONS = (1e-7, 1e-3, 0.1)
STEPS = (1, 2, 3, 5, 10)


# --- lazyadam_step -----------------------------------------------------------------------

def lazyadam_step(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    opt = optim.LazyAdam(lr=lr, betas=(beta1, beta2), eps=eps)
    # The state holds the number of steps *done*, t − 1; this step makes it t.
    w = np.asarray(w, dtype=float)
    state = state_with(opt.init(w), t=t - 1, m=np.asarray(m, dtype=float),
                       v=np.asarray(v, dtype=float))
    new_w, state = opt.step(w, optim.SparseRows(indices, values), state)
    return new_w, state.m, state.v


def _table_args(rng, rows, dim, batch):
    return dict(w=numbers(rng, (rows, dim)), m=numbers(rng, (rows, dim)),
                v=positive(rng, (rows, dim)), t=pick(rng, STEPS),
                indices=rng.integers(0, rows, size=batch), values=numbers(rng, (batch, dim)),
                lr=pick(rng, LEARNING_RATES), beta1=pick(rng, BETA1S), beta2=pick(rng, BETA2S),
                eps=pick(rng, EPSILONS))


def _step_cases(rng):
    cases = [Case("a table of 5 rows × 2, 3 indices", _table_args(rng, 5, 2, 3)) for _ in range(3)]
    cases += [Case("a table of 8 rows × 3, 6 indices", _table_args(rng, 8, 3, 6)) for _ in range(2)]
    dup = _table_args(rng, 6, 2, 4)
    cases.append(Case("duplicate indices [4, 1, 4, 4]", {**dup, "indices": np.array([4, 1, 4, 4])}))
    first = _table_args(rng, 4, 2, 2)
    cases.append(Case("first step: t = 1, m = v = 0",
                      {**first, "t": 1, "m": np.zeros((4, 2)), "v": np.zeros((4, 2)),
                       "indices": np.array([2, 0])}))
    late = _table_args(rng, 5, 2, 3)
    cases.append(Case("late: t = 1000, large ε", {**late, "t": 1000, "eps": 0.1}))
    every = _table_args(rng, 3, 2, 3)
    cases.append(Case("every row once, in reverse order",
                      {**every, "indices": np.array([2, 1, 0])}))
    return cases


def _summed(indices, values, rows):
    g = np.zeros((rows,) + np.shape(values)[1:])
    np.add.at(g, indices, values)
    return g


def _lr_t(lr, beta1, beta2, t):
    return lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)


def _dense_adam(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    g = _summed(indices, values, len(w))
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return w - _lr_t(lr, beta1, beta2, t) * m / (np.sqrt(v) + eps), m, v


def _moments_of_every_row(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    g = _summed(indices, values, len(w))
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    rows = np.unique(indices)
    w = w.copy()
    w[rows] -= _lr_t(lr, beta1, beta2, t) * m[rows] / (np.sqrt(v[rows]) + eps)
    return w, m, v


def _last_duplicate_wins(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    w, m, v = w.copy(), m.copy(), v.copy()
    m[indices] = beta1 * m[indices] + (1 - beta1) * values
    v[indices] = beta2 * v[indices] + (1 - beta2) * values**2
    w[indices] = w[indices] - _lr_t(lr, beta1, beta2, t) * m[indices] / (np.sqrt(v[indices]) + eps)
    return w, m, v


def _eps_after_correction(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    rows = np.unique(indices)
    g = _summed(indices, values, len(w))[rows]
    w, m, v = w.copy(), m.copy(), v.copy()
    m[rows] = beta1 * m[rows] + (1 - beta1) * g
    v[rows] = beta2 * v[rows] + (1 - beta2) * g**2
    m_hat, v_hat = m[rows] / (1 - beta1**t), v[rows] / (1 - beta2**t)
    w[rows] = w[rows] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w, m, v


def _no_bias_correction(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    rows = np.unique(indices)
    g = _summed(indices, values, len(w))[rows]
    w, m, v = w.copy(), m.copy(), v.copy()
    m[rows] = beta1 * m[rows] + (1 - beta1) * g
    v[rows] = beta2 * v[rows] + (1 - beta2) * g**2
    w[rows] = w[rows] - lr * m[rows] / (np.sqrt(v[rows]) + eps)
    return w, m, v


def _state_in_place(w, m, v, t, indices, values, lr, beta1, beta2, eps):
    rows = np.unique(indices)
    g = _summed(indices, values, len(w))[rows]
    m[rows] = beta1 * m[rows] + (1 - beta1) * g
    v[rows] = beta2 * v[rows] + (1 - beta2) * g**2
    w = w.copy()
    w[rows] = w[rows] - _lr_t(lr, beta1, beta2, t) * m[rows] / (np.sqrt(v[rows]) + eps)
    return w, m, v


register(Exercise(
    name="lazyadam_step", chapter=CHAPTER, reference=lazyadam_step,
    make_cases=_step_cases, returns=("w", "m", "v"),
    task="""
One LazyAdam step on a table (an embedding). `w, m, v` are arrays of shape (rows, dim): the
table and its moments. The sparse gradient is `values[i]`, the gradient of row `indices[i]`;
an index may repeat, and the gradients of a repeated row add up. `t` is the number of this
step (1 for the first), counted for the whole table. For every row r in the batch, with g_r
its summed gradient:

    m_r ← β₁·m_r + (1 − β₁)·g_r        v_r ← β₂·v_r + (1 − β₂)·g_r²
    w_r ← w_r − α_t·m_r / (√v_r + ε),   α_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)

and every other row keeps its w, m and v. Return the tuple `(w, m, v)`, as new arrays: leave
the inputs unchanged.
""",
    mistakes=(
        Mistake("moved every row (dense Adam with zero gradients)",
                "A row outside the batch must keep its w, m and v. Dense Adam decays m and v of "
                "every row and keeps moving rows whose m is not zero: that is what LazyAdam "
                "avoids. Work on `np.unique(indices)` only.", _dense_adam),
        Mistake("updated the moments of rows not in the batch",
                "Only the rows in the batch take part: m and v of the other rows must not "
                "decay (that would be dense Adam's state, lazily applied to w only).",
                _moments_of_every_row),
        Mistake("duplicate indices not summed (the last one wins)",
                "`m[indices] = ...` with a repeated index keeps only the last assignment. Sum "
                "the gradients of a repeated row first (`np.add.at`, or `np.unique` with "
                "`return_inverse`), then update each row once.", _last_duplicate_wins),
        Mistake("ε added after the bias correction (torch's form)",
                "LazyAdam adds ε to the uncorrected root: w − α_t·m/(√v + ε), with the "
                "corrections folded into α_t (TensorFlow's ε-hat form). Adding ε to √v̂ is "
                "torch.optim.Adam's form; it differs while 1 − β₂ᵗ is small.",
                _eps_after_correction),
        Mistake("missing bias correction",
                "Use α_t = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), not lr: early on the moments are biased "
                "towards their zero start.", _no_bias_correction),
        Mistake("updated the state in place",
                "`m[rows] = ...` on the caller's array changes it. Copy first "
                "(`m = m.copy()`) or build new arrays: the old state stays untouched.",
                _state_in_place),
    ),
))


# --- lazyadam_run ------------------------------------------------------------------------

def lazyadam_run(w, indices, values, lr, beta1, beta2, eps):
    opt = optim.LazyAdam(lr=lr, betas=(beta1, beta2), eps=eps)
    w = np.asarray(w, dtype=float)
    state = opt.init(w)
    for idx, vals in zip(indices, values):
        w, state = opt.step(w, optim.SparseRows(idx, vals), state)
    return w, state.m, state.v


def _run_args(rng, rows, dim, steps, batch):
    return dict(w=numbers(rng, (rows, dim)), indices=rng.integers(0, rows, size=(steps, batch)),
                values=numbers(rng, (steps, batch, dim)), lr=pick(rng, LEARNING_RATES),
                beta1=pick(rng, BETA1S), beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS[:2]))


def _run_cases(rng):
    cases = [Case("6 rows × 2, 8 steps of 2 indices", _run_args(rng, 6, 2, 8, 2)) for _ in range(4)]
    cases += [Case("10 rows × 3, 12 steps of 3 indices", _run_args(rng, 10, 3, 12, 3))
              for _ in range(2)]
    late = _run_args(rng, 4, 2, 6, 1)
    cases.append(Case("row 3 first seen at step 6",
                      {**late, "indices": np.array([[0], [1], [0], [2], [1], [3]])}))
    dup = _run_args(rng, 5, 1, 5, 3)
    cases.append(Case("duplicates in every batch",
                      {**dup, "indices": np.array([[0, 0, 1], [2, 2, 2], [1, 3, 1],
                                                   [4, 0, 4], [3, 3, 0]])}))
    return cases


def _per_row_counts(w, indices, values, lr, beta1, beta2, eps):
    w = np.array(w, dtype=float)
    m, v, counts = np.zeros_like(w), np.zeros_like(w), np.zeros(len(w), dtype=int)
    for idx, vals in zip(indices, values):
        rows = np.unique(idx)
        g = _summed(idx, vals, len(w))[rows]
        counts[rows] += 1
        n = counts[rows][:, None]
        m[rows] = beta1 * m[rows] + (1 - beta1) * g
        v[rows] = beta2 * v[rows] + (1 - beta2) * g**2
        w[rows] -= _lr_t(lr, beta1, beta2, n) * m[rows] / (np.sqrt(v[rows]) + eps)
    return w, m, v


def _dense_run(w, indices, values, lr, beta1, beta2, eps):
    w = np.array(w, dtype=float)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, (idx, vals) in enumerate(zip(indices, values), start=1):
        w, m, v = _dense_adam(w, m, v, t, idx, vals, lr, beta1, beta2, eps)
    return w, m, v


def _restarted_count(w, indices, values, lr, beta1, beta2, eps):
    w = np.array(w, dtype=float)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for idx, vals in zip(indices, values):
        w, m, v = lazyadam_step(w, m, v, 1, idx, vals, lr, beta1, beta2, eps)
    return w, m, v


def _counted_per_index(w, indices, values, lr, beta1, beta2, eps):
    w = np.array(w, dtype=float)
    m, v, t = np.zeros_like(w), np.zeros_like(w), 0
    for idx, vals in zip(indices, values):
        t += len(np.unique(idx))
        w, m, v = lazyadam_step(w, m, v, t, idx, vals, lr, beta1, beta2, eps)
    return w, m, v


register(Exercise(
    name="lazyadam_run", chapter=CHAPTER, reference=lazyadam_run,
    make_cases=_run_cases, returns=("w", "m", "v"),
    task="""
Run LazyAdam over a stream of sparse gradients, from m = v = 0. `w` is the table, shape
(rows, dim); step k (k = 1, 2, …) has the gradient `values[k-1, i]` for row `indices[k-1, i]`
(`indices` has shape (steps, batch), `values` (steps, batch, dim); repeated rows add up).
Each step is the lazy step of `lazyadam_step`, with the step count t of the whole table:
t = k at step k, whether or not a row was in the earlier batches. Return `(w, m, v)` after
the last step, as new arrays.
""",
    mistakes=(
        Mistake("per-row step counts in the bias correction",
                "LazyAdam (TF Addons, torch's SparseAdam) counts steps for the whole table: a "
                "row first seen at step 10 is corrected with t = 10, not t = 1. Keep one "
                "counter t, increased once per step.", _per_row_counts),
        Mistake("moved every row (dense Adam with zero gradients)",
                "Rows outside a batch must keep their w, m and v; dense Adam keeps moving "
                "them with their old momentum.", _dense_run),
        Mistake("the step count restarts at t = 1 on every step",
                "t is the number of steps taken so far (1, 2, 3, …), kept across steps: the "
                "bias correction fades as t grows.", _restarted_count),
        Mistake("counted one step per row in the batch",
                "t grows by one per step of the optimizer, however many rows the batch holds.",
                _counted_per_index),
    ),
))
