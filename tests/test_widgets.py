"""The explorers in plain pytest: a slider is a traitlets object, setting .value runs it."""

import numpy as np
import pytest

from optilab.widgets import Explorer, Race, explore, race


@pytest.fixture(scope="module")
def ex():
    return explore("rosenbrock", optimizer="sgd", lr=1e-3, steps=40)


def moved(ex, name, value):
    """Set a control; return (new trajectory, whether the picture changed)."""
    before = ex.image.value
    ex.controls[name].value = value
    return ex.trajectories[0], ex.image.value != before


def test_the_explorer_runs_and_draws_at_once(ex):
    assert isinstance(ex, Explorer)
    (t,) = ex.trajectories
    assert t.settings["optimizer"] == "sgd" and t.settings["lr"] == 1e-3 and t.steps == 40
    assert bytes(ex.image.value).startswith(b"\x89PNG") and "ran all 40 steps" in ex.message.value


def test_the_learning_rate_slider_reruns_and_redraws(ex):
    t, changed = moved(ex, "lr", 5e-4)
    assert t.settings["lr"] == pytest.approx(5e-4) and changed
    assert ex.controls["lr"].min == -5 and ex.controls["lr"].base == 10   # a log scale


def test_too_large_a_learning_rate_shows_the_divergence_message(ex):
    t, _ = moved(ex, "lr", 0.01)
    assert t.diverged
    assert 'class="optilab-diverged"' in ex.message.value
    assert "diverged at step" in ex.message.value and "stable near the start" in ex.message.value
    moved(ex, "lr", 1e-3)
    assert "optilab-diverged" not in ex.message.value


def test_momentum_is_shown_for_sgd_and_betas_for_adam(ex):
    c = ex.controls
    assert c["momentum"].layout.display is None and c["beta1"].layout.display == "none"
    t, changed = moved(ex, "momentum", 0.9)
    assert t.settings["momentum"] == 0.9 and changed
    t, _ = moved(ex, "optimizer", "adam")
    assert t.settings["optimizer"] == "adam" and t.settings["betas"] == (0.9, 0.999)
    assert c["momentum"].layout.display == "none" and c["beta1"].layout.display is None
    t, _ = moved(ex, "beta1", 0.5)
    assert t.settings["betas"] == (0.5, 0.999)
    t, _ = moved(ex, "beta2", 0.99)
    assert t.settings["betas"] == (0.5, 0.99)
    moved(ex, "optimizer", "sgd")
    moved(ex, "momentum", 0.0)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adagrad", "adadelta", "adamw", "lbfgs"])
def test_every_optimizer_of_the_dropdown_runs(ex, optimizer):
    t, _ = moved(ex, "optimizer", optimizer)
    assert t.settings["optimizer"] == optimizer and t.status in ("max_steps", "diverged")
    moved(ex, "optimizer", "sgd")


def test_the_scheduler_and_its_parameter_shape_the_learning_rates(ex):
    c = ex.controls
    assert c["gamma"].layout.display == "none"
    t, _ = moved(ex, "scheduler", "step")
    assert c["gamma"].layout.display is None
    assert t.lrs[0] == 1e-3 and t.lrs[-1] == pytest.approx(1e-3 * 0.5 ** 3)  # 40 steps, every 10
    t, _ = moved(ex, "gamma", 0.25)
    assert t.lrs[-1] == pytest.approx(1e-3 * 0.25 ** 3)
    t, _ = moved(ex, "scheduler", "plateau")
    assert c["gamma"].description == "factor" and t.settings["scheduler"] == "plateau"
    t, _ = moved(ex, "scheduler", "cosine")
    assert c["gamma"].layout.display == "none" and t.lrs[-1] < t.lrs[0]
    moved(ex, "scheduler", "none")


def test_steps_and_start_sliders(ex):
    t, _ = moved(ex, "steps", 15)
    assert t.points.shape == (16, 2)
    t, changed = moved(ex, "x0_x", 0.5)
    assert t.points[0].tolist() == [0.5, 1.0] and changed
    t, _ = moved(ex, "x0_y", -0.5)
    assert t.points[0].tolist() == [0.5, -0.5]
    assert ex.controls["x0"].children == (ex.controls["x0_x"], ex.controls["x0_y"])


def test_views_and_panels_redraw(ex):
    _, changed = moved(ex, "view", "surface")
    assert changed and ex._picture.scene.view == "surface"
    _, changed = moved(ex, "view", "contour")
    _, changed = moved(ex, "lr_panel", True)
    assert changed and ex.panels == ("loss", "lr")
    _, changed = moved(ex, "loss_panel", False)
    assert changed and ex.panels == ("lr",)


def test_one_dimensional_functions_get_a_curve():
    ex = explore("bumpy_1d", lr=0.5, steps=30)
    assert ex.controls["view"].options == ("curve",)
    assert ex.trajectories[0].points.shape == (31, 1)


def test_a_failing_function_shows_its_error_not_a_traceback():
    def fragile(x, y):                         # plots on a numpy grid, fails in the run
        if not isinstance(x, np.ndarray) and float(x.detach()) > 1.0:
            raise ValueError("no values beyond x = 1 here")
        return x ** 2 + y ** 2

    ex = explore(fragile, [0.5, 0.5], lr=0.1, steps=5, x_range=(-2, 2), y_range=(-2, 2))
    ex.controls["x0_x"].value = 1.5
    assert 'class="optilab-error"' in ex.message.value and "beyond x = 1" in ex.message.value
    assert ex.trajectories == []


@pytest.mark.parametrize("args, kwargs, message", [
    (("rosenbrok",), {}, "Did you mean 'rosenbrock'"),
    (("rosenbrock", [1.0]), {}, "takes 2 coordinate"),
    ((lambda x: x ** 2, 1.0), {}, "needs its plot window"),
    (("rosenbrock",), {"optimizer": "adamm"}, "optimizer must be one of"),
    (("rosenbrock",), {"view": "curve"}, "view must be one of"),
    (("rosenbrock",), {"panels": ("loss", "grad")}, "panels can be"),
    (("rosenbrock",), {"optimizer": "adamm"}, "Did you mean 'adam'"),
    (("rosenbrock",), {"scheduler": "cosin"}, r"scheduler must be one of.*Did you mean 'cosine'"),
    (("rosenbrock",), {"view": "countour"}, "Did you mean 'contour'"),
    (("rosenbrock",), {"lr": -1}, "lr must be a positive number, got -1"),
    (("rosenbrock",), {"steps": -5}, "steps must be an integer >= 1, got -5"),
    (("rosenbrock",), {"momentum": 1.5}, r"momentum must be a number in \[0, 1\), got 1.5"),
    (("rosenbrock", [10, -10]), {}, r"start must be inside the picture: x = 10 is not in"),
    (("rosenbrock", None), {"x_range": None}, None),
])
def test_bad_arguments_are_explained(args, kwargs, message):
    if message is None:                        # x0=None means the function's own start
        assert explore(*args, **kwargs).x0 == [-1.2, 1.0]
        return
    with pytest.raises((ValueError, TypeError), match=message):
        explore(*args, **kwargs)


def test_values_outside_the_sliders_are_kept_not_clamped():
    ex = explore("rosenbrock", lr=1e-7, steps=5000, momentum=0.995, optimizer="sgd")
    assert ex.settings()["lr"] == pytest.approx(1e-7)
    assert ex.settings()["steps"] == 5000 and ex.settings()["momentum"] == 0.995
    assert ex.trajectories[0].settings["lr"] == pytest.approx(1e-7)


@pytest.mark.parametrize("configs, kwargs, message", [
    (None, {}, "configs must be a non-empty dict"),
    ({1: dict(lr=0.01), "1": dict(lr=0.02)}, {}, r"each run needs its own label.*'1'"),
    ({"sgd": None}, {}, r"settings of 'sgd' must be a dict"),
    ({"sgd": dict(lr=-1)}, {}, r"lr of 'sgd' must be a positive number"),
    ({"sgd": dict(lr=0.01)}, {"steps": -5}, "steps must be an integer >= 1"),
    ({"sgd": dict(lr=0.01)}, {"view": "curve"}, "view must be one of contour, surface"),
])
def test_bad_race_arguments_are_explained(configs, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        race("rosenbrock", None, configs, **kwargs)


def test_switching_the_optimizer_draws_only_the_current_run():
    ex = explore("rosenbrock", optimizer="sgd", lr=1e-3, steps=20)
    for name in ("adam", "rmsprop"):
        ex.controls["optimizer"].value = name
    labels = [p.label for p in ex._picture.scene.paths]
    assert labels == ["rmsprop"]
    lines = [line for line in ex._picture.scene.ax.lines if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == ["rmsprop"]


def test_a_race_has_one_lr_slider_per_run_and_a_shared_scrubber():
    r = race("rosenbrock", [-1.2, 1.0], {"SGD": dict(lr=1e-3, momentum=0.9),
                                          "Adam": dict(lr=0.05)}, steps=60)
    assert isinstance(r, Race) and [t.label for t in r.trajectories] == ["SGD", "Adam"]
    adam = r.runs["Adam"]
    before = r.image.value
    r.controls["lr:SGD"].value = 2e-3
    assert r.runs["SGD"].settings["lr"] == pytest.approx(2e-3)
    assert r.runs["Adam"] is adam                       # only the moved run re-runs
    assert r.image.value != before
    before = r.image.value
    r.controls["step"].value = 10
    assert r.image.value != before and r.runs["Adam"] is adam
    r.controls["lr:SGD"].value = 0.05
    assert r.runs["SGD"].diverged and "optilab-diverged" in r.message.value
    r.controls["view"].value = "surface"
    assert r._picture.scene.view == "surface"
    np.testing.assert_array_equal(r.runs["Adam"].points[0], [-1.2, 1.0])


def test_set_start_moves_the_sliders_and_runs_once():
    ex = explore("rosenbrock", lr=1e-3, steps=10)
    runs = []
    original = ex.update
    ex.update = lambda: (runs.append(1), original())[1]
    ex.set_start((0.5, 99.0))                      # y beyond the slider: clipped to its top
    assert len(runs) == 1
    assert ex.trajectories[0].points[0].tolist() == [0.5, ex.controls["x0_y"].max]


def test_the_picture_is_a_plain_image_unless_the_interactive_backend_is_chosen():
    ex = explore("rosenbrock", lr=1e-3, steps=10)
    assert ex.interactive is False and ex.children[1] is ex.image


def click(ex, x, y):
    from matplotlib.backend_bases import MouseEvent

    canvas = ex._picture.canvas
    px, py = ex._picture.scene.ax.transData.transform((x, y))
    canvas.callbacks.process("button_press_event",
                             MouseEvent("button_press_event", canvas, px, py, button=1))


def test_with_ipympl_a_click_on_the_map_sets_the_start_point():
    pytest.importorskip("ipympl")
    ex = explore("rosenbrock", lr=1e-3, steps=10, interactive=True)
    assert type(ex.children[1]).__name__ == "Canvas"        # ipympl's widget
    click(ex, 0.5, -0.5)                        # through pixels: equal to rounding
    assert ex.trajectories[0].points[0].tolist() == pytest.approx([0.5, -0.5], abs=1e-12)
    click(ex, 10.0, 10.0)                                     # outside the axes: ignored
    assert ex.x0 == pytest.approx([0.5, -0.5], abs=1e-12)
    ex.controls["view"].value = "surface"                     # 3D: clicks do not set starts
    assert type(ex.children[1]).__name__ == "Canvas"


def test_a_race_shows_why_a_run_failed_next_to_the_others():
    r = race("rosenbrock", None, {"SGD": dict(lr=1e-3), "GD": dict(lr=1e-3)}, steps=20)
    assert list(r.runs) == ["SGD"]
    assert "optilab-error" in r.message.value and "GD: ValueError" in r.message.value
    assert "optilab-ok" in r.message.value                    # the SGD run is still reported


def test_a_plain_function_needs_a_start():
    with pytest.raises(ValueError, match="give x0=..."):
        explore(lambda x: x ** 2, x_range=(-2, 2))


def test_scrubbing_back_describes_the_step_shown():
    r = race("rosenbrock", None, {"sgd": dict(lr=1e-3), "adam": dict(lr=0.05)}, steps=30)
    r.controls["step"].value = 5
    assert "sgd at step 5 of 30: x = (" in r.message.value
    assert "adam at step 5 of 30" in r.message.value
    r.controls["step"].value = 30
    assert "at step 5" not in r.message.value


def test_runs_differ_by_more_than_colour():
    r = race("rosenbrock", None, {"sgd": dict(lr=1e-3), "adam": dict(lr=0.05)}, steps=10)
    lines = [p.line for p in r._picture.scene.paths]
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    assert lines[0].get_marker() != lines[1].get_marker()
    assert lines[0].get_linewidth() > lines[1].get_linewidth()    # the one below shows around


def test_the_picture_is_drawn_at_twice_the_size_it_is_shown():
    import io

    from PIL import Image

    ex = explore("rosenbrock", lr=1e-3, steps=10, interactive=False)
    width, height = Image.open(io.BytesIO(ex.image.value)).size
    shown = float(ex.image.layout.width.removesuffix("px"))
    assert width == 2 * shown and ex.image.layout.max_width == "100%"
    assert shown >= 900                     # 96 px per inch: 7 pt labels are 9 px on screen
