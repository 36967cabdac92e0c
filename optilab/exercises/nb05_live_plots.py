r"""Exercises of notebook 5, "Live plots and sliders": when gradient descent blows up.

* ``q1`` the largest stable learning rate on the bowl :math:`5x^2 + 4xy + 2y^2` (a number,
  checked against the Hessian's eigenvalues and by running gradient descent on both sides);
* ``q2`` the stability limit :math:`2 / \lambda_{max}` of any function at a point, with
  ``ag.hessian`` (what ``Trajectory.summary()`` reports when a run diverges).

    >>> from optilab.exercises.nb05_live_plots import q1
    >>> q1.check(1 / 6).status, q1.check(0.2).mistake
    ('correct', 'ignored_cross_term')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autograd as ag
from ..functions import rosenbrock
from .base import Exercise, Mistake, call
from .diagnose import as_number, compare, compare_function

__all__ = ["q1", "q2", "bowl", "BOWL_HESSIAN"]


def bowl(x: Any, y: Any) -> Any:
    """The tilted bowl of exercise 5.1: :math:`f(x, y) = 5x^2 + 4xy + 2y^2`."""
    return 5 * x ** 2 + 4 * x * y + 2 * y ** 2


#: Its (constant) Hessian: the second derivatives 10, 4 (mixed) and 4.
BOWL_HESSIAN = np.array([[10.0, 4.0], [4.0, 4.0]])


# ----------------------------------------------------------------------------- q1

def _bounded(lr: float, steps: int = 400) -> bool:
    """Does gradient descent on the bowl, from (1, 1), stay bounded at this rate?"""
    p = np.array([1.0, 1.0])
    for _ in range(steps):
        p = p - lr * (BOWL_HESSIAN @ p)
        if not np.all(np.abs(p) < 1e6):
            return False
    return True


def _check_q1(lr_max: Any) -> str:
    value = as_number(lr_max, "lr_max")
    lam_min, lam_max = np.linalg.eigvalsh(BOWL_HESSIAN)
    coefficients = np.linalg.eigvalsh(BOWL_HESSIAN / 2)[-1]
    half_cross = np.linalg.eigvalsh(np.array([[10.0, 2.0], [2.0, 4.0]]))[-1]
    alternatives = {
        "ignored_cross_term": (2 / BOWL_HESSIAN.diagonal().max(),
                               "2/10 uses only the curvature along x; the term 4xy tilts the "
                               "bowl, so the steepest direction is not an axis: take the "
                               "largest eigenvalue of the whole Hessian."),
        "one_over_L": (1 / lam_max, "1/lambda_max is the rate that reaches the minimum in one "
                       "step along the steepest direction, not the largest stable one: "
                       "there a step multiplies the error by 1 - lr lambda_max, which "
                       "shrinks it while lr < 2 / lambda_max (at exactly 2 / lambda_max it "
                       "flips sign forever without shrinking)."),
        "flat_direction": (2 / lam_min, "2/lambda_min uses the flattest direction; the "
                           "steepest one (the largest eigenvalue) breaks first."),
        "coefficients_not_curvature": (2 / coefficients, "the Hessian holds second "
                                       "derivatives: d2/dx2 of 5x^2 is 10, not 5 (the "
                                       "Hessian is twice the matrix of coefficients)."),
        "half_mixed_derivative": (2 / half_cross, "the mixed derivative d2f/dxdy of 4xy is "
                                  "4, not 2."),
    }
    mistake = compare(value, 2 / lam_max, what="lr_max", alternatives=alternatives,
                      rtol=5e-4)                   # 4 significant digits, as the text says
    if mistake:
        below, above = _bounded(0.98 * value), _bounded(1.02 * value)
        seen = ("gradient descent still converges just above your value, so a larger rate "
                "is stable too" if above else "gradient descent already diverges just below "
                "your value" if not below else "the behaviour changes near your value, but "
                "the limit is a formula: 2 / lambda_max")
        raise Mistake(mistake.key, f"{mistake.message.rstrip('.')}. (Tried from (1, 1): "
                      f"{seen}.)")
    assert _bounded(0.98 * value) and not _bounded(1.02 * value)
    return (f"the Hessian [[10, 4], [4, 4]] has eigenvalues {lam_min:g} and {lam_max:g}, so "
            f"gradient descent is stable while lr <= 2/{lam_max:g} = {2 / lam_max:.4g}. "
            f"(Checked by running it: lr = {0.98 * value:.4g} converges, "
            f"{1.02 * value:.4g} diverges.)")


q1 = Exercise(
    "5.1", "The largest stable learning rate of a tilted bowl",
    r"""For $f(x, y) = 5x^2 + 4xy + 2y^2$, gradient descent converges exactly when
$0 < \eta <$ `lr_max`. What is `lr_max`? Set it to a number: a fraction such as `2 / 7`, or
a decimal with 4 significant digits.""",
    answers="lr_max",
    check=_check_q1,
    hints=["Write the Hessian: the second derivatives of f. The mixed one, d2f/dxdy, is not zero "
           "here, so the coordinates do not evolve separately as in exercise 2.4.",
           "Along an eigenvector of the Hessian with eigenvalue lambda, one step multiplies the "
           "error by 1 - lr lambda: it shrinks when |1 - lr lambda| < 1, that is 0 < lr < 2 / "
           "lambda. The steepest direction, lambda_max, breaks first.",
           "H = [[10, 4], [4, 4]]; `np.linalg.eigvalsh(H)` gives its eigenvalues (or solve "
           "lambda^2 - 14 lambda + 24 = 0, trace 14 and determinant 24), and lr_max = 2 / (the "
           "larger one)."],
    solution="""
import numpy as np

H = np.array([[10.0, 4.0], [4.0, 4.0]])      # f_xx = 10, f_xy = 4, f_yy = 4
lr_max = 2 / np.linalg.eigvalsh(H).max()      # eigenvalues 2 and 12: 2 / 12
""",
    stub="""
lr_max = ...   # Exercise 5.1: a number
""",
)


# ----------------------------------------------------------------------------- q2

def rosen(p: Any) -> Any:
    """Rosenbrock's function of one point p = (x, y)."""
    return rosenbrock(p[0], p[1])


def _bowl_point(p: Any) -> Any:
    return bowl(p[0], p[1])


def _quartic(p: Any) -> Any:
    return (p ** 4).sum() / 4 + (p[0] - p[1]) ** 2 + p[2] ** 2


def _eig(f: Any, x: Any) -> np.ndarray:
    H = np.asarray(ag.hessian(f)(np.array(x, dtype=np.float64)))
    return np.linalg.eigvalsh((H + H.T) / 2)


def _hess(f: Any, x: Any) -> np.ndarray:
    return np.asarray(ag.hessian(f)(np.array(x, dtype=np.float64)))


def _check_q2(lr_limit: Any) -> str:
    cases = [(_bowl_point, np.array([1.0, 1.0])), (rosen, np.array([-1.2, 1.0])),
             (rosen, np.array([1.0, 1.0])), (_quartic, np.array([1.0, -2.0, 0.5]))]
    alternatives = {
        "one_over_L": (lambda f, x: 1 / _eig(f, x)[-1],
                       "that is 1/lambda_max; gradient descent stays stable up to twice that, "
                       "2 / lambda_max."),
        "smallest_eigenvalue": (lambda f, x: 2 / _eig(f, x)[0],
                                "you used the smallest eigenvalue (eigvalsh sorts them in "
                                "increasing order: the largest is the last, [-1])."),
        "diagonal_only": (lambda f, x: 2 / _hess(f, x).diagonal().max(),
                          "the diagonal of H ignores the mixed derivatives: take the largest "
                          "eigenvalue of the whole Hessian."),
        "frobenius_norm": (lambda f, x: 2 / np.linalg.norm(_hess(f, x)),
                           "np.linalg.norm(H) is the Frobenius norm (all entries), larger than "
                           "lambda_max: use the eigenvalues."),
        "trace": (lambda f, x: 2 / np.trace(_hess(f, x)),
                  "the trace is the sum of the eigenvalues; the limit uses only the largest."),
    }
    truth = lambda f, x: 2 / _eig(f, x)[-1]
    student = lambda f, x: as_number(call(lr_limit, f, x.copy(), name="lr_limit"),
                                     "lr_limit(f, x)")
    mistake = compare_function(student, truth, cases, what="lr_limit(f, x)",
                               alternatives=alternatives, rtol=1e-6)
    if mistake:
        raise mistake
    return (f"at (-1.2, 1) Rosenbrock's limit is {truth(rosen, cases[1][1]):.4g}, at its "
            f"minimum {truth(rosen, cases[2][1]):.4g}: the curvature, and so the largest "
            f"stable learning rate, changes from place to place.")


q2 = Exercise(
    "5.2", "The stability limit at a point",
    r"""Write `lr_limit(f, x)`: the largest stable learning rate of gradient descent near the
point `x` (a numpy array), $2 / \lambda_{max}$, where $\lambda_{max}$ is the largest
eigenvalue of the Hessian $\nabla^2 f(x)$. `f` takes one point, `f(p)`; use
`ag.hessian(f)(x)`. Assume $\lambda_{max} > 0$.""",
    answers="lr_limit",
    check=_check_q2,
    hints=["Three steps: the Hessian at x, its largest eigenvalue, then 2 divided by it.",
           "`ag.hessian(f)` is a function: `ag.hessian(f)(x)` is the (d, d) numpy array of second "
           "derivatives at x. It is symmetric, so `np.linalg.eigvalsh` gives its real "
           "eigenvalues, in increasing order.",
           "With `H = ag.hessian(f)(x)`, return 2 divided by the largest entry of "
           "`np.linalg.eigvalsh(H)` (`.max()` or `[-1]`)."],
    solution="""
import numpy as np
import optilab.autograd as ag


def lr_limit(f, x):
    return 2 / np.linalg.eigvalsh(ag.hessian(f)(x)).max()
""",
    stub="""
import numpy as np
import optilab.autograd as ag


def lr_limit(f, x):
    raise NotImplementedError("Exercise 5.2: return 2 / (largest eigenvalue of the Hessian)")
""",
)
