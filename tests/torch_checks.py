"""Helpers shared by the torch-face test modules (not a test module itself)."""
import itertools

import torch


def assert_close(ours, theirs, what, rtol=1e-12):
    """Largest difference relative to the largest value of ``theirs``, at most ``rtol``."""
    ours, theirs = torch.as_tensor(ours).double(), torch.as_tensor(theirs).double()
    err = ((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-300)).item()
    assert err <= rtol, f"{what}: relative difference {err:.3g} > {rtol:g}"


def grid(**options):
    """Every combination of the option lists, as kwargs dicts: an option grid for a parity table."""
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


def noise_table(shapes, steps, seed=1):
    """The gradient noise of a parity scenario: one float64 draw per step and shape, made once
    (converted to each run's dtype), so every optimizer and oracle sees the same numbers."""
    gen = torch.Generator().manual_seed(seed)
    return [[0.5 * torch.randn(shape, generator=gen, dtype=torch.float64) for shape in shapes]
            for _ in range(steps)]


def rel(a, b, floor=1e-300):
    """max |a − b| / max |b|, in float64; ``floor`` bounds the scale below (a b that ends near 0)."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return ((a - b).abs().max() / b.abs().max().clamp_min(floor)).item()
