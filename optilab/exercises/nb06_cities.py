r"""Exercises of notebook 6, "The city map".

* ``q1`` the S-stress criterion :math:`f(X) = \sum_{i<j} (\|x_i - x_j\|^2 - d_{ij}^2)^2`;
* ``q2`` its gradient by hand, :math:`\nabla_{x_i} f = 4 \sum_j r_{ij} (x_i - x_j)`;
* ``q3`` a learning rate that draws the map in 300 steps without diverging.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autograd as ag
from ..cities import criterion as _criterion
from ..cities import load_cities, normalise, random_start
from .base import Exercise, Mistake, call
from .diagnose import as_number, compare_function, engine_gradient, to_array

__all__ = ["q1", "q2", "q3", "distances", "TARGET", "STEPS"]


def distances(n: int | None = None) -> np.ndarray:
    """The normalised distance matrix of the first ``n`` cities (all 36 by default)."""
    D = load_cities().distances
    return normalise(D if n is None else D[:n, :n])


def _grad(X: np.ndarray, D: np.ndarray) -> np.ndarray:
    diff = X[:, None, :] - X[None, :, :]
    r = (diff ** 2).sum(-1) - D ** 2
    return 4 * (r[:, :, None] * diff).sum(1)


def _small_problems() -> list[tuple[np.ndarray, np.ndarray]]:
    D = distances(7)
    return [(random_start(7, seed=s), D) for s in (1, 2)]


# ----------------------------------------------------------------------------- q1

def _check_q1(criterion: Any) -> str:
    problems = _small_problems()
    sq = lambda X: ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    alternatives = {
        "ordered_pairs": (lambda X, D: 2 * _criterion(X, D),
                          "you summed over all ordered pairs (i, j) and (j, i), which counts "
                          "each pair twice: the sum is over i < j (divide by 2)."),
        "distances_not_squared": (lambda X, D: (np.triu(np.sqrt(sq(X)) - D, 1) ** 2).sum(),
                                  "the criterion compares squared distances, "
                                  "|x_i - x_j|^2 - d_ij^2, not the distances themselves."),
        "residual_not_squared": (lambda X, D: np.triu(sq(X) - D ** 2, 1).sum(),
                                 "square each residual before summing, or positive and "
                                 "negative errors cancel."),
    }
    mistake = compare_function(criterion, lambda X, D: float(_criterion(X, D)), problems,
                               what="criterion(X, D)", alternatives=alternatives)
    if mistake:
        raise mistake
    X, D = problems[0]                      # the engine must be able to differentiate it
    got = ag.grad(lambda t: call(criterion, t, D, name="criterion"))(X)
    if not np.allclose(got, _grad(X, D), rtol=1e-8, atol=1e-12):
        raise Mistake("not_differentiable", "the values are right, but the engine's gradient "
                      "of your criterion is not: use only tensor operations on X.")
    return "right values, and the engine differentiates it (try ag.grad(criterion)(X, D))."


q1 = Exercise(
    "6.1", "The map's criterion",
    r"""Write `criterion(X, D)` $= \sum_{i<j} \left(\|x_i - x_j\|^2 - d_{ij}^2\right)^2$ for
points `X` of shape (n, 2) and distances `D` (n, n), with operations that work on numpy
arrays and on our Tensors alike (broadcasting, `**`, `.sum()`), so the engine can
differentiate it.""",
    answers="criterion",
    check=_check_q1,
    hints=["Avoid a double loop: compute all the differences x_i - x_j at once, with "
           "broadcasting.",
           "`X[:, None, :] - X[None, :, :]` is the (n, n, 2) array of differences x_i - x_j. "
           "Square it and sum over the last axis: the (n, n) matrix of squared distances. "
           "Subtract D ** 2 and square again: the squared residual of every ordered pair (i, j).",
           "Summing those over all (i, j) counts each pair twice, as (i, j) and as (j, i) (the "
           "diagonal is 0): halve the sum. Use `.sum()` and `**`, which Tensors have too."],
    solution="""
def criterion(X, D):
    squared = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    return ((squared - D ** 2) ** 2).sum() / 2
""",
    stub="""
def criterion(X, D):
    raise NotImplementedError("Exercise 6.1: return the sum over i < j of the squared residuals")
""",
)


# ----------------------------------------------------------------------------- q2

def _check_q2(criterion_grad: Any) -> str:
    problems = _small_problems()
    alternatives = {
        "ordered_pairs": (lambda X, D: 2 * _grad(X, D),
                          "twice the gradient: the sum over i < j counts each pair once, "
                          "so each x_i collects 4 r_ij (x_i - x_j) from every j."),
        "wrong_axis": (lambda X, D: -_grad(X, D),
                       "minus the gradient: summing over the wrong axis gives exactly that "
                       "(sum(0) adds r_ij (x_i - x_j) over i, and since r is symmetric and "
                       "x_i - x_j antisymmetric, that is minus x_j's gradient), and so does "
                       "diff = x_j - x_i. The gradient of x_i sums over j: .sum(1) with "
                       "diff = X[:, None, :] - X[None, :, :]."),
    }
    mistake = compare_function(criterion_grad,
                               lambda X, D: engine_gradient(lambda t: _criterion(t, D), X),
                               problems, what="criterion_grad(X, D)",
                               alternatives=alternatives, rtol=1e-7, atol=1e-12)
    if mistake:
        raise mistake
    return "your gradient matches the engine's on two random maps of 7 cities."


q2 = Exercise(
    "6.2", "The criterion's gradient, by hand",
    r"""With $r_{ij} = \|x_i - x_j\|^2 - d_{ij}^2$, the gradient of the criterion with
respect to the point $x_i$ is $4 \sum_j r_{ij} (x_i - x_j)$. Write `criterion_grad(X, D)`
returning the (n, 2) array of these gradients, with numpy (no loop needed).""",
    answers="criterion_grad",
    check=_check_q2,
    hints=["Reuse the broadcasting of exercise 6.1: you need r_ij for every pair, and the "
           "differences x_i - x_j.",
           "diff = `X[:, None, :] - X[None, :, :]` is (n, n, 2), and r = (diff ** 2).sum(-1) - D "
           "** 2 is (n, n). For x_i, sum r_ij (x_i - x_j) over j: multiply `r[:, :, None] * diff` "
           "and sum over the axis of j.",
           "Axis 0 is i (the row of the result), axis 1 is j: `4 * (r[:, :, None] * "
           "diff).sum(1)`. Summing over axis 0 would give the sum over i, the opposite sign here."],
    solution="""
def criterion_grad(X, D):
    diff = X[:, None, :] - X[None, :, :]
    r = (diff ** 2).sum(-1) - D ** 2
    return 4 * (r[:, :, None] * diff).sum(1)
""",
    stub="""
def criterion_grad(X, D):
    raise NotImplementedError("Exercise 6.2: return the (n, 2) gradient")
""",
)


# ----------------------------------------------------------------------------- q3

TARGET, STEPS = 1e-3, 300


def _run(lr: float) -> tuple[str, int, float]:
    D, X = distances(), random_start(36, seed=0)
    for k in range(STEPS):
        X = X - lr * _grad(X, D)
        if not np.all(np.isfinite(X)) or np.abs(X).max() > 1e3:
            return "diverged", k + 1, float("inf")
    return "ran", STEPS, float(_criterion(X, D))


def _check_q3(lr: Any) -> str:
    value = as_number(lr, "lr")
    if not value > 0:
        raise Mistake("not_positive", f"a learning rate is positive, got {value:g}.")
    status, k, f = _run(value)
    if status == "diverged":
        D, X0 = distances(), random_start(36, seed=0)
        H = ag.hessian(lambda v: _criterion(v.reshape(36, 2), D))(X0.reshape(-1))
        lam = float(np.linalg.eigvalsh(to_array(H)).max())
        raise Mistake("lr_too_big", f"with lr = {value:g} gradient descent diverges (at step "
                      f"{k}): the learning rate is too big. At the start the largest Hessian "
                      f"eigenvalue is {lam:.3g}, so steps are stable for lr < 2 / {lam:.3g} = "
                      f"{2 / lam:.3g}.")
    if f >= TARGET:
        raise Mistake("lr_too_small", f"with lr = {value:g} the criterion is still {f:.3g} "
                      f"after {STEPS} steps (the goal is {TARGET:g}): the learning rate is too "
                      f"small; try a larger one.")
    return (f"with lr = {value:g}, f = {f:.3g} after {STEPS} steps: the map has the right "
            f"size, though still tangled; untangling it takes thousands more steps.")


q3 = Exercise(
    "6.3", "A learning rate for the map",
    r"""Gradient descent on the 36 cities from `random_start(36, seed=0)` should bring the
criterion below `TARGET` = 1e-3 within `STEPS` = 300 steps. Find a learning rate that does
it (set `lr`), by trying a few: too small is slow, too big diverges.""",
    answers="lr",
    check=_check_q3,
    hints=["Try a few rates spaced by factors of 10 (0.001, 0.01, 0.1) and compare f after the "
           "300 steps.",
           "Too small a rate leaves f above TARGET after 300 steps; too large a one makes f blow "
           "up to inf. Keep the largest rate that still goes down, then refine between it and the "
           "next one.",
           "Anything from 0.01 to 0.05 works; 0.005 is too slow and 0.1 diverges within 10 steps."],
    solution="""
lr = 0.02
""",
    stub="""
lr = ...   # Exercise 6.3: a learning rate
""",
)
