"""The Tensor: a numpy array that remembers how it was computed.

A Tensor wraps a numpy array (``.value``, float64 by default).  When an operation
(a :class:`Primitive`) is applied to tensors that track gradients, the result records
the operation and its arguments -- that record *is* the computation graph:

    x = Tensor(2.0)          # a leaf: nothing computed it
    y = x * x + 1.0          # y._op is `add`, y._args is (x * x, 1.0)

``y.backward()`` walks that graph from ``y`` back to the leaves (see ``backward.py``)
and leaves dy/dx in ``x.grad``, exactly as ``torch.Tensor.backward`` does.

Design notes for the curious reader:

* A node stores its operation and its arguments, never a closure over itself, so
  graphs hold no reference cycles and are freed as soon as the last tensor goes.
* The derivative rules (``primitives.py``) are written with the engine's own
  operations, so the gradient of a gradient is just another graph.
* Numbers and numpy arrays mixed into an operation are constants: ``x * 2``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

DEFAULT_DTYPE = np.float64


# ----------------------------------------------------------------------------- grad mode

class _GradMode:
    enabled = True
    depth = 0        # how many grad() calls are tracing a function right now (functional.py)


class GradientLostWarning(UserWarning):
    """A Tensor's numbers were read out (float(), .item(), math.*) while being differentiated."""


def is_grad_enabled() -> bool:
    """True unless inside ``with no_grad():``."""
    return _GradMode.enabled


class no_grad(contextlib.ContextDecorator):
    """Context manager (and decorator) that stops recording operations.

    >>> x = Tensor(1.0)
    >>> with no_grad():
    ...     y = x * 2        # a plain Tensor with no history
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        self._prev = _GradMode.enabled
        _GradMode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._prev


# ----------------------------------------------------------------------------- primitives

class Primitive:
    """A numpy function the engine knows how to differentiate.

    Calling it on Tensors records a graph node; calling it on plain numbers or numpy
    arrays just returns the numpy result (so derivative rules run on raw arrays
    when no second derivative is wanted).  ``vjps[i]`` is the rule for argument i:
    ``rule(g, ans, *args, **params)`` returns the gradient for that argument, given
    the gradient ``g`` of the output ``ans``.  See :func:`defvjp`.
    """

    def __init__(self, fun: Callable[..., Any], name: str | None = None) -> None:
        self.fun = fun
        self.name = name or fun.__name__
        self.vjps: tuple[Callable[..., Any] | None, ...] = ()
        self.constant_args: frozenset[int] = frozenset()  # no rule: an index, a mask, a shape
        self.vjp_any: Callable[..., Any] | None = None  # rule(i, g, ans, *args) for *args ops
        self.__doc__ = fun.__doc__

    def __call__(self, *args: Any, **params: Any) -> Any:
        for a in args:
            if isinstance(a, Tensor):
                break
        else:                             # no Tensor: plain numpy (how rules run by default)
            if list in map(type, args) and _holds_tracked(args):
                raise TypeError(f"{self.name} got a list of Tensors that track gradients; "
                                f"numpy would read their numbers and cut the gradient. Join "
                                f"them first: ag.stack([...]) or ag.concatenate([...]).")
            return self.fun(*args, **params)
        values, parents = [], []          # parents: (position, tensor) of tracked arguments
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                values.append(a._value)
                if a.requires_grad and not (self.constant_args and i in self.constant_args):
                    parents.append((i, a))
            else:
                values.append(a)
        out = self.fun(*values, **params)
        if parents and _GradMode.enabled:
            return Tensor._node(out, self, args, params, tuple(parents))
        return Tensor._wrap(out)

    def vjp(self, i: int) -> Callable[..., Any]:
        """The rule giving the gradient for argument ``i``."""
        if self.vjp_any is not None:
            return lambda g, ans, *args, **params: self.vjp_any(i, g, ans, *args, **params)
        if i < len(self.vjps) and self.vjps[i] is not None:
            return self.vjps[i]
        raise NotImplementedError(
            f"no derivative rule for argument {i} of '{self.name}'. "
            f"Add one with defvjp({self.name}, ...) or pass that argument as a constant."
        )

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def primitive(fun: Callable[..., Any]) -> Primitive:
    """Decorator: make a numpy function a differentiable primitive (add rules with defvjp).

    >>> @primitive
    ... def cube(x):
    ...     return x ** 3
    >>> _ = defvjp(cube, lambda g, ans, x: g * 3 * x ** 2)
    >>> x = Tensor(2.0)
    >>> cube(x).backward()
    >>> x.grad
    array(12.)
    """
    return Primitive(fun)


def defvjp(prim: Primitive, *rules: Callable[..., Any] | None) -> Primitive:
    """Give ``prim`` one derivative rule per argument: ``rule(g, ans, *args, **params)``.

    Write rules with operators and optilab.autograd functions (not ``np.``), so that
    they also work on Tensors and can be differentiated again.  ``None`` marks an
    argument with no derivative (an index, a shape).
    """
    if not isinstance(prim, Primitive):
        raise TypeError(
            f"defvjp expects a Primitive (decorate the function with @primitive first), "
            f"got {type(prim).__name__}"
        )
    prim.vjps = rules
    prim.constant_args = frozenset(i for i, rule in enumerate(rules) if rule is None)
    return prim


# ----------------------------------------------------------------------------- Tensor

def _as_array(value: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value._value
    if dtype is None and isinstance(value, (float, int)):    # the common case, fast
        return np.array(value, dtype=DEFAULT_DTYPE)
    if value is None:
        raise TypeError("a Tensor holds numbers: expected a float, a list of floats or a "
                        "numpy array, got None")
    if dtype is not None and np.dtype(dtype) != DEFAULT_DTYPE:
        raise TypeError(f"optilab.autograd computes in float64 only, got dtype={dtype}. "
                        f"Leave dtype out (float32 data is converted to float64).")
    if isinstance(value, (list, tuple)) and _holds_tracked(value):
        raise TypeError("Tensor([...]) of tensors that track gradients would cut them from "
                        "the graph. Join them with ag.stack([...]) (or ag.concatenate).")
    if np.iscomplexobj(value):
        raise TypeError("optilab.autograd differentiates real numbers only, got complex "
                        "values. Split them into real and imaginary parts (two tensors).")
    try:
        arr = np.array(value, dtype=dtype or DEFAULT_DTYPE)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"a Tensor holds numbers: expected a float, a list of floats or a numpy array, "
            f"got {type(value).__name__} ({err})"
        ) from None
    return arr


class Tensor:
    """A numpy array with a gradient.

    ``Tensor(value, requires_grad=True)`` -- unlike torch, a tensor you create tracks
    gradients unless you say ``requires_grad=False`` (data, constants).

    >>> x = Tensor(3.0)
    >>> y = (x ** 2).sin()
    >>> y.backward()
    >>> x.grad            # dy/dx = 2x cos(x^2)
    array(-5.46...)
    """

    __slots__ = ("_value", "_grad", "requires_grad", "_op", "_args", "_params", "_parents",
                 "_stamps", "_version", "_grad_passes", "_level", "__weakref__")

    def __init__(self, value: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        self._value = _as_array(value, dtype)
        self.requires_grad = bool(requires_grad)
        self._grad: Any = None
        self._op: Primitive | None = None
        self._args: tuple[Any, ...] = ()
        self._params: dict[str, Any] = {}
        self._parents: tuple[tuple[int, Tensor], ...] = ()
        self._stamps: tuple[Any, ...] = ()
        self._version = 0
        self._grad_passes = 0
        self._level = 0       # see _node; k > 0: the input of a grad() call at depth k

    @classmethod
    def _wrap(cls, value: Any) -> Tensor:
        """A constant Tensor around an op's result (no copy, no history)."""
        t = cls.__new__(cls)
        t._value = value
        t.requires_grad = False
        t._grad = None
        t._op = None
        t._args = ()
        t._params = {}
        t._parents = ()
        t._stamps = ()
        t._version = 0
        t._grad_passes = 0
        t._level = 0
        return t

    @classmethod
    def _node(cls, value: Any, op: Primitive, args: tuple[Any, ...], params: dict[str, Any],
              parents: tuple[tuple[int, Tensor], ...]) -> Tensor:
        """A graph node: the result of ``op(*args, **params)``; gradients flow to ``parents``."""
        t = cls.__new__(cls)
        t._value = value
        t.requires_grad = True
        t._grad = None
        t._op = op
        t._args = args
        t._params = params
        t._parents = parents
        t._stamps = tuple([_stamp(a) for _, a in parents])
        t._version = 0
        t._grad_passes = 0
        t._level = min([a._level for _, a in parents]) if len(parents) > 1 else \
            parents[0][1]._level                   # the outermost grad() it depends on
        return t

    # -- the numbers ------------------------------------------------------------
    @property
    def value(self) -> np.ndarray:
        """The numpy array (also ``.data``). Assigning replaces it."""
        return self._value

    @value.setter
    def value(self, new: Any) -> None:
        self._value = _as_array(new, self._value.dtype)
        self._version += 1

    data = value

    @property
    def grad(self) -> Any:
        """d(output)/d(self) accumulated by ``backward()``: a numpy array, or None."""
        return self._grad

    @grad.setter
    def grad(self, g: Any) -> None:
        self._grad = g
        self._grad_passes = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors you created; False for results of tracked operations."""
        return self._op is None

    def item(self) -> float:
        self._warn_if_traced("x.item()")
        return self._value.item()

    def numpy(self) -> np.ndarray:
        return self._value

    def detach(self) -> Tensor:
        """The same numbers, cut from the graph (shares the array)."""
        return Tensor._wrap(self._value)

    def tolist(self) -> Any:
        return self._value.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The numbers for numpy (np.asarray(x), plotting); a copy when asked for one."""
        self._warn_if_traced("np.asarray(x) (or np.array)")
        return np.array(self._value, dtype=dtype, copy=True if copy else None)

    # -- numpy's protocols (NEP 13, NEP 18): np.sin(x), np.dot(x, y) run the engine's ops --
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return N.call_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return N.call_function(func, args, kwargs)

    def __len__(self) -> int:
        if self._value.ndim == 0:
            raise TypeError("len() of a 0-d Tensor (a scalar); use .item() for its value")
        return len(self._value)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self) -> float:
        self._warn_if_traced("float(x) (or a math.* function)")
        return float(self._value)

    def __int__(self) -> int:
        self._warn_if_traced("int(x)")
        return int(self._value)

    def _warn_if_traced(self, what: str) -> None:
        """Inside grad(f): a plain number from a tracked tensor is a constant to the engine."""
        if _GradMode.depth and self.requires_grad and _GradMode.enabled:
            warnings.warn(
                f"{what} read the numbers out of a Tensor that grad() is differentiating: "
                f"to the engine they are constants, so their part of the gradient is lost "
                f"(math.sin(x) has derivative 0). Use tensor operations: x.sin(), ag.exp(x), "
                f"np.sin(x).",
                GradientLostWarning, stacklevel=3)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __format__(self, spec: str) -> str:
        return format(self._value.item() if self._value.ndim == 0 else self._value, spec)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(np.asarray(self._value), separator=", ", prefix="Tensor(")
        if self._op is not None:
            return f"Tensor({body}, op={self._op.name})"
        if self.requires_grad:
            return f"Tensor({body}, requires_grad=True)"
        return f"Tensor({body})"

    # -- differentiation ----------------------------------------------------------
    def backward(self, gradient: Any = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``self`` must be a scalar, or you must pass ``gradient`` (same shape as self):
        then the leaves receive the vector-Jacobian product gradient^T J.
        Gradients add up across calls, as in torch: zero them between steps.  The graph
        is kept after backward (torch's ``retain_graph=True``), so calling it twice adds
        the gradient twice.  With ``create_graph=True`` the leaves' ``.grad`` are Tensors
        with a graph of their own, ready to be differentiated again.
        """
        from .backward import backward

        backward(self, gradient, create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # -- operators (each one line: the work is done by the primitives) ---------------
    def __add__(self, other): return P.add(self, other)
    def __radd__(self, other): return P.add(other, self)
    def __sub__(self, other): return P.subtract(self, other)
    def __rsub__(self, other): return P.subtract(other, self)
    def __mul__(self, other): return P.multiply(self, other)
    def __rmul__(self, other): return P.multiply(other, self)
    def __truediv__(self, other): return P.divide(self, other)
    def __rtruediv__(self, other): return P.divide(other, self)
    def __pow__(self, other): return P.power(self, other)
    def __rpow__(self, other): return P.power(other, self)
    def __matmul__(self, other): return P.matmul(self, other)
    def __rmatmul__(self, other): return P.matmul(other, self)
    def __neg__(self): return P.negative(self)
    def __pos__(self): return self
    def __abs__(self): return P.abs(self)
    def __getitem__(self, index): return S.getitem(self, _index_values(index))

    # comparisons give constant boolean tensors (no gradient flows through them)
    def __lt__(self, other): return Tensor._wrap(self._value < _raw(other))
    def __le__(self, other): return Tensor._wrap(self._value <= _raw(other))
    def __gt__(self, other): return Tensor._wrap(self._value > _raw(other))
    def __ge__(self, other): return Tensor._wrap(self._value >= _raw(other))
    def __eq__(self, other): return Tensor._wrap(self._value == _raw(other))
    def __ne__(self, other): return Tensor._wrap(self._value != _raw(other))

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError(
            "Tensors are not edited in place (that would corrupt the gradient). "
            "Build a new tensor, e.g. with where(mask, new, x) or concatenate; "
            "to change a parameter outside of differentiation, assign x.value = ..."
        )

    # -- methods, spelled as numpy and torch spell them, so one function source serves both --
    def exp(self): return P.exp(self)
    def exp2(self): return P.exp2(self)
    def expm1(self): return P.expm1(self)
    def log(self): return P.log(self)
    def log2(self): return P.log2(self)
    def log10(self): return P.log10(self)
    def log1p(self): return P.log1p(self)
    def sqrt(self): return P.sqrt(self)
    def square(self): return P.square(self)
    def reciprocal(self): return P.reciprocal(self)
    def abs(self): return P.abs(self)
    def sin(self): return P.sin(self)
    def cos(self): return P.cos(self)
    def tan(self): return P.tan(self)
    def arcsin(self): return P.arcsin(self)
    def arccos(self): return P.arccos(self)
    def arctan(self): return P.arctan(self)
    def sinh(self): return P.sinh(self)
    def cosh(self): return P.cosh(self)
    def tanh(self): return P.tanh(self)
    def arcsinh(self): return P.arcsinh(self)
    def arccosh(self): return P.arccosh(self)
    def arctanh(self): return P.arctanh(self)
    def sigmoid(self): return P.sigmoid(self)
    def softplus(self): return P.softplus(self)
    def relu(self): return P.relu(self)
    def pow(self, exponent): return P.power(self, exponent)
    def matmul(self, other): return P.matmul(self, other)
    def dot(self, other): return L.dot(self, other)
    def maximum(self, other): return P.maximum(self, other)
    def minimum(self, other): return P.minimum(self, other)

    def clip(self, min=None, max=None):  # noqa: A002 - torch's and numpy's names
        return P.clip(self, min, max)

    clamp = clip

    # reductions: numpy's axis/keepdims, or torch's dim/keepdim.  Unlike torch, x.max(0)
    # gives the maxima only (as numpy does); x.var() divides by n (numpy's ddof=0).
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return R.sum(self, axis=_axis(axis, dim), keepdims=keepdims or bool(keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return R.mean(self, axis=_axis(axis, dim), keepdims=keepdims or bool(keepdim))

    def prod(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return R.prod(self, axis=_axis(axis, dim), keepdims=keepdims or bool(keepdim))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return R.amax(self, axis=_axis(axis, dim), keepdims=keepdims or bool(keepdim))

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return R.amin(self, axis=_axis(axis, dim), keepdims=keepdims or bool(keepdim))

    amax, amin = max, min

    def var(self, axis=None, ddof=0, keepdims=False):
        return R.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return R.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def norm(self, ord=None, axis=None, keepdims=False):  # noqa: A002 - numpy's name
        return R.norm(self, ord=ord, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return R.logsumexp(self, axis=_axis(axis, dim), keepdims=keepdims or bool(keepdim))

    def softmax(self, axis=-1, *, dim=None):
        return R.softmax(self, axis=_axis(axis, dim))

    def log_softmax(self, axis=-1, *, dim=None):
        return R.log_softmax(self, axis=_axis(axis, dim))

    def cumsum(self, axis=None, *, dim=None):
        return R.cumsum(self, axis=_axis(axis, dim))

    def argmax(self, axis=None, keepdims=False):
        return R.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return R.argmin(self, axis=axis, keepdims=keepdims)

    def trace(self, offset=0, axis1=0, axis2=1):
        return L.trace(self, offset, axis1, axis2)

    # shapes
    def reshape(self, *shape):
        return S.reshape(self, _shape_arg(shape))

    def transpose(self, *axes):
        """Two axes swap them, as in torch (``x.transpose(0, 1)``); more permute, as in numpy."""
        axes = _shape_arg(axes)
        if len(axes) == 2:
            swap = list(range(self.ndim))
            swap[axes[0]], swap[axes[1]] = swap[axes[1]], swap[axes[0]]
            axes = tuple(swap)
        return S.transpose(self, axes or None)

    @property
    def T(self):
        return S.transpose(self, None)

    def ravel(self): return S.ravel(self)
    def flatten(self): return S.ravel(self)
    def squeeze(self, axis=None): return S.squeeze(self, axis)
    def swapaxes(self, axis1, axis2): return S.swapaxes(self, axis1, axis2)
    def repeat(self, repeats, axis=None): return S.repeat(self, repeats, axis)
    def diagonal(self, offset=0, axis1=0, axis2=1): return S.diagonal(self, offset, axis1, axis2)
    def take(self, indices, axis=None): return S.take(self, indices, axis)


def _holds_tracked(items: Any) -> bool:
    return any(isinstance(t, Tensor) and t.requires_grad and _GradMode.enabled
               or isinstance(t, (list, tuple)) and _holds_tracked(t) for t in items)


def _raw(x: Any) -> Any:
    return x._value if isinstance(x, Tensor) else x


def _stamp(t: Tensor) -> Any:
    """What backward checks to catch in-place edits: a leaf's bytes, a node's version."""
    return t._value.tobytes() if t._op is None and t.requires_grad else t._version


def _index_values(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _axis(axis: Any, dim: Any) -> Any:
    return dim if dim is not None else axis


def _shape_arg(shape: tuple[Any, ...]) -> Any:
    """Accept both x.reshape(2, 3) and x.reshape((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


Variable = Tensor  # the name older course material uses

# the operation families need Tensor defined first; each imports only the ones above it
from . import shapes as S  # noqa: E402, I001
from . import primitives as P  # noqa: E402
from . import reductions as R  # noqa: E402
from . import linalg as L  # noqa: E402
from . import numpy_api as N  # noqa: E402
