"""The ops beyond element-wise (Part 7's rules): both faces give the same numbers.

A vector rule's tensor is one run's last axis in the NumPy face and the whole tensor in the
torch face; matrix ops act on the last two axes in both. A rule written with these ops is
therefore written once, and these tests pin the contract both faces implement.
"""
import numpy as np
import pytest
import torch

from optim.core import PURE
from optim.torch import INPLACE

rng = np.random.default_rng(0)
V, W = rng.normal(size=7), rng.normal(size=7)
A, B = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
S = A.T @ A + np.eye(3)


def both(op, *args):
    """(NumPy face, torch face) results of one op on the same arguments."""
    ours = getattr(PURE, op)(*args)
    theirs = getattr(INPLACE, op)(*(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args))
    return ours, theirs


@pytest.mark.parametrize("op,args", [
    ("sign", (V,)), ("norm", (V,)), ("dot", (V, W)), ("matmul", (A, B)), ("mT", (A,)),
    ("matrix_norm", (A,)), ("mean", (A, -1)), ("mean", (A, -2)), ("where", (V > 0, V, W)),
])
def test_the_faces_agree(op, args):
    ours, theirs = both(op, *args)
    np.testing.assert_allclose(np.broadcast_to(theirs.numpy(), np.shape(ours)), ours, rtol=1e-14, atol=0)


def test_values_by_hand():
    assert PURE.norm(np.array([3.0, 4.0])).item() == 5.0
    assert PURE.dot(np.array([1.0, 2.0]), np.array([3.0, 4.0])).item() == 11.0
    np.testing.assert_array_equal(PURE.sign(np.array([-2.0, 0.0, 3.0])), [-1.0, 0.0, 1.0])
    assert PURE.matrix_norm(np.array([[1.0, 2.0], [2.0, 4.0]])).item() == 5.0


def test_numpy_reductions_keep_runs_apart():
    """Leading axes are runs: a vector op reduces each run's last axis, a matrix op each matrix."""
    runs = rng.normal(size=(3, 7))
    np.testing.assert_allclose(PURE.norm(runs)[:, 0], np.linalg.norm(runs, axis=1))
    mats = rng.normal(size=(2, 4, 3))
    np.testing.assert_allclose(PURE.matrix_norm(mats)[:, 0, 0], [np.linalg.norm(m) for m in mats])
    assert PURE.mean(mats, -1).shape == (2, 4, 1) and PURE.mean(mats, -2).shape == (2, 1, 3)


def test_eigh_reconstructs_and_sorts():
    for vals, vecs in (PURE.eigh(S), tuple(t.numpy() for t in INPLACE.eigh(torch.tensor(S)))):
        assert np.all(np.diff(vals) >= 0)
        np.testing.assert_allclose(vecs @ np.diag(vals) @ vecs.T, S, atol=1e-12)
