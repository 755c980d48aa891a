"""The torch face in the corners of ``torch.optim``'s API that code written for torch relies on.

Each test here failed before the fix it guards (found by using ``optim.torch`` as a drop-in):
param-group keys and signatures, the implementation switches (``foreach``, ``fused``,
``capturable``, ``differentiable``), hyperparameters that are not numbers, a Tensor ``lr``,
sparse gradients for SGD and Adagrad, and Lookahead given parameters instead of an optimizer.
"""
from __future__ import annotations

import inspect
import io
import math
import warnings

import numpy as np
import pytest
import torch

import optim
import optim.torch
from torch_checks import assert_close

TORCH_CLASSES = ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam"]
#: our classes that torch lacks, and the torch class whose keys they share
VARIANTS = {"Momentum": "SGD", "Nesterov": "SGD"}


def params(dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen, dtype=dtype).requires_grad_() for s in [(3, 4), (4,)]]


def grads_for(ps, step, maximize=False):
    gen = torch.Generator().manual_seed(100 + step)
    for p in ps:
        w = p.detach()
        g = w + 3 * torch.cos(3 * w) + 0.5 * torch.randn(w.shape, generator=gen, dtype=w.dtype)
        p.grad = -g if maximize else g


def run(opt, ps, steps, start=0):
    for step in range(start, start + steps):
        grads_for(ps, step)
        opt.step()
    return ps



def group_keys(opt):
    return {k: v for k, v in opt.param_groups[0].items() if k != "params"}


# ---------------------------------------------------------------- param groups and signatures
@pytest.mark.parametrize("name", TORCH_CLASSES)
def test_param_groups_have_torchs_keys_and_default_values(name):
    ours, theirs = getattr(optim.torch, name)(params()), getattr(torch.optim, name)(params())
    assert group_keys(ours) == group_keys(theirs)
    assert ours.defaults == theirs.defaults


@pytest.mark.parametrize("name,twin", list(VARIANTS.items()))
def test_variants_have_their_torch_classs_keys(name, twin):
    assert set(group_keys(getattr(optim.torch, name)(params()))) == set(group_keys(getattr(torch.optim, twin)(params())))


@pytest.mark.parametrize("name", TORCH_CLASSES)
def test_signature_is_torchs_argument_for_argument(name):
    """Same names, order, defaults, and positional/keyword-only kinds: a positional call means the same."""
    ours = inspect.signature(getattr(optim.torch, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert [(k, p.kind, p.default) for k, p in ours.items() if k != "self"] == \
        [(k, p.kind, p.default) for k, p in theirs.items()]


def test_positional_arguments_mean_what_they_mean_in_torch():
    """RMSprop's 7th positional argument is capturable in torch (refused), not maximize."""
    with pytest.raises(ValueError, match="capturable"):
        optim.torch.RMSprop(params(), 0.01, 0.99, 1e-8, 0, 0, False, True)
    opt = optim.torch.Adagrad(params(), 0.01, 0, 0, 0, 1e-10, False)          # 6th: foreach
    assert opt.param_groups[0]["foreach"] is False


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "NAdam", "RAdam"])
def test_maximize_set_in_a_group_mid_run_works_as_in_torch(name):
    """Code that sets group keys (here maximize, after 5 steps) gets torch's numbers."""
    def go(cls):
        ps = params()
        opt = cls(ps, lr=0.01)
        run(opt, ps, 5)
        for group in opt.param_groups:
            group["maximize"] = True
        for step in range(5, 25):
            grads_for(ps, step, maximize=True)
            opt.step()
        return ps

    for a, b in zip(go(getattr(optim.torch, name)), go(getattr(torch.optim, name))):
        assert_close(a.detach(), b.detach(), name)


def test_adamw_group_says_decoupled_and_setting_it_false_makes_adam_as_in_torch():
    def go(cls, **kw):
        ps = params()
        opt = cls(ps, lr=0.01, weight_decay=0.1, **kw)
        for group in opt.param_groups:
            group["decoupled_weight_decay"] = False
        return run(opt, ps, 20)

    ours = optim.torch.AdamW(params())
    assert ours.param_groups[0]["decoupled_weight_decay"] is True
    for a, b, c in zip(go(optim.torch.AdamW), go(torch.optim.AdamW), go(torch.optim.Adam)):
        assert_close(a.detach(), b.detach(), "AdamW with decoupled_weight_decay=False")
        assert_close(a.detach(), c.detach(), "… is Adam")


def test_a_checkpoint_without_the_new_keys_loads_with_torchs_defaults():
    """State dicts saved before the groups had foreach & co. (or by an older torch) still load."""
    ps = params()
    opt = optim.torch.Adam(ps, lr=0.01)
    run(opt, ps, 3)
    sd = opt.state_dict()
    for group in sd["param_groups"]:
        for key in ("foreach", "fused", "capturable", "differentiable", "decoupled_weight_decay"):
            del group[key]
    fresh = optim.torch.Adam(ps, lr=0.01)
    fresh.load_state_dict(sd)
    assert group_keys(fresh) == group_keys(torch.optim.Adam(params(), lr=0.01))
    run(fresh, ps, 2, start=3)


# ---------------------------------------------------------------- foreach, fused, capturable, differentiable
def switches_of(name):
    return [k for k in ("foreach", "fused") if k in inspect.signature(getattr(torch.optim, name)).parameters]


WARN_CASES = [(name, switch) for name in TORCH_CLASSES for switch in switches_of(name)]


@pytest.mark.parametrize("name,switch", WARN_CASES, ids=[f"{n}-{s}" for n, s in WARN_CASES])
def test_foreach_or_fused_true_is_honoured_without_a_warning(name, switch):
    """torch.optim's classes are element-wise: foreach=True and fused=True run the multi-tensor and
    compiled paths (their numbers: tests/test_speed.py); the group keeps what was asked for."""
    cls = getattr(optim.torch, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ps = params()
        opt = cls(ps, **{switch: True})
        if switch == "foreach":               # (fused compiles: tests/test_speed.py runs a few)
            run(opt, ps, 2)
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)]})
        opt.load_state_dict(opt.state_dict())
    assert opt.param_groups[0][switch] is True, "the group keeps what was asked for, as torch's does"


@pytest.mark.parametrize("name", TORCH_CLASSES)
def test_torchs_default_switches_and_false_do_not_warn(name):
    cls = getattr(optim.torch, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cls(params())
        cls(params(), **{s: None for s in switches_of(name)})
        cls(params(), **{s: False for s in switches_of(name)})


def test_a_class_that_cannot_honour_foreach_warns_once_naming_class_and_option():
    """Rules that are not element-wise keep the per-tensor loop and say so once (LARS: a norm per layer)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ps = params()
        opt = optim.torch.LARS([{"params": ps[:1], "foreach": True}, {"params": ps[1:]}])
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "foreach": True})
        opt.load_state_dict(opt.state_dict())
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1, messages
    assert "optim.torch.LARS" in messages[0] and "foreach=True is ignored" in messages[0]
    assert caught[0].filename == __file__, "the warning points at the caller's line"


def test_fused_and_foreach_together_are_refused_as_in_torch():
    for mod in (torch.optim, optim.torch):
        with pytest.raises(RuntimeError, match="cannot be `True` together"):
            mod.Adam(params(), fused=True, foreach=True)


@pytest.mark.parametrize("name", TORCH_CLASSES)
@pytest.mark.parametrize("switch", ["capturable", "differentiable"])
def test_capturable_and_differentiable_true_are_refused_clearly(name, switch):
    if switch not in inspect.signature(getattr(torch.optim, name)).parameters:
        with pytest.raises(TypeError):
            getattr(optim.torch, name)(params(), **{switch: True})
        return
    with pytest.raises(ValueError, match=rf"Invalid {switch}=True \(allowed: False"):
        getattr(optim.torch, name)(params(), **{switch: True})


# ---------------------------------------------------------------- hyperparameters that are not numbers
def kwargs_of(name):
    return [k for k, v in optim.torch.__dict__[name].spec.defaults.items() if not isinstance(v, bool)]


NOT_NUMBERS = ["1e-3", None, b"0.1", "nan", [0.1, "x"], 1j]
TYPE_CASES = [(name, key, value) for name in TORCH_CLASSES + ["LazyAdam", "Momentum", "Nesterov", "Lion"]
              for key in kwargs_of(name) if key != "betas" for value in NOT_NUMBERS]


def refuses_at_construction(build):
    try:
        build()
    except (TypeError, ValueError) as err:
        return err
    return None


@pytest.mark.parametrize("name,key,value", TYPE_CASES, ids=[f"{n}-{k}={v!r}" for n, k, v in TYPE_CASES])
def test_a_hyperparameter_that_is_not_a_number_is_refused_at_construction_in_both_faces(name, key, value):
    """Both a ValueError (this package's rule) and a TypeError (what torch.optim raises), naming the parameter."""
    for build in (lambda: getattr(optim, name)(**{key: value}),
                  lambda: getattr(optim.torch, name)(params(), **{key: value})):
        err = refuses_at_construction(build)
        assert isinstance(err, ValueError) and isinstance(err, TypeError), f"{name}({key}={value!r}): {err!r}"
        assert f"Invalid {key}: {value!r}" in str(err) and "expected a number" in str(err), str(err)


BAD_BETAS = [("1e-3", 0.999), (0.9, None), (0.9,), (0.9, 0.99, 0.9), None, "0.9,0.999", 0.9, ()]


@pytest.mark.parametrize("name", ["Adam", "AdamW", "NAdam", "RAdam", "LazyAdam"])
@pytest.mark.parametrize("betas", BAD_BETAS, ids=repr)
def test_malformed_betas_are_refused_at_construction_in_both_faces(name, betas):
    for build in (lambda: getattr(optim, name)(betas=betas),
                  lambda: getattr(optim.torch, name)(params(), betas=betas)):
        err = refuses_at_construction(build)
        assert isinstance(err, ValueError), f"{name}(betas={betas!r}) was accepted"
        assert "betas" in str(err) or "beta parameter" in str(err), str(err)


FLAG_CASES = [(name, key, value) for name in TORCH_CLASSES + ["LazyAdam", "Lion", "Prodigy", "DAdaptAdam", "Adafactor"]
              for key, default in getattr(optim, name).defaults.items() if isinstance(default, bool)
              for value in ["False", None, 2]]


@pytest.mark.parametrize("name,key,value", FLAG_CASES, ids=[f"{n}-{k}={v!r}" for n, k, v in FLAG_CASES])
def test_a_switch_that_is_not_a_bool_is_refused_in_both_faces(name, key, value):
    """maximize="False" is true: torch.optim would silently maximize; we refuse it."""
    for build in (lambda: getattr(optim, name)(**{key: value}),
                  lambda: getattr(optim.torch, name)(params(), **{key: value})):
        err = refuses_at_construction(build)
        assert isinstance(err, ValueError) and f"Invalid {key}: {value!r}" in str(err), repr(err)


def test_flags_given_as_numpy_bools_or_0_1_are_accepted():
    optim.Adam(amsgrad=np.bool_(True), maximize=0)
    optim.torch.SGD(params(), momentum=0.9, nesterov=1)


TORCH_REFUSALS = [(name, key, value) for name in TORCH_CLASSES for key in kwargs_of(name)
                  for value in ["1e-3", None, math.nan, math.inf, -math.inf, torch.tensor([0.1, 0.2])]]


@pytest.mark.parametrize("name,key,value", TORCH_REFUSALS, ids=[f"{n}-{k}={v!r}" for n, k, v in TORCH_REFUSALS])
def test_whatever_torch_optim_refuses_at_construction_both_faces_refuse(name, key, value):
    if key == "betas":
        value = (value, 0.999)
    try:
        getattr(torch.optim, name)(params(), **{key: value})
    except Exception:
        torch_refuses = True
    else:
        torch_refuses = False
    ours = refuses_at_construction(lambda: getattr(optim.torch, name)(params(), **{key: value}))
    if torch_refuses:
        assert ours is not None, f"torch.optim.{name} refuses {key}={value!r}; optim.torch accepted it"
        if not any(isinstance(v, torch.Tensor) for v in (value if key == "betas" else (value,))):
            # (a tensor of several numbers is a sweep to the NumPy face, which runs it)
            assert refuses_at_construction(lambda: getattr(optim, name)(**{key: value})) is not None


@pytest.mark.parametrize("name", TORCH_CLASSES)
def test_infinite_values_torch_accepts_are_accepted_and_step(name):
    """torch.optim accepts lr = inf and eps = inf; so do we (a step then gives inf/NaN, not an exception)."""
    for key in ("lr", "eps"):
        if key in kwargs_of(name):
            ps = params()
            opt = getattr(optim.torch, name)(ps, **{key: math.inf})
            run(opt, ps, 1)


# ---------------------------------------------------------------- Tensor lr
@pytest.mark.parametrize("name", TORCH_CLASSES)
@pytest.mark.parametrize("lr_dtype,rtol", [(torch.float64, 1e-12), (torch.float32, 1e-8)], ids=["float64", "float32"])
def test_a_tensor_lr_works_and_gives_torchs_numbers(name, lr_dtype, rtol):
    """torch.optim accepts a 1-element tensor lr (and computes Adam's step size in its dtype: a float32
    lr rounds it to float32, so ours, whose formula orders the operations differently, agrees to
    ~1e-9 there, and to 1e-12 with a float64 lr)."""
    def go(cls):
        ps = params()
        opt = cls(ps, lr=torch.tensor(0.01, dtype=lr_dtype))
        return run(opt, ps, 30)

    for a, b in zip(go(getattr(optim.torch, name)), go(getattr(torch.optim, name))):
        assert_close(a.detach(), b.detach(), f"{name}(lr=tensor)", rtol=rtol)


def test_a_tensor_lr_with_more_than_one_element_is_refused_as_in_torch():
    for mod in (torch.optim, optim.torch):
        with pytest.raises(ValueError, match="1-element"):
            mod.Adam(params(), lr=torch.tensor([0.1, 0.2]))


def test_the_torch_face_refuses_an_array_sweep_which_only_the_numpy_face_runs():
    optim.SGD(lr=np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match=r"Invalid lr: an array of shape \(2,\)"):
        optim.torch.SGD(params(), lr=np.array([0.1, 0.2]))


# ---------------------------------------------------------------- sparse gradients
SPARSE_CASES = [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2)),
                ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
                ("Adagrad", dict(lr=0.1)), ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
                ("Adagrad", dict(lr=0.1, maximize=True))]


def embedding_run(cls, steps=20, **kw):
    torch.manual_seed(0)
    emb = torch.nn.Embedding(10, 3, sparse=True).double()
    opt = cls(emb.parameters(), **kw)
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        idx = torch.randint(0, 10, (6,), generator=gen)          # repeated rows: an uncoalesced gradient
        opt.zero_grad()
        (emb(idx) ** 2).sum().backward()
        opt.step()
    return emb.weight.detach(), opt


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")      # torch.optim.Adagrad's own, not ours
@pytest.mark.parametrize("name,kw", SPARSE_CASES, ids=[f"{n}-{kw}" for n, kw in SPARSE_CASES])
def test_sgd_and_adagrad_take_sparse_gradients_as_torch_optim_does(name, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ours, our_opt = embedding_run(getattr(optim.torch, name), **kw)
    theirs, their_opt = embedding_run(getattr(torch.optim, name), **kw)
    assert torch.equal(ours, theirs)
    p_ours, p_theirs = our_opt.param_groups[0]["params"][0], their_opt.param_groups[0]["params"][0]
    for key, value in our_opt.state[p_ours].items():
        other = their_opt.state[p_theirs][key]
        value, other = (value.to_dense(), other.to_dense()) if value.is_sparse else (value, other)
        assert torch.equal(value, other), key


@pytest.mark.parametrize("name", ["SGD", "Adagrad"])
def test_weight_decay_with_a_sparse_gradient_is_refused_as_in_torch(name):
    for mod in (torch.optim, optim.torch):
        with pytest.raises(RuntimeError):
            embedding_run(getattr(mod, name), steps=1, lr=0.1, weight_decay=0.1)


# ---------------------------------------------------------------- Lookahead needs an optimizer
@pytest.mark.parametrize("given", ["generator", "list", "numpy-face optimizer"])
def test_lookahead_given_parameters_says_to_pass_an_optimizer(given):
    model = torch.nn.Linear(2, 2)
    arg = {"generator": model.parameters(), "list": list(model.parameters()),
           "numpy-face optimizer": optim.Adam()}[given]
    with pytest.raises(TypeError, match=r"Lookahead wraps an optimizer.*torch\.optim\.Optimizer") as info:
        optim.torch.Lookahead(arg)
    assert "optim.torch.Adam(model.parameters()" in str(info.value)


def test_lookahead_around_a_lookahead_is_refused_clearly():
    with pytest.raises(TypeError, match="Lookahead around a Lookahead"):
        optim.torch.Lookahead(optim.torch.Lookahead(optim.torch.Adam(params())))


def test_optimizers_still_pickle_through_torch_save():
    ps = params()
    opt = optim.torch.Adam(ps, lr=0.01, foreach=False)
    run(opt, ps, 2)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    fresh = optim.torch.Adam(ps, lr=0.01)
    fresh.load_state_dict(torch.load(buffer))
    assert fresh.param_groups[0]["foreach"] is False
