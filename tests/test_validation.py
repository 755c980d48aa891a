"""Bad hyperparameters are refused with a ValueError a user can act on — in both faces, table-driven.

Each row: the optimizer, the bad keyword arguments, and three fragments the message must
contain: the parameter's name, the offending value, and the allowed range. Every row is tried
on the NumPy face (``optim.X(**bad)``) and on the torch face (``optim.X`` in ``optim.torch``, built
on parameters); where torch.optim has the same class and the row is scalar, torch.optim must
refuse it too with ValueError (its messages are worded differently and are not compared).
"""
import math

import numpy as np
import pytest
import torch

import optim
import optim.torch

ARRAY = np.array

#: (optimizer, bad kwargs, name in message, value in message, range in message)
CASES = [
    # learning rate, ε, weight decay: >= 0 everywhere
    *[(name, dict(lr=-0.1), "lr", "-0.1", "0.0 <= lr")
      for name in ("SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam",
                   "RAdam", "LazyAdam", "Ranger")],
    *[(name, dict(lr=math.nan), "lr", "nan", "0.0 <= lr") for name in ("SGD", "Adam")],
    *[(name, dict(eps=-1e-8), "eps", "-1e-08", "0.0 <= eps")
      for name in ("Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "LazyAdam", "Ranger")],
    *[(name, dict(weight_decay=-0.01), "weight_decay", "-0.01", "0.0 <= weight_decay")
      for name in ("SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam", "Ranger")],
    # betas in [0, 1), each index
    *[(name, dict(betas=betas), f"beta parameter at index {i}", value, f"0.0 <= beta parameter at index {i} < 1.0")
      for name in ("Adam", "AdamW", "NAdam", "RAdam", "LazyAdam", "Ranger")
      for betas, i, value in [((1.0, 0.999), 0, "1.0"), ((-0.1, 0.999), 0, "-0.1"),
                              ((0.9, 1.0), 1, "1.0"), ((0.9, -0.5), 1, "-0.5")]],
    # momentum >= 0; Nesterov needs momentum > 0 and no dampening
    *[(name, dict(momentum=-0.5), "momentum", "-0.5", "0.0 <= momentum") for name in ("SGD", "Momentum", "RMSprop")],
    ("SGD", dict(nesterov=True), "nesterov", "momentum=0.0", "momentum > 0"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov", "dampening=0.1", "dampening = 0"),
    ("Nesterov", dict(momentum=0.0), "nesterov", "momentum=0.0", "momentum > 0"),
    ("Nesterov", dict(dampening=0.5), "nesterov", "dampening=0.5", "dampening = 0"),
    # per-algorithm ranges
    ("Adadelta", dict(rho=1.5), "rho", "1.5", "0.0 <= rho <= 1.0"),
    ("Adadelta", dict(rho=-0.1), "rho", "-0.1", "0.0 <= rho <= 1.0"),
    ("RMSprop", dict(alpha=-0.1), "alpha", "-0.1", "0.0 <= alpha"),
    ("Adagrad", dict(lr_decay=-0.1), "lr_decay", "-0.1", "0.0 <= lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-0.1), "initial_accumulator_value", "-0.1",
     "0.0 <= initial_accumulator_value"),
    ("NAdam", dict(momentum_decay=-0.004), "momentum_decay", "-0.004", "0.0 <= momentum_decay"),
    ("LazyAdam", dict(amsgrad=True), "amsgrad", "True", "amsgrad=False"),
    # Lookahead (and Ranger, which is one): k an integer >= 1, alpha in (0, 1]
    *[(name, kw, key, value, rng)
      for name in ("Lookahead", "Ranger")
      for kw, key, value, rng in [(dict(k=0), "k", "0", "k >= 1"), (dict(k=-3), "k", "-3", "k >= 1"),
                                  (dict(k=2.5), "k", "2.5", "integer k >= 1"),
                                  (dict(alpha=0.0), "alpha", "0.0", "0.0 < alpha <= 1.0"),
                                  (dict(alpha=1.5), "alpha", "1.5", "0.0 < alpha <= 1.0"),
                                  (dict(alpha=-0.5), "alpha", "-0.5", "0.0 < alpha <= 1.0")]],
    # Schedule-Free: β strictly inside (0, 1) (x = (y − (1 − β)z)/β), counts and powers >= 0
    *[("ScheduleFreeSGD", kw, key, value, rng)
      for kw, key, value, rng in [(dict(lr=-0.1), "lr", "-0.1", "0.0 <= lr"),
                                  (dict(momentum=0.0), "momentum", "0.0", "0.0 < momentum < 1.0"),
                                  (dict(momentum=1.0), "momentum", "1.0", "0.0 < momentum < 1.0"),
                                  (dict(weight_decay=-0.01), "weight_decay", "-0.01", "0.0 <= weight_decay"),
                                  (dict(warmup_steps=-1), "warmup_steps", "-1", "0.0 <= warmup_steps"),
                                  (dict(r=-1.0), "r", "-1.0", "0.0 <= r"),
                                  (dict(weight_lr_power=-2.0), "weight_lr_power", "-2.0", "0.0 <= weight_lr_power")]],
    *[("ScheduleFreeAdamW", kw, key, value, rng)
      for kw, key, value, rng in [(dict(lr=-0.1), "lr", "-0.1", "0.0 <= lr"),
                                  (dict(eps=-1e-8), "eps", "-1e-08", "0.0 <= eps"),
                                  (dict(betas=(0.0, 0.999)), "beta parameter at index 0", "0.0",
                                   "0.0 < beta parameter at index 0 < 1.0"),
                                  (dict(betas=(0.9, 1.0)), "beta parameter at index 1", "1.0",
                                   "0.0 <= beta parameter at index 1 < 1.0"),
                                  (dict(warmup_steps=-1), "warmup_steps", "-1", "0.0 <= warmup_steps")]],
    # LARS and LAMB (pytorch_optimizer's ranges)
    *[(name, kw, key, value, rng)
      for name, kw, key, value, rng in [
          ("LARS", dict(lr=-0.1), "lr", "-0.1", "0.0 <= lr"),
          ("LARS", dict(weight_decay=-0.01), "weight_decay", "-0.01", "0.0 <= weight_decay"),
          ("LARS", dict(momentum=1.0), "momentum", "1.0", "0.0 <= momentum < 1.0"),
          ("LARS", dict(dampening=-0.1), "dampening", "-0.1", "0.0 <= dampening < 1.0"),
          ("LARS", dict(trust_coefficient=-1e-3), "trust_coefficient", "-0.001", "0.0 <= trust_coefficient"),
          ("LAMB", dict(lr=-0.1), "lr", "-0.1", "0.0 <= lr"),
          ("LAMB", dict(eps=-1e-6), "eps", "-1e-06", "0.0 <= eps"),
          ("LAMB", dict(weight_decay=-0.01), "weight_decay", "-0.01", "0.0 <= weight_decay"),
          ("LAMB", dict(max_grad_norm=-1.0), "max_grad_norm", "-1.0", "0.0 <= max_grad_norm"),
          ("LAMB", dict(betas=(0.9, 1.0)), "beta parameter at index 1", "1.0",
           "0.0 <= beta parameter at index 1 < 1.0")]],
    ("ScheduleFreeSGD", dict(lr=ARRAY([0.1, -0.2])), "lr", "-0.2", "0.0 <= lr"),
    # Lion (the authors' reference's ranges; lion_pytorch only asserts)
    ("Lion", dict(lr=-1e-4), "lr", "-0.0001", "0.0 <= lr"),
    ("Lion", dict(weight_decay=-0.1), "weight_decay", "-0.1", "0.0 <= weight_decay"),
    ("Lion", dict(betas=(1.0, 0.99)), "beta parameter at index 0", "1.0", "0.0 <= beta parameter at index 0 < 1.0"),
    ("Lion", dict(betas=(0.9, -0.1)), "beta parameter at index 1", "-0.1", "0.0 <= beta parameter at index 1 < 1.0"),
    ("Lion", dict(lr=ARRAY([1e-4, -1e-3])), "lr", "-0.001", "0.0 <= lr"),
    # Shampoo and SOAP (pytorch_optimizer's ranges; shampoo_beta also < 1 here, the oracle only checks >= 0)
    ("Shampoo", dict(lr=-1e-3), "lr", "-0.001", "0.0 <= lr"),
    ("Shampoo", dict(momentum=1.0), "momentum", "1.0", "0.0 <= momentum < 1.0"),
    ("Shampoo", dict(weight_decay=-0.1), "weight_decay", "-0.1", "0.0 <= weight_decay"),
    ("Shampoo", dict(preconditioning_compute_steps=0), "preconditioning_compute_steps", "0",
     "1 <= preconditioning_compute_steps"),
    ("Shampoo", dict(matrix_eps=-1e-6), "matrix_eps", "-1e-06", "0.0 <= matrix_eps"),
    ("SOAP", dict(lr=-3e-3), "lr", "-0.003", "0.0 <= lr"),
    ("SOAP", dict(betas=(0.95, 1.0)), "beta parameter at index 1", "1.0", "0.0 <= beta parameter at index 1 < 1.0"),
    ("SOAP", dict(shampoo_beta=1.5), "shampoo_beta", "1.5", "0.0 <= shampoo_beta < 1.0"),
    ("SOAP", dict(weight_decay=-0.01), "weight_decay", "-0.01", "0.0 <= weight_decay"),
    ("SOAP", dict(precondition_frequency=0), "precondition_frequency", "0", "1 <= precondition_frequency"),
    ("SOAP", dict(max_precondition_dim=0), "max_precondition_dim", "0", "1 <= max_precondition_dim"),
    ("SOAP", dict(eps=-1e-8), "eps", "-1e-08", "0.0 <= eps"),
    # Adafactor (torch.optim.Adafactor's ranges)
    ("Adafactor", dict(lr=-0.01), "lr", "-0.01", "0.0 <= lr"),
    ("Adafactor", dict(beta2_decay=0.5), "beta2_decay", "0.5", "beta2_decay <= 0.0"),
    ("Adafactor", dict(eps=(-1e-30, 1e-3)), "eps1 (eps[0])", "-1e-30", "0.0 <= eps1 (eps[0])"),
    ("Adafactor", dict(eps=(None, -1e-3)), "eps2 (eps[1])", "-0.001", "0.0 <= eps2 (eps[1])"),
    ("Adafactor", dict(d=0.5), "d", "0.5", "1.0 <= d"),
    ("Adafactor", dict(weight_decay=-0.1), "weight_decay", "-0.1", "0.0 <= weight_decay"),
    ("Adafactor", dict(lr=ARRAY([0.01, -0.1])), "lr", "-0.1", "0.0 <= lr"),
    # Muon (torch.optim.Muon's ranges; momentum also < 1 here, torch only checks >= 0: tests/test_muon.py)
    ("Muon", dict(lr=-0.1), "lr", "-0.1", "0.0 <= lr"),
    ("Muon", dict(weight_decay=-0.1), "weight_decay", "-0.1", "0.0 <= weight_decay"),
    ("Muon", dict(momentum=-0.5), "momentum", "-0.5", "0.0 <= momentum < 1.0"),
    ("Muon", dict(adjust_lr_fn="spectral"), "adjust_lr_fn", "'spectral'", "'match_rms_adamw'"),
    ("Muon", dict(lr=ARRAY([[[0.01]], [[-0.1]]])), "lr", "-0.1", "0.0 <= lr"),
    # Prodigy, DAdaptAdam (the oracles' open ranges for lr, eps, d0; ours for the rest: see optim/prodigy.py)
    *[(name, kw, key, value, rng)
      for name in ("Prodigy", "DAdaptAdam")
      for kw, key, value, rng in [(dict(lr=0.0), "lr", "0.0", "0.0 < lr"), (dict(eps=0.0), "eps", "0.0", "0.0 < eps"),
                                  (dict(d0=-1e-6), "d0", "-1e-06", "0.0 < d0"),
                                  (dict(weight_decay=-0.01), "weight_decay", "-0.01", "0.0 <= weight_decay"),
                                  (dict(growth_rate=0.9), "growth_rate", "0.9", "1.0 <= growth_rate"),
                                  (dict(betas=(0.9, 1.0)), "beta parameter at index 1", "1.0",
                                   "0.0 <= beta parameter at index 1 < 1.0"),
                                  (dict(d0=ARRAY([1e-6, 0.0])), "d0", "0.0", "0.0 < d0")]],
    ("Prodigy", dict(beta3=1.5), "beta3", "1.5", "0.0 <= beta3 <= 1.0"),
    ("Prodigy", dict(d_coef=0.0), "d_coef", "0.0", "0.0 < d_coef"),
    ("Prodigy", dict(slice_p=0), "slice_p", "0", "integer slice_p >= 1"),
    # arrays (sweeps) with one bad element: that element is named
    ("SGD", dict(lr=ARRAY([0.1, -0.2, 0.3])), "lr", "-0.2", "0.0 <= lr"),
    ("Adam", dict(eps=ARRAY([[1e-8], [-1e-3]])), "eps", "-0.001", "0.0 <= eps"),
    ("Adam", dict(betas=(ARRAY([0.9, 1.0, 0.5]), 0.999)), "beta parameter at index 0", "1.0",
     "0.0 <= beta parameter at index 0 < 1.0"),
    ("Adam", dict(betas=(0.9, ARRAY([0.999, 0.99, 1.5]))), "beta parameter at index 1", "1.5",
     "0.0 <= beta parameter at index 1 < 1.0"),
    ("Adadelta", dict(rho=ARRAY([0.9, 0.5, 1.01])), "rho", "1.01", "0.0 <= rho <= 1.0"),
    ("RMSprop", dict(momentum=ARRAY([0.0, -0.9])), "momentum", "-0.9", "0.0 <= momentum"),
    ("Adagrad", dict(lr_decay=ARRAY([0.0, -1.0])), "lr_decay", "-1.0", "0.0 <= lr_decay"),
    ("NAdam", dict(momentum_decay=ARRAY([0.004, -0.1])), "momentum_decay", "-0.1", "0.0 <= momentum_decay"),
    ("Lookahead", dict(alpha=ARRAY([0.5, 0.0])), "alpha", "0.0", "0.0 < alpha <= 1.0"),
    # Nesterov with a momentum sweep that contains 0: the scalar 0 is refused, so must the array be
    ("SGD", dict(nesterov=True, momentum=ARRAY([0.9, 0.0])), "nesterov", "0.0", "momentum > 0"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=ARRAY([0.0, 0.1])), "nesterov", "0.1", "dampening = 0"),
]


def case_id(case):
    name, kw, *_ = case
    return f"{name}-" + ",".join(f"{k}={np.asarray(v).tolist() if isinstance(v, np.ndarray) else v}"
                                 for k, v in kw.items())


def numpy_face(name, kw):
    if name == "Lookahead":
        return optim.Lookahead(optim.Adam(), **kw)
    return getattr(optim, name)(**kw)


def params():
    return [torch.zeros(3, requires_grad=True)]


def torch_face(name, kw):
    if name == "Lookahead":
        return optim.torch.Lookahead(optim.torch.Adam(params()), **kw)
    return getattr(optim.torch, name)(params(), **kw)


def assert_names(message, name, value, allowed):
    assert name in message, f"parameter {name!r} not named in {message!r}"
    assert value in message, f"value {value!r} not in {message!r}"
    assert allowed in message, f"allowed range {allowed!r} not in {message!r}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("face", [numpy_face, torch_face], ids=["numpy", "torch"])
def test_bad_hyperparameter_raises_valueerror_naming_parameter_value_and_range(face, case):
    name, kw, param, value, allowed = case
    with pytest.raises(ValueError) as info:
        face(name, kw)
    assert_names(str(info.value), param, value, allowed)


TORCH_CASES = [c for c in CASES if hasattr(torch.optim, c[0]) and c[0] != "LazyAdam"
               and not any(isinstance(v, np.ndarray) or (isinstance(v, tuple) and any(isinstance(b, np.ndarray) for b in v))
                           for v in c[1].values())]


def test_torch_comparison_covers_every_algorithm_torch_has():
    assert {c[0] for c in TORCH_CASES} == {"SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam",
                                           "Adafactor", "Muon"}


#: rows that torch.optim accepts and optim refuses (deliberately stricter): SGD checks ``lr < 0.0``,
#: which is False for NaN (Adam and the others check ``not 0.0 <= lr`` and refuse it).
TORCH_ACCEPTS = {"SGD-lr=nan"}


@pytest.mark.parametrize("case", TORCH_CASES, ids=[case_id(c) for c in TORCH_CASES])
def test_torch_optim_refuses_the_same_scalar_hyperparameters(case):
    """Where torch.optim refuses a value, both our faces raise ValueError too (and the exceptions are listed)."""
    name, kw, *_ = case
    try:
        getattr(torch.optim, name)(params(), **kw)
        torch_refuses = False
    except ValueError:
        torch_refuses = True
    assert torch_refuses == (case_id(case) not in TORCH_ACCEPTS)
    with pytest.raises(ValueError):
        getattr(optim.torch, name)(params(), **kw)
    with pytest.raises(ValueError):
        getattr(optim, name)(**kw)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam", "RAdam",
                                  "LazyAdam", "Momentum", "Nesterov"])
def test_unknown_hyperparameter_name_is_a_typeerror_in_both_faces_as_in_torch(name):
    with pytest.raises(TypeError, match="learning_rate"):
        getattr(optim, name)(learning_rate=0.1)
    with pytest.raises(TypeError, match="learning_rate"):
        getattr(optim.torch, name)(params(), learning_rate=0.1)
    if hasattr(torch.optim, name):
        with pytest.raises(TypeError):
            getattr(torch.optim, name)(params(), learning_rate=0.1)


def test_unknown_hyperparameter_of_lookahead_and_ranger_is_a_typeerror():
    with pytest.raises(TypeError):
        optim.Lookahead(optim.Adam(), K=5)
    with pytest.raises(TypeError):
        optim.Ranger(learning_rate=0.1)
    with pytest.raises(TypeError):
        optim.torch.Ranger(params(), learning_rate=0.1)


@pytest.mark.parametrize("name, kw", [
    ("SGD", dict(lr=0.0, momentum=0.0, weight_decay=0.0)), ("Nesterov", dict(momentum=1e-9)),
    ("Adam", dict(betas=(0.0, 0.0), eps=0.0, lr=0.0)), ("Adam", dict(betas=(0.999999, 0.999999))),
    ("Adadelta", dict(rho=0.0)), ("Adadelta", dict(rho=1.0)), ("RMSprop", dict(alpha=0.0)),
    ("Adagrad", dict(lr_decay=0.0, initial_accumulator_value=0.0)), ("NAdam", dict(momentum_decay=0.0)),
    ("Lookahead", dict(k=1, alpha=1.0)), ("Lookahead", dict(alpha=1e-12)), ("Ranger", dict(k=1, alpha=1.0)),
    ("SGD", dict(lr=ARRAY([0.0, 0.1]))), ("Adam", dict(betas=(ARRAY([0.0, 0.9]), 0.999))),
])
def test_values_on_the_boundary_of_the_allowed_range_are_accepted(name, kw):
    """The counter-check: the ranges are exactly the documented ones, closed where they say <=."""
    numpy_face(name, kw)
    if name not in ("Lookahead",) and not any(isinstance(v, np.ndarray) for v in kw.values()) \
            and not any(isinstance(v, tuple) and any(isinstance(b, np.ndarray) for b in v) for v in kw.values()):
        torch_face(name, kw)


def test_lookahead_wraps_only_optimizers_of_the_package():
    with pytest.raises(TypeError, match="wraps an optim optimizer"):
        optim.Lookahead(torch.optim.SGD(params(), lr=0.1))
