"""How fast can an optimizer step be? Adam's step against the memory-bandwidth bound, and Ranger's.

Part 1, Adam on 16.8M parameters in 256 tensors of 256x256 (float32, CPU):
torch.optim.Adam's for-loop (its CPU default), ``foreach=True``, ``fused=True``, ``torch.compile``
of its step; optim.torch.Adam's default loop, ``foreach=True``, ``fused=True``. The bound: a step
must read p, g, m, v and write p, m, v, 28 bytes per parameter; at the machine's memory bandwidth,
measured in the same run by STREAM's four kernels (copy, scale, add, triad on 16.8M floats, as
torch ops; the best of them), it takes about 28 N / bandwidth at the least: an estimate, not a bound, since
STREAM's kernels write a separate array (each store first reads its line: write-allocate) and the step
writes in place; so the in-place forms (b *= s, b += c, b += s c) are measured too and give a second
estimate. Each implementation is reported as ms per step, GB/s achieved (28 N / time), fraction of
the bound (STREAM) and of the in-place estimate.

The issue's three goals (``GOALS``) are reported with a verdict, the ratio per interleaved round
(the two contenders timed side by side in that round) and its spread over the rounds.

Part 2, a small MLP (the chapter's question: when does the step matter?): forward+backward time
against the step of torch.optim.Adam, optim.torch.Adam, pytorch_optimizer.Ranger and
optim.torch.Ranger.

The contenders are measured side by side in one run, interleaved (rounds of each in turn), and
each keeps its fastest step: other jobs on a shared machine only ever add time, so the minimum is
the steadiest estimate. Compile times are reported once. Writes ``benchmarks/optimizer_step.json``
(read by the chapter *How fast can a step be?*). Run (about 3-5 minutes, most of it compiling):

    .venv/bin/python benchmarks/optimizer_step.py [--threads 1] [--rounds 4]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
import warnings
from pathlib import Path

import torch

import optim.torch

SHAPE, COUNT = (256, 256), 256
BYTES_PER_PARAM = 28          # fp32 Adam: read p, g, m, v (16 B), write p, m, v (12 B)
OUT = Path(__file__).with_name("optimizer_step.json")


def make_params(shape=SHAPE, count=COUNT, seed=0):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(shape, generator=g).requires_grad_() for _ in range(count)]
    for p in params:
        p.grad = torch.randn(shape, generator=g)
    return params


def fastest(fn, repeats) -> float:
    """Seconds of the fastest of ``repeats`` calls."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def stream_bandwidth(n: int, repeats: int = 10) -> dict:
    """Bytes per second of STREAM's four kernels on n floats (McCalpin): copy a = b (8n bytes moved),
    scale a = s b (8n), add a = b + c (12n), triad a = b + s c (12n), as torch ops into an existing buffer;
    and the in-place forms an optimizer step uses (scale_ b *= s, add_ b += c, triad_ b += s c): the
    out-of-place kernels' stores first read the destination's cache line (write-allocate), traffic the
    counted bytes leave out, and in-place ones do not."""
    a, b, c = torch.empty(n), torch.randn(n), torch.randn(n)
    kernels = dict(copy=(lambda: a.copy_(b), 8), scale=(lambda: torch.mul(b, 3.0, out=a), 8),
                   add=(lambda: torch.add(b, c, out=a), 12), triad=(lambda: torch.add(b, c, alpha=3.0, out=a), 12),
                   scale_=(lambda: b.mul_(1.0), 8), add_=(lambda: b.add_(c, alpha=0.0), 12),
                   triad_=(lambda: b.add_(c, alpha=1e-30), 12))
    for fn, _ in kernels.values():
        fn()
    return {name: bytes_ * n / fastest(fn, repeats) for name, (fn, bytes_) in kernels.items()}


def adam_contenders():
    def compiled_torch(params):
        opt = torch.optim.Adam(params, lr=1e-3, foreach=True)
        step = torch.compile(opt.step)
        return opt, step

    return {
        "torch.optim.Adam (for-loop)": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=False),
        "torch.optim.Adam (foreach=True)": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True),
        "torch.optim.Adam (fused=True)": lambda p: torch.optim.Adam(p, lr=1e-3, fused=True),
        "torch.compile(torch.optim.Adam.step)": compiled_torch,
        "optim.torch.Adam (default)": lambda p: optim.torch.Adam(p, lr=1e-3),
        "optim.torch.Adam (foreach=True)": lambda p: optim.torch.Adam(p, lr=1e-3, foreach=True),
        "optim.torch.Adam (fused=True)": lambda p: optim.torch.Adam(p, lr=1e-3, fused=True),
    }


def adam_part(rounds: int, repeats: int) -> dict:
    n = COUNT * SHAPE[0] * SHAPE[1]
    runs, compile_s = {}, {}
    for name, factory in adam_contenders().items():
        made = factory(make_params())
        opt, step = made if isinstance(made, tuple) else (made, made.step)
        start = time.perf_counter()
        for _ in range(3):                   # warm-up: state allocated, compiled, caches hot
            step()
        compile_s[name] = time.perf_counter() - start
        print(f"  ready: {name} (first 3 steps {compile_s[name]:.1f} s)", flush=True)
        runs[name] = step
    stream, per_round = {}, {name: [] for name in runs}
    for _ in range(rounds):
        for kernel, bw in stream_bandwidth(n).items():
            stream[kernel] = max(stream.get(kernel, 0.0), bw)
        for name, step in runs.items():
            per_round[name].append(fastest(step, repeats))
    times = {name: min(ts) for name, ts in per_round.items()}
    # STREAM's own kernels (out of place); the in-place ones the step's own stores resemble
    bw = max(v for k, v in stream.items() if not k.endswith("_"))
    bw_in_place = max(v for k, v in stream.items() if k.endswith("_"))
    bound = BYTES_PER_PARAM * n / bw
    bound_in_place = BYTES_PER_PARAM * n / bw_in_place
    rows = {name: dict(ms=1e3 * t, gb_s=BYTES_PER_PARAM * n / t / 1e9, fraction_of_bound=bound / t,
                       fraction_of_in_place_estimate=bound_in_place / t,
                       ms_per_round=[1e3 * x for x in per_round[name]],
                       first_three_steps_s=compile_s[name]) for name, t in times.items()}
    return dict(params=n, tensors=COUNT, shape=list(SHAPE), bytes_per_param=BYTES_PER_PARAM,
                stream_gb_s={k: v / 1e9 for k, v in stream.items()}, bandwidth_gb_s=bw / 1e9,
                bound_ms=1e3 * bound, in_place_bandwidth_gb_s=bw_in_place / 1e9,
                in_place_estimate_ms=1e3 * bound_in_place, rows=rows)


def mlp_part(rounds: int, repeats: int) -> dict:
    """A small MLP (784-256-256-10, batch 64): forward+backward vs each optimizer's step."""
    from pytorch_optimizer import Ranger as PORanger

    torch.manual_seed(0)
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))

    def model():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                   torch.nn.ReLU(), torch.nn.Linear(256, 10))

    def fwd_bwd(net):
        net.zero_grad(set_to_none=False)
        torch.nn.functional.cross_entropy(net(x), y).backward()

    contenders = {
        "torch.optim.Adam": lambda ps: torch.optim.Adam(ps, lr=1e-3),
        "optim.torch.Adam": lambda ps: optim.torch.Adam(ps, lr=1e-3),
        "pytorch_optimizer.Ranger": lambda ps: PORanger(ps, lr=1e-3),
        "optim.torch.Ranger": lambda ps: optim.torch.Ranger(ps, lr=1e-3),
    }
    nets, opts = {}, {}
    for name, factory in contenders.items():
        nets[name] = net = model()
        fwd_bwd(net)
        opts[name] = factory(net.parameters())
        for _ in range(12):                  # past Ranger's first sync (k = 6) and RAdam's warm-up
            opts[name].step()
    net = model()
    per_round = {name: [] for name in contenders}
    fb = float("inf")
    for _ in range(rounds):
        fb = min(fb, fastest(lambda: fwd_bwd(net), repeats))
        for name, opt in opts.items():
            # a step of every kind in k = 6: 6 steps timed, their mean (Lookahead syncs on one of them)
            per_round[name].append(fastest(lambda: [opt.step() for _ in range(6)], repeats) / 6)
    n = sum(p.numel() for p in net.parameters())
    return dict(params=n, tensors=len(list(net.parameters())), batch=64, forward_backward_ms=1e3 * fb,
                step_ms={name: 1e3 * min(ts) for name, ts in per_round.items()},
                step_ms_per_round={name: [1e3 * t for t in ts] for name, ts in per_round.items()})


GOALS = {  # the goals: (ours, theirs, at most)
    "fused_vs_torch_fused": ("optim.torch.Adam (fused=True)", "torch.optim.Adam (fused=True)", 1.5),
    "default_vs_torch_default": ("optim.torch.Adam (default)", "torch.optim.Adam (for-loop)", 1.0),
    "ranger_vs_pytorch_optimizer": ("optim.torch.Ranger", "pytorch_optimizer.Ranger", 1.5),
}


def goal_verdicts(adam: dict, mlp: dict) -> dict:
    """Each goal's ratio per interleaved round (ours / theirs, measured side by side in that round), with the
    ratio of the fastest steps, the median, the spread (min, max) and a verdict: "met" when both the ratio of
    the fastest steps and the median per-round ratio are within the goal, "missed" when both are above it,
    "unsettled" when they disagree (the run's noise is larger than the margin)."""
    import statistics

    per_round = {**{k: r["ms_per_round"] for k, r in adam["rows"].items()}, **mlp["step_ms_per_round"]}
    best = {**{k: r["ms"] for k, r in adam["rows"].items()}, **mlp["step_ms"]}
    out = {}
    for key, (ours, theirs, limit) in GOALS.items():
        rs = [a / b for a, b in zip(per_round[ours], per_round[theirs])]
        ratio = best[ours] / best[theirs]
        median = statistics.median(rs)
        verdict = ("met" if ratio <= limit and median <= limit else
                   "missed" if ratio > limit and median > limit else "unsettled")
        out[key] = dict(ours=ours, theirs=theirs, goal_at_most=limit, ratio_of_fastest=ratio,
                        rounds=len(rs), median=median, min=min(rs), max=max(rs), verdict=verdict,
                        missed_by=max(ratio, median) / limit - 1 if verdict != "met" else 0.0,
                        met_in_rounds=sum(r <= limit for r in rs))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    load = os.getloadavg()
    meta = dict(date=datetime.date.today().isoformat(), torch=torch.__version__, threads=args.threads,
                cores=os.cpu_count(), machine=platform.machine(), processor=platform.processor(),
                load_average_start=[round(v, 2) for v in load])
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} cores, load average "
          f"{load[0]:.1f}")
    adam = adam_part(args.rounds, args.repeats)
    print(f"\nAdam, {adam['params'] / 1e6:.1f}M parameters in {COUNT} tensors: STREAM "
          + ", ".join(f"{k} {v:.1f}" for k, v in adam["stream_gb_s"].items())
          + f" GB/s; bound {adam['bound_ms']:.1f} ms/step ({BYTES_PER_PARAM} B/param at the best of them)")
    for name, r in adam["rows"].items():
        print(f"  {name:40s} {r['ms']:7.1f} ms  {r['gb_s']:5.1f} GB/s  {r['fraction_of_bound']:5.2f} of bound"
              f"  (first 3 steps {r['first_three_steps_s']:.1f} s)")
    rows = adam["rows"]
    ratios = dict(
        fused_vs_torch_fused=rows["optim.torch.Adam (fused=True)"]["ms"] / rows["torch.optim.Adam (fused=True)"]["ms"],
        default_vs_torch_default=rows["optim.torch.Adam (default)"]["ms"] / rows["torch.optim.Adam (for-loop)"]["ms"],
        foreach_vs_torch_foreach=(rows["optim.torch.Adam (foreach=True)"]["ms"]
                                  / rows["torch.optim.Adam (foreach=True)"]["ms"]))
    mlp = mlp_part(args.rounds, args.repeats)
    ratios["ranger_vs_pytorch_optimizer"] = mlp["step_ms"]["optim.torch.Ranger"] / mlp["step_ms"][
        "pytorch_optimizer.Ranger"]
    print(f"\nMLP, {mlp['params']} parameters in {mlp['tensors']} tensors, batch 64: forward+backward "
          f"{mlp['forward_backward_ms']:.2f} ms")
    for name, ms in mlp["step_ms"].items():
        print(f"  {name:28s} step {ms:.3f} ms  ({ms / mlp['forward_backward_ms']:.2f} of forward+backward)")
    print("\nratios:", {k: round(v, 2) for k, v in ratios.items()})
    goals = goal_verdicts(adam, mlp)
    for key, g in goals.items():
        print(f"  goal {key} <= {g['goal_at_most']}: {g['ratio_of_fastest']:.2f} ({g['verdict']}); "
              f"per round median {g['median']:.2f}, {g['min']:.2f}-{g['max']:.2f}, met in {g['met_in_rounds']} "
              f"of {g['rounds']}")
    meta.update(load_average_end=[round(v, 2) for v in os.getloadavg()],
                seconds=round(time.perf_counter() - started))
    args.out.write_text(json.dumps(dict(meta=meta, adam=adam, mlp=mlp, ratios=ratios, goals=goals), indent=1) + "\n")
    print(f"wrote {args.out} in {meta['seconds']} s")


if __name__ == "__main__":
    main()
