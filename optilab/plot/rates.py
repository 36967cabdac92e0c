r"""Convergence on a quadratic: measured errors against the theory, and the momentum region.

* :func:`plot_rates` -- the error :math:`|x_k - x^*|` of each run (Trajectories from
  :func:`optilab.optim.run` on a :class:`~optilab.quadratic.Quadratic`) on a log axis, with
  the line :math:`|x_0 - x^*|\,\rho^k` of its theoretical rate (:func:`optilab.quadratic.rate`).
* :func:`plot_momentum_region` -- the (lr, momentum) plane coloured by the rate
  :math:`\rho` (the spectral radius of the iteration matrix, maximised over the spectrum):
  where :math:`\rho < 1` the method converges; runs and settings are marked on it.

    >>> from optilab.optim import run
    >>> from optilab.quadratic import Quadratic, optimal
    >>> q = Quadratic([1.0, 100.0], angle=30)
    >>> best = optimal(q.mu, q.L, "heavy_ball")
    >>> t = run(q, [1.0, 1.0], "sgd", steps=50, **best.kwargs)
    >>> round(theoretical_rate(t, q), 4)
    0.8182
    >>> fig = plot_rates({"heavy ball": t}, q)
    >>> fig = plot_momentum_region(q, {"heavy ball": t})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap

from ..quadratic import Quadratic, Tuning, rate
from ..trajectory import Trajectory
from .static import COLORS, STYLES, PlotFigure

__all__ = ["plot_rates", "plot_momentum_region", "theoretical_rate"]

# settings of torch.optim.SGD that the rate reads; any other optimizer has no linear rate here
_RATE_SETTINGS = ("momentum", "nesterov", "dampening", "weight_decay")


# ----------------------------------------------------------------------------- reading runs

def _runs(runs: Any) -> dict[str, Trajectory]:
    """Label -> Trajectory from one Trajectory, a list of them or a dict."""
    if isinstance(runs, Trajectory):
        return {runs.label: runs}
    if isinstance(runs, Mapping):
        items = list(runs.items())
    elif isinstance(runs, (list, tuple)):
        items = [(getattr(r, "label", str(i)), r) for i, r in enumerate(runs)]
    else:
        raise TypeError(f"runs must be a Trajectory (from optilab.optim.run), a list or a dict "
                        f"of them, got {type(runs).__name__}")
    if not items:
        raise ValueError("runs is empty: give at least one Trajectory")
    for label, t in items:
        if not isinstance(t, Trajectory):
            raise TypeError(f"run {label!r} is a {type(t).__name__}, not a Trajectory: make it "
                            f"with optilab.optim.run(q, x0, 'sgd', lr=...)")
    return {str(label): t for label, t in items}


def _quadratic(problem: Any) -> Quadratic:
    if isinstance(problem, Quadratic):
        return problem
    raise TypeError(f"problem must be an optilab.quadratic.Quadratic (the function the runs "
                    f"minimised), got {type(problem).__name__}; for a matrix A use "
                    f"Quadratic.from_matrix(A)")


def theoretical_rate(trajectory: Trajectory, problem: Quadratic) -> float:
    """The rate :func:`~optilab.quadratic.rate` gives for this run's torch.optim.SGD settings.

    Refuses runs that have no such rate: another optimizer, a learning-rate scheduler,
    ``maximize=True``, or a run whose gradients are not those of ``problem`` (it was made on
    another function).
    """
    q, s = _quadratic(problem), trajectory.settings
    label = trajectory.label
    name = str(s.get("optimizer", "")).lower()
    if name not in ("sgd", "gd"):
        raise ValueError(f"run {label!r} used {s.get('optimizer')!r}: a linear rate on a "
                         f"quadratic is known here for gradient descent, heavy-ball momentum "
                         f"and Nesterov (optimizer 'sgd' with momentum= and nesterov=), not "
                         f"for adaptive methods whose step changes with the gradients")
    if s.get("scheduler") is not None:
        raise ValueError(f"run {label!r} used the scheduler {s['scheduler']!r}: its learning "
                         f"rate changes every step, so no single rate describes it; run "
                         f"without a scheduler")
    if s.get("maximize"):
        raise ValueError(f"run {label!r} maximised f (maximize=True): it climbs away from the "
                         f"minimum")
    lr = s.get("lr")
    if not isinstance(lr, (int, float)) or lr <= 0:
        raise ValueError(f"run {label!r} has no positive learning rate in its settings "
                         f"(lr={lr!r})")
    _check_on_problem(trajectory, q)
    options = {k: s[k] for k in _RATE_SETTINGS if s.get(k) is not None}
    return float(rate(q.eigenvalues, lr, **options))


def _check_on_problem(t: Trajectory, q: Quadratic) -> None:
    """The recorded gradients must be A (x_k - c): the run minimised this quadratic."""
    points, grads = np.asarray(t.points, dtype=float), np.asarray(t.grads, dtype=float)
    if points.ndim != 2 or points.shape[1] != q.n:
        raise ValueError(f"run {t.label!r} moves in {points.shape[-1]} coordinates, the "
                         f"quadratic has {q.n}: was it made on another function?")
    finite = np.all(np.isfinite(points), axis=1) & np.all(np.isfinite(grads), axis=1)
    want = q.gradient(points[finite])
    got = grads[finite]
    scale = np.linalg.norm(want, axis=1, keepdims=True) + 1e-300
    bad = np.linalg.norm(got - want, axis=1, keepdims=True) > 1e-6 * scale + 1e-12
    if np.any(bad):
        k = int(np.flatnonzero(finite)[np.argmax(bad[:, 0])])
        raise ValueError(f"run {t.label!r} is not a run on this quadratic: at step {k} its "
                         f"gradient is {np.round(grads[k], 6).tolist()}, but A (x - x*) = "
                         f"{np.round(q.gradient(points[k]), 6).tolist()}. Give the Quadratic "
                         f"the run minimised (run(q, x0, 'sgd', ...)).")


# ----------------------------------------------------------------------------- errors

def plot_rates(runs: Any, problem: Quadratic, *, tol: float | None = None,
               title: str | None = None, ax: Axes | None = None,
               figsize: tuple[float, float] = (6.4, 4.0), dpi: float = 80) -> Any:
    r"""The error :math:`|x_k - x^*|` of each run against its theoretical rate, on a log axis.

    Each run (solid) gets the dashed line :math:`|x_0 - x^*|\,\rho^k` of its rate
    :math:`\rho` (:func:`theoretical_rate`) in its colour: parallel lines mean the theory
    predicts the run.  ``tol`` draws that error level and puts the first step that reaches
    it in the legend.  Draws on ``ax`` when given; returns the figure.
    """
    q, traj = _quadratic(problem), _runs(runs)
    if tol is not None and not (isinstance(tol, (int, float)) and 0 < tol < np.inf):
        raise ValueError(f"tol must be a positive error level such as 1e-6, got {tol!r}")
    rates = {label: theoretical_rate(t, q) for label, t in traj.items()}
    fig, ax = _axes(ax, figsize, dpi)
    floor = np.inf
    for i, (label, t) in enumerate(traj.items()):
        color, (style, _) = COLORS[i % len(COLORS)], STYLES[i % len(STYLES)]
        error = q.error(t.points)
        k = np.arange(len(error))
        shown = np.where(np.isfinite(error) & (error > 0), error, np.nan)
        floor = min(floor, np.nanmin(shown) if np.any(np.isfinite(shown)) else np.inf)
        reached = ""
        if tol is not None:
            hits = np.flatnonzero(error <= tol)
            reached = f", error <= {tol:g} at step {hits[0]:,}" if hits.size else \
                f", not <= {tol:g} in {t.steps:,} steps"
        ax.plot(k, shown, color=color, ls=style, lw=1.8, label=f"{label}{reached}",
                zorder=3 + i)
        with np.errstate(over="ignore", under="ignore"):
            theory = error[0] * rates[label] ** k.astype(float)
        ax.plot(k, theory, color=color, ls=(0, (2, 2)), lw=1.0, alpha=0.9, zorder=2,
                label=f"  theory: $|x_0 - x^*|\\,\\rho^k$, $\\rho$ = {rates[label]:.6g}")
    if tol is not None:
        ax.axhline(tol, color="#555555", lw=0.8, ls=":", zorder=1)
    ax.set_yscale("log")
    if np.isfinite(floor):
        ax.set_ylim(bottom=max(floor / 3, 1e-17))
    ax.set(xlabel="step k", ylabel="$|x_k - x^*|$",
           title=title or f"error on a quadratic, $\\kappa$ = {q.kappa:.4g}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, framealpha=0.85)
    return fig


# ----------------------------------------------------------------------------- the region

def plot_momentum_region(problem: Any, points: Any = None, *, nesterov: bool = False,
                         lr_max: float | None = None, n: int = 300, ax: Axes | None = None,
                         title: str | None = None, figsize: tuple[float, float] = (6.4, 4.4),
                         dpi: float = 80) -> Any:
    r"""The (lr, momentum) plane of torch.optim.SGD on a quadratic, coloured by the rate.

    ``problem`` is a :class:`~optilab.quadratic.Quadratic` or its eigenvalues.  The colour
    of (lr, beta) is :math:`\rho`, the spectral radius of the iteration matrix maximised over
    the eigenvalues (:func:`optilab.quadratic.rate`), on a scale that spreads the values near
    1; grey where :math:`\rho \ge 1` (no convergence), with the edge :math:`\rho = 1` drawn.
    ``points`` marks settings: a dict label -> Trajectory, :class:`~optilab.quadratic.Tuning`
    or ``(lr, momentum)`` pair (or a list of Trajectories).  ``nesterov=True`` draws
    Nesterov's plane.  ``n``: the picture's resolution per axis.
    """
    lam = _spectrum(problem)
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
    if isinstance(n, bool) or not isinstance(n, int) or not 20 <= n <= 2000:
        raise ValueError(f"n (pixels per axis) must be an integer from 20 to 2000, got {n!r}")
    marks = _marks(points, nesterov)
    L = float(lam.max())  # noqa: N806
    if L <= 0:
        raise ValueError(f"every eigenvalue is <= 0 (the largest is {L:g}): f has no minimum, "
                         f"so no (lr, momentum) converges")
    edge = (2.0 if nesterov else 4.0) / L             # the region's widest lr (momentum -> 1)
    if lr_max is None:
        lr_max = 1.08 * max([edge] + [lr for _, lr, _ in marks])
    elif not (isinstance(lr_max, (int, float)) and 0 < lr_max < np.inf):
        raise ValueError(f"lr_max must be a positive number, got {lr_max!r}")
    lrs = np.linspace(lr_max / n, lr_max, n)
    betas = np.linspace(0.0, 0.999, n)
    floor = 1e-12 if nesterov else 0.0                 # torch's Nesterov needs momentum > 0
    rho = rate(lam, lrs[None, :], np.maximum(betas[:, None], floor), nesterov=nesterov)
    fig, ax = _axes(ax, figsize, dpi)
    _draw_rho(fig, ax, rho, lrs, betas)
    for i, (label, lr, beta) in enumerate(marks):
        r = rate(lam, lr, max(beta, floor), nesterov=nesterov)
        marker = STYLES[i % len(STYLES)][1]
        ax.plot([lr], [beta], marker=marker, ms=9, mfc=COLORS[i % len(COLORS)], mec="black",
                mew=1.2, ls="none", label=f"{label}: $\\rho$ = {r:.6g}", zorder=5)
    if marks:
        ax.legend(fontsize=8, framealpha=0.9, loc="lower left")   # the slow corner: empty
    kind = "Nesterov" if nesterov else "heavy-ball momentum"
    ax.set(xlabel="learning rate lr", ylabel=r"momentum $\beta$", xlim=(0, lr_max),
           ylim=(0, 1), title=title or f"{kind}: where it converges "
           f"($\\kappa$ = {lam.max() / lam.min():.4g})")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))     # no crowded decimals
    return fig


def _spectrum(problem: Any) -> np.ndarray:
    if isinstance(problem, Quadratic):
        return problem.eigenvalues
    try:
        lam = np.asarray(problem, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"problem must be a Quadratic or its eigenvalues (numbers), got "
                        f"{type(problem).__name__}") from None
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(f"the eigenvalues must be finite numbers, got {problem!r}")
    if lam.min() <= 0:
        raise ValueError(f"the eigenvalues must be > 0 (a bowl), got {lam.tolist()}")
    return lam


def _marks(points: Any, nesterov: bool) -> list[tuple[str, float, float]]:
    """(label, lr, momentum) for each point to mark."""
    if points is None:
        return []
    if isinstance(points, (Trajectory, Tuning)):
        points = [points]
    items = list(points.items()) if isinstance(points, Mapping) else \
        [(getattr(p, "label", getattr(p, "method", str(i))), p) for i, p in enumerate(points)]
    out = []
    for label, p in items:
        if isinstance(p, Trajectory):
            s = p.settings
            if str(s.get("optimizer", "")).lower() not in ("sgd", "gd"):
                raise ValueError(f"run {label!r} used {s.get('optimizer')!r}: this plane is "
                                 f"torch.optim.SGD's (lr, momentum)")
            lr, beta, nest = s.get("lr"), float(s.get("momentum") or 0.0), \
                bool(s.get("nesterov"))
        elif isinstance(p, Tuning):
            lr, beta, nest = p.lr, p.momentum, p.nesterov
        else:
            try:
                lr, beta = (float(v) for v in p)
            except (TypeError, ValueError):
                raise TypeError(f"point {label!r} must be a Trajectory, a Tuning or a pair "
                                f"(lr, momentum), got {p!r}") from None
            nest = nesterov
        if not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"point {label!r}: lr must be > 0, got {lr!r}")
        if not 0 <= beta < 1:
            raise ValueError(f"point {label!r}: momentum must be in [0, 1), got {beta!r}")
        if nest != nesterov and beta > 0:
            which = "Nesterov" if nest else "heavy-ball"
            raise ValueError(f"point {label!r} is a {which} run; draw it on "
                             f"plot_momentum_region(..., nesterov={nest}) (the two planes "
                             f"have different regions)")
        out.append((str(label), float(lr), float(beta)))
    return out


def _draw_rho(fig: Any, ax: Axes, rho: np.ndarray, lrs: np.ndarray, betas: np.ndarray) -> None:
    """rho < 1 coloured by -log10(1 - rho) (digits gained per step, spread out near 1),
    rho >= 1 grey, the edge rho = 1 black."""
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = np.where(rho < 1, -np.log10(1 - rho), np.nan)
    finite = digits[np.isfinite(digits)]
    top = float(np.ceil(finite.max())) if finite.size else 1.0
    cmap = ListedColormap(_viridis_r(256)).with_extremes(bad="#d9d9d9")
    extent = (0.0, float(lrs[-1]), float(betas[0]), float(betas[-1]))
    image = ax.imshow(np.ma.masked_invalid(digits), origin="lower", extent=extent,
                      aspect="auto", cmap=cmap, vmin=0.0, vmax=top, interpolation="nearest")
    ax.contour(lrs, betas, rho, levels=[1.0], colors="black", linewidths=1.4)
    ticks = np.arange(0, int(top) + 1)
    bar = fig.colorbar(image, ax=ax, ticks=ticks)
    bar.ax.set_yticklabels(["0"] + [f"{1 - 10.0 ** -t:.{t}f}" for t in ticks[1:]])
    bar.set_label(r"rate $\rho$ (grey: $\rho \geq 1$, diverges)")


def _viridis_r(n: int) -> np.ndarray:
    from matplotlib import colormaps

    return colormaps["viridis_r"](np.linspace(0, 1, n))


def _axes(ax: Axes | None, figsize: tuple[float, float], dpi: float) -> tuple[Any, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = PlotFigure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()
