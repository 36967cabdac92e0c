"""Plots of the city-map lab: the reconstructed map, and a race between methods.

:func:`plot_map` draws a solution aligned north up (see :func:`optilab.cities.align`) with
readable labels, the true positions and the error of each city in km, and the paths a few
cities took during the optimisation. :func:`compare` plots f against iterations and against
wall-clock time (log axes) for several runs and returns a table of them.

Both return matplotlib Figures and never call ``plt.show()``: they work headless
(``MPLBACKEND=agg``) and in every notebook front end.

    >>> from optilab.cities import solve
    >>> fig = plot_map(solve("lbfgs", progress=False))
    >>> len(fig.axes[0].texts)
    36
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ..plot.static import PlotFigure
from ..trajectory import Trajectory
from .align import distance_errors_km, fit_alignment, project
from .data import Cities, load_cities

__all__ = ["plot_map", "plot_snapshots", "compare", "Comparison", "Row", "animate_map"]

_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


def _axes(ax: Any, size: tuple[float, float]) -> tuple[Figure, Any]:
    if ax is not None:
        return ax.figure, ax
    fig = PlotFigure(figsize=size, layout="constrained")   # no pyplot: no global state to leak
    return fig, fig.add_subplot()


def _last_finite(t: Trajectory) -> int:
    finite = np.flatnonzero(np.all(np.isfinite(t.points), axis=1))
    return int(finite[-1])


def plot_map(trajectory_or_X: Any, ax: Any = None, show_truth: bool = True,
             paths: Sequence[str] = ("Lisbon", "Moscow", "Reykjavik"),
             cities: Cities | None = None, reference: str = "projection",
             title: str | None = None, fontsize: float = 7.5) -> Figure:
    """The reconstructed map, north up and west left, in km.

    ``trajectory_or_X``: a Trajectory from :func:`optilab.cities.solve` (its last finite
    point is drawn, and ``paths`` shows where those cities went during the run) or a map
    ((n, 2) or flat, normalised). ``show_truth`` adds the true positions (an azimuthal
    equidistant projection) with a line from each city to its true place and the median and
    maximum error in km in the title. ``reference`` is :func:`optilab.cities.align`'s.
    Labels use the course's spelling; each is placed on the side of its dot with the least
    overlap, on a white halo.
    """
    cities = load_cities() if cities is None else cities
    t = trajectory_or_X if isinstance(trajectory_or_X, Trajectory) else None
    alignment = fit_alignment(trajectory_or_X, cities, reference)
    k = _last_finite(t) if t is not None else None
    X = alignment(t.points[k] if t is not None else trajectory_or_X)
    fig, ax = _axes(ax, (9.0, 7.0))

    if t is not None and paths:
        step = max(1, (k + 1) // 400)                 # at most ~400 points per path
        history = alignment(t.points[: k + 1 : step])
        for name in paths:
            i = cities.index(name)
            line, = ax.plot(history[:, i, 0], history[:, i, 1], lw=1.0, alpha=0.8,
                            label=f"path of {cities.names[i]}")
            ax.plot(*history[0, i], "o", ms=4, mfc="white", color=line.get_color())
    errors = None
    if show_truth:
        truth = project(cities)
        errors = np.linalg.norm(X - truth, axis=1)
        ax.add_collection(LineCollection(np.stack([X, truth], axis=1), colors="tab:red",
                                         linewidths=0.8, label="error"))
        ax.plot(truth[:, 0], truth[:, 1], "o", ms=6, mfc="none", color="0.45",
                label="true position")
    ax.plot(X[:, 0], X[:, 1], "o", ms=4, color="tab:blue", label="reconstruction", zorder=3)
    shown = np.vstack([X, truth]) if show_truth else X
    shown = shown[np.all(np.isfinite(shown), axis=1)]
    low, high = shown.min(0), shown.max(0)
    margin = 0.08 * max(float(np.max(high - low)), 1e-9)
    ax.set_xlim(low[0] - margin, high[0] + 2 * margin)     # room for labels on the right;
    ax.set_ylim(low[1] - margin, high[1] + margin)         # paths from far starts are clipped
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("km east")
    ax.set_ylabel("km north")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=fontsize)
    _label(ax, X, cities.names, fontsize)
    if title is None:
        head = t.label if t is not None else "map"
        if t is not None:
            head += f", step {k}"
            head += f" (diverged at {t.diverged_at})" if t.diverged else f", f = {t.value:.3g}"
        if errors is not None and np.all(np.isfinite(errors)):
            head += (f"\nerror vs truth: median {_km(np.median(errors))}, "
                     f"max {_km(errors.max())} ({cities.names[int(np.argmax(errors))]})")
        title = head
    ax.set_title(title, fontsize=fontsize + 2)
    return fig


def _km(v: float) -> str:
    return f"{v:,.0f} km" if v < 1e6 else f"{v:.2g} km"


def plot_snapshots(trajectory: Trajectory, steps: Sequence[int] | None = None, *,
                   columns: int = 2, cities: Cities | None = None, width: float = 9.0,
                   dpi: float = 100) -> Figure:
    """Small multiples of a run: its map at several ``steps`` (default: six, from the start
    to the last finite step, spread on a log scale), each aligned north up on its own and
    drawn by :func:`plot_map` with the true positions and the errors, titled with the step,
    f and the median error of the map's distances; one legend above them all.

    The figure is ``width`` inches at ``dpi`` (900 px: a notebook shows it pixel for
    pixel) with ``columns`` maps per row, so city names are at least
    :data:`optilab.plot.static.MIN_TEXT_PX` pixels high where they are seen.

        >>> from optilab.cities import solve
        >>> fig = plot_snapshots(solve("lbfgs", steps=20, progress=False), (0, 5, 20))
        >>> [ax.get_title().split(":")[0] for ax in fig.axes]
        ['step 0', 'step 5', 'step 20']
    """
    from ..plot.static import text_size

    if not isinstance(trajectory, Trajectory):
        raise TypeError(f"plot_snapshots needs a Trajectory from solve(), got "
                        f"{type(trajectory).__name__}")
    last = _last_finite(trajectory)
    if steps is None:
        steps = sorted({0, last, *np.round(np.geomspace(1, max(last, 1), 4)).astype(int)})
    steps = [int(k) for k in steps]
    wrong = [k for k in steps if not 0 <= k <= last]
    if wrong:
        raise ValueError(f"steps must be between 0 and {last} (the last finite step of this "
                         f"run), got {wrong}")
    if not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be a whole number >= 1, got {columns!r}")
    cities = load_cities() if cities is None else cities
    rows = -(-len(steps) // columns)
    map_w = width / columns                                # inches per map and its labels
    fig = PlotFigure(figsize=(width, 0.45 + rows * 0.95 * map_w), dpi=dpi)
    # fixed margins (not a layout engine run at draw time): the labels are placed for the
    # axes' final size.  Left: tick labels and "km north"; top: the legend and a title.
    top = 1 - 0.45 / fig.get_figheight()
    grid = fig.add_gridspec(rows, columns, left=0.8 / width, right=1 - 0.25 / width,
                            bottom=0.5 / fig.get_figheight(), top=top,
                            wspace=0.95 / (map_w - 0.95), hspace=0.55 / (0.95 * map_w - 0.55))
    fontsize = text_size(6.5, dpi)
    for i, k in enumerate(steps):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        km = np.median(distance_errors_km(trajectory.points[k], cities.distances))
        plot_map(trajectory.points[k], ax=ax, cities=cities, fontsize=fontsize,
                 title=f"step {k}: f = {trajectory.values[k]:.2g}, "
                       f"median distance error {_km(km)}")
        legend = ax.get_legend()
        handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
        legend.remove()
        ax.title.set_fontsize(fontsize + 1)
        ax.tick_params(labelsize=fontsize)
        for axis in (ax.xaxis, ax.yaxis):
            axis.label.set_fontsize(fontsize + 1)
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=fontsize + 1,
               frameon=False, bbox_to_anchor=(0.5, 1.0))
    return fig


def _label(ax: Any, X: np.ndarray, names: Sequence[str], fontsize: float) -> None:
    """Put each name beside its dot, on the side that overlaps the fewest labels and dots.

    Greedy, in display units (points): a label is a box ``0.6 * fontsize`` per character wide;
    each city tries 8 positions around its dot and keeps the one with the least overlap with
    the boxes placed so far and with the other dots.
    """
    fig = ax.figure
    ax.apply_aspect()                             # the equal aspect fixes the final limits
    finite = np.all(np.isfinite(X), axis=1)
    to_points = 72.0 / fig.dpi
    P = ax.transData.transform(np.where(finite[:, None], X, 0.0)) * to_points
    h = fontsize * 1.2
    dots = [(x - 2, y - 2, x + 2, y + 2) for x, y in P]
    placed: list[tuple[float, float, float, float]] = []

    def overlap(box: tuple[float, float, float, float],
                others: list[tuple[float, float, float, float]]) -> float:
        total = 0.0
        for o in others:
            w = min(box[2], o[2]) - max(box[0], o[0])
            v = min(box[3], o[3]) - max(box[1], o[1])
            if w > 0 and v > 0:
                total += w * v
        return total

    order = np.argsort(P[:, 0])                    # west to east: neighbours meet in turn
    for i in order:
        if not finite[i]:
            continue
        w = 0.6 * fontsize * len(names[i])
        x, y = P[i]
        options = [(4, 1), (4, -h + 1), (-w - 4, 1), (-w - 4, -h + 1), (-w / 2, 4),
                   (-w / 2, -h - 4), (4, -h / 2), (-w - 4, -h / 2)]
        best, cost = options[0], np.inf
        for dx, dy in options:
            box = (x + dx, y + dy, x + dx + w, y + dy + h)
            c = overlap(box, placed) + overlap(box, dots[:i] + dots[i + 1:])
            if c < cost - 1e-9:
                best, cost = (dx, dy), c
        dx, dy = best
        placed.append((x + dx, y + dy, x + dx + w, y + dy + h))
        ax.annotate(names[i], X[i], xytext=(dx, dy), textcoords="offset points",
                    fontsize=fontsize, va="bottom", ha="left", path_effects=_HALO, zorder=4)


# ------------------------------------------------------------------------------ comparison

@dataclass(frozen=True)
class Row:
    """One run in a :class:`Comparison`: what it cost and how good its map is."""

    label: str
    status: str
    iterations: int
    evaluations: int
    seconds: float
    f: float
    median_km: float
    max_km: float


@dataclass(frozen=True)
class Comparison:
    """The table :func:`compare` returns: ``rows``, printed (and shown in Jupyter) as Markdown."""

    rows: tuple[Row, ...]

    def markdown(self) -> str:
        lines = ["| method | status | iterations | evaluations | time (s) | final f "
                 "| median error (km) | max error (km) |",
                 "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in self.rows:
            lines.append(f"| {r.label} | {r.status} | {r.iterations} | {r.evaluations} | "
                         f"{r.seconds:.3g} | {r.f:.4g} | {r.median_km:.1f} | {r.max_km:.1f} |")
        return "\n".join(lines)

    __str__ = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown()


def compare(trajectories: Mapping[str, Trajectory], cities: Cities | None = None,
            target: float | None = 2e-8) -> tuple[Figure, Comparison]:
    r"""Race the methods: f against iterations and against wall time, and a table.

    Left: :math:`f(x_k)` against the iteration :math:`k` (log-log; iteration 0 sits at the
    left edge of a symlog axis); right: against the seconds since each run started (log-log),
    which charges each method for what an iteration costs. ``target`` draws a dotted line
    (f <= 2e-8 is the lab's "converged"; the floor is f* = 1.2383e-8). The table has, per run,
    its status, iterations, evaluations of f, seconds, final f and the median and maximum
    error in km of its aligned map against the truth (NaN when the map has other cities).

        >>> from optilab.cities import solve
        >>> runs = {m: solve(m, steps=50, progress=False) for m in ("gd", "lbfgs")}
        >>> fig, table = compare(runs)
        >>> [row.label for row in table.rows]
        ['gd', 'lbfgs']
    """
    if not isinstance(trajectories, Mapping) or not trajectories:
        raise TypeError("compare expects a non-empty dict label -> Trajectory, e.g. "
                        "{m: solve(m) for m in ('gd', 'lbfgs')}")
    cities = load_cities() if cities is None else cities
    fig = PlotFigure(figsize=(11, 4.2), layout="constrained")
    by_step, by_time = fig.subplots(1, 2, sharey=True)
    rows = []
    for label, t in trajectories.items():
        if not isinstance(t, Trajectory):
            raise TypeError(f"compare: {label!r} is a {type(t).__name__}, not a Trajectory")
        values = np.where(np.isfinite(t.values), t.values, np.nan)
        line, = by_step.plot(np.arange(len(values)), values, lw=1.4, label=label)
        times = np.asarray(t.times, dtype=float)
        keep = times > 0
        by_time.plot(times[keep], values[keep], lw=1.4, color=line.get_color(), label=label)
        k = _last_finite(t)
        median_km = max_km = float("nan")
        if t.points.shape[1] == 2 * len(cities):
            errors = np.linalg.norm(fit_alignment(t, cities)(t.points[k])
                                    - project(cities), axis=1)
            median_km, max_km = float(np.median(errors)), float(errors.max())
        rows.append(Row(str(label), t.status, t.steps, t.evaluations,
                        float(times[-1]) if len(times) else float("nan"),
                        float(t.values[k]), median_km, max_km))
    by_step.set_xscale("symlog", linthresh=1)
    by_time.set_xscale("log")
    for ax, xlabel in ((by_step, "iteration k"), (by_time, "wall-clock time (s)")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3, which="both")
        if target is not None:
            ax.axhline(target, ls=":", color="0.3", lw=1)
    by_step.set_ylabel("f (normalised)")
    by_step.set_title("f against iterations")
    by_time.set_title("f against wall time")
    by_time.legend(fontsize=8)
    return fig, Comparison(tuple(rows))


# ------------------------------------------------------------------------------ animation

class _MapScene:
    """What :class:`optilab.plot.Animation` and its Renderer need of a scene: a figure and
    its moving artists.  Everything moves here: the view follows the cities (a random
    start is a cloud ten times the size of Europe), so the true positions are redrawn in
    each frame too, and the background is a blank page."""

    view = "map"

    def __init__(self, maps: np.ndarray, cities: Cities, dpi: float) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from ..plot.static import text_size

        self.figure = Figure(figsize=(6.4, 5.2), dpi=dpi)
        FigureCanvasAgg(self.figure)
        self.ax = ax = self.figure.add_axes((0.02, 0.02, 0.96, 0.9))
        self.truth = project(cities)
        ax.set_axis_off()
        size = text_size(7, dpi)
        self.label_px = size * dpi / 72                 # the names' height in pixels
        self.true_dots = ax.scatter(*self.truth.T, s=14, color="#bbbbbb", zorder=1,
                                    animated=True)
        self.dots = ax.scatter(*maps[-1].T, s=18, color=CITY, zorder=3, animated=True)
        self.labels = [ax.text(x, y, f" {name}", fontsize=size, va="center", animated=True,
                               path_effects=_HALO, clip_on=True)
                       for name, (x, y) in zip(cities.names, maps[-1])]
        self.title = ax.text(0.5, 1.01, "", ha="center", va="bottom",
                             fontsize=text_size(10, dpi), transform=ax.transAxes,
                             animated=True, clip_on=False)
        self.paths: list[Any] = []
        self.colors = [CITY, "#bbbbbb"]

    def follow(self, X: np.ndarray) -> float:
        """Set the view to hold the cities ``X`` and the true positions, with room for the
        names on the right and the equal aspect of a map; returns its width in km."""
        shown = np.vstack([X, self.truth])
        shown = shown[np.all(np.isfinite(shown), axis=1)]
        low, high = shown.min(0), shown.max(0)
        span = np.maximum(high - low, 1.0)
        box = self.ax.bbox
        label_room = 80 / box.width                   # a name is about 80 px wide
        low, high = low - 0.04 * span, high + 0.04 * span
        high[0] += label_room / (1 - label_room) * (high[0] - low[0])
        km_per_px = max((high[0] - low[0]) / box.width, (high[1] - low[1]) / box.height)
        middle, half = (low + high) / 2, km_per_px * np.array([box.width, box.height]) / 2
        self.ax.set_xlim(middle[0] - half[0], middle[0] + half[0])
        self.ax.set_ylim(middle[1] - half[1], middle[1] + half[1])
        return float(2 * half[0])

    @property
    def animated_artists(self) -> list[Any]:
        return [self.true_dots, self.dots, *self.labels, self.title]

    def set_note(self, note: str) -> bool:
        return False


CITY = "#c0392b"


def animate_map(trajectory: Trajectory, *, frames: int = 60, fps: float = 12,
                hold: float = 2.0, cities: Cities | None = None, dpi: float = 72) -> Any:
    """The cities flying into place: an :class:`optilab.plot.Animation` of a run's iterates.

    Every iterate is moved by the one isometry that aligns the *final* map north up
    (see :func:`optilab.cities.fit_alignment`), so the last frame is the map and the
    earlier ones show how the run got there; the true positions are drawn in grey.
    The view follows the cities: each frame holds all of them and the true positions
    (a random start spreads over tens of thousands of km), and its title says how wide
    it is.  Names are at least 9 px high at any ``dpi``.
    Frames are spread evenly over the steps on a log scale (the start moves fastest).
    ``.save("cities.gif")`` writes a GIF; in a notebook it plays inline.

        >>> from optilab.cities import solve
        >>> anim = animate_map(solve("lbfgs", steps=30, progress=False), frames=5)
        >>> len(anim), anim.steps[0], anim.steps[-1]
        (5, 0, 30)
    """
    from ..plot.animation import Animation
    from ..plot.live import Renderer

    cities = load_cities() if cities is None else cities
    last = _last_finite(trajectory)
    motion = fit_alignment(trajectory.points[last], cities,
                           scale=trajectory.settings.get("scale_km"))
    steps = sorted({0, last, *np.unique(np.round(np.geomspace(1, max(last, 1), frames - 1)
                                                 ).astype(int)).tolist()})
    if len(steps) > frames:                      # few steps: keep an even sample
        steps = sorted({int(s) for s in np.round(np.linspace(0, last, frames))})
    maps = motion(trajectory.points[steps])
    scene = _MapScene(maps, cities, dpi)

    class MapAnimation(Animation):
        def __init__(self) -> None:                    # no function, no paths: a map
            self.scene, self.fps, self.hold = scene, float(fps), float(hold)
            self.steps, self.paths = steps, []
            self.renderer = Renderer(scene, keep_palette=True)
            self._shown = -1

        def draw(self, i: int) -> None:
            across = scene.follow(maps[i])
            scene.dots.set_offsets(maps[i])
            for text, (x, y) in zip(scene.labels, maps[i]):
                text.set_position((x, y))
            scene.title.set_text(f"step {steps[i]}: f = {trajectory.values[steps[i]]:.3g}"
                                 f"   (the view is {_km(across)} across)")
            self._shown = i

        def __repr__(self) -> str:
            return f"<Animation of the city map: {len(self)} frames, steps 0..{last}>"

    return MapAnimation()
