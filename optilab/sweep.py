r"""Fair comparisons: every optimizer over the same log grid of learning rates.

Tuning one optimizer's learning rate and running the others at their defaults compares a
tuned method with untuned ones.  A sweep gives every optimizer the same grid of rates (and,
for a stochastic f, the same seeds), keeps every run, and names each optimizer's best rate by
a stated criterion:

* ``"final"`` -- the last value f(x_n) (the default);
* ``"steps"`` -- the steps until f(x_k) <= ``target``;
* ``"auc"``   -- the area under the loss curve divided by its length: the mean of f(x_k) over
  k = 0..n (a run that stopped early at a tolerance keeps its last value).

A run that diverged scores inf in every criterion; with several seeds a rate scores the median
over its seeds; ties go to the smaller rate.

Every run equals ``optilab.optim.run`` with the same settings, bit for bit.  To be fast, the
runs of one optimizer are batched: the points of all its rates stacked into one tensor, f and
its gradient computed once per step for all of them, and the optimizer's own arithmetic
(torch's single-tensor code for SGD, Adam, AdamW, RMSprop, Adagrad and Adadelta) applied with
the learning rate as a column.  L-BFGS (a line search over all coordinates at once), a
stochastic f, a scheduler or a setting that the batch does not reproduce run one by one through
``run()``.  The sweep checks before batching that f gives the same bits on a batch as on one
point (a few operations, such as ``x ** 1.5``, round differently on a vector), and that five
batched steps equal run()'s (a guard against another torch's arithmetic), and runs one by one
if not.  Runs are independent, so they are mapped with joblib: ``n_jobs=2`` uses two
processes; ``client=`` (a dask.distributed Client) or joblib's ``parallel_config(backend=
"dask")`` runs the same sweep on a Dask cluster, with the same numbers.

    >>> from optilab.functions import rosenbrock
    >>> s = sweep(rosenbrock, [-1.2, 1.0], ["sgd", "adam"], lrs=[1e-3, 1e-2, 1e-1], steps=100)
    >>> {label: best.lr for label, best in s.best.items()}
    {'sgd': 0.001, 'adam': 0.1}
    >>> s.runs["sgd"][2][0].status          # lr = 0.1: the third rate, the first seed
    'diverged'
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import random
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from .optim import (
    OPTIMIZERS,
    _add_stability_limit,
    _check_first_gradient,
    _check_number,
    _check_x0,
    _construct,
    _coordinates,
    _status,
    _TorchLoop,
    did_you_mean,
    run,
)
from .trajectory import Trajectory

__all__ = ["sweep", "Sweep", "Best", "load", "CRITERIA", "log_grid"]

#: The criteria a best learning rate is chosen by, and how the table names them.
CRITERIA = {"final": "final f", "steps": "steps to target", "auc": "mean f over the steps"}
FORMAT = "optilab-sweep-1"                 # the file format's name, kept in every saved file


def log_grid(low: float = 1e-5, high: float = 10.0, n: int = 25) -> np.ndarray:
    """``n`` learning rates evenly spaced in log between ``low`` and ``high`` (the default
    grid: 1e-5 to 10, four points per factor of 10 is about 1.78 between neighbours).

    >>> log_grid(1e-3, 1e-1, 3)
    array([0.001, 0.01 , 0.1  ])
    """
    return np.geomspace(low, high, n)


# ----------------------------------------------------------------------------- the result

@dataclass(frozen=True)
class Best:
    """An optimizer's best learning rate and what its runs there cost (means over seeds).
    ``lr`` is None when no rate scored a finite number (every run diverged, or none reached
    the target)."""

    lr: float | None
    index: int | None
    score: float
    final: float
    evaluations: float
    gradient_evaluations: float
    seconds: float


@dataclass
class Sweep:
    """Every run of a sweep, the settings and versions it ran with, and each optimizer's best
    learning rate.

    ``runs[label][i][j]`` is the Trajectory of optimizer ``label`` at ``lrs[i]`` and
    ``seeds[j]``.  ``seconds[label]`` is the wall time of all of its runs, ``wall`` that of
    the whole sweep; ``modes[label]`` says whether its runs were batched or run one by one
    (and why).  A batched run's ``times`` are the batch's clock shared equally among the
    runs still going at each step.  Shown in a notebook, a Sweep is its table.
    """

    settings: dict[str, Any]
    versions: dict[str, str]
    runs: dict[str, list[list[Trajectory]]]
    seconds: dict[str, float]
    modes: dict[str, str]
    wall: float
    f: Callable[..., Any] | None = field(default=None, repr=False, compare=False)

    @property
    def lrs(self) -> np.ndarray:
        return np.array(self.settings["lrs"])

    @property
    def seeds(self) -> list[int]:
        return list(self.settings["seeds"])

    @property
    def criterion(self) -> str:
        return str(self.settings["criterion"])

    def scores(self, criterion: str | None = None) -> dict[str, np.ndarray]:
        """The criterion's score of every run: label -> array (len(lrs), len(seeds)), lower is
        better, inf for a run that diverged (or never reached the target)."""
        criterion = _check_criterion(criterion or self.criterion)
        target = self.settings.get("target")
        if criterion == "steps" and target is None:
            raise ValueError("criterion='steps' needs the sweep's target (the value f must "
                             "reach): run the sweep with target=...")
        return {label: np.array([[_score(t, criterion, target) for t in row] for row in rows])
                for label, rows in self.runs.items()}

    @property
    def best(self) -> dict[str, Best]:
        """Each optimizer's best learning rate by the sweep's criterion."""
        finals = self.scores("final")
        out = {}
        for label, score in self.scores().items():
            median = np.median(score, axis=1)
            i = int(np.argmin(median)) if np.isfinite(median).any() else None
            rows = self.runs[label][i if i is not None else 0]
            out[label] = Best(
                lr=None if i is None else float(self.lrs[i]), index=i,
                score=float(median[i]) if i is not None else math.inf,
                final=float(np.median(finals[label][i])) if i is not None else math.inf,
                evaluations=float(np.mean([t.evaluations for t in rows])),
                gradient_evaluations=float(np.mean([t.gradient_evaluations for t in rows])),
                seconds=float(np.mean([t.times[-1] if len(t.times) else 0.0 for t in rows])))
        return out

    def best_runs(self, seed: int | None = None) -> dict[str, Trajectory]:
        """The run of each optimizer at its own best rate (the first seed unless given), by
        a label that says the rate: what :meth:`plot_race` draws."""
        j = 0 if seed is None else self._seed_index(seed)
        return {f"{label} (lr={best.lr:.3g})": self.runs[label][best.index][j]
                for label, best in self.best.items() if best.index is not None}

    def _seed_index(self, seed: int) -> int:
        if seed not in self.seeds:
            raise ValueError(f"seed {seed!r} is not one of this sweep's seeds {self.seeds}")
        return self.seeds.index(seed)

    # ------------------------------------------------------------------------- table

    def markdown(self) -> str:
        """The table: for each optimizer its best rate, its score, what a run there cost
        (evaluations of f and of the gradient, seconds) and how many rates diverged."""
        s = self.settings
        n_runs = sum(len(rows) * len(rows[0]) for rows in self.runs.values())
        seeds = f"{len(self.seeds)} seed" + ("s (medians)" if len(self.seeds) > 1 else "")
        what = CRITERIA[self.criterion] + (f" <= {s['target']:g}" if self.criterion == "steps"
                                           else "")
        extra = "" if self.criterion == "final" else "final f | "
        lines = [f"Best lr by **{what}**: {len(self.lrs)} learning rates from "
                 f"{self.lrs[0]:.3g} to {self.lrs[-1]:.3g}, {seeds}, {s['steps']} steps; "
                 f"{n_runs} runs in {self.wall:.2f} s.", "",
                 f"| optimizer | best lr | {CRITERIA[self.criterion]} | {extra}evaluations "
                 f"of f | of the gradient | seconds | lrs diverged | all its runs (s) |",
                 "|---|" + "---:|" * (7 + bool(extra))]
        for label, best in self.best.items():
            diverged = sum(any(t.diverged for t in row) for row in self.runs[label])
            score = "-" if best.lr is None else (f"{best.score:.0f}" if self.criterion ==
                                                 "steps" else f"{best.score:.4g}")
            lr = "none" if best.lr is None else f"{best.lr:.3g}"
            final = "" if not extra else ("- | " if best.lr is None else f"{best.final:.4g} | ")
            cost = "- | - | -" if best.lr is None else (
                f"{best.evaluations:.0f} | {best.gradient_evaluations:.0f} | {best.seconds:.3g}")
            lines.append(f"| {label} | {lr} | {score} | {final}{cost} | "
                         f"{diverged} of {len(self.lrs)} | {self.seconds[label]:.2f} |")
        return "\n".join(lines)

    __str__ = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown()

    # ------------------------------------------------------------------------- pictures

    def plot_sensitivity(self, metric: str = "final", *, ax: Any = None,
                         figsize: tuple[float, float] = (6.4, 4.0), dpi: float = 80) -> Any:
        """The sensitivity curves: ``metric`` (final f by default) against the learning rate,
        one line per optimizer, log axes.  A wide, low valley is an optimizer that forgives
        a badly chosen rate.  Diverged runs are crosses on the top edge; each optimizer's best
        rate is a large marker; with several seeds the line is the median and the band the
        range over seeds.  Returns the figure."""
        from .plot.static import COLORS, STYLES, PlotFigure

        metric = _check_criterion(metric)
        scores = self.scores(metric)
        if ax is None:
            fig = PlotFigure(figsize=figsize, dpi=dpi)
            ax = fig.add_subplot()
        fig = ax.figure
        finite = np.concatenate([v[np.isfinite(v)] for v in scores.values()])
        log_y = finite.size > 0 and bool(np.all(finite > 0)) and metric != "steps"
        floor = finite[finite > 0].min() if log_y else None
        top = ax.get_xaxis_transform()                  # x in data, y in axes fractions
        for i, (label, score) in enumerate(scores.items()):
            color, (style, marker) = COLORS[i % len(COLORS)], STYLES[i % len(STYLES)]
            median = np.median(score, axis=1)
            ok = np.isfinite(median)
            ax.plot(self.lrs[ok], median[ok], linestyle=style, marker=marker, markersize=4,
                    color=color, label=label, zorder=3 + i)
            if score.shape[1] > 1:
                low, high = score.min(axis=1), score.max(axis=1)
                band = np.isfinite(low) & np.isfinite(high)
                ax.fill_between(self.lrs[band], low[band], high[band], color=color,
                                alpha=0.15, linewidth=0)
            bad = ~ok
            if bad.any():
                ax.plot(self.lrs[bad], np.full(bad.sum(), 0.97 - 0.025 * i), "x", color=color,
                        markersize=7, mew=2, transform=top, clip_on=False, zorder=10)
            best = self.best[label] if metric == self.criterion else None
            j = best.index if best is not None else (int(np.argmin(median)) if ok.any()
                                                     else None)
            if j is not None:
                ax.plot([self.lrs[j]], [median[j]], marker=marker, markersize=11, color=color,
                        markeredgecolor="black", linestyle="none", zorder=20)
        ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
            ax.set_ylim(bottom=floor / 3)
        ax.set_xlabel("learning rate")
        ax.set_ylabel(CRITERIA[metric] + (" (median over seeds)" if len(self.seeds) > 1
                                          else ""))
        ax.set_title(f"{CRITERIA[metric]} after {self.settings['steps']} steps against the "
                     f"learning rate\n(x on the top edge: diverged; large marker: best lr)",
                     fontsize=9)
        ax.legend(fontsize=8, loc="lower left" if metric != "steps" else "upper left")
        ax.grid(True, which="major", alpha=0.3)
        fig.tight_layout()
        return fig

    def plot_race(self, f: Any = None, *, panels: Sequence[str] = ("loss",),
                  seed: int | None = None, **kwargs: Any) -> Any:
        """The race at each optimizer's own best rate, drawn by
        :func:`optilab.plot.plot_trajectories` (extra keyword arguments go to it).  ``f`` is
        the sweep's function (needed after :func:`load` unless it is one of
        ``optilab.functions``)."""
        from .plot import plot_trajectories

        f = f if f is not None else (self.f if self.f is not None else self.settings["function"])
        runs = self.best_runs(seed)
        if not runs:
            raise ValueError("no optimizer has a best rate (every run diverged or missed the "
                             "target): widen the grid of learning rates or raise steps")
        return plot_trajectories(f, runs, panels=tuple(panels), **kwargs)

    def plot_cost(self, *, seed: int | None = None, figsize: tuple[float, float] = (8.0, 3.4),
                  dpi: float = 80) -> Any:
        """f at the best rates against the evaluations of f (left) and the seconds (right),
        log axes: a step of L-BFGS costs several evaluations, so steps alone flatter it."""
        from .plot.static import COLORS, STYLES, PlotFigure

        fig = PlotFigure(figsize=figsize, dpi=dpi)
        left, right = fig.subplots(1, 2)
        for i, (label, t) in enumerate(self.best_runs(seed).items()):
            color, (style, _) = COLORS[i % len(COLORS)], STYLES[i % len(STYLES)]
            values = np.maximum(t.values, np.finfo(float).tiny) if np.all(t.values >= 0) \
                else t.values
            left.plot(t.evaluations_at, values, linestyle=style, color=color, label=label)
            right.plot(np.maximum(t.times, 1e-6), values, linestyle=style, color=color,
                       label=label)
        for ax, xlabel in ((left, "evaluations of f"), (right, "seconds")):
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            if all(np.all(t.values > 0) for t in self.best_runs(seed).values()):
                ax.set_yscale("log")
            ax.grid(True, alpha=0.3)
        left.set_ylabel("f")
        left.legend(fontsize=7)
        fig.tight_layout()
        return fig

    # ------------------------------------------------------------------------- files

    def save(self, path: str | Path) -> Path:
        """Write the sweep to one ``.npz`` file: the arrays of every run, and the settings,
        versions and scalar fields as a JSON string (no pickle).  Returns the path."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz")
        arrays: dict[str, np.ndarray] = {}
        runs_meta = []
        for label, rows in self.runs.items():
            for i, row in enumerate(rows):
                for j, t in enumerate(row):
                    key = f"r{len(runs_meta)}"
                    meta: dict[str, Any] = {"label": label, "lr_index": i, "seed_index": j}
                    for f in dataclasses.fields(Trajectory):
                        value = getattr(t, f.name)
                        if isinstance(value, np.ndarray):
                            arrays[f"{key}_{f.name}"] = value
                        else:
                            meta[f.name] = value
                    runs_meta.append(meta)
        header = {"format": FORMAT, "settings": self.settings, "versions": self.versions,
                  "seconds": self.seconds, "modes": self.modes, "wall": self.wall,
                  "labels": list(self.runs), "runs": runs_meta}
        arrays["meta"] = np.array(json.dumps(header, default=_json_default))
        np.savez_compressed(path, **arrays)
        return path


def load(path: str | Path) -> Sweep:
    """Read a sweep written by :meth:`Sweep.save` (no pickle is involved). Its ``f`` is None:
    pass ``f`` to :meth:`Sweep.plot_race` unless it is one of ``optilab.functions``."""
    with np.load(Path(path), allow_pickle=False) as data:
        if "meta" not in data.files:
            raise ValueError(f"{path} is not a saved sweep (no 'meta' entry): save one with "
                             f"Sweep.save(path)")
        header = json.loads(str(data["meta"]))
        if header.get("format") != FORMAT:
            raise ValueError(f"{path} has format {header.get('format')!r}, this optilab "
                             f"reads {FORMAT!r}")
        array_fields = [f.name for f in dataclasses.fields(Trajectory)
                        if f"r0_{f.name}" in data.files]
        runs: dict[str, list[list[Trajectory]]] = {
            label: [[None] * len(header["settings"]["seeds"])
                    for _ in header["settings"]["lrs"]] for label in header["labels"]}
        for n, meta in enumerate(header["runs"]):
            fields = {k: v for k, v in meta.items()
                      if k not in ("label", "lr_index", "seed_index")}
            fields.update({name: data[f"r{n}_{name}"] for name in array_fields})
            runs[meta["label"]][meta["lr_index"]][meta["seed_index"]] = Trajectory(**fields)
    return Sweep(header["settings"], header["versions"], runs, header["seconds"],
                 header["modes"], header["wall"])


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return repr(value)                       # a class or a function: its name, for the record


# ----------------------------------------------------------------------------- scores

def _check_criterion(criterion: Any) -> str:
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}: use one of "
                         f"{', '.join(CRITERIA)}.{did_you_mean(criterion, CRITERIA)}")
    return str(criterion)


def _score(t: Trajectory, criterion: str, target: float | None) -> float:
    """Lower is better; inf for a run that diverged or never reached the target."""
    if t.diverged:
        return math.inf
    if criterion == "final":
        return float(t.values[-1])
    if criterion == "steps":
        reached = np.flatnonzero(t.values <= target)
        return float(reached[0]) if reached.size else math.inf
    steps = int(t.settings.get("steps", t.steps))
    padded = np.concatenate([t.values, np.full(steps - t.steps, t.values[-1])])
    return float(np.mean(padded))                      # area under f_k, k = 0..steps, / steps


# ----------------------------------------------------------------------------- the sweep

def sweep(f: Callable[..., Any], x0: Any, optimizers: Any, lrs: Any = None, *,
          seeds: Sequence[int] | None = None, steps: int = 500, criterion: str = "final",
          target: float | None = None, gtol: float | None = None, ftol: float | None = None,
          bound: float = 1e6, batch: bool = True, n_jobs: int | None = None,
          client: Any = None) -> Sweep:
    """Run every optimizer from ``x0`` at every learning rate of ``lrs`` (and every seed of
    ``seeds``) for ``steps`` steps, and name each one's best rate by ``criterion``.

    ``optimizers``: names (``["sgd", "adam"]``) or a dict label -> name or settings
    (``{"SGD+momentum": dict(optimizer="sgd", momentum=0.9), "Adam": {}}``; the settings go
    to :func:`optilab.optim.run`, as in ``race``).  ``lrs``: the grid, sorted (default
    :func:`log_grid`: 25 rates from 1e-5 to 10).  ``seeds``: for a stochastic f, each run
    starts from ``torch.manual_seed(seed)`` (and numpy's and Python's seeds); default
    ``[0]``.  ``criterion``: ``"final"``, ``"steps"`` (until f <= ``target``; default
    target: the function's minimum + 1e-6 for a test function of ``optilab.functions``) or
    ``"auc"``.  ``gtol``, ``ftol``, ``bound``: as in ``run``.  ``batch=False`` runs one by
    one.  ``n_jobs``: processes for joblib (None: one, or what a joblib ``parallel_config``
    says); ``client``: a dask.distributed Client to run on.
    """
    x0_array = _check_x0(x0)
    configs = _configs(optimizers)
    grid = _check_lrs(log_grid() if lrs is None else lrs)
    seed_list = _check_seeds(seeds)
    _check_number("steps", steps, integer=True, hint="try steps=500")
    criterion = _check_criterion(criterion)
    if criterion == "steps" and target is None:
        if getattr(f, "f_min", None) is None:
            raise ValueError("criterion='steps' counts the steps until f(x_k) <= target: give "
                             "target=... (e.g. target=1e-6 when the minimum of f is 0)")
        target = float(f.f_min) + 1e-6
    n_coords = _coordinates(f, x0_array)
    start = time.perf_counter()
    probe = _Probe(f, x0_array, n_coords)
    if probe.stochastic is False and len(seed_list) > 1:
        warnings.warn(f"f gave the same value at x0 twice: it looks deterministic, so its "
                      f"{len(seed_list)} seeds will repeat the same runs. Seeds matter for a "
                      f"stochastic f (one that samples data or noise).", stacklevel=2)
    plans = {label: _plan(name, kwargs, probe, batch) for label, (name, kwargs) in
             configs.items()}
    common = dict(f=f, x0=x0_array, n_coords=n_coords, steps=steps, gtol=gtol, ftol=ftol,
                  bound=bound)
    for label, (name, kwargs) in configs.items():
        if plans[label] == "batched" and not _agrees(common, name, kwargs, label, grid):
            plans[label] = ("one by one (a 5-step batch differed from run(): this torch's "
                            "arithmetic is not the one the batch copies)")
    units = []
    for label, (name, kwargs) in configs.items():
        if plans[label] == "batched":
            units.append((label, None, dict(common, name=name, kwargs=kwargs, label=label,
                                            lrs=grid, seeds=seed_list)))
        else:
            units += [(label, (i, j), dict(common, name=name, kwargs=kwargs, label=label,
                                           lr=float(lr), seed=seed))
                      for i, lr in enumerate(grid) for j, seed in enumerate(seed_list)]
    results = _map(units, n_jobs, client)
    runs = {label: [[None] * len(seed_list) for _ in grid] for label in configs}
    seconds = dict.fromkeys(configs, 0.0)
    for (label, where, _), (trajectories, elapsed) in zip(units, results):
        seconds[label] += elapsed
        if where is None:
            for i in range(len(grid)):
                runs[label][i] = trajectories[i * len(seed_list):(i + 1) * len(seed_list)]
        else:
            runs[label][where[0]][where[1]] = trajectories[0]
    settings = {"function": _name(f), "x0": x0_array.tolist(),
                "optimizers": {label: {"optimizer": name, **kwargs}
                               for label, (name, kwargs) in configs.items()},
                "lrs": grid.tolist(), "seeds": seed_list, "steps": steps,
                "criterion": criterion, "target": target, "gtol": gtol, "ftol": ftol,
                "bound": bound, "batch": batch, "n_jobs": n_jobs,
                "client": None if client is None else repr(client)}
    return Sweep(settings, versions(), runs, seconds, plans, time.perf_counter() - start, f)


def versions() -> dict[str, str]:
    """The versions a sweep ran with: optilab, torch, numpy, Python and the machine."""
    return {"optilab": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine()}


def _name(f: Any) -> str:
    return str(getattr(f, "name", None) or getattr(f, "__name__", None) or repr(f))


# ----------------------------------------------------------------------------- checks

def _configs(optimizers: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """label -> (optimizer name, settings for run()) from names or a dict of settings."""
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    if isinstance(optimizers, Mapping):
        items = list(optimizers.items())
    elif isinstance(optimizers, Sequence):
        items = [(name, {}) for name in optimizers]
    else:
        raise TypeError(f"optimizers must be names (['sgd', 'adam']) or a dict label -> "
                        f"settings, got {type(optimizers).__name__}")
    if not items:
        raise ValueError("optimizers is empty: give at least one, e.g. ['sgd', 'adam'] or "
                         "{'SGD+momentum': dict(optimizer='sgd', momentum=0.9)}")
    configs = {}
    for label, settings in items:
        if isinstance(settings, str):
            settings = {"optimizer": settings}
        if not isinstance(settings, Mapping):
            raise TypeError(f"the settings of {label!r} must be a dict (e.g. dict(momentum="
                            f"0.9)) or an optimizer name, got {settings!r}")
        settings = dict(settings)
        name = settings.pop("optimizer", label)
        if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r} (for {label!r}): use one of "
                             f"{', '.join(OPTIMIZERS)}.{did_you_mean(name, OPTIMIZERS)}")
        if "lr" in settings:
            raise ValueError(f"{label!r} sets lr={settings['lr']!r}, but the sweep sets the "
                             f"learning rate from lrs: remove lr from its settings")
        configs[str(label)] = (name.lower(), settings)
    return configs


def _check_lrs(lrs: Any) -> np.ndarray:
    try:
        grid = np.array(lrs, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise TypeError(f"lrs must be a list of learning rates, e.g. log_grid(1e-4, 1, 9), "
                        f"got {lrs!r}") from e
    if grid.size == 0:
        raise ValueError("lrs is empty: give learning rates, e.g. log_grid(1e-4, 1, 9)")
    bad = grid[~(np.isfinite(grid) & (grid > 0))]
    if bad.size:
        raise ValueError(f"every learning rate must be a positive number, got "
                         f"{bad.tolist()} in lrs; a log grid such as log_grid(1e-4, 1, 9) "
                         f"covers the useful range")
    if np.unique(grid).size != grid.size:
        raise ValueError(f"lrs repeats a value: {grid.tolist()}; each rate once")
    return np.sort(grid)


def _check_seeds(seeds: Any) -> list[int]:
    seeds = [0] if seeds is None else list(seeds)
    if not seeds or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                            for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of integers, e.g. range(5), "
                         f"got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeats a value: {seeds}; each seed once")
    return [int(s) for s in seeds]


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


# ----------------------------------------------------------------------------- batching

class _Probe:
    """Can f be batched? Is it stochastic?  f on a stack of points must give the same bits
    as on each point alone (as run() evaluates it), at x0 and at points around it."""

    def __init__(self, f: Callable[..., Any], x0: np.ndarray, n_coords: int) -> None:
        self.f, self.x0, self.n_coords = f, x0, n_coords
        state = _TorchLoop(f, x0, n_coords, "sgd", 0.1, {}, "cpu")
        _seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value, grad = state.evaluate()
            self.stochastic = state.value_at(x0) != state.value_at(x0)
        _check_first_gradient(state, x0, np.array(grad), "torch")
        self.problem = "f is stochastic: its runs depend on the seed" if self.stochastic \
            else self._compare()

    def _compare(self) -> str:
        """'' if batching f is exact, else why not."""
        rng = np.random.default_rng(0)
        scale = np.maximum(1.0, np.abs(self.x0.reshape(-1)))
        points = [self.x0.reshape(-1)] + [self.x0.reshape(-1) + h * scale * rng.standard_normal(
            self.x0.size) for h in (1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0, 10.0)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                X = torch.tensor(np.array(points), dtype=torch.float64, requires_grad=True)
                values, grads = _evaluate(self.f, X, self.n_coords, self.x0.shape)
                single = [_TorchLoop(self.f, p.reshape(self.x0.shape), self.n_coords, "sgd",
                                     0.1, {}, "cpu").evaluate() for p in points]
        except Exception as e:                    # noqa: BLE001 - any failure: one by one
            return f"f does not run on a batch of points ({type(e).__name__}: {e})"
        same = np.array_equal(values, [v for v, _ in single], equal_nan=True) and \
            np.array_equal(grads, np.array([g for _, g in single]), equal_nan=True)
        return "" if same else ("f gives other bits on a batch of points than on one (an "
                                "operation such as x ** 1.5 rounds differently on a vector)")


def _evaluate(f: Callable[..., Any], X: torch.Tensor, n_coords: int,
              shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """f and its gradient at every row of X (a leaf): one forward and one backward pass.
    The rows are independent, so d(sum_i f(X_i))/dX_i = grad f(X_i)."""
    X.grad = None
    if n_coords > 1:
        out = f(*X.unbind(1))                 # f(x, y): each coordinate a column
    elif shape == ():
        out = f(X[:, 0])                      # f(x) of one number: elementwise on a column
    else:
        out = torch.func.vmap(f)(X.reshape(X.shape[0], *shape))
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (X.shape[0],):
        raise ValueError(f"f on {X.shape[0]} points gave {getattr(out, 'shape', out)}, not "
                         f"one value per point")
    out.sum().backward()
    grad = X.grad if X.grad is not None else torch.zeros_like(X)
    return out.detach().numpy().copy(), grad.numpy().copy()


# settings each batched optimizer reproduces; any other one runs through run()
_BATCHED = {
    "sgd": {"momentum", "dampening", "nesterov", "weight_decay", "maximize"},
    "adam": {"betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"},
    "adamw": {"betas", "eps", "weight_decay", "amsgrad", "maximize"},
    "rmsprop": {"alpha", "eps", "weight_decay", "momentum", "centered", "maximize"},
    "adagrad": {"lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"},
    "adadelta": {"rho", "eps", "weight_decay", "maximize"},
}


def _plan(name: str, kwargs: dict[str, Any], probe: _Probe, batch: bool) -> str:
    """'batched' or 'one by one (why)'; also checks the settings by building the optimizer."""
    _construct(OPTIMIZERS[name], [torch.zeros(1, requires_grad=True)], {}, {
        k: v for k, v in kwargs.items() if k not in ("scheduler", "scheduler_kwargs")})
    if not batch:
        return "one by one (batch=False)"
    if name not in _BATCHED:
        return "one by one (L-BFGS: a line search over all coordinates at once)"
    extra = sorted(set(kwargs) - _BATCHED[name])
    if extra:
        return f"one by one (the batch does not reproduce {', '.join(extra)})"
    if probe.problem:
        return f"one by one ({probe.problem})"
    return "batched"


class _Rows:
    """Optimizer state of a batch of runs, one row per run, updated with torch's own
    single-tensor arithmetic (torch/optim/*.py, ``_single_tensor_*``) and ``lr`` a column.
    Where torch writes ``p.add_(u, alpha=-lr)`` (one fused multiply-add per entry) this
    writes ``p.addcmul_(u, -lr)``, the same rounding; ``p.addcdiv_(a, b, value=-lr)`` is
    ``p + (-lr * a) / b`` in that order."""

    def __init__(self, name: str, kwargs: dict[str, Any], X: torch.Tensor,
                 lr: torch.Tensor) -> None:
        defaults = OPTIMIZERS[name]([torch.zeros(1, requires_grad=True)], lr=1.0,
                                    **kwargs).defaults
        self.name, self.o, self.lr, self.k = name, defaults, lr, 0
        self.decoupled = name == "adamw" or bool(defaults.get("decoupled_weight_decay"))
        names = {"sgd": ("buf",), "adam": ("m", "v", "vmax"), "adamw": ("m", "v", "vmax"),
                 "rmsprop": ("sq", "gavg", "buf"), "adagrad": ("sum",), "adadelta": ("sq", "acc")}
        self.state: dict[str, torch.Tensor | None] = {
            key: torch.zeros_like(X) for key in names[name]}
        if name == "sgd":
            self.state["buf"] = None                        # the first step copies the gradient
        if name == "adagrad":
            self.state["sum"].fill_(defaults["initial_accumulator_value"])

    def keep(self, rows: torch.Tensor) -> None:
        """Forget the runs that stopped: keep these rows."""
        self.lr = self.lr[rows]
        self.state = {k: None if v is None else v[rows] for k, v in self.state.items()}

    def step(self, X: torch.Tensor, grad: torch.Tensor) -> None:
        self.k += 1
        o, s, neg_lr = self.o, self.state, -self.lr
        g = -grad if o["maximize"] else grad
        if o["weight_decay"] != 0 and not self.decoupled:
            g = g.add(X, alpha=o["weight_decay"])
        getattr(self, "_" + self.name.replace("adamw", "adam"))(X, g, s, o, neg_lr)

    def _sgd(self, X, g, s, o, neg_lr) -> None:
        m = o["momentum"]
        if m != 0:
            if s["buf"] is None:
                s["buf"] = g.detach().clone()
            else:
                s["buf"].mul_(m).add_(g, alpha=1 - o["dampening"])
            g = g.add(s["buf"], alpha=m) if o["nesterov"] else s["buf"]
        X.addcmul_(g, neg_lr)

    def _adam(self, X, g, s, o, neg_lr) -> None:
        beta1, beta2 = o["betas"]
        step = float(self.k)
        if o["weight_decay"] != 0 and self.decoupled:
            X.mul_(1 - self.lr * o["weight_decay"])
        s["m"].lerp_(g, 1 - beta1)
        s["v"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
        step_size = self.lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        v = s["v"]
        if o["amsgrad"]:
            torch.maximum(s["vmax"], s["v"], out=s["vmax"])
            v = s["vmax"]
        denom = (v.sqrt() / bias_correction2_sqrt).add_(o["eps"])
        X.add_((-step_size * s["m"]) / denom)

    def _rmsprop(self, X, g, s, o, neg_lr) -> None:
        alpha = o["alpha"]
        s["sq"].mul_(alpha).addcmul_(g, g, value=1 - alpha)
        if o["centered"]:
            s["gavg"].lerp_(g, 1 - alpha)
            avg = s["sq"].addcmul(s["gavg"], s["gavg"], value=-1).sqrt_()
        else:
            avg = s["sq"].sqrt()
        avg = avg.add_(o["eps"])
        if o["momentum"] > 0:
            s["buf"].mul_(o["momentum"]).addcdiv_(g, avg)
            X.addcmul_(s["buf"], neg_lr)
        else:
            X.add_((neg_lr * g) / avg)

    def _adagrad(self, X, g, s, o, neg_lr) -> None:
        clr = self.lr / (1 + (float(self.k) - 1) * o["lr_decay"])
        s["sum"].addcmul_(g, g, value=1)
        std = s["sum"].sqrt().add_(o["eps"])
        X.add_((-clr * g) / std)

    def _adadelta(self, X, g, s, o, neg_lr) -> None:
        rho, eps = o["rho"], o["eps"]
        s["sq"].mul_(rho).addcmul_(g, g, value=1 - rho)
        std = s["sq"].add(eps).sqrt_()
        delta = s["acc"].add(eps).sqrt_()
        delta.div_(std).mul_(g)
        s["acc"].mul_(rho).addcmul_(delta, delta, value=1 - rho)
        X.addcmul_(delta, neg_lr)


def _run_batch(f: Callable[..., Any], x0: np.ndarray, n_coords: int, steps: int,
               gtol: float | None, ftol: float | None, bound: float, name: str,
               kwargs: dict[str, Any], label: str, lrs: np.ndarray,
               seeds: list[int]) -> tuple[list[Trajectory], float]:
    """Every (lr, seed) run of one optimizer as rows of one tensor, recorded as run() records
    them (optilab.optim._record): the same points, values, gradients, statuses and reasons."""
    start = last = time.perf_counter()
    lr_of_row = np.repeat(lrs, len(seeds))
    n, d = lr_of_row.size, x0.size
    X = torch.tensor(np.tile(x0.reshape(1, -1), (n, 1)), dtype=torch.float64,
                     requires_grad=True)
    rows = np.arange(n)                                 # the runs still going, by row of X
    opt = _Rows(name, kwargs, X, torch.tensor(lr_of_row).reshape(n, 1))
    points, values = np.zeros((steps + 1, n, d)), np.zeros((steps + 1, n))
    grads, times = np.zeros((steps + 1, n, d)), np.zeros((steps + 1, n))
    clock = np.zeros(n)
    ends = np.full(n, steps)
    status, reason = ["max_steps"] * n, [""] * n
    for k in range(steps + 1):
        value, grad = _evaluate(f, X, n_coords, x0.shape)
        G = X.grad if X.grad is not None else torch.zeros_like(X)
        now = time.perf_counter()
        clock[rows] += (now - last) / rows.size          # the batch's time, shared
        last = now
        points[k, rows] = X.detach().numpy()
        values[k, rows], grads[k, rows], times[k, rows] = value, grad, clock[rows]
        done = _stops(k, value, grad, points[k, rows], values[k - 1, rows] if k else None,
                      gtol, ftol, bound)
        for i, (what, why) in done.items():
            status[rows[i]], reason[rows[i]], ends[rows[i]] = what, why, k
        if k == steps:
            break
        if done:
            alive = torch.tensor([i for i in range(rows.size) if i not in done])
            rows = rows[alive.numpy()] if alive.numel() else rows[:0]
            if not rows.size:
                break
            X, G = X.detach()[alive].requires_grad_(True), G[alive]
            opt.keep(alive)
        with torch.no_grad():
            opt.step(X, G)
        last = time.perf_counter()
    runs = [_trajectory(f, x0, n_coords, name, kwargs, label, float(lr_of_row[r]), steps,
                        points[:ends[r] + 1, r], values[:ends[r] + 1, r],
                        grads[:ends[r] + 1, r], times[:ends[r] + 1, r], status[r], reason[r])
            for r in range(n)]
    return runs, time.perf_counter() - start


def _agrees(common: dict[str, Any], name: str, kwargs: dict[str, Any], label: str,
            grid: np.ndarray) -> bool:
    """Does the batch give run()'s numbers here?  Five steps at the ends and middle of the
    grid, compared bit for bit (a guard against a torch whose optimizers compute otherwise)."""
    lrs = np.unique(grid[[0, grid.size // 2, -1]])
    check = dict(common, steps=min(common["steps"], 5))
    batch, _ = _run_batch(**check, name=name, kwargs=kwargs, label=label, lrs=lrs, seeds=[0])
    for lr, t in zip(lrs, batch):
        (r,), _ = _run_one(**check, name=name, kwargs=kwargs, label=label, lr=float(lr), seed=0)
        if not all(np.array_equal(getattr(t, a), getattr(r, a), equal_nan=True)
                   for a in ("points", "values", "grads")) or t.status != r.status:
            return False
    return True


def _stops(k: int, value: np.ndarray, grad: np.ndarray, point: np.ndarray,
           previous: np.ndarray | None, gtol: float | None, ftol: float | None,
           bound: float) -> dict[int, tuple[str, str]]:
    """The rows that stop at step k, with status and reason: run()'s test, row by row."""
    done: dict[int, tuple[str, str]] = {}
    for i in range(value.size):
        before = math.nan if previous is None else float(previous[i])
        status, reason = _status(k, point[i].tolist(), float(value[i]), before,
                                 grad[i].tolist(), gtol, ftol, bound)
        if status != "max_steps":
            done[i] = (status, reason)
    return done


def _trajectory(f: Callable[..., Any], x0: np.ndarray, n_coords: int, name: str,
                kwargs: dict[str, Any], label: str, lr: float, steps: int, points: np.ndarray,
                values: np.ndarray, grads: np.ndarray, times: np.ndarray, status: str,
                reason: str) -> Trajectory:
    """One batched run as the Trajectory run() would have returned."""
    k = len(values) - 1
    t = Trajectory(points.copy(), values.copy(), grads.copy(), np.full(k, lr), times.copy(),
                   status=status, reason=reason,
                   diverged_at=k if status == "diverged" else None, evaluations=k + 1,
                   gradient_evaluations=k + 1, evaluations_at=np.arange(1, k + 2))
    t.settings = {"optimizer": name, "lr": lr, "steps": steps, "engine": "torch",
                  "device": "cpu", "scheduler": None, "label": label, **kwargs}
    if t.diverged:
        state = _TorchLoop(f, x0, n_coords, name, lr, dict(kwargs), "cpu")
        if state.is_gradient_descent():
            _add_stability_limit(t, state, x0)     # as run() explains a diverged descent
    return t


def _run_one(f: Callable[..., Any], x0: np.ndarray, n_coords: int, steps: int,
             gtol: float | None, ftol: float | None, bound: float, name: str,
             kwargs: dict[str, Any], label: str, lr: float,
             seed: int) -> tuple[list[Trajectory], float]:
    """One run through run() itself, from torch.manual_seed(seed)."""
    start = time.perf_counter()
    _seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # the first-gradient check ran once already
        t = run(f, x0.tolist() if x0.ndim else float(x0), name, lr=lr, steps=steps,
                label=label, gtol=gtol, ftol=ftol, bound=bound, progress=False, **kwargs)
    return [t], time.perf_counter() - start


def _work(kind: str, arguments: dict[str, Any]) -> tuple[list[Trajectory], float]:
    arguments = dict(arguments)
    if kind == "batch":
        return _run_batch(**arguments)
    return _run_one(**arguments)


def _map(units: list[tuple[str, Any, dict[str, Any]]], n_jobs: int | None,
         client: Any) -> list[tuple[list[Trajectory], float]]:
    """Run the units, serially or through joblib (processes, or Dask with a client)."""
    tasks = [("batch" if where is None else "one", args) for _, where, args in units]
    try:
        from joblib import Parallel, delayed, parallel_config
    except ImportError as e:
        if client is None and n_jobs in (None, 1):
            return [_work(*task) for task in tasks]
        raise ImportError("n_jobs and client need joblib: pip install joblib "
                          "(and 'optilab[dask]' for a Dask cluster)") from e
    if client is not None:                   # joblib's Dask backend, on this client's cluster
        with parallel_config(backend="dask", client=client):
            return Parallel(n_jobs=-1 if n_jobs is None else n_jobs)(
                delayed(_work)(*task) for task in tasks)
    return Parallel(n_jobs=n_jobs)(delayed(_work)(*task) for task in tasks)
