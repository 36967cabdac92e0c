r"""Exercises of notebook 9, "The quadratic model": rates you can compute before you run.

* ``q1`` gradient descent's best fixed step :math:`2/(\mu + L)` and its rate
  :math:`(\kappa - 1)/(\kappa + 1)`;
* ``q2`` the number of steps a rate needs to reach a tolerance;
* ``q3`` the rate of heavy-ball momentum: the spectral radius of its 2x2 iteration matrix,
  maximised over the eigenvalues;
* ``q4`` Polyak's tuning of heavy-ball momentum and its rate
  :math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1)`.

    >>> from optilab.exercises.nb09_quadratic import q1
    >>> q1.check(lambda mu, L: (2 / (mu + L), (L - mu) / (L + mu))).status
    'correct'
    >>> q1.check(lambda mu, L: (1 / L, 1 - mu / L)).mistake
    'one_over_L'
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..quadratic import optimal
from .base import Exercise, Mistake, call
from .diagnose import as_number, close, compare_function, to_array

__all__ = ["q1", "q2", "q3", "q4"]


def _numbers(answer: Any, count: int, what: str, names: str) -> np.ndarray:
    """The student's tuple as ``count`` floats, or a Mistake saying what to return."""
    arr = to_array(answer, what).reshape(-1)
    if arr.size != count:
        raise Mistake("shape", f"{what} should return {count} numbers, {names}; got "
                      f"{arr.size}: {arr.round(6).tolist()}")
    return arr


# ----------------------------------------------------------------------------- q1

_Q1_CASES = [(1.0, 1000.0), (2.0, 50.0), (0.5, 3.0)]


def _q1_lr_mistake(lr: float, mu: float, L: float) -> Mistake | None:  # noqa: N803
    kappa = L / mu
    if close(lr, 2 / (mu + L)):
        return None
    named = {
        "one_over_L": (1 / L, "lr = 1/L is the safe textbook step, not the best one: along the "
                       "flattest direction it shrinks the error only by 1 - mu/L per step. The "
                       "best step balances the two ends of the spectrum, |1 - lr mu| = "
                       "|1 - lr L|, which gives lr = 2/(mu + L)."),
        "two_over_L": (2 / L, "lr = 2/L is the edge of stability: there the steepest direction "
                       "flips sign at every step without shrinking (|1 - lr L| = 1). The best "
                       "step is a little smaller: 2/(mu + L)."),
        "one_over_mu": (1 / mu, "1/mu is far too big: the steepest direction is multiplied by "
                        "1 - L/mu, and the run diverges. Use both ends: 2/(mu + L)."),
        "half_step": (1 / (mu + L), "that is 1/(mu + L), half the best step: the condition "
                      "is 1 - lr mu = -(1 - lr L), so lr (mu + L) = 2."),
        "difference": (2 / (L - mu), "the ends balance when 1 - lr mu = -(1 - lr L): "
                       "lr (mu + L) = 2, a sum, not a difference."),
    }
    for key, (value, message) in named.items():
        if close(lr, value):
            return Mistake(key, message)
    return Mistake("wrong_lr", f"for mu = {mu:g}, L = {L:g} your lr is {lr:.6g}, but the best "
                   f"fixed step is {2 / (mu + L):.6g} (kappa = {kappa:g}).")


def _q1_rate_mistake(r: float, mu: float, L: float) -> Mistake | None:  # noqa: N803
    kappa = L / mu
    if close(r, (kappa - 1) / (kappa + 1)):
        return None
    named = {
        "rate_of_one_over_L": (1 - 1 / kappa, "1 - 1/kappa is the rate of the step 1/L; at "
                               "lr = 2/(mu + L) the error shrinks by |1 - lr mu| = "
                               "(kappa - 1)/(kappa + 1)."),
        "sqrt_kappa": ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1),
                       "(sqrt(kappa) - 1)/(sqrt(kappa) + 1) is the rate of tuned momentum; "
                       "gradient descent's has kappa itself: (kappa - 1)/(kappa + 1)."),
        "inverted": ((kappa + 1) / (kappa - 1), "a rate above 1 would mean divergence: the "
                     "error is multiplied by (kappa - 1)/(kappa + 1) < 1."),
        "one_minus_rate": (2 / (kappa + 1), "that is 1 minus the rate (the fraction removed "
                           "per step); the rate is the factor that remains: "
                           "(kappa - 1)/(kappa + 1)."),
        "no_abs": (-(kappa - 1) / (kappa + 1), "the rate is |1 - lr L|, a size: 1 - lr L is "
                   "negative here (the steep direction flips sign), its absolute value is "
                   "(kappa - 1)/(kappa + 1)."),
    }
    for key, (value, message) in named.items():
        if close(r, value):
            return Mistake(key, message)
    return Mistake("wrong_rate", f"for mu = {mu:g}, L = {L:g} your rate is {r:.6g}, but at "
                   f"the best step the error shrinks by {(kappa - 1) / (kappa + 1):.6g} per "
                   f"step.")


def _check_q1(best_step: Any) -> str:
    for mu, L in _Q1_CASES:  # noqa: N806
        got = _numbers(call(best_step, mu, L, name="best_step"), 2, f"best_step({mu:g}, {L:g})",
                       "(lr, rate)")
        lr, r = got
        if close(lr, (L / mu - 1) / (L / mu + 1)) and close(r, 2 / (mu + L)):
            raise Mistake("swapped", "your two numbers are swapped: return (lr, rate), the "
                          "step first.")
        mistake = _q1_lr_mistake(lr, mu, L) or _q1_rate_mistake(r, mu, L)
        if mistake:
            raise mistake
    return ("on the 1000:1 bowl the best fixed step is 2/1001 and each step keeps "
            "999/1001 = 0.998 of the error: about 1150 steps per decimal digit.")


q1 = Exercise(
    "9.1", "Gradient descent's best fixed step",
    r"""On a quadratic whose Hessian has eigenvalues between $\mu$ and $L$, a gradient step
multiplies the error along an eigenvector with eigenvalue $\lambda$ by $1 - \eta\lambda$.
Write `best_step(mu, L)` returning the pair `(lr, rate)`: the learning rate that makes the
worst factor $\max_\lambda |1 - \eta\lambda|$ as small as possible, and that factor.""",
    answers="best_step",
    check=_check_q1,
    hints=["Only the two ends of the spectrum matter: |1 - lr lambda| is largest at lambda = mu "
           "or at lambda = L.",
           "Make the two ends equal: the flat direction still shrinks (1 - lr mu > 0) while "
           "the steep one flips sign (1 - lr L < 0), so solve 1 - lr mu = -(1 - lr L).",
           "lr = 2/(mu + L); the rate is then 1 - lr mu = (L - mu)/(L + mu), which is "
           "(kappa - 1)/(kappa + 1) with kappa = L/mu."],
    solution="""
def best_step(mu, L):
    lr = 2 / (mu + L)
    return lr, 1 - lr * mu          # = (kappa - 1) / (kappa + 1)
""",
    stub="""
def best_step(mu, L):
    raise NotImplementedError("Exercise 9.1: return (lr, rate) of the best fixed step")
""",
)


# ----------------------------------------------------------------------------- q2

_Q2_CASES = [(0.9, 1e-3), (0.5, 1e-6), (0.998002, 1e-7), (0.3, 0.05), (0.99, 0.5)]


def _check_q2(steps_needed: Any) -> str:
    for r, tol in _Q2_CASES:
        what = f"steps_needed({r:g}, {tol:g})"
        got = as_number(call(steps_needed, r, tol, name="steps_needed"), what)
        exact = math.log(tol) / math.log(r)
        want = math.ceil(exact)
        if got == want:
            continue
        if close(got, exact):
            raise Mistake("not_rounded", f"{what} = {got:.6g} is not a whole number of steps: "
                          f"round up (math.ceil) to the first k with rate^k <= tol, {want}.")
        if got == math.floor(exact):
            raise Mistake("rounded_down", f"{what} = {got:g}, but rate^{got:g} = "
                          f"{r ** got:.3g} is still above tol = {tol:g}: round up "
                          f"(math.ceil). int() and math.floor cut the fraction off, and "
                          f"round() goes down when it is below one half.")
        for value, key, message in (
                (math.log(r) / math.log(tol), "inverted",
                 "the fraction is upside down: rate^k = tol gives k = log(tol) / log(rate)."),
                (math.log(tol) / (r - 1), "linearised",
                 "log(tol)/(rate - 1) uses log(rate) ~ rate - 1, an approximation that is off "
                 "by several steps for rates near 1; use log(rate) itself."),
                (math.ceil(math.log(tol) / (r - 1)), "linearised",
                 "log(tol)/(rate - 1) uses log(rate) ~ rate - 1, an approximation that is off "
                 "by several steps for rates near 1; use log(rate) itself."),
                (math.log10(tol) / math.log(r), "mixed_logs",
                 "log10 on top and the natural log below: use the same logarithm for both "
                 "(any base works when both match)."),
                (math.ceil(math.log10(tol) / math.log(r)), "mixed_logs",
                 "log10 on top and the natural log below: use the same logarithm for both "
                 "(any base works when both match)."),
                (tol / r, "no_log", "the unknown k is an exponent: take logarithms of "
                 "rate^k = tol.")):
            if close(got, value, rtol=1e-9):
                raise Mistake(key, message)
        raise Mistake("wrong", f"{what} should be {want} (the first k with rate^k <= tol), "
                      f"got {got:g}.")
    return ("at gradient descent's best rate on the 1000:1 bowl, 0.998002, an error a "
            "10-millionth of the start's takes 8060 steps.")


q2 = Exercise(
    "9.2", "Steps from a rate",
    r"""A run whose error is multiplied by `rate` (between 0 and 1) at every step has error
$\text{rate}^k \, e_0$ after $k$ steps. Write `steps_needed(rate, tol)`: the smallest whole
number $k$ with $\text{rate}^k \le$ `tol` (for $0 <$ `tol` $< 1$).""",
    answers="steps_needed",
    check=_check_q2,
    hints=["Solve rate^k = tol for k first, as a real number.",
           "Take logarithms: k log(rate) = log(tol), so k = log(tol) / log(rate) (both logs "
           "are negative).",
           "Then round up to a whole number of steps: `math.ceil(math.log(tol) / "
           "math.log(rate))`."],
    solution="""
import math


def steps_needed(rate, tol):
    return math.ceil(math.log(tol) / math.log(rate))
""",
    stub="""
import math


def steps_needed(rate, tol):
    raise NotImplementedError("Exercise 9.2: the first k with rate ** k <= tol")
""",
)


# ----------------------------------------------------------------------------- q3

def _radius(matrix: Any) -> Any:
    return lambda lr, beta, lams: max(np.abs(np.linalg.eigvals(matrix(lr, beta, lam))).max()
                                      for lam in lams)


_HB = lambda lr, beta, lam: np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])  # noqa: E731


def _check_q3(momentum_rate: Any) -> str:
    lams = np.array([1.0, 1000.0])
    t = optimal(1.0, 1000.0, "heavy_ball")
    cases = [(t.lr, t.momentum, lams), (1e-3, 0.5, lams), (3.9e-3, 0.95, lams),
             (1.5e-3, 0.0, lams), (0.05, 0.3, np.array([2.0, 10.0, 30.0])),
             (2.2e-3, 0.2, lams)]
    alternatives = {
        "no_modulus": (lambda lr, beta, ls: max(np.linalg.eigvals(_HB(lr, beta, lam)).real.max()
                                                for lam in ls),
                       "the rate is the largest *modulus* |z| of the eigenvalues: they can be "
                       "complex (the error spirals) or negative (it flips sign); use "
                       "np.abs(np.linalg.eigvals(M)).max()."),
        "matrix_norm": (lambda lr, beta, ls: max(np.linalg.norm(_HB(lr, beta, lam), 2)
                                                 for lam in ls),
                        "np.linalg.norm(M, 2) is the largest stretch of one step; over many "
                        "steps the error shrinks like the spectral radius (largest |eigenvalue| "
                        "of M), which is smaller for this non-symmetric matrix."),
        "largest_eigenvalue_only": (lambda lr, beta, ls: _radius(_HB)(lr, beta, [max(ls)]),
                                    "you used only the largest eigenvalue of the Hessian; the "
                                    "flattest direction is often the slowest one: take the "
                                    "maximum over every eigenvalue."),
        "min_over_eigenvalues": (lambda lr, beta, ls: min(_radius(_HB)(lr, beta, [lam])
                                                          for lam in ls),
                                 "the run is as slow as its slowest direction: take the "
                                 "maximum over the eigenvalues, not the minimum."),
        "momentum_ignored": (lambda lr, beta, ls: max(abs(1 - lr * lam) for lam in ls),
                             "max |1 - lr lambda| is plain gradient descent's rate: with "
                             "momentum the error pair (e_k+1, e_k) is multiplied by the 2x2 "
                             "matrix [[1 + beta - lr lambda, -beta], [1, 0]]."),
        "beta_sign": (_radius(lambda lr, beta, lam: np.array([[1 + beta - lr * lam, beta],
                                                              [1.0, 0.0]])),
                      "x_(k+1) = x_k - lr g_k + beta (x_k - x_(k-1)): the x_(k-1) term is "
                      "-beta, so the first row is [1 + beta - lr lambda, -beta]."),
        "one_minus_beta": (_radius(lambda lr, beta, lam: np.array([[1 - beta - lr * lam, -beta],
                                                                   [1.0, 0.0]])),
                           "x_(k+1) = x_k - lr g_k + beta (x_k - x_(k-1)) puts (1 + beta) on "
                           "x_k, not (1 - beta)."),
    }
    student = lambda lr, beta, ls: as_number(call(momentum_rate, lr, beta, ls.copy(),  # noqa: E731
                                                  name="momentum_rate"),
                                             "momentum_rate(lr, beta, eigenvalues)")
    mistake = compare_function(student, _radius(_HB), cases,
                               what="momentum_rate(lr, beta, eigenvalues)",
                               alternatives=alternatives, rtol=1e-6)
    if mistake:
        raise mistake
    return (f"at Polyak's (lr, beta) = ({t.lr:.4g}, {t.momentum:.4g}) on the 1000:1 bowl both "
            f"directions have eigenvalues of modulus sqrt(beta) = {t.rate:.4f} (a double real "
            f"root at lambda = 1 and at lambda = 1000, a complex pair in between).")


q3 = Exercise(
    "9.3", "The rate of heavy-ball momentum",
    r"""torch's momentum (`v = beta v + g; x = x - lr v`) is the heavy ball
$x_{k+1} = x_k - \eta\nabla f(x_k) + \beta (x_k - x_{k-1})$. Along an eigenvector of the
Hessian with eigenvalue $\lambda$ the error pair is multiplied at every step by
$M = \begin{pmatrix} 1 + \beta - \eta\lambda & -\beta \\ 1 & 0 \end{pmatrix}$.
Write `momentum_rate(lr, beta, eigenvalues)`: the largest spectral radius of $M$ (the
largest modulus of its eigenvalues) over the given Hessian eigenvalues.""",
    answers="momentum_rate",
    check=_check_q3,
    hints=["One matrix per Hessian eigenvalue; the run is as slow as its slowest direction.",
           "The spectral radius of a matrix is the largest modulus |z| of its eigenvalues; "
           "they may be complex. `np.linalg.eigvals(M)` gives them, `np.abs` their moduli.",
           "`max(np.abs(np.linalg.eigvals(np.array([[1 + beta - lr * lam, -beta], [1, 0]])))"
           ".max() for lam in eigenvalues)`."],
    solution="""
import numpy as np


def momentum_rate(lr, beta, eigenvalues):
    radii = []
    for lam in eigenvalues:
        M = np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])
        radii.append(np.abs(np.linalg.eigvals(M)).max())
    return max(radii)
""",
    stub="""
import numpy as np


def momentum_rate(lr, beta, eigenvalues):
    raise NotImplementedError("Exercise 9.3: the largest spectral radius of M over the "
                              "eigenvalues")
""",
)


# ----------------------------------------------------------------------------- q4

_Q4_CASES = [(1.0, 1000.0), (1.0, 100.0), (0.5, 8.0)]


def _check_q4(heavy_ball_tuning: Any) -> str:
    for mu, L in _Q4_CASES:  # noqa: N806
        what = f"heavy_ball_tuning({mu:g}, {L:g})"
        lr, beta, r = _numbers(call(heavy_ball_tuning, mu, L, name="heavy_ball_tuning"), 3,
                               what, "(lr, beta, rate)")
        best = optimal(mu, L, "heavy_ball")
        kappa, root = L / mu, math.sqrt(L / mu)
        if not close(lr, best.lr):
            for value, key, message in (
                    (4 / (L + mu), "lr_without_roots", "the step has square roots inside: "
                     "lr = 4/(sqrt(L) + sqrt(mu))^2, not 4/(L + mu)."),
                    (2 / (mu + L), "lr_of_gd", "2/(mu + L) is gradient descent's best step; "
                     "with momentum the best step is about twice as long: "
                     "4/(sqrt(L) + sqrt(mu))^2."),
                    (4 / (math.sqrt(L) + math.sqrt(mu)), "lr_not_squared",
                     "the denominator is squared: 4/(sqrt(L) + sqrt(mu))^2.")):
                if close(lr, value):
                    raise Mistake(key, message)
            raise Mistake("wrong_lr", f"{what}: lr should be {best.lr:.6g}, got {lr:.6g}.")
        if not close(beta, best.momentum):
            if close(beta, best.rate):
                raise Mistake("beta_not_squared", "beta is the *square* of "
                              "(sqrt(kappa) - 1)/(sqrt(kappa) + 1): the rate is sqrt(beta), "
                              "the modulus of the eigenvalues of M.")
            if close(beta, ((kappa - 1) / (kappa + 1)) ** 2):
                raise Mistake("beta_with_kappa", "beta uses sqrt(kappa): "
                              "((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^2.")
            raise Mistake("wrong_beta", f"{what}: beta should be {best.momentum:.6g}, got "
                          f"{beta:.6g}.")
        if not close(r, best.rate):
            for value, key, message in (
                    ((kappa - 1) / (kappa + 1), "rate_with_kappa",
                     "(kappa - 1)/(kappa + 1) is gradient descent's rate; momentum's has the "
                     "square root: (sqrt(kappa) - 1)/(sqrt(kappa) + 1)."),
                    (beta, "rate_is_beta", "the rate is sqrt(beta): M's two eigenvalues have the "
                     "same modulus and their product is beta, so each has modulus sqrt(beta)."),
                    (1 - 1 / root, "rate_approximation", "1 - 1/sqrt(kappa) is only close; the "
                     "exact rate is (sqrt(kappa) - 1)/(sqrt(kappa) + 1).")):
                if close(r, value):
                    raise Mistake(key, message)
            raise Mistake("wrong_rate", f"{what}: the rate should be {best.rate:.6g}, got "
                          f"{r:.6g}.")
    t = optimal(1.0, 1000.0, "heavy_ball")
    return (f"on the 1000:1 bowl: lr = {t.lr:.4g}, beta = {t.momentum:.4g}, rate "
            f"{t.rate:.4f}, against gradient descent's 0.9980: about 36 steps per digit "
            f"instead of 1150.")


q4 = Exercise(
    "9.4", "Polyak's tuning of the heavy ball",
    r"""Polyak's heavy ball, tuned for eigenvalues in $[\mu, L]$ ($\kappa = L/\mu$), takes
$\eta = \dfrac{4}{(\sqrt{L} + \sqrt{\mu})^2}$ and
$\beta = \left(\dfrac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\right)^2$; then for every
$\lambda$ in $[\mu, L]$ both eigenvalues of $M$ have modulus $\sqrt\beta$ (a complex pair,
or a double root at the two ends). Write `heavy_ball_tuning(mu, L)` returning
`(lr, beta, rate)`.""",
    answers="heavy_ball_tuning",
    check=_check_q4,
    hints=["Compute kappa = L / mu and its square root first.",
           "The eigenvalues of M are the roots of z^2 - (1 + beta - lr lambda) z + beta = 0. "
           "A complex pair (or a double root) has product beta, so each has modulus "
           "sqrt(beta): that is the rate.",
           "lr = 4 / (sqrt(L) + sqrt(mu)) ** 2, r = (sqrt(kappa) - 1) / (sqrt(kappa) + 1), "
           "beta = r ** 2; return lr, beta, r."],
    solution="""
import math


def heavy_ball_tuning(mu, L):
    root = math.sqrt(L / mu)
    r = (root - 1) / (root + 1)
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, r ** 2, r
""",
    stub="""
import math


def heavy_ball_tuning(mu, L):
    raise NotImplementedError("Exercise 9.4: return (lr, beta, rate) of the tuned heavy ball")
""",
)
