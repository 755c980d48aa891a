"""Helpers shared by the torch-face test modules (not a test module itself)."""
import torch


def assert_close(ours, theirs, what, rtol=1e-12):
    """Largest difference relative to the largest value of ``theirs``, at most ``rtol``."""
    ours, theirs = torch.as_tensor(ours).double(), torch.as_tensor(theirs).double()
    err = ((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-300)).item()
    assert err <= rtol, f"{what}: relative difference {err:.3g} > {rtol:g}"
