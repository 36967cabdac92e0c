"""optilab.functions and optilab.ops: one function source, three kinds of input, proven minima.

For every built-in test function: the same value on numbers, numpy grids, torch tensors and
optilab tensors; the same gradient from torch and from optilab.autograd; at each listed
minimiser the value is f_min, the gradient vanishes (or, at a kink, every one-sided slope is
positive), the Hessian is positive semi-definite, a local search from nearby finds nothing
lower, and nothing on the plot grid is lower than f_min.  Then the registry and the API.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import optilab.autograd as ag
from optilab import functions as F
from optilab import ops
from optilab.functions import TestFunction

ALL = [F.get(name) for name in F.names()]
BUILTIN_NAMES = [
    "square", "abs_kink", "quadratic_shifted", "bumpy_1d", "gaussian_well", "saddle",
    "cubic_saddle", "ripple", "bumpy_2d", "rosenbrock", "beale", "himmelblau", "booth",
    "rastrigin", "ackley", "six_hump_camel", "matyas",
]
by_name = pytest.mark.parametrize("tf", ALL, ids=[tf.name for tf in ALL])


def all_minimizers(tf: TestFunction) -> list[tuple[float, ...]]:
    return list(tf.minimizers) + list(tf.local_minimizers)


def smooth_minimizers(tf: TestFunction) -> list[tuple[float, ...]]:
    return [p for p in all_minimizers(tf) if p not in tf.kinks]


def ranges(tf: TestFunction) -> list[tuple[float, float]]:
    return [tf.x_range] if tf.dim == 1 else [tf.x_range, tf.y_range]


def points_in_range(tf: TestFunction) -> st.SearchStrategy[tuple[float, ...]]:
    return st.tuples(*(st.floats(lo, hi) for lo, hi in ranges(tf)))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def torch_grad(torch, tf: TestFunction, p) -> np.ndarray:
    x = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    tf.at(x).backward()
    return x.grad.numpy()


def optilab_grad(tf: TestFunction, p) -> np.ndarray:
    return np.asarray(ag.grad(tf.at)(np.array(p, dtype=float)))


@pytest.fixture
def clean_registry():
    saved = dict(F._registry)
    yield
    F._registry.clear()
    F._registry.update(saved)


# -------------------------------------------------------------- one source, every input

def test_the_catalogue():
    assert F.names() == BUILTIN_NAMES
    for name in BUILTIN_NAMES:
        tf = getattr(F, name)
        assert F.get(name) is tf and F.FUNCTIONS[name] is tf
        assert tf.formula and tf.description and tf.starts
        assert tf.dim in (1, 2)
        assert (tf.f_min is None) == (not tf.minimizers)


@by_name
@settings(max_examples=25)
@given(data=st.data())
def test_same_value_on_numbers_numpy_torch_and_optilab(tf, data):
    torch = pytest.importorskip("torch")
    p = data.draw(points_in_range(tf))
    expected = float(tf(*p))                                             # Python floats
    assert math.isfinite(expected)
    assert float(tf(*(np.float64(c) for c in p))) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    on_optilab = tf(*(ag.Tensor(c) for c in p))
    assert isinstance(on_optilab, ag.Tensor)
    assert float(on_optilab) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    on_torch = tf(*(torch.tensor(c, dtype=torch.float64) for c in p))
    assert isinstance(on_torch, torch.Tensor)
    assert float(on_torch) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert float(tf.at(np.array(p))) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert float(tf.at(torch.tensor(p, dtype=torch.float64))) == pytest.approx(
        expected, rel=1e-12, abs=1e-12)


@by_name
def test_numpy_grids_are_vectorised_and_keep_their_shape(tf):
    rng = np.random.default_rng(0)
    coords = [rng.uniform(lo, hi, size=(3, 4)) for lo, hi in ranges(tf)]
    values = tf(*coords)
    assert isinstance(values, np.ndarray) and values.shape == (3, 4)
    for i, j in [(0, 0), (1, 2), (2, 3)]:
        assert values[i, j] == pytest.approx(float(tf(*(float(c[i, j]) for c in coords))),
                                             rel=1e-12, abs=1e-12)
    stacked = np.stack(coords, axis=-1)                                  # (3, 4, dim) points
    np.testing.assert_allclose(tf.at(stacked), values, rtol=1e-12, atol=1e-12)
    grid = tf.grid(n=9)
    assert len(grid) == tf.dim + 1
    assert all(a.shape == grid[0].shape for a in grid) and grid[0].shape == (9,) * tf.dim
    np.testing.assert_allclose(grid[-1], tf(*grid[:-1]), rtol=1e-12, atol=1e-12)


@by_name
@settings(max_examples=20)
@given(data=st.data())
def test_torch_and_optilab_give_the_same_gradient(tf, data):
    torch = pytest.importorskip("torch")
    p = data.draw(points_in_range(tf))
    assume(all(abs(c) > 1e-6 for c in p))                      # off the kinks of |x|, sqrt
    np.testing.assert_allclose(optilab_grad(tf, p), torch_grad(torch, tf, p),
                               rtol=1e-9, atol=1e-9)


# -------------------------------------------------------------------- proven minimisers

@by_name
def test_value_at_the_minimizers_is_f_min(tf):
    for p in tf.minimizers:
        assert float(tf.at(p)) == pytest.approx(tf.f_min, abs=1e-9)
    for p in tf.local_minimizers:                      # local: higher than the global minimum
        assert float(tf.at(p)) > tf.f_min + 1e-6


@by_name
def test_gradient_vanishes_at_smooth_minimizers(tf, torch):
    for p in smooth_minimizers(tf):
        np.testing.assert_allclose(torch_grad(torch, tf, p), 0.0, atol=1e-8, err_msg=str(p))
        np.testing.assert_allclose(optilab_grad(tf, p), 0.0, atol=1e-8, err_msg=str(p))


@by_name
def test_hessian_is_positive_semidefinite_at_smooth_minimizers(tf, torch):
    for p in smooth_minimizers(tf):
        H = np.asarray(ag.hessian(tf.at)(np.array(p)))
        H_torch = torch.autograd.functional.hessian(
            tf.at, torch.tensor(p, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(H, H_torch, rtol=1e-9, atol=1e-9)
        assert np.linalg.eigvalsh(H).min() >= -1e-8, (p, H)


@by_name
def test_kinks_are_minima_with_every_slope_going_up(tf):
    """At a kink the gradient is undefined; 0 is a subgradient when every one-sided slope
    (f(p + h d) - f(p)) / h is >= 0.  Here they are all clearly > 0: a strict minimum."""
    for p in tf.kinks:
        assert p in all_minimizers(tf)
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        directions = [np.array([1.0]), np.array([-1.0])] if tf.dim == 1 else \
            [np.array([np.cos(a), np.sin(a)]) for a in angles]
        for d in directions:
            for h in (1e-4, 1e-6):
                slope = (float(tf.at(np.array(p) + h * d)) - float(tf.at(p))) / h
                assert slope > 0.1, (p, d, h, slope)


@by_name
def test_no_lower_value_near_any_minimizer(tf):
    rng = np.random.default_rng(1)
    for p in all_minimizers(tf):
        p = np.array(p)
        f_p = float(tf.at(p))
        ball = p + 1e-3 * rng.uniform(-1, 1, size=(200, tf.dim))
        assert tf.at(ball).min() >= f_p - 1e-10, p
        for _ in range(3):                                      # a local search from nearby
            x0 = p + 1e-2 * rng.uniform(-1, 1, size=tf.dim)
            simplex = np.vstack([x0, x0 + 1e-3 * np.eye(tf.dim)])
            res = minimize(lambda q: float(tf.at(q)), x0, method="Nelder-Mead",
                           options={"initial_simplex": simplex, "xatol": 1e-10,
                                    "fatol": 1e-14, "maxiter": 5000})
            assert res.fun >= f_p - 1e-10, (p, res.x, res.fun)


@by_name
def test_nothing_on_the_plot_grid_is_below_f_min(tf):
    *_, values = tf.grid(n=401)
    if tf.f_min is None:
        assert not tf.minimizers
        return
    assert values.min() >= tf.f_min - 1e-9
    assert values.min() <= tf.f_min + 0.05 * (values.max() - values.min())


@by_name
def test_points_lie_in_the_plot_range(tf):
    for p in all_minimizers(tf) + list(tf.starts):
        for c, (lo, hi) in zip(p, ranges(tf)):
            assert lo <= c <= hi, (p, lo, hi)


@by_name
def test_starts_are_not_minimizers_nor_stationary(tf):
    for s in tf.starts:
        if tf.f_min is not None:
            assert float(tf.at(s)) > tf.f_min + 1e-3, s
        for p in all_minimizers(tf):
            assert np.linalg.norm(np.subtract(s, p)) > 1e-2, (s, p)
        assert np.linalg.norm(optilab_grad(tf, s)) > 1e-3, s


@pytest.mark.parametrize("tf", [F.saddle, F.cubic_saddle], ids=["saddle", "cubic_saddle"])
def test_saddles_have_a_flat_point_that_is_no_minimum(tf):
    assert tf.f_min is None and tf.minimizers == ()
    origin = np.zeros(2)
    np.testing.assert_allclose(optilab_grad(tf, origin), 0.0)      # stationary ...
    assert float(tf(0.0, 1e-3)) < float(tf(0.0, 0.0))              # ... but going down
    assert float(tf(0.0, 1e3)) < -1e5                              # and unbounded below


def test_the_course_minimizers_in_closed_form():
    # gaussian_well on x = 0: the slope vanishes where y^3 - 3y - 1 = 0, y = 2 cos(2 pi k / 9)
    y = F.gaussian_well.minimizers[0][1]
    assert y ** 3 - 3 * y - 1 == pytest.approx(0.0, abs=1e-12)
    assert F.ripple.minimizers[0][0] == pytest.approx(3 * math.pi / 2)
    assert F.quadratic_shifted(5.0) == pytest.approx(5.0 ** 2 + 2)        # = x^2 + 2
    # ripple: every point of the ring r = 3 pi / 2 is a minimiser
    for a in np.linspace(0, 2 * np.pi, 7):
        r = 3 * np.pi / 2
        assert float(F.ripple(r * np.cos(a), r * np.sin(a))) == pytest.approx(-1.0, abs=1e-12)
    # bumpy_2d: (0, -7) looks like the answer (f = 0) but descent leaves it
    assert float(F.bumpy_2d(0.0, -7.0)) == 0.0
    assert float(F.bumpy_2d(-1e-3, -7.0)) < 0.0


@by_name
def test_formulas_are_valid_mathtext(tf):
    mathtext = pytest.importorskip("matplotlib.mathtext")
    mathtext.MathTextParser("path").parse(tf.title)
    assert tf.title.startswith("$") and tf.title.endswith("$")


# ------------------------------------------------------------------ calling conventions

def test_at_takes_one_point_in_any_form(torch):
    rosen = F.rosenbrock
    assert rosen.at([1.0, 1.0]) == 0.0
    assert rosen.at((ag.Tensor(1.0), ag.Tensor(1.0))).item() == 0.0
    x, y = torch.tensor(-1.2, dtype=torch.float64, requires_grad=True), torch.tensor(1.0)
    rosen.at([x, y]).backward()                        # coordinates stay in the graph
    assert x.grad.item() == pytest.approx(-215.6)
    assert float(F.square.at(3.0)) == 9.0              # 1D: a scalar is a point
    assert float(F.square.at(np.array([3.0]))) == 9.0
    np.testing.assert_allclose(F.square.at(np.array([[1.0], [2.0]])), [1.0, 4.0])


def test_calling_mistakes_explain_themselves():
    with pytest.raises(TypeError, match=r"rosenbrock takes 2 coordinate\(s\) \(x, y\), got 1.*"
                                        r"rosenbrock\.at\(p\)"):
        F.rosenbrock(np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match=r"last axis.*got shape \(3,\).*rosenbrock\(x, y\)"):
        F.rosenbrock.at(np.zeros(3))
    with pytest.raises(ValueError, match="expects 2 coordinate"):
        F.rosenbrock.at([1.0])


def test_grid_falls_back_to_optilab_tensors_for_method_spelled_functions():
    tf = TestFunction("methods", lambda x, y: x.sin() * y.cos() + x.abs())
    X, Y, Z = tf.grid(n=5)
    np.testing.assert_allclose(Z, np.sin(X) * np.cos(Y) + np.abs(X))
    constant = TestFunction("flat", lambda x, y: 1.0)
    assert constant.grid(n=4)[2].shape == (4, 4)
    with pytest.raises(ValueError, match="1D and 2D"):
        TestFunction("cube", lambda x, y, z: x + y + z).grid()


def test_test_function_checks_its_fields():
    tf = TestFunction("bowl", lambda x, y: x ** 2 + y ** 2, minimizers=[[0, 0]], f_min=0)
    assert tf.dim == 2 and tf.minimizers == ((0.0, 0.0),) and tf.y_range == tf.x_range
    assert TestFunction("line", lambda t: t, minimizers=[2]).minimizers == ((2.0,),)
    assert str(inspect.signature(F.rosenbrock)) == "(x, y)"       # what run() may inspect
    assert repr(F.rosenbrock) == "<TestFunction rosenbrock(x, y): min 0 at (1, 1)>"
    assert repr(F.saddle) == "<TestFunction saddle(x, y): no minimum listed>"
    with pytest.raises(ValueError, match=r"minimizers must have 2 coordinate"):
        TestFunction("bad", lambda x, y: x, minimizers=[(1.0,)])
    with pytest.raises(ValueError, match="low < high"):
        TestFunction("bad", lambda x: x, x_range=(1, -1))
    with pytest.raises(ValueError, match="y_range is for 2D"):
        TestFunction("bad", lambda x: x, y_range=(0, 1))
    with pytest.raises(ValueError, match="pass dim="):
        TestFunction("bad", lambda *xs: sum(xs))
    assert TestFunction("n-d", lambda *xs: sum(xs), dim=3).dim == 3
    with pytest.raises(TypeError, match="f must be a function"):
        TestFunction("bad", 3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        F.rosenbrock.f_min = -1.0


# ------------------------------------------------------------------------- the registry

def test_get_accepts_spellings_and_test_functions():
    assert F.get("Six-hump camel") is F.six_hump_camel
    assert F.get(" ROSENBROCK ") is F.rosenbrock
    assert F.get(F.booth) is F.booth
    with pytest.raises(TypeError, match="name"):
        F.get(3)


def test_unknown_name_suggests_the_closest_and_lists_all():
    with pytest.raises(ValueError) as err:
        F.get("rosenbrok")
    message = str(err.value)
    assert "Did you mean 'rosenbrock'?" in message
    assert all(name in message for name in BUILTIN_NAMES)
    with pytest.raises(ValueError, match="unknown test function 'zzzz'. Valid names"):
        F.get("zzzz")


def test_functions_mapping_is_read_only():
    with pytest.raises(TypeError):
        F.FUNCTIONS["mine"] = F.booth


def test_register_a_function_by_name(clean_registry):
    tf = F.register("My bowl", lambda x, y: x ** 2 + 3 * y ** 2, formula="x^2 + 3y^2",
                    minimizers=[(0, 0)], f_min=0)
    assert F.get("my_bowl") is tf and F.FUNCTIONS["my_bowl"] is tf
    assert F.names()[-1] == "my_bowl"
    assert tf.dim == 2 and float(tf(1.0, 1.0)) == 4.0
    again = F.register("my bowl", lambda x, y: x ** 2 + y ** 2)   # a re-run notebook cell
    assert F.get("my_bowl") is again
    F.unregister("my_bowl")
    assert "my_bowl" not in F.names()


def test_register_a_test_function(clean_registry):
    tf = TestFunction("cone", lambda x, y: ops.sqrt(x ** 2 + y ** 2), kinks=[(0, 0)],
                      minimizers=[(0, 0)], f_min=0)
    assert F.register(tf) is tf and F.get("cone") is tf
    with pytest.raises(TypeError, match="takes no other fields"):
        F.register(tf, formula="r")
    with pytest.raises(TypeError, match="give the function too"):
        F.register("lonely")
    with pytest.raises(TypeError, match="TestFunction or a name"):
        F.register(lambda x: x)


def test_builtins_are_protected(clean_registry):
    mine = TestFunction("rosenbrock", lambda x, y: (1 - x) ** 2 + 10 * (y - x ** 2) ** 2)
    with pytest.raises(ValueError, match="built-in.*replace=True"):
        F.register(mine)
    with pytest.raises(ValueError, match="built-in"):
        F.register("Rosenbrock", mine.f)
    assert F.register(F.rosenbrock) is F.rosenbrock            # registering itself is fine
    F.register(mine, replace=True)
    assert F.get("rosenbrock") is mine
    F.unregister("rosenbrock")                                 # the original comes back
    assert F.get("rosenbrock") is F.rosenbrock
    with pytest.raises(ValueError, match="cannot be removed"):
        F.unregister("rosenbrock")
    with pytest.raises(ValueError, match="Did you mean"):
        F.unregister("rosenbrok")


# ------------------------------------------------------------------------------ ops

def test_ops_dispatch_on_the_argument_type(torch):
    names = ["exp", "log", "sin", "cos", "tanh", "sqrt", "abs", "sigmoid"]
    x = np.array([0.5, 2.0])
    for name in names:
        op = getattr(ops, name)
        expected = getattr(ag, name)(x)
        assert isinstance(op(x), np.ndarray)
        np.testing.assert_allclose(op(x), expected)
        assert op(0.5) == pytest.approx(expected[0])
        on_ours = op(ag.Tensor(x))
        assert isinstance(on_ours, ag.Tensor) and on_ours.requires_grad
        on_torch = op(torch.tensor(x))
        assert isinstance(on_torch, torch.Tensor)
        np.testing.assert_allclose(on_torch.numpy(), expected, rtol=1e-12)
        assert op.__name__ == name and f"x.{name}()" in op.__doc__
    assert ops.is_torch(torch.zeros(1)) and not ops.is_torch(np.zeros(1))


def test_importing_functions_does_not_import_torch():
    code = ("import sys, optilab.functions, optilab.ops; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'scipy', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
