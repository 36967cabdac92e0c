"""optilab.optim.run/race: parity with the hand-written torch loop, statuses, errors."""

import math
import warnings

import numpy as np
import pytest
import torch

from optilab.optim import OPTIMIZERS, SCHEDULERS, race, run
from optilab.trajectory import Trajectory, table


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def bowl3(p):                                     # a point-style function of 3 coordinates
    return (p ** 2 * torch.tensor([1.0, 4.0, 9.0], dtype=p.dtype)).sum() + (p[0] * p[1]).sin()


def hand_loop(f, x0, optimizer, steps, coordinates, scheduler=None, scheduler_kwargs=None,
              **kwargs):
    """The loop every course writes by hand, recording the points it visits."""
    as_leaf = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)
    params = [as_leaf(v) for v in x0] if coordinates else [as_leaf(x0)]
    opt = OPTIMIZERS[optimizer](params, **kwargs)
    sched = SCHEDULERS[scheduler](opt, **scheduler_kwargs) if scheduler else None
    point = lambda: np.concatenate([p.detach().reshape(-1).numpy() for p in params])
    points, lrs = [point()], []

    def closure():
        opt.zero_grad()
        loss = f(*params)
        loss.backward()
        return loss

    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        if optimizer == "lbfgs":
            loss = opt.step(closure)
        else:
            opt.zero_grad()
            loss = f(*params)
            loss.backward()
            opt.step()
        if sched is not None:
            sched.step(loss.item()) if scheduler == "plateau" else sched.step()
        points.append(point())
    return np.array(points), np.array(lrs)


OPTIMIZER_SETTINGS = {
    "sgd": dict(lr=1e-3, momentum=0.9, nesterov=True),
    "adam": dict(lr=0.05),
    "adamw": dict(lr=0.05, weight_decay=0.1),
    "rmsprop": dict(lr=0.01, momentum=0.5),
    "adagrad": dict(lr=0.5),
    "adadelta": dict(lr=1.0),
    "lbfgs": dict(lr=0.5, max_iter=5),
}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("style", ["coordinates", "point"])
def test_a_run_equals_the_hand_written_loop_to_the_last_bit(optimizer, style):
    f, x0 = (rosenbrock, [-1.2, 1.0]) if style == "coordinates" else (bowl3, [0.5, -0.3, 0.2])
    kwargs = OPTIMIZER_SETTINGS[optimizer]
    t = run(f, x0, optimizer, steps=40, progress=False, **kwargs)
    points, lrs = hand_loop(f, x0, optimizer, 40, style == "coordinates", **kwargs)
    assert t.status == "max_steps" and t.points.shape == (41, len(x0))
    assert np.array_equal(t.points, points)
    assert np.array_equal(t.lrs, lrs)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "lbfgs"])
def test_schedulers_step_as_in_the_hand_written_loop(scheduler, optimizer):
    extra = {"lr_lambda": lambda k: 0.97 ** k} if scheduler == "lambda" else {}
    if scheduler == "plateau":
        extra = {"patience": 2, "factor": 0.5}
    kwargs = {"lr": 0.1 if optimizer == "lbfgs" else 2e-3}
    t = run(rosenbrock, [-1.2, 1.0], optimizer, steps=30, scheduler=scheduler,
            scheduler_kwargs=extra, progress=False, **kwargs)
    points, lrs = hand_loop(rosenbrock, [-1.2, 1.0], optimizer, 30, True, scheduler,
                            t.settings["scheduler_kwargs"], **kwargs)
    assert np.array_equal(t.points, points)
    assert np.array_equal(t.lrs, lrs)
    if scheduler not in ("plateau", "onecycle"):   # the plateau may not be reached in 30 steps
        assert len(set(t.lrs)) > 1, "the scheduler never changed the learning rate"
    assert t.settings["lr"] == kwargs["lr"]


def test_default_scheduler_settings_give_a_visible_schedule():
    t = run(lambda x: 5 * x.abs(), 3.0, "sgd", lr=0.1, steps=100, scheduler="step",
            progress=False)
    assert t.settings["scheduler_kwargs"] == {"step_size": 25, "gamma": 0.5}
    assert t.lrs[0] == 0.1 and t.lrs[25] == 0.05 and t.lrs[-1] == 0.0125


@pytest.mark.parametrize("optimizer, kwargs", [("sgd", {}), ("sgd", {"momentum": 0.9}),
                                               ("adam", {}), ("adam", {"betas": (0.8, 0.99)})])
def test_our_engine_matches_torch_to_1e_10(optimizer, kwargs):
    f = lambda x, y: x ** 2 / 20 + x.sin().tanh() + (y + 0.5) ** 2 / 10 + 0.1 * (x * y).cos()
    ours = run(f, [2.0, -1.0], optimizer, lr=0.05, steps=200, engine="optilab", progress=False,
               **kwargs)
    theirs = run(f, [2.0, -1.0], optimizer, lr=0.05, steps=200, progress=False, **kwargs)
    assert theirs.status == "max_steps" and theirs.value < f(*torch.tensor([2.0, -1.0]))
    np.testing.assert_allclose(ours.points, theirs.points, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grads, theirs.grads, rtol=1e-10, atol=1e-12)
    assert ours.settings["engine"] == "optilab"


def test_the_trajectory_records_values_gradients_and_settings():
    t = run(rosenbrock, [-1.2, 1.0], "adam", lr=0.01, steps=25, progress=False)
    assert isinstance(t, Trajectory)
    assert t.points.shape == (26, 2) and t.values.shape == (26,) and t.grads.shape == (26, 2)
    assert t.lrs.shape == (25,) and np.all(t.lrs == 0.01)
    assert t.times.shape == (26,) and np.all(np.diff(t.times) > 0)
    assert t.points[0].tolist() == [-1.2, 1.0]
    for p, v, g in zip(t.points[::5], t.values[::5], t.grads[::5]):
        x, y = (torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in p)
        value = rosenbrock(x, y)
        value.backward()
        assert v == value.item() and g.tolist() == [x.grad.item(), y.grad.item()]
    assert t.settings["optimizer"] == "adam" and t.settings["steps"] == 25
    assert t.evaluations == 26 and t.x is not None and t.value == t.values[-1]
    assert "ran all 25 steps" in t.summary()


def test_scalar_functions_of_one_variable():
    t = run(lambda x: (x - 2) ** 2 + 4 * x - 2, 5.0, "sgd", lr=0.1, steps=100, progress=False)
    assert t.points.shape == (101, 1)
    assert t.x[0] == pytest.approx(0.0, abs=1e-8)          # the minimum of x^2 + 2 is at 0


def test_tolerances_stop_a_converged_run():
    t = run(lambda x, y: x ** 2 + y ** 2, [1.0, 1.0], "sgd", lr=0.1, steps=1000, gtol=1e-6,
            progress=False)
    assert t.status == "converged" and t.steps < 100
    assert np.linalg.norm(t.grads[-1]) <= 1e-6 < np.linalg.norm(t.grads[-2])
    assert "converged after" in t.summary()
    t = run(lambda x, y: x ** 2 + y ** 2, [1.0, 1.0], "sgd", lr=0.1, steps=1000, ftol=1e-9,
            progress=False)
    assert t.status == "converged" and abs(t.values[-1] - t.values[-2]) <= 1e-9


def test_divergence_stops_the_run_and_explains_the_stability_limit():
    t = run(lambda x: x ** 2, 1.0, "sgd", lr=1.5, steps=100, progress=False)
    assert t.status == "diverged" and t.diverged
    assert t.diverged_at == t.steps < 100
    assert abs(t.points[-1, 0]) > 1e6
    assert t.lambda_max == pytest.approx(2.0) and t.stability_limit == pytest.approx(1.0)
    assert "diverged at step" in t.summary() and "lr < 2 / lambda_max = 1" in t.summary()
    t = run(lambda x, y: x ** 2 + 3 * y ** 2, [1.0, 1.0], "sgd", lr=0.6, momentum=0.5,
            steps=100, progress=False)
    assert t.stability_limit == pytest.approx(2 * 1.5 / 6)
    assert "2 (1 + 0.5) / lambda_max = 0.5" in t.summary()


def test_divergence_on_a_saddle_blames_the_curvature_not_the_learning_rate():
    t = run(lambda x, y: x ** 2 - y ** 2, [1.0, 0.1], "sgd", lr=0.1, steps=500, progress=False)
    assert t.diverged and t.lambda_min == pytest.approx(-2.0)
    assert "curves downwards" in t.summary()


def test_a_non_finite_value_is_a_divergence_not_an_exception():
    t = run(lambda x: (x ** 2).exp(), 1.0, "sgd", lr=10.0, steps=50, progress=False)
    assert t.diverged and t.diverged_at == 1 and t.values[-1] == math.inf
    assert "diverged at step 1 from (1): f(x) became inf" in t.summary()


FUNCTIONS = {
    "rosenbrock": (rosenbrock, [-1.2, 1.0]),
    "saddle": (lambda x, y: x ** 2 - y ** 2, [0.5, 0.1]),
    "bumpy": (lambda x: x ** 2 / 20 + x.sin().tanh(), 3.0),
    "exp": (lambda x, y: (x * y).exp() + x ** 4, [1.0, 2.0]),
    "kink": (lambda x, y: 5 * x.abs() + (y + 7) ** 2 / 10, [2.0, 1.0]),
}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_any_learning_rate_gives_a_status_never_an_exception(optimizer):
    for f, x0 in FUNCTIONS.values():
        for lr in (1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6):
            t = run(f, x0, optimizer, lr=lr, steps=40, progress=False)
            assert t.status in ("max_steps", "diverged")
            assert len(t.values) == len(t.points) == len(t.grads) == len(t.lrs) + 1
            if t.diverged:
                assert t.diverged_at == t.steps and "diverged at step" in t.summary()


def test_race_runs_each_configuration_from_the_same_start():
    runs = race(rosenbrock, [-1.2, 1.0], {"SGD": dict(lr=1e-3), "Adam": dict(lr=0.05),
                                          "heavy ball": dict(optimizer="sgd", lr=1e-3,
                                                             momentum=0.9)}, steps=50,
                progress=False)
    assert list(runs) == ["SGD", "Adam", "heavy ball"]
    assert all(t.points[0].tolist() == [-1.2, 1.0] for t in runs.values())
    assert runs["heavy ball"].settings["momentum"] == 0.9 and runs["Adam"].label == "Adam"
    assert runs["SGD"].value != runs["heavy ball"].value
    with pytest.raises(ValueError, match="has no 'optimizer' and its label"):
        race(rosenbrock, [-1.2, 1.0], {"fast": dict(lr=1e-3)})


def test_a_progress_bar_when_asked_and_none_when_not(capsys):
    run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-4, steps=20, progress=True, label="demo")
    assert "demo" in capsys.readouterr().err
    run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-4, steps=20, progress=False)
    run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-4, steps=20)        # short: no bar
    assert capsys.readouterr().err == ""


def test_torch_optimizer_and_scheduler_classes_are_accepted():
    t = run(rosenbrock, [-1.2, 1.0], torch.optim.Adam, lr=0.01, steps=10,
            scheduler=torch.optim.lr_scheduler.ExponentialLR, scheduler_kwargs={"gamma": 0.5},
            progress=False)
    assert t.settings["optimizer"] == "Adam" and t.lrs[-1] == 0.01 * 0.5 ** 9


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_runs_on_a_gpu_match_the_cpu():
    cpu = run(rosenbrock, [-1.2, 1.0], "adam", lr=0.01, steps=50, progress=False)
    gpu = run(rosenbrock, [-1.2, 1.0], "adam", lr=0.01, steps=50, progress=False, device="cuda")
    np.testing.assert_allclose(gpu.points, cpu.points, rtol=1e-12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_says_so():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        run(rosenbrock, [-1.2, 1.0], device="cuda")


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, message", [
    (dict(optimizer="adamm"), ValueError, r"unknown optimizer 'adamm'.*Did you mean 'adam'"),
    (dict(scheduler="cosin"), ValueError, r"unknown scheduler 'cosin'.*Did you mean 'cosine'"),
    (dict(scheduler="lambda"), ValueError, r"needs scheduler_kwargs=\{'lr_lambda'"),
    (dict(lr=0.0), ValueError, r"lr must be a positive number, got 0.0"),
    (dict(lr=-0.1), ValueError, r"lr must be a positive number, got -0.1"),
    (dict(lr="fast"), ValueError, r"lr must be a positive number, got 'fast'"),
    (dict(steps=0), ValueError, r"steps must be an integer >= 1, got 0"),
    (dict(steps=2.5), ValueError, r"steps must be an integer >= 1, got 2.5"),
    (dict(engine="jax"), ValueError, r"engine must be one of \('torch', 'optilab'\)"),
    (dict(engine="optilab", optimizer="rmsprop"), ValueError, r"hand-made optimizers"),
    (dict(engine="optilab", scheduler="step"), ValueError, r"use engine='torch'"),
    (dict(optimizer="sgd", betas=(0.9, 0.9)), TypeError, r"SGD does not accept \['betas'\]"),
    (dict(scheduler=3), TypeError, r"scheduler must be a name \(step, .*got 3"),
    (dict(steps=10 ** 8), ValueError, r"steps=100,000,000 would record about \d+\.\d GiB"),
    (dict(scheduler="step", scheduler_kwargs={"step_size": 0}), ValueError,
     r"scheduler_kwargs\['step_size'\] must be an integer >= 1, got 0"),
])
def test_bad_settings_are_explained(kwargs, error, message):
    with pytest.raises(error, match=message):
        run(rosenbrock, [-1.2, 1.0], **{"lr": 0.01, **kwargs})


@pytest.mark.parametrize("f, x0, error, message", [
    (rosenbrock, [1.0, 2.0, 3.0], ValueError, r"f takes 2 coordinates but x0 has 3"),
    (lambda p: p[0] ** 2 + p[1] ** 2, [1.0], ValueError, r"Does f expect an x0 of another"),
    (rosenbrock, [float("nan"), 1.0], ValueError, r"x0 must be finite, got \[nan, 1.0\]"),
    (rosenbrock, [[1.0, 2.0]], ValueError, r"flat list of coordinates"),
    (rosenbrock, "origin", TypeError, r"x0 must be a number or a list"),
    (lambda x, y: float(x + y), [1.0, 2.0], TypeError, r"f must return a torch.Tensor .*got float"),
    (lambda p: p ** 2, [1.0, 2.0], ValueError, r"f must return a scalar .*got shape \(2,\)"),
    ("rosenbrock", [1.0, 2.0], TypeError, r"f must be a function"),
    (rosenbrock, None, TypeError, r"x0 is None: give the starting point"),
    (lambda p: torch.tensor(1.0), [1.0, 2.0], ValueError, r"f does not depend on x"),
    (lambda p: torch.tensor(3), [1.0, 2.0], TypeError, r"integer tensor \(torch.int64\)"),
])
def test_bad_functions_and_starts_are_explained(f, x0, error, message):
    with pytest.raises(error, match=message):
        run(f, x0, lr=0.01)


def test_x0_may_be_tensors_of_either_engine():
    import optilab.autograd as ag

    bowl = lambda p: (p ** 2).sum()
    for x0 in ([torch.tensor(1.0, requires_grad=True), torch.tensor(2.0)],
               torch.tensor([1.0, 2.0], requires_grad=True), ag.Tensor([1.0, 2.0])):
        assert run(bowl, x0, "sgd", lr=0.1, steps=2, progress=False).points[0].tolist() == [
            1.0, 2.0]


def test_default_schedules_keep_the_optimizer_as_asked():
    bowl = lambda x, y: x ** 2 + y ** 2
    t = run(bowl, [1.0, 1.0], "sgd", lr=0.01, steps=10, scheduler="onecycle", progress=False)
    assert t.settings["scheduler_kwargs"]["cycle_momentum"] is False   # no momentum appears
    t = run(bowl, [1.0, 1.0], "sgd", lr=0.01, steps=1, scheduler="multistep", progress=False)
    assert t.settings["scheduler_kwargs"]["milestones"] == [1] and t.lrs.tolist() == [0.01]


@pytest.mark.parametrize("engine", ["torch", "optilab"])
def test_a_term_the_engine_cannot_see_is_named(engine):
    """math.sin(x) is a constant to the engine: the run would converge to the wrong point."""
    with pytest.warns(UserWarning, match=r"coordinate 0: 2 by .*2.54 by finite differences"):
        run(lambda x: math.sin(x) + x ** 2, 1.0, "sgd", lr=0.1, steps=3, engine=engine,
            progress=False)


def test_kinks_and_noise_raise_no_false_alarm():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(lambda x, y: x.abs() + y ** 2, [0.0, 1.0], "sgd", lr=0.1, steps=3, progress=False)
        run(lambda p: (p ** 2).sum() + 0.1 * torch.randn(()), [1.0, 2.0], "sgd", lr=0.1,
            steps=3, progress=False)


def test_the_divergence_summary_says_the_limit_is_local_unless_f_is_quadratic():
    from optilab.functions import rosenbrock

    curved = run(rosenbrock, [-1.2, 1.0], "sgd", lr=7e-3, steps=100, progress=False)
    assert "This limit is local" in curved.summary() and "Try lr <" not in curved.summary()
    assert run(rosenbrock, [-1.2, 1.0], "sgd", lr=6e-3, steps=1000, progress=False).status \
        != "diverged"                            # 4.5 times the limit at x0, and it converges
    bowl = run(lambda x: x ** 2, 1.0, "sgd", lr=1.5, progress=False)
    assert bowl.quadratic and "the limit holds everywhere, so try lr < 1" in bowl.summary()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "lbfgs"])
def test_evaluations_count_every_call_of_f_and_none_twice(optimizer):
    calls = []

    def f(x, y):
        calls.append(x.requires_grad)      # the run's calls; the first-gradient check
        return rosenbrock(x, y)            # evaluates constants

    kwargs = OPTIMIZER_SETTINGS[optimizer]
    t = run(f, [-1.2, 1.0], optimizer, steps=15, progress=False, **kwargs)
    made = sum(calls)
    assert made < len(calls)
    assert t.evaluations == t.gradient_evaluations == made
    assert t.evaluations_at[-1] == t.evaluations and len(t.evaluations_at) == len(t.points)
    per_step = np.diff(t.evaluations_at)
    if optimizer == "lbfgs":               # max_iter=5 inner iterations: 5 evaluations a step,
        assert per_step[0] == 5            # the first one shared with the recorded point
        assert f"({t.evaluations} evaluations of f)" in t.summary()
    else:
        assert np.all(per_step == 1)


def test_strong_wolfe_lbfgs_reports_its_line_search_cost():
    t = run(rosenbrock, [-1.2, 1.0], "lbfgs", lr=1, steps=3, progress=False,
            line_search_fn="strong_wolfe")
    assert t.evaluations > 3 * 2 and f"({t.evaluations} evaluations of f)" in t.summary()
    rows = table({"SGD": run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, steps=3, progress=False),
                  "LBFGS": t}).markdown().splitlines()
    assert rows[2].startswith("| SGD | max_steps | 3 | 4 | 4 |")
    assert rows[3].startswith(f"| LBFGS | max_steps | 3 | {t.evaluations} | {t.evaluations} |")
    with pytest.raises(TypeError, match="not a Trajectory"):
        table({"x": 3})


def test_a_long_run_can_keep_every_kth_point():
    full = run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, steps=1000, progress=False)
    kept = run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, steps=1000, progress=False,
               record_every=300)
    assert kept.step_at.tolist() == [0, 300, 600, 900, 1000] and kept.steps == 1000
    assert np.array_equal(kept.points, full.points[[0, 300, 600, 900, 1000]])
    assert np.array_equal(kept.values, full.values[[0, 300, 600, 900, 1000]])
    assert np.array_equal(kept.lrs, full.lrs[[0, 300, 600, 900]])
    assert kept.evaluations == full.evaluations == 1001
    assert "ran all 1000 steps" in kept.summary() and "evaluations" not in kept.summary()
    blown = run(rosenbrock, [-1.2, 1.0], "sgd", lr=0.05, steps=1000, progress=False,
                record_every=7)
    assert blown.diverged and blown.diverged_at == len(blown.points) - 1
    assert f"diverged at step {blown.step_numbers[-1]} " in blown.summary()
    assert blown.steps == run(rosenbrock, [-1.2, 1.0], "sgd", lr=0.05, steps=1000,
                              progress=False).steps
    with pytest.raises(ValueError, match="record_every=2 or more"):
        run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, steps=2_000_000, progress=False)
    with pytest.raises(ValueError, match="record_every"):
        run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, steps=10, record_every=0)


def test_a_thinned_run_is_drawn_against_its_real_steps():
    from optilab.plot import plot_trajectories

    kept = run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, steps=1000, progress=False,
               record_every=250)
    fig = plot_trajectories("rosenbrock", {"sgd": kept}, panels=("loss", "lr"))
    loss, lr = (next(line for line in ax.lines if len(line.get_xdata()))
                for ax in fig.axes[1:])
    assert list(loss.get_xdata()) == [0, 250, 500, 750, 1000]
    assert list(lr.get_xdata()) == [0, 250, 500, 750]
    assert fig.axes[1].get_xlim()[1] >= 999
