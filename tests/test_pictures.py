"""Pictures a student can read (issue 14, section 3): measured in pixels with matplotlib's
renderer, at the size a notebook shows them (a figure's PNG pixel for pixel).

Every picture is drawn, then each text's window extent (its box in pixels) is checked: big
enough to read, inside the figure, over no other axes and no other label; legends cover no
start of a path.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from optilab import functions
from optilab.functions import abs_kink
from optilab.optim import race, run
from optilab.plot import animate, plot_trajectories
from optilab.plot.static import MIN_TEXT_PX, text_size

pytest.importorskip("torch")
matplotlib.use("agg")

READABLE_PX = 8.0          # the floor; the house style (MIN_TEXT_PX) is 9


# ------------------------------------------------------------------------------ measuring

def px(text, fig) -> float:
    """A text's font size in pixels of the figure's image (a point is 1/72 inch)."""
    return text.get_fontsize() * fig.dpi / 72


def drawn_ticks(axis):
    """The ticks the axis draws: its tick locations inside the view interval."""
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
    ticks = []
    for locs, get in ((axis.get_majorticklocs(), axis.get_major_ticks),
                      (axis.get_minorticklocs(), axis.get_minor_ticks)):
        ticks += [t for loc, t in zip(locs, get(len(locs))) if lo - slack <= loc <= hi + slack]
    return ticks


def axes_texts(ax):
    """(what, Text) of every tick label, axis label and title an axes shows."""
    texts = []
    axes = [ax.xaxis, ax.yaxis] + ([ax.zaxis] if hasattr(ax, "zaxis") else [])
    for axis in axes:
        name = axis.axis_name
        texts += [(f"{name} tick {t.label1.get_text()}", t.label1) for t in drawn_ticks(axis)
                  if t.label1.get_visible() and t.label1.get_text()]
        if axis.label.get_visible() and axis.label.get_text():
            texts.append((f"{name} label {axis.label.get_text()}", axis.label))
    if ax.get_title():
        texts.append(("title", ax.title))
    return texts


def measured(fig):
    """Draw the figure; each axes' texts with their boxes in pixels."""
    if not hasattr(fig.canvas, "get_renderer"):           # a Figure not made by pyplot
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [[(what, text, text.get_window_extent(renderer)) for what, text in axes_texts(ax)]
            for ax in fig.axes]


def overlap(a, b, slack: float = 0.0) -> bool:
    return (a.x0 < b.x1 - slack and b.x0 < a.x1 - slack
            and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack)


def collisions(fig) -> list[str]:
    """Everything unreadable in ``fig``: text smaller than READABLE_PX, text outside the
    figure, a label over another axes (a 2D one's frame, or any axes' labels), and tick
    labels of one axes on top of each other."""
    texts = measured(fig)
    problems = []
    frame = fig.bbox
    for i, mine in enumerate(texts):
        for what, text, box in mine:
            if px(text, fig) < READABLE_PX:
                problems.append(f"axes {i} {what}: {px(text, fig):.1f} px")
            if (box.x0 < frame.x0 - 0.5 or box.y0 < frame.y0 - 0.5 or box.x1 > frame.x1 + 0.5
                    or box.y1 > frame.y1 + 0.5):
                problems.append(f"axes {i} {what}: outside the figure ({box.bounds})")
            for j, (other, theirs) in enumerate(zip(fig.axes, texts)):
                if j == i:
                    continue
                if not hasattr(other, "zaxis") and overlap(box, other.bbox):
                    problems.append(f"axes {i} {what}: over axes {j}")
                problems += [f"axes {i} {what}: on axes {j}'s {w}"
                             for w, _, b in theirs if overlap(box, b)]
        ticks = [(w, b) for w, _, b in mine if " tick " in w]
        problems += [f"axes {i}: {w1} on {w2}" for k, (w1, b1) in enumerate(ticks)
                     for w2, b2 in ticks[k + 1:] if overlap(b1, b2)]
        labels = [(w, b) for w, _, b in mine if " tick " not in w]
        problems += [f"axes {i}: {w1} on {w2}" for w1, b1 in labels
                     for w2, b2 in ticks + [x for x in labels if x[0] != w1] if overlap(b1, b2)]
    return problems


# ------------------------------------------------------------------------------ runs

@pytest.fixture(scope="module")
def zoo():
    """Notebook 03's race on Rosenbrock."""
    return race(functions.rosenbrock, [-1.2, 1.0], {
        "SGD": dict(optimizer="sgd", lr=2e-3),
        "SGD + momentum": dict(optimizer="sgd", lr=1e-3, momentum=0.9),
        "Adam": dict(optimizer="adam", lr=0.1),
        "Adadelta": dict(optimizer="adadelta", lr=3.0),
        "Adagrad": dict(optimizer="adagrad", lr=1.0),
        "RMSprop": dict(optimizer="rmsprop", lr=0.01),
        "LBFGS": dict(optimizer="lbfgs", lr=1.0, steps=20),
    }, steps=300)


def schedules():
    """Notebook 04's runs: SGD on 5|x| from 4 with lr 0.3, 40 steps, seven schedules."""
    def sgd(label, **kw):
        return run(abs_kink, 4.0, "sgd", lr=0.3, steps=40, label=label, **kw)

    return {"constant": sgd("constant"),
            "StepLR": sgd("StepLR", scheduler="step",
                          scheduler_kwargs=dict(step_size=10, gamma=0.5)),
            "MultiStepLR": sgd("MultiStepLR", scheduler="multistep",
                               scheduler_kwargs=dict(milestones=[10, 20, 30], gamma=0.5)),
            "ExponentialLR": sgd("ExponentialLR", scheduler="exponential",
                                 scheduler_kwargs=dict(gamma=0.8)),
            "cosine": sgd("cosine", scheduler="cosine", scheduler_kwargs=dict(T_max=40)),
            "one-cycle": sgd("one-cycle", scheduler="onecycle",
                             scheduler_kwargs=dict(max_lr=0.6, total_steps=40)),
            "plateau": sgd("plateau", scheduler="plateau",
                           scheduler_kwargs=dict(factor=0.5, patience=2))}


# ------------------------------------------------------------------------------ 2. low dpi

def test_text_size_keeps_text_readable_at_any_dpi():
    assert text_size(8, 80) * 80 / 72 == pytest.approx(MIN_TEXT_PX)    # raised from 8.9 px
    assert text_size(8, 60) * 60 / 72 == pytest.approx(MIN_TEXT_PX)    # from 6.7 px
    assert text_size(8, 192) == 8                                       # sharp pictures keep it


def test_a_small_low_dpi_player_has_a_legend_one_can_read(zoo):
    """Notebook 03 once asked animate(..., dpi=60): a 360 x 270 player whose 8 pt legend was
    6.7 px high."""
    runs = {k: zoo[k] for k in ("SGD + momentum", "Adam", "RMSprop", "LBFGS")}
    anim = animate(functions.rosenbrock, runs, frames=4, dpi=60)
    fig = anim.figure
    assert fig.canvas.get_width_height() == (360, 270)
    anim.frame(len(anim) - 1)
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(runs)
    assert min(px(t, fig) for t in legend.get_texts()) >= MIN_TEXT_PX - 1e-9
    assert collisions(fig) == []
    box = legend.get_window_extent()
    assert box.width < 0.5 * fig.axes[0].bbox.width      # it still leaves most of the map


# ------------------------------------------------------------------------------ 3. panels

def panel_cases():
    kink_slow = run(abs_kink, 4.0, "sgd", lr=0.01, steps=40)               # half a decade
    kink_flat = run(abs_kink, 4.0, "sgd", lr=0.004, steps=40)              # a fifth of one
    booth = run(functions.booth, [-8.0, -8.0], "sgd", lr=0.02, steps=60,
                scheduler="exponential")
    adam = run(functions.rosenbrock, [-1.2, 1.0], "adam", lr=0.05, steps=300)
    return {
        "curve, loss over half a decade": (abs_kink, kink_slow, {"panels": ("loss",)}),
        "curve, loss over a fifth of a decade": (abs_kink, kink_flat, {"panels": ("loss",)}),
        "map, loss and lr": ("booth", booth, {"panels": ("loss", "lr")}),
        "map, loss, dpi 60": ("rosenbrock", adam, {"panels": ("loss",), "dpi": 60}),
        "surface, loss and lr": ("booth", booth, {"panels": ("loss", "lr"),
                                                  "view": "surface"}),
        "wide curve, loss and lr": (abs_kink, schedules(), {"panels": ("loss", "lr"),
                                                            "figsize": (11, 4.5)}),
    }


@pytest.mark.parametrize("case", list(panel_cases()))
def test_panel_labels_cover_no_neighbour_and_stay_in_the_figure(case):
    """The loss panel's "f" once sat inside the map, pushed there by a minor tick label."""
    f, runs, kwargs = panel_cases()[case]
    fig = plot_trajectories(f, runs, **kwargs)
    assert collisions(fig) == []
    main, panels = fig.axes[0], fig.axes[1:]
    for ax in panels:                                    # and the panels are not squeezed
        assert ax.bbox.width > 0.2 * fig.bbox.width and ax.bbox.height > 60
    if not hasattr(main, "zaxis"):
        assert main.bbox.width > 0.45 * fig.bbox.width


def test_a_live_plot_keeps_its_panels_clear_while_it_grows():
    """Its panels' limits change as points arrive; the layout follows the tick labels."""
    from optilab.plot import LivePlot

    t = run(functions.booth, [-8.0, -8.0], "sgd", lr=0.02, steps=120, scheduler="exponential")
    frames = []
    plot = LivePlot("booth", panels=("loss", "lr"), output=frames.append)
    assert collisions(plot.figure) == []                       # empty panels
    for k, (point, value, lr) in enumerate(zip(t.points, t.values, t.lrs)):
        plot.add_point(point, value, lr=lr)
        if k in (3, 40, 119):
            assert collisions(plot.figure) == [], k
    assert len(frames) == 121


def test_minor_tick_labels_are_no_bigger_than_major_ones():
    t = run(abs_kink, 4.0, "sgd", lr=0.01, steps=40)                  # f from 20 to 10
    fig = plot_trajectories(abs_kink, t, panels=("loss",))
    loss = fig.axes[1]
    fig.canvas.draw()
    minor = [tk.label1 for tk in drawn_ticks(loss.yaxis)
             if tk in loss.yaxis.get_minor_ticks() and tk.label1.get_text()]
    major = [tk.label1 for tk in drawn_ticks(loss.yaxis)
             if tk in loss.yaxis.get_major_ticks() and tk.label1.get_text()]
    assert [m.get_text() for m in major] == ["$\\mathdefault{10^{1}}$"]
    assert "$\\mathdefault{2\\times10^{1}}$" in [m.get_text() for m in minor]
    assert max(m.get_fontsize() for m in minor) <= major[0].get_fontsize()
    renderer = fig.canvas.get_renderer()
    heights = [m.get_window_extent(renderer).height for m in minor]
    assert max(heights) <= major[0].get_window_extent(renderer).height + 1


# ------------------------------------------------------------------------------ 4. legends

def starts_under_legend(fig) -> list[str]:
    """The paths whose start marker (or its 4.5 px radius) the legend's box touches."""
    ax = fig.axes[0]
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    hidden = []
    for start in [a for a in ax.lines if a.get_label() == "_start"]:
        x, y = ax.transData.transform(start.get_xydata()[0])
        if box.x0 - 4.5 <= x <= box.x1 + 4.5 and box.y0 - 4.5 <= y <= box.y1 + 4.5:
            hidden.append(start.get_markeredgecolor())
    return hidden


def test_notebook_04s_legends_leave_every_start_visible():
    runs = schedules()
    decays = race(abs_kink, 4.0, {f"gamma = {g}": dict(scheduler="exponential",
                                                       scheduler_kwargs=dict(gamma=g))
                                  for g in (0.5, 0.8, 0.95)},
                  optimizer="sgd", lr=0.3, steps=40)
    for picture in (dict(trajectories=runs, figsize=(11, 4.5)),
                    dict(trajectories=decays),
                    dict(trajectories=[runs["constant"], runs["StepLR"]])):
        fig = plot_trajectories(abs_kink, panels=("loss", "lr"), **picture)
        assert starts_under_legend(fig) == []
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        curve = ax.transData.transform(np.column_stack([np.linspace(-5, 5, 201),
                                                        5 * np.abs(np.linspace(-5, 5, 201))]))
        inside = ((curve[:, 0] > legend.x0) & (curve[:, 0] < legend.x1)
                  & (curve[:, 1] > legend.y0) & (curve[:, 1] < legend.y1))
        assert not inside.any()                       # nor over the curve of 5|x|


def test_a_legend_moves_off_a_start_in_the_upper_right():
    paths = {"from the corner": [[1.8, 2.8], [1.0, 1.0]], "below": [[0.0, -0.5], [1.0, 1.0]]}
    fig = plot_trajectories("rosenbrock", paths)
    assert starts_under_legend(fig) == []
    box, frame = fig.axes[0].get_legend().get_window_extent(), fig.axes[0].bbox
    assert box.x1 < frame.x1 - 0.3 * frame.width or box.y1 < frame.y1 - 0.3 * frame.height


def test_an_animation_places_its_legend_for_every_frame(zoo):
    """The legend is drawn once (background) while the paths grow: it must avoid all of
    each path, not only what the first frame shows."""
    runs = {"corner": [[1.9, 2.9], [1.5, 2.0], [1.0, 1.0]], "SGD": zoo["SGD"]}
    anim = animate(functions.rosenbrock, runs, frames=3)
    anim.frame(len(anim) - 1)
    assert starts_under_legend(anim.figure) == []


# ------------------------------------------------------------------------------ 5. 3D

SURFACES = [("rosenbrock", {}), ("himmelblau", {}), ("booth", {"panels": ("loss", "lr")}),
            ("ripple", {"elev": 40}), ("beale", {"azim": -30}), ("saddle", {"dpi": 60}),
            ("six_hump_camel", {"panels": ("loss",)})]


@pytest.mark.parametrize("name, kwargs", SURFACES, ids=[s[0] for s in SURFACES])
def test_surface_tick_labels_neither_overlap_nor_leave_the_figure(name, kwargs):
    f = functions.get(name)
    t = run(f, f.starts[0] if getattr(f, "starts", None) else [0.5, 0.5], "adam", lr=0.05,
            steps=30)
    fig = plot_trajectories(f, t, view="surface", **kwargs)
    problems = collisions(fig)
    assert problems == []
    ticks = [w for w, _, _ in measured(fig)[0] if " tick " in w]
    for axis in "xyz":                                     # and every axis keeps its ticks
        assert sum(w.startswith(f"{axis} tick") for w in ticks) >= 2, ticks


# ------------------------------------------------------------------------------ 1. cities

NOTEBOOK_PX = 900        # the width a notebook shows (JupyterLab measured 966 CSS px)


def shown_px(text, fig) -> float:
    """A text's height in pixels on screen: a notebook shrinks a wider image to fit."""
    return px(text, fig) * min(1.0, NOTEBOOK_PX / fig.canvas.get_width_height()[0])


@pytest.fixture(scope="module")
def gd_run():
    from optilab.cities import solve

    return solve("gd", engine="optilab", fused=True, steps=3000, progress=False)


def test_the_snapshots_of_notebook_06_show_city_names_one_can_read(gd_run):
    """The 3 x 2 grid of notebook 06 was 1500 px wide with 6 pt names: 5 px on screen."""
    from optilab.cities import load_cities, plot_snapshots

    names = set(load_cities().names)
    fig = plot_snapshots(gd_run, (0, 30, 300, 3000))
    assert fig.canvas.get_width_height()[0] <= NOTEBOOK_PX
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == [
        "step 0", "step 30", "step 300", "step 3000"]
    assert collisions(fig) == []                       # (draws it on an Agg canvas)
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        labels = [t for t in ax.texts if t.get_text() in names]
        assert len(labels) == 36
        assert min(shown_px(t, fig) for t in labels) >= MIN_TEXT_PX - 1e-9
        inside = [fig.bbox.x0 <= b.x0 and b.x1 <= fig.bbox.x1 and fig.bbox.y0 <= b.y0
                  and b.y1 <= fig.bbox.y1
                  for b in (t.get_window_extent(renderer) for t in labels)]
        assert all(inside)
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["error", "true position",
                                                          "reconstruction"]
    box = legend.get_window_extent(renderer)
    assert not any(overlap(box, ax.title.get_window_extent(renderer)) for ax in fig.axes)
    with pytest.raises(ValueError, match="between 0 and 3000"):
        plot_snapshots(gd_run, (0, 5000))


def test_the_city_animation_keeps_every_city_of_every_frame_in_view(gd_run):
    """animate_map's first frame once showed Europe's size only: most of the random start
    (a cloud ten times as wide) was outside."""
    from optilab.cities import animate_map, load_cities, project

    anim = animate_map(gd_run, frames=10)
    truth = project(load_cities())
    widths = []
    for i in range(len(anim)):
        anim.frame(i)
        scene = anim.scene
        frame = scene.ax.bbox
        for where in (scene.dots.get_offsets(), truth):
            x, y = scene.ax.transData.transform(where).T
            out = ~((x >= frame.x0) & (x <= frame.x1) & (y >= frame.y0) & (y <= frame.y1))
            assert not out.any(), f"frame {i}: {out.sum()} cities out of view"
        assert min(px(t, anim.figure) for t in scene.labels) >= MIN_TEXT_PX - 1e-9
        widths.append(float(scene.title.get_text().split("view is ")[1].split(" km")[0]
                            .replace(",", "")))
    assert widths[0] > 5 * widths[-1]                  # it zooms in as the map shrinks
    assert 4000 < widths[-1] < 6000                    # and ends on Europe


def test_a_static_figure_shows_as_a_small_indexed_png():
    import io

    from PIL import Image

    from optilab import functions
    from optilab.optim import race
    from optilab.plot import plot_trajectories

    runs = race(functions.rosenbrock, [-1.2, 1.0],
                {"SGD": dict(lr=1e-3), "Adam": dict(lr=0.05)}, steps=200, progress=False)
    fig = plot_trajectories("rosenbrock", runs, panels=("loss",))
    png = fig._repr_png_()
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P" and image.size == fig.canvas.get_width_height()
    full = io.BytesIO()
    fig.savefig(full, format="png")
    assert len(png) < len(full.getvalue()) / 3, (len(png), len(full.getvalue()))
