"""optim.quantize and the 8-bit torch face (optim.torch.Adam8bit / AdamW8bit): chapter *What an optimizer keeps*.

The oracle is bitsandbytes 0.50.2 (it runs on CPU): its dynamic maps, its pure-torch blockwise
quantiser, and its AdamW8bit.
"""
import copy

import numpy as np
import pytest
import torch

import optim.quantize as Q

bnb = pytest.importorskip("bitsandbytes")
from bitsandbytes.functional import create_dynamic_map  # noqa: E402


def _bnb_default_quantize():
    """bitsandbytes' own pure-torch quantize_blockwise (its "default" backend kernel), read from its source:
    the CPU dispatch goes to a C kernel that is not nearest-rounding for small values (see below)."""
    import inspect
    import bitsandbytes.backends.default.ops as ops
    src = inspect.getsource(ops)
    start = src.index('@register_kernel("bitsandbytes::quantize_blockwise", "default")')
    body = src[start:].split("\n", 1)[1]
    namespace = {"torch": torch}
    exec(body[: body.index("\n\n\n")], namespace)
    return namespace["_"]


@pytest.mark.parametrize("signed", [True, False])
def test_the_dynamic_maps_are_bitsandbytes_entry_for_entry(signed):
    ours = Q.dynamic_map(signed)
    assert ours.dtype == np.float32 and ours.shape == (256,)
    np.testing.assert_array_equal(ours, create_dynamic_map(signed=signed).numpy())


def test_the_maps_properties():
    s, u = Q.dynamic_map(True), Q.dynamic_map(False)
    assert np.all(np.diff(s) > 0) and np.all(np.diff(u) > 0)          # sorted, no repeats
    assert s[-1] == 1.0 and s[0] > -1.0 and 0.0 in s                    # no -1 in the signed map
    assert u[0] == 0.0 and u[-1] == 1.0 and u.min() >= 0
    assert abs(s[0] + 0.99296875) < 1e-6 and abs(u[1] - 3.25e-7) < 1e-12
    # the unsigned map spends the sign bit on the fraction: twice the codes in (0.1, 1)
    assert np.sum((u > 0.1) & (u < 1)) == 2 * np.sum((s > 0.1) & (s < 1))


@pytest.mark.parametrize("n, block", [(10000, 256), (5000, 2048), (4096, 256), (300, 256), (7, 4)])
@pytest.mark.parametrize("signed", [True, False])
def test_codes_and_absmax_equal_bitsandbytes_pure_torch_quantiser(n, block, signed):
    torch.manual_seed(n)
    a = torch.randn(n) * torch.rand(n).pow(4) * 3
    a = a if signed else a.abs()
    q_ref, absmax_ref = _bnb_default_quantize()(a, create_dynamic_map(signed=signed), block)
    q, absmax = Q.quantize(a, Q.dynamic_map(signed), block)
    assert torch.equal(q, q_ref) and torch.equal(absmax, absmax_ref)
    qn, absmax_n = Q.quantize(a.numpy(), Q.dynamic_map(signed), block)      # the NumPy face: the same codes
    np.testing.assert_array_equal(qn, q.numpy())
    np.testing.assert_array_equal(absmax_n, absmax.numpy())


def test_bitsandbytes_cpu_kernel_rounds_small_values_differently():
    """A documented difference, not ours to fix: bitsandbytes' C kernel on CPU is not nearest-rounding near 0
    (it maps 2.7e-7 of a block's absmax to 2.1e-5, where 0 is nearer); its dequantised error is no larger on
    average than nearest rounding's by more than 1%."""
    torch.manual_seed(0)
    a = torch.randn(10000) * torch.rand(10000).pow(4) * 3
    code = create_dynamic_map(signed=True)
    qc, ac = torch.ops.bitsandbytes.quantize_blockwise(a, code, 256)
    q, absmax = Q.quantize(a, Q.dynamic_map(True), 256)
    assert torch.equal(ac, absmax)
    assert 0 < (qc != q).float().mean() < 0.2
    err_c = (Q.dequantize(qc, ac, code.numpy(), 256) - a).abs().mean()
    err = (Q.dequantize(q, absmax, code.numpy(), 256) - a).abs().mean()
    assert err <= err_c < 1.01 * err


@pytest.mark.parametrize("n, block", [(4096, 2048), (5000, 2048), (5, 2048), (1000, 64)])
def test_round_trip_error_is_bounded_per_block(n, block):
    """|x - deq(q(x))| <= half the widest gap of the map, times the block's absmax; a block's largest |x| comes
    back exactly when it is positive (the code 1.0), within 0.71 % when negative (the signed map has no -1)."""
    rng = np.random.default_rng(n)
    for signed in (True, False):
        x = rng.standard_normal(n).astype(np.float32) * rng.uniform(1e-6, 1e3)
        x = x if signed else np.abs(x)
        code = Q.dynamic_map(signed)
        q, absmax = Q.quantize(x, code, block)
        assert q.dtype == np.uint8 and q.shape == x.shape and absmax.shape == (Q.n_blocks(n, block),)
        back = Q.dequantize(q, absmax, code, block)
        half_gap = np.diff(code).max() / 2
        per = np.repeat(absmax, block)[:n]
        assert np.all(np.abs(back - x) <= half_gap * per * (1 + 1e-5) + 1e-30)
        top = [b * block + int(np.argmax(np.abs(x[b * block:(b + 1) * block]))) for b in range(len(absmax))]
        positive = x[top] > 0
        np.testing.assert_allclose(back[top][positive], absmax[positive], rtol=1e-6)
        np.testing.assert_allclose(np.abs(back[top]), absmax, rtol=0.0071)


def test_an_outlier_spoils_one_block_only():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(8192).astype(np.float32) * 1e-3
    x[5] = 10.0
    code = Q.dynamic_map(True)
    per_block = np.abs(Q.dequantize(*Q.quantize(x, code, 2048), code, 2048) - x)
    whole = np.abs(Q.dequantize(*Q.quantize(x, code, 8192), code, 8192) - x)
    assert per_block[2048:].mean() < whole[2048:].mean() / 10


def test_zeros_stay_zero():
    q, absmax = Q.quantize(np.zeros(10, np.float32), Q.dynamic_map(False), 4)
    np.testing.assert_array_equal(Q.dequantize(q, absmax, Q.dynamic_map(False), 4), 0.0)


# ------------------------------------------------------------------ the torch face
import optim.torch as ot  # noqa: E402


def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def _train(model, opt, steps=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(512, 64, generator=g), torch.randint(0, 10, (512,), generator=g)
    for _ in range(steps):
        idx = torch.randint(0, 512, (32,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return torch.nn.functional.cross_entropy(model(x), y).item()


def test_state_layout_and_bytes():
    model = _mlp()
    opt = ot.AdamW8bit(model.parameters())
    _train(model, opt, steps=1)
    w, b = model[0].weight, model[0].bias                    # 8192 elements: 8-bit; 128: float32
    s = opt.state[w]
    assert s["exp_avg"].dtype == s["exp_avg_sq"].dtype == torch.uint8 and s["exp_avg"].shape == w.shape
    assert s["exp_avg_absmax"].shape == s["exp_avg_sq_absmax"].shape == (4,)
    assert opt.state[b]["exp_avg"].dtype == torch.float32
    from optim.memory import state_bytes
    big = torch.nn.Linear(1024, 1024, bias=False)
    opt = ot.AdamW8bit(big.parameters())
    big(torch.randn(2, 1024)).sum().backward()
    opt.step()
    # 2 bytes per parameter + 2 absmax floats per 2048 + the step counter
    assert state_bytes(opt) == 2 * 1024 * 1024 + 2 * 4 * 512 + 4


def test_an_8bit_run_tracks_the_float32_run_and_bitsandbytes():
    losses = {}
    for name, make in {"fp32": lambda p: ot.AdamW(p, lr=3e-3),
                       "ours256": lambda p: ot.AdamW8bit(p, lr=3e-3, block_size=256),
                       "ours2048": lambda p: ot.AdamW8bit(p, lr=3e-3),
                       "bnb": lambda p: bnb.optim.AdamW8bit(p, lr=3e-3)}.items():
        model = _mlp()
        losses[name] = _train(model, make(model.parameters()))
    start = _train(_mlp(), ot.AdamW(_mlp().parameters(), lr=0.0), steps=1)
    assert losses["fp32"] < 0.8 * start
    for name in ("ours256", "ours2048", "bnb"):
        assert abs(losses[name] - losses["fp32"]) < 0.05 * losses["fp32"], losses
    assert abs(losses["ours256"] - losses["bnb"]) < 0.02 * losses["bnb"], losses


def test_state_dict_round_trip_continues_bit_for_bit():
    a, b = _mlp(), _mlp()
    oa = ot.AdamW8bit(a.parameters(), block_size=256)
    _train(a, oa, steps=5)
    b.load_state_dict(a.state_dict())
    ob = ot.AdamW8bit(b.parameters(), block_size=256)
    ob.load_state_dict(copy.deepcopy(oa.state_dict()))
    assert ob.param_groups[0]["block_size"] == 256
    _train(a, oa, steps=3, seed=1)
    _train(b, ob, steps=3, seed=1)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kwargs, words", [
    (dict(block_size=0), ["block_size", "0", "1 <= block_size"]),
    (dict(block_size=2.5), ["block_size", "2.5"]),
    (dict(min_8bit_size=-1), ["min_8bit_size", "-1", "0 <= min_8bit_size"]),
    (dict(amsgrad=True), ["amsgrad", "True", "False"]),
    (dict(lr=-1.0), ["lr", "-1.0"]),
    (dict(betas=(0.9, 1.5)), ["beta", "1.5"]),
])
def test_bad_options_raise_value_error(kwargs, words):
    for cls in (ot.Adam8bit, ot.AdamW8bit):
        with pytest.raises(ValueError) as info:
            cls(_mlp().parameters(), **kwargs)
        for word in words:
            assert word in str(info.value)


def test_adam8bit_is_adam_with_l2_decay_and_import_optim_does_not_import_torch():
    assert ot.Adam8bit(_mlp().parameters()).param_groups[0]["weight_decay"] == 0.0
    assert ot.AdamW8bit(_mlp().parameters()).param_groups[0]["weight_decay"] == 1e-2
    import subprocess
    import sys
    code = "import optim, optim.quantize, optim.exercises, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_foreach_is_accepted_and_the_8bit_state_kept():
    """The 8-bit classes override the per-tensor update, so foreach=True runs the loop (with a warning)."""
    model = _mlp()
    with pytest.warns(UserWarning, match="foreach=True is ignored"):
        opt = ot.AdamW8bit(model.parameters(), foreach=True)
    _train(model, opt, steps=2)
    assert opt.state[model[0].weight]["exp_avg"].dtype == torch.uint8


def test_adam8bit_decay_is_l2_and_adamw8bit_decoupled():
    """A first step from zero state is exact (the zero codes dequantise to 0, and m, v are quantised only after the
    update), so Adam8bit's equals torch.optim.Adam's (λ as an L2 term) and AdamW8bit's AdamW's (decoupled)."""
    for ours, theirs in ((ot.Adam8bit, torch.optim.Adam), (ot.AdamW8bit, torch.optim.AdamW)):
        torch.manual_seed(0)
        w = torch.nn.Parameter(torch.randn(64, 64))
        v = torch.nn.Parameter(w.detach().clone())
        g = torch.randn(64, 64)
        w.grad, v.grad = g.clone(), g.clone()
        ours([w], lr=0.1, weight_decay=0.5).step()
        theirs([v], lr=0.1, weight_decay=0.5).step()
        torch.testing.assert_close(w, v, rtol=0, atol=1e-6)


@pytest.mark.parametrize("signed", [True, False])
def test_the_fast_nearest_code_is_bucketize_bit_for_bit(signed):
    """The torch face's lookup table (optim.quantize._float32_table) against torch.bucketize: on the midpoints
    themselves, on their float32 neighbours, on 0, ±1, and on a million numbers over six decades."""
    code = Q.dynamic_map(signed)
    bounds = (code[:-1] + code[1:]) / np.float32(2)
    torch.manual_seed(0)
    s = torch.rand(1 << 20) * (2 if signed else 1) - (1 if signed else 0)
    edges = [bounds, np.nextafter(bounds, np.float32(2)), np.nextafter(bounds, np.float32(-2))]
    s = torch.cat([s, s * 1e-3, s * 1e-6, torch.tensor([0.0, -0.0, 1.0, -1.0])]
                  + [torch.as_tensor(e) for e in edges]).clamp(-1.0 if signed else 0.0, 1.0)
    tb = torch.as_tensor(bounds)
    assert torch.equal(Q.TorchQ.nearest(tb, s), torch.bucketize(s, tb).to(torch.uint8))
    assert Q._float32_table(bounds)[1] == 1
