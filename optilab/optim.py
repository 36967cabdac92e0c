"""Optimisation runs: torch.optim (or our own engine) on a function, recorded as a Trajectory.

``run`` is the hand-written torch loop every course starts with, plus the bookkeeping:

    for k in range(steps):
        optimizer.zero_grad(); loss = f(x); loss.backward(); optimizer.step(); scheduler.step()

It records x, f(x), grad f(x) and the learning rate at every step, stops when the run
converges (optional tolerances) or diverges (a non-finite value or a point beyond
``bound``), and never changes the arithmetic: a run equals that loop to the last bit.

    >>> from optilab.optim import run
    >>> t = run(lambda x, y: x ** 2 + 10 * y ** 2, [1.0, 1.0], "sgd", lr=0.05, steps=50)
    >>> t.points.shape, t.status
    ((51, 2), 'max_steps')
    >>> run(lambda x: x ** 2, 1.0, "sgd", lr=1.5, steps=100).summary()  # doctest: +ELLIPSIS
    'sgd (lr=1.5) diverged at step ... lr < 2 / lambda_max = 1 ...'
"""

from __future__ import annotations

import difflib
import inspect
import math
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .state import read_state
from .trajectory import Trajectory, stability_limit

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,            # momentum=..., nesterov=True for the variants
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "lbfgs": torch.optim.LBFGS,
}
_S = torch.optim.lr_scheduler
SCHEDULERS: dict[str, type] = {
    "step": _S.StepLR, "multistep": _S.MultiStepLR, "exponential": _S.ExponentialLR,
    "lambda": _S.LambdaLR, "cosine": _S.CosineAnnealingLR, "onecycle": _S.OneCycleLR,
    "plateau": _S.ReduceLROnPlateau,
}
ENGINES = ("torch", "optilab")


def _scheduler_defaults(name: str, lr: float, steps: int) -> dict[str, Any]:
    """What a demo needs when the user names a scheduler and nothing else (all overridable)."""
    return {
        "step": {"step_size": max(1, steps // 4), "gamma": 0.5},
        "multistep": {"milestones": sorted({max(1, steps // 2), max(1, 3 * steps // 4)}),
                      "gamma": 0.1},
        "exponential": {"gamma": 0.99},
        "cosine": {"T_max": steps},
        "onecycle": {"max_lr": lr, "total_steps": steps},
    }.get(name, {})


# ----------------------------------------------------------------------------- the public API

def run(f: Callable[..., Any], x0: Any, optimizer: str | type = "sgd", lr: float | None = None,
        steps: int = 100, scheduler: str | type | None = None,
        scheduler_kwargs: Mapping[str, Any] | None = None, engine: str = "torch", *,
        device: str = "cpu", gtol: float | None = None, ftol: float | None = None,
        bound: float = 1e6, progress: bool | None = None, label: str | None = None,
        data: Any = None, batch_size: int | None = None, seed: int | None = None,
        full_values: bool = True, record_state: bool = False, record_every: int = 1,
        **optimizer_kwargs: Any) -> Trajectory:
    """Minimise ``f`` from ``x0`` and return the Trajectory.

    ``f`` takes the point as one tensor (``f(p)``) or one scalar tensor per coordinate
    (``f(x, y)``).  ``optimizer`` is a name from ``OPTIMIZERS`` or a torch.optim class;
    extra keyword arguments go to it (``momentum=0.9``, ``betas=(0.9, 0.99)``).
    ``scheduler`` is a name from ``SCHEDULERS`` or a torch scheduler class, stepped once
    per step (ReduceLROnPlateau gets the loss).  ``engine="optilab"`` runs our own engine
    with its hand-made GD and Adam.  The run stops early when ``|grad f| <= gtol``, when
    ``|f_k - f_(k-1)| <= ftol``, or when it diverges (non-finite f or some ``|x_i| > bound``).
    ``progress``: a tqdm bar (None: only if the run lasts over a second).
    ``record_state=True`` also records the optimizer's state after every step (its momentum
    buffer, Adam's m and v and its bias-corrected step, ...: see ``optilab.state``) and
    L-BFGS's trial points; recording only reads, so the run is the same to the last bit.
    ``record_every=k`` keeps only x_0, x_k, x_2k, ... and the last point (a long run in less
    memory; ``Trajectory.step_at`` holds their step numbers).

    Minibatch runs (stochastic gradient descent): give ``data``, one array or a tuple of
    arrays with one row per sample (``(X, y)``), and ``batch_size``; ``f`` then takes the
    point and one batch of each array, ``f(w, X_batch, y_batch)``, and should average over
    the batch (``.mean()``) so that its scale does not depend on the batch size. Each step
    draws the next batch of an epoch: every epoch is a fresh shuffle of the n samples,
    ``rng.permutation(n)`` with ``rng = np.random.default_rng(seed)`` (seed 0 by default),
    cut into batches of ``batch_size`` (the last one smaller when it does not divide n), so
    every sample is used once per epoch. The scheduler steps once per step, not per epoch.
    The Trajectory records the minibatch loss and gradient each step used (``values``,
    ``grads``: noisy), the samples used to reach each point (``samples_at``, ``epochs``),
    and, unless ``full_values=False``, the loss on all the data at every point
    (``full_values``: one more pass over the data per step, not counted in ``evaluations``
    nor in ``times``)::

        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(100, 2)); y = X @ [1.0, -2.0]
        >>> t = run(lambda w, X, y: ((X @ w - y) ** 2).mean() / 2, [0.0, 0.0], "sgd",
        ...         lr=0.1, steps=50, data=(X, y), batch_size=10)
        >>> t.samples_at[:3].tolist(), float(t.epochs[-1]), t.evaluations
        ([0, 10, 20], 5.0, 51)
        >>> bool(t.full_values[-1] < t.full_values[0] / 1000)     # f on all 100 samples
        True
    """
    x0_array = _check_x0(x0)
    minibatch = _check_data(data, batch_size, seed)
    _check_number("steps", steps, integer=True, hint="try steps=100")
    _check_number("record_every", record_every, integer=True, hint="try record_every=10")
    if steps // record_every > MAX_STEPS:
        per_step = 200 + 64 * x0_array.size               # bytes: point, gradient, value, lr
        kept = steps // record_every
        raise ValueError(f"steps={steps:,} would record about {kept * per_step / 2**30:,.1f} "
                         f"GiB of trajectory; the most is {MAX_STEPS:,} recorded points per "
                         f"run. Keep every k-th point (record_every={-(-steps // MAX_STEPS)} "
                         f"or more), or run in pieces (start the next run at t.x).")
    _check_scheduler(scheduler, scheduler_kwargs)
    if lr is not None:
        _check_number("lr", lr, hint="try lr=0.1 or lr=1e-3")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    n_coords = _coordinates(f, x0_array, len(minibatch.arrays) if minibatch else 0)
    name = optimizer if isinstance(optimizer, str) else getattr(optimizer, "__name__", "custom")
    settings = {"optimizer": name, "lr": lr, "steps": steps, "engine": engine, "device": device,
                "scheduler": scheduler if scheduler is None or isinstance(scheduler, str)
                else scheduler.__name__, "label": label or name, **optimizer_kwargs}
    loop = _TorchLoop if engine == "torch" else _OptilabLoop
    state = loop(f, x0_array, n_coords, optimizer, lr, optimizer_kwargs, device)
    if record_state:
        state.snapshots, state.trials = [], []
    if minibatch:
        state.attach_data(minibatch, full_values)
        settings.update(batch_size=minibatch.size, seed=minibatch.seed, data_size=minibatch.n)
    settings["lr"] = state.lr()                  # the optimizer's, before a scheduler moves it
    if scheduler is not None:
        state.attach_scheduler(scheduler, dict(scheduler_kwargs or {}), steps)
        settings["scheduler_kwargs"] = state.scheduler_kwargs
    bar = tqdm(total=steps, disable=progress is False, delay=0 if progress else 1.0,
               desc=str(settings["label"]), leave=bool(progress))
    try:
        trajectory = _record(state, steps, gtol, ftol, bound, bar, record_every)
    finally:
        bar.close()
    if record_state:
        _add_state(trajectory, state)
    trajectory.settings = settings
    if trajectory.diverged and state.is_gradient_descent() and not minibatch:
        _add_stability_limit(trajectory, state, x0_array)
    _check_first_gradient(state, x0_array, trajectory.grads[0], engine)
    return trajectory


def race(f: Callable[..., Any], x0: Any, configs: Mapping[str, Mapping[str, Any]],
         **common: Any) -> dict[str, Trajectory]:
    """Run several configurations from the same start; trajectories by label.

    A config without an ``optimizer`` key uses its label as the optimizer name:
    ``race(f, [-1, 1], {"SGD": dict(lr=1e-3), "Adam": dict(lr=0.1)}, steps=200)``.
    """
    if not isinstance(configs, Mapping) or not configs:
        raise TypeError(f"configs must be a non-empty dict label -> settings, e.g. "
                        f'{{"SGD": dict(lr=0.01)}}, got {configs!r}')
    runs = {}
    for label, config in configs.items():
        settings = {**common, **config}
        if "optimizer" not in settings:
            if str(label).lower() not in OPTIMIZERS:
                raise ValueError(
                    f"race: the config {label!r} has no 'optimizer' and its label is not an "
                    f"optimizer name ({', '.join(OPTIMIZERS)}); add optimizer=... to it")
            settings["optimizer"] = str(label).lower()
        runs[label] = run(f, x0, label=str(label), **settings)
    return runs


# ----------------------------------------------------------------------------- the loop

def _record(state: _Loop, steps: int, gtol: float | None, ftol: float | None, bound: float,
            bar: Any, every: int = 1) -> Trajectory:
    """Step, recording x_k, f(x_k), grad f(x_k) and lr_k (every ``every``-th step, and the
    last), until done (see Trajectory)."""
    points, values, grads, lrs, times, counts, at = [], [], [], [], [], [], []
    samples, full = [], []                      # minibatch runs: samples used, f on all data
    status, reason, diverged_at, previous = "max_steps", "", None, math.nan
    start = time.perf_counter()
    point = state.point()
    for k in range(steps + 1):
        state.draw()                            # the batch of step k (minibatch runs)
        value, grad = state.evaluate()
        elapsed = time.perf_counter() - start
        status, reason = _status(k, point, value, previous, grad, gtol, ftol, bound)
        previous = value
        done = status != "max_steps" or k == steps
        if done or k % every == 0:
            diverged_at = len(points) if status == "diverged" else None
            points.append(point)
            values.append(value)
            grads.append(grad)
            times.append(elapsed)
            counts.append(state.evaluations)
            at.append(k)
            if state.batches is not None:
                samples.append(state.samples)
                if state.record_full:           # a measurement, not part of the run's time
                    measuring = time.perf_counter()
                    full.append(state.value_at(np.array(point), state.data))
                    start += time.perf_counter() - measuring
        if done:
            break
        if k % every == 0:
            lrs.append(state.lr())
        state.keeping = k % every == 0         # L-BFGS's trial points: only of kept steps
        state.step(value)
        if state.snapshots is not None and k % every == 0:
            state.snapshots.append(read_state(state.optimizer, state.params, np.array(grad)))
        state.samples += state.batch_length
        point = state.point()
        bar.update()
    data_size = state.batches.n if state.batches is not None else None
    return Trajectory(np.array(points), np.array(values), np.array(grads), np.array(lrs),
                      np.array(times), status=status, reason=reason, diverged_at=diverged_at,
                      evaluations=state.evaluations, gradient_evaluations=state.evaluations,
                      evaluations_at=np.array(counts),
                      samples_at=np.array(samples, dtype=np.int64), data_size=data_size,
                      full_values=np.array(full, dtype=np.float64),
                      step_at=np.array(at if every > 1 else [], dtype=np.int64))


def _status(k: int, point: list[float], value: float, previous: float, grad: list[float],
            gtol: float | None, ftol: float | None, bound: float) -> tuple[str, str]:
    """How the run stands at x_k: ("diverged" | "converged" | "max_steps", why)."""
    if not (math.isfinite(value) and all(map(math.isfinite, grad))):
        return "diverged", (f"f(x) became {value}" if not math.isfinite(value) else
                            "the gradient became infinite or NaN")
    if max(map(abs, point)) > bound:
        return "diverged", f"the point left the bound |x_i| <= {bound:g}"
    if gtol is not None and math.sqrt(sum(g * g for g in grad)) <= gtol:
        return "converged", f"|grad f| <= gtol = {gtol:g}"
    if ftol is not None and k > 0 and abs(value - previous) <= ftol:
        return "converged", f"|f_k - f_(k-1)| <= ftol = {ftol:g}"
    return "max_steps", ""


class _Loop:
    """One engine's side of the loop: leaves, optimizer, scheduler, evaluate and step."""

    evaluations = 0
    batches: _Batches | None = None     # minibatch runs: the sampler, see attach_data
    batch: tuple[Any, ...] = ()         # the arrays f takes after the point (this step's batch)
    data: tuple[Any, ...] = ()          # all the data, as this engine's arrays
    first_batch: tuple[Any, ...] = ()
    batch_length = samples = 0          # samples in this step's batch; used by steps so far
    record_full = False
    snapshots: list[dict[str, np.ndarray]] | None = None    # record_state: after each step
    trials: list[tuple[int, list[float], float]] | None = None   # L-BFGS: (step, x, f)
    keeping = True                      # this step's point is recorded (record_every)

    def __init__(self, f: Callable[..., Any], x0: np.ndarray, n_coords: int, optimizer: Any,
                 lr: float | None, kwargs: dict[str, Any], device: str) -> None:
        self.f, self.n_coords, self.shape = f, n_coords, x0.shape
        self.params = self.leaves(x0, device)
        self.optimizer = self.make_optimizer(optimizer, lr, kwargs)
        self.scheduler, self.scheduler_kwargs, self.plateau = None, {}, False

    def attach_data(self, batches: _Batches, record_full: bool) -> None:
        """Make this a minibatch run: f(x, *batch), the batch drawn by ``draw``."""
        self.batches, self.record_full = batches, record_full
        self.data = tuple(self.as_data(a) for a in batches.arrays)

    def draw(self) -> None:
        """Take the next batch (minibatch runs; otherwise nothing)."""
        if self.batches is None:
            return
        rows = self.batches.next()
        self.batch = tuple(self.take(a, rows) for a in self.data)
        self.batch_length = len(rows)
        if not self.first_batch:
            self.first_batch = self.batch

    def as_data(self, a: np.ndarray) -> Any:
        """An array of data as f will receive it (numpy for our engine)."""
        return a

    def take(self, a: Any, rows: np.ndarray) -> Any:
        """The rows ``rows`` of the data array ``a`` (a copy)."""
        return a[rows]

    def call(self) -> Any:
        """f at the current point, checked: a scalar tensor of this engine."""
        self.evaluations += 1
        out = self.f(*self.params, *self.batch) if self.evaluations > 1 else self._first_call()
        if not isinstance(out, self.tensor_type):
            raise TypeError(
                f"f must return a {self.tensor_type.__module__}.{self.tensor_type.__name__} "
                f"computed from its input, got {type(out).__name__}. Write f with tensor "
                f"operations (x.sin(), x ** 2, optilab.ops.exp(x)), not math.* or numpy.*, "
                f"and do not call .item() inside f.")
        if math.prod(out.shape) != 1:
            raise ValueError(f"f must return a scalar (one number), got shape "
                             f"{tuple(out.shape)}; reduce it with .sum() or .mean()")
        if getattr(out.dtype, "is_floating_point", True) is False:     # a torch integer tensor
            raise TypeError(f"f returned an integer tensor ({out.dtype}): integers have no "
                            f"derivative. Compute f in floating point (x ** 2, not "
                            f"torch.tensor(3)); the point x is float64.")
        if not out.requires_grad:
            raise ValueError("f does not depend on x: its value is a constant to the engine, "
                             "so there is no gradient to follow. Compute f from its argument "
                             "with tensor operations (x.sin(), x ** 2), not from x.item(), "
                             "float(x), math.* or a fixed number.")
        return out

    def value_at(self, x: np.ndarray, data: tuple[Any, ...] = ()) -> float:
        """f at the point x (on ``data``: a batch, all the data, or none), as a plain
        number, outside of any differentiation."""
        args = [self.constant(v) for v in x] if self.n_coords > 1 else \
            [self.constant(x.reshape(self.shape))]
        return float(self.f(*args, *data))

    def _first_call(self) -> Any:
        """The first f(x0), where an x0 of the wrong size (or data of the wrong shape)
        shows."""
        try:
            return self.f(*self.params, *self.batch)
        except (IndexError, RuntimeError, ValueError) as e:
            given = [tuple(p.shape) for p in self.params]
            if self.batch:
                shapes = [tuple(a.shape) for a in self.batch]
                raise ValueError(f"f failed on its first call, at x0 (shapes {given}) with a "
                                 f"batch of the data (shapes {shapes}): {type(e).__name__}: "
                                 f"{e}. Does f expect an x0 of another size, or the data in "
                                 f"another shape?") from e
            raise ValueError(f"f failed on its first call, at x0 (shapes {given}): "
                             f"{type(e).__name__}: {e}. Does f expect an x0 of another size?"
                             ) from e

    def is_gradient_descent(self) -> bool:
        return False


class _TorchLoop(_Loop):
    tensor_type = torch.Tensor

    def leaves(self, x0: np.ndarray, device: str) -> list[torch.Tensor]:
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but torch sees no CUDA GPU here "
                             f"(torch.cuda.is_available() is False); use device='cpu'")
        as_leaf = lambda v: torch.tensor(v, dtype=torch.float64, device=device,
                                         requires_grad=True)
        return [as_leaf(v) for v in x0] if self.n_coords > 1 else [as_leaf(x0)]

    def constant(self, v: Any) -> torch.Tensor:
        return torch.tensor(v, dtype=torch.float64, device=self.params[0].device)

    def as_data(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, device=self.params[0].device)     # float64 stays float64

    def take(self, a: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
        # index_select: the same copy as a[rows], 5-50x faster than torch's advanced indexing
        return a.index_select(0, torch.as_tensor(rows, device=a.device))

    def make_optimizer(self, optimizer: Any, lr: float | None,
                       kwargs: dict[str, Any]) -> torch.optim.Optimizer:
        cls = _lookup(optimizer, OPTIMIZERS, "optimizer", torch.optim.Optimizer)
        self.lbfgs = issubclass(cls, torch.optim.LBFGS)
        self.name = cls.__name__
        return _construct(cls, self.params, {} if lr is None else {"lr": lr}, kwargs)

    def attach_scheduler(self, scheduler: Any, kwargs: dict[str, Any], steps: int) -> None:
        cls = _lookup(scheduler, SCHEDULERS, "scheduler", (_S.LRScheduler, _S.ReduceLROnPlateau))
        name = next((k for k, v in SCHEDULERS.items() if v is cls), "")
        if name == "lambda" and "lr_lambda" not in kwargs:
            raise ValueError("the 'lambda' scheduler needs scheduler_kwargs={'lr_lambda': ...}, "
                             "e.g. lambda step: 0.95 ** step (a factor times the initial lr)")
        defaults = _scheduler_defaults(name, self.lr(), steps)
        if name == "onecycle" and not self.optimizer.defaults.get("momentum"):
            defaults["cycle_momentum"] = False     # keep the optimizer as asked: no momentum
            #                                        appears, Adam's beta1 stays (torch cycles
            #                                        them unless told); pass True to cycle
        self.scheduler_kwargs = {**defaults, **kwargs}
        self.scheduler = _construct(cls, self.optimizer, {}, self.scheduler_kwargs)
        self.plateau = issubclass(cls, _S.ReduceLROnPlateau)

    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def closure(self) -> torch.Tensor:
        self.optimizer.zero_grad()
        loss = self.call()
        loss.backward()
        return loss

    def probe(self) -> torch.Tensor:
        """f at a point L-BFGS tries inside its step (recorded with record_state)."""
        loss = self.closure()
        if self.trials is not None and self.keeping:
            self.trials.append((len(self.snapshots or ()), self.point(), loss.item()))
        return loss

    def evaluate(self) -> tuple[float, list[float]]:
        loss = self.last_loss = self.closure()
        if self.n_coords > 1:
            return loss.item(), [_grad(p) for p in self.params]
        p = self.params[0]
        grad = p.grad.reshape(-1).tolist() if p.grad is not None else [0.0] * p.numel()
        return loss.item(), grad

    def step(self, value: float) -> None:
        if self.lbfgs:                     # its step() starts with f(x_k): just evaluated
            pending = [self.last_loss]
            self.optimizer.step(lambda: pending.pop() if pending else self.probe())
        else:
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step(value) if self.plateau else self.scheduler.step()

    def point(self) -> list[float]:
        if self.n_coords > 1:
            return [p.item() for p in self.params]
        return self.params[0].detach().reshape(-1).tolist()

    def is_gradient_descent(self) -> bool:
        group = self.optimizer.param_groups[0]
        return self.name == "SGD" and not group.get("nesterov") and not group.get("dampening")

    def momentum(self) -> float:
        return float(self.optimizer.param_groups[0].get("momentum", 0.0))

    def hessian(self, x0: np.ndarray) -> np.ndarray:
        point = torch.tensor(x0.reshape(-1), dtype=torch.float64)
        g = (lambda p: self.f(*p)) if self.n_coords > 1 else \
            (lambda p: self.f(p.reshape(self.shape)))
        return torch.autograd.functional.hessian(g, point).numpy()


def _grad(p: torch.Tensor) -> float:
    return p.grad.item() if p.grad is not None else 0.0


class _OptilabLoop(_Loop):
    """The same loop on optilab.autograd with its hand-made optimizers (GD, Adam)."""

    def __init__(self, *args: Any) -> None:
        from . import autograd as ag
        from .autograd import optim as ag_optim

        self.ag, self.tensor_type = ag, ag.Tensor
        self.choices = {"sgd": ag_optim.GD, "gd": ag_optim.GD, "adam": ag_optim.Adam}
        super().__init__(*args)

    def leaves(self, x0: np.ndarray, device: str) -> list[Any]:
        if device != "cpu":
            raise ValueError(f"engine='optilab' runs on numpy, on the CPU; got device={device!r}. "
                             f"Use engine='torch' for a GPU.")
        return [self.ag.Tensor(v) for v in x0] if self.n_coords > 1 else [self.ag.Tensor(x0)]

    def constant(self, v: Any) -> Any:
        return self.ag.Tensor(v, requires_grad=False)

    def make_optimizer(self, optimizer: Any, lr: float | None, kwargs: dict[str, Any]) -> Any:
        if optimizer not in self.choices:
            raise ValueError(f"engine='optilab' has the hand-made optimizers "
                             f"{', '.join(self.choices)}; got {optimizer!r}. "
                             f"Use engine='torch' for {optimizer!r}.")
        self.name = optimizer
        return _construct(self.choices[optimizer], self.params,
                          {} if lr is None else {"lr": lr}, kwargs)

    def attach_scheduler(self, scheduler: Any, kwargs: dict[str, Any], steps: int) -> None:
        raise ValueError("learning-rate schedulers are torch.optim.lr_scheduler objects: "
                         "use engine='torch' with a scheduler")

    def lr(self) -> float:
        return float(self.optimizer.lr)

    def evaluate(self) -> tuple[float, list[float]]:
        self.optimizer.zero_grad()
        loss = self.call()
        loss.backward()
        grads = [np.zeros_like(p.value) if p.grad is None else p.grad for p in self.params]
        return float(loss.item()), np.concatenate([np.ravel(g) for g in grads]).tolist()

    def step(self, value: float) -> None:
        self.optimizer.step()

    def point(self) -> list[float]:
        return np.concatenate([np.ravel(p.value) for p in self.params]).tolist()

    def is_gradient_descent(self) -> bool:
        return self.name in ("sgd", "gd")

    def momentum(self) -> float:
        return float(self.optimizer.momentum)

    def hessian(self, x0: np.ndarray) -> np.ndarray:
        g = (lambda p: self.f(*[p[i] for i in range(self.n_coords)])) if self.n_coords > 1 else \
            (lambda p: self.f(p.reshape(self.shape)))
        return np.asarray(self.ag.hessian(g)(x0.reshape(-1)))


def _add_state(trajectory: Trajectory, state: _Loop) -> None:
    """The snapshots as arrays (steps, d) by name (NaN where a step had none) and the
    L-BFGS trial points, into the Trajectory."""
    snapshots = state.snapshots or []
    for name in dict.fromkeys(k for snap in snapshots for k in snap):
        size = next(len(snap[name]) for snap in snapshots if name in snap)
        trajectory.state[name] = np.array([snap.get(name, np.full(size, np.nan))
                                           for snap in snapshots])
    if state.trials:
        steps, points, values = zip(*state.trials)
        trajectory.trial_steps = np.array(steps, dtype=np.int64)
        trajectory.trial_points = np.array(points)
        trajectory.trial_values = np.array(values)


def _add_stability_limit(trajectory: Trajectory, state: _Loop, x0: np.ndarray) -> None:
    """lambda_max of the Hessian at x0 and the learning rate limit it implies."""
    with np.errstate(all="ignore"):
        try:
            hessian = np.atleast_2d(state.hessian(x0))
        except (ArithmeticError, ValueError, RuntimeError, NotImplementedError):
            return                                  # no Hessian here (a kink): no hint
    if not np.all(np.isfinite(hessian)):
        return
    eigenvalues = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    trajectory.lambda_min, trajectory.lambda_max = float(eigenvalues[0]), float(eigenvalues[-1])
    trajectory.stability_limit = stability_limit(trajectory.lambda_max, state.momentum())
    with np.errstate(all="ignore"):                  # a quadratic: the same Hessian at x1
        try:
            h1 = np.atleast_2d(state.hessian(trajectory.points[1].reshape(x0.shape)))
            trajectory.quadratic = bool(np.allclose(h1, hessian, rtol=1e-9, atol=0.0))
        except (ArithmeticError, ValueError, RuntimeError, NotImplementedError, IndexError):
            pass
    _add_path_limit(trajectory, state, x0)


def _add_path_limit(trajectory: Trajectory, state: _Loop, x0: np.ndarray,
                    samples: int = 16) -> None:
    """The tightest local limit 2 (1 + m) / lambda_max(x_k) over up to ``samples`` points
    the run visited while it still went downhill (f_k <= f_0) before it diverged: the limit
    at x0 alone is not the run's, and the points of the blow-up itself say nothing."""
    last = trajectory.diverged_at if trajectory.diverged_at is not None else \
        len(trajectory.points) - 1
    sane = [k for k in range(max(last, 1)) if trajectory.values[k] <= trajectory.values[0]]
    steps = sorted({sane[int(i)] for i in np.linspace(0, len(sane) - 1, samples)})
    best: tuple[float, int] | None = None
    for k in steps[1:]:                                   # x0's limit is already known
        point = trajectory.points[k]
        if not np.all(np.isfinite(point)):
            continue
        with np.errstate(all="ignore"):
            try:
                h = np.atleast_2d(state.hessian(point.reshape(x0.shape)))
            except (ArithmeticError, ValueError, RuntimeError, NotImplementedError):
                continue
        if not np.all(np.isfinite(h)):
            continue
        limit = stability_limit(float(np.linalg.eigvalsh((h + h.T) / 2)[-1]), state.momentum())
        if limit is not None and (best is None or limit < best[0]):
            best = (limit, k)
    if best is not None and trajectory.stability_limit is not None \
            and best[0] < trajectory.stability_limit:
        trajectory.path_limit = best[0]
        trajectory.path_limit_step = int(trajectory.step_numbers[best[1]])


# ----------------------------------------------------------------------------- checks

def _plain(v: Any) -> Any:
    """A torch tensor, an optilab Tensor or a number as plain numbers."""
    if hasattr(v, "value") and hasattr(v, "requires_grad"):     # optilab.autograd.Tensor
        return v.value
    return v.detach().cpu().numpy() if hasattr(v, "detach") else v


def _check_x0(x0: Any) -> np.ndarray:
    if x0 is None:
        raise TypeError("x0 is None: give the starting point, e.g. x0=[-1.2, 1.0] (the test "
                        "functions have good ones: rosenbrock.starts)")
    try:
        items = [_plain(v) for v in x0] if isinstance(x0, (list, tuple)) else _plain(x0)
        arr = np.array(items, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"x0 must be a number or a list/array of numbers, got {x0!r}") from e
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"x0 must be a number or a flat list of coordinates, got shape "
                         f"{arr.shape}; try x0=[1.0, -0.5]")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"x0 must be finite, got {arr.tolist()}; start from a real point")
    return arr


MAX_STEPS = 1_000_000          # a Trajectory of that many 2D steps takes about 300 MB
_DATA_NAMES = ("X", "y", "z", "a4", "a5", "a6", "a7", "a8")


class _Batches:
    """The minibatches of a data set, epoch after epoch.

    Every epoch is a fresh permutation of the n samples, ``rng.permutation(n)`` with
    ``rng = np.random.default_rng(seed)``, cut in order into batches of ``size`` (the last
    one of an epoch has n mod size samples when size does not divide n): every sample is
    used exactly once per epoch, and the same seed draws the same batches.
    """

    def __init__(self, arrays: tuple[np.ndarray, ...], size: int, seed: int) -> None:
        self.arrays, self.size, self.seed = arrays, size, seed
        self.n = len(arrays[0])
        self.rng = np.random.default_rng(seed)
        self.order, self.at = np.arange(0), self.n      # no epoch started yet

    def next(self) -> np.ndarray:
        """The row indices of the next batch."""
        if self.at >= self.n:                            # a new epoch: a new shuffle
            self.order, self.at = self.rng.permutation(self.n), 0
        rows = self.order[self.at:self.at + self.size]
        self.at += len(rows)
        return rows


def _check_data(data: Any, batch_size: Any, seed: Any) -> _Batches | None:
    """The sampler of a minibatch run (None without data), with teaching messages."""
    if data is None:
        for name, value in (("batch_size", batch_size), ("seed", seed)):
            if value is not None:
                raise ValueError(f"{name}={value!r} is for minibatch runs: give the data too, "
                                 f"run(f, x0, data=(X, y), batch_size=10), with f(w, X, y) "
                                 f"computing the loss on one batch")
        return None
    items = tuple(data) if isinstance(data, (tuple, list)) else (data,)
    if not items:
        raise ValueError("data=() holds no array: give data=(X, y), one row per sample")
    arrays = []
    for i, item in enumerate(items):
        try:
            a = np.asarray(_plain(item))
        except (TypeError, ValueError) as e:
            raise TypeError(f"data[{i}] must be an array (one row per sample), got "
                            f"{type(item).__name__}") from e
        if a.ndim == 0 or a.dtype == object or not (np.issubdtype(a.dtype, np.number)
                                                    or a.dtype == bool):
            raise TypeError(f"data[{i}] must be an array of numbers with one row per sample, "
                            f"got {type(item).__name__} of shape {a.shape} and dtype {a.dtype}")
        if np.iscomplexobj(a):
            raise TypeError(f"data[{i}] is complex: the run computes on real numbers")
        arrays.append(a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a)
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        shown = ", ".join(f"data[{i}] has {m}" for i, m in enumerate(lengths))
        raise ValueError(f"the data arrays must have one row per sample, the same number each: "
                         f"{shown} rows. Pair every input with its target (X[i], y[i]).")
    n = lengths[0]
    if n == 0:
        raise ValueError("the data has no samples (0 rows)")
    size = n if batch_size is None else batch_size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= n:
        raise ValueError(f"batch_size must be an integer from 1 to the number of samples, "
                         f"n = {n}, got {batch_size!r} (batch_size={n} is the full batch: "
                         f"plain gradient descent; try batch_size={max(1, min(n, 32))})")
    seed = 0 if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 (it seeds the shuffle of the "
                         f"samples: the same seed draws the same batches), got {seed!r}")
    return _Batches(tuple(arrays), int(size), int(seed))


# scheduler settings that count steps: torch divides by them or loops over them
_SCHEDULER_COUNTS = ("step_size", "T_max", "T_0", "total_steps", "total_iters", "patience")


def _check_scheduler(scheduler: Any, kwargs: Mapping[str, Any] | None) -> None:
    if scheduler is not None and not isinstance(scheduler, (str, type)):
        raise TypeError(f"scheduler must be a name ({', '.join(SCHEDULERS)}) or a torch "
                        f"lr_scheduler class, got {scheduler!r}")
    for key in _SCHEDULER_COUNTS:
        if key in (kwargs or {}) and not (key == "patience" and kwargs[key] == 0):
            _check_number(f"scheduler_kwargs[{key!r}]", kwargs[key], integer=True,
                          hint="a number of steps")


def _check_first_gradient(state: _Loop, x0: np.ndarray, grad: np.ndarray, engine: str) -> None:
    """Compare the engine's gradient at x0 with central differences, once per run: a term
    computed with math.*, float(x) or .item() is invisible to the engine and silently
    missing from its gradient.  Skipped for many coordinates, noisy f and kinks."""
    x0 = x0.reshape(-1)
    if x0.size > 10 or not np.all(np.isfinite(grad)):
        return
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            batch = state.first_batch                         # minibatch runs: grad's batch
            if state.value_at(x0, batch) != state.value_at(x0, batch):   # stochastic f
                return
            missing = []
            for i in range(x0.size):
                slopes = []
                for h in (1e-6, 1e-5):
                    e = np.zeros(x0.size)
                    e[i] = h * max(1.0, abs(x0[i]))
                    slopes.append((state.value_at(x0 + e, batch) - state.value_at(x0 - e, batch))
                                  / (2 * e[i]))
                fd = slopes[0]
                smooth = abs(slopes[0] - slopes[1]) <= 1e-4 * (1 + abs(fd))
                if smooth and abs(fd - grad[i]) > 1e-3 * (1 + abs(fd)):
                    missing.append(f"coordinate {i}: {grad[i]:.4g} by {engine}, {fd:.4g} by "
                                   f"finite differences")
    except Exception:                                  # noqa: BLE001 - a check, never a crash
        return
    if missing:
        warnings.warn(
            f"f's gradient at x0 is not what its values say ({'; '.join(missing)}): part of f "
            f"is invisible to {engine}, as math.sin(x), float(x), x.item() or numpy on the "
            f"numbers are. Write f with tensor operations (x.sin(), optilab.ops.sin(x)).",
            stacklevel=3)


def _check_number(name: str, v: Any, *, integer: bool = False, hint: str = "") -> None:
    ok = isinstance(v, (int, np.integer)) if integer else isinstance(v, (int, float, np.floating))
    if isinstance(v, bool) or not ok or not math.isfinite(v) or v <= 0 or (integer and v < 1):
        kind = "an integer >= 1" if integer else "a positive number"
        raise ValueError(f"{name} must be {kind}, got {v!r} ({hint})")


def _coordinates(f: Callable[..., Any], x0: np.ndarray, n_data: int = 0) -> int:
    """1 if f takes the point as one tensor, else the number of coordinates f(x, y, ...) takes
    (before the ``n_data`` arrays of a minibatch run)."""
    if not callable(f):
        raise TypeError(f"f must be a function of the point, got {type(f).__name__}")
    n = getattr(f, "dim", None)
    if n is None:
        try:
            params = inspect.signature(f).parameters.values()
        except (TypeError, ValueError):
            return 1
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        n = sum(p.kind in kinds and p.default is p.empty for p in params)
        if n_data and n < n_data + 1:
            raise TypeError(f"with data= of {n_data} array(s), f takes the point and then one "
                            f"batch of each array, f(w, {', '.join(_DATA_NAMES[:n_data])}); "
                            f"your f takes {n} argument(s)")
        n -= n_data
    if n > 1 and x0.size != n:
        raise ValueError(f"f takes {n} coordinates but x0 has {x0.size}: {x0.tolist()}; "
                         f"give x0 with {n} numbers")
    if n == 1 and getattr(f, "dim", None) == 1 and x0.size != 1:
        raise ValueError(f"f is a function of one variable but x0 has {x0.size} numbers")
    return max(int(n), 1)


def _lookup(choice: Any, table: dict[str, type], what: str, base: Any) -> type:
    if isinstance(choice, type) and issubclass(choice, base):
        return choice
    if isinstance(choice, str) and choice.lower() in table:
        return table[choice.lower()]
    raise ValueError(f"unknown {what} {choice!r}: use one of {', '.join(table)} "
                     f"or a torch class.{did_you_mean(choice, table)}")


def did_you_mean(given: Any, choices: Any) -> str:
    """" Did you mean 'adam'?" for the closest valid choice, or nothing."""
    close = difflib.get_close_matches(str(given).lower(), list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _construct(cls: type, first: Any, lr: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    """cls(first, **lr, **kwargs), with torch's complaints turned into teaching messages."""
    try:
        return cls(first, **lr, **kwargs)
    except TypeError as e:
        accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in
                    ("self", "params", "optimizer")]
        raise TypeError(f"{cls.__name__} does not accept {sorted(kwargs)} ({e}). "
                        f"Its settings are: {', '.join(accepted)}") from None
