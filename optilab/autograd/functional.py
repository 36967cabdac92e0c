"""The functional front door: derivatives as functions of functions.

    grad(f)(x)             the gradient of a scalar f at x (argnum=(0, 1): a tuple of them)
    value_and_grad(f)(x)   (f(x), grad f(x)) from one forward and one backward pass
    elementwise_grad(f)(x) the gradient of sum(f(x)): f'(x) entry by entry for elementwise f
    jacobian(f)(x)         J[i..., j...] = d f(x)[i...] / d x[j...]
    hessian(f)(x)          jacobian(grad(f))(x)
    hvp(f)(x, v)           the Hessian-vector product H(x) v without forming H
    jvp(f)(x, v)           (f(x), J(x) v): forward mode, by differentiating a vjp
    gnvp(r)(x, v)          J^T J v, the Gauss-Newton matrix of 0.5 |r(x)|^2 times v
    check_grads(f)(x)      compare the engine with finite differences

Inputs may be floats, numpy arrays, Tensors, or nested lists/tuples/dicts of them
(see :func:`flatten`).  When the function's result depends on a tensor that something
outside is differentiating -- the input itself, or a tensor the function closes over --
the derivative is returned as a Tensor with a graph of its own.  That is how
``grad(grad(f))``, ``hessian`` and ``grad(lambda x: x * grad(lambda y: x * y)(2.0))``
work, and how a gradient penalty's gradient reaches the model's parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import reductions as R
from . import shapes as S
from .backward import gradients
from .tensor import Tensor, _GradMode, is_grad_enabled

# ------------------------------------------------------------------ nesting depth
#
# Each grad() call runs f one level deeper (_GradMode.depth).  Its input is a leaf tagged
# with that level; every node carries the lowest level among its parents (Tensor._level),
# and the user's own tensors have level 0.  So after f returns at depth d, its result
# depends on something differentiated outside this call -- a tensor of the user's, or the
# input of an enclosing grad -- exactly when its level is <= d; the inputs of inner grad
# calls that have finished (levels > d + 1) nobody can differentiate any more.


def reaches_outer(root: Tensor) -> bool:
    """Whether ``root`` depends on a tensor that is differentiated outside this grad call.

    grad(lambda y: x * y)(2.0) inside an outer grad over x: the inner gradient is x, and
    it must stay a function of x (a graph) for the outer derivative to see it.
    """
    return root.requires_grad and is_grad_enabled() and root._level <= _GradMode.depth


def _call(f: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    """f(*args, **kwargs) one nesting level deeper."""
    _GradMode.depth += 1
    try:
        return f(*args, **kwargs)
    finally:
        _GradMode.depth -= 1

# ------------------------------------------------------------------------ flatten


def flatten(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Flatten nested lists/tuples/dicts of numbers, arrays and Tensors into one vector.

    Returns ``(vector, unflatten)`` where ``unflatten(vector)`` rebuilds the structure
    (with slices of a Tensor when given a Tensor, so it is differentiable).  The vector is
    a numpy array, or a Tensor when the tree holds Tensors that track gradients (so
    derivatives taken through it can be differentiated again).

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
        sizes = np.cumsum([0] + [int(np.size(p[0].value if isinstance(p[0], Tensor) else p[0]))
                                 for p in parts])
        kind = type(tree)

        def unflatten(v: Any) -> Any:
            items = [rebuild(v[a:b]) for (_, rebuild), a, b in zip(parts, sizes[:-1], sizes[1:])]
            return kind(items) if kind in (list, tuple) else kind(*items)  # namedtuples

        vectors = [p[0] for p in parts]
        if any(isinstance(v, Tensor) for v in vectors):
            return S.concatenate(vectors), unflatten
        return (np.concatenate(vectors) if parts else np.zeros(0)), unflatten
    if isinstance(tree, Tensor) and tree.requires_grad and is_grad_enabled():
        return S.ravel(tree), lambda v, shape=tree.shape: S.reshape(v, shape)
    value = np.asarray(tree.value if isinstance(tree, Tensor) else tree, dtype=np.float64)
    shape = value.shape
    return value.ravel(), lambda v: S.reshape(v, shape)


# ----------------------------------------------------------------------- gradients


def _input(x: Any) -> tuple[Tensor, Callable[[Any], Any] | None]:
    """A fresh Tensor to differentiate with respect to, and how to hand it to f.

    Containers are flattened into one vector.  If ``x`` is already being differentiated
    (an outer grad), the new input is tied to it by an identity node, so the gradient is
    built as a graph that the outer derivative can follow.
    """
    rebuild = None
    if isinstance(x, (list, tuple, dict)):
        x, rebuild = flatten(x)
    if isinstance(x, Tensor) and x.requires_grad and is_grad_enabled():
        return S.identity(x), rebuild
    xt = Tensor(x)
    xt._level = _GradMode.depth + 1
    return xt, rebuild


def _output(y: Any, name: str, scalar: bool) -> Tensor:
    if isinstance(y, (list, tuple, dict)):
        y = flatten(y)[0]
        y = y if isinstance(y, Tensor) else Tensor(y, requires_grad=False)
    if not isinstance(y, Tensor):
        raise TypeError(
            f"{name}: the function must return an optilab Tensor computed from its input, "
            f"got {type(y).__name__}. Use Tensor operations (x ** 2, x.sin(), ag.exp(x), or "
            f"numpy functions such as np.sum on Tensors) rather than math functions or float().")
    if scalar and y.size != 1:
        raise TypeError(
            f"{name}: the function must return a scalar, got shape {y.shape}. "
            f"Sum or average it, use elementwise_grad() for an elementwise function, or "
            f"jacobian() for vector outputs.")
    return y


def _differentiate(y: Tensor, inputs: list[Tensor], seed: Any) -> tuple[list[Any], bool]:
    """d(seed . y)/d input for each input; and whether they were built as graphs."""
    nested = reaches_outer(y)
    if not y.requires_grad:                   # y does not depend on any input
        found = {}
    else:
        found = gradients(y, Tensor(seed, requires_grad=False) if nested else seed,
                          create_graph=nested, inputs=frozenset(id(x) for x in inputs))
    out = []
    for x in inputs:
        g = found[id(x)][1] if id(x) in found else np.zeros(x.shape)
        if nested:
            out.append(g if isinstance(g, Tensor) else Tensor(g, requires_grad=False))
        else:
            out.append(np.array(g))
    return out, nested


def _argnums(argnum: int | tuple[int, ...]) -> tuple[int, ...]:
    return tuple(argnum) if isinstance(argnum, (tuple, list)) else (argnum,)


def value_and_grad(f: Callable[..., Any],
                   argnum: int | tuple[int, ...] = 0) -> Callable[..., tuple[Any, Any]]:
    """``value_and_grad(f)(x) -> (f(x), grad f(x))`` for a scalar-valued f.

    With ``argnum=(0, 1)`` the gradient is a tuple, one entry per argument.

    >>> value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    (array(5.), array([2., 4.]))
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        args = list(args)
        inputs, rebuilds = [], []
        for i in _argnums(argnum):
            xt, rebuild = _input(args[i])
            inputs.append(xt)
            rebuilds.append(rebuild)
            args[i] = rebuild(xt) if rebuild else xt
        y = _output(_call(f, args, kwargs), "grad", scalar=True)
        grads, nested = _differentiate(y, inputs, np.ones(y.shape))
        grads = [rebuild(g) if rebuild else g for g, rebuild in zip(grads, rebuilds)]
        value = y if nested else np.asarray(y.value)
        return value, (tuple(grads) if isinstance(argnum, (tuple, list)) else grads[0])

    return value_and_grad_f


def grad(f: Callable[..., Any], argnum: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """The gradient of a scalar function, as a function.

    >>> df = grad(lambda x: x.sin())       # d/dx sin x = cos x
    >>> df(0.0)
    array(1.)
    >>> grad(grad(lambda x: x ** 3))(2.0)  # 6x
    array(12.)
    >>> grad(lambda x, y: x * y, argnum=(0, 1))(2.0, 3.0)
    (array(3.), array(2.))
    """

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad(f, argnum)(*args, **kwargs)[1]

    return grad_f


def elementwise_grad(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The gradient of sum(f(x)): for an elementwise f, the derivative f'(x_i) at every x_i.

    >>> elementwise_grad(lambda x: x ** 2)(np.array([1.0, 2.0, 3.0]))
    array([2., 4., 6.])
    """
    return grad(lambda *args, **kwargs: R.sum(f(*args, **kwargs)), argnum)


def jacobian(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``jacobian(f)(x)[i..., j...] = d f(x)[i...] / d x[j...]``, one backward pass per output.

    For a list/tuple/dict input (or output) the Jacobian is taken with respect to (of)
    its flattened vector, in :func:`flatten`'s order: a matrix.
    """

    def jacobian_f(*args: Any, **kwargs: Any) -> Any:
        args = list(args)
        xt, rebuild = _input(args[argnum])
        args[argnum] = rebuild(xt) if rebuild else xt
        y = _output(_call(f, args, kwargs), "jacobian", scalar=False)
        rows, nested = [], False
        for i in range(y.size):
            seed = np.zeros(y.size)
            seed[i] = 1.0
            (row,), nested_i = _differentiate(y, [xt], seed.reshape(y.shape))
            rows.append(row)
            nested = nested or nested_i
        shape = y.shape + xt.shape
        if nested:
            rows = [r if isinstance(r, Tensor) else Tensor(r, False) for r in rows]
            return S.reshape(S.stack(rows), shape) if rows else Tensor(np.zeros(shape), False)
        return np.stack(rows).reshape(shape) if rows else np.zeros(shape)

    return jacobian_f


def hessian(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """The Hessian of a scalar function: the Jacobian of its gradient.

    >>> hessian(lambda x: (x[0] ** 2) * x[1])(np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    return jacobian(grad(f, argnum), argnum)


def _dot(a: Any, b: Any) -> Any:
    """sum(a * b) over two trees of the same structure (flattened)."""
    return R.sum(flatten(a)[0] * flatten(b)[0])


def hvp(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """``hvp(f, argnum)(*args, v) = H v``: the Hessian of f in argument ``argnum`` times v,
    as the gradient of <grad f, v> (two backward passes, H is never formed).

    >>> hvp(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """

    def hvp_f(*args: Any) -> Any:
        *args, v = args
        v = v if isinstance(v, (Tensor, list, tuple, dict)) else np.asarray(v, np.float64)

        def along_v(*a: Any) -> Any:
            return _dot(grad(f, argnum)(*a), v)

        return grad(along_v, argnum)(*args)

    return hvp_f


def jvp(f: Callable[..., Any]) -> Callable[..., tuple[Any, Any]]:
    """``jvp(f)(x, v) = (f(x), J(x) v)``: the directional derivative, forward mode.

    Reverse mode gives u -> J^T u, a linear function of u; its gradient with respect to u
    of <J^T u, v> is J v (the "double vjp" trick: two backward passes, no forward mode
    machinery needed).
    """

    def jvp_f(x: Any, v: Any) -> tuple[Any, Any]:
        y = f(x if isinstance(x, Tensor) else Tensor(x, requires_grad=False))

        def vjp_dot_v(u: Any) -> Any:
            return _dot(grad(lambda z: R.sum(f(z) * u))(x), v)

        jv = grad(vjp_dot_v)(np.zeros(np.shape(_number(y))))
        return (y if isinstance(y, Tensor) and y.requires_grad else _number(y)), jv

    return jvp_f


def gnvp(r: Callable[..., Any]) -> Callable[..., Any]:
    """``gnvp(r)(x, v) = J^T J v`` with J the Jacobian of the residuals r at x: the
    Gauss-Newton matrix of 0.5 |r(x)|^2 (its Hessian without the second-order terms of r)
    times v.  Newton's step on least squares with this matrix is the Gauss-Newton step.
    """

    def gnvp_f(x: Any, v: Any) -> Any:
        _, jv = jvp(r)(x, v)
        return grad(lambda z: R.sum(r(z) * jv))(x)

    return gnvp_f


# --------------------------------------------------------------------- checking


def check_grads(f: Callable[..., Any], order: int = 2, eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-7,
                seed: int | None = 0) -> Callable[..., None]:
    """Check the engine's derivatives of ``f`` against central finite differences.

    ``check_grads(f, order=2)(x, ...)`` picks random directions u (output) and v (input)
    and compares  u . (f(x + eps v) - f(x - eps v)) / 2 eps  with  (u^T J) . v  from a
    backward pass, for every positional argument; with ``order=2`` it then checks the
    derivative of each of those backward passes the same way, with respect to every
    argument (so the cross derivatives d^2 f / dx dy are checked too).
    Raises AssertionError on mismatch.
    """
    rng = np.random.default_rng(seed)

    def check(*args: Any) -> None:
        if not args:
            raise TypeError("check_grads(f)(...) needs the point to check at: "
                            "check_grads(f)(x) or check_grads(f)(x, y)")
        args = tuple(a if isinstance(a, Tensor) else Tensor(a, requires_grad=False)
                     for a in args)      # constants that still have .sin(), .exp(), ...
        for i, a in enumerate(args):
            if not np.all(np.isfinite(a.value)):
                raise ValueError(f"check_grads: argument {i} holds nan or inf "
                                 f"({a.value!r}); check derivatives at a finite point")
        with np.errstate(all="ignore"):
            y = f(*args)
        if not np.all(np.isfinite(_number(y))):
            raise ValueError(f"check_grads: f is not finite at this point (f = {_number(y)!r}): "
                             f"no derivative to check there; pick a point inside f's domain")
        for argnum in range(len(args)):         # every first derivative, then the second
            _check_arg(f, args, argnum, 1, eps, rtol, atol, rng, 1)
        for argnum in range(len(args) if order > 1 else 0):
            _check_arg(f, args, argnum, order, eps, rtol, atol, rng, 1)

    return check


def _check_arg(f: Callable[..., Any], args: tuple[Any, ...], argnum: int, order: int,
               eps: float, rtol: float, atol: float, rng: np.random.Generator,
               level: int, within: str = "") -> None:
    """Check derivative number ``level`` of f, then (while ``order > 1``) the next ones."""
    x = np.asarray(args[argnum].value if isinstance(args[argnum], Tensor) else args[argnum],
                   dtype=np.float64)

    def f_at(z: Any) -> Any:
        return f(*args[:argnum], z, *args[argnum + 1:])

    y = f_at(Tensor(x, requires_grad=False))
    u = rng.standard_normal(np.shape(y.value if isinstance(y, Tensor) else y))
    v = rng.standard_normal(x.shape)

    def u_dot_f(z: Any) -> Any:                   # scalar: u . f(z)
        return (f_at(z) * u).sum()

    with np.errstate(all="ignore"):
        numeric = float(_number(u_dot_f(Tensor(x + eps * v, False)))
                        - _number(u_dot_f(Tensor(x - eps * v, False)))) / (2 * eps)
    analytic = float(np.sum(grad(u_dot_f)(x) * v))
    scale = max(abs(numeric), abs(analytic))
    if not abs(numeric - analytic) <= atol + rtol * scale:
        with np.errstate(all="ignore"):
            here, up, down, up10, down10 = (float(_number(u_dot_f(Tensor(x + h * v, False))))
                                            for h in (0.0, eps, -eps, eps / 10, -eps / 10))
        right, left = (up - here) / eps, (here - down) / eps
        if abs(up10 - down10) > 0.5 * abs(up - down) > atol:    # a step: no slope at all
            raise ValueError(
                f"check_grads: f jumps at this point (order {level}, argument {argnum}: "
                f"f(x + h v) - f(x - h v) stays {up10 - down10:.3g} as h shrinks, as the "
                f"derivative of abs, relu or max does at a corner), so there is no derivative "
                f"to compare. Check at a point away from the jump.")
        if not abs(right - left) <= 1e3 * (atol + rtol * scale):
            raise ValueError(
                f"check_grads: f has a kink at this point (order {level}, argument {argnum}: "
                f"its slope is {left:.6g} on one side and {right:.6g} on the other, as abs, "
                f"relu, max or clip have at their corners), so there is no derivative to "
                f"compare. Check at a point away from the kink.")
        hint = "" if level == 1 else (
            " Right first derivatives with a wrong second one usually mean a rule that "
            "computes with numpy (np.cos(x), x.value): write rules with optilab operations.")
        raise AssertionError(
            f"check_grads: derivative mismatch for argument {argnum} at order "
            f"{level}{within}: backward pass gives {analytic:.10g}, finite differences give "
            f"{numeric:.10g} (difference {abs(numeric - analytic):.3g}). A derivative rule "
            f"is likely wrong." + hint
        )
    if order > 1:
        point = args[:argnum] + (Tensor(x, requires_grad=False),) + args[argnum + 1:]

        def grad_along_u(*a: Any) -> Any:
            return grad(lambda z: (f(*a[:argnum], z, *a[argnum + 1:]) * u).sum())(a[argnum])

        for other in range(len(args)):           # d/d(other) of the gradient in argnum
            _check_arg(grad_along_u, point, other, order - 1, eps, rtol, atol, rng, level + 1,
                       f" (differentiating the derivative in argument {argnum})")


def _number(y: Any) -> np.ndarray:
    return np.asarray(y.value if isinstance(y, Tensor) else y)
