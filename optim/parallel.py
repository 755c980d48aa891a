"""Many processes: ``optim.torch`` under DDP, ZeRO-1 and FSDP2, on CPU processes over gloo.

Everything here runs from a notebook too: :func:`spawn` starts ``world_size`` processes
with the ``spawn`` start method (a fresh interpreter each, so the function it runs must be
importable: it lives in this module), binds them to 127.0.0.1 on a free port, joins them
with a deadline, and returns what each rank's function returned::

    from optim import parallel
    results = parallel.spawn(parallel.train_job, 2, "ddp", ["AdamW"], 30)

One step of each engine, for one model and one optimizer class (:func:`setup`):

* ``"single"``: one process, the whole batch;
* ``"ddp"``: ``DistributedDataParallel``: every rank holds the whole model and the whole
  optimizer state; the gradients are averaged with an all-reduce in ``backward``;
* ``"zero"``: DDP plus ``torch.distributed.optim.ZeroRedundancyOptimizer`` (ZeRO-1): each rank
  builds the optimizer class on its share of the parameters (whole tensors), steps only those,
  and broadcasts them to the other ranks after the step;
* ``"fsdp"``: ``fully_shard`` (FSDP2) on a CPU device mesh: every parameter (and so every state
  tensor the optimizer makes with ``zeros_like``) is a DTensor sharded along dim 0; the gradients
  are reduce-scattered, the parameters all-gathered before each forward.

This module imports torch: ``import optim`` does not import it.
"""
from __future__ import annotations

import copy
import datetime
import os
import socket
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import optim
import optim.torch as ot

ENGINES = ("ddp", "zero", "fsdp")
IN, HIDDEN, OUT = 6, 8, 4            # the tests' small model: Linear(6, 8) -> tanh -> Linear(8, 4)
BATCH = 8                            # the combined batch; each of w ranks takes BATCH / w rows


# --- processes ------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it: bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank, fn, world_size, port, outdir, args, timeout):
    import torch.distributed as dist
    torch.set_num_threads(1)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout))
    try:
        result = fn(rank, world_size, *args)
        torch.save(result, Path(outdir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def spawn(fn, world_size: int, *args, timeout: float = 120.0) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` fresh processes; their results, by rank.

    ``fn`` must be importable (a function of a module, not of a notebook). A process that raises
    stops all of them and the error is raised here with the child's traceback; after ``timeout``
    seconds they are killed and ``TimeoutError`` is raised: nothing hangs.
    """
    import torch.multiprocessing as mp
    with tempfile.TemporaryDirectory() as outdir:
        context = mp.start_processes(_entry, args=(fn, world_size, free_port(), outdir, args, timeout / 2),
                                     nprocs=world_size, join=False, start_method="spawn")
        deadline = time.monotonic() + timeout
        try:
            while not context.join(timeout=max(0.1, min(1.0, deadline - time.monotonic()))):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{getattr(fn, '__name__', fn)} on {world_size} processes did not finish "
                                       f"in {timeout} s")
        finally:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
                    process.join(5)
        return [torch.load(Path(outdir) / f"rank{rank}.pt", weights_only=False) for rank in range(world_size)]


# --- the optimizer classes, as the tests and the chapter build them ----------------------------

def lookahead_adam(params, lr=1e-3, k=5, alpha=0.5):
    """Lookahead around Adam, built from parameters (what ZeRO's ``optimizer_class`` needs)."""
    return ot.Lookahead(ot.Adam(params, lr=lr), k=k, alpha=alpha)


#: name -> (constructor, keyword arguments, which parameters): every class of ``optim.OPTIMIZERS``
#: (Lookahead as Lookahead(Adam)), a few with a learning rate that makes 30 steps move visibly
CLASSES = {cls.__name__: (getattr(ot, cls.__name__), {}, "all") for cls in optim.OPTIMIZERS}
CLASSES.update({
    "Lookahead": (lookahead_adam, {}, "all"),
    "SGD": (ot.SGD, dict(lr=0.05), "all"),
    "Momentum": (ot.Momentum, dict(lr=0.05), "all"),
    "Nesterov": (ot.Nesterov, dict(lr=0.05), "all"),
    "Muon": (ot.Muon, dict(lr=0.02), "matrices"),                  # Muon takes 2-D parameters only
    "LAMB pre_norm": (ot.LAMB, dict(pre_norm=True, lr=0.01), "all"),
    "Prodigy fsdp_in_use=False": (ot.Prodigy, dict(fsdp_in_use=False), "all"),
    "DAdaptAdam fsdp_in_use=False": (ot.DAdaptAdam, dict(fsdp_in_use=False), "all"),
    "Adafactor": (ot.Adafactor, dict(lr=0.01), "all"),
})
#: the classes whose step sums over all parameters; under ZeRO and FSDP2 they all-reduce the sums
FSDP_IN_USE = ("Prodigy", "DAdaptAdam")


def make_optimizer(name, params, engine="single", **overrides):
    """The optimizer ``name`` of :data:`CLASSES` on ``params`` (ZeRO: wrapped in ZeroRedundancyOptimizer)."""
    ctor, kwargs, _ = CLASSES[name]
    kwargs = {**kwargs, **overrides}
    if name in FSDP_IN_USE and engine in ("zero", "fsdp"):
        kwargs.setdefault("fsdp_in_use", True)
    if engine == "zero":
        from torch.distributed.optim import ZeroRedundancyOptimizer
        opt = ZeroRedundancyOptimizer(params, optimizer_class=ctor, **kwargs)
    else:
        opt = ctor(params, **kwargs)
    if hasattr(local_optimizer(opt), "train"):         # Schedule-Free: train mode before training
        local_optimizer(opt).train()
        if engine == "zero":                            # ZeRO copies its groups' keys to the local ones each step
            opt._sync_param_groups(opt.optim.param_groups, opt.param_groups)
    return opt


def local_optimizer(opt):
    """The optimizer that holds this rank's state (ZeRO's is inside it, as ``.optim``)."""
    return getattr(opt, "optim", opt)


# --- one model, three engines -----------------------------------------------------------------

def make_model(sizes=(IN, HIDDEN, OUT), seed=0) -> nn.Sequential:
    """An MLP of ``nn.Linear`` layers with tanh between them, seeded (the same on every rank)."""
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.Tanh()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def setup(engine, name, model, world_size=1, **overrides):
    """``(wrapped model, optimizer)`` for ``engine`` in ("single", "ddp", "zero", "fsdp")."""
    if engine in ("ddp", "zero"):
        from torch.nn.parallel import DistributedDataParallel
        wrapped = DistributedDataParallel(model)
    elif engine == "fsdp":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard
        mesh = init_device_mesh("cpu", (world_size,))
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer, mesh=mesh)
        wrapped = fully_shard(model, mesh=mesh)
    elif engine == "single":
        wrapped = model
    else:
        raise ValueError(f"engine must be one of 'single', {', '.join(map(repr, ENGINES))}; got {engine!r}")
    which = CLASSES[name][2] if name in CLASSES else "all"
    params = [p for p in model.parameters() if which == "all" or p.ndim == 2]
    return wrapped, make_optimizer(name, params, engine, **overrides)


def batch(step, rank=0, world_size=1, n=BATCH, sizes=(IN, OUT)):
    """Step ``step``'s batch of n rows (seeded by the step), and this rank's n / world_size of them."""
    g = torch.Generator().manual_seed(1000 + step)
    x = torch.randn(n, sizes[0], generator=g, dtype=torch.float64)
    y = torch.randn(n, sizes[-1], generator=g, dtype=torch.float64)
    rows = slice(rank * n // world_size, (rank + 1) * n // world_size)
    return x[rows], y[rows]


def train_step(model, opt, step, rank=0, world_size=1, split=1):
    """Forward, backward and one optimizer step on this rank's rows; the loss is their mean.

    DDP all-reduces and FSDP2 reduce-scatters the gradients *averaged* over the ranks, so the
    mean of the ranks' means is the mean over the combined batch (the ranks' rows are equal in number).
    ``split``: in one process, take the loss as the mean of ``split`` parts' means, the sum in the
    order the ranks' average makes it (equal to the combined mean up to rounding).
    """
    if split > 1:
        parts = [batch(step, r, split) for r in range(split)]
        loss = sum(((model(x) - y) ** 2).mean() for x, y in parts) / split
    else:
        x, y = batch(step, rank, world_size)
        loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss.detach()


def full_params(model) -> list[torch.Tensor]:
    """Every parameter, whole (an FSDP2 shard is all-gathered), as a CPU copy."""
    return [(p.full_tensor() if hasattr(p, "full_tensor") else p).detach().clone() for p in model.parameters()]


def checkpoint(engine, model, opt, rank):
    """The whole run's state in one process's layout (``model.state_dict()``, ``opt.state_dict()``),
    consolidated from the ranks: ``None`` on ranks other than 0 (every rank must call it).

    ZeRO: ``consolidate_state_dict(to=0)`` gathers the ranks' states to rank 0. FSDP2: every
    DTensor (a parameter, a state tensor) is all-gathered with ``full_tensor()``; the state dict
    keeps the optimizer's own layout (parameters numbered as in one process).
    """
    if engine == "fsdp":
        weights = {name: _full(v) for name, v in model.state_dict().items()}
        state = opt.state_dict()
        state = {"state": {i: {k: _full(v) for k, v in s.items()} for i, s in state["state"].items()},
                 "param_groups": state["param_groups"]}
        return copy.deepcopy({"model": weights, "optim": state}) if rank == 0 else None
    if engine == "zero":
        opt.consolidate_state_dict(to=0)
    if rank != 0:
        return None
    inner = model.module if hasattr(model, "module") else model
    return copy.deepcopy({"model": inner.state_dict(), "optim": opt.state_dict()})


def _full(value):
    return value.full_tensor() if hasattr(value, "full_tensor") else value


def _shard_like(value, p):
    """A whole tensor of ``p``'s shape, as a DTensor placed as ``p`` is (other values unchanged)."""
    if not (hasattr(p, "device_mesh") and isinstance(value, torch.Tensor) and value.numel() == p.numel() > 1):
        return value
    from torch.distributed.tensor import distribute_tensor
    shard = distribute_tensor(value.reshape(p.shape).to(p.dtype), p.device_mesh, p.placements)
    return shard if value.shape == p.shape else shard.reshape(value.shape)   # Prodigy's flat p0: as p.flatten()


def restore(engine, model, opt, saved):
    """Load a one-process checkpoint (:func:`checkpoint`'s layout) into ``engine``'s model and optimizer."""
    saved = copy.deepcopy(saved)
    inner = model.module if hasattr(model, "module") else model
    if engine == "fsdp":
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in saved["model"].items():
                params[name].copy_(_shard_like(value, params[name]))
        order = [p for group in opt.param_groups for p in group["params"]]
        saved["optim"]["state"] = {i: {k: _shard_like(v, order[i]) for k, v in s.items()}
                                   for i, s in saved["optim"]["state"].items()}
    else:
        inner.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optim"])
    # a checkpoint carries fsdp_in_use in its groups: True where the sums run over shards, else False
    for group in opt.param_groups + local_optimizer(opt).param_groups:
        if "fsdp_in_use" in group:
            group["fsdp_in_use"] = engine in ("zero", "fsdp")


def run(engine, name, steps, rank=0, world_size=1, start=None, save_at=None, split=1, **overrides):
    """Train the small model ``steps`` steps with class ``name`` on ``engine``.

    ``start``: a checkpoint to resume from (its step count is ``start["step"]``);
    ``save_at``: the step after which to take a consolidated checkpoint.
    Returns ``{"params": whole parameters at the end, "checkpoint": ... or None}``.
    """
    torch.set_default_dtype(torch.float64)
    model, opt = setup(engine, name, make_model(), world_size, **overrides)
    first = 0
    if start is not None:
        restore(engine, model, opt, start)
        first = start["step"]
    saved = None
    for step in range(first, steps):
        train_step(model, opt, step, rank, world_size, split)
        if save_at is not None and step + 1 == save_at:
            saved = checkpoint(engine, model, opt, rank)
            if saved is not None:
                saved["step"] = save_at
    return {"params": full_params(model), "checkpoint": saved}


def _attempt(fn):
    try:
        return fn()
    except Exception as error:                      # returned to the parent, which decides
        return {"error": f"{type(error).__name__}: {error}"}


def equality_job(rank, world_size, engines, names, steps, starts, overrides=None):
    """The tests' job: for each engine in ``engines`` (one name or several) and each class in ``names``:
    a run of ``steps`` steps (with a consolidated checkpoint at ``steps // 2``) and a run resumed from
    ``starts[name]`` (a checkpoint a one-process run made). One spawn runs them all. Returns, per
    engine (or, for one engine name, directly) and per class, both runs' results."""
    out = {}
    for engine in ([engines] if isinstance(engines, str) else engines):
        out[engine] = {}
        for name in names:
            extra = (overrides or {}).get(name, {})
            out[engine][name] = {
                "run": _attempt(lambda: run(engine, name, steps, rank, world_size, save_at=steps // 2, **extra)),
                "resumed": _attempt(lambda: run(engine, name, steps, rank, world_size, start=starts.get(name),
                                                **extra)) if starts.get(name) is not None else None,
            }
    return out[engines] if isinstance(engines, str) else out


def sleep_job(rank, world_size, seconds):
    """A job that takes too long (the tests' check that :func:`spawn` kills it at its deadline)."""
    time.sleep(seconds)
    return rank


# --- gradient accumulation ----------------------------------------------------------------------

def accumulated_step(model, opt, x, y, k):
    """One optimizer step on the batch (x, y) taken as k micro-batches of equal size.

    Each micro-batch's loss is its mean divided by k, so the gradients ``backward`` adds up in
    ``p.grad`` are the mean over the whole batch: the step is the one the whole batch would take.
    """
    opt.zero_grad()
    for xs, ys in zip(x.chunk(k), y.chunk(k)):
        loss = ((model(xs) - ys) ** 2).mean() / k
        loss.backward()
    opt.step()
    opt.zero_grad()


# --- measuring: optimizer-state bytes per rank, time per step ------------------------------------

def state_bytes(opt) -> int:
    """The bytes of tensors this rank's optimizer keeps in its state (a DTensor counts its local shard)."""
    total = 0
    for state in local_optimizer(opt).state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                local = value.to_local() if hasattr(value, "to_local") else value
                total += local.numel() * local.element_size()
    return total


def measure_job(rank, world_size, engines, name="AdamW", sizes=(256, 512, 512, 10), steps=8, n=64, rounds=1):
    """Per engine: optimizer-state bytes on this rank and seconds per training step, float32, on
    ``sizes``' MLP.

    The engines' models are built first, each takes two warm-up steps, then the engines take turns:
    ``rounds`` rounds of ``steps`` steps each, so that a change in the machine's load falls on all of
    them. ``round_seconds`` holds each round's median step, ``step_seconds`` the median over all
    steps; ``cpu_count`` and ``loadavg`` say what the machine was doing."""
    torch.set_default_dtype(torch.float32)
    built = {engine: setup(engine, name, make_model(sizes), world_size) for engine in engines}

    def one_step(model, opt, step):
        x, y = batch(step, rank, world_size, n=n, sizes=(sizes[0], sizes[-1]))
        t0 = time.perf_counter()
        loss = ((model(x.float()) - y.float()) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return time.perf_counter() - t0

    for engine, (model, opt) in built.items():
        for step in range(2):
            one_step(model, opt, step)
    times = {engine: [] for engine in engines}
    for r in range(rounds):
        for engine, (model, opt) in built.items():
            times[engine].append(sorted(one_step(model, opt, 2 + r * steps + s) for s in range(steps)))
    out = {}
    for engine, (model, opt) in built.items():
        every = sorted(t for round_ in times[engine] for t in round_)
        out[engine] = {"state_bytes": state_bytes(opt), "step_seconds": every[len(every) // 2],
                       "round_seconds": [t[len(t) // 2] for t in times[engine]],
                       "cpu_count": os.cpu_count(), "loadavg": os.getloadavg(),
                       "params": sum(p.numel() for p in model.parameters()) if engine != "fsdp" else
                       sum(p.to_local().numel() for p in model.parameters())}
    return out


def chapter_job(rank, world_size, names, steps, sizes=(256, 512, 512, 10), rounds=1):
    """The chapter's job: the small model's final weights per engine and class, and :func:`measure_job`."""
    runs = {engine: {name: _attempt(lambda: run(engine, name, steps, rank, world_size)) for name in names}
            for engine in ENGINES}
    return {"runs": runs, "measure": measure_job(rank, world_size, ENGINES, sizes=sizes, rounds=rounds)}
