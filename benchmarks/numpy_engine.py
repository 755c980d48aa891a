"""Speed of the NumPy face: 10,000 independent 2-D Adam runs on Rosenbrock, 1,000 steps.

Measured side by side in one run (repeats interleaved, best of each kept):

(a) ``optim.trajectory.run(optim.Adam(...), rosenbrock, start, steps)`` — the engine: it also
    records every position and loss and cuts diverged runs;
(b) a bare loop ``params, state = opt.step(params, rosenbrock.grad(params), state)``;
(c) a hand-written NumPy Adam loop, the same arithmetic as ``optim.adam.adam_update``
    (m, v moving averages; α_t = α√(1-β₂ᵗ)/(1-β₁ᵗ); ε̂ = ε√(1-β₂ᵗ)), in two versions:
    (c1) recording positions and losses as the engine does (the same job as (a)),
    (c2) bare, nothing recorded (the same job as (b)).

Each contender is timed by wall clock and by the process's CPU time (``time.process_time``); on a
shared machine (other jobs on the 2 cores) the CPU time is the steadier one, and the ratios are
computed from it. One step of one 2-D run counts as one optimizer step. Targets: (a) no slower than (c1), (b) no
slower than (c2), and at least 10M optimizer steps per second. Run:
    .venv/bin/python benchmarks/numpy_engine.py [--runs 10000] [--steps 1000] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import optim
from optim.landscapes import rosenbrock
from optim.trajectory import run

LR, BETAS, EPS = 1e-2, (0.9, 0.999), 1e-8


def starts(runs: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform([-2.0, -1.0], [2.0, 3.0], size=(runs, 2))


def engine(start, steps):
    return run(optim.Adam(lr=LR, betas=BETAS, eps=EPS), rosenbrock, start, steps).positions[-1]


def bare_loop(start, steps):
    opt = optim.Adam(lr=LR, betas=BETAS, eps=EPS)
    params, state = start, opt.init(start)
    for _ in range(steps):
        params, state = opt.step(params, rosenbrock.grad(params), state)
    return params


def _hand_adam(start, steps, record):
    b1, b2 = BETAS
    p = start.copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    if record:
        positions = np.empty((steps + 1, *p.shape))
        losses = np.empty((steps + 1, *p.shape[:-1]))
        positions[0], losses[0] = p, rosenbrock.f(p)
    for t in range(1, steps + 1):
        g = rosenbrock.grad(p)
        m = m + (1 - b1) * (g - m)
        v = v * b2 + (1 - b2) * (g * g)
        bc2 = (1 - b2**t) ** 0.5
        p = p + (-LR * bc2 / (1 - b1**t)) * (m / (np.sqrt(v) + EPS * bc2))
        if record:
            positions[t], losses[t] = p, rosenbrock.f(p)
    return p


def hand_recording(start, steps):
    return _hand_adam(start, steps, record=True)


def hand_bare(start, steps):
    return _hand_adam(start, steps, record=False)


CONTENDERS = {
    "(a) optim.trajectory.run": engine,
    "(b) bare opt.step loop": bare_loop,
    "(c1) hand NumPy Adam, recording": hand_recording,
    "(c2) hand NumPy Adam, bare": hand_bare,
}


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = starts(args.runs)

    # The four must compute the same thing (the optimizer's arithmetic is the hand loop's).
    ends = {name: f(start, 20) for name, f in CONTENDERS.items()}
    reference = ends["(c2) hand NumPy Adam, bare"]
    for name, end in ends.items():
        np.testing.assert_allclose(end, reference, rtol=1e-12, atol=1e-12, err_msg=name)

    best = {name: float("inf") for name in CONTENDERS}
    wall = dict(best)
    for _ in range(args.repeats):                 # interleaved: drifts of the machine hit all alike
        for name, f in CONTENDERS.items():
            t0, c0 = time.perf_counter(), time.process_time()
            f(start, args.steps)
            best[name] = min(best[name], time.process_time() - c0)
            wall[name] = min(wall[name], time.perf_counter() - t0)

    total = args.runs * args.steps
    print(f"machine: {machine()}")
    print(f"{args.runs} runs x {args.steps} steps of 2-D Adam on Rosenbrock, best of {args.repeats}\n")
    print(f"load average (1 min, at the end): {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    print(f"{'':36} {'CPU time':>9} {'wall':>9} {'opt-steps/s (CPU)':>18} {'µs/step (batch)':>16}")
    for name, seconds in best.items():
        print(f"{name:36} {seconds:8.3f}s {wall[name]:8.3f}s {total / seconds / 1e6:16.1f} M "
              f"{1e6 * seconds / args.steps:15.1f}")
    a, b = best["(a) optim.trajectory.run"], best["(b) bare opt.step loop"]
    c1, c2 = best["(c1) hand NumPy Adam, recording"], best["(c2) hand NumPy Adam, bare"]
    print(f"\nengine vs hand loop (same job, recording):  {c1 / a:.2f}x  (target >= 1.00x)")
    print(f"opt.step loop vs hand loop (bare):           {c2 / b:.2f}x  (target >= 1.00x)")
    print(f"engine throughput: {total / a / 1e6:.1f} M optimizer steps/s (target >= 10 M)")


if __name__ == "__main__":
    main()
