"""Answers for the exercises of chapter `sgd`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _sgd_step(w, g, lr):
    return w + (-lr) * g


def _sgd_weight_decay_step(w, g, lr, weight_decay):
    return (1 - lr * weight_decay) * w - lr * g


def _minibatch_gradient(w, X, y, batch_idx):
    total = np.zeros_like(w)
    for i in batch_idx:
        total = total + (np.dot(X[i], w) - y[i]) * X[i]
    return total / len(batch_idx)


SOLUTIONS = {
    "sgd_step": _sgd_step,
    "sgd_weight_decay_step": _sgd_weight_decay_step,
    "minibatch_gradient": _minibatch_gradient,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "sgd_step": [((1.0, 2.0, 0.1), (0.8,))],
    # g + λw = 2 + 0.5·1 = 2.5; w = 1 − 0.1·2.5
    "sgd_weight_decay_step": [((1.0, 2.0, 0.1, 0.5), (0.75,))],
    # rows 0 and 2: residuals 1 − 1 = 0 and 5 − 1 = 4; (0·[1, 2] + 4·[5, 6]) / 2
    "minibatch_gradient": [((np.array([1.0, 0.0]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
                             np.array([1.0, 1.0, 1.0]), np.array([0, 2])), ([10.0, 12.0],))],
}


def _decay_exponent(c, lam):
    two_c_lam = 2 * np.asarray(c) * np.asarray(lam)
    return np.where(two_c_lam < 1, two_c_lam, 1.0)


SOLUTIONS["decay_exponent"] = _decay_exponent
# 2cλ = 0.2 (the start decays slower than the noise); 2cλ = 2 (the noise's 1/t)
HAND_COMPUTED["decay_exponent"] = [((0.1, 1.0), (0.2,)), ((1.0, 1.0), (1.0,)), ((0.25, 0.5), (0.25,))]
