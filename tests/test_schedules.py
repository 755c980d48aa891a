"""Learning-rate schedules: their shapes, and that both faces follow them step for step."""
import numpy as np
import pytest
import torch

import optim
import optim.torch
from optim import schedules
from optim.landscapes import quadratic
from optim.trajectory import run


def test_shapes_at_their_landmarks():
    assert [schedules.constant()(t) for t in (1, 50)] == [1.0, 1.0]
    decay = schedules.step_decay(10, gamma=0.5)
    assert [decay(t) for t in (1, 10, 11, 21)] == [1.0, 1.0, 0.5, 0.25]
    cos = schedules.cosine(101, floor=0.1)
    assert cos(1) == pytest.approx(1.0) and cos(51) == pytest.approx(0.55) and cos(101) == pytest.approx(0.1)
    assert cos(500) == pytest.approx(0.1)
    warm = schedules.linear_warmup(4)
    assert [warm(t) for t in (1, 2, 4, 9)] == [0.25, 0.5, 1.0, 1.0]
    bert = schedules.warmup_linear(10, 110)
    assert [bert(t) for t in (1, 10, 60, 110, 200)] == pytest.approx([0.1, 1.0, 0.5, 0.0, 0.0])
    wc = schedules.warmup_cosine(10, 110)
    assert wc(5) == pytest.approx(0.5) and wc(11) == pytest.approx(1.0) and wc(110) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("make, bad", [
    (lambda v: schedules.linear_warmup(v), 0), (lambda v: schedules.step_decay(v), 2.5),
    (lambda v: schedules.warmup_linear(10, v), 10), (lambda v: schedules.cosine(v), -1)])
def test_bad_arguments_name_the_parameter_and_the_value(make, bad):
    with pytest.raises(ValueError, match=str(bad)):
        make(bad)


def test_steps_are_numbered_from_one():
    with pytest.raises(ValueError, match="t: 0"):
        schedules.constant()(0)


@pytest.mark.parametrize("sched", [schedules.warmup_linear(5, 40), schedules.cosine(40), schedules.step_decay(7, 0.3)],
                         ids=lambda s: s.name)
def test_numpy_engine_and_torch_lambda_lr_follow_the_same_schedule(sched):
    """The engine's schedule= and LambdaLR on the torch face give the same path, float64."""
    landscape = quadratic(kappa=10)
    opt = optim.Adam(lr=0.1)
    path = run(opt, landscape, steps=40, schedule=sched.for_run(opt)).positions
    w = torch.tensor(landscape.start, dtype=torch.float64, requires_grad=True)
    torch_opt = optim.torch.Adam([w], lr=0.1)
    scheduler = sched.torch(torch_opt)
    for t in range(1, 41):
        w.grad = torch.from_numpy(landscape.grad(w.detach().numpy()))
        torch_opt.step()
        scheduler.step()
        np.testing.assert_allclose(w.detach().numpy(), path[t], rtol=1e-12, atol=1e-15)


def test_a_schedule_changes_the_path():
    landscape = quadratic(kappa=10)
    opt = optim.SGD(lr=0.1)
    plain = run(opt, landscape, steps=20).positions[-1]
    warm = run(opt, landscape, steps=20, schedule=schedules.linear_warmup(10).for_run(opt)).positions[-1]
    assert not np.allclose(plain, warm)


def test_warmup_linear_is_hugging_faces_formula_counted_from_one():
    """transformers' get_linear_schedule_with_warmup runs its lr_lambda through LambdaLR, whose
    counter starts at 0: its first step has rate 0 and its step t >= 2 the rate that
    optim.schedules.warmup_linear gives step t - 1 (the chapter Schedules says so)."""
    import transformers.optimization as transformers_optimization
    warmup, total = 10, 100
    base = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    hf = transformers_optimization.get_linear_schedule_with_warmup(base, warmup, total)
    rates = []
    for _ in range(total + 5):
        rates.append(base.param_groups[0]["lr"])
        base.step()
        hf.step()
    ours = schedules.warmup_linear(warmup, total)
    assert rates[0] == 0.0
    assert rates[1:] == pytest.approx([ours(t) for t in range(1, total + 5)], abs=1e-15)
