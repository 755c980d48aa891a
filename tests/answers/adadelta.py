"""Answers for the exercises of chapter `adadelta`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np  # noqa: F401


def _adadelta_step(w, g, v, u, rho, eps):
    v_new = v + (1 - rho) * (np.square(g) - v)        # the EMA written as a lerp
    rms_update, rms_grad = (u + eps) ** 0.5, (v_new + eps) ** 0.5
    delta = g * (rms_update / rms_grad)
    u_new = u + (1 - rho) * (np.square(delta) - u)
    return w - delta, v_new, u_new


SOLUTIONS = {
    "adadelta_step": _adadelta_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "adadelta_step": [
        # first step, ρ = 0.5, ε = 0.25: V = 0.5·4 = 2; Δ = √0.25/√2.25·2 = (0.5/1.5)·2 = 2/3;
        # U = 0.5·4/9 = 2/9; w = 1 − 2/3
        ((1.0, 2.0, 0.0, 0.0, 0.5, 0.25), (1 / 3, 2.0, 2 / 9)),
        # ρ = 0.5, ε = 0: V = 0.5·6 + 0.5·2² = 5;
        # Δ = √5/√5·2 = 2 (U = 5); U = 0.5·5 + 0.5·4 = 4.5; w = 0 − 2
        ((0.0, 2.0, 6.0, 5.0, 0.5, 0.0), (-2.0, 5.0, 4.5)),
        # a negative gradient, ρ = 0.9, ε = 0: V = 0.9·10 + 0.1·100 = 19 and U = 19,
        # so Δ = −10; U = 0.9·19 + 0.1·100 = 27.1; w = 1 + 10 = 11
        ((1.0, -10.0, 10.0, 19.0, 0.9, 0.0), (11.0, 19.0, 27.1)),
    ],
}
