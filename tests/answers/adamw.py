"""Answers for the exercises of chapter `adamw`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _adamw_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    w = w - lr * weight_decay * w              # decoupled: the decay never meets m or v
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * np.square(g)
    step = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return w - lr * step, m, v


def _decay_with_groups(w, names, sizes, ndims, lr, weight_decay):
    out, start = np.array(w, dtype=float), 0
    for size, ndim in zip(sizes, ndims):
        if ndim >= 2:                          # matrices, kernels, embeddings: decayed
            out[start:start + size] *= 1 - lr * weight_decay
        start += size
    return out


SOLUTIONS = {
    "adamw_step": _adamw_step,
    "decay_with_groups": _decay_with_groups,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "adamw_step": [
        # t = 1: decay 1·(1 − 0.1·0.5) = 0.95; m = 0.2, v = 0.004; m̂ = 2, v̂ = 4: step 0.1·2/2
        ((1.0, 2.0, 0.0, 0.0, 1, 0.1, 0.9, 0.999, 0.0, 0.5), (0.85, 0.2, 0.004)),
        # zero gradient, fresh state: only the decay, 2·(1 − 0.5·0.2) = 1.8; m = v = 0
        ((2.0, 0.0, 0.0, 0.0, 1, 0.5, 0.9, 0.999, 1e-8, 0.2), (1.8, 0.0, 0.0)),
        # λ = 0 is Adam: t = 2, m = 0.38, v = 0.007996, m̂ = 2, v̂ = 4: w = 1 − 0.1·2/2
        ((1.0, 2.0, 0.2, 0.004, 2, 0.1, 0.9, 0.999, 0.0, 0.0), (0.9, 0.38, 0.007996)),
    ],
    "decay_with_groups": [
        # fc.weight (3 entries, 2-D) × (1 − 0.1·0.5) = 0.95; fc.bias (1 entry, 1-D) untouched
        ((np.array([1.0, 2.0, 3.0, 4.0]), ["fc.weight", "fc.bias"], [3, 1], [2, 1], 0.1, 0.5),
         ([0.95, 1.9, 2.85, 4.0],)),
        # LayerNorm gain (1-D) untouched, embedding (2-D) × (1 − 0.01·1) = 0.99
        ((np.array([1.0, 1.0, 100.0, -100.0]), ["norm.weight", "embed.weight"], [2, 2], [1, 2], 0.01, 1.0),
         ([1.0, 1.0, 99.0, -99.0],)),
    ],
}
