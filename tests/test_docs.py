"""The README and CONTRIBUTING.md tell the truth about the repository.

* Every file or relative path they name exists in the repository: the targets of
  Markdown links, and the words that look like repository paths (`chapters/sgd.md`,
  `benchmarks/RESULTS.md`, `references.bib`) in `code` spans, in shell code blocks and
  in the prose. A
  path that leaves the repository (`../shared/...`) is an error: the docs must be
  self-contained. Outputs that commands create (`.venv/`, `_build/`, `test-artifacts/`)
  are not checked; `NAME` in a path is a placeholder, so only its folder is checked.
* The README's test command is, character for character, the one `.ci/run` runs, and
  the README shows both of the user's commands verbatim.
* The citation table of CONTRIBUTING.md lists exactly the keys of `references.bib`.
* The README's example of `optim` runs and prints what its comment says.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "CONTRIBUTING.md", "benchmarks/RESULTS.md"]
BUILD_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
                 " && .venv/bin/jupyter-book build .")
TEST_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt"
                " && .venv/bin/python -m pytest")

# Created by commands, git-ignored: named in the docs as what a command produces.
GENERATED = (".venv", "_build", "test-artifacts", ".pytest_cache", ".hypothesis")
# Files of other projects that the style guide points to.
ELSEWHERE = {"optax/_src/alias.py", "torch/optim/adam.py"}
# Outputs of the heavy experiments: the file may be absent until its command has run once,
# but the command that writes it must exist.
WRITTEN_BY = {"chapters/finetuning_lab/results/bert_ner.json": "chapters/finetuning_lab/__main__.py"}
FILE_SUFFIXES = {"md", "yml", "yaml", "py", "bib", "txt", "ipynb", "toml", "json", "svg", "cfg", "html"}


def tracked_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    files = set(listed.stdout.split()) if listed.returncode == 0 else set()
    # Files on disk count too (a new file is named in the docs before it is committed).
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.is_file() and not any(part in GENERATED or part == ".git" for part in rel.parts):
            files.add(rel.as_posix())
    return files


FILES = tracked_files()
TOP_LEVEL = {f.split("/")[0] for f in FILES}


def code_spans(text: str) -> list[str]:
    """Inline `code` and the lines of shell code blocks (not Python blocks)."""
    spans, rest = [], []
    for block in re.finditer(r"^( *)```(\w*)\n(.*?)^\1```", text, flags=re.M | re.S):
        if block.group(2) in ("", "bash", "sh", "console", "shell"):
            spans += [line.strip() for line in block.group(3).splitlines() if line.strip()]
    rest = re.sub(r"^( *)```.*?^\1```", "", text, flags=re.M | re.S)
    spans += re.findall(r"``?([^`\n]+?)``?", rest)
    return spans


def looks_like_path(word: str) -> bool:
    word = word.strip("'\"()[],;:")
    if not word or "://" in word or word.startswith(("-", "$", "~", "@", "{", "/")):  # "/": the system's
        return False
    if not re.fullmatch(r"[\w.\-/]+", word) or word in (".", ".."):
        return False
    if "/" in word:
        first = word.split("/")[0]
        return first in TOP_LEVEL or first in GENERATED or first in ("", ".", "..") or "." in word.split("/")[-1]
    return word.rsplit(".", 1)[-1] in FILE_SUFFIXES and "." in word[1:]


def problem_with(word: str, base: Path) -> str | None:
    """Why `word`, named in a doc (relative to `base`), is not a repository path, or None."""
    word = word.strip("'\"()[],;:").split("::")[0].split("#")[0]
    target = os.path.normpath(base / word)  # lexically: `.venv/bin/python` is a symlink
    if os.path.commonpath([target, ROOT]) != str(ROOT):
        return f"{word}: outside the repository (the docs must be self-contained)"
    rel = Path(os.path.relpath(target, ROOT)).as_posix()
    if rel.split("/")[0] in GENERATED or word in ELSEWHERE:
        return None
    if "NAME" in rel:  # a placeholder: its folder must exist
        rel = rel[: rel.index("NAME")].rstrip("/") or "."
        return None if (ROOT / rel).is_dir() else f"{word}: no folder {rel}/"
    if rel in WRITTEN_BY:
        return None if (ROOT / WRITTEN_BY[rel]).exists() else f"{word}: {WRITTEN_BY[rel]} is missing"
    if (ROOT / rel).exists() or rel in FILES:
        return None
    if "/" not in word and any(f.rsplit("/", 1)[-1] == word for f in FILES):
        return None  # a file named by its name alone (`sgd.ipynb`), somewhere in the repository
    return f"{word}: no such file or folder in the repository"


def doc_problems(text: str, doc_dir: Path = ROOT) -> list[str]:
    """Missing paths: link targets relative to the doc's folder, other paths to the root."""
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):  # Markdown links
        if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
            problems.append(problem_with(target, doc_dir))
    for span in code_spans(text):
        base = ROOT
        cd = re.match(r"cd (\S+) &&", span)
        if cd:
            base = Path(os.path.normpath(ROOT / cd.group(1)))
        problems += [problem_with(w, base) for w in span.split() if looks_like_path(w)]
    for word in re.findall(r"[\w./\-]+", prose(text)):  # "follow DESIGN.md" in a sentence
        word = word.rstrip(".")
        if looks_like_path(word):
            problems.append(problem_with(word, ROOT))
    return sorted({p for p in problems if p})


def prose(text: str) -> str:
    """The text without code and without link targets."""
    text = re.sub(r"^( *)```.*?^\1```", "", text, flags=re.M | re.S)
    text = re.sub(r"``?[^`\n]+?``?", "", text)
    return re.sub(r"\]\([^)\s]+\)", "]", text)


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_named_in_the_doc_exists(doc):
    problems = doc_problems((ROOT / doc).read_text(), (ROOT / doc).parent)
    assert not problems, f"{doc} names paths that do not exist:\n" + "\n".join(problems)


def test_the_path_check_catches_a_missing_file():
    assert doc_problems("Follow the rhythm of DESIGN.md: Why, ...") == [
        "DESIGN.md: no such file or folder in the repository"]
    assert doc_problems("Read [the design](DESIGN.md) and `../shared/DESIGN.md`.") == [
        "../shared/DESIGN.md: outside the repository (the docs must be self-contained)",
        "DESIGN.md: no such file or folder in the repository",
    ]
    assert doc_problems("`benchmarks/RESULTS.md`, `chapters/NAME.md`, `_build/html/index.html`") == []
    assert doc_problems("`benchmarks/NOPE.md`") == ["benchmarks/NOPE.md: no such file or folder in the repository"]


def test_readme_shows_the_two_commands_verbatim():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert BUILD_COMMAND in lines, "README.md lost the build command"
    assert TEST_COMMAND in lines, "README.md lost the test command"


def test_ci_runs_the_readme_test_command():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.startswith("python3 -m venv")]
    readme = [line for line in (ROOT / "README.md").read_text().splitlines()
              if line.startswith("python3 -m venv") and "pytest" in line]
    assert ci == readme == [TEST_COMMAND], (ci, readme)


def bib_keys() -> list[str]:
    return re.findall(r"^@\w+\s*\{\s*([^,\s]+)\s*,", (ROOT / "references.bib").read_text(), flags=re.M)


def test_references_bib_keys_are_unique():
    keys = bib_keys()
    assert len(keys) == len(set(keys)), sorted(k for k in set(keys) if keys.count(k) > 1)


def test_citation_table_lists_every_key_of_references_bib():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    section = text[text.index("## Citation keys"):]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else len(section)]
    table = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
    keys = set(bib_keys())
    missing, unknown = sorted(keys - set(table)), sorted(set(table) - keys)
    assert not missing and not unknown and len(table) == len(set(table)), (
        "CONTRIBUTING.md's citation table and references.bib disagree: "
        f"add rows for {missing}; remove rows for {unknown}"
    )


def test_readme_example_runs():
    blocks = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.M | re.S)
    assert blocks, "README.md shows no Python example"
    code = blocks[0]
    assert len([line for line in code.splitlines() if line.strip()]) <= 10, "ten lines, as promised"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = re.search(r"print\(state\)\s+# (.+)", code).group(1)
    assert run.stdout.strip() == printed.strip(), (run.stdout, printed)
