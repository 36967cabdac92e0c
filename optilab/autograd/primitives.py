"""The primitives and their derivative table: arithmetic and elementwise functions.

Each primitive is a numpy function; each line of ``defvjp`` gives, for one argument,
the vector-Jacobian product: how the gradient ``g`` of the output ``ans`` flows back
to that argument.  For y = sin(x):   dL/dx = dL/dy * cos(x),   written

    defvjp(sin, lambda g, ans, x: g * cos(x))

Rules use operators and the functions of this module (``cos``, ``where``, ...), which
work on numpy arrays *and* on Tensors.  On arrays they are plain numpy (a fast first
derivative); on Tensors they record a graph, so the derivative can be differentiated
again (Hessians, Newton's method).  Rules ignore broadcasting: ``backward.unbroadcast``
sums each gradient back to its argument's shape.

The other families live next door: ``reductions.py`` (sum, max, norm, ...),
``shapes.py`` (reshape, indexing, joining, ...) and ``linalg.py`` (dot, einsum, solve, ...).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from .shapes import _by_last_axis, _short_last_axis, getitem, reshape, transpose
from .tensor import Primitive, Tensor, _raw, defvjp

LN2, LN10 = math.log(2.0), math.log(10.0)

# --------------------------------------------------------------------- arithmetic


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


def _power_minus_one(x: Any, y: Any) -> Any:
    """x^(y-1); for the usual x ** 2 that is x itself (x ** 1 would copy it)."""
    e = _minus_one(y, x)
    return x if isinstance(e, _NUMBER) and e == 1 else x ** e


def _unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """g summed to ``shape`` (backward.unbroadcast).  A rule that negates a broadcast g
    sums first: x[:, None] - x[None] at n=200 then negates 400 numbers, not 80,000."""
    if g.shape == shape:
        return g
    from .backward import unbroadcast  # (backward.py imports this module: import on use)
    return unbroadcast(g, shape)


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
                 lambda g, ans, x, y: -_unbroadcast(g, y.shape))
defvjp(multiply, lambda g, ans, x, y: g * y,
                 lambda g, ans, x, y: g * x)
defvjp(divide,   lambda g, ans, x, y: g / y,
                 lambda g, ans, x, y: -g * ans / y)
defvjp(power,    lambda g, ans, x, y: g * (y * _power_minus_one(x, y)),  # d(x^y)/dx = y x^(y-1)
                 lambda g, ans, x, y: g * ans * log(_nonzero(x)))    # d(x^y)/dy = x^y log x
defvjp(negative, lambda g, ans, x: -g)


def square(x: Any) -> Any:
    """x^2 (derived: x * x)."""
    return multiply(x, x)


def reciprocal(x: Any) -> Any:
    """1 / x (derived: a division)."""
    return divide(1.0, x)


# ------------------------------------------------------------------ elementwise functions
exp = Primitive(np.exp, "exp")
exp2 = Primitive(np.exp2, "exp2")
expm1 = Primitive(np.expm1, "expm1")
log = Primitive(np.log, "log")
log2 = Primitive(np.log2, "log2")
log10 = Primitive(np.log10, "log10")
log1p = Primitive(np.log1p, "log1p")
sqrt = Primitive(np.sqrt, "sqrt")
abs = Primitive(np.abs, "abs")  # noqa: A001 - the name students know

defvjp(exp,     lambda g, ans, x: g * ans)                   # (e^x)' = e^x
defvjp(exp2,    lambda g, ans, x: g * ans * LN2)             # (2^x)' = 2^x ln 2
defvjp(expm1,   lambda g, ans, x: g * (ans + 1.0))           # (e^x - 1)' = e^x
defvjp(log,     lambda g, ans, x: g / x)                     # (log x)' = 1/x
defvjp(log2,    lambda g, ans, x: g / (x * LN2))
defvjp(log10,   lambda g, ans, x: g / (x * LN10))
defvjp(log1p,   lambda g, ans, x: g / (x + 1.0))             # accurate log(1 + x) near 0
defvjp(sqrt,    lambda g, ans, x: g * 0.5 / ans)             # (sqrt x)' = 1/(2 sqrt x)
defvjp(abs,     lambda g, ans, x: g * sign(x))

sin = Primitive(np.sin, "sin")
cos = Primitive(np.cos, "cos")
tan = Primitive(np.tan, "tan")
arcsin = Primitive(np.arcsin, "arcsin")
arccos = Primitive(np.arccos, "arccos")
arctan = Primitive(np.arctan, "arctan")

defvjp(sin,     lambda g, ans, x: g * cos(x))
defvjp(cos,     lambda g, ans, x: -g * sin(x))
defvjp(tan,     lambda g, ans, x: g * (1.0 + ans * ans))     # tan' = 1 + tan^2
defvjp(arcsin,  lambda g, ans, x: g / sqrt(1.0 - x * x))
defvjp(arccos,  lambda g, ans, x: -g / sqrt(1.0 - x * x))
defvjp(arctan,  lambda g, ans, x: g / (1.0 + x * x))

sinh = Primitive(np.sinh, "sinh")
cosh = Primitive(np.cosh, "cosh")
tanh = Primitive(np.tanh, "tanh")
arcsinh = Primitive(np.arcsinh, "arcsinh")
arccosh = Primitive(np.arccosh, "arccosh")
arctanh = Primitive(np.arctanh, "arctanh")

defvjp(sinh,    lambda g, ans, x: g * cosh(x))
defvjp(cosh,    lambda g, ans, x: g * sinh(x))
defvjp(tanh,    lambda g, ans, x: g * (1.0 - ans * ans))     # tanh' = 1 - tanh^2
defvjp(arcsinh, lambda g, ans, x: g / sqrt(x * x + 1.0))
defvjp(arccosh, lambda g, ans, x: g / sqrt(x * x - 1.0))
defvjp(arctanh, lambda g, ans, x: g / (1.0 - x * x))

sigmoid = Primitive(lambda x: 0.5 * (np.tanh(0.5 * x) + 1.0), "sigmoid")  # = 1/(1+e^-x), stable
softplus = Primitive(lambda x: np.logaddexp(0.0, x), "softplus")          # log(1 + e^x), stable
relu = Primitive(lambda x: np.maximum(x, 0.0), "relu")

defvjp(sigmoid,  lambda g, ans, x: g * ans * (1.0 - ans))    # s' = s (1 - s)
defvjp(softplus, lambda g, ans, x: g * sigmoid(x))           # softplus' = sigmoid
defvjp(relu,     lambda g, ans, x: g * (_raw(x) > 0))

# ---------------------------------------------------------- functions of two arguments
arctan2 = Primitive(np.arctan2, "arctan2")        # the angle of the point (x, y): arctan2(y, x)
hypot = Primitive(np.hypot, "hypot")              # sqrt(x^2 + y^2) without overflow
logaddexp = Primitive(np.logaddexp, "logaddexp")  # log(e^x + e^y) without overflow
logaddexp2 = Primitive(np.logaddexp2, "logaddexp2")

defvjp(arctan2,    lambda g, ans, y, x: g * x / (x * x + y * y),
                   lambda g, ans, y, x: -g * y / (x * x + y * y))
defvjp(hypot,      lambda g, ans, x, y: g * x / ans,
                   lambda g, ans, x, y: g * y / ans)
defvjp(logaddexp,  lambda g, ans, x, y: g * exp(x - ans),    # e^x / (e^x + e^y)
                   lambda g, ans, x, y: g * exp(y - ans))
defvjp(logaddexp2, lambda g, ans, x, y: g * exp2(x - ans),
                   lambda g, ans, x, y: g * exp2(y - ans))


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
defvjp(clip,    lambda g, ans, x, lo, hi: g * _inside(x, lo, hi),   # a bound that is hit
                lambda g, ans, x, lo, hi: g * (_raw(x) < _raw(lo)),  # passes g to the bound
                lambda g, ans, x, lo, hi: g * (_raw(x) > _raw(hi)))
defvjp(where,   None,
                lambda g, ans, c, x, y: where(c, g, 0.0),
                lambda g, ans, c, x, y: where(c, 0.0, g))

# ------------------------------------------------------------------- matrix product


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

# ------------------------------------------------------ functions without a derivative


def sign(x: Any) -> Any:
    """-1, 0 or 1 elementwise; a constant (its derivative is 0 almost everywhere)."""
    return Tensor._wrap(np.sign(x._value)) if isinstance(x, Tensor) else np.sign(x)
