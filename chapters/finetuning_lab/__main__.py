"""``python -m finetuning_lab reproduce`` (from ``chapters/``): the case study's real-BERT runs.

    cd chapters && ../.venv/bin/python -m finetuning_lab reproduce            # everything missing
    cd chapters && ../.venv/bin/python -m finetuning_lab reproduce --only adamw ranger
    cd chapters && ../.venv/bin/python -m finetuning_lab plan                 # what would run

Each run fine-tunes all-MiniLM-L6-v2 for NER (one to two minutes on one core) and is
appended to ``finetuning_lab/results/bert_ner.json`` as soon as it finishes, so an
interrupted reproduction resumes where it stopped, and several workers (each with its
own ``--only`` list, one thread each) can share the file. ``--fresh`` moves the file
aside (``bert_ner.json.old``) and starts anew.
"""
from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

from . import experiments as ex


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m finetuning_lab")
    parser.add_argument("command", choices=("reproduce", "plan"))
    parser.add_argument("--only", nargs="*", choices=sorted(ex.SETUPS), help="these setups only")
    parser.add_argument("--fresh", action="store_true", help="discard the results file first")
    args = parser.parse_args(argv)
    if args.fresh and args.command == "reproduce" and ex.RESULTS.exists():
        aside = ex.RESULTS.with_suffix(".json.old")
        ex.RESULTS.replace(aside)              # save() merges with the file: move it aside
        print(f"moved the old results to {aside}")
    runs = ex.load()
    start = time.time()
    while True:
        todo = ex.plan(runs, args.only)
        if args.command == "plan" or not todo:
            break
        name, lr, seed = todo[0]
        bar = lambda steps: tqdm(steps, desc=f"{len(todo):>2} left  {name} lr={lr:g} seed={seed}",
                                 ncols=100, file=sys.stderr, leave=False)
        record = ex.run(name, lr, seed, progress=bar)
        runs = ex.save([record])          # merged with what other workers wrote meanwhile
        print(f"{name:<24} lr={lr:<7g} seed={seed}  val F1 {record['val_f1']:.3f}  "
              f"test F1 {record['test_f1']:.3f}  {record['seconds']:.0f} s", flush=True)
    if args.command == "plan":
        for t in todo:
            print(*t)
        print(f"{len(todo)} runs to go (at least; later steps depend on the chosen rates)")
    else:
        print(f"done in {(time.time() - start) / 60:.1f} min; {len(runs)} runs in {ex.RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
