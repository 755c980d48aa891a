"""optim.torch honours foreach=True and fused=True (chapter *How fast can a step be?*), table-driven.

For every element-wise class of the torch face (``optim.torch.MULTI_TENSOR``), over a grid of its
options: 100 noisy float64 steps on 4 tensors (a scalar among them) in two param groups, some
gradients None at some steps. The foreach path must equal the default loop bit for bit, parameters
AND state (on CPU torch's ``_foreach_*`` ops run the single-tensor kernels); it must match
torch.optim's own ``foreach=True`` where torch has the class; a state dict saved from a foreach run
loads into a default run, which then continues identically. ``fused=True`` (torch.compile of the
rule) is checked on a few configurations only (compiling takes seconds each): float64 within
1e-15 relative of the default loop, and the same state layout. Classes that cannot honour the
switches (not element-wise, or overriding the per-tensor hooks) run the loop and warn once.
"""
import copy
import itertools
import warnings

import pytest
import torch

import optim
import optim.torch

STEPS = 100
SHAPES = [(), (3,), (2, 3), (4, 1, 2)]


def grid(**options):
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


GRIDS = {
    "SGD": [c for c in grid(momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.05],
                            nesterov=[False, True], maximize=[False, True])
            if not c["nesterov"] or (c["momentum"] > 0 and c["dampening"] == 0)],
    "Adagrad": grid(lr_decay=[0.0, 0.01], weight_decay=[0.0, 0.05], initial_accumulator_value=[0.0, 0.1],
                    maximize=[False, True]),
    "Adadelta": grid(rho=[0.9, 0.5], weight_decay=[0.0, 0.05], maximize=[False, True]),
    "RMSprop": grid(alpha=[0.99, 0.9], weight_decay=[0.0, 0.05], momentum=[0.0, 0.9], centered=[False, True],
                    maximize=[False, True]),
    "Adam": grid(betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.05], amsgrad=[False, True],
                 maximize=[False, True], decoupled_weight_decay=[False, True]),
    "AdamW": grid(weight_decay=[0.0, 0.05], amsgrad=[False, True], maximize=[False, True]),
    "NAdam": grid(weight_decay=[0.0, 0.05], momentum_decay=[4e-3, 0.1], decoupled_weight_decay=[False, True],
                  maximize=[False, True]),
    "RAdam": grid(betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0.0, 0.05], decoupled_weight_decay=[False, True],
                  maximize=[False, True]),
    "Momentum": grid(momentum=[0.9], weight_decay=[0.0, 0.05], maximize=[False, True]),
    "Nesterov": grid(momentum=[0.9], weight_decay=[0.0, 0.05], maximize=[False, True]),
    "CentralizedRAdam": grid(weight_decay=[0.0, 0.05], use_gc=[False, True], maximize=[False, True]),
}
LR = dict(SGD=0.02, Momentum=0.02, Nesterov=0.02, Adagrad=0.05, Adadelta=0.5, RMSprop=0.01)


def torch_face(name):
    return optim.torch._CentralizedRAdam if name == "CentralizedRAdam" else getattr(optim.torch, name)


CASES = [(name, config) for name, configs in GRIDS.items() for config in configs]
IDS = [name + "-" + ",".join(f"{k}={v}" for k, v in c.items()) for name, c in CASES]


def test_the_table_covers_every_class_that_takes_foreach():
    """Every element-wise class with a foreach switch is in the table, and only those are multi-tensor."""
    with_switch = {name for name in optim.torch.MULTI_TENSOR if "foreach" in torch_face(name).switches}
    assert with_switch == set(GRIDS)
    for cls in optim.OPTIMIZERS:
        face = getattr(optim.torch, cls.__name__, None)
        if isinstance(face, type) and issubclass(face, optim.torch.RuleOptimizer):
            assert face.elementwise == (cls.__name__ in optim.torch.MULTI_TENSOR), cls.__name__


def make_params():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]


def noise(step, i, shape):
    gen = torch.Generator().manual_seed(1000 * step + i)
    return 0.5 * torch.randn(shape, generator=gen, dtype=torch.float64)


def feed(params, step):
    """A noisy gradient of Σ ½w² + sin(3w); parameter 1 has none on every 7th step."""
    for i, p in enumerate(params):
        p.grad = None if (i == 1 and step % 7 == 3) else p.detach() + 3 * torch.cos(3 * p.detach()) + noise(
            step, i, p.shape)


def build(factory, params, lr):
    return factory([{"params": params[:2]}, {"params": params[2:], "lr": lr / 2}], lr=lr)


def run(factory, lr, steps=STEPS, start=0, params=None, opt=None):
    params = params if params is not None else [p.clone() for p in make_params()]
    opt = opt if opt is not None else build(factory, params, lr)
    for t in range(start, start + steps):
        feed(params, t)
        opt.step()
    return params, opt


def states(opt):
    return [{k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in opt.state[p].items()}
            for group in opt.param_groups for p in group["params"]]


def assert_equal_runs(a, b, rtol=0.0):
    (pa, oa), (pb, ob) = a, b
    for x, y in zip(pa, pb):
        torch.testing.assert_close(x, y, rtol=rtol, atol=0)
    sa, sb = states(oa), states(ob)
    for x, y in zip(sa, sb):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], torch.Tensor):
                assert x[k].dtype == y[k].dtype and x[k].shape == y[k].shape, k
                torch.testing.assert_close(x[k], y[k], rtol=rtol, atol=0)
            else:
                assert x[k] == y[k], k


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_foreach_equals_the_default_loop_bit_for_bit(case):
    name, config = case
    cls, lr = torch_face(name), LR.get(name, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # an element-wise class honours foreach: no warning
        ours = run(lambda ps, **kw: cls(ps, foreach=True, **config, **kw), lr)
    default = run(lambda ps, **kw: cls(ps, **config, **kw), lr)
    assert_equal_runs(ours, default)


@pytest.mark.parametrize("case", [c for c in CASES if hasattr(torch.optim, c[0])],
                         ids=[i for i, c in zip(IDS, CASES) if hasattr(torch.optim, c[0])])
def test_foreach_matches_torch_optims_foreach(case):
    name, config = case
    lr = LR.get(name, 0.01)
    ours = run(lambda ps, **kw: getattr(optim.torch, name)(ps, foreach=True, **config, **kw), lr)
    theirs = run(lambda ps, **kw: getattr(torch.optim, name)(ps, foreach=True, **config, **kw), lr)
    (po, oo), (pt, ot) = ours, theirs
    for x, y in zip(po, pt):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-14)
    for x, y in zip(states(oo), states(ot)):
        assert x.keys() == y.keys()
        for k in x:
            torch.testing.assert_close(torch.as_tensor(x[k]), torch.as_tensor(y[k]), rtol=1e-12, atol=1e-14)


def saved_and_resumed(cls, config, lr, foreach):
    """40 steps (foreach or the loop), a state dict, loaded into a fresh default-loop optimizer, 40 more."""
    params, opt = run(lambda ps, **kw: cls(ps, foreach=foreach, **config, **kw), lr, steps=40)
    saved = copy.deepcopy(opt.state_dict())
    resumed_params = [p.detach().clone() for p in params]
    resumed = build(lambda ps, **kw: cls(ps, **config, **kw), resumed_params, lr)
    resumed.load_state_dict(saved)
    assert states(opt)[0].keys() == states(resumed)[0].keys()
    for group in resumed.param_groups:             # the saved groups say what ran: continue in the loop
        group["foreach"] = None
    return run(None, lr, steps=40, start=40, params=resumed_params, opt=resumed)


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_a_foreach_state_dict_continues_in_the_default_loop(name):
    """A state dict saved from a foreach run has the loop's layout and continues as one saved from the loop
    (load_state_dict casts float state to the parameters' dtype, NAdam's mu_product too, either way)."""
    cls, lr, config = torch_face(name), LR.get(name, 0.01), GRIDS[name][-1]
    assert_equal_runs(saved_and_resumed(cls, config, lr, True), saved_and_resumed(cls, config, lr, False))


def test_groups_are_split_by_step_count():
    """A tensor that missed steps (its gradient was None) has its own step count and bias correction."""
    params = [p.clone() for p in make_params()]
    a = optim.torch.Adam(params, lr=0.01, foreach=True)
    b_params = [p.clone() for p in make_params()]
    b = optim.torch.Adam(b_params, lr=0.01)
    for t in range(20):
        for ps, opt in ((params, a), (b_params, b)):
            feed(ps, t)
            if t < 5:
                ps[0].grad = None
            opt.step()
    assert a.state[params[0]]["step"].item() == 15 and a.state[params[1]]["step"].item() < 20
    assert_equal_runs((params, a), (b_params, b))


def test_sparse_gradients_keep_the_loop_under_foreach():
    emb = torch.nn.Embedding(10, 3, sparse=True).double()
    dense = torch.nn.Parameter(torch.randn(4, dtype=torch.float64))
    twin = copy.deepcopy(emb), dense.detach().clone().requires_grad_()
    opt = optim.torch.SGD([emb.weight, dense], lr=0.1, momentum=0.0, foreach=True)
    ref = optim.torch.SGD([twin[0].weight, twin[1]], lr=0.1, momentum=0.0)
    for model, d, o in ((emb, dense, opt), (twin[0], twin[1], ref)):
        (model(torch.tensor([1, 2, 2])).sum() + (d * d).sum()).backward()
        o.step()
    torch.testing.assert_close(emb.weight, twin[0].weight, rtol=0, atol=0)
    torch.testing.assert_close(dense, twin[1], rtol=0, atol=0)


def test_tensor_lr_takes_the_loop():
    params = [p.clone() for p in make_params()]
    opt = optim.torch.Adam(params, lr=torch.tensor(0.01), foreach=True)
    ref_params = [p.clone() for p in make_params()]
    ref = optim.torch.Adam(ref_params, lr=torch.tensor(0.01))
    for t in range(5):
        for ps, o in ((params, opt), (ref_params, ref)):
            feed(ps, t)
            o.step()
    assert_equal_runs((params, opt), (ref_params, ref))


def test_classes_that_cannot_honour_the_switches_warn_once_and_run_the_loop():
    p = torch.nn.Parameter(torch.randn(3, 3))
    with pytest.warns(UserWarning, match="foreach=True is ignored; its rule is not element-wise"):
        optim.torch.Adafactor([p], foreach=True)

    class Overridden(optim.torch.Adam):               # as the low-precision classes do
        calls = 0

        def _tensor_update(self, p, g, slots, h, ops, shared):
            Overridden.calls += 1
            super()._tensor_update(p, g, slots, h, ops, shared)

    with pytest.warns(UserWarning, match="foreach=True is ignored"):
        opt = Overridden([p], foreach=True)
    p.grad = torch.ones_like(p)
    opt.step()
    assert Overridden.calls == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.torch.Adam([p], foreach=True)
        optim.torch.Adam([p], fused=True)


# ---- fused=True: torch.compile of the rule; a few small cases (each compiles in seconds)
FUSED = [("Adam", dict(amsgrad=True, weight_decay=0.05)), ("AdamW", dict()), ("SGD", dict(momentum=0.9))]


@pytest.mark.parametrize("name,config", FUSED, ids=[n for n, _ in FUSED])
def test_fused_matches_the_default_loop(name, config):
    cls, lr = getattr(optim.torch, name), LR.get(name, 0.01)
    steps = 30
    fused = run(lambda ps, **kw: cls(ps, fused=True, **config, **kw), lr, steps=steps)
    default = run(lambda ps, **kw: cls(ps, **config, **kw), lr, steps=steps)
    assert_equal_runs(fused, default, rtol=1e-15 * steps)
    assert fused[1].state_dict()["param_groups"][0]["fused"] is True


def test_fused_compiles_once_for_a_changing_step_and_lr():
    """Step counts and a scheduled lr are graph inputs, not constants: one graph per layout for eight steps."""
    from torch._dynamo.utils import counters
    params = [p.clone() for p in make_params()]
    opt = optim.torch.Adam(params, lr=0.01, fused=True)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    ref_params = [p.clone() for p in make_params()]
    ref = optim.torch.Adam(ref_params, lr=0.01)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref, step_size=2, gamma=0.5)
    counters.clear()
    for t in range(8):
        for ps, o, s in ((params, opt, sched), (ref_params, ref, ref_sched)):
            feed(ps, t)
            o.step()
            s.step()
    # the tensors of rank >= 1 (the scalar takes foreach) make three layouts: all three, and the two
    # buckets after parameter 1 misses step 3 (its step count differs from then on); none recompiles
    assert len(opt._compiled) == 3
    assert counters["stats"]["unique_graphs"] == 3
    assert_equal_runs((params, opt), (ref_params, ref), rtol=1e-14)
