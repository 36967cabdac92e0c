"""check_grads over every exported primitive, and what it says when a user's rule is wrong.

``check_grads(f, order=2)`` compares the engine's first and second derivatives with
central finite differences.  Every Primitive exported by ``optilab.autograd`` has a case
below, evaluated inside its smooth domain (positive arguments for log and sqrt, no ties
for maximum, no points on the kinks of relu, abs and clip); a primitive added to
``__all__`` without a case here fails ``test_every_exported_primitive_has_a_case``.
"""

import numpy as np
import pytest

import optilab.autograd as ag
from optilab.autograd import Primitive, Tensor
from optilab.autograd.backward import toposort

RNG = np.random.default_rng(20240611)
A23 = RNG.standard_normal((2, 3))          # a generic 2x3 argument
B23 = RNG.standard_normal((2, 3))
ROW3 = RNG.standard_normal(3)              # broadcasts against A23
POS23 = RNG.uniform(0.5, 2.0, (2, 3))      # inside the domain of log, sqrt, x ** y
AWAY = np.array([[-1.3, -0.4, 0.7], [0.2, 1.1, -0.8]])  # 0.2 or more away from 0
FAR = AWAY + np.array([[0.9, -0.6, 0.5], [-0.7, 0.4, -0.3]])  # never ties with AWAY
MASK = np.array([[True, False, True], [False, False, True]])


# name -> (function of the arguments, arguments): each function uses the named primitive
CASES = {
    "add":          (lambda x, y: x + y, (A23, ROW3)),
    "subtract":     (lambda x, y: x - y, (ROW3, A23)),
    "multiply":     (lambda x, y: x * y, (A23, ROW3)),
    "divide":       (lambda x, y: x / y, (A23, POS23)),
    "power":        (lambda x, y: x ** y, (POS23, A23)),
    "negative":     (lambda x: -x, (A23,)),
    "matmul":       (lambda x, y: x @ y, (A23, B23.T)),
    "exp":          (ag.exp, (A23,)),
    "log":          (ag.log, (POS23,)),
    "sin":          (ag.sin, (A23,)),
    "cos":          (ag.cos, (A23,)),
    "tanh":         (ag.tanh, (A23,)),
    "sigmoid":      (ag.sigmoid, (A23,)),
    "relu":         (lambda x: ag.relu(x) ** 2, (AWAY,)),
    "abs":          (lambda x: ag.abs(x) ** 3, (AWAY,)),
    "sqrt":         (ag.sqrt, (POS23,)),
    "maximum":      (lambda x, y: ag.maximum(x, y) ** 2, (AWAY, FAR)),
    "minimum":      (lambda x, y: ag.minimum(x, y) ** 2, (AWAY, FAR)),
    "clip":         (lambda x: ag.clip(x, -0.5, 0.9) ** 2, (AWAY,)),
    "where":        (lambda x, y: ag.where(MASK, x * x, y.sin()), (A23, B23)),
    "sum":          (lambda x: ag.sum(x * x, axis=-1, keepdims=True), (A23,)),
    "mean":         (lambda x: ag.mean(x * x, axis=0), (A23,)),
    "logsumexp":    (lambda x: ag.logsumexp(x, axis=1), (A23,)),
    "softmax":      (lambda x: ag.softmax(x, axis=0), (A23,)),
    "reshape":      (lambda x: ag.reshape(x, (3, 2)) ** 2, (A23,)),
    "transpose":    (lambda x: ag.transpose(x, (1, 0)) ** 2, (A23,)),
    "broadcast_to": (lambda x: ag.broadcast_to(x, (4, 2, 3)) ** 2, (A23,)),
}


def exported_primitives() -> dict[str, Primitive]:
    return {name: getattr(ag, name) for name in ag.__all__
            if isinstance(getattr(ag, name), Primitive)}


def test_every_exported_primitive_has_a_case():
    assert set(CASES) == set(exported_primitives())


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_exercises_its_primitive(name):
    f, args = CASES[name]
    y = f(*[Tensor(a) for a in args])
    assert getattr(ag, name) in {node._op for node in toposort(y)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_and_second_derivatives_match_finite_differences(name):
    f, args = CASES[name]
    ag.check_grads(f, order=2)(*args)


# joining functions and the primitives behind indexing, exported as plain functions
@pytest.mark.parametrize("f, args", [
    (lambda x, y: ag.concatenate([x * x, y], axis=-1), (A23, B23)),
    (lambda x, y: ag.stack([x, y.sin()], axis=1), (A23, B23)),
    (lambda x: x[[0, 1, 0], ::-2] ** 3, (A23,)),           # getitem, then untake at order 2
    (lambda x: x[MASK].exp(), (A23,)),
], ids=["concatenate", "stack", "getitem-fancy", "getitem-mask"])
def test_joining_and_indexing_match_finite_differences(f, args):
    ag.check_grads(f, order=2)(*args)


def test_check_grads_of_a_composite_function_of_two_arguments():
    def f(w, x):
        return ag.logsumexp(ag.tanh(x @ w) * 3.0, axis=0) / (1.0 + (w * w).sum())

    ag.check_grads(f, order=2)(RNG.standard_normal((3, 2)), RNG.standard_normal((4, 3)))


# ---------------------------------------------------------------- wrong rules are caught


def cube_with_wrong_rule() -> Primitive:
    cube = ag.primitive(lambda x: x ** 3)
    return ag.defvjp(cube, lambda g, ans, x: g * 2 * x ** 2)    # should be 3 x^2


def sin_with_numpy_rule() -> Primitive:
    """Right first derivative, but np.cos of the raw value is a constant to the engine."""
    sin = ag.primitive(np.sin)
    return ag.defvjp(sin, lambda g, ans, x: g * np.cos(np.asarray(x)))


def test_wrong_rule_makes_check_grads_raise():
    with pytest.raises(AssertionError):
        ag.check_grads(cube_with_wrong_rule())(1.3)


def test_wrong_rule_message_names_argument_order_numbers_and_cause():
    with pytest.raises(AssertionError) as info:
        ag.check_grads(lambda x, y: x * cube_with_wrong_rule()(y))(0.7, 1.3)
    message = str(info.value)
    assert "argument 1 at order 1" in message
    assert "backward pass gives" in message and "finite differences give" in message
    assert "derivative rule is likely wrong" in message


def test_rule_computed_with_numpy_passes_first_order_only():
    sin = sin_with_numpy_rule()
    ag.check_grads(sin, order=1)(1.3)
    with pytest.raises(AssertionError, match=r"argument 0 at order 2.*numpy.*optilab operations"):
        ag.check_grads(sin, order=2)(1.3)


# ------------------------------------------- a user-defined, numerically stable logsumexp


@ag.primitive
def stable_logsumexp(x):
    """log sum exp x, computed as m + log sum exp(x - m) with m = max x (no overflow)."""
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


ag.defvjp(stable_logsumexp, lambda g, ans, x: g * ag.exp(x - ans))   # d/dx = softmax(x)


def naive_logsumexp(x):
    return x.exp().sum().log()


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


BIG = np.array([1000.0, 1000.5])
SMALL = np.array([0.3, -1.2, 0.8])


def test_naive_logsumexp_overflows_at_1000():
    with np.errstate(all="ignore"):
        assert not np.isfinite(ag.grad(naive_logsumexp)(BIG)).all()


def test_stable_logsumexp_value_at_1000():
    assert stable_logsumexp(BIG) == pytest.approx(1000.5 + np.log1p(np.exp(-0.5)), rel=1e-15)


def test_stable_logsumexp_grad_at_1000_is_softmax():
    np.testing.assert_allclose(ag.grad(stable_logsumexp)(BIG), softmax(BIG), rtol=1e-12)


def test_stable_logsumexp_hessian_at_1000():
    s = softmax(BIG)
    np.testing.assert_allclose(ag.hessian(stable_logsumexp)(BIG), np.diag(s) - np.outer(s, s),
                               rtol=1e-10)


def test_stable_logsumexp_passes_check_grads_at_1000():
    ag.check_grads(stable_logsumexp, order=2)(BIG)


def test_stable_logsumexp_grad_matches_naive_formula_at_small_values():
    np.testing.assert_allclose(ag.grad(stable_logsumexp)(SMALL), ag.grad(naive_logsumexp)(SMALL),
                               rtol=1e-12)


def test_stable_logsumexp_hessian_matches_naive_formula_at_small_values():
    np.testing.assert_allclose(ag.hessian(stable_logsumexp)(SMALL),
                               ag.hessian(naive_logsumexp)(SMALL), rtol=1e-10, atol=1e-14)
