"""Play: an explorer of optimizer trajectories on 2-D landscapes (ipywidgets + matplotlib).

A chapter calls it in one line::

    from optim.widgets import explore
    explore("Rosenbrock", ["SGD", "Momentum", "Adam"], lr=1e-2, steps=150)

Design
------
*One figure, updated in place.* The explorer owns one ``optim.plots.Comparison``
(contour map with paths, loss curves). A slider change recomputes only the
trajectories, moves the existing artists (``set_data``, new limits) and renders
a frame; a landscape change is the only event that redraws contours. Frames
come from ``Comparison.frame()``: the contour map is kept as pixels, so a frame
draws just the paths and the loss panel (~30 ms; budget 100 ms, measured by
``benchmarks/widget_redraw.py``).

*Pixels, not a canvas widget.* The figure is shown in an ``ipywidgets.Image``
as PNG bytes. That needs no extra frontend extension (ipympl) and works the
same in JupyterLab, Notebook, VS Code and Colab.

*A page without a kernel still shows a figure.* ``Explorer`` displays as a
MIME bundle that holds both the widget view and ``image/png`` of the current
figure. A live frontend shows the widget; anything that cannot run widgets
shows the PNG. In the built book set, in ``_config.yml``::

    sphinx:
      config:
        nb_mime_priority_overrides: [["html", "application/vnd.jupyter.widget-view+json", null]]

so that MyST-NB picks the player (``text/html``) rather than a widget that needs a
kernel (or the ipywidgets HTML manager from a CDN). Without it, pages show the
widget snapshot stored at execution time, which needs network access.

*Both themes.* Frames are transparent with theme-neutral greys (``optim.plots``),
and each ``<img>`` carries the theme's ``dark-light`` class ("reads on both"), so
a dark page gets no white card behind it.

*Playable without a kernel.* A chapter's cell shows one object to every reader.
``Explorer`` displays as a MIME bundle with three faces of the same figure:

- ``application/vnd.jupyter.widget-view+json``: the full explorer, for a live
  kernel (JupyterLab, Notebook, VS Code, Binder, Colab prefer it);
- ``text/html``: a *player*, for the rendered book: the figure precomputed at a
  few values of one control (``play="lr"`` by default) and an ``<input
  type=range>`` that swaps them, in ~20 lines of inline JavaScript with the
  frames embedded as WebP; no kernel, no external script, no network;
- ``image/png``: the figure as it stands, for anything that runs no script.

The player's frames come from ``Explorer.frames``, which sets the control to each
value in turn *through the live slider path* (``set`` -> ``redraw`` ->
``Comparison.frame``), so a static page shows exactly what a live slider would.
There is no "am I being built?" test: the book's ``_config.yml`` drops the widget
view for the html builder (``nb_mime_priority_overrides``), so Sphinx picks the
player, while Jupyter frontends pick the widget. A player stays within
``PLAYER_BUDGET_BYTES`` (checked when it is made) so pages stay light.

The sliders: learning rate (log scale), β (the momentum of Momentum/Nesterov,
β₁ of the Adam family; the other optimizers have no such parameter and ignore
it), number of steps and the starting point (x₀, y₀).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
from collections.abc import Callable, Iterable, Mapping

import ipywidgets as W
import numpy as np
from PIL import Image

import optim
from optim import landscapes as landscapes_module
from optim import plots
from optim import trajectory as trajectory_module

Factory = Callable[[float, float], object]
"""Builds an optimizer from the two shared sliders: ``factory(lr, beta) -> optimizer``."""

FACTORIES: dict[str, Factory] = {
    "SGD": lambda lr, beta: optim.SGD(lr=lr),
    "Momentum": lambda lr, beta: optim.Momentum(lr=lr, momentum=beta),
    "Nesterov": lambda lr, beta: optim.Nesterov(lr=lr, momentum=beta),
    "Adagrad": lambda lr, beta: optim.Adagrad(lr=lr),
    "Adadelta": lambda lr, beta: optim.Adadelta(lr=lr),
    "RMSprop": lambda lr, beta: optim.RMSprop(lr=lr),
    "Adam": lambda lr, beta: optim.Adam(lr=lr, betas=(beta, 0.999)),
    "NAdam": lambda lr, beta: optim.NAdam(lr=lr, betas=(beta, 0.999)),
    "AdamW": lambda lr, beta: optim.AdamW(lr=lr, betas=(beta, 0.999)),
    "RAdam": lambda lr, beta: optim.RAdam(lr=lr, betas=(beta, 0.999)),
    "LazyAdam": lambda lr, beta: optim.LazyAdam(lr=lr, betas=(beta, 0.999)),
    "Lookahead": lambda lr, beta: optim.Lookahead(optim.Adam(lr=lr, betas=(beta, 0.999))),
    "Ranger": lambda lr, beta: optim.Ranger(lr=lr, betas=(beta, 0.999)),
}
"""How each display name is built from the sliders (Lookahead wraps Adam, as in its paper)."""

PARAMETERS = ("landscape", "lr", "beta", "steps", "x0", "y0")
"""The names of the explorer's controls, as ``Explorer.set`` and ``frames`` take them."""


def _landscape_options(landscape) -> tuple[dict, str]:
    """All landscapes of the book by name, plus ``landscape`` if it is a custom one."""
    options = dict(landscapes_module.ALL)
    if isinstance(landscape, str):
        if landscape not in options:
            raise ValueError(f"landscape={landscape!r} is not one of {sorted(options)}")
        return options, landscape
    options[landscape.name] = landscape
    return options, landscape.name


def _factories(optimizers) -> dict[str, Factory]:
    """Labels -> factories from names in ``FACTORIES`` or a dict of custom factories."""
    if isinstance(optimizers, Mapping):
        return dict(optimizers)
    unknown = [name for name in optimizers if name not in FACTORIES]
    if unknown:
        raise ValueError(f"unknown optimizers {unknown}; choose from {list(FACTORIES)} "
                         "or pass a dict label -> factory(lr, beta)")
    return {name: FACTORIES[name] for name in optimizers}


class Explorer:
    """Trajectories of several optimizers on a landscape, steered by sliders.

    ``Explorer(landscape, optimizers, available=None, lr=1e-2, beta=0.9, steps=100,
    x0=None, y0=None)``: ``landscape`` is a name of ``optim.landscapes.ALL`` or a
    landscape object; ``optimizers`` the ticked ones (display names, or a dict
    label -> ``factory(lr, beta)``); ``available`` adds unticked checkboxes.
    The starting point defaults to the landscape's ``start``.

    ``play`` names the control that the kernel-free player of a static page sweeps
    (``"lr"`` by default, ``None`` for no player) and ``play_values`` its values
    (default: ``default_play_values``).

    ``ui`` is the widget; ``figure`` the ``optim.plots.Comparison`` it shows.
    """

    def __init__(self, landscape="Rosenbrock", optimizers=("SGD", "Momentum", "Adam"),
                 available=None, *, lr: float = 1e-2, beta: float = 0.9, steps: int = 100,
                 x0: float | None = None, y0: float | None = None,
                 play: str | None = "lr", play_values: Iterable | None = None):
        self.landscapes, name = _landscape_options(landscape)
        if play is not None and play not in PARAMETERS:
            raise ValueError(f"play={play!r} is not a control; choose from {PARAMETERS} or None")
        self.play, self.play_values = play, None if play_values is None else list(play_values)
        self._player = None  # (state key, Player): a redisplay of an unchanged explorer is free
        ticked = _factories(optimizers)
        self.factories = {**_factories(available or ()), **ticked}
        self._holding = False
        self._runs = {}  # (label, landscape, hyper, start, steps) -> Trajectory
        self.controls = self._make_controls(name, ticked, lr, beta, steps)
        self.figure = plots.Comparison(self.landscape)
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="700px"))
        self.ui = self._layout()
        with self._hold():
            self._fit_start_sliders(x0, y0)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        for box in self.checkboxes.values():
            box.observe(self._on_change, names="value")
        self.redraw()

    # ------------------------------------------------------------- controls

    def _make_controls(self, name, ticked, lr, beta, steps) -> dict:
        self.checkboxes = {
            label: W.Checkbox(value=label in ticked, description=label, indent=False,
                              layout=W.Layout(width="auto"))
            for label in self.factories
        }
        slider = dict(continuous_update=False, style={"description_width": "initial"},
                      layout=W.Layout(width="340px"))
        return {
            "landscape": W.Dropdown(options=list(self.landscapes), value=name,
                                    description="landscape"),
            "lr": W.FloatLogSlider(value=lr, base=10, min=-5, max=1, step=0.05,
                                   readout_format=".1e", description="learning rate α",
                                   **slider),
            "beta": W.FloatSlider(value=beta, min=0.0, max=0.999, step=0.001,
                                  readout_format=".3f", description="β (momentum / β₁)",
                                  **slider),
            "steps": W.IntSlider(value=steps, min=1, max=1000, step=1, description="steps",
                                 **slider),
            "x0": W.FloatSlider(description="start x₀", readout_format=".2f", **slider),
            "y0": W.FloatSlider(description="start y₀", readout_format=".2f", **slider),
        }

    def _layout(self) -> W.Widget:
        c = self.controls
        boxes = W.HBox(list(self.checkboxes.values()), layout=W.Layout(flex_flow="row wrap"))
        return W.VBox([
            W.HBox([c["landscape"], boxes]),
            W.HBox([W.VBox([c["lr"], c["beta"], c["steps"]]), W.VBox([c["x0"], c["y0"]])],
                   layout=W.Layout(flex_flow="row wrap")),
            self.image,
        ])

    def _fit_start_sliders(self, x0=None, y0=None) -> None:
        """Give the start sliders the landscape's bounds and (by default) its start."""
        start = np.asarray(self.landscape.start, dtype=float)
        for key, (low, high), value in zip(("x0", "y0"), self.landscape.bounds, (x0, y0)):
            slider = self.controls[key]
            # Widen first, then set the value, then narrow: the slider never rejects a step.
            slider.min, slider.max = min(low, slider.min), max(high, slider.max)
            slider.step = (high - low) / 200
            slider.value = start["xy".index(key[0])] if value is None else value
            slider.min, slider.max = low, high

    @contextlib.contextmanager
    def _hold(self):
        """Change several controls with one redraw at the end (not one per control)."""
        outer = self._holding
        self._holding = True
        try:
            yield
        finally:
            self._holding = outer

    def _on_change(self, change) -> None:
        if self._holding:
            return
        if change["owner"] is self.controls["landscape"]:
            with self._hold():
                self._fit_start_sliders()
            self.figure.set_landscape(self.landscape)  # contours: only here
        self.redraw()

    # --------------------------------------------------------------- state

    @property
    def landscape(self):
        return self.landscapes[self.controls["landscape"].value]

    @property
    def values(self) -> dict:
        """The current value of every control, by the names of ``PARAMETERS``."""
        return {name: control.value for name, control in self.controls.items()}

    def optimizers(self) -> dict:
        """Label -> optimizer for the ticked boxes, built from the current sliders."""
        lr, beta = self.controls["lr"].value, self.controls["beta"].value
        return {label: self.factories[label](lr, beta)
                for label, box in self.checkboxes.items() if box.value}

    def trajectories(self) -> dict:
        """Label -> Trajectory of every ticked optimizer from the current start."""
        start = (self.controls["x0"].value, self.controls["y0"].value)
        steps = self.controls["steps"].value
        return {label: self._run(label, opt, start, steps)
                for label, opt in self.optimizers().items()}

    def _run(self, label, opt, start, steps):
        """One run, remembered by its inputs: a β slider leaves SGD's run as it was, and a
        newly ticked box computes only its own run."""
        key = (label, self.landscape.name, repr(sorted(opt.hyper.items())), start, steps)
        if key not in self._runs:
            if len(self._runs) >= 64:  # keep memory flat while a reader drags sliders
                self._runs.pop(next(iter(self._runs)))
            self._runs[key] = trajectory_module.run(opt, self.landscape, start=np.array(start),
                                                    steps=steps)
        return self._runs[key]

    def set(self, **values) -> None:
        """Set several controls at once (names from ``PARAMETERS``), then redraw once."""
        unknown = set(values) - set(PARAMETERS)
        if unknown:
            raise ValueError(f"unknown controls {sorted(unknown)}; choose from {PARAMETERS}")
        with self._hold():
            if values.get("landscape", self.controls["landscape"].value) != self.landscape.name:
                self.controls["landscape"].value = values["landscape"]
                self._fit_start_sliders(values.get("x0"), values.get("y0"))
                self.figure.set_landscape(self.landscape)
            for name, value in values.items():
                if name != "landscape":
                    self._set_checked(name, value)
        self.redraw()

    def _set_checked(self, name: str, value) -> None:
        """Set a slider, refusing values it would silently clamp."""
        control = self.controls[name]
        low, high = ((10.0 ** control.min, 10.0 ** control.max)
                     if isinstance(control, W.FloatLogSlider) else (control.min, control.max))
        if not low <= value <= high:
            raise ValueError(f"{name}={value!r} is outside the slider's range [{low}, {high}]")
        control.value = value

    # -------------------------------------------------------------- drawing

    def redraw(self) -> None:
        """Recompute the trajectories, move the artists, show the new frame."""
        self.figure.update(self.trajectories())
        self.image.value = self.figure.frame()

    def png(self) -> bytes:
        """The figure as it is shown now (PNG bytes)."""
        return self.image.value

    def frames(self, name: str, values: Iterable) -> list[bytes]:
        """PNG frames for each value of control ``name``, via the live redraw path.

        The other controls keep their values; the control is restored afterwards.
        """
        if name not in PARAMETERS:
            raise ValueError(f"unknown control {name!r}; choose from {PARAMETERS}")
        before = self.values
        # A new landscape also moves the start: restore that too.
        restore = {key: before[key] for key in
                   ((name, "x0", "y0") if name == "landscape" else (name,))}
        try:
            result = []
            for value in values:
                self.set(**{name: value})
                result.append(self.png())
            return result
        finally:
            self.set(**restore)

    def player(self, name: str | None = None, values: Iterable | None = None) -> "Player":
        """A kernel-free player of this figure over control ``name`` (default: ``play``).

        The frames go through ``frames``, the live redraw path; ``values`` defaults to
        ``play_values`` or to ``default_play_values``. The other controls keep their
        current values, so the player starts where the widget stands.
        """
        name = name or self.play or "lr"
        if values is None:
            values = self.play_values if name == self.play and self.play_values else None
        current = self.values[name]
        values = default_play_values(name, current, self.controls[name]) if values is None \
            else list(values)
        if not values:
            raise ValueError(f"a player of {name!r} needs at least one value")
        key = (name, tuple(values), tuple(sorted(self.values.items())),
               tuple(label for label, box in self.checkboxes.items() if box.value))
        if self._player is None or self._player[0] != key:
            start = min(range(len(values)), key=lambda i: _distance(name, values[i], current))
            label = self.controls[name].description if name != "landscape" else "landscape"
            what = ", ".join(self.optimizers()) or "no optimizer"
            self._player = (key, Player(self.frames(name, values), values, label,
                                        [_format(name, v) for v in values], start,
                                        alt=f"Trajectories and losses of {what} on "
                                            f"{self.landscape.name}"))
        return self._player[1]

    def _repr_mimebundle_(self, **kwargs):
        """The widget for a live frontend, the player for a rendered page, a PNG for the rest."""
        bundle = self.ui._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(self.png()).decode("ascii")
        if self.play is not None:
            bundle["text/html"] = self.player().html()
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self):
        return f"<Explorer of {list(self.optimizers())} on {self.landscape.name}>"


def explore(landscape="Rosenbrock", optimizers=("SGD", "Momentum", "Adam"), *,
            play: str | None = "lr", play_values: Iterable | None = None,
            **initial) -> Explorer:
    """A ready explorer; put it last in a cell so it is displayed.

    In a live kernel the cell shows the ipywidgets explorer; in the rendered book it
    shows a player that sweeps control ``play`` (the learning rate by default; any
    name of ``PARAMETERS``, e.g. ``"beta"`` for a momentum chapter) over
    ``play_values`` (default: ``default_play_values``), precomputed at build time.
    ``initial`` takes ``available``, ``lr``, ``beta``, ``steps``, ``x0``, ``y0``
    (see ``Explorer``).
    """
    return Explorer(landscape, optimizers, play=play, play_values=play_values, **initial)


# ------------------------------------------------------------------ the player

PLAYER_BUDGET_BYTES = 400_000
"""The most a player may add to a page (its HTML, frames included): 400 kB.

With the book's 700 x 320 figure a transparent WebP frame at quality 80 weighs
20-30 kB (27-40 kB as base64), so a default player (11 frames) is about 250-380 kB, and a page with a
player and a few figures stays under the 2 MB page budget of
``tests/test_browser.py``. A heavier player is encoded at a lower quality until it
fits (down to ``WEBP_QUALITIES[-1]``); only then is it refused.
"""

WEBP_QUALITIES = (80, 70, 60, 50)
"""WebP qualities tried in turn; at 80 lines and text stay crisp at page width."""

WEBP_ALPHA_QUALITY = 20
"""Quality of a transparent frame's alpha channel. Lossless alpha (100) would double
a frame (text edges and contour bands); at 20 the frame looks the same on a light and
on a dark page and weighs about 25 kB."""


def default_play_values(name: str, current, control=None) -> list:
    """The values a player sweeps when the chapter names none; ``current`` is among them.

    - ``lr``: 11 values a quarter-decade apart, from 1/18 to 18 times ``current``
      (too timid, about right, diverging), within the slider's range;
    - ``beta``: 0 (no momentum) to 0.99;
    - ``steps``: 12 values up to ``current``, so the paths grow as the slider moves;
    - ``x0``, ``y0``: 11 values across the landscape's bounds;
    - ``landscape``: every landscape of the book.
    """
    if name == "lr":
        low, high = (10.0 ** control.min, 10.0 ** control.max) if control is not None \
            else (1e-5, 10.0)
        values = [float(f"{current * 10 ** (k / 4):.3g}") for k in range(-5, 6)]
        values = [v for v in values if low <= v <= high]
    elif name == "beta":
        values = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
    elif name == "steps":
        values = sorted({max(1, int(round(current * k / 12))) for k in range(1, 13)})
    elif name in ("x0", "y0"):
        low, high = (control.min, control.max) if control is not None else (current, current)
        values = [float(v) for v in np.linspace(low, high, 11)]
    elif name == "landscape":
        return list(landscapes_module.ALL) if current in landscapes_module.ALL \
            else [current, *landscapes_module.ALL]
    else:
        raise ValueError(f"unknown control {name!r}; choose from {PARAMETERS}")
    if not any(np.isclose(v, current, rtol=1e-9, atol=0) for v in values):
        values = sorted([*values, current])
    return values


def _distance(name, a, b) -> float:
    if name == "landscape":
        return 0.0 if a == b else 1.0
    if name == "lr":
        return abs(np.log(a) - np.log(b))
    return abs(a - b)


def _format(name: str, value) -> str:
    if name == "lr":
        return f"{value:.2g}"
    if name == "beta":
        return f"{value:.3g}"
    if name == "steps":
        return str(int(value))
    if name in ("x0", "y0"):
        return f"{value:.2f}"
    return str(value)


def webp(png: bytes, quality: int = WEBP_QUALITIES[0]) -> bytes:
    """A PNG frame re-encoded as WebP (lossy, ``quality``), for pages that must stay light.

    A transparent frame stays transparent (the book's figures are: the page shows
    through, light or dark; ``optim.plots``), with its straight colours
    (``optim.plots.unmatte``).
    """
    buffer = io.BytesIO()
    image = plots.unmatte(Image.open(io.BytesIO(png)))
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image.convert("RGBA" if transparent else "RGB").save(
        buffer, format="webp", quality=quality, alpha_quality=WEBP_ALPHA_QUALITY, method=4)
    return buffer.getvalue()


_PLAYER_JS = """(function () {
  document.querySelectorAll(".optim-player:not([data-ready])").forEach(function (player) {
    player.setAttribute("data-ready", "");
    var frames = player.querySelectorAll(".optim-player-frames img"),
        range = player.querySelector("input[type=range]"), out = player.querySelector("output");
    range.addEventListener("input", function () {
      var i = Number(range.value);
      frames.forEach(function (img, j) { img.hidden = j !== i; });
      out.textContent = frames[i].dataset.label;
      range.setAttribute("aria-valuetext", frames[i].dataset.label);
    });
  });
})();"""

_PLAYER_CSS = """.optim-player{max-width:700px;margin:.5em 0}
.optim-player img{width:100%;height:auto;display:block;border-radius:4px;background:none;filter:none}
.optim-player img[hidden]{display:none}
.optim-player label{display:flex;gap:.6em;align-items:center;flex-wrap:wrap;margin:.4em 0;font-size:.9em}
.optim-player input[type=range]{flex:1 1 14em;min-width:10em;accent-color:var(--pst-color-primary,#0072B2)}
.optim-player output{font-family:var(--pst-font-family-monospace,monospace);min-width:5em}
.optim-player-note{font-size:.8em;opacity:.75;margin:0}"""


class Player:
    """A kernel-free slider over precomputed frames: ``html()`` is all a page needs.

    ``Player(frames, values, label, labels, start, alt)``: ``frames`` are PNG bytes
    (one per value, re-encoded as WebP), ``label`` names the slider, ``labels`` the
    values as shown, ``start`` the index shown first. Every frame is an ``<img>``
    with a ``data:`` URI, all but one hidden; the slider's inline script only
    toggles which one shows. A page that runs no script still shows a figure.
    """

    def __init__(self, frames: list[bytes], values: list, label: str, labels: list[str],
                 start: int = 0, alt: str = "Optimizer trajectories",
                 budget: int = PLAYER_BUDGET_BYTES):
        if len(frames) != len(values) or len(labels) != len(values):
            raise ValueError("a player needs one frame and one label per value")
        self.values, self.label, self.labels, self.start, self.alt = values, label, labels, start, alt
        for self.quality in WEBP_QUALITIES:
            self.frames = [webp(frame, self.quality) for frame in frames]
            self._html = self._render()
            if self.nbytes <= budget:
                break
        else:
            raise ValueError(f"the player weighs {self.nbytes / 1e3:.0f} kB even at WebP quality "
                             f"{self.quality}, over its budget of {budget / 1e3:.0f} kB: "
                             "pass fewer play_values")

    def _render(self) -> str:
        esc = html.escape
        width, height = Image.open(io.BytesIO(self.frames[0])).size
        images = "".join(
            f'<img class="dark-light" '
            f'src="data:image/webp;base64,{base64.b64encode(frame).decode("ascii")}" '
            f'width="{width}" height="{height}" data-label="{esc(label)}"'
            f'{"" if i == self.start else " hidden"} '
            f'alt="{esc(self.alt)}, {esc(self.label)} = {esc(label)}">'
            for i, (frame, label) in enumerate(zip(self.frames, self.labels)))
        shown = esc(self.labels[self.start])
        return (
            f'<div class="optim-player"><style>{_PLAYER_CSS}</style>'
            f'<div class="optim-player-frames">{images}</div>'
            f'<label><span>{esc(self.label)}</span>'
            f'<input type="range" min="0" max="{len(self.frames) - 1}" step="1" '
            f'value="{self.start}" aria-valuetext="{shown}"><output>{shown}</output></label>'
            f'<p class="optim-player-note">{len(self.frames)} frames computed when the book was '
            "built; open this page as a notebook (rocket button above) for every slider.</p>"
            f"<script>{_PLAYER_JS}</script></div>"
        )

    def html(self) -> str:
        return self._html

    def _repr_html_(self) -> str:
        return self._html

    @property
    def nbytes(self) -> int:
        """What the player adds to a page, in bytes of HTML."""
        return len(self._html.encode())

    def __repr__(self):
        return (f"<Player of {self.label} over {len(self.frames)} frames, "
                f"{self.nbytes / 1e3:.0f} kB (WebP quality {self.quality})>")
