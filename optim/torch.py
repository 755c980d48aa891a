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
``foreach=True`` runs the same rule once per group of tensors on :class:`TensorList` objects (one
``torch._foreach_*`` call per operation), ``fused=True`` compiles it with ``torch.compile`` (chapter
*How fast can a step be?*).
"""
from __future__ import annotations

import inspect
import logging
import operator
import warnings
from collections import OrderedDict, defaultdict
from types import SimpleNamespace

import numpy as np
import torch

import optim as optim_np

from . import OPTIMIZERS, core
from .lookahead import lookahead_sync, validate_lookahead
from .ranger import CentralizedRAdam
from . import schedulefree as _sf

#: the NumPy face's optimizers, then what only the torch face has: 8-bit state (chapter "memory")
#: and bf16 weights (chapter "precision"), which change how a rule's numbers are stored, not the rule
TORCH_ONLY = ["Adam8bit", "AdamW8bit", "low_precision"]
__all__ = [cls.__name__ for cls in OPTIMIZERS] + ["INPLACE"] + TORCH_ONLY


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

    # --- beyond element-wise (Part 7): these return new tensors. A parameter is one tensor, so
    # ``norm``/``dot`` reduce over all of it (the NumPy face: over its last axis, one run's tensor);
    # matrix ops act on the last two dimensions, as in the NumPy face.
    sign = staticmethod(torch.sign)

    @staticmethod
    def norm(a):
        return torch.linalg.vector_norm(a)

    @staticmethod
    def dot(a, b):
        # two tensors of one shape: torch.dot, the reduction Prodigy's and D-Adaptation's oracles use (float32
        # parity depends on the summation order: their numerator is a sum with heavy cancellation)
        if isinstance(b, torch.Tensor) and b.shape == a.shape and b.dtype == a.dtype:
            return torch.dot(a.reshape(-1), b.reshape(-1))
        return torch.sum(a * b)

    matmul = staticmethod(torch.matmul)

    @staticmethod
    def mT(a):
        return a.mT

    @staticmethod
    def matrix_norm(a):
        return torch.linalg.matrix_norm(a, keepdim=True)

    @staticmethod
    def mean(a, axis):
        return a.mean(dim=axis, keepdim=True)

    @staticmethod
    def eigh(a):
        return torch.linalg.eigh(a)

    where = staticmethod(torch.where)

    # Shampoo and SOAP (optim/shampoo.py)
    @staticmethod
    def eye(n, like):
        return torch.eye(n, dtype=like.dtype, device=like.device)

    @staticmethod
    def flip(a, axis):
        return torch.flip(a, (axis,))

    @staticmethod
    def qr(a, float32=False):
        return torch.linalg.qr(a.to(torch.float32) if float32 else a)[0].to(a.dtype)

    @staticmethod
    def argsort(a):
        return torch.argsort(a, dim=-1)

    @staticmethod
    def take_along(a, idx, axis):
        return torch.take_along_dim(a, idx, dim=axis)

    @staticmethod
    def every(a, k):
        """Every k-th entry of the flattened tensor (a view for k = 1 and a contiguous tensor)."""
        return a.flatten()[::k]


INPLACE = InPlaceOps()


class SparseOps(InPlaceOps):
    """The ops for a sparse gradient (``nn.Embedding(sparse=True)``): as torch.optim.Adagrad's sparse path.

    Where the gradient enters a product with a dense buffer, only its rows are
    touched: ``V ← V + g²`` adds the squares at g's indices, and ``w ← w + v·g/d``
    divides g's values by d at those indices. The rest are :class:`InPlaceOps`, which
    already accept a sparse second argument (``w.add_(g)``, ``g.clone()``).
    """

    @staticmethod
    def addcmul(a, b, c, value=1.0):
        if not b.is_sparse:
            return a.addcmul_(b, c, value=value)
        b = b.coalesce()
        values = b._values() * c.coalesce()._values() if c is not b else b._values().pow(2)
        return a.add_(torch.sparse_coo_tensor(b._indices(), values, b.shape, check_invariants=False), alpha=value)

    @staticmethod
    def addcdiv(a, b, c, value=1.0):
        if not b.is_sparse:
            return a.addcdiv_(b, c, value=value)
        b = b.coalesce()
        values = b._values() / c.sparse_mask(b)._values()
        return a.add_(torch.sparse_coo_tensor(b._indices(), values, b.shape, check_invariants=False), alpha=value)


SPARSE = SparseOps()


# ---------------------------------------------------------------- many tensors at once (chapter "speed")
def _ts(o):
    """The tensors of a TensorList, or the number itself."""
    return o.ts if type(o) is TensorList else o


def _pairs(a, o):
    """(a_i, o_i) for a TensorList a and a TensorList or number o."""
    return zip(a.ts, o.ts) if type(o) is TensorList else ((t, o) for t in a.ts)


_compiling = torch.compiler.is_compiling


def _elementwise(per_tensor, foreach):
    """A TensorList operator ``a ∘ o``: one ``foreach`` call; compiled (or with a tensor ``o``),
    one ``per_tensor`` op per tensor, which Inductor fuses."""
    def op(self, o):
        if _compiling() or isinstance(o, torch.Tensor):
            return TensorList([per_tensor(t, u) for t, u in _pairs(self, o)])
        return TensorList(foreach(self.ts, _ts(o)))
    return op


def _in_place(per_tensor, foreach):
    """A TensorList operator ``a ∘= o``, writing into a's tensors (as ``s.t += 1`` is on a tensor)."""
    def op(self, o):
        if _compiling():
            for t, u in _pairs(self, o):
                per_tensor(t, u)
        else:
            foreach(self.ts, _ts(o))
        return self
    return op


class TensorList:
    """Several tensors that a rule treats as one: every operator is one ``torch._foreach_*`` call.

    ``foreach=True`` hands the rule TensorLists instead of tensors, so the *same* rule runs once
    per group of tensors (same device, dtype and step count), and each of its operations is one
    multi-tensor kernel launch instead of one launch per tensor. On CPU torch's ``_foreach_*`` ops
    call the single-tensor kernel per tensor, so the numbers are the default loop's, bit for bit.
    """

    __slots__ = ("ts",)

    def __init__(self, ts):
        self.ts = list(ts)

    def __len__(self):
        return len(self.ts)

    def __iter__(self):
        return iter(self.ts)

    def __getitem__(self, i):
        return self.ts[i]

    def __repr__(self):
        return f"TensorList({len(self.ts)} tensors)"

    # a + b, a - b, a * b, a / b, a ** b with a number or another TensorList of the same length
    __add__ = __radd__ = _elementwise(operator.add, torch._foreach_add)
    __sub__ = _elementwise(operator.sub, torch._foreach_sub)
    __mul__ = __rmul__ = _elementwise(operator.mul, torch._foreach_mul)
    __truediv__ = _elementwise(operator.truediv, torch._foreach_div)

    def __rsub__(self, o):          # o - a: torch's rsub is o + (-a), exact either way
        if _compiling() or isinstance(o, torch.Tensor):
            return TensorList([o - t for t in self.ts])
        return TensorList(torch._foreach_add(torch._foreach_neg(self.ts), o))

    def __rtruediv__(self, o):      # o / a: torch's Tensor.__rtruediv__ is a.reciprocal() * o
        if _compiling() or isinstance(o, torch.Tensor):
            return TensorList([o / t for t in self.ts])
        out = torch._foreach_reciprocal(self.ts)
        torch._foreach_mul_(out, o)
        return TensorList(out)

    def __pow__(self, o):
        if _compiling():
            return TensorList([t ** u for t, u in _pairs(self, o)])
        return TensorList(torch._foreach_pow(self.ts, _ts(o)))

    def __neg__(self):
        if _compiling():
            return TensorList([-t for t in self.ts])
        return TensorList(torch._foreach_neg(self.ts))

    # in place, as ``s.t += 1`` is on a tensor
    __iadd__ = _in_place(torch.Tensor.add_, torch._foreach_add_)
    __isub__ = _in_place(torch.Tensor.sub_, torch._foreach_sub_)
    __imul__ = _in_place(torch.Tensor.mul_, torch._foreach_mul_)
    __itruediv__ = _in_place(torch.Tensor.div_, torch._foreach_div_)


class ForeachOps(InPlaceOps):
    """The element-wise ops of :class:`InPlaceOps` on TensorLists: one ``torch._foreach_*`` call each.

    Only element-wise rules run with these (see ``RuleOptimizer.elementwise``); the matrix and
    norm ops are not here, so a rule that needs them fails loudly rather than silently.
    """

    name = "torch-foreach"

    @staticmethod
    def lerp(a, b, w):
        torch._foreach_lerp_(a.ts, b.ts, w)
        return a

    @staticmethod
    def ema_sq(a, g, beta):
        torch._foreach_mul_(a.ts, beta)
        torch._foreach_addcmul_(a.ts, g.ts, g.ts, value=1 - beta)
        return a

    @staticmethod
    def add(a, b, alpha=1.0):
        if type(b) is TensorList:
            torch._foreach_add_(a.ts, b.ts, alpha=alpha)
        else:                       # a number: as Tensor.add_(number, alpha=...), tensor by tensor
            for t in a.ts:
                t.add_(b, alpha=alpha)
        return a

    @staticmethod
    def plus(a, b, alpha=1.0):
        return TensorList(torch._foreach_add(a.ts, b.ts, alpha=alpha))

    @staticmethod
    def addcmul(a, b, c, value=1.0):
        torch._foreach_addcmul_(a.ts, b.ts, c.ts, value=value)
        return a

    @staticmethod
    def addcdiv(a, b, c, value=1.0):
        torch._foreach_addcdiv_(a.ts, b.ts, c.ts, value=value)
        return a

    @staticmethod
    def mul(a, b):
        torch._foreach_mul_(a.ts, _ts(b))
        return a

    @staticmethod
    def copy(a, b):
        torch._foreach_copy_(a.ts, b.ts)
        return a

    @staticmethod
    def maximum(a, b):
        torch._foreach_maximum_(a.ts, b.ts)
        return a

    @staticmethod
    def sqrt(a):
        return TensorList(torch._foreach_sqrt(a.ts))

    @staticmethod
    def sign(a):
        return TensorList(torch._foreach_sign(a.ts))

    @staticmethod
    def clone(a):
        return TensorList([t.detach().clone() for t in a.ts])

    @staticmethod
    def value(c):
        """A counter the group shares (its tensors are grouped by it): the first one's number."""
        if type(c) is TensorList:
            return c.ts[0].item()
        return c

    @staticmethod
    def centralize(g, conv_only=False):
        return TensorList([InPlaceOps.centralize(t, conv_only) for t in g.ts])

    @staticmethod
    def is_sparse(g):
        return False


FOREACH = ForeachOps()


class FusedOps(InPlaceOps):
    """The ops inside the compiled step (``fused=True``), on single tensors. Counters and the learning
    rate arrive as 0-d float64 tensors (so a new step count or a scheduled lr does not recompile), and
    so do the scalars the rule computes from them: they enter only as factors of a product."""

    name = "torch-fused"

    @staticmethod
    def value(c):
        return c

    lerp = staticmethod(lambda a, b, w: a.add_((b - a) * w))
    ema_sq = staticmethod(lambda a, g, beta: a.mul_(beta).add_(g * g * (1 - beta)))
    add = staticmethod(lambda a, b, alpha=1.0: a.add_(b * alpha))
    plus = staticmethod(lambda a, b, alpha=1.0: a + b * alpha)
    addcmul = staticmethod(lambda a, b, c, value=1.0: a.add_(b * c * value))
    addcdiv = staticmethod(lambda a, b, c, value=1.0: a.add_(b * value / c))
    mul = staticmethod(lambda a, b: a.mul_(b))
    maximum = staticmethod(lambda a, b: a.copy_(torch.maximum(a, b)))


def _group_key(p, state: dict, keys: dict) -> tuple:
    """Tensors that can share one multi-tensor step: same device and dtypes, same state layout,
    same counters (step, NAdam's μ product, ...). A counter is any state entry that is not a
    buffer of p's shape; for a 0-d parameter every entry counts, so it keeps to itself."""
    sig = []
    for key in keys.values():
        v = state.get(key)
        if v is None:
            sig.append(None)
        elif isinstance(v, torch.Tensor):
            sig.append("T" if v.shape == p.shape and p.ndim else v.item())
        else:
            sig.append(("n", v))
    return p.device, p.dtype, p.grad.dtype, p.grad.layout, tuple(sig)


def _load_many(states: list, keys: dict) -> Slots:
    """One Slots for a group of tensors: a TensorList per tensor entry, a number the group shares."""
    fields = {}
    for name, key in keys.items():
        v = states[0].get(key)
        fields[name] = TensorList([s[key] for s in states]) if isinstance(v, torch.Tensor) else v
    return Slots(**fields)


def _store_many(slots: Slots, states: list, keys: dict) -> None:
    for name, key in keys.items():
        v = getattr(slots, name)
        if v is None:
            continue
        if type(v) is TensorList:
            for s, t in zip(states, v.ts):
                s[key] = t
        elif isinstance(s0 := states[0].get(key), torch.Tensor) and s0.dim() == 0:
            for s in states:        # a counter the fused step computed as a number
                s[key].fill_(v)
        else:
            for s in states:
                s[key] = v


class _Fields:
    """A plain attribute bag (Slots and core.Hyper, as torch.compile can build them inside a graph)."""


def _fused_body(update, ps, gs, tensors, numbers, hyper):
    """What ``fused=True`` compiles: the rule on each tensor of the group in turn (the loop unrolls into
    one graph), counters as 0-d tensors shared by the group (see ``RuleOptimizer._fused``)."""
    h = _Fields()
    for k, v in hyper.items():
        setattr(h, k, v)
    if "betas" in hyper:
        h.beta1, h.beta2 = hyper["betas"]
    out = {k: [] for k in list(tensors) + list(numbers)}
    for i in range(len(ps)):
        slots = _Fields()
        for k, v in tensors.items():
            setattr(slots, k, v[i])
        for k, v in numbers.items():
            setattr(slots, k, v.clone() if isinstance(v, torch.Tensor) else v)
        update(ps[i], gs[i], slots, h, FUSED)
        for k in out:
            out[k].append(getattr(slots, k))
    return {k: (v if k in tensors or (v and isinstance(v[0], torch.Tensor) and v[0].dim())
                else (v[0] if v else None)) for k, v in out.items()}


FUSED = FusedOps()
#: Inductor options for fused=True: realise a scalar computed from the step count (a bias correction) once
#: when several tensors use it, instead of recomputing its pow/sqrt for every vector of every tensor
_FUSED_OPTIONS = {"realize_opcount_threshold": 4}


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
    """A ``torch.optim.Optimizer`` whose step runs the rule of ``spec`` (a NumPy-face class).

    Its param groups hold the keys ``torch.optim``'s class holds (the hyperparameters,
    ``maximize``, and the implementation switches ``foreach``, ``fused``, ``capturable``,
    ``differentiable`` where torch's class has them), with torch's defaults.
    """

    spec: type[core.Optimizer]
    #: the implementation switches torch's class takes, with their defaults (see :data:`SIGNATURES`)
    switches: dict = {}
    #: values the variant fixes that torch's class still shows in its groups (AdamW: decoupled_weight_decay=True)
    group_fixed: dict = {}
    supports_sparse = False

    def __init__(self, params, **hyper):
        switches = {key: hyper.pop(key) for key in list(hyper) if key in self.switches}
        check_switches(type(self).__name__, switches)
        # same checks as the NumPy face: ValueError naming parameter, value and range
        self.spec(**{**self.spec.defaults, **hyper})
        check_torch_scalars(hyper)
        super().__init__(params, {**self.spec.defaults, **hyper, **self.switches, **switches,
                                  **self.group_fixed})
        self._warned = set()
        self._warn_ignored_switches(stacklevel=4)

    #: the rule is element-wise (no norms, matmuls, sums over a tensor): foreach=True and fused=True run it
    #: over a whole group of tensors at once (set by :func:`_torch_class`; see :data:`MULTI_TENSOR`)
    elementwise = False
    #: what foreach=None means: the loop (torch.optim's choice on a CPU), or the multi-tensor path
    default_foreach = False

    def _multi_tensor_ok(self, group) -> bool:
        """foreach/fused are honoured for element-wise rules that keep the per-tensor hooks, with number
        hyperparameters (a tensor lr takes the loop, which computes in its dtype as torch's loop does)."""
        return (self.elementwise and type(self)._tensor_update is RuleOptimizer._tensor_update
                and type(self)._group_values is RuleOptimizer._group_values
                and not any(isinstance(v, torch.Tensor) for k, v in group.items() if k != "params"))

    def _warn_ignored_switches(self, stacklevel):
        """foreach=True / fused=True are honoured by element-wise rules; the others accept them (code written
        for torch runs) and say once per optimizer that they run the per-tensor loop."""
        if self.elementwise and type(self)._tensor_update is RuleOptimizer._tensor_update \
                and type(self)._group_values is RuleOptimizer._group_values:
            return
        for group in self.param_groups:
            for switch in IGNORED_SWITCHES:
                if group.get(switch) and switch not in self._warned:
                    self._warned.add(switch)
                    warnings.warn(
                        f"optim.torch.{type(self).__name__}: {switch}=True is ignored; its rule is not "
                        f"element-wise (or it overrides the per-tensor update), so optim.torch runs it as one "
                        f"in-place loop over the tensors (torch.optim's foreach=False, fused=False "
                        f"implementation)", UserWarning, stacklevel=stacklevel)

    def _multi_tensor_step(self, group, h, keys, fused: bool) -> None:
        """foreach/fused: the rule once per bucket of tensors that share device, dtypes and counters."""
        buckets = {}
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            state = self.state[p]
            if not state:
                self._init_state(p, state, h)
            if g.is_sparse:                       # sparse rows keep the loop (LazyAdam, SGD, Adagrad)
                slots = Slots.load(state, keys)
                self._tensor_update(p, g, slots, h, SPARSE, None)
                slots.store(state, keys)
                continue
            buckets.setdefault(_group_key(p, state, keys), []).append(p)
        for key, ps in buckets.items():
            states = [self.state[p] for p in ps]
            if fused and ps[0].ndim:              # (a 0-d parameter's buffers look like counters: foreach)
                self._fused(key, ps, states, h, keys)
            else:
                slots = _load_many(states, keys)
                self.spec.update(TensorList(ps), TensorList([p.grad for p in ps]), slots, h, FOREACH)
                _store_many(slots, states, keys)

    #: tensors per compiled call of fused=True: chunks of equal shapes share one compiled graph, which
    #: keeps compiling short (the rule is traced once per tensor of a chunk); each call costs ~0.1 ms
    FUSED_CHUNK = 32

    def _fused(self, key, ps, states, h, keys) -> None:
        """fused=True: the rule under ``torch.compile``, tensor by tensor over chunks of a bucket (Inductor
        makes one pass over memory per tensor), compiled lazily once per optimizer and chunk layout, then
        reused. Counters and lr go in as 0-d float64 tensors, so a new step count or lr does not recompile."""
        hyper = {k: v for k, v in h.__dict__.items() if k not in ("beta1", "beta2")}
        hyper["lr"] = torch.tensor(float(hyper["lr"]), dtype=torch.float64)   # a scheduled lr: no recompiling
        compiled_fns = self.__dict__.setdefault("_compiled", {})
        for start in range(0, len(ps), self.FUSED_CHUNK):
            chunk, chunk_states = ps[start:start + self.FUSED_CHUNK], states[start:start + self.FUSED_CHUNK]
            tensors, numbers = {}, {}
            for name, k in keys.items():
                v = chunk_states[0].get(k)
                if isinstance(v, torch.Tensor) and v.shape == chunk[0].shape and chunk[0].ndim:
                    tensors[name] = [s[k] for s in chunk_states]
                else:
                    numbers[name] = v.to(torch.float64) if isinstance(v, torch.Tensor) else v
            layout = (key[:4] + tuple(type(v) for v in numbers.values()) + tuple(tensors)
                      + tuple(p.shape for p in chunk))
            compiled = compiled_fns.get(layout)
            if compiled is None:
                body = _fused_body
                code = body.__code__.replace(co_name=f"fused_step_{id(self)}_{len(compiled_fns)}")  # own cache
                fn = type(body)(code, body.__globals__, code.co_name, body.__defaults__, body.__closure__)
                compiled = compiled_fns[layout] = torch.compile(fn, options=_FUSED_OPTIONS)
            out = compiled(self.spec.update, chunk, [p.grad for p in chunk], tensors, numbers, hyper)
            slots = Slots(**{k: (TensorList(v) if isinstance(v, list) else v) for k, v in out.items()})
            _store_many(slots, chunk_states, keys)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        check_switches(type(self).__name__, {k: group[k] for k in self.switches if k in group})
        if hasattr(self, "_warned"):          # torch's __init__ adds the first groups through here
            self._warn_ignored_switches(stacklevel=3)

    def __setstate__(self, state):
        """Also what ``load_state_dict`` calls: groups saved without some key (an older checkpoint,
        an older torch) get the default, as torch.optim's classes do."""
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in self.defaults.items():
                group.setdefault(key, value)
        if not hasattr(self, "_warned"):
            self._warned = set()
        self._warn_ignored_switches(stacklevel=4)

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
        self._refuse_sparse()
        keys = self.spec.torch_keys
        for group in self.param_groups:
            h = core.Hyper(hyper_of(group, self.spec.fixed))
            foreach = group.get("foreach")
            if (group.get("fused") or (self.default_foreach if foreach is None else foreach)) \
                    and self._multi_tensor_ok(group):
                self._multi_tensor_step(group, h, keys, bool(group.get("fused")))
                continue
            shared = self._group_values(group, h)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(p, state, h)
                slots = Slots.load(state, keys)
                self._tensor_update(p, p.grad, slots, h, SPARSE if p.grad.is_sparse else INPLACE, shared)
                slots.store(state, keys)
        return loss

    def _refuse_sparse(self) -> None:
        """Checked before any parameter moves, so a refused step changes nothing."""
        if not self.supports_sparse and any(p.grad is not None and p.grad.is_sparse
                                            for group in self.param_groups for p in group["params"]):
            raise RuntimeError(f"{type(self).__name__} does not support sparse gradients"
                               " (use optim.torch.LazyAdam for embeddings; SGD and Adagrad"
                               " take them too, as in torch.optim)")

    # Two hooks for rules with values shared by a whole param group (Schedule-Free's averaging
    # weight): computed once per group, before its tensors, and handed to each tensor's update.
    def _group_values(self, group: dict, h: core.Hyper):
        """What the group's tensors share this step (nothing for an element-wise rule)."""
        return None

    def _tensor_update(self, p, g, slots, h, ops, shared) -> None:
        self.spec.update(p, g, slots, h, ops)


def hyper_of(group: dict, fixed: dict) -> dict:
    """The rule's hyperparameters from a param group: the group wins over the variant's fixed values
    (as in torch, where ``AdamW``'s group says ``decoupled_weight_decay=True``). A tensor ``lr`` stays a
    tensor, as in torch.optim's default loop (Adam, NAdam compute their step size in its dtype)."""
    return {**fixed, **group}


def check_torch_scalars(hyper: dict) -> None:
    """What the torch face refuses beyond the shared checks: a tensor or array hyperparameter must hold one
    number (torch: "Tensor lr must be 1-element"); sweeps over arrays belong to the NumPy face."""
    for key, value in hyper.items():
        for v in (value if key == "betas" and isinstance(value, (tuple, list)) else (value,)):
            if isinstance(v, torch.Tensor) and v.numel() != 1:
                raise ValueError(f"Invalid {key}: a tensor of {v.numel()} elements (allowed: a number or "
                                 f"a 1-element tensor, as in torch.optim)")
            if isinstance(v, np.ndarray) and v.size != 1:
                raise ValueError(f"Invalid {key}: an array of shape {v.shape} (allowed: a number; a sweep "
                                 f"over an array of hyperparameters is the NumPy face's)")


#: the implementation switches of torch.optim: ``foreach``/``fused`` select faster kernels for the same
#: rule (honoured by element-wise rules, see ``RuleOptimizer._multi_tensor_step``; the others warn once
#: and run the loop); ``capturable``/``differentiable`` change what a step may be used for (refused).
IGNORED_SWITCHES = ("foreach", "fused")
REFUSED_SWITCHES = ("capturable", "differentiable")


def check_switches(name: str, switches: dict) -> None:
    for key, value in switches.items():
        if key in ("foreach", "fused"):
            if value is not None and not isinstance(value, bool):
                raise core.HyperparameterTypeError(f"Invalid {key}: {value!r} (expected None, True or False)")
        elif key in REFUSED_SWITCHES:
            if not isinstance(value, bool):
                raise core.HyperparameterTypeError(f"Invalid {key}: {value!r} (expected True or False)")
            if value:
                raise ValueError(f"Invalid {key}=True (allowed: False; optim.torch.{name} runs eagerly, "
                                 f"outside CUDA graphs and autograd)")
    if switches.get("fused") and switches.get("foreach"):   # torch's own check
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


#: torch.optim 2.13's signatures, argument for argument: the positional ones, then after ``*`` the
#: keyword-only ones. The hyperparameters' defaults are the NumPy face's (tests check them against
#: torch's); the switches default to torch's: foreach=None, fused=None, capturable=False,
#: differentiable=False.
SIGNATURES = {
    "SGD": "lr momentum dampening weight_decay nesterov * maximize foreach differentiable fused",
    "Adagrad": "lr lr_decay weight_decay initial_accumulator_value eps foreach * maximize differentiable fused",
    "Adadelta": "lr rho eps weight_decay foreach * capturable maximize differentiable",
    "RMSprop": "lr alpha eps weight_decay momentum centered capturable foreach maximize differentiable",
    "Adam": "lr betas eps weight_decay amsgrad * foreach maximize capturable differentiable fused "
            "decoupled_weight_decay",
    "AdamW": "lr betas eps weight_decay amsgrad * maximize foreach capturable differentiable fused",
    "NAdam": "lr betas eps weight_decay momentum_decay decoupled_weight_decay * foreach maximize capturable "
             "differentiable",
    "RAdam": "lr betas eps weight_decay decoupled_weight_decay * foreach maximize capturable differentiable",
}
SWITCH_DEFAULTS = dict(foreach=None, fused=None, capturable=False, differentiable=False)
#: the classes whose rule is element-wise: foreach=True / fused=True run it over a group of tensors at once
#: (the others -- norms, matrices, a d shared by all tensors -- keep the per-tensor loop and say so)
MULTI_TENSOR = ("SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "NAdam",
                "RAdam", "LazyAdam", "Lion", "CentralizedRAdam")
#: kept for code that imported it: every switch some torch.optim class has
TORCH_SWITCHES = SWITCH_DEFAULTS


def _torch_class(spec: type[core.Optimizer], signature: str | None = None, **attrs) -> type:
    """The torch face of ``spec``: same name, same arguments (in torch's order), same defaults.

    ``signature`` is torch's (:data:`SIGNATURES`); without it (classes torch lacks) the
    hyperparameters in ``spec.defaults`` order, all positional, and no switches.
    """
    names = signature.split() if signature else list(spec.defaults)
    switches = {k: SWITCH_DEFAULTS[k] for k in names if k in SWITCH_DEFAULTS}
    defaults = {**spec.defaults, **spec.fixed, **switches}
    missing = set(names) - set(defaults) - {"*"}
    assert not missing and set(spec.defaults) <= set(names), (spec.__name__, missing)
    P = inspect.Parameter
    parameters, kind = [P("self", P.POSITIONAL_OR_KEYWORD), P("params", P.POSITIONAL_OR_KEYWORD)], \
        P.POSITIONAL_OR_KEYWORD
    for k in names:
        if k == "*":
            kind = P.KEYWORD_ONLY
        else:
            parameters.append(P(k, kind, default=defaults[k]))
    sig = inspect.Signature(parameters)

    def __init__(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)        # TypeError for an unknown or repeated argument, as torch
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        del arguments["self"]
        RuleOptimizer.__init__(self, arguments.pop("params"), **arguments)

    __init__.__signature__ = sig
    doc = (f"torch face of :class:`optim.{spec.__name__}` — drop-in for ``torch.optim``.\n\n"
           f"{inspect.getdoc(spec.update)}")
    attrs.setdefault("elementwise", spec.__name__ in MULTI_TENSOR)
    return type(spec.__name__, (RuleOptimizer,), dict(spec=spec, switches=switches, __init__=__init__,
                                                       __doc__=doc, __module__=__name__, **attrs))


SGD = _torch_class(optim_np.SGD, SIGNATURES["SGD"], supports_sparse=True)
Momentum = _torch_class(optim_np.Momentum, SIGNATURES["SGD"], supports_sparse=True)
Nesterov = _torch_class(optim_np.Nesterov, SIGNATURES["SGD"], supports_sparse=True)
Adagrad = _torch_class(optim_np.Adagrad, SIGNATURES["Adagrad"], supports_sparse=True)
Adadelta = _torch_class(optim_np.Adadelta, SIGNATURES["Adadelta"])
RMSprop = _torch_class(optim_np.RMSprop, SIGNATURES["RMSprop"])
Adam = _torch_class(optim_np.Adam, SIGNATURES["Adam"])
AdamW = _torch_class(optim_np.AdamW, SIGNATURES["AdamW"], group_fixed=dict(decoupled_weight_decay=True))
NAdam = _torch_class(optim_np.NAdam, SIGNATURES["NAdam"])
RAdam = _torch_class(optim_np.RAdam, SIGNATURES["RAdam"])
LazyAdam = _torch_class(optim_np.LazyAdam, supports_sparse=True)
Lion = _torch_class(optim_np.Lion, "lr betas weight_decay * maximize")   # lion_pytorch.Lion's order; maximize is ours
class Adafactor(_torch_class(optim_np.Adafactor, "lr beta2_decay eps d weight_decay * foreach maximize")):  # torch's
    __doc__ = _torch_class(optim_np.Adafactor).__doc__

    def add_param_group(self, param_group):
        """A matrix sharded by FSDP2 is refused: its row and column means need the whole matrix."""
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            if p.ndim >= 2 and is_sharded(p):
                self.param_groups.pop()
                raise ValueError(refuse_sharded("Adafactor", p, "its factored second moment averages each row "
                                                "and each column of the whole matrix"))


def is_sharded(p) -> bool:
    """Is ``p`` a DTensor split across processes (FSDP2's ``fully_shard``: ``Shard(0)``)?"""
    return any(type(placement).__name__ == "Shard" for placement in getattr(p, "placements", ()))


def refuse_sharded(name: str, p, why: str) -> str:
    """The message for a class that cannot step a sharded parameter (see optim.parallel)."""
    return (f"optim.torch.{name} cannot run on a parameter sharded by FSDP2 (a DTensor of shape "
            f"{tuple(p.shape)}, placements {tuple(p.placements)}): {why}. Train with DDP, or with ZeRO-1 "
            f"(torch.distributed.optim.ZeroRedundancyOptimizer(params, optimizer_class=optim.torch.{name}), which "
            f"gives each process whole tensors)")
LARS = _torch_class(optim_np.LARS, "lr weight_decay momentum dampening trust_coefficient nesterov foreach maximize")


class LAMB(_torch_class(optim_np.LAMB, "lr betas weight_decay weight_decouple fixed_decay rectify degenerated_to_sgd "
                                      "n_sma_threshold grad_averaging max_grad_norm adam pre_norm eps foreach maximize")):
    """torch face of :class:`optim.LAMB`, drop-in for ``pytorch_optimizer.Lamb`` (alias ``Lamb``).

    One pass before the per-tensor rule: with ``pre_norm``, the gradients are scaled by
    min(1, max_grad_norm / (‖g‖ + ε)) with ‖g‖ over *all* parameters, computed as the oracle
    computes it (the constructor's max_grad_norm and ε; the squared norms summed in float32).
    """

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if any(group["pre_norm"] for group in self.param_groups):
            scale = self._pre_norm_scale()
            for group in self.param_groups:
                group["pre_norm_scale"] = scale
        try:
            super().step()
        finally:
            for group in self.param_groups:
                group.pop("pre_norm_scale", None)
        return loss

    def _pre_norm_scale(self):
        if self.defaults["max_grad_norm"] == 0.0:
            return 1.0
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return 1.0
        squared = torch.stack([g.norm() for g in grads]).float().square().sum().reshape(1)
        return torch.clamp(self.defaults["max_grad_norm"] / squared.sqrt().add(self.defaults["eps"]), max=1.0).squeeze(0)


Lamb = LAMB   # pytorch_optimizer's name
class _ScheduleFree(RuleOptimizer):
    """The torch face of Schedule-Free (see :mod:`optim.schedulefree`): drop-in for the ``schedulefree`` package.

    As the oracle: the parameters hold y while training and x after :meth:`eval`; call
    ``opt.train()`` before training (a new optimizer starts in eval mode, and :meth:`step`
    refuses to run in it) and ``opt.eval()`` before evaluating or saving a checkpoint. The
    step count and the averaging weight's sums live in the param group under the oracle's
    keys (``k``, ``lr_max``, ``weight_sum``, ``scheduled_lr``, ``train_mode``), the tensors in
    ``state[p]`` (``z``, AdamW's ``exp_avg_sq``): the two packages' state dicts load into each
    other. ``foreach`` is accepted and ignored (one loop, the oracle's numbers). A group added
    while training starts in train mode (the oracle's starts in eval mode, so a later
    ``eval()``/``train()`` pair would move its parameters off y).
    """

    group_fixed = dict(k=0, train_mode=False, weight_sum=0.0, lr_max=-1.0, scheduled_lr=0.0)

    def _warn_ignored_switches(self, stacklevel):
        """foreach=True is the oracle's default: accepted silently (the loop gives the same numbers)."""

    def _beta(self, group):
        return group["momentum"] if "momentum" in group else group["betas"][0]

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if len(self.param_groups) > 1:
            self.param_groups[-1]["train_mode"] = self.param_groups[0]["train_mode"]

    def _init_state(self, p, state, h):
        fields = self.spec.init_state(p, h, INPLACE)
        for name, key in self.spec.torch_keys.items():
            state[key] = fields[name]

    @torch.no_grad()
    def eval(self):
        """Parameters to x, the point to evaluate the model at (and to save)."""
        for group in self.param_groups:
            if group["train_mode"]:
                for p in group["params"]:
                    if "z" in self.state[p]:
                        _sf.to_x(p, self.state[p]["z"].to(p.device), self._beta(group), INPLACE)
                group["train_mode"] = False

    @torch.no_grad()
    def train(self):
        """Parameters to y, where the gradients are taken."""
        for group in self.param_groups:
            if not group["train_mode"]:
                for p in group["params"]:
                    if "z" in self.state[p]:
                        _sf.to_y(p, self.state[p]["z"].to(p.device), self._beta(group), INPLACE)
                group["train_mode"] = True

    @torch.no_grad()
    def step(self, closure=None):
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError(f"{type(self).__name__}: optimizer was not in train mode when step is called "
                               f"(call opt.train() before training and opt.eval() before evaluating, where you "
                               f"call model.train() and model.eval(); see optim.schedulefree)")
        return super().step(closure)

    def _group_values(self, group, h):
        """The averaging weight, once per group as the oracle computes it: (lr, c, t)."""
        counters = SimpleNamespace(t=group["k"], lr_max=group["lr_max"], weight_sum=group["weight_sum"])
        lr, c = _sf.averaging_weight(counters, h)
        group.update(k=counters.t, lr_max=counters.lr_max, weight_sum=counters.weight_sum, scheduled_lr=lr)
        return lr, c, counters.t

    def _tensor_update(self, p, g, slots, h, ops, shared):
        self.tensor_step(p, g, slots, h, ops, *shared)


_SF_FOREACH = hasattr(torch, "_foreach_mul_")      # the oracle's default for foreach


class ScheduleFreeSGD(_ScheduleFree):
    __doc__ = (f"torch face of :class:`optim.ScheduleFreeSGD`: drop-in for ``schedulefree.SGDScheduleFree``.\n\n"
               f"{_ScheduleFree.__doc__}")
    spec = optim_np.ScheduleFreeSGD
    switches = dict(foreach=_SF_FOREACH)
    tensor_step = staticmethod(_sf.schedulefree_sgd_step)

    def __init__(self, params, lr=1.0, momentum=0.9, weight_decay=0, warmup_steps=0, r=0.0,
                 weight_lr_power=2, foreach=_SF_FOREACH):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay, warmup_steps=warmup_steps,
                         r=r, weight_lr_power=weight_lr_power, foreach=foreach)


class ScheduleFreeAdamW(_ScheduleFree):
    __doc__ = (f"torch face of :class:`optim.ScheduleFreeAdamW`: drop-in for ``schedulefree.AdamWScheduleFree``."
               f"\n\n{_ScheduleFree.__doc__}")
    spec = optim_np.ScheduleFreeAdamW
    switches = dict(foreach=_SF_FOREACH)
    tensor_step = staticmethod(_sf.schedulefree_adamw_step)

    def __init__(self, params, lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, warmup_steps=0, r=0.0,
                 weight_lr_power=2.0, foreach=_SF_FOREACH):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, warmup_steps=warmup_steps,
                         r=r, weight_lr_power=weight_lr_power, foreach=foreach)


class Muon(_torch_class(optim_np.Muon, "lr weight_decay momentum nesterov ns_coefficients eps ns_steps "
                                       "adjust_lr_fn * maximize")):   # torch.optim.Muon's order; maximize is ours
    """torch face of :class:`optim.Muon`, drop-in for ``torch.optim.Muon``: 2-D parameters only.

    A parameter that is not a matrix is refused when its group is added (at construction, as
    torch does, and in ``add_param_group``), with a message saying to train it with AdamW.
    """

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            if p.ndim != 2:
                self.param_groups.pop()
                raise ValueError(optim_np.muon.not_a_matrix(p.shape))


class _OneOrTwoDims(RuleOptimizer):
    """Shampoo and SOAP precondition each side of a 1-D or 2-D tensor; other tensors are refused when added."""

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            if p.ndim not in (1, 2):
                self.param_groups.pop()
                raise ValueError(f"optim.torch.{type(self).__name__} preconditions 1-D and 2-D tensors; got a tensor "
                                 f"of shape {tuple(p.shape)} (reshape it to a matrix, or train it with another "
                                 f"optimizer in a separate group; see optim.shampoo)")
            if is_sharded(p):
                self.param_groups.pop()
                raise ValueError(refuse_sharded(type(self).__name__, p, "its preconditioners are built from "
                                                "the whole matrix (G·Gᵀ and Gᵀ·G)"))


class Shampoo(_OneOrTwoDims, _torch_class(optim_np.Shampoo, "lr momentum weight_decay weight_decouple fixed_decay "
                                          "preconditioning_compute_steps matrix_eps maximize")):
    __doc__ = (f"torch face of :class:`optim.Shampoo`, drop-in for ``pytorch_optimizer.Shampoo`` (1-D and 2-D "
               f"tensors).\n\n{optim_np.shampoo.shampoo_update.__doc__}")


class SOAP(_OneOrTwoDims, _torch_class(optim_np.SOAP, "lr betas shampoo_beta weight_decay precondition_frequency "
                                       "max_precondition_dim merge_dims precondition_1d correct_bias "
                                       "normalize_gradient data_format eps maximize")):
    __doc__ = (f"torch face of :class:`optim.SOAP`, drop-in for ``pytorch_optimizer.SOAP`` (1-D and 2-D "
               f"tensors).\n\n{optim_np.shampoo.soap_update.__doc__}")


class _DAdaptation(RuleOptimizer):
    """The torch face of a D-Adaptation rule (Prodigy, DAdaptAdam; see :mod:`optim.prodigy`).

    d is one number for all parameters, so a step makes two passes, as the oracles do: pass 1
    runs the rule's ``accumulate`` on every parameter of every group and sums the shares of d's
    estimate; the rule's ``estimate`` turns the sums into the new d; pass 2 runs ``apply`` on every
    parameter. The run's scalars (``d``, ``k``, ...) are kept in every param group under the
    oracle's keys, and read from the first group (as the oracle reads them), so the oracle's state
    dicts load into this class and back. lr is the largest of the groups' lr; a group may set
    lr = 0 (frozen for the estimate) but no other value (``RuntimeError``, as the oracle).
    """

    #: arguments of the oracle that are not hyperparameters of the rule (param-group keys here too)
    torch_only: dict = {}

    def __init__(self, params, **hyper):
        extra = {key: hyper.pop(key) for key in self.torch_only}
        core.require_flag("fsdp_in_use", extra["fsdp_in_use"])
        self.spec(**hyper)                          # the shared checks
        check_torch_scalars(hyper)
        defaults = {**hyper, **extra, **self.spec.fixed,
                    **{k: (hyper["d0"] if v == "d0" else v) for k, v in self.group_scalars.items()}}
        torch.optim.Optimizer.__init__(self, params, defaults)
        self._warned = set()

    def _init_state(self, p, state, h, c):
        fields = self.spec.init_state(p, SimpleNamespace(slice_p=getattr(h, "slice_p", 1), betas=(c.beta1, c.beta2)),
                                      INPLACE)
        if "p0" in fields and not p.any():         # as the oracle: an all-zero start is stored as one 0
            fields["p0"] = torch.tensor(0, device=p.device, dtype=p.dtype)
        for name, value in fields.items():
            if value is not None:
                state[self.spec.torch_keys[name]] = value

    @torch.no_grad()
    def step(self, closure=None):
        """Pass 1 on every parameter, d's estimate, pass 2 on every parameter; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups, spec, keys = self.param_groups, self.spec, self.spec.torch_keys
        self._refuse_sparse()
        lr = max(group["lr"] for group in groups)
        first = groups[0]
        c = spec.scalars_of(SimpleNamespace(**first), core.Hyper(hyper_of(first, spec.fixed)), lr)
        fsdp = first["fsdp_in_use"]
        numerator, denominator, work = 0.0, 0.0, []
        for group in groups:
            if group["lr"] not in (lr, 0.0):
                raise RuntimeError(f"{type(self).__name__}: param groups may differ in lr only by setting it to 0 "
                                   f"(got {group['lr']} and {lr}); d is one estimate for all parameters, as in "
                                   f"the oracle")
            h = core.Hyper(hyper_of(group, spec.fixed))
            for p in group["params"]:
                if p.grad is None:
                    continue
                fsdp = fsdp or hasattr(p, "_fsdp_flattened") or is_sharded(p)   # FSDP1's flag (as the oracle); FSDP2's DTensors
                state = self.state[p]
                if not state:
                    self._init_state(p, state, h, c)
                slots = Slots.load(state, keys)
                g = optim_np.prodigy.effective_gradient(p, p.grad, h, INPLACE, c.decouple)
                if group["lr"] > 0.0:
                    share, l1 = spec.accumulate(p, g, slots, h, INPLACE, c)
                    numerator += share
                    denominator += l1
                    slots.store(state, keys)
                work.append((group, h, p, g, slots))
        if fsdp:
            numerator, denominator = _all_reduce_sum(numerator, denominator, work)
        if denominator == 0:                        # no gradient yet: nothing moves (as the oracle)
            return loss
        last = groups[-1]                           # the oracle compares d with the last group's d0
        new = spec.estimate(c, core.Hyper({**hyper_of(first, spec.fixed), "d0": last.get("d0", first.get("d0"))}),
                            numerator, denominator)
        c.d = new["d"]
        for group in groups:
            group.update(new)
        for group, h, p, g, slots in work:
            spec.apply(p, g, slots, h, INPLACE, c)
            slots.store(self.state[p], keys)
        for group in groups:
            group["k"] += 1
        if first.get("log_every", 0) > 0 and (first["k"] - 1) % first["log_every"] == 0:
            logging.info(f"{type(self).__name__}: lr {lr} dlr {c.dlr} d_hat {new['d_hat']} d {new['d']}")
        return loss


def _all_reduce_sum(numerator, denominator, work):
    """The two sums over every process (``fsdp_in_use``: each process sees a shard of the parameters)."""
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("fsdp_in_use=True needs torch.distributed to be initialised (the estimate of d "
                           "sums over every shard)")
    device = work[0][2].device if work else "cpu"
    sums = torch.tensor([numerator, denominator], dtype=torch.float64, device=device)
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    return sums[0].item(), sums[1].item()


class Prodigy(_DAdaptation):
    __doc__ = (f"torch face of :class:`optim.Prodigy`: drop-in for ``prodigyopt.Prodigy`` 1.1.2.\n\n"
               f"{_DAdaptation.__doc__}")
    spec = optim_np.Prodigy
    torch_only = dict(fsdp_in_use=False)
    group_scalars = dict(d="d0", d_max="d0", d_numerator=0.0, k=0)

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8, weight_decay=0, decouple=True,
                 use_bias_correction=False, safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=float("inf"),
                 fsdp_in_use=False, slice_p=1, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, beta3=beta3, eps=eps, weight_decay=weight_decay,
                         decouple=decouple, use_bias_correction=use_bias_correction,
                         safeguard_warmup=safeguard_warmup, d0=d0, d_coef=d_coef, growth_rate=growth_rate,
                         fsdp_in_use=fsdp_in_use, slice_p=slice_p, maximize=maximize)


class DAdaptAdam(_DAdaptation):
    __doc__ = (f"torch face of :class:`optim.DAdaptAdam`: drop-in for ``dadaptation.DAdaptAdam`` 3.2 (its group "
               f"key ``layer_scale`` scales a group's step).\n\n{_DAdaptation.__doc__}")
    spec = optim_np.DAdaptAdam
    torch_only = dict(log_every=0, fsdp_in_use=False)
    group_scalars = dict(d="d0", k=0, numerator_weighted=0.0)

    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, log_every=0, decouple=False,
                 use_bias_correction=False, d0=1e-6, growth_rate=float("inf"), fsdp_in_use=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, log_every=log_every,
                         decouple=decouple, use_bias_correction=use_bias_correction, d0=d0,
                         growth_rate=growth_rate, fsdp_in_use=fsdp_in_use, maximize=maximize)


_CentralizedRAdam = _torch_class(CentralizedRAdam, SIGNATURES["RAdam"].replace(
    " *", " use_gc gc_conv_only *"), default_foreach=True)   # Ranger's inner step: foreach (bit for bit the loop)


class Lookahead(torch.optim.Optimizer):
    """Lookahead around any ``torch.optim.Optimizer``: ``Lookahead(Adam(model.parameters()), k=5, alpha=0.5)``.

    The slow weights start as a copy of the parameters at construction time and
    are synchronised after steps k, 2k, … (see :mod:`optim.lookahead`).

    Its ``param_groups`` are the base optimizer's, each with three more keys (the names
    timm's Lookahead uses; ``alpha`` alone would clash with RMSprop's): ``lookahead_k``,
    ``lookahead_alpha``, and ``lookahead_step``, the group's count of steps (a group added
    later counts from 0, so it trains as a Lookahead started then). A scheduler may
    change them per group. :meth:`state_dict` has torch's layout: ``state`` holds, per
    parameter, the base's state and the slow weights (``slow_param``); ``param_groups``
    the groups with those keys. A restored run continues bit for bit.
    """

    GROUP_KEYS = ("lookahead_k", "lookahead_alpha", "lookahead_step")

    def __init__(self, base_optimizer: torch.optim.Optimizer, k: int = 5, alpha: float = 0.5):
        if not isinstance(base_optimizer, torch.optim.Optimizer):
            hint = ("optim.torch.Lookahead(optim.torch.Adam(model.parameters()), k=5, alpha=0.5)"
                    if not isinstance(base_optimizer, core.Optimizer) else
                    f"optim.torch.Lookahead(optim.torch.{type(base_optimizer).__name__}(model.parameters(), ...)); "
                    f"optim.{type(base_optimizer).__name__} is the NumPy face, for optim.Lookahead")
            raise TypeError(f"Lookahead wraps an optimizer (a torch.optim.Optimizer), got "
                            f"{type(base_optimizer).__name__}: pass the optimizer, not the parameters, "
                            f"e.g. {hint}")
        if isinstance(base_optimizer, Lookahead):
            raise TypeError("Lookahead around a Lookahead is not supported (both would keep their slow "
                            "weights under the same key of the state dict)")
        validate_lookahead(k, alpha)
        # torch.optim.Optimizer.__init__ would build its own param_groups; ours are the base's.
        for hooks in ("step_pre", "step_post", "state_dict_pre", "state_dict_post",
                      "load_state_dict_pre", "load_state_dict_post"):
            setattr(self, f"_optimizer_{hooks}_hooks", OrderedDict())
        self.base_optimizer = base_optimizer
        self.defaults = {**base_optimizer.defaults, "lookahead_k": k, "lookahead_alpha": alpha}
        self.state = defaultdict(dict)
        for group in self.param_groups:
            self._init_group(group)
        self._patch_step_function()

    def _init_group(self, group):
        group.setdefault("lookahead_k", self.defaults["lookahead_k"])
        group.setdefault("lookahead_alpha", self.defaults["lookahead_alpha"])
        group.setdefault("lookahead_step", 0)
        validate_lookahead(group["lookahead_k"], group["lookahead_alpha"])
        for p in group["params"]:
            self.state[p]["slow_param"] = p.detach().clone()

    @property
    def param_groups(self):
        return self.base_optimizer.param_groups

    # k and alpha: the constructor's values, which every group gets unless it says otherwise
    @property
    def k(self):
        return self.defaults["lookahead_k"]

    @k.setter
    def k(self, value):
        validate_lookahead(value, self.alpha)
        self.defaults["lookahead_k"] = value
        for group in self.param_groups:
            group["lookahead_k"] = value

    @property
    def alpha(self):
        return self.defaults["lookahead_alpha"]

    @alpha.setter
    def alpha(self, value):
        validate_lookahead(self.k, value)
        self.defaults["lookahead_alpha"] = value
        for group in self.param_groups:
            group["lookahead_alpha"] = value

    @property
    def fast_steps(self):
        """The number of steps taken (by the first group; every group counts its own, in ``lookahead_step``)."""
        return self.param_groups[0]["lookahead_step"]

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _adopt_base_state(self):
        """Base-optimizer keys written into this state move to the base optimizer's state: a
        ``ZeroRedundancyOptimizer`` around Lookahead loads a checkpoint by assigning ``optim.state[p]``
        the parameter's whole dict (base state and slow weights; torch/distributed/optim/
        zero_redundancy_optimizer.py, ``load_state_dict``)."""
        for p, state in self.state.items():
            if len(state) > 1:
                self.base_optimizer.state[p].update({k: state.pop(k) for k in list(state) if k != "slow_param"})

    @torch.no_grad()
    def step(self, closure=None):
        self._adopt_base_state()
        loss = self.base_optimizer.step(closure)
        for group in self.param_groups:
            group["lookahead_step"] += 1
            if group["lookahead_step"] % group["lookahead_k"] == 0:
                for p in group["params"]:
                    if p.grad is not None:  # like the base step (and pytorch-optimizer): no gradient, no change
                        lookahead_sync(p, self.state[p]["slow_param"], group["lookahead_alpha"], INPLACE)
        return loss

    def zero_grad(self, set_to_none: bool = True):
        self.base_optimizer.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group):
        self.base_optimizer.add_param_group(param_group)
        self._init_group(self.param_groups[-1])

    def state_dict(self):
        """torch's layout: ``{"state": {i: {**base state, "slow_param": φ}}, "param_groups": [...]}``.

        Like torch.optim's, it refers to the optimizer's tensors (``torch.save`` or
        ``copy.deepcopy`` it to keep a snapshot).
        """
        self._adopt_base_state()
        base = self.base_optimizer.state_dict()
        state = {i: dict(s) for i, s in base["state"].items()}
        for saved, group in zip(base["param_groups"], self.param_groups):
            for i, p in zip(saved["params"], group["params"]):
                if "slow_param" in state.get(i, {}):
                    raise ValueError("the base optimizer keeps a 'slow_param' of its own")
                state.setdefault(i, {})["slow_param"] = self.state[p]["slow_param"]
        return {"state": state, "param_groups": base["param_groups"]}

    @staticmethod
    def base_state_dict(state_dict):
        """The base optimizer's part of a Lookahead state dict (torch's layout, without slow weights)."""
        state = {i: {k: v for k, v in s.items() if k != "slow_param"} for i, s in state_dict["state"].items()}
        return {"state": {i: s for i, s in state.items() if s},
                "param_groups": [{k: v for k, v in g.items() if k not in Lookahead.GROUP_KEYS}
                                 for g in state_dict["param_groups"]]}

    @staticmethod
    def _from_old_layout(old):
        """The layout before torch's (``base, k, alpha, fast_steps, slow_params``), in torch's."""
        params = [i for g in old["base"]["param_groups"] for i in g["params"]]
        if len(old["slow_params"]) != len(params):
            raise ValueError(f"Invalid state_dict: {len(old['slow_params'])} slow weights "
                             f"for {len(params)} parameters")
        state = {i: dict(s) for i, s in old["base"]["state"].items()}
        for i, slow in zip(params, old["slow_params"]):
            state.setdefault(i, {})["slow_param"] = slow
        extra = dict(lookahead_k=old["k"], lookahead_alpha=old["alpha"], lookahead_step=old["fast_steps"])
        return {"state": state, "param_groups": [{**g, **extra} for g in old["base"]["param_groups"]]}

    def load_state_dict(self, state_dict):
        """Loads torch's layout, and the layout of earlier versions (``base, k, alpha, fast_steps, slow_params``)."""
        if "slow_params" in state_dict and "base" in state_dict:
            state_dict = self._from_old_layout(state_dict)
        params = self._params()
        saved = [i for g in state_dict["param_groups"] for i in g["params"]]
        if len(saved) != len(params):
            raise ValueError(f"Invalid state_dict: {len(saved)} parameters for {len(params)} "
                             f"(slow weights and base state must match the parameters)")
        missing = [i for i in saved if "slow_param" not in state_dict["state"].get(i, {})]
        missing_keys = [k for g in state_dict["param_groups"] for k in self.GROUP_KEYS if k not in g]
        if missing or missing_keys:
            raise ValueError(f"Invalid state_dict: no slow weights for parameters {missing} or no "
                             f"{sorted(set(missing_keys))} in its groups; is it the base optimizer's? "
                             f"Load that with opt.base_optimizer.load_state_dict(...)")
        slow = {i: state_dict["state"][i]["slow_param"] for i in saved}
        groups = [{k: g[k] for k in self.GROUP_KEYS} for g in state_dict["param_groups"]]
        for values in groups:
            validate_lookahead(values["lookahead_k"], values["lookahead_alpha"])
        self.base_optimizer.load_state_dict(self.base_state_dict(state_dict))   # replaces the group dicts
        for group, values in zip(self.param_groups, groups):
            group.update(values)
        for p, i in zip(params, saved):
            self.state[p]["slow_param"] = slow[i].to(device=p.device, dtype=p.dtype).clone()

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


# ---- low-precision weights (chapter "precision") ----

from . import precision as _precision   # noqa: E402  (torch-free: the rounding on bit patterns)

LOW_PRECISION_DTYPES = (torch.bfloat16, torch.float16)


def stochastic_round_bf16(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """float32 ``x`` stochastically rounded to bfloat16 (:func:`optim.precision.stochastic_bits`)."""
    noise = torch.randint(0, 1 << _precision.LOW_BITS, x.shape, generator=generator, dtype=torch.int32,
                          device=x.device)
    bits = _precision.stochastic_bits(x.to(torch.float32).contiguous().view(torch.int32), noise)
    return bits.view(torch.float32).to(torch.bfloat16)     # exact: the low 16 bits are zero


class _LowPrecisionWeights:
    """Mixed into an element-wise ``RuleOptimizer`` by :func:`low_precision`; see there.

    For a bf16 (or fp16) parameter the rule runs in float32: on the gradient in float32, on
    float32 state, and on a float32 weight — a temporary copy of the parameter, or the
    master copy — and the result is written back by the chosen rounding. Other parameters
    (float32, float64) take the base class's step unchanged.
    """

    weights = "plain"
    seed = None

    def _init_state(self, p, state, h):
        if p.dtype not in LOW_PRECISION_DTYPES:
            return super()._init_state(p, state, h)
        if self.weights == "stochastic" and p.dtype != torch.bfloat16:
            raise ValueError(f"Invalid weights: 'stochastic' for a {p.dtype} parameter (allowed: torch.bfloat16; "
                             f"use 'master' or 'kahan' for float16)")
        super()._init_state(p.detach().to(torch.float32), state, h)   # the rule's state in float32
        if self.weights == "master":
            state["master_weight"] = p.detach().to(torch.float32).clone(memory_format=torch.preserve_format)
        elif self.weights == "kahan":
            state["kahan_comp"] = torch.zeros_like(p, memory_format=torch.preserve_format)   # in p's dtype

    def _tensor_update(self, p, g, slots, h, ops, shared):
        if p.dtype not in LOW_PRECISION_DTYPES:
            return super()._tensor_update(p, g, slots, h, ops, shared)
        state = self.state[p]
        g = g.to(torch.float32)
        if self.weights == "master":
            w = state["master_weight"]
            super()._tensor_update(w, g, slots, h, ops, shared)
            p.copy_(w)                                   # the bf16 weight: the master copy, rounded
            return
        old = p.to(torch.float32)
        w = old.clone()
        super()._tensor_update(w, g, slots, h, ops, shared)   # w: the float32 weight after the step
        if self.weights == "plain":
            p.copy_(w)                                   # round to nearest: drops |u| < half an ulp
        elif self.weights == "stochastic":
            p.copy_(stochastic_round_bf16(w, self._generator(p)))
        else:                                            # Kahan: y = u + c; p = round(p + y); c = y − (p' − p)
            c = state["kahan_comp"]
            y = (w - old).add_(c.to(torch.float32))
            p.copy_(old + y)
            c.copy_(y.sub_(p.to(torch.float32) - old))

    def _generator(self, p):
        """A torch.Generator seeded with ``seed`` (one per optimizer and device), or torch's global one."""
        if self.seed is None:
            return None
        generators = self.__dict__.setdefault("_generators", {})
        if p.device not in generators:
            generators[p.device] = torch.Generator(device=p.device).manual_seed(self.seed)
        return generators[p.device]

    def load_state_dict(self, state_dict):
        """torch.optim casts floating state to the parameter's dtype on load; float32 state stays float32 here."""
        saved = state_dict["state"]
        ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        super().load_state_dict(state_dict)
        params = [p for group in self.param_groups for p in group["params"]]
        for i, p in zip(ids, params):
            for key, value in saved.get(i, {}).items():
                if torch.is_tensor(value) and value.is_floating_point() and key != "step":
                    self.state[p][key] = value.to(device=p.device).clone()

    def __repr__(self):
        return f"low_precision({type(self).__mro__[2].__name__}, weights={self.weights!r})" + \
            super().__repr__()[len(type(self).__name__):]


def low_precision(base: type, weights: str = "master", seed: int | None = None) -> type:
    """A drop-in class like ``base`` (an element-wise ``optim.torch`` class) for bfloat16 weights.

        AdamW16 = optim.torch.low_precision(optim.torch.AdamW, weights="kahan")
        model = model.to(torch.bfloat16)
        opt = AdamW16(model.parameters(), lr=1e-3)      # base's arguments and defaults, unchanged

    The rule runs in float32 (gradient, state, weight); ``weights`` says how the bf16
    parameter receives the result:

    * ``"plain"``: rounded to nearest — an update below half an ulp of the weight
      (about 2⁻⁸ of it) is lost;
    * ``"master"``: the rule runs on a float32 master copy kept in the state
      (``master_weight``), and the parameter is its rounded copy (mixed precision, +4 bytes
      per weight);
    * ``"kahan"``: a compensation buffer in the parameter's dtype (``kahan_comp``, +2 bytes,
      as optimi's ``kahan_sum`` keeps it) holds what rounding took, and adds it to the next update;
    * ``"stochastic"``: rounded up or down at random, unbiased (bf16 only; ``seed`` seeds a
      ``torch.Generator`` of the optimizer's own, else torch's global generator is used;
      its state is not part of ``state_dict()``).

    float32 and float64 parameters take ``base``'s step unchanged.
    """
    if weights not in _precision.WEIGHTS:
        raise ValueError(f"Invalid weights: {weights!r} (allowed: {', '.join(map(repr, _precision.WEIGHTS))})")
    if not (isinstance(base, type) and issubclass(base, RuleOptimizer)
            and base._tensor_update is RuleOptimizer._tensor_update
            and base._group_values is RuleOptimizer._group_values):
        raise ValueError(f"Invalid base: {base!r} (allowed: an optim.torch class whose per-tensor update is "
                         f"RuleOptimizer's, e.g. optim.torch.SGD, Momentum, Adam, AdamW, Lion)")
    if seed is not None and not isinstance(seed, int):
        raise ValueError(f"Invalid seed: {seed!r} (allowed: None or an integer)")
    return type(base.__name__, (_LowPrecisionWeights, base),
                dict(weights=weights, seed=seed, __module__=__name__, __doc__=base.__doc__,
                     __qualname__=f"low_precision({base.__name__}, weights={weights!r})"))


# ---- 8-bit optimizer state (chapter "memory") ----
from . import quantize as _quantize  # noqa: E402  (NumPy-only; imported here for the 8-bit classes)


class _EightBitState:
    """Adam's m and v kept as blockwise-quantised bytes (:mod:`optim.quantize`), the rule run on a float copy.

    Per tensor of at least ``min_8bit_size`` elements, ``state[p]`` holds ``step``, ``exp_avg`` and
    ``exp_avg_sq`` as ``uint8`` codes in the parameter's shape, and ``exp_avg_absmax`` /
    ``exp_avg_sq_absmax``, one float32 per block of ``block_size`` elements of the flattened tensor
    (the last block shorter): 2 bytes per parameter plus 8 bytes per block. m uses the signed dynamic
    map, v (never negative) the unsigned one. Smaller tensors keep Adam's float state, as
    bitsandbytes does (its ``min_8bit_size`` is 4096). A step dequantises m and v into temporaries,
    runs the package's own Adam rule on them (:func:`optim.adam.adam_update`, not a second Adam),
    and quantises them back.

    Deliberate differences from ``bitsandbytes`` 0.50.2's ``Adam8bit``/``AdamW8bit``: the block is
    2048 elements by default (the paper's; bitsandbytes' optimizers use 256: pass ``block_size=256``);
    ``Adam8bit``'s weight decay is torch.optim.Adam's L2 term (bitsandbytes' CPU kernel decays the
    weights as AdamW does for both classes); no ``percentile_clipping``, ``optim_bits``, ``is_paged``;
    ``amsgrad=True`` is refused.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=None, amsgrad=False, *,
                 min_8bit_size=4096, block_size=_quantize.BLOCK, maximize=False, foreach=None):
        if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
            raise ValueError(f"Invalid block_size: {block_size!r} (allowed: an integer, 1 <= block_size; "
                             f"the paper uses 2048, bitsandbytes' 8-bit optimizers 256)")
        if isinstance(min_8bit_size, bool) or not isinstance(min_8bit_size, (int, np.integer)) or min_8bit_size < 0:
            raise ValueError(f"Invalid min_8bit_size: {min_8bit_size!r} (allowed: an integer, 0 <= min_8bit_size; "
                             f"smaller tensors keep float32 state)")
        if amsgrad:
            raise ValueError(f"Invalid amsgrad: {amsgrad!r} (allowed: False; the 8-bit state keeps m and v only)")
        self._eight_bit = dict(block_size=int(block_size), min_8bit_size=int(min_8bit_size))
        if weight_decay is None:
            weight_decay = self.spec.defaults["weight_decay"]
        RuleOptimizer.__init__(self, params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                               amsgrad=amsgrad, maximize=maximize, foreach=foreach)

    def add_param_group(self, param_group):
        for key, value in self._eight_bit.items():
            param_group.setdefault(key, value)
        super().add_param_group(param_group)

    def load_state_dict(self, state_dict):
        """torch.optim's loader casts every non-step state tensor to its parameter's dtype; codes go back to uint8
        (0 ... 255 are exact in any float dtype, so nothing is lost)."""
        super().load_state_dict(state_dict)
        for state in self.state.values():
            if "exp_avg_absmax" in state:
                for key in ("exp_avg", "exp_avg_sq"):
                    state[key] = state[key].to(torch.uint8)

    def _init_state(self, p, state, h):
        if p.numel() < h.min_8bit_size:
            return super()._init_state(p, state, h)
        blocks = _quantize.n_blocks(p.numel(), h.block_size)
        state["step"] = INPLACE.counter(0)
        for key in ("exp_avg", "exp_avg_sq"):      # codes 0 with absmax 0: the value 0
            state[key] = torch.zeros_like(p, dtype=torch.uint8, memory_format=torch.contiguous_format)
            state[f"{key}_absmax"] = torch.zeros(blocks, dtype=torch.float32, device=p.device)

    def _tensor_update(self, p, g, slots, h, ops, shared):
        if slots.m.dtype != torch.uint8:
            return super()._tensor_update(p, g, slots, h, ops, shared)
        state, q = self.state[p], _quantize
        if state["exp_avg_absmax"].numel() != q.n_blocks(p.numel(), h.block_size):
            raise ValueError(f"Invalid block_size: {h.block_size} for a state quantised in "
                             f"{state['exp_avg_absmax'].numel()} blocks of a {p.numel()}-element tensor "
                             f"(the block size is fixed when the state is created)")
        maps = _dynamic_maps(p.device)
        work = SimpleNamespace(t=slots.t)
        for name, key, signed in (("m", "exp_avg", True), ("v", "exp_avg_sq", False)):
            setattr(work, name, q.dequantize(state[key], state[f"{key}_absmax"], maps[signed],
                                             h.block_size).to(p.dtype))
        self.spec.update(p, g, work, h, ops)          # the package's Adam rule, on float temporaries
        slots.t = work.t
        for name, key, signed in (("m", "exp_avg", True), ("v", "exp_avg_sq", False)):
            codes, absmax = q.quantize(getattr(work, name), maps[signed], h.block_size)
            state[key].copy_(codes)
            state[f"{key}_absmax"].copy_(absmax)
        slots.m, slots.v = state["exp_avg"], state["exp_avg_sq"]


_MAPS: dict = {}


def _dynamic_maps(device) -> dict:
    """{True: the signed dynamic map, False: the unsigned one} as float32 tensors on ``device`` (made once)."""
    key = str(device)
    if key not in _MAPS:
        _MAPS[key] = {s: torch.as_tensor(_quantize.dynamic_map(s), device=device) for s in (True, False)}
    return _MAPS[key]


class Adam8bit(_EightBitState, _torch_class(optim_np.Adam, SIGNATURES["Adam"])):
    __doc__ = ("Adam with 8-bit blockwise-quantised state (Dettmers et al. 2022), named as "
               "``bitsandbytes.optim.Adam8bit``; weight decay is torch.optim.Adam's (an L2 term).\n\n"
               + _EightBitState.__doc__)


class AdamW8bit(_EightBitState, _torch_class(optim_np.AdamW, SIGNATURES["AdamW"],
                                             group_fixed=dict(decoupled_weight_decay=True))):
    __doc__ = ("AdamW with 8-bit blockwise-quantised state (Dettmers et al. 2022), named as "
               "``bitsandbytes.optim.AdamW8bit`` (default weight_decay 0.01, as there and in torch).\n\n"
               + _EightBitState.__doc__)
