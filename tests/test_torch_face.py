"""The torch face behaves as a drop-in for ``torch.optim``, table-driven over every class in ``optim.torch``.

One row per class (a factory with non-default options that exercise the rule, and
its *twin*: the ``torch.optim`` class it replaces, or the ``pytorch_optimizer``
class for Lookahead and Ranger, which torch lacks). One suite for all rows:
closures, ``zero_grad``, parameters without a gradient, param groups,
``add_param_group``, ``StepLR``, ``state_dict()`` round trips (and across the twins),
a tiny ``nn.Linear`` model trained side by side, gradients left untouched, and
float32/float64 models. Numbers: float64, relative 1e-12 against a twin; bitwise
against itself.
"""
from __future__ import annotations

import copy
import io
import warnings
from dataclasses import dataclass
from typing import Callable

import pytest
import torch
import dadaptation
import lion_pytorch
import prodigyopt
import pytorch_optimizer
import schedulefree

import optim.torch
from torch_checks import assert_close

LR = 0.02
K = 3          # Lookahead/Ranger sync period in the table (syncs fall inside every scenario)


@dataclass
class Row:
    name: str
    #: params (or param groups), **overrides -> our optimizer
    ours: Callable
    #: the same, building the twin, or None
    twin: Callable | None = None
    #: whether the twin is a torch.optim class (its state_dict is interchangeable with ours)
    torch_twin: bool = False

    def __repr__(self):
        return self.name


def rule(cls_name, twin=None, **options):
    """A row for a rule optimizer: same options for ours and the torch.optim twin."""
    def ours(params, **kw):
        return getattr(optim.torch, cls_name)(params, **{**options, **kw})

    def theirs(params, **kw):
        return twin(params, **{**options, **kw})
    return Row(cls_name, ours, theirs if twin else None, torch_twin=twin is not None)


def with_momentum(**fixed):
    return lambda params, **kw: torch.optim.SGD(params, **{**fixed, **kw})


def lookahead_ours(params, **kw):
    return optim.torch.Lookahead(optim.torch.Adam(params, **{"lr": LR, "weight_decay": 0.01, **kw}), k=K, alpha=0.5)


def lookahead_twin(params, **kw):
    return pytorch_optimizer.Lookahead(torch.optim.Adam(params, **{"lr": LR, "weight_decay": 0.01, **kw}),
                                       k=K, alpha=0.5, pullback_momentum="none")


def ranger_ours(params, **kw):
    return optim.torch.Ranger(params, **{"lr": LR, "weight_decay": 0.01, "k": K, **kw})


def schedule_free(cls, **options):
    """A Schedule-Free row's factory: the optimizer switched to train mode, as its users must (see
    tests/test_schedulefree.py for eval mode). Its twin is the official ``schedulefree`` package, whose
    state dicts are interchangeable with ours (same group keys, same state keys)."""
    def factory(params, **kw):
        opt = cls(params, **{**options, **kw})
        opt.train()
        return opt
    return factory


def ranger_twin(params, **kw):
    # degenerated_to_sgd=True is Less Wright's Ranger (see tests/test_lookahead.py on the default)
    return pytorch_optimizer.Ranger(params, **{"lr": LR, "weight_decay": 0.01, "k": K,
                                               "degenerated_to_sgd": True, **kw})


ROWS = [
    rule("SGD", torch.optim.SGD, lr=LR, momentum=0.9, dampening=0.1, weight_decay=0.01),
    rule("Momentum", with_momentum(momentum=0.9), lr=LR),
    rule("Nesterov", with_momentum(momentum=0.9, nesterov=True), lr=LR),
    rule("Adagrad", torch.optim.Adagrad, lr=0.1, lr_decay=0.01, weight_decay=0.01),
    rule("Adadelta", torch.optim.Adadelta, lr=1.0, weight_decay=0.01),
    rule("RMSprop", torch.optim.RMSprop, lr=LR, momentum=0.5, centered=True, weight_decay=0.01),
    rule("Adam", torch.optim.Adam, lr=LR, amsgrad=True, weight_decay=0.01),
    rule("AdamW", torch.optim.AdamW, lr=LR),
    rule("NAdam", torch.optim.NAdam, lr=LR, weight_decay=0.01),
    rule("RAdam", torch.optim.RAdam, lr=LR, weight_decay=0.01, decoupled_weight_decay=True),
    rule("LazyAdam", None, lr=LR),        # dense use here; sparse and its twin SparseAdam: test_lazyadam.py
    rule("Lion", lion_pytorch.Lion, lr=LR / 10, betas=(0.95, 0.98), weight_decay=0.1),   # same state-dict layout
    rule("Adafactor", torch.optim.Adafactor, lr=LR, weight_decay=0.01, d=2.0),
    Row("Lookahead", lookahead_ours, lookahead_twin),
    Row("Ranger", ranger_ours, ranger_twin),
    rule("LARS", pytorch_optimizer.LARS, lr=0.1, weight_decay=0.01, trust_coefficient=0.02),
    # pytorch_optimizer.Lamb counts steps per group, not per parameter: its state dicts do not load into ours
    Row("LAMB", rule("LAMB", None, lr=LR, weight_decay=0.01).ours,
        lambda params, **kw: pytorch_optimizer.Lamb(params, **{"lr": LR, "weight_decay": 0.01, **kw})),
    Row("ScheduleFreeSGD", schedule_free(optim.torch.ScheduleFreeSGD, lr=0.1, weight_decay=0.01, warmup_steps=3),
        schedule_free(schedulefree.SGDScheduleFree, lr=0.1, weight_decay=0.01, warmup_steps=3), torch_twin=True),
    Row("ScheduleFreeAdamW", schedule_free(optim.torch.ScheduleFreeAdamW, lr=LR, weight_decay=0.01, warmup_steps=3),
        schedule_free(schedulefree.AdamWScheduleFree, lr=LR, weight_decay=0.01, warmup_steps=3), torch_twin=True),
    rule("Prodigy", prodigyopt.Prodigy, d0=1e-3, weight_decay=0.01, use_bias_correction=True),   # oracle's layout
    # pytorch_optimizer's Shampoo and SOAP count steps per group and keep lists of matrices (SOAP): their state
    # dicts do not load into ours (see optim/shampoo.py); parameters agree (tests/test_shampoo.py)
    Row("Shampoo", rule("Shampoo", None, lr=LR, momentum=0.5, weight_decay=0.01).ours,
        lambda params, **kw: pytorch_optimizer.Shampoo(params, **{"lr": LR, "momentum": 0.5, "weight_decay": 0.01,
                                                                  **kw})),
    Row("SOAP", rule("SOAP", None, lr=LR, precondition_frequency=2).ours,
        lambda params, **kw: pytorch_optimizer.SOAP(params, **{"lr": LR, "precondition_frequency": 2, **kw})),
    rule("DAdaptAdam", dadaptation.DAdaptAdam, d0=1e-3, weight_decay=0.01, decouple=True),
]
#: one d for all parameters: param groups may differ in lr only by 0 (the oracles raise RuntimeError otherwise),
#: and a group added later joins the running estimate; the per-group-lr tests below leave these rows out
GLOBAL_D = ("Prodigy", "DAdaptAdam")
PER_GROUP_LR = [row for row in ROWS if row.name not in GLOBAL_D]
#: param-group keys that count a group's own steps (Lookahead; Schedule-Free's clock and averaging sums)
GROUP_COUNTERS = ("lookahead_step", "k", "lr_max", "weight_sum", "scheduled_lr")
TWINS = [row for row in ROWS if row.twin]
TORCH_TWINS = [row for row in ROWS if row.torch_twin]


#: classes this suite cannot run: its scenario trains a matrix *and a bias* (and an nn.Linear with one), and Muon,
#: like torch.optim.Muon, refuses anything but 2-D parameters; tests/test_muon.py runs these checks on matrices
NOT_IN_TABLE = {"Muon"}


def test_table_covers_every_class_of_the_torch_face():
    classes = [name for name in optim.torch.__all__
               if isinstance(getattr(optim.torch, name), type)
               and issubclass(getattr(optim.torch, name), torch.optim.Optimizer)]
    # the 8-bit classes run Adam's rule on quantised state: tests/test_quantize.py checks them against Adam
    assert sorted(row.name for row in ROWS) == sorted(set(classes) - NOT_IN_TABLE - set(optim.torch.TORCH_ONLY)) == \
        sorted(cls.__name__ for cls in optim.OPTIMIZERS if cls.__name__ not in NOT_IN_TABLE)
    assert NOT_IN_TABLE <= set(classes)


# ---------------------------------------------------------------- the scenario
SHAPES = [(3, 4), (4,)]                  # a weight matrix (Ranger centres it) and a bias
STEPS = 40
_gen = torch.Generator().manual_seed(7)
NOISE = [[0.5 * torch.randn(s, generator=_gen, dtype=torch.float64) for s in SHAPES] for _ in range(100)]


def make_params(dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype).requires_grad_() for s in SHAPES]


def loss_of(params, step):
    """f(w) = Σ ½w² + sin 3w + noise·w: smooth, non-convex, with a gradient that stays O(1)."""
    return sum((0.5 * p * p + torch.sin(3 * p) + NOISE[step][i].to(p.dtype) * p).sum()
               for i, p in enumerate(params))


def set_grads(params, step, skip=()):
    for i, p in enumerate(params):
        w = p.detach()
        p.grad = None if i in skip else w + 3 * torch.cos(3 * w) + NOISE[step][i].to(w.dtype)


def run(opt, params, steps, start=0, skip=lambda step: ()):
    for step in range(start, start + steps):
        set_grads(params, step, skip(step))
        opt.step()
    return params


def full_state(opt, p):
    """Everything an optimizer keeps for p (Lookahead: its slow weights and the base's state)."""
    state = dict(opt.state.get(p, {}))
    if hasattr(opt, "base_optimizer"):
        state.update({f"base.{k}": v for k, v in opt.base_optimizer.state.get(p, {}).items()})
    return state


def snapshot(opt, p):
    return {k: (v.clone() if torch.is_tensor(v) else copy.deepcopy(v)) for k, v in full_state(opt, p).items()}


def assert_same_state(a: dict, b: dict, what):
    assert a.keys() == b.keys(), f"{what}: state keys {sorted(a)} vs {sorted(b)}"
    for key in a:
        if torch.is_tensor(a[key]):
            assert torch.equal(a[key], b[key]), f"{what}: state {key!r} changed"
        else:
            assert a[key] == b[key], f"{what}: state {key!r} changed"



def moved(a, b):
    return not all(torch.equal(x, y) for x, y in zip(a, b))


# ---------------------------------------------------------------- closures, zero_grad, None grads
@pytest.mark.parametrize("row", ROWS, ids=repr)
def test_step_calls_closure_with_grad_enabled_and_returns_its_loss(row):
    params = make_params()
    opt = row.ours(params)
    seen = []

    def closure():
        seen.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = loss_of(params, 0)
        loss.backward()
        return loss

    before = [p.detach().clone() for p in params]
    with torch.no_grad():               # torch.optim enables grad for the closure even here
        loss = opt.step(closure)
    assert seen == [True], "the closure must be called exactly once, with grad enabled"
    assert torch.is_tensor(loss) and loss.item() == loss_of(before, 0).item()
    if row.name == "SOAP":              # its first step only builds the eigenbasis from them: the params stay
        assert opt.state[params[0]]["GG_0"].abs().sum() > 0, "the step must use the gradients the closure computed"
    else:
        assert moved(params, before), "the step must use the gradients the closure computed"
    assert opt.step() is None, "without a closure, step returns None"


@pytest.mark.parametrize("row", ROWS, ids=repr)
def test_zero_grad_sets_grads_to_none_by_default_and_to_zeros_on_request(row):
    params = make_params()
    opt = row.ours(params)
    set_grads(params, 0)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("row", ROWS, ids=repr)
def test_param_without_grad_is_skipped_and_its_state_untouched(row):
    """A parameter whose .grad is None is neither moved nor has its state changed (as torch.optim).

    The bias gets gradients for 4 steps, then none for K+1 steps — across a Lookahead
    sync (at step 6 with K = 3) — while the matrix keeps training.
    """
    params = make_params()
    opt = row.ours(params)
    run(opt, params, 4)
    bias, weight, state = params[1].detach().clone(), params[0].detach().clone(), snapshot(opt, params[1])
    run(opt, params, K + 1, start=4, skip=lambda step: (1,))
    assert torch.equal(params[1].detach(), bias), "a parameter without gradient moved"
    assert_same_state(snapshot(opt, params[1]), state, "parameter without gradient")
    assert not torch.equal(params[0].detach(), weight), "the other parameter must keep training"
    # a parameter that never had a gradient gets no state (Lookahead: only its slow weights, its initial value)
    fresh = make_params()
    opt = row.ours(fresh)
    run(opt, fresh, 2, skip=lambda step: (1,))
    state = full_state(opt, fresh[1])
    slow = state.pop("slow_param", None)
    assert not state, f"state {sorted(state)} for a parameter that never had a gradient"
    assert slow is None or torch.equal(slow, make_params()[1].detach())


# ---------------------------------------------------------------- param groups
@pytest.mark.parametrize("row", PER_GROUP_LR, ids=repr)
def test_each_param_group_uses_its_own_lr(row):
    """Two groups with different lr = two optimizers, one per group, each with its lr."""
    params = make_params()
    opt = row.ours([{"params": [params[0]]}, {"params": [params[1]], "lr": LR / 4}])
    run(opt, params, STEPS)
    alone = make_params()
    opt_w, opt_b = row.ours([alone[0]]), row.ours([alone[1]], lr=LR / 4)
    for step in range(STEPS):
        set_grads(alone, step)
        opt_w.step()
        opt_b.step()
    for a, b in zip(params, alone):
        assert torch.equal(a.detach(), b.detach())
    # and the lr really differs: with the first group's lr, the bias would end elsewhere
    other = make_params()
    run(row.ours(other), other, STEPS)
    assert not torch.equal(other[1].detach(), params[1].detach())


@pytest.mark.parametrize("row", PER_GROUP_LR, ids=repr)
def test_add_param_group_starts_the_new_params_fresh(row):
    """A group added after 2K steps trains as a new optimizer started then, with the group's own lr."""
    params = make_params()
    opt = row.ours([params[0]])
    run(opt, params[:1], 2 * K)
    opt.add_param_group({"params": [params[1]], "lr": LR / 4})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["lr"] == LR / 4
    for key, value in opt.param_groups[0].items():      # the defaults fill the rest of the group
        if key not in ("params", "lr", *GROUP_COUNTERS):      # Lookahead, Schedule-Free: each group counts its steps
            assert opt.param_groups[1][key] == value, key
    run(opt, params, STEPS, start=2 * K)
    late = make_params()[1:]
    opt_late = row.ours(late, lr=LR / 4)
    for step in range(2 * K, 2 * K + STEPS):
        w = late[0].detach()
        late[0].grad = w + 3 * torch.cos(3 * w) + NOISE[step][1]
        opt_late.step()
    assert torch.equal(params[1].detach(), late[0].detach())


# ---------------------------------------------------------------- schedulers
@pytest.mark.parametrize("row", [row for row in TWINS if row.name not in GLOBAL_D], ids=repr)
def test_steplr_drives_the_optimizer_exactly_like_its_twin(row):
    def scheduled(factory):
        params = make_params()
        opt = factory([{"params": [params[0]]}, {"params": [params[1]], "lr": LR / 2}])
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
        lrs = [[g["lr"] for g in opt.param_groups]]
        with warnings.catch_warnings():
            warnings.simplefilter("error")      # e.g. "lr_scheduler.step() before optimizer.step()"
            for step in range(STEPS):
                set_grads(params, step)
                opt.step()
                sched.step()
                lrs.append([g["lr"] for g in opt.param_groups])
        return params, lrs, sched.state_dict()

    ours, our_lrs, our_sched = scheduled(row.ours)
    theirs, their_lrs, their_sched = scheduled(row.twin)
    assert our_lrs == their_lrs
    assert our_lrs[-1] == [lr * 0.5 ** (STEPS // 4) for lr in our_lrs[0]] and our_lrs[0][1] == LR / 2
    assert our_sched["last_epoch"] == their_sched["last_epoch"] == STEPS
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert_close(a.detach(), b.detach(), f"param {i}")
    unscheduled = make_params()
    run(row.ours(unscheduled), unscheduled, STEPS)
    assert moved(unscheduled, ours), "the schedule must change the trajectory"


# ---------------------------------------------------------------- state_dict
def checkpoint(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


N, M = 2 * K + 1, 3 * K          # syncs at 3 and 6 before the restore, 9, 12, 15 after


def interrupted_run(factory):
    """N steps, a checkpoint through torch.save, a new model and optimizer loaded from it, M more steps."""
    params = make_params()
    opt = factory(params)
    run(opt, params, N)
    saved = checkpoint({"params": [p.detach() for p in params], "opt": opt.state_dict()})
    run(opt, params, 2)                                  # the old run goes on; the checkpoint must not follow it

    fresh = make_params(seed=99)                         # a new model ...
    with torch.no_grad():
        for p, value in zip(fresh, saved["params"]):     # ... loaded from the checkpoint
            p.copy_(value)
    opt = factory(fresh)
    opt.load_state_dict(saved["opt"])
    return run(opt, fresh, M, start=N)


@pytest.mark.parametrize("row", [row for row in ROWS if row.name != "NAdam"], ids=repr)
def test_state_dict_round_trip_continues_bitwise_like_an_uninterrupted_run(row):
    straight = make_params()
    run(row.ours(straight), straight, N + M)
    for a, b in zip(interrupted_run(row.ours), straight):
        assert torch.equal(a.detach(), b.detach()), "the restored run left the uninterrupted one"


def test_nadam_round_trip_is_torch_optims_own_round_trip():
    """NAdam's restored run is torch.optim.NAdam's restored run, bit for bit — which is *not* bitwise
    the uninterrupted run, in torch either.

    torch keeps NAdam's ∏μ (``mu_product``) as a float32 tensor, and
    ``torch.optim.Optimizer.load_state_dict`` casts every state tensor but ``step``
    to the parameter's dtype: after a restore ∏μ is float64, so the continued run
    differs from the uninterrupted one by ~1e-12 relative. The torch face keeps
    torch's keys and dtypes (so the two state dicts interchange), and inherits this.
    """
    straight = make_params()
    run(optim.torch.NAdam(straight, lr=LR), straight, N + M)
    ours = interrupted_run(lambda params: optim.torch.NAdam(params, lr=LR))
    theirs = interrupted_run(lambda params: torch.optim.NAdam(params, lr=LR))
    for a, b, c in zip(ours, theirs, straight):
        assert torch.equal(a.detach(), b.detach())
        assert_close(a.detach(), c.detach(), "restored vs uninterrupted", rtol=1e-10)


@pytest.mark.parametrize("row", TORCH_TWINS, ids=repr)
@pytest.mark.parametrize("direction", ["torch.optim->optim.torch", "optim.torch->torch.optim"])
def test_state_dict_loads_across_the_twins_and_continues_identically(row, direction):
    first, second = (row.twin, row.ours) if direction.startswith("torch") else (row.ours, row.twin)
    straight = make_params()
    run(first(straight), straight, N + M)

    params = make_params()
    opt = first(params)
    run(opt, params, N)
    saved = checkpoint(opt.state_dict())
    opt = second(params)
    opt.load_state_dict(saved)
    run(opt, params, M, start=N)
    for i, (a, b) in enumerate(zip(params, straight)):
        assert_close(a.detach(), b.detach(), f"param {i}")
    # a fresh optimizer instead of the loaded state would not continue the same way
    restarted = make_params()
    run(first(restarted), restarted, N)
    run(second(restarted), restarted, M, start=N)
    assert moved(restarted, straight)


# ---------------------------------------------------------------- a real model
def train_linear(factory, dtype, steps=50):
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3).to(dtype)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(32, 5, generator=gen, dtype=torch.float64).to(dtype)
    y = torch.randn(32, 3, generator=gen, dtype=torch.float64).to(dtype)
    opt = factory(model.parameters())
    losses = []

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(opt.step(closure).item())
    return torch.tensor(losses, dtype=torch.float64), model, opt


@pytest.mark.parametrize("row", TWINS, ids=repr)
def test_training_a_linear_model_gives_the_twins_losses(row):
    ours, _, _ = train_linear(row.ours, torch.float64)
    theirs, _, _ = train_linear(row.twin, torch.float64)
    assert_close(ours, theirs, "losses over 50 steps")
    assert ours[-1] < ours[0], "training must make progress"


@pytest.mark.parametrize("row", ROWS, ids=repr)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_optimizer_trains_a_model_in_float32_and_float64(row, dtype):
    losses, model, opt = train_linear(row.ours, dtype)
    assert torch.isfinite(losses).all() and losses[-1] < losses[0]
    for p in model.parameters():
        assert p.dtype == dtype
        for key, value in full_state(opt, p).items():
            if torch.is_tensor(value) and value.dim() > 0:
                assert value.dtype == dtype, f"state {key!r} is {value.dtype} for {dtype} parameters"
    if row.twin is not None and dtype == torch.float32:
        theirs, _, _ = train_linear(row.twin, dtype)
        assert_close(losses, theirs, "float32 losses", rtol=1e-5)


# ---------------------------------------------------------------- gradients are the caller's
# Ranger, Schedule-Free (as their oracles) have no maximize option
GRAD_CASES = [(row, {}) for row in ROWS] + [(row, {"maximize": True}) for row in ROWS
                                            if row.name not in ("Ranger", "ScheduleFreeSGD", "ScheduleFreeAdamW")]


@pytest.mark.parametrize("row,options", GRAD_CASES,
                         ids=[f"{row.name}{'-maximize' if o else ''}" for row, o in GRAD_CASES])
def test_step_never_mutates_the_gradients(row, options):
    """Weight decay, maximize and Ranger's gradient centralization work on copies, never on p.grad;
    and no state aliases p.grad, which backward() and zero_grad(set_to_none=False) reuse in place."""
    params = make_params()
    opt = row.ours(params, **options)
    set_grads(params, 0)
    held = [p.grad for p in params]                      # the same .grad tensors at every step
    for step in range(2 * K + 1):
        for i, (p, g) in enumerate(zip(params, held)):
            w = p.detach()
            g.copy_(w + 3 * torch.cos(3 * w) + NOISE[step][i])
        expected = [g.clone() for g in held]
        opt.step()
        for p, g, e in zip(params, held, expected):
            assert p.grad is g and torch.equal(g, e), f"step {step} changed a gradient"
    fresh = make_params()
    run(row.ours(fresh, **options), fresh, 2 * K + 1)     # new .grad tensors at every step
    assert all(torch.equal(a.detach(), b.detach()) for a, b in zip(params, fresh))
