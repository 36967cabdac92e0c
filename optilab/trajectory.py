"""Trajectory: the one record every optimisation run in optilab produces.

A run of ``n`` steps from ``x0`` visits the points ``x0, x1, ..., xn``; the Trajectory keeps
them with the value and gradient of ``f`` at each, the learning rate used at each step,
the settings, and how the run ended:

* ``"converged"``  -- a tolerance was met (gradient norm, or change of the value);
* ``"diverged"``   -- the value became inf/NaN or the point left the bound ``|x_i| <= bound``;
  the run stopped there, at ``diverged_at`` (an index into ``points``);
* ``"max_steps"``  -- it ran every step it was given.

Plots, sliders, races and exercises all read this one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Status = Literal["converged", "diverged", "max_steps"]


@dataclass
class Trajectory:
    """The path of one optimisation run.

    ``points`` (steps + 1, d) starts with x0; ``values`` (steps + 1,) and ``grads``
    (steps + 1, d) are f and its gradient at each point; ``lrs`` (steps,) is the learning
    rate each step used; ``times`` (steps + 1,) the wall-clock seconds since the run
    started at which each point was evaluated.  ``stability_limit`` is, for gradient
    descent, the largest stable learning rate at the start, 2 (1 + momentum) /
    lambda_max(Hessian(x0)), computed when gradient descent diverges (with ``lambda_max``
    and ``lambda_min``, the Hessian's extreme eigenvalues).  That limit is local: it holds
    near x0 and is guaranteed only near a minimum; ``path_limit`` is the smallest such
    limit met at the points the run visited before it diverged (at step ``path_limit_step``).

    ``evaluations`` counts the evaluations of f the run made, ``gradient_evaluations`` those of
    its gradient (in run() every evaluation of f also back-propagates, so they are equal), and
    ``evaluations_at`` (steps + 1,) how many evaluations of f had been made when each point was
    recorded: one per step for GD or Adam, several for L-BFGS, whose step() runs inner
    iterations and a line search (``np.diff(t.evaluations_at)``: evaluations per step).

    Minibatch runs (``run(..., data=(X, y), batch_size=b)``) evaluate f on one batch of the
    data per evaluation: ``values`` and ``grads`` are then the minibatch loss and gradient each
    step used at x_k (noisy; at the last point, on the batch a next step would draw);
    ``full_values`` (steps + 1,) is the loss on all ``data_size`` samples at each point (empty
    when not recorded), and ``value`` reads it. ``samples_at`` (steps + 1,) counts the samples
    the steps before x_k used (0 at x0, b per full batch), so ``epochs`` (``samples_at /
    data_size``) is 1.0 exactly after one pass over the data; ``evaluations_at`` still counts
    evaluations of f, each on one batch, x_k's own included. Runs without data leave
    ``samples_at`` and ``full_values`` empty and ``data_size`` None.

    ``run(..., record_state=True)`` fills ``state``: the optimizer's state after each step,
    ``{name: array (steps, d)}`` under torch's names (``momentum_buffer``, ``exp_avg``,
    ``exp_avg_sq``, ``adam_step``, ``square_avg``, ``rms_step``, ``sum``, ``direction``,
    ``step_length``; see ``optilab.state``), row k being the state after the step from x_k;
    and for L-BFGS the points its step() tried: ``trial_points`` (n, d), ``trial_values``
    (n,), ``trial_steps`` (n,) (the step k during which each was tried).

    ``run(..., record_every=k)`` keeps every k-th point and the last: ``step_at`` then holds
    the step number of each point (empty when every step is kept), ``lrs``, ``state`` and
    the trial points follow the kept points, and indices such as ``diverged_at`` and
    ``trial_steps`` count kept points (``step_numbers[i]`` is point i's step).
    """

    points: np.ndarray
    values: np.ndarray
    grads: np.ndarray
    lrs: np.ndarray
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    settings: dict[str, Any] = field(default_factory=dict)
    status: Status = "max_steps"
    diverged_at: int | None = None
    reason: str = ""
    evaluations: int = 0
    gradient_evaluations: int = 0
    evaluations_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    samples_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    data_size: int | None = None
    full_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    state: dict[str, np.ndarray] = field(default_factory=dict)
    trial_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    trial_values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trial_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    step_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stability_limit: float | None = None
    lambda_max: float | None = None
    lambda_min: float | None = None
    path_limit: float | None = None
    path_limit_step: int | None = None
    quadratic: bool = False        # the same Hessian at x0 and x1: the limit is exact

    @property
    def step_numbers(self) -> np.ndarray:
        """The step number of each point: 0, 1, 2, ... (0, k, 2k, ... with record_every=k)."""
        return self.step_at if len(self.step_at) else np.arange(len(self.points))

    @property
    def steps(self) -> int:
        """Number of steps taken (the last point's step number)."""
        return int(self.step_numbers[-1])

    @property
    def x(self) -> np.ndarray:
        """The last point."""
        return self.points[-1]

    @property
    def value(self) -> float:
        """f at the last point (on all the data, for a minibatch run that recorded it)."""
        return float(self.full_values[-1] if len(self.full_values) else self.values[-1])

    @property
    def epochs(self) -> np.ndarray:
        """(steps + 1,) passes over the data made to reach each point: ``samples_at /
        data_size`` (minibatch runs only)."""
        if self.data_size is None:
            raise ValueError("this run has no data, so no epochs: an epoch is one pass over a "
                             "data set. Run with run(f, x0, data=(X, y), batch_size=...) and "
                             "f(w, X, y), or count steps (t.steps, t.evaluations_at).")
        return self.samples_at / self.data_size

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def label(self) -> str:
        return str(self.settings.get("label") or self.settings.get("optimizer", "run"))

    def summary(self) -> str:
        """What happened, in words (with the stability limit when gradient descent diverged)."""
        s = self.settings
        lr = s.get("lr")
        head = f"{self.label} (lr={lr:g})" if isinstance(lr, float) else self.label
        start = f"from {_point(self.points[0])}"
        if self.status == "diverged":
            step = self.step_numbers[self.diverged_at] if self.diverged_at is not None else None
            text = f"{head} diverged at step {step} {start}: {self.reason}."
            return text + self._stability_hint()
        on = " on all the data" if len(self.full_values) else ""
        end = f"f{on} = {self.value:.6g} at {_point(self.x)}"
        if self.status == "converged":
            return (f"{head} converged after {self._steps_text()} {start}: {end} "
                    f"({self.reason}).")
        which = "a minibatch's " if self.data_size is not None else ""
        return (f"{head} ran all {self._steps_text()} {start} without meeting a tolerance: "
                f"{end}, |{which}grad f| = {np.linalg.norm(self.grads[-1]):.3g}.")

    def _steps_text(self) -> str:
        """"20 steps", the evaluations of f when a step makes several (L-BFGS), and the
        epochs of a minibatch run."""
        several = self.evaluations > self.steps + 1
        text = f"{self.steps} steps" + (f" ({self.evaluations} evaluations of f)"
                                        if several else "")
        if self.data_size is not None:
            batch = self.settings.get("batch_size")
            text += (f" ({self.epochs[-1]:.3g} epochs of {self.data_size} samples"
                     + (f", batches of {batch}" if batch else "") + ")")
        return text

    def _stability_hint(self) -> str:
        """Why gradient descent diverged, from the Hessian's eigenvalues at x0."""
        lr, limit = self.settings.get("lr"), self.stability_limit
        if self.data_size is not None and self.lambda_max is None:
            return (" Each step follows one batch's gradient, and the curvature of a batch "
                    "changes from batch to batch (a small batch can be much steeper than the "
                    "whole data): try a smaller learning rate (divide it by 10) or a larger "
                    "batch_size.")
        if self.lambda_max is None or not isinstance(lr, float):
            return " Try a smaller learning rate (divide it by 10)."
        if limit is None:
            return (f" At the start every Hessian eigenvalue is <= 0 (the largest is "
                    f"{self.lambda_max:.3g}): f curves downwards in every direction, so no "
                    f"learning rate is stable; f may be unbounded below.")
        if lr >= limit:
            momentum = float(self.settings.get("momentum", 0.0) or 0.0)
            rule = "2 / lambda_max" if not momentum else f"2 (1 + {momentum:g}) / lambda_max"
            return (f" Gradient descent is stable near the start only if lr < {rule} = "
                    f"{limit:.3g} (lambda_max = {self.lambda_max:.3g}, the largest Hessian "
                    f"eigenvalue at x0); lr = {lr:g} is {lr / limit:.3g} times that."
                    + (f" f has the same Hessian at x1 (a quadratic): the limit holds "
                       f"everywhere, so try lr < {limit:.2g}." if self.quadratic else
                       " This limit is local: a run above it may still converge once it "
                       "leaves that region." + self._path_hint(lr)))
        if self.lambda_min is not None and self.lambda_min < 0:
            return (f" lr = {lr:g} is below the stability limit {limit:.3g} at the start, but f "
                    f"curves downwards along some direction there (smallest Hessian eigenvalue "
                    f"{self.lambda_min:.3g} < 0): gradient descent slides down that way, and f "
                    f"may be unbounded below: no learning rate prevents that.")
        return (f" lr = {lr:g} is below the stability limit {limit:.3g} at the start; the "
                f"curvature grew along the path." + self._path_hint(lr))

    def _path_hint(self, lr: float) -> str:
        """The tightest local limit among the points this run visited."""
        if self.path_limit is None or self.path_limit_step is None:
            return " Try a smaller learning rate."
        return (f" The tightest point this run met was at step {self.path_limit_step}, where "
                f"the local limit is {self.path_limit:.3g} (lr is {lr / self.path_limit:.3g} "
                f"times that). Try a smaller learning rate: below {self.path_limit:.2g}, every "
                f"point this run visited is locally stable (a smaller lr takes another path, "
                f"so check the new run).")

    def __repr__(self) -> str:
        where = f", diverged_at={self.diverged_at}" if self.diverged else ""
        return (f"Trajectory({self.label}, steps={self.steps}, status={self.status!r}{where}, "
                f"f={self.value:.6g})")


@dataclass(frozen=True)
class RunTable:
    """What several runs cost and reached, one row each; shown as Markdown in Jupyter."""

    trajectories: Mapping[str, Trajectory]

    def markdown(self) -> str:
        data = any(t.data_size is not None for t in self.trajectories.values())
        lines = ["| run | status | steps | evaluations of f | of the gradient | time (s) "
                 "| final f |" + (" samples | epochs |" if data else ""),
                 "|---|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if data else "")]
        for label, t in self.trajectories.items():
            status = f"diverged at step {t.diverged_at}" if t.diverged else t.status
            seconds = f"{t.times[-1]:.3g}" if len(t.times) else "-"
            row = (f"| {label} | {status} | {t.steps} | {t.evaluations} | "
                   f"{t.gradient_evaluations} | {seconds} | {t.value:.4g} |")
            if data:                    # a minibatch evaluation sees b samples, not n
                row += (f" {t.samples_at[-1]:,} | {t.epochs[-1]:.3g} |"
                        if t.data_size is not None else " - | - |")
            lines.append(row)
        return "\n".join(lines)

    __str__ = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown()


def table(trajectories: Mapping[str, Trajectory]) -> RunTable:
    """A table of runs (``race(...)``'s result, or any dict label -> Trajectory): status,
    steps, evaluations of f and of its gradient, seconds and final f, side by side. A step
    of L-BFGS costs several evaluations: compare methods by evaluations and seconds too.
    When a run has data (a minibatch run) the table adds the samples used and the epochs:
    there an evaluation costs one batch, so compare runs of different batch sizes by samples.

    >>> from optilab.optim import race
    >>> from optilab.functions import rosenbrock
    >>> runs = race(rosenbrock, [-1.2, 1.0], {"SGD": dict(lr=1e-3), "LBFGS": dict(lr=1)},
    ...             steps=5, progress=False)
    >>> [row.split(" | ")[3] for row in str(table(runs)).splitlines()[2:]]
    ['6', '64']
    """
    if not isinstance(trajectories, Mapping) or not trajectories:
        raise TypeError(f"table expects a non-empty dict label -> Trajectory (what race() "
                        f"returns), got {type(trajectories).__name__}")
    for label, t in trajectories.items():
        if not isinstance(t, Trajectory):
            raise TypeError(f"table: {label!r} is a {type(t).__name__}, not a Trajectory")
    return RunTable(dict(trajectories))


def _point(p: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in np.ravel(p)) + ")"


def stability_limit(lambda_max: float, momentum: float = 0.0) -> float | None:
    """Largest stable step of gradient descent (heavy-ball momentum) on a quadratic.

    On f = lambda x^2 / 2, x <- x - lr f'(x) multiplies x by (1 - lr lambda) each step:
    stable iff lr < 2 / lambda.  With momentum m the limit is 2 (1 + m) / lambda.
    None when lambda <= 0 (no learning rate is stable).

    >>> stability_limit(4.0)
    0.5
    >>> stability_limit(4.0, momentum=0.9)
    0.95
    """
    return 2.0 * (1.0 + momentum) / lambda_max if lambda_max > 0 else None
