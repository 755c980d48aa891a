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


# --- master_weight_step: one SGD step with a float32 master copy ----------------------------------

def _f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def master_weight_step(master, g, lr):
    new = _f32(master) - np.float32(lr) * _f32(g)                  # the rule updates the float32 master
    return new.astype(np.float64), precision.to_bf16(new).astype(np.float64)   # the model's copy: rounded


def _master_args(rng, n, scale, ulps):
    """A float32 master (not bf16) and a gradient whose step lr·g is about `ulps` bf16 ulps of it."""
    master = _float32s(rng, n, scale)
    lr = float(rng.choice([1e-3, 3e-3, 1e-2]))
    g = _float32s(rng, n, 1.0)
    g = g / np.maximum(np.abs(g), 0.3) * ulps * precision.ulp_bf16(master) / lr
    return dict(master=master, g=_f32(g).astype(np.float64), lr=lr)


def _master_cases(rng):
    cases = [Case(label, _master_args(rng, n, scale, ulps)) for label, n, scale, ulps in (
        ("steps of about a tenth of a bf16 ulp", 8, 1.0, 0.1),
        ("steps of about a third of a bf16 ulp", 8, 1.0, 0.3),
        ("steps of about 0.7 ulp", 8, 1.0, 0.7),
        ("weights of a layer (≈0.05), steps of about 0.4 ulp", 10, 0.05, 0.4),
        ("a 4 × 3 matrix, steps of about 0.2 ulp", (4, 3), 1.0, 0.2),
        ("steps of about 3 ulps (kept by any rounding)", 6, 1.0, 3.0),
        ("large weights (≈300), steps of about 0.3 ulp", 6, 300.0, 0.3))]
    args = _master_args(rng, 6, 1.0, 0.4)
    cases.append(Case("a zero gradient: the master stays, the copy is its rounding",
                      dict(master=args["master"], g=np.zeros(6), lr=args["lr"])))
    master = np.array([1 + 2**-9, 1 + 3 * 2**-9, -(1 + 2**-8), 0.5 + 2**-11])
    cases.append(Case("masters a fraction of an ulp off a bf16 number", dict(
        master=master, g=np.array([-1.0, 1.0, 0.5, -2.0]), lr=2**-10)))
    return cases


def _rounded_the_master(master, g, lr):
    _, w = master_weight_step(master, g, lr)
    return w, w


def _updated_the_copy(master, g, lr):
    w = precision.to_bf16(precision.to_bf16(master) - np.float32(lr) * _f32(g)).astype(np.float64)
    return w, w


def _from_the_copy(master, g, lr):
    return master_weight_step(precision.to_bf16(master).astype(np.float64), g, lr)


def _truncated_copy(master, g, lr):
    new, _ = master_weight_step(master, g, lr)
    return new, _out(precision.truncated_bits(_bits(new)))


register(Exercise(
    name="master_weight_step", chapter=CHAPTER, reference=master_weight_step,
    make_cases=_master_cases, returns=("master", "w"),
    task="""
One SGD step of a bf16 model with a float32 master copy of its weights:

    master' = master − lr · g          (in float32: the rule updates the master)
    w       = bf16(master')            (the model's weight: the master rounded to nearest)

`master` holds float32 numbers (as float64), `g` the gradient, `lr` a float. Compute in float32
(`np.asarray(master, np.float32) - np.float32(lr) * np.asarray(g, np.float32)`) and round with
`optim.precision.to_bf16`. Return `(master, w)`, both as float64 arrays of `master`'s shape.
""",
    mistakes=(
        Mistake("rounded the master weight instead of the bf16 copy",
                "The master keeps 24 bits so that steps below half a bf16 ulp add up: return the float32 "
                "`master − lr·g` as the new master, and round only the copy `w` the model uses. Writing "
                "the rounded value back into the master loses the small steps as plain bf16 does.",
                _rounded_the_master),
        Mistake("updated the bf16 weight, then copied it into the master",
                "The step is applied to the master, not to the model's bf16 weight: `bf16(master) − lr·g` "
                "rounded and copied back throws away what the master had kept beyond bf16's 8 bits, "
                "and every step smaller than half an ulp.", _updated_the_copy),
        Mistake("the step started from the bf16 weight",
                "Subtract lr·g from `master` itself, not from its rounded copy `bf16(master)`: the master's "
                "low bits are the updates that bf16 cannot hold yet.", _from_the_copy),
        Mistake("the bf16 copy was truncated, not rounded to nearest",
                "`w` is the master rounded to *nearest* (`optim.precision.to_bf16`), as `.to(torch.bfloat16)` "
                "does; clearing the low 16 bits rounds toward zero and biases every weight.", _truncated_copy),
    ),
))


# --- kahan_step: one compensated update of a bf16 weight ------------------------------------------

def kahan_step(w, c, u):
    new, comp = precision.kahan_add(_f32(w), _f32(c), _f32(u))
    return np.asarray(new, np.float64), np.asarray(comp, np.float64)


def _kahan_args(rng, n, scale, ulps, carry=True):
    w = precision.to_bf16(_float32s(rng, n, scale))
    ulp = precision.ulp_bf16(w)
    c = precision.to_bf16(rng.uniform(-0.5, 0.5, size=w.shape) * ulp) if carry else np.zeros(w.shape, np.float32)
    u = _f32(rng.normal(size=w.shape) * ulps * ulp)
    return dict(w=w.astype(np.float64), c=c.astype(np.float64), u=u.astype(np.float64))


def _kahan_cases(rng):
    cases = [Case(label, _kahan_args(rng, n, scale, ulps, carry)) for label, n, scale, ulps, carry in (
        ("the first step: c = 0, updates of about 0.3 ulp", 8, 1.0, 0.3, False),
        ("updates of about 0.2 ulp, a compensation carried", 8, 1.0, 0.2, True),
        ("updates of about 0.6 ulp, a compensation carried", 8, 1.0, 0.6, True),
        ("weights of a layer (≈0.05), updates of about 0.4 ulp", 10, 0.05, 0.4, True),
        ("a 4 × 3 matrix, updates of about 0.1 ulp", (4, 3), 1.0, 0.1, True),
        ("updates of about 3 ulps", 6, 1.0, 3.0, True),
        ("large weights (≈300), updates of about 0.3 ulp", 6, 300.0, 0.3, True))]
    args = _kahan_args(rng, 6, 1.0, 0.0, True)
    cases.append(Case("u = 0: only the compensation is left to add",
                      dict(w=args["w"], c=args["c"], u=np.zeros(6))))
    cases.append(Case("w = 1: updates that add up with c past half an ulp (2⁻⁸), or not", dict(
        w=np.array([1.0, 1.0, 1.0, -1.0, 2.0]), c=np.array([2**-9, 2**-9, -2**-9, -2**-10, 2**-8]),
        u=np.array([2**-8 + 2**-12, 2**-10, 2**-11, -2**-8, 2**-9 + 2**-13]))))
    return cases


def _no_compensation(w, c, u):
    return kahan_step(w, np.zeros_like(np.asarray(c, dtype=np.float64)), u)


def _sign_flipped(w, c, u):
    new, comp = kahan_step(w, c, u)
    return new, -comp


def _from_the_unrounded_sum(w, c, u):
    w, y = _f32(w), _f32(u) + _f32(c)
    new = precision.to_bf16(w + y)
    return new.astype(np.float64), precision.to_bf16(y - ((w + y) - w)).astype(np.float64)


def _float32_compensation(w, c, u):
    w, y = _f32(w), _f32(u) + _f32(c)
    new = precision.to_bf16(w + y)
    return new.astype(np.float64), (y - (new - w)).astype(np.float64)


register(Exercise(
    name="kahan_step", chapter=CHAPTER, reference=kahan_step,
    make_cases=_kahan_cases, returns=("w", "c"),
    task="""
One Kahan-compensated update of a bf16 weight `w` by the update `u`, with the compensation `c`
that earlier roundings left over (both `w` and `c` are bf16 numbers):

    y  = u + c
    w' = bf16(w + y)                  (rounded to nearest)
    c' = bf16(y − (w' − w))           (what the rounding took, carried to the next step)

`w`, `c`, `u` are arrays of float32 numbers held as float64. Compute in float32 (`np.asarray(x,
np.float32)`) and round with `optim.precision.to_bf16`. Return `(w', c')` as float64 arrays.
""",
    mistakes=(
        Mistake("the compensation was not added to the update",
                "Add `c` to this step's update before rounding: `y = u + c`, then `w' = bf16(w + y)`. Without "
                "it, what earlier roundings took is never given back and small updates are still lost.",
                _no_compensation),
        Mistake("the compensation's sign is flipped",
                "`c'` is what was meant minus what was really added: `y − (w' − w)`, not `(w' − w) − y`. "
                "With the sign flipped the next step takes the lost part away a second time.", _sign_flipped),
        Mistake("the compensation was computed from the unrounded sum",
                "Compute `c'` *after* rounding, from the bf16 weight: `y − (bf16(w + y) − w)`. With the float32 "
                "sum `w + y` it is (almost) 0, since float32 loses next to nothing of what bf16 drops.",
                _from_the_unrounded_sum),
        Mistake("the compensation was left in float32",
                "`c` is stored in the parameter's dtype, bf16 (2 bytes per weight, as in optimi's kahan_sum): "
                "round `c' = bf16(y − (w' − w))` too.", _float32_compensation),
    ),
))
