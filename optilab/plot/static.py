r"""Drawing a function and optimisation paths on matplotlib axes: the pieces every plot shares.

Three views of a function ``f``:

* ``"curve"``    -- a 1D function as the curve ``y = f(x)``; a path is the points ``(x_k, f(x_k))``;
* ``"contour"``  -- a 2D function as a filled contour map; a path is ``(x_k, y_k)``;
* ``"surface"``  -- a 2D function as a 3D surface; a path is ``(x_k, y_k, f(x_k, y_k))``.

:func:`draw_function` draws ``f`` once and :func:`draw_trajectories` draws paths over it; both
return their artists, so a caller that redraws (a live plot, an animation, a slider explorer)
changes the data of those artists instead of drawing everything again::

    fig = Figure(); FigureCanvasAgg(fig); ax = fig.add_subplot()
    drawn = draw_function(ax, "rosenbrock", "contour")
    paths = draw_trajectories(ax, {"sgd": trajectory}, "contour", limits=drawn.limits)
    paths[0].set_data(new_points, new_values)         # e.g. when a slider moved

A path that leaves the plot is clipped to the frame, and the clipped points get a cross;
a run that diverged (``Trajectory.status == "diverged"``, or a point or value that is not
finite) is drawn up to where it diverged, and :func:`divergence_note` says "diverged at step k".

:class:`Scene` puts it together -- the function, the paths, a legend, and optional panels of
the loss and the learning rate against the step -- and :func:`plot_trajectories` draws a scene
as a static figure:

    >>> from optilab.optim import run
    >>> t = run(lambda x, y: x ** 2 + 10 * y ** 2, [1.5, 1.0], "sgd", lr=0.05, steps=30)
    >>> fig = plot_trajectories("booth", t, panels=("loss",))
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['x', 'step']
"""

from __future__ import annotations

import inspect
import io
import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..functions import TestFunction
from ..functions import get as get_function
from ..trajectory import Trajectory
from .internals import Internals

__all__ = [
    "VIEWS", "PANELS", "Grid", "Drawn", "Path", "PathArtists", "Scene",
    "resolve_view", "evaluate", "evaluate_grid", "draw_function", "draw_trajectories",
    "as_paths", "clip_to_frame", "divergence_note", "plot_trajectories", "to_array",
    "place_legend", "text_size",
]

VIEWS = ("curve", "contour", "surface")
PANELS = ("loss", "lr")
_ALIASES = {"1d": "curve", "line": "curve", "2d": "contour", "map": "contour",
            "3d": "surface"}
#: Colours of successive paths: Okabe & Ito's colour-blind-safe palette, a red first as in
#: the course's plots.  Each path also gets its own line style and marker (STYLES), so two
#: runs differ by more than colour.
COLORS = ("#D55E00", "#56B4E9", "#CC79A7", "#E69F00", "#0072B2", "#009E73", "#F0E442",
          "#000000")                     # bright ones first: paths run along dark valleys
STYLES = (("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ((0, (5, 1, 1, 1)), "v"),
          ((0, (1, 1)), "P"))
CLIP_COLOR = "#000000"
MARKERS = 200                     # at most about this many point markers per path
#: Text is at least this many pixels high in a picture shown at its own size (a notebook
#: shows a figure's PNG pixel for pixel): font sizes in points are raised at low dpi.
MIN_TEXT_PX = 9.0
BOUND = 1e6                       # as optilab.optim.run: a coordinate beyond it has diverged
FunctionLike = TestFunction | str | Callable[..., Any]
Range = tuple[float, float]


# ------------------------------------------------------------------------------ numbers

def to_array(v: Any) -> np.ndarray:
    """A float64 numpy array from a torch tensor (also one that requires grad, or on a GPU),
    an optilab tensor, a numpy array, a list or a number.

    >>> to_array(3).shape, to_array([1, 2]).dtype
    ((), dtype('float64'))
    """
    if hasattr(v, "detach") and hasattr(v, "cpu"):          # torch.Tensor
        v = v.detach().cpu().numpy()
    elif isinstance(getattr(v, "value", None), (np.ndarray, np.generic)):
        v = v.value                                        # optilab.autograd.Tensor
    elif isinstance(v, (list, tuple)):
        v = [float(to_array(e)) if np.ndim(to_array(e)) == 0 else to_array(e) for e in v]
    return np.asarray(v, dtype=float)


def text_size(points: float, dpi: float) -> float:
    """A font size in points, raised so that the text is at least :data:`MIN_TEXT_PX`
    pixels high at ``dpi`` (a point is 1/72 inch: ``pixels = points * dpi / 72``).

    >>> text_size(8, 80), round(text_size(8, 60), 1)
    (8.1, 10.8)
    """
    return max(float(points), MIN_TEXT_PX * 72.0 / dpi)


def resolve_view(view: str | None, dim: int | None) -> str:
    """The view's canonical name: ``"curve"``, ``"contour"`` or ``"surface"``.

    None picks by dimension (1: curve, 2: contour); ``"1d"``, ``"2d"``, ``"3d"`` are aliases.

    >>> resolve_view(None, 1), resolve_view("3d", 2)
    ('curve', 'surface')
    """
    if view is None:
        if dim not in (1, 2):
            raise ValueError(f"can only plot functions of 1 or 2 coordinates, this one has {dim}")
        return "curve" if dim == 1 else "contour"
    key = _ALIASES.get(str(view).lower(), str(view).lower())
    if key not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)} (or 1d, 2d, 3d), got {view!r}")
    if dim is not None and (dim == 1) != (key == "curve"):
        want = "curve" if dim == 1 else "contour or surface"
        raise ValueError(f"a function of {dim} coordinate(s) is drawn as a {want}, not {key!r}")
    return key


def _function(f: FunctionLike | None) -> tuple[Callable[..., Any] | None, TestFunction | None]:
    if isinstance(f, str):
        f = get_function(f)
    if isinstance(f, TestFunction):
        return f.f, f
    if f is not None and not callable(f):
        raise TypeError(f"f must be a function, a TestFunction or a name such as 'rosenbrock', "
                        f"got {type(f).__name__}")
    return f, None


def _dim(func: Callable[..., Any] | None, tf: TestFunction | None, y_range: Any) -> int | None:
    """How many coordinates ``func`` takes: the test function's ``dim``, else its required
    positional parameters, else 2 when a ``y_range`` is given."""
    if tf is not None:
        return tf.dim
    if y_range is not None:
        return 2
    try:
        params = inspect.signature(func).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    n = sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.default is p.empty)
    return n if n in (1, 2) else None


def evaluate(f: Callable[..., Any], *coords: Any) -> np.ndarray:
    """``f(*coords)`` as a float array of the coordinates' broadcast shape.

    Works whichever engine ``f`` is written for: it is called on numpy arrays first, then on
    optilab tensors (``x.sin()``), then on torch tensors (``torch.sin(x)``).  Inputs that are
    torch tensors go straight to ``f`` (without recording gradients).

    >>> evaluate(lambda x, y: x * y, np.array([1.0, 2.0]), 3.0)
    array([3., 6.])
    """
    shape = np.broadcast_shapes(*(np.shape(to_array(c)) for c in coords))
    if any(hasattr(c, "detach") and hasattr(c, "cpu") for c in coords):
        import torch

        with torch.no_grad():
            return _shaped(f(*coords), shape)
    arrays = [to_array(c) for c in coords]
    errors: list[BaseException] = []
    for wrap in (_as_numpy, _as_optilab, _as_torch):
        try:
            inputs = wrap(arrays)
        except ImportError as e:
            errors.append(e)
            continue
        try:
            return _shaped(f(*inputs), shape)
        except Exception as e:  # noqa: BLE001 -- try the next engine, report all below
            errors.append(e)
    raise TypeError(
        f"could not evaluate f on numbers to plot it: on numpy arrays it raised "
        f"{type(errors[0]).__name__}: {errors[0]}; on optilab and torch tensors "
        f"{'; '.join(f'{type(e).__name__}: {e}' for e in errors[1:])}. Write f with operators "
        f"and tensor methods (x ** 2, x.sin()) or optilab.ops (ops.sin(x)).") from errors[0]


def _as_numpy(arrays: list[np.ndarray]) -> list[Any]:
    return list(arrays)


def _as_optilab(arrays: list[np.ndarray]) -> list[Any]:
    from ..autograd import Tensor

    return [Tensor(a, requires_grad=False) for a in arrays]


def _as_torch(arrays: list[np.ndarray]) -> list[Any]:
    import torch

    return [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]


def _shaped(out: Any, shape: tuple[int, ...]) -> np.ndarray:
    out = to_array(out)
    return out if out.shape == shape else np.broadcast_to(out, shape).copy()


# ------------------------------------------------------------------------------ the function

@dataclass
class Grid:
    """``f`` sampled for drawing: ``x`` (n,) and ``z`` (n,) for a curve; ``x``, ``y``, ``z``
    (m, n) meshgrids for a contour map or a surface."""

    x: np.ndarray
    z: np.ndarray
    y: np.ndarray | None = None

    @property
    def finite_range(self) -> Range:
        """The smallest and largest finite value of ``z`` ((0, 1) when there is none)."""
        finite = self.z[np.isfinite(self.z)]
        if finite.size == 0:
            return 0.0, 1.0
        lo, hi = float(finite.min()), float(finite.max())
        return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)


def evaluate_grid(f: FunctionLike, view: str | None = None, x_range: Any = None,
                  y_range: Any = None, n: int | None = None) -> Grid:
    """Sample ``f`` over the plot window.

    ``x_range``/``y_range`` are ``(low, high)`` (sampled with ``n`` points) or the sample
    points themselves (a numpy array or a torch tensor, as the course passes
    ``torch.linspace(-5, 5, 100)``).  Defaults: the test function's window, else (-5, 5).

    >>> g = evaluate_grid("square", x_range=(-1, 1), n=3)
    >>> g.x, g.z
    (array([-1.,  0.,  1.]), array([1., 0., 1.]))
    """
    func, tf = _function(f)
    if func is None:
        raise TypeError("evaluate_grid needs a function")
    view = resolve_view(view, _dim(func, tf, y_range))
    default_n = {"curve": 400, "contour": 200, "surface": 60}[view]
    _check_size("n", n, 1_000_000 if view == "curve" else 2_000,
                lambda k: f"{k if view == 'curve' else k * k:,} samples of f, "
                          f"{(k if view == 'curve' else 3 * k * k) * 8 / 2**20:,.0f} MiB")
    xs = _samples(x_range if x_range is not None else (tf.x_range if tf else (-5, 5)),
                  n or default_n)
    if view == "curve":
        z = evaluate(func, xs)
        return Grid(to_array(xs), z)
    ys = _samples(y_range if y_range is not None else
                  (tf.y_range if tf and tf.y_range else (-5, 5)), n or default_n)
    if hasattr(xs, "detach") or hasattr(ys, "detach"):           # torch samples: torch grid
        import torch

        X, Y = torch.meshgrid(torch.as_tensor(xs), torch.as_tensor(ys), indexing="xy")
        z = evaluate(func, X, Y)
        return Grid(to_array(X), z, to_array(Y))
    X, Y = np.meshgrid(to_array(xs), to_array(ys))
    return Grid(X, evaluate(func, X, Y), Y)


def _check_size(name: str, value: Any, limit: int, cost: Callable[[int], str]) -> None:
    """A size argument: None, or a whole number from 2 up to ``limit`` (its cost named)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
        raise ValueError(f"{name} must be a whole number >= 2, got {value!r}")
    if value > limit:
        raise ValueError(f"{name}={value:,} would take {cost(int(value))}; the most is "
                         f"{limit:,} ({cost(limit)})")


def _samples(r: Any, n: int) -> Any:
    """``(lo, hi)`` -> ``n`` points; sample points (arrays, tensors) pass through."""
    if isinstance(r, (tuple, list)) and len(r) == 2:
        lo, hi = (float(to_array(v)) for v in r)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"a plot range must be (low, high) with low < high, got {r!r}")
        return np.linspace(lo, hi, n)
    if hasattr(r, "detach"):
        r = r.detach()
        if r.ndim != 1 or r.numel() < 2:
            raise ValueError(f"sample points must be 1D with at least 2 points, got shape "
                             f"{tuple(r.shape)}")
        return r
    a = to_array(r)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"a plot range must be (low, high) or 1D sample points, got {r!r}")
    return a


@dataclass
class Drawn:
    """What :func:`draw_function` drew: the grid, its artists and the plot limits
    ``(x_range, y_range, z_range)`` -- in the curve view ``y_range`` is the value axis and
    ``z_range`` is None."""

    view: str
    grid: Grid
    artists: list[Any]
    limits: tuple[Range, Range, Range | None]


def draw_function(ax: Axes, f: FunctionLike | Grid, view: str | None = None,
                  x_range: Any = None, y_range: Any = None, *, n: int | None = None,
                  levels: int = 30, cmap: str = "viridis", minimizers: bool = True) -> Drawn:
    """Draw ``f`` on ``ax`` as a curve, a filled contour map, or a surface (``ax`` 3D).

    ``f`` is a function, a :class:`TestFunction` or its name, or a precomputed
    :class:`Grid`.  Contour levels follow the quantiles of f on the window, so a function
    with a huge range (Rosenbrock) still shows its valley.  A test function's minimisers are
    marked with white stars.  Returns a :class:`Drawn` (artists and limits).

    >>> fig = Figure(); ax = fig.add_subplot()
    >>> drawn = draw_function(ax, "himmelblau")
    >>> drawn.view, drawn.limits[:2]
    ('contour', ((-5.0, 5.0), (-5.0, 5.0)))
    """
    tf = None
    if isinstance(f, Grid):
        grid = f
        view = resolve_view(view, 1 if grid.y is None else 2)
    else:
        _, tf = _function(f)
        view = resolve_view(view, _dim(_function(f)[0], tf, y_range))
        grid = evaluate_grid(f, view, x_range, y_range, n)
    artists: list[Any] = []
    x_lim = float(np.min(grid.x)), float(np.max(grid.x))
    if view == "curve":
        zlo, zhi = grid.finite_range
        pad = 0.05 * (zhi - zlo)
        artists += ax.plot(grid.x, grid.z, color="#333333", lw=1.6, zorder=1)
        ax.set_xlim(*x_lim)
        ax.set_ylim(zlo - pad, zhi + pad)
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)")
        ax.grid(alpha=0.3)
        limits: tuple[Range, Range, Range | None] = (x_lim, (zlo - pad, zhi + pad), None)
    else:
        assert grid.y is not None
        y_lim = float(np.min(grid.y)), float(np.max(grid.y))
        z = np.where(np.isfinite(grid.z), grid.z, np.nan)
        if view == "contour":
            bounds = _levels(z, levels)
            import matplotlib

            colormap = matplotlib.colormaps[cmap]
            norm = BoundaryNorm(bounds, colormap.N, clip=True)
            artists.append(ax.contourf(grid.x, grid.y, z, bounds, cmap=colormap, norm=norm,
                                       zorder=0))
            artists.append(ax.contour(grid.x, grid.y, z, bounds[::2], colors="k",
                                      linewidths=0.4, alpha=0.35, zorder=0.5))
            ax.set_xlim(*x_lim)
            ax.set_ylim(*y_lim)
            limits = (x_lim, y_lim, grid.finite_range)
        else:
            if not hasattr(ax, "plot_surface"):
                raise TypeError("the surface view needs a 3D axes: "
                                "fig.add_subplot(projection='3d')")
            z_lim = grid.finite_range
            artists.append(ax.plot_surface(grid.x, grid.y, np.clip(z, *z_lim), cmap=cmap,
                                           rcount=min(40, z.shape[0]),
                                           ccount=min(40, z.shape[1]), linewidth=0,
                                           antialiased=False, alpha=0.85, zorder=0))
            ax.set_xlim(*x_lim)
            ax.set_ylim(*y_lim)
            ax.set_zlim(*z_lim)
            ax.set_zlabel("f(x, y)")
            limits = (x_lim, y_lim, z_lim)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    if minimizers and tf is not None and tf.minimizers:
        artists.append(_mark_minimizers(ax, tf, view, limits))
    return Drawn(view, grid, artists, limits)


def _levels(z: np.ndarray, levels: int) -> np.ndarray:
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return np.linspace(0.0, 1.0, levels)
    bounds = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, levels)))
    if bounds.size < 2:
        bounds = np.array([bounds[0] - 1.0, bounds[0] + 1.0])
    return bounds


def _mark_minimizers(ax: Axes, tf: TestFunction, view: str,
                     limits: tuple[Range, Range, Range | None]) -> Artist:
    pts = np.array(tf.minimizers, dtype=float)
    style = dict(ls="none", marker="*", ms=13, mfc="white", mec="k", mew=0.8, zorder=4,
                 label="_minimizers")
    if view == "curve":
        return ax.plot(pts[:, 0], evaluate(tf.f, pts[:, 0]), **style)[0]
    if view == "contour":
        return ax.plot(pts[:, 0], pts[:, 1], **style)[0]
    z = np.clip(evaluate(tf.f, pts[:, 0], pts[:, 1]), *limits[2])
    return ax.plot(pts[:, 0], pts[:, 1], z, **style)[0]


# ------------------------------------------------------------------------------ paths

@dataclass
class Path:
    """One path to draw, whatever it came from: ``points`` (k, d), the values of f there
    (k,) (nan where unknown), the learning rates of its steps (k - 1,) (may be empty), and
    where it diverged (an index into ``points``), if it did."""

    label: str
    points: np.ndarray
    values: np.ndarray
    lrs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    diverged_at: int | None = None
    steps: np.ndarray | None = None    # each point's step number (record_every); None: 0, 1, ...

    def __post_init__(self) -> None:
        self.points = np.atleast_2d(to_array(self.points).reshape(len(self.points), -1))
        self.values = to_array(self.values).reshape(-1)
        if self.diverged_at is None:
            self.diverged_at = _first_divergence(self.points, self.values)


def _first_divergence(points: np.ndarray, values: np.ndarray) -> int | None:
    """The first point that is not finite or beyond BOUND, or whose value is infinite (or
    NaN, when values are known at all: all-NaN values mean "not computed")."""
    bad = np.zeros(len(points), bool)
    if values.size == len(points):
        bad |= np.isinf(values)
        if not np.isnan(values).all():
            bad |= np.isnan(values)
    bad |= ~np.all(np.isfinite(points), axis=1) | np.any(np.abs(points) > BOUND, axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def as_paths(trajectories: Any, f: Callable[..., Any] | None = None,
             dim: int | None = None) -> list[Path]:
    """Paths from a :class:`~optilab.trajectory.Trajectory`, a dict ``label -> Trajectory``
    (what :func:`optilab.optim.race` returns), a list of them, or arrays of points.

    Missing values are computed with ``f`` when it is given.  Labels are made unique.
    With ``dim`` (the picture's number of coordinates), a path in another number of
    coordinates is refused, naming it.

    >>> [p.label for p in as_paths({"sgd": np.zeros((3, 2)), "adam": np.ones((2, 2))})]
    ['sgd', 'adam']
    """
    if trajectories is None:
        return []
    if isinstance(trajectories, (Trajectory, Path, np.ndarray)):
        items: list[tuple[str | None, Any]] = [(None, trajectories)]
    elif isinstance(trajectories, Mapping):
        items = [(str(k), v) for k, v in trajectories.items()]
    elif _is_one_path(trajectories):
        items = [(None, to_array(trajectories))]
    elif isinstance(trajectories, Iterable):
        items = [(None, t) for t in trajectories]
    else:
        raise TypeError(f"expected a Trajectory, a dict label -> Trajectory, a list of them or "
                        f"an array of points, got {type(trajectories).__name__}")
    paths, seen = [], set()
    for i, (label, t) in enumerate(items):
        if isinstance(t, Path):
            path = Path(label or t.label, t.points, t.values, t.lrs, t.diverged_at)
        elif isinstance(t, Trajectory):
            path = Path(label or t.label, t.points, t.values, t.lrs,
                        t.diverged_at if t.diverged else None,
                        t.step_at if len(t.step_at) else None)
        else:
            pts = to_array(t)
            pts = pts.reshape(len(pts), -1) if pts.ndim else pts.reshape(1, 1)
            _check_dimension(label or f"path {i + 1}", pts, dim)
            values = np.full(len(pts), np.nan)
            if f is not None:
                with np.errstate(all="ignore"):
                    values = evaluate(f, *pts.T)
            path = Path(label or f"path {i + 1}", pts, values)
        _check_dimension(path.label, path.points, dim)
        base, k = path.label, 2
        while path.label in seen:
            path.label, k = f"{base} ({k})", k + 1
        seen.add(path.label)
        paths.append(path)
    return paths


def _check_dimension(label: str, points: np.ndarray, dim: int | None) -> None:
    if dim is not None and points.shape[1] != dim:
        raise ValueError(
            f"the path {label!r} has points with {points.shape[1]} coordinate(s), but this "
            f"picture draws a function of {dim} variable(s) "
            f"({'a curve' if dim == 1 else 'a map or surface'}): plot it over a function "
            f"of {points.shape[1]} variable(s)")


def _is_one_path(obj: Any) -> bool:
    """A list of points (numbers or coordinate pairs), not a list of paths."""
    if not isinstance(obj, (list, tuple)) or any(
            isinstance(t, (Trajectory, Path, Mapping)) for t in obj):
        return False
    try:
        return to_array(obj).ndim <= 2
    except (TypeError, ValueError):
        return False


def clip_to_frame(coords: np.ndarray, limits: Sequence[Range]) -> tuple[np.ndarray, np.ndarray]:
    """Clip each column of ``coords`` (k, c) to its ``(low, high)``; also says which rows
    were outside.  Infinite coordinates go to the edge; NaN stays NaN (not drawn).

    >>> clip_to_frame(np.array([[0.5, 0.5], [3.0, -np.inf]]), [(0, 1), (0, 1)])
    (array([[0.5, 0.5],
           [1. , 0. ]]), array([False,  True]))
    """
    coords = np.asarray(coords, dtype=float)
    lo = np.array([r[0] for r in limits])
    hi = np.array([r[1] for r in limits])
    with np.errstate(invalid="ignore"):
        outside = np.any((coords < lo) | (coords > hi), axis=1)
    return np.clip(coords, lo, hi), outside


def has_state(t: Trajectory) -> bool:
    """Whether ``t`` holds what its optimizer carried: state or L-BFGS's trial points
    (plain SGD carries nothing, so its run always qualifies: its step is -lr g)."""
    plain_sgd = (str(t.settings.get("optimizer", "")).lower() == "sgd"
                 and not t.settings.get("momentum"))
    return bool(t.state) or len(t.trial_points) > 0 or plain_sgd


def runs_of(trajectories: Any) -> list[Any]:
    """The runs behind :func:`as_paths`' paths, in the same order (None for arrays)."""
    if trajectories is None:
        return []
    if isinstance(trajectories, (Trajectory, Path, np.ndarray)):
        return [trajectories]
    if isinstance(trajectories, Mapping):
        return list(trajectories.values())
    if _is_one_path(trajectories):
        return [None]
    return list(trajectories)


def internals_step(internals: bool | int) -> int | None:
    """``internals=True``: the last step (None); ``internals=k``: step k."""
    if isinstance(internals, bool) or not isinstance(internals, (int, np.integer)):
        if not isinstance(internals, bool):
            raise TypeError(f"internals must be True (the last step) or a step number k, "
                            f"got {internals!r}")
        return None
    if internals < 0:
        raise ValueError(f"internals=k draws step k >= 0, got {internals}")
    return int(internals)


def divergence_note(paths: Sequence[Path], shown: Sequence[int] | None = None) -> str:
    """``"diverged at step k"`` (one path) or ``"sgd diverged at step k; ..."``; ``""`` when
    none diverged (among the first ``shown[i]`` points of each path, if given).

    >>> divergence_note([Path("sgd", [[0.0], [np.inf]], [0.0, np.inf])])
    'diverged at step 1'
    """
    notes = []
    for i, p in enumerate(paths):
        k = p.diverged_at
        if k is not None and (shown is None or k < shown[i]):
            notes.append((p.label, k))
    if len(paths) == 1 and notes:
        return f"diverged at step {notes[0][1]}"
    return "; ".join(f"{label} diverged at step {k}" for label, k in notes)


class PathArtists:
    """The artists of one path on the main axes: the line through its points, a hollow
    start marker, a filled end marker, and crosses where points were clipped to the frame
    (plus its lines in the loss and learning-rate panels, if any).

    ``set_data(points, values)`` redraws the path from new data (a slider, a new step).
    """

    def __init__(self, ax: Axes, view: str, limits: tuple[Range, Range, Range | None],
                 label: str, color: str, animated: bool = False, index: int = 0) -> None:
        self.ax, self.view, self.limits, self.label, self.color = ax, view, limits, label, color
        three_d = view == "surface"
        # later paths are drawn thinner and on top, so a path hidden under another one
        # still shows as the wider line around it
        kw = dict(animated=animated, zorder=5 + 0.01 * index)
        args: tuple[Any, ...] = ([], [], []) if three_d else ([], [])
        style, marker = STYLES[index % len(STYLES)]
        self.line = ax.plot(*args, linestyle=style, marker=marker, color=color,
                            lw=max(1.0, 2.4 - 0.45 * index), ms=max(3.0, 4.5 - 0.5 * index),
                            mec="k", mew=0.3, label=label, **kw)[0]
        self.start = ax.plot(*args, "o", ms=9, mfc="white", mec=color, mew=2,
                             label="_start", **kw)[0]
        self.end = ax.plot(*args, "o", ms=9, mfc=color, mec="k", mew=1,
                           label="_end", clip_on=False, **kw)[0]
        self.clipped = ax.plot(*args, "X", ms=10, mfc=color, mec=CLIP_COLOR, mew=1,
                               label="_clipped", clip_on=False, **kw)[0]
        for a in (self.start, self.end, self.clipped):
            a.set_zorder(6)
        # the layout places the axes by their labels: an empty unclipped line measures as
        # a box at the figure's corner, which would push the axes off it
        for a in (self.line, self.start, self.end, self.clipped):
            a.set_in_layout(False)
        self.panel_lines: dict[str, Line2D] = {}

    @property
    def artists(self) -> list[Artist]:
        return [self.line, self.start, self.clipped, self.end, *self.panel_lines.values()]

    def frame_coords(self, points: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The points as drawn: (x, f) for a curve, (x, y) for a map, (x, y, f) in 3D."""
        points = np.asarray(points, dtype=float).reshape(len(points), -1)
        if self.view == "curve":
            return np.column_stack([points[:, 0], values])
        if self.view == "contour":
            return points[:, :2]
        return np.column_stack([points[:, :2], values])

    def set_data(self, points: np.ndarray, values: np.ndarray, lrs: np.ndarray | None = None,
                 diverged_at: int | None = None, steps: np.ndarray | None = None) -> None:
        """Show these points (k, d) with values (k,); points after ``diverged_at`` (and
        non-finite ones) are not drawn, points outside the frame are clipped with a cross."""
        values = np.asarray(values, dtype=float).reshape(-1)
        points = np.asarray(points, dtype=float).reshape(len(values), -1)
        if diverged_at is not None:
            points, values = points[:diverged_at + 1], values[:diverged_at + 1]
            lrs = None if lrs is None else lrs[:diverged_at + 1]
        coords = self.frame_coords(points, values)
        with np.errstate(invalid="ignore"):
            keep = ~np.isnan(coords).any(axis=1)
        coords = coords[keep]
        limits = [r for r in self.limits if r is not None][:coords.shape[1]]
        shown, outside = clip_to_frame(coords, limits)
        _set(self.line, shown)
        # a marker on each of thousands of points costs more than the rest of the frame:
        # past MARKERS points, mark every k-th (and the newest ones, where the path moves)
        k = max(1, len(shown) // MARKERS)
        self.line.set_markevery(None if k == 1 else
                                np.r_[0:max(len(shown) - 20, 0):k, max(len(shown) - 20, 0):
                                      len(shown)])
        _set(self.start, shown[:1])
        _set(self.end, shown[-1:])
        _set(self.clipped, shown[outside])
        for name, line in self.panel_lines.items():
            if name == "loss":
                line.set_data(np.arange(len(values)) if steps is None else
                              steps[:len(values)], values)
            elif lrs is not None:
                line.set_data(np.arange(len(lrs)) if steps is None else steps[:len(lrs)], lrs)


def _set(line: Line2D, coords: np.ndarray) -> None:
    if coords.shape[1] == 3:
        line.set_data_3d(coords[:, 0], coords[:, 1], coords[:, 2])
    else:
        line.set_data(coords[:, 0], coords[:, 1])


def draw_trajectories(ax: Axes, trajectories: Any, view: str,
                      limits: tuple[Range, Range, Range | None] | None = None, *,
                      colors: Sequence[str] | None = None, f: Callable[..., Any] | None = None,
                      animated: bool = False, legend: bool | None = None) -> list[PathArtists]:
    """Draw each trajectory on ``ax`` (after :func:`draw_function`, whose ``limits`` clip
    them; the axes' own limits otherwise) and return one :class:`PathArtists` per path.

    A legend is drawn when there is more than one path (or ``legend=True``).

    >>> fig = Figure(); ax = fig.add_subplot()
    >>> drawn = draw_function(ax, "booth")
    >>> [a.label for a in draw_trajectories(ax, {"gd": [[0, 0], [2, 2]]}, "contour",
    ...                                     drawn.limits)]
    ['gd']
    """
    view = resolve_view(view, None)
    if limits is None:
        z_lim = ax.get_zlim() if view == "surface" else None  # type: ignore[attr-defined]
        limits = (ax.get_xlim(), ax.get_ylim(), z_lim)
    paths = as_paths(trajectories, f)
    colors = list(colors or COLORS)
    drawn = []
    for i, path in enumerate(paths):
        artists = PathArtists(ax, view, limits, path.label, colors[i % len(colors)], animated,
                              index=i)
        artists.set_data(path.points, path.values, path.lrs, path.diverged_at, path.steps)
        drawn.append(artists)
    if legend or (legend is None and len(paths) > 1):
        place_legend(ax, [a.line for a in drawn],
                     text_size(8, ax.figure.dpi))
    return drawn


# ------------------------------------------------------------------------------ legends

#: Where a legend may go, in order of preference when several cover nothing.
LEGEND_SPOTS = ("upper right", "upper left", "lower left", "lower right", "upper center",
                "lower center", "center left", "center right")


def place_legend(ax: Axes, handles: Sequence[Artist], fontsize: float = 8.0,
                 points: Sequence[np.ndarray] | None = None) -> Any:
    """A legend of ``handles`` in the spot of :data:`LEGEND_SPOTS` that hides least.

    What it must not hide: the first and last of each path's ``points`` (display order
    as drawn, e.g. ``(x, y)`` on a map; default: each handle's data now) and the markers
    of the axes' other point-only lines (a minimiser's star); what it should hide little:
    the paths and the axes' other lines (a function's curve), counted in samples 3 px
    apart.  On 3D axes (a projection that moves with the view) it goes upper right.

    >>> fig = Figure(); ax = fig.add_subplot()
    >>> line, = ax.plot([0.95, 0.5], [0.95, 0.5], label="from the upper right")
    >>> _ = ax.set(xlim=(0, 1), ylim=(0, 1))
    >>> box = place_legend(ax, [line]).get_window_extent()
    >>> bool(box.x1 < ax.bbox.x0 + ax.bbox.width / 2)         # upper left, not right
    True
    """
    legend = ax.legend(handles=handles, loc=LEGEND_SPOTS[0], fontsize=fontsize,
                       framealpha=0.85)
    if hasattr(ax, "zaxis"):
        return legend
    to_px = ax.transData.transform
    if points is None:
        points = [np.asarray(h.get_xydata()) for h in handles if isinstance(h, Line2D)]
    heavy, light = [], []
    for p in points:
        p = np.asarray(p, dtype=float)
        if p.size == 0:
            continue
        p = p.reshape(len(p), -1)[:, :2]
        p = p[np.all(np.isfinite(p), axis=1)]
        if len(p):
            heavy.append(to_px(p[[0, -1]]))
            light.append(_samples_along(to_px(p)))
    for line in ax.lines:
        if line in handles or line.get_label().startswith(("_start", "_end", "_clipped")):
            continue
        xy = np.asarray(line.get_xydata(), dtype=float)
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy) == 0:
            continue
        if line.get_linestyle() in ("None", "none", "", " "):
            heavy.append(to_px(xy))
        else:
            light.append(_samples_along(to_px(xy)))
    marks = np.vstack(heavy) if heavy else np.zeros((0, 2))
    along = np.vstack(light) if light else np.zeros((0, 2))
    frame = ax.bbox
    box = legend.get_window_extent()
    w, h = box.width, box.height
    pad = legend.borderaxespad * legend.prop.get_size_in_points() * ax.figure.dpi / 72
    xs = {"left": frame.x0 + pad, "center": frame.x0 + (frame.width - w) / 2,
          "right": frame.x1 - pad - w}
    ys = {"lower": frame.y0 + pad, "center": frame.y0 + (frame.height - h) / 2,
          "upper": frame.y1 - pad - h}
    best, cost = LEGEND_SPOTS[0], np.inf
    for spot in LEGEND_SPOTS:
        vertical, horizontal = spot.split() if " " in spot else ("center", spot)
        x0, y0 = xs[horizontal], ys[vertical]
        c = 1000 * _inside(marks, x0, y0, w, h, margin=6) + _inside(along, x0, y0, w, h)
        if c < cost:
            best, cost = spot, c
    if best != LEGEND_SPOTS[0]:
        legend = ax.legend(handles=handles, loc=best, fontsize=fontsize, framealpha=0.85)
    return legend


def _samples_along(p: np.ndarray, step: float = 3.0) -> np.ndarray:
    """Points along the polyline ``p`` (display pixels) at most ``step`` px apart."""
    if len(p) < 2:
        return p
    d = np.diff(p, axis=0)
    n = np.clip(np.ceil(np.hypot(d[:, 0], d[:, 1]) / step), 1, 1000).astype(int)
    seg = np.repeat(np.arange(len(d)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    return np.vstack([p[seg] + t[:, None] * d[seg], p[-1:]])


def _inside(p: np.ndarray, x0: float, y0: float, w: float, h: float,
            margin: float = 0.0) -> int:
    """How many of the points ``p`` lie in the box (grown by ``margin`` px)."""
    return int(np.count_nonzero((p[:, 0] >= x0 - margin) & (p[:, 0] <= x0 + w + margin)
                                & (p[:, 1] >= y0 - margin) & (p[:, 1] <= y0 + h + margin)))


# ------------------------------------------------------------------------------ the scene

def _readable_axes(ax: Axes, label_pt: float, tick_pt: float) -> None:
    """Axis labels of ``label_pt``, tick labels of ``tick_pt`` (minor ones too: a log axis
    labels its minor ticks when it spans less than a decade); in 3D at most 5 ticks per
    axis, whose labels would otherwise run into each other on the foreshortened edges."""
    axes = [ax.xaxis, ax.yaxis] + ([ax.zaxis] if hasattr(ax, "zaxis") else [])
    for axis in axes:
        axis.label.set_fontsize(label_pt)
    ax.tick_params(which="both", labelsize=tick_pt)
    if hasattr(ax, "zaxis"):
        ax.xaxis.set_major_locator(_InnerLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.yaxis.set_major_locator(_InnerLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        ax.zaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        for axis in axes:       # the label beyond the longest tick label (about 0.6 em a
            ticker = axis.major                                         # character)
            longest = max(map(len, ticker.formatter.format_ticks(ticker.locator())),
                          default=0)
            axis.labelpad = 0.6 * tick_pt * max(1, longest - 3)


class _InnerLocator(MaxNLocator):
    """MaxNLocator without ticks at the ends of the range: in 3D the x and y axes meet in
    a corner, where the last label of one would sit on the first label of the other."""

    def tick_values(self, vmin: float, vmax: float) -> np.ndarray:
        ticks = super().tick_values(vmin, vmax)
        lo, hi = min(vmin, vmax), max(vmin, vmax)
        inner = ticks[(ticks > lo + 0.05 * (hi - lo)) & (ticks < hi - 0.05 * (hi - lo))]
        return inner if len(inner) >= 2 else ticks


def _log_axis(ax: Axes) -> None:
    """A log y axis whose minor tick labels (3x10^1) look like the major ones (10^1)."""
    ax.set_yscale("log")
    size = ax.yaxis.get_major_ticks()[0].label1.get_fontsize()
    ax.tick_params(axis="y", which="minor", labelsize=size)


class PlotFigure(Figure):
    """A matplotlib Figure that a notebook shows as a PNG when it is a cell's last
    expression, whatever the matplotlib backend (it is not managed by pyplot).  The inline
    backend registers its own full-colour printer for every Figure, which would win over
    ``_repr_png_``: ``_ipython_display_`` shows our small PNG instead."""

    def _ipython_display_(self) -> None:
        from IPython.display import Image, display

        display(Image(self._repr_png_()))

    def _repr_png_(self) -> bytes:
        """The figure as an indexed-colour PNG (256 colours: contour maps have a few dozen),
        about a fifth of a full-colour one, so saved notebooks stay small."""
        from PIL import Image

        canvas = self.canvas if isinstance(self.canvas, FigureCanvasAgg) else \
            FigureCanvasAgg(self)
        canvas.draw()
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
        buffer = io.BytesIO()
        rgb.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
            buffer, "png", optimize=True)
        return buffer.getvalue()


class Scene:
    """A figure with ``f`` drawn once, paths over it, and optional panels (``"loss"``:
    f against the step; ``"lr"``: the learning rate against the step).

    Live plots and animations change the paths' data and redraw only what moves; the
    static :func:`plot_trajectories` draws it once.  ``animated=True`` marks the moving
    artists so that a full ``canvas.draw()`` leaves them out (the background for blitting).
    """

    def __init__(self, f: FunctionLike | Grid, view: str | None = None,
                 x_range: Any = None, y_range: Any = None, *, panels: Sequence[str] = (),
                 title: str | None = None, elev: float = 30.0, azim: float = -60.0,
                 dpi: float = 80, figsize: tuple[float, float] | None = None,
                 animated: bool = False, n: int | None = None,
                 loss_scale: str = "auto", colors: Sequence[str] | None = None) -> None:
        panels = tuple(panels)
        unknown = [p for p in panels if p not in PANELS]
        if unknown:
            raise ValueError(f"panels can be {PANELS}, got {unknown}")
        self.panels, self.animated = panels, animated
        self.colors = list(colors or COLORS)
        if f is None:
            raise TypeError("a plot needs a function: a test function's name ('rosenbrock'), "
                            "a TestFunction, a function of x (or x, y), or a Grid")
        self.func: Callable[..., Any] | None = None
        tf = None
        if not isinstance(f, Grid):
            self.func, tf = _function(f)
        main_w, h = 6.0, 4.5
        width = main_w + (3.8 if panels else 0.0)
        w_in, h_in = figsize or (width, h)
        if not (isinstance(dpi, (int, float)) and 10 <= dpi <= 1000):
            raise ValueError(f"dpi must be a number between 10 and 1000, got {dpi!r} "
                             f"(80 on screen, 150-300 for print)")
        pixels = w_in * dpi * h_in * dpi
        if pixels > 40e6:
            raise ValueError(f"a {w_in:g} x {h_in:g} in figure at dpi {dpi:g} would be "
                             f"{pixels / 1e6:,.0f} megapixels ({pixels * 4 / 2**20:,.0f} MiB "
                             f"per frame); keep it under 40 (lower dpi or figsize)")
        self.figure = PlotFigure(figsize=(w_in, h_in), dpi=dpi)
        FigureCanvasAgg(self.figure)
        self.text_pt = lambda points: text_size(points, dpi)
        if isinstance(f, Grid):
            view = resolve_view(view, 1 if f.y is None else 2)
        else:
            view = resolve_view(view, _dim(_function(f)[0], tf, y_range))
        self.view = view
        self.dim = 1 if view == "curve" else 2          # coordinates of a point
        # the main picture on the left, the panels stacked on the right; where the axes go
        # is measured from their labels (see :meth:`layout`), so no label covers another axes
        grid = self.figure.add_gridspec(max(1, len(panels)), 2 if panels else 1,
                                        width_ratios=(main_w, width - main_w) if panels
                                        else None)
        if view == "surface":
            import mpl_toolkits.mplot3d  # noqa: F401 -- registers the 3d projection

            self.ax = self.figure.add_subplot(grid[:, 0], projection="3d",
                                              computed_zorder=False)
            self.ax.view_init(elev=elev, azim=azim)
        else:
            self.ax = self.figure.add_subplot(grid[:, 0])
        self.drawn = draw_function(self.ax, f, view, x_range, y_range, n=n)
        self.limits = self.drawn.limits
        _readable_axes(self.ax, self.text_pt(10), self.text_pt(10))
        self.panel_axes: dict[str, Axes] = {}
        self._panel_limits: dict[str, tuple[Range, Range]] = {}
        self._value_cap = self.drawn.grid.finite_range[1]
        #: The number of steps the panels should have room for from the start, if known.
        self.step_hint: int | None = None
        for i, name in enumerate(panels):
            ax = self.figure.add_subplot(grid[i, 1])
            ax.set_xlabel("step", labelpad=1)
            ax.set_ylabel("f" if name == "loss" else "learning rate")
            _readable_axes(ax, self.text_pt(8), self.text_pt(7))
            # the first step's label clear of the lowest value's (mathtext 10^-1 is tall)
            ax.tick_params(axis="x", pad=0.45 * self.text_pt(7))
            ax.grid(alpha=0.3)
            if name == "lr":                          # 1.8e-3, never "1e-7 + 1.778e-3"
                ax.ticklabel_format(axis="y", useOffset=False)
            self.panel_axes[name] = ax
        self.loss_log = loss_scale == "log" or (
            loss_scale == "auto" and tf is not None and tf.f_min is not None and tf.f_min >= 0)
        if "loss" in self.panel_axes and self.loss_log:
            _log_axis(self.panel_axes["loss"])
        self.base_title = tf.title if title is None and tf is not None else (title or "")
        self._note = ""
        self.ax.set_title(self.base_title, fontsize=self.text_pt(10))
        self.paths: list[PathArtists] = []
        self.internals: dict[int, Internals] = {}
        self._grow, self._height = figsize is None, h_in
        self._legend = False
        self.layout()

    # -- paths -----------------------------------------------------------------------
    def add_path(self, label: str, color: str | None = None) -> PathArtists:
        """New (empty) artists for a path called ``label``."""
        color = color or self.colors[len(self.paths) % len(self.colors)]
        artists = PathArtists(self.ax, self.view, self.limits, label, color, self.animated,
                              index=len(self.paths))
        style = STYLES[(len(self.paths)) % len(STYLES)][0]
        for name, ax in self.panel_axes.items():
            artists.panel_lines[name] = ax.plot([], [], color=color, lw=1.3, linestyle=style,
                                                animated=self.animated)[0]
        self.paths.append(artists)
        return artists

    def remove_path(self, artists: PathArtists) -> None:
        """Take a path off the picture (and out of the legend)."""
        for a in artists.artists:
            a.remove()
        self.paths.remove(artists)
        if self._legend:
            self.ax.get_legend().remove()
            self._legend = False
            if len(self.paths) > 1:
                self.show_legend()

    def show_legend(self, paths: Sequence[Path] | None = None) -> None:
        """(Re)draw the legend of the paths' lines, in the corner (or edge) of the picture
        where it covers no start or end of a path and the fewest of its points: those of
        ``paths`` (all a path will show, for an animation) or else of the lines drawn now."""
        handles = [p.line for p in self.paths]
        points = None
        if paths is not None:
            points = [p.frame_coords(q.points, q.values) for p, q in zip(self.paths, paths)]
        legend = place_legend(self.ax, handles, self.text_pt(8), points)
        for artist in [*legend.get_lines(), *legend.legend_handles]:
            if artist is not None:           # copies of animated lines are animated too
                artist.set_animated(False)
        self._legend = True

    def set_note(self, note: str) -> bool:
        """Put ``note`` (e.g. "diverged at step 12") under the title; True if it changed."""
        if note == self._note:
            return False
        lines = self.ax.get_title().count("\n")
        self._note = note
        title = "\n".join(s for s in (self.base_title, note) if s)
        self.ax.set_title(title, fontsize=self.text_pt(10), color="#b00000" if note else "black")
        if title.count("\n") != lines:
            self.layout()                        # room for a line more (or less)
        return True

    def layout(self) -> None:
        """Place the axes so that no tick label, axis label or title covers another axes
        or leaves the figure (matplotlib's constrained layout, run once here rather than
        at every draw: live frames keep their place).  Called again when the panels'
        limits or the title's lines change."""
        pad = 4.0 / self.figure.dpi                         # 4 px, in inches
        ConstrainedLayoutEngine(w_pad=pad, h_pad=pad, wspace=0.04,
                                hspace=0.12).execute(self.figure)
        w, h = self.figure.canvas.get_width_height()
        for ax in self.figure.axes:                # whole pixels: crisp frames, exact blits
            box = ax.get_position(original=True)
            x0, y0 = round(box.x0 * w), round(box.y0 * h)
            ax.set_position((x0 / w, y0 / h, (round(box.x1 * w) - x0) / w,
                             (round(box.y1 * h) - y0) / h))
            ax.set_in_layout(True)                 # set_position takes it out of layouts
        self._laid_out_for = self._tick_label_lengths()

    def _tick_label_lengths(self) -> tuple[int, ...]:
        """The longest tick label of each panel axis, in characters: the layout (about a
        full draw's cost) is done again only when these change."""
        lengths = []
        for ax in self.panel_axes.values():
            for axis in (ax.xaxis, ax.yaxis):
                for ticker in (axis.major, axis.minor):
                    labels = ticker.formatter.format_ticks(ticker.locator())
                    lengths.append(max(map(len, labels), default=0))
        return tuple(lengths)

    @property
    def animated_artists(self) -> list[Artist]:
        return [a for p in self.paths for a in p.artists] + [
            a for i in self.internals.values() for a in i.artists]

    # -- inside the optimizers -----------------------------------------------------------
    def set_internals(self, runs: Sequence[Any], step: int | None = None, *,
                      newton: bool = False) -> list[str]:
        """Draw the optimizer's state of ``runs[i]`` (a Trajectory recorded with
        ``record_state=True``, drawn over ``self.paths[i]`` in its colour) at ``step``
        (default: each run's last step); returns one caption per run, in words.
        ``newton`` adds Newton's local model (the ellipse) at that point."""
        if self.view != "contour":
            raise ValueError(f"the inside of an optimizer is drawn on a contour map "
                             f"(view='contour'), got view={self.view!r}: draw it on the "
                             f"map, or leave internals off")
        usable = [isinstance(t, Trajectory) and has_state(t) for t in runs]
        if not any(usable):
            raise ValueError("no run here recorded the optimizer's state, so there is "
                             "nothing inside it to draw: run it with "
                             "run(..., record_state=True)")
        captions = []
        for i, (t, ok) in enumerate(zip(runs, usable)):
            path = self.paths[i]
            if not ok:
                captions.append(f"{path.label}: its state was not recorded (run it with "
                                f"record_state=True to see inside)")
                continue
            if i not in self.internals:
                self.internals[i] = Internals(self.ax, path.color, animated=self.animated)
            self.internals[i].f = self.func if newton else None
            captions.append(f"{path.label}: {self.internals[i].set_step(t, step)}")
        return captions

    def hide_internals(self) -> None:
        """Take the internals off the picture (and the caption from under it)."""
        for internals in self.internals.values():
            internals.hide()
        self.set_caption("")

    def set_caption(self, text: str) -> None:
        """Put ``text`` under the picture, wrapped to the figure's width; the axes make
        room for it (constrained layout) and the figure grows by its lines when the
        size was not given."""
        label = self.figure._supxlabel
        if not text and label is None:
            return
        size = self.text_pt(8)
        # about 0.5 em a character: the figure's width in characters, less a margin
        width = max(30, int(self.figure.get_figwidth() * 72 / (0.52 * size)) - 4)
        wrapped = "\n".join(textwrap.fill(line, width) for line in text.split("\n"))
        lines = wrapped.count("\n") + 1 if text else 0
        if self._grow:
            w_in, _ = self.figure.get_size_inches()
            self.figure.set_size_inches(w_in, self._height + lines * size * 1.25 / 72)
        if text:
            self.figure.supxlabel(wrapped, x=0.01, ha="left", fontsize=size,
                                  linespacing=1.15)
        elif label is not None:
            label.remove()
        self.layout()

    def fit_panels(self, paths: Sequence[Path], margin: float = 0.0,
                   shown: Sequence[int] | None = None) -> bool:
        """Make each panel's limits hold the data of ``paths`` (the first ``shown[i]``
        points of each); True if any limits changed (the background must be redrawn).

        ``margin`` > 0 is for live plots: the step axis then doubles when it fills up, and
        the value axis leaves room below (a loss goes down), so limits seldom change.
        Values are capped at the largest of f on the plot and at the starts, so one run that
        diverges does not squash the others; on a log axis at most 12 decades are shown.
        """
        changed = False
        for name, ax in self.panel_axes.items():
            steps, ys, starts = 1, [], []
            for i, p in enumerate(paths):
                k = len(p.values) if shown is None else min(shown[i], len(p.values))
                if p.diverged_at is not None:
                    k = min(k, p.diverged_at + 1)
                data = p.values[:k] if name == "loss" else p.lrs[:k]
                steps = max(steps, k - 1 if p.steps is None or k == 0 else int(p.steps[k - 1]))
                ys.append(data[np.isfinite(data)])
                if name == "loss" and k and np.isfinite(p.values[0]):
                    starts.append(float(p.values[0]))
            y = np.concatenate(ys) if ys else np.zeros(0)
            log = name == "loss" and self.loss_log
            if name == "loss" and y.size:
                cap = max([self._value_cap, *starts])
                y = np.minimum(y, cap if cap > 0 or not log else np.inf)
            if log:                            # at most 12 decades below the largest
                y = y[y > 0]
                if y.size:
                    y = np.maximum(y, max(float(y.max()) * 1e-12, 1e-300))
            old = self._panel_limits.get(name)
            if old is not None and steps <= old[0][1] and (
                    y.size == 0 or (y.min() >= old[1][0] and y.max() <= old[1][1])):
                continue
            x_hi = max(1.0, float(steps))
            if margin > 0:
                x_hi = max(50.0, 2.0 * steps)
            if self.step_hint:
                x_hi = max(x_hi, float(self.step_hint))
            if old is not None and steps <= old[0][1]:
                x_hi = old[0][1]
            if y.size:
                lo, hi = float(y.min()), float(y.max())
                if old is not None:
                    lo, hi = min(lo, old[1][0]), max(hi, old[1][1])
                y_lim = _padded(lo, hi, log, margin)
                if name == "lr" and lo >= 0:          # learning rates are not negative
                    y_lim = (max(0.0, y_lim[0]), y_lim[1])
                if name == "lr" and hi > 0 and hi - lo <= 1e-6 * hi:   # a constant rate:
                    y_lim = (0.0, 1.25 * hi)          # from 0, not a 1e-12 window round it
            else:
                y_lim = old[1] if old is not None else ((0.1, 10.0) if log else (0.0, 1.0))
            self._panel_limits[name] = ((0.0, x_hi), y_lim)
            ax.set_xlim(0.0, x_hi)
            ax.set_ylim(*y_lim)
            changed = True
        if changed and self._tick_label_lengths() != self._laid_out_for:
            self.layout()                          # longer (or shorter) tick labels
        return changed


def _padded(lo: float, hi: float, log: bool, margin: float) -> Range:
    """``(lo, hi)`` with room: 5% above, ``margin`` (a fraction of the span) below."""
    if log:
        a, b = math.log10(lo), math.log10(hi)
        below = max(0.1, (b - a) * 0.05) if margin <= 0 else min(4.0, max(2.0, (b - a) * margin))
        above = max(0.1, 0.05 * (b - a))
        return 10 ** (a - below), 10 ** (b + above)
    span = max(hi - lo, 1e-12 + (0.1 if margin > 0 else 1e-3) * max(abs(lo), abs(hi)))
    return lo - span * max(margin, 0.05), hi + span * 0.05


def plot_trajectories(f: FunctionLike, trajectories: Any = None, view: str | None = None, *,
                      x_range: Any = None, y_range: Any = None, panels: Sequence[str] = (),
                      title: str | None = None, elev: float = 30.0, azim: float = -60.0,
                      dpi: float = 80, figsize: tuple[float, float] | None = None,
                      colors: Sequence[str] | None = None, internals: bool | int = False,
                      newton: bool = False) -> Figure:
    """A static figure: ``f`` (curve, contour map or surface) with the trajectories drawn
    over it, start and end markers, a legend, clipped points crossed, "diverged at step k"
    in the title, and optional ``panels=("loss", "lr")`` against the step.

    ``internals=True`` (on a contour map) also draws, at each path's last step, what its
    optimizer carried (see :mod:`optilab.plot.internals`: the step against steepest
    descent, the momentum, Adam's lr box, L-BFGS's line-search points), with a caption in
    words under the picture; ``internals=k`` draws step k.  The runs must be Trajectories
    made with ``run(..., record_state=True)`` (a ValueError says so otherwise; other views
    raise a ValueError too).  ``newton=True`` adds Newton's local model there (an ellipse).

    Returns a :class:`matplotlib.figure.Figure` (not tied to pyplot): a notebook shows it
    when it is a cell's last expression; ``fig.savefig("race.png")`` saves it.

    >>> fig = plot_trajectories("rosenbrock", {"a": [[-1.2, 1.0], [0.0, 0.0], [9.0, 9.0]],
    ...                                        "b": [[1.5, 2.5], [np.inf, 2.0]]})
    >>> fig.axes[0].get_title()
    '$(1 - x)^2 + 100(y - x^2)^2$\\nb diverged at step 1'
    >>> line = next(l for l in fig.axes[0].lines if l.get_label() == "a")
    >>> line.get_xydata()[-1]                     # (9, 9) is outside: clipped to the frame
    array([2., 3.])
    """
    scene = Scene(f, view, x_range, y_range, panels=panels, title=title, elev=elev, azim=azim,
                  dpi=dpi, figsize=figsize, colors=colors)
    paths = as_paths(trajectories, scene.func, scene.dim)
    for path in paths:
        scene.add_path(path.label).set_data(path.points, path.values, path.lrs,
                                            path.diverged_at, path.steps)
    if len(paths) > 1:
        scene.show_legend()
    scene.fit_panels(paths)
    scene.set_note(divergence_note(paths))
    if internals is not False:
        step = internals_step(internals)
        scene.set_caption("\n".join(scene.set_internals(runs_of(trajectories), step,
                                                         newton=newton)))
    return scene.figure
