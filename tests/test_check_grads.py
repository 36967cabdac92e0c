"""check_grads over every operation of the engine, and what it says when a user's rule is wrong.

``check_grads(f, order=2)`` compares the engine's first and second derivatives (cross
derivatives included) with central finite differences.  Every operation listed in
``optilab.autograd.OPERATIONS`` (primitives and the operations derived from them) has a
case below, evaluated inside its smooth domain (positive arguments for log and sqrt, no
ties for maximum, no points on the kinks of relu, abs and clip); an operation added
without a case here fails ``test_every_operation_has_a_case``.
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


UNIT = RNG.uniform(-0.8, 0.8, (2, 3))     # inside the domain of arcsin, arccos, arctanh
M33 = RNG.standard_normal((3, 3))
SPD = M33 @ M33.T + 3 * np.eye(3)         # symmetric positive definite, distinct eigenvalues
V3 = RNG.standard_normal(3)


def spd(a):
    """A symmetric positive definite matrix made from any square a."""
    return a @ a.T + 3 * np.eye(3)


# name -> (function of the arguments, arguments): each function uses the named operation.
# Every name in ag.OPERATIONS has a case (test below); "name: variant" adds more.
CASES = {
    "add":          (lambda x, y: x + y, (A23, ROW3)),
    "subtract":     (lambda x, y: x - y, (ROW3, A23)),
    "multiply":     (lambda x, y: x * y, (A23, ROW3)),
    "divide":       (lambda x, y: x / y, (A23, POS23)),
    "power":        (lambda x, y: x ** y, (POS23, A23)),
    "negative":     (lambda x: -x, (A23,)),
    "matmul":       (lambda x, y: x @ y, (A23, B23.T)),
    "square":       (ag.square, (A23,)),
    "reciprocal":   (ag.reciprocal, (POS23,)),
    "exp":          (ag.exp, (A23,)),
    "exp2":         (ag.exp2, (A23,)),
    "expm1":        (ag.expm1, (A23,)),
    "log":          (ag.log, (POS23,)),
    "log2":         (ag.log2, (POS23,)),
    "log10":        (ag.log10, (POS23,)),
    "log1p":        (ag.log1p, (POS23,)),
    "sqrt":         (ag.sqrt, (POS23,)),
    "abs":          (lambda x: ag.abs(x) ** 3, (AWAY,)),
    "sign":         (lambda x: ag.sign(x) * x ** 3, (AWAY,)),
    "sin":          (ag.sin, (A23,)),
    "cos":          (ag.cos, (A23,)),
    "tan":          (ag.tan, (UNIT,)),
    "arcsin":       (ag.arcsin, (UNIT,)),
    "arccos":       (ag.arccos, (UNIT,)),
    "arctan":       (ag.arctan, (A23,)),
    "sinh":         (ag.sinh, (A23,)),
    "cosh":         (ag.cosh, (A23,)),
    "tanh":         (ag.tanh, (A23,)),
    "arcsinh":      (ag.arcsinh, (A23,)),
    "arccosh":      (ag.arccosh, (POS23 + 1.0,)),
    "arctanh":      (ag.arctanh, (UNIT,)),
    "sigmoid":      (ag.sigmoid, (A23,)),
    "softplus":     (ag.softplus, (A23,)),
    "relu":         (lambda x: ag.relu(x) ** 2, (AWAY,)),
    "arctan2":      (ag.arctan2, (A23, B23)),
    "hypot":        (ag.hypot, (A23, B23)),
    "logaddexp":    (ag.logaddexp, (A23, B23)),
    "logaddexp2":   (ag.logaddexp2, (A23, B23)),
    "maximum":      (lambda x, y: ag.maximum(x, y) ** 2, (AWAY, FAR)),
    "minimum":      (lambda x, y: ag.minimum(x, y) ** 2, (AWAY, FAR)),
    "clip":         (lambda x: ag.clip(x, -0.5, 0.9) ** 2, (AWAY,)),
    "clip: tensor bounds": (lambda x, lo, hi: ag.clip(x, lo, hi) ** 2,   # inside, below, above
                            (AWAY, AWAY + [[-0.3, 0.2, -0.3], [-0.3, -0.3, -0.3]],
                             AWAY + [[0.5, 0.5, 0.5], [-0.2, 0.5, 0.5]])),
    "where":        (lambda x, y: ag.where(MASK, x * x, y.sin()), (A23, B23)),
    "sum":          (lambda x: ag.sum(x * x, axis=-1, keepdims=True), (A23,)),
    "mean":         (lambda x: ag.mean(x * x, axis=0), (A23,)),
    "prod":         (lambda x: ag.prod(x, axis=1), (A23,)),
    "prod: one zero": (lambda x: ag.prod(x * x, axis=0), (np.array([[0.0, 1.0], [2.0, 3.0]]),)),
    "amax":         (lambda x: ag.amax(x, axis=0) ** 2, (AWAY,)),
    "amin":         (lambda x: ag.amin(x, axis=1, keepdims=True) ** 2, (AWAY,)),
    "max":          (lambda x: ag.max(x) * x, (AWAY,)),
    "min":          (lambda x: ag.min(x) * x, (AWAY,)),
    "cumsum":       (lambda x: ag.cumsum(x, axis=1) ** 2, (A23,)),
    "cumsum: flat": (lambda x: ag.cumsum(x) ** 2, (A23,)),
    "var":          (lambda x: ag.var(x, axis=1, ddof=1), (A23,)),
    "std":          (lambda x: ag.std(x, axis=0), (A23,)),
    "norm":         (lambda x: ag.norm(x, axis=1), (A23,)),
    "norm: ord 1":  (lambda x: ag.norm(x, 1, axis=0), (AWAY,)),
    "norm: ord inf": (lambda x: ag.norm(x, np.inf), (AWAY[0],)),
    "norm: ord 3":  (lambda x: ag.norm(x, 3), (AWAY[0],)),
    "norm: fro":    (lambda x: ag.norm(x, "fro"), (A23,)),
    "norm: matrix 2": (lambda x: ag.norm(x, 2), (A23,)),
    "norm: nuc":    (lambda x: ag.norm(x, "nuc"), (A23,)),
    "norm: matrix inf": (lambda x: ag.norm(x, np.inf), (AWAY,)),
    "logsumexp":    (lambda x: ag.logsumexp(x, axis=1), (A23,)),
    "softmax":      (lambda x: ag.softmax(x, axis=0), (A23,)),
    "log_softmax":  (lambda x: ag.log_softmax(x, axis=1), (A23,)),
    "argmax":       (lambda x: x[ag.argmax(x, axis=0), [0, 1, 2]] ** 2, (AWAY,)),
    "argmin":       (lambda x: x[ag.argmin(x)] * x, (AWAY.ravel(),)),
    "reshape":      (lambda x: ag.reshape(x, (3, 2)) ** 2, (A23,)),
    "ravel":        (lambda x: ag.ravel(x) ** 2, (A23,)),
    "squeeze":      (lambda x: ag.squeeze(x[:, :1]) ** 2, (A23,)),
    "expand_dims":  (lambda x: ag.expand_dims(x, 1) ** 2 * np.ones((2, 2, 3)), (A23,)),
    "transpose":    (lambda x: ag.transpose(x, (1, 0)) ** 2, (A23,)),
    "swapaxes":     (lambda x: ag.swapaxes(x, 0, 1) ** 2 * ROW3[:, None], (A23,)),
    "moveaxis":     (lambda x: ag.moveaxis(x, 0, -1) ** 2 * np.arange(12.0).reshape(3, 2, 2),
                     (RNG.standard_normal((2, 3, 2)),)),
    "broadcast_to": (lambda x: ag.broadcast_to(x, (4, 2, 3)) ** 2, (A23,)),
    "atleast_1d":   (lambda x: ag.atleast_1d(x) ** 3, (1.3,)),
    "atleast_2d":   (lambda x: ag.atleast_2d(x) ** 3, (ROW3,)),
    "atleast_3d":   (lambda x: ag.atleast_3d(x) ** 3, (A23,)),
    "concatenate":  (lambda x, y: ag.concatenate([x * x, y], axis=-1), (A23, B23)),
    "stack":        (lambda x, y: ag.stack([x, y.sin()], axis=1), (A23, B23)),
    "vstack":       (lambda x, y: ag.vstack([x, y]) ** 2, (A23, ROW3)),
    "hstack":       (lambda x, y: ag.hstack([x, y]) ** 2, (ROW3, V3)),
    "column_stack": (lambda x, y: ag.column_stack([x, y]) ** 2, (ROW3, V3)),
    "split":        (lambda x: ag.split(x, 3, axis=1)[1] ** 2, (A23,)),
    "array_split":  (lambda x: ag.array_split(x, 2, axis=1)[0] ** 2, (A23,)),
    "repeat":       (lambda x: ag.repeat(x, 2, axis=0) ** 3, (A23,)),
    "tile":         (lambda x: ag.tile(x, (2, 1)) ** 3 * np.arange(12.0).reshape(4, 3), (A23,)),
    "take":         (lambda x: ag.take(x, [2, 0, 2], axis=1) ** 3, (A23,)),
    "flip":         (lambda x: ag.flip(x, 1) ** 2 * ROW3, (A23,)),
    "roll":         (lambda x: ag.roll(x, 1, axis=1) ** 2 * ROW3, (A23,)),
    "diagonal":     (lambda x: ag.diagonal(x, 1) ** 3, (M33,)),
    "diag":         (lambda x: ag.diag(x, -1) ** 3, (V3,)),
    "tril":         (lambda x: ag.tril(x) ** 3, (M33,)),
    "triu":         (lambda x: ag.triu(x, 1) ** 3, (M33,)),
    "diff":         (lambda x: ag.diff(x, 2, axis=1) ** 2, (RNG.standard_normal((2, 5)),)),
    "dot":          (lambda x, y: ag.dot(x, y) ** 2, (A23, V3)),
    "inner":        (lambda x, y: ag.inner(x, y) ** 2, (A23, B23)),
    "outer":        (lambda x, y: ag.outer(x, y) ** 2, (ROW3, V3)),
    "tensordot":    (lambda x, y: ag.tensordot(x, y, axes=([1], [0])) ** 2, (A23, M33)),
    "einsum":       (lambda x, y: ag.einsum("ij,kj->ik", x, y) ** 2, (A23, B23)),
    "einsum: sum over one operand": (lambda x, y: ag.einsum("ij,k->ik", x, y) ** 2, (A23, V3)),
    "trace":        (lambda x: ag.trace(x @ x), (M33,)),
    "solve":        (lambda a, b: ag.solve(spd(a), b), (M33, V3)),
    "solve: matrix right side": (lambda a, b: ag.solve(spd(a), b), (M33, B23.T)),
    "inv":          (lambda a: ag.inv(spd(a)), (M33,)),
    "det":          (ag.det, (M33,)),
    "slogdet":      (lambda a: ag.slogdet(a)[1], (M33,)),
    "cholesky":     (lambda a: ag.cholesky(spd(a)), (M33,)),
    "eigvalsh":     (ag.eigvalsh, (SPD,)),
    "eigh":         (lambda a: ag.eigh(a)[1] ** 2, (SPD,)),     # squared: the sign is free
}


def cases_of(name: str) -> list[str]:
    return [case for case in CASES if case.split(":")[0] == name]


def test_every_operation_has_a_case():
    assert [name for name in ag.OPERATIONS if not cases_of(name)] == []


def test_every_exported_primitive_is_an_operation():
    primitives = {name for name in ag.__all__ if isinstance(getattr(ag, name), Primitive)}
    assert primitives <= set(ag.OPERATIONS)


@pytest.mark.parametrize("name", sorted(n for n in CASES if isinstance(getattr(ag, n, None),
                                                                       Primitive)))
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


def multiply_with_numpy_rule() -> Primitive:
    """d(xy)/dx = y computed with numpy: right first derivatives, wrong cross derivative."""
    mul = ag.primitive(lambda x, y: x * y)
    return ag.defvjp(mul, lambda g, ans, x, y: g * np.asarray(getattr(y, "value", y)),
                     lambda g, ans, x, y: g * x)


def test_wrong_cross_derivative_is_caught_at_order_2():
    mul = multiply_with_numpy_rule()
    ag.check_grads(mul, order=1)(0.7, 1.3)
    with pytest.raises(AssertionError, match=r"argument 1 at order 2 \(differentiating the "
                                             r"derivative in argument 0\)"):
        ag.check_grads(mul, order=2)(0.7, 1.3)


def test_check_grads_without_a_point_explains():
    with pytest.raises(TypeError, match="needs the point"):
        ag.check_grads(ag.sin)()


def test_rule_computed_with_numpy_passes_first_order_only():
    sin = sin_with_numpy_rule()
    ag.check_grads(sin, order=1)(1.3)
    with pytest.raises(AssertionError, match=r"argument 0 at order 2.*numpy.*optilab operations"), \
            pytest.warns(ag.GradientLostWarning):        # np.asarray inside the rule is named
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
