"""optilab.sweep: every run equals optilab.optim.run bit for bit, the best rates by each
criterion, reproducibility, files without pickle, teaching errors, and the Dask run."""

import dataclasses
import math
import zipfile

import numpy as np
import pytest
import torch

from optilab.functions import rosenbrock
from optilab.optim import run
from optilab.sweep import Sweep, load, log_grid, sweep

X0 = [-1.2, 1.0]
GRID = [1e-4, 1e-3, 1e-2, 0.1, 1.0, 5.0]      # from too slow to diverging for most


def assert_same_run(t, r):
    """Every field of two Trajectories equal, bit for bit, but the clock."""
    for f in dataclasses.fields(t):
        a, b = getattr(t, f.name), getattr(r, f.name)
        if f.name == "times":
            assert len(a) == len(b)
        elif isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), f.name
        else:
            assert a == b or (a != a and b != b), (f.name, a, b)


CONFIGS = {
    "sgd": {}, "momentum": dict(optimizer="sgd", momentum=0.9),
    "nesterov": dict(optimizer="sgd", momentum=0.8, nesterov=True),
    "sgd-wd": dict(optimizer="sgd", momentum=0.5, dampening=0.3, weight_decay=0.01),
    "adam": {}, "amsgrad": dict(optimizer="adam", amsgrad=True, weight_decay=0.01),
    "adamw": {}, "rmsprop": {},
    "rmsprop-c": dict(optimizer="rmsprop", centered=True, momentum=0.5, weight_decay=0.01),
    "adagrad": {}, "adagrad-d": dict(optimizer="adagrad", lr_decay=0.01, eps=1e-8,
                                      initial_accumulator_value=0.1),
    "adadelta": {}, "adadelta-wd": dict(optimizer="adadelta", rho=0.8, weight_decay=0.1),
    "maximize": dict(optimizer="adam", maximize=True),
    "lbfgs": {},
}


@pytest.fixture(scope="module")
def rosen():
    return sweep(rosenbrock, X0, CONFIGS, lrs=GRID, steps=60)


def test_every_run_equals_run_bit_for_bit(rosen):
    assert {k: v for k, v in rosen.modes.items() if v != "batched"} == {
        "lbfgs": "one by one (L-BFGS: a line search over all coordinates at once)"}
    statuses = set()
    for label, (name, kwargs) in ((k, (v.get("optimizer", k), {a: b for a, b in v.items()
                                                               if a != "optimizer"}))
                                  for k, v in CONFIGS.items()):
        for i, lr in enumerate(GRID):
            r = run(rosenbrock, X0, name, lr=lr, steps=60, label=label, progress=False,
                    **kwargs)
            assert_same_run(rosen.runs[label][i][0], r)
            statuses.add(r.status)
    assert statuses == {"diverged", "max_steps"}       # both kinds of ending were compared


def test_a_diverging_run_stops_where_run_stops_it_and_the_others_go_on(rosen):
    t = rosen.runs["sgd"][5][0]                        # lr = 5 blows up at once
    assert t.diverged and t.steps < 5 and "bound" in t.reason or "became" in t.reason
    assert t.stability_limit is not None and t.stability_limit < 5    # run()'s explanation
    assert rosen.runs["sgd"][1][0].steps == 60 and not rosen.runs["sgd"][1][0].diverged
    assert "diverged at step" in t.summary() and "lr < 2 / lambda_max" in t.summary()


def bowl(x, y):
    return x ** 2 + 3 * y ** 2


@pytest.mark.parametrize("tols", [dict(gtol=1e-4), dict(ftol=1e-9)])
def test_tolerances_stop_rows_as_run_does(tols):
    lrs = [0.01, 0.1, 0.2, 0.4]                       # 0.4 > 2 / 6: diverges
    s = sweep(bowl, [1.0, 1.0], ["adam", "sgd"], lrs=lrs, steps=400, **tols)
    reasons = []
    for label in ("adam", "sgd"):
        for i, lr in enumerate(lrs):
            r = run(bowl, [1.0, 1.0], label, lr=lr, steps=400, progress=False, **tols)
            assert_same_run(s.runs[label][i][0], r)
            reasons.append(r.reason.split(" <=")[0])
    assert {"the point left the bound |x_i|",
            "|grad f|" if "gtol" in tols else "|f_k - f_(k-1)|"} <= set(reasons)


@pytest.mark.parametrize("f, x0", [
    (lambda x: x ** 4 / 4 - x, 2.0),                   # one number, elementwise
    (lambda p: (p ** 2 * torch.tensor([1.0, 30.0], dtype=torch.float64)).sum(), [1.0, 1.0]),
    (lambda x, y: (x - 1).exp() + y.sin() ** 2 + x * y / 10, [0.5, 1.0]),
])
def test_other_function_shapes_equal_run(f, x0):
    s = sweep(f, x0, ["sgd", "adam"], lrs=[1e-2, 0.3, 3.0], steps=30)
    for label in ("sgd", "adam"):
        for i, lr in enumerate([1e-2, 0.3, 3.0]):
            assert_same_run(s.runs[label][i][0], run(f, x0, label, lr=lr, steps=30,
                                                     progress=False))


def test_a_function_that_rounds_differently_on_a_batch_runs_one_by_one():
    f = lambda x, y: (x ** 2 + 1) ** 1.5 + (y ** 2 + 1) ** 1.5     # pow 1.5: other bits
    s = sweep(f, [0.7, -1.3], ["adam"], lrs=[0.01, 0.1], steps=20)
    assert s.modes["adam"].startswith("one by one (f gives other bits")
    assert_same_run(s.runs["adam"][1][0], run(f, [0.7, -1.3], "adam", lr=0.1, steps=20,
                                              progress=False))


def planted(x):
    return x ** 2                       # sgd: x <- (1 - 2 lr) x: lr = 0.5 lands on 0 at once


@pytest.mark.parametrize("criterion, best", [("final", 0.5), ("steps", 0.5), ("auc", 0.5)])
def test_best_lr_by_each_criterion_on_a_planted_case(criterion, best):
    s = sweep(planted, 1.0, ["sgd"], lrs=[0.1, 0.5, 0.8, 1.5], steps=40, criterion=criterion,
              target=1e-6)
    assert s.best["sgd"].lr == best
    scores = s.scores()["sgd"][:, 0]
    assert math.isinf(scores[3])                                  # 1.5 diverged
    if criterion == "steps":
        # |1 - 2 lr| = 0.8 for 0.1, 0.6 for 0.8: f = 0.64^k, 0.36^k <= 1e-6 at k = 31, 14
        assert scores.tolist()[:3] == [31.0, 1.0, 14.0]
    if criterion == "final":
        assert scores[1] == 0.0 and scores[0] == pytest.approx(0.64 ** 40)
    if criterion == "auc":
        assert scores[1] == pytest.approx(1 / 41)                 # f = 1, then 0 for 40 steps


def test_criteria_can_disagree():
    """Adam at a large rate drops fastest early (area) but a smaller rate ends lower."""
    s = sweep(rosenbrock, X0, ["adam"], lrs=log_grid(1e-3, 1, 13), steps=300)
    by = {c: s.scores(c)["adam"][:, 0] for c in ("final", "auc")}
    assert np.argmin(by["final"]) != np.argmin(by["auc"])


def test_the_same_call_gives_the_same_numbers_and_records_everything():
    a = sweep(rosenbrock, X0, ["sgd", "rmsprop"], lrs=[1e-3, 1e-2], steps=50)
    b = sweep(rosenbrock, X0, ["sgd", "rmsprop"], lrs=[1e-3, 1e-2], steps=50)
    for label in a.runs:
        for ra, rb in zip(a.runs[label], b.runs[label]):
            assert_same_run(ra[0], rb[0])
    assert a.versions["torch"] == torch.__version__ and a.versions["numpy"] == np.__version__
    assert a.versions["optilab"] == "0.1.0"
    assert a.settings["lrs"] == [1e-3, 1e-2] and a.settings["steps"] == 50
    assert a.settings["function"] == "rosenbrock" and a.settings["criterion"] == "final"


def noisy(x, y):
    """A stochastic problem: Rosenbrock plus noise in the gradient."""
    return rosenbrock(x, y) + 0.1 * (torch.randn(()) * x + torch.randn(()) * y)


def test_seeds_of_a_stochastic_function_are_reproducible_and_differ():
    s = sweep(noisy, X0, ["adam"], lrs=[0.01, 0.1], seeds=[0, 1, 2], steps=40)
    assert s.modes["adam"].startswith("one by one (f is stochastic")
    again = sweep(noisy, X0, ["adam"], lrs=[0.01, 0.1], seeds=[0, 1, 2], steps=40)
    runs = s.runs["adam"][1]
    assert not np.array_equal(runs[0].points, runs[1].points)
    for t, u in zip(runs, again.runs["adam"][1]):
        assert_same_run(t, u)
    torch.manual_seed(2)
    assert_same_run(runs[2], run(noisy, X0, "adam", lr=0.1, steps=40, progress=False))
    assert "3 seeds (medians)" in s.markdown()


def test_save_and_load_round_trip_without_pickle(tmp_path, rosen):
    path = rosen.save(tmp_path / "sweep")
    assert path.name == "sweep.npz"
    with zipfile.ZipFile(path) as z:                        # plain .npy arrays, no objects
        assert all(n.endswith(".npy") for n in z.namelist())
    back = load(path)
    assert isinstance(back, Sweep) and back.f is None
    assert back.settings == rosen.settings and back.versions == rosen.versions
    assert back.markdown() == rosen.markdown()
    for label in rosen.runs:
        for row, row_back in zip(rosen.runs[label], back.runs[label]):
            t, u = row[0], row_back[0]
            for f in dataclasses.fields(t):
                a, b = getattr(t, f.name), getattr(u, f.name)
                if isinstance(a, np.ndarray):
                    assert np.array_equal(a, b, equal_nan=True), f.name
                elif f.name != "settings":
                    assert a == b or (a != a and b != b), f.name
    assert back.plot_race().axes                       # f found by name: rosenbrock


def test_table_and_pictures(rosen):
    text = rosen._repr_markdown_()
    assert "| momentum | 0.001 | 0.402 | 61 | 61 |" in text
    assert "| optimizer | best lr | final f | evaluations of f |" in text
    fig = rosen.plot_sensitivity()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert crosses                                    # diverged rates drawn as crosses
    fig = rosen.plot_race()
    assert len(fig.axes) >= 2                          # the map and the loss panel
    assert len(rosen.plot_cost().axes) == 2


def test_errors_teach():
    with pytest.raises(ValueError, match="optimizers is empty"):
        sweep(rosenbrock, X0, [])
    with pytest.raises(ValueError, match=r"positive number, got \[0.0, -0.1\]"):
        sweep(rosenbrock, X0, ["sgd"], lrs=[0.0, -0.1, 0.1])
    with pytest.raises(ValueError, match="Did you mean 'auc'"):
        sweep(rosenbrock, X0, ["sgd"], lrs=[0.1], criterion="aux")
    with pytest.raises(ValueError, match="Did you mean 'adam'"):
        sweep(rosenbrock, X0, ["adma"], lrs=[0.1])
    with pytest.raises(ValueError, match="remove lr from its settings"):
        sweep(rosenbrock, X0, {"SGD": dict(lr=0.1)}, lrs=[0.1])
    with pytest.raises(ValueError, match="give target="):
        sweep(lambda x: x ** 2, 1.0, ["sgd"], lrs=[0.1], criterion="steps")
    with pytest.raises(TypeError, match="does not accept"):
        sweep(rosenbrock, X0, {"SGD": dict(optimizer="sgd", momentun=0.9)}, lrs=[0.1])
    with pytest.raises(ValueError, match="lrs is empty"):
        sweep(rosenbrock, X0, ["sgd"], lrs=[])
    with pytest.warns(UserWarning, match="looks deterministic"):
        sweep(rosenbrock, X0, ["sgd"], lrs=[1e-3], seeds=[0, 1], steps=3)


# ----------------------------------------------------------------------------- Dask

@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       death_timeout=60)
    try:
        client = distributed.Client(cluster, timeout=60)
        try:
            client.wait_for_workers(2, timeout=120)
            yield client
        finally:
            client.close(timeout=30)
    finally:
        cluster.close(timeout=30)


@pytest.mark.slow
def test_a_dask_cluster_gives_the_serial_results_bit_for_bit(dask_client):
    from joblib import parallel_config

    configs = {"sgd": {}, "adam": {}, "lbfgs": {}}
    serial = sweep(rosenbrock, X0, configs, lrs=[1e-3, 0.1, 5.0], steps=40)
    on_dask = sweep(rosenbrock, X0, configs, lrs=[1e-3, 0.1, 5.0], steps=40, client=dask_client)
    with parallel_config(backend="dask", client=dask_client):
        in_context = sweep(rosenbrock, X0, configs, lrs=[1e-3, 0.1, 5.0], steps=40)
    for other in (on_dask, in_context):
        assert other.modes == serial.modes
        for label in configs:
            for a, b in zip(serial.runs[label], other.runs[label]):
                assert_same_run(a[0], b[0])


def test_a_batch_that_would_differ_from_run_is_not_used(monkeypatch):
    """As if torch computed SGD otherwise: the 5-step guard sends it through run()."""
    import optilab.sweep as sw

    original = sw._Rows._sgd
    monkeypatch.setattr(sw._Rows, "_sgd", lambda self, X, g, s, o, neg_lr:
                        original(self, X, g * (1 + 1e-15), s, o, neg_lr))
    s = sweep(rosenbrock, X0, ["sgd", "adam"], lrs=[1e-3, 1e-2], steps=20)
    assert s.modes["sgd"].startswith("one by one (a 5-step batch differed from run()")
    assert s.modes["adam"] == "batched"
    assert_same_run(s.runs["sgd"][1][0], run(rosenbrock, X0, "sgd", lr=1e-2, steps=20,
                                             progress=False))
