r"""Exercises of notebook 7, "Regression and a small neural network" (with our engine).

* ``q1`` a least-squares line fitted by gradient descent;
* ``q2`` polynomial features :math:`[1, x, x^2, \dots, x^d]`;
* ``q3`` the number of parameters of a multilayer perceptron;
* ``q4`` the forward pass of a one-hidden-layer network (column-vector convention).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import autograd as ag
from ..autograd.nn import Linear
from .base import Exercise, Mistake, call
from .diagnose import compare, compare_function, to_array

__all__ = ["q1", "q2", "q3", "q4", "line_data"]


def line_data(n: int = 20, a: float = 2.0, b: float = -1.0, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """Noisy points around the line y = a x + b, x in [0, 1]."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n)
    return x, a * x + b + 0.1 * rng.normal(size=n)


# ----------------------------------------------------------------------------- q1

def _gd_line(x: np.ndarray, y: np.ndarray, lr: float, steps: int, *, sign: float = -1.0,
             accumulate: bool = False, total: bool = False) -> np.ndarray:
    """(a, b) after gradient descent on mean((a x + b - y)^2), with the classic slips."""
    p, acc = np.zeros(2), np.zeros(2)
    scale = 1.0 if total else 1.0 / len(x)
    for _ in range(steps):
        r = p[0] * x + p[1] - y
        g = 2 * scale * np.array([(r * x).sum(), r.sum()])
        acc = acc + g if accumulate else g
        p = p + sign * lr * acc
    return p


def _pair(out: Any) -> np.ndarray:
    if isinstance(out, dict):
        out = (out.get("a"), out.get("b"))
    arr = to_array(out, "fit_line's result").reshape(-1)
    if arr.size != 2:
        raise Mistake("shape", f"fit_line should return the two numbers (a, b), got {arr.size}")
    return arr


def _check_q1(fit_line: Any) -> str:
    cases = [(*line_data(), 0.1, 50), (*line_data(12, -1.0, 0.5, seed=1), 0.3, 30)]
    alternatives = {
        "accumulated_gradient": (lambda x, y, lr, s: _gd_line(x, y, lr, s, accumulate=True),
                                 "the gradients accumulate across steps: zero them (`.grad = "
                                 "None` or `zero_grad()`) before each backward()."),
        "wrong_sign": (lambda x, y, lr, s: _gd_line(x, y, lr, s, sign=1.0),
                       "your steps go uphill: subtract lr * grad."),
        "sum_not_mean": (lambda x, y, lr, s: _gd_line(x, y, lr, s, total=True),
                         "your loss sums the squared errors; the mean squared error divides "
                         "by N (with the sum, the same lr makes N times bigger steps)."),
        "swapped": (lambda x, y, lr, s: _gd_line(x, y, lr, s)[::-1],
                    "you returned (b, a): return (slope a, intercept b)."),
    }
    mistake = compare_function(lambda *args: _pair(call(fit_line, *args, name="fit_line")),
                               _gd_line, cases, what="fit_line(x, y, lr, steps)",
                               alternatives=alternatives, rtol=1e-6, atol=1e-9)
    if mistake:
        raise mistake
    x, y = line_data()
    exact = np.polyfit(x, y, 1)
    long_run = _pair(call(fit_line, x, y, 0.5, 2000, name="fit_line"))
    if not np.allclose(long_run, exact, atol=1e-6):
        raise Mistake("not_converging", f"after 2000 steps at lr = 0.5 your fit is "
                      f"{long_run.round(4)}, but least squares gives {exact.round(4)}.")
    return (f"your steps are gradient descent's, and a long run reaches the least-squares "
            f"line a = {exact[0]:.4f}, b = {exact[1]:.4f} (np.polyfit agrees).")


q1 = Exercise(
    "7.1", "A line fitted by gradient descent",
    r"""Write `fit_line(x, y, lr, steps)`: start from $a = b = 0$ and take `steps` steps of
gradient descent with our engine on the mean squared error
$L(a, b) = \frac1N \sum_i (a x_i + b - y_i)^2$. Return `(a, b)` as numbers.""",
    answers="fit_line",
    check=_check_q1,
    hints=["Two scalar Tensors a and b, both starting at 0; the loss is the mean of the squared "
           "residuals a x_i + b - y_i.",
           "Each step is notebook 2's loop with two parameters: reset both gradients (`a.grad = "
           "b.grad = None`), compute the loss, `.backward()`, then move `a.value` and `b.value` "
           "against their gradients.",
           "The loss is `((a * x + b - y) ** 2).mean()`; the update is `a.value = a.value - lr * "
           "a.grad`, and the same for b; at the end return `float(a.value), float(b.value)`."],
    solution="""
import optilab.autograd as ag


def fit_line(x, y, lr, steps):
    a, b = ag.Tensor(0.0), ag.Tensor(0.0)
    for _ in range(steps):
        a.grad = b.grad = None
        ((a * x + b - y) ** 2).mean().backward()
        a.value = a.value - lr * a.grad
        b.value = b.value - lr * b.grad
    return float(a.value), float(b.value)
""",
    stub="""
import optilab.autograd as ag


def fit_line(x, y, lr, steps):
    raise NotImplementedError("Exercise 7.1: return (a, b) after `steps` steps of GD")
""",
)


# ----------------------------------------------------------------------------- q2

def _check_q2(poly_features: Any) -> str:
    x = np.array([-1.0, 0.5, 2.0, 3.0])
    cases = [(x, 3), (x[:3], 1), (x, 0)]
    truth = lambda x, d: np.stack([x ** k for k in range(d + 1)], axis=1)
    alternatives = {
        "decreasing_powers": (lambda x, d: truth(x, d)[:, ::-1],
                              "your columns go from x^d down to 1 (np.vander's default "
                              "order): put them in increasing order, 1, x, ..., x^d "
                              "(np.vander(x, d + 1, increasing=True))."),
        "missing_constant": (lambda x, d: truth(x, d)[:, 1:],
                             "the first column is the constant 1 (x^0): without it the model "
                             "has no intercept."),
        "transposed": (lambda x, d: truth(x, d).T,
                       "one row per sample: the shape is (N, degree + 1), not transposed."),
    }
    for args in cases[:2]:           # the named slips first, each on a single case
        got = to_array(call(poly_features, *args, name="poly_features"))
        for key, (fn, message) in alternatives.items():
            if compare(got, fn(*args)) is None and compare(got, truth(*args)) is not None:
                raise Mistake(key, message)
    mistake = compare_function(poly_features, truth, cases, what="poly_features(x, degree)")
    if mistake:
        raise mistake
    return "columns 1, x, x^2, ...: a linear model on them is a polynomial."


q2 = Exercise(
    "7.2", "Polynomial features",
    r"""Write `poly_features(x, degree)`: for a vector `x` of N numbers, the (N, degree + 1)
matrix whose columns are $1, x, x^2, \dots, x^{degree}$. A linear model on these columns
fits a polynomial.""",
    answers="poly_features",
    check=_check_q2,
    hints=["Column k of the matrix is x ** k, for k = 0, 1, ..., degree: degree + 1 columns.",
           "Make the list of columns [x ** 0, x ** 1, ...] and put them side by side: "
           "`np.stack(columns, axis=1)` makes each vector a column (axis=0 would make them rows).",
           "`np.stack([x ** k for k in range(degree + 1)], axis=1)`, or numpy's own `np.vander(x, "
           "degree + 1, increasing=True)`."],
    solution="""
import numpy as np


def poly_features(x, degree):
    return np.stack([x ** k for k in range(degree + 1)], axis=1)
""",
    stub="""
import numpy as np


def poly_features(x, degree):
    raise NotImplementedError("Exercise 7.2: return the (N, degree + 1) feature matrix")
""",
)


# ----------------------------------------------------------------------------- q3

def _counted(sizes: list[int]) -> int:
    """Build the layers with the engine and count their numbers."""
    layers = [Linear((n_out, n_in), seed=0) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return sum(p.size for layer in layers for p in layer.parameters())


def _check_q3(count_parameters: Any) -> str:
    cases = [([1, 16, 16, 1],), ([2, 3, 1],), ([4, 8, 8, 2],)]
    alternatives = {
        "no_biases": (lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])),
                      "each layer also has one bias per output neuron."),
        "neurons_not_parameters": (lambda s: sum(s),
                                   "that counts neurons; a layer from n_in to n_out has "
                                   "n_out * n_in weights and n_out biases."),
        "weights_only_squared": (lambda s: sum(n * n + n for n in s[1:]),
                                 "the weight matrix of a layer is n_out x n_in, "
                                 "not n_out x n_out."),
    }
    mistake = compare_function(count_parameters, _counted, cases,
                               what="count_parameters(sizes)", alternatives=alternatives)
    if mistake:
        raise mistake
    return f"e.g. {_counted([1, 16, 16, 1])} numbers for sizes [1, 16, 16, 1] (counted on " \
           f"real Linear layers)."


q3 = Exercise(
    "7.3", "Counting parameters",
    r"""A multilayer perceptron with layer sizes `sizes = [n_0, n_1, ..., n_L]` has one
`Linear((n_out, n_in))` layer between consecutive sizes. Write `count_parameters(sizes)`:
the total number of trainable numbers (weights and biases).""",
    answers="count_parameters",
    check=_check_q3,
    hints=["Take one layer first: from n_in numbers to n_out numbers, how many weights, and how "
           "many biases?",
           "A `Linear((n_out, n_in))` layer has a weight matrix (n_out, n_in) and a bias (n_out, "
           "1): n_out * n_in + n_out numbers. The layers sit between consecutive sizes: (n_0, "
           "n_1), (n_1, n_2), ...",
           "`zip(sizes[:-1], sizes[1:])` gives the consecutive pairs (n_in, n_out): sum n_out * "
           "n_in + n_out over them."],
    solution="""
def count_parameters(sizes):
    return sum(n_out * n_in + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
""",
    stub="""
def count_parameters(sizes):
    raise NotImplementedError("Exercise 7.3: return the number of weights and biases")
""",
)


# ----------------------------------------------------------------------------- q4

def _params(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(4, 2)), rng.normal(size=(4, 1))),
            (rng.normal(size=(1, 4)), rng.normal(size=(1, 1)))]


def _forward(params: Any, x: Any, hidden: Any = np.tanh, last: Any = None) -> np.ndarray:
    (W1, b1), (W2, b2) = params
    out = W2 @ hidden(W1 @ x + b1) + b2
    return out if last is None else last(out)


def _check_q4(mlp_forward: Any) -> str:
    params = _params()
    x = np.random.default_rng(1).normal(size=(5, 2, 1))           # a batch of 5 columns
    alternatives = {
        "no_activation": (lambda p, x: _forward(p, x, hidden=lambda z: z),
                          "without tanh between the layers, two linear layers are one linear "
                          "map: apply tanh to the hidden layer."),
        "activation_on_output": (lambda p, x: _forward(p, x, last=np.tanh),
                                 "a regression output stays linear: no tanh after the last "
                                 "layer."),
        "relu_not_tanh": (lambda p, x: _forward(p, x, hidden=lambda z: np.maximum(z, 0)),
                          "the hidden activation here is tanh, not ReLU."),
    }
    constants = ([(ag.Tensor(W, requires_grad=False), ag.Tensor(b, requires_grad=False))
                  for W, b in params], ag.Tensor(x, requires_grad=False))
    mistake = compare_function(mlp_forward, _forward, [constants],   # Tensors: .tanh() works
                               what="mlp_forward(params, x)", alternatives=alternatives)
    if mistake:
        raise mistake
    tensors = [(ag.Tensor(W), ag.Tensor(b)) for W, b in params]   # differentiable by the engine?
    out = call(mlp_forward, tensors, x, name="mlp_forward")
    if not hasattr(out, "backward"):
        raise Mistake("not_differentiable", "with Tensor parameters mlp_forward should return a "
                      "Tensor: use tensor operations (@, +, .tanh(), np.tanh), not float() or "
                      "np.asarray, which read the numbers out.")
    out.sum().backward()
    W1 = params[0][0]
    eps, e = 1e-6, np.zeros_like(W1)
    e[0, 0] = eps
    up = _forward([(W1 + e, params[0][1]), params[1]], x).sum()
    down = _forward([(W1 - e, params[0][1]), params[1]], x).sum()
    grad_W1 = tensors[0][0].grad
    if grad_W1 is None or not abs(float(grad_W1[0, 0]) - (up - down) / (2 * eps)) < 1e-6:
        raise Mistake("not_differentiable", "the engine's gradient through your forward pass "
                      "is wrong: use only tensor operations (np.asarray, .value and float() "
                      "read the numbers out of a Tensor, cutting the gradient).")
    return "right outputs (5, 1, 1) for a batch, and the engine differentiates through them."


q4 = Exercise(
    "7.4", "A network's forward pass",
    r"""A network with one hidden layer maps a column vector $x$ (shape (2, 1)) to
$W_2 \tanh(W_1 x + b_1) + b_2$. Write `mlp_forward(params, x)` with
`params = [(W1, b1), (W2, b2)]` (shapes (4, 2), (4, 1), (1, 4), (1, 1)); a batch `x` of
shape (N, 2, 1) must give (N, 1, 1) by broadcasting. Use tensor operations (`@`, `+`,
`.tanh()`) so that it works with numpy arrays and with our Tensors.""",
    answers="mlp_forward",
    check=_check_q4,
    hints=["Follow the formula from the inside out: the hidden layer W1 x + b1, its tanh, then "
           "the output layer. params holds two (W, b) pairs: unpack them first.",
           "`@` multiplies matrices: `W1 @ x` works for one column (2, 1) and for a batch (N, 2, "
           "1), because matmul broadcasts over the leading axis, and `+ b1` broadcasts too. The "
           "tanh must work on Tensors: `z.tanh()` or `ag.tanh(z)` (which also takes numpy "
           "arrays), not `math.tanh`.",
           "`(W1, b1), (W2, b2) = params`, then return W2 @ (the tanh of W1 @ x + b1) + b2."],
    solution="""
import optilab.autograd as ag


def mlp_forward(params, x):
    (W1, b1), (W2, b2) = params
    return W2 @ ag.tanh(W1 @ x + b1) + b2
""",
    stub="""
import optilab.autograd as ag


def mlp_forward(params, x):
    raise NotImplementedError("Exercise 7.4: return W2 @ tanh(W1 @ x + b1) + b2")
""",
)
