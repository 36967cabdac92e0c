"""Reductions: sums, means, extremes, products, norms and their relatives.

A reduction maps many entries to one, so its derivative spreads the gradient back over
them.  ``_kept`` puts the reduced axes back as length-1 axes, so that the gradient of
the result broadcasts against x:

    sum        every entry gets g                   mean       every entry gets g / n
    amax       the entries equal to the max share g (ties split it evenly, as torch.amax)
    prod       entry i gets g * (product of the others)
    cumsum     entry i gets the sum of g over the positions at or after i

var, std, norm (around one primitive, norm2), log_softmax and the argmax helpers are
derived from these.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .primitives import abs, exp, maximum, power, sqrt, where
from .shapes import broadcast_to, flip, normalize_axes, reshape, transpose
from .tensor import Primitive, _raw, defvjp


def _sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """np.sum; a big array reduced over adjacent axes goes through a product with ones.

    numpy's reduction is slow when the axes it keeps end in a short one: for x of shape
    (1000, 1000, 2), x.sum(1) takes 18 ms, ones(1000) @ x 2 ms.  Viewing x as
    (before, reduced, after) needs no copy (moving the axes first copied x: 0.6 ms at n=200).
    """
    if axis is None or np.size(x) < 65536:
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    axes = normalize_axes(axis, x.ndim)
    n = math.prod(x.shape[a] for a in axes)
    if axes == tuple(range(axes[0], axes[0] + len(axes))):       # adjacent axes
        block = x.reshape(math.prod(x.shape[:axes[0]]), n, -1)
        out = block[..., 0] @ np.ones(n) if block.shape[2] == 1 else np.ones(n) @ block
    else:
        kept = [i for i in range(x.ndim) if i not in axes]
        out = np.transpose(x, kept + list(axes)).reshape(-1, n) @ np.ones(n)
    shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keepdims else \
            [d for i, d in enumerate(x.shape) if i not in axes]
    return out.reshape(shape)


def _kept(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Put the reduced axes back (as size 1), so a reduced g broadcasts against x."""
    if keepdims or axis is None:
        return g
    axes = normalize_axes(axis, len(shape))
    return reshape(g, tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _count(shape: tuple[int, ...], ans: Any) -> float:
    """How many entries of x were averaged into each entry of ans."""
    return math.prod(shape) / max(math.prod(np.shape(ans)), 1)


def _mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    total = _sum(x, axis, keepdims)
    return total / _count(np.shape(x), total)


def _logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)                     # log sum e^x = m + log sum e^(x-m)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x: Any, axis: int = -1) -> Any:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """g, with the reduced axes put back, repeated over x's shape."""
    return broadcast_to(_kept(g, x.shape, axis, keepdims), x.shape)


def _shares(x: Any, ans: Any, axis: Any, keepdims: bool) -> np.ndarray:
    """1/k at the k entries equal to the extreme value, 0 elsewhere (a constant)."""
    hit = (_raw(x) == _raw(_kept(ans, x.shape, axis, keepdims))).astype(np.float64)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _prod_vjp(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """d prod / d x_i = the product of the others: ans / x_i while no x is 0."""
    zero = _raw(x) == 0
    if not zero.any():
        return _spread(g, x, axis, keepdims) * _kept(ans, x.shape, axis, keepdims) / x
    n = math.prod(x.shape) // max(math.prod(np.shape(_raw(ans))), 1)
    if x.size * n <= 1 << 22:                      # exact to any order: n copies of each slice
        return _spread(g, x, axis, keepdims) * _product_of_others(x, axis)
    # big slices: right first derivatives in O(n) (a lone zero gets the product of the
    # others; with two zeros everything is 0), but no cross term between two zeros
    nonzero = where(zero, 1.0, x)
    lone = np.sum(zero, axis=axis, keepdims=True) == 1
    return _spread(g, x, axis, keepdims) * where(
        zero & lone, prod(nonzero, axis=axis, keepdims=True),
        _kept(ans, x.shape, axis, keepdims) / nonzero)


def _product_of_others(x: Any, axis: Any) -> Any:
    """prod_{k != i} x_k for every i along the reduced axes, without dividing (x may hold
    zeros): each entry's row of n copies has a 1 in its own place.  O(n^2): used at zeros."""
    axes = normalize_axes(axis, x.ndim)
    order = tuple(i for i in range(x.ndim) if i not in axes) + axes
    moved = transpose(x, order)
    n = math.prod(moved.shape[x.ndim - len(axes):])
    rows = reshape(moved, moved.shape[:x.ndim - len(axes)] + (1, n))
    others = prod(where(np.eye(n, dtype=bool), 1.0, rows), axis=-1)
    return transpose(reshape(others, moved.shape), tuple(np.argsort(order)))


def _cumsum_vjp(g: Any, ans: Any, x: Any, axis: Any = None) -> Any:
    """y_j = sum_{i<=j} x_i, so dL/dx_i = sum_{j>=i} g_j: a cumsum of g taken backwards."""
    if axis is None:
        return reshape(flip(cumsum(flip(g, 0), 0), 0), x.shape)
    return flip(cumsum(flip(g, axis), axis), axis)


sum = Primitive(_sum, "sum")  # noqa: A001
mean = Primitive(_mean, "mean")
amax = Primitive(lambda x, axis=None, keepdims=False: np.amax(x, axis, keepdims=keepdims),
                 "amax")
amin = Primitive(lambda x, axis=None, keepdims=False: np.amin(x, axis, keepdims=keepdims),
                 "amin")
prod = Primitive(lambda x, axis=None, keepdims=False: np.prod(x, axis, keepdims=keepdims),
                 "prod")
cumsum = Primitive(lambda x, axis=None: np.cumsum(x, axis), "cumsum")
logsumexp = Primitive(_logsumexp, "logsumexp")
softmax = Primitive(_softmax, "softmax")

defvjp(sum,       lambda g, ans, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims))
defvjp(mean,      lambda g, ans, x, axis=None, keepdims=False:
                      _spread(g, x, axis, keepdims) / _count(x.shape, ans))
defvjp(amax,      lambda g, ans, x, axis=None, keepdims=False:
                      _spread(g, x, axis, keepdims) * _shares(x, ans, axis, keepdims))
defvjp(amin,      lambda g, ans, x, axis=None, keepdims=False:
                      _spread(g, x, axis, keepdims) * _shares(x, ans, axis, keepdims))
defvjp(prod,      _prod_vjp)
defvjp(cumsum,    _cumsum_vjp)
defvjp(logsumexp, lambda g, ans, x, axis=None, keepdims=False:     # d/dx = softmax(x)
                      _kept(g, x.shape, axis, keepdims)
                      * exp(x - _kept(ans, x.shape, axis, keepdims)))
defvjp(softmax,   lambda g, ans, x, axis=-1:                       # J = diag(s) - s s^T
                      ans * (g - sum(g * ans, axis=axis, keepdims=True)))

# ---------------------------------------------------------------------------- derived


def log_softmax(x: Any, axis: int = -1) -> Any:
    """log softmax(x) = x - logsumexp(x): stable where log(softmax(x)) underflows to -inf."""
    return x - logsumexp(x, axis=axis, keepdims=True)


def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The variance, sum (x - mean)^2 / (n - ddof).  numpy's default ddof=0; torch's
    ``x.var()`` divides by n - 1 (pass ddof=1 for that)."""
    n = math.prod(np.shape(_raw(x))) / max(math.prod(np.shape(_raw(mean(x, axis)))), 1)
    d = x - mean(x, axis=axis, keepdims=True)
    return sum(d * d, axis=axis, keepdims=keepdims) / (n - ddof)


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """The standard deviation, sqrt(var(x, ddof)); its slope is 0 where all entries agree
    (as a norm's at 0), not nan."""
    return _power0(var(x, axis=axis, ddof=ddof, keepdims=keepdims), 0.5)


def _norm2(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


norm2 = Primitive(_norm2, "norm2")
defvjp(norm2, lambda g, ans, x, axis=None, keepdims=False:         # d|x|/dx = x / |x|
       _kept(g, x.shape, axis, keepdims) * x
       / maximum(_kept(ans, x.shape, axis, keepdims), np.finfo(np.float64).tiny))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """numpy.linalg.norm: vector norms (ord 1, 2, inf, -inf, p) and matrix norms
    ('fro', 'nuc', 1, -1, 2, -2, inf, -inf).  The 2-norm's gradient at 0 is 0 (as torch's)."""
    ndim = np.ndim(_raw(x))
    axes = normalize_axes(axis, ndim)
    if axis is None and ord is not None and ndim > 2:
        raise ValueError(f"norm: ord={ord!r} needs a vector or a matrix (or axis=...), got "
                         f"a tensor of {ndim} dimensions")
    if len(axes) == 1 or (axis is None and ndim == 1):
        return _vector_norm(x, ord, axes[0] if axes else None, keepdims)
    if ord in (None, "fro"):
        return norm2(x, axis=axis, keepdims=keepdims)
    if len(axes) != 2:
        raise ValueError(f"norm: matrix norms take two axes, got axis={axis}")
    return _matrix_norm(x, ord, axes, keepdims)


def _vector_norm(x: Any, ord: Any, axis: Any, keepdims: bool) -> Any:  # noqa: A002
    if ord is None or ord == 2:
        return norm2(x, axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return amax(abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return amin(abs(x), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str) or ord == 0:
        raise ValueError(f"norm: ord={ord!r} is not a differentiable vector norm; use 1, 2, "
                         f"inf, -inf or a number p > 0 (count nonzeros with np.count_nonzero)")
    if ord < 0:                                  # numpy: 0 when an entry is 0
        return power(sum(power(abs(x), ord), axis=axis, keepdims=keepdims), 1.0 / ord)
    return _power0(sum(_power0(abs(x), ord), axis=axis, keepdims=keepdims), 1.0 / ord)


def _power0(v: Any, p: float) -> Any:
    """v^p for v >= 0, with slope 0 where v = 0 (as torch's p-norms): v^p's slope there is
    0 or inf, and inf times the 0 coming from the other side would make nan."""
    zero = _raw(v) == 0
    if not zero.any():
        return power(v, p)
    return where(zero, 0.0, power(where(zero, 1.0, v), p))


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, int], keepdims: bool) -> Any:  # noqa: A002
    from .linalg import eigvalsh  # spectral norms: singular values of x
    rows, cols = axes
    if ord in (1, -1, np.inf, -np.inf):          # max / min absolute column / row sum
        inner, outer = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = sum(abs(x), axis=inner, keepdims=True)
        pick = amax if ord > 0 else amin
        out = pick(sums, axis=outer, keepdims=True)
    elif ord in (2, -2, "nuc"):
        from .shapes import moveaxis
        m = moveaxis(x, (rows, cols), (-2, -1))
        gram = m @ moveaxis(m, -1, -2) if m.shape[-2] <= m.shape[-1] else \
            moveaxis(m, -1, -2) @ m
        s = sqrt(maximum(eigvalsh(gram), 0.0))  # singular values, ascending
        out = sum(s, axis=-1) if ord == "nuc" else s[..., -1] if ord == 2 else s[..., 0]
        out = reshape(out, tuple(1 if i in axes else n for i, n in enumerate(np.shape(_raw(x)))))
    else:
        raise ValueError(f"norm: unknown matrix norm ord={ord!r}; use 'fro', 'nuc', 1, -1, "
                         f"2, -2, inf or -inf")
    if keepdims:
        return out
    return reshape(out, tuple(n for i, n in enumerate(np.shape(_raw(x))) if i not in axes))


# ------------------------------------------------------- helpers without a derivative


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Where the maximum is (an integer array: positions have no derivative)."""
    return np.argmax(_raw(x), axis=axis, keepdims=keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Where the minimum is (an integer array: positions have no derivative)."""
    return np.argmin(_raw(x), axis=axis, keepdims=keepdims)
