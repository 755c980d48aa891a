"""What a reader sees in the outputs of the built pages.

* No cell output on any page is the leaked repr of a Python object: a plotting cell
  whose last line returns an object (`ax.legend()`, `fig.suptitle(...)`, `ax.plot(...)`)
  prints `<matplotlib.legend.Legend at 0x7f…>`, `Text(0.5, 0.98, '…')` or
  `[<matplotlib.lines.Line2D at 0x…>]` under its figure. End such a cell with
  `plt.show()` or a `;`. The pages come from the one build of the session (the `build`
  fixture of `tests/conftest.py`), so this never skips: no build, no pass.
* An exercise's report (`optim.exercises`) renders the *emphasis* and `code` of its
  messages in the notebook and on the page, so no hint shows literal asterisks.

The detector (`leaked_reprs`) is tested on crafted outputs, leaky and clean, so that a
page test that finds nothing means there is nothing, not that the detector is blind.
"""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from optim import exercises
from optim.exercises import EXERCISES, check
from test_book import CHAPTERS, HTML, ROOT

# The reprs Python and matplotlib print for an object that has no display of its own.
LEAKS = re.compile("|".join([
    r"<[^<>\n]*? at 0x[0-9a-fA-F]+>",                  # <matplotlib.legend.Legend at 0x7f…>, <… object at 0x…>
    r"<[\w.]+ object>",                                # <IPython.core.display.HTML object>
    r"<Figure size \d+(?:\.\d+)?x\d+(?:\.\d+)? with \d+ Axes>",
    r"<(?:Axes|AxesSubplot|PolarAxes|Axes3D)\b[^<>\n]*>",  # <Axes: title={'center': '…'}>
    r"\bText\(-?[\d.e+-]+, -?[\d.e+-]+, (?:'[^'\n]*'|\"[^\"\n]*\")\)",  # Text(0.5, 0.98, 'title')
]))


def leaked_reprs(text: str) -> list[str]:
    """The leaked object reprs in the text of a cell output (already HTML-unescaped)."""
    return [match.group(0) for match in LEAKS.finditer(text)]


class CellOutputs(HTMLParser):
    """The text of every cell output of a built page (`<div class="cell_output …">`)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.outputs: list[str] = []
        self._depth = 0       # open <div>s inside the current cell output; 0: outside
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag != "div":
            return
        if self._depth:
            self._depth += 1
        elif "cell_output" in (dict(attrs).get("class") or "").split():
            self._depth, self._text = 1, []

    def handle_endtag(self, tag):
        if tag == "div" and self._depth:
            self._depth -= 1
            if not self._depth:
                self.outputs.append("".join(self._text))

    def handle_data(self, data):
        if self._depth:
            self._text.append(data)


def cell_outputs(page_html: str) -> list[str]:
    parser = CellOutputs()
    parser.feed(page_html)
    parser.close()
    return parser.outputs


def page_leaks(page_html: str) -> list[str]:
    return [leak for output in cell_outputs(page_html) for leak in leaked_reprs(output)]


def notebook_leaks(notebook) -> list[str]:
    """The leaked reprs among the outputs of an executed notebook (nbformat), as a page shows them.

    A figure's output carries `<Figure size … with … Axes>` as its text/plain beside the
    image; the page shows the image. So text/plain counts only when it is all there is.
    """
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = output.get("text", "")
            else:
                data = output.get("data", {})
                text = data.get("text/plain", "") if set(data) <= {"text/plain"} else ""
            found += leaked_reprs(text if isinstance(text, str) else "".join(text))
    return found


# --- the detector, on crafted outputs -----------------------------------------------------

LEAKY = [
    "<matplotlib.legend.Legend at 0x7f3a2c1d0e50>",
    "Text(0.5, 0.98, 'Momentum on the ravine')",
    "Text(0.5, 0, 'step t')",
    'Text(0.5, 1.0, "Adam\'s step")',
    "[<matplotlib.lines.Line2D at 0x7f00aa>]",
    "[<matplotlib.lines.Line2D at 0x7f00aa>, <matplotlib.lines.Line2D at 0x7f00bb>]",
    "<Figure size 700x320 with 2 Axes>",
    "<Figure size 640x480 with 0 Axes>",
    "(<Figure size 700x300 with 1 Axes>, <Axes: xlabel='step', ylabel='loss'>)",
    "<Axes: title={'center': 'Rosenbrock'}>",
    "<optim.plots.Panel object at 0x7fd1c8a0>",
    "<__main__.Thing object at 0x10ab>",
    "<function sgd_step at 0x7f12>",
    "<matplotlib.contour.QuadContourSet at 0x7f0c>",
    "<IPython.core.display.HTML object>",
    "[Text(0.5, 0, 'epoch'), Text(0, 0.5, 'training loss')]",
]

CLEAN = [
    "loss after 100 steps:   1.2e-09",
    "SGD diverged: True  at step: 23",
    "x < 0 at the start, y > 0 at the end",
    "f(w_300) - f* = 1.31e-03",
    "✓ sgd_step: all 10 cases passed.\nTested: scalars, vectors.",
    "Text(…) is what ax.set_title returns",
    "first moment m_1:\n [[0.2 -0.4]]",
    "|η_20| for c = 1e-3, 1, 1e3: 1.000e-05  1.000e-02  1.000e+01",
    "the ratio is <0.5 at step 10 and >2 at 0x10",
    "Figure 3 shows 2 Axes",
]


@pytest.mark.parametrize("text", LEAKY)
def test_the_detector_finds_a_leaked_repr(text):
    assert leaked_reprs(text), f"missed: {text}"


@pytest.mark.parametrize("text", CLEAN)
def test_the_detector_leaves_real_outputs_alone(text):
    assert not leaked_reprs(text), f"false alarm: {leaked_reprs(text)}"


def test_the_detector_reads_the_cell_outputs_of_a_page_and_nothing_else():
    page = """<html><body>
      <p>Prose may quote <code>&lt;matplotlib.legend.Legend at 0x7f&gt;</code> freely.</p>
      <div class="cell docutils container">
        <div class="cell_input docutils container"><pre>ax.legend()</pre></div>
        <div class="cell_output docutils container">
          <div class="output text_plain highlight-myst-ansi notranslate"><div class="highlight">
            <pre><span></span>&lt;matplotlib.legend.Legend at 0x7f3a2c1d0e50&gt;</pre></div></div>
          <div class="output text_plain"><pre>Text(0.5, 0.98, &#39;A title&#39;)</pre></div>
        </div>
      </div>
      <div class="cell docutils container"><div class="cell_output docutils container">
        <pre>loss: 0.12</pre></div></div>
    </body></html>"""
    assert len(cell_outputs(page)) == 2
    assert page_leaks(page) == ["<matplotlib.legend.Legend at 0x7f3a2c1d0e50>", "Text(0.5, 0.98, 'A title')"]
    assert page_leaks(page.replace("0x7f3a2c1d0e50", "").replace("Text(0.5, 0.98, &#39;A title&#39;)", "")) == []


def test_the_detector_reads_an_executed_notebook():
    import nbformat  # installed with jupytext: no skip
    leaky = nbformat.v4.new_code_cell("ax.legend()", outputs=[nbformat.v4.new_output(
        "execute_result", data={"text/plain": "<matplotlib.legend.Legend at 0x7f3a>"}, execution_count=1)])
    printed = nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output(
        "stream", name="stdout", text="1\n")])
    figure = nbformat.v4.new_code_cell("plt.show()", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 700x300 with 1 Axes>"})])
    notebook = nbformat.v4.new_notebook(cells=[leaky, printed, figure])
    assert notebook_leaks(notebook) == ["<matplotlib.legend.Legend at 0x7f3a>"]
    notebook.cells = [printed, figure]
    assert notebook_leaks(notebook) == []


# --- every built page ---------------------------------------------------------------------

def page_name(md) -> str:
    return md.relative_to(ROOT).with_suffix("").as_posix()


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda md: md.stem)
def test_no_page_shows_a_leaked_repr(build, md):
    page = HTML / f"{page_name(md)}.html"
    assert page.exists(), f"{page.relative_to(ROOT)} was not built:\n{(build.stdout + build.stderr)[-2000:]}"
    text = page.read_text()
    assert cell_outputs(text), f"{page.name} has no cell output: did it execute?"
    leaks = page_leaks(text)
    assert not leaks, (
        f"{page.name} shows {len(leaks)} leaked repr(s) under its cells: "
        + "; ".join(dict.fromkeys(leaks))
        + ". End the plotting cell with `plt.show()` or a `;` (or assign the object)."
    )


def test_every_built_chapter_page_was_scanned(build):
    built = {p.relative_to(HTML).with_suffix("").as_posix() for p in (HTML / "chapters").glob("*.html")}
    assert {page_name(md) for md in CHAPTERS} <= built


# --- exercise reports render their markup -------------------------------------------------

_LITERAL_EMPHASIS = re.compile(r"(?<![\w*])\*[^\s*][^*\n]*\*(?![\w*])")


def _outside_code(page_html: str) -> str:
    return re.sub(r"<code>.*?</code>|<pre[^>]*>.*?</pre>", "", page_html, flags=re.S)


def test_a_report_renders_emphasis_and_code_and_keeps_the_plain_text_as_written():
    mistake = EXERCISES["sgd_step"].mistakes[0]          # "Descent moves *against* the gradient"
    assert "*against*" in mistake.hint
    result = check("sgd_step", mistake.code)
    page = result._repr_html_()
    assert "<em>against</em>" in page and "*against*" not in page
    assert f"Hint: {mistake.hint}" in str(result)     # plain text: as written
    in_place = check("sgd_step", EXERCISES["sgd_step"].mistakes[2].code)._repr_html_()
    assert "<code>w -= lr * g</code>" in in_place     # an asterisk in code is code


@pytest.mark.parametrize("name", list(EXERCISES))
def test_no_hint_shows_literal_asterisks_in_a_notebook(name):
    for mistake in EXERCISES[name].mistakes:
        page = exercises.report.render_inline(mistake.hint)
        left = _LITERAL_EMPHASIS.findall(_outside_code(unescape(page)))
        assert not left, f"{name}, {mistake.name!r}: the hint shows {left} literally"
