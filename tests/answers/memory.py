"""Answers for the exercises of chapter `memory`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np

import optim.quantize


def _blockwise_quantize(x, block, signed):
    code = optim.quantize.dynamic_map(signed).astype(float)
    x = np.asarray(x, dtype=float)
    q, absmax = [], []
    for start in range(0, len(x), block):            # one block at a time, the last one shorter
        chunk = x[start:start + block]
        big = np.abs(chunk).max()
        absmax.append(big)
        for value in chunk / max(big, 1e-38):
            q.append(int(np.argmin(np.abs(code - value))))
    return np.array(absmax), np.array(q, dtype=np.int64)


SOLUTIONS = {
    "blockwise_quantize": _blockwise_quantize,
}

# (arguments, the returned values), worked out by hand: the signed map's 1.0 is its last entry
# (index 255) and 0 is index 127; the unsigned map's 1.0 is index 255 and 0 is index 0.
HAND_COMPUTED = {
    "blockwise_quantize": [
        # one block [2, 0]: absmax 2, 2/2 = 1 -> 255, 0 -> 127
        ((np.array([2.0, 0.0]), 2, True), (np.array([2.0]), np.array([255, 127]))),
        # blocks [3, 0] and [5]: absmaxes 3 and 5; 1 -> 255, 0 -> 0 (unsigned)
        ((np.array([3.0, 0.0, 5.0]), 2, False), (np.array([3.0, 5.0]), np.array([255, 0, 255]))),
    ],
}
