"""Exercises of the chapter *What an optimizer keeps*: blockwise absmax quantisation of a state tensor."""

import numpy as np

from .. import quantize
from .core import Case, Exercise, Mistake, register

CHAPTER = "What an optimizer keeps"
BLOCKS = (4, 8, 16)


def _map(signed):
    return quantize.dynamic_map(bool(signed)).astype(np.float64)


def blockwise_quantize(x, block, signed):
    code = _map(signed)
    x = np.asarray(x, dtype=float).reshape(-1)
    n = len(x)
    blocks = -(-n // block)
    padded = np.concatenate([x, np.zeros(blocks * block - n)]).reshape(blocks, block)
    absmax = np.abs(padded).max(axis=1)
    scaled = padded / np.maximum(absmax, quantize.TINY)[:, None]
    q = np.searchsorted((code[:-1] + code[1:]) / 2, scaled, side="left").reshape(-1)[:n]
    return absmax, q.astype(np.int64)


def _x(rng, n, signed, outlier=False):
    x = np.round(rng.normal(size=n), 2) * 10.0 ** rng.integers(-3, 1)
    if outlier:
        x[rng.integers(n)] = 50.0
    return x if signed else np.abs(x)


def _cases(rng):
    cases = []
    for label, n, block, signed, outlier in (
            ("m: 16 numbers, blocks of 4", 16, 4, True, False),
            ("m: 21 numbers, blocks of 8 (the last block holds 5)", 21, 8, True, False),
            ("v: 21 numbers, blocks of 8 (the last block holds 5)", 21, 8, False, False),
            ("v: 32 numbers, blocks of 16", 32, 16, False, False),
            ("m with an outlier (50): 24 numbers, blocks of 8", 24, 8, True, True),
            ("v with an outlier (50): 19 numbers, blocks of 4", 19, 4, False, True),
            ("m: 3 numbers, one short block of 8", 3, 8, True, False)):
        cases.append(Case(label, dict(x=_x(rng, n, signed, outlier), block=block, signed=signed)))
    zero = _x(rng, 12, True)
    zero[4:8] = 0.0
    cases.append(Case("m with an all-zero block: 12 numbers, blocks of 4", dict(x=zero, block=4, signed=True)))
    return cases


# --- the catalogued mistakes --------------------------------------------------------------

def _one_absmax(x, block, signed):
    code = _map(signed)
    x = np.asarray(x, dtype=float)
    big = max(np.abs(x).max(), quantize.TINY)
    q = np.searchsorted((code[:-1] + code[1:]) / 2, x / big, side="left")
    return np.full(-(-len(x) // block), np.abs(x).max()), q.astype(np.int64)


def _no_short_block(x, block, signed):
    x = np.asarray(x, dtype=float)
    full = len(x) // block * block
    return blockwise_quantize(x[:full], block, signed)


def _toward_zero(x, block, signed):
    code = _map(signed)
    absmax, _ = blockwise_quantize(x, block, signed)
    scaled = np.asarray(x, dtype=float) / np.repeat(np.maximum(absmax, quantize.TINY), block)[:len(x)]
    zero = int(np.argmin(np.abs(code)))
    below = np.searchsorted(code, scaled, side="right") - 1          # the largest code <= the value
    above = np.searchsorted(code, scaled, side="left")               # the smallest code >= the value
    q = np.where(scaled >= 0, below, np.minimum(above, len(code) - 1))
    q = np.where(np.abs(scaled) < 1e-300, zero, q)
    return absmax, q.astype(np.int64)


def _signed_map_always(x, block, signed):
    return blockwise_quantize(x, block, True)


register(Exercise(
    name="blockwise_quantize", chapter=CHAPTER, reference=blockwise_quantize,
    make_cases=_cases, returns=("absmax", "q"),
    task="""
Quantise a state tensor `x` (a 1-D array of floats) to 8 bits, block by block, as the 8-bit
optimizers do:

* cut `x` into consecutive blocks of `block` numbers; the last block is shorter when `block`
  does not divide `len(x)`;
* `absmax[b]` = max |x_i| over block b (an all-zero block has absmax 0: divide by
  `max(absmax, 1e-38)` so that its numbers stay 0);
* `q[i]` = the index of the entry of `code` nearest to x_i / absmax[b], where
  `code = optim.quantize.dynamic_map(signed)` (256 sorted values; the signed map for m, the
  unsigned one for v). `np.argmin(np.abs(code - value))` finds it for one number;
  `np.searchsorted` with the midpoints between neighbouring codes finds them all at once.

Return `(absmax, q)`: `absmax` one float per block, `q` integer indices (np.int64), one per number.
""",
    mistakes=(
        Mistake("one absmax for the whole tensor",
                "Each block is divided by its *own* absolute maximum: absmax[b] = max |x_i| over block b "
                "only. With one maximum for the whole tensor, an outlier squeezes every other number "
                "towards 0, where the map has few codes to tell them apart.", _one_absmax),
        Mistake("the short last block was dropped",
                "len(x) need not be a multiple of block: there are ceil(len(x) / block) blocks, the last "
                "one shorter (pad it with zeros, which do not change its absmax, or treat it apart).",
                _no_short_block),
        Mistake("rounded toward zero instead of to the nearest code",
                "Take the code *nearest* to x_i / absmax[b] (the midpoints between neighbouring codes are "
                "the boundaries), not the largest code below it in magnitude: rounding toward zero "
                "biases every small state value (v especially) downwards.", _toward_zero),
        Mistake("the signed map for v",
                "v ≥ 0 is quantised with the *unsigned* map (`dynamic_map(False)`): it spends the sign "
                "bit on the fraction, so it has twice as many codes in [0, 1]. Use `signed` to choose.",
                _signed_map_always),
    ),
))


# --- state_bytes_per_weight: what a configuration keeps, tensor by tensor -------------------------

#: float32 state buffers per weight (AMSGrad adds Adam's running maximum of v)
BUFFERS = dict(sgd=0, momentum=1, lion=1, adam=2, adamw=2)


def state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    n = np.asarray(n, dtype=float)
    float32 = 4.0 * (BUFFERS[optimizer] + (1 if amsgrad else 0)) * np.ones_like(n)
    if not eight_bit:
        return float32
    blocks = np.array([quantize.n_blocks(int(size), block) for size in n.reshape(-1)]).reshape(n.shape)
    quantised = (2 * n + 2 * 4 * blocks) / n        # m and v: a byte per number and a float32 absmax per block each
    return np.where(n >= min_8bit_size, quantised, float32)


def _sizes_cases(rng):
    def sizes(*shapes):
        return np.array([float(np.prod(s)) for s in shapes])

    layers = sizes((512, 256), (256,), (256, 10), (10,))             # an MLP: 131072, 256, 2560, 10 numbers
    odd = sizes((1000, 100), (4096,), (4095,), (3000, 7), (64, 64))   # 100000, 4096, 4095, 21000, 4096
    big = sizes((4096, 4096), (4096, 11008), (4096,))
    return [
        Case("Adam in float32, an MLP's tensors", dict(n=layers, optimizer="adam", amsgrad=False, eight_bit=False,
                                                       block=2048, min_8bit_size=4096)),
        Case("AdamW with AMSGrad in float32", dict(n=layers, optimizer="adamw", amsgrad=True, eight_bit=False,
                                                   block=2048, min_8bit_size=4096)),
        Case("SGD with momentum", dict(n=layers, optimizer="momentum", amsgrad=False, eight_bit=False,
                                       block=2048, min_8bit_size=4096)),
        Case("plain SGD", dict(n=odd, optimizer="sgd", amsgrad=False, eight_bit=False, block=2048,
                               min_8bit_size=4096)),
        Case("Lion", dict(n=big, optimizer="lion", amsgrad=False, eight_bit=False, block=2048, min_8bit_size=4096)),
        Case("AdamW8bit, blocks of 2048, an MLP (small tensors stay float32)",
             dict(n=layers, optimizer="adamw", amsgrad=False, eight_bit=True, block=2048, min_8bit_size=4096)),
        Case("AdamW8bit, blocks of 2048: short last blocks, tensors of 4095 and 4096 numbers",
             dict(n=odd, optimizer="adamw", amsgrad=False, eight_bit=True, block=2048, min_8bit_size=4096)),
        Case("Adam8bit, blocks of 256: short last blocks",
             dict(n=odd, optimizer="adam", amsgrad=False, eight_bit=True, block=256, min_8bit_size=4096)),
        Case("AdamW8bit, blocks of 256, min_8bit_size = 0: every tensor quantised",
             dict(n=layers, optimizer="adamw", amsgrad=False, eight_bit=True, block=256, min_8bit_size=0)),
        Case("AdamW8bit, blocks of 2048, a language model's matrices",
             dict(n=big, optimizer="adamw", amsgrad=False, eight_bit=True, block=2048, min_8bit_size=4096)),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _no_absmax(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    out = state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, min_8bit_size)
    n = np.asarray(n, dtype=float)
    return np.where(eight_bit & (n >= min_8bit_size), 2.0, out)


def _short_block_dropped(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    out = state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, min_8bit_size)
    n = np.asarray(n, dtype=float)
    return np.where(eight_bit & (n >= min_8bit_size), 2 + 8 * np.floor(n / block) / n, out)


def _small_quantised_too(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    return state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, 0)


def _min_size_exclusive(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    return state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, min_8bit_size + 1)


def _adam_one_state(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    out = state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, min_8bit_size)
    return out / 2 if optimizer in ("adam", "adamw") and not amsgrad else out


def _one_absmax_for_both(n, optimizer, amsgrad, eight_bit, block, min_8bit_size):
    out = state_bytes_per_weight(n, optimizer, amsgrad, eight_bit, block, min_8bit_size)
    n = np.asarray(n, dtype=float)
    return np.where(eight_bit & (n >= min_8bit_size), 2 + 4 * np.ceil(n / block) / n, out)


register(Exercise(
    name="state_bytes_per_weight", chapter=CHAPTER, reference=state_bytes_per_weight,
    make_cases=_sizes_cases, returns=("bytes",),
    task="""
How many bytes of optimizer state does each tensor of a model keep, per weight (step counters
left out)? `n` is an array with the number of weights of each tensor (as floats: 512 × 256 is
131072.0); return an array of the same shape.

* In float32, each state buffer costs 4 bytes per weight: `optimizer` "sgd" (no momentum)
  keeps none, "momentum" and "lion" one, "adam" and "adamw" two (m and v), and `amsgrad`
  (only with "adam"/"adamw") adds a third, the running maximum of v.
* With `eight_bit` (only "adam"/"adamw", never with amsgrad), as `optim.torch.AdamW8bit`: a
  tensor of at least `min_8bit_size` weights keeps m and v as one byte per number each, and
  each of them one float32 absmax per block of `block` consecutive numbers (the last block
  shorter: ⌈n / block⌉ blocks). A smaller tensor keeps Adam's float32 m and v.
""",
    mistakes=(
        Mistake("the absmax of each block was forgotten",
                "Each block also stores its scale N_b, a float32: 4 bytes per block, for m and again for v. "
                "8-bit Adam costs 2 + 8/block bytes per weight (2.0039 for blocks of 2048), not 2.", _no_absmax),
        Mistake("the short last block was counted as none",
                "A tensor of n numbers has ⌈n / block⌉ blocks, the last one shorter when block does not "
                "divide n (`-(-n // block)` or `np.ceil(n / block)`), and that block has its absmax too.",
                _short_block_dropped),
        Mistake("8-bit state for small tensors too",
                "Tensors with fewer than min_8bit_size numbers (biases, small layers) keep Adam's float32 m "
                "and v: 8 bytes per weight, as bitsandbytes does.", _small_quantised_too),
        Mistake("a tensor of exactly min_8bit_size numbers was kept in float32",
                "Only tensors with *fewer* than min_8bit_size numbers stay float32 (`numel < min_8bit_size`): "
                "one of exactly min_8bit_size numbers is quantised.", _min_size_exclusive),
        Mistake("Adam counted as one state buffer",
                "Adam and AdamW keep two buffers, m and v, each the size of the weights: 8 bytes per weight "
                "in float32 (12 with AMSGrad), and twice 1 + 4/block in 8 bits.", _adam_one_state),
        Mistake("one absmax per block shared by m and v",
                "m and v are quantised separately, each with its own scales (`exp_avg_absmax` and "
                "`exp_avg_sq_absmax`): 8 bytes per block, not 4.", _one_absmax_for_both),
    ),
))


# --- dequantize_blockwise: the numbers the codes stand for ----------------------------------------

def dequantize_blockwise(codes, absmax, code_map, block):
    codes = np.asarray(codes).reshape(-1)
    x = quantize.dequantize(codes, np.asarray(absmax, dtype=float), np.asarray(code_map, dtype=float), block)
    return np.asarray(x, dtype=np.float64)


def _dq_cases(rng):
    """The cases of blockwise_quantize, quantised: the same numbers, blocks and maps."""
    cases = []
    for case in _cases(rng):
        x, block, signed = case.args["x"], case.args["block"], case.args["signed"]
        absmax, q = blockwise_quantize(x, block, signed)
        cases.append(Case(case.label, dict(codes=q, absmax=absmax, code_map=_map(signed), block=block)))
    return cases


def _tiled(codes, absmax, code_map, block):
    codes = np.asarray(codes)
    absmax = np.asarray(absmax, dtype=float)
    return np.asarray(code_map, dtype=float)[codes] * np.tile(absmax, block)[:len(codes)]


def _linear_codes(codes, absmax, code_map, block):
    values = np.where(code_map[0] < 0, np.asarray(codes) / 127.5 - 1, np.asarray(codes) / 255)
    return values * np.repeat(np.asarray(absmax, dtype=float), block)[:len(codes)]


def _divided(codes, absmax, code_map, block):
    scale = np.repeat(np.asarray(absmax, dtype=float), block)[:len(codes)]
    with np.errstate(all="ignore"):                  # an all-zero block: 0 / 0, as a reader's code gives
        return np.asarray(code_map, dtype=float)[np.asarray(codes)] / scale


def _largest_absmax(codes, absmax, code_map, block):
    return np.asarray(code_map, dtype=float)[np.asarray(codes)] * np.max(absmax)


register(Exercise(
    name="dequantize_blockwise", chapter=CHAPTER, reference=dequantize_blockwise,
    make_cases=_dq_cases, returns=("x",),
    task="""
Turn 8-bit state back into numbers, as a step does before running Adam's rule on m and v:
the number i of block b is `code_map[codes[i]] * absmax[b]`, where block b holds the numbers
b·block to (b+1)·block − 1 (the last block shorter when `block` does not divide `len(codes)`).

`codes` is a 1-D array of integer indices into `code_map` (the 256 values of
`optim.quantize.dynamic_map(signed)`), `absmax` one float per block. Return the numbers as a
float64 array of `codes`' length.
""",
    mistakes=(
        Mistake("the absmax values were tiled, not repeated",
                "Number i belongs to block i // block: each absmax is used for `block` consecutive numbers "
                "(`np.repeat(absmax, block)[:n]`), not cycled through (`np.tile`, or `absmax[i % len(absmax)]`).",
                _tiled),
        Mistake("the codes were read as a linear scale",
                "A code is an index into `code_map`, whose 256 values are not evenly spaced (the dynamic map "
                "is fine near 0 and coarse near 1): look the value up, `code_map[codes]`.", _linear_codes),
        Mistake("divided by the absmax instead of multiplying",
                "Quantising divided each block by its absmax to bring it into [−1, 1]; dequantising undoes "
                "that: multiply, `code_map[codes] * absmax[b]`.", _divided),
        Mistake("one absmax for the whole tensor",
                "Each block has its own scale: multiply by the absmax of the number's own block, not by the "
                "largest one.", _largest_absmax),
    ),
))
