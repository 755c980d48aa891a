"""Answers for the exercises of chapter `precision`: an independent correct solution per exercise,
written the way a reader might, and numbers worked out by hand (see tests/test_exercises.py)."""
import numpy as np


def _stochastic_round_bf16(x, noise):
    # the torchao way: round away from zero when the noise is below the dropped bits, else toward zero
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    dropped = bits & 0xFFFF
    kept = bits - dropped
    bits = np.where(np.asarray(noise) < (1 << 16) - dropped, kept, kept + (1 << 16))
    return bits.astype(np.uint32).view(np.float32).astype(np.float64)


def _nearest_bf16(x32):
    # round to nearest, ties to even, by comparing the dropped bits with half of 2¹⁶
    bits = x32.view(np.uint32).astype(np.int64)
    dropped, kept = bits & 0xFFFF, bits >> 16
    up = (dropped > 0x8000) | ((dropped == 0x8000) & (kept % 2 == 1))
    return ((kept + up) << 16).astype(np.uint32).view(np.float32)


def _master_weight_step(master, g, lr):
    step = np.float32(lr) * np.asarray(g, dtype=np.float32)
    master32 = np.asarray(master, dtype=np.float32) - step
    weight = _nearest_bf16(master32)
    return np.float64(1) * master32, np.float64(1) * weight


def _kahan_step(w, c, u):
    w32 = np.asarray(w, dtype=np.float32)
    wanted = np.asarray(u, dtype=np.float32) + np.asarray(c, dtype=np.float32)   # this step and the carried rest
    w_new = _nearest_bf16(w32 + wanted)
    added = w_new - w32                                                          # what really got in
    left = _nearest_bf16(wanted - added)
    return w_new.astype(np.float64), left.astype(np.float64)


SOLUTIONS = {
    "stochastic_round_bf16": _stochastic_round_bf16,
    "master_weight_step": _master_weight_step,
    "kahan_step": _kahan_step,
}

# (arguments, the returned values), worked out by hand
HAND_COMPUTED = {
    "stochastic_round_bf16": [
        # 1 + 2⁻⁹ = 0x3F804000: the dropped bits are 0x4000 = 16384; 16384 + 49151 < 2¹⁶ stays at 1,
        # 16384 + 49152 = 2¹⁶ carries to 1 + 2⁻⁷ = 1.0078125; the sign bit is untouched
        ((np.array([1 + 2**-9, 1 + 2**-9, -(1 + 2**-9)]), np.array([49151, 49152, 49152])),
         (np.array([1.0, 1.0078125, -1.0078125]),)),
        # 3.0 is bf16 already (0x40400000): any noise < 2¹⁶ leaves it; 0.1 = 0x3DCCCCCD, dropped bits
        # 0xCCCD = 52429: noise 13106 stays at 0x3DCC0000 = 0.099609375, 13107 carries to 0x3DCD0000 = 0.10009765625
        ((np.array([3.0, np.float32(0.1), np.float32(0.1)]), np.array([65535, 13106, 13107])),
         (np.array([3.0, 0.099609375, 0.10009765625]),)),
    ],
    "master_weight_step": [
        # bf16 near 1 is 2⁻⁷ apart. 1 + 2⁻⁹ + 2⁻¹⁰·1 = 1.0029296875 is 0.375 ulp above 1: w rounds to 1;
        # 1 + 3·2⁻⁹ = 1.005859375 (0.75 ulp) with g = 0 stays, and w rounds up to 1.0078125
        ((np.array([1 + 2**-9, 1 + 3 * 2**-9]), np.array([-1.0, 0.0]), 2**-10),
         (np.array([1.0029296875, 1.005859375]), np.array([1.0, 1.0078125]))),
    ],
    "kahan_step": [
        # w = 1, c = 0, u = 2⁻⁹ (a quarter ulp): lost in w, kept in c' = 2⁻⁹.
        # w = 1, c = 2⁻⁹, u = 2⁻⁸: y = 3·2⁻⁹ = 0.75 ulp, w' = 1 + 2⁻⁷ = 1.0078125, c' = 3·2⁻⁹ − 2⁻⁷ = −2⁻⁹
        ((np.array([1.0, 1.0]), np.array([0.0, 2**-9]), np.array([2**-9, 2**-8])),
         (np.array([1.0, 1.0078125]), np.array([2**-9, -2**-9]))),
    ],
}
