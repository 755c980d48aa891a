"""What a training step keeps in memory, counted from the tensors themselves (torch only).

Chapter: *What an optimizer keeps* (``chapters/memory.md``). Imports torch; ``import optim``
does not import this module.

What is counted, in bytes (``Tensor.nbytes`` of each distinct storage, so a tensor shared by
two owners counts once):

* ``params``: the model's parameters;
* ``grads``: their ``.grad`` tensors after ``backward``;
* ``state``: every tensor in the optimizer's ``state`` (for ``Lookahead``, its base
  optimizer's too), step counters included;
* ``activations``: the tensors autograd saved for the backward pass during the forward
  pass (recorded with ``torch.autograd.graph.saved_tensors_hooks``), parameters excluded.

Their sum is what a step must hold at once near the start of ``backward`` (parameters,
state and saved activations, with the gradients appearing as activations are freed); it is
*not* the process's resident memory, and it leaves out temporaries (an op's output that is
freed at once, the float copy of m and v an 8-bit step makes for one tensor at a time),
the allocator's slack and the interpreter.
"""
from __future__ import annotations

import torch

__all__ = ["storage_bytes", "state_bytes", "step_memory"]


def _key(t: torch.Tensor):
    s = t.untyped_storage()
    return (s.data_ptr(), s.nbytes()) if s.data_ptr() else ("id", id(s))


def storage_bytes(tensors) -> int:
    """Bytes of the distinct storages behind ``tensors`` (each counted once)."""
    seen = {}
    for t in tensors:
        seen[_key(t)] = t.untyped_storage().nbytes()
    return sum(seen.values())


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


def state_bytes(optimizer) -> int:
    """Bytes of every tensor the optimizer keeps in its ``state`` (and its base optimizer's)."""
    found = []
    while optimizer is not None:
        found += list(_tensors(dict(optimizer.state)))
        optimizer = getattr(optimizer, "base_optimizer", None)
    return storage_bytes(found)


def step_memory(model: torch.nn.Module, loss_fn, optimizer) -> dict:
    """One training step, ``loss_fn(model)`` then ``backward`` then ``optimizer.step()``, and its bytes.

    Returns ``dict(params=, grads=, state=, activations=, total=)`` as described in the module's
    docstring; the state is counted after the step (when it exists).
    """
    params = [p for p in model.parameters()]
    own = {_key(p) for p in params}
    saved = []

    def pack(t):
        if _key(t) not in own:
            saved.append(t)
        return t

    optimizer.zero_grad(set_to_none=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = loss_fn(model)
    activations = storage_bytes(saved)
    saved.clear()
    loss.backward()
    optimizer.step()
    out = dict(params=storage_bytes(params), grads=storage_bytes(p.grad for p in params if p.grad is not None),
               state=state_bytes(optimizer), activations=activations)
    out["total"] = sum(out.values())
    return out


# ------------------------------------------------------------------ the chapter's training experiment
# Run once (``python -m optim.memory``, a few minutes), results committed to RESULTS; the chapter reads
# them and tests/test_memory.py re-runs one record to show that the file reproduces.
import json                     # noqa: E402
import platform                 # noqa: E402
import sys                      # noqa: E402
import time                     # noqa: E402
from pathlib import Path        # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "chapters" / "memory_digits.json"
STEPS, BATCH = 300, 32
SEEDS = (0, 1, 2)
AW = (3e-4, 1e-3, 3e-3, 1e-2)
#: the same tuning budget for each: four learning rates, a factor 3 apart, around each method's usual range
GRIDS = {"AdamW": AW, "AdamW8bit": AW, "AdamW8bit (256)": AW, "bitsandbytes AdamW8bit": AW,
         "Adafactor": (1e-2, 3e-2, 1e-1, 3e-1), "Lion": (3e-5, 1e-4, 3e-4, 1e-3),
         "Momentum": (1e-2, 3e-2, 1e-1, 3e-1)}


def make(name: str, params, lr: float):
    """The optimizers the chapter compares, by the chapter's names."""
    import optim.torch as ot
    if name == "bitsandbytes AdamW8bit":
        import bitsandbytes
        return bitsandbytes.optim.AdamW8bit(params, lr=lr)          # its blocks of 256, min_8bit_size 4096
    if name == "AdamW8bit (256)":
        return ot.AdamW8bit(params, lr=lr, block_size=256)
    return getattr(ot, name)(params, lr=lr)


def digits():
    """scikit-learn's 8x8 digits, one fixed shuffle: 1100 to train, 300 to choose lr (validation), 397 to test."""
    from sklearn.datasets import load_digits
    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    x, y = x[order], y[order]
    return (x[:1100], y[:1100]), (x[1100:1400], y[1100:1400]), (x[1400:], y[1400:])


def mlp(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    nn = torch.nn
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def train(name: str, lr: float, seed: int, steps: int = STEPS) -> dict:
    """One run: the MLP trained with ``name`` at ``lr`` for ``steps`` minibatches of 32 (seeded)."""
    (xt, yt), (xv, yv), (xs, ys) = digits()
    model = mlp(seed)
    opt = make(name, model.parameters(), lr)
    g = torch.Generator().manual_seed(seed)
    f = torch.nn.functional.cross_entropy
    for _ in range(steps):
        idx = torch.randint(0, len(xt), (BATCH,), generator=g)
        opt.zero_grad()
        f(model(xt[idx]), yt[idx]).backward()
        opt.step()
    with torch.no_grad():
        out = dict(optimizer=name, lr=lr, seed=seed, steps=steps,
                   val_loss=f(model(xv), yv).item(), test_loss=f(model(xs), ys).item(),
                   test_accuracy=(model(xs).argmax(-1) == ys).float().mean().item())
    n = sum(p.numel() for p in model.parameters())
    out["state_bytes_per_param"] = state_bytes(opt) / n
    return out


def reproduce(path: Path = RESULTS) -> list:
    """Tune each optimizer's lr on the validation split (seed 0), then run the best lr for every seed."""
    torch.set_num_threads(1)
    start, records = time.perf_counter(), []
    for name, grid in GRIDS.items():
        tuning = [train(name, lr, 0) for lr in grid]
        finite = [r for r in tuning if r["val_loss"] == r["val_loss"]]
        best = min(finite, key=lambda r: r["val_loss"])["lr"]
        for r in tuning:
            r["role"] = "tuning"
        final = [dict(train(name, best, s), role="final") for s in SEEDS]
        records += tuning + final
        print(f"{name}: best lr {best}, {time.perf_counter() - start:.0f} s so far", flush=True)
    import bitsandbytes
    meta = dict(command="python -m optim.memory", seconds=round(time.perf_counter() - start, 1),
                torch=torch.__version__, bitsandbytes=bitsandbytes.__version__, python=sys.version.split()[0],
                machine=f"{platform.machine()}, {torch.get_num_threads()} thread",
                date=time.strftime("%Y-%m-%d", time.gmtime()))
    path.write_text(json.dumps(dict(meta=meta, records=records), indent=1) + "\n")
    return records


if __name__ == "__main__":
    reproduce()
