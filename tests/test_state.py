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
