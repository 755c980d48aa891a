"""Answers for the exercises of chapter `lookahead`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _lookahead_step(fast, slow, t, k, alpha):
    if t % k != 0:
        return np.array(fast, dtype=float), np.array(slow, dtype=float)
    slow = (1 - alpha) * np.asarray(slow, dtype=float) + alpha * np.asarray(fast, dtype=float)
    return slow.copy(), slow


def _lookahead_sgd(w, h, lr, k, alpha, steps):
    fast = np.array(w, dtype=float)
    slow = fast.copy()
    for t in range(1, steps + 1):
        fast = fast * (1 - lr * np.asarray(h, dtype=float))
        if t % k == 0:
            slow = slow * (1 - alpha) + fast * alpha
            fast = slow.copy()
    return fast, slow


SOLUTIONS = {
    "lookahead_step": _lookahead_step,
    "lookahead_sgd": _lookahead_sgd,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    # t = 4 = k: φ = 1 + 0.25·(3 − 1) = 1.5, and θ = φ; t = 3: nothing moves
    "lookahead_step": [((3.0, 1.0, 4, 4, 0.25), (1.5, 1.5)),
                       ((3.0, 1.0, 3, 4, 0.25), (3.0, 1.0))],
    # h = 1, lr = 0.5 halves w each step: 8 → 4 → 2; sync at t = 2: φ = 8 + 0.75·(2 − 8) = 3.5,
    # θ = 3.5; step 3: θ = 1.75 (no sync)
    "lookahead_sgd": [((8.0, 1.0, 0.5, 2, 0.75, 3), (1.75, 3.5)),
                      # k = 1 is SGD at lr·α = 0.125: w ← (1 − 0.125·2)·w = 0.75·w: 4 → 3 → 2.25
                      ((4.0, 2.0, 0.25, 1, 0.5, 2), (2.25, 2.25))],
}
