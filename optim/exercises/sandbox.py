"""Run a reader's function safely: a time limit, errors caught, inputs watched.

`run(fn, args)` calls `fn(*args.values())` on fresh copies of the arguments and
returns an `Outcome` -- what came back, or what went wrong -- and never raises
(except `KeyboardInterrupt`: a reader who presses "stop" means it).

The time limit. An endless loop in a notebook cell must not hang the check.
- In the main thread on Linux/macOS (where a Jupyter kernel runs cell code),
  `signal.setitimer` raises `TimeLimitExceeded` inside the loop after the limit.
- Elsewhere (another thread, Windows), the function runs in a worker thread; after
  the limit we ask CPython to raise `TimeLimitExceeded` in that thread. This
  stops loops written in Python; a single endless C call (rare) keeps running
  in the background until the kernel restarts.
- Where threads cannot start (an in-browser Python), the function runs with no limit.
"""

import copy
import ctypes
import os
import signal
import sysconfig
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

DEFAULT_TIME_LIMIT = 1.0  # seconds per call: every exercise runs in microseconds


class TimeLimitExceeded(BaseException):
    """Raised inside a reader's function that runs past its time limit.

    A `BaseException`, like `KeyboardInterrupt`, so that an `except Exception:`
    in the reader's code cannot swallow it and keep looping.
    """


@dataclass(frozen=True)
class Outcome:
    """What happened when a function was called on one case."""

    value: Any = None  # what the function returned
    error: BaseException | None = None  # what it raised, if anything
    where: str = ""  # "line 4: `m = m * beta1`" -- the reader's line that raised
    timed_out: bool = False
    mutated: tuple[str, ...] = ()  # names of the inputs it changed in place
    seconds: float = 0.0


def run(fn: Callable, args: dict, time_limit: float = DEFAULT_TIME_LIMIT) -> Outcome:
    """Call `fn` on copies of `args`, under a time limit; report what happened."""
    given = copy.deepcopy(args)  # the function may scribble on these, not on `args`
    start = time.perf_counter()
    try:
        # The reader's NaN is reported by the check, not by a flood of warnings.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = call_with_time_limit(fn, tuple(given.values()), time_limit)
    except TimeLimitExceeded:
        return Outcome(timed_out=True, seconds=time.perf_counter() - start)
    except (Exception, SystemExit) as error:
        return Outcome(error=error, where=_where(error),
                       mutated=_mutated(args, given),
                       seconds=time.perf_counter() - start)
    return Outcome(value=value, mutated=_mutated(args, given),
                   seconds=time.perf_counter() - start)


def call_with_time_limit(fn: Callable, args: tuple, seconds: float):
    """`fn(*args)`, or `TimeLimitExceeded` if it takes longer than `seconds`."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _call_with_alarm(fn, args, seconds)
    return _call_in_worker_thread(fn, args, seconds)


def _call_with_alarm(fn, args, seconds):
    def on_alarm(signum, frame):
        raise TimeLimitExceeded(seconds)

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:  # someone else's alarm was pending: put it back
            remaining = max(previous_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)


def _call_in_worker_thread(fn, args, seconds):
    box = {}

    def work():
        try:
            box["value"] = fn(*args)
        except BaseException as error:  # handed back to the caller below
            box["error"] = error

    worker = threading.Thread(target=work, name="optim-exercise-check", daemon=True)
    try:
        worker.start()
    except RuntimeError:  # no threads here (e.g. Pyodide): run with no time limit
        return fn(*args)
    worker.join(seconds)
    if worker.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(TimeLimitExceeded))
        worker.join(0.5)
        raise TimeLimitExceeded(seconds)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _mutated(before: dict, after: dict) -> tuple[str, ...]:
    """Names of the arguments whose values changed during the call."""
    return tuple(name for name in before if not _same(before[name], after[name]))


def _same(a, b) -> bool:
    try:
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    except (TypeError, ValueError):
        return a is b or a == b


# Frames in these folders are library code; the reader wants to see *their* line.
_LIBRARY_DIRS = tuple(
    os.path.realpath(path) + os.sep
    for path in {sysconfig.get_paths()[key] for key in ("stdlib", "purelib", "platlib")}
    | {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}  # the optim package
)


def _where(error: BaseException) -> str:
    """The innermost line of the reader's own code in the error's traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    own = [f for f in frames if not os.path.realpath(f.filename).startswith(_LIBRARY_DIRS)]
    frame = (own or frames)[-1]
    code = f": `{frame.line.strip()}`" if frame.line else ""
    return f"line {frame.lineno}{code}"
