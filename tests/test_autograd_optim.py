"""The hand-made optimizers follow torch.optim's formulas, and catch the classic mistakes."""

import numpy as np
import pytest

import optilab.autograd as ag
from optilab.autograd.optim import GD, Adam

torch = pytest.importorskip("torch")


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def run_ours(make_opt, steps=200):
    p = ag.Tensor([-1.5, 2.0])
    opt = make_opt([p])
    for _ in range(steps):
        opt.zero_grad()
        rosenbrock(p).backward()
        opt.step()
    return p.value


def run_torch(make_opt, steps=200):
    p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = make_opt([p])
    for _ in range(steps):
        opt.zero_grad()
        rosenbrock(p).backward()
        opt.step()
    return p.detach().numpy()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_gd_matches_torch_sgd(momentum):
    ours = run_ours(lambda ps: GD(ps, lr=1e-4, momentum=momentum))
    theirs = run_torch(lambda ps: torch.optim.SGD(ps, lr=1e-4, momentum=momentum))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lr, betas", [(1e-2, (0.9, 0.999)), (5e-2, (0.5, 0.9))])
def test_adam_matches_torch_adam(lr, betas):
    ours = run_ours(lambda ps: Adam(ps, lr=lr, betas=betas))
    theirs = run_torch(lambda ps: torch.optim.Adam(ps, lr=lr, betas=betas))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_forgotten_zero_grad_is_named():
    p = ag.Tensor(1.0)
    opt = GD([p], lr=0.1)
    (p * p).backward()
    opt.step()
    (p * p).backward()          # no zero_grad in between
    with pytest.warns(UserWarning, match="did you forget optimizer.zero_grad"):
        opt.step()


def test_step_before_backward():
    with pytest.raises(RuntimeError, match="call loss.backward\\(\\) before optimizer.step"):
        GD([ag.Tensor(1.0)], lr=0.1).step()


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0), "lr must be a positive number, got 0.0"),
    (dict(lr=-0.1), "lr must be a positive number, got -0.1"),
    (dict(lr=float("nan")), "lr must be a positive number"),
    (dict(lr=0.1, momentum=1.5), r"momentum must be in \[0, 1\), got 1.5"),
    (dict(lr="0.1"), "lr must be a positive number, got '0.1'"),
    (dict(lr=None), "lr must be a positive number, got None"),
])
def test_gd_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GD([ag.Tensor(1.0)], **kwargs)


def test_adam_bad_betas():
    with pytest.raises(ValueError, match="betas must be two numbers"):
        Adam([ag.Tensor(1.0)], betas=(0.9, 1.0))


def test_parameters_must_be_tensors():
    with pytest.raises(TypeError, match="parameter 0 is a float"):
        GD([1.0], lr=0.1)
    with pytest.raises(ValueError, match="got no parameters"):
        GD([], lr=0.1)


def test_step_after_zero_grad_without_backward_is_named():
    x = ag.Tensor(1.0)
    opt = GD([x], lr=0.1)
    (x * x).backward()
    opt.zero_grad()
    with pytest.raises(RuntimeError, match="only the zeros that zero_grad"):
        opt.step()


def test_a_zero_gradient_after_backward_is_a_real_step():
    x = ag.Tensor(0.0)
    opt = GD([x], lr=0.1)
    opt.zero_grad()
    (x * x).backward()                    # the gradient at the minimum is 0: nothing to refuse
    opt.step()
    assert x.value == 0.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(eps=-1e-8), "eps must be a positive number, got -1e-08"),
    (dict(betas=0.9), r"betas must be two numbers in \[0, 1\), got 0.9"),
    (dict(betas=(0.9, 1.0)), "betas must be two numbers"),
])
def test_adam_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adam([ag.Tensor(1.0)], **kwargs)


def test_the_model_instead_of_its_parameters_is_named():
    model = ag.nn.Linear((2, 3))
    with pytest.raises(TypeError, match=r"model.parameters\(\)"):
        GD(model, lr=0.1)
    with pytest.raises(TypeError, match="takes the parameters"):
        GD(3.0, lr=0.1)


@pytest.mark.parametrize("make", [lambda: ag.nn.Linear(3), lambda: ag.nn.Perceptron("2", 3)])
def test_layer_shapes_are_checked(make):
    with pytest.raises(ValueError, match=r"shape \(out, in\) of two positive ints"):
        make()


def test_mse_loss_refuses_shapes_that_broadcast_to_all_pairs():
    with pytest.raises(ValueError, match=r"\(5, 1\).*\(5,\).*\(5, 5\)"):
        ag.MSELoss()(ag.Tensor(np.zeros((5, 1))), np.ones(5))
    assert ag.MSELoss()(ag.Tensor(np.zeros((5, 1))), 1.0).value == 1.0   # a scalar target is fine
