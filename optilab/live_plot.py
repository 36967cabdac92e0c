"""The course's live plots -- ``init_2dplot``, ``add_point_2d``, ``init_3dplot``,
``add_point_3d`` -- working in JupyterLab, Notebook 7, VS Code and Colab.

The course notebooks animate an optimizer like this, and they keep working unchanged (also
where the notebook still says ``%matplotlib notebook`` or ``%matplotlib inline``)::

    from live_plot import init_2dplot, add_point_2d      # or: from optilab.live_plot import ...

    init_2dplot(torch.linspace(-5, 5, 100), function_2d, delta_=0)
    for i in range(15):
        opt.zero_grad(); f = function_2d(x); f.backward(); add_point_2d(x, f); opt.step()

    init_3dplot(torch.linspace(-2, 2, 50), torch.linspace(-2, 2, 50), function_3d,
                elev=30, azim=-60, delta_=0)
    for i in range(15):
        opt.zero_grad(); f = function_3d(x, y); f.backward(); add_point_3d(x, y, f); opt.step()

Each ``add_point_*`` draws the new point over the function without drawing the function
again, and replaces the picture under the running cell (a display handle, see
:mod:`optilab.plot.live`); the last picture stays in the saved notebook as a PNG.  Points
outside the plot are clipped to its frame and crossed; a value that is not finite is
reported in the title ("diverged at step k").  ``delta_`` > 0 paces the loop: each point
then takes at least ``delta_`` seconds (the old functions always slept ``delta_``).

``x_range`` (and ``y_range``) are the sample points, as in the course (``torch.linspace``),
or just ``(low, high)``.  Points and values may be torch tensors (also ones that require
grad), optilab tensors, numpy arrays or numbers.  Calling ``init_*`` again starts a new plot;
:func:`current_plot` is the :class:`~optilab.plot.LivePlot` behind them, for more.

    >>> import torch
    >>> init_2dplot(torch.linspace(-5, 5, 100), lambda x: x ** 2, 0)
    >>> x = torch.tensor(4.0, requires_grad=True)
    >>> add_point_2d(x, x ** 2)
    >>> current_plot().paths[0].points.tolist()
    [[4.0]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .plot.live import LivePlot
from .plot.static import evaluate_grid

__all__ = ["init_2dplot", "add_point_2d", "init_3dplot", "add_point_3d", "current_plot"]

_plot: LivePlot | None = None


def init_2dplot(x_range: Any, func: Callable[..., Any], delta_: float = 0.0) -> None:
    """Start a live plot of the curve ``y = func(x)`` over ``x_range`` (sample points, e.g.
    ``torch.linspace(-5, 5, 100)``, or ``(low, high)``); show it; ``delta_`` seconds per
    point (0: as fast as possible)."""
    global _plot
    grid = evaluate_grid(func, "curve", x_range)
    _plot = LivePlot(grid, "curve", delay=_delay(delta_))


def add_point_2d(x: Any, f: Any) -> None:
    """Add the point ``(x, f)`` to the curve's path and show it (``f`` = func(x))."""
    _check_value(f, "add_point_2d(x, f)", "func(x)")
    _current("curve", "add_point_2d", "init_2dplot(x_range, func, delta_)").add_point(x, f)


def init_3dplot(x_range: Any, y_range: Any, func: Callable[..., Any], elev: float = 30.0,
                azim: float = -60.0, delta_: float = 0.0) -> None:
    """Start a live plot of the surface ``z = func(x, y)`` over ``x_range`` x ``y_range``
    (sample points or ``(low, high)``), seen from elevation ``elev`` and azimuth ``azim``
    (degrees); show it; ``delta_`` seconds per point."""
    global _plot
    grid = evaluate_grid(func, "surface", x_range, y_range)
    _plot = LivePlot(grid, "surface", elev=float(elev), azim=float(azim), delay=_delay(delta_))


def add_point_3d(x: Any, y: Any, f: Any) -> None:
    """Add the point ``(x, y, f)`` to the surface's path and show it (``f`` = func(x, y))."""
    _check_value(f, "add_point_3d(x, y, f)", "func(x, y)")
    plot = _current("surface", "add_point_3d", "init_3dplot(x_range, y_range, func, elev, "
                    "azim, delta_)")
    plot.add_point([x, y], f)


def _check_value(f: Any, call: str, value: str) -> None:
    if f is None:
        raise TypeError(f"{call} got f=None: pass the function's value at the point, "
                        f"{call.split('(')[0]}(..., {value})")


def current_plot() -> LivePlot | None:
    """The :class:`~optilab.plot.LivePlot` the last ``init_2dplot``/``init_3dplot`` made."""
    return _plot


def _delay(delta: Any) -> float:
    try:
        value = float(delta)
    except (TypeError, ValueError):
        raise TypeError(f"delta_ is the pause per point in seconds (a number), got "
                        f"{delta!r}") from None
    if value < 0:
        raise ValueError(f"delta_ must be >= 0 seconds, got {value}")
    return value


def _current(view: str, name: str, init: str) -> LivePlot:
    if _plot is None:
        raise RuntimeError(f"{name}: there is no plot yet; call {init} first")
    if _plot.view != view:
        other = "add_point_3d" if view == "curve" else "add_point_2d"
        raise RuntimeError(f"{name}: the current plot was made by "
                           f"{'init_3dplot' if view == 'curve' else 'init_2dplot'}, so it "
                           f"takes {other}; call {init} to start a new plot")
    return _plot
