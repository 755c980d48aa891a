"""Blockwise 8-bit quantisation of optimizer state (Dettmers, Lewis, Shleifer & Zettlemoyer 2022).

Chapter: *What an optimizer keeps* (``chapters/memory.md``).

A state tensor (Adam's m or v) is stored as one byte per element plus one float32 per
block. The layout, written down exactly:

* the tensor is flattened in its memory order (row-major) to n numbers and cut into
  consecutive blocks of ``block`` numbers: block b holds elements ``b*block ...
  (b+1)*block - 1``; the last block is shorter when ``block`` does not divide n, so there
  are ceil(n / block) blocks;
* each block b keeps its absolute maximum N_b = max |T_b| (``absmax[b]``, float32);
* each element keeps, as a uint8, the index of the entry of a 256-entry *code* (the
  dynamic map, :func:`dynamic_map`) nearest to T_i / N_b: the signed map for m (values in
  [-1, 1]), the unsigned map for v (values in [0, 1], v ≥ 0);
* dequantisation is code[q_i] · N_b.

The paper's experiments use blocks of 2048; ``bitsandbytes`` 0.50's 8-bit optimizers use
256 (``blocksize = 256`` in ``Optimizer2State.init_state``). Both are one argument here.

Written once for NumPy arrays and torch tensors, like the update rules of
:mod:`optim.core`: plain arithmetic plus a tiny namespace (:class:`NumPyQ`,
:class:`TorchQ`) chosen from the array's type. This module never imports torch unless it
is handed a tensor.
"""
from __future__ import annotations

import numpy as np

__all__ = ["dynamic_map", "quantize", "dequantize", "n_blocks", "BLOCK", "TINY"]

#: the paper's block size
BLOCK = 2048
#: absmax of an all-zero block is clamped to this (as bitsandbytes does), so 0/0 never happens
TINY = 1e-38


def dynamic_map(signed: bool = True, max_exponent_bits: int = 7, total_bits: int = 8) -> np.ndarray:
    """The 256 values of the dynamic ("tree") data type, sorted ascending, as float32.

    A value is ±10^-e · f: e zeros after the sign (the exponent, e = 0 ... 6) and a fraction f
    taking the midpoints of a linear grid on [0.1, 1] with 2^i cells (signed) or 2^(i+1)
    cells (unsigned: the sign bit is spent on the fraction), where i = 6 - e. Plus 0 and 1.
    The signed map has no -1 (its smallest value is -0.993); the unsigned map's smallest
    non-zero value is 3.25e-7. This is ``bitsandbytes.functional.create_dynamic_map``
    (same arguments), which the tests compare entry for entry.
    """
    non_sign_bits = total_bits - 1
    additional = 2 ** (non_sign_bits - max_exponent_bits) - 1
    data: list[float] = []

    def grid(cells, scale):
        b = _linspace32(0.1, 1.0, cells + 1)
        means = (b[:-1] + b[1:]) / np.float32(2.0)          # float32 arithmetic throughout, as torch's
        data.extend((np.float32(scale) * means).tolist())
        if signed:
            data.extend((np.float32(-scale) * means).tolist())

    for i in range(max_exponent_bits):
        grid(2 ** (i + non_sign_bits - max_exponent_bits) * (1 if signed else 2),
             10.0 ** (-(max_exponent_bits - 1) + i))
    if additional > 0:
        grid(additional, 10.0 ** (-(max_exponent_bits - 1) + max_exponent_bits - 1))
    data += [0.0, 1.0]
    if len(data) != 2 ** total_bits:
        raise ValueError(f"Invalid map: {len(data)} values for {total_bits} bits")
    return np.array(sorted(data), dtype=np.float32)


def _linspace32(start: float, end: float, steps: int) -> np.ndarray:
    """``torch.linspace(start, end, steps, dtype=torch.float32)`` bit for bit: a float32 step, each point
    start + i·step rounded once, the upper half counted back from the end (numpy's linspace differs in
    the last bit of some points, and so would the map)."""
    s0, s1 = np.float32(start), np.float32(end)
    step = float((s1 - s0) / np.float32(steps - 1))
    i = np.arange(steps)
    return np.where(i < steps // 2, float(s0) + step * i, float(s1) - step * (steps - 1 - i)).astype(np.float32)


class NumPyQ:
    """The few array operations quantisation needs, for NumPy arrays."""

    @staticmethod
    def flat(a):
        return np.asarray(a, dtype=np.float32).reshape(-1)

    @staticmethod
    def pad(a, n):
        return np.concatenate([a, np.zeros(n, dtype=a.dtype)]) if n else a

    @staticmethod
    def absmax_rows(a):
        return np.abs(a).max(axis=1)

    @staticmethod
    def clip_min(a, low):
        return np.maximum(a, np.float32(low))

    @staticmethod
    def nearest(bounds, a):
        """Index i with bounds[i-1] < a <= bounds[i]: the nearest code, given the midpoints between codes."""
        return np.searchsorted(bounds, a, side="left").astype(np.uint8)

    @staticmethod
    def code_like(code, a):
        return np.asarray(code, dtype=np.float32)

    @staticmethod
    def take(code, q):
        return code[q.astype(np.int64)]

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)


class TorchQ:
    """The same operations for torch tensors (torch is imported only when a tensor arrives)."""

    @staticmethod
    def flat(a):
        import torch
        return a.detach().reshape(-1).to(torch.float32)

    @staticmethod
    def pad(a, n):
        import torch
        return torch.cat([a, a.new_zeros(n)]) if n else a

    @staticmethod
    def absmax_rows(a):
        return a.abs().amax(dim=1)

    @staticmethod
    def clip_min(a, low):
        return a.clamp(min=low)

    @staticmethod
    def nearest(bounds, a):
        """``torch.bucketize(a, bounds)``, bit for bit, about 4 times faster: see :func:`_float32_table`."""
        import torch
        if a.dtype != torch.float32:
            return torch.bucketize(a, bounds).to(torch.uint8)
        key = (bounds.detach().cpu().numpy().tobytes(), str(a.device))
        if key not in _TABLES:
            start, steps = _float32_table(bounds.detach().cpu().numpy())
            _TABLES[key] = (torch.as_tensor(start, device=a.device), steps,
                            torch.cat([bounds.detach(), bounds.new_full((1,), float("inf"))]))
        start, steps, padded = _TABLES[key]
        idx = start[(a.view(torch.int32) >> 16) & 0xFFFF]
        for _ in range(steps):
            idx = idx + (a > padded[idx])
        return idx.to(torch.uint8)

    @staticmethod
    def code_like(code, a):
        import torch
        return torch.as_tensor(code, dtype=torch.float32, device=a.device)

    @staticmethod
    def take(code, q):
        import torch
        return code[q.to(torch.int64)]

    @staticmethod
    def reshape(a, shape):
        return a.reshape(shape)


_TABLES: dict = {}


def _float32_table(bounds: np.ndarray):
    """A lookup table for the nearest code of a float32 number x, exact and branch-free.

    The top 16 bits of x (sign, exponent, 7 bits of mantissa) name an interval of float32
    numbers; ``start[k]`` counts the boundaries below interval k, and ``steps`` is the most
    boundaries any interval holds (1 for both dynamic maps: their neighbouring codes are
    never closer, relatively, than 2^-7). The index ``#(bounds < x)`` is then
    ``start[k]`` plus at most ``steps`` comparisons with the next boundary.
    """
    keys = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
    lo, hi = keys.view(np.float32), (keys | np.uint32(0xFFFF)).view(np.float32)
    with np.errstate(invalid="ignore"):
        a, b = np.fmin(lo, hi), np.fmax(lo, hi)
    finite = np.isfinite(a) & np.isfinite(b)
    bounds = bounds.astype(np.float32)
    start = np.where(finite, np.searchsorted(bounds, a, side="left"), 0)
    end = np.where(finite, np.searchsorted(bounds, b, side="right"), 0)
    return start.astype(np.int64), int((end - start).max())


def _ops(a):
    return TorchQ if type(a).__module__.startswith("torch") else NumPyQ


def n_blocks(n: int, block: int = BLOCK) -> int:
    """ceil(n / block): the number of absmax values a tensor of n elements keeps."""
    return -(-n // block)


def quantize(a, code, block: int = BLOCK):
    """(codes, absmax): ``a`` as uint8 indices into ``code`` (its shape) and one float32 absmax per block.

    ``code`` is a sorted map (:func:`dynamic_map`). Each block is divided by its absmax and
    each number goes to the *nearest* code value (the midpoints between neighbouring codes
    are the decision boundaries).
    """
    x = _ops(a)
    flat = x.flat(a)
    n = flat.shape[0]
    rows = x.reshape(x.pad(flat, n_blocks(n, block) * block - n), (-1, block))   # zeros leave absmax alone
    absmax = x.absmax_rows(rows)
    scaled = rows * (1.0 / x.clip_min(absmax, TINY))[:, None]
    code = x.code_like(code, flat)
    bounds = (code[:-1] + code[1:]) / 2
    codes = x.nearest(bounds, scaled).reshape(-1)[:n]
    return x.reshape(codes, tuple(a.shape)), absmax


def dequantize(codes, absmax, code, block: int = BLOCK):
    """The float32 values the codes stand for: code[q_i] · N_b, in ``codes``' shape."""
    x = _ops(codes)
    n = int(np.prod(codes.shape))
    flat = codes.reshape(-1)
    rows = x.reshape(x.pad(x.take(x.code_like(code, absmax), flat), n_blocks(n, block) * block - n), (-1, block))
    return x.reshape((rows * absmax[:, None]).reshape(-1)[:n], tuple(codes.shape))
