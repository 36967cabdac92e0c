r"""Exercises of notebook 2, "Gradient descent by hand" (with our engine, optilab.autograd).

* ``q1`` one step of gradient descent, :math:`x - \eta \nabla f(x)`;
* ``q3`` the whole loop with ``backward()`` (zeroing the gradient each step);
* ``q4`` the largest stable learning rate for :math:`x^2 + 5y^2`;
* ``q2`` the slope of the log-error plot on :math:`x^2`;
* ``q6`` the gradient of the perceptron's loss on two blobs, by hand;
* ``q5`` which of four starts reaches the global minimum of a non-convex function.

    >>> from optilab.exercises.nb02_gradient_descent import q4
    >>> q4.check(0.2).status
    'correct'
    >>> q4.check(0.1).mistake
    'one_over_L'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..functions import gaussian_well
from .base import Exercise, Mistake, call
from .diagnose import (
    as_number,
    check_gd_path,
    check_gradient,
    compare,
    compare_function,
    engine_gradient,
    to_array,
)

__all__ = ["q1", "q3", "q4", "q2", "q6", "q5", "blobs", "well", "STARTS", "WELL_LR",
           "WELL_STEPS"]


def _quadratic_1d(x: Any) -> Any:
    return (x - 3) ** 2


def _bowl(p: Any) -> Any:
    return p[0] ** 2 + 5 * p[1] ** 2


def well(p: Any) -> Any:
    """The non-convex 2D function of this notebook, taking one point ``p = (x, y)``."""
    return gaussian_well(p[0], p[1])


# ----------------------------------------------------------------------------- q1

def _check_q1(gd_step: Any) -> str:
    cases = [(_quadratic_1d, 1.0, 0.1), (_bowl, np.array([1.0, -2.0]), 0.05),
             (well, np.array([0.5, 0.3]), 0.2)]
    truth = lambda f, x, lr: np.asarray(x) - lr * engine_gradient(f, x)
    alternatives = {
        "wrong_sign": (lambda f, x, lr: np.asarray(x) + lr * engine_gradient(f, x),
                       "you went uphill: x + lr * grad is gradient ascent; descent subtracts."),
        "missing_lr": (lambda f, x, lr: np.asarray(x) - engine_gradient(f, x),
                       "the step is missing the learning rate: x - lr * grad."),
        "returned_gradient": (lambda f, x, lr: engine_gradient(f, x),
                              "you returned the gradient; return the new point x - lr * grad."),
        "no_step": (lambda f, x, lr: np.asarray(x, dtype=float),
                    "you returned x unchanged: move it by -lr * grad."),
        "returned_step": (lambda f, x, lr: lr * engine_gradient(f, x),
                          "you returned the step lr * grad; return the new point x - lr * grad."),
    }
    mistake = compare_function(gd_step, truth, cases, what="gd_step(f, x, lr)",
                               alternatives=alternatives)
    if mistake:
        raise mistake
    return "gd_step moves against the gradient by lr times its length."


q1 = Exercise(
    "2.1", "One step of gradient descent",
    r"""Write `gd_step(f, x, lr)` returning the next point of gradient descent,
$x - \eta \nabla f(x)$, where `ag.grad(f)(x)` gives $\nabla f(x)$ with our engine.
`x` is a number or a numpy array.""",
    answers="gd_step",
    check=_check_q1,
    hints=["`ag.grad(f)` is a function: call it at `x` to get the gradient of f there.",
           "Descent goes against the gradient: the new point is the old one minus lr times the "
           "gradient.",
           "One line: return x minus lr times `ag.grad(f)(x)`. Build a new array (`x - ...`); do "
           "not change the x you were given in place (`x -= ...` changes the caller's array too)."],
    solution="""
import optilab.autograd as ag


def gd_step(f, x, lr):
    return x - lr * ag.grad(f)(x)
""",
    stub="""
import optilab.autograd as ag


def gd_step(f, x, lr):
    raise NotImplementedError("Exercise 2.1: return the point x - lr * (gradient of f at x)")
""",
)


# ----------------------------------------------------------------------------- q2

def _measured_slope(lr: float, steps: int = 20) -> float:
    """Run gradient descent on x^2 from 1 and fit the slope of log10 |x_k - 0|."""
    x, logs = 1.0, [0.0]
    for _ in range(steps):
        x = x - lr * 2 * x
        logs.append(np.log10(abs(x)))
    return float(np.polyfit(np.arange(steps + 1), logs, 1)[0])


def _check_q2(log_error_slope: Any) -> str:
    lrs = [(0.1,), (0.25,), (0.4,), (0.7,), (0.9,)]
    alternatives = {
        "natural_log": (lambda lr: np.log(abs(1 - 2 * lr)),
                        "you used the natural log; the plot's axis is log10 (divide by ln 10)."),
        "missing_factor_2": (lambda lr: np.log10(abs(1 - lr)),
                             "f'(x) = 2x: a step multiplies x by 1 - 2 lr, not 1 - lr."),
        "factor_not_slope": (lambda lr: abs(1 - 2 * lr),
                             "that is the factor |x_{k+1}| / |x_k|; the slope of log10 "
                             "|x_k| is its log10."),
        "missing_abs": (lambda lr: np.log10(1 - 2 * lr) if lr < 0.5 else np.nan,
                        "for lr > 1/2 the factor 1 - 2 lr is negative (x overshoots and "
                        "changes sign each step): take the absolute value."),
    }
    mistake = compare_function(log_error_slope, _measured_slope, lrs,
                               what="log_error_slope(lr)", alternatives=alternatives, rtol=1e-6)
    if mistake:
        raise mistake
    return ("log10 |x_k| falls by log10|1 - 2 lr| per step: a straight line whose slope is "
            "steepest at lr = 1/2 (one step to the minimum).")


q2 = Exercise(
    "2.2", "The slope of the log-error plot",
    r"""On $f(x) = x^2$ gradient descent with learning rate $\eta$ makes $\log_{10}|x_k - x^*|$
a straight line in $k$. Write `log_error_slope(lr)` returning its slope (for any
$0 < \eta < 1$, $\eta \ne 1/2$).""",
    answers="log_error_slope",
    check=_check_q2,
    hints=["Write one gradient step on f(x) = x^2 by hand: f'(x) = 2x. How does x_(k+1) relate to "
           "x_k?",
           "x_(k+1) = x_k - 2 lr x_k = (1 - 2 lr) x_k, so |x_k| = |1 - 2 lr|^k |x_0| (the minimum "
           "is x* = 0). Take log10 of both sides: a straight line in k.",
           "log10|x_k| = k log10|1 - 2 lr| + log10|x_0|: the slope is what multiplies k. Mind the "
           "absolute value (1 - 2 lr < 0 when lr > 1/2) and the base (`np.log10`, not `np.log`)."],
    solution="""
import numpy as np


def log_error_slope(lr):
    return np.log10(abs(1 - 2 * lr))
""",
    stub="""
import numpy as np


def log_error_slope(lr):
    raise NotImplementedError("Exercise 2.2: return the slope of log10|x_k| against k")
""",
)


# ----------------------------------------------------------------------------- q3

def _check_q3(gradient_descent: Any) -> str:
    problems = [(_quadratic_1d, 0.0, 0.1, 12), (well, np.array([1.0, -0.5]), 0.2, 15)]
    for f, x0, lr, steps in problems:
        path = call(gradient_descent, f, x0, lr, steps)
        grad = lambda x, f=f: engine_gradient(f, x)
        mistake = check_gd_path(path, grad, x0, lr, steps,
                                what=f"gradient_descent(f, {x0!r}, {lr}, {steps})")
        if mistake:
            raise mistake
    return "every step is x - lr * grad f(x), with a fresh gradient each time."


q3 = Exercise(
    "2.3", "The gradient-descent loop with backward()",
    r"""Write `gradient_descent(f, x0, lr, steps)` with our engine's object interface: make
`x = ag.Tensor(x0)`, and in each of the `steps` steps compute `f(x)`, call `.backward()`,
and move `x.value` against `x.grad`. Return the list (or array) of the `steps + 1` points
$x_0, x_1, \dots$ as numpy arrays. Careful: `backward()` *adds* into `x.grad`.""",
    answers="gradient_descent",
    check=_check_q3,
    hints=["Keep two things: the Tensor the engine differentiates, made from x0, and a list of "
           "copies of its numbers, starting with x_0.",
           "Each step: `f(x).backward()` leaves the gradient in `x.grad`; then move `x.value` "
           "against it. `backward()` adds into `x.grad`, so clear it (`x.grad = None`, what "
           "`zero_grad()` does) before each backward pass, or every step uses the sum of all "
           "gradients so far.",
           "Store `x.value.copy()` before the loop; in each of the `steps` steps: `x.grad = "
           "None`, `f(x).backward()`, `x.value = x.value - lr * x.grad`, and store another copy; "
           "return the points (`np.array(points)`)."],
    solution="""
import numpy as np
import optilab.autograd as ag


def gradient_descent(f, x0, lr, steps):
    x = ag.Tensor(x0)
    points = [x.value.copy()]
    for _ in range(steps):
        x.grad = None                       # backward() adds into x.grad: reset it first
        f(x).backward()
        x.value = x.value - lr * x.grad
        points.append(x.value.copy())
    return np.array(points)
""",
    stub="""
import numpy as np
import optilab.autograd as ag


def gradient_descent(f, x0, lr, steps):
    raise NotImplementedError(
        "Exercise 2.3: loop `steps` times: f(x).backward(), then move x.value against x.grad")
""",
)


# ----------------------------------------------------------------------------- q4

def _gd_stays_bounded(lr: float, steps: int = 400) -> bool:
    p = np.array([1.0, 1.0])
    for _ in range(steps):
        p = p - lr * np.array([2 * p[0], 10 * p[1]])
        if not np.all(np.abs(p) < 1e6):
            return False
    return True


def _check_q4(lr_max: Any) -> str:
    value = as_number(lr_max, "lr_max")
    lam = np.linalg.eigvalsh(np.diag([2.0, 10.0]))           # the Hessian of x^2 + 5 y^2
    truth = 2 / lam.max()
    alternatives = {
        "one_over_L": (1 / lam.max(), "1/L is the rate that reaches the minimum in one step "
                       "along the steep direction, not the largest stable one: along y, "
                       "y <- (1 - 10 lr) y stays bounded while |1 - 10 lr| <= 1."),
        "flat_direction": (2 / lam.min(), "2/2 uses the curvature along x; the steepest "
                           "direction (y, curvature 10) breaks first."),
        "coefficient_not_curvature": (2 / 5, "the curvature of 5y^2 is its second derivative, "
                                      "10, not 5."),
        "one_over_lambda_min": (1 / lam.min(), "that is 1/lambda_min; the limit is 2 over "
                                "the largest curvature."),
    }
    mistake = compare(value, truth, what="lr_max", alternatives=alternatives, rtol=1e-6)
    if mistake:
        below, above = _gd_stays_bounded(0.98 * value), _gd_stays_bounded(1.02 * value)
        seen = (" (Try it: gradient descent from (1, 1) "
                + ("still converges just above your value, so a larger rate is stable too.)"
                   if above else "already diverges just below your value.)" if not below else
                   "changes behaviour near your value, but the question asks for the limit "
                   "2 / L.)"))
        raise Mistake(mistake.key, mistake.message.rstrip(".") + "." + seen)
    assert _gd_stays_bounded(0.98 * truth) and not _gd_stays_bounded(1.02 * truth)
    return ("the Hessian is diag(2, 10): along y a step multiplies y by 1 - 10 lr, bounded "
            "while lr <= 2/10. (Checked: lr = 0.196 converges, 0.204 diverges.)")


q4 = Exercise(
    "2.4", "The largest stable learning rate",
    r"""For $f(x, y) = x^2 + 5y^2$, what is the largest learning rate `lr_max` for which
gradient descent does not diverge? Set `lr_max` to a number.""",
    answers="lr_max",
    check=_check_q4,
    hints=["The coordinates do not interact: write one gradient step for x and one for y, "
           "separately.",
           "x <- (1 - 2 lr) x and y <- (1 - 10 lr) y. A sequence a <- r a stays bounded exactly "
           "when |r| <= 1. Which coordinate breaks first as lr grows?",
           "|1 - 10 lr| <= 1 allows lr up to 2/10; the x coordinate would allow up to 2/2. In "
           "general the limit is 2 / L, with L the largest eigenvalue of the Hessian, here "
           "diag(2, 10)."],
    solution="""
lr_max = 2 / 10     # 2 / L, L = 10 = the largest eigenvalue of the Hessian diag(2, 10)
""",
    stub="""
lr_max = ...   # Exercise 2.4: a number
""",
)


# ----------------------------------------------------------------------------- q5

STARTS = ((1.5, 1.5), (-2.0, -2.5), (0.4, 0.4), (1.0, -0.5))
WELL_LR, WELL_STEPS = 0.2, 300


def _final_points() -> list[np.ndarray]:
    ends = []
    for start in STARTS:
        x = np.array(start)
        for _ in range(WELL_STEPS):
            x = x - WELL_LR * engine_gradient(well, x)
        ends.append(x)
    return ends


def _check_q5(reach_global: Any) -> str:
    if isinstance(reach_global, (int, np.integer)):
        reach_global = [reach_global]
    if not isinstance(reach_global, (list, tuple, set, frozenset)) or not all(
            isinstance(i, (int, np.integer)) for i in reach_global):
        raise Mistake("not_indices", "reach_global should be a set of start numbers, "
                      "e.g. {0, 2}.")
    chosen = {int(i) for i in reach_global}
    ends = _final_points()
    x_star = np.array(gaussian_well.minimizers[0])
    truth = {i for i, e in enumerate(ends) if np.linalg.norm(e - x_star) < 1e-3}
    if chosen == truth:
        return (f"starts {sorted(truth)} roll into the global minimum "
                f"({x_star[0]:.4g}, {x_star[1]:.4g}); the others stop at the local minimum (0, 0) "
                f"or drift onto the flat plateau.")
    if chosen == {i + 1 for i in truth}:
        raise Mistake("one_based", "start numbers count from 0 here, as Python lists do.")
    wrong = sorted(chosen ^ truth)
    lines = []
    for i in wrong:
        if not 0 <= i < len(STARTS):
            raise Mistake("not_indices", f"there are starts 0 to {len(STARTS) - 1}; got {i}.")
        e, value = ends[i], float(gaussian_well(*ends[i]))
        where = ("the local minimum (0, 0)" if np.linalg.norm(e) < 1e-3 else
                 "the global minimum" if i in truth else
                 f"({e[0]:.2f}, {e[1]:.2f}) on the flat plateau, still drifting")
        lines.append(f"start {i} {STARTS[i]} ends at {where} (f = {value:.3f})")
    key = "local_minimum" if any(np.linalg.norm(ends[i]) < 1e-3 for i in chosen - truth) \
        else "missed_global" if truth - chosen else "plateau"
    raise Mistake(key, "not quite: " + "; ".join(lines) + ".")


q5 = Exercise(
    "2.5", "Which starts find the global minimum?",
    r"""Run gradient descent (lr = 0.2, 300 steps) on the non-convex function `well` from the
four starts `STARTS` and look at the contour map. Which starts end in the global
minimum $(0, -1.532)$? Set `reach_global` to the set of their numbers (counting from 0).""",
    answers="reach_global",
    check=_check_q5,
    hints=["Run the cell that draws the four paths, and follow each one to its end (the black "
           "stars).",
           "The global minimum is at (0, -1.532). Some paths stop in the shallower hollow at the "
           "origin; one leaves the picture towards the flat region where the gradient almost "
           "vanishes, and never arrives.",
           "Collect the numbers of the starts whose star sits at (0, -1.532), counting from 0 in "
           "the order of STARTS (the legend says which is which), in a set such as `{0, 2}`."],
    solution="""
reach_global = {1, 3}
""",
    stub="""
reach_global = ...   # Exercise 2.5: a set of start numbers, e.g. {0, 2}
""",
)


# ----------------------------------------------------------------------------- q6

def blobs(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs in the plane: ``X`` (n, 2) and labels ``y`` in {-1, +1}."""
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) < n // 2, -1.0, 1.0)
    X = rng.normal(scale=0.7, size=(n, 2)) + np.outer(y, [1.0, 0.6])
    return X, y


def _perceptron_loss(params: Any, X: np.ndarray, y: np.ndarray) -> Any:
    w, b = params[:2], params[2]
    return (((X @ w + b).tanh() - y) ** 2).mean()


def _flat(grads: Any) -> np.ndarray:
    if not isinstance(grads, (tuple, list)) or len(grads) != 2:
        raise Mistake("shape", "perceptron_grad should return two things: "
                      "(gradient for w, gradient for b).")
    gw, gb = to_array(grads[0], "the gradient for w"), to_array(grads[1], "the gradient for b")
    if gw.shape != (2,) or gb.size != 1:
        raise Mistake("shape", f"the gradient for w should have w's shape (2,) and the one for "
                      f"b one number; got shapes {gw.shape} and {gb.shape}.")
    return np.concatenate([gw, gb.reshape(-1)])


def _check_q6(perceptron_grad: Any) -> str:
    X, y = blobs()
    rng = np.random.default_rng(1)
    points = [np.concatenate([rng.normal(size=2), rng.normal(size=1)]) for _ in range(3)]
    student = lambda p: _flat(call(perceptron_grad, p[:2].copy(), float(p[2]), X, y,
                                   name="perceptron_grad"))

    def by_hand(p: np.ndarray, deriv: bool = True, two: float = 2.0, n: float = len(y)):
        z = X @ p[:2] + p[2]
        r = two * (np.tanh(z) - y) * ((1 - np.tanh(z) ** 2) if deriv else 1.0) / n
        return np.concatenate([X.T @ r, [r.sum()]])

    alternatives = {
        "missing_tanh_derivative": (lambda p: by_hand(p, deriv=False),
                                    "the chain rule needs tanh'(z) = 1 - tanh(z)^2: multiply "
                                    "the residual by it."),
        "sum_not_mean": (lambda p: by_hand(p, n=1.0), f"you summed over the {len(y)} samples; "
                         f"the loss is their mean: divide by N."),
        "missing_factor_2": (lambda p: by_hand(p, two=1.0), "d/dp (p - y)^2 = 2 (p - y): a "
                             "factor 2 is missing."),
    }
    mistake = check_gradient(student, lambda p: _perceptron_loss(p, X, y), points,
                             what="perceptron_grad", alternatives=alternatives)
    if mistake:
        raise mistake
    return "your hand-made gradient matches the engine's at three random (w, b)."


q6 = Exercise(
    "2.6", "The perceptron's gradient by hand",
    r"""The perceptron predicts $p_i = \tanh(w \cdot x_i + b)$ and we minimise
$L(w, b) = \frac1N \sum_i (p_i - y_i)^2$. Write `perceptron_grad(w, b, X, y)` returning
`(grad_w, grad_b)`, the gradient of $L$ computed with numpy by hand (`X` is (N, 2),
`w` is (2,), `b` a number). The check compares it with our engine's gradient.""",
    answers="perceptron_grad",
    check=_check_q6,
    hints=["Name the steps of the computation, z_i = w . x_i + b and p_i = tanh(z_i), then apply "
           "the chain rule backwards: from L to p, from p to z, from z to w and b.",
           "dL/dp_i = (2/N) (p_i - y_i) and dp_i/dz_i = 1 - p_i^2, so dL/dz_i = (2/N) (p_i - y_i) "
           "(1 - p_i^2). Since dz_i/dw = x_i and dz_i/db = 1: dL/dw = sum_i dL/dz_i x_i and dL/db "
           "= sum_i dL/dz_i.",
           "For all samples at once: `p = np.tanh(X @ w + b)`, r = the vector of dL/dz_i, then "
           "grad_w = `X.T @ r` (shape (2,)) and grad_b = `r.sum()`."],
    solution="""
import numpy as np


def perceptron_grad(w, b, X, y):
    p = np.tanh(X @ w + b)
    r = 2 * (p - y) * (1 - p ** 2) / len(y)     # dL/dz for each sample
    return X.T @ r, r.sum()
""",
    stub="""
import numpy as np


def perceptron_grad(w, b, X, y):
    raise NotImplementedError("Exercise 2.6: return (dL/dw, dL/db) computed with numpy")
""",
)
