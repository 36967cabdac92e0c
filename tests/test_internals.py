"""optilab.plot.internals: the optimizer's state drawn at a step, checked in data coordinates."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from optilab import functions
from optilab.optim import run
from optilab.plot.internals import Internals, hessian_at
from optilab.plot.static import draw_function

START = [-1.2, 1.0]


def drawn(optimizer, k=None, f=None, **kwargs):
    t = run(functions.rosenbrock, START, optimizer, steps=40, progress=False,
            record_state=True, **kwargs)
    ax = Figure().add_subplot()
    draw_function(ax, "rosenbrock")
    internals = Internals(ax, "C0", f=f)
    return t, internals, internals.set_step(t, k)


def arrow_vector(arrow):
    (x0, y0), (x1, y1) = arrow._posA_posB
    return np.array([x1 - x0, y1 - y0]), np.array([x0, y0])


def test_the_step_arrow_is_the_step_magnified_and_the_gradient_arrow_as_long():
    t, it, caption = drawn("sgd", k=25, lr=1e-3, momentum=0.9)
    step, start = arrow_vector(it.step)
    np.testing.assert_allclose(start, t.points[25])
    scale = float(caption.split("drawn x")[1].split(":")[0].replace(",", ""))
    np.testing.assert_allclose(step, scale * (t.points[26] - t.points[25]), rtol=1e-12)
    gradient, _ = arrow_vector(it.gradient)
    g = t.grads[25]
    np.testing.assert_allclose(np.linalg.norm(gradient), np.linalg.norm(step))
    np.testing.assert_allclose(gradient / np.linalg.norm(gradient), -g / np.linalg.norm(g))
    assert "momentum buffer" in caption and "degrees apart" in caption
    assert scale >= 1 and np.linalg.norm(step) <= 4.0       # longest about 1/6 of the frame


def test_adams_box_is_lr_wide_and_holds_its_step():
    t, it, caption = drawn("adam", k=10, lr=0.05)
    assert it.box.get_visible() and "|step_i| <= lr" in caption
    scale = float(caption.split("drawn x")[1].split(":")[0])
    assert it.box.get_width() == pytest.approx(2 * 0.05 * scale)
    step, start = arrow_vector(it.step)
    assert np.all(np.abs(step) <= 0.05 * scale * 1.01)        # inside the box
    np.testing.assert_allclose(start + [it.box.get_width() / 2] * 2,
                               [it.box.get_x() + it.box.get_width(),
                                it.box.get_y() + it.box.get_height()])


def test_lbfgs_trial_points_are_drawn_at_their_true_place():
    t, it, caption = drawn("lbfgs", k=5, lr=1, max_iter=1, max_eval=10,
                           line_search_fn="strong_wolfe")
    tried = t.trial_points[t.trial_steps == 5]
    np.testing.assert_allclose(np.column_stack(it.trials.get_data()), tried)
    assert f"{len(tried)} point" in caption and "true size" in caption


def test_newtons_model_ellipse_passes_through_x_k_and_centres_on_the_newton_target():
    t, it, caption = drawn("sgd", k=30, f=functions.rosenbrock, lr=1e-3)
    x, g = t.points[30], t.grads[30]
    H = hessian_at(functions.rosenbrock, x)
    if np.linalg.eigvalsh(H)[0] <= 0:
        assert "no minimum" in caption and not it.model.get_visible()
        return
    ellipse = np.column_stack(it.model.get_data())
    centre = x - np.linalg.solve(H, g)
    np.testing.assert_allclose(ellipse.mean(axis=0), centre, atol=1e-9)
    model = lambda p: g @ (p - x) + (p - x) @ H @ (p - x) / 2      # noqa: E731
    np.testing.assert_allclose([model(p) for p in ellipse], 0.0, atol=1e-9)


def test_hessian_at_matches_the_closed_form():
    x, y = 0.3, -0.4
    expected = [[1200 * x ** 2 - 400 * y + 2, -400 * x], [-400 * x, 200]]
    np.testing.assert_allclose(hessian_at(functions.rosenbrock, [x, y]), expected)


def test_plain_runs_and_bad_steps_are_answered_in_words():
    t, it, caption = drawn("sgd", lr=1e-3)
    assert caption.startswith("Step 39") and "buffer" not in caption
    one_d = run(lambda x: x ** 2, [1.0], "sgd", lr=0.1, steps=3, progress=False)
    with pytest.raises(ValueError, match="2D map"):
        it.set_step(one_d)
    blown = run(functions.rosenbrock, START, "sgd", lr=0.5, steps=10, progress=False,
                record_state=True)
    assert blown.diverged and "diverged at step 2" in it.set_step(blown)


# ------------------------------------------------------------------ wired into the renderers

def race_with_state(**common):
    from optilab.optim import race

    configs = {"momentum": dict(optimizer="sgd", lr=1e-3, momentum=0.9),
               "adam": dict(optimizer="adam", lr=0.05),
               "lbfgs": dict(optimizer="lbfgs", lr=1, max_iter=1, max_eval=10,
                             line_search_fn="strong_wolfe")}
    return race(functions.rosenbrock, START, configs, steps=40, progress=False,
                record_state=True, **common)


def patches_of(ax, kind):
    return [p for p in ax.patches if type(p).__name__ == kind and p.get_visible()]


def test_plot_trajectories_draws_each_runs_internals_at_step_k_with_a_caption_under_it():
    from test_pictures import collisions

    from optilab.plot import plot_trajectories

    runs = race_with_state()
    fig = plot_trajectories("rosenbrock", runs, internals=5)
    ax = fig.axes[0]
    starts = sorted(tuple(np.round(a._posA_posB[0], 12))
                    for a in patches_of(ax, "FancyArrowPatch"))
    expected = sorted(tuple(np.round(t.points[5], 12)) for t in runs.values() for _ in (0, 1))
    assert starts == expected                              # step and gradient arrows at x_5
    box = patches_of(ax, "Rectangle")
    box = [b for b in box if b.get_linestyle() == ":"]
    assert len(box) == 1 and box[0].get_x() + box[0].get_width() / 2 == pytest.approx(
        runs["adam"].points[5][0])
    trials = next(line for line in ax.lines if line.get_label() == "_trials"
                  and line.get_visible())
    np.testing.assert_allclose(np.column_stack(trials.get_data()),
                               runs["lbfgs"].trial_points[runs["lbfgs"].trial_steps == 5])
    caption = fig._supxlabel.get_text().replace("\n", " ")
    for label in runs:
        assert f"{label}: Step 5 from x_5" in caption
    assert "momentum buffer" in caption and "|step_i| <= lr" in caption
    assert collisions(fig) == []
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    under = fig._supxlabel.get_window_extent(renderer)
    assert under.y1 < ax.get_tightbbox(renderer).y0            # under the picture, clear of it
    assert under.x1 <= fig.bbox.x1 and under.y0 >= 0           # inside the figure
    # the figure grew by the caption's lines: the map keeps its height
    assert fig.get_figheight() > 4.5 and ax.bbox.height > 0.6 * 4.5 * fig.dpi


def test_internals_true_draws_the_last_step_and_runs_without_state_are_refused():
    from optilab.plot import plot_trajectories

    t = run(functions.rosenbrock, START, "adam", lr=0.05, steps=12, progress=False,
            record_state=True)
    fig = plot_trajectories("rosenbrock", t, internals=True)
    assert "Step 11 from x_11" in fig._supxlabel.get_text()
    plain = run(functions.rosenbrock, START, "adam", lr=0.05, steps=12, progress=False)
    with pytest.raises(ValueError, match=r"record_state=True"):
        plot_trajectories("rosenbrock", plain, internals=True)
    with pytest.raises(ValueError, match="contour map"):
        plot_trajectories("rosenbrock", t, "surface", internals=True)
    with pytest.raises(TypeError, match="internals must be True"):
        plot_trajectories("rosenbrock", t, internals="last")
    mixed = plot_trajectories("rosenbrock", {"with": t, "without": plain}, internals=True)
    assert "without: its state was not recorded" in mixed._supxlabel.get_text()


def test_the_explorers_inside_the_optimizer_box_records_state_and_draws_it():
    from optilab.widgets import explore

    ex = explore("rosenbrock", optimizer="adam", lr=0.05, steps=30, interactive=False)
    box = ex.controls["internals"]
    assert box.description == "inside the optimizer" and box.value is False
    assert ex.trajectories[0].state == {} and "optilab-internals" not in ex.message.value
    plain = bytes(ex.image.value)
    box.value = True
    t = ex.trajectories[0]
    assert set(t.state) >= {"exp_avg", "exp_avg_sq", "adam_step"}
    assert "Step 29 from x_29" in ex.message.value and "|step_i| &lt;= lr" in ex.message.value
    drawn = ex._picture.scene.internals[0]
    assert drawn.box.get_visible() and drawn.step.get_visible()
    np.testing.assert_allclose(drawn.step._posA_posB[0], t.points[29])
    assert bytes(ex.image.value) != plain
    ex.controls["lr"].value = 0.02                           # a slider move keeps them on
    assert "lr = 0.02" in ex.message.value and drawn.box.get_visible()
    box.value = False
    assert not any(a.get_visible() for a in drawn.artists)
    assert "optilab-internals" not in ex.message.value and ex.trajectories[0].state == {}
    box.value = True
    ex.controls["view"].value = "surface"
    assert "drawn on the contour map" in ex.message.value


def test_notebook_03s_sentences_about_the_insides_hold():
    """The numbers section 7 of notebooks/src/03_torch_optim.py states, recomputed."""
    from optilab.optim import race
    from optilab.plot.internals import _angle

    inside = race(functions.rosenbrock, START, {
        "momentum": dict(optimizer="sgd", lr=1e-3, momentum=0.9),
        "adam": dict(optimizer="adam", lr=0.1),
        "lbfgs": dict(optimizer="lbfgs", lr=1.0, max_iter=1, max_eval=10,
                      line_search_fn="strong_wolfe")}, steps=40, record_state=True,
        progress=False)
    m = inside["momentum"]
    assert round(_angle(m.points[2] - m.points[1], -m.grads[1])) == 171
    assert round(np.linalg.norm(0.9 * m.grads[0])) == 210 and round(
        np.linalg.norm(m.grads[1])) == 49
    assert np.round(m.values[1:3], 2).tolist() == [5.35, 23.53]
    a = inside["adam"]
    np.testing.assert_allclose(a.points[1] - a.points[0], [0.1, 0.1], rtol=1e-9)
    np.testing.assert_allclose(a.grads[0], [-215.6, -88.0])
    assert round(a.grads[0][0] / a.grads[0][1], 2) == 2.45
    assert round(_angle(a.points[1] - a.points[0], -a.grads[0])) == 23
    t = inside["lbfgs"]
    x, d = t.points[12], t.state["direction"][12]
    tried = t.trial_points[t.trial_steps == 12]
    steps = [(p - x) @ d / (d @ d) for p in tried]
    np.testing.assert_allclose(steps, [1.0, 0.26, 0.17], atol=0.005)
    assert np.round(t.trial_values[t.trial_steps == 12], 2).tolist() == [18.35, 1.72, 1.66]
    assert round(t.values[12], 2) == 1.82
    np.testing.assert_allclose(tried[-1], t.points[13])
    stuck = run(functions.rosenbrock, START, "lbfgs", lr=1.0, max_iter=1, steps=3,
                line_search_fn="strong_wolfe", progress=False)
    assert np.all(stuck.points == stuck.points[0])            # max_eval = 1: it does not move


def test_a_live_plot_draws_the_internals_of_a_students_own_torch_loop():
    import torch

    from optilab.plot import LivePlot

    frames = []
    x = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=0.05)
    plot = LivePlot("rosenbrock", internals=True, output=frames.append)
    plot.add_point(x)
    drawn = []
    for k in range(6):
        before = x.detach().numpy().copy()
        opt.zero_grad()
        functions.rosenbrock(*x).backward()
        opt.step()
        plot.add_point(x, optimizer=opt)
        inside = plot.scene.internals[0]
        step, start = arrow_vector(inside.step)
        np.testing.assert_allclose(start, before)                   # drawn from x_k
        scale = float(plot.internals_caption.split("drawn x")[1].split(":")[0])
        np.testing.assert_allclose(step, scale * (x.detach().numpy() - before), rtol=1e-9)
        assert inside.box.get_width() == pytest.approx(2 * 0.05 * scale)
        assert plot.internals_caption.startswith(f"path: Step {k} from x_{k}")
        drawn.append(step)
    assert all(a.get_animated() for a in inside.artists)              # blitted like paths
    assert set(inside.artists) <= set(plot.scene.animated_artists)
    assert len(frames) == 8 and frames[-1] != frames[-2]     # a first frame, then 7 points
    assert plot.renderer.full_draws == 1
    with pytest.raises(ValueError, match="x.grad"):
        plot.add_point(x.detach(), optimizer=opt)
    with pytest.raises(ValueError, match="internals=True"):
        LivePlot("rosenbrock", output=None).add_point(x, optimizer=opt)
    with pytest.raises(ValueError, match="contour map"):
        LivePlot("rosenbrock", "surface", internals=True, output=None)


def test_an_animation_draws_each_frames_step_inside_the_optimizers():
    from optilab.plot import animate

    runs = race_with_state()
    anim = animate("rosenbrock", runs, frames=5, internals=True)
    bare = animate("rosenbrock", runs, frames=5)
    pngs = []
    for i, step in enumerate(anim.steps):
        pngs.append(anim.frame_png(i))
        assert pngs[-1] != bare.frame_png(i)                   # the internals are drawn
        k = min(step, 39)
        assert anim.captions[1].startswith(f"adam: Step {k} from x_{k}")
        drawn = anim.scene.internals[1]
        np.testing.assert_allclose(arrow_vector(drawn.step)[1], runs["adam"].points[k])
    assert len(set(pngs)) == len(pngs)                         # every frame differs
    assert all(a in anim.scene.animated_artists for a in drawn.artists)
    plain = run(functions.rosenbrock, START, "adam", lr=0.05, steps=5, progress=False)
    with pytest.raises(ValueError, match="record_state=True"):
        animate("rosenbrock", plain, internals=True)
