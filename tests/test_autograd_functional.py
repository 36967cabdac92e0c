"""grad, value_and_grad, jacobian, hessian, hvp: what they return and the errors they give."""

import numpy as np
import pytest

import optilab.autograd as ag


def test_grad_returns_numpy_for_numpy_input():
    g = ag.grad(lambda x: (x ** 2).sum())(np.array([1.0, -2.0]))
    assert isinstance(g, np.ndarray)
    np.testing.assert_array_equal(g, [2.0, -4.0])


def test_value_and_grad_one_pass():
    value, g = ag.value_and_grad(lambda x: x.sin() * x)(2.0)
    assert value == pytest.approx(np.sin(2.0) * 2.0)
    assert g == pytest.approx(np.cos(2.0) * 2.0 + np.sin(2.0))


def test_argnum_and_extra_arguments():
    def f(w, x, y):
        return ((w * x - y) ** 2).mean()

    x, y = np.array([1.0, 2.0]), np.array([2.0, 4.0])
    assert ag.grad(f)(1.0, x, y) == pytest.approx(np.mean(2 * (x - y) * x))
    np.testing.assert_allclose(ag.grad(f, argnum=1)(1.0, x, y), (x - y))


def test_higher_derivatives_of_a_polynomial():
    f = lambda x: x ** 4  # noqa: E731
    d = f
    expected = [4 * 8.0, 12 * 4.0, 24 * 2.0, 24.0]
    for e in expected:
        d = ag.grad(d)
        assert d(2.0) == pytest.approx(e)


def test_hessian_of_quadratic_form():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    H = ag.hessian(lambda x: 0.5 * x @ (A @ x))(np.array([0.3, -0.7]))
    np.testing.assert_allclose(H, A, rtol=1e-12)


def test_hvp_equals_hessian_times_vector():
    f = lambda x: (x.sin() * x[::-1] ** 2).sum()  # noqa: E731
    x, v = np.array([0.5, 1.0, -0.3]), np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ag.hvp(f)(x, v), ag.hessian(f)(x) @ v, rtol=1e-10)


def test_newtons_method_converges_quadratically_on_rosenbrock():
    def rosen(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    x = np.array([-1.2, 1.0])
    for _ in range(30):
        x = x - np.linalg.solve(ag.hessian(rosen)(x), ag.grad(rosen)(x))
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-10)


def test_backward_create_graph_gives_differentiable_grad():
    x = ag.Tensor(3.0)
    (x ** 3).backward(create_graph=True)
    g = x.grad                       # 3x^2, as a graph
    assert isinstance(g, ag.Tensor) and g.item() == 27.0
    x.grad = None
    g.backward()
    assert x.grad == 18.0            # 6x


def test_grad_with_nested_dict_of_parameters():
    params = {"w": np.array([[1.0, 2.0]]), "b": 0.5}
    x = np.array([[1.0], [3.0]])
    g = ag.grad(lambda p: ((p["w"] @ x + p["b"]) ** 2).sum())(params)
    out = (params["w"] @ x + params["b"]).item()
    np.testing.assert_allclose(g["w"], 2 * out * x.T)
    assert g["b"] == pytest.approx(2 * out)


def test_jacobian_shape_and_values():
    J = ag.jacobian(lambda x: ag.stack([x[0] * x[1], x[0].sin(), x[1] ** 2]))(np.array([2.0, 3.0]))
    assert J.shape == (3, 2)
    np.testing.assert_allclose(J, [[3.0, 2.0], [np.cos(2.0), 0.0], [0.0, 6.0]])


def test_function_independent_of_input_has_zero_gradient():
    np.testing.assert_array_equal(ag.grad(lambda x: ag.Tensor(1.0, requires_grad=False) + 0)(
        np.ones(2)), [0.0, 0.0])


def test_grad_of_numpy_function_explains():
    with pytest.raises(TypeError, match="must return an optilab Tensor.*got float64.*x.sin"):
        ag.grad(lambda x: np.sin(np.asarray(x)))(1.0)


def test_grad_of_vector_function_explains():
    with pytest.raises(TypeError, match=r"must return a scalar, got shape \(2,\).*jacobian"):
        ag.grad(lambda x: x * 2)(np.ones(2))


def test_numpy_ufunc_on_tensor_runs_the_engine_op():
    y = np.sin(ag.Tensor(1.0))
    assert isinstance(y, ag.Tensor) and y._op is ag.sin


def test_namespace_functions_dispatch_on_type():
    assert isinstance(ag.exp(np.array(1.0)), (np.ndarray, np.floating))
    assert isinstance(ag.exp(ag.Tensor(1.0)), ag.Tensor)
