"""Time per step of every optimizer on every benchmark workload, as a ratio to SGD's step there.

    .venv/bin/python benchmarks/step_time.py            # about 2 minutes on 2 cores
    .venv/bin/python benchmarks/step_time.py --quick    # a smoke run: 2 workloads, fewer steps

The benchmark's results file scores optimizers by *steps* to target (deterministic); its
seconds were measured under varying load. This script measures what a step costs, on one
thread, so the chapter "Which optimizer should I use?" can turn steps into time:

* every (workload, optimizer) pair is built once, at the configuration the benchmark chose
  for it (its best tuned trial in ``benchmarks/which_optimizer.json``), and warmed up;
* then ROUNDS rounds, each timing STEPS consecutive training steps of every pair of a workload,
  in a shuffled order (interleaved, so a burst of load on the machine hits all of them alike);
* a pair's time per step is its best round (the least disturbed), for the whole training step
  (batch, forward, backward, the optimizer's step) and for the optimizer's ``step()`` alone;
* both are divided by SGD's, measured in the same rounds on the same workload.

It writes ``benchmarks/step_time.json``: the ratios, the absolute seconds (for reference only:
they depend on the machine and its load), the machine, torch's version and the date.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "step_time.json"


def _pairs(workload_name, records):
    from optim.bench import SPACES, applies, scores
    chosen = scores(r for r in records if r["workload"] == workload_name)
    out = []
    for optimizer in SPACES:
        if not applies(optimizer, workload_name):
            continue
        best = [r for r in records if r["workload"] == workload_name and r["optimizer"] == optimizer
                and r["role"] == "tune"]
        hyper = dict(SPACES[optimizer].fixed)
        if (workload_name, optimizer) in chosen:
            lr = chosen[workload_name, optimizer]["lr"]
            hyper = next(r["hyper"] for r in best if r["hyper"].get("lr") == lr)
        out.append((optimizer, hyper))
    return out


class _Run:
    """One (workload, optimizer) pair: its task, its optimizer, and the step counter it is at."""

    def __init__(self, workload, optimizer, hyper):
        import torch

        from optim.workloads import make_optimizer, takes_sparse
        torch.manual_seed(0)
        self.task = workload.build(0, workload.sparse and takes_sparse(optimizer))
        self.opt = make_optimizer(optimizer, self.task.model, hyper)
        if hasattr(self.opt, "train"):
            self.opt.train()
        self.step_index = 0

    def steps(self, n):
        """n training steps; (seconds of the whole steps, seconds of the optimizer's step alone)."""
        total = inner = 0.0
        for _ in range(n):
            t0 = time.perf_counter()
            batch = self.task.batch(self.step_index)
            self.opt.zero_grad()
            loss = self.task.loss(self.task.model, batch)
            loss.backward()
            t1 = time.perf_counter()
            self.opt.step()
            t2 = time.perf_counter()
            total += t2 - t0
            inner += t2 - t1
            self.step_index += 1
        return total / n, inner / n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 workloads, fewer steps: a smoke run")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    import torch

    from optim.bench import load
    from optim.workloads import WORKLOADS
    torch.set_num_threads(1)
    warmup, steps, rounds = (3, 5, 2) if args.quick else (10, 25, 5)
    names = ["logreg", "digits_mlp"] if args.quick else list(WORKLOADS)
    records = load(ROOT / "benchmarks" / "which_optimizer.json")
    rng = random.Random(0)
    start = time.time()
    load_before = os.getloadavg()
    results = {}
    for name in names:
        runs = {o: _Run(WORKLOADS[name], o, hyper) for o, hyper in _pairs(name, records)}
        for run in runs.values():
            run.steps(warmup)
        best = {o: (float("inf"), float("inf")) for o in runs}
        for _ in range(rounds):
            order = list(runs)
            rng.shuffle(order)
            for o in order:
                total, inner = runs[o].steps(steps)
                best[o] = (min(best[o][0], total), min(best[o][1], inner))
        sgd_total, sgd_inner = best["SGD"]
        results[name] = {o: dict(step_ratio=t / sgd_total, optimizer_step_ratio=i / sgd_inner,
                                 seconds_per_step=t, optimizer_step_seconds=i)
                         for o, (t, i) in best.items()}
        print(f"{name:11s} SGD step {sgd_total * 1e3:.2f} ms (its optimizer step {sgd_inner * 1e3:.3f} ms); "
              f"slowest: " + ", ".join(f"{o} {r['step_ratio']:.2f}x" for o, r in sorted(
                  results[name].items(), key=lambda kv: -kv[1]["step_ratio"])[:3]), flush=True)
    seconds = time.time() - start
    body = dict(
        made_by="python benchmarks/step_time.py" + (" --quick" if args.quick else ""),
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.system()}",
        torch=torch.__version__, threads=1, warmup=warmup, steps=steps, rounds=rounds,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()], seconds=round(seconds, 1),
        workloads=results)
    Path(args.out).write_text(json.dumps(body, indent=1) + "\n")
    print(f"done in {seconds:.0f} s; load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
          f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
