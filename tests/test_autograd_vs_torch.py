"""optilab.autograd against torch, in float64: one expression, two engines, same derivatives.

Every expression here is written once, against a small namespace (``OPTILAB`` or
``TORCH``) that spells each operation for its engine, and evaluated by both.  The first
part draws random expression trees with hypothesis over broadcastable shapes (values,
gradients, Hessians, gradients of gradient norms by backward(create_graph=True) and by
grad inside grad), and puts each elementwise function and reduction at the root of trees
of its own, so that every one is checked in every run; the second pins down the cases
where shapes or conventions make mistakes likely (matmul, indexing, ties, zeros, large
values, linear algebra); the last compares derivatives of derivatives: grad inside grad
over closures and over containers, argnum tuples, hvp, jvp, gnvp, a gradient penalty and
a hypergradient (HIPS autograd is a second oracle for two of them).

Conventions compared at the kinks, where a derivative has to be chosen:

* ``maximum``/``minimum``: on a tie each argument gets half of the gradient (torch too);
* ``amax``/``amin`` (max/min reductions): the k tied extremes get 1/k each (torch.amax too);
* ``clip``: a value on a bound passes the gradient through (torch's ``clamp`` too);
* ``relu`` and ``abs`` at 0: gradient 0 (torch too); vector norms at the zero vector too;
* ``x ** y``: ``x ** 0`` has slope 0 even at x = 0, and d(0 ** y)/dy = 0 for y > 0 (torch too).

Spellings that differ: numpy's ``var``/``std`` default to ddof=0 where torch's use
correction=1 (mapped explicitly); numpy's ``repeat`` is torch's ``repeat_interleave``,
numpy's ``split``/``array_split`` torch's ``tensor_split``.  torch's ``cholesky`` and
``eigh`` read only the lower triangle, the engine reads (A + A^T) / 2: they are compared
on symmetric matrices made inside the function, so both read the same numbers.
"""

import math
from types import SimpleNamespace

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import assume, given, settings
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


def _torch_prod(x, dim, keepdim):
    """torch.prod takes one dim: reduce the last first, so the others keep their place."""
    for d in sorted((d % x.ndim for d in ((dim,) if isinstance(dim, int) else dim)),
                    reverse=True):
        x = torch.prod(x, d, keepdim=keepdim)
    return x


def _torch_const(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=F64)


def _torch_dot(a, b):
    """numpy's dot: the last axis of a against the second-to-last of b (its only one if 1-d)."""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return torch.tensordot(a, b, dims=([a.ndim - 1], [max(b.ndim - 2, 0)]))


def _tuple(axes):
    return (axes,) if isinstance(axes, int) else tuple(axes)


def _torch_expand_dims(x, axis):
    axes = (axis,) if isinstance(axis, int) else axis
    for a in sorted(a % (x.ndim + len(axes)) for a in axes):
        x = x.unsqueeze(a)
    return x


OPTILAB = SimpleNamespace(
    name="optilab",
    const=lambda a: np.asarray(a, dtype=np.float64),
    exp=ag.exp, log=ag.log, sin=ag.sin, cos=ag.cos, tanh=ag.tanh, sigmoid=ag.sigmoid,
    relu=ag.relu, abs=ag.abs, sqrt=ag.sqrt,
    exp2=ag.exp2, expm1=ag.expm1, log2=ag.log2, log10=ag.log10, log1p=ag.log1p,
    tan=ag.tan, arcsin=ag.arcsin, arccos=ag.arccos, arctan=ag.arctan,
    sinh=ag.sinh, cosh=ag.cosh, arcsinh=ag.arcsinh, arccosh=ag.arccosh, arctanh=ag.arctanh,
    softplus=ag.softplus, square=ag.square, reciprocal=ag.reciprocal,
    arctan2=ag.arctan2, hypot=ag.hypot, logaddexp=ag.logaddexp, logaddexp2=ag.logaddexp2,
    maximum=ag.maximum, minimum=ag.minimum, where=ag.where,
    clip=lambda x, lo, hi: ag.clip(x, lo, hi),
    sum=lambda x, axis=None, keepdims=False: ag.sum(x, axis=axis, keepdims=keepdims),
    mean=lambda x, axis=None, keepdims=False: ag.mean(x, axis=axis, keepdims=keepdims),
    amax=lambda x, axis=None, keepdims=False: ag.amax(x, axis=axis, keepdims=keepdims),
    amin=lambda x, axis=None, keepdims=False: ag.amin(x, axis=axis, keepdims=keepdims),
    prod=lambda x, axis=None, keepdims=False: ag.prod(x, axis=axis, keepdims=keepdims),
    var=lambda x, axis=None, ddof=0, keepdims=False: ag.var(x, axis=axis, ddof=ddof,
                                                            keepdims=keepdims),
    std=lambda x, axis=None, ddof=0, keepdims=False: ag.std(x, axis=axis, ddof=ddof,
                                                            keepdims=keepdims),
    norm=lambda x, ord=None, axis=None, keepdims=False: ag.norm(x, ord, axis, keepdims),
    matrix_norm=lambda x, ord: ag.linalg.norm(x, ord, axis=(-2, -1)),
    logsumexp=lambda x, axis=None, keepdims=False: ag.logsumexp(x, axis=axis,
                                                                keepdims=keepdims),
    cumsum=lambda x, axis=None: ag.cumsum(x, axis=axis),
    softmax=lambda x, axis: ag.softmax(x, axis=axis),
    log_softmax=lambda x, axis: ag.log_softmax(x, axis=axis),
    cross_entropy=ag.cross_entropy,
    permute=lambda x, axes: ag.transpose(x, axes),
    concatenate=lambda xs, axis: ag.concatenate(xs, axis=axis),
    stack=lambda xs, axis: ag.stack(xs, axis=axis),
    broadcast_to=ag.broadcast_to,
    squeeze=ag.squeeze, expand_dims=ag.expand_dims, moveaxis=ag.moveaxis,
    swapaxes=ag.swapaxes, flip=ag.flip, roll=ag.roll, repeat=ag.repeat, tile=ag.tile,
    split=ag.split, diagonal=ag.diagonal, diag=ag.diag, tril=ag.tril, triu=ag.triu,
    diff=ag.diff,
    einsum=ag.einsum, tensordot=ag.tensordot, dot=ag.dot, inner=ag.inner, outer=ag.outer,
    trace=ag.trace, solve=ag.solve, inv=ag.inv, det=ag.det, slogdet=ag.slogdet,
    cholesky=ag.cholesky, eigh=ag.eigh, eigvalsh=ag.eigvalsh,
    grad=ag.grad,
)

TORCH = SimpleNamespace(
    name="torch",
    const=_torch_const,
    exp=torch.exp, log=torch.log, sin=torch.sin, cos=torch.cos, tanh=torch.tanh,
    sigmoid=torch.sigmoid, relu=torch.relu, abs=torch.abs, sqrt=torch.sqrt,
    exp2=torch.exp2, expm1=torch.expm1, log2=torch.log2, log10=torch.log10, log1p=torch.log1p,
    tan=torch.tan, arcsin=torch.asin, arccos=torch.acos, arctan=torch.atan,
    sinh=torch.sinh, cosh=torch.cosh, arcsinh=torch.asinh, arccosh=torch.acosh,
    arctanh=torch.atanh,
    # threshold 40, not 20: above it torch returns x itself, whose slope 1 and curvature 0
    # differ from sigmoid(x) and sigmoid'(x) by e^-40, below float64's resolution
    softplus=lambda x: torch.nn.functional.softplus(x, threshold=40.0),
    square=torch.square, reciprocal=torch.reciprocal,
    arctan2=torch.atan2, hypot=torch.hypot, logaddexp=torch.logaddexp,
    logaddexp2=torch.logaddexp2,
    maximum=lambda a, b: torch.maximum(a, _torch_const(b) if np.isscalar(b) else b),
    minimum=lambda a, b: torch.minimum(a, _torch_const(b) if np.isscalar(b) else b),
    where=torch.where,
    clip=lambda x, lo, hi: torch.clamp(x, lo, hi),
    sum=lambda x, axis=None, keepdims=False: _torch_reduce(torch.sum, x, axis, keepdims),
    mean=lambda x, axis=None, keepdims=False: _torch_reduce(torch.mean, x, axis, keepdims),
    amax=lambda x, axis=None, keepdims=False: _torch_reduce(torch.amax, x, axis, keepdims),
    amin=lambda x, axis=None, keepdims=False: _torch_reduce(torch.amin, x, axis, keepdims),
    prod=lambda x, axis=None, keepdims=False: _torch_reduce(_torch_prod, x, axis, keepdims),
    var=lambda x, axis=None, ddof=0, keepdims=False: torch.var(x, dim=axis, correction=ddof,
                                                               keepdim=keepdims),
    std=lambda x, axis=None, ddof=0, keepdims=False: torch.std(x, dim=axis, correction=ddof,
                                                               keepdim=keepdims),
    norm=lambda x, ord=None, axis=None, keepdims=False: torch.linalg.vector_norm(
        x, 2 if ord is None else ord, dim=axis, keepdim=keepdims),
    matrix_norm=lambda x, ord: torch.linalg.matrix_norm(x, ord),
    logsumexp=lambda x, axis=None, keepdims=False: _torch_reduce(torch.logsumexp, x, axis,
                                                                 keepdims),
    cumsum=lambda x, axis=None: torch.cumsum(x.reshape(-1) if axis is None else x,
                                             0 if axis is None else axis),
    softmax=lambda x, axis: torch.softmax(x, dim=axis),
    log_softmax=lambda x, axis: torch.log_softmax(x, dim=axis),
    cross_entropy=lambda logits, target: torch.nn.functional.cross_entropy(
        logits, torch.as_tensor(target)),
    permute=lambda x, axes: x.permute(*axes),
    concatenate=lambda xs, axis: torch.cat(xs, dim=axis),
    stack=lambda xs, axis: torch.stack(xs, dim=axis),
    broadcast_to=torch.broadcast_to,
    squeeze=lambda x, axis=None: x.squeeze() if axis is None else x.squeeze(axis),
    expand_dims=_torch_expand_dims, moveaxis=torch.moveaxis, swapaxes=torch.swapaxes,
    flip=lambda x, axis=None: torch.flip(x, _tuple(range(x.ndim) if axis is None else axis)),
    roll=lambda x, shift, axis=None: torch.roll(x, shift, axis),
    repeat=lambda x, repeats, axis=None: torch.repeat_interleave(
        x, torch.as_tensor(repeats), dim=axis),
    tile=lambda x, reps: torch.tile(x, _tuple(reps)),
    split=lambda x, sections, axis=0: torch.tensor_split(x, sections, dim=axis),
    diagonal=torch.diagonal, diag=torch.diag, tril=torch.tril, triu=torch.triu,
    diff=lambda x, n=1, axis=-1: torch.diff(x, n, dim=axis),
    einsum=torch.einsum, tensordot=lambda a, b, axes=2: torch.tensordot(a, b, dims=axes),
    dot=_torch_dot, inner=torch.inner,
    outer=lambda a, b: torch.outer(a.reshape(-1), b.reshape(-1)),
    trace=lambda x, offset=0: torch.diagonal(x, offset).sum(-1),
    solve=torch.linalg.solve, inv=torch.linalg.inv, det=torch.linalg.det,
    slogdet=torch.linalg.slogdet, cholesky=torch.linalg.cholesky, eigh=torch.linalg.eigh,
    eigvalsh=torch.linalg.eigvalsh,
    grad=lambda f, argnum=0: torch.func.grad(f, argnums=argnum),
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
#   ("input", i)                             the i-th input
#   ("unary", name, child)                   UNARY[name]
#   ("binary", name, left, right)            BINARY[name]
#   ("reduce", name, axis, keepdims, child)  REDUCE[name] over axis (None, an int or a tuple)
#   ("along", name, axis, child)             ALONG[name]: softmax, log_softmax, cumsum
#   ("permute", axes, child)                 transpose (axes may be negative)
# The strategy tracks shapes, so every tree is valid for both engines.  Functions with a
# restricted domain get an argument inside it (log of u * u + 1, arcsin of 0.9 tanh u, ...).

UNARY = {
    "exp": lambda ops, u: ops.exp(u),
    "exp2": lambda ops, u: ops.exp2(u),
    "expm1": lambda ops, u: ops.expm1(u),
    "log": lambda ops, u: ops.log(u * u + 1.0),             # log of a positive number
    "log2": lambda ops, u: ops.log2(u * u + 0.5),
    "log10": lambda ops, u: ops.log10(u * u + 0.5),
    "log1p": lambda ops, u: ops.log1p(u * u),
    "sqrt": lambda ops, u: ops.sqrt(u * u + 1.0),
    "sin": lambda ops, u: ops.sin(u),
    "cos": lambda ops, u: ops.cos(u),
    "tan": lambda ops, u: ops.tan(ops.tanh(u)),             # inside (-pi/2, pi/2)
    "arcsin": lambda ops, u: ops.arcsin(ops.tanh(u) * 0.9),  # inside (-1, 1)
    "arccos": lambda ops, u: ops.arccos(ops.tanh(u) * 0.9),
    "arctan": lambda ops, u: ops.arctan(u),
    "sinh": lambda ops, u: ops.sinh(u),
    "cosh": lambda ops, u: ops.cosh(u),
    "tanh": lambda ops, u: ops.tanh(u),
    "arcsinh": lambda ops, u: ops.arcsinh(u),
    "arccosh": lambda ops, u: ops.arccosh(u * u + 1.5),     # above 1
    "arctanh": lambda ops, u: ops.arctanh(ops.tanh(u) * 0.9),
    "sigmoid": lambda ops, u: ops.sigmoid(u),
    "softplus": lambda ops, u: ops.softplus(u),
    "relu": lambda ops, u: ops.relu(u),
    "abs": lambda ops, u: ops.abs(u),
    "negative": lambda ops, u: -u,
    "square": lambda ops, u: ops.square(u),
    "reciprocal": lambda ops, u: ops.reciprocal(u * u + 0.5),
    "pow_two": lambda ops, u: u ** 2,
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
    "arctan2": lambda ops, a, b: ops.arctan2(a * a + 0.5, b),  # away from (0, 0) and its cut
    "hypot": lambda ops, a, b: ops.hypot(a, b * b + 0.5),       # never both 0
    "logaddexp": lambda ops, a, b: ops.logaddexp(a, b),
    "logaddexp2": lambda ops, a, b: ops.logaddexp2(a, b),
}


def apart(ops, x):
    """sigmoid(x) + 1, 2, 3, ...: each entry in its own interval (k, k + 1), so no two are
    equal (a std of 0 has no derivative) and none is 0 (nor is the vector: norms have kinks
    there).  x + a ramp is not enough: norm(|a| + a) is 0 for every a < 0."""
    shape = tuple(x.shape)
    return ops.sigmoid(x) + ops.const(1.0 + np.arange(math.prod(shape)).reshape(shape))


REDUCE = {
    "sum": lambda ops, x, axis, keepdims: ops.sum(x, axis, keepdims),
    "mean": lambda ops, x, axis, keepdims: ops.mean(x, axis, keepdims),
    "logsumexp": lambda ops, x, axis, keepdims: ops.logsumexp(x, axis, keepdims),
    "amax": lambda ops, x, axis, keepdims: ops.amax(x, axis, keepdims),
    "amin": lambda ops, x, axis, keepdims: ops.amin(x, axis, keepdims),
    "prod": lambda ops, x, axis, keepdims: ops.prod(x, axis, keepdims),
    "var": lambda ops, x, axis, keepdims: ops.var(x, axis, 0, keepdims),
    "var ddof=1": lambda ops, x, axis, keepdims: ops.var(x, axis, 1, keepdims),
    "std": lambda ops, x, axis, keepdims: ops.std(apart(ops, x), axis, 0, keepdims),
    "std ddof=1": lambda ops, x, axis, keepdims: ops.std(apart(ops, x), axis, 1, keepdims),
    "norm": lambda ops, x, axis, keepdims: ops.norm(apart(ops, x), None, axis, keepdims),
    "norm ord=1": lambda ops, x, axis, keepdims: ops.norm(apart(ops, x), 1, axis, keepdims),
    "norm ord=inf": lambda ops, x, axis, keepdims: ops.norm(apart(ops, x), np.inf, axis,
                                                            keepdims),
    "norm ord=3": lambda ops, x, axis, keepdims: ops.norm(apart(ops, x), 3, axis, keepdims),
}
ONE_AXIS = {"norm ord=1", "norm ord=inf", "norm ord=3"}   # vector norms: along one axis
TWO_OR_MORE = {"var", "var ddof=1", "std", "std ddof=1"}  # of at least two numbers

ALONG = {
    "softmax": lambda ops, x, axis: ops.softmax(x, axis),
    "log_softmax": lambda ops, x, axis: ops.log_softmax(x, axis),
    "cumsum": lambda ops, x, axis: ops.cumsum(x, axis),     # axis None: of the flat x
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
        return REDUCE[name](ops, build(ops, child, xs), axis, keepdims)
    if kind == "along":
        _, name, axis, child = node
        return ALONG[name](ops, build(ops, child, xs), axis)
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


def _draw_reduce(draw, shape, name):
    """A reduction valid for ``shape``: (name, axis, keepdims, shape of the result)."""
    ndim = len(shape)
    if name in ONE_AXIS and ndim == 0:
        name = "sum"
    axis = draw(st.integers(-ndim, ndim - 1)) if name in ONE_AXIS else _axes(draw, ndim)
    keepdims = draw(st.booleans())
    if name in TWO_OR_MORE and math.prod(np.sum(np.zeros(shape), axis=axis).shape) * 2 > \
            math.prod(shape):            # fewer than two numbers along the axes: take all
        axis = None
        name = name if math.prod(shape) >= 2 else "mean"
    new_shape = np.sum(np.zeros(shape), axis=axis, keepdims=keepdims).shape
    return name, axis, keepdims, new_shape


def draw_tree(draw, shapes, depth, top=None):
    """A random tree over inputs of the given shapes, and the shape of its value;
    ``top=(kind, name)`` puts that operation at the root."""
    kinds = ["input"] if depth == 0 else [
        "input", "unary", "unary", "binary", "binary", "reduce", "along", "permute"]
    kind = top[0] if top else draw(st.sampled_from(kinds))

    def pick(table):
        return top[1] if top else draw(st.sampled_from(sorted(table)))

    if kind == "input":
        i = draw(st.integers(0, len(shapes) - 1))
        return ("input", i), shapes[i]
    child, shape = draw_tree(draw, shapes, depth - 1)
    if kind == "unary":
        return ("unary", pick(UNARY), child), shape
    if kind == "binary":
        right, right_shape = draw_tree(draw, shapes, depth - 1)
        try:
            shape = np.broadcast_shapes(shape, right_shape)
        except ValueError:               # after a reduction: sum the right side to a scalar
            right = ("reduce", "sum", None, False, right)
        return ("binary", pick(BINARY), child, right), shape
    if kind == "reduce":
        name, axis, keepdims, new_shape = _draw_reduce(draw, shape, pick(REDUCE))
        return ("reduce", name, axis, keepdims, child), new_shape
    if kind == "along":
        name = pick(ALONG)
        if name == "cumsum" and (not shape or draw(st.booleans())):
            return ("along", name, None, child), (math.prod(shape),)
        if shape:
            return ("along", name, draw(st.integers(-len(shape), len(shape) - 1)), child), shape
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
def problems(draw, max_depth=4, top=None):
    num_shapes = draw(st.integers(1, 3))
    shapes = draw(mutually_broadcastable_shapes(num_shapes=num_shapes, max_dims=3,
                                                max_side=3)).input_shapes
    tree, out_shape = draw_tree(draw, shapes, max_depth, top)
    assume(top is None or tree[:2] == top)     # not replaced by a fallback (sum, mean, ...)
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


# each operation at the root of random trees: every one of them checked in every run
EVERY_OPERATION = [(kind, name) for kind, table in
                   [("unary", UNARY), ("binary", BINARY), ("reduce", REDUCE), ("along", ALONG)]
                   for name in table]


@pytest.mark.parametrize("top", EVERY_OPERATION, ids=[name for _, name in EVERY_OPERATION])
@settings(max_examples=6)
@given(data=st.data())
def test_every_operation_in_random_trees_matches_torch_to_second_order(top, data):
    problem = data.draw(problems(max_depth=3, top=top), label="problem")
    assert_same_first_derivatives(problem, *problem.inputs)
    assert_same_hessian(problem, *problem.inputs)


def test_functional_grad_of_grad_norm_matches_torch():
    def f(ops, x):
        return (ops.sin(x) * x.exp()).sum() + (x * x).sum() ** 2

    x = np.array([0.3, -1.1, 0.7])
    ours = ag.grad(lambda z: (ag.grad(lambda w: f(OPTILAB, w))(z) ** 2).sum())(x)
    assert_close(ours, grad_of_grad_norm(TORCH, f, [x])[0])


@given(problems(max_depth=3))
def test_random_expression_nested_grad_of_grad_norm_matches_torch(problem):
    """The same as above with the inner gradient taken by ag.grad inside ag.grad."""
    every = tuple(range(len(problem.inputs)))

    def grad_norm(*xs):
        return sum(ag.sum(g * g) for g in ag.grad(lambda *zs: problem(OPTILAB, *zs), every)(*xs))

    ours = ag.grad(grad_norm, every)(*problem.inputs)
    for a, b in zip(ours, grad_of_grad_norm(TORCH, problem, problem.inputs)):
        assert_close(a, b)


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


# ============================================================ reductions: ties, zeros, ddof

TIES = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 0.5, -1.0, 0.25]])


def weighted(ops, y):
    """A scalar in which each entry of y counts with its own weight (fixed by y's shape)."""
    shape = tuple(y.shape)
    w = np.random.default_rng([len(shape), *shape]).uniform(0.5, 1.5, shape)
    return ops.sum(ops.sin(y) * ops.const(w))


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("name", ["amax", "amin"])
def test_max_min_reductions_split_ties_like_torch(name, axis):
    def f(ops, x):
        return weighted(ops, getattr(ops, name)(x * 1.5, axis, False))

    assert_same_first_derivatives(f, TIES)
    assert_same_hessian(f, TIES)


def test_max_reduction_tie_rule_is_one_kth_to_each():
    x = Tensor(TIES)
    ag.max(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5, 0], [0.25] * 4, [0, 1, 0, 0]])


# name -> (the input, the axis of the product)
PRODUCTS = {
    "no zero": (np.array([1.5, -2.0, 0.5, 3.0]), None),
    "one zero": (np.array([1.5, 0.0, -2.0, 3.0]), None),
    "two zeros": (np.array([0.0, 1.5, 0.0, 3.0]), None),
    "rows with 0, 1, 2 and 3 zeros": (np.array([[1.5, -2.0, 3.0], [1.5, 0.0, 3.0],
                                                [0.0, -2.0, 0.0], [0.0, 0.0, 0.0]]), 1),
    "columns, keepdims": (np.array([[1.5, 0.0, 0.0], [2.0, 0.0, 0.5]]), (0,)),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_prod_gradient_matches_torch(name):
    x, axis = PRODUCTS[name]
    assert_same_first_derivatives(lambda ops, x: weighted(ops, ops.prod(x, axis)), x)


@pytest.mark.parametrize("name", PRODUCTS)
def test_prod_hessian_matches_torch(name):
    """d^2 prod / dx_i dx_j is the product of the others: 4.5 at the zeros of [0, 1.5, 0, 3]."""
    x, axis = PRODUCTS[name]
    assert_same_hessian(lambda ops, x: weighted(ops, ops.prod(x, axis)), x)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumsum_matches_torch(axis):
    def f(ops, x):
        return weighted(ops, ops.cumsum(x, axis) ** 2)

    assert_same_first_derivatives(f, A34)
    assert_same_hessian(f, A34)


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_and_std_with_ddof_match_torch(name, axis, ddof):
    def f(ops, x):
        return weighted(ops, getattr(ops, name)(x, axis, ddof))

    assert_same_first_derivatives(f, A34)
    assert_same_hessian(f, A34)


def test_var_defaults_to_ddof_0_as_numpy_and_tensor_method():
    expected = torch.var(torch.tensor(A34), correction=0).item()
    assert ag.var(Tensor(A34)).item() == pytest.approx(expected, rel=1e-14)
    assert Tensor(A34).var(axis=None).item() == pytest.approx(expected, rel=1e-14)


V4 = np.array([0.7, -1.9, 0.2, 1.3])        # distinct absolute values: no ties in the max


@pytest.mark.parametrize("ord", [1, 2, np.inf, -np.inf, 3, 0.5, None])
def test_vector_norm_matches_torch(ord):
    def f(ops, x, m):
        return ops.norm(x, ord) ** 2 + weighted(ops, ops.norm(m, ord, 1, True))

    assert_same_first_derivatives(f, V4, A34)
    assert_same_hessian(f, V4, A34)


@pytest.mark.parametrize("ord", [1, 2, np.inf, 3])
def test_vector_norm_gradient_at_zero_is_zero_like_torch(ord):
    rows = np.array([[0.0, 0.0, 0.0], [0.3, -1.2, 0.5]])      # a zero row
    ours, = first_derivatives(OPTILAB, lambda ops, x: ops.norm(x, ord), [np.zeros(3)])
    np.testing.assert_array_equal(ours, np.zeros(3))
    assert_same_first_derivatives(lambda ops, x: weighted(ops, ops.norm(x, ord, 1)), rows)


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (2, 3, 3)])
def test_matrix_norm_matches_torch(ord, shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape)

    def f(ops, x):
        return weighted(ops, ops.matrix_norm(x, ord))

    assert_same_first_derivatives(f, x)
    assert_same_hessian(f, x)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log_softmax_matches_torch(axis):
    def f(ops, x):
        return weighted(ops, ops.log_softmax(x, axis))

    assert_same_first_derivatives(f, AROUND_1000)
    assert_same_hessian(f, AROUND_1000 - 1000.0)


LOGITS = np.random.default_rng(5).standard_normal((4, 3)) * 2.0
# name -> (logits, target): integer labels or probabilities of the logits' shape
CROSS_ENTROPY = {
    "labels": (LOGITS, np.array([2, 0, 1, 2])),
    "labels, large logits": (LOGITS * 400.0, np.array([2, 0, 1, 2])),
    "probabilities": (LOGITS, ag.softmax(np.random.default_rng(6).standard_normal((4, 3)),
                                         axis=1)),
    "one sample": (LOGITS[0], np.array(1)),
    "classes on axis 1 of (N, C, d)": (LOGITS.reshape(2, 3, 2), np.array([[0, 2], [1, 1]])),
}


@pytest.mark.parametrize("name", CROSS_ENTROPY)
def test_cross_entropy_matches_torch(name):
    logits, target = CROSS_ENTROPY[name]

    def f(ops, z):
        return ops.cross_entropy(z, target)

    ours = ag.cross_entropy(Tensor(logits), target).item()
    assert ours == pytest.approx(f(TORCH, torch.tensor(logits)).item(), rel=1e-12)
    assert_same_first_derivatives(f, logits)
    assert_same_hessian(f, logits)


def test_cross_entropy_differentiates_soft_targets_like_torch():
    """Soft labels that are themselves computed (a teacher's softmax) get their gradient."""
    logits, teacher = LOGITS, np.random.default_rng(7).standard_normal((4, 3))
    assert_same_first_derivatives(
        lambda ops, z, t: ops.cross_entropy(z, ops.softmax(t, 1)), logits, teacher)


# ============================================================ shapes, products, linear algebra

RNG = np.random.default_rng(11)
M23, M34, M33, M234, M232 = (RNG.standard_normal(s)
                              for s in [(2, 3), (3, 4), (3, 3), (2, 3, 4), (2, 3, 2)])
V3, W4 = RNG.standard_normal(3), RNG.standard_normal(4)
A33 = M33 + 3.0 * np.eye(3)                  # well conditioned
NEG = np.diag([1.5, -2.0, 0.8]) + 0.2 * M33  # a negative determinant


def spd(ops, x):
    """A symmetric positive definite matrix made from any square x: both engines read it all."""
    n = x.shape[-1]
    return x @ ops.permute(x, (1, 0)) + ops.const(np.eye(n))


def symmetric(ops, x):
    return (x + ops.permute(x, (1, 0))) * 0.5


# name -> (function of (ops, *arrays) giving a tensor, arrays); loss: weighted(ops, tensor)
LINEAR = {                                   # products, matrix functions, and shapes
    "einsum ij,jk->ik": (lambda ops, x, y: ops.einsum("ij,jk->ik", x, y), (M23, M34)),
    "einsum bij,bjk->bik": (lambda ops, x, y: ops.einsum("bij,bjk->bik", x, y),
                            (M232, M234[:, :2, :])),
    "einsum ij,jk->k (i summed in one operand)": (
        lambda ops, x, y: ops.einsum("ij,jk->k", x, y), (M23, M34)),
    "einsum ijk,k->j": (lambda ops, x, v: ops.einsum("ijk,k->j", x, v), (M234, W4)),
    "einsum implicit ij,jk": (lambda ops, x, y: ops.einsum("ij,jk", x, y), (M23, M34)),
    "einsum ij,jk,kl->il": (lambda ops, x, y, z: ops.einsum("ij,jk,kl->il", x, y, z),
                            (M23, M34, M34.T)),
    "einsum ij,ij->": (lambda ops, x, y: ops.einsum("ij,ij->", x, y), (M34, M34[::-1].copy())),
    "einsum i,j->ij": (lambda ops, v, w: ops.einsum("i,j->ij", v, w), (V3, W4)),
    "einsum ijk->kji": (lambda ops, x: ops.einsum("ijk->kji", x), (M234,)),
    "tensordot axes=1": (lambda ops, x, y: ops.tensordot(x, y, axes=1), (M23, M34)),
    "tensordot axes=2": (lambda ops, x, y: ops.tensordot(x, y, axes=2),
                         (M234, M234.transpose(1, 2, 0))),
    "tensordot axes pairs": (lambda ops, x, y: ops.tensordot(x, y, axes=([1, 0], [0, 2])),
                             (M23.T, M234.transpose(0, 2, 1))),
    "dot vector vector": (lambda ops, v, w: ops.dot(v, w), (V3, M33[0])),
    "dot matrix vector": (lambda ops, x, v: ops.dot(x, v), (M23, V3)),
    "dot matrix matrix": (lambda ops, x, y: ops.dot(x, y), (M23, M34)),
    "dot 3-d 3-d": (lambda ops, x, y: ops.dot(x, y), (M234, M234.transpose(0, 2, 1))),
    "inner vectors": (lambda ops, v, w: ops.inner(v, w), (V3, M33[1])),
    "inner matrices": (lambda ops, x, y: ops.inner(x, y), (M34, M234[0])),
    "outer": (lambda ops, v, w: ops.outer(v, w), (V3, W4)),
    "outer of matrices (flattened)": (lambda ops, x, y: ops.outer(x, y), (M23, M33[:2])),
    "trace": (lambda ops, x: ops.trace(x @ x), (M33,)),
    "trace offset 1": (lambda ops, x: ops.trace(x, 1), (M34,)),
    "diagonal": (lambda ops, x: ops.diagonal(x), (M34,)),
    "diagonal offset -1 of axes 2, 0": (lambda ops, x: ops.diagonal(x, -1, 2, 0), (M234,)),
    "diag of a vector, k=1": (lambda ops, v: ops.diag(v, 1), (V3,)),
    "diag of a matrix, k=-1": (lambda ops, x: ops.diag(x, -1), (M34.T,)),
    "tril": (lambda ops, x: ops.tril(x), (M34,)),
    "triu k=1": (lambda ops, x: ops.triu(x, 1), (M34,)),
    "tril k=-1 of a batch": (lambda ops, x: ops.tril(x, -1), (M234,)),
    "diff": (lambda ops, x: ops.diff(x), (M34,)),
    "diff n=2 axis 0": (lambda ops, x: ops.diff(x, 2, 0), (M34,)),
    "flip all": (lambda ops, x: ops.flip(x), (M234,)),
    "flip axis 1": (lambda ops, x: ops.flip(x, 1), (M234,)),
    "flip axes (0, 2)": (lambda ops, x: ops.flip(x, (0, 2)), (M234,)),
    "roll flat": (lambda ops, x: ops.roll(x, 5), (M34,)),
    "roll axis -1": (lambda ops, x: ops.roll(x, -1, -1), (M234,)),
    "roll two axes": (lambda ops, x: ops.roll(x, (1, -2), (0, 1)), (M234,)),
    "repeat flat": (lambda ops, x: ops.repeat(x, 2), (M23,)),
    "repeat axis 1": (lambda ops, x: ops.repeat(x, 3, 1), (M23,)),
    "repeat counts": (lambda ops, x: ops.repeat(x, [2, 0, 1], 0), (M34[:, :3].T,)),
    "tile (2, 1)": (lambda ops, x: ops.tile(x, (2, 1)), (M23,)),
    "tile 2": (lambda ops, x: ops.tile(x, 2), (M23,)),
    "tile with more reps than axes": (lambda ops, x: ops.tile(x, (2, 1, 2)), (M23,)),
    "split in 3": (lambda ops, x: ops.concatenate(
        [p * (i + 1.0) for i, p in enumerate(ops.split(x, 3, 0))], 0), (M34,)),
    "split at indices": (lambda ops, x: ops.stack(
        [ops.sum(p ** 2, 0) for p in ops.split(x, [1, 3], 0)], 0), (M34.T,)),
    "moveaxis": (lambda ops, x: ops.moveaxis(x, 0, -1), (M234,)),
    "moveaxis two": (lambda ops, x: ops.moveaxis(x, (0, 1), (-1, -3)), (M234,)),
    "swapaxes": (lambda ops, x: ops.swapaxes(x, 0, 2), (M234,)),
    "squeeze all": (lambda ops, x: ops.squeeze(x), (M34.reshape(1, 3, 1, 4),)),
    "squeeze (0, 2)": (lambda ops, x: ops.squeeze(x, (0, 2)), (M34.reshape(1, 3, 1, 4),)),
    "expand_dims 1": (lambda ops, x: ops.expand_dims(x, 1) * ops.const(np.ones((3, 2, 4))),
                      (M34,)),
    "expand_dims (0, 3)": (lambda ops, x: ops.expand_dims(x, (0, 3)), (M34,)),
    "solve vector": (lambda ops, a, b: ops.solve(a, b), (A33, V3)),
    "solve matrix": (lambda ops, a, b: ops.solve(a, b), (A33, M34)),
    "solve batch": (lambda ops, a, b: ops.solve(a, b),
                    (np.stack([A33, A33.T]), M234[:, :, :2])),
    "inv": (lambda ops, a: ops.inv(a), (A33,)),
    "inv of a batch": (lambda ops, a: ops.inv(a), (np.stack([A33, NEG]),)),
    "det": (lambda ops, a: ops.det(a), (A33,)),
    "det negative": (lambda ops, a: ops.det(a), (NEG,)),
    "slogdet": (lambda ops, a: ops.slogdet(a)[1], (A33,)),
    "slogdet negative": (lambda ops, a: ops.slogdet(a)[1], (NEG,)),
    "cholesky of x x^T + I": (lambda ops, x: ops.cholesky(spd(ops, x)), (M33,)),
    "eigvalsh": (lambda ops, x: ops.eigvalsh(symmetric(ops, x)), (M33,)),
    "eigh eigenvalues": (lambda ops, x: ops.eigh(symmetric(ops, x))[0], (M33,)),
    "eigh eigenvectors squared": (lambda ops, x: ops.eigh(symmetric(ops, x))[1] ** 2, (M33,)),
}


@pytest.mark.parametrize("name", LINEAR)
def test_linear_algebra_and_shape_gradients_match_torch(name):
    f, arrays = LINEAR[name]
    assert_same_first_derivatives(lambda ops, *xs: weighted(ops, f(ops, *xs)), *arrays)


@pytest.mark.parametrize("name", LINEAR)
def test_linear_algebra_and_shape_hessians_match_torch(name):
    f, arrays = LINEAR[name]
    assert_same_hessian(lambda ops, *xs: weighted(ops, f(ops, *xs)), *arrays)


# ============================================================ derivatives of derivatives
#
# ops.grad is ag.grad or torch.func.grad: the same nested expression, two engines.


def as_numpy(tree):
    """numpy arrays (and the same containers) from either engine's results."""
    if isinstance(tree, dict):
        return {k: as_numpy(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(as_numpy(v) for v in tree)
    if isinstance(tree, torch.Tensor):
        return tree.numpy(force=True)
    return np.asarray(tree.value if isinstance(tree, Tensor) else tree, dtype=np.float64)


def as_torch(tree):
    if isinstance(tree, dict):
        return {k: as_torch(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(as_torch(v) for v in tree)
    return _torch_const(tree)


def assert_same_tree(ours, theirs):
    ours, theirs = as_numpy(ours), as_numpy(theirs)
    assert type(ours) is type(theirs)
    if isinstance(ours, dict):
        assert sorted(ours) == sorted(theirs)
        ours, theirs = [ours[k] for k in sorted(ours)], [theirs[k] for k in sorted(theirs)]
    if isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_close(a, b)
    else:
        assert_close(ours, theirs)


def test_grad_of_x_times_grad_of_x_y_over_a_closure_is_2():
    """d/dx [x * d/dy (x y)] = d/dx x^2 = 2 at x = 1: the inner gradient is x, not a constant."""
    def f(ops):
        return ops.grad(lambda x: x * ops.grad(lambda y: x * y)(ops.const(2.0)))(ops.const(1.0))

    assert float(as_numpy(f(OPTILAB))) == float(as_numpy(f(TORCH))) == 2.0
    assert autograd.grad(lambda x: x * autograd.grad(lambda y: x * y)(2.0))(1.0) == 2.0


# name -> a function of (ops, x) that takes gradients inside, at x = 0.7
NESTED = {
    "inner input depends on x": lambda ops, x: ops.grad(
        lambda y: ops.sin(x * y) * y)(x * x) * ops.exp(x),
    "grad of grad of grad": lambda ops, x: ops.grad(ops.grad(
        lambda y: ops.sin(y) * y ** 3 * x))(x),
    "two closures deep": lambda ops, x: ops.grad(lambda y: ops.grad(
        lambda z: x * y * z ** 2 + ops.tanh(x * z))(y + x) * y)(ops.const(0.3)),
    "inner gradient unused by the outer variable": lambda ops, x: ops.grad(
        lambda y: y ** 3)(ops.const(2.0)) * x,
}


@pytest.mark.parametrize("name", NESTED)
def test_nested_grads_over_closures_match_torch(name):
    f = NESTED[name]
    ours = ag.grad(lambda x: f(OPTILAB, x))(0.7)
    theirs = torch.func.grad(lambda x: f(TORCH, x))(_torch_const(0.7))
    assert_close(as_numpy(ours), as_numpy(theirs))


# name -> (f(ops, x, y) scalar, x); the mixed partial d/dx df/dy at y = 3
MIXED = {
    "x y^2": (lambda ops, x, y: x * y ** 2, 0.7),
    "sin(x y) e^y": (lambda ops, x, y: ops.sin(x * y) * ops.exp(y / 3.0), 0.7),
    "log(1 + x^2 y^2) / y": (lambda ops, x, y: ops.log1p(x * x * y * y) / y, -0.4),
    "vector x": (lambda ops, x, y: ops.sum(ops.tanh(x) * y ** 3 + ops.hypot(x, y)),
                 np.array([0.3, -1.2, 2.0])),
}


@pytest.mark.parametrize("name", MIXED)
def test_mixed_partial_matches_torch(name):
    f, x = MIXED[name]

    def mixed(ops, x):
        return ops.grad(lambda a: ops.grad(lambda a, b: f(ops, a, b), 1)(a, ops.const(3.0)))(x)

    assert_close(as_numpy(mixed(OPTILAB, x)), as_numpy(mixed(TORCH, _torch_const(x))))


X53 = np.random.default_rng(53).standard_normal((5, 3))
LAYER1, LAYER2 = np.random.default_rng(34).standard_normal((3, 4)), np.linspace(-1.0, 1.0, 4)
Y5 = np.array([0.5, -0.3, 1.0, 0.2, -0.8])


def data_loss(ops, w1, w2, x):
    return ops.mean((ops.tanh(x @ w1) @ w2 - ops.const(Y5)) ** 2)


def test_gradient_penalty_reaches_the_weights_like_torch():
    """loss(w) = data + |d data / dx|^2, the inner gradient closing over the tracked w."""
    w1, w2 = Tensor(LAYER1), Tensor(LAYER2)
    gx = ag.grad(lambda x: data_loss(OPTILAB, w1, w2, x))(X53)
    loss = data_loss(OPTILAB, w1, w2, X53) + (gx ** 2).sum()
    loss.backward()

    t1, t2 = (torch.tensor(a, requires_grad=True) for a in (LAYER1, LAYER2))
    x = torch.tensor(X53, requires_grad=True)
    data = data_loss(TORCH, t1, t2, x)
    tx, = torch.autograd.grad(data, x, create_graph=True)
    torch_loss = data + (tx ** 2).sum()
    torch_loss.backward()

    assert_close(np.asarray(loss.value), torch_loss.numpy(force=True))
    assert_close(w1.grad, t1.grad.numpy())
    assert_close(w2.grad, t2.grad.numpy())


X0, TARGET3 = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, -1.0])


def inner_objective(ops, x, w):
    return ops.sum((x - w) ** 2 * ops.const([1.0, 2.0, 0.5])) + ops.sum(ops.sin(x) * w)


def after_two_steps(ops, w, lr=0.1):
    """The outer loss after two gradient steps on the inner objective, from X0."""
    x = ops.const(X0)
    for _ in range(2):
        x = x - lr * ops.grad(lambda x, w: inner_objective(ops, x, w))(x, w)
    return ops.sum((x - ops.const(TARGET3)) ** 2)


def test_bilevel_hypergradient_matches_torch():
    w = np.array([0.2, 0.4, -0.6])
    theirs = torch.func.grad(lambda w: after_two_steps(TORCH, w))(_torch_const(w)).numpy()
    assert_close(ag.grad(lambda w: after_two_steps(OPTILAB, w))(w), theirs)
    tracked = Tensor(w)
    after_two_steps(OPTILAB, tracked).backward()          # the same, by backward()
    assert_close(tracked.grad, theirs)


def model_loss(ops, p):
    """A scalar of parameters in a dict, a list or a tuple (w, b, s)."""
    w, b, s = (p["w"], p["b"], p["s"]) if isinstance(p, dict) else p
    return ops.sum(ops.tanh(w @ ops.const(V3) + b) ** 2) * s + ops.sum(w ** 3) * s * s


PARAMS = {"w": M23, "b": np.array([0.3, -0.2]), "s": 0.8}
CONTAINERS = {"dict": PARAMS, "list": [M23, PARAMS["b"], 0.8], "tuple": (M23, PARAMS["b"], 0.8)}


def flat_order(p):
    """The values of p in the engine's flattening order: sorted keys, or list order."""
    return [p[k] for k in sorted(p)] if isinstance(p, dict) else list(p)


@pytest.mark.parametrize("kind", CONTAINERS)
def test_grad_over_containers_matches_torch(kind):
    p = CONTAINERS[kind]
    theirs = torch.func.grad(lambda q: model_loss(TORCH, q))(as_torch(p))
    assert_same_tree(ag.grad(lambda q: model_loss(OPTILAB, q))(p), theirs)


@pytest.mark.parametrize("kind", CONTAINERS)
def test_grad_of_grad_norm_over_containers_matches_torch(kind):
    def grad_norm(ops, p):
        g = ops.grad(lambda q: model_loss(ops, q))(p)
        return sum(ops.sum(v * v) for v in (g.values() if isinstance(g, dict) else g))

    theirs = torch.func.grad(lambda q: grad_norm(TORCH, q))(as_torch(p := CONTAINERS[kind]))
    assert_same_tree(ag.grad(lambda q: grad_norm(OPTILAB, q))(p), theirs)


@pytest.mark.parametrize("kind", CONTAINERS)
def test_hessian_over_containers_is_over_the_flattened_vector_like_torch(kind):
    p = CONTAINERS[kind]
    shapes = [np.shape(v) for v in flat_order(p)]
    keys = sorted(p) if isinstance(p, dict) else None

    def of_vector(v):
        parts = split(v, shapes)
        return model_loss(TORCH, dict(zip(keys, parts)) if keys else parts)

    v = torch.tensor(np.concatenate([np.ravel(a) for a in flat_order(p)]))
    theirs = torch.autograd.functional.hessian(of_vector, v).numpy()
    assert_close(ag.hessian(lambda q: model_loss(OPTILAB, q))(p), theirs)


def two_vectors(ops, x, y):
    return ops.sum(ops.sin(x) * y ** 3) + ops.sum(x * y) ** 2 + ops.logaddexp(x[0], y[2])


XV, YV, VV = np.array([0.3, -1.2, 0.8]), np.array([1.1, 0.4, -0.5]), np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize("argnum", [0, 1])
def test_hvp_in_either_argument_matches_torch(argnum):
    def in_argnum(z):
        xy = [_torch_const(XV), _torch_const(YV)]
        xy[argnum] = z
        return two_vectors(TORCH, *xy)

    _, theirs = torch.autograd.functional.hvp(in_argnum, _torch_const([XV, YV][argnum]),
                                              _torch_const(VV))
    ours = ag.hvp(lambda x, y: two_vectors(OPTILAB, x, y), argnum=argnum)(XV, YV, VV)
    assert_close(ours, theirs.numpy())


def vector_function(ops, x):
    return ops.tanh(ops.const(M23) @ x) * x[0] + ops.sin(x[1:]) * ops.exp(x[2])


def residuals(ops, x):
    return ops.concatenate([x * x - ops.const([1.0, 2.0, 0.5]), ops.sin(x[:1] * x[2:])], 0)


def test_jvp_matches_torch_func_jvp():
    value, jv = ag.jvp(lambda x: vector_function(OPTILAB, x))(XV, VV)
    t_value, t_jv = torch.func.jvp(lambda x: vector_function(TORCH, x),
                                   (_torch_const(XV),), (_torch_const(VV),))
    assert_close(as_numpy(value), t_value.numpy())
    assert_close(as_numpy(jv), t_jv.numpy())


def test_gnvp_is_jt_j_v_like_torch():
    J = torch.autograd.functional.jacobian(lambda x: residuals(TORCH, x), _torch_const(XV))
    theirs = (J.T @ (J @ _torch_const(VV))).numpy()
    assert_close(as_numpy(ag.gnvp(lambda x: residuals(OPTILAB, x))(XV, VV)), theirs)


def three_arguments(ops, x, y, z):
    return ops.sum(x * ops.sin(y)) * z ** 2 + ops.sum(ops.exp(x * z) * y)


@pytest.mark.parametrize("argnum", [(0, 2), (2, 0), (0, 1, 2), (1,)])
def test_argnum_tuples_match_torch(argnum):
    args = (XV, YV, 0.6)

    def f(ops):
        return lambda x, y, z: three_arguments(ops, x, y, z)

    theirs = torch.func.grad(f(TORCH), argnums=argnum)(*as_torch(args))
    assert_same_tree(ag.grad(f(OPTILAB), argnum)(*args), theirs)
    value, grads = ag.value_and_grad(f(OPTILAB), argnum)(*args)
    assert_same_tree(grads, theirs)
    assert_close(value, f(TORCH)(*as_torch(args)).numpy())


def test_grad_of_the_norm_of_an_argnum_tuple_gradient_matches_torch():
    def outer(ops, x):
        gx, gz = ops.grad(lambda x, y, z: three_arguments(ops, x, y, z), (0, 2))(
            x, ops.const(YV), ops.const(0.6))
        return ops.sum(gx * gx) + gz * gz

    theirs = torch.func.grad(lambda x: outer(TORCH, x))(_torch_const(XV)).numpy()
    assert_close(ag.grad(lambda x: outer(OPTILAB, x))(XV), theirs)


# ============================================================ a second oracle: HIPS autograd


def numpy_written(np_, x):
    """Written with numpy's own names: on Tensors numpy hands every call to the engine."""
    return (np_.sum(np_.logaddexp(x, np_.sin(x)) * np_.tanh(x)) + np_.linalg.norm(x) ** 3
            + np_.prod(np_.cos(x)) + np_.var(x, ddof=1) + np_.max(np_.outer(x, x)))


def test_numpy_functions_on_tensors_have_hips_autograds_hessian():
    x = np.array([0.3, -1.2, 0.8, 2.0])
    assert_close(ag.hessian(lambda z: numpy_written(np, z))(x),
                 autograd.hessian(lambda z: numpy_written(anp, z))(x))
