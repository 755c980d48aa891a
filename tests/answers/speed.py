"""Answers for the exercises of chapter `speed`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _step_bytes(optimizer, amsgrad, number_bytes):
    state = {"sgd": [], "momentum": ["buf"], "nesterov": ["buf"], "adagrad": ["sum"], "rmsprop": ["square_avg"],
             "lion": ["exp_avg"], "adam": ["m", "v"], "adamw": ["m", "v"], "nadam": ["m", "v"]}[optimizer]
    if amsgrad:
        state = state + ["v_max"]
    moved = ["read p", "read g", "write p"] + [f"{rw} {s}" for s in state for rw in ("read", "write")]
    return len(moved) * number_bytes


SOLUTIONS = {
    "step_bytes": _step_bytes,
}

# worked out by hand: fp32 Adam reads p, g, m, v and writes p, m, v: 7 x 4 = 28; with AMSGrad 9 x 4 = 36;
# plain SGD reads p, g and writes p: 3 x 4 = 12; bf16 Lion: (p, g, m read; p, m written) 5 x 2 = 10
HAND_COMPUTED = {
    "step_bytes": [
        (("adam", False, np.array([4.0])), (np.array([28.0]),)),
        (("adam", True, np.array([4.0])), (np.array([36.0]),)),
        (("sgd", False, np.array([4.0])), (np.array([12.0]),)),
        (("lion", False, np.array([2.0])), (np.array([10.0]),)),
    ],
}
