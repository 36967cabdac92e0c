r"""Exercises of notebook 1, "Autograd from scratch".

* ``q1`` the derivative of the messy function :math:`((x-3)^{2/x} - 1)^{x-1}` by hand;
* ``q2`` a finite-difference gradient function (central differences);
* ``q3`` what ``x.grad`` holds after calling ``backward()`` twice;
* ``q4`` a primitive of your own: the derivative rule (vjp) of softplus.

    >>> from optilab.exercises.nb01_autograd import q3
    >>> q3.check(24.0).status, q3.check(12.0).mistake
    ('correct', 'overwritten')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autograd as ag
from .. import ops
from .base import Exercise, Mistake, call
from .diagnose import as_number, check_uses_h, compare_function, engine_gradient, numerical_gradient

__all__ = ["q1", "q2", "q3", "q4", "messy"]


def messy(x: Any) -> Any:
    """The course's messy function f(x) = ((x - 3)^(2/x) - 1)^(x - 1), defined for x > 4."""
    return ((x - 3) ** (2 / x) - 1) ** (x - 1)


# ----------------------------------------------------------------------------- q1

def _messy_derivatives(x: float) -> dict[str, float]:
    """The right derivative and the ones each classic slip gives, by hand."""
    u = (x - 3) ** (2 / x)
    du = u * (-2 / x ** 2 * np.log(x - 3) + 2 / (x * (x - 3)))
    du_const_exponent = (2 / x) * (x - 3) ** (2 / x - 1)
    y = (u - 1) ** (x - 1)
    return {
        "right": y * (np.log(u - 1) + (x - 1) * du / (u - 1)),
        "power_rule_outer": (x - 1) * (u - 1) ** (x - 2) * du,
        "power_rule_inner": y * (np.log(u - 1) + (x - 1) * du_const_exponent / (u - 1)),
    }


def _check_q1(dfdx: Any) -> str:
    xs = [(5.0,), (6.5,), (10.0,), (12.0,)]
    truth = lambda x: float(engine_gradient(messy, x))
    assert all(abs(truth(*x) - _messy_derivatives(*x)["right"]) < 1e-9 for x in xs)
    alternatives = {
        "power_rule_outer": (lambda x: _messy_derivatives(x)["power_rule_outer"],
                             "you used the power rule on (u - 1)^(x - 1) as if the exponent "
                             "x - 1 were a constant: it depends on x too, which adds the term "
                             "ln(u - 1) (write the power as exp((x - 1) ln(u - 1)))."),
        "power_rule_inner": (lambda x: _messy_derivatives(x)["power_rule_inner"],
                             "you differentiated (x - 3)^(2/x) as if the exponent 2/x were "
                             "constant: write it as exp((2/x) ln(x - 3)) and differentiate "
                             "the exponent too."),
    }
    mistake = compare_function(dfdx, truth, xs, what="dfdx(x)", alternatives=alternatives,
                               rtol=1e-6, atol=1e-12)
    if mistake:
        raise mistake
    return (f"your derivative agrees with the engine at x = 5, 6.5, 10 and 12 "
            f"(f'(10) = {truth(10.0):.8f}).")


q1 = Exercise(
    "1.1", "The messy function's derivative, by hand",
    r"""Differentiate $f(x) = \left((x-3)^{2/x} - 1\right)^{x-1}$ by hand (for $x > 4$) and
write `dfdx(x)` computing $f'(x)$ with numpy. The check compares it with the engine's
`ag.grad(messy)` at several points.""",
    answers="dfdx",
    check=_check_q1,
    hints=["Where does x appear? Twice in an exponent. The power rule, d/dx a^n = n a^(n-1), "
           "holds only for a constant exponent n: it does not apply to either power here.",
           "Write a power as an exponential, a^b = exp(b ln a): then (a^b)' = a^b (b' ln a + b a' "
           "/ a). Name the inner power u = (x-3)^(2/x), find u', then use the same rule again on "
           "f = (u-1)^(x-1).",
           "u' = u (-2 ln(x-3) / x^2 + 2 / (x (x-3))) and f' = f (ln(u-1) + (x-1) u' / (u-1)). In "
           "numpy: compute u, u' and f in turn (`np.log` is ln), then return the last formula."],
    solution="""
import numpy as np


def dfdx(x):
    u = (x - 3) ** (2 / x)
    du = u * (-2 / x ** 2 * np.log(x - 3) + 2 / (x * (x - 3)))
    f = (u - 1) ** (x - 1)
    return f * (np.log(u - 1) + (x - 1) * du / (u - 1))
""",
    stub="""
import numpy as np


def dfdx(x):
    raise NotImplementedError("Exercise 1.1: return f'(x), differentiated by hand")
""",
)


# ----------------------------------------------------------------------------- q2

def _cubic_mix(p: Any) -> Any:
    return ops.sin(p[0]) * p[1] ** 2 + p[2] ** 3 + p[0] * p[2]


def _check_q2(numerical_gradient_fn: Any) -> str:
    name = "numerical_gradient"
    points = [np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -0.7])]
    for x in points:                 # close to the exact gradient; call() names a changed x
        got = call(numerical_gradient_fn, _cubic_mix, x, name=name)
        mistake = compare_function(lambda x: got, lambda x: engine_gradient(_cubic_mix, x),
                                   [(x,)], what=f"{name}(f, x)", rtol=1e-5, atol=1e-6)
        if mistake and mistake.key == "factor":
            raise mistake
    check_uses_h(numerical_gradient_fn, (_cubic_mix, points[0]), name)
    h = 1e-2       # a large h tells the formulas apart: central O(h^2), forward O(h)
    forward = lambda f, x, h: np.array([(f(x + h * e) - f(x)) / h for e in np.eye(len(x))])
    alternatives = {
        "forward_difference": (forward, "you used forward differences (f(x + h) - f(x)) / h, "
                               "whose error is O(h); central differences (f(x + h) - "
                               "f(x - h)) / 2h are O(h^2)."),
        "all_at_once": (lambda f, x, h: np.full(len(x), (f(x + h) - f(x - h)) / (2 * h)),
                        "you moved all coordinates at once (x + h): that is the slope along "
                        "(1, 1, ...). Move one coordinate at a time: x + h e_i."),
    }
    mistake = compare_function(numerical_gradient_fn,
                               lambda f, x, h: numerical_gradient(f, x, h),
                               [(_cubic_mix, x, h) for x in points],
                               what=f"{name}(f, x, h=0.01)", alternatives=alternatives,
                               rtol=1e-8, atol=1e-10)
    if mistake:
        raise mistake
    return "central differences: the error shrinks like h^2."


q2 = Exercise(
    "1.2", "A finite-difference gradient",
    r"""Write `numerical_gradient(f, x, h=1e-6)` returning the gradient of `f` at the numpy
vector `x` by central differences,
$\partial_i f(x) \approx \dfrac{f(x + h e_i) - f(x - h e_i)}{2h}$, one coordinate at a time
($e_i$ is the i-th unit vector). Do not change `x`.""",
    answers="numerical_gradient",
    check=_check_q2,
    hints=["One coordinate at a time: for each i, move only x_i, by +h and by -h, and compare the "
           "values of f at the two points.",
           "x + h e_i is x with h added to coordinate i: build `e = np.zeros_like(x)` with `e[i] "
           "= h`. `x + e` and `x - e` are new arrays, so x itself never changes. Component i of "
           "the gradient is (f(x + e) - f(x - e)) / (2 h).",
           "Make x a float array (`np.asarray(x, dtype=float)`), start from `g = "
           "np.zeros_like(x)`, fill `g[i]` in a loop over `range(len(x))`, and return g. Use the "
           "h you are given: the check calls it with h = 0.01 too."],
    solution="""
import numpy as np


def numerical_gradient(f, x, h=1e-6):
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g
""",
    stub="""
import numpy as np


def numerical_gradient(f, x, h=1e-6):
    raise NotImplementedError("Exercise 1.2: return the central-difference gradient of f at x")
""",
)


# ----------------------------------------------------------------------------- q3

def _check_q3(grad_after_two: Any) -> str:
    value = as_number(grad_after_two, "grad_after_two")
    x = ag.Tensor(2.0)
    y = x ** 3
    y.backward()
    once = float(x.grad)
    y.backward()
    truth = float(x.grad)                   # what the engine really does
    if abs(value - truth) < 1e-9:
        return (f"backward() adds into x.grad: {once:g} + {once:g} = {truth:g}. That is why "
                f"training loops zero the gradients before each backward pass.")
    if abs(value - once) < 1e-9:
        raise Mistake("overwritten", f"{once:g} is the gradient after one backward(); the "
                      f"second call does not replace x.grad, it adds to it.")
    if abs(value) < 1e-9:
        raise Mistake("zeroed", "backward() does not reset x.grad; zero_grad() does.")
    raise Mistake("wrong", f"not {value:g}: dy/dx = 3x^2 = {once:g} at x = 2; what does a "
                  f"second backward() do to x.grad?")


q3 = Exercise(
    "1.3", "Calling backward() twice",
    r"""After `x = ag.Tensor(2.0)`, `y = x ** 3`, `y.backward()`, `y.backward()`: what is
`x.grad`? Set `grad_after_two` to the number (think first, then run it).""",
    answers="grad_after_two",
    check=_check_q3,
    hints=["Start with one backward(): what is dy/dx = d(x^3)/dx at x = 2?",
           "After the first backward(), x.grad holds 12. The question is what the second call "
           "does with it: replace it, or add to it? The sentence just above the exercise says how "
           "the engine treats adjoints.",
           "backward() adds its result into x.grad (PyTorch does the same; that is why training "
           "loops zero the gradients before each backward pass): the second call adds another 12 "
           "to the 12 already there."],
    solution="""
grad_after_two = 24.0    # backward() adds: 12 + 12
""",
    stub="""
grad_after_two = ...   # Exercise 1.3: a number
""",
)
# ----------------------------------------------------------------------------- q4

def _softplus_with(rule: Any) -> ag.Primitive:
    softplus = ag.primitive(lambda x: np.logaddexp(0.0, x))
    return ag.defvjp(softplus, rule)


def _check_q4(softplus_vjp: Any) -> str:
    rng = np.random.default_rng(3)
    inputs = []
    for _ in range(3):
        x = rng.normal(size=4) * 2
        inputs.append((rng.normal(size=4), np.logaddexp(0.0, x), x))
    sig = lambda x: 1 / (1 + np.exp(-x))
    alternatives = {
        "ignores_g": (lambda g, ans, x: sig(x), "your rule ignores g, the gradient arriving "
                      "from the output: a vjp returns g times the derivative (g * sigmoid(x))."),
        "sigmoid_of_minus_x": (lambda g, ans, x: g * sig(-x), "d/dx ln(1 + e^x) = e^x / "
                               "(1 + e^x) = sigmoid(x), not sigmoid(-x)."),
        "softplus_itself": (lambda g, ans, x: g * ans, "you multiplied g by the output; the "
                            "derivative of softplus is sigmoid(x)."),
    }
    mistake = compare_function(softplus_vjp, lambda g, ans, x: g * sig(x), inputs,
                               what="softplus_vjp(g, ans, x)", alternatives=alternatives)
    if mistake:
        raise mistake
    softplus = _softplus_with(softplus_vjp)
    x = np.array([-1.0, 0.5, 2.0])
    try:
        ag.check_grads(lambda t: softplus(t).sum(), order=2)(x)
    except (TypeError, AttributeError) as e:
        raise Mistake("numpy_in_rule", f"first derivatives are right, but the engine cannot "
                      f"differentiate your rule again ({type(e).__name__}: {e}): write it with "
                      f"operations that work on Tensors (ag.sigmoid, ag.exp, operators), so "
                      f"that second derivatives work.") from None
    except AssertionError as e:
        raise Mistake("second_derivative", str(e)) from None
    return "first and second derivatives of your softplus agree with finite differences."


q4 = Exercise(
    "1.4", "A primitive of your own: softplus",
    r"""`softplus = ag.primitive(lambda x: np.logaddexp(0, x))` is
$\mathrm{softplus}(x) = \ln(1 + e^x)$ as a new primitive of the engine. Write its derivative
rule `softplus_vjp(g, ans, x)`: given the gradient `g` of the output, return the gradient of
the input. Write it with the engine's functions (`ag.sigmoid`, `ag.exp`, operators), so that
it can be differentiated again; `ag.defvjp(softplus, softplus_vjp)` registers it.""",
    answers="softplus_vjp",
    check=_check_q4,
    hints=["What is the derivative of ln(1 + e^x)? The chain rule with (ln u)' = u' / u gives it "
           "in one line.",
           "d/dx ln(1 + e^x) = e^x / (1 + e^x) = 1 / (1 + e^(-x)), which is sigmoid(x). A vjp "
           "receives g, the gradient arriving from the output, and returns g times the "
           "derivative: one link of the chain rule.",
           "Return g times sigmoid(x), written with the engine: `ag.sigmoid(x)` works on numpy "
           "arrays and on Tensors alike (so does `np.exp`, which hands a Tensor to the engine). "
           "Reading the numbers out (`np.asarray(x)`, `x.value`) makes them constants, and the "
           "second derivative is lost."],
    solution="""
import optilab.autograd as ag


def softplus_vjp(g, ans, x):
    return g * ag.sigmoid(x)
""",
    stub="""
import optilab.autograd as ag


def softplus_vjp(g, ans, x):
    raise NotImplementedError("Exercise 1.4: return the gradient for x, given g")
""",
)


