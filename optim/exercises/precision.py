"""Exercises of the chapter *Low precision*: stochastic rounding of float32 numbers to bfloat16."""

import numpy as np

from optim import precision

from .core import Case, Exercise, Mistake, register

CHAPTER = "Low precision"


def _bits(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32).view(np.int32)


def _out(bits):
    return np.asarray(bits, dtype=np.int32).view(np.float32).astype(np.float64)


def stochastic_round_bf16(x, noise):
    return _out(precision.stochastic_bits(_bits(x), np.asarray(noise, dtype=np.int32)))


def _float32s(rng, n, scale):
    """Float32 numbers (held in float64) with non-zero low bits, of mixed signs."""
    x = rng.normal(size=n) * scale
    return x.astype(np.float32).astype(np.float64)


def _noise(rng, n):
    return rng.integers(0, 1 << 16, size=n).astype(np.int64)


def _cases(rng):
    plan = [("vectors", 5, 1.0), ("vectors", 5, 1.0), ("weights of a layer (≈0.05)", 8, 0.05),
            ("a batch of 4 × 3", (4, 3), 1.0), ("tiny numbers (≈1e-30)", 4, 1e-30), ("huge numbers (≈1e30)", 4, 1e30)]
    cases = [Case(label, dict(x=_float32s(rng, n, s), noise=_noise(rng, n))) for label, n, s in plan]
    x = _float32s(rng, 6, 1.0)
    bf16 = precision.to_bf16(x).astype(np.float64)
    cases += [
        Case("numbers that are bf16 already: no noise moves them", dict(x=bf16, noise=_noise(rng, 6))),
        Case("noise = 0: round toward zero", dict(x=x, noise=np.zeros(6, dtype=np.int64))),
        Case("noise = 2¹⁶ − 1: away from zero unless already bf16",
             dict(x=x, noise=np.full(6, (1 << 16) - 1, dtype=np.int64))),
        Case("1 + 2⁻⁹ (a quarter of the way to 1 + 2⁻⁷) and its negative, noise across the carry",
             dict(x=np.array([1 + 2**-9, 1 + 2**-9, -(1 + 2**-9), -(1 + 2**-9)]),
                  noise=np.array([49151, 49152, 49151, 49152]))),
        Case("just below a power of two: the carry moves the exponent",
             dict(x=np.array([np.nextafter(np.float32(1), np.float32(0)), -np.float32(0.49999997)], dtype=np.float64),
                  noise=np.array([1, 30000]))),
    ]
    return cases


# --- the catalogued mistakes --------------------------------------------------------------

def _truncation(x, noise):
    return _out(precision.truncated_bits(_bits(x)))


def _nearest(x, noise):
    return _out(precision.nearest_bits(_bits(x)))


def _noise_too_narrow(x, noise):
    return _out(precision.stochastic_bits(_bits(x), np.asarray(noise, dtype=np.int32) >> 1))


def _noise_above_the_cut(x, noise):
    return _out(precision.stochastic_bits(_bits(x), np.asarray(noise, dtype=np.int32) << 16))


def _kept_the_low_bits(x, noise):
    return _out((_bits(x) + np.asarray(noise, dtype=np.int32)) & 0xFFFF)


def _rounded_the_float64(x, noise):
    bits = np.asarray(x, dtype=np.float64).view(np.int64)
    return ((bits + np.asarray(noise, dtype=np.int64)) & -(1 << 16)).view(np.float64)


register(Exercise(
    name="stochastic_round_bf16", chapter=CHAPTER, reference=stochastic_round_bf16,
    make_cases=_cases, returns=("w",),
    task="""
Round float32 numbers to bfloat16 stochastically, on their bits:

    bits = the float32 bit pattern of x, as 32-bit integers
    bits = (bits + noise) with the low 16 bits then cleared   (mask 0xFFFF0000)
    w    = those bits read back as float32

`x` is an array of float32 numbers held as float64; `noise` an array of the same shape of
random integers in [0, 2¹⁶), drawn for you, so the result is determined. Return `w` as
float64 (like `x`): every value a bfloat16 number. `np.asarray(x, np.float32).view(np.int32)`
gives the bits (use int32 or uint32: the sum must not overflow into a 64-bit pattern);
`.view(np.float32)` reads bits back. Leave `x` and `noise` unchanged.
""",
    mistakes=(
        Mistake("truncation: the noise was ignored",
                "Clearing the low 16 bits alone rounds every number toward zero: biased, and an update "
                "smaller than an ulp is lost every time. Add the noise to the bits first.", _truncation),
        Mistake("rounded to nearest: the noise was ignored",
                "Round-to-nearest is what plain bf16 does, and it drops every update below half an ulp. "
                "Stochastic rounding adds `noise` (uniform in [0, 2¹⁶)) to the bits before clearing them.",
                _nearest),
        Mistake("noise of the wrong width: 15 bits instead of 16",
                "The noise must be uniform over the whole dropped range, [0, 2¹⁶): with `noise >> 1` (or "
                "`noise // 2`) a number rounds away from zero only half as often as it should, and the "
                "mean is biased toward zero.", _noise_too_narrow),
        Mistake("noise added above the cut (shifted by 16 bits)",
                "The noise goes into the 16 bits that bf16 drops, the low ones: add `noise`, not "
                "`noise << 16`, which changes the kept bits at random.", _noise_above_the_cut),
        Mistake("kept the low 16 bits instead of the high ones",
                "bfloat16 keeps the high 16 bits of a float32 (sign, exponent, 7 fraction bits): clear "
                "the low ones with `& 0xFFFF0000` (as int32: `& -65536`), not `& 0xFFFF`.", _kept_the_low_bits),
        Mistake("rounded the float64 bits, not the float32 bits",
                "bfloat16 is float32 cut short: take the bits of `np.asarray(x, np.float32)` (32 of them). "
                "Clearing the low 16 of a float64's 64 bits keeps 36 fraction bits: hardly any rounding.",
                _rounded_the_float64),
    ),
))
