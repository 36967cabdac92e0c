"""The city-map lab: solve() with every method and engine, alignment, plots, bad input.

Runs take a few hundred steps at most (the defaults' full runs are in
benchmarks/bench_cities.py), except L-BFGS and BFGS, which converge in well under a second.
"""

from __future__ import annotations

import numpy as np
import pytest

import optilab.autograd as ag
from optilab.cities import (
    DEFAULTS,
    METHODS,
    align,
    criterion,
    distance_errors_km,
    gradient,
    load_cities,
    map_errors_km,
    normalise,
    random_start,
    solve,
    stress,
)
from optilab.trajectory import Trajectory

torch = pytest.importorskip("torch")

CASES = [("gd", "torch", False), ("gd", "optilab", False), ("gd", "optilab", True),
         ("sgd", "torch", False), ("adam", "torch", False), ("adam", "optilab", True),
         ("lbfgs", "torch", False), ("bfgs", "optilab", False), ("bfgs", "optilab", True),
         ("bfgs", "torch", False)]


@pytest.fixture(scope="module")
def cities():
    return load_cities()


@pytest.fixture(scope="module")
def D(cities):
    return normalise(cities.distances)


@pytest.fixture(scope="module")
def lbfgs():
    return solve("lbfgs", seed=0, progress=False)


def _criterion_torch(points, D):
    X = torch.tensor(points.reshape(-1, 2), requires_grad=True)
    value = criterion(X, torch.tensor(D))
    value.backward()
    return value.item(), X.grad.numpy().ravel()


# ------------------------------------------------------------------------------ every method

@pytest.mark.parametrize("method, engine, fused", CASES)
def test_each_method_decreases_f_and_records_a_consistent_trajectory(method, engine, fused, D):
    steps = 300 if method in ("gd", "sgd", "adam") else None
    t = solve(method, engine, steps=steps, seed=1, fused=fused, progress=False)
    assert isinstance(t, Trajectory) and not t.diverged
    k = t.steps
    assert t.points.shape == (k + 1, 72) and t.grads.shape == (k + 1, 72)
    assert t.values.shape == (k + 1,) and t.lrs.shape == (k,) and t.times.shape == (k + 1,)
    assert np.all(np.diff(t.times) >= 0)
    assert t.value < 0.01 * t.values[0]
    assert t.settings["method"] == method and t.settings["engine"] == engine
    # values and gradients are the full criterion's at the recorded points
    for i in (0, k // 2, k):
        value, grad = _criterion_torch(t.points[i], D)
        assert t.values[i] == pytest.approx(value, rel=1e-9)
        np.testing.assert_allclose(t.grads[i], grad, rtol=1e-7, atol=1e-13)
    if steps is None:                             # these converge within their default steps
        assert t.status == "converged" and t.value <= 2e-8


def test_default_engines_and_labels():
    assert set(METHODS) == set(DEFAULTS) == {"gd", "sgd", "adam", "lbfgs", "bfgs"}
    t = solve("gd", steps=3, progress=False)
    assert t.settings["engine"] == "torch" and t.label == "gd (torch)"
    assert solve("bfgs", steps=2, progress=False).settings["engine"] == "optilab"


def test_a_converged_solve_reproduces_the_distances(lbfgs, cities):
    assert lbfgs.status == "converged" and lbfgs.value <= 2e-8
    errors = distance_errors_km(lbfgs)                 # |reconstructed - data| per pair, km
    assert errors.shape == (36 * 35 // 2,)
    assert np.median(errors) < 5 and errors.max() < 50
    # by hand: scale the normalised map back to km with ||D||_F
    X = lbfgs.x.reshape(-1, 2) * np.linalg.norm(cities.distances)
    km = np.linalg.norm(X[:, None] - X[None], axis=-1)
    assert km[cities.index("Paris"), cities.index("London")] == pytest.approx(
        cities.distance("Paris", "London"), abs=10)


def test_lbfgs_counts_one_iteration_per_step_and_only_real_evaluations(lbfgs):
    # each step is one L-BFGS iteration with its line search; the start of the next step
    # re-uses the line search's last evaluation instead of computing it again
    assert lbfgs.steps < 100
    assert lbfgs.steps + 1 <= lbfgs.evaluations < 1.5 * (lbfgs.steps + 1)
    reached = int(np.argmax(lbfgs.values <= 2e-8))
    assert 15 < reached < 45
    assert np.all(np.diff(lbfgs.values) <= 1e-15)     # a line search never goes up


def test_optilab_gd_matches_torch_gd(D):
    steps = 200
    reference = solve("gd", "torch", steps=steps, seed=2, progress=False)
    for fused in (False, True):
        ours = solve("gd", "optilab", steps=steps, seed=2, fused=fused, progress=False)
        np.testing.assert_allclose(ours.points, reference.points, rtol=0, atol=1e-10)
        np.testing.assert_allclose(ours.values, reference.values, rtol=1e-10, atol=0)


def test_sgd_with_every_pair_in_the_batch_is_gd():
    gd = solve("gd", steps=100, seed=4, lr=0.03, progress=False)
    sgd = solve("sgd", steps=100, seed=4, lr=0.03, batch=630, progress=False)
    np.testing.assert_allclose(sgd.points, gd.points, rtol=0, atol=1e-10)


def test_sgd_is_stochastic_and_reproducible():
    a, b = (solve("sgd", steps=50, seed=5, progress=False) for _ in range(2))
    c = solve("sgd", steps=50, seed=6, progress=False)
    np.testing.assert_array_equal(a.points, b.points)
    assert a.evaluations == 50
    gd = solve("gd", steps=50, seed=5, lr=DEFAULTS["sgd"].lr, progress=False)
    assert not np.allclose(a.points[1:], gd.points[1:]) and not np.allclose(a.x, c.x)


def test_bfgs_uses_our_engines_gradient_and_records_every_iterate(monkeypatch, D):
    calls = []
    original = ag.value_and_grad

    def spy(f, *args, **kwargs):
        vg = original(f, *args, **kwargs)

        def counted(p):
            calls.append(p.copy())
            return vg(p)
        return counted

    monkeypatch.setattr(ag, "value_and_grad", spy)
    t = solve("bfgs", seed=3, progress=False)
    assert t.settings["engine"] == "optilab"
    assert len(calls) == t.evaluations == t.settings["nfev"]     # no evaluation outside ours
    assert t.steps == t.settings["nit"]                         # one point per iteration
    for i in (0, t.steps // 3, t.steps):
        value, grad = _criterion_torch(t.points[i], D)          # torch as the oracle
        assert t.values[i] == pytest.approx(value, rel=1e-10)
        np.testing.assert_allclose(t.grads[i], grad, rtol=1e-9, atol=1e-14)
    assert np.isnan(t.lrs).all()                                # BFGS has no learning rate


def test_stress_is_criterion_as_one_primitive(D):
    X = random_start(36, seed=7)
    value, g = ag.value_and_grad(lambda p: stress(p, D))(X)
    assert float(value) == pytest.approx(float(criterion(X, D)), rel=1e-13)
    np.testing.assert_allclose(g, gradient(X, D), rtol=1e-12, atol=1e-15)
    Xt = torch.tensor(X.ravel())
    H_torch = torch.autograd.functional.hessian(
        lambda p: criterion(p.reshape(-1, 2), torch.tensor(D)), Xt).numpy()
    H_ours = ag.hessian(lambda p: stress(p, D))(X.ravel())
    np.testing.assert_allclose(np.asarray(H_ours), H_torch, rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError, match="criterion"):
        stress(Xt, D)


# ------------------------------------------------------------------------------ alignment

@pytest.mark.parametrize("reference", ["projection", "landmarks"])
def test_alignment_puts_north_up_and_west_left(lbfgs, cities, reference):
    X = lbfgs.x.reshape(-1, 2)
    turn = np.array([[np.cos(2.0), np.sin(2.0)], [-np.sin(2.0), np.cos(2.0)]])
    for Y in (X, X @ turn, X @ turn @ np.diag([-1.0, 1.0]) + 0.3):  # rotated, mirrored, moved
        M = align(Y, reference=reference)
        west = M[[cities.index("Reykjavik"), cities.index("Lisbon")], 0]
        assert np.all(west < M[cities.index("Moscow"), 0])
        assert M[cities.index("Kiruna"), 1] > M[cities.index("Athens"), 1]
        assert M[cities.index("Sofia"), 1] < M[cities.index("Oslo"), 1]


def test_map_errors_are_small_after_procrustes(lbfgs):
    errors = map_errors_km(lbfgs)
    assert errors.shape == (36,)
    assert np.median(errors) < 10 and errors.max() < 30
    np.testing.assert_allclose(map_errors_km(lbfgs.x.reshape(-1, 2)[:, ::-1]), errors, atol=1e-6)


# ------------------------------------------------------------------------------ plots

def test_plot_map_labels_every_city_and_shows_errors(lbfgs, cities):
    fig = __import__("optilab.cities", fromlist=["plot_map"]).plot_map(lbfgs)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(cities.names)
    assert "median" in ax.get_title() and "km" in ax.get_title()
    assert len([line for line in ax.lines if line.get_label().startswith("path of")]) == 3
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_plots_survive_a_diverged_run():
    from optilab.cities import compare, plot_map

    t = solve("gd", lr=5.0, steps=50, progress=False)
    assert t.diverged
    fig = plot_map(t)
    assert len(fig.axes[0].texts) == 36 and "diverged" in fig.axes[0].get_title()
    fig.savefig(__import__("io").BytesIO(), format="png")
    fig, table = compare({"huge lr": t, "lbfgs": solve("lbfgs", steps=5, progress=False)})
    assert [r.status for r in table.rows] == ["diverged", "max_steps"]
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_compare_plots_two_log_panels_and_a_table(lbfgs):
    from optilab.cities import compare

    runs = {"L-BFGS": lbfgs, "GD": solve("gd", steps=100, progress=False)}
    fig, table = compare(runs)
    by_step, by_time = fig.axes
    assert by_step.get_yscale() == "log" and by_time.get_xscale() == "log"
    assert len(by_step.lines) >= 2 and len(by_time.lines) >= 2
    row = table.rows[0]
    assert (row.label, row.iterations, row.evaluations) == ("L-BFGS", lbfgs.steps,
                                                            lbfgs.evaluations)
    assert row.median_km < 10 and row.f <= 2e-8
    text = str(table)
    assert text.startswith("| method") and "| GD |" in text


# ------------------------------------------------------------------------------ bad input

def test_an_unknown_method_lists_the_valid_ones_and_suggests_the_closest():
    with pytest.raises(ValueError) as err:
        solve("lbgfs")
    message = str(err.value)
    assert "'lbgfs'" in message and "Did you mean 'lbfgs'?" in message
    assert all(m in message for m in METHODS)
    with pytest.raises(ValueError, match="Did you mean 'adam'"):
        solve("Adma")
    with pytest.raises(ValueError, match="use one of gd, sgd, adam, lbfgs, bfgs.$"):
        solve("newton")


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="lbfgs", engine="optilab"), "engine='torch' only"),
    (dict(method="gd", engine="jax"), "'torch' or 'optilab'"),
    (dict(method="gd", fused=True), "engine='optilab'"),
    (dict(method="gd", engine="optilab", device="cuda"), "numpy, on the CPU"),
    (dict(method="sgd", batch=0), "batch must be"),
    (dict(method="lbfgs", momentum=0.9), "does not take momentum"),
    (dict(method="bfgs", lr=0.1), "no learning rate"),
    (dict(method="gd", x0=np.zeros(10)), "2n = 72"),
    (dict(method="lbfgs", steps=0), "steps must be an integer >= 1"),
    (dict(method="sgd", lr=-0.1), "lr must be a positive number"),
    (dict(method="lbfgs", history_size=0), "history_size must be an integer >= 1, got 0"),
    (dict(method="lbfgs", max_eval=0), "max_eval must be an integer >= 1"),
    (dict(method="gd", seed=-1), "seed must be a whole number >= 0"),
    (dict(method="gd", distances=np.zeros((3, 3))), "all the distances are 0"),
])
def test_bad_settings_say_what_to_do(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(progress=False, **kwargs)


def test_other_distances_work_without_a_map():
    rng = np.random.default_rng(0)
    P = rng.standard_normal((6, 2)) * 100
    d = np.linalg.norm(P[:, None] - P[None], axis=-1)
    t = solve("lbfgs", distances=d, progress=False)
    assert t.points.shape[1] == 12 and t.value < 1e-12
    assert distance_errors_km(t, distances=d).max() < 1e-3


def test_the_benchmark_runs_its_two_parts_on_tiny_settings():
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks import bench_cities

    rates = dict(bench_cities.gd_speed(steps=5, rounds=1))
    assert len(rates) == 6 and all(r[0] > 0 for r in rates.values())
    lbfgs = bench_cities.to_target("lbfgs", seed=0)
    assert 15 < lbfgs["iterations"] < 45 and lbfgs["evaluations"] >= lbfgs["iterations"]


def test_the_cities_fly_into_place_as_an_animation(tmp_path):
    from optilab.cities import animate_map, fit_alignment, solve

    t = solve("lbfgs", steps=40, progress=False)
    anim = animate_map(t, frames=12)
    assert anim.steps[0] == 0 and anim.steps[-1] == t.steps and len(anim) <= 12
    anim.draw(len(anim) - 1)                   # the last frame is the aligned final map
    final = fit_alignment(t.points[-1], scale=t.settings["scale_km"])(t.points[-1])
    np.testing.assert_allclose(anim.scene.dots.get_offsets(), final)
    assert anim.scene.title.get_text().startswith(f"step {t.steps}: f = ")
    gif = anim.save(tmp_path / "cities.gif").read_bytes()
    assert gif[:6] == b"GIF89a" and len(gif) < 1_000_000
