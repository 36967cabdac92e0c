"""optilab.autograd against torch, in float64: one expression, two engines, same derivatives.

Every expression here is written once, against a small namespace (``OPTILAB`` or
``TORCH``) that spells each operation for its engine, and evaluated by both.  The first
half draws random expression trees with hypothesis; the second half pins down the cases
where shapes or conventions make mistakes likely (matmul, indexing, ties, large values).

Conventions compared at the kinks, where a derivative has to be chosen:

* ``maximum``/``minimum``: on a tie each argument gets half of the gradient (torch too);
* ``clip``: a value on a bound passes the gradient through (torch's ``clamp`` too);
* ``relu`` and ``abs`` at 0: gradient 0 (torch too);
* ``x ** y``: ``x ** 0`` has slope 0 even at x = 0, and d(0 ** y)/dy = 0 for y > 0 (torch too).

The engine has no max/min *reduction*, so torch's rule for those (split evenly among
tied entries) has nothing to be compared with.
"""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import optilab.autograd as ag
from optilab.autograd import Tensor

torch = pytest.importorskip("torch")
F64 = torch.float64
RTOL = 1e-8


# ============================================================ one namespace per engine


def _torch_reduce(reduce, x, axis, keepdims):
    """numpy's axis=None means every axis; a 0-d tensor has none to reduce."""
    dims = tuple(range(x.ndim)) if axis is None else axis
    if dims == ():
        return x
    return reduce(x, dim=dims, keepdim=keepdims)


def _torch_const(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=F64)


OPTILAB = SimpleNamespace(
    name="optilab",
    const=lambda a: np.asarray(a, dtype=np.float64),
    exp=ag.exp, log=ag.log, sin=ag.sin, cos=ag.cos, tanh=ag.tanh, sigmoid=ag.sigmoid,
    relu=ag.relu, abs=ag.abs, sqrt=ag.sqrt,
    maximum=ag.maximum, minimum=ag.minimum, where=ag.where,
    clip=lambda x, lo, hi: ag.clip(x, lo, hi),
    sum=lambda x, axis=None, keepdims=False: ag.sum(x, axis=axis, keepdims=keepdims),
    mean=lambda x, axis=None, keepdims=False: ag.mean(x, axis=axis, keepdims=keepdims),
    logsumexp=lambda x, axis=None, keepdims=False: ag.logsumexp(x, axis=axis,
                                                                keepdims=keepdims),
    softmax=lambda x, axis: ag.softmax(x, axis=axis),
    permute=lambda x, axes: ag.transpose(x, axes),
    concatenate=lambda xs, axis: ag.concatenate(xs, axis=axis),
    stack=lambda xs, axis: ag.stack(xs, axis=axis),
    broadcast_to=ag.broadcast_to,
)

TORCH = SimpleNamespace(
    name="torch",
    const=_torch_const,
    exp=torch.exp, log=torch.log, sin=torch.sin, cos=torch.cos, tanh=torch.tanh,
    sigmoid=torch.sigmoid, relu=torch.relu, abs=torch.abs, sqrt=torch.sqrt,
    maximum=lambda a, b: torch.maximum(a, _torch_const(b) if np.isscalar(b) else b),
    minimum=lambda a, b: torch.minimum(a, _torch_const(b) if np.isscalar(b) else b),
    where=torch.where,
    clip=lambda x, lo, hi: torch.clamp(x, lo, hi),
    sum=lambda x, axis=None, keepdims=False: _torch_reduce(torch.sum, x, axis, keepdims),
    mean=lambda x, axis=None, keepdims=False: _torch_reduce(torch.mean, x, axis, keepdims),
    logsumexp=lambda x, axis=None, keepdims=False: _torch_reduce(torch.logsumexp, x, axis,
                                                                 keepdims),
    softmax=lambda x, axis: torch.softmax(x, dim=axis),
    permute=lambda x, axes: x.permute(*axes),
    concatenate=lambda xs, axis: torch.cat(xs, dim=axis),
    stack=lambda xs, axis: torch.stack(xs, dim=axis),
    broadcast_to=torch.broadcast_to,
)


# ============================================================ differentiating with each


def first_derivatives(ops, f, arrays):
    """[df/dx for x in arrays] for the scalar f(ops, *xs), as numpy arrays."""
    if ops is OPTILAB:
        xs = [Tensor(a) for a in arrays]
        f(ops, *xs).backward()
        return [np.zeros(x.shape) if x.grad is None else np.asarray(x.grad) for x in xs]
    xs = [torch.tensor(a, dtype=F64, requires_grad=True) for a in arrays]
    grads = torch.autograd.grad(f(ops, *xs), xs, allow_unused=True, materialize_grads=True)
    return [g.numpy(force=True) for g in grads]


def split(v, shapes):
    """The inputs of the given shapes, cut from one flat vector (differentiably)."""
    out, start = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(v[start:start + n].reshape(shape))
        start += n
    return out


def hessian(ops, f, arrays):
    """The Hessian of f with respect to all its inputs, flattened into one vector."""
    shapes = [np.shape(a) for a in arrays]
    v = np.concatenate([np.ravel(a) for a in arrays]).astype(np.float64)
    if ops is OPTILAB:
        return ag.hessian(lambda z: f(ops, *split(z, shapes)))(v)
    H = torch.autograd.functional.hessian(lambda z: f(ops, *split(z, shapes)), torch.tensor(v))
    return H.numpy()


def grad_of_grad_norm(ops, f, arrays):
    """d/dx |df/dx|^2, with the inner gradient taken by backward(create_graph=True)."""
    if ops is OPTILAB:
        xs = [Tensor(a) for a in arrays]
        f(ops, *xs).backward(create_graph=True)
        inner = [x.grad for x in xs if x.grad is not None]
        for x in xs:
            x.grad = None
        norm = sum((g * g).sum() for g in inner)
        if not (isinstance(norm, Tensor) and norm.requires_grad):
            return [np.zeros(x.shape) for x in xs]     # the gradient is a constant
        norm.backward()
        return [np.zeros(x.shape) if x.grad is None else np.asarray(x.grad) for x in xs]
    xs = [torch.tensor(a, dtype=F64, requires_grad=True) for a in arrays]
    inner = torch.autograd.grad(f(ops, *xs), xs, create_graph=True, allow_unused=True)
    norm = sum((g * g).sum() for g in inner if g is not None)
    if not (isinstance(norm, torch.Tensor) and norm.requires_grad):
        return [np.zeros(x.shape) for x in xs]
    grads = torch.autograd.grad(norm, xs, allow_unused=True, materialize_grads=True)
    return [g.numpy(force=True) for g in grads]


def assert_close(actual, expected, rtol=RTOL):
    """rtol 1e-8; entries near zero may differ by 1e-10 of the largest entry (rounding)."""
    expected = np.asarray(expected, dtype=np.float64)
    atol = 1e-10 * max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    assert np.shape(actual) == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def assert_same_first_derivatives(f, *arrays):
    ours, theirs = first_derivatives(OPTILAB, f, arrays), first_derivatives(TORCH, f, arrays)
    for a, b in zip(ours, theirs):
        assert_close(a, b)


def assert_same_hessian(f, *arrays):
    assert_close(hessian(OPTILAB, f, arrays), hessian(TORCH, f, arrays))


# ============================================================ random expression trees
#
# A tree is nested tuples:
#   ("input", i)                           the i-th input
#   ("unary", name, child)                 UNARY[name]
#   ("binary", name, left, right)          BINARY[name]
#   ("reduce", name, axis, keepdims, child)  sum, mean or logsumexp over axis
#   ("softmax", axis, child)
#   ("permute", axes, child)               transpose (axes may be negative)
# The strategy tracks shapes, so every tree is valid for both engines.

UNARY = {
    "exp": lambda ops, u: ops.exp(u),
    "log": lambda ops, u: ops.log(u * u + 1.0),             # log of a positive number
    "sqrt": lambda ops, u: ops.sqrt(u * u + 1.0),
    "sin": lambda ops, u: ops.sin(u),
    "cos": lambda ops, u: ops.cos(u),
    "tanh": lambda ops, u: ops.tanh(u),
    "sigmoid": lambda ops, u: ops.sigmoid(u),
    "relu": lambda ops, u: ops.relu(u),
    "abs": lambda ops, u: ops.abs(u),
    "negative": lambda ops, u: -u,
    "square": lambda ops, u: u ** 2,
    "cube": lambda ops, u: u ** 3,
    "pow_fraction": lambda ops, u: (u * u + 1.0) ** 1.5,     # positive base
    "pow_negative": lambda ops, u: (u * u + 1.0) ** -0.5,
    "clip": lambda ops, u: ops.clip(u, -0.5, 0.8),
    "clip_below": lambda ops, u: ops.clip(u, -0.3, None),
    "add_constant": lambda ops, u: u + 0.7,
    "constant_minus": lambda ops, u: 1.5 - u,
    "times_constant": lambda ops, u: -1.3 * u,
    "constant_over": lambda ops, u: 2.0 / (u * u + 1.0),
    "over_constant": lambda ops, u: u / 3.0,
}

BINARY = {
    "add": lambda ops, a, b: a + b,
    "subtract": lambda ops, a, b: a - b,
    "multiply": lambda ops, a, b: a * b,
    "divide": lambda ops, a, b: a / (b * b + 1.0),           # a nonzero denominator
    "power": lambda ops, a, b: (a * a + 1.0) ** ops.sin(b),  # a tensor exponent
    "maximum": lambda ops, a, b: ops.maximum(a, b),
    "minimum": lambda ops, a, b: ops.minimum(a, b),
    "where": lambda ops, a, b: ops.where(a > 0.2, a, b),
}

ROOTS = ("sum", "mean", "logsumexp")


def build(ops, node, xs):
    """Evaluate the tree ``node`` on the inputs ``xs`` with the engine ``ops``."""
    kind = node[0]
    if kind == "input":
        return xs[node[1]]
    if kind == "unary":
        return UNARY[node[1]](ops, build(ops, node[2], xs))
    if kind == "binary":
        return BINARY[node[1]](ops, build(ops, node[2], xs), build(ops, node[3], xs))
    if kind == "reduce":
        _, name, axis, keepdims, child = node
        return getattr(ops, name)(build(ops, child, xs), axis, keepdims)
    if kind == "softmax":
        return ops.softmax(build(ops, node[2], xs), node[1])
    if kind == "permute":
        return ops.permute(build(ops, node[2], xs), node[1])
    raise ValueError(kind)


def _axes(draw, ndim):
    """None, one axis (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return None
    return draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
    ))


def draw_tree(draw, shapes, depth):
    """A random tree over inputs of the given shapes, and the shape of its value."""
    kinds = ["input"] if depth == 0 else [
        "input", "unary", "unary", "binary", "binary", "reduce", "softmax", "permute"]
    kind = draw(st.sampled_from(kinds))
    if kind == "input":
        i = draw(st.integers(0, len(shapes) - 1))
        return ("input", i), shapes[i]
    child, shape = draw_tree(draw, shapes, depth - 1)
    if kind == "unary":
        return ("unary", draw(st.sampled_from(sorted(UNARY))), child), shape
    if kind == "binary":
        right, right_shape = draw_tree(draw, shapes, depth - 1)
        try:
            shape = np.broadcast_shapes(shape, right_shape)
        except ValueError:               # after a reduction: sum the right side to a scalar
            right = ("reduce", "sum", None, False, right)
        return ("binary", draw(st.sampled_from(sorted(BINARY))), child, right), shape
    if kind == "reduce":
        name = draw(st.sampled_from(["sum", "mean", "logsumexp"]))
        axis, keepdims = _axes(draw, len(shape)), draw(st.booleans())
        new_shape = np.sum(np.zeros(shape), axis=axis, keepdims=keepdims).shape
        return ("reduce", name, axis, keepdims, child), new_shape
    if kind == "softmax" and shape:
        return ("softmax", draw(st.integers(-len(shape), len(shape) - 1)), child), shape
    if kind == "permute" and shape:
        perm = draw(st.permutations(range(len(shape))))
        axes = tuple(a - len(shape) if draw(st.booleans()) else a for a in perm)
        return ("permute", axes, child), tuple(shape[a] for a in perm)
    return child, shape                  # softmax or permute of a scalar: nothing to do


class Problem:
    """A random tree, random inputs, and a weighted reduction of its value to a scalar."""

    def __init__(self, shapes, tree, out_shape, root, seed):
        rng = np.random.default_rng(seed)
        self.shapes, self.tree, self.root = shapes, tree, root
        self.inputs = [rng.uniform(-2.0, 2.0, s) for s in shapes]
        self.weights = rng.uniform(-1.0, 1.0, out_shape)   # makes every entry count

    def __call__(self, ops, *xs):
        out = build(ops, self.tree, xs) * ops.const(self.weights)
        return getattr(ops, self.root)(out)

    def __repr__(self):
        return f"Problem(shapes={self.shapes}, root={self.root!r}, tree={self.tree})"


@st.composite
def problems(draw, max_depth=4):
    num_shapes = draw(st.integers(1, 3))
    shapes = draw(mutually_broadcastable_shapes(num_shapes=num_shapes, max_dims=3,
                                                max_side=3)).input_shapes
    tree, out_shape = draw_tree(draw, shapes, max_depth)
    problem = Problem(shapes, tree, out_shape, draw(st.sampled_from(ROOTS)),
                      draw(st.integers(0, 2**32 - 1)))
    with np.errstate(all="ignore"):
        value = build(OPTILAB, tree, [Tensor(a, requires_grad=False) for a in problem.inputs])
    assume(np.all(np.abs(np.asarray(value.value)) < 1e6))   # no overflow, no huge cancellation
    return problem


@given(problems())
def test_random_expression_values_match_torch(problem):
    ours = problem(OPTILAB, *[Tensor(a) for a in problem.inputs])
    theirs = problem(TORCH, *[torch.tensor(a, dtype=F64) for a in problem.inputs])
    assert_close(np.asarray(ours.value), theirs.numpy(), rtol=1e-10)


@given(problems())
def test_random_expression_first_derivatives_match_torch(problem):
    assert_same_first_derivatives(problem, *problem.inputs)


@given(problems(max_depth=3))
def test_random_expression_hessians_match_torch(problem):
    assert_same_hessian(problem, *problem.inputs)


@given(problems(max_depth=3))
def test_random_expression_grad_of_grad_norm_matches_torch(problem):
    ours = grad_of_grad_norm(OPTILAB, problem, problem.inputs)
    theirs = grad_of_grad_norm(TORCH, problem, problem.inputs)
    for a, b in zip(ours, theirs):
        assert_close(a, b)


def test_functional_grad_of_grad_norm_matches_torch():
    def f(ops, x):
        return (ops.sin(x) * x.exp()).sum() + (x * x).sum() ** 2

    x = np.array([0.3, -1.1, 0.7])
    ours = ag.grad(lambda z: (ag.grad(lambda w: f(OPTILAB, w))(z) ** 2).sum())(x)
    assert_close(ours, grad_of_grad_norm(TORCH, f, [x])[0])


# ============================================================ matmul shapes

MATMUL_SHAPES = {
    "vector@vector": ((3,), (3,)),
    "matrix@vector": ((2, 3), (3,)),
    "vector@matrix": ((3,), (3, 4)),
    "matrix@matrix": ((2, 3), (3, 4)),
    "batch@matrix": ((5, 2, 3), (3, 4)),
    "matrix@batch": ((2, 3), (5, 3, 4)),
    "batch@batch": ((5, 2, 3), (5, 3, 4)),
    "broadcast batches": ((4, 1, 2, 3), (5, 3, 2)),
    "vector@batch": ((3,), (5, 3, 2)),
    "batch@vector": ((5, 2, 3), (3,)),
}


def matmul_inputs(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    return [rng.standard_normal(s) for s in MATMUL_SHAPES[name]]


def matmul_loss(ops, x, y):
    return ops.sum(ops.sin(x @ y))


@pytest.mark.parametrize("name", MATMUL_SHAPES)
def test_matmul_gradients_match_torch(name):
    assert_same_first_derivatives(matmul_loss, *matmul_inputs(name))


@pytest.mark.parametrize("name", MATMUL_SHAPES)
def test_matmul_hessians_match_torch(name):
    assert_same_hessian(matmul_loss, *matmul_inputs(name))


# ============================================================ indexing

X45 = np.random.default_rng(45).standard_normal((4, 5))
MASK45 = X45 > 0.3

# name -> (index as optilab/numpy takes it, the same selection written for torch)
INDEXING = {
    "slice": (np.s_[1:3], lambda x: x[1:3]),
    "slices 2-d": (np.s_[1:, :4:2], lambda x: x[1:, :4:2]),
    "integer": (np.s_[2], lambda x: x[2]),
    "integer and slice": (np.s_[:, -1], lambda x: x[:, -1]),
    "negative step": (np.s_[::-1], lambda x: x.flip(0)),
    "negative step 2": (np.s_[1:, ::-2], lambda x: x.flip(1)[1:, ::2]),
    "fancy with repeats": (np.s_[[0, 0, 3, 0, 2]], lambda x: x[[0, 0, 3, 0, 2]]),
    "fancy pairs with repeats": (np.s_[[1, 1, 3], [4, 4, 0]], lambda x: x[[1, 1, 3], [4, 4, 0]]),
    "boolean mask": (MASK45, lambda x: x[torch.as_tensor(MASK45)]),
    "boolean rows": (MASK45[:, 0], lambda x: x[torch.as_tensor(MASK45[:, 0])]),
    "newaxis and ellipsis": (np.s_[None, ..., 1], lambda x: x[None, ..., 1]),
}


def index_loss(name):
    index, torch_index = INDEXING[name]
    picked = X45[index]
    weights = np.random.default_rng(len(name)).uniform(-1, 1, picked.shape)

    def f(ops, x):
        part = x[index] if ops is OPTILAB else torch_index(x)
        return ops.sum(part ** 3 * ops.const(weights))

    return f


@pytest.mark.parametrize("name", INDEXING)
def test_indexing_gradients_match_torch(name):
    assert_same_first_derivatives(index_loss(name), X45)


@pytest.mark.parametrize("name", ["fancy with repeats", "boolean mask", "negative step 2"])
def test_indexing_hessians_match_torch(name):
    assert_same_hessian(index_loss(name), X45)


def test_fancy_index_with_repeats_accumulates_the_gradient():
    x = Tensor([10.0, 20.0, 30.0, 40.0])
    (x[[0, 0, 2, 0]] * np.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0 + 2.0 + 4.0, 0.0, 3.0, 0.0])


# ============================================================ shapes and joins

R = np.random.default_rng(7)
A34, B34, C234 = R.standard_normal((3, 4)), R.standard_normal((3, 4)), R.standard_normal((2, 3, 4))

SHAPE_CASES = {
    "reshape": (lambda ops, x: ops.sin(x.reshape(4, 3)) * ops.const(np.arange(12.0).reshape(4, 3)),
                (A34,)),
    "reshape -1": (lambda ops, x: ops.exp(x.reshape(-1)) * ops.const(np.arange(24.0)), (C234,)),
    ".T": (lambda ops, x: x.T @ x, (A34,)),
    "transpose permutation": (lambda ops, x: ops.permute(x, (2, 0, 1)) ** 3, (C234,)),
    "transpose method 2-d": (lambda ops, x: x.transpose(0, 1) ** 3
                             * ops.const(np.arange(12.0).reshape(4, 3)), (A34,)),
    "transpose method 3-d": (lambda ops, x: x.transpose(0, -1) ** 3
                             * ops.const(np.arange(24.0).reshape(4, 3, 2)), (C234,)),
    "transpose negative axes": (lambda ops, x: ops.permute(x, (-1, 0, -2)) ** 3
                                * ops.const(np.arange(24.0).reshape(4, 2, 3)), (C234,)),
    "concatenate axis 0": (lambda ops, x, y: ops.concatenate([x, y * y], 0)
                           * ops.const(np.arange(24.0).reshape(6, 4)), (A34, B34)),
    "concatenate axis -1": (lambda ops, x, y: ops.sin(ops.concatenate([x, y, x], -1)), (A34, B34)),
    "stack axis 0": (lambda ops, x, y: ops.stack([x, y.exp()], 0) ** 2, (A34, B34)),
    "stack axis -1": (lambda ops, x, y: ops.stack([x, x * y], -1)
                      * ops.const(np.arange(24.0).reshape(3, 4, 2)), (A34, B34)),
    "broadcast_to": (lambda ops, x: ops.sin(ops.broadcast_to(x, (2, 3, 4)))
                     * ops.const(C234), (B34[:, :1],)),
}


@pytest.mark.parametrize("name", SHAPE_CASES)
def test_shape_operation_gradients_match_torch(name):
    f, arrays = SHAPE_CASES[name]
    assert_same_first_derivatives(lambda ops, *xs: ops.sum(f(ops, *xs)), *arrays)


@pytest.mark.parametrize("name", ["transpose negative axes", "concatenate axis -1", "stack axis 0"])
def test_shape_operation_hessians_match_torch(name):
    f, arrays = SHAPE_CASES[name]
    assert_same_hessian(lambda ops, *xs: ops.sum(f(ops, *xs) ** 2), *arrays)


def test_transpose_with_negative_axes_sends_the_gradient_back_to_its_place():
    """Regression: the inverse permutation of (-1, 0) was computed as (0, 1), so the
    gradient came back transposed (and silently reshaped when the sizes allowed it)."""
    x = Tensor(np.zeros((2, 3)))
    weights = np.arange(6.0).reshape(3, 2)
    (ag.transpose(x, (-1, 0)) * weights).sum().backward()
    np.testing.assert_array_equal(x.grad, weights.T)


@pytest.mark.parametrize("shape, axes", [((3, 4), (0, 1)), ((2, 3, 4), (0, 2)),
                                         ((2, 3, 4), (-1, 1))])
def test_transpose_method_with_two_axes_swaps_them_like_torch(shape, axes):
    """Regression: x.transpose(0, 1) was numpy's identity permutation (torch swaps)."""
    a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    ours = Tensor(a).transpose(*axes).value
    np.testing.assert_array_equal(ours, torch.tensor(a).transpose(*axes).numpy())


# large arrays with a short last axis (points in the plane) take faster numpy paths
N = 200
POINTS = np.random.default_rng(2).standard_normal((2, N, 2))
FAST_PATHS = {
    "pairwise distances": (lambda ops, p, q: ops.sum(ops.sqrt(ops.sum(
        (p.reshape(N, 1, 2) - q.reshape(1, N, 2)) ** 2, axis=-1) + 1.0)), tuple(POINTS)),
    "sum over a middle axis": (lambda ops, p, q: ops.sum(ops.sum(
        ops.sin(p.reshape(N, 1, 2) * q), axis=1) ** 2), tuple(POINTS)),
    "broadcast_to": (lambda ops, p: ops.sum(ops.sin(ops.broadcast_to(p.reshape(N, 1, 2),
                                                                     (N, N, 2)))
                                            * ops.const([1.0, -2.0])), (POINTS[0],)),
}


@pytest.mark.parametrize("name", FAST_PATHS)
def test_large_array_gradients_match_torch(name):
    f, arrays = FAST_PATHS[name]
    assert_same_first_derivatives(f, *arrays)


# ============================================================ logsumexp and softmax

AROUND_1000 = np.array([[1000.0, 1000.5, 999.0], [1001.0, 998.0, 1000.25]])


def test_logsumexp_near_1000_is_finite_and_exact():
    value = ag.logsumexp(Tensor(AROUND_1000), axis=1).value
    expected = torch.logsumexp(torch.tensor(AROUND_1000, dtype=F64), dim=1).numpy()
    assert_close(value, expected, rtol=1e-15)


def test_logsumexp_gradient_near_1000_matches_torch():
    weights = np.array([0.3, -0.8])
    assert_same_first_derivatives(
        lambda ops, x: ops.sum(ops.logsumexp(x, 1) * ops.const(weights)), AROUND_1000)


def test_logsumexp_hessian_near_1000_matches_torch():
    assert_same_hessian(lambda ops, x: ops.sum(ops.logsumexp(x, 0) ** 2), AROUND_1000)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_gradient_matches_torch(axis):
    weights = np.arange(6.0).reshape(2, 3)
    assert_same_first_derivatives(
        lambda ops, x: ops.sum(ops.softmax(x, axis) * ops.const(weights)), AROUND_1000 - 1000.0)


def test_softmax_hessian_matches_torch():
    weights = np.arange(6.0).reshape(2, 3)
    assert_same_hessian(lambda ops, x: ops.sum(ops.softmax(x, 1) ** 2 * ops.const(weights)),
                        AROUND_1000 - 1000.0)


def test_softmax_near_1000_is_finite():
    assert np.isfinite(ag.softmax(Tensor(AROUND_1000), axis=0).value).all()


# ============================================================ powers

BASES = np.array([0.5, 1.7, 3.0])
EXPONENTS = np.array([-1.3, 0.4, 2.5])


def test_tensor_exponent_gradients_match_torch():
    assert_same_first_derivatives(lambda ops, x, y: ops.sum(x ** y), BASES, EXPONENTS)


def test_tensor_exponent_hessian_matches_torch():
    assert_same_hessian(lambda ops, x, y: ops.sum(x ** y), BASES, EXPONENTS)


def test_constant_base_tensor_exponent_matches_torch():
    assert_same_first_derivatives(lambda ops, y: ops.sum(2.0 ** y), EXPONENTS)


def test_integer_power_of_negative_base_matches_torch():
    assert_same_hessian(lambda ops, x: ops.sum(x ** 3 - 2.0 * x ** 2), -BASES)


def polynomial(ops, x):
    return ops.sum(x ** 0 + 2.0 * x ** 1 + 3.0 * x ** 2)


def test_polynomial_gradient_at_zero_matches_torch():
    """Regression: the term x ** 0 gave 0 * 0 ** -1 = nan at x = 0."""
    assert_same_first_derivatives(polynomial, np.array([0.0, 1.0]))


def test_polynomial_hessian_at_zero_matches_torch():
    assert_same_hessian(polynomial, np.array([0.0, 1.0]))


def test_zero_base_has_zero_gradient_in_the_exponent():
    """Regression: d(0 ** y)/dy was 0 * log 0 = nan; 0 ** y = 0 for all y > 0, so it is 0."""
    assert_same_first_derivatives(lambda ops, x, y: ops.sum(x ** y), np.array([0.0, 2.0]),
                                  np.array([1.5, 0.5]))


# ============================================================ ties and kinks

TIED_X = np.array([1.0, 2.0, -3.0, 0.5])
TIED_Y = np.array([1.0, 0.0, -3.0, 4.0])      # ties at 0 and 2


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_tie_splits_the_gradient_evenly_like_torch(name):
    assert_same_first_derivatives(lambda ops, x, y: ops.sum(getattr(ops, name)(x, y)),
                                  TIED_X, TIED_Y)


def test_maximum_tie_rule_is_half_to_each():
    x, y = Tensor(TIED_X), Tensor(TIED_Y)
    ag.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(y.grad, [0.5, 0.0, 0.5, 1.0])


def test_maximum_of_a_tensor_with_itself_has_gradient_one():
    x = Tensor(TIED_X)
    ag.maximum(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(4))


def test_kinks_of_clip_relu_and_abs_follow_torch():
    at_kinks = np.array([-0.5, 0.8, 0.0, 0.3])   # on both clip bounds, at 0, inside

    def f(ops, x):
        return ops.sum(ops.clip(x, -0.5, 0.8) * 2.0 + ops.relu(x) * 3.0 + ops.abs(x) * 5.0)

    assert_same_first_derivatives(f, at_kinks)


def test_where_sends_the_gradient_to_the_chosen_branch_only():
    x = np.array([-1.0, 0.5, 2.0])
    assert_same_first_derivatives(lambda ops, a: ops.sum(ops.where(a > 0.0, a * a, ops.sin(a))),
                                  x)
