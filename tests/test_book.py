"""The book as its readers meet it.

* Every chapter listed in `_toc.yml` runs top to bottom as a notebook, the way a
  reader opens it in Jupyter (jupytext reads the `.md`, a fresh kernel runs it in
  the chapter's folder).
* A page with code cells carries the jupytext header: without it Jupyter Book shows
  the cells but silently never executes them.
* Each chapter's notebook twin (`chapters/NAME.ipynb`, what Colab and Binder open) has
  exactly the cells of its `.md`.
* The whole book builds with zero warnings, and the HTML offers what the README
  promises: the executed `.ipynb` for download, Colab and Binder links to the twin,
  and a bibliography page.

The chapter list is read from `_toc.yml`, so a new chapter is covered as soon as it
is listed there.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
# A hang guard, not the budget: a chapter should run in 30 s (measured in benchmarks/).
CHAPTER_TIMEOUT = 300
SYNC_COMMAND = ".venv/bin/jupytext --to ipynb {md}"
# Kernels on CurveZMQ, as in the book build (chapters/_ext/kernel_encryption.py): on plain
# TCP ipykernel logs "Kernel is running over TCP without encryption" for every chapter.
KERNEL_CONFIG = Config({"KernelManager": {"transport_encryption": "auto"}})


def toc_pages(toc: dict) -> list[str]:
    """The page names (`chapters/sgd`) of a jb-book toc, in reading order."""
    def walk(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections", []))
            yield from walk(entry.get("chapters", []))

    return [toc["root"], *walk(toc.get("parts", [])), *walk(toc.get("chapters", []))]


def source_of(page: str) -> Path:
    """The source file of a toc page: `.md` is the house format, `.ipynb` is accepted."""
    name = page.removesuffix(".md").removesuffix(".ipynb")
    for suffix in (".md", ".ipynb"):
        if (ROOT / f"{name}{suffix}").exists():
            return ROOT / f"{name}{suffix}"
    raise FileNotFoundError(f"_toc.yml lists {page!r}, but there is no {name}.md")


def front_matter(md: Path) -> dict:
    text = md.read_text()
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text[4:text.index("\n---", 4)]) or {}


def has_code_cells(md: Path) -> bool:
    return "```{code-cell}" in md.read_text()


PAGES = [source_of(page) for page in toc_pages(yaml.safe_load((ROOT / "_toc.yml").read_text()))]
CHAPTERS = [md for md in PAGES if md.suffix == ".md" and has_code_cells(md)]
# The template new chapters are copied from must itself run, or it teaches rot.
RUNNABLE = [*CHAPTERS, ROOT / "chapters" / "_template.md"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def page_id(path: Path) -> str:
    return path.stem


# ---------------------------------------------------------------- the sources

@pytest.mark.parametrize("md", RUNNABLE, ids=page_id)
def test_chapter_has_the_jupytext_header(md):
    header = front_matter(md)
    fmt = header.get("jupytext", {}).get("text_representation", {}).get("format_name")
    assert fmt == "myst" and header.get("kernelspec", {}).get("name"), (
        f"{md.relative_to(ROOT)} has code cells but no jupytext MyST header with a kernelspec: "
        "its cells would never run. Copy the front matter of chapters/_template.md."
    )


@pytest.mark.parametrize("md", CHAPTERS, ids=page_id)
def test_notebook_twin_matches_its_markdown(md):
    twin = md.with_suffix(".ipynb")
    fix = SYNC_COMMAND.format(md=md.relative_to(ROOT))
    assert twin.exists(), f"{twin.relative_to(ROOT)} is missing (Colab opens it). Run: {fix}"
    expected = jupytext.read(md)
    committed = nbformat.read(twin, as_version=4)

    def cells(nb):
        return [(c.cell_type, c.source, dict(c.metadata)) for c in nb.cells]

    assert cells(committed) == cells(expected), f"{twin.name} is out of date. Run: {fix}"
    assert not any(c.get("outputs") for c in committed.cells), (
        f"{twin.name} carries outputs; the repository keeps inputs only. Run: {fix}"
    )


@pytest.mark.parametrize("md", RUNNABLE, ids=page_id)
def test_chapter_runs_top_to_bottom(md, request, session_builds_the_book):
    """A fresh kernel runs the chapter in its folder. When this session builds the book (the
    whole suite does), the build's execution is that run: myst-nb executes every chapter so,
    and `chapters/_ext/execution_report.py` records each; running them all again here would
    double the suite's longest job. A session that selects chapters alone runs them here."""
    if session_builds_the_book and md in CHAPTERS:
        name = md.relative_to(ROOT).with_suffix("").as_posix()
        record = request.getfixturevalue("executions").get(name)
        builds = request.getfixturevalue("builds")
        if not (record and record["succeeded"]):
            log = builds["build"].stdout + builds["build"].stderr
            near = [line for line in log.splitlines() if name in line or "Error" in line][-20:]
            pytest.fail(f"the build did not execute {md.relative_to(ROOT)}:\n" + "\n".join(near), pytrace=False)
        assert record["runtime"] < CHAPTER_TIMEOUT, f"{md.name} took {record['runtime']:.0f} s"
        return
    notebook = jupytext.read(md)
    client = NotebookClient(
        notebook,
        timeout=CHAPTER_TIMEOUT,
        kernel_name=notebook.metadata["kernelspec"]["name"],
        resources={"metadata": {"path": str(md.parent)}},  # cwd = the chapter's folder
        config=KERNEL_CONFIG,
    )
    start = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{md.relative_to(ROOT)}: a cell raised\n{error}", pytrace=False)
    elapsed = time.monotonic() - start
    assert elapsed < CHAPTER_TIMEOUT, f"{md.name} took {elapsed:.0f} s (limit {CHAPTER_TIMEOUT} s)"


# ---------------------------------------------------------------- the build

# The `builds` and `build` fixtures live in tests/conftest.py: the browser tests
# (tests/test_browser.py) read the same build, made once per test session.


@pytest.mark.parametrize("kind", ["build", "rebuild from cache"])
def test_book_builds_without_warnings(builds, kind):
    run = builds[kind]
    log = run.stdout + run.stderr
    # Sphinx's messages, and a kernel's ("[IPKernelApp] WARNING | Kernel is running over TCP ...").
    problems = [line for line in log.splitlines()
                if re.search(r"\b(WARNING|ERROR|CRITICAL)(:| \|)", line)]
    assert run.returncode == 0 and not problems, (
        f"{kind}: jupyter-book build . -W -n --keep-going failed:\n"
        + "\n".join(problems or log.splitlines()[-40:])
    )


def test_bibliography_page_lists_the_papers(build):
    page = (HTML / "chapters" / "bibliography.html").read_text()
    entries = (ROOT / "references.bib").read_text().count("\n@")
    assert page.count('role="doc-biblioentry"') == entries, "the page must list every entry of references.bib"
    assert "Adam: a method for stochastic optimization" in page


def test_citations_link_to_the_bibliography(build):
    preface = (HTML / "chapters" / "preface.html").read_text()
    assert 'href="bibliography.html#id' in preface


@pytest.mark.parametrize("md", CHAPTERS, ids=page_id)
def test_chapter_page_is_executed_and_offers_its_notebook(build, md):
    name = md.relative_to(ROOT).with_suffix("").as_posix()
    page = (HTML / f"{name}.html").read_text()
    assert 'class="cell_output' in page, f"{name}.html shows no cell output: did it execute?"

    # The download menu offers the executed notebook, and the file is there.
    assert f"_sources/{name}.ipynb" in page, f"{name}.html has no .ipynb download link"
    downloaded = nbformat.read(HTML / "_sources" / f"{name}.ipynb", as_version=4)
    assert any(cell.get("outputs") for cell in downloaded.cells)

    # Colab and Binder open the notebook twin of this page in the configured repository.
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{name}.ipynb"
    binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{name}.ipynb"
    assert colab in page, f"{name}.html has no Colab link to {name}.ipynb"
    assert binder in page, f"{name}.html has no Binder link to {name}.ipynb"
