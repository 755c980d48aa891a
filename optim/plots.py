"""The book's one figure style: colours, contour maps, trajectories, loss curves.

Every figure of the book goes through this module, so each optimizer keeps its
colour everywhere and every figure reads the same at page width (~700 px).

Colours. ``COLORS`` gives each optimizer (by display name, ``opt.name``) one
fixed colour; families share a hue so that related methods read together:

- grey: plain SGD, the baseline;
- blue: the momentum family (Momentum, Nesterov);
- green/teal: per-coordinate step sizes (Adagrad, Adadelta, RMSprop);
- orange/red/brown: the Adam family (Adam, AdamW, NAdam, RAdam, LazyAdam);
- burnt amber, its own dash: Lion (sign of a momentum; next to the Adam family);
- dark cyan, its own dash: Adafactor (Adam's second moment, factored; between RMSprop's teal and the Adam family);
- slate blue and brick, a long dash: LARS (momentum SGD) and LAMB (Adam), each step scaled per layer;
- purple/pink: the Lookahead family (Lookahead, Ranger);
- violet: Muon, which orthogonalises its update (the matrix methods);
- magenta-violet and deep purple, their own dashes: Shampoo and SOAP (Kronecker-factored preconditioners).
- olive and steel blue: Schedule-Free SGD and AdamW (dash-dot, dashed).
- rose and dark khaki, long dash and dash-dot-dot: Prodigy and D-Adaptation Adam (an estimated step size).

All colours have a relative luminance between 0.13 and 0.30, so every one has
at least 3:1 contrast against a white page and against the dark theme's page
(``PAGE_BACKGROUNDS``; WCAG's threshold for graphics): one colour serves both
themes, there is no dark variant to keep in step. Hue alone cannot keep 13 colours apart for
every reader, so ``LINESTYLES`` gives members of a family different dashes:
any two optimizers drawn with the same dash stay well apart (CIELAB ΔE > 10)
under simulated deuteranopia and protanopia too (``tests/test_plots_widgets.py``
checks both properties).

Figures. The drawing functions return *panels*: small objects that own their
artists and can ``update(trajectories)`` them in place (``set_data``, new limits,
no new figure). The widgets of ``optim.widgets`` and any precomputed animation
use the very same panels, so a static page shows exactly what a live slider
would. Figures made here are not registered with pyplot (no leak in loops, no
duplicate output in a notebook); a panel shows itself in a notebook as a PNG.

Both themes. The book's pages follow the reader's light or dark setting, and
one figure serves both: figures are drawn on a *transparent* background, and
everything that is not an optimizer's colour (text, axes, ticks, grid, contour
bands) is a mid grey or a translucent tint that reads on white and on the dark
page alike (``NEUTRAL``: about 4.2:1 on both). Why not a dark variant of each
figure? It would double every page's images and every player's frames (their
budgets), need a build-time switch, and would not reach the Jupyter reader in a
dark JupyterLab; a transparent figure does, with no machinery. Chapters draw
with explicit ``color="black"`` here and there; ``neutralize(fig)`` maps such
black, white and grey colours to theme-neutral ones just before a figure is
shown (pyplot's inline figures included, see ``use_style``), and leaves every
other colour alone. ``chapters/_static/optim.css`` stops the theme from putting
a white card behind the images of cell outputs in dark mode.

    use_style()                                   # once per chapter
    trajectory_plot(trajectories, landscape)      # contour map with paths
    loss_plot(trajectories, landscape=landscape)  # f(x_t) − f* per step
    comparison_figure(trajectories, landscape)    # both side by side
"""

from __future__ import annotations

import contextlib
import functools
import io
import zlib
from collections.abc import Mapping

import matplotlib
import numpy as np
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import (LinearSegmentedColormap, ListedColormap, to_rgb, to_rgba,
                               to_rgba_array)
from matplotlib.figure import Figure
from PIL import Image

# ----------------------------------------------------------------- colours

COLORS = {
    "SGD": "#777777",
    "Momentum": "#0072B2",
    "Nesterov": "#3C8FD0",
    "Adagrad": "#009E73",
    "Adadelta": "#5E9C2E",
    "RMSprop": "#0F7F7F",
    "Adam": "#D55E00",
    "AdamW": "#C8143C",
    "NAdam": "#B8860B",
    "RAdam": "#E8743B",
    "LazyAdam": "#8C5A2B",
    "Lookahead": "#B8439B",
    "Ranger": "#CC6BB5",
    "Lion": "#A15C00",
    "Adafactor": "#00A0B0",
    "LARS": "#5568B8",
    "LAMB": "#C04A30",
    "Muon": "#6D4CFC",
    "Shampoo": "#A93DB8",
    "SOAP": "#7B61C9",
    "ScheduleFreeSGD": "#6E7F00",
    "ScheduleFreeAdamW": "#2E7D9A",
    "Prodigy": "#E0407B",
    "DAdaptAdam": "#7A6A1E",
}
"""One colour per optimizer display name, in the book's chapter order."""

LINESTYLES = {
    "SGD": "-",
    "Momentum": "-",
    "Nesterov": "--",
    "Adagrad": "-",
    "Adadelta": "--",
    "RMSprop": ":",
    "Adam": "-",
    "AdamW": "--",
    "NAdam": ":",
    "RAdam": "-.",
    "LazyAdam": (0, (6, 1.5, 1, 1.5, 1, 1.5)),
    "Lookahead": "-.",
    "Ranger": ":",
    "Lion": (0, (4, 1.5, 1, 1.5)),
    "Adafactor": (0, (8, 1.5, 2, 1.5)),
    "LARS": (0, (5, 2)),
    "LAMB": (0, (5, 2)),
    "Muon": "-",
    "Shampoo": (0, (7, 2, 2, 2)),
    "SOAP": (0, (2, 1.5)),
    "ScheduleFreeSGD": "-.",
    "ScheduleFreeAdamW": "--",
    "Prodigy": (0, (9, 2)),
    "DAdaptAdam": (0, (3, 1, 1, 1, 1, 1)),
}
"""Dash per display name: tells family members apart where hue cannot."""

FALLBACK_COLORS = ("#5D6D9E", "#8A7A00", "#7E57C2", "#A0522D", "#2E8B8B", "#B83A68")
"""Colours for names the book does not know, picked by a stable hash of the name."""


def _known_prefix(name: str) -> str | None:
    """The longest known display name that ``name`` starts with ("AdamW lr=1" -> "AdamW")."""
    matches = [known for known in COLORS if name.startswith(known)]
    return max(matches, key=len) if matches else None


def color(name: str) -> str:
    """The book's colour for an optimizer display name.

    Labels that start with a display name ("Adam, lr=0.1") take that optimizer's
    colour; any other name gets a fallback colour that is stable across runs.
    """
    known = _known_prefix(name)
    if known is not None:
        return COLORS[known]
    return FALLBACK_COLORS[zlib.crc32(name.encode()) % len(FALLBACK_COLORS)]


def linestyle(name: str):
    """The book's dash for an optimizer display name (solid if unknown)."""
    known = _known_prefix(name)
    return LINESTYLES[known] if known is not None else "-"


# ------------------------------------------------------------------- style

PAGE_WIDTH_IN = 7.0  # 700 px at 100 dpi: the width of a Jupyter Book page
DPI = 100

PAGE_BACKGROUNDS = {"light": "#FFFFFF", "dark": "#14181E"}
"""The page colours of the book's theme (pydata-sphinx-theme's ``--pst-color-background``)."""

NEUTRAL = "#7A7A7A"
"""The grey of text, axes and ticks: 4.3:1 on the light page, 4.2:1 on the dark one."""

_TRANSPARENT = (1.0, 1.0, 1.0, 0.0)

_LIGHT = {
    "figure.figsize": (PAGE_WIDTH_IN, 3.2),
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    # Transparent: the page shows through, white or dark (see the module docstring).
    "figure.facecolor": _TRANSPARENT,
    "figure.edgecolor": _TRANSPARENT,
    "savefig.facecolor": "auto",
    "savefig.edgecolor": "auto",
    "axes.facecolor": _TRANSPARENT,
    "axes.edgecolor": NEUTRAL,
    "axes.labelcolor": NEUTRAL,
    "text.color": NEUTRAL,
    "xtick.color": NEUTRAL,
    "ytick.color": NEUTRAL,
    "legend.labelcolor": NEUTRAL,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": NEUTRAL,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "axes.prop_cycle": cycler(color=list(COLORS.values())),
    "image.cmap": "viridis",
}
"""The book's style: theme-neutral (transparent, mid greys), for light and dark pages alike."""

_DARK = {
    **_LIGHT,
    "figure.facecolor": "#121212",
    "savefig.facecolor": "#121212",
    "axes.facecolor": "#121212",
    "axes.edgecolor": "#BBBBBB",
    "axes.labelcolor": "#DDDDDD",
    "text.color": "#DDDDDD",
    "legend.labelcolor": "#DDDDDD",
    "xtick.color": "#BBBBBB",
    "ytick.color": "#BBBBBB",
    "grid.color": "#FFFFFF",
    "grid.alpha": 0.15,
}
"""An opaque dark style, for a figure meant only for a dark background (the book needs none)."""


def style(dark: bool = False) -> dict:
    """The book's matplotlib rcParams (a fresh dict: safe to modify)."""
    return dict(_DARK if dark else _LIGHT)


_chosen = {"dark": False}  # the variant that ``use_style`` last chose; panels draw in it


def use_style(dark: bool = False) -> None:
    """Apply the book's style to every later figure (call once per chapter).

    In a Jupyter kernel this also makes pyplot's inline figures theme-neutral when
    they are shown: ``neutralize`` runs on each before it becomes a PNG, so a
    chapter's ``color="black"`` reads on a dark page too.
    """
    _chosen["dark"] = dark
    _neutral_inline_figures()
    matplotlib.rcParams.update(style(dark))


@contextlib.contextmanager
def styled(dark: bool = False):
    """Context manager: the book's style inside the ``with`` block only."""
    with matplotlib.rc_context(style(dark)):
        yield


def _is_dark(ax) -> bool:
    """Whether ``ax`` has an opaque dark background (contours and markers adapt to it)."""
    r, g, b, a = to_rgba(ax.get_facecolor())
    return a > 0.5 and 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5


# ------------------------------------------------------- theme-neutral colours

KEEP = "optim-keep"
"""The gid of an artist whose black or white ``neutralize`` must leave alone (a ★, a halo)."""


def _relative_luminance(rgb) -> float:
    linear = np.where(np.asarray(rgb) <= 0.04045, np.asarray(rgb) / 12.92,
                      ((np.asarray(rgb) + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


_BACKGROUND_LUMINANCES = [_relative_luminance(to_rgb(c)) for c in PAGE_BACKGROUNDS.values()]
_NEUTRAL_RGB = to_rgb(NEUTRAL)


def _reads_on_both(rgb) -> bool:
    """At least 3:1 against both page colours (WCAG's threshold for graphics)."""
    lum = _relative_luminance(rgb)
    return all((max(lum, b) + 0.05) / (min(lum, b) + 0.05) >= 3.0 for b in _BACKGROUND_LUMINANCES)


def neutral_color(color):
    """``color`` as it should be drawn on a page of either theme (an RGBA tuple).

    Only greys change (black, white, ``#555``: colours a chapter picks for reference
    lines and annotations, which vanish on one of the two pages); a grey that has
    3:1 contrast on both pages stays, any other becomes ``NEUTRAL``. A translucent
    grey keeps its contrast on the page it was made for: black at alpha 0.05 (a
    shaded band) becomes the neutral grey at about 0.1. Colours with a hue are kept.
    """
    r, g, b, a = to_rgba(color)
    if a == 0 or max(r, g, b) - min(r, g, b) > 0.08 or _reads_on_both((r, g, b)):
        return color  # unchanged, as given (a name stays a name)
    old, new = (r + g + b) / 3, _NEUTRAL_RGB[0]
    if a < 1:
        page = 1.0 if old < new else to_rgb(PAGE_BACKGROUNDS["dark"])[0]
        a = min(1.0, a * abs(old - page) / max(abs(new - page), 1e-6))
    return (*_NEUTRAL_RGB, a)


def _neutral_colors(colors):
    colors = to_rgba_array(colors)
    return np.array([to_rgba(neutral_color(c)) for c in colors]) if len(colors) else colors


def _recolor_line(line) -> None:
    """A line's colour and marker colours through ``neutral_color``, its alpha folded in."""
    alpha = line.get_alpha()
    color = to_rgba(line.get_color(), alpha)
    new = neutral_color(color)
    if new is not color:
        line.set_alpha(None)
        line.set_color(new)
    for get, set_ in (("get_markerfacecolor", "set_markerfacecolor"),
                      ("get_markeredgecolor", "set_markeredgecolor")):
        value = getattr(line, get)()
        if not (isinstance(value, str) and value in ("none", "auto")):
            new = neutral_color(value)
            if new is not value:
                getattr(line, set_)(new)


def _recolor_surface(artist, recolor) -> None:
    """A patch's or collection's face and edge through ``recolor``, its alpha folded in."""
    face, edge = artist.get_facecolor(), artist.get_edgecolor()  # alpha folded in
    artist.set_alpha(None)
    artist.set_facecolor(recolor(face))
    artist.set_edgecolor(recolor(edge))


def _backdrop(color):
    """A background that sits behind text (a legend, a label's box): a faint grey tint.

    On white it reads as light grey, on the dark page as a slightly lighter dark.
    """
    r, g, b, a = to_rgba(color)
    if a == 0 or max(r, g, b) - min(r, g, b) > 0.08 or _reads_on_both((r, g, b)):
        return (r, g, b, a)  # a hue, nothing, or a backdrop already (idempotent)
    return (*_NEUTRAL_RGB, 0.18 * a)


def neutralize(fig: Figure) -> Figure:
    """Make ``fig`` read on light and dark pages alike; returns it (drawn later as usual).

    The figure and axes backgrounds become transparent; text, spines, ticks, grid
    and lines drawn in black, white or a weak grey get theme-neutral greys
    (``neutral_color``); legend frames and text boxes a faint tint. Colours with a
    hue, colour-mapped data (images, filled contours, scatter by value) and
    artists with gid ``KEEP`` are left as they are. Idempotent, and cheap next to
    a draw. A figure in the dark style (``use_style(dark=True)``) is left alone.
    """
    from matplotlib.axis import Tick
    from matplotlib.collections import Collection
    from matplotlib.contour import ContourSet
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    if _chosen["dark"]:
        return fig
    fig.patch.set_facecolor(_TRANSPARENT)
    fig.patch.set_edgecolor(_TRANSPARENT)
    for ax in fig.axes:
        ax.patch.set_facecolor(_TRANSPARENT)
        for axis in ax._axis_map.values():
            for which, ticks in (("major", axis.majorTicks), ("minor", axis.minorTicks)):
                if not len(ticks):
                    continue
                tick = ticks[0]
                grid = to_rgba(tick.gridline.get_color(), tick.gridline.get_alpha())
                axis.set_tick_params(
                    which=which, color=neutral_color(tick.tick1line.get_color()),
                    labelcolor=neutral_color(tick.label1.get_color()),
                    grid_color=NEUTRAL if max(grid[:3]) - min(grid[:3]) <= 0.08 else grid[:3],
                    grid_alpha=max(0.3, grid[3]) if max(grid[:3]) - min(grid[:3]) <= 0.08
                    else grid[3])
    backgrounds = _backgrounds(fig)
    for artist in fig.findobj(include_self=False):
        if isinstance(artist, Tick) or (artist.get_gid() or "").startswith(KEEP):
            continue
        if isinstance(artist, Legend):
            _recolor_surface(artist.legendPatch, _backdrop)
        elif isinstance(artist, Text):
            color = artist.get_color()
            new = neutral_color(color)
            if new is not color:
                artist.set_color(new)
            if artist.get_bbox_patch() is not None:
                _recolor_surface(artist.get_bbox_patch(), _backdrop)
        elif isinstance(artist, Line2D):
            _recolor_line(artist)
        elif isinstance(artist, ContourSet):
            if not artist.filled and artist.colors is not None:  # contour(colors="k")
                artist.set_cmap(ListedColormap(_neutral_colors(artist.cmap.colors)))
        elif isinstance(artist, Collection):
            if artist.get_array() is None:  # colour-mapped data keeps its colours
                _recolor_surface(artist, _neutral_colors)
        elif isinstance(artist, Patch) and artist not in backgrounds:
            _recolor_surface(artist, neutral_color)
    return fig


def _backgrounds(fig) -> list:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    return [fig.patch, *(ax.patch for ax in fig.axes),
            *(legend.legendPatch for legend in legends if legend is not None)]


def _neutral_inline_figures() -> None:
    """In a Jupyter kernel: run ``neutralize`` on each pyplot figure before it is shown.

    The inline backend shows a figure through the IPython formatters it registers
    for ``Figure`` when it is activated; the backend is activated here (it would
    be at the first pyplot figure otherwise, and would then register its own
    formatters over these), and each formatter is wrapped once.
    """
    import sys

    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    try:
        backend = matplotlib.get_backend(auto_select=False)
    except TypeError:  # matplotlib < 3.10
        backend = matplotlib.rcParams._get("backend")
    if backend in ("inline", "module://matplotlib_inline.backend_inline"):
        import matplotlib_inline.backend_inline  # noqa: F401  (activates: registers formatters)
    for formatter in shell.display_formatter.formatters.values():
        show = formatter.type_printers.get(Figure)
        if show is None or getattr(show, "neutralizes", False):
            continue

        def neutral_show(fig, *args, _show=show, **kwargs):
            return _show(neutralize(fig), *args, **kwargs)

        neutral_show.neutralizes = True
        formatter.for_type(Figure, neutral_show)


class BookFigure(Figure):
    """A figure that shows itself as a PNG when it ends a notebook cell (pyplot does not track it)."""

    def _repr_png_(self) -> bytes:
        return png(self)


def new_figure(ncols: int = 1, figsize=None) -> tuple[Figure, list]:
    """A figure that pyplot does not track, so nothing leaks when it is dropped.

    Ending a cell with it shows it (``fig`` on the last line), like a pyplot figure,
    theme-neutral (``neutralize``) even in a chapter that never called ``use_style``.
    """
    _neutral_inline_figures()  # the inline backend's formatter, if any, would show it as is
    fig = BookFigure(figsize=figsize or matplotlib.rcParams["figure.figsize"])
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def png(fig: Figure, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes (a full draw), theme-neutral (``neutralize``)."""
    neutralize(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi)
    return buffer.getvalue()


def _in_book_style(method):
    """Run a panel method under the book's rcParams.

    Matplotlib reads rcParams when it creates artists *and* when it regenerates
    ticks at draw time, so panels draw in the book's style whatever the
    notebook's rcParams are, and a redraw looks exactly like the first draw.
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not hasattr(self, "rc"):
            self.rc = style(_chosen["dark"])
        with matplotlib.rc_context(self.rc):
            return method(self, *args, **kwargs)
    return wrapper


MATTE_KEY = "optim-matte"
"""PNG text key of a frame whose colour channels are matted on white (``encode_png``)."""


def encode_png(rgba) -> bytes:
    """PNG bytes of an RGBA pixel buffer, compressed lightly: a live widget cares about time.

    The book's figures are transparent (the page shows through, light or dark), so
    the alpha channel is kept, unless every pixel is opaque. The colour channels are
    the figure *matted on white* (as if drawn on a white page), not the straight
    colours: code that drops the alpha (``Image.open(...).convert("RGB")``, e.g. to
    stack two frames) still gets the figure as it was on white, not translucent
    tints at full strength. ``unmatte`` recovers the straight colours exactly (the
    player does); the PNG says so in its ``MATTE_KEY`` text chunk.
    """
    from PIL.PngImagePlugin import PngInfo

    buffer = io.BytesIO()
    pixels = np.asarray(rgba)
    if pixels.shape[-1] == 3 or bool(np.all(pixels[..., 3] == 255)):
        Image.fromarray(np.ascontiguousarray(pixels[..., :3])).save(buffer, format="png",
                                                                    compress_level=1)
        return buffer.getvalue()
    alpha = pixels[..., 3:].astype(np.uint16)
    matted = (pixels[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
    info = PngInfo()
    info.add_text(MATTE_KEY, "white")
    Image.fromarray(np.concatenate([matted, alpha], axis=-1).astype(np.uint8), "RGBA").save(
        buffer, format="png", compress_level=1, pnginfo=info)
    return buffer.getvalue()


def unmatte(image: Image.Image) -> Image.Image:
    """The straight-alpha RGBA image of a PNG made by ``encode_png`` (others pass through)."""
    if image.info.get(MATTE_KEY) != "white" or image.mode != "RGBA":
        return image
    pixels = np.asarray(image).astype(np.int32)
    alpha = pixels[..., 3:]
    straight = (pixels[..., :3] * 255 - 255 * (255 - alpha) + alpha // 2) // np.maximum(alpha, 1)
    straight = np.where(alpha > 0, np.clip(straight, 0, 255), 255)
    return Image.fromarray(np.concatenate([straight, alpha], axis=-1).astype(np.uint8), "RGBA")


class _Panel:
    """Shared behaviour of panels: show as PNG in a notebook unless pyplot shows the figure."""

    ax = None

    @property
    def fig(self) -> Figure:
        return self.ax.figure

    @_in_book_style
    def png(self, **kwargs) -> bytes:
        """The whole figure as PNG bytes (see ``optim.plots.png``)."""
        return png(self.fig, **kwargs)

    def _repr_png_(self):
        # A figure made with plt.subplots is shown by the inline backend already.
        return None if self.fig.canvas.manager is not None else self.png()

    def __repr__(self):
        return f"<{type(self).__name__} with {len(self._visible())} runs>"

    def _visible(self):
        return []


# ---------------------------------------------------------------- contours

_LIGHT_CMAP = LinearSegmentedColormap.from_list("optim-light", ["#FFFFFF", "#C9D3DE"])
# Translucent slate: low ground lets the page through, high ground is tinted. On white it
# reads as the light map above, on the dark page as slate rising out of the dark.
_NEUTRAL_CMAP = LinearSegmentedColormap.from_list(
    "optim-neutral", [(0.42, 0.50, 0.60, 0.0), (0.42, 0.50, 0.60, 0.42)])
_DARK_CMAP = LinearSegmentedColormap.from_list("optim-dark", ["#121212", "#3B4756"])


def contour_levels(z: np.ndarray, log: bool, n: int = 20) -> np.ndarray:
    """Contour levels for the values ``z``: log-spaced above the minimum if ``log``.

    Log spacing (relative to the lowest value, so any offset works) shows the
    floor of a narrow valley, which linear levels lump into one band.
    """
    finite = z[np.isfinite(z)]
    low, high = float(finite.min()), float(finite.max())
    span = max(high - low, 1e-12)
    if log:
        return low + np.concatenate([[0.0], np.geomspace(span * 1e-4, span, n - 1)])
    return np.linspace(low, high, n)


class ContourArtists:
    """The artists of a contour map: filled bands, level lines, minima markers."""

    @_in_book_style
    def __init__(self, ax, landscape, levels: int = 20, resolution: int = 160):
        (x0, x1), (y0, y1) = landscape.bounds
        x, y = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
        with np.errstate(all="ignore"):
            z = np.asarray(landscape.f(np.stack([x, y], axis=-1)), dtype=float)
        z = np.ma.masked_invalid(z)
        lev = contour_levels(z.filled(np.nan), landscape.log_contours, levels)
        dark = _is_dark(ax)
        transparent = to_rgba(ax.get_facecolor())[3] < 0.5
        cmap = _DARK_CMAP if dark else _NEUTRAL_CMAP if transparent else _LIGHT_CMAP
        self.filled = ax.contourf(x, y, z, levels=lev, cmap=cmap, extend="max", zorder=0)
        self.lines = ax.contour(x, y, z, levels=lev, colors="#8A96A3" if dark or transparent
                                else "#9AA5B1", linewidths=0.5, zorder=1)
        minima = np.asarray(landscape.minima, dtype=float).reshape(-1, 2)
        (self.minima,) = ax.plot(minima[:, 0], minima[:, 1], linestyle="none", marker="*",
                                 markersize=11, color="#FFFFFF" if dark else "#111111",
                                 markeredgecolor="#111111" if dark else "#FFFFFF",
                                 markeredgewidth=0.8, zorder=4, label="_minima",
                                 gid=KEEP)  # a dark ★ edged in white reads on both pages
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        ax.grid(False)

    def remove(self) -> None:
        for artist in (self.filled, self.lines, self.minima):
            artist.remove()


def contour(ax, landscape, levels: int = 20, resolution: int = 160) -> ContourArtists:
    """Draw ``landscape`` as a contour map within its bounds, minima marked with ★."""
    return ContourArtists(ax, landscape, levels, resolution)


# ------------------------------------------------------------ trajectories

def _as_mapping(trajectories) -> Mapping:
    """Accept a dict label -> Trajectory, a list of them, or a single one."""
    if isinstance(trajectories, Mapping):
        return trajectories
    if hasattr(trajectories, "positions"):
        trajectories = [trajectories]
    return {t.name: t for t in trajectories}


def _check_single_run(label, trajectory) -> None:
    if np.ndim(trajectory.positions) != 2:
        raise ValueError(
            f"{label!r}: positions have shape {np.shape(trajectory.positions)}; the plots draw "
            "single runs (steps+1, 2). Index a batch first, e.g. one label per run.")


def finite_length(trajectory) -> int:
    """How many leading steps of the run are finite (all of them unless it diverged)."""
    finite = np.isfinite(trajectory.positions).all(axis=-1) & np.isfinite(trajectory.losses)
    return len(finite) if finite.all() else int(np.argmin(finite))


def legend_label(label: str, trajectory) -> str:
    """The legend entry: the label, plus "diverged at step N" when the run blew up."""
    if bool(np.any(trajectory.diverged)):
        return f"{label} (diverged at step {int(trajectory.diverged_at)})"
    return label


class _Legend:
    """A legend that is rebuilt only when its entries change (it is cheap to keep)."""

    def __init__(self, ax, enabled: bool, loc: str):
        self.ax, self.enabled, self.loc, self.key = ax, enabled, loc, None

    def refresh(self, handles) -> None:
        if not self.enabled:
            return
        key = tuple((id(h), h.get_label()) for h in handles)
        if key != self.key:
            self.key = key
            # Over a map the legend needs a backdrop: the axes' own colour if opaque, else
            # a faint tint that reads on both pages (``_backdrop``).
            face = to_rgba(self.ax.get_facecolor())
            legend = self.ax.legend(handles=handles, loc=self.loc,
                                    ncols=1 if len(handles) <= 6 else 2, frameon=True,
                                    edgecolor="none", facecolor=face[:3])
            legend.legendPatch.set_alpha(None)
            legend.legendPatch.set_facecolor((*face[:3], 0.85) if face[3] >= 0.5
                                             else (*_NEUTRAL_RGB, 0.18))


class MapPanel(_Panel):
    """A contour map with one path per run; ``update`` moves the paths in place.

    Per label it keeps four artists: the path (dots at every step), a hollow
    start marker, a filled end marker and an ✕ where a diverged run was cut.
    """

    @_in_book_style
    def __init__(self, ax, landscape, legend: bool = True, colors: Mapping | None = None):
        self.ax, self.colors, self.paths = ax, dict(colors or {}), {}
        self.landscape, self.contours = None, None
        self._legend = _Legend(ax, legend, "upper right")
        self.set_landscape(landscape)

    @_in_book_style
    def set_landscape(self, landscape) -> None:
        """Redraw the contours (only these) for another landscape."""
        if self.contours is not None:
            self.contours.remove()
        self.landscape = landscape
        self.contours = contour(self.ax, landscape)
        self.ax.set_title(landscape.name)

    def _artists_for(self, label: str, name: str) -> dict:
        if label not in self.paths:
            c = self.colors.get(label, color(name))
            ax = self.ax
            (line,) = ax.plot([], [], color=c, linestyle=linestyle(name), marker=".",
                              markersize=3, linewidth=1.4, zorder=3, label=label)
            (start,) = ax.plot([], [], color=c, marker="o", markersize=7, markerfacecolor="none",
                               markeredgewidth=1.5, linestyle="none", zorder=5, label="_start")
            (end,) = ax.plot([], [], color=c, marker="o", markersize=6, markeredgecolor="white",
                             markeredgewidth=0.8, linestyle="none", zorder=5, label="_end", gid=KEEP)
            (cross,) = ax.plot([], [], color=c, marker="X", markersize=10, markeredgecolor="white",
                               markeredgewidth=0.8, linestyle="none", zorder=6, label="_diverged",
                               gid=KEEP)
            self.paths[label] = {"line": line, "start": start, "end": end, "cross": cross}
        return self.paths[label]

    @_in_book_style
    def update(self, trajectories) -> None:
        """Show exactly these runs: move existing artists, hide those of absent labels."""
        trajectories = _as_mapping(trajectories)
        (x0, x1), (y0, y1) = self.landscape.bounds
        for label, trajectory in trajectories.items():
            _check_single_run(label, trajectory)
            artists = self._artists_for(label, trajectory.name)
            n = finite_length(trajectory)
            xy = trajectory.positions[:n]
            artists["line"].set_data(xy[:, 0], xy[:, 1])
            artists["line"].set_label(legend_label(label, trajectory))
            artists["start"].set_data(xy[:1, 0], xy[:1, 1])
            diverged = bool(np.any(trajectory.diverged)) and n > 0
            # The ✕ sits at the last finite point, pulled into view if it flew off the map.
            last = xy[-1:] if n else np.empty((0, 2))
            cut = np.clip(last, [x0, y0], [x1, y1]) if diverged else np.empty((0, 2))
            artists["cross"].set_data(cut[:, 0], cut[:, 1])
            end = np.empty((0, 2)) if diverged else last
            artists["end"].set_data(end[:, 0], end[:, 1])
        for label, artists in self.paths.items():
            for artist in artists.values():
                artist.set_visible(label in trajectories)
        self._legend.refresh([self.paths[label]["line"] for label in trajectories])

    def _visible(self):
        return [label for label, a in self.paths.items() if a["line"].get_visible()]


class LossPanel(_Panel):
    """Loss per step, one curve per run; ``update`` changes data and limits in place.

    With a landscape that knows its minima the curve is the gap f(x_t) − f*, the
    quantity convergence rates speak about. On a log axis the view keeps at most
    ``max_decades_above_start`` decades above the highest starting loss, so one
    exploding run does not flatten the others; its ✕ marks where it was cut.
    """

    max_decades_above_start = 4

    @_in_book_style
    def __init__(self, ax, log: bool = True, landscape=None, legend: bool = True,
                 colors: Mapping | None = None):
        self.ax, self.log, self.colors, self.curves = ax, log, dict(colors or {}), {}
        self.f_star = 0.0
        self._legend = _Legend(ax, legend, "upper right")
        self.set_landscape(landscape)
        ax.set_xlabel("step")

    @_in_book_style
    def set_landscape(self, landscape) -> None:
        """Measure losses relative to this landscape's best minimum (if it has one)."""
        minima = None if landscape is None else np.asarray(landscape.minima, float).reshape(-1, 2)
        has_min = minima is not None and len(minima) > 0
        self.f_star = float(np.min(landscape.f(minima))) if has_min else 0.0
        self.ax.set_ylabel("f(x) − f*" if has_min else "f(x)")

    def _artists_for(self, label: str, name: str) -> dict:
        if label not in self.curves:
            c = self.colors.get(label, color(name))
            (line,) = self.ax.plot([], [], color=c, linestyle=linestyle(name), label=label)
            (cross,) = self.ax.plot([], [], color=c, marker="X", markersize=9, linestyle="none",
                                    markeredgecolor="white", markeredgewidth=0.8, label="_diverged",
                                    gid=KEEP)
            self.curves[label] = {"line": line, "cross": cross}
        return self.curves[label]

    @_in_book_style
    def update(self, trajectories) -> None:
        """Show exactly these runs' losses; rescale the axes to them."""
        trajectories = _as_mapping(trajectories)
        gaps, starts = [], []
        for label, trajectory in trajectories.items():
            _check_single_run(label, trajectory)
            artists = self._artists_for(label, trajectory.name)
            n = finite_length(trajectory)
            gap = np.asarray(trajectory.losses[:n], dtype=float) - self.f_star
            steps = np.arange(n)
            artists["line"].set_data(steps, gap)
            artists["line"].set_label(legend_label(label, trajectory))
            diverged = bool(np.any(trajectory.diverged)) and n > 0
            artists["cross"].set_data(steps[-1:] if diverged else [], gap[-1:] if diverged else [])
            gaps.append(gap)
            starts.append(gap[:1])
        for label, artists in self.curves.items():
            for artist in artists.values():
                artist.set_visible(label in trajectories)
        self._rescale(trajectories, gaps, starts)
        self._legend.refresh([self.curves[label]["line"] for label in trajectories])

    def _rescale(self, trajectories, gaps, starts) -> None:
        """Set limits from the data directly (cheaper and steadier than relim/autoscale)."""
        steps = max((len(t.losses) for t in trajectories.values()), default=2)
        self.ax.set_xlim(0, max(steps - 1, 1))
        values = np.concatenate(gaps) if gaps else np.array([])
        log = self.log and values.size and np.all(values > 0)
        # A loss at or below f* (e.g. on a saddle, which has no minimum) has no logarithm.
        scale = "log" if log else ("symlog" if self.log and values.size else "linear")
        if scale != self.ax.get_yscale():  # switching scales resets tickers: only when needed
            self.ax.set_yscale(scale, **({"linthresh": 1e-3} if scale == "symlog" else {}))
        if not values.size:
            return
        low, high = float(values.min()), float(values.max())
        if log:
            start = float(np.max(np.concatenate(starts)))
            high = min(high, start * 10.0 ** self.max_decades_above_start)
            self.ax.set_ylim(low / 2, high * 2)
        else:
            pad = 0.05 * max(high - low, 1e-12)
            self.ax.set_ylim(low - pad, high + pad)

    def _visible(self):
        return [label for label, a in self.curves.items() if a["line"].get_visible()]


def _axes_or_new(ax, figsize=None):
    """``ax`` itself, or the axes of a new figure in the book's style."""
    if ax is not None:
        return ax
    with styled(_chosen["dark"]):
        return new_figure(1, figsize)[1][0]


def trajectory_plot(trajectories, landscape, ax=None, legend: bool = True,
                    colors: Mapping | None = None) -> MapPanel:
    """Contour map of ``landscape`` with the paths of ``trajectories`` (dict label -> Trajectory).

    Returns the ``MapPanel`` (its ``.fig``, ``.ax``, ``.paths``; call ``.update`` to
    redraw in place). A diverged run is drawn up to its cut and marked with ✕.
    """
    size = (PAGE_WIDTH_IN * 0.6, PAGE_WIDTH_IN * 0.6)
    panel = MapPanel(_axes_or_new(ax, size), landscape, legend=legend, colors=colors)
    panel.update(trajectories)
    return panel


def loss_plot(trajectories, ax=None, log: bool = True, landscape=None, legend: bool = True,
              colors: Mapping | None = None) -> LossPanel:
    """Loss per step of ``trajectories`` (gap to f* if ``landscape`` is given); returns the panel."""
    panel = LossPanel(_axes_or_new(ax), log=log, landscape=landscape, legend=legend,
                      colors=colors)
    panel.update(trajectories)
    return panel


class Comparison(_Panel):
    """The book's standard figure: contour map with paths (left), loss curves (right).

    Besides ``png()`` (a full draw) it has ``frame()``, the fast path of live
    widgets and precomputed animations: the contour map is drawn once per
    landscape and cached as pixels; a frame restores those pixels and draws
    only what moves (paths, minima on top of them, the loss panel). The layout
    is computed when the landscape changes and frozen in between, so frames
    of one landscape line up pixel for pixel.
    """

    @_in_book_style
    def __init__(self, landscape, log: bool = True, colors: Mapping | None = None, figsize=None):
        fig, (map_ax, loss_ax) = new_figure(2, figsize)
        self.map = MapPanel(map_ax, landscape, legend=False, colors=colors)
        self.loss = LossPanel(loss_ax, log=log, landscape=landscape, legend=True, colors=colors)
        # A fixed place for the y label: tick labels of changing width cannot push it about.
        loss_ax.yaxis.set_label_coords(-0.2, 0.5)
        self.ax = map_ax
        self._background = None

    @_in_book_style
    def set_landscape(self, landscape) -> None:
        self.map.set_landscape(landscape)
        self.loss.set_landscape(landscape)
        self._background = None

    def _moving_artists(self) -> list:
        """What a frame redraws, in drawing order: map artists above the contours, then the loss panel."""
        on_map = [a for artists in self.map.paths.values() for a in artists.values()]
        on_map.append(self.map.contours.minima)  # its ★ must stay above the paths
        return sorted(on_map, key=lambda a: a.get_zorder()) + [self.loss.ax]

    def _capture_background(self) -> None:
        """Lay the figure out, freeze that layout, and keep the pixels of the still parts."""
        fig, canvas = self.fig, self.fig.canvas
        fig.set_layout_engine("constrained")
        canvas.draw()  # with everything visible, so the layout leaves room for the loss panel
        fig.set_layout_engine("none")
        moving = self._moving_artists()
        visible = [a.get_visible() for a in moving]
        for artist in moving:
            artist.set_visible(False)
        canvas.draw()
        self._background = canvas.copy_from_bbox(fig.bbox)
        for artist, was_visible in zip(moving, visible):
            artist.set_visible(was_visible)

    @_in_book_style
    def frame(self) -> bytes:
        """PNG of the current state, redrawing only what moves (see the class docstring)."""
        if self._background is None:
            self._capture_background()
        canvas = self.fig.canvas
        canvas.restore_region(self._background)
        for artist in self._moving_artists():
            if artist.get_visible():
                self.fig.draw_artist(artist)
        return encode_png(canvas.buffer_rgba())

    @_in_book_style
    def update(self, trajectories) -> None:
        trajectories = _as_mapping(trajectories)
        self.map.update(trajectories)
        self.loss.update(trajectories)

    def _visible(self):
        return self.map._visible()


def comparison_figure(trajectories, landscape, log: bool = True,
                      colors: Mapping | None = None) -> Comparison:
    """Paths on the contour map and loss curves side by side; returns the ``Comparison``."""
    comparison = Comparison(landscape, log=log, colors=colors)
    comparison.update(trajectories)
    return comparison
