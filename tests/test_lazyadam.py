"""LazyAdam: TF Addons' sparse formula, rows outside the batch left alone, torch.optim.SparseAdam's numbers.

The reference is an independent NumPy transcription of TF Addons'
``LazyAdam._resource_apply_sparse`` (duplicate indices summed first, as TF's
``_apply_sparse_duplicate_indices`` does; one global step count). Both faces are
compared with it over 200 random sparse steps, float64, relative 1e-12.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

import optim
import optim.torch

ROWS, DIM, BATCH, STEPS = 12, 3, 5, 200
LR, BETAS, EPS = 0.01, (0.9, 0.99), 1e-7


def batches(seed=0, steps=STEPS):
    """Random sparse gradients: BATCH row indices drawn with replacement (duplicates occur), unsorted."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, ROWS, size=BATCH), rng.normal(size=(BATCH, DIM))) for _ in range(steps)]


def initial_table(seed=1):
    return np.random.default_rng(seed).normal(size=(ROWS, DIM))


def tf_lazy_adam(var, m, v, t, indices, values, lr=LR, betas=BETAS, eps=EPS):
    """TF Addons LazyAdam, ``_resource_apply_sparse`` after de-duplication, transcribed row by row.

        lr_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
        m[i] = β₁ m[i] + (1 − β₁) g;   v[i] = β₂ v[i] + (1 − β₂) g²
        var[i] -= lr_t · m[i] / (√v[i] + ε)
    """
    var, m, v = var.copy(), m.copy(), v.copy()
    summed = {}
    for i, g in zip(indices.tolist(), values):
        summed[i] = summed[i] + g if i in summed else g.copy()
    t += 1
    beta1, beta2 = betas
    lr_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    for i, g in summed.items():
        m[i] = beta1 * m[i] + (1 - beta1) * g
        v[i] = beta2 * v[i] + (1 - beta2) * g * g
        var[i] = var[i] - lr_t * m[i] / (np.sqrt(v[i]) + eps)
    return var, m, v, t


def assert_close(ours, theirs, what, rtol=1e-12):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    err = np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300)
    assert err <= rtol, f"{what}: relative difference {err:.3g} > {rtol:g}"


def sparse_grad(indices, values):
    """An uncoalesced torch sparse COO gradient (duplicates not summed, as nn.Embedding(sparse=True) makes)."""
    return torch.sparse_coo_tensor(torch.as_tensor(indices)[None], torch.as_tensor(values), (ROWS, DIM),
                                   check_invariants=True)


def untouched_rows(indices):
    return np.setdiff1d(np.arange(ROWS), indices)


# ---------------------------------------------------------------- the formula, both faces
def test_numpy_face_follows_tf_addons_formula_and_leaves_other_rows_alone():
    opt = optim.LazyAdam(lr=LR, betas=BETAS, eps=EPS)
    var = initial_table()
    state = opt.init(var)
    ref = (var, np.zeros_like(var), np.zeros_like(var), 0)
    duplicates = 0
    for indices, values in batches():
        duplicates += len(indices) - len(set(indices.tolist()))
        before, m_before, v_before = var, state.m, state.v
        var, state = opt.step(var, optim.SparseRows(indices, values), state)
        ref = tf_lazy_adam(*ref, indices, values)
        rest = untouched_rows(indices)
        assert np.array_equal(var[rest], before[rest]), "a row outside the batch moved"
        assert np.array_equal(state.m[rest], m_before[rest]) and np.array_equal(state.v[rest], v_before[rest])
    assert duplicates > 50, "the scenario must exercise duplicate indices"
    assert_close(var, ref[0], "weights")
    assert_close(state.m, ref[1], "m")
    assert_close(state.v, ref[2], "v")
    assert state.t == ref[3] == STEPS, "one global step count"


def test_torch_face_follows_tf_addons_formula_and_leaves_other_rows_alone():
    table = torch.tensor(initial_table(), requires_grad=True)
    opt = optim.torch.LazyAdam([table], lr=LR, betas=BETAS, eps=EPS)
    ref = (initial_table(), np.zeros((ROWS, DIM)), np.zeros((ROWS, DIM)), 0)
    for indices, values in batches():
        before = table.detach().clone()
        state_before = {k: opt.state[table][k].clone() for k in ("exp_avg", "exp_avg_sq")} if opt.state[table] else None
        table.grad = sparse_grad(indices, values)
        opt.step()
        ref = tf_lazy_adam(*ref, indices, values)
        rest = torch.as_tensor(untouched_rows(indices))
        assert torch.equal(table.detach()[rest], before[rest]), "a row outside the batch moved"
        if state_before:
            for key in ("exp_avg", "exp_avg_sq"):
                assert torch.equal(opt.state[table][key][rest], state_before[key][rest]), key
    state = opt.state[table]
    assert_close(table.detach(), ref[0], "weights")
    assert_close(state["exp_avg"], ref[1], "m")
    assert_close(state["exp_avg_sq"], ref[2], "v")
    assert int(state["step"]) == ref[3] == STEPS


def test_a_row_is_bias_corrected_with_the_global_step_count():
    """A row first seen at step 10 uses lr_t of t = 10, not t = 1 (the per-row count LazyAdam does not keep)."""
    opt = optim.LazyAdam(lr=LR, betas=BETAS, eps=EPS)
    var, state = np.zeros((2, 1)), opt.init(np.zeros((2, 1)))
    for _ in range(9):
        var, state = opt.step(var, optim.SparseRows([0], [[1.0]]), state)
    var, state = opt.step(var, optim.SparseRows([1], [[1.0]]), state)
    b1, b2 = BETAS
    lr_t = LR * math.sqrt(1 - b2**10) / (1 - b1**10)
    m, v = 1 - b1, 1 - b2
    assert var[1, 0] == pytest.approx(-lr_t * m / (math.sqrt(v) + EPS), rel=1e-14)


@pytest.mark.parametrize("maximize", [False, True])
def test_dense_gradient_applies_the_formula_to_every_row(maximize):
    """A dense gradient == a sparse gradient listing every row once (both faces), and it moves every row."""
    opt = optim.LazyAdam(lr=LR, betas=BETAS, eps=EPS, maximize=maximize)
    var = initial_table()
    dense, sparse = (var, opt.init(var)), (var, opt.init(var))
    t_dense = torch.tensor(var, requires_grad=True)
    t_sparse = torch.tensor(var, requires_grad=True)
    opt_dense = optim.torch.LazyAdam([t_dense], lr=LR, betas=BETAS, eps=EPS, maximize=maximize)
    opt_sparse = optim.torch.LazyAdam([t_sparse], lr=LR, betas=BETAS, eps=EPS, maximize=maximize)
    ref = (var, np.zeros_like(var), np.zeros_like(var), 0)
    rng = np.random.default_rng(3)
    for _ in range(50):
        g = rng.normal(size=(ROWS, DIM))
        dense = opt.step(*dense[:1], g, dense[1])
        sparse = opt.step(*sparse[:1], optim.SparseRows(np.arange(ROWS)[::-1], g[::-1]), sparse[1])
        ref = tf_lazy_adam(*ref, np.arange(ROWS), -g if maximize else g)
        t_dense.grad = torch.from_numpy(g.copy())
        opt_dense.step()
        t_sparse.grad = sparse_grad(np.arange(ROWS), g)
        opt_sparse.step()
    assert_close(dense[0], sparse[0], "numpy dense vs sparse", rtol=1e-14)
    assert_close(dense[0], ref[0], "numpy dense vs formula")
    assert_close(t_dense.detach(), t_sparse.detach(), "torch dense vs sparse", rtol=1e-14)
    assert_close(t_dense.detach(), dense[0], "torch vs numpy")
    for field, key in (("m", "exp_avg"), ("v", "exp_avg_sq")):
        assert_close(getattr(dense[1], field), getattr(sparse[1], field), f"numpy state.{field}", rtol=1e-14)
        assert_close(opt_dense.state[t_dense][key], opt_sparse.state[t_sparse][key], f"torch {key}", rtol=1e-14)


# ---------------------------------------------------------------- torch.optim.SparseAdam
def train_embedding(factory, steps=STEPS, maximize=False):
    """An nn.Embedding(sparse=True) table fitted to targets on random batches (duplicates included)."""
    torch.manual_seed(0)
    emb = torch.nn.Embedding(ROWS, DIM, sparse=True).double()
    target = torch.randn(ROWS, DIM, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    opt = factory(emb.parameters())
    losses = []
    for indices, _ in batches(seed=4, steps=steps):
        idx = torch.as_tensor(indices)

        def closure():
            opt.zero_grad()
            loss = ((emb(idx) - target[idx]) ** 2).sum() * (-1 if maximize else 1)
            loss.backward()
            return loss

        losses.append(opt.step(closure).item())
    return emb.weight, opt, np.array(losses)


@pytest.mark.parametrize("maximize", [False, True])
def test_torch_face_matches_torch_sparse_adam_on_an_embedding(maximize):
    """Same ε (SparseAdam's 1e-8), sparse gradients from nn.Embedding(sparse=True): weights, losses and state."""
    kw = dict(lr=LR, betas=BETAS, eps=1e-8, maximize=maximize)
    ours, our_opt, our_losses = train_embedding(lambda ps: optim.torch.LazyAdam(ps, **kw), maximize=maximize)
    theirs, their_opt, their_losses = train_embedding(lambda ps: torch.optim.SparseAdam(ps, **kw),
                                                      maximize=maximize)
    assert ours.grad.is_sparse
    assert_close(our_losses, their_losses, "losses")
    assert_close(ours.detach(), theirs.detach(), "weights")
    a, b = our_opt.state[ours], their_opt.state[theirs]
    assert a.keys() == b.keys()
    assert int(a["step"]) == b["step"] == STEPS
    for key in ("exp_avg", "exp_avg_sq"):
        assert_close(a[key], b[key], key)
    # with LazyAdam's own default ε (TF's 1e-7) the numbers differ: ε is part of the comparison
    default_eps, _, _ = train_embedding(lambda ps: optim.torch.LazyAdam(ps, lr=LR, betas=BETAS), steps=20)
    sparse_adam, _, _ = train_embedding(lambda ps: torch.optim.SparseAdam(ps, lr=LR, betas=BETAS), steps=20)
    assert not torch.allclose(default_eps, sparse_adam, rtol=1e-12, atol=0)


@pytest.mark.parametrize("direction", ["SparseAdam->LazyAdam", "LazyAdam->SparseAdam"])
def test_state_dict_loads_between_lazyadam_and_sparse_adam(direction):
    kw = dict(lr=LR, betas=BETAS, eps=1e-8)
    factories = {"LazyAdam": lambda ps: optim.torch.LazyAdam(ps, **kw),
                 "SparseAdam": lambda ps: torch.optim.SparseAdam(ps, **kw)}
    first, second = (factories[n] for n in direction.split("->"))
    straight, _, _ = train_embedding(first, steps=40)
    weight, opt, _ = train_embedding(first, steps=20)
    saved = copy.deepcopy(opt.state_dict())
    opt = second([weight])
    opt.load_state_dict(saved)
    emb_target = torch.randn(ROWS, DIM, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for indices, _ in batches(seed=4, steps=40)[20:]:
        idx = torch.as_tensor(indices)
        weight.grad = None
        ((torch.nn.functional.embedding(idx, weight, sparse=True) - emb_target[idx]) ** 2).sum().backward()
        opt.step()
    assert_close(weight.detach(), straight.detach(), "continued run")


# ---------------------------------------------------------------- refusals
def test_amsgrad_is_refused_in_both_faces_and_the_message_says_what_tf_addons_does():
    """Refusing is optim's choice: TF Addons accepts the flag (AMSGrad on dense gradients, plain
    lazy Adam on sparse ones), and the message must not claim that TF Addons refuses it."""
    for make in (lambda: optim.LazyAdam(amsgrad=True),
                 lambda: optim.torch.LazyAdam([torch.zeros(2, requires_grad=True)], amsgrad=True)):
        with pytest.raises(ValueError, match="amsgrad") as error:
            make()
        message = str(error.value)
        assert "TF Addons' LazyAdam accepts the flag" in message
        assert "dense gradients only" in message
    assert "package's choice" in optim.lazyadam.__doc__
    assert optim.LazyAdam(amsgrad=False).hyper["amsgrad"] is False


def dense_only_optimizers():
    """The torch face's classes that refuse sparse gradients (SGD and Adagrad take them, as in torch)."""
    rules = [name for name in optim.torch.__all__
             if isinstance(getattr(optim.torch, name), type) and name not in ("LazyAdam", "Lookahead", "Ranger")
             and not getattr(getattr(optim.torch, name), "supports_sparse", False)]
    table = {name: (lambda ps, name=name: getattr(optim.torch, name)(ps, lr=0.01)) for name in rules}
    table["Lookahead"] = lambda ps: optim.torch.Lookahead(optim.torch.Adam(ps))
    table["Ranger"] = lambda ps: optim.torch.Ranger(ps)
    return table


DENSE_ONLY = dense_only_optimizers()


@pytest.mark.parametrize("name", list(DENSE_ONLY))
def test_other_torch_face_optimizers_refuse_a_sparse_gradient_clearly(name):
    table = torch.tensor(initial_table(), requires_grad=True)
    opt = DENSE_ONLY[name]([table])
    if hasattr(opt, "train"):        # Schedule-Free trains in train mode (it starts in eval mode)
        opt.train()
    table.grad = sparse_grad(np.array([1, 1, 4]), np.ones((3, DIM)))
    before = table.detach().clone()
    with pytest.raises(RuntimeError, match=r"does not support sparse gradients.*LazyAdam"):
        opt.step()
    assert torch.equal(table.detach(), before)


def test_lazyadam_defaults_are_tf_addons():
    assert optim.LazyAdam.defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-7, amsgrad=False, maximize=False)
    import inspect
    params = inspect.signature(optim.torch.LazyAdam).parameters
    assert params["eps"].default == 1e-7 and params["lr"].default == 1e-3


# ---------------------------------------------------------------- purity
def test_numpy_face_does_not_mutate_its_inputs_with_sparse_gradients():
    opt = optim.LazyAdam(lr=LR)
    var = initial_table()
    state = opt.init(var)
    for indices, values in batches(steps=3):          # give the state non-zero moments first
        var, state = opt.step(var, optim.SparseRows(indices, values), state)
    indices, values = np.array([7, 2, 7, 0]), np.random.default_rng(9).normal(size=(4, DIM))
    grad = optim.SparseRows(indices, values)
    kept = copy.deepcopy((var, state, indices, values))
    new_var, new_state = opt.step(var, grad, state)
    assert np.array_equal(var, kept[0]) and state == kept[1], "params or state were mutated"
    assert np.array_equal(grad.indices, kept[2]) and np.array_equal(grad.values, kept[3]), "the gradient was mutated"
    assert not np.array_equal(new_var, var)
    # the outputs share no memory with the inputs: writing into them leaves the inputs alone
    for out, inp in ((new_var, var), (new_state.m, state.m), (new_state.v, state.v)):
        assert not np.shares_memory(out, inp)


def test_torch_face_does_not_mutate_a_sparse_gradient():
    table = torch.tensor(initial_table(), requires_grad=True)
    opt = optim.torch.LazyAdam([table], lr=LR, maximize=True)
    for indices, values in batches(steps=5):
        table.grad = sparse_grad(indices, values)
        opt.step()
        assert not table.grad.is_coalesced()
        assert torch.equal(table.grad._indices()[0], torch.as_tensor(indices))
        assert torch.equal(table.grad._values(), torch.as_tensor(values))
