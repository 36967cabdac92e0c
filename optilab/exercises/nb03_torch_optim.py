r"""Exercises of notebook 3, "torch.optim".

* ``q1`` gradient descent in torch by hand: update ``x.data`` and zero ``x.grad``;
* ``q2`` the same loop with ``torch.optim.Adam`` (``zero_grad``, ``backward``, ``step``);
* ``q3`` one step of SGD with momentum, as torch.optim.SGD computes it;
* ``q4`` Adam's first step: why it moves every coordinate by about ``lr``.

Checks compare with torch.optim runs, step by step, and with what each known variant
computes on the same inputs, so that a wrong answer is named: gradients accumulated without
``zero_grad``, SGD, AdamW or RMSprop instead of Adam (3.2); the averaging form, Nesterov's
look-ahead, a (v, x) pair, the Polyak/Sutskever convention (equivalent, but another v: not
accepted, and the message says why) (3.3); Adam without bias correction, or with it on m or
on v only (3.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Exercise, Mistake, call
from .diagnose import _show as show
from .diagnose import (
    check_gd_path,
    check_path,
    close,
    compare_function,
    engine_gradient,
    to_array,
    torch_path,
)

__all__ = ["q1", "q2", "q3", "q4", "valley", "bowl"]


def valley(p: Any) -> Any:
    """A curved valley (Rosenbrock with a softer wall): minimum 0 at (1, 1)."""
    return (1 - p[0]) ** 2 + 10 * (p[1] - p[0] ** 2) ** 2


def bowl(p: Any) -> Any:
    """An elongated bowl, minimum 0 at (1, -0.5)."""
    return (p[0] - 1) ** 2 + 10 * (p[1] + 0.5) ** 2


# ----------------------------------------------------------------------------- q1

def _check_q1(descend: Any) -> str:
    for f, x0, lr, steps in ((valley, [-1.0, 1.0], 0.01, 25), (bowl, [0.0, 0.0], 0.04, 15)):
        path = call(descend, f, list(x0), lr, steps, name="descend")
        mistake = check_gd_path(path, lambda x, f=f: engine_gradient(f, x), x0, lr, steps,
                                what=f"descend(f, {x0}, {lr}, {steps})", rtol=2e-5)
        if mistake:
            raise mistake
    return ("each step is x - lr * grad with a fresh gradient: `x.data` changes the numbers "
            "without recording the update, and `x.grad.zero_()` stops the accumulation.")


q1 = Exercise(
    "3.1", "Gradient descent in torch, by hand",
    r"""Write `descend(f, x0, lr, steps)`: make `x = torch.tensor(x0, requires_grad=True)`;
in each step compute `f(x)`, call `.backward()`, move `x.data` against `x.grad`, and
reset the gradient with `x.grad.zero_()`. Return the `steps + 1` points (a list of
numpy arrays, or an array).""",
    answers="descend",
    check=_check_q1,
    hints=["Three things happen in each step: backpropagate the loss, move the numbers of x, "
           "reset the gradient. And every point is recorded, x_0 included.",
           "`x.data -= lr * x.grad` changes the numbers in place without torch recording it (x "
           "stays a leaf). `backward()` adds into `x.grad`: `x.grad.zero_()` after the update "
           "stops the accumulation. Record copies: `x.detach().numpy()` shares x's memory and "
           "would change with x.",
           "Record `x.detach().clone().numpy()` before the loop; then, `steps` times: "
           "`f(x).backward()`, `x.data -= lr * x.grad`, `x.grad.zero_()`, record another copy; "
           "return the points."],
    solution="""
import numpy as np
import torch


def descend(f, x0, lr, steps):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    points = [x.detach().clone().numpy()]
    for _ in range(steps):
        f(x).backward()
        x.data -= lr * x.grad
        x.grad.zero_()                  # backward() adds into x.grad
        points.append(x.detach().clone().numpy())
    return np.array(points)
""",
    stub="""
import numpy as np
import torch


def descend(f, x0, lr, steps):
    raise NotImplementedError("Exercise 3.1: update x.data, zero x.grad, return the points")
""",
)


# ----------------------------------------------------------------------------- q2

def _check_q2(train_adam: Any) -> str:
    x0, lr, steps = [0.0, 0.0], 0.1, 25
    path = call(train_adam, bowl, list(x0), lr, steps, name="train_adam")
    reference, _ = torch_path(bowl, x0, "adam", lr, steps)
    variants = {
        "accumulated_gradient": (torch_path(bowl, x0, "adam", lr, steps, zero_grad=False)[0],
                                 "your path is Adam's with gradients accumulated across "
                                 "steps: call `optimizer.zero_grad()` before each "
                                 "`loss.backward()`."),
        "wrong_optimizer": (torch_path(bowl, x0, "sgd", lr, steps)[0],
                            "that is plain SGD's path: use `torch.optim.Adam([x], lr=lr)`."),
        "adamw": (torch_path(bowl, x0, "adamw", lr, steps)[0],
                  "that is AdamW's path: AdamW decouples weight decay from the gradient and, "
                  "by default (weight_decay=0.01), also shrinks x by lr * 0.01 * x in every "
                  "step, pulling it towards 0. Adam's default weight_decay is 0: use "
                  "`torch.optim.Adam([x], lr=lr)`."),
        "rmsprop": (torch_path(bowl, x0, "rmsprop", lr, steps)[0],
                    "that is RMSprop's path: RMSprop divides the gradient itself by the root "
                    "of a running mean of g^2 (alpha=0.99), with no running mean of g and no "
                    "bias correction. Adam also averages g (beta1=0.9) and corrects both "
                    "averages: use `torch.optim.Adam([x], lr=lr)`."),
    }
    mistake = check_path(path, reference, what="train_adam(f, [0, 0], 0.1, 25)",
                         variants=variants)
    if mistake:
        raise mistake
    return "your loop is torch.optim.Adam's, step for step."


q2 = Exercise(
    "3.2", "A torch.optim loop with Adam",
    r"""Write `train_adam(f, x0, lr, steps)`: a leaf `x = torch.tensor(x0, requires_grad=True)`,
`optimizer = torch.optim.Adam([x], lr=lr)`, and `steps` iterations of
`zero_grad()` / `f(x).backward()` / `step()`. Return the `steps + 1` points.""",
    answers="train_adam",
    check=_check_q2,
    hints=["The statement names every piece; what matters is the order of the three calls in the "
           "loop, and recording the points.",
           "Each iteration clears the old gradient (`optimizer.zero_grad()`), computes the loss "
           "and backpropagates, then lets the optimizer move x (`optimizer.step()`). Without "
           "zero_grad the gradients add up across steps.",
           "`optimizer = torch.optim.Adam([x], lr=lr)` (Adam itself: not AdamW, SGD or RMSprop); "
           "record `x.detach().clone().numpy()`; then `steps` times `optimizer.zero_grad()`, "
           "`f(x).backward()`, `optimizer.step()`, and record a copy of x."],
    solution="""
import numpy as np
import torch


def train_adam(f, x0, lr, steps):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=lr)
    points = [x.detach().clone().numpy()]
    for _ in range(steps):
        optimizer.zero_grad()
        f(x).backward()
        optimizer.step()
        points.append(x.detach().clone().numpy())
    return np.array(points)
""",
    stub="""
import numpy as np
import torch


def train_adam(f, x0, lr, steps):
    raise NotImplementedError("Exercise 3.2: the zero_grad / backward / step loop with Adam")
""",
)


# ----------------------------------------------------------------------------- q3

def _pair(out: Any) -> np.ndarray:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Mistake("shape", "momentum_step should return two things: (new x, new v).")
    return np.concatenate([to_array(out[0], "the new x").reshape(-1),
                           to_array(out[1], "the new v").reshape(-1)])


def _xv(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.concatenate([x, v])


# What each known variant of the momentum step returns for (x, v, g, lr, beta), flattened as
# (new x, new v) the way the check reads a student's pair.  torch's rule: v' = beta v + g,
# x' = x - lr v'.
_MOMENTUM_VARIANTS = {
    "ema_momentum": (lambda x, v, g, lr, beta: _xv(
        x - lr * (beta * v + (1 - beta) * g), beta * v + (1 - beta) * g),
        "that is the averaging form v <- beta v + (1 - beta) g (Adam's m); torch.optim.SGD "
        "uses v <- beta v + g."),
    "old_velocity": (lambda x, v, g, lr, beta: _xv(x - lr * v, beta * v + g),
                     "update v first, then move x with the new v."),
    "wrong_sign": (lambda x, v, g, lr, beta: _xv(x + lr * (beta * v + g), beta * v + g),
                   "x moves against v: x - lr * v."),
    "swapped_pair": (lambda x, v, g, lr, beta: _xv(beta * v + g, x - lr * (beta * v + g)),
                     "your numbers are right but in the wrong order: you returned (v, x). "
                     "Return the new point first, `return x, v`: the caller unpacks "
                     "`x, v = momentum_step(x, v, g, lr, beta)`."),
    # Nesterov (torch's nesterov=True): v' = beta v + g, x' = x - lr (g + beta v').
    "nesterov": (lambda x, v, g, lr, beta: _xv(x - lr * (g + beta * (beta * v + g)),
                                               beta * v + g),
                 "that is Nesterov's momentum (torch's `nesterov=True`): it steps along "
                 "g + beta v, the gradient plus the velocity it will have, a look-ahead. Plain "
                 "(heavy-ball) momentum, what SGD(momentum=0.9) does, steps along the new "
                 "velocity itself: x - lr * v."),
    # Sutskever et al. (2013), Polyak's heavy ball written with the step inside v:
    # u' = beta u - lr g, x' = x + u'.  With u = -lr v (lr constant) it is torch's rule.
    "sutskever_convention": (lambda x, v, g, lr, beta: _xv(x + beta * v - lr * g,
                                                           beta * v - lr * g),
                             "that is the Polyak/Sutskever convention, v <- beta v - lr g, "
                             "x <- x + v: an equivalent way to write momentum, not a wrong "
                             "algorithm. Its v holds the step, -lr times torch's v (torch's v "
                             "is your v divided by -lr), so with a constant lr and v_0 = 0 "
                             "both give the same points. It is not accepted here because the "
                             "exercise asks for torch's v, the `momentum_buffer` torch keeps "
                             "in `optimizer.state`, and because the two differ as soon as lr "
                             "changes (a scheduler): torch multiplies the whole velocity by "
                             "the new lr, your form only the new gradients. Write "
                             "v <- beta v + g, then x <- x - lr * v."),
    "sutskever_plus": (lambda x, v, g, lr, beta: _xv(x - beta * v - lr * g, beta * v + lr * g),
                       "that is Sutskever's convention with the sign inside x, v <- beta v + "
                       "lr g, x <- x - v: an equivalent way to write momentum. Its v holds "
                       "the step, lr times torch's v (torch's v is your v divided by lr), so "
                       "with a constant lr and v_0 = 0 both give the same points. It is not "
                       "accepted here because the exercise asks for torch's v, the "
                       "`momentum_buffer` torch keeps in `optimizer.state`, and because the "
                       "two differ as soon as lr changes (a scheduler): torch multiplies the "
                       "whole velocity by the new lr, your form only the new gradients. "
                       "Write v <- beta v + g, then x <- x - lr * v."),
}


def _which_is_wrong(student: Any, truth: Any, inputs: list[tuple[Any, ...]]) -> Mistake | None:
    """Name the wrong half of (new x, new v) at the first input where the answer differs."""
    for x, v, g, lr, beta in inputs:
        got, want = student(x, v, g, lr, beta), truth(x, v, g, lr, beta)
        if got.shape != want.shape:
            return None
        n = len(x)
        x_ok, v_ok = close(got[:n], want[:n]), close(got[n:], want[n:])
        at = (f"With x = {show(x)}, v = {show(v)}, g = {show(g)}, lr = {lr:g}, "
              f"beta = {beta:g}:")
        if x_ok and not v_ok:
            return Mistake("wrong_velocity", f"your new x is right but the v you return is "
                           f"not. {at} the new velocity is beta v + g = {show(want[n:])}, "
                           f"you returned {show(got[n:])}. Return the velocity you moved with.")
        if v_ok and not x_ok:
            return Mistake("wrong_point", f"your new v is right but your new x is not. {at} "
                           f"x - lr * (new v) = {show(want[:n])}, you returned "
                           f"{show(got[:n])}.")
        if not (x_ok or v_ok):
            return Mistake("wrong", f"neither the new x nor the new v is right. {at} torch's "
                           f"step gives x = {show(want[:n])} and v = {show(want[n:])}, yours "
                           f"x = {show(got[:n])} and v = {show(got[n:])}.")
    return None


def _check_q3(momentum_step: Any) -> str:
    rng = np.random.default_rng(5)
    inputs = [tuple(rng.normal(size=3) for _ in range(3)) + (0.1, 0.9) for _ in range(3)]
    student = lambda x, v, g, lr, beta: _pair(call(momentum_step, x.copy(), v.copy(), g.copy(),
                                                   lr, beta, name="momentum_step"))
    truth = lambda x, v, g, lr, beta: _xv(x - lr * (beta * v + g), beta * v + g)
    mistake = compare_function(student, truth, inputs, what="momentum_step",
                               alternatives=_MOMENTUM_VARIANTS)
    if mistake and mistake.key == "wrong":          # no known variant: say which half is off
        mistake = _which_is_wrong(student, truth, inputs) or mistake
    if mistake:
        raise mistake
    x0, lr, beta, steps = np.array([0.0, 0.0]), 0.02, 0.9, 12
    x, v, points = x0.copy(), np.zeros(2), [x0.copy()]     # iterate it against torch's SGD
    for _ in range(steps):
        x, v = (to_array(a) for a in call(momentum_step, x, v, engine_gradient(bowl, x), lr,
                                          beta, name="momentum_step"))
        points.append(x.copy())
    reference, _ = torch_path(bowl, x0, "sgd", lr, steps, optimizer_kwargs={"momentum": beta})
    mistake = check_path(points, reference, what="momentum_step iterated")
    if mistake:
        raise mistake
    return "twelve of your steps follow torch.optim.SGD(momentum=0.9) exactly."


q3 = Exercise(
    "3.3", "One step of SGD with momentum",
    r"""torch.optim.SGD with momentum $\beta$ keeps a velocity $v$:
$v \leftarrow \beta v + g$, then $x \leftarrow x - \eta v$. Write
`momentum_step(x, v, g, lr, beta)` returning the new `(x, v)` (numpy arrays).""",
    answers="momentum_step",
    check=_check_q3,
    hints=["Two lines: first the new velocity, then the new point, which moves with the *new* "
           "velocity.",
           "torch's convention: v adds up gradients, v <- beta v + g (no (1 - beta) in front of "
           "g, no lr inside v), and the step is -lr times that v. Books that write v <- beta v - "
           "lr g, x <- x + v describe the same method (for a constant lr) with another v; "
           "this exercise asks for torch's.",
           "Compute `v = beta * v + g`, then return the pair in the order (new x, new v), with "
           "new x = x - lr * v."],
    solution="""
def momentum_step(x, v, g, lr, beta):
    v = beta * v + g
    return x - lr * v, v
""",
    stub="""
def momentum_step(x, v, g, lr, beta):
    raise NotImplementedError("Exercise 3.3: return the new (x, v)")
""",
)


# ----------------------------------------------------------------------------- q4

def _torch_adam_first(x0: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
    import torch

    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    x.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    return x.detach().numpy()


def _check_q4(adam_first_step: Any) -> str:
    inputs = [(np.array([1.0, -2.0, 3.0]), np.array([0.5, -100.0, 1e-3]), 0.1),
              (np.array([0.0, 4.0]), np.array([-2.0, 7.0]), 0.01)]
    what = "adam_first_step(x0, g, lr)"
    mistake = compare_function(adam_first_step, _torch_adam_first, inputs, what=what,
                               rtol=1e-6, atol=1e-7)
    if mistake:      # name a known variant by its step x1 - x0, with or without eps in it:
        step = lambda fn: lambda x, g, lr: to_array(fn(x, g, lr)) - x    # eps moves it < 1e-3
        student = step(lambda x, g, lr: call(adam_first_step, x, g, lr, name=what))
        named = compare_function(student, step(_torch_adam_first), inputs, what=what, rtol=1e-3,
                                 alternatives={key: (step(fn), message) for key, (fn, message)
                                               in _ADAM_VARIANTS.items()})
        raise named if named is not None and named.key in _ADAM_VARIANTS else mistake
    return ("Adam's first step is lr * g / |g| per coordinate: every coordinate moves by lr, "
            "whether its gradient is 0.001 or 100.")


# Adam's step 1 from m_0 = v_0 = 0: m = (1 - b1) g, v = (1 - b2) g^2, then the bias
# corrections m / (1 - b1), v / (1 - b2) give g and g^2, so the step is lr g / |g|.  Each
# variant below drops a piece; the factor in front of lr * sign(g) names it.
_B1, _B2 = 0.9, 0.999
_ADAM_VARIANTS = {
    "sgd_step": (lambda x, g, lr: x - lr * g, "that is SGD's step x - lr g; Adam divides "
                 "by the root of its running mean of g^2."),
    "no_bias_correction": (
        lambda x, g, lr: x - lr * (1 - _B1) * g / np.sqrt((1 - _B2) * g * g),
        "without bias correction: at the first step m = (1 - b1) g and v = (1 - b2) g^2, and "
        "m / sqrt(v) = (1 - b1) / sqrt(1 - b2) sign(g) = 3.16 sign(g), a step 3.16 times too "
        "long. Adam divides m by 1 - b1^t and v by 1 - b2^t (t = 1 here), which makes "
        "m / sqrt(v) = g / |g|."),
    "bias_correction_m_only": (
        lambda x, g, lr: x - lr * g / np.sqrt((1 - _B2) * g * g),
        "you corrected m (divided by 1 - b1) but not v: uncorrected, v = (1 - b2) g^2 = "
        "0.001 g^2, so sqrt(v) = 0.0316 |g| and your step is 1 / sqrt(1 - b2) = 31.6 times "
        "too long. Divide v by 1 - b2^t as well (t = 1)."),
    "bias_correction_v_only": (
        lambda x, g, lr: x - lr * (1 - _B1) * g / np.sqrt(g * g),
        "you corrected v (divided by 1 - b2) but not m: uncorrected, m = (1 - b1) g = 0.1 g, "
        "so your step is 0.1 lr instead of lr. Divide m by 1 - b1^t as well (t = 1)."),
    "no_sqrt": (lambda x, g, lr: x - lr * g / (g * g),
                "you divided by v = g^2 itself: Adam divides m by the square root of v, "
                "which makes m / sqrt(v) = g / |g|."),
}


q4 = Exercise(
    "3.4", "Adam's first step",
    r"""With default betas $(0.9, 0.999)$, where does `torch.optim.Adam` move $x_0$ in its
very first step, given the gradient `g`? Write `adam_first_step(x0, g, lr)` returning
$x_1$ (numpy arrays; ignore `eps`). The check compares with torch.""",
    answers="adam_first_step",
    check=_check_q4,
    hints=["Start from m_0 = v_0 = 0 and write Adam's update (the formulas above the exercise) "
           "for t = 1 by hand.",
           "At t = 1: m = (1 - b1) g and v = (1 - b2) g^2. The bias corrections divide them by 1 "
           "- b1^1 and 1 - b2^1, both of them: m_hat = g and v_hat = g^2.",
           "So the step is lr * m_hat / sqrt(v_hat) = lr * g / |g|, coordinate by coordinate: x1 "
           "is x0 minus lr times the sign of g (`np.sign(g)`)."],
    solution="""
import numpy as np


def adam_first_step(x0, g, lr):
    return x0 - lr * np.sign(g)
""",
    stub="""
import numpy as np


def adam_first_step(x0, g, lr):
    raise NotImplementedError("Exercise 3.4: return x1 after one Adam step")
""",
)
