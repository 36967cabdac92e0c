"""numpy's own functions on Tensors: ``np.dot(w, w)`` runs the engine's ``dot``.

numpy lets an array-like class answer its functions (NEP 13 for ufuncs such as np.sin,
NEP 18 for the rest such as np.dot): ``Tensor.__array_ufunc__`` and
``Tensor.__array_function__`` hand the call to this module, which looks the function up
in two tables and runs the engine's op, so the gradient flows through it.

A numpy function the engine has no op for must never return a detached result: with a
tensor that tracks gradients it raises a TypeError naming the function; without one
(constants, or inside ``no_grad()``) it simply runs numpy on the numbers.  Functions
whose results have no derivative (np.argmax, np.shape, np.allclose, np.floor, ...) run
numpy on the numbers too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import linalg as L
from . import primitives as P
from . import reductions as R
from . import shapes as S
from .tensor import Tensor, is_grad_enabled

# ------------------------------------------------------------------------ ufuncs

UFUNCS: dict[np.ufunc, Callable[..., Any]] = {
    np.add: P.add, np.subtract: P.subtract, np.multiply: P.multiply,
    np.true_divide: P.divide, np.power: P.power, np.float_power: P.power,
    np.negative: P.negative, np.positive: lambda x: x, np.matmul: P.matmul,
    np.square: P.square, np.reciprocal: P.reciprocal, np.sqrt: P.sqrt,
    np.exp: P.exp, np.exp2: P.exp2, np.expm1: P.expm1,
    np.log: P.log, np.log2: P.log2, np.log10: P.log10, np.log1p: P.log1p,
    np.absolute: P.abs, np.fabs: P.abs,
    np.sin: P.sin, np.cos: P.cos, np.tan: P.tan,
    np.arcsin: P.arcsin, np.arccos: P.arccos, np.arctan: P.arctan,
    np.sinh: P.sinh, np.cosh: P.cosh, np.tanh: P.tanh,
    np.arcsinh: P.arcsinh, np.arccosh: P.arccosh, np.arctanh: P.arctanh,
    np.arctan2: P.arctan2, np.hypot: P.hypot,
    np.logaddexp: P.logaddexp, np.logaddexp2: P.logaddexp2,
    np.maximum: P.maximum, np.minimum: P.minimum,
}

# results that are constant where they are defined: their derivative is 0 (or none)
CONSTANT_UFUNCS = {
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.signbit, np.isfinite, np.isnan,
    np.isinf, np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.floor_divide,
}

REDUCE = {np.add: R.sum, np.multiply: R.prod, np.maximum: R.amax, np.minimum: R.amin}


def call_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
    """``np.sin(x)``, ``ndarray * x``, ``np.add.reduce(x)`` with a Tensor among the inputs."""
    name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if kwargs.get("out") is not None:
        raise TypeError(f"{name}(..., out=...) would write a Tensor's numbers into a numpy "
                        f"array in place, losing the gradient; write y = {name}(x) instead")
    options = {k: v for k, v in kwargs.items() if k != "out"}
    if method == "__call__" and ufunc in UFUNCS and not options:
        return UFUNCS[ufunc](*inputs)
    if method == "reduce" and ufunc in REDUCE and set(options) <= {"axis", "keepdims"}:
        return REDUCE[ufunc](inputs[0], axis=options.get("axis", 0),
                             keepdims=options.get("keepdims", False))
    if method == "accumulate" and ufunc is np.add and set(options) <= {"axis"}:
        return R.cumsum(inputs[0], axis=options.get("axis", 0))
    if ufunc in CONSTANT_UFUNCS or not _tracked(inputs):
        return getattr(ufunc, method)(*_numbers(inputs), **options)
    raise TypeError(
        f"{name} has no derivative rule in optilab.autograd"
        + (f" with the options {sorted(options)}" if options else "")
        + ", and using it would silently drop this Tensor's gradient. "
        "Use the engine's operations (see optilab.autograd.__all__), or take "
        "x.value for a constant without gradient.")


# --------------------------------------------------------------------- functions


DEFAULTS = {"dtype": (None, np.float64, float), "out": (None,), "order": ("C", "K", "A"),
            "copy": (None,), "upper": (False,), "UPLO": ("L",), "mode": ("raise",),
            "optimize": (False, True, "greedy", "optimal"), "keepdims": (False,)}


def _refuse(name: str, **options: Any) -> None:
    """numpy options the engine does not take: fine when left at (or given) their defaults."""
    for key, value in options.items():
        if not any(value is d or (type(value) is type(d) and value == d)
                   for d in DEFAULTS.get(key, (None,))):
            hint = " (Tensors are float64)" if key == "dtype" else ""
            raise TypeError(f"np.{name}(..., {key}={value!r}) on a Tensor: the engine does "
                            f"not take {key}={value!r}; leave it out{hint}")


def _reduction(name: str, ours: Callable[..., Any]) -> Callable[..., Any]:
    def call(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, **options: Any) -> Any:
        _refuse(name, dtype=dtype, out=out, **options)
        return ours(a, axis=axis, keepdims=bool(keepdims))
    return call


def _extreme(name: str, ours: Callable[..., Any]) -> Callable[..., Any]:
    def call(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
             **options: Any) -> Any:
        _refuse(name, out=out, **options)
        return ours(a, axis=axis, keepdims=bool(keepdims))
    return call


def _moment(name: str, ours: Callable[..., Any]) -> Callable[..., Any]:
    def call(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0,
             keepdims: bool = False, **options: Any) -> Any:
        _refuse(name, dtype=dtype, out=out, **options)
        return ours(a, axis=axis, ddof=ddof, keepdims=bool(keepdims))
    return call


def _np_reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
                copy: Any = None) -> Any:
    _refuse("reshape", order=order, copy=copy)
    return S.reshape(a, shape if shape is not None else newshape)


def _np_where(condition: Any, *xy: Any) -> Any:
    if not xy:                                     # np.where(c): positions, no derivative
        return np.where(_numbers(condition))
    return P.where(condition, *xy)


def _np_clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
             min: Any = None, max: Any = None, **options: Any) -> Any:  # noqa: A002
    _refuse("clip", out=out, **options)
    return P.clip(a, a_min if a_min is not None else min, a_max if a_max is not None else max)


def _np_einsum(subscripts: str, *operands: Any, out: Any = None, optimize: Any = False,
               **options: Any) -> Any:
    _refuse("einsum", out=out, **options)
    return L.einsum(subscripts, *operands)


def _np_atleast(ours: Callable[..., Any]) -> Callable[..., Any]:
    def call(*arys: Any) -> Any:
        return ours(arys[0]) if len(arys) == 1 else tuple(ours(a) for a in arys)
    return call


def _joining(ours: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(arrays: Any, axis: Any = 0, out: Any = None, **options: Any) -> Any:
        _refuse(name, out=out, **options)
        return ours(arrays, axis=axis)
    return call


def _no_options(ours: Callable[..., Any], name: str, *keys: str) -> Callable[..., Any]:
    """numpy's function minus options that must stay at their defaults (``out``, ...)."""
    def call(*args: Any, **kwargs: Any) -> Any:
        _refuse(name, **{k: kwargs.pop(k) for k in keys if k in kwargs})
        return ours(*args, **kwargs)
    return call


FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.sum: _reduction("sum", R.sum), np.mean: _reduction("mean", R.mean),
    np.prod: _reduction("prod", R.prod),
    np.max: _extreme("max", R.amax), np.amax: _extreme("amax", R.amax),
    np.min: _extreme("min", R.amin), np.amin: _extreme("amin", R.amin),
    np.var: _moment("var", R.var), np.std: _moment("std", R.std),
    np.cumsum: _no_options(R.cumsum, "cumsum", "dtype", "out"),
    np.linalg.norm: R.norm,
    np.dot: _no_options(L.dot, "dot", "out"), np.vdot: lambda a, b: L.dot(S.ravel(a), S.ravel(b)),
    np.inner: L.inner, np.outer: _no_options(L.outer, "outer", "out"),
    np.tensordot: L.tensordot, np.einsum: _np_einsum,
    np.trace: _no_options(L.trace, "trace", "dtype", "out"),
    np.linalg.solve: L.solve, np.linalg.inv: L.inv, np.linalg.det: L.det,
    np.linalg.slogdet: L.slogdet,
    np.linalg.cholesky: _no_options(L.cholesky, "linalg.cholesky", "upper"),
    np.linalg.eigh: _no_options(L.eigh, "linalg.eigh", "UPLO"),
    np.linalg.eigvalsh: _no_options(L.eigvalsh, "linalg.eigvalsh", "UPLO"),
    np.reshape: _np_reshape, np.transpose: S.transpose,
    np.ravel: _no_options(S.ravel, "ravel", "order"), np.squeeze: S.squeeze,
    np.expand_dims: S.expand_dims, np.swapaxes: S.swapaxes, np.moveaxis: S.moveaxis,
    np.atleast_1d: _np_atleast(S.atleast_1d), np.atleast_2d: _np_atleast(S.atleast_2d),
    np.atleast_3d: _np_atleast(S.atleast_3d), np.broadcast_to: S.broadcast_to,
    np.concatenate: _joining(S.concatenate, "concatenate"), np.stack: _joining(S.stack, "stack"),
    np.vstack: S.vstack, np.hstack: S.hstack, np.column_stack: S.column_stack,
    np.repeat: S.repeat, np.tile: S.tile, np.split: S.split, np.array_split: S.array_split,
    np.flip: S.flip, np.fliplr: lambda m: S.flip(m, 1), np.flipud: lambda m: S.flip(m, 0),
    np.roll: S.roll, np.take: _no_options(S.take, "take", "out", "mode"),
    np.diagonal: S.diagonal, np.diag: S.diag, np.tril: S.tril, np.triu: S.triu,
    np.diff: _no_options(S.diff, "diff", "prepend", "append"),
    np.where: _np_where, np.clip: _np_clip,
}

# functions whose results carry no derivative: numpy runs them on the numbers
CONSTANT_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.nonzero,
    np.count_nonzero, np.allclose, np.isclose, np.array_equal, np.array_equiv, np.all,
    np.any, np.zeros_like, np.ones_like, np.empty_like, np.round, np.around,
    np.result_type, np.iscomplexobj, np.isrealobj, np.searchsorted, np.may_share_memory,
    np.shares_memory, np.array2string, np.array_repr, np.array_str,
}


def call_function(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``np.dot(x, y)``, ``np.linalg.norm(x)``, ... with a Tensor among the arguments."""
    ours = FUNCTIONS.get(func)
    if ours is not None:
        return ours(*args, **kwargs)
    if func in CONSTANT_FUNCTIONS or not _tracked((args, kwargs)):
        return func(*_numbers(args), **_numbers(kwargs))
    name = ("linalg." if "linalg" in func.__module__ else "") + func.__name__
    raise TypeError(
        f"np.{name} has no derivative rule in optilab.autograd, and using it "
        f"would silently drop this Tensor's gradient. Use the engine's operations "
        f"(see optilab.autograd.__all__: sum, max, norm, dot, einsum, solve, ...), or take "
        f"x.value for a constant without gradient.")


# ------------------------------------------------------------------------ helpers


def _tracked(obj: Any) -> bool:
    """Whether a Tensor that records gradients hides in obj (lists, tuples, dicts)."""
    if isinstance(obj, Tensor):
        return obj.requires_grad and is_grad_enabled()
    if isinstance(obj, (list, tuple)):
        return any(_tracked(o) for o in obj)
    if isinstance(obj, dict):
        return any(_tracked(o) for o in obj.values())
    return False


def _numbers(obj: Any) -> Any:
    """obj with every Tensor replaced by its numpy array."""
    if isinstance(obj, Tensor):
        return obj._value
    if isinstance(obj, (list, tuple)):
        return type(obj)(_numbers(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items()}
    return obj
