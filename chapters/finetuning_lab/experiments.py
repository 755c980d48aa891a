"""The case study's real-BERT experiments: every setup by a stable name, the plan, the results file.

A *setup* builds the optimizer for a model. ``as_run`` setups are the reader's
(:mod:`finetuning_lab.reader_setups`, bugs included); ``fixed`` setups are the same
code with its bugs fixed, one flag each; *cause* setups add exactly one of the
reader's bugs to a working setup, at that setup's chosen rate, so each cause is
measured alone.

The plan (:func:`plan`) is what ``python -m finetuning_lab reproduce`` runs:

1. every tuned setup's learning rate is chosen on the validation split, with seed 0,
   from :data:`LRS` (:data:`RADAM_LRS` for the RAdam family, whose rectification
   shrinks its steps), extended along the 1-3-10 ladder while the best rate is at an
   end of the rates tried (the reader's own runs kept AdamW's rate: the ``as_run`` and
   ``cause`` setups use the rate chosen for AdamW);
2. then seeds 1 and 2 at the chosen rate (seed 1 only for the *cause* setups). Test F1
   is reported, never used to choose.

Each finished run is appended to ``results/bert_ner.json`` at once (a run is keyed
by setup, lr and seed, and is not run twice), so an interrupted reproduction resumes.
"""
from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from . import bert
from .reader_setups import (BertAdamW, Exhausted, TFLookahead, TFRAdam, bert_groups,
                            ranger_jyhengcoder)

RESULTS = Path(__file__).parent / "results" / "bert_ner.json"
STEPS = 120
LRS = (1e-4, 3e-4, 1e-3)
RADAM_LRS = (1e-3, 3e-3, 1e-2)   # RAdam's rectification averages ~0.15 over 120 steps
SEEDS = (0, 1, 2)
CAUSE_SEEDS = (0, 1)
THREADS = 1          # one thread: reproducible, and it does not spin-wait on a busy machine


@dataclass(frozen=True)
class Setup:
    name: str
    kind: str                      # "as_run", "fixed" or "cause"
    make: Callable                 # model -> optimizer (with .increments_global_step)
    about: str
    base: str = "adamw"            # whose chosen rate it runs at (as_run and cause setups)
    lrs: tuple = ()                # where its rate search starts (default: LRS)


def _embeddings(model):
    return [model.bert.embeddings.word_embeddings.weight]


def _radam(model, **kw):
    return TFRAdam(model.parameters(), **kw)


def _ranger(model, step_lag=1, zero_slow=True, offset=1, increments=True):
    inner = TFRAdam(model.parameters(), step_lag=step_lag, eps_on_corrected=True,
                    inclusive=True, row_sparse=_embeddings(model))
    return TFLookahead(inner, alpha=0.5, period=6, offset=offset, zero_slow=zero_slow,
                       increments_global_step=increments)


def _once(opt):
    """The global-step fix: take BERT's own increment out, or don't let the optimizer add one."""
    opt.increments_global_step = False
    return opt


SETUPS = {s.name: s for s in (
    # --- as the reader ran them (each inside BERT's create_optimizer) ---
    Setup("adamw", "as_run", lambda m: BertAdamW(bert_groups(m, 0.01)),
          "BERT's AdamWeightDecayOptimizer, as google-research/bert ships it"),
    Setup("radam", "as_run", lambda m: _radam(m),
          "lifeiteng RAdamOptimizer; global step +2 per update"),
    Setup("lookahead_radam", "as_run",
          lambda m: TFLookahead(_radam(m), alpha=0.5, period=5),
          "lifeiteng Lookahead(RAdam): zero slow weights, halved at update 5; global step +2"),
    Setup("lookahead_adamw", "as_run",
          lambda m: TFLookahead(BertAdamW(bert_groups(m, 0.01)), alpha=0.5, period=5),
          "lifeiteng Lookahead(BERT AdamW) under Python 2: zero slow weights, halved at update 5"),
    Setup("lookahead_adamw_py3", "as_run", lambda m: Exhausted(m.parameters()),
          "lifeiteng Lookahead(BERT AdamW) under Python 3: BERT's zip() is exhausted, no update"),
    Setup("ranger", "as_run", lambda m: ranger_jyhengcoder(m.parameters(), _embeddings(m)),
          "jyhengcoder Ranger: zero slow weights synced at update 1, step counter off by one; +2"),
    # --- the same code, its bugs fixed ---
    Setup("radam_fixed", "fixed", lambda m: _once(_radam(m)),
          "lifeiteng RAdam, global step +1", lrs=RADAM_LRS),
    Setup("lookahead_radam_fixed", "fixed",
          lambda m: _once(TFLookahead(_radam(m), alpha=0.5, period=5, zero_slow=False)),
          "Lookahead(RAdam), slow weights copied from the pre-trained ones, global step +1",
          lrs=RADAM_LRS),
    Setup("lookahead_adamw_fixed", "fixed",
          lambda m: TFLookahead(BertAdamW(bert_groups(m, 0.01)), alpha=0.5, period=5,
                                zero_slow=False),
          "Lookahead(BERT AdamW), slow weights copied"),
    Setup("ranger_fixed", "fixed",
          lambda m: _ranger(m, step_lag=0, zero_slow=False, offset=0, increments=False),
          "Ranger with slow weights copied, first sync at update 6, step counter right, +1",
          lrs=RADAM_LRS),
    # --- one cause at a time, on a working setup ---
    Setup("adamw_double_step", "cause", lambda m: _double(BertAdamW(bert_groups(m, 0.01))),
          "BERT AdamW with the global step +2: half the updates, the schedule at double speed"),
    Setup("lookahead_adamw_copied", "cause",
          lambda m: TFLookahead(BertAdamW(bert_groups(m, 0.01)), alpha=0.5, period=5,
                                zero_slow=False),
          "the reader's Lookahead(AdamW) at its rate, slow weights copied: the zero start alone"),
    Setup("radam_at_adamw_rate", "cause", lambda m: _once(_radam(m)),
          "fixed RAdam at the rate AdamW chose: the learning rate alone"),
    Setup("ranger_off_by_one_only", "cause",
          lambda m: _ranger(m, step_lag=1, zero_slow=False, offset=0, increments=False),
          "fixed Ranger but the step counter off by one (r = 1 at update 1, no momentum phase)",
          base="ranger_fixed"),
    Setup("ranger_zero_slow_only", "cause",
          lambda m: _ranger(m, step_lag=0, zero_slow=True, offset=1, increments=False),
          "fixed Ranger but zero slow weights synced at update 1 (every weight halved)",
          base="ranger_fixed"),
)}


def _double(opt):
    opt.increments_global_step = True
    return opt


def _mean_or_none(values) -> float | None:
    mean = statistics.fmean(values)
    return None if mean != mean else round(mean, 4)     # nan: no loss was computed


def versions() -> dict:
    import transformers
    return dict(torch=torch.__version__, transformers=transformers.__version__,
                python=platform.python_version(), weights_sha256=bert.WEIGHTS_SHA256,
                model=bert.MODEL)


def run(name: str, lr: float, seed: int, steps: int = STEPS, progress=None) -> dict:
    """One fine-tuning run of setup ``name``: the record the results file holds."""
    setup = SETUPS[name]
    torch.set_num_threads(THREADS)
    start = time.time()
    result = bert.finetune(setup.make, lr, seed=seed, steps=steps, progress=progress)
    return dict(setup=name, kind=setup.kind, fixed=setup.kind == "fixed", seed=seed, lr=lr,
                steps=steps, updates=result["updates"], val_f1=round(result["val_f1"], 4),
                test_f1=round(result["test_f1"], 4),
                final_loss=_mean_or_none(result["losses"][-10:]),
                seconds=round(time.time() - start, 1),
                **versions())


def load(path: Path = RESULTS) -> list[dict]:
    return json.loads(path.read_text())["runs"] if path.exists() else []


def key(run: dict) -> tuple:
    return run["setup"], run["lr"], run["seed"]


def save(runs: list[dict], path: Path = RESULTS) -> list[dict]:
    """Merge ``runs`` into the file (under a lock: several workers may share it); return all."""
    import fcntl
    path.parent.mkdir(exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {key(r): r for r in load(path)}
        merged.update({key(r): r for r in runs})
        runs = sorted(merged.values(), key=key)
        _write(runs, path)
    return runs


def _write(runs: list[dict], path: Path) -> None:
    path.write_text(json.dumps(dict(
        about="Real-BERT NER fine-tuning runs of the case study (chapters/finetuning.md); "
              "made by `python -m finetuning_lab reproduce` (run from chapters/).",
        protocol=dict(steps=STEPS, batch=16, warmup=0.1, lrs=LRS, seeds=SEEDS,
                      select="lr by validation F1 of seed 0; test F1 reported",
                      threads=THREADS),
        runs=runs), indent=1) + "\n")


def grid(runs: list[dict], name: str) -> tuple[float, ...]:
    """The rates tried for ``name``: :data:`LRS`, extended by a step of the 1-3-10 ladder
    beyond whichever end holds the best validation F1, until the best is inside."""
    scores = {r["lr"]: r["val_f1"] for r in runs if r["setup"] == name and r["seed"] == 0}
    lrs = list(SETUPS[name].lrs or LRS) if name in SETUPS else list(LRS)
    while all(lr in scores for lr in lrs):
        best = max(lrs, key=lambda lr: (scores[lr], -lr))
        if best == lrs[-1]:
            lrs.append(_ladder(lrs[-1], up=True))
        elif best == lrs[0]:
            lrs.insert(0, _ladder(lrs[0], up=False))
        else:
            break
    return tuple(lrs)


def _ladder(lr: float, up: bool) -> float:
    """The next rate on the 1-3-10 ladder: 1e-4 -> 3e-4 -> 1e-3 (up), 1e-4 -> 3e-5 (down)."""
    ones = f"{lr:.0e}".startswith("1")
    factor = (3 if ones else 10 / 3) if up else (1 / (10 / 3) if ones else 1 / 3)
    return float(f"{lr * factor:.0e}")


def best_lr(runs: list[dict], name: str) -> float | None:
    """The rate with the best seed-0 validation F1 on the :func:`grid` (None until all are run;
    a tie goes to the smaller rate)."""
    scores = {r["lr"]: r["val_f1"] for r in runs if r["setup"] == name and r["seed"] == 0}
    lrs = grid(runs, name)
    if any(lr not in scores for lr in lrs):
        return None
    return max(lrs, key=lambda lr: (scores[lr], -lr))


def plan(runs: list[dict], names=None) -> list[tuple[str, float, int]]:
    """The (setup, lr, seed) runs still missing, most telling first: AdamW's rates, the
    reader's setups at AdamW's rate, the fixed setups' rates, their seeds, the causes."""
    names = list(names or SETUPS)
    done = {(r["setup"], r["lr"], r["seed"]) for r in runs}
    tuned = [n for n in names if n == "adamw" or SETUPS[n].kind == "fixed"]
    adamw_lr = best_lr(runs, "adamw")
    todo = [("adamw", lr, 0) for lr in grid(runs, "adamw") if "adamw" in names]
    if adamw_lr is not None:
        todo += [(n, adamw_lr, s) for n in names if SETUPS[n].kind == "as_run" and n != "adamw"
                 for s in SEEDS]
    todo += [(n, lr, 0) for n in tuned for lr in grid(runs, n)]
    for n in tuned:
        if best_lr(runs, n) is not None:
            todo += [(n, best_lr(runs, n), s) for s in SEEDS[1:]]
    for n in names:        # a cause runs at the rate its working base setup chose
        if SETUPS[n].kind == "cause" and best_lr(runs, SETUPS[n].base) is not None:
            todo += [(n, best_lr(runs, SETUPS[n].base), s) for s in CAUSE_SEEDS]
    seen = set()
    return [t for t in todo if t not in done and not (t in seen or seen.add(t))]


def chosen(runs: list[dict], name: str) -> list[dict]:
    """The runs of ``name`` at its reported rate: its own validation choice if it is tuned
    (AdamW and the fixed setups), its base setup's otherwise (the reader kept AdamW's rate;
    a cause runs at the rate of the working setup it breaks)."""
    tuned = name == "adamw" or SETUPS[name].kind == "fixed"
    lr = best_lr(runs, name if tuned else SETUPS[name].base)
    return sorted((r for r in runs if r["setup"] == name and r["lr"] == lr),
                  key=lambda r: r["seed"])


def lr_curve(runs: list[dict], name: str) -> dict[float, float]:
    """Seed-0 validation F1 at each rate of :data:`LRS` that has been run."""
    return {r["lr"]: r["val_f1"] for r in runs if r["setup"] == name and r["seed"] == 0}
