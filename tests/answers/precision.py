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


SOLUTIONS = {
    "stochastic_round_bf16": _stochastic_round_bf16,
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
}
