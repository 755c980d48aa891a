"""Speed of one Adam step: optim.torch.Adam vs torch.optim.Adam (default loop, fused).

16.7M parameters in 256 tensors of 256×256, CPU. The contenders are measured side by
side in one run, interleaved, and each keeps its fastest step: on a shared machine other
jobs only ever add time, so the minimum is the steadiest estimate of the cost. Run:
    .venv/bin/python benchmarks/adam_step.py
"""
import os
import platform
import time

import torch

import optim.torch

SHAPE, COUNT, REPEATS = (256, 256), 256, 15


def make():
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(SHAPE, generator=g).requires_grad_() for _ in range(COUNT)]
    for p in params:
        p.grad = torch.randn(SHAPE, generator=g)
    return params


def fastest_step_ms(factory) -> float:
    opt = factory(make())
    for _ in range(3):
        opt.step()                         # warm-up: state allocated, caches hot
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def main():
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{COUNT} tensors of {SHAPE[0]}x{SHAPE[1]} = {COUNT * SHAPE[0] * SHAPE[1] / 1e6:.1f}M parameters")
    contenders = {
        "torch.optim.Adam (default)": lambda p: torch.optim.Adam(p, lr=1e-3),
        "torch.optim.Adam (fused=True)": lambda p: torch.optim.Adam(p, lr=1e-3, fused=True),
        "optim.torch.Adam": lambda p: optim.torch.Adam(p, lr=1e-3),
    }
    # interleave the contenders so that machine noise hits them alike
    results = {name: [] for name in contenders}
    for _ in range(4):
        for name, factory in contenders.items():
            results[name].append(fastest_step_ms(factory))
    ms = {name: min(v) for name, v in results.items()}
    for name, value in ms.items():
        print(f"{name:32s} {value:7.1f} ms/step")
    ours = ms["optim.torch.Adam"]
    print(f"ratio optim.torch.Adam / torch default: {ours / ms['torch.optim.Adam (default)']:.2f}")
    print(f"ratio optim.torch.Adam / torch fused:   {ours / ms['torch.optim.Adam (fused=True)']:.2f}")


if __name__ == "__main__":
    main()
