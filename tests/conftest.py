"""Session-wide guards and the one build of the book that tests share.

The book is built once per session (`builds`, `build`) for `tests/test_book.py`, which
checks the build, and `tests/test_browser.py`, which reads the pages in Chromium.


pytest exits with code 5 when it collects no test, and a green CI that ran nothing
is worse than a red one. Rather than tolerating exit 5 in `.ci/run`, this hook makes
an empty run impossible: it fails the session (exit 1) when

* collection (after `-k`/`-m` selection) leaves no test at all, or
* the whole suite is run (plain `python -m pytest`) and some `tests/test_*.py`
  contributes no test: a module whose tests were all renamed, skipped at import, or
  parametrised over an empty list would otherwise vanish silently.
"""
from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


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


def jupyter_book_build(*extra: str) -> subprocess.CompletedProcess:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [jupyter_book, "build", ".", "-W", "-n", "--keep-going", *extra],
        cwd=ROOT, capture_output=True, text=True,
    )


@pytest.fixture(scope="session")
def builds():
    """Build the book as the README does, then again with `--all`.

    The second build re-reads every page with its outputs taken from the execution
    cache: the path a reader's rebuild takes after a prose edit, and the one where
    myst-nb loses the outputs of the downloadable notebook (chapters/_ext).
    Both go to `_build`, so the cache is shared with the README's build command; the
    lock keeps two test runs in one checkout from building over each other.
    """
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return {"build": jupyter_book_build(), "rebuild from cache": jupyter_book_build("--all")}


@pytest.fixture(scope="session")
def build(builds):
    """The finished build (`_build/html`), as the last of `builds` left it."""
    return builds["rebuild from cache"]
