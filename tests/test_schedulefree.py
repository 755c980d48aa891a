"""Schedule-Free SGD and AdamW against the official ``schedulefree`` package 1.4.1 (the oracle).

Both faces, over a grid of every option: parameters, state (z, exp_avg_sq) and the group's
numbers (k, lr_max, weight_sum, scheduled_lr) after 200 noisy float64 steps (relative 1e-10),
float32 to 1e-5; a scheduler that changes the rate mid-run; train()/eval() and the evaluation
point x; state dicts across the two packages; what the oracle refuses (a step in eval mode).
"""
from __future__ import annotations

import copy
import io
import itertools

import numpy as np
import pytest
import schedulefree
import torch

import optim
import optim.torch
from torch_checks import assert_close

STEPS = 200
SHAPES = [(3, 4), (5,)]
_gen = torch.Generator().manual_seed(5)
NOISE = [[0.5 * torch.randn(s, generator=_gen, dtype=torch.float64) for s in SHAPES] for _ in range(STEPS + 50)]
GROUP_KEYS = ("k", "lr_max", "weight_sum", "scheduled_lr", "train_mode")


def make_params(dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype).requires_grad_() for s in SHAPES]


def grad_of(w, step, i):
    """A noisy gradient of Σ ½w² + sin 3w."""
    return w + 3 * torch.cos(3 * w) + NOISE[step][i].to(w.dtype)


def run(opt, params, steps, start=0, skip=lambda step: ()):
    for step in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = None if i in skip(step) else grad_of(p.detach(), step, i)
        opt.step()
    return params


SGD_GRID = [dict(lr=lr, momentum=m, weight_decay=wd, warmup_steps=w, r=r, weight_lr_power=p)
            for lr, m, wd, w, r, p in [
                (0.1, 0.9, 0.0, 0, 0.0, 2.0), (0.05, 0.5, 0.01, 20, 0.0, 2.0), (0.2, 0.98, 0.0, 50, 1.0, 2.0),
                (0.1, 0.9, 0.1, 10, 0.5, 0.0), (0.02, 0.1, 0.0, 0, 2.0, 1.0), (1.0, 0.9, 0.0, 0, 0.0, 2.0)]]
ADAMW_GRID = [dict(lr=lr, betas=b, eps=e, weight_decay=wd, warmup_steps=w, r=r, weight_lr_power=p)
              for lr, b, e, wd, w, r, p in [
                  (0.01, (0.9, 0.999), 1e-8, 0.0, 0, 0.0, 2.0), (0.05, (0.5, 0.9), 1e-3, 0.01, 20, 0.0, 2.0),
                  (0.0025, (0.98, 0.99), 1e-8, 0.1, 50, 1.0, 2.0), (0.02, (0.9, 0.0), 1e-6, 0.0, 10, 0.5, 0.0),
                  (0.01, (0.1, 0.999), 0.1, 0.0, 0, 2.0, 1.0)]]
CASES = ([("SGD", kw) for kw in SGD_GRID] + [("AdamW", kw) for kw in ADAMW_GRID])
OURS = {"SGD": optim.torch.ScheduleFreeSGD, "AdamW": optim.torch.ScheduleFreeAdamW}
THEIRS = {"SGD": schedulefree.SGDScheduleFree, "AdamW": schedulefree.AdamWScheduleFree}
NUMPY = {"SGD": optim.ScheduleFreeSGD, "AdamW": optim.ScheduleFreeAdamW}


def case_id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


def trained(cls, kw, dtype=torch.float64, steps=STEPS, **extra):
    params = make_params(dtype)
    opt = cls(params, **kw, **extra)
    opt.train()
    run(opt, params, steps)
    return params, opt


MAX_ERR = {}     # the largest relative differences seen, printed by the last test (for the report)


def close(ours, theirs, what, rtol, key):
    ours, theirs = torch.as_tensor(ours).double(), torch.as_tensor(theirs).double()
    err = ((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-300)).item()
    MAX_ERR[key] = max(MAX_ERR.get(key, 0.0), err)
    assert err <= rtol, f"{what}: relative difference {err:.3g} > {rtol:g}"


# ---------------------------------------------------------------- parity, torch face
@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("foreach", [True, False])
def test_torch_face_matches_the_oracle_params_state_and_group_float64(case, foreach):
    name, kw = case
    ours, opt = trained(OURS[name], kw)
    theirs, ref = trained(THEIRS[name], kw, foreach=foreach)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        close(a.detach(), b.detach(), f"y of param {i}", 1e-10, "torch float64")
        for key in ref.state[b]:
            close(opt.state[a][key], ref.state[b][key], f"state {key} of param {i}", 1e-10, "torch float64")
        assert opt.state[a].keys() == ref.state[b].keys()
    for key in GROUP_KEYS:
        assert opt.param_groups[0][key] == pytest.approx(ref.param_groups[0][key], rel=1e-12), key
    opt.eval(), ref.eval()                                   # and the evaluation point x
    for i, (a, b) in enumerate(zip(ours, theirs)):
        close(a.detach(), b.detach(), f"x of param {i}", 1e-10, "torch float64")


@pytest.mark.parametrize("case", CASES[::2], ids=case_id)
def test_torch_face_matches_the_oracle_float32(case):
    name, kw = case
    ours, opt = trained(OURS[name], kw, torch.float32)
    theirs, ref = trained(THEIRS[name], kw, torch.float32)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == torch.float32
        close(a.detach(), b.detach(), f"param {i}", 1e-5, "torch float32")
        for key in ref.state[b]:
            assert opt.state[a][key].dtype == torch.float32
            close(opt.state[a][key], ref.state[b][key], f"state {key}", 1e-5, "torch float32")


# ---------------------------------------------------------------- parity, NumPy face
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_numpy_face_matches_the_oracle(case):
    name, kw = case
    theirs, ref = trained(THEIRS[name], kw)
    opt = NUMPY[name](**kw)
    ws = [p.detach().numpy().copy() for p in make_params()]
    states = [opt.init(w) for w in ws]
    for step in range(STEPS):
        for i in range(len(ws)):
            g = grad_of(torch.from_numpy(ws[i]), step, i).numpy()
            ws[i], states[i] = opt.step(ws[i], g, states[i])
    group = ref.param_groups[0]
    for i, (w, s, b) in enumerate(zip(ws, states, theirs)):
        close(w, b.detach(), f"y of param {i}", 1e-10, "numpy float64")
        close(s.z, ref.state[b]["z"], f"z of param {i}", 1e-10, "numpy float64")
        if name == "AdamW":
            close(s.v, ref.state[b]["exp_avg_sq"], f"v of param {i}", 1e-10, "numpy float64")
        assert s.t == group["k"] and s.lr_max == group["lr_max"]
        assert s.weight_sum == pytest.approx(group["weight_sum"], rel=1e-14)
    ref.eval()
    for i, (w, s, b) in enumerate(zip(ws, states, theirs)):
        close(opt.eval_params(w, s), b.detach(), f"x of param {i}", 1e-10, "numpy float64")
        seq = opt.sequences(w, s)
        np.testing.assert_array_equal(seq["y"], w)
        np.testing.assert_array_equal(seq["z"], s.z)
        np.testing.assert_allclose(opt.train_params(seq["x"], s), w, rtol=1e-10, atol=1e-12)


def test_numpy_face_sweeps_the_rate_in_one_call():
    """A batch of learning rates (and warmups) is the separate runs, and the group numbers are per run."""
    lrs, warm = np.array([[0.01], [0.1], [0.5]]), np.array([[0], [5], [20]])
    w0 = np.random.default_rng(0).standard_normal((3, 4))
    opt = optim.ScheduleFreeSGD(lr=lrs, warmup_steps=warm)
    w, s = w0, opt.init(w0)
    for _ in range(30):
        w, s = opt.step(w, w + 3 * np.cos(3 * w), s)
    for b in range(3):
        single = optim.ScheduleFreeSGD(lr=float(lrs[b, 0]), warmup_steps=int(warm[b, 0]))
        v, t = w0[b], single.init(w0[b])
        for _ in range(30):
            v, t = single.step(v, v + 3 * np.cos(3 * v), t)
        np.testing.assert_allclose(w[b], v, rtol=1e-14, atol=1e-15)
        assert s.weight_sum[b, 0] == pytest.approx(t.weight_sum, rel=1e-15)


# ---------------------------------------------------------------- a schedule on top (warmup by a scheduler)
@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_a_scheduler_that_changes_the_rate_gives_the_oracles_numbers(name):
    """LambdaLR warms up then decays (lr_max then stays at the peak); both packages and the NumPy face agree."""
    kw = dict(lr=0.1) if name == "SGD" else dict(lr=0.01)
    factor = lambda step: min(1.0, (step + 1) / 30) * (0.5 if step > 120 else 1.0)   # noqa: E731
    out = []
    for cls in (OURS[name], THEIRS[name]):
        params = make_params()
        opt = cls(params, **kw)
        opt.train()
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        lrs = []
        for step in range(STEPS):
            for i, p in enumerate(params):
                p.grad = grad_of(p.detach(), step, i)
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out.append((params, opt, lrs))
    (ours, opt, lrs), (theirs, ref, _) = out
    for a, b in zip(ours, theirs):
        close(a.detach(), b.detach(), "params under a scheduler", 1e-10, "torch float64")
    assert opt.param_groups[0]["lr_max"] == ref.param_groups[0]["lr_max"] == max(lrs)
    assert opt.param_groups[0]["weight_sum"] == pytest.approx(ref.param_groups[0]["weight_sum"], rel=1e-13)
    # the NumPy face with the same rates, one with_hyper per step
    base = NUMPY[name](**kw)
    w = make_params()[0].detach().numpy().copy()
    s = base.init(w)
    for step in range(STEPS):
        w, s = base.with_hyper(lr=lrs[step]).step(w, grad_of(torch.from_numpy(w), step, 0).numpy(), s)
    close(w, theirs[0].detach(), "NumPy face under the same rates", 1e-10, "numpy float64")
    assert s.lr_max == max(lrs)


# ---------------------------------------------------------------- train / eval
@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_a_new_optimizer_is_in_eval_mode_and_step_refuses_as_the_oracle(name):
    params = make_params()
    for cls, error in ((OURS[name], RuntimeError), (THEIRS[name], Exception)):
        opt = cls(params)
        assert opt.param_groups[0]["train_mode"] is False
        run_grads = [grad_of(p.detach(), 0, i) for i, p in enumerate(params)]
        for p, g in zip(params, run_grads):
            p.grad = g
        with pytest.raises(error, match="not in train mode"):
            opt.step()
    ours = OURS[name](params)
    ours.train()
    ours.step()
    ours.eval()
    with pytest.raises(RuntimeError, match=r"opt\.train\(\)"):
        ours.step()


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_eval_and_train_switch_the_parameters_between_x_and_y_as_the_oracle(name):
    """eval() twice is eval() once; eval/train pairs between steps give the oracle's numbers."""
    runs = []
    for cls in (OURS[name], THEIRS[name]):
        params = make_params()
        opt = cls(params, lr=0.05 if name == "SGD" else 0.01)
        opt.train()
        xs = []
        for step in range(60):
            for i, p in enumerate(params):
                p.grad = grad_of(p.detach(), step, i)
            opt.step()
            if step % 7 == 0:
                opt.eval()
                opt.eval()
                xs.append([p.detach().clone() for p in params])
                opt.train()
                opt.train()
        runs.append((params, xs))
    (ours, our_xs), (theirs, their_xs) = runs
    for a, b in zip(ours, theirs):
        close(a.detach(), b.detach(), "y after eval/train pairs", 1e-10, "torch float64")
    for xa, xb in zip(our_xs, their_xs):
        for a, b in zip(xa, xb):
            close(a, b, "x", 1e-10, "torch float64")


def test_x_is_the_average_of_z_and_y_interpolates():
    """With a constant rate and r = 0, x_{t+1} is the plain mean of z_2, ..., z_{t+1} (the first step sets x = z)."""
    opt = optim.ScheduleFreeSGD(lr=0.1, momentum=0.8)
    w = np.array([1.0, -2.0])
    s = opt.init(w)
    zs = []
    for t in range(25):
        w, s = opt.step(w, w ** 3 - w, s)
        zs.append(s.z)
    np.testing.assert_allclose(opt.eval_params(w, s), np.mean(zs, axis=0), rtol=1e-12)
    np.testing.assert_allclose(w, 0.2 * s.z + 0.8 * opt.eval_params(w, s), rtol=1e-12)


# ---------------------------------------------------------------- state dicts
def checkpoint(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


@pytest.mark.parametrize("name", ["SGD", "AdamW"])
@pytest.mark.parametrize("pair", ["ours->ours", "oracle->ours", "ours->oracle"])
def test_state_dict_round_trip_and_across_the_packages(name, pair):
    """Saved in eval mode as the oracle says (params at x), loaded, train() again: the run continues."""
    first, second = {"ours->ours": (OURS, OURS), "oracle->ours": (THEIRS, OURS),
                     "ours->oracle": (OURS, THEIRS)}[pair]
    kw = dict(lr=0.05, warmup_steps=10) if name == "SGD" else dict(lr=0.01, warmup_steps=10, weight_decay=0.01)
    straight = make_params()
    opt = first[name](straight, **kw)
    opt.train()
    run(opt, straight, 120)

    params = make_params()
    opt = first[name](params, **kw)
    opt.train()
    run(opt, params, 50)
    opt.eval()
    saved = checkpoint({"params": [p.detach().clone() for p in params], "opt": opt.state_dict()})
    assert saved["opt"]["param_groups"][0]["k"] == 50 and saved["opt"]["param_groups"][0]["train_mode"] is False
    fresh = make_params(seed=9)
    with torch.no_grad():
        for p, v in zip(fresh, saved["params"]):
            p.copy_(v)
    opt = second[name](fresh, **kw)
    opt.load_state_dict(saved["opt"])
    opt.train()
    run(opt, fresh, 70, start=50)
    for a, b in zip(fresh, straight):
        close(a.detach(), b.detach(), f"restored run ({pair})", 1e-10, "torch float64")


def test_param_without_grad_keeps_the_group_clock_as_the_oracle():
    """The group's k advances at every step (the oracle's layout); a parameter without a gradient does not move."""
    out = []
    for cls in (optim.torch.ScheduleFreeAdamW, schedulefree.AdamWScheduleFree):
        params = make_params()
        opt = cls(params, lr=0.01)
        opt.train()
        run(opt, params, 60, skip=lambda step: (1,) if 10 <= step < 25 else ())
        out.append(params)
    for a, b in zip(*out):
        close(a.detach(), b.detach(), "with a gap in one parameter's gradients", 1e-10, "torch float64")


def test_a_group_added_while_training_is_in_train_mode():
    params = make_params()
    opt = optim.torch.ScheduleFreeSGD([params[0]], lr=0.1)
    opt.train()
    run(opt, params[:1], 5)
    opt.add_param_group({"params": [params[1]]})
    assert opt.param_groups[1]["train_mode"] is True and opt.param_groups[1]["k"] == 0
    run(opt, params, 5, start=5)
    y = params[1].detach().clone()
    opt.eval()
    opt.train()
    close(params[1].detach(), y, "y after eval/train", 1e-14, "round trip")


def test_step_never_touches_the_gradient_which_the_oracle_overwrites():
    for cls, kw in ((optim.torch.ScheduleFreeSGD, dict(weight_decay=0.1)), (optim.torch.ScheduleFreeAdamW, {})):
        params = make_params()
        opt = cls(params, **kw)
        opt.train()
        for i, p in enumerate(params):
            p.grad = grad_of(p.detach(), 0, i)
        held = [p.grad.clone() for p in params]
        opt.step()
        assert all(torch.equal(p.grad, g) for p, g in zip(params, held))
    params = make_params()
    ref = schedulefree.AdamWScheduleFree(params)
    ref.train()
    for i, p in enumerate(params):
        p.grad = grad_of(p.detach(), 0, i)
    held = [p.grad.clone() for p in params]
    ref.step()
    assert not all(torch.equal(p.grad, g) for p, g in zip(params, held)), "the oracle's step divides p.grad in place"


# ---------------------------------------------------------------- the drop-in
@pytest.mark.parametrize("name", ["SGD", "AdamW"])
def test_signature_defaults_and_group_keys_are_the_oracles(name):
    import inspect
    ours, theirs = inspect.signature(OURS[name].__init__), inspect.signature(THEIRS[name].__init__)
    assert list(ours.parameters) == list(theirs.parameters)
    for key, p in theirs.parameters.items():
        assert ours.parameters[key].default == p.default, key
    a, b = OURS[name](make_params()), THEIRS[name](make_params())
    assert {k: v for k, v in a.param_groups[0].items() if k != "params"} == \
           {k: v for k, v in b.param_groups[0].items() if k != "params"}
    assert a.defaults == b.defaults


@pytest.mark.parametrize("bad, message", [
    (dict(momentum=0.0), "0.0 < momentum < 1.0"), (dict(momentum=1.0), "momentum < 1.0"),
    (dict(lr=-1.0), "0.0 <= lr"), (dict(warmup_steps=-5), "0.0 <= warmup_steps"),
    (dict(r=-1.0), "0.0 <= r"), (dict(weight_lr_power=-2.0), "0.0 <= weight_lr_power")])
def test_bad_hyperparameters_are_refused_in_both_faces(bad, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        optim.ScheduleFreeSGD(**bad)
    with pytest.raises(ValueError, match=message):
        optim.torch.ScheduleFreeSGD(make_params(), **bad)
    with pytest.raises(ValueError, match="beta parameter at index 0"):
        optim.torch.ScheduleFreeAdamW(make_params(), betas=(0.0, 0.999))


def test_memory_is_one_buffer_for_sgd_and_two_for_adamw():
    """Bytes of state per parameter, measured from the state: z (SGD); z and v (AdamW)."""
    for cls, buffers in ((optim.torch.ScheduleFreeSGD, 1), (optim.torch.ScheduleFreeAdamW, 2)):
        params, opt = trained(cls, {}, steps=3)
        n = sum(p.numel() for p in params)
        nbytes = sum(v.numel() * v.element_size() for p in params for v in opt.state[p].values()
                     if torch.is_tensor(v))
        assert nbytes == buffers * 8 * n


def test_zz_report_the_largest_differences(capsys):
    with capsys.disabled():
        print("\nlargest relative differences vs schedulefree 1.4.1:",
              {k: f"{v:.2e}" for k, v in sorted(MAX_ERR.items())})
