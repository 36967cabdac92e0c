"""Course material written for the older small-autograd demos runs with its import line changed.

The expected numbers are the ones printed by the original course notebook.
"""

import numpy as np
import pytest

import optilab.autograd as autograd
from optilab.autograd.nn import Dataset, Linear, Perceptron
from optilab.autograd.optim import GD


def gradient_test_f(x):
    return ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)


def test_messy_function_gradient_matches_torch_value():
    x = autograd.Variable(10.0)
    y = gradient_test_f(x)
    y.backward()
    assert round(x.grad.item(), 5) == -0.00129
    torch = pytest.importorskip("torch")
    tx = torch.tensor(10.0, dtype=torch.float64, requires_grad=True)
    gradient_test_f(tx).backward()
    np.testing.assert_allclose(x.grad, tx.grad.item(), rtol=1e-12)


def f(x):
    return (x - 2) ** 2 + 4 * x - 2


class QuadrFuncMod(autograd.Module):
    def __init__(self, init):
        super(QuadrFuncMod, self).__init__()  # noqa: UP008 - as the course writes it
        self.x = autograd.Variable(init)

    def forward(self):
        return f(self.x)


@pytest.mark.parametrize("init, lr, first_x", [(-3, 0.1, -2.4), (4, 0.8, -2.4)])
def test_quadratic_module_with_gd(init, lr, first_x):
    module = QuadrFuncMod(init)
    optim = GD(params=module.collect_parameters(), lr=lr)
    xs = []
    for _ in range(100):
        optim.zero_grad()
        value = module.forward()
        value.backward()
        optim.step()
        xs.append(float(module.x.value.squeeze()))
    assert xs[0] == pytest.approx(first_x)
    assert abs(xs[-1]) < 1e-6 and float(value.value) == pytest.approx(2.0)


class MulVariableMod(autograd.Module):
    def __init__(self, init_x, init_y):
        super(MulVariableMod, self).__init__()  # noqa: UP008
        self.x = autograd.Variable(init_x)
        self.y = autograd.Variable(init_y)
        self.exp = autograd.Exp()
        self.params = self.collect_parameters()

    def forward(self):
        return -(1 - (self.x**2 + self.y**3)) * self.exp(-(self.x**2 + self.y**2) / 2)


def test_two_variable_module_matches_the_course_printout():
    module = MulVariableMod(0.5, 1.8)
    assert len(module.params) == 2 and module.params[0] is module.x
    optim = GD(params=module.collect_parameters(), lr=0.3)
    printed = []
    for epoch in range(15):
        optim.zero_grad()
        value = module.forward()
        value.backward()
        optim.step()
        if epoch % 5 == 0:
            printed.append(f"x: {module.x.value.squeeze():.3f} | y: {module.y.value.squeeze():.3f}"
                           f" | f(x): {value.value.squeeze():.3f}")
    assert printed == ["x: 0.581 | y: 1.770 | f(x): 0.888",
                       "x: 1.037 | y: 1.426 | f(x): 0.686",
                       "x: 0.903 | y: 0.674 | f(x): 0.298"]


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-2, 1, (50, 2)), rng.normal(2, 1, (50, 2))])
    return x, np.repeat([-1.0, 1.0], 50)


def test_perceptron_on_a_dataset():
    x_data, y_data = blobs()
    dataset = Dataset(x_data.reshape(-1, 2, 1), y_data.reshape(-1, 1, 1))
    mseloss = autograd.MSELoss()
    perceptron = Perceptron(output_size=1, input_size=2)
    perceptron.linear.weight.value = np.array([[2.0, 0.0]]).reshape(1, 2).copy()
    assert isinstance(perceptron.linear.weight.value, np.ndarray)
    assert perceptron.linear.weight.value.shape == (1, 2)
    optimizer = GD(params=perceptron.collect_parameters(), lr=0.1)
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        loss = perceptron.forward_dataset(dataset, mseloss)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.value.item()))
    assert losses[-1] < losses[0] / 5
    # the weights can be edited in place between runs, as the course's loss-landscape cell does
    perceptron.linear.weight.value[0, 0] = 1.5
    perceptron.linear.weight.value[0, 1] = -0.5
    z = perceptron.forward_dataset(dataset, mseloss).value.squeeze()
    w, b = np.array([1.5, -0.5]), perceptron.linear.bias.value.item()
    expected = np.mean((np.tanh(x_data @ w + b) - y_data) ** 2)
    assert z == pytest.approx(expected, rel=1e-12)


def test_forward_dataset_batched_equals_sample_by_sample():
    x_data, y_data = blobs(1)
    dataset = Dataset(x_data.reshape(-1, 2, 1), y_data.reshape(-1, 1, 1))

    class PlainMSE(autograd.Module):       # no `averages_elements`: runs sample by sample
        def forward(self, p, t):
            return ((p - t) ** 2).mean()

    model = Perceptron(1, 2, seed=3)
    batched = model.forward_dataset(dataset, autograd.MSELoss())
    looped = model.forward_dataset(dataset, PlainMSE())
    assert batched.item() == pytest.approx(looped.item(), rel=1e-12)
    batched.backward()
    g_batched = model.linear.weight.grad.copy()
    model.zero_grad()
    looped.backward()
    np.testing.assert_allclose(model.linear.weight.grad, g_batched, rtol=1e-10)


def test_module_parameters_walk_attributes_lists_and_submodules():
    class Net(autograd.Module):
        def __init__(self):
            self.layers = [Linear((3, 2), seed=0), Linear((1, 3), seed=1)]
            self.scale = autograd.Tensor(1.0)
            self.data = autograd.Tensor(np.ones(2), requires_grad=False)  # not a parameter

        def forward(self, x):
            for layer in self.layers:
                x = autograd.tanh(layer(x))
            return x * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "scale"]
    assert "Net(layers.0.weight: (3, 2)" in repr(net)
    out = net(np.ones((2, 1))).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(not p.grad.any() for p in net.parameters())


def test_module_without_forward():
    class Empty(autograd.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty has no forward"):
        Empty()()


def test_dataset_errors():
    with pytest.raises(ValueError, match="as many targets as inputs.*\\(3, 2\\).*\\(2,\\)"):
        Dataset(np.ones((3, 2)), np.ones(2))


def test_linear_shape_error():
    with pytest.raises(ValueError, match=r"shape \(out, in\)"):
        Linear((3,))
