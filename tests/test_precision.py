"""Low precision (chapter "precision"): the bf16 rounding model and optim.torch.low_precision."""
import copy
import subprocess
import sys

import numpy as np
import pytest
import torch

import optim.torch as ot
from optim import precision as P


def test_import_optim_precision_does_not_import_torch():
    code = "import sys, optim, optim.precision; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_nearest_rounding_is_torch_bfloat16():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=20000) * 10.0 ** rng.integers(-20, 20, size=20000)).astype(np.float32)
    x[:4] = [1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 0.0]          # exact ties go to even
    want = torch.from_numpy(x).to(torch.bfloat16).to(torch.float32).numpy()
    np.testing.assert_array_equal(P.to_bf16(x), want)


# (w, u, survives): worked out by hand. Near 1 the bf16 numbers are 1 − 2⁻⁸, 1, 1 + 2⁻⁷, 1 + 2·2⁻⁷;
# half the gap above 1 is 2⁻⁸, below 1 it is 2⁻⁹; an exact half goes to the even neighbour (1).
HALF_ULP_CASES = [
    (1.0, 2**-9, False),
    (1.0, 2**-8, False),                      # a tie: 1 is even, 1 + 2⁻⁷ odd
    (1.0, 2**-8 * (1 + 2**-10), True),
    (1.0, -2**-9, False),                     # a tie below 1: 1 − 2⁻⁸ is odd
    (1.0, -1.5 * 2**-9, True),                # below a power of two the gap halves
    (1 + 2**-7, 2**-8, True),                 # a tie from an odd weight goes up, to 1 + 2·2⁻⁷ (even)
    (1 + 2**-7, 0.99 * 2**-8, False),
    (0.1015625, 0.99 * 2**-12, False),        # 0.1015625 = 13·2⁻⁷, in [2⁻⁴, 2⁻³): half-gap 2⁻¹²,
    (0.1015625, 1.01 * 2**-12, True),         # which is 2⁻⁸/1.625 of the weight
    (-3.0, -2**-7 * 1.01, True),              # in [2, 4): the gap is 2⁻⁶, half 2⁻⁷
    (-3.0, 2**-7 * 0.99, False),
]


@pytest.mark.parametrize("w, u, expected", HALF_ULP_CASES)
def test_plain_bf16_drops_exactly_the_updates_below_half_an_ulp(w, u, expected):
    assert bool(P.survives(w, u)) is expected
    # the torch face's plain option: SGD with lr = |u| and gradient −sign(u)
    p = torch.nn.Parameter(torch.tensor([w], dtype=torch.bfloat16))
    p.grad = torch.tensor([-np.sign(u)], dtype=torch.bfloat16)
    ot.low_precision(ot.SGD, weights="plain")([p], lr=abs(u)).step()
    assert (p.item() != w) is expected


def test_ulp():
    assert P.ulp_bf16(1.0) == 2**-7 and P.ulp_bf16(1.99) == 2**-7 and P.ulp_bf16(2.0) == 2**-6
    assert P.ulp_bf16(-0.1) == 2**-11


def _problem(seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(n, generator=g, dtype=torch.float64) + 0.5
    target = torch.randn(n, generator=g, dtype=torch.float64)
    w0 = (torch.randn(n, generator=g, dtype=torch.float64) * 2).to(torch.bfloat16)
    return a, target, w0


def _run(cls, steps=300, lr=1e-3, **kw):
    """A deterministic quadratic 0.5·Σ a(w − target)²; returns the parameter and the optimizer."""
    a, target, w0 = _problem()
    p = torch.nn.Parameter(w0.clone() if cls is not None else w0.to(torch.float32))
    opt = (cls or ot.Adam)([p], lr=lr, **kw)
    for _ in range(steps):
        p.grad = (a * (p.detach().to(torch.float64) - target)).to(p.dtype)
        opt.step()
    return p, opt


@pytest.mark.parametrize("base", ["SGD", "Adam", "AdamW", "Lion"])
def test_master_weights_reproduce_the_fp32_run_exactly(base):
    """The master copy follows the fp32 run bit for bit: the gradient is the same bf16 number in both."""
    a, target, w0 = _problem()
    kw = dict(lr=1e-2) if base == "SGD" else dict(lr=1e-3)
    p16 = torch.nn.Parameter(w0.clone())
    p32 = torch.nn.Parameter(w0.to(torch.float32))
    o16 = ot.low_precision(getattr(ot, base), weights="master")([p16], **kw)
    o32 = getattr(ot, base)([p32], **kw)
    for _ in range(200):
        g = (a * (p16.detach().to(torch.float64) - target)).to(torch.bfloat16)
        p16.grad, p32.grad = g, g.to(torch.float32)
        o16.step()
        o32.step()
    master = o16.state[p16]["master_weight"]
    assert master.dtype == torch.float32
    assert torch.equal(master, p32.detach())
    assert torch.equal(p16.detach(), p32.detach().to(torch.bfloat16))


def test_kahan_tracks_the_fp32_run_far_closer_than_plain():
    """Same gradients (of the fp32 run) fed to three copies; Adam's steps of 1e-3 on weights up to ~6:
    plain bf16 loses most of them, Kahan keeps the error within 2 ulps of the weight."""
    a, target, w0 = _problem()
    ps = {k: torch.nn.Parameter(w0.clone() if k != "fp32" else w0.to(torch.float32)) for k in ("fp32", "plain", "kahan")}
    opts = {"fp32": ot.Adam([ps["fp32"]], lr=1e-3),
            "plain": ot.low_precision(ot.Adam, weights="plain")([ps["plain"]], lr=1e-3),
            "kahan": ot.low_precision(ot.Adam, weights="kahan")([ps["kahan"]], lr=1e-3)}
    for _ in range(500):
        g = a * (ps["fp32"].detach().to(torch.float64) - target)
        for k, p in ps.items():
            p.grad = g.to(p.dtype)
            opts[k].step()
    exact = ps["fp32"].detach().to(torch.float64)
    ulp = torch.from_numpy(P.ulp_bf16(exact.numpy()))
    err = {k: ((ps[k].detach().to(torch.float64) - exact).abs() / ulp).max().item() for k in ("plain", "kahan")}
    assert err["kahan"] <= 2.0, err
    assert err["plain"] >= 10 * err["kahan"], err


def test_stochastic_rounding_is_unbiased_and_seeded():
    x = torch.tensor([1 + 2**-9, 1 + 0.3 * 2**-7, -(0.1 + 1e-4), 3.0 + 1e-3, 1e-30], dtype=torch.float32)
    draws = torch.stack([ot.stochastic_round_bf16(x, torch.Generator().manual_seed(s)).float() for s in range(4000)])
    lower = x.to(torch.bfloat16).float()                          # each x lies between two bf16 neighbours
    gap = torch.from_numpy(P.ulp_bf16(x.numpy())).float()
    assert set(torch.unique((draws - lower).abs() / gap * 2).round().tolist()) <= {0.0, 1.0, 2.0}
    # mean within 4 standard errors of x (the draws are Bernoulli over one gap: sd ≤ gap/2)
    stderr = gap / 2 / 4000 ** 0.5
    assert ((draws.mean(0) - x).abs() <= 4 * stderr).all(), (draws.mean(0) - x) / stderr
    # the NumPy model rounds alike, and a seed fixes the draws
    a = ot.stochastic_round_bf16(x, torch.Generator().manual_seed(7))
    b = ot.stochastic_round_bf16(x, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(np.mean([P.stochastic_to_bf16(x.numpy(), rng) for _ in range(4000)], 0), x.numpy(),
                               atol=4 * stderr.max().item())


def test_stochastic_option_is_deterministic_under_its_seed_and_keeps_small_updates():
    runs = [_run(ot.low_precision(ot.Adam, weights="stochastic", seed=3), steps=200)[0].detach() for _ in range(2)]
    assert torch.equal(*runs)
    other = _run(ot.low_precision(ot.Adam, weights="stochastic", seed=4), steps=200)[0].detach()
    assert not torch.equal(runs[0], other)
    exact, _ = _run(None, steps=200)
    plain, _ = _run(ot.low_precision(ot.Adam, weights="plain"), steps=200)
    d = lambda p: (p.detach().double() - exact.detach().double()).abs().mean().item()  # noqa: E731
    assert d(runs[0]) < d(plain) / 3


def test_state_dict_round_trip_keeps_float32_state():
    for weights in P.WEIGHTS:
        cls = ot.low_precision(ot.AdamW, weights=weights, seed=0)
        p, opt = _run(cls, steps=20)
        sd = copy.deepcopy(opt.state_dict())      # as if saved to a file (torch shares 'step' tensors)
        q = torch.nn.Parameter(p.detach().clone())
        opt2 = cls([q], lr=1e-3)
        opt2.load_state_dict(sd)
        for key, value in opt.state[p].items():
            assert opt2.state[q][key].dtype == value.dtype and torch.equal(opt2.state[q][key], value), (weights, key)
        a, target, _ = _problem()
        for o, x in ((opt, p), (opt2, q)):
            x.grad = (a * (x.detach().double() - target)).to(x.dtype)
            if weights == "stochastic":
                o.__dict__.pop("_generators", None)
            o.step()
        assert torch.equal(p, q), weights


def test_signature_and_fp32_params_unchanged():
    import inspect
    for name in ("SGD", "Momentum", "Adam", "AdamW", "Lion"):
        base = getattr(ot, name)
        assert inspect.signature(ot.low_precision(base, "kahan")) == inspect.signature(base)
    p32 = torch.nn.Parameter(torch.ones(3))
    p32.grad = torch.full((3,), 0.5)
    q32 = torch.nn.Parameter(torch.ones(3))
    q32.grad = torch.full((3,), 0.5)
    ot.low_precision(ot.Adam, "kahan")([p32], lr=0.1).step()
    ot.Adam([q32], lr=0.1).step()
    assert torch.equal(p32, q32)


def test_bad_options_raise_value_error():
    with pytest.raises(ValueError, match="weights.*'bf16'.*allowed"):
        ot.low_precision(ot.Adam, weights="bf16")
    with pytest.raises(ValueError, match="base"):
        ot.low_precision(ot.ScheduleFreeAdamW)
    with pytest.raises(ValueError, match="seed"):
        ot.low_precision(ot.Adam, "stochastic", seed=1.5)
    p = torch.nn.Parameter(torch.ones(2, dtype=torch.float16))
    p.grad = torch.ones(2, dtype=torch.float16)
    with pytest.raises(ValueError, match="stochastic.*float16"):
        ot.low_precision(ot.Adam, "stochastic")([p]).step()
