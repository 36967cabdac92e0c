"""Shapes: reshaping, transposing, indexing, joining and splitting tensors.

None of these change a number, they only move numbers around, so each derivative
moves the gradient back to where the number came from:

    reshape      g back to x's shape               transpose    the inverse permutation
    x[index]     scatter-add g into zeros (untake)  concatenate  the slice of g that was x

Everything else here (squeeze, flip, roll, repeat, tile, split, diagonal, tril, ...)
is *derived*: written with those primitives, so it needs no rule of its own and its
second derivatives come for free.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from .tensor import Primitive, _raw, defvjp

# ------------------------------------------------------------------ fast numpy paths


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


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int, a numpy int or a tuple; negative counts from the end)
    as a sorted tuple of non-negative axes, with numpy's message when one is out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if not isinstance(axis, (tuple, list)) else axis
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % max(ndim, 1))
    return tuple(sorted(out))


# ------------------------------------------------------------------------ primitives


def _untake(g: Any, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Scatter-add g into zeros of ``shape`` at ``index``: the adjoint of x[index]."""
    out = np.zeros(shape, dtype=np.result_type(g, np.float64))
    if _basic(index):                    # no entry picked twice: plain assignment, 10x faster
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _basic(index: Any) -> bool:
    """Whether ``index`` is basic indexing (ints, slices, None, ...): it picks each entry once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, slice)
               or (isinstance(p, (int, np.integer)) and not isinstance(p, bool)) for p in parts)


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


def concatenate(tensors: Any, axis: int | None = 0) -> Any:
    """Join tensors along an existing axis (numpy's concatenate; axis=None joins them flat)."""
    tensors = list(tensors)
    if axis is None:
        return _concatenate_p(*[ravel(t) for t in tensors], axis=0)
    return _concatenate_p(*tensors, axis=operator.index(axis))


def stack(tensors: Any, axis: int = 0) -> Any:
    """Join tensors along a new axis (numpy's stack)."""
    return _stack_p(*list(tensors), axis=operator.index(axis))


# ------------------------------------------------- derived: reshaping and reordering


def _shape(x: Any) -> tuple[int, ...]:
    return np.shape(_raw(x))


def ravel(x: Any) -> Any:
    """The entries of x as one flat vector (numpy's ravel, flatten; torch's flatten)."""
    return reshape(x, (-1,))


flatten = ravel


def squeeze(x: Any, axis: Any = None) -> Any:
    """Remove axes of length 1 (all of them, or those named)."""
    shape = _shape(x)
    if axis is None:
        drop = {i for i, n in enumerate(shape) if n == 1}
    else:
        drop = set(normalize_axes(axis, len(shape)))
        if any(shape[i] != 1 for i in drop):
            raise ValueError(f"squeeze: cannot remove axis {axis} of length "
                             f"{[shape[i] for i in sorted(drop)]} (only length-1 axes go)")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in drop))


def expand_dims(x: Any, axis: Any) -> Any:
    """Insert length-1 axes at the given positions of the result."""
    shape = _shape(x)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    new = normalize_axes(axes, len(shape) + len(axes))
    if len(set(new)) != len(new):
        raise ValueError(f"expand_dims: repeated axis in {axis}")
    it = iter(shape)
    return reshape(x, tuple(1 if i in new else next(it) for i in range(len(shape) + len(new))))


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """Exchange two axes."""
    order = list(range(len(_shape(x))))
    i, j = (normalize_axes(a, len(order))[0] for a in (axis1, axis2))
    order[i], order[j] = order[j], order[i]
    return transpose(x, tuple(order))


def moveaxis(x: Any, source: Any, destination: Any) -> Any:
    """Move axes to new positions; the others keep their order (numpy's moveaxis)."""
    ndim = len(_shape(x))
    src = [normalize_axes(a, ndim)[0] for a in ((source,) if np.ndim(source) == 0 else source)]
    dst = [normalize_axes(a, ndim)[0]
           for a in ((destination,) if np.ndim(destination) == 0 else destination)]
    order = [a for a in range(ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def atleast_1d(x: Any) -> Any:
    return reshape(x, (1,)) if len(_shape(x)) == 0 else x


def atleast_2d(x: Any) -> Any:
    shape = _shape(x)
    return reshape(x, (1,) * (2 - len(shape)) + shape) if len(shape) < 2 else x


def atleast_3d(x: Any) -> Any:
    """numpy's rule: () -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    shape = _shape(x)
    new = {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}.get(len(shape), shape)
    return reshape(x, new)


def vstack(tensors: Any) -> Any:
    """Stack rows: 1-d tensors become rows, then join along axis 0."""
    return concatenate([atleast_2d(t) for t in tensors], axis=0)


def hstack(tensors: Any) -> Any:
    """Join along axis 1 (axis 0 for 1-d tensors)."""
    tensors = [atleast_1d(t) for t in tensors]
    return concatenate(tensors, axis=0 if len(_shape(tensors[0])) == 1 else 1)


def column_stack(tensors: Any) -> Any:
    """1-d tensors become columns, then join along axis 1."""
    return concatenate([reshape(t, (-1, 1)) if len(_shape(t)) < 2 else t for t in tensors],
                       axis=1)


def flip(x: Any, axis: Any = None) -> Any:
    """Reverse the order of the entries along the given axes (all of them by default)."""
    axes = normalize_axes(axis, len(_shape(x)))
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None)
                            for i in range(len(_shape(x)))))


def roll(x: Any, shift: Any, axis: Any = None) -> Any:
    """Shift entries along an axis, wrapping around (the flattened x when axis is None)."""
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), _shape(x))
    shifts = (shift,) if np.ndim(shift) == 0 else tuple(shift)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    for s, a in zip(np.broadcast_to(shifts, len(axes)), axes):
        n = _shape(x)[a]
        x = take(x, (np.arange(n) - int(s)) % n, axis=a)
    return x


def take(x: Any, indices: Any, axis: int | None = None) -> Any:
    """Entries at the given integer ``indices`` along ``axis`` (numpy's take)."""
    if axis is None:
        return getitem(ravel(x), np.asarray(_raw(indices)))
    a = operator.index(axis) % len(_shape(x))
    return getitem(x, (slice(None),) * a + (np.asarray(_raw(indices)),))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each entry (numpy's repeat: ``[a, b] -> [a, a, b, b]``)."""
    if axis is None:
        return take(x, np.repeat(np.arange(math.prod(_shape(x))), repeats))
    n = _shape(x)[axis]
    return take(x, np.repeat(np.arange(n), repeats), axis=axis)


def tile(x: Any, reps: Any) -> Any:
    """Repeat the whole tensor (numpy's tile: ``[a, b] -> [a, b, a, b]``)."""
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    shape = _shape(x)
    ndim = max(len(shape), len(reps))
    x = reshape(x, (1,) * (ndim - len(shape)) + shape)
    reps = (1,) * (ndim - len(reps)) + reps
    index = np.ix_(*[np.tile(np.arange(n), r) for n, r in zip(_shape(x), reps)])
    return getitem(x, index)


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into that many nearly equal parts, or at the given indices."""
    n = _shape(x)[axis]
    bounds = np.array_split(np.arange(n), indices_or_sections)
    a = axis % len(_shape(x))
    return [getitem(x, (slice(None),) * a + (slice(int(b[0]), int(b[-1]) + 1) if len(b)
                                             else slice(0, 0),)) for b in bounds]


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into equal parts (an error if they cannot be equal), or at the given indices."""
    sections = indices_or_sections
    if np.ndim(sections) == 0 and _shape(x)[axis] % int(sections):
        raise ValueError(f"split: an axis of length {_shape(x)[axis]} does not divide into "
                         f"{sections} equal parts; use array_split for nearly equal parts")
    return array_split(x, sections, axis)


# --------------------------------------------------- derived: diagonals and triangles


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal of the matrices in (axis1, axis2), as a last axis (numpy's diagonal)."""
    x = moveaxis(x, (axis1, axis2), (-2, -1))
    m, n = _shape(x)[-2:]
    rows = np.arange(max(0, -offset), min(m, n - offset))
    return getitem(x, (Ellipsis, rows, rows + offset))


def diag(v: Any, k: int = 0) -> Any:
    """A 1-d v makes a square matrix with v on diagonal k; a 2-d v gives its diagonal k."""
    shape = _shape(v)
    if len(shape) == 2:
        return diagonal(v, k)
    if len(shape) != 1:
        raise ValueError(f"diag takes a 1-d or 2-d tensor, got shape {shape}")
    n = shape[0] + abs(k)
    rows = np.arange(shape[0]) + max(0, -k)
    return untake(v, (rows, rows + k), (n, n))


def _matrix_shape(x: Any, name: str) -> tuple[int, int]:
    shape = _shape(x)
    if len(shape) < 2:
        raise ValueError(f"{name} takes a matrix (or a stack of them), got shape {shape}")
    return shape[-2], shape[-1]


def tril(x: Any, k: int = 0) -> Any:
    """x with the entries above diagonal k set to 0."""
    m, n = _matrix_shape(x, "tril")
    return x * np.tri(m, n, k)


def triu(x: Any, k: int = 0) -> Any:
    """x with the entries below diagonal k set to 0."""
    m, n = _matrix_shape(x, "triu")
    return x * (1.0 - np.tri(m, n, k - 1))


def diff(x: Any, n: int = 1, axis: int = -1) -> Any:
    """Differences of neighbours along an axis, ``x[1:] - x[:-1]``, taken n times."""
    a = axis % len(_shape(x))
    head = (slice(None),) * a
    for _ in range(n):
        x = getitem(x, head + (slice(1, None),)) - getitem(x, head + (slice(None, -1),))
    return x
