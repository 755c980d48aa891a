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
