"""Session-wide guards for the test suite.

pytest exits with code 5 when it collects no test, and a green CI that ran nothing
is worse than a red one. Rather than tolerating exit 5 in `.ci/run`, this hook makes
an empty run impossible: it fails the session (exit 1) when

* collection (after `-k`/`-m` selection) leaves no test at all, or
* the whole suite is run (plain `python -m pytest`) and some `tests/test_*.py`
  contributes no test: a module whose tests were all renamed, skipped at import, or
  parametrised over an empty list would otherwise vanish silently.
"""
from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def runs_whole_suite(config: pytest.Config) -> bool:
    """True for `pytest` or `pytest tests` with no selection by keyword or mark."""
    targets = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    selected = config.option.keyword or config.option.markexpr
    return targets <= {TESTS, TESTS.parent} and not selected


def pytest_collection_finish(session: pytest.Session) -> None:
    if not session.items:
        pytest.exit("collected no tests: refusing to pass a run that tests nothing", returncode=1)
    if runs_whole_suite(session.config):
        collected = {Path(str(item.path)).resolve() for item in session.items}
        silent = sorted(p.name for p in TESTS.glob("test_*.py") if p.resolve() not in collected)
        if silent:
            pytest.exit(f"these test modules collected no tests: {', '.join(silent)}", returncode=1)
