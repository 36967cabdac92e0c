"""Solving: GD, SGD (random pairs), Adam, L-BFGS (torch), our engine's GD/Adam, and SciPy BFGS,
each returning a Trajectory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trajectory import Trajectory
from .data import load_cities, validate_distances
from .problem import _STRESS, _closed_form, _residuals, criterion, random_start, stress

# ------------------------------------------------------------------------------ solving

METHODS: dict[str, str] = {
    "gd": "plain gradient descent: the full gradient, a fixed lr (torch.optim.SGD without "
          "momentum, or our engine's GD)",
    "sgd": "stochastic gradient descent: the gradient of a random minibatch of city pairs "
           "(torch)",
    "adam": "Adam (torch.optim.Adam, or our engine's Adam)",
    "lbfgs": "L-BFGS with a strong-Wolfe line search, one iteration per step (torch.optim.LBFGS)",
    "bfgs": "SciPy's BFGS given an engine's exact gradient (the baseline)",
}
_ENGINES: dict[str, tuple[str, ...]] = {      # the first is the default
    "gd": ("torch", "optilab"), "sgd": ("torch",), "adam": ("torch", "optilab"),
    "lbfgs": ("torch",), "bfgs": ("optilab", "torch"),
}


@dataclass(frozen=True)
class Defaults:
    """A method's defaults for the normalised 36-city problem, and where they come from."""

    lr: float | None
    steps: int
    gtol: float
    why: str
    options: tuple[tuple[str, Any], ...] = ()


# Measured on the normalised problem from random_start(36, seed), seeds 0-19 (0-49 for gd);
# f* = 1.2383e-8 from every start (the curvature floor), so f <= 2e-8 is reachable.
DEFAULTS: dict[str, Defaults] = {
    "gd": Defaults(
        0.05, 6000, 1e-9,
        "the largest round lr stable from all 50 starts tried: 0.06 diverges from seed 1 "
        "(at step 4), 0.055 is stable but slow from some starts. 2 / lambda_max of the Hessian "
        "at x0 is only ~0.037 (lambda_max ~55 at x0, 0.53 at the solution, where lr < 3.8 "
        "would do): the start limits the step, not the solution. f <= 2e-8 after a median "
        "3,100 steps (at most ~5,000)"),
    "sgd": Defaults(
        0.03, 5000, 0.0,
        "minibatches of 64 of the 630 pairs (10%); lr 0.03 is stable from all 20 starts, "
        "0.04 diverges from 1 in 20 and 0.05 from 4 (the minibatch criterion weighs each of "
        "its pairs 630/64 times, so its curvature jumps from step to step). Constant lr: f "
        "keeps falling, slowly (after 3,000 steps 8.1e-5, 1.2e-6, 6.1e-5 for seeds 0-2): no "
        "noise floor shows, as every pair's residual, and so the batch gradient, nearly "
        "vanishes at the best map (notebook 10). No gtol: a batch gradient's norm is not "
        "the full gradient's",
        (("batch", 64), ("momentum", 0.0))),
    "adam": Defaults(
        0.1, 1000, 1e-9,
        "lr 0.1: a median 334 steps to f <= 2e-8 over 20 starts, at most 410. 0.15 and 0.2 "
        "are a little faster in the median (278, 307) but slower from some starts (up to "
        "513); 1e-2 needs ~1,900 steps, 1e-3 stalls near 1e-5 (Adam moves each coordinate "
        "by about lr per step)"),
    "lbfgs": Defaults(
        1.0, 200, 1e-9,
        "lr 1 (the quasi-Newton step), strong-Wolfe line search, history 10 (100 gives the "
        "same), one iteration per step; median 27 iterations to f <= 2e-8 (a fixed step, no "
        "line search: 35)",
        (("history_size", 10), ("max_eval", 25))),
    "bfgs": Defaults(
        None, 500, 1e-9,
        "SciPy's BFGS, gtol 1e-9 in the 2-norm (the test L-BFGS uses); median 55 iterations "
        "to f <= 2e-8"),
}


def _check_method(method: Any) -> str:
    import difflib

    name = str(method).strip().lower()
    if name in METHODS:
        return name
    close = difflib.get_close_matches(name, METHODS, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}.{hint}")


def _check_engine(method: str, engine: str | None) -> str:
    engines = _ENGINES[method]
    if engine is None:
        return engines[0]
    if engine not in ("torch", "optilab"):
        raise ValueError(f"engine must be 'torch' or 'optilab', got {engine!r}")
    if engine not in engines:
        raise ValueError(f"method {method!r} runs on engine={engines[0]!r} only; our engine "
                         f"(engine='optilab') has gd, adam and bfgs (SciPy given its gradient)")
    return engine


def solve(method: str = "lbfgs", engine: str | None = None, steps: int | None = None,
          seed: int | None = 0, device: str = "cpu", lr: float | None = None,
          progress: bool | None = None, distances: Any = None, *, x0: Any = None,
          gtol: float | None = None, fused: bool = False, label: str | None = None,
          **options: Any) -> Trajectory:
    r"""Draw the map: minimise the normalised :func:`criterion` with one method.

    ``method`` is one of :data:`METHODS`:

    * ``"gd"``: :math:`X_{k+1} = X_k - \eta \nabla f(X_k)` (through :func:`optilab.optim.run`);
    * ``"sgd"``: the same with the gradient of a random minibatch of pairs (:func:`_sgd`);
    * ``"adam"``: Adam (through ``run``);
    * ``"lbfgs"``: torch's L-BFGS, one quasi-Newton iteration per recorded step;
    * ``"bfgs"``: ``scipy.optimize.minimize(method="BFGS", jac=True)``, the baseline.

    ``engine``: ``"torch"`` or ``"optilab"`` (our engine: gd, adam, bfgs); ``None`` picks
    torch, except for bfgs, which gets our engine's exact gradient. ``fused=True`` makes our
    engine differentiate :func:`stress` (one primitive with the closed-form gradient) instead
    of tracing :func:`criterion`. ``steps``, ``lr`` and ``gtol`` (stop when
    :math:`\|\nabla f\|_2 \le` gtol; 0 turns it off) default to :data:`DEFAULTS`;
    ``options`` are a method's extras (sgd: ``batch``, ``momentum``; lbfgs:
    ``history_size``, ``max_eval``; gd/adam: torch.optim keyword arguments).
    ``distances`` (km) defaults to the 36 cities; the start is ``random_start(n, seed)``
    unless ``x0`` is given. ``progress``: a tqdm bar (None: only if it lasts over a second).

    The Trajectory's points are flat maps (2n numbers, normalised units); its values and
    gradients are the full :math:`f` and :math:`\nabla f` at each point; ``settings`` holds the
    method, engine, seed and ``scale_km`` (:math:`\|D\|_F` in km: km = normalised * scale).

        >>> t = solve("lbfgs", seed=0)
        >>> t.status, t.value < 2e-8, t.points.shape[1]
        ('converged', True, 72)
        >>> bool(np.argmax(t.values <= 2e-8) < 40)        # iterations to f <= 2e-8
        True
        >>> solve("lbgfs")
        Traceback (most recent call last):
        ...
        ValueError: unknown method 'lbgfs': use one of gd, sgd, ... Did you mean 'lbfgs'?
    """
    method = _check_method(method)
    engine = _check_engine(method, engine)
    spec = DEFAULTS[method]
    d_km = load_cities().distances if distances is None else validate_distances(distances)
    scale = float(np.linalg.norm(d_km))
    D = d_km / scale
    n = len(D)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise ValueError(f"seed must be a whole number >= 0 (or None for a fresh random start), "
                         f"got {seed!r}")
    start = random_start(n, seed) if x0 is None else np.asarray(x0, dtype=np.float64)
    if start.size != 2 * n:
        raise ValueError(f"x0 must hold 2n = {2 * n} numbers (n = {n} cities, a flat map or "
                         f"an (n, 2) array), got shape {start.shape}")
    start = start.ravel()
    steps = spec.steps if steps is None else steps
    lr = spec.lr if lr is None else lr
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r} (try steps=100)")
    if lr is not None and not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
        raise ValueError(f"lr must be a positive number, got {lr!r} (try lr=0.01)")
    gtol = spec.gtol if gtol is None else gtol
    allowed = dict(spec.options)
    if options and method in ("sgd", "lbfgs", "bfgs") and not set(options) <= set(allowed):
        unknown = ", ".join(sorted(set(options) - set(allowed)))
        raise ValueError(f"method {method!r} does not take {unknown}; its options are: "
                         f"{', '.join(allowed) or 'none'}")
    extra = {**allowed, **options}
    for key in ("history_size", "max_eval", "max_iter"):
        if key in options:
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r} (its default "
                                 f"for {method!r} is {allowed.get(key, 'unset')})")
    if fused and engine != "optilab":
        raise ValueError("fused=True makes our engine differentiate stress(); it needs "
                         "engine='optilab' (torch differentiates criterion)")
    if engine == "optilab" and str(device) != "cpu":
        raise ValueError(f"engine='optilab' runs on numpy, on the CPU; got device={device!r}. "
                         "Use engine='torch' for a GPU.")
    label = label or f"{method} ({engine}{', fused' if fused else ''})"
    common = dict(steps=steps, lr=lr, gtol=gtol or None, device=device, progress=progress,
                  label=label)
    if method in ("gd", "adam"):
        from ..optim import run

        f = _objective(engine, D, device, fused)
        trajectory = run(f, start, "sgd" if method == "gd" else "adam", lr=lr, steps=steps,
                         engine=engine, device=device, gtol=gtol or None, progress=progress,
                         label=label, **extra)
    elif method == "sgd":
        trajectory = _sgd(D, start, seed=seed, **common, **extra)
    elif method == "lbfgs":
        trajectory = _lbfgs(D, start, **common, **extra)
    else:
        trajectory = _bfgs(D, start, engine=engine, fused=fused, **common, **extra)
    trajectory.settings.update(method=method, engine=engine, seed=seed, fused=fused, n=n,
                               scale_km=scale, gtol=gtol, **extra)
    return trajectory


def _objective(engine: str, D: np.ndarray, device: str, fused: bool) -> Any:
    """f(p) of the flat map p, for run() with the given engine."""
    if engine == "torch":
        import torch

        _check_device(device)
        Dt = torch.tensor(D, dtype=torch.float64, device=device)   # once, not at every call
        return lambda p: criterion(p.reshape(-1, 2), Dt)
    if fused:
        D2 = D ** 2                                     # once: the primitive takes d_ij^2
        return lambda p: _STRESS(p, D2)
    return lambda p: criterion(p.reshape(-1, 2), D)


def _check_device(device: str) -> None:
    import torch

    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but torch sees no CUDA GPU here "
                         "(torch.cuda.is_available() is False); use device='cpu'")


class _Recorder:
    """Builds a Trajectory point by point (for the loops that do not go through run())."""

    def __init__(self, steps: int, gtol: float | None, progress: bool | None, label: str,
                 bound: float = 1e6) -> None:
        from tqdm.auto import tqdm

        self.points: list[np.ndarray] = []
        self.values: list[float] = []
        self.grads: list[np.ndarray] = []
        self.lrs: list[float] = []
        self.times: list[float] = []
        self.counts: list[int] = []       # evaluations of f made when each point was recorded
        self.gtol, self.bound = gtol, bound
        self.status, self.reason, self.diverged_at = "max_steps", "", None
        self.bar = tqdm(total=steps, disable=progress is False, delay=0 if progress else 1.0,
                        desc=label, leave=bool(progress))
        self.start = time.perf_counter()

    def add(self, point: Any, value: float, grad: Any, evaluations: int | None = None) -> bool:
        """Record x_k, f(x_k), grad f(x_k) (after ``evaluations`` evaluations of f, by default
        one per point); True when the run must stop at x_k."""
        self.times.append(time.perf_counter() - self.start)
        self.counts.append(len(self.points) + 1 if evaluations is None else evaluations)
        point = np.array(point, dtype=np.float64).ravel()
        grad = np.array(grad, dtype=np.float64).ravel()
        self.points.append(point)
        self.values.append(float(value))
        self.grads.append(grad)
        k = len(self.points) - 1
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            self.status, self.diverged_at = "diverged", k
            self.reason = f"f(x) became {value}" if not np.isfinite(value) else \
                "the gradient became infinite or NaN"
        elif np.max(np.abs(point)) > self.bound:
            self.status, self.diverged_at = "diverged", k
            self.reason = f"the point left the bound |x_i| <= {self.bound:g}"
        elif self.gtol and float(np.linalg.norm(grad)) <= self.gtol:
            self.status, self.reason = "converged", f"|grad f| <= gtol = {self.gtol:g}"
        else:
            return False
        return True

    def stepped(self, lr: float) -> None:
        self.lrs.append(float(lr))
        self.bar.update()

    def trajectory(self, settings: dict[str, Any], evaluations: int) -> Trajectory:
        self.bar.close()
        del self.lrs[len(self.points) - 1:]
        return Trajectory(np.array(self.points), np.array(self.values), np.array(self.grads),
                          np.array(self.lrs), np.array(self.times), settings=settings,
                          status=self.status, reason=self.reason,
                          diverged_at=self.diverged_at, evaluations=evaluations,
                          gradient_evaluations=evaluations, evaluations_at=np.array(self.counts))


def _sgd(D: np.ndarray, x0: np.ndarray, *, steps: int, lr: float, gtol: float | None,
         device: str, progress: bool | None, label: str, seed: int | None, batch: int = 64,
         momentum: float = 0.0) -> Trajectory:
    r"""Stochastic gradient descent on minibatches of city **pairs**.

    The criterion is a sum over the :math:`P = n(n-1)/2` pairs, :math:`f = \sum_{i<j}
    r_{ij}^2`, so "stochastic" means: at each step draw a batch :math:`B` of ``batch``
    distinct pairs uniformly and step along the gradient of

    .. math::

        f_B(X) = \frac{P}{|B|} \sum_{(i, j) \in B} r_{ij}^2,
        \qquad \mathbb{E}_B\, f_B = f, \quad \mathbb{E}_B \nabla f_B = \nabla f,

    an unbiased estimate of the full gradient at a fraction of its cost (which matters when
    :math:`n` is large, not at :math:`n = 36`). With a constant ``lr``, SGD's iterates
    generally hover where the gradient noise balances the pull of the minimum, a noise floor
    proportional to lr (notebook 10). Here that floor is not seen: at the best map every
    pair's residual is nearly zero (the distances are nearly those of a flat map), so the
    batch gradients nearly vanish too and f keeps falling towards f*. ``batch = P`` is GD.
    ``momentum`` (heavy ball, torch.optim.SGD's) is off by default.

    The pairs come from ``numpy.random.default_rng([seed, 1])`` (reproducible, and not the
    stream of the start). The Trajectory records the **full** f and gradient at every point
    (in numpy, closed form), so it compares with the other methods.
    """
    import torch

    _check_device(device)
    n = len(D)
    rows, cols = np.triu_indices(n, 1)
    pairs = len(rows)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) \
            or not 1 <= batch <= pairs:
        raise ValueError(f"batch must be an integer number of city pairs in 1..{pairs} "
                         f"(n(n-1)/2 for n = {n}), got {batch!r}")
    rng = np.random.default_rng(None if seed is None else [seed, 1])
    D2 = D ** 2
    as_tensor = lambda a: torch.as_tensor(a, device=device)   # noqa: E731
    I, J, d2 = as_tensor(rows), as_tensor(cols), as_tensor(D2[rows, cols])
    x = torch.tensor(x0.reshape(n, 2), dtype=torch.float64, device=device, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr, momentum=momentum)
    rec = _Recorder(steps, gtol, progress, label)
    for k in range(steps + 1):
        X = x.detach().cpu().numpy()
        r = _residuals(X, D2)
        if rec.add(X, 0.5 * np.vdot(r, r), _closed_form(X, r)) or k == steps:
            break
        B = as_tensor(rng.choice(pairs, size=batch, replace=False))
        optimizer.zero_grad()
        diff = x[I[B]] - x[J[B]]
        loss = (pairs / batch) * (((diff ** 2).sum(1) - d2[B]) ** 2).sum()
        loss.backward()
        optimizer.step()
        rec.stepped(lr)
    settings = {"optimizer": "sgd", "lr": lr, "steps": steps, "device": device, "label": label}
    return rec.trajectory(settings, evaluations=len(rec.points) - 1)


def _lbfgs(D: np.ndarray, x0: np.ndarray, *, steps: int, lr: float, gtol: float | None,
           device: str, progress: bool | None, label: str, history_size: int = 10,
           max_eval: int = 25) -> Trajectory:
    r"""torch.optim.LBFGS, one quasi-Newton iteration per ``step()`` (``max_iter=1``).

    Each step takes the direction :math:`d_k = -H_k \nabla f(x_k)` (:math:`H_k` from the last
    ``history_size`` pairs :math:`(s, y)`) and a strong-Wolfe line search along it starting at
    :math:`t = ` lr. So a recorded step is one iteration, which counts like SciPy's ``nit``.

    Two traps of torch's LBFGS, handled here:

    * ``max_eval`` defaults to ``max_iter * 5 // 4``, which is 1 for ``max_iter=1``: the line
      search is then allowed no evaluation, returns t = 0 when the first trial step fails,
      and L-BFGS stalls for good. We pass ``max_eval`` (trial points per step) explicitly.
    * ``step(closure)`` starts by evaluating f where the line search just ended: a one-entry
      cache answers that call, so ``evaluations`` counts only real evaluations of f.

    Its own stopping tests (``tolerance_grad``, ``tolerance_change``, absolute numbers) are
    off: the normalised f is ~1e-8 at the solution; ``gtol`` (2-norm) decides here.
    """
    import torch

    _check_device(device)
    Dt = torch.tensor(D, dtype=torch.float64, device=device)
    x = torch.tensor(x0.reshape(-1, 2), dtype=torch.float64, device=device, requires_grad=True)
    optimizer = torch.optim.LBFGS([x], lr=lr, max_iter=1, max_eval=max_eval,
                                  history_size=history_size, line_search_fn="strong_wolfe",
                                  tolerance_grad=0.0, tolerance_change=0.0)
    rec = _Recorder(steps, gtol, progress, label)
    evaluations, record_next = 0, True
    cache: list[Any] = []                 # [x, f(x), grad f(x)] of the last evaluation

    class Stop(Exception):
        """Raised by the closure at an iterate that ends the run (before any update)."""

    def closure() -> torch.Tensor:
        nonlocal evaluations, record_next
        if cache and torch.equal(cache[0], x.detach()):
            x.grad = cache[2].clone()
            loss = cache[1]
        else:
            optimizer.zero_grad()
            loss = criterion(x, Dt)
            loss.backward()
            evaluations += 1
            cache[:] = [x.detach().clone(), loss.detach(), x.grad.clone()]
        if record_next:                   # step() evaluates x_k first: record it
            record_next = False
            if rec.add(x.detach().cpu().numpy(), loss.item(), x.grad.cpu().numpy(),
                       evaluations):
                raise Stop
        return loss

    for k in range(steps + 1):
        record_next = True
        before = x.detach().clone()
        try:
            optimizer.step(closure) if k < steps else closure()    # closure(): the last x
        except Stop:
            break
        if k < steps and torch.equal(before, x.detach()):   # the line search found no lower f
            rec.status = "converged"
            rec.reason = ("no lower f along the L-BFGS direction: f is at its floor to "
                          "rounding (the line search returned t = 0)")
            break
        if k < steps:
            rec.stepped(float(optimizer.state[x].get("t", lr)))
    settings = {"optimizer": "lbfgs", "lr": lr, "steps": steps, "device": device,
                "label": label}
    return rec.trajectory(settings, evaluations)


def _bfgs(D: np.ndarray, x0: np.ndarray, *, steps: int, lr: float | None, gtol: float | None,
          device: str, progress: bool | None, label: str, engine: str,
          fused: bool) -> Trajectory:
    r"""SciPy's BFGS, given the exact gradient of ``engine`` (ours by default).

    ``scipy.optimize.minimize(fg, x0, jac=True, method="BFGS")`` with
    :math:`fg(p) = (f(p), \nabla f(p))` from ``optilab.autograd.value_and_grad`` (or torch).
    A callback records every iterate; SciPy's line search already evaluated f there, and a
    small cache returns that evaluation, so ``evaluations`` equals SciPy's ``nfev``.
    ``gtol`` is SciPy's, in the 2-norm (``norm=2``), as for L-BFGS.
    """
    from scipy.optimize import minimize

    if lr is not None:
        raise ValueError("bfgs has no learning rate (its line search picks every step); "
                         "leave lr=None")
    value_and_grad = _value_and_grad(engine, D, device, fused)
    cache: dict[bytes, tuple[float, np.ndarray]] = {}
    evaluations = 0

    def fg(p: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        key = p.tobytes()
        if key not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[key] = value_and_grad(p)
            evaluations += 1
        return cache[key]

    rec = _Recorder(steps, gtol, progress, label)
    if rec.add(x0, *fg(x0), evaluations):
        return rec.trajectory({"optimizer": "bfgs", "label": label}, evaluations)

    def callback(intermediate_result: Any) -> None:
        rec.stepped(float("nan"))         # no learning rate: the line search picks the step
        p = np.array(intermediate_result.x)
        if rec.add(p, *fg(p), evaluations):
            raise StopIteration

    result = minimize(fg, x0, jac=True, method="BFGS", callback=callback,
                      options={"maxiter": steps, "gtol": gtol or 0.0, "norm": 2})
    if rec.status == "max_steps" and result.status != 1:   # 1: maxiter, the default status
        rec.status = "converged"
        rec.reason = f"scipy: {result.message}"
    settings = {"optimizer": "bfgs", "lr": None, "steps": steps, "device": device,
                "label": label, "nit": int(result.nit), "nfev": int(result.nfev)}
    return rec.trajectory(settings, evaluations)


def _value_and_grad(engine: str, D: np.ndarray, device: str,
                    fused: bool) -> Any:
    """p -> (f(p), grad f(p)) as (float, numpy array) for a flat map p, by an engine."""
    if engine == "optilab":
        import optilab.autograd as ag

        f = (lambda p: stress(p, D)) if fused else (lambda p: criterion(p.reshape(-1, 2), D))
        vg = ag.value_and_grad(f)

        def optilab_value_and_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
            value, g = vg(p)
            return float(value), np.asarray(g, dtype=np.float64)

        return optilab_value_and_grad
    import torch

    _check_device(device)
    Dt = torch.tensor(D, dtype=torch.float64, device=device)

    def torch_value_and_grad(p: np.ndarray) -> tuple[float, np.ndarray]:
        x = torch.tensor(p, dtype=torch.float64, device=device, requires_grad=True)
        value = criterion(x.reshape(-1, 2), Dt)
        (g,) = torch.autograd.grad(value, x)
        return value.item(), g.cpu().numpy()

    return torch_value_and_grad
