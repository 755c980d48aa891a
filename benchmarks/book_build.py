"""How long the book takes to build, and each chapter to execute.

    .venv/bin/python benchmarks/book_build.py

Builds into a temporary folder, so the checkout's `_build` and its execution cache
are left alone, and measures:

1. a clean build: every chapter executes;
2. a rebuild with nothing changed: what `jupyter-book build .` costs the second time;
3. a rebuild with `--all`: every page re-read and re-rendered, its outputs taken from
   the execution cache (what a change to `_config.yml` costs);

then each chapter's execution time, as the clean build's jupyter-cache recorded it,
against the budget of CONTRIBUTING.md (30 s a chapter on 2 cores).
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_cache import get_cache

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_BUDGET = 30.0  # seconds


def timed_build(output: Path, *extra: str) -> float:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    subprocess.run(
        [jupyter_book, "build", ".", "-W", "-n", "--keep-going", "--path-output", str(output), *extra],
        cwd=ROOT, check=True, capture_output=True,
    )
    return time.perf_counter() - start


def chapter_times(output: Path) -> dict[str, float]:
    cache = get_cache(output / "_build" / ".jupyter_cache")
    return {
        Path(record.uri).relative_to(ROOT).as_posix(): record.data["execution_seconds"]
        for record in cache.list_cache_records()
    }


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="book-build-") as tmp:
        output = Path(tmp)
        clean = timed_build(output)
        unchanged = timed_build(output)
        from_cache = timed_build(output, "--all")
        chapters = chapter_times(output)

    print(f"clean build (executes every chapter):  {clean:6.1f} s")
    print(f"rebuild, nothing changed:              {unchanged:6.1f} s")
    print(f"rebuild --all, outputs from the cache: {from_cache:6.1f} s")
    print("chapter execution (clean build):")
    for name, seconds in chapters.items():
        verdict = "ok" if seconds <= CHAPTER_BUDGET else f"OVER the {CHAPTER_BUDGET:.0f} s budget"
        print(f"  {name:40s} {seconds:6.1f} s  {verdict}")


if __name__ == "__main__":
    main()
