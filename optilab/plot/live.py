"""Live plots: a path that grows point by point, shown in any notebook front end.

How it works, and why it works everywhere (JupyterLab 4, Notebook 7, VS Code, Colab, and
with ``%matplotlib inline`` or ``%matplotlib notebook`` still in the notebook):

* The figure is a plain :class:`matplotlib.figure.Figure` on an Agg canvas -- never pyplot, so
  the active backend does not matter and nothing else displays it a second time.
* The function (contour map, curve or surface) is drawn once.  Each new point redraws only
  the moving artists: the background is restored from a saved copy and the paths are drawn
  over it (*blitting*, ``copy_from_bbox`` / ``restore_region`` / ``draw_artist``).  In 3D the
  paths are drawn above the surface, so the surface is never drawn again either: the path's
  line gets its new data (``set_data_3d``) and is projected with the unchanged camera.
* The frame goes to the notebook as a PNG through an IPython display handle
  (``display(..., display_id=True)``, then ``handle.update(...)``).  The PNG is an
  indexed-colour image (a 255-colour palette made from the background): encoding it takes a
  few milliseconds, where a full-colour PNG takes 15-30.  The last frame stays in the saved
  notebook as a real ``image/png``.

Outside a notebook nothing is displayed: :meth:`LivePlot.png` and :meth:`LivePlot.savefig`
give the picture, and ``output=`` sends every frame (PNG bytes) to any function you like
(for example an ``ipywidgets.Image``).

    >>> frames = []
    >>> plot = LivePlot("himmelblau", output=frames.append)
    >>> for x in ([0.0, 0.0], [1.0, 1.0], [2.5, 1.8]):
    ...     plot.add_point(x)
    >>> len(frames), frames[-1][:4]
    (4, b'\\x89PNG')
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path as FilePath
from typing import Any

import numpy as np
from matplotlib.colors import to_rgb
from PIL import Image

from ..state import read_state
from ..trajectory import Trajectory
from .internals import GRADIENT_COLOR, Internals
from .static import (
    BOUND,
    CLIP_COLOR,
    FunctionLike,
    Grid,
    Path,
    PathArtists,
    Scene,
    as_paths,
    divergence_note,
    evaluate,
    to_array,
)

__all__ = ["LivePlot", "Renderer", "NotebookDisplay", "in_notebook"]

Output = Callable[[bytes], Any]


# ------------------------------------------------------------------------------ rendering

class Renderer:
    """Renders a :class:`~optilab.plot.static.Scene` fast: a full draw only when the
    background changed (:meth:`invalidate`), otherwise the saved background plus the
    scene's moving artists; PNGs in indexed colour.

    ``blit=False`` draws everything every time (the slow path, for comparison).
    """

    def __init__(self, scene: Scene, blit: bool = True, keep_palette: bool = False) -> None:
        self.scene, self.blit, self.keep_palette = scene, blit, keep_palette
        self.canvas = scene.figure.canvas
        self._background: Any = None
        self._palette: Image.Image | None = None
        self.full_draws = 0

    def invalidate(self) -> None:
        """The background changed (a title, a legend, panel limits): draw it again next time."""
        self._background = None

    def render(self) -> np.ndarray:
        """The current picture as an (h, w, 4) uint8 RGBA array (a view: copy to keep it)."""
        animated = self.scene.animated_artists
        if not self.blit:
            for a in animated:
                a.set_animated(False)
            self.canvas.draw()
            for a in animated:
                a.set_animated(True)
            self.full_draws += 1
            return np.asarray(self.canvas.buffer_rgba())
        if self._background is None:
            self.canvas.draw()                     # everything but the animated artists
            self._background = self.canvas.copy_from_bbox(self.scene.figure.bbox)
            self.full_draws += 1
            if not (self.keep_palette and self._palette is not None):
                self._palette = None
        else:
            self.canvas.restore_region(self._background)
        for a in animated:
            if a.get_visible():
                a.axes.draw_artist(a)
        return np.asarray(self.canvas.buffer_rgba())

    def indexed(self, rgba: np.ndarray | None = None) -> Image.Image:
        """The picture as a palette ("P") image with at most 255 colours (index 255 stays
        free, e.g. for GIF transparency)."""
        rgba = self.render() if rgba is None else rgba
        rgb = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0,
                               1).convert("RGB")
        if self._palette is None:
            self._palette = _palette_for(rgb, self._reserved_colors())
        return rgb.quantize(palette=self._palette, dither=Image.Dither.NONE)

    def png(self, rgba: np.ndarray | None = None, exact: bool = False) -> bytes:
        """The picture as PNG bytes: indexed colour (fast, small) or ``exact`` (full colour)."""
        if exact:
            rgba = self.render() if rgba is None else rgba
            image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw",
                                     "RGBA", 0, 1).convert("RGB")
            level = 6
        else:
            image, level = self.indexed(rgba), 1
        buffer = io.BytesIO()
        image.save(buffer, "png", compress_level=level)
        return buffer.getvalue()

    def _reserved_colors(self) -> list[tuple[int, int, int]]:
        """Colours that must be exact whatever the background holds: the paths' colours."""
        colors = {to_rgb(p.color) for p in self.scene.paths} | set(map(to_rgb, self.scene.colors))
        colors |= {to_rgb(c) for c in ("white", "black", CLIP_COLOR, "#b00000",
                                       GRADIENT_COLOR)}
        return [tuple(int(round(255 * v)) for v in c) for c in sorted(colors)]


def _palette_for(rgb: Image.Image, reserved: Sequence[tuple[int, int, int]]) -> Image.Image:
    """A palette image: the reserved colours plus the background's most useful ones (255 in
    all)."""
    n = max(16, 255 - len(reserved))
    adaptive = rgb.quantize(n, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    colors = list(adaptive.getpalette() or [])[: 3 * n]
    for c in reserved:
        colors.extend(c)
    colors = colors[: 3 * 255]
    palette = Image.new("P", (1, 1))
    palette.putpalette(colors)
    return palette


# ------------------------------------------------------------------------------ the notebook

def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), where a display
    handle can show and update an image; False in a script or a terminal IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _execution_count() -> int | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return getattr(shell, "execution_count", None)


def display(obj: Any, **kwargs: Any) -> Any:
    """IPython's ``display`` (imported when first used; tests replace this function)."""
    from IPython.display import display as ipython_display

    return ipython_display(obj, **kwargs)


class NotebookDisplay:
    """Shows PNG frames in the notebook: ``display(..., display_id=True)`` for the first frame,
    then ``handle.update(...)``, which replaces the image in place.

    With ``follow_cell`` (the default), the first frame a new cell sends opens a new display
    in that cell, so a loop in one cell animates under that cell, while the cell that
    created the plot keeps its first picture.
    """

    def __init__(self, follow_cell: bool = True) -> None:
        self.follow_cell = follow_cell
        self.handle: Any = None
        self._cell: int | None = None
        self.displays = 0
        self.updates = 0

    def __call__(self, png: bytes) -> None:
        bundle = {"image/png": base64.b64encode(png).decode("ascii"),
                  "text/plain": "<optilab live plot>"}
        cell = _execution_count()
        if self.handle is None or (self.follow_cell and cell != self._cell):
            self.handle = display(bundle, raw=True, display_id=True)
            self._cell = cell
            self.displays += 1
        else:
            self.handle.update(bundle, raw=True)
            self.updates += 1


# ------------------------------------------------------------------------------ the live plot

class LivePlot:
    """A function drawn once, with paths that grow point by point, shown live.

    ``view`` is ``"curve"`` (a 1D function), ``"contour"`` or ``"surface"`` (2D; default
    contour).  ``f`` is a test function (or its name) -- its plot window, formula and
    minimisers come with it -- or any function with ``x_range`` (and ``y_range``) given.
    ``panels=("loss", "lr")`` adds f and the learning rate against the step.

    :meth:`add_point` adds a point to the path called ``label`` (a new label starts a new
    path, with its own colour and a legend entry); :meth:`add_trajectory` adds whole
    trajectories, :meth:`play` replays them step by step.

    ``max_steps`` gives the panels' step axis room for that many steps from the start
    (otherwise it doubles when it fills up, which redraws the background).

    ``internals=True`` (contour view) also draws, at each new point, what the optimizer
    carried into the step that led there (see :mod:`optilab.plot.internals`): call
    ``add_point(x, optimizer=opt)`` right after ``opt.step()``, with ``x`` the tensor it
    moves (its ``.grad`` is the gradient the step used).  ``internals_caption`` holds the
    newest step's caption in words (print it; the live picture keeps its size).

        >>> import torch
        >>> from optilab import functions
        >>> x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
        >>> opt = torch.optim.SGD([x], lr=1e-3, momentum=0.9)
        >>> plot = LivePlot("rosenbrock", internals=True, output=None)
        >>> plot.add_point(x)
        >>> for _ in range(3):
        ...     opt.zero_grad(); functions.rosenbrock(*x).backward(); opt.step()
        ...     plot.add_point(x, optimizer=opt)
        >>> plot.internals_caption[:22]
        'path: Step 2 from x_2 '

    ``output``: ``"auto"`` shows the frames in the notebook (when there is one), ``None``
    shows nothing, a function receives each frame's PNG bytes.  ``delay`` (seconds) paces
    the points: each add_point returns no sooner than ``delay`` after the previous one.

    >>> plot = LivePlot("rosenbrock", panels=("loss",), output=None)
    >>> for x in ([-1.2, 1.0], [-1.0, 1.1], [50.0, 1.0]):     # the last one is clipped
    ...     plot.add_point(x, label="sgd")
    >>> plot.paths[0].points.shape
    (3, 2)
    >>> plot.add_point([np.inf, 0.0], label="sgd")
    >>> plot.ax.get_title().splitlines()[-1]
    'diverged at step 3'
    """

    def __init__(self, f: FunctionLike | Grid, view: str | None = None, *,
                 x_range: Any = None, y_range: Any = None, panels: Sequence[str] = (),
                 title: str | None = None, elev: float = 30.0, azim: float = -60.0,
                 dpi: float = 80, figsize: tuple[float, float] | None = None,
                 n: int | None = None, max_steps: int | None = None, delay: float = 0.0,
                 output: str | Output | None = "auto", show: bool = True,
                 blit: bool = True, colors: Sequence[str] | None = None,
                 follow_cell: bool = True, internals: bool = False) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay}")
        self.scene = Scene(f, view, x_range, y_range, panels=panels, title=title, elev=elev,
                           azim=azim, dpi=dpi, figsize=figsize, animated=True, n=n,
                           colors=colors)
        self.view = self.scene.view
        if internals and self.view != "contour":
            raise ValueError(f"the inside of an optimizer is drawn on a contour map "
                             f"(view='contour'), got view={self.view!r}")
        self.internals = bool(internals)
        self.internals_caption = ""
        self._inside: dict[str, dict[str, Any]] = {}    # per path: the newest step's record
        self.renderer = Renderer(self.scene, blit=blit)
        self.delay = float(delay)
        if output == "auto":
            self.output: Output | None = NotebookDisplay(follow_cell) if in_notebook() else None
        elif output is None or callable(output):
            self.output = output
        else:
            raise ValueError(f"output must be 'auto', None or a function taking PNG bytes, "
                             f"got {output!r}")
        self._data: dict[str, dict[str, list[Any]]] = {}
        self._artists: dict[str, PathArtists] = {}
        self._diverged: dict[str, int | None] = {}
        self._last = 0.0
        self.frames = 0
        self.scene.step_hint = max_steps
        if show and self.output is not None:
            self.update()
        self._last = time.perf_counter()       # pacing counts from here

    # -- data --------------------------------------------------------------------------
    @property
    def figure(self) -> Any:
        """The matplotlib Figure (Agg canvas; not registered with pyplot)."""
        return self.scene.figure

    @property
    def ax(self) -> Any:
        """The main axes (3D in the surface view)."""
        return self.scene.ax

    @property
    def paths(self) -> list[Path]:
        """The paths so far, as :class:`~optilab.plot.static.Path` objects."""
        return [self._path(label) for label in self._data]

    def _path(self, label: str) -> Path:
        d = self._data[label]
        return Path(label, d["points"].array, d["values"].array, d["lrs"].array,
                    self._diverged[label])

    def add_point(self, x: Any, value: Any = None, *, label: str | None = None,
                  lr: Any = None, optimizer: Any = None) -> None:
        """Add the point ``x`` (a number for a curve, a pair for a map or surface; torch or
        optilab tensors, numpy arrays and floats all work) to the path ``label``, and show
        the new frame.  ``value`` is f at ``x`` (computed when not given and needed);
        ``lr`` the learning rate of the step taken from ``x`` (for the "lr" panel).
        ``optimizer`` (with ``internals=True``): the optimizer whose ``step()`` just moved
        the tensor ``x`` here; its state is read and drawn at the step."""
        inside = self._read_inside(x, optimizer)
        point = to_array(x).reshape(-1)
        dim = 1 if self.view == "curve" else 2
        if point.size != dim:
            shape = tuple(np.shape(to_array(x)))
            raise ValueError(f"a point of this {self.view} plot has {dim} coordinate(s) "
                             f"({'x' if dim == 1 else 'x, y'}), got shape {shape}")
        value = self._value(point) if value is None else _one_number(value, "value (f at x)")
        lr = None if lr is None else _one_number(lr, "lr")
        label = self._ensure_path(label)
        d = self._data[label]
        d["points"].append(point)
        d["values"].append(value)
        if lr is not None:
            d["lrs"].append(lr)
        if self._diverged[label] is None and not self._finite(point, d["values"][-1]):
            self._diverged[label] = len(d["points"]) - 1
            self._refresh_note()
        self._redraw_path(label)
        if inside is not None and len(d["points"]) > 1:
            self._draw_inside(label, inside)
        self._show()

    def _read_inside(self, x: Any, optimizer: Any) -> dict[str, Any] | None:
        """The gradient in ``x.grad`` and the optimizer's state, if internals are drawn."""
        if not self.internals:
            if optimizer is not None:
                raise ValueError("add_point(..., optimizer=opt) draws the optimizer's "
                                 "state: make the plot with LivePlot(..., internals=True)")
            return None
        if optimizer is None:
            return None                          # a start point, or a point without a step
        grad = getattr(x, "grad", None)
        if grad is None:
            raise ValueError("add_point(x, optimizer=opt) reads the gradient the step used "
                             "from x.grad, but x has none: pass the tensor the optimizer "
                             "moves, after loss.backward() and opt.step()")
        g = to_array(grad).reshape(-1)
        group = getattr(optimizer, "param_groups", [{}])[0]
        lr = group.get("lr", getattr(optimizer, "lr", float("nan")))
        return {"g": g, "state": read_state(optimizer, grads=g), "lr": float(lr),
                "name": type(optimizer).__name__.lower(),
                "line_search_fn": group.get("line_search_fn")}

    def _draw_inside(self, label: str, inside: dict[str, Any]) -> None:
        """Draw step k = n - 2 of the path (from its last-but-one point to its last)."""
        path = self._path(label)
        n = len(path.points)
        k = n - 2
        grads = np.full((n, 2), np.nan)
        grads[k] = inside["g"]
        lrs = np.full(n - 1, np.nan)
        lrs[k] = inside["lr"]
        state = {}
        for name, row in inside["state"].items():
            rows = np.full((k + 1, np.size(row)), np.nan)
            rows[k] = row
            state[name] = rows
        diverged = path.diverged_at is not None
        t = Trajectory(path.points, path.values, grads, lrs, state=state,
                       settings={"optimizer": inside["name"], "label": label,
                                 "line_search_fn": inside["line_search_fn"]},
                       status="diverged" if diverged else "max_steps",
                       diverged_at=path.diverged_at)
        index = list(self._artists).index(label)
        drawn = self.scene.internals.get(index)
        if drawn is None:
            drawn = self.scene.internals[index] = Internals(
                self.ax, self._artists[label].color, animated=True)
        self.internals_caption = f"{label}: {drawn.set_step(t, k)}"

    def add_trajectory(self, trajectories: Any, *, label: str | None = None) -> None:
        """Add whole paths at once: a :class:`~optilab.trajectory.Trajectory`, a dict
        ``label -> Trajectory`` (:func:`optilab.optim.race`), a list, or an array of points;
        one frame is shown."""
        for path in as_paths(trajectories, self.scene.func, self.scene.dim):
            name = self._ensure_path(label if label is not None else path.label)
            d = self._data[name]
            d["points"].extend(path.points)
            d["values"].extend(path.values)
            d["lrs"].extend(path.lrs)
            if self._diverged[name] is None and path.diverged_at is not None:
                self._diverged[name] = len(d["points"]) - len(path.points) + path.diverged_at
            self._redraw_path(name)
        self._refresh_note()
        self._show(pace=False)

    def play(self, trajectories: Any, *, frames: int | None = None,
             delay: float | None = None) -> None:
        """Replay trajectories step by step (all of them together, a race), showing
        ``frames`` frames (default: every step, at most 200)."""
        paths = as_paths(trajectories, self.scene.func, self.scene.dim)
        if not paths:
            return
        longest = max(len(p.points) for p in paths)
        steps = _sample_steps(longest - 1, frames or min(longest, 200))
        if self.scene.panel_axes:
            self.scene.step_hint = max(self.scene.step_hint or 0, longest - 1)
            if self.scene.fit_panels(paths, margin=0.0):
                self.renderer.invalidate()
        saved_delay = self.delay
        self.delay = saved_delay if delay is None else float(delay)
        try:
            shown = {p.label: 0 for p in paths}
            for step in steps:
                for p in paths:
                    upto = min(step + 1, len(p.points))
                    if upto > shown[p.label]:
                        name = self._ensure_path(p.label)
                        d = self._data[name]
                        new = slice(shown[p.label], upto)
                        d["points"].extend(p.points[new])
                        d["values"].extend(p.values[new])
                        d["lrs"].extend(p.lrs[new])
                        if (p.diverged_at is not None and p.diverged_at < upto
                                and self._diverged[name] is None):
                            self._diverged[name] = len(d["points"]) - upto + p.diverged_at
                        shown[p.label] = upto
                        self._redraw_path(name)
                self._refresh_note()
                self._show()
        finally:
            self.delay = saved_delay

    # -- showing -----------------------------------------------------------------------
    def update(self) -> None:
        """Render the current frame and send it to the output."""
        if self.output is not None:
            self.output(self.renderer.png())
            self.frames += 1

    def png(self, exact: bool = False) -> bytes:
        """The current picture as PNG bytes (``exact``: full colour instead of 255 colours)."""
        return self.renderer.png(exact=exact)

    def savefig(self, path: str | FilePath, **kwargs: Any) -> None:
        """Save the picture (any format matplotlib writes: png, svg, pdf)."""
        self.scene.figure.savefig(path, **kwargs)

    def close(self) -> None:
        """Stop sending frames (the last one stays where it is shown)."""
        self.output = None

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v['points'])} points" for k, v in self._data.items())
        return f"<LivePlot {self.view} ({sizes or 'no points yet'})>"

    # -- internals ---------------------------------------------------------------------
    def _value(self, point: np.ndarray) -> float:
        if self.scene.func is None:
            if self.view == "contour" and "loss" not in self.scene.panel_axes:
                return float("nan")
            raise ValueError("this live plot has no function to compute f at the point: pass "
                             "the value, add_point(x, value)")
        return float(evaluate(self.scene.func, *point))

    @staticmethod
    def _finite(point: np.ndarray, value: float) -> bool:
        return bool(np.all(np.isfinite(point)) and np.all(np.abs(point) <= BOUND)
                    and (np.isfinite(value) or np.isnan(value)))

    def _ensure_path(self, label: str | None) -> str:
        name = "path" if label is None else str(label)
        if name not in self._data:
            self._data[name] = {"points": _Column(self.scene.dim), "values": _Column(),
                                "lrs": _Column()}
            self._diverged[name] = None
            self._artists[name] = self.scene.add_path(name)
            if label is not None or len(self._data) > 1:
                self.scene.show_legend()          # the legend is part of the background
                self.renderer.invalidate()
        return name

    def _redraw_path(self, label: str) -> None:
        path = self._path(label)
        self._artists[label].set_data(path.points, path.values, path.lrs, path.diverged_at)
        if self.scene.panel_axes and self.scene.fit_panels(self.paths, margin=1.0):
            self.renderer.invalidate()

    def _refresh_note(self) -> None:
        if self.scene.set_note(divergence_note(self.paths)):
            self.renderer.invalidate()

    def _show(self, pace: bool = True) -> None:
        self.update()
        if pace and self.delay > 0:
            wait = self.delay - (time.perf_counter() - self._last)
            if wait > 0:
                time.sleep(wait)
        self._last = time.perf_counter()


class _Column:
    """A growing float array (its buffer doubles when full): appending a point costs O(1),
    and ``array`` is the data so far without a copy -- so point 5,000 of a live plot
    costs what point 100 does."""

    def __init__(self, width: int | None = None) -> None:
        self._row = () if width is None else (width,)
        self._buf = np.empty((64, *self._row))
        self._n = 0

    def extend(self, rows: Any) -> None:
        rows = np.asarray(rows, dtype=float).reshape((-1, *self._row))
        if self._n + len(rows) > len(self._buf):
            grown = np.empty((max(2 * len(self._buf), self._n + len(rows)), *self._row))
            grown[:self._n] = self._buf[:self._n]
            self._buf = grown
        self._buf[self._n:self._n + len(rows)] = rows
        self._n += len(rows)

    def append(self, row: Any) -> None:
        self.extend([row])

    @property
    def array(self) -> np.ndarray:
        return self._buf[:self._n]

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        return self.array[i]


def _sample_steps(last: int, frames: int) -> list[int]:
    """``frames`` step indices from 0 to ``last`` (both included), evenly spread.

    >>> _sample_steps(10, 4)
    [0, 3, 7, 10]
    """
    frames = max(1, min(int(frames), last + 1))
    if frames == 1:
        return [last]
    return sorted(set(np.round(np.linspace(0, last, frames)).astype(int).tolist()))


def _one_number(v: Any, name: str) -> float:
    """A value or a learning rate: one number (a 1-element tensor or array is fine)."""
    a = to_array(v)
    if a.size != 1:
        raise ValueError(f"{name} must be one number, got shape {a.shape}: {a.ravel()[:4]}")
    return float(a.reshape(()))
