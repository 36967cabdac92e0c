r"""Exercises of notebook 8, "Newton's method and Hessians" (with our engine).

* ``q1`` one Newton step, :math:`x - H^{-1} \nabla f(x)` (one step to a quadratic's minimum);
* ``q2`` the Hessian of Rosenbrock's function by hand;
* ``q3`` Newton's method with ``ag.grad`` and ``ag.hessian``, against the reference path;
* ``q4`` a Hessian-vector product by finite differences of the gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autograd as ag
from ..functions import rosenbrock
from .base import Exercise, Mistake, call
from .diagnose import check_path, check_uses_h, compare_function, engine_gradient, to_array

__all__ = ["q1", "q2", "q3", "q4", "rosen"]


def rosen(p: Any) -> Any:
    """Rosenbrock's function of one point p = (x, y): (1 - x)^2 + 100 (y - x^2)^2."""
    return rosenbrock(p[0], p[1])


# ----------------------------------------------------------------------------- q1

def _spd(n: int, seed: int) -> np.ndarray:
    A = np.random.default_rng(seed).normal(size=(n, n))
    return A @ A.T + n * np.eye(n)


def _check_q1(newton_step: Any) -> str:
    rng = np.random.default_rng(8)
    cases = [(rng.normal(size=3), rng.normal(size=3), _spd(3, 1)),
             (rng.normal(size=2), rng.normal(size=2), _spd(2, 2))]
    alternatives = {
        "multiplied_by_hessian": (lambda x, g, H: x - H @ g,
                                  "Newton divides by the Hessian: solve H d = g "
                                  "(np.linalg.solve(H, g)), do not multiply H @ g."),
        "wrong_sign": (lambda x, g, H: x + np.linalg.solve(H, g),
                       "the Newton step goes to x - H^-1 g (against the gradient)."),
        "diagonal_only": (lambda x, g, H: x - g / np.diag(H),
                          "dividing by the diagonal of H ignores its off-diagonal terms: "
                          "solve the full system H d = g."),
        "returned_direction": (lambda x, g, H: -np.linalg.solve(H, g),
                               "you returned the step d = -H^-1 g; return the new point x + d."),
    }
    mistake = compare_function(newton_step, lambda x, g, H: x - np.linalg.solve(H, g), cases,
                               what="newton_step(x, g, H)", alternatives=alternatives)
    if mistake:
        raise mistake
    A, b = _spd(4, 3), np.arange(4.0)            # on a quadratic, one step lands on x*
    x0 = np.ones(4)
    x1 = to_array(call(newton_step, x0, A @ x0 - b, A, name="newton_step"))
    assert np.allclose(A @ x1, b)
    return ("on f = x.A x / 2 - b.x one Newton step from anywhere lands on the minimiser "
            "A^-1 b (checked in 4D).")


q1 = Exercise(
    "8.1", "One Newton step",
    r"""Newton's method jumps to the minimum of the local quadratic model:
$x_{new} = x - H^{-1} g$, with $g = \nabla f(x)$ and $H = \nabla^2 f(x)$. Write
`newton_step(x, g, H)` (numpy arrays). Do not invert H: solve the linear system.""",
    answers="newton_step",
    check=_check_q1,
    hints=["H^-1 g is the vector d that solves the linear system H d = g.",
           "Solving is cheaper and more accurate than inverting: `np.linalg.solve(H, g)` returns "
           "d without ever forming H^-1.",
           "Subtract that d from x: x - `np.linalg.solve(H, g)`."],
    solution="""
import numpy as np


def newton_step(x, g, H):
    return x - np.linalg.solve(H, g)
""",
    stub="""
import numpy as np


def newton_step(x, g, H):
    raise NotImplementedError("Exercise 8.1: return x - H^-1 g (solve, do not invert)")
""",
)


# ----------------------------------------------------------------------------- q2

def _check_q2(rosenbrock_hessian: Any) -> str:
    points = [(-1.2, 1.0), (0.5, -0.3), (1.0, 1.0), (2.0, 3.0)]
    truth = lambda x, y: ag.hessian(rosen)(np.array([x, y]))
    alternatives = {
        "gauss_newton_only": (lambda x, y: np.array([[2 + 800 * x * x, -400 * x],
                                                     [-400 * x, 200.0]]),
                              "d2/dx2 of 100 (y - x^2)^2 has two terms: 800 x^2 from the "
                              "product rule and -400 (y - x^2); you dropped the second."),
        "off_diagonal_sign": (lambda x, y: np.array([[1200 * x * x - 400 * y + 2, 400 * x],
                                                     [400 * x, 200.0]]),
                              "the mixed derivative d2f/dxdy = -400 x (the sign comes from "
                              "the -x^2 inside the square)."),
        "forgot_first_term": (lambda x, y: np.array([[1200 * x * x - 400 * y, -400 * x],
                                                     [-400 * x, 200.0]]),
                              "(1 - x)^2 contributes 2 to d2f/dx2."),
    }
    mistake = compare_function(rosenbrock_hessian, truth, points,
                               what="rosenbrock_hessian(x, y)", alternatives=alternatives)
    if mistake:
        raise mistake
    return ("matches ag.hessian at four points; at the minimum (1, 1) its eigenvalues are "
            "about 0.4 and 1002: a condition number of 2500, why gradient descent crawls.")


q2 = Exercise(
    "8.2", "Rosenbrock's Hessian by hand",
    r"""For $f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$, write `rosenbrock_hessian(x, y)`
returning the 2x2 numpy array of second derivatives. The check compares with
`ag.hessian`.""",
    answers="rosenbrock_hessian",
    check=_check_q2,
    hints=["First the gradient: differentiate f in x and in y. Then differentiate each of its two "
           "components again.",
           "df/dx = -2(1 - x) - 400 x (y - x^2) and df/dy = 200 (y - x^2). Differentiate each in "
           "x and in y; the term -400 x (y - x^2) needs the product rule. The matrix is "
           "symmetric.",
           "f_xx = 2 - 400 (y - x^2) + 800 x^2, f_xy = f_yx = -400 x, f_yy = 200: return "
           "`np.array([[f_xx, f_xy], [f_xy, f_yy]])`."],
    solution="""
import numpy as np


def rosenbrock_hessian(x, y):
    return np.array([[2 - 400 * (y - x ** 2) + 800 * x ** 2, -400 * x],
                     [-400 * x, 200.0]])
""",
    stub="""
import numpy as np


def rosenbrock_hessian(x, y):
    raise NotImplementedError("Exercise 8.2: return the 2x2 Hessian at (x, y)")
""",
)


# ----------------------------------------------------------------------------- q3

def _newton_path(f: Any, x0: Any, steps: int, sign: float = -1.0) -> np.ndarray:
    x = np.array(x0, dtype=np.float64)
    points = [x.copy()]
    for _ in range(steps):
        x = x + sign * np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x))
        points.append(x.copy())
    return np.array(points)


def _gd_path(f: Any, x0: Any, steps: int, lr: float = 1.0) -> np.ndarray:
    x = np.array(x0, dtype=np.float64)
    points = [x.copy()]
    for _ in range(steps):
        x = x - lr * engine_gradient(f, x)
        points.append(x.copy())
    return np.array(points)


def _check_q3(newton: Any) -> str:
    x0, steps = [-1.2, 1.0], 6
    path = call(newton, rosen, np.array(x0), steps, name="newton")
    reference = _newton_path(rosen, x0, steps)
    variants = {
        "wrong_sign": (_newton_path(rosen, x0, steps, sign=1.0),
                       "x + H^-1 g moves the wrong way: x - H^-1 g."),
        "gradient_step": (_gd_path(rosen, x0, steps),
                          "those are gradient steps x - g; Newton's step is x - H^-1 g."),
    }
    mistake = check_path(path, reference, what="newton(rosen, [-1.2, 1], 6)", variants=variants,
                         rtol=1e-8, atol=1e-10)
    if mistake:
        raise mistake
    end = reference[-1]
    return (f"six Newton steps take Rosenbrock from (-1.2, 1) to ({end[0]:.6f}, {end[1]:.6f}); "
            f"gradient descent needs thousands.")


q3 = Exercise(
    "8.3", "Newton's method",
    r"""Write `newton(f, x0, steps)`: from the numpy point `x0`, take `steps` Newton steps
$x \leftarrow x - \nabla^2 f(x)^{-1} \nabla f(x)$, with `ag.grad(f)` and `ag.hessian(f)`.
Return the `steps + 1` points.""",
    answers="newton",
    check=_check_q3,
    hints=["It is the gradient-descent loop with Newton's step in place of the gradient step; "
           "record x_0 and every point after it.",
           "At each point: g = `ag.grad(f)(x)` and H = `ag.hessian(f)(x)` (numpy arrays when x is "
           "one), then x becomes x - d with d the solution of H d = g, the step of exercise 8.1.",
           "Start from `x = np.array(x0, dtype=float)` and `points = [x.copy()]`; `steps` times: "
           "`x = x - np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x))` and append `x.copy()`; "
           "return `np.array(points)`."],
    solution="""
import numpy as np
import optilab.autograd as ag


def newton(f, x0, steps):
    x = np.array(x0, dtype=float)
    points = [x.copy()]
    for _ in range(steps):
        x = x - np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x))
        points.append(x.copy())
    return np.array(points)
""",
    stub="""
import numpy as np
import optilab.autograd as ag


def newton(f, x0, steps):
    raise NotImplementedError("Exercise 8.3: return the points of `steps` Newton steps")
""",
)


# ----------------------------------------------------------------------------- q4

def _check_q4(hvp_fd: Any) -> str:
    grad = ag.grad(rosen)
    points = [np.array([-1.2, 1.0]), np.array([0.3, 0.8])]
    directions = [np.array([1.0, 0.0]), np.array([0.6, -0.8])]
    for x, v in zip(points, directions):            # close to the exact H v at the default h
        got = to_array(call(hvp_fd, grad, x.copy(), v.copy(), name="hvp_fd"))
        exact = ag.hvp(rosen)(x, v)
        if got.shape == exact.shape and np.allclose(got, 2 * exact, rtol=1e-4):
            raise Mistake("factor", "your product is twice H v: the central difference "
                          "divides by 2h.")
        if got.shape == exact.shape and np.allclose(got, -exact, rtol=1e-4):
            raise Mistake("wrong_sign", "the central difference is grad(x + h v) - "
                          "grad(x - h v), in that order.")
    check_uses_h(hvp_fd, (grad, points[0], directions[0]), "hvp_fd")
    h = 1e-3                      # a large h tells central (O(h^2)) from forward (O(h)) apart
    central = lambda g, x, v, h: (g(x + h * v) - g(x - h * v)) / (2 * h)
    alternatives = {
        "forward_difference": (lambda g, x, v, h: (g(x + h * v) - g(x)) / h,
                               "you used a forward difference (grad(x + h v) - grad(x)) / h, "
                               "error O(h); the central one is O(h^2)."),
        "missing_direction": (lambda g, x, v, h: (g(x + h) - g(x - h)) / (2 * h),
                              "move x along v: grad(x + h v), not grad(x + h)."),
    }
    mistake = compare_function(hvp_fd, central,
                               [(grad, x, v, h) for x, v in zip(points, directions)],
                               what="hvp_fd(grad, x, v, h=1e-3)", alternatives=alternatives,
                               rtol=1e-7, atol=1e-9)
    if mistake:
        raise mistake
    return "H v from two gradients, without ever forming H (ag.hvp agrees)."


q4 = Exercise(
    "8.4", "A Hessian-vector product from two gradients",
    r"""The Hessian times a vector is the derivative of the gradient along $v$:
$H v \approx \dfrac{\nabla f(x + h v) - \nabla f(x - h v)}{2h}$. Write
`hvp_fd(grad, x, v, h=1e-5)` where `grad` is a gradient function (like `ag.grad(f)`).
The check compares with `ag.hvp`.""",
    answers="hvp_fd",
    check=_check_q4,
    hints=["`grad` is a function that returns a vector: evaluate it at two points, on either side "
           "of x along v.",
           "A central difference along the direction v: the two points are x + h v and x - h v, "
           "and the difference of their gradients divided by 2h approximates H v, with an error "
           "O(h^2).",
           "Return (`grad(x + h * v)` - `grad(x - h * v)`) / (2 * h), with the h you are given."],
    solution="""
def hvp_fd(grad, x, v, h=1e-5):
    return (grad(x + h * v) - grad(x - h * v)) / (2 * h)
""",
    stub="""
def hvp_fd(grad, x, v, h=1e-5):
    raise NotImplementedError("Exercise 8.4: return the central difference of grad along v")
""",
)
