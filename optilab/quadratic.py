r"""The quadratic model: where the convergence rates of gradient methods are exact.

On :math:`f(x) = \tfrac12 (x - c)^\top A (x - c)`, with :math:`A` symmetric and eigenvalues
:math:`\mu = \lambda_{min} \le \dots \le \lambda_{max} = L`, gradient descent and momentum
are *linear* iterations: along each eigenvector of :math:`A` the error evolves on its own,
multiplied at every step by a 2x2 matrix (1x1 without momentum).  The error then shrinks
like :math:`\rho^k`, where the rate :math:`\rho` is the largest spectral radius of those
matrices.  This module computes it for ``torch.optim.SGD`` exactly as torch updates:

    v <- momentum * v + (1 - dampening) * g      (v = g at the first step)
    x <- x - lr * v                              (heavy ball: beta = momentum, step lr)
    x <- x - lr * (g + momentum * v)             (nesterov=True, after the same v update)

(``g`` includes ``weight_decay * x``).  Per eigenvalue :math:`\lambda`, with
:math:`a = \mathrm{lr}\,(1 - \mathrm{dampening})` and :math:`\beta` = momentum, the error
pair :math:`(e_{k+1}, e_k)` is multiplied by

    heavy ball  [[1 + beta - a lam, -beta], [1, 0]]
    Nesterov    [[(1 + beta)(1 - a lam), -beta (1 - a lam)], [1, 0]]

and plain gradient descent (beta = 0) by :math:`1 - a\lambda`.

    >>> q = Quadratic([1.0, 1000.0], angle=30)
    >>> round(q.kappa)
    1000
    >>> best = optimal(q.mu, q.L, "heavy_ball")
    >>> round(best.rate, 4), round(rate(q.eigenvalues, **best.kwargs), 4)
    (0.9387, 0.9387)
    >>> round(rate(q.eigenvalues, lr=2 / 1001), 6)       # gradient descent at its best step
    0.998002
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ops import is_torch

__all__ = ["Quadratic", "Tuning", "rate", "iteration_matrix", "optimal", "condition_number",
           "METHODS"]

METHODS = ("gd", "heavy_ball", "nesterov")


# ----------------------------------------------------------------------------- checks

def _positive(name: str, value: Any, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r} ({hint})")
    return float(value)


def _array(name: str, value: Any, *, positive: bool = False, low: float | None = None,
           high: float | None = None, hint: str = "") -> np.ndarray:
    """A float array of ``value``, checked: finite, and > 0 or in [low, high) when asked."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got the text "
                        f"{value!r} (no quotes)")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}"
                        ) from None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite numbers, got {value!r}")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {_first(arr, arr <= 0)} ({hint})")
    if low is not None and np.any(arr < low):
        raise ValueError(f"{name} must be >= {low:g}, got {_first(arr, arr < low)} ({hint})")
    if high is not None and np.any(arr >= high):
        raise ValueError(f"{name} must be < {high:g}, got {_first(arr, arr >= high)} ({hint})")
    return arr


def _first(arr: np.ndarray, bad: np.ndarray) -> str:
    return f"{float(arr[bad].reshape(-1)[0]):g}" if arr.ndim else f"{float(arr):g}"


def _eigenvalues(eigenvalues: Any) -> np.ndarray:
    lam = _array("eigenvalues", eigenvalues).reshape(-1)
    return np.sort(lam)


def condition_number(eigenvalues: Any) -> float:
    r""":math:`\kappa = \lambda_{max} / \lambda_{min}` of a positive spectrum.

    >>> condition_number([1.0, 10.0, 1000.0])
    1000.0
    """
    lam = _eigenvalues(eigenvalues)
    if lam[0] <= 0:
        raise ValueError(f"the condition number needs eigenvalues > 0 (a bowl with a unique "
                         f"minimum); the smallest is {lam[0]:g}")
    return float(lam[-1] / lam[0])


# ----------------------------------------------------------------------------- the rate

def _settings(lr: Any, momentum: Any, nesterov: bool, dampening: float,
              weight_decay: float) -> tuple[np.ndarray, np.ndarray, float]:
    lr_ = _array("lr", lr, positive=True, hint="the learning rate; try lr=2 / (mu + L)")
    beta = _array("momentum", momentum, low=0.0, high=1.0,
                  hint="torch's momentum, 0 for plain gradient descent; try 0.9")
    if not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
    damp = float(_array("dampening", dampening, low=0.0, high=1.0, hint="torch's default is 0"))
    wd = float(_array("weight_decay", weight_decay, low=0.0, hint="torch's default is 0"))
    if nesterov and (np.any(beta <= 0) or damp != 0):
        raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (torch.optim.SGD "
                         "refuses anything else); got momentum="
                         f"{momentum!r}, dampening={dampening!r}")
    return lr_ * (1.0 - damp), beta, wd


def _trace_det(lam: float, step: np.ndarray, beta: np.ndarray,
               nesterov: bool) -> tuple[np.ndarray, np.ndarray]:
    """Trace and determinant of the 2x2 iteration matrix for one eigenvalue."""
    if nesterov:
        shrink = 1.0 - step * lam
        return (1.0 + beta) * shrink, beta * shrink
    return 1.0 + beta - step * lam, beta + 0.0 * step


def _spectral_radius(trace: np.ndarray, det: np.ndarray) -> np.ndarray:
    r"""max |z| over the roots of z^2 - trace z + det = 0: real roots (t +- sqrt(t^2 - 4d)) / 2
    give (|t| + sqrt(t^2 - 4d)) / 2; a complex pair has |z|^2 = d."""
    disc = trace * trace - 4.0 * det
    real = (np.abs(trace) + np.sqrt(np.maximum(disc, 0.0))) / 2.0
    return np.where(disc >= 0, real, np.sqrt(np.abs(det)))


def iteration_matrix(eigenvalue: float, lr: float, momentum: float = 0.0, *,
                     nesterov: bool = False, dampening: float = 0.0,
                     weight_decay: float = 0.0) -> np.ndarray:
    """The 2x2 matrix that multiplies the error pair (e_(k+1), e_k) along one eigenvector.

    >>> iteration_matrix(2.0, lr=0.1, momentum=0.5)
    array([[ 1.3, -0.5],
           [ 1. ,  0. ]])
    """
    step, beta, wd = _settings(lr, momentum, nesterov, dampening, weight_decay)
    if step.ndim or beta.ndim:
        raise ValueError("iteration_matrix takes one lr and one momentum (numbers); use rate() "
                         "for arrays of them")
    lam = float(_array("eigenvalue", eigenvalue).reshape(-1)[0]) + wd
    trace, det = _trace_det(lam, step, beta, nesterov)
    return np.array([[float(trace), -float(det)], [1.0, 0.0]])


def rate(eigenvalues: Any, lr: Any, momentum: Any = 0.0, *, nesterov: bool = False,
         dampening: float = 0.0, weight_decay: float = 0.0) -> Any:
    r"""The linear rate of ``torch.optim.SGD`` on a quadratic with these Hessian eigenvalues.

    The largest spectral radius, over the eigenvalues, of the iteration matrix (see the
    module docstring): the error shrinks like :math:`\rho^k` when :math:`\rho < 1`
    (asymptotically: a factor polynomial in k may multiply it where two roots coincide),
    and does not shrink when :math:`\rho \ge 1`.  ``lr`` and ``momentum`` may be arrays
    (they broadcast: a grid of the (lr, momentum) plane gives a grid of rates).

    >>> round(rate([1.0, 1000.0], lr=2 / 1001), 6)       # (kappa - 1) / (kappa + 1)
    0.998002
    >>> float(rate([1.0, 1000.0], lr=0.002))            # lr = 2 / L: oscillates for ever
    1.0
    """
    lam = _eigenvalues(eigenvalues)
    step, beta, wd = _settings(lr, momentum, nesterov, dampening, weight_decay)
    step, beta = np.broadcast_arrays(step, beta)
    worst = np.zeros(step.shape)
    for value in lam:
        worst = np.maximum(worst, _spectral_radius(*_trace_det(value + wd, step, beta,
                                                                nesterov)))
    return float(worst) if worst.ndim == 0 else worst


# ----------------------------------------------------------------------------- the best

@dataclass(frozen=True)
class Tuning:
    """Settings of torch.optim.SGD and the rate they give: ``run(f, x0, "sgd", **t.kwargs)``."""

    method: str
    lr: float
    momentum: float
    rate: float

    @property
    def nesterov(self) -> bool:
        return self.method == "nesterov"

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for torch.optim.SGD (and optilab.optim.run)."""
        out: dict[str, Any] = {"lr": self.lr}
        if self.momentum:
            out["momentum"] = self.momentum
        if self.nesterov:
            out["nesterov"] = True
        return out


def optimal(mu: float, L: float, method: str = "gd") -> Tuning:  # noqa: N803 - L as in papers
    r"""The (lr, momentum) with the smallest rate over every spectrum inside [mu, L].

    * ``"gd"``: lr = 2 / (mu + L), rate (kappa - 1) / (kappa + 1);
    * ``"heavy_ball"`` (torch's momentum): lr = 4 / (sqrt(L) + sqrt(mu))^2,
      momentum = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2, rate (sqrt(kappa) - 1) /
      (sqrt(kappa) + 1) (Polyak, 1964);
    * ``"nesterov"`` (``nesterov=True``): lr = 4 / (3L + mu), momentum = (sqrt(3 kappa + 1) - 2)
      / (sqrt(3 kappa + 1) + 2), rate 1 - 2 / sqrt(3 kappa + 1) (Lessard, Recht and Packard,
      2016, the best Nesterov can do on quadratics).

    >>> t = optimal(1.0, 100.0, "heavy_ball")
    >>> round(t.lr, 6), round(t.momentum, 6), round(t.rate, 6)
    (0.033058, 0.669421, 0.818182)
    """
    mu = _positive("mu", mu, "the smallest eigenvalue of the Hessian")
    L = _positive("L", L, "the largest eigenvalue of the Hessian")  # noqa: N806
    if mu > L:
        raise ValueError(f"mu is the smallest eigenvalue and L the largest: mu <= L, got "
                         f"mu={mu:g}, L={L:g} (swapped?)")
    kappa = L / mu
    if method == "gd":
        return Tuning(method, 2 / (mu + L), 0.0, (kappa - 1) / (kappa + 1))
    if method == "heavy_ball":
        root = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
        return Tuning(method, 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, root ** 2, root)
    if method == "nesterov":
        s = math.sqrt(3 * kappa + 1)
        return Tuning(method, 4 / (3 * L + mu), (s - 2) / (s + 2), 1 - 2 / s)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


# ----------------------------------------------------------------------------- the problem

class Quadratic:
    r""":math:`f(x) = \tfrac12 (x - c)^\top A (x - c)` with a chosen spectrum.

    ``A = Q diag(eigenvalues) Q^T``: in 2D, ``Q`` rotates by ``angle`` degrees (the bowl's
    axes are turned away from the coordinate axes); in any dimension ``basis`` gives ``Q``
    (orthonormal columns).  ``center`` is the minimiser (the origin by default), where f = 0.

    A Quadratic is a function of one point, ready for :func:`optilab.optim.run` with either
    engine (torch tensors, optilab tensors, numpy arrays; points may be stacked along
    leading axes):

    >>> from optilab.optim import run
    >>> q = Quadratic([1.0, 10.0], angle=45)
    >>> t = run(q, [1.0, 1.0], "sgd", lr=0.1, steps=3)
    >>> bool(np.allclose(t.grads[0], q.gradient([1.0, 1.0])))
    True
    """

    def __init__(self, eigenvalues: Any, angle: float = 0.0, center: Any = None, *,
                 basis: Any = None) -> None:
        lam = _array("eigenvalues", eigenvalues).reshape(-1)
        n = lam.size
        if basis is None:
            if n != 2 and angle:
                raise ValueError(f"angle rotates a 2D bowl; with {n} eigenvalues give "
                                 f"basis= (an {n}x{n} orthogonal matrix) instead")
            basis = np.eye(n) if n != 2 else _rotation(angle)
        Q = _array("basis", basis)  # noqa: N806
        if Q.shape != (n, n) or not np.allclose(Q.T @ Q, np.eye(n), atol=1e-10):
            raise ValueError(f"basis must be an orthogonal {n}x{n} matrix (orthonormal "
                             f"eigenvectors as columns), got shape {Q.shape}"
                             + ("" if Q.shape != (n, n) else " with Q^T Q != I"))
        c = np.zeros(n) if center is None else _array("center", center).reshape(-1)
        if c.size != n:
            raise ValueError(f"center must have {n} coordinates (one per eigenvalue), got "
                             f"{c.size}")
        self.eigenvalues, self.basis, self.center = lam, Q, c
        self.A = (Q * lam) @ Q.T
        self._cache: dict[Any, tuple[Any, Any, Any]] = {}

    @classmethod
    def from_matrix(cls, A: Any, center: Any = None) -> Quadratic:  # noqa: N803
        """The quadratic of a symmetric matrix A."""
        M = _array("A", A)  # noqa: N806
        if M.ndim != 2 or M.shape[0] != M.shape[1] or not np.allclose(M, M.T):
            raise ValueError(f"A must be a symmetric square matrix, got shape {M.shape}"
                             + (" (not symmetric: use (A + A.T) / 2, the same f)"
                                if M.ndim == 2 and M.shape[0] == M.shape[1] else ""))
        lam, Q = np.linalg.eigh(M)  # noqa: N806
        return cls(lam, center=center, basis=Q)

    # -- numbers --------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """The number of coordinates."""
        return int(self.eigenvalues.size)

    @property
    def mu(self) -> float:
        """The smallest eigenvalue."""
        return float(self.eigenvalues.min())

    @property
    def L(self) -> float:  # noqa: N802 - the name every text uses
        """The largest eigenvalue (the Lipschitz constant of the gradient)."""
        return float(self.eigenvalues.max())

    @property
    def kappa(self) -> float:
        """The condition number L / mu."""
        return condition_number(self.eigenvalues)

    def gradient(self, x: Any) -> np.ndarray:
        """A (x - c), for numpy points."""
        return (np.asarray(x, dtype=np.float64) - self.center) @ self.A

    def error(self, points: Any) -> np.ndarray:
        """|x - c| for each point (the distance to the minimiser)."""
        return np.linalg.norm(np.asarray(points, dtype=np.float64) - self.center, axis=-1)

    # -- the function ---------------------------------------------------------------------
    def __call__(self, x: Any) -> Any:
        """f at the point x (shape (n,), or (..., n) for many points)."""
        c, Q, lam = self._torch(x) if is_torch(x) else \
            (self.center, self.basis, self.eigenvalues)  # noqa: N806
        shape = tuple(getattr(x, "shape", np.shape(x)))
        if not shape or shape[-1] != self.n:
            raise ValueError(f"this quadratic takes points of {self.n} coordinates (shape "
                             f"({self.n},)), got shape {shape}")
        z = (x - c) @ Q                  # the coordinates along the eigenvectors
        return 0.5 * (lam * z * z).sum(-1)

    def _torch(self, x: Any) -> tuple[Any, Any, Any]:
        """c, Q and the eigenvalues as torch tensors like x (made once per dtype and device)."""
        key = (x.dtype, x.device)
        if key not in self._cache:
            import torch

            self._cache[key] = tuple(torch.as_tensor(a, dtype=x.dtype, device=x.device)
                                     for a in (self.center, self.basis, self.eigenvalues))
        return self._cache[key]

    def test_function(self, x_range: Any = None, y_range: Any = None) -> Any:
        """This 2D quadratic as a :class:`~optilab.functions.TestFunction` f(x, y), for
        ``plot_trajectories`` and the explorers (window: 1.5 around the centre)."""
        from .functions import TestFunction

        if self.n != 2:
            raise ValueError(f"a picture needs a 2D quadratic; this one has {self.n} "
                             f"coordinates")
        cx, cy = self.center
        (a, b), (_, d) = self.A
        formula = (f"\\frac{{1}}{{2}}({a:.4g}\\,u^2 {2 * b:+.4g}\\,uv + {d:.4g}\\,v^2),\\ "
                   f"u = x {-cx:+g},\\ v = y {-cy:+g}" if (cx or cy) else
                   f"\\frac{{1}}{{2}}({a:.4g}\\,x^2 {2 * b:+.4g}\\,xy + {d:.4g}\\,y^2)")
        return TestFunction(
            f"quadratic (kappa = {self.kappa:.4g})",
            lambda x, y: 0.5 * (a * (x - cx) ** 2 + 2 * b * (x - cx) * (y - cy)
                                + d * (y - cy) ** 2),
            formula=formula, x_range=x_range or (cx - 1.5, cx + 1.5),
            y_range=y_range or (cy - 1.5, cy + 1.5), minimizers=[tuple(self.center)], f_min=0.0)

    def __repr__(self) -> str:
        lam = ", ".join(f"{v:g}" for v in self.eigenvalues[:6])
        more = ", ..." if self.n > 6 else ""
        kappa = f", kappa={self.kappa:.4g}" if self.mu > 0 else ""
        return f"Quadratic(eigenvalues=[{lam}{more}]{kappa})"


def _rotation(degrees: float) -> np.ndarray:
    t = math.radians(float(_array("angle", degrees)))
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
