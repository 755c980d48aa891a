"""Play: an explorer of optimizer trajectories on 2-D landscapes, and a sweep of any figure.

A chapter calls it in one line::

    from optim.widgets import explore
    explore("Rosenbrock", ["SGD", "Momentum", "Adam"], lr=1e-2, steps=150)

Any hyperparameter of any optimizer is a slider, and ``play`` names the one the
rendered page sweeps::

    explore("Himmelblau", {"Adam": optim.Adam(lr=0.1),
                           "AMSGrad": optim.Adam(lr=0.1, amsgrad=True)},
            beta2=0.999, eps=1e-8, play="beta2")

and an experiment that is not a 2-D landscape (loss curves of a matrix problem, a
bar chart of memory) gets the same slider and player from its figure function::

    from optim.widgets import sweep
    sweep(draw, play="kappa", values=[1, 10, 100, 1000], steps=200)

where ``draw(kappa=..., steps=200)`` returns a ``matplotlib.figure.Figure``.

Optimizers and sliders
----------------------
``optimizers`` (and ``available``, the unticked boxes) are either display names of
the book (``"SGD"``, ``"Adam"``, ``"Lookahead"`` = Lookahead around Adam, and every
class of ``optim.OPTIMIZERS`` by its name), or a dict ``label -> optimizer``, an
instance of the NumPy face (``optim.Adam(betas=(0.9, 0.9))``, or any object with
``name``, ``hyper``, ``with_hyper``, ``init`` and ``step``).

Every other keyword (``lr=1e-2``, ``weight_decay=0.1``, ``eps=1e-3``, ``k=5``,
``alpha=0.5``, ``rho=0.9``, ``momentum=0.9``, ``beta1=0.9``, ``beta2=0.999``) that
is a hyperparameter of at least one of them becomes a slider, with that initial
value. A slider sets its hyperparameter, through ``opt.with_hyper(...)``, on each
optimizer that has it, and leaves the others as they were given; hyperparameters
without a slider keep the values of the instance. ``beta1`` and ``beta2`` are the
two halves of ``betas``. ``beta`` is the book's shared β: momentum for the optimizers
that have one (a ``momentum`` of 0, as in SGD or RMSprop, means none) and β₁ for the
Adam family. With book names, ``lr`` (1e-2) and ``beta`` (0.9) are sliders even when
not named, as they always were. A name that no optimizer has is refused, listing
the ones that exist (``hyperparameters``).

The slider's kind follows the hyperparameter (``slider_kind``): an integer one
(``k``, ``warmup_steps``) gets an integer slider; a β-like one (``beta``, ``beta1``,
``beta2``, ``momentum``, ``rho``, ``alpha``, ``dampening``) a linear slider on
[0, 1); a positive scale (``lr``, ``eps``, ``weight_decay`` and any other positive
number) a log slider. Ends that an optimizer refuses (Lookahead's ``alpha = 0``)
are moved inwards. ``labels={"alpha": "β₂ of RMSprop"}`` renames a slider and
``colors={label: colour}`` overrides a run's colour. ``reach`` limits a slider to some
of the optimizers, or scales it for them: ``reach={"eps": ["Adadelta"]}``,
``reach={"lr": {"SGD": 1, "Adagrad": 10}}`` (one α slider, AdaGrad at 10 α).

``below``, a function ``explorer -> PNG bytes``, adds an image under the figure,
redrawn with it and stacked under it in the PNG and the player (the momentum
chapter's map of the convergence rate).

A matrix optimizer (Muon, Shampoo, SOAP) updates whole matrices, the last two
axes of its parameters, so it cannot move a 2-D point: the explorer says so when
it is built, and ``sweep`` is the way to show it.

Design
------
*One figure, updated in place.* The explorer owns one ``optim.plots.Comparison``
(contour map with paths, loss curves). A slider change recomputes only the
trajectories, moves the existing artists (``set_data``, new limits) and renders
a frame; a landscape change is the only event that redraws contours. Frames
come from ``Comparison.frame()``: the contour map is kept as pixels, so a frame
draws just the paths and the loss panel (budget 100 ms, measured by
``benchmarks/widget_redraw.py``). Runs are remembered by the slider values that
reach them, so moving β₂ leaves SGD's run as it was.

*Pixels, not a canvas widget.* The figure is shown in an ``ipywidgets.Image``
as PNG bytes. That needs no extra frontend extension (ipympl) and works the
same in JupyterLab, Notebook, VS Code and Colab.

*Playable without a kernel.* A chapter's cell shows one object to every reader.
``Explorer`` (and ``Sweep``) displays as a MIME bundle with three faces of the same
figure:

- ``application/vnd.jupyter.widget-view+json``: the full explorer, for a live
  kernel (JupyterLab, Notebook, VS Code, Binder, Colab prefer it);
- ``text/html``: a *player*, for the rendered book: the figure precomputed at a
  few values of one control (``play``) and an ``<input type=range>`` that swaps
  them, in ~20 lines of inline JavaScript with the frames embedded as WebP; no
  kernel, no external script, no network;
- ``image/png``: the figure as it stands, for anything that runs no script.

The player's frames come from ``Explorer.frames``, which sets the control to each
value in turn *through the live slider path* (``set`` -> ``redraw`` ->
``Comparison.frame``), so a static page shows exactly what a live slider would
(``Sweep`` likewise draws its frames with the function its slider calls).
There is no "am I being built?" test: the book's ``_config.yml`` drops the widget
view for the html builder::

    sphinx:
      config:
        nb_mime_priority_overrides: [["html", "application/vnd.jupyter.widget-view+json", null]]

so Sphinx picks the player, while Jupyter frontends pick the widget. A player stays
within ``PLAYER_BUDGET_BYTES`` (checked when it is made) so pages stay light.

*Both themes.* Frames are transparent with theme-neutral greys (``optim.plots``),
and each ``<img>`` carries the theme's ``dark-light`` class ("reads on both"), so
a dark page gets no white card behind it.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import math
import numbers
from collections.abc import Callable, Iterable, Mapping

import ipywidgets as W
import numpy as np
from PIL import Image

import optim
from optim import landscapes as landscapes_module
from optim import plots
from optim import trajectory as trajectory_module

# ------------------------------------------------------------------ optimizers


def book_optimizer(name: str):
    """The optimizer a display name of the book stands for, at its defaults.

    Every class of ``optim.OPTIMIZERS`` by its name (classes added later included);
    ``"Lookahead"`` is Lookahead around Adam, as in its paper.
    """
    if name == "Lookahead":
        return optim.Lookahead(optim.Adam())
    classes = {cls.__name__: cls for cls in optim.OPTIMIZERS}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; choose from {book_names()} "
                         "or pass a dict label -> optimizer instance")
    return classes[name]()


def book_names() -> list[str]:
    """The display names ``book_optimizer`` knows, in the book's order."""
    return [cls.__name__ for cls in optim.OPTIMIZERS]


BETA_LIKE = ("beta", "beta1", "beta2", "beta3", "momentum", "rho", "alpha", "dampening")
"""Hyperparameters in [0, 1): a linear slider."""

LOG_RANGES = {"lr": (-5, 1), "eps": (-12, 2), "weight_decay": (-4, 1)}
"""Decades of the log sliders the book uses most (others: four decades either side)."""

LABELS = {"lr": "learning rate α", "beta": "β (momentum / β₁)", "beta1": "β₁", "beta2": "β₂",
          "beta3": "β₃", "eps": "ε", "weight_decay": "weight decay λ", "momentum": "momentum β",
          "rho": "ρ", "k": "k (steps per sync)", "dampening": "dampening"}
"""How a slider is labelled (otherwise by its name)."""

START = ("landscape", "steps", "x0", "y0")
"""The explorer's controls that are not hyperparameters."""


def hyperparameters(opt) -> dict:
    """The numeric hyperparameters of ``opt`` a slider can set, name -> value.

    ``betas`` appears as ``beta1`` and ``beta2`` (``beta3`` if it has three); switches
    (``amsgrad``, ``maximize``) and non-numbers are left out. ``beta``, the book's
    shared β, is listed where it means something: β₁, else a momentum that is not 0.
    """
    out = {}
    for key, value in opt.hyper.items():
        if key == "betas":
            for i, b in enumerate(value):
                out[f"beta{i + 1}"] = b
        elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            continue
        elif math.isfinite(value):
            out[key] = value
    if "beta1" in out:
        out["beta"] = out["beta1"]
    elif out.get("momentum", 0) != 0:
        out["beta"] = out["momentum"]
    return out


def with_values(opt, values: Mapping):
    """``opt`` with the slider ``values`` it has applied (``opt.with_hyper``); others ignored."""
    own = hyperparameters(opt)
    changes, betas = {}, None
    for name, value in values.items():
        if name not in own:
            continue
        if name == "beta":
            name = "beta1" if "beta1" in own else "momentum"
        if isinstance(own[name], numbers.Integral):
            value = int(round(value))
        if name.startswith("beta") and name[4:].isdigit():
            betas = list(opt.hyper["betas"]) if betas is None else betas
            betas[int(name[4:]) - 1] = value
        else:
            changes[name] = value
    if betas is not None:
        changes["betas"] = tuple(betas)
    return opt.with_hyper(**changes) if changes else opt


def slider_kind(name: str, value) -> str:
    """``"int"``, ``"beta"`` (linear on [0, 1)), ``"log"`` or ``"linear"``, for hyperparameter ``name``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) \
            and name not in BETA_LIKE and name not in LOG_RANGES:
        return "int"
    if name in BETA_LIKE:
        return "beta"
    return "log" if value > 0 else "linear"


def _optimizers(optimizers) -> dict:
    """Labels -> optimizer instances from book names or a dict label -> instance."""
    if isinstance(optimizers, str):
        raise ValueError(f"optimizers={optimizers!r}: pass a list of names, e.g. [{optimizers!r}]")
    if isinstance(optimizers, Mapping):
        out = {}
        for label, opt in optimizers.items():
            if isinstance(opt, str):
                opt = book_optimizer(opt)
            if not all(hasattr(opt, a) for a in ("init", "step", "hyper", "with_hyper")):
                raise TypeError(f"{label!r}: expected an optimizer of the NumPy face (init, step, "
                                f"hyper, with_hyper), got {type(opt).__name__}; build it with the "
                                "hyperparameters it needs and name the ones to slide as keywords")
            out[label] = opt
        return out
    return {name: book_optimizer(name) for name in optimizers}


class _Auto(str):
    """The default ``play``: ``"lr"`` where the learning rate is a slider, else the first slider."""


AUTO = _Auto("lr")


class NotAPointOptimizer(ValueError):
    """An optimizer that cannot run on a 2-D point (a matrix method)."""


class Explorer:
    """Trajectories of several optimizers on a landscape, steered by sliders.

    ``Explorer(landscape, optimizers, available=None, *, steps=100, x0=None, y0=None,
    play="lr", play_values=None, labels=None, colors=None, below=None, **hyper)``:
    ``landscape`` is a name of ``optim.landscapes.ALL`` or a landscape object;
    ``optimizers`` the ticked ones (book names, or a dict label -> optimizer);
    ``available`` adds unticked checkboxes; ``hyper`` the hyperparameter sliders and
    their initial values (see the module docstring). The starting point defaults to
    the landscape's ``start``.

    ``play`` names the control that the kernel-free player of a static page sweeps
    (``"lr"`` by default, else the first hyperparameter slider; ``None`` for no
    player): a hyperparameter of a ticked optimizer, or ``"steps"``, ``"x0"``,
    ``"y0"``, ``"landscape"``. ``play_values`` are its values (default:
    ``default_play_values``).

    ``reach`` limits a slider to some optimizers, or scales it for them:
    ``reach={"eps": ["Adadelta"]}`` (the ε slider moves AdaDelta's ε only),
    ``reach={"lr": {"SGD": 1, "Adagrad": 10}}`` (AdaGrad runs at 10 α).

    ``ui`` is the widget; ``figure`` the ``optim.plots.Comparison`` it shows;
    ``controls`` the sliders by name (``parameters``).
    """

    def __init__(self, landscape="Rosenbrock", optimizers=("SGD", "Momentum", "Adam"),
                 available=None, *, steps: int = 100, x0: float | None = None,
                 y0: float | None = None, play: str | None = AUTO,
                 play_values: Iterable | None = None, labels: Mapping | None = None,
                 colors: Mapping | None = None, below: Callable | None = None,
                 reach: Mapping | None = None, **hyper):
        self.landscapes, name = _landscape_options(landscape)
        ticked = _optimizers(optimizers)
        self.bases = {**_optimizers(available or ()), **ticked}
        by_name = any(isinstance(o, str) for o in (*_names(optimizers), *_names(available or ())))
        self._check_points(self.bases, self.landscapes[name])
        hyper, play = self._resolve_hyper(ticked, hyper, play, by_name)
        self.play, self.play_values = play, None if play_values is None else list(play_values)
        self.labels = {**LABELS, **(labels or {})}
        self.below = below
        self.reach = self._check_reach(reach or {}, hyper)
        self._player = None  # (state key, Player): a redisplay of an unchanged explorer is free
        self._holding = False
        self._runs = {}  # (label, landscape, slider values it has, start, steps) -> Trajectory
        self.kinds = {}
        extra = {} if play is None or play not in hyper else {play: self.play_values or ()}
        self.controls = self._make_controls(name, ticked, hyper, steps, extra)
        self.figure = plots.Comparison(self.landscape, colors=colors)
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="700px"))
        self.below_image = W.Image(format="png", layout=W.Layout(width="100%", max_width="700px"))
        self.note = W.HTML()
        self.ui = self._layout()
        with self._hold():
            self._fit_start_sliders(x0, y0)
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        for box in self.checkboxes.values():
            box.observe(self._on_change, names="value")
        self.redraw()

    # ------------------------------------------------------------- checks

    @staticmethod
    def _check_points(bases, landscape) -> None:
        """Refuse, with a reason, an optimizer that cannot take a step on a 2-D point."""
        start = np.asarray(landscape.start, dtype=float)
        for label, opt in bases.items():
            try:
                opt.step(start, np.ones_like(start), opt.init(start))
            except Exception as error:  # noqa: BLE001 - reported, with its cause
                raise NotAPointOptimizer(
                    f"{label} ({type(opt).__name__}) cannot run on a 2-D point: {error} "
                    "(a matrix method updates the last two axes of its parameters). Show it "
                    "with optim.widgets.sweep on a matrix problem instead.") from error

    def _check_reach(self, reach, hyper) -> dict:
        """``reach``: slider -> the labels it moves (a list), or label -> factor (a dict)."""
        out = {}
        for name, labels in reach.items():
            if name not in hyper:
                raise ValueError(f"reach names {name!r}, which is not a slider; the sliders: "
                                 f"{', '.join(hyper)}")
            factors = dict(labels) if isinstance(labels, Mapping) else dict.fromkeys(labels, 1)
            unknown = [label for label in factors if label not in self.bases]
            if unknown:
                raise ValueError(f"reach[{name!r}] names {unknown}, not among {list(self.bases)}")
            out[name] = factors
        return out

    def _values_for(self, label, hyper) -> dict:
        """The slider values that reach optimizer ``label`` (scaled as ``reach`` says)."""
        own = hyperparameters(self.bases[label])
        out = {}
        for name, value in hyper.items():
            if name not in own:
                continue
            if name in self.reach:
                if label not in self.reach[name]:
                    continue
                value = value * self.reach[name][label]
            out[name] = value
        return out

    def _resolve_hyper(self, ticked, hyper, play, by_name) -> tuple[dict, str | None]:
        """The hyperparameter sliders with their initial values, and the control to play."""
        known = {}  # name -> value of the first optimizer (ticked first) that has it
        for opt in [*ticked.values(), *self.bases.values()]:
            for key, value in hyperparameters(opt).items():
                known.setdefault(key, value)
        self._known = known
        ticked_names = {key for opt in ticked.values() for key in hyperparameters(opt)}
        if by_name:  # the book's shared sliders, as they always were
            defaults = {"lr": 1e-2, "beta": 0.9}
            hyper = {**{k: v for k, v in defaults.items()
                        if k in known and not ({"beta1", "momentum"} & set(hyper))}, **hyper}
        unknown = [key for key in hyper if key not in known]
        if unknown:
            raise ValueError(f"{', '.join(map(repr, unknown))} is not a hyperparameter of "
                             f"{list(self.bases)}; they have: {_listing(known)}")
        if "beta" in hyper and ({"beta1", "momentum"} & set(hyper)):
            raise ValueError("beta is β₁ or the momentum: set it, or beta1/momentum, not both")
        if play is AUTO:  # the learning rate if it is a slider, else the first slider
            play = "lr" if "lr" in hyper else next(iter(hyper), "steps")
        if play is not None and play not in START:
            if play not in ticked_names:
                have = {key: known[key] for key in known if key in ticked_names}
                raise ValueError(f"play={play!r} is not a hyperparameter of the ticked "
                                 f"optimizers {list(ticked)}; they have: {_listing(have)} "
                                 f"(or a control: {', '.join(START)})")
            hyper.setdefault(play, known[play])
        return hyper, play

    # ------------------------------------------------------------- controls

    def _make_controls(self, name, ticked, hyper, steps, extra) -> dict:
        self.checkboxes = {
            label: W.Checkbox(value=label in ticked, description=label, indent=False,
                              layout=W.Layout(width="auto"))
            for label in self.bases
        }
        slider = dict(continuous_update=False, style={"description_width": "initial"},
                      layout=W.Layout(width="340px"))
        controls = {"landscape": W.Dropdown(options=list(self.landscapes), value=name,
                                            description="landscape")}
        for key, value in hyper.items():
            controls[key] = self._hyper_slider(key, value, extra.get(key, ()), slider)
        controls["steps"] = W.IntSlider(value=steps, min=1, max=max(1000, steps), step=1,
                                        description="steps", **slider)
        controls["x0"] = W.FloatSlider(description="start x₀", readout_format=".2f", **slider)
        controls["y0"] = W.FloatSlider(description="start y₀", readout_format=".2f", **slider)
        self.hyper_names = tuple(hyper)
        return controls

    def _hyper_slider(self, key, value, wanted, look) -> W.Widget:
        """A slider for hyperparameter ``key`` whose range holds ``value`` and ``wanted``."""
        kind = self.kinds[key] = slider_kind(key, self._known[key])
        values = [value, *wanted]
        description = self.labels.get(key, key)
        if kind == "int":
            low = 1 if min(values) >= 1 else 0
            high = max(20, 4 * max(values))
            low, high = self._valid_ends(key, low, high, value)
            low, high = math.ceil(low), math.floor(high)
            return W.IntSlider(value=int(value), min=low, max=high, step=1,
                               description=description, **look)
        if kind == "log":
            low, high = LOG_RANGES.get(key, (math.floor(math.log10(value)) - 4,
                                             math.ceil(math.log10(value)) + 4))
            low = min(low, math.floor(math.log10(min(values))))
            high = max(high, math.ceil(math.log10(max(values))))
            step = 0.05
            low, high = self._valid_ends(key, low, high, value, log=True)
            return W.FloatLogSlider(value=value, base=10, min=low, max=high, step=step,
                                    readout_format=".1e", description=description, **look)
        if kind == "beta":
            low, high, step = 0.0, 0.9999, 0.0001
        else:
            low, high = min(0.0, 2 * min(values)), max(1.0, 2 * max(values))
            step = (high - low) / 1000
        low, high = self._valid_ends(key, low, high, value)
        return W.FloatSlider(value=value, min=low, max=high, step=step,
                             readout_format=".4g", description=description, **look)

    def _valid_ends(self, key, low, high, value, log=False):
        """Move each end of a slider inwards, towards ``value``, until every optimizer with
        ``key`` accepts it (Lookahead refuses ``alpha = 0``, Adafactor a positive
        ``beta2_decay``): a bisection between the refused end and the accepted value."""
        def accepted(end):
            try:
                for opt in self.bases.values():
                    with_values(opt, {key: 10.0 ** end if log else end})
            except (ValueError, TypeError):
                return False
            return True

        def inward(end, inside):
            if accepted(end) or not accepted(inside):
                return end
            for _ in range(40):
                middle = (end + inside) / 2
                end, inside = (end, middle) if accepted(middle) else (middle, inside)
            return inside

        inside = math.log10(value) if log else value
        return inward(low, inside), inward(high, inside)

    def _layout(self) -> W.Widget:
        c = self.controls
        boxes = W.HBox(list(self.checkboxes.values()), layout=W.Layout(flex_flow="row wrap"))
        left = [c[key] for key in self.hyper_names] + [c["steps"]]
        return W.VBox([
            W.HBox([c["landscape"], boxes]),
            W.HBox([W.VBox(left), W.VBox([c["x0"], c["y0"]])],
                   layout=W.Layout(flex_flow="row wrap")),
            self.note,
            self.image,
            *([self.below_image] if self.below is not None else []),
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
    def parameters(self) -> tuple:
        """The names of the controls, as ``set``, ``frames`` and ``player`` take them."""
        return tuple(self.controls)

    @property
    def landscape(self):
        return self.landscapes[self.controls["landscape"].value]

    @property
    def values(self) -> dict:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def hyper(self) -> dict:
        """The hyperparameter sliders' current values."""
        return {name: self.controls[name].value for name in self.hyper_names}

    def optimizers(self) -> dict:
        """Label -> optimizer for the ticked boxes, with the current slider values."""
        hyper = self.hyper()
        return {label: with_values(self.bases[label], self._values_for(label, hyper))
                for label, box in self.checkboxes.items() if box.value}

    def trajectories(self) -> dict:
        """Label -> Trajectory of every ticked optimizer from the current start.

        An optimizer that refuses the sliders' values (``ValueError``) is left out and
        named in the note above the figure.
        """
        start = (self.controls["x0"].value, self.controls["y0"].value)
        steps = self.controls["steps"].value
        hyper, runs, refused = self.hyper(), {}, []
        for label, box in self.checkboxes.items():
            if box.value:
                try:
                    runs[label] = self._run(label, hyper, start, steps)
                except ValueError as error:
                    refused.append(f"{label}: {error}")
        self.note.value = "<br>".join(html.escape(r) for r in refused)
        return runs

    def _run(self, label, hyper, start, steps):
        """One run, remembered by its inputs: a β₂ slider leaves SGD's run as it was, and a
        newly ticked box computes only its own run."""
        base = self.bases[label]
        mine = tuple(self._values_for(label, hyper).items())
        key = (label, self.landscape.name, mine, start, steps)
        if key not in self._runs:
            if len(self._runs) >= 64:  # keep memory flat while a reader drags sliders
                self._runs.pop(next(iter(self._runs)))
            opt = with_values(base, dict(mine))
            self._runs[key] = trajectory_module.run(opt, self.landscape, start=np.array(start),
                                                    steps=steps)
        return self._runs[key]

    def set(self, **values) -> None:
        """Set several controls at once (names from ``parameters``), then redraw once."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown controls {sorted(unknown)}; choose from {self.parameters}")
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
        slack = 1e-9 * max(abs(low), abs(high))
        if not low - slack <= value <= high + slack:
            raise ValueError(f"{name}={value!r} is outside the slider's range [{low:.4g}, "
                             f"{high:.4g}]")
        control.value = value

    # -------------------------------------------------------------- drawing

    def redraw(self) -> None:
        """Recompute the trajectories, move the artists, show the new frame."""
        self.figure.update(self.trajectories())
        self.image.value = self.figure.frame()
        if self.below is not None:
            self.below_image.value = self.below(self)

    def png(self) -> bytes:
        """The figure as it is shown now (PNG bytes; with ``below`` stacked under it)."""
        if self.below is None:
            return self.image.value
        top, bottom = (plots.unmatte(Image.open(io.BytesIO(data))).convert("RGBA")
                       for data in (self.image.value, self.below_image.value))
        both = Image.new("RGBA", (max(top.width, bottom.width), top.height + bottom.height),
                         (255, 255, 255, 0))  # transparent: both themes
        both.paste(top, (0, 0))
        both.paste(bottom, (0, top.height))
        return plots.encode_png(np.asarray(both))

    def frames(self, name: str, values: Iterable) -> list[bytes]:
        """PNG frames for each value of control ``name``, via the live redraw path.

        The other controls keep their values; the control is restored afterwards.
        """
        if name not in self.controls:
            raise ValueError(f"unknown control {name!r}; choose from {self.parameters}")
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
        if name not in self.controls:
            raise ValueError(f"unknown control {name!r}; choose from {self.parameters}")
        if values is None:
            values = self.play_values if name == self.play and self.play_values else None
        current = self.values[name]
        values = default_play_values(name, current, self.controls[name], self._kind(name)) \
            if values is None else list(values)
        if not values:
            raise ValueError(f"a player of {name!r} needs at least one value")
        key = (name, tuple(values), tuple(sorted(self.values.items())),
               tuple(label for label, box in self.checkboxes.items() if box.value))
        if self._player is None or self._player[0] != key:
            kind = self._kind(name)
            start = min(range(len(values)), key=lambda i: _distance(kind, values[i], current))
            label = self.controls[name].description if name != "landscape" else "landscape"
            what = ", ".join(self.optimizers()) or "no optimizer"
            self._player = (key, Player(self.frames(name, values), values, label,
                                        [_format(kind, v) for v in values], start,
                                        alt=f"Trajectories and losses of {what} on "
                                            f"{self.landscape.name}"))
        return self._player[1]

    def _kind(self, name):
        return self.kinds.get(name) or {"steps": "int", "x0": "linear", "y0": "linear",
                                        "landscape": "landscape"}[name]

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


def _names(optimizers) -> list:
    """The book names among ``optimizers`` (a list of names, or a dict's string values)."""
    if isinstance(optimizers, Mapping):
        return [o for o in optimizers.values() if isinstance(o, str)]
    return [o for o in optimizers if isinstance(o, str)]


def _listing(known: Mapping) -> str:
    return ", ".join(f"{key} (now {value:.4g})" for key, value in known.items()) or "none"


def _landscape_options(landscape) -> tuple[dict, str]:
    """All landscapes of the book by name, plus ``landscape`` if it is a custom one."""
    options = dict(landscapes_module.ALL)
    if isinstance(landscape, str):
        if landscape not in options:
            raise ValueError(f"landscape={landscape!r} is not one of {sorted(options)}")
        return options, landscape
    options[landscape.name] = landscape
    return options, landscape.name


def explore(landscape="Rosenbrock", optimizers=("SGD", "Momentum", "Adam"), *,
            play: str | None = AUTO, play_values: Iterable | None = None,
            **initial) -> Explorer:
    """A ready explorer; put it last in a cell so it is displayed.

    ``optimizers``: book names or a dict label -> optimizer instance. Every keyword
    that is a hyperparameter of one of them is a slider with that initial value
    (``lr=1e-2``, ``beta2=0.999``, ``weight_decay=0.1``, ``k=5``; module docstring).
    In a live kernel the cell shows the ipywidgets explorer; in the rendered book it
    shows a player that sweeps control ``play`` (the learning rate by default; any
    hyperparameter of a ticked optimizer, or ``"steps"``, ``"x0"``, ``"y0"``,
    ``"landscape"``) over ``play_values`` (default: ``default_play_values``),
    precomputed at build time. ``initial`` also takes ``available``, ``steps``,
    ``x0``, ``y0``, ``labels``, ``colors``, ``reach`` and ``below`` (see ``Explorer``).
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

_NAME_KINDS = {"lr": "log", "beta": "beta", "steps": "steps", "x0": "linear", "y0": "linear",
               "landscape": "landscape"}


def default_play_values(name: str, current, control=None, kind: str | None = None) -> list:
    """The values a player sweeps when the chapter names none; ``current`` is among them.

    By the slider's ``kind`` (``slider_kind``; guessed from ``name`` if not given):

    - ``log`` (``lr``, ``eps``, ``weight_decay``, ...): 11 values a quarter-decade apart,
      from 1/18 to 18 times ``current`` (too timid, about right, too bold), within the
      slider's range;
    - ``beta`` (β's, momentum, ρ, ...): 0 (no memory) to 0.99;
    - ``int`` (``k``, ``warmup_steps``): small integers up to about 4 times ``current``;
    - ``steps``: 12 values up to ``current``, so the paths grow as the slider moves;
    - ``linear`` (``x0``, ``y0``, other numbers): 11 values across the slider's range;
    - ``landscape``: every landscape of the book.
    """
    if kind is None:
        kind = _NAME_KINDS.get(name) or slider_kind(name, current)
    if kind == "log":
        low, high = (10.0 ** control.min, 10.0 ** control.max) if control is not None \
            else (1e-5, 10.0) if name == "lr" else (0.0, math.inf)
        values = [float(f"{current * 10 ** (k / 4):.3g}") for k in range(-5, 6)]
        values = [v for v in values if low <= v <= high]
    elif kind == "beta":
        values = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
        if control is not None:
            values = [v for v in values if control.min <= v <= control.max]
    elif kind == "steps":
        values = sorted({max(1, int(round(current * k / 12))) for k in range(1, 13)})
    elif kind == "int":
        low = control.min if control is not None else 0
        high = min(control.max if control is not None else math.inf, max(10, 4 * current))
        values = [v for v in (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50, 100, 200, 500)
                  if low <= v <= high]
        values = values[-12:] if current >= values[len(values) // 2] else values[:12]
    elif kind == "linear":
        low, high = (control.min, control.max) if control is not None else (current, current)
        # rounded for the labels, but kept inside the slider (an end such as -1.8192e-13 rounds out of it)
        values = [min(max(float(f"{v:.4g}"), low), high) for v in np.linspace(low, high, 11)]
    elif kind == "landscape":
        return list(landscapes_module.ALL) if current in landscapes_module.ALL \
            else [current, *landscapes_module.ALL]
    else:
        raise ValueError(f"unknown kind of slider {kind!r} for {name!r}")
    if not any(np.isclose(v, current, rtol=1e-9, atol=0) for v in values):
        values = sorted([*values, current])
    return values


def _distance(kind, a, b) -> float:
    if kind == "landscape":
        return 0.0 if a == b else 1.0
    if kind == "log":
        return abs(np.log(a) - np.log(b))
    return abs(a - b)


def _format(kind: str, value) -> str:
    if kind == "log":
        return f"{value:.2g}"
    if kind == "beta":
        return f"{value:.4g}"
    if kind in ("steps", "int"):
        return str(int(value))
    if kind == "linear":
        return f"{value:.3g}"
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


# ------------------------------------------------------------------ any figure


class Sweep:
    """A slider over ``values`` of one argument of a figure function, and its player.

    ``Sweep(draw, play, values, fixed, shown=None, label=None)``: ``draw(**{play: value,
    **fixed})`` returns a ``matplotlib.figure.Figure``. In a live kernel the cell shows
    a ``SelectionSlider`` over ``values`` that redraws the image; on the rendered page
    the kernel-free ``Player`` over the same frames; a PNG for the rest (the same
    MIME bundle as ``Explorer``). ``shown`` is the value shown first (default: the
    middle one); ``label`` names the slider (default: ``play``). Each value's frame is
    drawn once and kept, so the player and the slider share them.
    """

    def __init__(self, draw: Callable, play: str, values: Iterable, fixed: Mapping | None = None,
                 shown=None, label: str | None = None):
        self.draw, self.play, self.fixed = draw, play, dict(fixed or {})
        self.values = list(values)
        if not self.values:
            raise ValueError(f"a sweep of {play!r} needs at least one value")
        if play in self.fixed:
            raise ValueError(f"{play!r} is both swept and fixed")
        self.label = label or LABELS.get(play, play)
        self.labels = [_format_any(v) for v in self.values]
        start = len(self.values) // 2 if shown is None else _index(self.values, shown)
        self._frames: dict[int, bytes] = {}
        self._player = None
        self.slider = W.SelectionSlider(
            options=list(zip(self.labels, range(len(self.values)))), value=start,
            description=self.label, continuous_update=False,
            style={"description_width": "initial"}, layout=W.Layout(width="420px"))
        self.image = W.Image(format="png", layout=W.Layout(width="100%", max_width="700px"))
        self.ui = W.VBox([self.slider, self.image])
        self.slider.observe(lambda change: self.redraw(), names="value")
        self.redraw()

    @property
    def value(self):
        """The value the slider stands on."""
        return self.values[self.slider.value]

    def frame(self, index: int) -> bytes:
        """PNG of ``draw`` at ``values[index]`` (drawn once, then kept)."""
        if index not in self._frames:
            import matplotlib.pyplot as plt

            fig = self.draw(**{self.play: self.values[index], **self.fixed})
            if not hasattr(fig, "savefig"):
                raise TypeError(f"draw({self.play}={self.values[index]!r}) returned "
                                f"{type(fig).__name__}, not a matplotlib Figure")
            self._frames[index] = plots.png(fig)
            plt.close(fig)  # a pyplot figure would stay open (and show twice in a notebook)
        return self._frames[index]

    def redraw(self) -> None:
        """Show the frame of the slider's value."""
        self.image.value = self.frame(self.slider.value)

    def png(self) -> bytes:
        return self.image.value

    def player(self) -> "Player":
        """The kernel-free player over every value (its frames drawn by ``draw``)."""
        if self._player is None:
            frames = [self.frame(i) for i in range(len(self.values))]
            self._player = Player(frames, self.values, self.label, self.labels,
                                  self.slider.value, alt=f"The figure at each {self.label}")
        return self._player

    def _repr_mimebundle_(self, **kwargs):
        """The slider for a live frontend, the player for a rendered page, a PNG for the rest."""
        bundle = self.ui._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(self.png()).decode("ascii")
        bundle["text/html"] = self.player().html()
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self):
        return f"<Sweep of {self.play} over {len(self.values)} values>"


def sweep(draw: Callable, play: str, values: Iterable, *, shown=None, label: str | None = None,
          **fixed) -> Sweep:
    """A slider and a kernel-free player for any figure: put it last in a cell.

    ``draw(**{play: value, **fixed})`` must return a ``matplotlib.figure.Figure``
    (``optim.plots.new_figure`` makes one in the book's style). For experiments that
    are not a 2-D landscape: loss curves of a matrix problem against a hyperparameter,
    a bar chart of memory against a size::

        sweep(draw, play="beta2", values=[0.9, 0.99, 0.999], steps=200)

    A live kernel shows a slider over ``values`` that redraws; the rendered page the
    same ``Player`` the explorer uses (WebP frames, at most ``PLAYER_BUDGET_BYTES``:
    about a dozen values of a 700 x 320 figure). ``shown``: the value shown first
    (default: the middle one); ``label``: the slider's name (default from ``play``).
    """
    return Sweep(draw, play, values, fixed, shown=shown, label=label)


def _index(values, value) -> int:
    for i, v in enumerate(values):
        if v == value or (isinstance(v, numbers.Real) and isinstance(value, numbers.Real)
                          and np.isclose(v, value, rtol=1e-9, atol=0)):
            return i
    raise ValueError(f"shown={value!r} is not one of the values {values}")


def _format_any(value) -> str:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return f"{value:.4g}"
