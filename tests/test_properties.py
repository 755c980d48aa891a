"""Properties of the NumPy face that hold for all inputs, checked by hypothesis on random ones.

Each property is an identity between two computations (never a re-run of the same code), and
max_examples is kept small so that the file runs in a few seconds.
"""
import copy
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import optim
from optim import OPTIMIZERS, SparseRows

FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
dims = st.integers(1, 5)
lrs = st.floats(1e-4, 1.0)
betas = st.floats(0.0, 0.999)


def vectors(d, elements=finite):
    return arrays(np.float64, d, elements=elements)


@st.composite
def runs(draw, steps=st.integers(1, 8), elements=finite):
    """(params, [grad_1, ..., grad_k]) for one run of dimension d."""
    d, k = draw(dims), draw(steps)
    return draw(vectors(d, elements)), [draw(vectors(d, elements)) for _ in range(k)]


def every_optimizer():
    """One instance of every optimizer of the book, with every option that has state switched on."""
    return [
        optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
        optim.Momentum(lr=0.1, dampening=0.3), optim.Nesterov(lr=0.1),
        optim.Adagrad(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
        optim.Adadelta(weight_decay=0.1), optim.RMSprop(momentum=0.5, centered=True),
        optim.Adam(amsgrad=True, weight_decay=0.1), optim.NAdam(decoupled_weight_decay=True, weight_decay=0.1),
        optim.AdamW(amsgrad=True), optim.Lookahead(optim.Adam(lr=0.1), k=2, alpha=0.5),
        optim.RAdam(weight_decay=0.1), optim.Ranger(k=3), optim.LazyAdam(maximize=True),
        optim.Lion(lr=0.01, weight_decay=0.1),
        optim.Adafactor(lr=0.05, weight_decay=0.1, d=2.0),
        optim.LARS(lr=0.5, weight_decay=0.01, trust_coefficient=0.01), optim.LAMB(weight_decay=0.01, pre_norm=True),
        optim.ScheduleFreeSGD(lr=0.1, weight_decay=0.01, warmup_steps=3),
        optim.ScheduleFreeAdamW(lr=0.01, weight_decay=0.1, warmup_steps=2),
        optim.Prodigy(weight_decay=0.1, use_bias_correction=True), optim.DAdaptAdam(weight_decay=0.1, growth_rate=1.1),
        optim.Shampoo(lr=0.1, momentum=0.5, weight_decay=0.01, preconditioning_compute_steps=2),
        optim.SOAP(lr=0.01, precondition_1d=True, precondition_frequency=2),
        optim.Muon(lr=0.02, nesterov=False, adjust_lr_fn="match_rms_adamw"),
    ]


OPTS = every_optimizer()


def test_every_optimizer_of_the_package_is_covered():
    assert {type(o) for o in OPTS} == set(OPTIMIZERS)


#: rules that take only matrices (the last two axes; leading axes are runs): Muon refuses a vector, as torch's
#: Muon does, so a drawn vector is given to it as a 1×d matrix
MATRIX_ONLY = (optim.Muon,)


def for_rule(opt, run):
    params, grads = run
    if isinstance(opt, MATRIX_ONLY):
        return params[None, :], [g[None, :] for g in grads]
    return params, grads


def run_steps(opt, params, grads, state=None):
    state = opt.init(params) if state is None else state
    for g in grads:
        params, state = opt.step(params, g, state)
    return params, state


# --- zero gradient ------------------------------------------------------------------------------------------------

@FAST
@given(run=runs(), lr=lrs, momentum=st.floats(0.0, 0.99), nesterov=st.booleans())
def test_sgd_zero_gradient_leaves_params_exactly_in_place(run, lr, momentum, nesterov):
    """No weight decay: w − α·0 = w, with or without momentum (the buffer stays 0), bitwise."""
    params, grads = run
    if nesterov and momentum == 0:
        nesterov = False
    opt = optim.SGD(lr=lr, momentum=momentum, nesterov=nesterov)
    out, _ = run_steps(opt, params, [np.zeros_like(params)] * len(grads))
    np.testing.assert_array_equal(out, params)


# --- Adam's scale invariance --------------------------------------------------------------------------------------

@FAST
@given(run=runs(elements=st.floats(-1e2, 1e2).filter(lambda x: abs(x) > 1e-3)),
       log_c=st.floats(-6, 6), b1=betas, b2=betas, amsgrad=st.booleans())
def test_adam_step_is_invariant_to_rescaling_the_gradient(run, log_c, b1, b2, amsgrad):
    """With ε = 0, m scales by c, √v by c, so m/√v — and the whole path — does not change (c > 0)."""
    params, grads = run
    c = 10.0**log_c
    opt = optim.Adam(lr=0.01, betas=(b1, b2), eps=0.0, amsgrad=amsgrad)
    plain, _ = run_steps(opt, params, grads)
    scaled, _ = run_steps(opt, params, [c * g for g in grads])
    np.testing.assert_allclose(scaled, plain, rtol=1e-12, atol=1e-12)


def test_adam_scale_invariance_is_broken_by_eps_for_tiny_gradients():
    """The counter-check: with ε > 0 and gradients near ε, rescaling does change the step."""
    opt = optim.Adam(lr=0.01, eps=1e-8)
    g = np.array([1e-8])
    a, _ = opt.step(np.zeros(1), g, opt.init(np.zeros(1)))
    b, _ = opt.step(np.zeros(1), 1e6 * g, opt.init(np.zeros(1)))
    assert abs(a[0] - b[0]) > 1e-3


# --- RMSprop and Adam ---------------------------------------------------------------------------------------------

@FAST
@given(run=runs(), lr=lrs, b2=betas, eps=st.floats(1e-10, 1e-3))
@example(run=(np.zeros(1), [np.array([17.0]), np.array([1e-10])]), lr=1.0, b2=0.0, eps=1e-4)  # CI found it
def test_adam_with_beta1_0_is_rmsprop_on_bias_corrected_v(run, lr, b2, eps):
    """Adam(β₁ = 0, β₂, α, ε) at step t is RMSprop(alpha = β₂) with α_t = α√(1−β₂ᵗ) and ε_t = ε√(1−β₂ᵗ).

    Both keep v_t = β₂ v_{t−1} + (1−β₂) g_t² (bitwise the same state), and
    g/(√(v/(1−β₂ᵗ)) + ε) = √(1−β₂ᵗ)·g/(√v + ε√(1−β₂ᵗ)). So plain RMSprop is Adam with β₁ = 0
    *without* bias correction of v (early steps are larger by 1/√(1−β₂ᵗ)).
    """
    params, grads = run
    adam = optim.Adam(lr=lr, betas=(0.0, b2), eps=eps)
    rms = optim.RMSprop(lr=lr, alpha=b2, eps=eps)
    pa, sa, pr, sr = params, adam.init(params), params, rms.init(params)
    slack = 0.0
    for t, g in enumerate(grads, 1):
        m_before = sa.m
        pa, sa = adam.step(pa, g, sa)
        c = (1 - b2**t) ** 0.5
        pr, sr = rms.with_hyper(lr=lr * c, eps=eps * c).step(pr, g, sr)
        np.testing.assert_array_equal(sa.v, sr.v)
        # Two roundings separate them. (1) The rearrangements of one formula differ by a few ulps
        # of a step, and these add up (hypothesis: 3e-12 relative on a parameter back near 0).
        # (2) Adam's m is torch's lerp, m + (1−β₁)(g − m): with β₁ = 0 it equals g only up to an
        # ulp of the previous m, so after g = 17 a g = 1e-10 comes back as 9.9998e-11 (hypothesis
        # found it). That error goes into the step divided by √v̂ + ε; add it up, step by step.
        ulp_m = 2 * np.finfo(float).eps * (np.abs(m_before) + np.abs(g))
        slack = slack + lr * ulp_m / (np.sqrt(sa.v / (1 - b2**t)) + eps)
        assert np.all(np.abs(pa - pr) <= 1e-11 * np.abs(pr) + 1e-12 * lr * t + slack), (pa, pr)


def test_plain_rmsprop_is_not_bias_corrected():
    """The counter-check: same lr, ε = 0, β₂ = 0.99: RMSprop's first step is 1/√(1−β₂) = 10× Adam's."""
    g = np.array([2.0, -3.0])
    adam, rms = optim.Adam(lr=0.01, betas=(0.0, 0.99), eps=0.0), optim.RMSprop(lr=0.01, alpha=0.99, eps=0.0)
    a, _ = adam.step(np.zeros(2), g, adam.init(np.zeros(2)))
    r, _ = rms.step(np.zeros(2), g, rms.init(np.zeros(2)))
    np.testing.assert_allclose(r, 10 * a, rtol=1e-14)


# --- two forms of momentum ----------------------------------------------------------------------------------------

@FAST
@given(run=runs(steps=st.integers(1, 12)), lr=lrs, mu=st.floats(0.0, 0.95))
def test_torch_momentum_equals_ema_momentum_with_lr_over_1_minus_mu(run, lr, mu):
    """v ← μv + g, w ← w − αv (torch) follows the same path as v ← μv + (1−μ)g, w ← w − α/(1−μ)·v (EMA form).

    By induction v_ema = (1−μ) v_torch, from v_0 = 0 in the EMA form and torch's v_1 = g_1.
    """
    params, grads = run
    torch_form, _ = run_steps(optim.SGD(lr=lr, momentum=mu), params, grads)
    w, v = params, np.zeros_like(params)
    for g in grads:
        v = mu * v + (1 - mu) * g
        w = w - lr / (1 - mu) * v
    np.testing.assert_allclose(torch_form, w, rtol=1e-9, atol=1e-9 * (1 + np.abs(params).max()))


def test_torch_dampening_is_not_the_ema_form_because_the_first_buffer_is_undamped():
    """SGD(dampening=μ) starts its buffer at g₁, not (1−μ)g₁ (torch's rule): from step 2 it leaves the EMA path."""
    mu, lr, g1, g2 = 0.9, 0.1, np.array([1.0]), np.array([1.0])
    opt = optim.SGD(lr=lr, momentum=mu, dampening=mu)
    w, s = opt.step(np.zeros(1), g1, opt.init(np.zeros(1)))
    w, s = opt.step(w, g2, s)
    np.testing.assert_allclose(s.m, [mu * 1.0 + (1 - mu) * 1.0])       # = 1, while the EMA form has 0.19
    np.testing.assert_allclose(w, [-lr * 2.0])


# --- the NumPy face is pure ---------------------------------------------------------------------------------------

def state_arrays(state):
    """Every array in a state, nested states (Lookahead's base) included."""
    for value in state.fields().values():
        if isinstance(value, optim.State):
            yield from state_arrays(value)
        elif isinstance(value, np.ndarray):
            yield value


@pytest.mark.parametrize("opt", OPTS, ids=lambda o: type(o).__name__)
@FAST
@given(run=runs(steps=st.integers(1, 7)))
def test_numpy_face_never_mutates_its_inputs(opt, run):
    """params, grads and every state array are made read-only: an in-place write raises; values are also compared."""
    params, grads = for_rule(opt, run)
    state = opt.init(params)
    for g in grads:
        frozen = [params, g, *state_arrays(state)]
        before = [a.copy() for a in frozen]
        fields_before = {k: v for k, v in state.fields().items()}
        for a in frozen:
            a.setflags(write=False)
        params, state_next = opt.step(params, g, state)
        for a, b in zip(frozen, before):
            np.testing.assert_array_equal(a, b)
        assert state.fields().keys() == fields_before.keys()
        assert all(state.fields()[k] is v for k, v in fields_before.items()), "the old state object was rebound"
        state = state_next
        params = np.array(params)


def test_lazyadam_sparse_step_never_mutates_its_inputs():
    opt = optim.LazyAdam(lr=0.1)
    table = np.arange(12.0).reshape(4, 3)
    state = opt.init(table)
    grad = SparseRows([2, 0, 2], np.ones((3, 3)))
    for a in (table, grad.indices, grad.values, state.m, state.v):
        a.setflags(write=False)
    new, new_state = opt.step(table, grad, state)
    np.testing.assert_array_equal(table, np.arange(12.0).reshape(4, 3))
    assert state.t == 0 and not state.m.any() and not state.v.any()
    assert new_state.t == 1 and (new[1] == table[1]).all() and (new[[0, 2]] != table[[0, 2]]).all()


# --- states are plain data ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("opt", OPTS, ids=lambda o: type(o).__name__)
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_state_round_trips_and_the_copy_continues_the_run_identically(opt, how):
    rng = np.random.default_rng(3)
    params, grads = rng.standard_normal((2, 3)), rng.standard_normal((10, 2, 3))
    p, state = run_steps(opt, params, grads[:5])
    clone = copy.deepcopy(state) if how == "deepcopy" else pickle.loads(pickle.dumps(state))
    assert clone == state and clone is not state and repr(clone) == repr(state)
    assert all(a is not b for a, b in zip(state_arrays(clone), state_arrays(state)))
    a, sa = run_steps(opt, p, grads[5:], state)
    b, sb = run_steps(opt, p, grads[5:], clone)
    np.testing.assert_array_equal(a, b)
    assert sa == sb


def test_state_equality_sees_a_changed_value():
    """The counter-check for the round trip: == is not always True."""
    opt = optim.Adam()
    s = opt.init(np.zeros(3))
    _, s1 = opt.step(np.zeros(3), np.ones(3), s)
    _, s2 = opt.step(np.zeros(3), 2 * np.ones(3), s)
    assert s1 != s2 and s != s1


# --- with_hyper mid-run -------------------------------------------------------------------------------------------

def rebuilt(opt, lr):
    """A new optimizer object with lr changed, built from the constructor (not with_hyper)."""
    if isinstance(opt, optim.Ranger):
        return optim.Ranger(lr=lr, k=opt.k, alpha=opt.alpha)
    if isinstance(opt, optim.Lookahead):
        base = type(opt.base)(**{**opt.base.hyper, "lr": lr})
        return optim.Lookahead(base, k=opt.k, alpha=opt.alpha)
    return type(opt)(**{**opt.hyper, "lr": lr})


@pytest.mark.parametrize("opt", OPTS, ids=lambda o: type(o).__name__)
@settings(max_examples=15, deadline=None, derandomize=True)
@given(run=runs(steps=st.integers(2, 8)), lr2=lrs, switch=st.integers(1, 7))
def test_with_hyper_mid_run_equals_a_new_optimizer_on_the_same_state(opt, run, lr2, switch):
    params, grads = for_rule(opt, run)
    switch = min(switch, len(grads) - 1)
    lr1 = opt.hyper["lr"]
    p, s = run_steps(opt, params, grads[:switch])
    a, sa = run_steps(opt.with_hyper(lr=lr2), p, grads[switch:], s)
    b, sb = run_steps(rebuilt(opt, lr2), p, grads[switch:], s)
    np.testing.assert_array_equal(a, b)
    assert sa == sb
    assert opt.with_hyper(lr=lr2).hyper["lr"] == lr2 and opt.hyper["lr"] == lr1   # the original is untouched


@pytest.mark.parametrize("opt", OPTS, ids=lambda o: type(o).__name__)
def test_with_hyper_lr_really_changes_the_step(opt):
    """The counter-check: the new lr is used (with_hyper does not return the old optimizer's numbers)."""
    params, g = np.ones((2, 3)), np.full((2, 3), 0.5)
    state = opt.init(params)
    if isinstance(opt, optim.SOAP):        # SOAP's first step only builds its eigenbasis (the parameters stay)
        state = opt.step(params, g, state)[1]
    if isinstance(opt, optim.Shampoo):     # with k = 2 its inverse roots are zero until step 2
        state = opt.step(params, g, state)[1]
    a, _ = opt.step(params, g, state)
    b, _ = opt.with_hyper(lr=opt.hyper["lr"] * 3).step(params, g, state)
    assert not np.allclose(a, b, rtol=1e-6, atol=0)
