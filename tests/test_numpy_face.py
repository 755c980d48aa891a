"""The NumPy face's batching contract: one call with array hyperparameters == separate scalar runs.

For every optimizer, every numeric hyperparameter is given as an array of shape (B, 1) that
broadcasts against parameters of shape (B, d) — or (2, B, d), with a leading batch axis of its
own — and the batched run must give what B separate runs with scalar hyperparameters give.
Sweeps include 0 where 0 switches a term off (momentum, weight decay): the scalar run then
takes the other code path, the batched one multiplies by 0.

Tolerance: bitwise, except where NumPy's array power and Python's float power differ by one ulp
in βᵗ (they do, e.g. 0.999⁷): a relative 1e-15 per step then. RAdam's ρ_t amplifies that ulp by
ρ_∞/(1−β₂ᵗ) near its switch (see tests/test_literature.py), hence 1e-12 for RAdam and Ranger.
Sweeps avoid β₂ = 0 with ε = 0 for the β-powered rules: Adam then steps by m̂/|g|, which turns that
one ulp into 1e-10 within 30 steps on this non-linear gradient (measured) — sensitivity, not a bug.
"""
import numpy as np
import pytest

import optim
from optim import OPTIMIZERS

B, D, STEPS = 4, 3, 30


def col(*values):
    return np.array(values, dtype=float)[:, None]


#: name -> (factory(**hyper) -> optimizer, {hyperparameter: B values}); betas are split as beta1/beta2
SWEEPS = {
    "SGD": (optim.SGD, dict(lr=col(0.01, 0.02, 0.05, 0.1), momentum=col(0.0, 0.5, 0.9, 0.3),
                            dampening=col(0.0, 0.1, 0.0, 0.5), weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "Nesterov": (optim.Nesterov, dict(lr=col(0.01, 0.02, 0.05, 0.1), momentum=col(0.1, 0.5, 0.9, 0.3),
                                      weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "Momentum": (optim.Momentum, dict(lr=col(0.01, 0.02, 0.05, 0.1), momentum=col(0.0, 0.5, 0.9, 0.99))),
    "Adagrad": (optim.Adagrad, dict(lr=col(0.01, 0.1, 0.5, 1.0), lr_decay=col(0.0, 0.01, 0.1, 0.0),
                                    weight_decay=col(0.0, 0.01, 0.1, 0.0),
                                    initial_accumulator_value=col(0.0, 0.1, 1.0, 0.5),
                                    eps=col(1e-10, 1e-8, 1e-3, 0.1))),
    "Adadelta": (optim.Adadelta, dict(lr=col(1.0, 0.5, 0.1, 2.0), rho=col(0.9, 0.5, 0.0, 0.99),
                                      eps=col(1e-6, 1e-4, 1e-8, 1e-2), weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "RMSprop": (optim.RMSprop, dict(lr=col(0.01, 0.001, 0.05, 0.1), alpha=col(0.99, 0.9, 0.5, 0.0),
                                    eps=col(1e-8, 1e-4, 1e-2, 1e-6), weight_decay=col(0.0, 0.01, 0.1, 0.0),
                                    momentum=col(0.0, 0.5, 0.9, 0.0))),
    "RMSprop-centered": (lambda **h: optim.RMSprop(centered=True, **h),
                         dict(lr=col(0.01, 0.001, 0.05, 0.1), alpha=col(0.99, 0.9, 0.5, 0.7),
                              eps=col(1e-8, 1e-4, 1e-2, 1e-6), momentum=col(0.0, 0.5, 0.9, 0.0))),
    "Adam": (optim.Adam, dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                              beta2=col(0.999, 0.9, 0.5, 0.3), eps=col(1e-8, 1e-4, 1e-2, 1e-6),
                              weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "Adam-amsgrad": (lambda **h: optim.Adam(amsgrad=True, **h),
                     dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                          beta2=col(0.999, 0.9, 0.5, 0.3))),
    "AdamW": (optim.AdamW, dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                                beta2=col(0.999, 0.9, 0.5, 0.99), weight_decay=col(0.0, 0.01, 0.1, 1.0))),
    "NAdam": (optim.NAdam, dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                                beta2=col(0.999, 0.9, 0.5, 0.99), eps=col(1e-8, 1e-4, 1e-2, 1e-6),
                                weight_decay=col(0.0, 0.01, 0.1, 0.0), momentum_decay=col(4e-3, 0.0, 0.1, 1.0))),
    "RAdam": (optim.RAdam, dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                                beta2=col(0.999, 0.9, 0.8, 0.7), eps=col(1e-8, 1e-4, 1e-2, 1e-6),
                                weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "LazyAdam": (optim.LazyAdam, dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                                      beta2=col(0.999, 0.9, 0.5, 0.99), eps=col(1e-7, 1e-4, 1e-2, 0.0))),
    "Lion": (optim.Lion, dict(lr=col(1e-4, 1e-3, 0.01, 0.1), beta1=col(0.9, 0.0, 0.5, 0.95),
                              beta2=col(0.99, 0.9, 0.0, 0.98), weight_decay=col(0.0, 0.1, 1.0, 0.0))),
    "Adafactor": (optim.Adafactor, dict(lr=col(0.01, 0.001, 0.05, 0.3), beta2_decay=col(-0.8, -0.5, 0.0, -1.0),
                                        d=col(1.0, 2.0, 1.5, 10.0), weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    # Adafactor(matrix=True) factors the last two axes, so (B, d) would be one matrix, not B runs: its sweeps over
    # runs of matrices (B, n, m) are in tests/test_adafactor.py
    "Lookahead": (lambda alpha, **h: optim.Lookahead(optim.Adam(**h), k=3, alpha=alpha),
                  dict(alpha=col(0.5, 1.0, 0.1, 0.8), lr=col(0.01, 0.001, 0.05, 0.1),
                       beta1=col(0.9, 0.0, 0.5, 0.99))),
    "Ranger": (lambda alpha, **h: optim.Ranger(k=4, alpha=alpha, **h),
               dict(alpha=col(0.5, 1.0, 0.1, 0.8), lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.95, 0.0, 0.5, 0.9),
                    beta2=col(0.999, 0.9, 0.8, 0.99), eps=col(1e-5, 1e-4, 1e-2, 1e-6),
                    weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "LARS": (optim.LARS, dict(lr=col(0.1, 1.0, 0.5, 2.0), weight_decay=col(0.0, 0.01, 0.1, 0.0),
                              momentum=col(0.0, 0.9, 0.5, 0.8), dampening=col(0.0, 0.1, 0.0, 0.5),
                              trust_coefficient=col(1e-3, 1e-2, 0.1, 0.02))),
    "LAMB": (optim.LAMB, dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                              beta2=col(0.999, 0.9, 0.5, 0.99), eps=col(1e-6, 1e-4, 1e-2, 1e-8),
                              weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "LAMB-paper": (lambda **h: optim.LAMB(weight_decouple=False, pre_norm=True, **h),
                   dict(lr=col(0.01, 0.001, 0.05, 0.1), weight_decay=col(0.0, 0.01, 0.1, 0.5),
                        max_grad_norm=col(1.0, 0.0, 0.5, 10.0))),
    "ScheduleFreeSGD": (optim.ScheduleFreeSGD,
                        dict(lr=col(0.01, 0.1, 0.5, 1.0), momentum=col(0.9, 0.5, 0.1, 0.98),
                             weight_decay=col(0.0, 0.01, 0.1, 0.0), warmup_steps=col(0, 5, 0, 20),
                             r=col(0.0, 1.0, 0.5, 0.0), weight_lr_power=col(2.0, 0.0, 1.0, 2.0))),
    "ScheduleFreeAdamW": (optim.ScheduleFreeAdamW,
                          dict(lr=col(0.01, 0.001, 0.05, 0.1), beta1=col(0.9, 0.5, 0.1, 0.98),
                               beta2=col(0.999, 0.9, 0.5, 0.99), eps=col(1e-8, 1e-4, 1e-2, 1e-6),
                               weight_decay=col(0.0, 0.01, 0.1, 0.0), warmup_steps=col(0, 5, 0, 20),
                               r=col(0.0, 1.0, 0.5, 0.0), weight_lr_power=col(2.0, 0.0, 1.0, 2.0))),
    "Prodigy": (optim.Prodigy, dict(lr=col(1.0, 0.5, 2.0, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                                    beta2=col(0.999, 0.9, 0.5, 0.99), eps=col(1e-8, 1e-4, 1e-2, 1e-6),
                                    weight_decay=col(0.0, 0.01, 0.1, 0.0), d0=col(1e-6, 1e-3, 1e-1, 1e-8),
                                    d_coef=col(1.0, 0.5, 2.0, 0.1), growth_rate=col(np.inf, 1.02, 1.5, 1.0))),
    "Prodigy-coupled": (lambda **h: optim.Prodigy(decouple=False, use_bias_correction=True, safeguard_warmup=True,
                                                  **h),
                        dict(lr=col(1.0, 0.5, 2.0, 0.1), beta3=col(0.9, 0.0, 0.5, 0.99),
                             weight_decay=col(0.0, 0.01, 0.1, 0.0))),
    "DAdaptAdam": (optim.DAdaptAdam, dict(lr=col(1.0, 0.5, 2.0, 0.1), beta1=col(0.9, 0.0, 0.5, 0.99),
                                          beta2=col(0.999, 0.9, 0.5, 0.99), eps=col(1e-8, 1e-4, 1e-2, 1e-6),
                                          weight_decay=col(0.0, 0.01, 0.1, 0.0), d0=col(1e-6, 1e-3, 1e-1, 1e-8),
                                          growth_rate=col(np.inf, 1.02, 1.5, 1.0))),
}
RTOL = {"RAdam": 1e-12, "Ranger": 1e-12}


def build(factory, hyper):
    """Turn beta1/beta2 back into torch's betas pair (defaults filled in where one is not swept)."""
    hyper = dict(hyper)
    if "beta1" in hyper or "beta2" in hyper:
        hyper["betas"] = (hyper.pop("beta1", 0.9), hyper.pop("beta2", 0.999))
    return factory(**hyper)


def grad(w):
    """∇ of Σ ½w² + sin(3w): non-linear, so the runs' paths depend on every bit of their past."""
    return w + 3 * np.cos(3 * w)


def run(opt, w, steps=STEPS):
    state = opt.init(w)
    for _ in range(steps):
        w, state = opt.step(w, grad(w), state)
    return w, state


def start(shape):
    return np.random.default_rng(0).standard_normal(shape)


#: matrix rules: a run is the last *two* axes, so these (B, d) sweeps would make one B×d matrix of them;
#: their sweeps over (2, B, n, m) runs with (B, 1, 1) hyperparameters are in tests/test_shampoo.py (Muon's: in
#: tests/test_muon.py, which also refuses a vector, as torch's Muon does)
MATRIX_SWEPT_ELSEWHERE = {optim.Shampoo, optim.SOAP, optim.Muon}


def test_every_optimizer_is_swept():
    covered = {type(build(f, {k: v[0, 0] for k, v in h.items()})) for f, h in SWEEPS.values()}
    assert covered == set(OPTIMIZERS) - MATRIX_SWEPT_ELSEWHERE


def assert_same(batched, separate, rtol, what):
    if rtol == 0:
        np.testing.assert_array_equal(batched, separate, err_msg=what)
    else:
        np.testing.assert_allclose(batched, separate, rtol=rtol, atol=rtol, err_msg=what)


@pytest.mark.parametrize("lead", [(), (2,)], ids=["(B,d)", "(2,B,d)"])
@pytest.mark.parametrize("name", list(SWEEPS))
def test_array_hyperparameters_give_exactly_the_separate_runs(name, lead):
    factory, sweep = SWEEPS[name]
    w0 = start(lead + (B, D))
    batched, _ = run(build(factory, sweep), w0)
    rtol = RTOL.get(name, 1e-15 * STEPS)
    for b in range(B):
        scalar = build(factory, {k: float(v[b, 0]) for k, v in sweep.items()})
        separate, _ = run(scalar, w0[..., b, :])
        assert_same(batched[..., b, :], separate, rtol, f"{name}: run {b} with {scalar!r}")


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "NAdam", "LazyAdam"])
def test_array_hyperparameters_are_bitwise_when_no_power_of_beta_is_involved(name):
    """lr, eps, weight decay, momentum as arrays: the same floating-point operations, so the same bits."""
    factory, sweep = SWEEPS[name]
    sweep = {k: v for k, v in sweep.items() if k not in ("beta1", "beta2", "momentum_decay")}
    w0 = start((B, D))
    batched, _ = run(build(factory, sweep), w0)
    for b in range(B):
        separate, _ = run(build(factory, {k: float(v[b, 0]) for k, v in sweep.items()}), w0[b])
        np.testing.assert_array_equal(batched[b], separate, err_msg=f"{name} run {b}")


def test_sweep_detects_a_hyperparameter_that_is_not_broadcast():
    """The counter-check: runs with different lr really differ, so equality above is not trivial."""
    w, _ = run(optim.Adam(lr=col(0.01, 0.1)), start((2, D)))
    assert not np.allclose(w[0], w[1])


def test_leading_batch_dims_of_params_are_independent_runs():
    """Params (5, 4, d), hyperparameters (4, 1): 20 independent runs, each equal to its own run."""
    opt = optim.Adam(lr=col(0.01, 0.02, 0.05, 0.1))
    w0 = start((5, 4, D))
    batched, state = run(opt, w0)
    assert batched.shape == state.m.shape == state.v.shape == (5, 4, D)
    for i in range(5):
        for j in range(4):
            separate, _ = run(optim.Adam(lr=float(opt.hyper["lr"][j, 0])), w0[i, j])
            np.testing.assert_array_equal(batched[i, j], separate)


# --- init and repr --------------------------------------------------------------------------------------------------

INSTANCES = [build(f, {k: v[1, 0] for k, v in h.items()}) for f, h in SWEEPS.values()]


def arrays_of(state):
    for key, value in state.fields().items():
        if isinstance(value, optim.State):
            yield from arrays_of(value)
        elif isinstance(value, np.ndarray):
            yield key, value


@pytest.mark.parametrize("opt", INSTANCES, ids=lambda o: repr(o))
@pytest.mark.parametrize("shape", [(D,), (B, D), (2, B, D)])
def test_init_state_arrays_have_the_params_shape_and_float64(opt, shape):
    state = opt.init(np.zeros(shape, dtype=np.float32))
    fields = dict(arrays_of(state))
    assert fields or isinstance(opt, optim.SGD)
    for key, a in fields.items():
        assert a.shape == shape, key
        assert a.dtype == np.float64 or key == "slow", key
    if "t" in state.fields():
        assert state.t == 0


def test_init_state_of_adam_is_zeros_named_as_in_the_book():
    state = optim.Adam(amsgrad=True).init(np.ones((B, D)))
    assert set(state.fields()) == {"t", "m", "v", "v_max"}
    assert not state.m.any() and not state.v.any() and not state.v_max.any()


def test_init_state_with_a_swept_initial_accumulator_broadcasts():
    state = optim.Adagrad(initial_accumulator_value=col(0.0, 1.0, 2.0, 3.0)).init(np.zeros((B, D)))
    np.testing.assert_array_equal(state.v, np.repeat(col(0.0, 1.0, 2.0, 3.0), D, axis=1))


SCALAR_OPTS = [
    optim.SGD(), optim.SGD(lr=0.1, momentum=0.9, nesterov=True), optim.Momentum(lr=0.05), optim.Nesterov(lr=0.1),
    optim.Adagrad(lr_decay=0.1), optim.Adadelta(rho=0.5), optim.RMSprop(centered=True, momentum=0.5),
    optim.Adam(lr=0.1, betas=(0.5, 0.9), amsgrad=True), optim.AdamW(weight_decay=0.1), optim.NAdam(momentum_decay=0.1),
    optim.RAdam(eps=1e-6), optim.LazyAdam(betas=(0.8, 0.99)),
    optim.Lion(lr=1e-3, betas=(0.95, 0.98), weight_decay=0.1, maximize=True),
    optim.Adafactor(lr=0.05, d=2.0, eps=(1e-30, 1e-3), weight_decay=0.1, maximize=True), optim.Adafactor(matrix=True),
    optim.Lookahead(optim.Adam(lr=0.1), k=2, alpha=0.8),
    optim.Ranger(), optim.Ranger(lr=0.01, k=3),
    optim.Ranger(betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1, use_gc=False),
    optim.LARS(lr=0.5, nesterov=True, trust_coefficient=0.01), optim.LAMB(weight_decay=0.01, weight_decouple=False),
    optim.ScheduleFreeSGD(lr=0.5, warmup_steps=10), optim.ScheduleFreeAdamW(betas=(0.95, 0.99), weight_decay=0.01),
    optim.Prodigy(d_coef=0.5, slice_p=3, safeguard_warmup=True), optim.DAdaptAdam(decouple=True, weight_decay=0.1),
    optim.Shampoo(lr=0.01, momentum=0.5, weight_decouple=True, weight_decay=0.1),
    optim.SOAP(betas=(0.9, 0.99), shampoo_beta=0.9, precondition_1d=True, data_format="channels_last"),
    optim.Muon(lr=0.02, nesterov=False, ns_coefficients=(2.0, -1.5, 0.5), adjust_lr_fn="match_rms_adamw"),
]


@pytest.mark.parametrize("opt", SCALAR_OPTS, ids=lambda o: type(o).__name__)
def test_optimizer_repr_is_the_constructor_call_that_rebuilds_it(opt):
    """repr names the class and every hyperparameter that differs from the defaults; eval gives the same optimizer."""
    text = repr(opt)
    assert text.startswith(f"optim.{type(opt).__name__}(") and "\n" not in text
    again = eval(text, {"optim": optim})
    assert type(again) is type(opt) and again.hyper == opt.hyper, f"{text} rebuilds {again.hyper}"


def test_optimizer_repr_omits_defaults_and_shows_changes():
    assert repr(optim.Adam()) == "optim.Adam()"
    assert repr(optim.Adam(lr=0.1, betas=(0.5, 0.9))) == "optim.Adam(lr=0.1, betas=(0.5, 0.9))"
    assert "lr=array(" in repr(optim.SGD(lr=col(0.1, 0.2)))


def test_state_repr_names_every_field_and_stays_short_for_big_batches():
    opt = optim.Adam()
    w, state = run(opt, start((1000, 2)), steps=2)
    text = repr(state)
    assert text.startswith("AdamState(t=2, m=") and ", v=" in text
    assert "..." in text and len(text) < 600
    small = repr(optim.SGD(momentum=0.9).init(np.zeros(2)))
    assert small == "SGDState(m=None)"
    nested = repr(optim.Lookahead(optim.Adam()).init(np.zeros(2)))
    assert nested == "LookaheadState(t=0, slow=[0., 0.], base=AdamState(t=0, m=[0., 0.], v=[0., 0.]))"
