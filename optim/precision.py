"""Low precision: bfloat16 weights and the three ways to keep the updates they drop.

Chapter: *Low precision*. Torch-free: the rounding is written once on the bit patterns
(int32 arrays or tensors: only ``+``, ``>>`` and ``&``), so :mod:`optim.torch`'s
``low_precision`` option and the NumPy model here round the same way.

bfloat16 is float32 with its low 16 bits cut off: 1 sign bit, 8 exponent bits, and
7 stored fraction bits, so 8 significant bits with the implicit leading 1. For a weight
``w`` with 2^e ≤ |w| < 2^(e+1), the next bf16 number away from zero is 2^(e−7) further
(one ulp), and an update ``u`` survives ``w + u`` only if it is more than half that gap:
roughly |u| > 2^−8·|w| (half an ulp), down to 2^−9·|w| for weights just below a power of
two (and exactly 2^−9·|w| from a power of two toward zero, where the gap below is half an ulp).
"""
import numpy as np

#: significant bits of bfloat16 (7 stored + the implicit 1), and of float32
BF16_BITS = 8
FP32_BITS = 24
#: the low 16 bits of a float32 that bfloat16 drops, and the mask that keeps the rest (0xFFFF0000 as int32)
LOW_BITS = 16
KEEP = -(1 << LOW_BITS)
#: how the low-precision option keeps the updates plain rounding drops (see optim.torch.low_precision)
WEIGHTS = ("plain", "master", "kahan", "stochastic")


# --- on the bits: int32 arrays (NumPy) or int32 tensors (torch) alike -------------------------

def nearest_bits(bits):
    """Round float32 bit patterns to bfloat16's, to nearest, ties to even (what ``.to(torch.bfloat16)`` does).

    Add just under half of the dropped range (0x7FFF), plus 1 when the kept part is odd,
    so that an exact half goes to the even neighbour; then cut the low 16 bits.
    (NaN and values within half an ulp of the largest float are not handled.)
    """
    return (bits + ((1 << (LOW_BITS - 1)) - 1) + ((bits >> LOW_BITS) & 1)) & KEEP


def stochastic_bits(bits, noise):
    """Stochastic rounding of float32 bit patterns to bfloat16's.

    ``noise`` holds uniform random integers in [0, 2^16): added to the 16 bits that
    bf16 drops, it carries into the kept part with probability (dropped bits)/2^16, so
    the value rounds away from zero with probability equal to its distance from the
    lower neighbour in ulps; the mean is the exact value. Sign-magnitude makes it work
    for negative numbers too (the carry always increases the magnitude).
    """
    return (bits + noise) & KEEP


def truncated_bits(bits):
    """Round toward zero: just cut the low 16 bits (biased: always toward zero)."""
    return bits & KEEP


# --- the NumPy model: float32 in, bf16-representable float32 out ---------------------------------

def _bits(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).view(np.int32)


def _floats(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.int32).view(np.float32)


def to_bf16(x) -> np.ndarray:
    """``x`` rounded to the nearest bfloat16, as float32 (the same numbers torch's bfloat16 holds)."""
    return _floats(nearest_bits(_bits(x)))


def stochastic_to_bf16(x, rng: np.random.Generator) -> np.ndarray:
    """``x`` stochastically rounded to bfloat16, as float32; ``rng`` draws the 16 random bits."""
    bits = _bits(x)
    return _floats(stochastic_bits(bits, rng.integers(0, 1 << LOW_BITS, size=bits.shape, dtype=np.int32)))


def ulp_bf16(w) -> np.ndarray:
    """The gap from ``w`` to the next bfloat16 away from zero: 2^(e−7) for 2^e ≤ |w| < 2^(e+1)."""
    _, e = np.frexp(np.abs(np.asarray(w, dtype=np.float64)))    # |w| = f·2^e, 0.5 ≤ f < 1
    return np.ldexp(1.0, e - BF16_BITS)


def survives(w, u) -> np.ndarray:
    """Whether the update ``u`` changes the bf16 weight ``w`` when ``w + u`` is rounded to nearest."""
    w = to_bf16(w)
    return to_bf16(np.float32(w) + np.asarray(u, dtype=np.float32)) != w


def kahan_add(w, c, u):
    """One compensated update of a bf16 weight: returns the new weight and compensation (both bf16).

    ``c`` holds what rounding took from earlier updates; it is added to this update
    ``u`` before rounding, and what this rounding takes goes back into ``c``:

        y = u + c;   w' = bf16(w + y);   c' = bf16(y − (w' − w))
    """
    w, c = np.asarray(w, np.float32), np.asarray(c, np.float32)
    y = np.asarray(u, np.float32) + c
    new = to_bf16(w + y)
    return new, to_bf16(y - (new - w))
