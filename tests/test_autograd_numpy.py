"""numpy's own functions on Tensors: the engine's op runs, or an error names the function.

A student writes ``np.dot(w, w)`` or ``lam * np.linalg.norm(w) ** 2`` in a loss.  Before,
numpy read the Tensor through ``__array__`` and the term silently lost its gradient.  Now
numpy hands the call to the Tensor (``__array_function__``, ``__array_ufunc__``): each
case below must give the same gradient as the engine's own spelling, and a function the
engine cannot differentiate must raise, never return a detached number.
"""

import numpy as np
import pytest

import optilab.autograd as ag
from optilab.autograd import Tensor

RNG = np.random.default_rng(3)
W = RNG.standard_normal(4)
A = RNG.standard_normal((3, 4))
SPD = A[:, :3].T @ A[:, :3] + 2 * np.eye(3)

# name -> (loss written with numpy's functions, the same loss in the engine's spelling)
SAME_AS_ENGINE = {
    "dot": (lambda w: (w ** 2).sum() + np.dot(w, w), lambda w: 2 * (w * w).sum()),
    "norm regulariser": (lambda w: 0.1 * np.linalg.norm(w) ** 2, lambda w: 0.1 * (w * w).sum()),
    "clip": (lambda w: np.sum(np.clip(w, -0.5, 0.5) ** 2),
             lambda w: (ag.clip(w, -0.5, 0.5) ** 2).sum()),
    "where": (lambda w: np.sum(np.where(W > 0, w ** 2, -w)),
              lambda w: ag.where(W > 0, w ** 2, -w).sum()),
    "transpose": (lambda w: np.sum(np.transpose(w.reshape(2, 2)) * [[1, 2], [3, 4]]),
                  lambda w: (w.reshape(2, 2).T * np.array([[1, 2], [3, 4]])).sum()),
    "concatenate": (lambda w: np.sum(np.concatenate([w, w ** 2]) ** 2),
                    lambda w: ((w ** 2).sum() + (w ** 4).sum())),
    "stack": (lambda w: np.sum(np.stack([w, 2 * w]) ** 2), lambda w: 5 * (w * w).sum()),
    "outer": (lambda w: np.sum(np.outer(w, w) ** 2), lambda w: (w * w).sum() ** 2),
    "trace": (lambda w: np.trace(np.outer(w, w)), lambda w: (w * w).sum()),
    "var": (lambda w: np.var(w), lambda w: ((w - w.mean()) ** 2).mean()),
    "std ddof": (lambda w: np.std(w, ddof=1), lambda w: (((w - w.mean()) ** 2).sum() / 3).sqrt()),
    "einsum": (lambda w: np.einsum("i,ij,j->", w, np.outer(W, W), w),
               lambda w: (w * W).sum() ** 2),
    "solve": (lambda w: np.sum(np.linalg.solve(SPD, w[:3])), lambda w: (ag.inv(SPD) @ w[:3]).sum()),
    "ufunc sin": (lambda w: np.sum(np.sin(w)), lambda w: w.sin().sum()),
    "ufunc maximum": (lambda w: np.sum(np.maximum(w, 0.1)), lambda w: ag.maximum(w, 0.1).sum()),
    "array times tensor": (lambda w: np.sum(A @ w), lambda w: (ag.matmul(A, w)).sum()),
    "float64 times tensor": (lambda w: np.float64(3.0) * w.sum(), lambda w: 3.0 * w.sum()),
    "add.reduce": (lambda w: np.add.reduce(w ** 2), lambda w: (w ** 2).sum()),
    "max": (lambda w: np.max(w ** 2), lambda w: (w ** 2).max()),
    "mean axis": (lambda w: np.mean(w.reshape(2, 2) ** 2, axis=0).sum(),
                  lambda w: (w.reshape(2, 2) ** 2).mean(0).sum()),
    "prod": (lambda w: np.prod(w), lambda w: w[0] * w[1] * w[2] * w[3]),
    "cumsum": (lambda w: np.sum(np.cumsum(w) ** 2), lambda w: (ag.cumsum(w) ** 2).sum()),
    "linalg.det": (lambda w: np.linalg.det(np.outer(w[:2], w[2:]) + np.eye(2)),
                   lambda w: ag.det(ag.outer(w[:2], w[2:]) + np.eye(2))),
}


@pytest.mark.parametrize("name", SAME_AS_ENGINE)
def test_numpy_function_keeps_the_gradient(name):
    numpy_loss, engine_loss = SAME_AS_ENGINE[name]
    np.testing.assert_allclose(ag.grad(numpy_loss)(W), ag.grad(engine_loss)(W), rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("name", ["dot", "norm regulariser", "einsum", "solve", "linalg.det"])
def test_numpy_function_keeps_the_second_derivative(name):
    numpy_loss, engine_loss = SAME_AS_ENGINE[name]
    np.testing.assert_allclose(ag.hessian(numpy_loss)(W), ag.hessian(engine_loss)(W),
                               rtol=1e-10, atol=1e-12)


def test_the_issues_example_gives_four_and_eight():
    grad = ag.grad(lambda w: (w ** 2).sum() + np.dot(w, w))(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(grad, [4.0, 8.0])


def test_numpy_function_without_a_rule_names_itself():
    with pytest.raises(TypeError, match=r"np\.sort has no derivative rule.*silently drop"):
        ag.grad(lambda w: np.sort(w).sum())(W)


def test_numpy_ufunc_without_a_rule_names_itself():
    with pytest.raises(TypeError, match=r"np\.remainder has no derivative rule"):
        ag.grad(lambda w: np.remainder(w, 2.0).sum())(W)


def test_numpy_function_on_constants_runs_numpy():
    """No gradient to lose: a Tensor that does not track gradients is just numbers."""
    c = Tensor(W, requires_grad=False)
    np.testing.assert_array_equal(np.sort(c), np.sort(W))
    with ag.no_grad():
        np.testing.assert_array_equal(np.sort(Tensor(W)), np.sort(W))


def test_functions_without_derivatives_run_on_the_numbers():
    x = Tensor(W)
    assert np.argmax(x) == np.argmax(W)
    assert np.shape(x) == (4,)
    assert np.allclose(x, W)
    np.testing.assert_array_equal(np.isfinite(x), np.ones(4, bool))


def test_writing_into_an_array_is_refused():
    out = np.zeros(4)
    with pytest.raises(TypeError, match="in place"):
        np.add(Tensor(W), 1.0, out=out)


def test_numpy_options_the_engine_does_not_take_are_named():
    with pytest.raises(TypeError, match="dtype="):
        np.sum(Tensor(W), dtype=np.float32)


def test_sum_over_a_numpy_integer_axis_of_a_big_array():
    x = Tensor(np.ones((70000, 2)))
    np.testing.assert_array_equal(x.sum(axis=np.int64(0)).value, [70000.0, 70000.0])
    x.sum(axis=np.int64(1)).sum().backward()
    assert x.grad.shape == (70000, 2)


def test_clip_with_tensor_bounds_sends_the_gradient_to_the_bound_that_is_hit():
    x, lo, hi = Tensor([-2.0, 0.0, 2.0]), Tensor([-1.0, -1.0, -1.0]), Tensor([1.0, 1.0, 1.0])
    ag.clip(x, lo, hi).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(lo.grad, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad, [0.0, 0.0, 1.0])


def test_where_with_a_tensor_mask():
    x = Tensor([1.0, -2.0])
    mask = Tensor([True, False])              # a Tensor mask, even one that "tracks"
    ag.where(mask, x * 3, x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, -4.0])


def test_tensor_of_tracked_tensors_is_refused():
    x = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="stack"):
        Tensor([x[0] ** 2, x[1]])


@pytest.mark.parametrize("value, dtype, match", [
    (np.array([1 + 2j]), None, "real numbers only"),
    (1.0, np.float32, "float64 only"),
])
def test_what_the_engine_does_not_do_is_named(value, dtype, match):
    with pytest.raises(TypeError, match=match):
        Tensor(value, dtype=dtype)


# ------------------------------------------------- numpy's own answers, on Tensors too

# name -> (numpy function, array argument, other arguments, what to read from the result)
SAME_VALUE_AS_NUMPY = {
    "expand_dims with a list": (np.expand_dims, np.arange(3.0), dict(axis=[-1, 0]), None),
    "eigvalsh reads the lower triangle": (np.linalg.eigvalsh, np.array([[2.0, 5.0], [0.0, 3.0]]),
                                          {}, None),
    "cholesky reads the lower triangle": (np.linalg.cholesky, np.array([[4.0, 9.0], [1.0, 3.0]]),
                                          {}, None),
    "norm of negative order at a zero": (np.linalg.norm, np.array([0.0, 1.0, 2.0]),
                                         dict(ord=-1), None),
    "slogdet by field": (np.linalg.slogdet, np.diag([2.0, -3.0]), {}, "logabsdet"),
    "eigh by field": (np.linalg.eigh, np.diag([2.0, 1.0]), {}, "eigenvalues"),
    "split by keyword": (np.split, np.arange(4.0), dict(indices_or_sections=2), 1),
    "a default given explicitly": (np.sum, np.arange(3.0), dict(dtype=np.float64), None),
}


@pytest.mark.parametrize("name", SAME_VALUE_AS_NUMPY)
def test_numpy_functions_on_tensors_give_numpys_values(name):
    func, array, kwargs, part = SAME_VALUE_AS_NUMPY[name]
    with np.errstate(divide="ignore"):
        ours, theirs = func(Tensor(array), **kwargs), func(array, **kwargs)
    if isinstance(part, str):
        ours, theirs = getattr(ours, part), getattr(theirs, part)
    elif part is not None:
        ours, theirs = ours[part], theirs[part]
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-12)


def test_solve_with_a_batch_of_matrices_and_one_vector_matches_torch():
    torch = pytest.importorskip("torch")
    A = RNG.standard_normal((3, 3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal(3)
    ours = ag.grad(lambda b: np.linalg.solve(A, b).sum())(b)
    bt = torch.tensor(b, requires_grad=True)
    torch.linalg.solve(torch.tensor(A), bt.expand(3, 3).unsqueeze(-1)).sum().backward()
    np.testing.assert_allclose(ours, bt.grad.numpy(), rtol=1e-12)


def test_prod_of_a_long_vector_with_one_zero_is_fast_and_right():
    x = np.ones(100_000)
    x[5], x[6] = 0.0, 3.0
    g = ag.grad(lambda x: ag.prod(x))(x)
    assert g[5] == 3.0 and np.count_nonzero(g) == 1


def test_std_of_equal_entries_has_slope_zero():
    np.testing.assert_array_equal(ag.grad(np.std)(np.ones(3)), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("call, match", [
    (lambda t: ag.moveaxis(t, 2, 0), "axis 2 is out of range"),
    (lambda t: np.einsum("ii", t), "repeated index"),
    (lambda t: np.fmax(t, t), r"np\.fmax has no derivative rule"),
    (lambda t: np.linalg.svd(t), r"np\.linalg\.svd has no derivative rule"),
    (lambda t: ag.sum([t, t]), r"list of Tensors.*ag\.stack"),
    (lambda t: np.tril(t[0]), "takes a matrix"),
])
def test_what_the_engine_cannot_do_is_named(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call(Tensor(np.eye(2)))
