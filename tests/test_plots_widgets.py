"""Tests of optim.plots (colours, style, panels) and optim.widgets (the Explorer, sweep), headless."""

import base64
import io
import itertools
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from PIL import Image  # noqa: E402

import optim  # noqa: E402
from optim import landscapes, plots, trajectory, widgets  # noqa: E402
from optim.widgets import Explorer, explore, sweep  # noqa: E402

BOOK_NAMES = [cls.__name__ for cls in optim.OPTIMIZERS]  # the ones added later too


# ------------------------------------------------------------ colour science

def _linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _luminance(color):
    return float(_linear(to_rgb(color)) @ [0.2126, 0.7152, 0.0722])


def _contrast(color, background):
    a, b = sorted([_luminance(color), _luminance(background)])
    return (b + 0.05) / (a + 0.05)


# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
_CVD = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}


def _lab(color, vision):
    rgb = np.clip(_CVD[vision] @ _linear(to_rgb(color)), 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ rgb / [0.9505, 1.0, 1.089]
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_book_optimizer_has_its_own_colour_and_dash():
    assert set(plots.COLORS) == set(BOOK_NAMES) == set(plots.LINESTYLES)
    assert len(set(plots.COLORS.values())) == len(BOOK_NAMES)
    for name in BOOK_NAMES:
        assert plots.color(name) == plots.COLORS[name]


@pytest.mark.parametrize("background", ["#FFFFFF", "#121212", *plots.PAGE_BACKGROUNDS.values()])
def test_colours_stand_out_on_light_and_dark_pages(background):
    for name, color in [*plots.COLORS.items(), *enumerate(plots.FALLBACK_COLORS)]:
        assert _contrast(color, background) >= 3.0, (name, color, background)


@pytest.mark.parametrize("vision", list(_CVD))
def test_optimizers_drawn_with_the_same_dash_differ_in_colour_for_colour_blind_readers(vision):
    for a, b in itertools.combinations(BOOK_NAMES, 2):
        if plots.LINESTYLES[a] == plots.LINESTYLES[b] or vision == "normal":
            distance = np.linalg.norm(_lab(plots.COLORS[a], vision) - _lab(plots.COLORS[b], vision))
            assert distance > 10, (a, b, vision, distance)


def test_colour_of_a_label_follows_its_optimizer_and_unknown_names_get_a_stable_fallback():
    assert plots.color("AdamW, lr=0.1") == plots.COLORS["AdamW"]  # longest prefix wins
    assert plots.color("Adam #2") == plots.COLORS["Adam"]
    assert plots.color("MyOptimizer") in plots.FALLBACK_COLORS
    assert plots.color("MyOptimizer") == plots.color("MyOptimizer")
    assert plots.linestyle("MyOptimizer") == "-"


def test_use_style_and_styled_set_the_book_rcparams():
    with plots.styled(dark=True):
        assert matplotlib.rcParams["axes.facecolor"] == "#121212"
    before = dict(matplotlib.rcParams)
    try:
        plots.use_style()
        assert tuple(matplotlib.rcParams["figure.figsize"]) == (plots.PAGE_WIDTH_IN, 3.2)
        assert matplotlib.rcParams["axes.spines.top"] is False
    finally:
        matplotlib.rcParams.update(before)
        plots._chosen["dark"] = False


# ------------------------------------------------------------------- plots

def _runs(steps=60):
    opts = {"SGD": optim.SGD(lr=1e-3), "Momentum": optim.Momentum(lr=1e-3),
            "Adam": optim.Adam(lr=5e-2)}
    return trajectory.run_many(opts, landscapes.rosenbrock, steps=steps)


def _decode(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_log_contour_levels_are_log_spaced_above_the_minimum():
    z = np.array([[3.0, 5.0], [1003.0, 10003.0]])
    levels = plots.contour_levels(z, log=True, n=6)  # the minimum, then 4 decades above it
    assert levels[0] == 3.0
    assert np.allclose(levels[1:] - 3.0, [1.0, 10.0, 100.0, 1000.0, 10000.0])
    assert np.allclose(plots.contour_levels(z, log=False, n=3), [3.0, 5003.0, 10003.0])


def test_trajectory_plot_draws_each_path_in_its_colour_and_marks_the_minimum():
    runs = _runs()
    panel = plots.trajectory_plot(runs, landscapes.rosenbrock)
    assert set(panel.paths) == set(runs)
    for label, artists in panel.paths.items():
        x, y = artists["line"].get_data()
        assert np.allclose(x, runs[label].positions[:, 0])
        assert artists["line"].get_color() == plots.COLORS[label]
        assert len(artists["cross"].get_xdata()) == 0  # nothing diverged
    assert np.allclose(panel.contours.minima.get_xydata(), landscapes.rosenbrock.minima)
    assert panel.ax.get_xlim() == landscapes.rosenbrock.bounds[0]


def test_diverged_run_is_cut_marked_and_named_in_the_legend_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = trajectory.run_many({"SGD": optim.SGD(lr=1.0), "Adam": optim.Adam(lr=1e-2)},
                                   landscapes.rosenbrock, steps=50)
        assert bool(runs["SGD"].diverged)
        figure = plots.comparison_figure(runs, landscapes.rosenbrock)
        png = figure.png()
    n = int(runs["SGD"].diverged_at)
    assert len(figure.map.paths["SGD"]["line"].get_xdata()) == n  # drawn up to the cut
    assert len(figure.map.paths["SGD"]["cross"].get_xdata()) == 1  # and marked with ✕
    assert len(figure.map.paths["SGD"]["end"].get_xdata()) == 0
    assert len(figure.loss.curves["SGD"]["cross"].get_xdata()) == 1
    legend = [t.get_text() for t in figure.loss.ax.get_legend().get_texts()]
    assert legend == [f"SGD (diverged at step {n})", "Adam"]
    assert _decode(png).shape == (320, 700, 3)


def test_loss_plot_shows_the_gap_to_the_minimum_on_a_log_axis():
    runs = _runs()
    panel = plots.loss_plot(runs, landscape=landscapes.himmelblau)
    f_star = landscapes.himmelblau.f(landscapes.himmelblau.minima).min()
    assert panel.ax.get_yscale() == "log"
    assert np.allclose(panel.curves["Adam"]["line"].get_ydata(), runs["Adam"].losses - f_star)
    # A saddle has no minimum and losses below zero: no logarithm, a symlog axis instead.
    saddle = trajectory.run_many([optim.SGD(lr=0.1)], landscapes.saddle, steps=30)
    assert plots.loss_plot(saddle, landscape=landscapes.saddle).ax.get_yscale() == "symlog"


def test_batched_trajectories_are_refused_with_advice():
    batch = trajectory.run(optim.SGD(lr=np.array([[1e-3], [1e-2]])), landscapes.rosenbrock, steps=5)
    with pytest.raises(ValueError, match="single runs"):
        plots.trajectory_plot({"SGD": batch}, landscapes.rosenbrock)


def _on_page(png, background):
    """The PNG as a page of ``background`` shows it (straight alpha, as browsers do)."""
    image = plots.unmatte(Image.open(io.BytesIO(png))).convert("RGBA")
    page = Image.new("RGBA", image.size, background)
    page.alpha_composite(image)
    return np.asarray(page.convert("RGB")).astype(int)


def test_fast_frame_is_pixel_identical_to_a_full_draw():
    figure = plots.comparison_figure(_runs(), landscapes.rosenbrock)
    figure.frame()  # lays out and caches the contour map
    figure.update(_runs(steps=90))
    frame, full = figure.frame(), figure.png()
    for background in plots.PAGE_BACKGROUNDS.values():  # up to the rounding of the matte
        assert np.abs(_on_page(frame, background) - _on_page(full, background)).max() <= 1


# ------------------------------------------------------------ both themes

def test_figures_are_transparent_and_keep_each_optimizers_colour():
    runs = _runs()
    figure = plots.comparison_figure(runs, landscapes.rosenbrock)
    rgba = np.asarray(Image.open(io.BytesIO(figure.png())).convert("RGBA"))
    assert rgba[..., 3].min() == 0 and (rgba[:3, :, 3] == 0).all()  # the page shows through
    for label, artists in figure.map.paths.items():
        assert artists["line"].get_color() == plots.COLORS[label]
    # Text and axes are one grey that reads on both pages.
    assert matplotlib.colors.same_color(figure.loss.ax.xaxis.label.get_color(), plots.NEUTRAL)
    for background in plots.PAGE_BACKGROUNDS.values():
        assert _contrast(plots.NEUTRAL, background) >= 4.0


def test_the_contour_map_reads_on_both_pages():
    panel = plots.trajectory_plot(_runs(), landscapes.rosenbrock)
    light, dark = (_on_page(panel.png(), bg) for bg in plots.PAGE_BACKGROUNDS.values())
    # Low ground is the page itself; high ground a tint that differs from it on both pages.
    for shown, background in ((light, "#FFFFFF"), (dark, plots.PAGE_BACKGROUNDS["dark"])):
        page = np.array(to_rgb(background)) * 255
        distance = np.abs(shown - page).sum(axis=-1)
        assert (distance < 6).mean() > 0.2 and (distance > 40).mean() > 0.1


def test_neutralize_maps_a_chapters_black_and_white_to_greys_that_read_on_both_pages():
    fig, (ax,) = plots.new_figure()
    (data,) = ax.plot([0, 1], [0, 1], color=plots.COLORS["Adam"])
    (reference,) = ax.plot([0, 1], [1, 1], color="black")
    band = ax.axvspan(0.2, 0.4, color="black", alpha=0.05)
    note = ax.text(0.5, 0.5, "note", color="k", bbox=dict(facecolor="white", alpha=0.85))
    ax.set_facecolor("white")
    fig.patch.set_facecolor("white")
    plots.neutralize(fig)
    assert fig.patch.get_alpha() in (None, 0) and fig.patch.get_facecolor()[3] == 0
    assert ax.patch.get_facecolor()[3] == 0
    assert matplotlib.colors.same_color(data.get_color(), plots.COLORS["Adam"])  # hues stay
    for artist in (reference, note):
        assert matplotlib.colors.same_color(artist.get_color(), plots.NEUTRAL)
    r, g, b, a = band.get_facecolor()
    assert matplotlib.colors.same_color((r, g, b), plots.NEUTRAL) and 0.05 < a < 0.15
    box = note.get_bbox_patch().get_facecolor()
    assert box[3] < 0.3  # a faint tint, not a white card
    assert ax.xaxis.get_major_ticks()[0].label1.get_color() in (plots.NEUTRAL,) or \
        matplotlib.colors.same_color(ax.xaxis.get_major_ticks()[0].label1.get_color(),
                                     plots.NEUTRAL)
    before = plots.png(fig)
    assert plots.png(plots.neutralize(fig)) == before  # idempotent


def test_use_style_neutralizes_pyplot_figures_shown_by_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell.instance()
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: plots.png(fig))  # as the inline backend does
    before = dict(matplotlib.rcParams)
    try:
        plots.use_style()
        plots.use_style()  # wrapped once, not twice
        show = formatter.type_printers[Figure]
        assert show.neutralizes and not getattr(show.__kwdefaults__["_show"], "neutralizes", False)
        fig = Figure()
        ax = fig.subplots()
        (line,) = ax.plot([0, 1], color="black")
        fig.patch.set_facecolor("white")
        formatter(fig)
        assert matplotlib.colors.same_color(line.get_color(), plots.NEUTRAL)
        assert fig.patch.get_facecolor()[3] == 0
        # A chapter that only calls new_figure (no use_style) is covered too.
        formatter.for_type(Figure, lambda fig: plots.png(fig))
        fig, (ax,) = plots.new_figure()
        assert formatter.type_printers[Figure].neutralizes
    finally:
        formatter.pop(Figure, None)
        InteractiveShell.clear_instance()
        matplotlib.rcParams.update(before)


def test_frames_are_matted_so_code_that_drops_alpha_still_sees_the_figure_on_white():
    figure = plots.comparison_figure(_runs(), landscapes.rosenbrock)
    frame = figure.frame()
    image = Image.open(io.BytesIO(frame))
    assert image.mode == "RGBA" and image.info[plots.MATTE_KEY] == "white"
    dropped = np.asarray(image.convert("RGB")).astype(int)  # e.g. a chapter stacking frames
    assert np.abs(dropped - _on_page(frame, "#FFFFFF")).max() <= 1


def test_figures_are_not_left_open_in_pyplot():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for _ in range(3):
        plots.comparison_figure(_runs(10), landscapes.rosenbrock).png()
        plots.trajectory_plot(_runs(10), landscapes.rosenbrock)
    assert plt.get_fignums() == before


# ----------------------------------------------------------------- widgets

def _explorer(**kwargs):
    return Explorer("Rosenbrock", ["SGD", "Momentum", "Adam"], available=["Nesterov"],
                    lr=1e-3, steps=80, **kwargs)


def test_slider_change_updates_the_same_artists_with_new_data():
    explorer = _explorer()
    figure = explorer.figure
    line = figure.map.paths["Momentum"]["line"]
    loss_line = figure.loss.curves["Momentum"]["line"]
    contours = figure.map.contours.filled
    old_x, old_png = line.get_xdata().copy(), explorer.png()

    explorer.controls["lr"].value = 3e-3  # as a reader's slider would

    assert explorer.figure is figure and figure.map.paths["Momentum"]["line"] is line
    assert figure.loss.curves["Momentum"]["line"] is loss_line
    assert figure.map.contours.filled is contours  # contours untouched by a slider
    assert not np.array_equal(line.get_xdata(), old_x)
    expected = trajectory.run(optim.Momentum(lr=3e-3, momentum=0.9), landscapes.rosenbrock,
                              steps=80)
    assert np.allclose(line.get_xdata(), expected.positions[:, 0])
    assert explorer.png() != old_png

    explorer.controls["steps"].value = 120
    assert len(line.get_xdata()) == 121 and figure.map.paths["Momentum"]["line"] is line


def test_start_sliders_move_the_start_and_landscape_change_redraws_contours():
    explorer = _explorer()
    explorer.controls["x0"].value = 0.5
    assert explorer.figure.map.paths["SGD"]["start"].get_xdata()[0] == 0.5
    contours = explorer.figure.map.contours.filled
    explorer.controls["landscape"].value = "Himmelblau"
    assert explorer.figure.map.contours.filled is not contours
    assert explorer.figure.map.ax.get_title(loc="left") == "Himmelblau"
    assert (explorer.controls["x0"].min, explorer.controls["x0"].max) == \
        landscapes.himmelblau.bounds[0]
    assert explorer.controls["x0"].value == landscapes.himmelblau.start[0]


def test_checkboxes_show_and_hide_runs_and_colours_follow_the_book():
    explorer = _explorer()
    explorer.checkboxes["Nesterov"].value = True
    explorer.checkboxes["SGD"].value = False
    paths = explorer.figure.map.paths
    assert paths["Nesterov"]["line"].get_visible() and not paths["SGD"]["line"].get_visible()
    for label, artists in paths.items():
        assert artists["line"].get_color() == plots.COLORS[label]
        assert explorer.figure.loss.curves[label]["line"].get_color() == plots.COLORS[label]


def test_diverging_setting_is_shown_as_diverged_without_exceptions_or_warnings():
    explorer = _explorer()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explorer.controls["lr"].value = 1.0
    texts = [t.get_text() for t in explorer.figure.loss.ax.get_legend().get_texts()]
    assert any(t.startswith("SGD (diverged at step") for t in texts)
    assert len(explorer.figure.map.paths["SGD"]["cross"].get_xdata()) == 1


def test_static_fallback_is_a_png_of_the_figure_next_to_the_widget_view():
    bundle = explore("Himmelblau", ["Adam"], lr=0.05)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG") and _decode(png).shape == (320, 700, 3)


def test_frames_render_each_value_and_restore_the_slider():
    explorer = _explorer()
    before = explorer.values
    frames = explorer.frames("lr", [1e-4, 1e-3, 1e-2])
    assert len(frames) == 3 and len(set(frames)) == 3
    assert frames[1] == explorer.png()  # lr=1e-3 is where it was: the same picture
    assert explorer.values == before
    with pytest.raises(ValueError, match="outside"):
        explorer.frames("lr", [100.0])
    assert explorer.values == before


def test_every_book_name_builds_the_optimizer_it_is_named_after():
    for name in widgets.book_names():
        assert type(widgets.book_optimizer(name)).__name__ == name
    assert type(widgets.book_optimizer("Lookahead").base) is optim.Adam  # as in its paper


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="Momentum"):
        Explorer("Rosenbrock", ["Adamm"])
    with pytest.raises(ValueError, match="Himmelblau"):
        Explorer("Himmelbau")


# ------------------------------------------------------------ the kernel-free player

def test_one_cell_shows_the_widget_live_and_the_player_on_a_static_page():
    bundle = _explorer()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # Jupyter picks this
    html = bundle["text/html"]  # the book drops the widget view, so Sphinx picks this
    assert html.startswith('<div class="optim-player">') and 'type="range"' in html
    assert "image/png" in bundle and bundle["text/plain"].startswith("<Explorer")
    assert "text/html" not in explore("Himmelblau", ["Adam"], play=None)._repr_mimebundle_()


def test_player_frames_come_from_the_live_redraw_path():
    explorer = _explorer()
    before, shown = explorer.values, explorer.png()
    player = explorer.player("lr", [1e-4, 1e-3, 1e-2])
    assert explorer.values == before and explorer.png() == shown  # the widget is untouched
    assert player.labels == ["0.0001", "0.001", "0.01"] and player.start == 1
    assert len(player.frames) == 3 and len(set(player.frames)) == 3
    # The frame the page shows first is the widget's own picture, re-encoded.
    assert player.frames[1] == widgets.webp(shown, player.quality)
    decoded = Image.open(io.BytesIO(player.frames[0]))
    assert decoded.format == "WEBP" and decoded.size == (700, 320)
    # Transparent (the page shows through) and close to the PNG on both pages.
    assert decoded.mode == "RGBA"
    for background in plots.PAGE_BACKGROUNDS.values():
        page = Image.new("RGBA", decoded.size, background)
        page.alpha_composite(Image.open(io.BytesIO(player.frames[1])).convert("RGBA"))
        shown_here = np.asarray(page.convert("RGB")).astype(int)
        assert np.abs(shown_here - _on_page(shown, background)).mean() < 3
    assert explorer.player("lr", [1e-4, 1e-3, 1e-2]) is player  # a redisplay is free


def test_player_page_is_self_contained_and_within_budget():
    player = _explorer().player()
    html = player.html()
    assert player.nbytes <= widgets.PLAYER_BUDGET_BYTES
    assert not re.findall(r'(?:src|href)="(?!data:image/webp;base64,)', html)  # nothing to fetch
    text = re.sub(r"data:image/webp;base64,[A-Za-z0-9+/=]+", "", html)
    assert "<script src" not in text and "http" not in text and "@import" not in text
    assert html.count("<img ") == len(player.frames) == 11
    # The theme's "reads on both" class: no white card behind a frame in dark mode.
    assert html.count('<img class="dark-light" ') == 11
    assert html.count(" hidden ") == len(player.frames) - 1  # one frame shows, even without JS
    assert re.search(r'min="0" max="10" step="1" value="5"', html)


def test_a_heavy_player_lowers_its_quality_then_refuses_with_advice():
    explorer = _explorer()
    frames = explorer.frames("lr", [1e-3, 2e-3])
    best = widgets.Player(frames, [1e-3, 2e-3], "α", ["a", "b"])
    squeezed = widgets.Player(frames, [1e-3, 2e-3], "α", ["a", "b"], budget=best.nbytes - 1)
    assert squeezed.quality < best.quality and squeezed.nbytes < best.nbytes
    with pytest.raises(ValueError, match="fewer play_values"):
        widgets.Player(frames, [1e-3, 2e-3], "α", ["a", "b"], budget=1000)


@pytest.mark.parametrize("name, current", [("lr", 1e-3), ("lr", 3e-5), ("beta", 0.85),
                                           ("steps", 80), ("x0", -1.2), ("landscape", "Rosenbrock")])
def test_default_play_values_include_the_current_value_and_fit_the_slider(name, current):
    explorer = _explorer()
    control = explorer.controls[name]
    values = widgets.default_play_values(name, current, control)
    assert current in values and 5 <= len(values) <= 13
    if name == "lr":
        assert all(1e-5 <= v <= 10 for v in values) and values == sorted(values)
    elif name != "landscape":
        assert all(control.min <= v <= control.max for v in values)


def test_explore_plays_the_control_a_chapter_names():
    explorer = explore("Rosenbrock", ["Momentum"], lr=1e-3, beta=0.9, steps=60, play="beta")
    player = explorer.player()
    assert player.label.startswith("β") and player.labels[player.start] == "0.9"
    with pytest.raises(ValueError, match="play='beta2'"):
        explore("Rosenbrock", ["Momentum"], play="beta2")


# ------------------------------------------------- any hyperparameter as a slider

MATRIX_METHODS = {"Muon", "Shampoo", "SOAP"}
"""Methods that update whole matrices: the explorer may refuse them on a 2-D point."""

def _playable():
    """(class name, hyperparameter) for every optimizer of the book, at collection time."""
    pairs = []
    for name in widgets.book_names():
        for hyper in widgets.hyperparameters(widgets.book_optimizer(name)):
            pairs.append((name, hyper))
    return pairs


def _on_screen(run, landscape):
    """Positions as the map shows them: clipped to its window (NaN after a divergence)."""
    (x0, x1), (y0, y1) = landscape.bounds
    return np.clip(run.positions, [x0, y0], [x1, y1]) / [x1 - x0, y1 - y0]


@pytest.mark.parametrize("name, hyper", _playable())
def test_every_hyperparameter_of_every_optimizer_plays_on_the_explorer(name, hyper):
    opt = widgets.book_optimizer(name)
    own = widgets.hyperparameters(opt)
    lr = {} if hyper == "lr" else {"lr": float(np.clip(own["lr"], 1e-3, 1.0))}
    try:
        explorer = explore("Rosenbrock", {name: opt}, steps=40, play=hyper, **lr)
    except widgets.NotAPointOptimizer as error:
        assert name in MATRIX_METHODS, error
        assert "cannot run on a 2-D point" in str(error) and "sweep" in str(error)
        return
    assert explorer.play == hyper and hyper in explorer.controls
    control, kind = explorer.controls[hyper], explorer.kinds[hyper]
    value = own[hyper]
    if isinstance(value, int) and hyper not in widgets.BETA_LIKE:
        assert kind == "int" and isinstance(control, widgets.W.IntSlider)
    elif hyper in widgets.BETA_LIKE:
        assert kind == "beta" and 0 <= control.min and control.max < 1
    elif value > 0:
        assert kind == "log" and isinstance(control, widgets.W.FloatLogSlider)
    # The slider's two ends, which every optimizer with the hyperparameter accepts...
    ends = (10.0 ** control.min, 10.0 ** control.max) if kind == "log" \
        else (control.min, control.max)
    frames = explorer.frames(hyper, ends)
    # ... reach the optimizer the explorer runs,
    for end in ends:
        explorer.set(**{hyper: end})
        built = widgets.hyperparameters(explorer.optimizers()[name])
        key = hyper if hyper != "beta" else "beta1" if "beta1" in own else "momentum"
        assert np.isclose(built[key], end, rtol=1e-9), (built, end)  # β = 0: no "beta" left
    # ... and the figure shows what they change: a path that moves by more than a
    # hundredth of the window changes the frame; identical runs give identical frames.
    runs = [trajectory.run(widgets.with_values(opt, {**lr, hyper: v}), landscapes.rosenbrock,
                           steps=40) for v in ends]
    shown = [_on_screen(run, landscapes.rosenbrock) for run in runs]
    if np.nanmax(np.abs(shown[0] - shown[1]), initial=0) > 0.01 \
            or (np.isnan(shown[0]) != np.isnan(shown[1])).any():
        assert frames[0] != frames[1], ends
    if np.array_equal(runs[0].positions, runs[1].positions, equal_nan=True) and \
            np.array_equal(runs[0].losses, runs[1].losses, equal_nan=True):
        assert frames[0] == frames[1], ends
    # The default play values fit the slider and hold its value.
    values = widgets.default_play_values(hyper, control.value, control, kind)
    assert 1 <= len(values) <= 13 and any(np.isclose(v, control.value) for v in values)
    assert all(control.min <= (np.log10(v) if kind == "log" else v) <= control.max
               for v in values if v > 0 or kind != "log")


def test_a_slider_reaches_exactly_the_optimizers_that_have_its_hyperparameter():
    opts = {"SGD": optim.SGD(lr=0.02), "Adam": optim.Adam(lr=0.05, betas=(0.8, 0.99)),
            "Lookahead": optim.Lookahead(optim.SGD(lr=0.02), k=3)}
    explorer = explore("Rosenbrock", opts, beta2=0.9, k=4, steps=30)
    assert explorer.play == "beta2" and "lr" not in explorer.controls  # no lr named: none
    built = explorer.optimizers()
    assert built["SGD"].hyper["lr"] == 0.02  # untouched: it has no β₂, no k
    assert built["Adam"].hyper["betas"] == (0.8, 0.9) and built["Adam"].hyper["lr"] == 0.05
    assert built["Lookahead"].k == 4 and built["Lookahead"].base.hyper["lr"] == 0.02
    assert isinstance(explorer.controls["k"], widgets.W.IntSlider)
    explorer.set(k=2, beta2=0.99)
    assert explorer.optimizers()["Lookahead"].k == 2
    # Runs are remembered by the slider values they see: SGD's run survives a β₂ move.
    sgd = explorer.trajectories()["SGD"]
    explorer.set(beta2=0.95)
    assert explorer.trajectories()["SGD"] is sgd


def test_beta_keeps_meaning_momentum_or_beta1_and_book_names_keep_their_sliders():
    explorer = explore("Quadratic", ["SGD", "Momentum", "Adam", "RMSprop"], beta=0.5, steps=20)
    assert {"lr", "beta"} <= set(explorer.controls) and explorer.values["lr"] == 1e-2
    built = explorer.optimizers()
    assert built["Momentum"].hyper["momentum"] == 0.5 and built["Adam"].hyper["betas"][0] == 0.5
    assert built["SGD"].hyper["momentum"] == 0 and built["RMSprop"].hyper["momentum"] == 0
    with pytest.raises(ValueError, match="not both"):
        explore("Quadratic", ["Adam"], beta=0.5, beta1=0.8)


def test_log_and_linear_sliders_and_their_default_play_values():
    explorer = explore("Quadratic", {"AdamW": optim.AdamW(lr=0.01)}, weight_decay=0.1, eps=1e-3,
                       play="weight_decay", steps=20)
    for name in ("weight_decay", "eps"):
        assert isinstance(explorer.controls[name], widgets.W.FloatLogSlider)
    values = explorer.player().values
    assert 0.1 in values and values == sorted(values) and values[-1] / values[0] > 100
    beta = explore("Quadratic", {"Adam": optim.Adam(lr=0.05)}, play="beta2", steps=20)
    assert beta.player().values[0] == 0.0 and 0.999 in beta.player().values
    k = explore("Quadratic", {"LA": optim.Lookahead(optim.SGD(lr=0.1))}, play="k", steps=20)
    assert all(isinstance(v, int) for v in k.player().values) and 5 in k.player().values
    alpha = explore("Quadratic", {"LA": optim.Lookahead(optim.SGD(lr=0.1))}, play="alpha")
    assert alpha.controls["alpha"].min > 0  # Lookahead refuses α = 0: the slider starts above


def test_a_play_or_slider_name_that_no_optimizer_has_is_refused_with_the_names_that_exist():
    with pytest.raises(ValueError) as error:
        explore("Rosenbrock", ["SGD", "Adagrad"], play="beta2")
    message = str(error.value)
    assert "play='beta2'" in message
    for name in ("lr", "momentum", "weight_decay", "lr_decay", "eps"):
        assert name in message
    with pytest.raises(ValueError, match="'rhoo' is not a hyperparameter.*rho"):
        explore("Rosenbrock", {"Adadelta": optim.Adadelta()}, rhoo=0.9)
    # A hyperparameter of an unticked optimizer is a slider, but not the page's player.
    with pytest.raises(ValueError, match="ticked"):
        explore("Rosenbrock", ["SGD"], available=["Adam"], play="beta2")


def test_an_optimizer_that_cannot_run_on_a_point_is_refused_with_a_reason():
    class MatrixOnly(optim.SGD):
        name = "MatrixOnly"

        def step(self, params, grads, state):
            if np.ndim(params) < 2:
                raise ValueError("needs a matrix")
            return super().step(params, grads, state)

    with pytest.raises(widgets.NotAPointOptimizer, match="cannot run on a 2-D point.*sweep"):
        explore("Rosenbrock", {"M": MatrixOnly()})
    with pytest.raises(TypeError, match="optimizer of the NumPy face"):
        explore("Rosenbrock", {"Adam": lambda lr, beta: optim.Adam(lr=lr)})


def test_a_refused_value_leaves_that_run_out_and_says_why():
    explorer = explore("Quadratic", {"Nesterov": optim.Nesterov(lr=0.05)}, dampening=0.0,
                       steps=20)
    explorer.controls["dampening"].max = 0.5  # as if a reader could reach it
    explorer.controls["dampening"].value = 0.5
    assert "Nesterov" in explorer.note.value and not explorer.figure.map._visible()


def test_below_adds_an_image_under_the_figure_in_the_widget_png_and_player():
    drawn = []

    def below(explorer):
        drawn.append(explorer.values["lr"])
        fig, (ax,) = plots.new_figure(figsize=(7, 1))
        ax.set_title(f"lr {explorer.values['lr']:.2g}")
        return plots.png(fig)

    explorer = explore("Quadratic", ["SGD"], lr=0.05, steps=20, below=below)
    assert explorer.below_image in explorer.ui.children and drawn == [0.05]
    assert _decode(explorer.png()).shape == (320 + 100, 700, 3)
    player = explorer.player("lr", [0.01, 0.05])
    assert Image.open(io.BytesIO(player.frames[0])).size == (700, 420)


# ------------------------------------------------------------------ sweep

def _draw(kappa=1.0, steps=10):
    fig, (ax,) = plots.new_figure()
    ax.semilogy(np.arange(steps), (1 - 1 / kappa) ** np.arange(steps) + 1e-3,
                color=plots.COLORS["SGD"])
    ax.set_title(f"κ = {kappa:g}")
    return fig


def test_sweep_makes_a_player_within_budget_and_its_live_slider_redraws():
    calls = []

    def draw(**kwargs):
        calls.append(kwargs)
        return _draw(**kwargs)

    values = [2.0, 5.0, 10.0, 100.0, 1e3, 1e4]
    shown = sweep(draw, play="kappa", values=values, steps=30)
    assert calls == [{"kappa": 100.0, "steps": 30}]  # the middle value, drawn once
    bundle = shown._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"].startswith('<div class="optim-player">')
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    player = shown.player()
    assert player.nbytes <= widgets.PLAYER_BUDGET_BYTES and len(player.frames) == 6
    assert player.labels == ["2", "5", "10", "100", "1000", "1e+04"] and player.start == 3
    assert len(set(player.frames)) == 6 and len(calls) == 6  # every value drawn exactly once
    before = shown.png()
    shown.slider.value = 0  # a reader moves the live slider
    assert shown.value == 2.0 and shown.png() != before and len(calls) == 6
    assert sweep(_draw, play="kappa", values=values, shown=1e3).player().start == 4


def test_sweep_refuses_a_draw_that_returns_no_figure_and_closes_pyplot_figures():
    import matplotlib.pyplot as plt

    with pytest.raises(TypeError, match="not a matplotlib Figure"):
        sweep(lambda kappa: None, play="kappa", values=[1.0])
    before = plt.get_fignums()

    def draw(kappa):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, kappa])
        return fig

    sweep(draw, play="kappa", values=[1.0, 2.0]).player()
    assert plt.get_fignums() == before
    with pytest.raises(ValueError, match="both swept and fixed"):
        sweep(_draw, play="kappa", values=[1.0], kappa=2.0)
