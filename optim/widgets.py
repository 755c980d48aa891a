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

so that MyST-NB picks the PNG rather than a widget that needs a kernel (or the
ipywidgets HTML manager from a CDN). Without it, pages show the widget
snapshot stored at execution time, which needs network access.

*Kernel-free sliders later.* ``Explorer.frames(name, values)`` sets one control
to each value in turn and returns the PNG frames, through exactly the code path
of a live slider; a static page can flip through them (e.g. an HTML slider or
matplotlib's ``to_jshtml``-style player) with no kernel.

The sliders: learning rate (log scale), β (the momentum of Momentum/Nesterov,
β₁ of the Adam family; the other optimizers have no such parameter and ignore
it), number of steps and the starting point (x₀, y₀).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterable, Mapping

import ipywidgets as W
import numpy as np

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

    ``ui`` is the widget; ``figure`` the ``optim.plots.Comparison`` it shows.
    """

    def __init__(self, landscape="Rosenbrock", optimizers=("SGD", "Momentum", "Adam"),
                 available=None, *, lr: float = 1e-2, beta: float = 0.9, steps: int = 100,
                 x0: float | None = None, y0: float | None = None):
        self.landscapes, name = _landscape_options(landscape)
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

    def _repr_mimebundle_(self, **kwargs):
        """The widget for a live frontend, the current figure as PNG for everything else."""
        bundle = self.ui._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(self.png()).decode("ascii")
        return bundle

    def __repr__(self):
        return f"<Explorer of {list(self.optimizers())} on {self.landscape.name}>"


def explore(landscape="Rosenbrock", optimizers=("SGD", "Momentum", "Adam"), **initial) -> Explorer:
    """A ready explorer; put it last in a cell so it is displayed.

    ``initial`` takes ``available``, ``lr``, ``beta``, ``steps``, ``x0``, ``y0``
    (see ``Explorer``).
    """
    return Explorer(landscape, optimizers, **initial)
