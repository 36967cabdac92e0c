"""The primitives and their derivative table.

Each primitive is a numpy function; each line of ``defvjp`` gives, for one argument,
the vector-Jacobian product: how the gradient ``g`` of the output ``ans`` flows back
to that argument.  For y = sin(x):   dL/dx = dL/dy * cos(x),   written

    defvjp(sin, lambda g, ans, x: g * cos(x))

Rules use operators and the functions of this module (``cos``, ``where``, ...), which
work on numpy arrays *and* on Tensors.  On arrays they are plain numpy (a fast first
derivative); on Tensors they record a graph, so the derivative can be differentiated
again (Hessians, Newton's method).  Rules ignore broadcasting: ``backward.unbroadcast``
sums each gradient back to its argument's shape.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from .tensor import Primitive, Tensor, _raw, defvjp

# --------------------------------------------------------------------- arithmetic


def _short_last_axis(shape: tuple[int, ...]) -> bool:
    """numpy loops innermost over the last axis: when that axis is short (points in the
    plane, shape (n, n, 2)) and the array big, a broadcast costs one tiny loop per element
    pair.  Looping over the last axis ourselves is ~4x faster there (14 ms -> 3 ms)."""
    return len(shape) >= 2 and shape[-1] <= 4 and math.prod(shape) >= 16384


def _by_last_axis(ufunc: np.ufunc, *operands: Any, shape: tuple[int, ...] = ()) -> np.ndarray:
    """``ufunc(*operands)`` broadcast to ``shape``, computed one last-axis slice at a time."""
    shape = np.broadcast_shapes(shape, *(np.shape(a) for a in operands))
    out = np.empty(shape, np.result_type(*operands))
    for k in range(shape[-1]):
        ufunc(*(a[..., k if a.shape[-1] > 1 else 0] if np.ndim(a) else a for a in operands),
              out=out[..., k])
    return out


def _elementwise(ufunc: np.ufunc) -> Any:
    def apply(x: Any, y: Any) -> Any:
        if (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape != y.shape
                and x.ndim + y.ndim >= 3 and max(x.shape[-1:] + y.shape[-1:]) <= 4
                and _short_last_axis(np.broadcast_shapes(x.shape, y.shape))):
            return _by_last_axis(ufunc, x, y)
        return ufunc(x, y)
    return apply


_NUMBER = (int, float, np.number)


def _minus_one(y: Any, x: Any) -> Any:
    """y - 1, except 1 where x = y = 0: x^0 = 1 is flat, its slope 0 (not 0 * 0^-1 = nan)."""
    if isinstance(y, _NUMBER):                       # the usual x ** 2: no array work
        return y - 1 if y != 0 else 1
    zero = (_raw(y) == 0) & (_raw(x) == 0)
    return where(zero, 1.0, y - 1) if zero.any() else y - 1


def _nonzero(x: Any) -> Any:
    """x, with 1 where x = 0: there x^y log x is 0 (0^y = 0 for y > 0), not 0 * log 0 = nan."""
    if isinstance(x, _NUMBER):
        return x if x != 0 else 1.0
    zero = _raw(x) == 0
    return where(zero, 1.0, x) if zero.any() else x


add = Primitive(_elementwise(np.add), "add")
subtract = Primitive(_elementwise(np.subtract), "subtract")
multiply = Primitive(_elementwise(np.multiply), "multiply")
divide = Primitive(_elementwise(np.true_divide), "divide")
power = Primitive(operator.pow, "power")
negative = Primitive(operator.neg, "negative")
matmul = Primitive(operator.matmul, "matmul")

defvjp(add,      lambda g, ans, x, y: g,
                 lambda g, ans, x, y: g)
defvjp(subtract, lambda g, ans, x, y: g,
                 lambda g, ans, x, y: -g)
defvjp(multiply, lambda g, ans, x, y: g * y,
                 lambda g, ans, x, y: g * x)
defvjp(divide,   lambda g, ans, x, y: g / y,
                 lambda g, ans, x, y: -g * ans / y)
defvjp(power,    lambda g, ans, x, y: g * y * x ** _minus_one(y, x),  # d(x^y)/dx = y x^(y-1)
                 lambda g, ans, x, y: g * ans * log(_nonzero(x)))    # d(x^y)/dy = x^y log x
defvjp(negative, lambda g, ans, x: -g)

# ------------------------------------------------------------------ elementwise functions
exp = Primitive(np.exp, "exp")
log = Primitive(np.log, "log")
sin = Primitive(np.sin, "sin")
cos = Primitive(np.cos, "cos")
tanh = Primitive(np.tanh, "tanh")
sqrt = Primitive(np.sqrt, "sqrt")
abs = Primitive(np.abs, "abs")  # noqa: A001 - the name students know
sigmoid = Primitive(lambda x: 0.5 * (np.tanh(0.5 * x) + 1.0), "sigmoid")  # = 1/(1+e^-x), stable
relu = Primitive(lambda x: np.maximum(x, 0.0), "relu")

defvjp(exp,     lambda g, ans, x: g * ans)                   # (e^x)' = e^x
defvjp(log,     lambda g, ans, x: g / x)                     # (log x)' = 1/x
defvjp(sin,     lambda g, ans, x: g * cos(x))
defvjp(cos,     lambda g, ans, x: -g * sin(x))
defvjp(tanh,    lambda g, ans, x: g * (1.0 - ans * ans))     # tanh' = 1 - tanh^2
defvjp(sqrt,    lambda g, ans, x: g * 0.5 / ans)             # (sqrt x)' = 1/(2 sqrt x)
defvjp(abs,     lambda g, ans, x: g * sign(x))
defvjp(sigmoid, lambda g, ans, x: g * ans * (1.0 - ans))     # s' = s (1 - s)
defvjp(relu,    lambda g, ans, x: g * (_raw(x) > 0))


def _share(x: Any, y: Any) -> np.ndarray:
    """1 where x wins a max, 0 where it loses, 1/2 on ties (as torch does)."""
    x, y = _raw(x), _raw(y)
    return np.where(x == y, 0.5, (x > y).astype(float))


def _inside(x: Any, lo: Any, hi: Any) -> np.ndarray:
    x = _raw(x)
    lo = -np.inf if lo is None else _raw(lo)
    hi = np.inf if hi is None else _raw(hi)
    return (x >= lo) & (x <= hi)


maximum = Primitive(np.maximum, "maximum")
minimum = Primitive(np.minimum, "minimum")
clip = Primitive(lambda x, lo, hi: np.clip(x, lo, hi), "clip")
where = Primitive(np.where, "where")

defvjp(maximum, lambda g, ans, x, y: g * _share(x, y),
                lambda g, ans, x, y: g * _share(y, x))
defvjp(minimum, lambda g, ans, x, y: g * _share(y, x),
                lambda g, ans, x, y: g * _share(x, y))
defvjp(clip,    lambda g, ans, x, lo, hi: g * _inside(x, lo, hi), None, None)
defvjp(where,   None,
                lambda g, ans, c, x, y: where(c, g, 0.0),
                lambda g, ans, c, x, y: where(c, 0.0, g))

# ----------------------------------------------------------------------- reductions


def _sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """np.sum; a big array reduced over some axes goes through a product with ones.

    numpy's reduction is slow when the axes it keeps end in a short one: for x of shape
    (1000, 1000, 2), x.sum(1) takes 18 ms, and (x moved to (1000, 2, 1000)) @ ones 2 ms.
    """
    if axis is None or np.size(x) < 65536:
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    axes = [a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
    kept = [i for i in range(x.ndim) if i not in axes]
    n = int(np.prod([x.shape[a] for a in axes]))
    out = np.transpose(x, kept + axes).reshape(-1, n) @ np.ones(n)
    shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keepdims else \
            [x.shape[i] for i in kept]
    return out.reshape(shape)


def _logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)                     # log sum e^x = m + log sum e^(x-m)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x: Any, axis: int = -1) -> Any:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _kept(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Put the reduced axes back (as size 1), so a reduced g broadcasts against x."""
    if keepdims or axis is None:
        return g
    axes = (axis,) if isinstance(axis, int) else axis
    axes = {a % len(shape) for a in axes}
    return reshape(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _count(shape: tuple[int, ...], ans: Any) -> float:
    """How many entries of x were averaged into each entry of ans."""
    return math.prod(shape) / max(math.prod(np.shape(ans)), 1)


def _mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    total = _sum(x, axis, keepdims)
    return total / _count(np.shape(x), total)


sum = Primitive(_sum, "sum")  # noqa: A001
mean = Primitive(_mean, "mean")
logsumexp = Primitive(_logsumexp, "logsumexp")
softmax = Primitive(_softmax, "softmax")

defvjp(sum,       lambda g, ans, x, axis=None, keepdims=False:
                      broadcast_to(_kept(g, x.shape, axis, keepdims), x.shape))
defvjp(mean,      lambda g, ans, x, axis=None, keepdims=False:
                      broadcast_to(_kept(g, x.shape, axis, keepdims), x.shape)
                      / _count(x.shape, ans))
defvjp(logsumexp, lambda g, ans, x, axis=None, keepdims=False:     # d/dx = softmax(x)
                      _kept(g, x.shape, axis, keepdims)
                      * exp(x - _kept(ans, x.shape, axis, keepdims)))
defvjp(softmax,   lambda g, ans, x, axis=-1:                       # J = diag(s) - s s^T
                      ans * (g - sum(g * ans, axis=axis, keepdims=True)))

# ------------------------------------------------------------------------ shapes


def _untake(g: Any, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Scatter-add g into zeros of ``shape`` at ``index``: the adjoint of x[index]."""
    out = np.zeros(shape, dtype=np.result_type(g, np.float64))
    np.add.at(out, index, g)
    return out


def _inverse(axes: Any) -> Any:
    """The permutation that undoes ``transpose(x, axes)`` (negative axes count from the end)."""
    return None if axes is None else tuple(np.argsort([a % len(axes) for a in axes]))


def _broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
    """x repeated to ``shape``: a read-only view when big, else a (faster to make) copy."""
    shape = tuple(shape)
    if np.shape(x) == shape:
        return x
    if _short_last_axis(shape):              # arithmetic on a view would be slow there
        return _by_last_axis(np.positive, x, shape=shape)
    if math.prod(shape) <= 4096:             # numpy's view maker costs ~4 us, a copy ~1 us
        out = np.empty(shape, np.result_type(x))
        out[...] = x
        return out
    return np.broadcast_to(x, shape)


reshape = Primitive(lambda x, shape: np.asarray(x).reshape(shape), "reshape")
transpose = Primitive(lambda x, axes=None: np.asarray(x).transpose(axes), "transpose")
broadcast_to = Primitive(_broadcast_to, "broadcast_to")
getitem = Primitive(operator.getitem, "getitem")
untake = Primitive(_untake, "untake")
identity = Primitive(lambda x: x, "identity")

defvjp(reshape,      lambda g, ans, x, shape: reshape(g, x.shape), None)
defvjp(transpose,    lambda g, ans, x, axes=None: transpose(g, _inverse(axes)), None)
defvjp(broadcast_to, lambda g, ans, x, shape: g, None)   # unbroadcast sums g back to x.shape
defvjp(getitem,      lambda g, ans, x, index: untake(g, index, x.shape), None)
defvjp(untake,       lambda g, ans, x, index, shape: getitem(g, index), None, None)
defvjp(identity,     lambda g, ans, x: g)


def _mT(a: Any) -> Any:
    """Swap the last two axes (the matrix transpose of a stack of matrices)."""
    axes = list(range(a.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return transpose(a, tuple(axes))


def _col(a: Any) -> Any:
    return reshape(a, a.shape + (1,))


def _matmul_dx(g: Any, ans: Any, x: Any, y: Any) -> Any:
    if y.ndim == 1:                       # (..., n) @ (n,): dx = g y^T
        return _col(g) * y
    if x.ndim == 1:                       # (n,) @ (..., n, p): dx = y g
        return getitem(matmul(y, _col(g)), (Ellipsis, 0))
    return matmul(g, _mT(y))              # X @ Y: dX = G Y^T


def _matmul_dy(g: Any, ans: Any, x: Any, y: Any) -> Any:
    if x.ndim == 1:                       # (n,) @ (..., n[, p]): dy = x g^T
        return g * x if y.ndim == 1 else _col(x) * reshape(g, g.shape[:-1] + (1, g.shape[-1]))
    if y.ndim == 1:                       # (..., m, n) @ (n,): dy = X^T g
        return getitem(matmul(_mT(x), _col(g)), (Ellipsis, 0))
    return matmul(_mT(x), g)              # X @ Y: dY = X^T G


defvjp(matmul, _matmul_dx, _matmul_dy)

# --------------------------------------------------------------- joining tensors


def _concatenate(*xs: Any, axis: int = 0) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


def _stack(*xs: Any, axis: int = 0) -> np.ndarray:
    return np.stack(xs, axis=axis)


def _concatenate_vjp(i: int, g: Any, ans: Any, *xs: Any, axis: int = 0) -> Any:
    axis = axis % ans.ndim
    start = int(np.sum([np.shape(x)[axis] for x in xs[:i]], dtype=int))
    index = (slice(None),) * axis + (slice(start, start + np.shape(xs[i])[axis]),)
    return getitem(g, index)


def _stack_vjp(i: int, g: Any, ans: Any, *xs: Any, axis: int = 0) -> Any:
    return getitem(g, (slice(None),) * (axis % ans.ndim) + (i,))


_concatenate_p = Primitive(_concatenate, "concatenate")
_stack_p = Primitive(_stack, "stack")
_concatenate_p.vjp_any = _concatenate_vjp
_stack_p.vjp_any = _stack_vjp


def concatenate(tensors: Any, axis: int = 0) -> Any:
    """Join tensors along an existing axis (numpy's concatenate)."""
    return _concatenate_p(*tensors, axis=axis)


def stack(tensors: Any, axis: int = 0) -> Any:
    """Join tensors along a new axis (numpy's stack)."""
    return _stack_p(*tensors, axis=axis)


# ------------------------------------------------------ functions without a derivative


def sign(x: Any) -> Any:
    """-1, 0 or 1 elementwise; a constant (its derivative is 0 almost everywhere)."""
    return Tensor._wrap(np.sign(x._value)) if isinstance(x, Tensor) else np.sign(x)
