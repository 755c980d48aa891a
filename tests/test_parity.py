"""optim's numbers against torch.optim's, table-driven: one row per algorithm, one suite for all.

For every algorithm torch has, over a grid covering every option: 4 parameters
(including a scalar) in two param groups with different learning rates, steps
where some gradients are None, 200+ steps; parameters and state must agree to
1e-12 (float64) and 1e-5 (float32), relative.
"""
import inspect

import numpy as np
import pytest
import torch

import optim
import optim.torch
from torch_checks import grid, noise_table

STEPS = 210
SHAPES = [(), (3,), (2, 3), (4, 1, 2)]


def sgd_configs():
    return [c for c in grid(lr=[0.02], momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.05],
                            nesterov=[False, True], maximize=[False, True])
            if not c["nesterov"] or (c["momentum"] > 0 and c["dampening"] == 0)]


#: algorithm -> hyperparameter grid (every option torch has, on and off)
GRIDS = {
    "SGD": sgd_configs(),
    "Adagrad": grid(lr=[0.05], lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.05],
                    initial_accumulator_value=[0.0, 0.1], eps=[1e-10], maximize=[False, True]),
    "Adadelta": grid(lr=[1.0, 0.5], rho=[0.9, 0.5], eps=[1e-6], weight_decay=[0.0, 0.05], maximize=[False, True]),
    "RMSprop": grid(lr=[0.01], alpha=[0.99, 0.9], eps=[1e-8], weight_decay=[0.0, 0.05], momentum=[0.0, 0.9],
                    centered=[False, True], maximize=[False, True]),
    "Adam": grid(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], eps=[1e-8], weight_decay=[0.0, 0.05],
                 amsgrad=[False, True], maximize=[False, True], decoupled_weight_decay=[False, True]),
    "AdamW": grid(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.05],
                  amsgrad=[False, True], maximize=[False, True]),
    "NAdam": grid(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.05], momentum_decay=[4e-3, 0.1],
                  decoupled_weight_decay=[False, True], maximize=[False, True]),
    "RAdam": grid(lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.05],
                  decoupled_weight_decay=[False, True], maximize=[False, True]),
}
CASES = [(name, config) for name, configs in GRIDS.items() for config in configs]


def case_id(case):
    name, config = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in config.items() if k != "lr")


def loss_grad(w, maximize, noise):
    """A stochastic gradient of f(w) = Σ ½w² + sin(3w) (of −f when maximizing, so runs stay bounded).

    The noise keeps gradients and state O(1) to the end, as in real training; without
    it everything converges to 0 and a relative comparison of ~1e-10 numbers
    measures only rounding.
    """
    g = w + 3 * torch.cos(3 * w) + noise.to(w.dtype)
    return -g if maximize else g


NOISE = noise_table(SHAPES, STEPS)


def make_params(dtype):
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=gen, dtype=dtype) for shape in SHAPES]


def run_torch(factory, config, dtype, steps=STEPS):
    """Run an optimizer class through the standard scenario; returns (params, optimizer)."""
    params = [p.clone().requires_grad_() for p in make_params(dtype)]
    lr2 = config["lr"] * 0.5
    opt = factory([{"params": params[:2]}, {"params": params[2:], "lr": lr2}], **config)
    for step in range(steps):
        for i, p in enumerate(params):
            # parameter 1 gets no gradient on every 7th step: it must be skipped, state untouched
            p.grad = None if (i == 1 and step % 7 == 3) else \
                loss_grad(p.detach(), config.get("maximize", False), NOISE[step][i])
        opt.step()
    return params, opt


def assert_close(ours, theirs, rtol, what):
    ours, theirs = torch.as_tensor(ours, dtype=torch.float64), torch.as_tensor(theirs, dtype=torch.float64)
    scale = theirs.abs().max().clamp_min(1e-300)
    err = ((ours - theirs).abs().max() / scale).item()
    assert err <= rtol, f"{what}: relative difference {err:.3g} > {rtol:g}"


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-12), (torch.float32, 1e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_torch_face_matches_torch_optim(case, dtype, rtol):
    name, config = case
    ours, our_opt = run_torch(getattr(optim.torch, name), config, dtype)
    theirs, their_opt = run_torch(getattr(torch.optim, name), config, dtype)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.detach(), b.detach(), rtol, f"param {i}")
        state_a, state_b = our_opt.state[a], their_opt.state[b]
        assert state_a.keys() == state_b.keys(), f"param {i}: state keys {set(state_a)} vs {set(state_b)}"
        for key in state_b:
            assert_close(state_a[key], state_b[key], rtol, f"param {i} state {key!r}")


@pytest.mark.parametrize("name", list(GRIDS))
def test_same_signature_and_defaults_as_torch(name):
    ours = inspect.signature(getattr(optim.torch, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert set(theirs) <= set(ours) <= set(theirs) | set(optim.torch.TORCH_SWITCHES), \
        f"{name}: arguments {list(ours)} vs torch {list(theirs)}"
    for k, p in theirs.items():
        if k != "params":
            assert ours[k].default == p.default, f"{name}({k}=...): default {ours[k].default!r} vs torch {p.default!r}"
    # and the NumPy face has the same hyperparameters and defaults
    numpy_face = getattr(optim, name).defaults
    assert numpy_face == {k: v.default for k, v in theirs.items()
                          if k not in ("params",) + tuple(optim.torch.TORCH_SWITCHES)}


def numpy_run(opt, params, grads_fn, steps):
    """The scenario on the NumPy face: one parameter array, stepped `steps` times."""
    state = opt.init(params)
    for step in range(steps):
        params, state = opt.step(params, grads_fn(params, step), state)
    return params, state


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_numpy_face_matches_torch_face(case):
    """The same rule through both faces gives the same numbers (float64, one tensor)."""
    name, config = case
    w0 = np.random.default_rng(1).normal(size=(3, 4))

    noise = np.random.default_rng(2).normal(scale=0.5, size=(STEPS, 3, 4))

    def grad(w, step):
        g = w + 3 * np.cos(3 * w) + noise[step]
        return -g if config.get("maximize") else g

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # so torch keeps counters (NAdam's mu_product) in float64
    try:
        ours, state = numpy_run(getattr(optim, name)(**config), w0, grad, STEPS)
        w = torch.tensor(w0, requires_grad=True)
        opt = getattr(optim.torch, name)([w], **config)
        for step in range(STEPS):
            w.grad = torch.from_numpy(grad(w.detach().numpy(), step))
            opt.step()
    finally:
        torch.set_default_dtype(previous)
    assert_close(ours, w.detach(), 1e-12, "params")
    for field, value in state.fields().items():
        if value is not None:
            key = getattr(optim, name).torch_keys[field]
            assert_close(value, opt.state[w][key], 1e-12, f"state.{field}")


def test_nadam_mu_product_is_float32_in_torch():
    """torch keeps NAdam's ∏μ in the default scalar dtype (float32), even for float64 params.

    What that means for parity: the float64 NumPy face differs from torch.optim.NAdam
    by ~1e-9 relative after 200 steps, because torch rounds ∏μ to float32 at every step;
    our torch face stores it the same way and so matches torch exactly (see the
    parity grid), and with torch's default dtype set to float64 the NumPy face
    matches too (test_numpy_face_matches_torch_face).
    """
    params, opt = run_torch(torch.optim.NAdam, dict(lr=0.01), torch.float64, steps=50)
    assert opt.state[params[0]]["mu_product"].dtype == torch.float32
    ours, our_opt = run_torch(optim.torch.NAdam, dict(lr=0.01), torch.float64, steps=50)
    assert our_opt.state[ours[0]]["mu_product"].dtype == torch.float32
    # the float64 NumPy face against torch.optim under the float32 scalar dtype: not bit-equal
    w0 = make_params(torch.float64)[2].numpy()
    np_params, _ = numpy_run(optim.NAdam(lr=0.01), w0, lambda w, step: w + 3 * np.cos(3 * w), 200)
    w = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.NAdam([w], lr=0.01)
    for _ in range(200):
        w.grad = w.detach() + 3 * torch.cos(3 * w.detach())
        opt.step()
    err = np.max(np.abs(np_params - w.detach().numpy())) / np.max(np.abs(np_params))
    assert 1e-14 < err < 1e-6, f"float32 mu_product should show as a small, nonzero difference, got {err:.3g}"
