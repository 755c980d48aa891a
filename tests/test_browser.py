"""The rendered book in a real browser: offline, complete, playable without a kernel.

The built site (`_build/html`, made once per session by the `build` fixture of
`tests/conftest.py`) is served on 127.0.0.1 and every page listed in `_toc.yml` is
opened in Debian's Chromium, driven by playwright, in the light and the dark theme.
On each page:

* every request goes to the site itself (no CDN, no font or icon server) and none
  fails; the console shows no error and no script throws;
* every math element is typeset by MathJax (no raw TeX left on the page, no
  MathJax error) and every image has loaded;
* every internal link (cross-references, equation numbers, citations, navigation)
  points at a page and an anchor that exist;
* every kernel-free player (`optim.widgets`) changes its figure when a reader drags
  its slider, and a page whose source calls `explore(` has one;
* every figure (the images of cell outputs and players) blends into the page in
  both themes: the rim of the image on screen has the colour of the page around
  it, so no figure shows as a light box on a dark page (or a dark one on a light page).

Besides: the search page finds the algorithms, and each page stays within its size
budget (`PAGE_BUDGET_BYTES`; checked without a browser). Screenshots of every page
and every moved player are saved in `test-artifacts/browser/` for a human to look at.

`BOOK_HTML=/path/to/_build/html` points the browser tests at a book built elsewhere
(e.g. a few chapters in a temporary folder, with its own `_toc.yml` two levels up):
nothing is built, and only that book's pages are visited.

Chromium comes from Debian (`apt-get install chromium`; `.ci/run` installs it):
`playwright install` cannot download browsers here. Where `/usr/bin/chromium` (or
`$CHROMIUM`) is missing, the browser tests skip and say why; in CI (`CI=true`) they
fail instead, so CI never passes without having looked at the pages.
"""
from __future__ import annotations

import fcntl
import functools
import io
import os
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from optim.widgets import PLAYER_BUDGET_BYTES
from test_book import HTML, ROOT, source_of, toc_pages

if os.environ.get("BOOK_HTML"):  # a book built elsewhere: its pages, its table of contents
    HTML = Path(os.environ["BOOK_HTML"]).resolve()
    TOC_FILE = HTML.parent.parent / "_toc.yml"
else:
    TOC_FILE = ROOT / "_toc.yml"

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

PAGE_BUDGET_BYTES = 2_000_000
"""A page's own weight: its HTML (players included) plus the images it shows from
`_images/`. The theme's shared assets (CSS, JS, MathJax, fonts) are cached across
pages and not counted."""

TOC = [page.removesuffix(".md") for page in toc_pages(yaml.safe_load(TOC_FILE.read_text()))]
ALGORITHMS = {"sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "nadam",
              "adamw", "lookahead", "radam", "ranger", "lazyadam"}


def page_id(page: str) -> str:
    return page.rsplit("/", 1)[-1]


def has_experiment(page: str) -> bool:
    """A page whose source calls the explorer has a main experiment to play."""
    return bool(re.search(r"\bexplore\(|\.player\(", source_of(page).read_text()))


# ---------------------------------------------------------------- page weight

def page_weight(page: str) -> dict:
    """Bytes of a built page: its HTML, its players, and the `_images/` files it shows."""
    html = (HTML / f"{page}.html").read_text()
    images = set(re.findall(r'<img[^>]+src="(?:\.\./)*(_images/[^"]+)"', html))
    players = re.findall(r'<div class="optim-player">.*?</script></div>', html, flags=re.S)
    return {
        "html": len(html.encode()),
        "images": sum((HTML / unquote(src)).stat().st_size for src in images),
        "players": [len(p.encode()) for p in players],
    }


@pytest.mark.parametrize("page", TOC, ids=page_id)
def test_page_stays_within_its_size_budget(build, page):
    weight = page_weight(page)
    total = weight["html"] + weight["images"]
    assert total <= PAGE_BUDGET_BYTES, (
        f"{page}.html weighs {total / 1e6:.2f} MB (HTML {weight['html'] / 1e6:.2f} MB, images "
        f"{weight['images'] / 1e6:.2f} MB), over the {PAGE_BUDGET_BYTES / 1e6:.1f} MB budget"
    )
    for size in weight["players"]:
        assert size <= PLAYER_BUDGET_BYTES, f"a player on {page}.html weighs {size / 1e3:.0f} kB"


# ---------------------------------------------------------------- the browser

class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def build(request):
    """The session's build (`tests/conftest.py`), or none when `BOOK_HTML` names a built book."""
    if os.environ.get("BOOK_HTML"):
        return None
    return request.getfixturevalue("builds")["rebuild from cache"]


@pytest.fixture(scope="session")
def site(build):
    """The built book served on 127.0.0.1 (any free port); yields its base URL.

    Holds the build lock shared, so a build started meanwhile (another test run in
    this checkout) waits until the pages have been read.
    """
    if not (HTML / "index.html").exists():
        output = "" if build is None else (build.stdout + build.stderr)[-3000:]
        pytest.fail(f"the book did not build ({HTML}):\n{output}")
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        handler = functools.partial(QuietHandler, directory=str(HTML))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/"
        finally:
            server.shutdown()
            server.server_close()


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs chromium)",
                    pytrace=False)
    pytest.skip(f"{reason}: the browser tests need Debian's Chromium "
                "(apt-get install chromium) or CHROMIUM=/path/to/chromium")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -r requirements.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """One page open in a fresh browser context, with everything it asked for recorded."""

    def __init__(self, browser, site: str, url: str, theme: str = "light"):
        self.site = site
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           color_scheme=theme)
        self.page = self.context.new_page()
        self.requests, self.failed, self.errors = [], [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(
            f"{r.url} (HTTP {r.status})"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} at {m.location.get('url')}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.goto(url, wait_until="networkidle")
        self.page.evaluate("""async () => {
            document.querySelectorAll("img[loading=lazy]").forEach(i => { i.loading = "eager"; });
            await Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)));
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                await MathJax.startup.promise;
            }
        }""")

    def outside(self) -> list[str]:
        return [url for url in self.requests
                if not url.startswith(self.site) and not url.startswith(("data:", "blob:", "about:"))]

    def close(self):
        self.context.close()


@pytest.fixture(scope="session")
def visits(browser, site):
    """Open each (page, theme) once; the tests below read what the visit recorded."""
    opened = {}

    def visit(page: str, theme: str) -> Visit:
        if (page, theme) not in opened:
            opened[(page, theme)] = Visit(browser, site, f"{site}{page}.html", theme)
        return opened[(page, theme)]

    yield visit
    for v in opened.values():
        v.close()


THEMES = ["light", "dark"]
PAGE_THEMES = [(page, theme) for page in TOC for theme in THEMES]


def ids(case) -> str:
    page, theme = case
    return f"{page_id(page)}-{theme}"


@pytest.mark.parametrize("case", PAGE_THEMES, ids=ids)
def test_page_loads_everything_from_the_site_itself_without_errors(visits, case):
    page, theme = case
    visit = visits(page, theme)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=ARTIFACTS / f"{page_id(page)}-{theme}.png", full_page=True)
    assert visit.page.evaluate("document.documentElement.dataset.theme") == theme
    assert not visit.outside(), f"{page}.html asked third parties for: {visit.outside()}"
    assert not visit.failed, f"{page}.html: failed requests: {visit.failed}"
    assert not visit.errors, f"{page}.html: {visit.errors}"


@pytest.mark.parametrize("page", TOC, ids=page_id)
def test_math_is_typeset_and_images_load(visits, page):
    found = visits(page, "light").page.evaluate("""() => {
        const math = Array.from(document.querySelectorAll(".math"));
        const raw = [];
        const walker = document.createTreeWalker(document.querySelector("main") || document.body,
                                                 NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode;
            if (node.parentElement.closest("pre, code, script, style, mjx-container, .highlight")) continue;
            // $$, backslash-paren or -bracket delimiters, begin-environments, or $...$ around TeX
            if (/\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{|\\$[^$\\n]*[\\\\^_{}][^$\\n]*\\$/.test(node.textContent)) {
                raw.push(node.textContent.trim().slice(0, 80));
            }
        }
        return {
            math: math.length,
            untypeset: math.filter(m => !m.querySelector("mjx-container")).map(m => m.textContent.slice(0, 80)),
            errors: Array.from(document.querySelectorAll("mjx-merror")).map(m => m.textContent),
            raw: raw,
            broken: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)
                        .map(i => i.src.slice(0, 80)),
        };
    }""")
    assert not found["untypeset"], f"{page}.html: math left untypeset: {found['untypeset']}"
    assert not found["errors"], f"{page}.html: MathJax errors: {found['errors']}"
    assert not found["raw"], f"{page}.html: raw TeX in the text: {found['raw']}"
    assert not found["broken"], f"{page}.html: images that did not load: {found['broken']}"


def _anchors(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text()))


@pytest.mark.parametrize("page", TOC, ids=page_id)
def test_internal_links_and_cross_references_resolve(visits, site, page):
    visit = visits(page, "light")
    hrefs = visit.page.evaluate("Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    broken = []
    for href in hrefs:
        if not href.startswith(site):
            continue
        parts = urlsplit(href)
        target = HTML / unquote(parts.path.removeprefix(urlsplit(site).path))
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(f"{href} (no such file)")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _anchors(target):
            broken.append(f"{href} (no such anchor)")
    assert not broken, f"{page}.html links to what does not exist: {broken}"
    # Numbered equations show their number: {eq} references render as "(n)".
    eqrefs = visit.page.evaluate(
        "Array.from(document.querySelectorAll('a[href*=\"#equation-\"]:not(.headerlink)'), a => a.textContent)")
    assert all(re.fullmatch(r"\(\d+(\.\d+)*\)", text.strip()) for text in eqrefs), eqrefs


@pytest.mark.parametrize("page", TOC, ids=page_id)
def test_moving_a_slider_changes_the_figure(visits, page):
    visit = visits(page, "light")
    players = visit.page.locator(".optim-player")
    count = players.count()
    if has_experiment(page):
        assert count >= 1, (f"{page} calls explore(...) but its page has no player: is the widget "
                            "view still dropped for html in _config.yml (nb_mime_priority_overrides)?")
    if count == 0:
        pytest.skip(f"{page} has no experiment to play")
    for index in range(count):
        player = players.nth(index)
        player.scroll_into_view_if_needed()
        slider = player.locator("input[type=range]")
        shown = "el => Array.from(el.querySelectorAll('.optim-player-frames img')).findIndex(i => !i.hidden)"
        before_index, before_pixels = player.evaluate(shown), player.screenshot()
        before_label = player.locator("output").text_content()
        # Drag as a reader would: grab the slider's thumb region, move to the far end.
        box = slider.bounding_box()
        last = int(slider.get_attribute("max"))
        target = 0.02 if before_index > last / 2 else 0.98
        visit.page.mouse.click(box["x"] + box["width"] * target, box["y"] + box["height"] / 2)
        after_index = player.evaluate(shown)
        player.screenshot(path=ARTIFACTS / f"{page_id(page)}-player{index}-moved.png")
        assert after_index != before_index, f"{page}: player {index}'s slider did not change the frame"
        assert player.locator("output").text_content() != before_label
        visible = player.locator(".optim-player-frames img:not([hidden])")
        assert visible.count() == 1 and visible.evaluate("i => i.naturalWidth") > 0
        assert player.screenshot() != before_pixels, f"{page}: player {index}'s figure stayed still"


# ------------------------------------------------------------ both themes

FIGURES = ".bd-content div.cell_output img, .bd-content .optim-player img"
"""The book's figures on a page: images of cell outputs (matplotlib) and players' frames."""

RIM_TOLERANCE = 24
"""How far (largest channel difference, 0-255) an image's rim may be from the page around it."""


def rim_colour(image, inset: int = 3) -> tuple:
    """Median colour on screen of an image's rim, a band just inside its edge.

    The element's own screenshot: Playwright scrolls it into view and clips to where it is
    then. (A clip of a full-page shot at coordinates read earlier landed on a neighbour
    whenever the page's layout moved in between, e.g. while a loaded machine laid it out.)
    """
    import numpy as np
    from PIL import Image

    shot = image.screenshot(animations="disabled")
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    h, w = pixels.shape[:2]
    rim = np.ones((h, w), bool)
    rim[inset:h - inset, inset:w - inset] = False
    rim[:1, :] = rim[-1:, :] = rim[:, :1] = rim[:, -1:] = False  # the edge may be blended
    return tuple(int(v) for v in np.median(pixels[rim], axis=0))


# The page colour behind a figure: the first opaque background above its cell (outside
# the output's own wrappers, which the theme may paint), translucent ones composited on it.
_PAGE_BEHIND = """img => {
    let e = (img.closest("div.cell") || img).parentElement, layers = [];
    for (; e; e = e.parentElement) {
        const m = getComputedStyle(e).backgroundColor.match(/[\\d.]+/g).map(Number);
        const rgba = m.length === 4 ? m : [...m, 1];
        if (rgba[3] > 0) layers.push(rgba);
        if (rgba[3] >= 1) break;
    }
    let colour = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) {
        colour = [r * a + colour[0] * (1 - a), g * a + colour[1] * (1 - a), b * a + colour[2] * (1 - a)];
    }
    return colour.map(Math.round);
}"""


@pytest.mark.parametrize("case", PAGE_THEMES, ids=ids)
def test_figures_blend_into_the_page_in_both_themes(visits, case):
    """No figure shows as a light box on a dark page, or as a dark box on a light one.

    The book's figures are transparent with theme-neutral greys (`optim.plots`):
    where a figure has no ink, at its rim, the reader sees the page. Measured on
    screen, so what counts is what the reader sees: the image, and the theme's CSS
    (in dark mode it paints a light panel behind the images and HTML outputs of
    cells unless told not to, `chapters/_static/optim.css`).
    """
    page, theme = case
    visit = visits(page, theme)
    figures = visit.page.locator(FIGURES)
    boxes = []
    for index in range(figures.count()):
        image = figures.nth(index)
        box = image.evaluate("""i => { const r = i.getBoundingClientRect();
            // Skipped: hidden frames, and figures in closed drop-downs (e.g. solutions).
            const shown = i.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
            return (!shown || i.hidden || !i.complete || !i.naturalWidth) ? null
                : {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height,
                   alt: (i.alt || i.src).slice(0, 60)}; }""")
        if box and box["w"] >= 60 and box["h"] >= 40:
            boxes.append((image, box, image.evaluate(_PAGE_BEHIND)))
    if not boxes:
        pytest.skip(f"{page} shows no figure")
    boxed = []
    for image, box, page_colour in boxes:
        rim = rim_colour(image)
        if max(abs(a - b) for a, b in zip(rim, page_colour)) > RIM_TOLERANCE:
            boxed.append(f"{box['alt']!r} at y={box['y']:.0f}: rim {rim}, page {tuple(page_colour)}")
    assert not boxed, (f"{page}.html, {theme} theme: figures that show as boxes instead of on "
                       "the page:\n" + "\n".join(boxed))


SEARCHABLE = [page for page in TOC if page_id(page) in ALGORITHMS]


@pytest.mark.parametrize("query", sorted({"adam", "momentum", *(page_id(p) for p in SEARCHABLE)}))
def test_search_finds_the_algorithms(browser, site, query):
    visit = Visit(browser, site, f"{site}search.html?q={query}")
    try:
        visit.page.wait_for_selector("#search-results ul.search li", timeout=20_000)
        results = visit.page.eval_on_selector_all("#search-results ul.search li a",
                                                  "links => links.map(a => a.href)")
        expected = [f"{site}{p}.html" for p in SEARCHABLE if page_id(p) == query]
        for url in expected:
            assert any(r.split("?")[0].split("#")[0] == url for r in results), (query, results)
        assert not visit.outside() and not visit.errors, (visit.outside(), visit.errors)
    finally:
        visit.close()


@pytest.mark.parametrize("page", TOC, ids=page_id)
def test_navigation_follows_the_table_of_contents(visits, site, page):
    """The sidebar lists the pages in `_toc.yml` order; "next" and "previous" step through it."""
    visit = visits(page, "light")

    def pages(hrefs):
        return [urlsplit(h).path.removeprefix(urlsplit(site).path).removesuffix(".html")
                for h in hrefs]

    sidebar = pages(visit.page.evaluate(
        "Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference'), a => a.href)"))
    assert sidebar == TOC, f"{page}.html: the sidebar reads {sidebar}, _toc.yml says {TOC}"
    here = TOC.index(page)
    for selector, expected in (("a.right-next", TOC[here + 1:here + 2]),
                               ("a.left-prev", TOC[max(here - 1, 0):here])):
        found = pages(visit.page.eval_on_selector_all(selector, "links => links.map(a => a.href)"))
        assert found == expected, f"{page}.html: {selector} goes to {found}, not {expected}"
