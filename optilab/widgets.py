"""Interactive explorers: move a slider, the optimizer runs again, the picture redraws.

Plain ipywidgets and a PNG image updated in place, so the same widget works in JupyterLab,
Notebook 7, VS Code and Colab, and no interactive matplotlib backend is needed.

* :func:`explore` -- one run of one optimizer, with sliders for its learning rate (log
  scale), momentum or betas, scheduler, number of steps and starting point, and a choice of
  view (curve, contour map, 3D surface) and of side panels (loss and learning rate per step).
* :func:`race` -- several optimizers from one start on one surface, each with its own
  learning-rate slider, and one step scrubber that moves them all.

A run that diverges is a result: the widget shows "diverged at step k" and the run's
explanation (the stability limit of gradient descent), never a traceback.

    >>> ex = explore("rosenbrock", optimizer="sgd", lr=1e-3, steps=50)
    >>> ex.controls["lr"].value = 0.01                 # what moving the slider does
    >>> ex.trajectories[0].status
    'diverged'
    >>> "diverged at step 4" in ex.message.value and "lr &lt; 2 / lambda_max" in ex.message.value
    True
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np

from . import functions
from .optim import OPTIMIZERS, _check_number, _check_x0, did_you_mean, run
from .plot.live import Renderer
from .plot.static import PANELS, Scene, as_paths, divergence_note
from .trajectory import Trajectory

SCHEDULER_CHOICES = ("none", "step", "multistep", "exponential", "cosine", "onecycle", "plateau")
WITH_GAMMA = {"step": "gamma", "multistep": "gamma", "exponential": "gamma",
              "plateau": "factor"}
WITH_MOMENTUM = ("sgd", "rmsprop")
WITH_BETAS = ("adam", "adamw")
LR_RANGE = (-5.0, 1.5)                      # log10 of the learning-rate slider's ends
CSS_PX_PER_INCH, PIXEL_DENSITY = 96, 2      # how big the picture shows, how finely drawn


def _function(f: Any, x_range: Any, y_range: Any) -> functions.TestFunction:
    """A TestFunction from a name, a TestFunction, or a plain function plus its plot range."""
    if isinstance(f, (str, functions.TestFunction)):
        return functions.get(f)
    if not callable(f):
        raise TypeError(f"f must be a test-function name, a TestFunction or a function, "
                        f"got {type(f).__name__}")
    if x_range is None:
        raise ValueError("a plain function needs its plot window: explore(f, x0, "
                         "x_range=(-3, 3)) (and y_range=... for f(x, y))")
    return functions.TestFunction(getattr(f, "__name__", "f"), f, x_range=x_range,
                                  y_range=y_range)


def interactive_backend() -> bool:
    """True when the notebook chose matplotlib's interactive widget backend (ipympl:
    ``%matplotlib widget``)."""
    import matplotlib

    return "ipympl" in matplotlib.get_backend() or matplotlib.get_backend() == "widget"


class _Picture:
    """A Scene (function drawn once) and its Renderer; paths change, the background stays.

    ``interactive``: the figure lives in an ipympl canvas widget (``.canvas``), redrawn by
    ipympl, instead of PNGs for an Image widget.
    """

    def __init__(self, tf: functions.TestFunction, view: str, panels: Sequence[str],
                 interactive: bool = False) -> None:
        self.key = (view, tuple(panels))
        # shown at 96 CSS px per inch (7 pt tick labels are 9 px on screen) and drawn at
        # twice that, so the picture stays sharp on high-density screens; ipympl's canvas
        # handles the density itself
        dpi = 72 if interactive else CSS_PX_PER_INCH * PIXEL_DENSITY
        self.scene = Scene(tf, view, panels=panels, animated=not interactive, dpi=dpi)
        pixels = self.scene.figure.canvas.get_width_height()[0]
        self.css_width = f"{pixels / (dpi / CSS_PX_PER_INCH):g}px"
        self.renderer = Renderer(self.scene)
        self.artists: dict[str, Any] = {}
        self.captions: list[str] = []
        self.canvas = None
        if interactive:
            try:
                from ipympl.backend_nbagg import Canvas, FigureManager
            except ImportError as e:
                raise ImportError("interactive=True needs ipympl (pip install ipympl, then "
                                  "%matplotlib widget); the default picture needs nothing "
                                  "more") from e

            self.canvas = Canvas(self.scene.figure)
            FigureManager(self.canvas, 0)
            self.canvas.header_visible = False
            self.canvas.toolbar_visible = False

    def draw(self, trajectories: Mapping[str, Trajectory],
             shown: Mapping[str, int] | None = None, internals: bool = False) -> bytes | None:
        """PNG of these trajectories (only the first ``shown[label]`` points of each); in
        the interactive canvas, a redraw there (and None).  ``internals``: also the
        optimizers' state at their last step (contour maps), captions in ``captions``."""
        paths = as_paths(dict(trajectories), self.scene.func)
        for label in [k for k in self.artists if k not in trajectories]:   # switched away
            self.scene.remove_path(self.artists.pop(label))
            self.renderer.invalidate()
        for path in paths:
            if path.label not in self.artists:
                self.artists[path.label] = self.scene.add_path(path.label)
                self.renderer.invalidate()
            k = len(path.points) if shown is None else shown[path.label]
            self.artists[path.label].set_data(path.points[:k], path.values[:k],
                                              path.lrs[:max(k - 1, 0)], path.diverged_at)
        if len(paths) > 1 and not self.scene._legend:
            self.scene.show_legend()
            self.renderer.invalidate()
        counts = None if shown is None else [shown[p.label] for p in paths]
        if self.scene.fit_panels(paths, shown=counts):
            self.renderer.invalidate()
        if self.scene.set_note(divergence_note(paths, counts)):
            self.renderer.invalidate()
        self.captions = []
        if internals and self.scene.view == "contour":
            self.captions = self.scene.set_internals(list(trajectories.values()))
        else:
            for drawn in self.scene.internals.values():
                drawn.hide()
        if self.canvas is not None:
            self.canvas.draw_idle()
            return None
        return self.renderer.png()


def _message(trajectories: Mapping[str, Trajectory],
             shown: Mapping[str, int] | None = None) -> str:
    """HTML lines: each run's summary (or, scrubbed back to step k, where it is at step k),
    red for a divergence that has happened by then."""
    lines = []
    for label, t in trajectories.items():
        k = len(t.points) - 1 if shown is None else shown[label] - 1
        diverged = t.diverged and t.diverged_at is not None and t.diverged_at <= k
        if k >= len(t.points) - 1 or diverged:
            text = t.summary()
        else:
            point = ", ".join(f"{v:.4g}" for v in np.ravel(t.points[k]))
            text = (f"{t.label} at step {k} of {len(t.points) - 1}: x = ({point}), "
                    f"f = {t.values[k]:.4g}")
        css = "optilab-diverged" if diverged else "optilab-ok"
        color = "#b00000" if diverged else "#333333"
        lines.append(f'<div class="{css}" style="color:{color}">{html.escape(text)}</div>')
    return "".join(lines)


def _start(tf: functions.TestFunction, x0: Any) -> Any:
    """x0, or the function's first good start."""
    if x0 is not None:
        return x0
    if not tf.starts:
        raise ValueError(f"give x0=...: {tf.name} is a plain function with no default start")
    return tf.starts[0]


def _error(exc: Exception, label: str = "") -> str:
    text = html.escape(f"{label + ': ' if label else ''}{type(exc).__name__}: {exc}")
    return f'<div class="optilab-error" style="color:#b00000">This setting failed: {text}</div>'


class Explorer(widgets.VBox):
    """One optimizer on one function; every control re-runs it and redraws.

    ``controls`` maps names to the ipywidgets: ``"optimizer"``, ``"lr"``, ``"momentum"``,
    ``"beta1"``, ``"beta2"``, ``"scheduler"``, ``"gamma"``, ``"steps"``, ``"x0"`` (a box
    of one slider per coordinate: ``"x0_x"``, ``"x0_y"``), ``"view"``, ``"loss_panel"``,
    ``"lr_panel"``, ``"internals"`` (the "inside the optimizer" box: runs with
    ``record_state=True`` and draws the optimizer's state at the last step on the contour
    map, its caption under the picture).  ``trajectories`` holds the runs drawn now;
    ``message`` the text shown under the picture; ``image`` the picture.

    ``interactive`` (default: when ``%matplotlib widget`` is active) draws in an ipympl
    canvas instead, where a click on the contour map (or the curve) sets the start point.
    The default Image works everywhere, Colab included; ipympl is optional.
    """

    def __init__(self, f: Any, x0: Any = None, *, optimizer: str = "sgd", lr: float = 0.01,
                 steps: int = 100, momentum: float = 0.0, scheduler: str | None = None,
                 view: str | None = None, panels: Sequence[str] = ("loss",),
                 x_range: Any = None, y_range: Any = None, engine: str = "torch",
                 interactive: bool | None = None, internals: bool = False) -> None:
        self.function = _function(f, x_range, y_range)
        tf, self.engine = self.function, engine
        self.interactive = interactive_backend() if interactive is None else interactive
        self._quiet = False
        x0 = _check_start(tf, _start(tf, x0))
        _choice("optimizer", optimizer, OPTIMIZERS)
        _choice("scheduler", scheduler or "none", SCHEDULER_CHOICES)
        _check_number("lr", lr, hint="try lr=0.01")
        _check_number("steps", steps, integer=True, hint="try steps=100")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
                or not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r} (try 0.9)")
        unknown = [p for p in panels if p not in PANELS]
        if unknown:
            raise ValueError(f"panels can be {PANELS}, got {unknown}")
        views = ("curve",) if tf.dim == 1 else ("contour", "surface")
        view = view or views[0]
        _choice("view", view, views, f" for {tf.name}")
        self.controls = self._make_controls(optimizer, lr, steps, momentum, scheduler or "none",
                                            view, views, panels, x0, internals)
        for name, control in self.controls.items():   # CSS handles for tests and themes
            control.add_class(f"optilab-{name.replace('_', '-')}")
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.image.add_class("optilab-picture")
        self.message = widgets.HTML()
        self.trajectories: list[Trajectory] = []
        self._picture: _Picture | None = None
        c = self.controls
        left = widgets.VBox([c["optimizer"], c["lr"], c["momentum"], c["beta1"], c["beta2"],
                             c["scheduler"], c["gamma"]])
        right = widgets.VBox([c["steps"], c["x0"], c["view"],
                              widgets.HBox([c["loss_panel"], c["lr_panel"]]),
                              c["internals"]])
        super().__init__([widgets.HBox([left, right]), self.image, self.message])
        for control in self._inputs():
            control.observe(self._changed, "value")
        self._show_relevant()
        self.update()

    # -- controls ----------------------------------------------------------------------
    def _make_controls(self, optimizer: str, lr: float, steps: int, momentum: float,
                       scheduler: str, view: str, views: Sequence[str],
                       panels: Sequence[str], x0: np.ndarray,
                       internals: bool = False) -> dict[str, Any]:
        tf = self.function
        ranges = [tf.x_range, tf.y_range][:tf.dim]
        starts = {f"x0_{name}": widgets.FloatSlider(
            value=float(v), min=float(r[0]), max=float(r[1]), step=(r[1] - r[0]) / 200,
            description=f"start {name}", **_box())
            for name, v, r in zip(tf.variables, x0, ranges)}
        return {
            "optimizer": widgets.Dropdown(options=list(OPTIMIZERS), value=optimizer,
                                          description="optimizer", **_box()),
            "lr": _lr_slider(lr, "learning rate"),
            "momentum": widgets.FloatSlider(value=momentum, min=0.0, max=max(0.99, momentum),
                                            step=0.01, description="momentum", **_box()),
            "beta1": widgets.FloatSlider(value=0.9, min=0.0, max=0.999, step=0.001,
                                         description="beta1", readout_format=".3f", **_box()),
            "beta2": widgets.FloatSlider(value=0.999, min=0.9, max=0.9999, step=0.0001,
                                         description="beta2", readout_format=".4f", **_box()),
            "scheduler": widgets.Dropdown(options=SCHEDULER_CHOICES, value=scheduler,
                                          description="scheduler", **_box()),
            "gamma": widgets.FloatSlider(value=0.5, min=0.05, max=0.999, step=0.005,
                                         description="gamma", readout_format=".3f", **_box()),
            "steps": widgets.IntSlider(value=steps, min=1, max=max(1000, steps),
                                       description="steps", **_box()),
            "x0": widgets.VBox(list(starts.values())),
            **starts,
            "view": widgets.ToggleButtons(options=list(views), value=view,
                                          style={"button_width": "80px"}),
            "loss_panel": widgets.Checkbox(value="loss" in panels, description="loss panel",
                                           indent=False),
            "lr_panel": widgets.Checkbox(value="lr" in panels, description="lr panel",
                                         indent=False),
            "internals": widgets.Checkbox(value=bool(internals),
                                          description="inside the optimizer", indent=False),
        }

    def _inputs(self) -> list[Any]:
        return [w for name, w in self.controls.items() if name != "x0"]

    def _show_relevant(self) -> None:
        """Show the momentum / beta / gamma sliders only where the settings use them."""
        c = self.controls
        shown = {"momentum": c["optimizer"].value in WITH_MOMENTUM,
                 "beta1": c["optimizer"].value in WITH_BETAS,
                 "beta2": c["optimizer"].value in WITH_BETAS,
                 "gamma": c["scheduler"].value in WITH_GAMMA}
        for name, visible in shown.items():
            c[name].layout.display = None if visible else "none"
        c["gamma"].description = WITH_GAMMA.get(c["scheduler"].value, "gamma")

    def _changed(self, change: dict[str, Any]) -> None:
        self._show_relevant()
        if not self._quiet:
            self.update()

    def set_start(self, point: Sequence[float]) -> None:
        """Move the start sliders to ``point`` (clipped to their range) and run once."""
        self._quiet = True
        try:
            for name, v in zip(self.function.variables, point):
                slider = self.controls[f"x0_{name}"]
                slider.value = float(np.clip(v, slider.min, slider.max))
        finally:
            self._quiet = False
        self.update()

    def _clicked(self, event: Any) -> None:
        """A click on the map (or the curve) sets the start point there."""
        scene = self._picture.scene if self._picture else None
        if scene is None or event.inaxes is not scene.ax or scene.view == "surface":
            return
        self.set_start([event.xdata, event.ydata][:self.function.dim])

    # -- running and drawing ---------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The keyword arguments of :func:`optilab.optim.run` that the controls say."""
        c = self.controls
        name = c["optimizer"].value
        kwargs: dict[str, Any] = {"optimizer": name, "lr": float(c["lr"].value),
                                  "steps": int(c["steps"].value), "engine": self.engine}
        if name in WITH_MOMENTUM:
            kwargs["momentum"] = float(c["momentum"].value)
        if name in WITH_BETAS:
            kwargs["betas"] = (float(c["beta1"].value), float(c["beta2"].value))
        if name == "lbfgs":
            kwargs["max_iter"] = 1         # one iteration per step, comparable with the others
        scheduler = c["scheduler"].value
        if scheduler != "none":
            kwargs["scheduler"] = scheduler
            if scheduler in WITH_GAMMA:
                kwargs["scheduler_kwargs"] = {WITH_GAMMA[scheduler]: float(c["gamma"].value)}
        return kwargs

    @property
    def x0(self) -> list[float]:
        return [float(self.controls[f"x0_{v}"].value) for v in self.function.variables]

    @property
    def panels(self) -> tuple[str, ...]:
        return tuple(p for p in ("loss", "lr") if self.controls[f"{p}_panel"].value)

    def update(self) -> None:
        """Run with the current settings and redraw (what every control change does)."""
        try:
            t = run(self.function, self.x0, progress=False, label=self.controls["optimizer"].value,
                    record_state=bool(self.controls["internals"].value), **self.settings())
        except Exception as exc:  # noqa: BLE001 - a widget shows the error, never a traceback
            self.trajectories = []
            self.message.value = _error(exc)
            return
        self.trajectories = [t]
        key = (self.controls["view"].value, self.panels)
        if self._picture is None or self._picture.key != key:
            self._picture = _Picture(self.function, *key, interactive=self.interactive)
            self.image.layout.width = self._picture.css_width
            if self.interactive:
                self._picture.canvas.mpl_connect("button_press_event", self._clicked)
                self.children = (self.children[0], self._picture.canvas, self.message)
        inside = bool(self.controls["internals"].value)
        png = self._picture.draw({t.label: t}, internals=inside)
        if png is not None:
            self.image.value = png
        self.message.value = _message({t.label: t}) + self._internals_note(inside)

    def _internals_note(self, inside: bool) -> str:
        """The caption of the optimizer's insides (HTML), or why none is drawn."""
        if not inside:
            return ""
        if self._picture is None or self._picture.scene.view != "contour":
            text = "The inside of the optimizer is drawn on the contour map: choose contour."
        else:
            text = " ".join(self._picture.captions)
        return f'<div class="optilab-internals" style="color:#333333">{html.escape(text)}</div>'


class Race(widgets.VBox):
    """Several optimizers from one start, each with its own learning-rate slider, and one
    step scrubber that shows all of them after the same number of steps.

    ``controls``: ``"lr:<label>"`` per run, ``"step"`` (the scrubber), ``"view"``.
    """

    def __init__(self, f: Any, x0: Any, configs: Mapping[str, Mapping[str, Any]], *,
                 steps: int = 200, view: str | None = None, panels: Sequence[str] = ("loss",),
                 x_range: Any = None, y_range: Any = None) -> None:
        self.function = _function(f, x_range, y_range)
        if not isinstance(configs, Mapping) or not configs:
            raise TypeError('configs must be a non-empty dict label -> settings, e.g. '
                            '{"SGD": dict(lr=1e-3), "Adam": dict(lr=0.05)}')
        self.x0 = _check_start(self.function, _start(self.function, x0)).tolist()
        labels = [str(k) for k in configs]
        twins = sorted({k for k in labels if labels.count(k) > 1})
        if twins:
            raise ValueError(f"each run needs its own label, but {twins} name more than one "
                             f"(e.g. 1 and '1'): give them distinct labels")
        for label, cfg in configs.items():
            if not isinstance(cfg, Mapping):
                raise TypeError(f"the settings of {label!r} must be a dict such as "
                                f"dict(optimizer='adam', lr=0.05), got {cfg!r}")
            if "lr" in cfg:
                _check_number(f"lr of {label!r}", cfg["lr"], hint="try lr=1e-3")
        _check_number("steps", steps, integer=True, hint="try steps=200")
        self.configs = {str(k): dict(v) for k, v in configs.items()}
        self.steps = int(steps)
        views = ("curve",) if self.function.dim == 1 else ("contour", "surface")
        _choice("view", view or views[0], views, f" for {self.function.name}")
        self.panels = tuple(panels)
        self.controls: dict[str, Any] = {
            f"lr:{label}": _lr_slider(float(cfg.get("lr", 1e-3)), label)
            for label, cfg in self.configs.items()}
        self.controls["step"] = widgets.IntSlider(value=self.steps, min=0, max=self.steps,
                                                  description="step", **_box())
        self.controls["view"] = widgets.ToggleButtons(options=list(views),
                                                      value=view or views[0])
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.message = widgets.HTML()
        self.runs: dict[str, Trajectory] = {}
        self.errors: dict[str, str] = {}          # label -> why that run failed (HTML)
        self._picture: _Picture | None = None
        sliders = [w for k, w in self.controls.items() if k.startswith("lr:")]
        super().__init__([widgets.HBox([widgets.VBox(sliders),
                                        widgets.VBox([self.controls["step"],
                                                      self.controls["view"]])]),
                          self.image, self.message])
        for label in self.configs:
            self.controls[f"lr:{label}"].observe(self._rerun(label), "value")
        self.controls["step"].observe(lambda change: self.redraw(), "value")
        self.controls["view"].observe(lambda change: self.redraw(), "value")
        for label in self.configs:
            self._run(label)
        self.redraw()

    @property
    def trajectories(self) -> list[Trajectory]:
        return list(self.runs.values())

    def _rerun(self, label: str) -> Callable[[dict[str, Any]], None]:
        def rerun(change: dict[str, Any]) -> None:
            self._run(label)
            self.redraw()
        return rerun

    def _run(self, label: str) -> None:
        settings = {**self.configs[label], "lr": float(self.controls[f"lr:{label}"].value),
                    "steps": self.steps}
        settings.setdefault("optimizer", label.lower())
        try:
            self.runs[label] = run(self.function, self.x0, progress=False, label=label,
                                   **settings)
            self.errors.pop(label, None)
        except Exception as exc:  # noqa: BLE001 - shown in the widget, never a traceback
            self.runs.pop(label, None)
            self.errors[label] = _error(exc, label)

    def redraw(self) -> None:
        """Draw every run up to the scrubber's step."""
        key = (self.controls["view"].value, self.panels)
        if self._picture is None or self._picture.key != key:
            self._picture = _Picture(self.function, *key)
            self.image.layout.width = self._picture.css_width
        k = int(self.controls["step"].value)
        shown = {label: min(k + 1, len(t.points)) for label, t in self.runs.items()}
        self.image.value = self._picture.draw(self.runs, shown)
        self.message.value = _message(self.runs, shown) + "".join(self.errors.values())


def _lr_slider(lr: float, description: str) -> widgets.FloatLogSlider:
    """A log slider over LR_RANGE, widened to hold ``lr`` (never clamped to another value)."""
    exponent = float(np.log10(lr))
    low, high = min(LR_RANGE[0], np.floor(exponent)), max(LR_RANGE[1], np.ceil(exponent))
    return widgets.FloatLogSlider(value=lr, base=10, min=low, max=high, step=0.05,
                                  description=description, readout_format=".2e", **_box())


def _choice(name: str, value: Any, choices: Sequence[str], where: str = "") -> None:
    """run()'s kind of message for a choice that is not one: the valid ones, a near miss."""
    if isinstance(value, str) and value in choices:
        return
    raise ValueError(f"{name} must be one of {', '.join(choices)}{where}, got {value!r}."
                     f"{did_you_mean(value, choices)}")


def _check_start(tf: functions.TestFunction, x0: Any) -> np.ndarray:
    """x0 as numbers (run()'s checks), one per coordinate, inside the picture (the start
    sliders' range)."""
    point = np.atleast_1d(_check_x0(x0))
    if point.size != tf.dim:
        raise ValueError(f"{tf.name} takes {tf.dim} coordinate(s); x0 has {point.size}: "
                         f"{point.tolist()}")
    ranges = [tf.x_range, tf.y_range][:tf.dim]
    outside = [f"{name} = {v:g} is not in [{r[0]:g}, {r[1]:g}]"
               for name, v, r in zip(tf.variables, point, ranges) if not r[0] <= v <= r[1]]
    if outside:
        raise ValueError(f"the start must be inside the picture: {'; '.join(outside)}. Pick a "
                         f"start in the window (or use optilab.optim.run for any start).")
    return point


def _box() -> dict[str, Any]:
    """Style and a fresh Layout for one control (a shared Layout would hide them all at once)."""
    return {"style": {"description_width": "90px"}, "layout": widgets.Layout(width="340px")}


def explore(f: Any, x0: Any = None, **settings: Any) -> Explorer:
    """An :class:`Explorer` of ``f`` (a test-function name, a TestFunction, or a function
    with ``x_range=``/``y_range=``) from ``x0`` (default: the function's first start)."""
    return Explorer(f, x0, **settings)


def race(f: Any, x0: Any, configs: Mapping[str, Mapping[str, Any]], **settings: Any) -> Race:
    """A :class:`Race` of the ``configs`` (label -> run settings, as in
    :func:`optilab.optim.race`) from ``x0``, with a shared step scrubber."""
    return Race(f, x0, configs, **settings)
