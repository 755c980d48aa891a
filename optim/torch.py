"""The torch face: drop-in replacements for ``torch.optim``, running the package's own rules.

    import optim.torch
    opt = optim.torch.Adam(model.parameters(), lr=1e-3)     # same arguments, same defaults
    loss.backward(); opt.step(); opt.zero_grad()

Each class here is a thin adapter around the NumPy face's class of the same name:
it takes the hyperparameters (validated by the same checks), keeps the state in
``optimizer.state[p]`` under torch's own keys (``exp_avg``, ``exp_avg_sq``, ``step``…,
so a ``torch.optim`` state dict loads into it and back), and runs the very same
update rule with :data:`INPLACE` ops, which update the optimizer's buffers and the
parameters in place — the reason it is as fast as ``torch.optim``'s default loop.
"""
from __future__ import annotations

import inspect
from collections import OrderedDict, defaultdict
from types import SimpleNamespace

import torch

import optim as optim_np

from . import OPTIMIZERS, core
from .lookahead import lookahead_sync, validate_lookahead
from .ranger import CentralizedRAdam

__all__ = [cls.__name__ for cls in OPTIMIZERS] + ["INPLACE"]


class InPlaceOps:
    """The ops of :mod:`optim.core` on tensors, writing into their first argument."""

    name = "torch"

    @staticmethod
    def lerp(a, b, w):
        return a.lerp_(b, w)

    @staticmethod
    def ema_sq(a, g, beta):
        return a.mul_(beta).addcmul_(g, g, value=1 - beta)

    @staticmethod
    def add(a, b, alpha=1.0):
        return a.add_(b, alpha=alpha)

    @staticmethod
    def plus(a, b, alpha=1.0):
        return a.add(b, alpha=alpha)

    @staticmethod
    def addcmul(a, b, c, value=1.0):
        return a.addcmul_(b, c, value=value)

    @staticmethod
    def addcdiv(a, b, c, value=1.0):
        return a.addcdiv_(b, c, value=value)

    @staticmethod
    def mul(a, b):
        return a.mul_(b)

    @staticmethod
    def copy(a, b):
        return a.copy_(b)

    @staticmethod
    def maximum(a, b):
        return torch.maximum(a, b, out=a)

    sqrt = staticmethod(torch.sqrt)

    @staticmethod
    def clone(a):
        return a.detach().clone()

    @staticmethod
    def zeros_like(p):
        return torch.zeros_like(p, memory_format=torch.preserve_format)

    @staticmethod
    def full_like(p, value):
        return torch.full_like(p, value, memory_format=torch.preserve_format)

    @staticmethod
    def counter(value):
        # torch.optim keeps step counts (and NAdam's mu_product) as 0-d tensors of
        # the default scalar dtype: float32 unless the default dtype is float64.
        dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
        return torch.tensor(value, dtype=dtype)

    @staticmethod
    def value(c):
        return c.item() if isinstance(c, torch.Tensor) else c

    @staticmethod
    def centralize(g, conv_only=False):
        """Gradient centralization: centre each weight matrix/kernel over all axes but the first."""
        if g.dim() <= (3 if conv_only else 1):
            return g
        return g - g.mean(dim=tuple(range(1, g.dim())), keepdim=True)

    @staticmethod
    def is_sparse(g):
        return g.is_sparse

    @staticmethod
    def coalesce(g):
        g = g.coalesce()
        return g._indices()[0], g._values()

    @staticmethod
    def rows(a, idx):
        return a.index_select(0, idx)

    @staticmethod
    def set_rows(a, idx, values):
        return a.index_copy_(0, idx, values)


INPLACE = InPlaceOps()


class Slots(SimpleNamespace):
    """The rule's view of ``optimizer.state[p]``: readable names over torch's keys.

    Read once before the rule runs and written back after it (plain attribute
    access is much cheaper than a ``__getattr__`` hook, and this runs per tensor).
    """

    @classmethod
    def load(cls, state: dict, keys: dict) -> "Slots":
        return cls(**{name: state.get(key) for name, key in keys.items()})

    def store(self, state: dict, keys: dict) -> None:
        for name, key in keys.items():
            value = getattr(self, name)
            if value is not None:
                state[key] = value


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose step runs the rule of ``spec`` (a NumPy-face class)."""

    spec: type[core.Optimizer]
    supports_sparse = False

    def __init__(self, params, **hyper):
        # same checks as the NumPy face: ValueError naming parameter, value and range
        self.spec(**{**self.spec.defaults, **hyper})
        super().__init__(params, {**self.spec.defaults, **hyper})

    def _init_state(self, p, state, h):
        fields = self.spec.init_state(p, h, INPLACE)
        for name, value in fields.items():
            if value is not None:
                state[self.spec.torch_keys.get(name, name)] = value

    @torch.no_grad()
    def step(self, closure=None):
        """One step for every parameter that has a gradient; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if not self.supports_sparse and any(p.grad is not None and p.grad.is_sparse
                                            for group in self.param_groups for p in group["params"]):
            # checked before any parameter moves, so a refused step changes nothing
            raise RuntimeError(f"{type(self).__name__} does not support sparse gradients"
                               " (use optim.torch.LazyAdam for embeddings)")
        keys = self.spec.torch_keys
        for group in self.param_groups:
            h = core.Hyper({**group, **self.spec.fixed})
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(p, state, h)
                slots = Slots.load(state, keys)
                self.spec.update(p, p.grad, slots, h, INPLACE)
                slots.store(state, keys)
        return loss


#: torch.optim's implementation switches: accepted so that code written for torch runs
#: unchanged; the rule always runs as one in-place loop, so they change nothing.
TORCH_SWITCHES = dict(foreach=None, fused=None, capturable=False, differentiable=False)


def _torch_class(spec: type[core.Optimizer], **attrs) -> type:
    """The torch face of ``spec``: same name, same keyword arguments, same defaults."""
    names = list(spec.defaults)

    def __init__(self, params, *args, **hyper):
        hyper.update(zip(names, args))
        for switch in TORCH_SWITCHES:
            if hyper.pop(switch, None):
                if switch in ("capturable", "differentiable"):
                    raise ValueError(f"Invalid {switch}=True (allowed: False; optim.torch runs eagerly)")
        RuleOptimizer.__init__(self, params, **hyper)

    P = inspect.Parameter
    __init__.__signature__ = inspect.Signature(
        [P("self", P.POSITIONAL_OR_KEYWORD), P("params", P.POSITIONAL_OR_KEYWORD)]
        + [P(k, P.POSITIONAL_OR_KEYWORD, default=v) for k, v in spec.defaults.items()]
        + [P(k, P.KEYWORD_ONLY, default=v) for k, v in TORCH_SWITCHES.items()])
    doc = (f"torch face of :class:`optim.{spec.__name__}` — drop-in for ``torch.optim``.\n\n"
           f"{inspect.getdoc(spec.update)}")
    return type(spec.__name__, (RuleOptimizer,), dict(spec=spec, __init__=__init__, __doc__=doc,
                                                       __module__=__name__, **attrs))


SGD = _torch_class(optim_np.SGD)
Momentum = _torch_class(optim_np.Momentum)
Nesterov = _torch_class(optim_np.Nesterov)
Adagrad = _torch_class(optim_np.Adagrad)
Adadelta = _torch_class(optim_np.Adadelta)
RMSprop = _torch_class(optim_np.RMSprop)
Adam = _torch_class(optim_np.Adam)
AdamW = _torch_class(optim_np.AdamW)
NAdam = _torch_class(optim_np.NAdam)
RAdam = _torch_class(optim_np.RAdam)
LazyAdam = _torch_class(optim_np.LazyAdam, supports_sparse=True)
_CentralizedRAdam = _torch_class(CentralizedRAdam)


class Lookahead(torch.optim.Optimizer):
    """Lookahead around any ``torch.optim.Optimizer``: ``Lookahead(Adam(model.parameters()), k=5, alpha=0.5)``.

    The slow weights start as a copy of the parameters at construction time and
    are synchronised after steps k, 2k, … (see :mod:`optim.lookahead`). They are part
    of :meth:`state_dict`, so a restored run continues exactly.
    """

    def __init__(self, base_optimizer: torch.optim.Optimizer, k: int = 5, alpha: float = 0.5):
        validate_lookahead(k, alpha)
        # torch.optim.Optimizer.__init__ would build its own param_groups; ours are the base's.
        for hooks in ("step_pre", "step_post", "state_dict_pre", "state_dict_post",
                      "load_state_dict_pre", "load_state_dict_post"):
            setattr(self, f"_optimizer_{hooks}_hooks", OrderedDict())
        self.base_optimizer, self.k, self.alpha = base_optimizer, k, alpha
        self.defaults = {**base_optimizer.defaults, "k": k, "alpha": alpha}
        self.fast_steps = 0
        self.state = defaultdict(dict)
        for p in self._params():
            self.state[p]["slow_param"] = p.detach().clone()
        self._patch_step_function()

    @property
    def param_groups(self):
        return self.base_optimizer.param_groups

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    @torch.no_grad()
    def step(self, closure=None):
        loss = self.base_optimizer.step(closure)
        self.fast_steps += 1
        if self.fast_steps % self.k == 0:
            for p in self._params():
                if p.grad is not None:  # like the base step (and pytorch-optimizer): no gradient, no change
                    lookahead_sync(p, self.state[p]["slow_param"], self.alpha, INPLACE)
        return loss

    def zero_grad(self, set_to_none: bool = True):
        self.base_optimizer.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group):
        self.base_optimizer.add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            self.state[p]["slow_param"] = p.detach().clone()

    def state_dict(self):
        return {"base": self.base_optimizer.state_dict(), "k": self.k, "alpha": self.alpha,
                "fast_steps": self.fast_steps,
                "slow_params": [self.state[p]["slow_param"].clone() for p in self._params()]}

    def load_state_dict(self, state_dict):
        params = self._params()
        if len(state_dict["slow_params"]) != len(params):
            raise ValueError(f"Invalid state_dict: {len(state_dict['slow_params'])} slow weights "
                             f"for {len(params)} parameters")
        self.base_optimizer.load_state_dict(state_dict["base"])
        self.k, self.alpha, self.fast_steps = state_dict["k"], state_dict["alpha"], state_dict["fast_steps"]
        for p, slow in zip(params, state_dict["slow_params"]):
            self.state[p]["slow_param"] = slow.to(device=p.device, dtype=p.dtype).clone()

    def __repr__(self):
        return f"Lookahead({self.base_optimizer!r}, k={self.k}, alpha={self.alpha})"


class Ranger(Lookahead):
    """Ranger: Lookahead(RAdam with gradient centralization), with Less Wright's defaults.

    See :mod:`optim.ranger` for where each default comes from.
    """

    def __init__(self, params, lr=1e-3, betas=(0.95, 0.999), eps=1e-5, weight_decay=0.0,
                 k=6, alpha=0.5, use_gc=True, gc_conv_only=False):
        inner = _CentralizedRAdam(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                  use_gc=use_gc, gc_conv_only=gc_conv_only)
        super().__init__(inner, k=k, alpha=alpha)
