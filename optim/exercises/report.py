"""The answer of a check, in plain words: as text, and as a box in a notebook.

Messages and hints are written in a small subset of Markdown: `code` and *emphasis*.
The plain text (`str(result)`, a terminal, an `assert`) shows them as written, which
reads as plain text; the HTML box (a notebook, the book's pages) renders them, so a
reader never sees a literal `*against*` (`render_inline`).
"""

import html
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CheckResult:
    """What a check found. Truthy when every case passed, so `assert check(...)` works.

    `kind` says what went wrong in one word ("passed", "exception", "time limit",
    "none", "count", "signature", "type", "shape", "dtype", "not finite",
    "wrong value", "mutated"); `mistake` is the catalogued mistake it looks like,
    if any; `case.args` holds the exact inputs of the failing case.
    """

    exercise: str
    returns: tuple[str, ...] = ("w",)
    passed: bool = False
    kind: str = ""
    message: str = ""
    n_cases: int = 0
    tested: str = ""
    case_index: "int | None" = None
    case: Any = None
    expected: "tuple | None" = None
    got: "tuple | None" = None
    wrong: tuple[str, ...] = ()  # which returned values are wrong
    mutated: tuple[str, ...] = ()
    mistake: Any = None

    def passing(self) -> "CheckResult":
        return replace(self, passed=True, kind="passed")

    def failing(self, kind: str, message: str, **details) -> "CheckResult":
        return replace(self, passed=False, kind=kind, message=message, **details)

    def __bool__(self) -> bool:
        return self.passed

    # --- the report, as a list of (style, text) blocks shared by text and HTML --------

    def blocks(self) -> list[tuple[str, str]]:
        if self.passed:
            return [("title", f"✓ {self.exercise}: all {self.n_cases} cases passed."),
                    ("text", f"Tested: {self.tested}.")]
        where = (f": case {self.case_index + 1} of {self.n_cases} failed ({self.case.label})"
                 if self.case is not None else " failed")
        blocks = [("title", f"✗ {self.exercise}{where}."), ("text", self.message)]
        if self.case is not None:
            blocks.append(("pre", "Inputs:\n" + _named_values(self.case.args)))
            blocks.append(("pre", self._expected_and_got()))
        if self.mutated and self.kind != "mutated":
            changed = ", ".join(f"`{name}`" for name in self.mutated)
            blocks.append(("text", f"Also: your function changed its input {changed} in place."))
        if self.mistake is not None:
            blocks.append(("mistake", f"Looks like: {self.mistake.name}."))
            blocks.append(("text", f"Hint: {self.mistake.hint}"))
        if self.case is not None:
            blocks.append(("small", "The exact inputs of this case are in `result.case.args`."))
        return blocks

    def _expected_and_got(self) -> str:
        expected = dict(zip(self.returns, self.expected))
        text = "Expected:\n" + _named_values(expected)
        if self.got is not None:
            got = dict(zip(self.returns, self.got))
            text += "\nGot:\n" + _named_values(got, marked=self.wrong)
        return text

    def __str__(self) -> str:
        return "\n".join(text for _, text in self.blocks())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.passed else "#c62828"
        parts = [_html_block(style, text) for style, text in self.blocks()]
        return (f'<div style="border-left: 4px solid {colour}; padding: 0.3em 0.8em; '
                f'margin: 0.3em 0;">{"".join(parts)}</div>')


def format_value(value, prefix: str = "") -> str:
    """A compact, exact-enough rendering of a number or an array."""
    if isinstance(value, (bool, int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    try:
        array = np.asarray(value)
    except Exception:
        return repr(value)
    if array.dtype.kind not in "biufc":
        return repr(value)
    if array.ndim == 0:
        return format_value(array.item())
    return np.array2string(array, precision=6, separator=", ", threshold=30, edgeitems=3,
                           max_line_width=88, prefix=prefix)


def _named_values(values: dict, marked=frozenset()) -> str:
    width = max(map(len, values), default=0)
    lines = []
    for name, value in values.items():
        prefix = f"  {name:<{width}} = "
        mark = "   ← wrong" if name in marked else ""
        lines.append(prefix + format_value(value, prefix=prefix) + mark)
    return "\n".join(lines)


# *word* or *a few words*: an asterisk that opens emphasis follows no letter, digit or
# asterisk and precedes a non-space; the closing one mirrors it. So `w -= lr * g`, a
# product `a * b` and a power `β₁**t` stay as they are.
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


def render_inline(text: str) -> str:
    """HTML for one line of a message: escaped, `code` as <code>, *emphasis* as <em>."""
    parts = []
    for i, piece in enumerate(_CODE.split(text)):  # odd pieces are inside backticks
        escaped = html.escape(piece, quote=False)
        parts.append(f"<code>{escaped}</code>" if i % 2 else _EMPHASIS.sub(r"<em>\1</em>", escaped))
    return "".join(parts)


def _html_block(style: str, text: str) -> str:
    if style == "pre":
        return f'<pre style="margin: 0.3em 0;">{html.escape(text, quote=False)}</pre>'
    body = render_inline(text)
    css = {"title": "font-weight: bold;", "mistake": "font-weight: bold;",
           "small": "font-size: 85%; opacity: 0.75;"}.get(style, "")
    return f'<p style="margin: 0.3em 0; {css}">{body}</p>'
