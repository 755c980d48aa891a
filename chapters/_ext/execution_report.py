"""The build's record of how each chapter executed: `_build/execution.json`.

myst-nb executes every chapter in a fresh kernel in the chapter's folder (cache mode:
jupyter-cache, then nbclient), as a reader's Jupyter would. It keeps what happened per
page in the Sphinx environment (method, seconds, success); this extension writes that
out when the build finishes, so `tests/test_book.py` can check each chapter's execution
from the build it has to make anyway, instead of running every chapter a second time in
the same test session (on two cores that second run cost a third of the suite).
A page that failed has no record: `raise_on_error` stops its execution before myst-nb
records it, and the build log carries the traceback.
"""
from __future__ import annotations

import json
from pathlib import Path

from myst_nb.sphinx_ import NbMetadataCollector

REPORT = "execution.json"   # next to the html folder: _build/execution.json


def write_report(app, exception) -> None:
    data = NbMetadataCollector.get_doc_data(app.env)
    report = {}
    for docname in sorted(app.env.found_docs):
        record = data.get(docname, {}).get("exec_data")
        if record:
            report[docname] = {key: record.get(key) for key in ("method", "runtime", "succeeded", "error")}
    (Path(app.outdir).parent / REPORT).write_text(json.dumps(report, indent=1, default=str))


def setup(app):
    app.connect("build-finished", write_report)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
