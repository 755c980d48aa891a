"""Session-wide guards and the one build of the book that tests share.

The book is built once per session (`builds`, `build`) for `tests/test_book.py`, which
checks the build, and `tests/test_browser.py`, which reads the pages in Chromium. The
build starts in the background as soon as collection shows that some test needs it, so
on a 2-core machine it executes the chapters while the other tests run (the suite's
longest two jobs overlap instead of queueing); the fixture waits for it.


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
import json
import os
import subprocess
import sys
import tempfile
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
    if needs_build(session.items):
        BACKGROUND_BUILD.start()


BUILD_FIXTURES = {"build", "builds", "executions"}


def needs_build(items) -> bool:
    """Some selected test reads the build (BOOK_HTML: the browser tests read a book built elsewhere)."""
    return (any(BUILD_FIXTURES & set(getattr(item, "fixturenames", ())) for item in items)
            and not os.environ.get("BOOK_HTML"))


def pytest_collection_modifyitems(session, config, items) -> None:
    """Tests that wait for the build run last, so the other tests use the time it takes.

    A chapter's execution test reads the build's record of it when the session builds
    the book anyway (the build executes every chapter; `executions`), so it waits too.
    """
    if needs_build(items):
        waits = [item for item in items if BUILD_FIXTURES & set(getattr(item, "fixturenames", ()))
                 or item.originalname == "test_chapter_runs_top_to_bottom"]
        items[:] = [item for item in items if item not in waits] + waits


def pytest_sessionfinish(session, exitstatus) -> None:
    """An interrupted or failed session leaves no build running behind it."""
    BACKGROUND_BUILD.stop()


def jupyter_book_command(*extra: str) -> list[str]:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going", *extra]


def jupyter_book_build(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(jupyter_book_command(*extra), cwd=ROOT, capture_output=True, text=True)


class BackgroundBuild:
    """The README's build, started early in its own process and joined by the `builds` fixture.

    Its output goes to temporary files (a pipe nobody reads would fill and stall the build).
    The lock keeps two test runs in one checkout from building over each other; it is held
    from the start of the first build to the end of the second.
    """

    def __init__(self):
        self.process = self.lock = self.output = None

    def start(self) -> None:
        if self.process is not None:
            return
        (ROOT / "_build").mkdir(exist_ok=True)
        self.lock = open(ROOT / "_build" / ".build.lock", "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.output = (tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+"))
        self.process = subprocess.Popen(jupyter_book_command(), cwd=ROOT, text=True,
                                        stdout=self.output[0], stderr=self.output[1])

    def join(self) -> subprocess.CompletedProcess:
        self.start()                       # a session that collected no build test but asked anyway
        returncode = self.process.wait()
        stdout, stderr = (f.seek(0) or f.read() for f in self.output)
        return subprocess.CompletedProcess(self.process.args, returncode, stdout, stderr)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        self.release()

    def release(self) -> None:
        if self.lock is not None:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None


BACKGROUND_BUILD = BackgroundBuild()


@pytest.fixture(scope="session")
def builds():
    """Build the book as the README does, then again with `--all`.

    The second build re-reads every page with its outputs taken from the execution
    cache: the path a reader's rebuild takes after a prose edit, and the one where
    myst-nb loses the outputs of the downloadable notebook (chapters/_ext).
    Both go to `_build`, so the cache is shared with the README's build command.
    """
    try:
        first = BACKGROUND_BUILD.join()
        return {"build": first, "rebuild from cache": jupyter_book_build("--all")}
    finally:
        BACKGROUND_BUILD.release()


@pytest.fixture(scope="session")
def executions(builds) -> dict | None:
    """How the build executed each chapter (`chapters/_ext/execution_report.py`), by page name
    (`chapters/sgd`): method, seconds and success. A page that failed to execute is missing."""
    report = ROOT / "_build" / "execution.json"
    return json.loads(report.read_text()) if report.exists() else {}


@pytest.fixture(scope="session")
def session_builds_the_book() -> bool:
    return BACKGROUND_BUILD.process is not None


@pytest.fixture(scope="session")
def build(builds):
    """The finished build (`_build/html`), as the last of `builds` left it."""
    return builds["rebuild from cache"]
