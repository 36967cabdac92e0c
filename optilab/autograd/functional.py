"""The functional front door: derivatives as functions of functions.

    grad(f)(x)            the gradient of a scalar f at x
    value_and_grad(f)(x)  (f(x), grad f(x)) from one forward and one backward pass
    jacobian(f)(x)        J[i..., j...] = d f(x)[i...] / d x[j...]
    hessian(f)(x)         jacobian(grad(f))(x)
    hvp(f)(x, v)          the Hessian-vector product H(x) v without forming H
    check_grads(f)(x)     compare the engine with finite differences

Inputs may be floats, numpy arrays, Tensors, or nested lists/tuples/dicts of arrays
(see :func:`flatten`).  If the input is a Tensor that is itself being differentiated,
the result is a Tensor too -- that is how ``grad(grad(f))`` and ``hessian`` work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import primitives as P
from .backward import gradients
from .tensor import Tensor, is_grad_enabled

# ------------------------------------------------------------------------ flatten


def flatten(tree: Any) -> tuple[np.ndarray, Callable[[Any], Any]]:
    """Flatten nested lists/tuples/dicts of numbers and arrays into one float vector.

    Returns ``(vector, unflatten)`` where ``unflatten(vector)`` rebuilds the structure
    (with slices of a Tensor when given a Tensor, so it is differentiable).

    >>> v, unflatten = flatten({"w": np.ones((2, 2)), "b": 0.5})
    >>> v.shape, unflatten(v)["b"]
    ((5,), array(0.5))
    """
    if isinstance(tree, dict):
        keys = sorted(tree)
        vector, rebuild = flatten([tree[k] for k in keys])
        return vector, lambda v: dict(zip(keys, rebuild(v)))
    if isinstance(tree, (list, tuple)):
        parts = [flatten(item) for item in tree]
        sizes = np.cumsum([0] + [p[0].size for p in parts])
        kind = type(tree)

        def unflatten(v: Any) -> Any:
            items = [rebuild(v[a:b]) for (_, rebuild), a, b in zip(parts, sizes[:-1], sizes[1:])]
            return kind(items) if kind in (list, tuple) else kind(*items)  # namedtuples

        vector = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
        return vector, unflatten
    value = np.asarray(tree.value if isinstance(tree, Tensor) else tree, dtype=np.float64)
    shape = value.shape
    return value.ravel(), lambda v: P.reshape(v, shape)


# ----------------------------------------------------------------------- gradients


def _input(x: Any) -> tuple[Tensor, bool]:
    """A fresh Tensor to differentiate with respect to, and whether to build a graph.

    If ``x`` is already being differentiated (an outer grad), the new input is tied to
    it by an identity node and the gradient is built as a graph: a second derivative.
    """
    if isinstance(x, Tensor) and x.requires_grad and is_grad_enabled():
        return P.identity(x), True
    return Tensor(x), False


def _scalar(y: Any, name: str) -> None:
    if not isinstance(y, Tensor):
        raise TypeError(
            f"{name}: the function must return an optilab Tensor computed from its input, "
            f"got {type(y).__name__}. Use Tensor operations (x ** 2, x.sin(), ag.exp(x)) "
            f"rather than numpy or math functions inside it."
        )
    if y.size != 1:
        raise TypeError(
            f"{name}: the function must return a scalar, got shape {y.shape}. "
            f"Sum or average it, or use jacobian() for vector outputs."
        )


def value_and_grad(f: Callable[..., Any], argnum: int = 0) -> Callable[..., tuple[Any, Any]]:
    """``value_and_grad(f)(x) -> (f(x), grad f(x))`` for a scalar-valued f.

    >>> value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    (array(5.), array([2., 4.]))
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        x = args[argnum]
        structured = isinstance(x, (list, tuple, dict))
        if structured:
            x, unflatten = flatten(x)
        xt, nested = _input(x)
        y = f(*args[:argnum], unflatten(xt) if structured else xt, *args[argnum + 1:], **kwargs)
        _scalar(y, "grad")
        g = _grad_of(y, xt, nested)
        if structured:
            g = unflatten(g)
        return (y if nested else np.asarray(y.value)), g

    return value_and_grad_f


def _grad_of(y: Tensor, xt: Tensor, nested: bool) -> Any:
    """d y / d xt: a Tensor when building a graph, else a numpy array."""
    if not y.requires_grad:                   # y does not depend on x at all
        zero = np.zeros(xt.shape)
        return Tensor(zero, requires_grad=False) if nested else zero
    seed = np.ones(y.shape)
    found = gradients(y, Tensor(seed, requires_grad=False) if nested else seed,
                      create_graph=nested, inputs=frozenset({id(xt)}))
    g = found[id(xt)][1] if id(xt) in found else np.zeros(xt.shape)
    if nested:
        return g if isinstance(g, Tensor) else Tensor(g, requires_grad=False)
    return np.array(g)


def grad(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The gradient of a scalar function, as a function.

    >>> df = grad(lambda x: x.sin())       # d/dx sin x = cos x
    >>> df(0.0)
    array(1.)
    >>> grad(grad(lambda x: x ** 3))(2.0)  # 6x
    array(12.)
    """

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad(f, argnum)(*args, **kwargs)[1]

    return grad_f


def jacobian(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``jacobian(f)(x)[i..., j...] = d f(x)[i...] / d x[j...]``, one backward pass per output."""

    def jacobian_f(*args: Any, **kwargs: Any) -> Any:
        xt, nested = _input(args[argnum])
        y = f(*args[:argnum], xt, *args[argnum + 1:], **kwargs)
        if not isinstance(y, Tensor):
            raise TypeError(f"jacobian: the function must return a Tensor, got {type(y).__name__}")
        rows = []
        for i in range(y.size):
            seed = np.zeros(y.size)
            seed[i] = 1.0
            if not y.requires_grad:
                rows.append(np.zeros(xt.shape))
                continue
            seed = seed.reshape(y.shape)
            found = gradients(y, Tensor(seed, requires_grad=False) if nested else seed,
                              create_graph=nested, inputs=frozenset({id(xt)}))
            rows.append(found[id(xt)][1] if id(xt) in found else np.zeros(xt.shape))
        shape = y.shape + xt.shape
        if nested:
            return P.reshape(P.stack([r if isinstance(r, Tensor) else Tensor(r, False)
                                      for r in rows]), shape)
        return np.stack([np.asarray(r) for r in rows]).reshape(shape)

    return jacobian_f


def hessian(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function: the Jacobian of its gradient.

    >>> hessian(lambda x: (x[0] ** 2) * x[1])(np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    return jacobian(grad(f, argnum), argnum)


def hvp(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``hvp(f)(x, v) = H(x) v``: the gradient of <grad f(x), v>, without forming H."""

    def hvp_f(x: Any, v: Any) -> Any:
        v = np.asarray(v, dtype=np.float64)
        return grad(lambda z: (grad(f)(z) * v).sum())(x)

    return hvp_f


# --------------------------------------------------------------------- checking


def check_grads(f: Callable[..., Any], order: int = 2, eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-7,
                seed: int | None = 0) -> Callable[..., None]:
    """Check the engine's derivatives of ``f`` against central finite differences.

    ``check_grads(f, order=2)(x, ...)`` picks random directions u (output) and v (input)
    and compares  u . (f(x + eps v) - f(x - eps v)) / 2 eps  with  (u^T J) . v  from a
    backward pass, for every positional argument; with ``order=2`` it then checks the
    derivative of that backward pass the same way.  Raises AssertionError on mismatch.
    """
    rng = np.random.default_rng(seed)

    def check(*args: Any) -> None:
        args = tuple(a if isinstance(a, Tensor) else Tensor(a, requires_grad=False)
                     for a in args)      # constants that still have .sin(), .exp(), ...
        for argnum in range(len(args)):
            _check_arg(f, args, argnum, order, eps, rtol, atol, rng, 1)

    return check


def _check_arg(f: Callable[..., Any], args: tuple[Any, ...], argnum: int, order: int,
               eps: float, rtol: float, atol: float, rng: np.random.Generator,
               level: int) -> None:
    """Check derivative number ``level`` of f, then (while ``order > 1``) the next one."""
    x = np.asarray(args[argnum].value if isinstance(args[argnum], Tensor) else args[argnum],
                   dtype=np.float64)

    def f_at(z: Any) -> Any:
        return f(*args[:argnum], z, *args[argnum + 1:])

    y = f_at(Tensor(x, requires_grad=False))
    u = rng.standard_normal(np.shape(y))
    v = rng.standard_normal(x.shape)

    def u_dot_f(z: Any) -> Any:                   # scalar: u . f(z)
        return (f_at(z) * u).sum()

    with np.errstate(all="ignore"):
        numeric = float(_number(u_dot_f(Tensor(x + eps * v, False)))
                        - _number(u_dot_f(Tensor(x - eps * v, False)))) / (2 * eps)
    analytic = float(np.sum(grad(u_dot_f)(x) * v))
    scale = max(abs(numeric), abs(analytic))
    if not abs(numeric - analytic) <= atol + rtol * scale:
        hint = "" if level == 1 else (
            " Right first derivatives with a wrong second one usually mean a rule that "
            "computes with numpy (np.cos(x), x.value): write rules with optilab operations.")
        raise AssertionError(
            f"check_grads: derivative mismatch for argument {argnum} at order {level}: "
            f"backward pass gives {analytic:.10g}, finite differences give {numeric:.10g} "
            f"(difference {abs(numeric - analytic):.3g}). A derivative rule is likely wrong."
            + hint
        )
    if order > 1:
        new_args = args[:argnum] + (x,) + args[argnum + 1:]

        def grad_along_u(*a: Any) -> Any:
            return grad(lambda z: (f(*a[:argnum], z, *a[argnum + 1:]) * u).sum())(a[argnum])

        _check_arg(grad_along_u, new_args, argnum, order - 1, eps, rtol, atol, rng, level + 1)


def _number(y: Any) -> np.ndarray:
    return np.asarray(y.value if isinstance(y, Tensor) else y)
