"""optilab.state.read_state: each optimizer's state, checked against the step it made."""

import numpy as np
import pytest
import torch

import optilab.autograd as ag
from optilab.autograd import optim as ag_optim
from optilab.state import read_state


def f(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2 + x[2] ** 4


def torch_steps(cls, steps=3, **kwargs):
    """(optimizer, x, points, grads) after ``steps`` steps on f from (-1.2, 1, 0.5)."""
    x = torch.tensor([-1.2, 1.0, 0.5], dtype=torch.float64, requires_grad=True)
    opt = cls([x], **kwargs)
    points, grads = [x.detach().clone().numpy()], []

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    for _ in range(steps):
        closure()
        grads.append(x.grad.clone().numpy())
        opt.step(closure) if cls is torch.optim.LBFGS else opt.step()
        points.append(x.detach().clone().numpy())
    return opt, x, np.array(points), np.array(grads)


def test_sgd_momentum_buffer_is_the_step_over_lr():
    opt, x, points, _ = torch_steps(torch.optim.SGD, lr=1e-3, momentum=0.9)
    state = read_state(opt)
    assert set(state) == {"momentum_buffer"}
    np.testing.assert_allclose(state["momentum_buffer"] * 1e-3, points[-2] - points[-1],
                               rtol=1e-12)


def test_plain_sgd_has_no_state():
    opt, *_ = torch_steps(torch.optim.SGD, lr=1e-3)
    assert read_state(opt) == {}


@pytest.mark.parametrize("cls", [torch.optim.Adam, torch.optim.AdamW])
def test_adam_records_m_v_and_the_bias_corrected_step(cls):
    opt, x, points, grads = torch_steps(cls, lr=0.05, weight_decay=0.0)
    state = read_state(opt)
    assert {"exp_avg", "exp_avg_sq", "adam_step"} <= set(state)
    np.testing.assert_allclose(state["adam_step"], points[-2] - points[-1], rtol=1e-10)
    assert np.all(np.abs(state["adam_step"]) <= 0.05 * 1.01)     # |step_i| <= about lr
    m = 0.0
    for g in grads:
        m = 0.9 * m + 0.1 * g
    np.testing.assert_allclose(state["exp_avg"], m, rtol=1e-12)


def test_rmsprop_records_its_running_squares_and_step():
    opt, x, points, grads = torch_steps(torch.optim.RMSprop, lr=0.01)
    state = read_state(opt, grads=grads[-1])
    v = 0.0
    for g in grads:
        v = 0.99 * v + 0.01 * g ** 2
    np.testing.assert_allclose(state["square_avg"], v, rtol=1e-12)
    np.testing.assert_allclose(state["rms_step"], points[-2] - points[-1], rtol=1e-10)


def test_adagrad_sums_squared_gradients():
    opt, x, points, grads = torch_steps(torch.optim.Adagrad, lr=0.5)
    np.testing.assert_allclose(read_state(opt)["sum"], (grads ** 2).sum(0), rtol=1e-12)


def test_lbfgs_records_its_direction_and_step_length():
    opt, x, points, _ = torch_steps(torch.optim.LBFGS, lr=1, max_iter=1)
    state = read_state(opt)
    np.testing.assert_allclose(state["step_length"][0] * state["direction"],
                               points[-1] - points[-2], rtol=1e-10)


def test_our_engines_optimizers_use_torchs_names():
    x = ag.Tensor(np.array([-1.2, 1.0, 0.5]))
    gd = ag_optim.GD([x], lr=1e-3, momentum=0.9)
    assert read_state(gd) == {}                          # before its first step
    for _ in range(2):
        gd.zero_grad()
        f(x).backward()
        before = x.value.copy()
        gd.step()
    np.testing.assert_allclose(read_state(gd)["momentum_buffer"] * 1e-3, before - x.value)
    y = ag.Tensor(np.array([-1.2, 1.0, 0.5]))
    adam = ag_optim.Adam([y], lr=0.05)
    for _ in range(3):
        adam.zero_grad()
        f(y).backward()
        before = y.value.copy()
        adam.step()
    np.testing.assert_allclose(read_state(adam)["adam_step"], before - y.value, rtol=1e-10)


# ----------------------------------------------------------------------------- run(record_state=)

from optilab.functions import rosenbrock  # noqa: E402
from optilab.optim import OPTIMIZERS, run  # noqa: E402

SETTINGS = {"sgd": dict(lr=1e-3, momentum=0.9), "adam": dict(lr=0.05),
            "adamw": dict(lr=0.05), "rmsprop": dict(lr=0.01), "adagrad": dict(lr=0.5),
            "adadelta": dict(lr=1.0), "lbfgs": dict(lr=0.5, max_iter=5)}


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_recording_the_state_changes_nothing_in_the_run(optimizer):
    kwargs = SETTINGS.get(optimizer, {})
    plain = run(rosenbrock, [-1.2, 1.0], optimizer, steps=30, progress=False, **kwargs)
    seen = run(rosenbrock, [-1.2, 1.0], optimizer, steps=30, progress=False,
               record_state=True, **kwargs)
    assert np.array_equal(plain.points, seen.points) and np.array_equal(plain.lrs, seen.lrs)
    assert plain.evaluations == seen.evaluations and not plain.state
    for name, rows in seen.state.items():
        assert rows.shape[0] == seen.steps, name


def test_the_recorded_state_explains_each_step():
    t = run(rosenbrock, [-1.2, 1.0], "adam", lr=0.05, steps=20, progress=False,
            record_state=True)
    np.testing.assert_allclose(t.state["adam_step"], -np.diff(t.points, axis=0), rtol=1e-9)
    t = run(rosenbrock, [-1.2, 1.0], "sgd", lr=1e-3, momentum=0.9, steps=20, progress=False,
            record_state=True)
    np.testing.assert_allclose(1e-3 * t.state["momentum_buffer"], -np.diff(t.points, axis=0))
    t = run(rosenbrock, [-1.2, 1.0], "adam", lr=0.05, steps=20, progress=False,
            record_state=True, engine="optilab")
    np.testing.assert_allclose(t.state["adam_step"], -np.diff(t.points, axis=0), rtol=1e-9)


def test_lbfgs_records_the_points_its_line_search_tried():
    t = run(rosenbrock, [-1.2, 1.0], "lbfgs", lr=1, max_iter=1, max_eval=10, steps=8,
            line_search_fn="strong_wolfe", progress=False, record_state=True)
    per_step = np.diff(t.evaluations_at)
    assert len(t.trial_points) == per_step.sum() - t.steps   # all but x_k's own evaluation
    assert np.array_equal(np.bincount(t.trial_steps, minlength=t.steps), per_step - 1)
    k = t.trial_steps[-1]                     # every trial lies on the line x_k + s d_k
    d = t.state["direction"][k]
    for x in t.trial_points[t.trial_steps == k]:
        offset = x - t.points[k]
        assert abs(offset[0] * d[1] - offset[1] * d[0]) <= 1e-9 * (1 + np.abs(offset).max())
    np.testing.assert_allclose(t.trial_points[t.trial_steps == k][-1], t.points[k + 1])
