"""How fast does the Explorer redraw after a slider change? (Budget: 100 ms median.)

Builds an ``optim.widgets.Explorer`` headless (matplotlib Agg, no kernel), then
moves one randomly chosen slider at a time to a random value, exactly as a
reader's release of a slider would (the widget's observers do the work), and
times each full redraw: new trajectories, artists moved in place, PNG frame.
Prints the median and 90th percentile per scenario, in wall-clock time and in
CPU time of this process (on a shared machine the wall clock also counts the
time other jobs hold the cores; the CPU time does not); a landscape change
(contours redrawn) is timed separately since it is not a slider.

    .venv/bin/python benchmarks/widget_redraw.py [changes per scenario, default 200]
"""

import os
import statistics
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

import optim  # noqa: E402
from optim import landscapes  # noqa: E402
from optim.widgets import explore  # noqa: E402

SCENARIOS = {
    "chapter default: 3 optimizers, 100 steps": dict(optimizers=["SGD", "Momentum", "Adam"],
                                                      steps=100),
    "3 instances, 100 steps, sliders lr, β₁, β₂, ε": dict(
        optimizers={"Adam": optim.Adam(), "AMSGrad": optim.Adam(amsgrad=True),
                    "RMSprop": optim.RMSprop()}, steps=100,
        hyper=dict(beta1=0.9, beta2=0.999, eps=1e-8)),
    "4 optimizers, 300 steps": dict(optimizers=["SGD", "Momentum", "Nesterov", "Adam"],
                                    steps=300),
    "worst case: the 13 optimizers of parts 1-6, 500 steps": dict(
        optimizers=["SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "NAdam",
                    "AdamW", "Lookahead", "RAdam", "Ranger", "LazyAdam"], steps=500),
}


def random_change(explorer, rng) -> dict:
    """One slider move to a random value within the slider's range."""
    landscape = explorer.landscape
    (x_low, x_high), (y_low, y_high) = landscape.bounds
    name = rng.choice([n for n in ("lr", "beta", "beta1", "beta2", "eps", "x0", "y0", "steps")
                       if n in explorer.controls])
    value = {
        "lr": lambda: float(10 ** rng.uniform(-4, 0)),
        "beta": lambda: float(rng.uniform(0, 0.99)),
        "beta1": lambda: float(rng.uniform(0, 0.99)),
        "beta2": lambda: float(rng.uniform(0.5, 0.9999)),
        "eps": lambda: float(10 ** rng.uniform(-10, 0)),
        "x0": lambda: float(rng.uniform(x_low, x_high)),
        "y0": lambda: float(rng.uniform(y_low, y_high)),
        # A non-zero move, reflected at the ends: an unchanged value would not redraw at all.
        "steps": lambda: _reflect(explorer.controls["steps"].value
                                  + int(rng.choice([-1, 1]) * rng.integers(1, 21)), 1, 1000),
    }[name]()
    return {name: value}


def _reflect(value: int, low: int, high: int) -> int:
    return 2 * low - value if value < low else 2 * high - value if value > high else value


def time_slider_changes(explorer, changes: int, seed: int = 0) -> tuple[list, list]:
    """Milliseconds per redraw (wall clock, CPU), for ``changes`` random single-slider moves."""
    rng = np.random.default_rng(seed)
    wall, cpu = [], []
    for _ in range(changes):
        ((name, value),) = random_change(explorer, rng).items()
        start, start_cpu = time.perf_counter(), time.process_time()
        explorer.controls[name].value = value  # fires the observer: a real redraw
        wall.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - start_cpu) * 1e3)
    return wall, cpu


def time_landscape_changes(explorer) -> list[float]:
    times = []
    for name in list(landscapes.ALL) * 2:
        start = time.perf_counter()
        explorer.controls["landscape"].value = name
        times.append((time.perf_counter() - start) * 1e3)
    return times


def report(label: str, times: list[float], cpu: list[float] | None = None) -> None:
    p90 = float(np.percentile(times, 90))
    line = (f"{label:55s} n={len(times):4d}  median {statistics.median(times):6.1f} ms"
            f"  p90 {p90:6.1f} ms  max {max(times):6.1f} ms")
    if cpu:
        line += f"  | CPU median {statistics.median(cpu):6.1f} ms  p90 {np.percentile(cpu, 90):6.1f} ms"
    print(line)


def main(changes: int = 200) -> None:
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          "one redraw = trajectories + in-place artists + PNG frame")
    for label, config in SCENARIOS.items():
        explorer = explore("Rosenbrock", config["optimizers"], steps=config["steps"], lr=1e-3,
                           **config.get("hyper", {}))
        explorer.redraw()  # warm up caches (fonts, text layout)
        report(label, *time_slider_changes(explorer, changes))
    explorer = explore("Rosenbrock", SCENARIOS["4 optimizers, 300 steps"]["optimizers"], steps=300)
    report("landscape change (contours + layout), 4 opt.", time_landscape_changes(explorer))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
