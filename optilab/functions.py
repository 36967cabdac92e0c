r"""Test functions for optimisation: the course's own and the classics.

Each one is a :class:`TestFunction`: a callable ``f(x)`` or ``f(x, y)`` (one number, array or
tensor per coordinate) with its formula in LaTeX, a plot range, its known minimisers and
minimum value, and starting points that make good demos.  The same function works on
``torch`` tensors, on ``optilab.autograd`` tensors (both can differentiate it) and on numpy
grids (for plotting), because it is written with operators and :mod:`optilab.ops`.

    >>> import numpy as np
    >>> from optilab import functions
    >>> rosen = functions.rosenbrock
    >>> rosen(1.0, 1.0)                         # one number per coordinate
    0.0
    >>> float(rosen.at(np.array([-1.2, 1.0])))  # one point, coordinates on the last axis
    24.199999999999996
    >>> rosen.minimizers, rosen.f_min
    (((1.0, 1.0),), 0.0)
    >>> X, Y, Z = rosen.grid(n=50)              # a meshgrid for contour plots
    >>> Z.shape
    (50, 50)
    >>> functions.get("himmelblau").f_min
    0.0

Functions by name: :func:`get`, :func:`names`, :data:`FUNCTIONS`; add your own with
:func:`register`.

Where the minimisers come from: the classics' are textbook values (Himmelblau's and the
six-hump camel's refined by Newton's method in 40-digit arithmetic, mpmath); the course
functions' were found by a dense grid scan plus many Nelder-Mead starts over a wide box,
then refined the same way (the digits stored are float64's best).  ``tests/test_functions.py``
proves each one: the gradient vanishes there (torch and optilab.autograd), the Hessian is
positive semi-definite, nothing lower is found nearby, and nothing on the plot grid is below
``f_min``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from . import ops

Point = tuple[float, ...]

__all__ = [
    "TestFunction", "Point", "FUNCTIONS", "get", "names", "register", "unregister",
    "square", "abs_kink", "quadratic_shifted", "bumpy_1d", "gaussian_well", "saddle",
    "cubic_saddle", "ripple", "bumpy_2d", "rosenbrock", "beale", "himmelblau", "booth",
    "rastrigin", "ackley", "six_hump_camel", "matyas",
]


# ------------------------------------------------------------------------------ the record

@dataclasses.dataclass(frozen=True)
class TestFunction:
    r"""A function to minimise, with everything needed to plot it and check an answer.

    Fields:

    * ``name``: how :func:`get` finds it (``"rosenbrock"``).
    * ``f``: the function itself, one argument per coordinate: ``f(x)`` or ``f(x, y)``.  Each
      argument may be a number, a numpy array (a grid), a torch tensor or an optilab tensor.
    * ``dim``: the number of coordinates (read from ``f``'s signature when not given).
    * ``formula``: LaTeX without dollar signs, e.g. ``r"(1 - x)^2 + 100(y - x^2)^2"``;
      ``title`` wraps it in ``$...$`` for matplotlib.
    * ``x_range`` (and ``y_range`` in 2D): the default plot window.
    * ``minimizers``: the global minimisers ``x*`` (points, as tuples); empty when there is
      no minimum (a saddle).  For a continuum of minimisers (a ring), one representative.
    * ``f_min``: the minimum value ``f(x*)``, or None when ``f`` is unbounded below.
    * ``local_minimizers``: other local minima inside the plot window (traps for a descent).
    * ``kinks``: those of the minimisers above where ``f`` is not differentiable (``|x|``
      at 0, a cone point): there the gradient is undefined -- engines report 0 or nan --
      and only a *subgradient* is 0.
    * ``starts``: starting points that make a good demo.
    * ``description``: what the function is good for showing.

    A TestFunction is called like its ``f``; :meth:`at` takes one point instead.

    >>> bowl = TestFunction("bowl", lambda x, y: x ** 2 + 2 * y ** 2, formula="x^2 + 2y^2",
    ...                     minimizers=[(0, 0)], f_min=0)
    >>> bowl.dim, bowl(1.0, 1.0), bowl.at([1.0, 1.0])
    (2, 3.0, 3.0)
    >>> bowl.minimizers, bowl.y_range
    (((0.0, 0.0),), (-5.0, 5.0))
    """

    __test__ = False  # a "Test..." class that pytest must not collect

    name: str
    f: Callable[..., Any]
    dim: int | None = None
    _: dataclasses.KW_ONLY
    formula: str = ""
    x_range: tuple[float, float] = (-5.0, 5.0)
    y_range: tuple[float, float] | None = None
    minimizers: tuple[Point, ...] = ()
    f_min: float | None = None
    local_minimizers: tuple[Point, ...] = ()
    kinks: tuple[Point, ...] = ()
    starts: tuple[Point, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        set_ = lambda field, value: object.__setattr__(self, field, value)  # frozen
        if not isinstance(self.name, str) or not _key(self.name):
            raise ValueError(f"a test function needs a name (a non-empty string), "
                             f"got {self.name!r}")
        if not callable(self.f):
            raise TypeError(f"{self.name}: f must be a function such as lambda x, y: x**2 + y**2, "
                            f"got {type(self.f).__name__}")
        dim = _arity(self.f, self.name) if self.dim is None else self.dim
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"{self.name}: dim must be a positive int (the number of "
                             f"coordinates), got {dim!r}")
        set_("dim", dim)
        set_("x_range", _interval(self.x_range, "x_range", self.name))
        if dim == 2:
            set_("y_range", _interval(self.x_range if self.y_range is None else self.y_range,
                                      "y_range", self.name))
        elif self.y_range is not None:
            raise ValueError(f"{self.name}: y_range is for 2D functions, this one has dim={dim}")
        for field in ("minimizers", "local_minimizers", "kinks", "starts"):
            set_(field, _points(getattr(self, field), dim, field, self.name))
        if self.f_min is not None:
            set_("f_min", float(self.f_min))
        with contextlib.suppress(TypeError, ValueError):      # inspect.signature(tf) is f's
            set_("__signature__", inspect.signature(self.f))

    # -- evaluating ---------------------------------------------------------------------
    def __call__(self, *coords: Any) -> Any:
        """``f(x, y)``: one number, array or tensor per coordinate."""
        if len(coords) != self.dim:
            raise TypeError(
                f"{self.name} takes {self.dim} coordinate(s) ({', '.join(self.variables)}), "
                f"got {len(coords)}. For one point p with the coordinates on its last axis "
                f"(shape ({self.dim},)), use {self.name}.at(p).")
        return self.f(*coords)

    def at(self, point: Any) -> Any:
        """``f`` at a point given as one array or tensor: ``p[..., 0]`` is x, ``p[..., 1]`` y.

        The point may be a torch tensor, an optilab tensor, a numpy array or a list of
        ``dim`` numbers or tensors; points stacked along leading axes give one value each.
        This is the form optimizers use (``x = torch.tensor([-1.2, 1.0]); loss = f.at(x)``).
        A 1D function also accepts a scalar.

        >>> import numpy as np
        >>> booth.at(np.array([[1.0, 3.0], [0.0, 0.0]]))
        array([ 0., 74.])
        """
        if isinstance(point, (list, tuple)):
            if len(point) != self.dim:
                raise ValueError(f"{self.name}.at expects {self.dim} coordinate(s), "
                                 f"got a {type(point).__name__} of length {len(point)}")
            return self.f(*point)
        shape = tuple(getattr(point, "shape", np.shape(point)))
        if self.dim == 1 and shape == ():
            return self.f(point)
        if not shape or shape[-1] != self.dim:
            raise ValueError(
                f"{self.name}.at expects a point with its {self.dim} coordinate(s) on the last "
                f"axis (shape ({self.dim},) or (..., {self.dim})), got shape {shape}. "
                f"To pass coordinates separately, call {self.name}(" + ", ".join(self.variables)
                + ").")
        return self.f(*(point[..., i] for i in range(self.dim)))

    def grid(self, n: int = 200) -> tuple[np.ndarray, ...]:
        """Values on an ``n``-point grid over the plot range, as numpy arrays.

        1D: ``(xs, ys)``.  2D: ``(X, Y, Z)`` from ``np.meshgrid`` (``Z[i, j] = f(X[i, j],
        Y[i, j])``), ready for ``plt.contour(X, Y, Z)`` or ``ax.plot_surface``.  A function
        written with tensor methods (``x.sin()``, which numpy arrays lack) is evaluated on
        optilab tensors instead.

        >>> xs, ys = square.grid(n=5)
        >>> xs, ys
        (array([-5. , -2.5,  0. ,  2.5,  5. ]), array([25.  ,  6.25,  0.  ,  6.25, 25.  ]))
        """
        xs = np.linspace(*self.x_range, n)
        if self.dim == 1:
            return xs, _on_numpy(self.f, xs)
        if self.dim == 2:
            assert self.y_range is not None
            X, Y = np.meshgrid(xs, np.linspace(*self.y_range, n))
            return X, Y, _on_numpy(self.f, X, Y)
        raise ValueError(f"{self.name}: grid() is for 1D and 2D functions, this one has "
                         f"dim={self.dim}")

    # -- describing ---------------------------------------------------------------------
    @property
    def title(self) -> str:
        """The formula as matplotlib mathtext (``$...$``), or the name when there is none."""
        return f"${self.formula}$" if self.formula else self.name

    @property
    def variables(self) -> tuple[str, ...]:
        """The coordinates' names: ``("x",)``, ``("x", "y")``, or ``("x1", ..., "xn")``."""
        dim = int(self.dim or 0)
        return ("x", "y")[:dim] if dim <= 2 else tuple(f"x{i + 1}" for i in range(dim))

    def __repr__(self) -> str:
        if self.f_min is None:
            minimum = "no minimum listed" if not self.minimizers else "minimum value unknown"
        else:
            where = ", ".join(_fmt(p) for p in self.minimizers) or "?"
            minimum = f"min {self.f_min:.6g} at {where}"
        return f"<TestFunction {self.name}({', '.join(self.variables)}): {minimum}>"


def _key(name: str) -> str:
    """How names are compared: ``"Six-hump camel"`` finds ``six_hump_camel``."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def _arity(f: Callable[..., Any], name: str) -> int:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        params = None
    if params is None or any(p.kind == p.VAR_POSITIONAL for p in params):
        raise ValueError(f"{name}: cannot tell how many coordinates f takes; pass dim=...")
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty)


def _interval(r: Any, field: str, name: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {field} must be two numbers (low, high), got {r!r}") from None
    if not lo < hi:
        raise ValueError(f"{name}: {field} must have low < high, got {r!r}")
    return lo, hi


def _points(points: Iterable[Any], dim: int, field: str, name: str) -> tuple[Point, ...]:
    out = []
    for p in points:
        coords = (p,) if np.ndim(p) == 0 and dim == 1 else tuple(np.ravel(np.asarray(p, float)))
        if len(coords) != dim:
            raise ValueError(f"{name}: each of {field} must have {dim} coordinate(s), got {p!r}")
        out.append(tuple(float(c) for c in coords))
    return tuple(out)


def _fmt(p: Point) -> str:
    return "(" + ", ".join(f"{c:.6g}" for c in p) + ")"


def _on_numpy(f: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    """``f(*arrays)`` as a float array of the arrays' shape (via optilab tensors if needed)."""
    try:
        out = f(*arrays)
    except (AttributeError, TypeError):                # x.sin() and friends: not on numpy
        from .autograd import Tensor

        out = f(*(Tensor(a, requires_grad=False) for a in arrays))
    out = np.asarray(out, dtype=float)
    return out if out.shape == arrays[0].shape else np.broadcast_to(out, arrays[0].shape).copy()


# ------------------------------------------------------------------- the course's functions

def _square(x):
    return x ** 2


square = TestFunction(
    "square", _square, formula="x^2", x_range=(-5, 5),
    minimizers=[0.0], f_min=0.0, starts=[4.0, -3.0],
    description="The simplest bowl: f'(x) = 2x, so gradient descent x <- x - 2 lr x "
                "converges for 0 < lr < 1 and diverges for lr > 1.")


def _abs_kink(x):
    return 5 * ops.abs(x)


abs_kink = TestFunction(
    "abs_kink", _abs_kink, formula="5|x|", x_range=(-5, 5),
    minimizers=[0.0], f_min=0.0, kinks=[0.0], starts=[4.0, -2.5],
    description="5|x|: a kink at the minimum. The gradient is +-5 everywhere else, so plain "
                "gradient descent with a fixed step zig-zags around 0 instead of converging: "
                "shrink the step (a schedule) to get there.")


def _quadratic_shifted(x):
    return (x - 2) ** 2 + 4 * x - 2


quadratic_shifted = TestFunction(
    "quadratic_shifted", _quadratic_shifted, formula="(x - 2)^2 + 4x - 2", x_range=(-5, 5),
    minimizers=[0.0], f_min=2.0, starts=[4.0, -3.0],
    description="(x - 2)^2 + 4x - 2 expands to x^2 + 2: the minimiser is 0, not 2, and the "
                "minimum value is 2. Adding a constant moves the value, never the minimiser.")


def _bumpy_1d(x):
    return x ** 2 / 20 + ops.tanh(ops.sin(x))


bumpy_1d = TestFunction(
    "bumpy_1d", _bumpy_1d, formula=r"\frac{x^2}{20} + \tanh(\sin x)", x_range=(-8, 8),
    minimizers=[-1.2804594436016898], f_min=-0.6614705917970709,
    local_minimizers=[-6.807174405318038, 3.984704547433184],
    starts=[-4.0, 6.0, -7.5],
    description="A wide bowl with bumps: f'(x) = x/10 + cos(x) / cosh(sin x)^2 has several "
                "zeros. The global minimum is at x = -1.28046 (f = -0.66147); local minima at "
                "x = -6.80717 and 3.98470 (and 9.59205, off the plot) trap a small step: from "
                "6.0 descent stops at 3.98, from -4.0 it finds the global minimum.")


def _gaussian_well(x, y):
    return -(1 - (x ** 2 + y ** 3)) * ops.exp(-(x ** 2 + y ** 2) / 2)


gaussian_well = TestFunction(
    "gaussian_well", _gaussian_well,
    formula=r"-\left(1 - (x^2 + y^3)\right)\, e^{-(x^2 + y^2)/2}",
    x_range=(-3, 3), y_range=(-3, 3),
    minimizers=[(0.0, -2 * math.cos(2 * math.pi / 9))], f_min=-1.4213344734970232,
    local_minimizers=[(0.0, 0.0)],
    starts=[(1.5, 1.5), (-2.0, -2.5), (0.4, 0.4)],
    description="A Gaussian well bent by y^3. On the line x = 0 the slope vanishes where "
                "y (y^3 - 3y - 1) = 0, so the global minimum is at y* = -2 cos(2 pi / 9) = "
                "-1.53209 (f = -1.42133) and the origin is a shallower local minimum (f = -1). "
                "Far away the function flattens to 0: descent slows to a crawl there.")


def _saddle(x, y):
    return x ** 2 - y ** 2


saddle = TestFunction(
    "saddle", _saddle, formula="x^2 - y^2", x_range=(-2, 2), y_range=(-2, 2),
    starts=[(1.5, 0.0), (1.5, 0.1)],
    description="A saddle: the gradient (2x, -2y) vanishes at the origin, which is no "
                "minimum, and f is unbounded below along y. Gradient descent started exactly "
                "on y = 0 converges to the saddle; the smallest push in y escapes it.")


def _cubic_saddle(x, y):
    return x ** 3 - y ** 3


cubic_saddle = TestFunction(
    "cubic_saddle", _cubic_saddle, formula="x^3 - y^3", x_range=(-2, 2), y_range=(-2, 2),
    starts=[(1.0, -1.0), (1.0, 0.5)],
    description="A degenerate critical point: gradient (3x^2, -3y^2) and Hessian both vanish "
                "at the origin, which is still no minimum (f is unbounded below). From "
                "(1, -1) descent creeps towards the origin ever more slowly; from (1, 0.5) "
                "it escapes to y -> +infinity.")


def _ripple(x, y):
    return ops.sin(ops.sqrt(x ** 2 + y ** 2))


ripple = TestFunction(
    "ripple", _ripple, formula=r"\sin\sqrt{x^2 + y^2}", x_range=(-7, 7), y_range=(-7, 7),
    minimizers=[(3 * math.pi / 2, 0.0)], f_min=-1.0,
    local_minimizers=[(0.0, 0.0)], kinks=[(0.0, 0.0)],
    starts=[(1.0, 0.5), (3.0, 1.0)],
    description="sin(r) of the radius r: the minimum -1 is reached on the whole circle "
                "r = 3 pi / 2 (and r = 3 pi / 2 + 2 pi k, outside the plot); minimizers lists "
                "one point of it. The origin is a cone-shaped local minimum (f = 0, no "
                "gradient there). Starts inside r < pi / 2 slide to the cone; starts "
                "further out roll to the ring.")


def _bumpy_2d(x, y):
    return ((x ** 2 / 20 + ops.tanh(ops.sin(x))) * ops.abs(y) ** 1.2 + 5 * ops.abs(x)
            + (y + 7) ** 2 / 10)


bumpy_2d = TestFunction(
    "bumpy_2d", _bumpy_2d,
    formula=r"\left(\frac{x^2}{20} + \tanh(\sin x)\right)|y|^{1.2} + 5|x| + \frac{(y + 7)^2}{10}",
    x_range=(-8, 8), y_range=(-20, 5),
    minimizers=[(-0.950663483290083, -13.30798276627219)], f_min=-5.258705582839604,
    starts=[(4.0, 2.0), (-6.0, -3.0), (2.0, -18.0)],
    description="The bumpy 1D function swept along y, with kinks along x = 0 (5|x|) and a "
                "non-smooth |y|^1.2 at y = 0. Its only minimum is at (-0.95066, -13.30798), "
                "f = -5.25871 (a grid scan and 3000 random Nelder-Mead starts agree): "
                "x = 0, y = -7 (f = 0) looks like the answer but is not even a local minimum, "
                "because the negative bump near x = -1 pays for 5|x|.")


# ---------------------------------------------------------------------- standard functions

def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


rosenbrock = TestFunction(
    "rosenbrock", _rosenbrock, formula="(1 - x)^2 + 100(y - x^2)^2",
    x_range=(-2, 2), y_range=(-1, 3), minimizers=[(1.0, 1.0)], f_min=0.0,
    starts=[(-1.2, 1.0), (-1.5, 2.5), (0.0, 2.0)],
    description="Rosenbrock's banana valley: easy to find, hard to follow. Along the curved "
                "floor y = x^2 the slope is tiny, across it steep (Hessian condition number "
                "about 2500 at the minimum), so gradient descent zig-zags; momentum and Adam "
                "do better.")


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


beale = TestFunction(
    "beale", _beale,
    formula=r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    x_range=(-4.5, 4.5), y_range=(-4.5, 4.5), minimizers=[(3.0, 0.5)], f_min=0.0,
    starts=[(1.0, 1.5), (-2.0, -2.0), (2.0, 3.0)],
    description="Beale's function: steep walls and flat plateaus (values from 0 to about 2e5 "
                "on the plot); the minimum (3, 0.5) lies in a narrow curved valley. A second "
                "valley runs off to x -> -infinity along y = 1, where f only falls to 0.452: "
                "a trap for optimizers that start on the left.")


def _himmelblau(x, y):
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


himmelblau = TestFunction(
    "himmelblau", _himmelblau, formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    x_range=(-5, 5), y_range=(-5, 5),
    minimizers=[(3.0, 2.0),
                (-2.805118086952745, 3.131312518250573),
                (-3.779310253377747, -3.2831859912861696),
                (3.5844283403304917, -1.8481265269644036)],
    f_min=0.0, starts=[(0.0, 0.0), (-4.0, 0.0), (0.0, -4.0), (-1.0, 4.0)],
    description="Himmelblau's function: four global minima, all with f = 0, and a local "
                "maximum near (-0.27, -0.92). Which minimum an optimizer reaches depends on "
                "where it starts.")


def _booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


booth = TestFunction(
    "booth", _booth, formula="(x + 2y - 7)^2 + (2x + y - 5)^2",
    x_range=(-10, 10), y_range=(-10, 10), minimizers=[(1.0, 3.0)], f_min=0.0,
    starts=[(-8.0, -8.0), (8.0, 0.0)],
    description="Booth's function: a tilted quadratic bowl (Hessian [[10, 8], [8, 10]], "
                "eigenvalues 2 and 18), the minimum where both brackets vanish: (1, 3).")


def _rastrigin(x, y):
    return (20 + x ** 2 - 10 * ops.cos(2 * math.pi * x)
            + y ** 2 - 10 * ops.cos(2 * math.pi * y))


rastrigin = TestFunction(
    "rastrigin", _rastrigin,
    formula=r"20 + x^2 - 10\cos(2\pi x) + y^2 - 10\cos(2\pi y)",
    x_range=(-5.12, 5.12), y_range=(-5.12, 5.12), minimizers=[(0.0, 0.0)], f_min=0.0,
    starts=[(3.2, -2.1), (0.4, 0.3)],
    description="Rastrigin's function: a bowl covered in an egg-box of about 120 local "
                "minima near the integer points (not listed). Gradient descent stops in the "
                "nearest one; only the one at the origin is global.")


def _ackley(x, y):
    return (-20 * ops.exp(-0.2 * ops.sqrt((x ** 2 + y ** 2) / 2))
            - ops.exp((ops.cos(2 * math.pi * x) + ops.cos(2 * math.pi * y)) / 2) + math.e + 20)


ackley = TestFunction(
    "ackley", _ackley,
    formula=r"-20\, e^{-0.2\sqrt{(x^2 + y^2)/2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20",
    x_range=(-5, 5), y_range=(-5, 5), minimizers=[(0.0, 0.0)], f_min=0.0, kinks=[(0.0, 0.0)],
    starts=[(2.2, 1.6), (0.5, -0.4)],
    description="Ackley's function: an almost flat plate full of small local minima (not "
                "listed) around a deep funnel. The minimum at the origin is a cone point "
                "(the square root of x^2 + y^2): the gradient is undefined there.")


def _six_hump_camel(x, y):
    return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2


six_hump_camel = TestFunction(
    "six_hump_camel", _six_hump_camel,
    formula=r"\left(4 - 2.1x^2 + \frac{x^4}{3}\right)x^2 + xy + (4y^2 - 4)y^2",
    x_range=(-3, 3), y_range=(-2, 2),
    minimizers=[(0.08984201310031806, -0.7126564030207396),
                (-0.08984201310031806, 0.7126564030207396)],
    f_min=-1.0316284534898774,
    local_minimizers=[(-1.7036067149699808, 0.7960835686726251),
                      (1.7036067149699808, -0.7960835686726251),
                      (1.6071047529201972, 0.5686514548841314),
                      (-1.6071047529201972, -0.5686514548841314)],
    starts=[(-2.0, -1.0), (2.0, 1.0), (0.5, 1.5)],
    description="The six-hump camel: two global minima (f = -1.03163, symmetric through the "
                "origin) and four local ones (f = -0.21546 and 2.10425).")


def _matyas(x, y):
    return 0.26 * (x ** 2 + y ** 2) - 0.48 * x * y


matyas = TestFunction(
    "matyas", _matyas, formula="0.26(x^2 + y^2) - 0.48xy",
    x_range=(-10, 10), y_range=(-10, 10), minimizers=[(0.0, 0.0)], f_min=0.0,
    starts=[(8.0, -6.0), (5.0, 5.0)],
    description="Matyas' function: a long, flat quadratic valley along y = x (Hessian "
                "eigenvalues 0.04 and 1.0). At (5, 5), on the valley floor, the gradient is only "
                "(0.2, 0.2): a lesson in ill-conditioning.")


# -------------------------------------------------------------------------- the registry

_BUILTINS: dict[str, TestFunction] = {
    tf.name: tf for tf in (
        square, abs_kink, quadratic_shifted, bumpy_1d, gaussian_well, saddle, cubic_saddle,
        ripple, bumpy_2d, rosenbrock, beale, himmelblau, booth, rastrigin, ackley,
        six_hump_camel, matyas)
}
_registry: dict[str, TestFunction] = dict(_BUILTINS)

#: Every registered test function by name (read-only; use :func:`register` to add one).
FUNCTIONS: Mapping[str, TestFunction] = MappingProxyType(_registry)


def names() -> list[str]:
    """The registered names: the course's functions, the classics, then yours.

    >>> names()[:3]
    ['square', 'abs_kink', 'quadratic_shifted']
    """
    return list(_registry)


def get(name: str | TestFunction) -> TestFunction:
    """The test function called ``name`` (case, spaces and hyphens do not matter).

    A TestFunction passes through unchanged, so code can accept either.

    >>> get("Six-hump camel").f_min
    -1.0316284534898774
    >>> get("rosenbrok")
    Traceback (most recent call last):
    ...
    ValueError: unknown test function 'rosenbrok'. Did you mean 'rosenbrock'? ...
    """
    if isinstance(name, TestFunction):
        return name
    if not isinstance(name, str):
        raise TypeError(f"get() takes a test function's name (a string), got "
                        f"{type(name).__name__}")
    key = _key(name)
    if key in _registry:
        return _registry[key]
    close = difflib.get_close_matches(key, list(_registry), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"unknown test function {name!r}.{hint} Valid names: "
                     f"{', '.join(_registry)}. Add your own with register().")


def register(function: TestFunction | str, f: Callable[..., Any] | None = None, *,
             replace: bool = False, **fields: Any) -> TestFunction:
    """Add a test function to the registry, so ``get(name)`` (and everything that takes a
    name) finds it; returns it.

    Pass a :class:`TestFunction`, or a name, the function and any of its fields
    (``formula=``, ``x_range=``, ``minimizers=``, ``f_min=``, ``starts=``, ...).  Registering
    a name again replaces your earlier function (so a notebook cell can be re-run); replacing
    a built-in needs ``replace=True``.

    >>> bowl = register("bowl", lambda x, y: x ** 2 + 2 * y ** 2, formula="x^2 + 2y^2",
    ...                 minimizers=[(0, 0)], f_min=0, starts=[(3, 2)])
    >>> get("bowl")(3.0, 2.0)
    17.0
    >>> unregister("bowl")
    """
    if isinstance(function, TestFunction):
        if f is not None or fields:
            raise TypeError("register(test_function) takes no other fields: they are part of "
                            "the TestFunction already (use dataclasses.replace to change them)")
        tf = function
    elif isinstance(function, str):
        if f is None:
            raise TypeError(f"register({function!r}, f): give the function too, e.g. "
                            f"register({function!r}, lambda x, y: x**2 + y**2)")
        tf = TestFunction(function, f, **fields)
    else:
        raise TypeError(f"register() takes a TestFunction or a name and a function, got "
                        f"{type(function).__name__}")
    key = _key(tf.name)
    if key in _BUILTINS and _registry[key] is not tf and not replace:
        raise ValueError(f"{key!r} is a built-in test function. Choose another name, or pass "
                         f"replace=True to replace it (unregister({key!r}) brings it back).")
    _registry[key] = tf
    return tf


def unregister(name: str) -> None:
    """Remove a function you registered; a replaced built-in comes back.

    >>> unregister("rosenbrock")
    Traceback (most recent call last):
    ...
    ValueError: 'rosenbrock' is a built-in test function and cannot be removed
    """
    key = _key(get(name).name)                     # get() explains an unknown name
    if key in _BUILTINS:
        if _registry[key] is _BUILTINS[key]:
            raise ValueError(f"{key!r} is a built-in test function and cannot be removed")
        _registry[key] = _BUILTINS[key]
    else:
        del _registry[key]
