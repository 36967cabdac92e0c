"""Live plots, static plots and animations, in-process (no kernel): a fake display records
what would reach the notebook, and pixel tests check that paths are drawn where they belong.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from matplotlib.animation import writers
from matplotlib.colors import to_rgb
from PIL import Image

import optilab.live_plot as seed
from optilab import functions
from optilab.optim import race, run
from optilab.plot import LivePlot, animate, live, plot_trajectories, save_animation
from optilab.plot.static import (
    COLORS,
    Grid,
    as_paths,
    clip_to_frame,
    divergence_note,
    draw_function,
    draw_trajectories,
    evaluate,
    evaluate_grid,
    to_array,
)

torch = pytest.importorskip("torch")
RED = np.array(to_rgb(COLORS[0])) * 255


class FakeHandle:
    def __init__(self, log, display_id):
        self.log, self.display_id = log, display_id

    def update(self, bundle, **kwargs):
        self.log.append(("update", self.display_id, bundle, kwargs))


@pytest.fixture
def notebook(monkeypatch):
    """Pretend to be in a kernel; record display() and handle.update() calls."""
    log: list = []
    cell = {"count": 1}

    def fake_display(bundle, **kwargs):
        display_id = f"id{len([e for e in log if e[0] == 'display'])}"
        log.append(("display", display_id, bundle, kwargs))
        return FakeHandle(log, display_id)

    monkeypatch.setattr(live, "in_notebook", lambda: True)
    monkeypatch.setattr(live, "display", fake_display)
    monkeypatch.setattr(live, "_execution_count", lambda: cell["count"])
    log_cell = type("Notebook", (), {"log": log, "cell": cell})
    return log_cell


def png_of(entry) -> Image.Image:
    bundle = entry[2]
    return Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))).convert("RGB")


def pixel_near(image: Image.Image, xy, color, radius: int = 2, tol: float = 40) -> bool:
    """Some pixel within ``radius`` of display point ``xy`` (origin bottom left) has
    ``color``."""
    a = np.asarray(image).astype(float)
    col, row = int(round(xy[0])), int(round(image.height - xy[1]))
    patch = a[max(0, row - radius):row + radius + 1, max(0, col - radius):col + radius + 1]
    return bool((np.abs(patch - color).max(axis=-1) < tol).any())


# ------------------------------------------------------------------------------ numbers

def test_to_array_takes_torch_optilab_numpy_and_floats():
    import optilab.autograd as ag

    x = torch.tensor([1.5, -2.0], requires_grad=True)
    assert to_array(x * 2).tolist() == [3.0, -4.0]
    assert to_array(ag.Tensor(2.0)).tolist() == 2.0
    assert to_array(np.float32(0.5)).dtype == np.float64
    assert to_array([torch.tensor(1.0, requires_grad=True), 2]).tolist() == [1.0, 2.0]


def test_evaluate_works_for_numpy_tensor_method_and_torch_functions():
    xs = np.linspace(-1, 1, 5)
    assert np.allclose(evaluate(lambda x: x ** 2, xs), xs ** 2)
    assert np.allclose(evaluate(lambda x: x.sin(), xs), np.sin(xs))          # optilab
    assert np.allclose(evaluate(lambda x: torch.sin(x), xs), np.sin(xs))     # torch only
    assert evaluate(lambda x, y: x + y, 1.0, 2.0).item() == 3.0
    with pytest.raises(TypeError, match="could not evaluate f"):
        evaluate(lambda x: x.no_such_method(), xs)


def test_grids_from_sample_points_ranges_and_torch_linspace():
    g = evaluate_grid(lambda x: torch.tanh(x), "curve", torch.linspace(-2, 2, 7))
    assert g.x.shape == (7,) and np.allclose(g.z, np.tanh(g.x), atol=1e-6)
    g = evaluate_grid(lambda x, y: x - y, "surface", torch.linspace(0, 1, 3),
                      torch.linspace(0, 2, 4))
    assert g.z.shape == (4, 3) and g.z[3, 0] == -2.0
    g = evaluate_grid("rosenbrock", n=20)
    assert g.x.min() == -2 and g.y.max() == 3
    with pytest.raises(ValueError, match="low < high"):
        evaluate_grid("square", x_range=(1, 0))


def test_clipping_and_divergence_notes():
    clipped, outside = clip_to_frame(np.array([[0.0, 0.0], [7.0, 1.0], [np.nan, 0]]),
                                     [(-1, 1), (-1, 1)])
    assert clipped[1].tolist() == [1.0, 1.0] and outside.tolist() == [False, True, False]
    t = run(lambda x: x ** 2, 1.0, "sgd", lr=1.5, steps=100)
    assert t.diverged
    paths = as_paths({"gd": t})
    assert divergence_note(paths) == f"diverged at step {t.diverged_at}"
    assert divergence_note(paths, shown=[t.diverged_at]) == ""
    two = as_paths([t, np.zeros((3, 1))])
    assert divergence_note(two) == f"sgd diverged at step {t.diverged_at}"


# ------------------------------------------------------------------------------ display

def test_every_point_updates_one_display_handle(notebook):
    plot = LivePlot("himmelblau")
    assert [e[0] for e in notebook.log] == ["display"]           # shown when created
    for k in range(5):
        plot.add_point(torch.tensor([0.5 * k, 0.2 * k], requires_grad=True))
    kinds = [e[0] for e in notebook.log]
    assert kinds == ["display"] + ["update"] * 5
    assert {e[1] for e in notebook.log} == {"id0"}
    for _, _, bundle, kwargs in notebook.log:
        assert kwargs.get("raw") is True
        assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert notebook.log[0][3]["display_id"] is True


def test_a_loop_in_a_new_cell_animates_under_that_cell(notebook):
    plot = LivePlot("booth")
    plot.add_point([0, 0])
    notebook.cell["count"] = 2                       # the next cell runs the loop
    for k in range(3):
        plot.add_point([k, k])
    assert [e[:2] for e in notebook.log] == [("display", "id0"), ("update", "id0"),
                                             ("display", "id1"), ("update", "id1"),
                                             ("update", "id1")]


def test_outside_a_notebook_nothing_is_displayed_or_rendered(monkeypatch):
    monkeypatch.setattr(live, "in_notebook", lambda: False)
    plot = LivePlot("square")
    for x in (4.0, 2.0, 1.0):
        plot.add_point(x)
    assert plot.output is None and plot.frames == 0 and plot.renderer.full_draws == 0
    assert plot.png()[:4] == b"\x89PNG"


def test_only_moving_artists_are_redrawn():
    frames = []
    plot = LivePlot("ripple", "surface", output=frames.append)
    surface = plot.ax.collections[0]
    calls = []
    original = type(surface).draw
    surface.draw = lambda renderer: (calls.append(1), original(surface, renderer))
    for k in range(20):
        plot.add_point([3.0 + 0.05 * k, 1.0], None)
    assert len(frames) == 21 and plot.renderer.full_draws == 1
    assert calls == [] and plot.ax.collections[0] is surface      # never drawn again
    contour = LivePlot("rosenbrock", output=frames.append)
    for k in range(20):
        contour.add_point([-1 + 0.05 * k, 1.0], label="sgd")
    assert contour.renderer.full_draws == 2          # the first frame, and the legend


def test_panels_follow_the_paths_and_seldom_redraw_the_background():
    frames = []
    plot = LivePlot("booth", panels=("loss", "lr"), max_steps=100, output=frames.append)
    t = run(functions.booth, [-8.0, -8.0], "sgd", lr=0.02, steps=60, scheduler="exponential")
    for point, value, lr in zip(t.points, t.values, t.lrs):
        plot.add_point(point, value, lr=lr)
    loss_ax, lr_ax = plot.scene.panel_axes["loss"], plot.scene.panel_axes["lr"]
    assert loss_ax.get_xlim() == (0.0, 100.0) and loss_ax.get_yscale() == "log"
    assert lr_ax.get_ylim()[0] <= t.lrs.min() and lr_ax.get_ylim()[1] >= t.lrs.max()
    loss_line = plot.scene.paths[0].panel_lines["loss"]
    assert np.allclose(loss_line.get_ydata(), t.values[:60])
    assert plot.renderer.full_draws <= 6 and len(frames) == 61


def test_blitted_frames_match_a_full_redraw():
    plot = LivePlot("himmelblau", output=None)
    for k in range(10):
        plot.add_point([0.3 * k, 0.2 * k])
    fast = plot.renderer.render().copy()
    plot.renderer.blit = False
    slow = plot.renderer.render().copy()
    differ = np.abs(fast.astype(int) - slow.astype(int)).max(axis=-1) > 8
    assert differ.mean() < 0.002


# ------------------------------------------------------------------------------ pixels

def test_contour_marker_is_drawn_at_the_points_pixel():
    frames = []
    plot = LivePlot("himmelblau", output=frames.append)
    for point in ([0.0, 0.0], [-2.0, 1.0], [3.0, 2.0]):
        plot.add_point(point)
    image = Image.open(io.BytesIO(frames[-1])).convert("RGB")
    assert image.size == (480, 360)
    end = plot.ax.transData.transform((3.0, 2.0))
    assert pixel_near(image, end, RED)                           # the end marker
    middle = plot.ax.transData.transform((-2.0, 1.0))
    assert pixel_near(image, middle, RED, radius=3)              # a point of the path
    empty = plot.ax.transData.transform((-3.0, -3.0))
    assert not pixel_near(image, empty, RED, radius=3)


def test_points_outside_the_frame_are_clipped_with_a_marker():
    frames = []
    plot = LivePlot("booth", output=frames.append)               # window (-10, 10)^2
    plot.add_point([0.0, 0.0])
    plot.add_point([40.0, 5.0])
    clipped = plot.scene.paths[0].clipped.get_xydata()
    assert clipped.tolist() == [[10.0, 5.0]]
    image = Image.open(io.BytesIO(frames[-1])).convert("RGB")
    assert pixel_near(image, plot.ax.transData.transform((10.0, 5.0)), RED)
    assert "diverged" not in plot.ax.get_title()


def test_divergence_is_drawn_not_crashed_on():
    frames = []
    plot = LivePlot("square", output=frames.append)
    for x in (1.0, -3.0, 9.0, float("inf"), float("nan")):
        plot.add_point(x, None if np.isfinite(x) else x)
    assert plot.ax.get_title().splitlines()[-1] == "diverged at step 3"
    assert len(frames) == 6
    assert plot.scene.paths[0].line.get_xdata().tolist() == [1.0, -3.0, 5.0, 5.0]


def test_curve_and_surface_markers_are_where_the_points_are():
    frames = []
    seed_plot = LivePlot(evaluate_grid(lambda x: x ** 2, "curve", (-5, 5)), output=frames.append)
    seed_plot.add_point(torch.tensor(2.0), torch.tensor(4.0))
    image = Image.open(io.BytesIO(frames[-1])).convert("RGB")
    assert pixel_near(image, seed_plot.ax.transData.transform((2.0, 4.0)), RED)

    from mpl_toolkits.mplot3d import proj3d

    surface = LivePlot("ripple", "surface", output=frames.append)
    point = (1.0, -2.0)
    value = float(functions.ripple(*point))
    surface.add_point(point)
    surface.add_point((2.0, 2.0))
    image = Image.open(io.BytesIO(frames[-1])).convert("RGB")
    x, y, _ = proj3d.proj_transform(*point, value, surface.ax.M)
    assert pixel_near(image, surface.ax.transData.transform((x, y)), RED, radius=3)


# ------------------------------------------------------------------------------ the seed API

def test_seed_functions_with_torch_tensors_that_require_grad():
    seed.init_2dplot(torch.linspace(-5, 5, 100), lambda x: x ** 2, 0)
    x = torch.tensor(3.0, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        f = x ** 2
        f.backward()
        seed.add_point_2d(x, f)
        opt.step()
    path = seed.current_plot().paths[0]
    assert path.points[:2, 0].tolist() == pytest.approx([3.0, 2.4])
    assert path.values[1] == pytest.approx(5.76)

    seed.init_3dplot(torch.linspace(-2, 2, 30), torch.linspace(-2, 2, 30),
                     lambda x, y: x ** 2 - y ** 2, 30, -60, 0)
    assert seed.current_plot().paths == []                      # a new plot
    xt, yt = torch.tensor(1.5, requires_grad=True), torch.tensor(0.1, requires_grad=True)
    seed.add_point_3d(xt, yt, xt ** 2 - yt ** 2)
    assert seed.current_plot().paths[0].values.tolist() == pytest.approx([2.24])
    with pytest.raises(RuntimeError, match="add_point_3d"):
        seed.add_point_2d(xt, xt)


def test_seed_functions_take_ranges_numpy_and_optilab_tensors():
    import optilab.autograd as ag

    seed.init_3dplot((-1, 1), np.linspace(-1, 1, 20), lambda x, y: (x * y).sin(), 10, 20, 0)
    plot = seed.current_plot()
    assert plot.ax.elev == 10 and plot.ax.azim == 20
    seed.add_point_3d(ag.Tensor(0.5), np.float64(0.5), ag.Tensor(0.25).sin())
    assert plot.paths[0].points.tolist() == [[0.5, 0.5]]


def test_seed_errors_say_what_to_do(monkeypatch):
    monkeypatch.setattr(seed, "_plot", None)
    with pytest.raises(RuntimeError, match=r"call init_2dplot\(x_range, func, delta_\) first"):
        seed.add_point_2d(1.0, 1.0)
    with pytest.raises(ValueError, match="delta_ must be >= 0"):
        seed.init_2dplot((-1, 1), lambda x: x, -1)


def test_a_vector_where_one_number_belongs_is_refused(monkeypatch):
    monkeypatch.setattr(seed, "_plot", None)
    seed.init_2dplot((-1, 1), lambda x: x ** 2, 0)
    with pytest.raises(ValueError, match=r"value \(f at x\) must be one number, got shape \(2,\)"):
        seed.add_point_2d(0.5, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"add_point_2d\(x, f\) got f=None.*func\(x\)"):
        seed.add_point_2d(0.5, None)
    with pytest.raises(ValueError, match="lr must be one number"):
        LivePlot("rosenbrock", "contour").add_point([0.0, 0.0], 1.0, lr=[0.1, 0.2])


def test_a_path_of_the_wrong_dimension_is_refused():
    two_d = run(functions.rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, steps=3, progress=False)
    with pytest.raises(ValueError, match=r"'sgd' has points with 2 coordinate.*1 variable"):
        plot_trajectories("square", two_d)
    with pytest.raises(ValueError, match=r"has points with 1 coordinate.*2 variable"):
        LivePlot("rosenbrock", "contour").add_trajectory(np.zeros((3, 1)))


@pytest.mark.parametrize("make, message", [
    (lambda: evaluate_grid("rosenbrock", n=20000), r"n=20,000 would take 400,000,000 samples"),
    (lambda: evaluate_grid("square", n=1), "n must be a whole number >= 2, got 1"),
    (lambda: plot_trajectories("rosenbrock", dpi=5000), "dpi must be a number between 10"),
    (lambda: plot_trajectories("rosenbrock", dpi=600, figsize=(20, 20)), "144 megapixels"),
])
def test_very_large_pictures_are_refused_with_their_cost(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_delta_paces_and_zero_never_sleeps(monkeypatch):
    slept = []
    monkeypatch.setattr(live.time, "sleep", slept.append)
    seed.init_2dplot((-1, 1), lambda x: x ** 2, 0)
    for x in (0.5, 0.2):
        seed.add_point_2d(x, x ** 2)
    assert slept == []
    seed.init_2dplot((-1, 1), lambda x: x ** 2, 0.25)
    for x in (0.5, 0.2):
        seed.add_point_2d(x, x ** 2)
    assert len(slept) == 2 and all(0 < s <= 0.25 for s in slept)


# ------------------------------------------------------------------------------ static

def test_plot_trajectories_draws_a_race_with_panels_and_divergence():
    runs = race(functions.rosenbrock, [-1.2, 1.0], {"sgd": dict(lr=1e-3),
                                                    "blowup": dict(optimizer="sgd", lr=0.01)},
                steps=50)
    assert runs["blowup"].diverged
    fig = plot_trajectories("rosenbrock", runs, panels=("loss", "lr"))
    main, loss, lr = fig.axes
    assert f"blowup diverged at step {runs['blowup'].diverged_at}" in main.get_title()
    assert [t.get_text() for t in main.get_legend().get_texts()] == ["sgd", "blowup"]
    assert loss.get_yscale() == "log" and lr.get_ylabel() == "learning rate"
    sgd_line = next(line for line in main.lines if line.get_label() == "sgd")
    assert np.allclose(sgd_line.get_xydata(), runs["sgd"].points)
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue()[:4] == b"\x89PNG"


def test_draw_function_and_draw_trajectories_return_artists_to_update():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot(projection="3d")
    drawn = draw_function(ax, "saddle", "surface")
    assert drawn.limits[0] == (-2.0, 2.0) and drawn.limits[2][0] <= -3.9
    (artists,) = draw_trajectories(ax, [[1.5, 0.1], [1.0, 0.2]], "surface", drawn.limits,
                                   f=functions.saddle)
    artists.set_data(np.array([[0.0, 0.0], [9.0, 0.0]]), np.array([0.0, 81.0]))
    xs, ys, zs = artists.end.get_data_3d()
    assert (xs[0], ys[0], zs[0]) == (2.0, 0.0, drawn.limits[2][1])   # clipped to the box
    with pytest.raises(ValueError, match="view must be one of"):
        draw_function(ax, "saddle", "heatmap")
    assert isinstance(drawn.grid, Grid)


# ------------------------------------------------------------------------------ animations

def test_animation_gif_html_and_formats(tmp_path):
    runs = {"a": np.column_stack([np.linspace(-4, 3, 60), np.linspace(-4, 2, 60)]),
            "b": np.column_stack([np.linspace(4, -2.8, 30), np.linspace(-4, 3.1, 30)])}
    anim = animate("himmelblau", runs, frames=40, panels=("loss",))
    assert len(anim) == 40 and anim.steps[0] == 0 and anim.steps[-1] == 59
    gif = anim.save(tmp_path / "race.gif")
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames > 20
        image.seek(image.n_frames - 1)
        last = np.asarray(image.convert("RGB")).astype(float)
    exact = anim.frame(len(anim) - 1)[..., :3].astype(float)
    assert np.abs(last - exact).max(axis=-1).mean() < 4        # transparency composites right
    html = anim.to_jshtml(embed_limit=0.4)
    assert len(html) < 0.4 * 1024 * 1024
    assert 2 <= html.count("data:image/png;base64") < 40       # sampled to fit
    assert "http://" not in html and "https://" not in html     # works offline: no CDN
    assert ".fa-play::before" in html                            # the buttons keep icons
    assert "<script" in anim._repr_html_()
    with pytest.raises(ValueError, match=".gif, .mp4 or .html"):
        save_animation(anim, tmp_path / "race.avi")
    if writers.is_available("ffmpeg"):
        assert anim.save(tmp_path / "race.mp4").stat().st_size > 0
    else:
        with pytest.raises(RuntimeError, match="needs ffmpeg"):
            anim.save(tmp_path / "race.mp4")


def test_the_lr_panel_of_a_constant_rate_starts_at_zero_without_an_offset():
    t = run(functions.rosenbrock, [-1.2, 1.0], "sgd", lr=1.778e-3, steps=20, progress=False)
    fig = plot_trajectories("rosenbrock", t, panels=("lr",))
    ax = fig.axes[-1]
    fig.canvas.draw()
    assert ax.get_ylim() == pytest.approx((0.0, 1.25 * 1.778e-3))
    assert ax.yaxis.get_major_formatter().get_offset() == ""
