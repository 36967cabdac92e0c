"""grad, value_and_grad, jacobian, hessian, hvp: what they return and the errors they give."""

import re
from pathlib import Path

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
    with pytest.raises(TypeError, match="must return an optilab Tensor.*got float64.*x.sin"), \
            pytest.warns(ag.GradientLostWarning, match=r"np.asarray\(x\)"):
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


# ------------------------------------------------------------------ the README's list

def test_readme_lists_every_operation_by_family():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("<!-- operations -->")[1].split("<!-- /operations -->")[0]
    listed = {}
    for line in block.strip().splitlines():            # "- family: `op`, `op`, ..."
        family, names = line.removeprefix("- ").split(":", 1)
        listed[family] = set(re.findall(r"`(\w+)`", names))
    families = {"arithmetic": ag.ARITHMETIC, "elementwise": ag.ELEMENTWISE,
                "reductions": ag.REDUCTIONS, "shapes": ag.SHAPES, "linear algebra": ag.LINALG}
    for family, names in families.items():
        assert set(names) <= listed[family], family


# ------------------------------------------------------------------ nested derivatives

def test_inner_grad_keeps_the_outer_variable():
    """d/dx [x * d/dy (x y)] = d/dx x^2 = 2x: the inner gradient x must stay a function of x."""
    assert ag.grad(lambda x: x * ag.grad(lambda y: x * y)(2.0))(1.0) == 2.0


def test_mixed_partial_through_a_second_argument():
    f = lambda x, y: x ** 2 * y ** 3                 # d2f/dxdy = 6 x y^2
    assert ag.grad(lambda x: ag.grad(f, 1)(x, 3.0))(2.0) == pytest.approx(6 * 2 * 9)


def test_gradient_penalty_reaches_the_parameters():
    w = ag.Tensor([1.0, 2.0])
    penalty = (ag.grad(lambda x: (w * x ** 2).sum())(np.array([1.0, 1.0])) ** 2).sum()
    penalty.backward()                               # sum (2 w x)^2 -> d/dw = 8 w x^2
    np.testing.assert_allclose(w.grad, [8.0, 16.0])


def test_grad_without_outer_variables_returns_numpy():
    assert isinstance(ag.grad(lambda x: ag.grad(lambda y: y ** 3)(x))(2.0), np.ndarray)


def test_hessian_of_a_dict_input_function_is_over_the_flattened_vector():
    H = ag.hessian(lambda d: (d["a"] ** 2 * d["b"]).sum())({"a": np.array([1.0, 2.0]), "b": 3.0})
    np.testing.assert_allclose(H, [[6, 0, 2], [0, 6, 4], [2, 4, 0]])


def test_hvp_in_a_chosen_argument():
    f = lambda x, y: (x ** 2 * y ** 2).sum()          # d2f/dy2 = diag(2 x^2)
    np.testing.assert_allclose(ag.hvp(f, argnum=1)(np.array([1.0, 2.0]), np.array([3.0, 4.0]),
                                                   np.array([1.0, 1.0])), [2.0, 8.0])


def test_several_argnums_give_a_tuple():
    assert ag.grad(lambda x, y: x * y ** 2, argnum=(0, 1))(2.0, 3.0) == (9.0, 12.0)


def test_jvp_and_gauss_newton_product():
    r = lambda x: ag.stack([x[0] * x[1], x[0] ** 2])  # J = [[x1, x0], [2 x0, 0]]
    x, v = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    J = np.array([[2.0, 1.0], [2.0, 0.0]])
    value, jv = ag.jvp(r)(x, v)
    np.testing.assert_allclose(value, [2.0, 1.0])
    np.testing.assert_allclose(jv, J @ v)
    np.testing.assert_allclose(ag.gnvp(r)(x, v), J.T @ J @ v)
