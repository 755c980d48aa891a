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


def _state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    out = []
    for size in np.asarray(n, dtype=float):
        size = int(size)
        if eight_bit and size >= min_8bit_size:
            blocks = (size + block - 1) // block                 # the last block may be shorter
            total = 0
            for _buffer in ("exp_avg", "exp_avg_sq"):
                total += size * 1 + blocks * 4                   # uint8 codes + float32 absmax
        else:
            buffers = {"sgd": [], "momentum": ["momentum_buffer"], "lion": ["exp_avg"],
                       "adam": ["exp_avg", "exp_avg_sq"], "adamw": ["exp_avg", "exp_avg_sq"]}[optimizer]
            if amsgrad:
                buffers = buffers + ["max_exp_avg_sq"]
            total = 4 * size * len(buffers)
        out.append(total / size)
    return np.array(out)


def _dequantize_blockwise(codes, absmax, code_map, block):
    x = np.empty(len(codes))
    for i, q in enumerate(codes):
        x[i] = code_map[q] * absmax[i // block]
    return x


SOLUTIONS = {
    "blockwise_quantize": _blockwise_quantize,
    "state_bytes_per_weight": _state_bytes_per_weight,
    "dequantize_blockwise": _dequantize_blockwise,
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
    "state_bytes_per_weight": [
        # 8-bit AdamW, blocks of 2048: 8192 numbers = 4 blocks: 2 + 8·4/8192 = 2.00390625; 5000 numbers =
        # 3 blocks (the last one of 904): (2·5000 + 8·3)/5000 = 2.0048; 100 < 4096 numbers: float32 m, v = 8
        ((np.array([8192.0, 5000.0, 100.0]), "adamw", False, True, 2048, 4096),
         (np.array([2.00390625, 2.0048, 8.0]),)),
        # float32: Adam with AMSGrad 3 buffers = 12, momentum 4, plain SGD 0
        ((np.array([10.0]), "adam", True, False, 2048, 4096), (np.array([12.0]),)),
        ((np.array([10.0]), "momentum", False, False, 2048, 4096), (np.array([4.0]),)),
        ((np.array([10.0]), "sgd", False, False, 2048, 4096), (np.array([0.0]),)),
    ],
    "dequantize_blockwise": [
        # a 4-value map [-1, 0, 0.5, 1]; blocks [3, 2] with absmax 2 and [0] with absmax 4: [2, 1, -4]
        ((np.array([3, 2, 0]), np.array([2.0, 4.0]), np.array([-1.0, 0.0, 0.5, 1.0]), 2),
         (np.array([2.0, 1.0, -4.0]),)),
    ],
}
