"""The problem: normalised distances, the criterion written once for numpy/torch/optilab,
random starts, and the criterion's closed-form gradient (also as one fused primitive)."""

from __future__ import annotations

from typing import Any

import numpy as np

# ------------------------------------------------------------------------------ the problem

def normalise(d: Any) -> Any:
    r"""Divide distances by their Frobenius norm, :math:`D / (\sum_{ij} d_{ij}^2)^{1/2}`.

    Works for numpy arrays, torch tensors and optilab Tensors (the result has the input's type).

        >>> D = normalise(np.array([[0.0, 3.0], [3.0, 0.0]]))
        >>> round(float(np.linalg.norm(D)), 12)
        1.0
    """
    if isinstance(d, (list, tuple)):
        d = np.asarray(d, dtype=np.float64)
    norm = (d ** 2).sum() ** 0.5
    value = float(norm.item() if hasattr(norm, "item") else norm)
    if not value > 0:
        raise ValueError(
            f"cannot normalise distances whose Frobenius norm is {value}: expected at "
            "least one non-zero (and no NaN) distance. Check the matrix you passed."
        )
    return d / norm


def _like(D: Any, X: Any) -> Any:
    """Make constant distances usable with X's engine (torch wants a tensor, not an ndarray)."""
    if isinstance(D, (list, tuple)):
        D = np.asarray(D, dtype=np.float64)
    if isinstance(D, np.ndarray) and not isinstance(X, np.ndarray) and hasattr(X, "new_tensor"):
        return X.new_tensor(D)          # torch: same dtype and device as X
    return D


def criterion(X: Any, D: Any) -> Any:
    r"""The stress :math:`f(X) = \sum_{i<j} (\|x_i - x_j\|^2 - d_{ij}^2)^2`.

    ``X`` is ``(n, k)`` (one row per city; ``k = 2`` for a map) as a numpy array, a
    ``torch.Tensor`` or an ``optilab.autograd.Tensor``; ``D`` is the ``(n, n)`` distance matrix,
    normally ``normalise(load_cities().distances)``. The result is a scalar of X's type, so
    ``criterion(X, D).backward()`` works with either engine.

        >>> X = np.array([[0.0, 0.0], [3.0, 4.0]])
        >>> float(criterion(X, np.array([[0.0, 5.0], [5.0, 0.0]])))
        0.0
    """
    if isinstance(X, (list, tuple)):
        X = np.asarray(X, dtype=np.float64)
    D = _like(D, X)
    if len(X.shape) != 2 or len(D.shape) != 2 or X.shape[0] != D.shape[0]:
        raise ValueError(
            f"criterion expects X of shape (n, 2), one row per city, and D of shape (n, n), got "
            f"X {tuple(X.shape)} and D {tuple(D.shape)}. Try X = random_start(n) with "
            "n = len(D)."
        )
    squared = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)   # |x_i - x_j|^2, (n, n)
    return ((squared - D ** 2) ** 2).sum() / 2                  # i<j: half the symmetric sum


def random_start(n: int = 36, seed: int | None = 0, dim: int = 2) -> np.ndarray:
    """Random starting positions: ``(n, dim)`` standard normal, divided by its Frobenius norm.

    Seeded through a numpy ``Generator``, so the same seed gives the same start on every machine.
    Turn it into a tensor for an engine, e.g. ``torch.tensor(X0, requires_grad=True)``.

        >>> X0 = random_start(36, seed=1)
        >>> X0.shape, round(float(np.linalg.norm(X0)), 12)
        ((36, 2), 1.0)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (the number of cities), got {n!r}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer (2 for a map), got {dim!r}")
    X = np.random.default_rng(seed).standard_normal((int(n), int(dim)))
    return X / np.linalg.norm(X)


# ------------------------------------------------------------------------------ the gradient

def _residuals(X: Any, D2: Any) -> Any:
    """:math:`r_{ij} = \\|x_i - x_j\\|^2 - d_{ij}^2` for X of shape (n, 2), numpy or optilab.

    One coordinate at a time: numpy reduces a length-2 last axis slowly, and two (n, n)
    products are cheaper than an (n, n, 2) array and its sum.
    """
    x, y = X[:, 0], X[:, 1]
    dx = x[:, None] - x[None, :]
    dy = y[:, None] - y[None, :]
    return dx * dx + dy * dy - D2


def _closed_form(X: Any, r: Any) -> Any:
    """:math:`4 (\\mathrm{diag}(R\\,1)\\, X - R X)`, the gradient from the residuals R."""
    return 4 * (r.sum(1)[:, None] * X - r @ X)


def gradient(X: Any, D: Any) -> np.ndarray:
    r"""The gradient of :func:`criterion` by its closed form, in numpy.

    .. math::

        \nabla_{x_i} f = 4 \sum_j r_{ij} (x_i - x_j)
                       = 4 \Big( \big(\textstyle\sum_j r_{ij}\big) x_i - (R X)_i \Big),
        \qquad\text{i.e.}\qquad \nabla f = 4\,(\mathrm{diag}(R\mathbf{1})\,X - R X),

    with :math:`R = (r_{ij})`, :math:`r_{ij} = \|x_i - x_j\|^2 - d_{ij}^2`. The matrix form is
    one (n, n) @ (n, 2) product instead of an (n, n, 2) array. Use it to check a gradient
    derived by hand, or an engine's.

        >>> from optilab.cities import load_cities
        >>> X, D = random_start(36, seed=0), normalise(load_cities().distances)
        >>> import optilab.autograd as ag
        >>> bool(np.allclose(gradient(X, D), ag.grad(lambda X: criterion(X, D))(X)))
        True
    """
    X = np.asarray(X, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or D.shape != (len(X), len(X)):
        raise ValueError(f"gradient expects X of shape (n, 2) and D of shape (n, n), got X "
                         f"{X.shape} and D {D.shape}")
    return _closed_form(X, _residuals(X, D ** 2))


def _make_stress_primitive() -> Any:
    """``_stress(P, D2)``: the criterion as one primitive of our engine (see :func:`stress`)."""
    import optilab.autograd as ag

    saved: list[Any] = [None, None, None]   # the last forward's (P bytes, D2, residuals)

    @ag.primitive
    def _stress(P: np.ndarray, D2: np.ndarray) -> np.ndarray:
        r = _residuals(P.reshape(-1, 2), D2)
        saved[:] = [P.tobytes(), D2, r]     # for the backward pass (torch: save_for_backward)
        return np.asarray(0.5 * np.vdot(r, r))

    def rule(g: Any, ans: Any, P: Any, D2: Any) -> Any:
        # operators only: on raw arrays for a gradient, on Tensors for a Hessian
        X = P.reshape(-1, 2)
        same = isinstance(P, np.ndarray) and saved[1] is D2 and saved[0] == P.tobytes()
        r = saved[2] if same else _residuals(X, D2)
        return (g * _closed_form(X, r)).reshape(P.shape)

    return ag.defvjp(_stress, rule, None)


_STRESS = _make_stress_primitive()


def stress(X: Any, D: np.ndarray) -> Any:
    r""":func:`criterion` as **one primitive** of our engine, with the closed-form gradient.

    Same value, :math:`f(X) = \sum_{i<j} r_{ij}^2 = \tfrac12 \langle R, R \rangle`, but our
    engine records one node instead of criterion's ten, and the node's derivative rule (its
    vector-Jacobian product, registered with ``defvjp``) is the hand-derived
    :math:`\bar f \cdot 4\,(\mathrm{diag}(R\mathbf{1})\,X - R X)` (see :func:`gradient`). That is
    what a fused kernel is: about three times faster for gradient descent at n = 36, and still
    differentiable twice (the rule is written with operators, so ``ag.hessian`` works).

    ``X`` is an optilab Tensor or a numpy array, of shape (n, 2) or flat (2n,) (as
    :func:`optilab.optim.run` passes it); ``D`` the normalised numpy distance matrix.
    For torch, use :func:`criterion`.

        >>> import optilab.autograd as ag
        >>> from optilab.cities import load_cities
        >>> X, D = random_start(36, seed=0), normalise(load_cities().distances)
        >>> value, g = ag.value_and_grad(lambda p: stress(p, D))(X.ravel())
        >>> round(float(value), 4), g.shape, bool(np.allclose(g, gradient(X, D).ravel()))
        (3.8319, (72,), True)
    """
    if type(X).__module__.startswith("torch"):
        raise TypeError("stress is a primitive of optilab.autograd (numpy); for a torch tensor "
                        "use criterion(X.reshape(-1, 2), D), which torch differentiates")
    D = np.asarray(D, dtype=np.float64)
    if 2 * len(D) != int(np.prod(X.shape)) or D.shape != (len(D), len(D)):
        raise ValueError(f"stress expects X with 2n numbers ((n, 2) or flat) and D of shape "
                         f"(n, n), got X {tuple(X.shape)} and D {D.shape}")
    return _STRESS(X, D ** 2)
