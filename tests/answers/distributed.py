"""Answers for the exercises of chapter `distributed`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _accumulated_sgd_step(w, X, y, k, lr):
    w, X, y = (np.asarray(a, dtype=float) for a in (w, X, y))
    b = len(y) // k
    total = np.zeros_like(w)
    for j in range(k):                                  # a loop over micro-batches, sums of per-row terms
        for i in range(j * b, (j + 1) * b):
            total = total + (X[i] @ w - y[i]) * X[i] / (b * k)
    return w - lr * total


def _zero1_adam_step(w, grads, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    w, grads, m, v = (np.array(a, dtype=float) for a in (w, grads, m, v))
    n = len(grads)
    g_bar = np.zeros_like(w)
    for g in grads:                                     # the all-reduce, then / n
        g_bar = g_bar + g
    g_bar = g_bar / n
    m_shards, v_shards = [], []
    new_w = w.copy()
    for r, (w_r, g_r) in enumerate(zip(np.split(w, n), np.split(g_bar, n))):
        m_r = b1 * m[r] + (1 - b1) * g_r
        v_r = b2 * v[r] + (1 - b2) * g_r * g_r
        step = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        new_w[r * len(w_r):(r + 1) * len(w_r)] = w_r - step * m_r / (np.sqrt(v_r) + eps * np.sqrt(1 - b2 ** t))
        m_shards.append(m_r)
        v_shards.append(v_r)
    return new_w, np.array(m_shards), np.array(v_shards)


def _state_bytes_per_rank(rows, cols, state_bytes, world_size):
    tensors = [(int(n), int(c), float(s)) for n, c, s in zip(rows, cols, state_bytes)]
    total = sum(n * c * s for n, c, s in tensors)
    ddp = np.array([total] * world_size)
    elements, zero = [0] * world_size, [0.0] * world_size
    for n, c, s in sorted(tensors, key=lambda t: t[0] * t[1], reverse=True):   # stable: ties keep model order
        r = elements.index(min(elements))
        elements[r] += n * c
        zero[r] += n * c * s
    fsdp = [0.0] * world_size
    for n, c, s in tensors:
        size = (n + world_size - 1) // world_size
        start = 0
        for r in range(world_size):
            mine = max(0, min(n, start + size) - start)
            fsdp[r] += mine * c * s
            start += size
    return ddp, np.array(zero), np.array(fsdp)


SOLUTIONS = {
    "accumulated_sgd_step": _accumulated_sgd_step,
    "zero1_adam_step": _zero1_adam_step,
    "state_bytes_per_rank": _state_bytes_per_rank,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "accumulated_sgd_step": [
        # rows x = 1 and x = 3, y = 0, w = 1, k = 2: the row gradients are 1·1 = 1 and 3·3 = 9, mean 5;
        # w = 1 − 0.1·5 = 0.5
        ((np.array([1.0]), np.array([[1.0], [3.0]]), np.array([0.0, 0.0]), 2, 0.1), (np.array([0.5]),)),
        # the same rows as one micro-batch (k = 1): the same step
        ((np.array([1.0]), np.array([[1.0], [3.0]]), np.array([0.0, 0.0]), 1, 0.1), (np.array([0.5]),)),
        # two weights, rows (1, 0) and (0, 2), y = (1, 0), w = (0, 1), k = 2: residuals −1 and 2;
        # gradients (−1, 0) and (0, 4), mean (−0.5, 2); w = (0, 1) − 0.1·(−0.5, 2) = (0.05, 0.8)
        ((np.array([0.0, 1.0]), np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 0.0]), 2, 0.1),
         (np.array([0.05, 0.8]),)),
    ],
    "zero1_adam_step": [
        # 2 ranks, one weight each, first step (t = 1, m = v = 0): the gradients (1, 2) and (3, −2) average
        # to (2, 0); m = 0.1·ḡ, v = 0.001·ḡ², bias-corrected m̂ = 2, v̂ = 4 on shard 0; w0 = 1 − 0.1·2 / (2 + 1e-8),
        # shard 1 has ḡ = 0: m̂ = 0, w1 stays 1
        ((np.array([1.0, 1.0]), np.array([[1.0, 2.0], [3.0, -2.0]]), np.zeros((2, 1)), np.zeros((2, 1)), 1, 0.1),
         (np.array([1 - 0.1 * 2 / (2 + 1e-8), 1.0]), np.array([[0.2], [0.0]]), np.array([[0.004], [0.0]]))),
        # opposite gradients average to 0: each shard only decays its own state (t = 2):
        # m = 0.9·(±0.5), v = 0.999·0.25, m̂ = m / (1 − 0.9²), v̂ = v / (1 − 0.999²)
        ((np.zeros(2), np.array([[1.0, -3.0], [-1.0, 3.0]]), np.array([[0.5], [-0.5]]), np.full((2, 1), 0.25),
          2, 0.1),
         (np.array([-0.1 * (0.45 / 0.19) / (np.sqrt(0.24975 / (1 - 0.999 ** 2)) + 1e-8),
                    0.1 * (0.45 / 0.19) / (np.sqrt(0.24975 / (1 - 0.999 ** 2)) + 1e-8)]),
          np.array([[0.45], [-0.45]]), np.full((2, 1), 0.999 * 0.25))),
    ],
    "state_bytes_per_rank": [
        # measured (optim.parallel.measure_job, AdamW float32, torch 2.13), less the 4-byte step counter
        # AdamW keeps per tensor on every rank that holds the tensor (or a piece of it):
        # a 5 → 7 → 3 perceptron on 3 ranks: tensors (7, 5), (7,), (3, 7), (3,): 66 weights, 528 bytes;
        # ZeRO-1: 35 → rank 0, 21 → rank 1, 7 and 3 → rank 2: 280, 168, 80;
        # FSDP2: 7 rows are 3, 3, 1 and 3 rows 1, 1, 1: (3·5 + 3 + 7 + 1)·8 = 208 twice, (5 + 1 + 7 + 1)·8 = 112
        ((np.array([7, 7, 3, 3]), np.array([5, 1, 7, 1]), np.full(4, 8.0), 3),
         (np.full(3, 528.0), np.array([280.0, 168.0, 80.0]), np.array([208.0, 208.0, 112.0]))),
        # a 5 → 5 → 3 perceptron on 4 ranks: 5 rows are 2, 2, 1, 0 and 3 rows 1, 1, 1, 0 (rank 3 holds nothing)
        ((np.array([5, 5, 3, 3]), np.array([5, 1, 5, 1]), np.full(4, 8.0), 4),
         (np.full(4, 384.0), np.array([200.0, 120.0, 40.0, 24.0]), np.array([144.0, 144.0, 96.0, 0.0]))),
    ],
}
