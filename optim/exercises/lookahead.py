"""Exercises of the chapter *Lookahead*: one Lookahead step (the sync rule and when it fires),
and a whole run of Lookahead around SGD on a quadratic (where the slow weights come from).

α is never 0.5 in the cases: there φ + α(θ − φ) and θ + α(φ − θ) are the same number.
"""

import numpy as np

import optim
from optim.core import PURE
from optim.lookahead import lookahead_sync

from .cases import numbers, pick, positive
from .core import Case, Exercise, Mistake, register

CHAPTER = "Lookahead"
ALPHAS = (0.8, 0.3, 0.6, 0.2, 0.9)
KS = (5, 3, 6, 4)


# --- lookahead_step: one sync (or none) ---------------------------------------------------

def lookahead_step(fast, slow, t, k, alpha):
    fast, slow = np.asarray(fast, dtype=float), np.asarray(slow, dtype=float)
    if t % k == 0:                       # after inner steps k, 2k, ...: the package's rule
        return lookahead_sync(fast, slow, alpha, PURE)
    return fast, slow


def _step_args(rng, shape, scale, t=None, k=None):
    k = pick(rng, KS) if k is None else k
    return dict(fast=numbers(rng, shape, scale), slow=numbers(rng, shape, scale),
                t=int(rng.integers(1, 4 * k)) if t is None else t, k=k, alpha=pick(rng, ALPHAS))


def _step_cases(rng):
    return [
        Case("a sync step: t = k", _step_args(rng, (3,), 1.0, t=5, k=5)),
        Case("a sync step: t = 2k", _step_args(rng, (), 1.0, t=6, k=3)),
        Case("a sync step: t = 3k", _step_args(rng, (4, 3), 1.0, t=12, k=4)),
        Case("no sync: t = 1", _step_args(rng, (3,), 1.0, t=1, k=5)),
        Case("no sync: t = k − 1", _step_args(rng, (5,), 1.0, t=4, k=5)),
        Case("no sync: t = k + 1", _step_args(rng, (3,), 1.0, t=7, k=6)),
        Case("no sync: t = 2k + 1", _step_args(rng, (), 1.0, t=7, k=3)),
        Case("k = 1: a sync at every step", _step_args(rng, (3,), 1.0, t=3, k=1)),
        Case("tiny numbers (≈1e-8), t = k", _step_args(rng, (3,), 1e-8, t=5, k=5)),
        Case("huge numbers (≈1e8), t = 2k", _step_args(rng, (3,), 1e8, t=8, k=4)),
    ]


def _lerp(a, b, w):
    return a + w * (b - a)


def _early(fast, slow, t, k, alpha):
    if (t + 1) % k == 0:
        slow = _lerp(slow, fast, alpha)
        fast = slow
    return fast, slow


def _late(fast, slow, t, k, alpha):
    if t % k == 1:
        slow = _lerp(slow, fast, alpha)
        fast = slow
    return fast, slow


def _no_copy_back(fast, slow, t, k, alpha):
    if t % k == 0:
        slow = _lerp(slow, fast, alpha)
    return fast, slow


def _wrong_way(fast, slow, t, k, alpha):
    if t % k == 0:
        slow = fast + alpha * (slow - fast)
        fast = slow
    return fast, slow


def _slow_every_step(fast, slow, t, k, alpha):
    slow = _lerp(slow, fast, alpha)
    if t % k == 0:
        fast = slow
    return fast, slow


def _sync_every_step(fast, slow, t, k, alpha):
    slow = _lerp(slow, fast, alpha)
    return slow, slow


def _slow_in_place(fast, slow, t, k, alpha):
    if t % k == 0:
        slow += alpha * (fast - slow)
        fast = slow * 1.0
    return fast, slow


register(Exercise(
    name="lookahead_step", chapter=CHAPTER, reference=lookahead_step,
    make_cases=_step_cases, returns=("fast", "slow"),
    task="""
The Lookahead part of one step. The inner optimizer has just taken its step number `t`
(t = 1, 2, ...) and produced the fast weights `fast`; `slow` are the slow weights. After
every k-th inner step (t = k, 2k, ...) Lookahead synchronises:

    φ ← φ + α·(θ − φ)      (the slow weights move a fraction α towards the fast ones)
    θ ← φ                  (the fast weights restart from the slow ones)

At the other steps nothing changes. `fast`, `slow` are numbers or arrays of one shape; `t`, `k`
are integers, `alpha` a number in (0, 1]. Return the tuple `(fast, slow)` as new arrays.
""",
    mistakes=(
        Mistake("synced one step early",
                "Sync after inner steps k, 2k, ...: the test is `t % k == 0` with t counting the "
                "steps taken, this one included. `(t + 1) % k == 0` fires after steps k − 1, "
                "2k − 1, ... (a counter read before it was incremented).", _early),
        Mistake("synced one step late (at t % k == 1)",
                "`t % k == 1` fires after steps 1, k + 1, 2k + 1, ...: the first sync comes "
                "after a single inner step. Sync when `t % k == 0`.", _late),
        Mistake("forgot to copy the slow weights back to the fast ones",
                "After φ ← φ + α(θ − φ) the fast weights must restart from φ (θ ← φ): that pull "
                "back is the one step back of Lookahead.", _no_copy_back),
        Mistake("interpolated the wrong way",
                "φ ← θ + α(φ − θ) (or φ + (1 − α)(θ − φ)) moves the slow weights a fraction "
                "1 − α of the way, not α. The slow weights move towards the fast ones: "
                "φ ← φ + α(θ − φ).", _wrong_way),
        Mistake("updated the slow weights at every step",
                "The slow weights move only at a sync (t = k, 2k, ...); in between they wait. "
                "Moving them at every step makes them an average of every fast iterate.",
                _slow_every_step),
        Mistake("synced at every step, ignoring k",
                "At t = k, 2k, ... only: with a sync at every step Lookahead around SGD is just "
                "SGD with learning rate α·lr.", _sync_every_step),
        Mistake("updated the slow weights in place",
                "`slow += ...` changes the caller's array. Write `slow = slow + alpha * (fast - "
                "slow)`: a new array.", _slow_in_place),
    ),
))


# --- lookahead_sgd: a whole run, slow weights from the start --------------------------------

LEARNING_RATES = (0.1, 0.3, 0.05, 0.4)


def lookahead_sgd(w, h, lr, k, alpha, steps):
    w, h = np.asarray(w, dtype=float), np.asarray(h, dtype=float)
    opt = optim.Lookahead(optim.SGD(lr=lr), k=k, alpha=alpha)
    state = opt.init(w)
    for _ in range(steps):
        w, state = opt.step(w, h * w, state)      # ∇ ½ Σ h w² = h w
    return w, state.slow


def _run_args(rng, shape, scale, k=None, steps=None):
    k = pick(rng, KS) if k is None else k
    return dict(w=numbers(rng, shape, scale), h=positive(rng, shape), lr=pick(rng, LEARNING_RATES),
                k=k, alpha=pick(rng, ALPHAS), steps=int(rng.integers(k + 1, 4 * k)) if steps is None else steps)


def _run_cases(rng):
    return [
        Case("scalars", _run_args(rng, (), 1.0)),
        Case("vectors", _run_args(rng, (3,), 1.0)),
        Case("vectors, steps = k (one sync)", _run_args(rng, (3,), 1.0, k=5, steps=5)),
        Case("vectors, steps = 2k", _run_args(rng, (5,), 1.0, k=3, steps=6)),
        Case("vectors, steps = 2k + 1", _run_args(rng, (3,), 1.0, k=4, steps=9)),
        Case("vectors, steps = k + 1", _run_args(rng, (3,), 1.0, k=3, steps=4)),
        Case("vectors, k = 1", _run_args(rng, (3,), 1.0, k=1, steps=4)),
        Case("a batch of 4 runs × 3 weights", _run_args(rng, (4, 3), 1.0)),
        Case("tiny numbers (≈1e-8)", _run_args(rng, (3,), 1e-8)),
        Case("huge numbers (≈1e8)", _run_args(rng, (3,), 1e8)),
    ]


def _mutant_run(slow_init="copy", sync=lambda t, k: t % k == 0, copy_back=True):
    def run(w, h, lr, k, alpha, steps):
        w, h = np.asarray(w, dtype=float), np.asarray(h, dtype=float)
        slow = {"copy": w.copy(), "zeros": np.zeros_like(w), "first sync": None}[slow_init]
        for t in range(1, steps + 1):
            w = w - lr * h * w
            if sync(t, k):
                slow = w.copy() if slow is None else slow
                slow = slow + alpha * (w - slow)
                w = slow.copy() if copy_back else w
        return w, (w.copy() if slow is None else slow)
    return run


register(Exercise(
    name="lookahead_sgd", chapter=CHAPTER, reference=lookahead_sgd,
    make_cases=_run_cases, returns=("fast", "slow"),
    task="""
Run Lookahead around plain SGD for `steps` steps on the quadratic f(w) = ½·Σ h·w² (its
gradient is h·w), from the weights `w`:

    the slow weights start as a copy of w;
    at each step t = 1, 2, ..., steps: an SGD step w ← w − lr·h·w on the fast weights,
        and after steps t = k, 2k, ...:  φ ← φ + α·(w − φ),  w ← φ.

`w` and `h` (h > 0) are numbers or arrays of one shape; `lr`, `alpha` numbers; `k`, `steps`
integers. Return `(fast, slow)`: the fast and the slow weights after the last step.
""",
    mistakes=(
        Mistake("slow weights initialised to zeros",
                "The slow weights start as a copy of the initial weights. Starting them at 0 "
                "makes the first sync φ ← α·θ: it shrinks every weight by the factor α "
                "(the bug of the TensorFlow Lookaheads and Ranger that make them with "
                "`_zeros_slot`).", _mutant_run(slow_init="zeros")),
        Mistake("slow weights created at the first sync (the first sync does nothing)",
                "Created from the fast weights at the first sync, φ equals θ there and the first "
                "sync is a no-op: the first k steps are not pulled back. The paper copies the "
                "initial weights before the first step.", _mutant_run(slow_init="first sync")),
        Mistake("counted the steps from 0 (synced after steps 1, k + 1, ...)",
                "With `for t in range(steps)` and `if t % k == 0` the first sync comes after "
                "a single SGD step. Count the steps taken: t = 1, 2, ..., and sync at t % k == 0.",
                _mutant_run(sync=lambda t, k: (t - 1) % k == 0)),
        Mistake("synced one step early",
                "The sync follows the k-th SGD step, not the (k − 1)-th: check the counter "
                "after the inner step has been counted.", _mutant_run(sync=lambda t, k: (t + 1) % k == 0)),
        Mistake("forgot to copy the slow weights back to the fast ones",
                "After φ ← φ + α(w − φ) the fast weights restart from φ (w ← φ); without it the "
                "fast weights are plain SGD and the slow weights only watch.",
                _mutant_run(copy_back=False)),
    ),
))
