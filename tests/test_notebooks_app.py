"""Self-study in notebooks: the README's third command works.

`requirements.txt` installs JupyterLab, nbconvert and jupytext, whose server extension
opens `chapters/*.md` as notebooks. Here:

* `jupyter lab --version` runs in the venv;
* a chapter's notebook twin executes with `jupyter nbconvert --to notebook --execute`,
  run in the chapter's folder as a reader would (the cheapest chapter, the Preface);
* the README's `jupyter lab chapters/` starts headless on 127.0.0.1 (a free port, a
  token, `--no-browser`), answers, and serves `sgd.md` as a notebook through jupytext's
  contents manager; the server is always stopped, and the test is bounded (20 s to
  answer, measured at 7-10 s on 2 busy cores).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).with_name("jupyter")  # the venv's, beside its python
CHEAPEST_TWIN = "preface.ipynb"  # 2.5 s of execution (benchmarks/RESULTS.md)
SERVER_DEADLINE = 20  # seconds for the server to answer


def readme_lab_command() -> list[str]:
    """The README's line that opens the book as notebooks, as argv."""
    lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    commands = [line for line in lines if re.fullmatch(r"\.venv/bin/jupyter lab \S+", line)]
    assert len(commands) == 1, "README.md should have one line `.venv/bin/jupyter lab chapters/`"
    return commands[0].split()


def test_readme_opens_the_chapters_folder():
    assert readme_lab_command() == [".venv/bin/jupyter", "lab", "chapters/"]


def test_jupyter_lab_is_installed():
    run = subprocess.run([JUPYTER, "lab", "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"4\.\d+\.\d+\S*", run.stdout.strip()), run.stdout


def test_a_chapter_twin_executes_with_nbconvert(tmp_path):
    chapters = ROOT / "chapters"
    run = subprocess.run(
        [JUPYTER, "nbconvert", "--to", "notebook", "--execute", CHEAPEST_TWIN,
         "--output-dir", str(tmp_path), "--ExecutePreprocessor.timeout=300"],
        cwd=chapters, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    executed = nbformat.read(tmp_path / CHEAPEST_TWIN, as_version=4)
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "every code cell should have run"
    assert any(cell.outputs for cell in code)
    assert not any(out.output_type == "error" for cell in code for out in cell.outputs)


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, token: str | None) -> tuple[int, dict]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with opener.open(request, timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_jupyter_lab_serves_a_chapter_as_a_notebook(tmp_path):
    port, token = free_loopback_port(), secrets.token_hex(16)
    argv = [str(JUPYTER), *readme_lab_command()[1:], "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:  # CI containers run as root; JupyterLab refuses that by default
        argv.append("--allow-root")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}  # no stray files
    base = f"http://127.0.0.1:{port}"
    with open(tmp_path / "lab.log", "w") as log:
        server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # its own process group, killed below
    try:
        start = time.monotonic()
        status = None
        while time.monotonic() - start < SERVER_DEADLINE and server.poll() is None:
            try:
                status, _ = get_json(f"{base}/api/status", token)
                break
            except OSError:
                time.sleep(0.25)
        log_tail = "\n".join((tmp_path / "lab.log").read_text().splitlines()[-20:])
        assert status == 200, f"jupyter lab did not answer within {SERVER_DEADLINE} s:\n{log_tail}"

        # jupytext's contents manager: the MyST source is a notebook, with the .md's cells.
        code, model = get_json(f"{base}/api/contents/sgd.md?type=notebook&content=1", token)
        assert code == 200 and model["type"] == "notebook", model
        expected = jupytext.read(ROOT / "chapters" / "sgd.md")
        assert [c["source"] for c in model["content"]["cells"]] == [c.source for c in expected.cells]
        code, model = get_json(f"{base}/api/contents/sgd.md?content=0", token)
        assert code == 200 and model["type"] == "notebook", model

        assert get_json(f"{base}/api/contents/sgd.md?content=0", None)[0] == 403, "token required"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
