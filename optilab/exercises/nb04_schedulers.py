r"""Exercises of notebook 4, "Learning-rate schedulers".

* ``q1`` the learning rate after k steps of StepLR;
* ``q2`` the same for MultiStepLR (milestones);
* ``q3`` a training loop with ExponentialLR on :math:`5|x|`, in the right order;
* ``q4`` a warm-up factor for LambdaLR;
* ``q5`` the cosine schedule's value;
* ``q6`` when ReduceLROnPlateau first lowers the rate.

Every check compares with the learning rates torch's own schedulers produce, and a loop's
rates are read off its path (on :math:`5|x|` each step has length 5 lr), so a scheduler
stepped before the optimizer shows up as rates one step ahead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Exercise, Mistake, call
from .diagnose import (
    as_number,
    as_path,
    check_lrs,
    check_path,
    compare,
    compare_function,
    torch_path,
)

__all__ = ["q1", "q2", "q3", "q4", "q5", "q6", "torch_lrs", "LOSSES"]


def torch_lrs(scheduler: str, lr0: float, n: int, **kwargs: Any) -> np.ndarray:
    """The rates ``lr_0, ..., lr_(n-1)`` a torch scheduler gives (one step per iteration)."""
    import torch

    from ..optim import SCHEDULERS

    x = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([x], lr=lr0)
    sched = SCHEDULERS[scheduler](opt, **kwargs)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


def _schedule_check(student: Any, name: str, what: str, settings: list[dict[str, Any]],
                    n: int, alternatives: dict[str, tuple[Any, str]], **fixed: Any) -> None:
    """Compare ``student(**setting, k=k)`` with torch's scheduler for k < n."""
    for setting in settings:
        lr0 = setting["lr0"]
        truth = torch_lrs(name, lr0, n, **{k: v for k, v in setting.items() if k != "lr0"})
        ks = [(k,) for k in range(n)]
        got = lambda k, s=setting: call(student, *s.values(), k, name=what)
        alts = {key: (lambda k, fn=fn, s=setting: fn(*s.values(), k), msg)
                for key, (fn, msg) in alternatives.items()}
        mistake = compare_function(got, lambda k, t=truth: t[k], ks,
                                   what=f"{what}({', '.join(map(str, setting.values()))}, k)",
                                   alternatives=alts, rtol=1e-9, atol=1e-15)
        if mistake:
            raise mistake


# ----------------------------------------------------------------------------- q1

def _check_q1(step_lr: Any) -> str:
    alternatives = {
        "decays_every_step": (lambda lr0, s, g, k: lr0 * g ** k,
                              "StepLR multiplies by gamma every step_size steps, not every "
                              "step: the exponent is k // step_size."),
        "no_floor": (lambda lr0, s, g, k: lr0 * g ** (k / s),
                     "the exponent is a whole number, k // step_size: the rate drops in "
                     "stairs, not smoothly."),
        "one_step_early": (lambda lr0, s, g, k: lr0 * g ** ((k + 1) // s),
                           "the first drop comes one step early: at step k the exponent is "
                           "k // step_size."),
    }
    _schedule_check(step_lr, "step", "step_lr",
                    [{"lr0": 0.1, "step_size": 5, "gamma": 0.5},
                     {"lr0": 1.0, "step_size": 3, "gamma": 0.9}], 16, alternatives)
    return "lr_k = lr_0 * gamma ** (k // step_size): a staircase."


q1 = Exercise(
    "4.1", "StepLR",
    r"""`StepLR(optimizer, step_size, gamma)` multiplies the learning rate by `gamma` every
`step_size` steps. Write `step_lr(lr0, step_size, gamma, k)`: the rate used at step
`k = 0, 1, 2, ...`. The check compares with torch.""",
    answers="step_lr",
    check=_check_q1,
    hints=["Write out the rates for step_size = 3: which steps use lr0, which lr0 * gamma, which "
           "lr0 * gamma^2?",
           "The rate has been multiplied by gamma once per completed block of step_size steps: "
           "the exponent is a whole number that grows by one at k = step_size, 2 step_size, ...",
           "The number of completed blocks is integer division, `k // step_size`; the rate is lr0 "
           "times gamma to that power."],
    solution="""
def step_lr(lr0, step_size, gamma, k):
    return lr0 * gamma ** (k // step_size)
""",
    stub="""
def step_lr(lr0, step_size, gamma, k):
    raise NotImplementedError("Exercise 4.1: return the learning rate of step k")
""",
)


# ----------------------------------------------------------------------------- q2

def _check_q2(multistep_lr: Any) -> str:
    alternatives = {
        "one_step_late": (lambda lr0, ms, g, k: lr0 * g ** sum(m < k for m in ms),
                          "the rate drops at the milestone itself: step k = milestone already "
                          "uses the lower rate (count the milestones <= k)."),
        "decays_every_step": (lambda lr0, ms, g, k: lr0 * g ** k,
                              "the rate changes only at the milestones."),
    }
    _schedule_check(multistep_lr, "multistep", "multistep_lr",
                    [{"lr0": 0.1, "milestones": [3, 7], "gamma": 0.1},
                     {"lr0": 1.0, "milestones": [2, 5, 6], "gamma": 0.5}], 10, alternatives)
    return "lr_k = lr_0 * gamma ** (number of milestones <= k)."


q2 = Exercise(
    "4.2", "MultiStepLR",
    r"""`MultiStepLR(optimizer, milestones, gamma)` multiplies the rate by `gamma` when the
step count reaches each milestone. Write `multistep_lr(lr0, milestones, gamma, k)`: the rate
used at step `k`.""",
    answers="multistep_lr",
    check=_check_q2,
    hints=["Like StepLR, but the drops happen at the listed milestones instead of every step_size "
           "steps.",
           "At step k the rate has been multiplied by gamma once for every milestone already "
           "reached, the milestone itself included: step k = m already uses the lower rate.",
           "Count the milestones reached with `sum(m <= k for m in milestones)`, and raise gamma "
           "to that power."],
    solution="""
def multistep_lr(lr0, milestones, gamma, k):
    return lr0 * gamma ** sum(m <= k for m in milestones)
""",
    stub="""
def multistep_lr(lr0, milestones, gamma, k):
    raise NotImplementedError("Exercise 4.2: return the learning rate of step k")
""",
)


# ----------------------------------------------------------------------------- q3

def _abs5(x: Any) -> Any:
    return 5 * x.abs().sum()


def _check_q3(train: Any) -> str:
    x0, lr, gamma, steps = 3.0, 0.5, 0.8, 15
    path = as_path(call(train, x0, lr, gamma, steps, name="train"), "train(3.0, 0.5, 0.8, 15)")
    kw = {"scheduler": "exponential", "scheduler_kwargs": {"gamma": gamma}}
    reference, lrs = torch_path(_abs5, [x0], "sgd", lr, steps, **kw)
    variants = {
        "scheduler_before_optimizer": (
            torch_path(_abs5, [x0], "sgd", lr, steps, scheduler_first=True, **kw)[0],
            "your rates are one step ahead: the first step already used lr * gamma. Call "
            "`optimizer.step()` first, then `scheduler.step()`."),
        "accumulated_gradient": (
            torch_path(_abs5, [x0], "sgd", lr, steps, zero_grad=False, **kw)[0],
            "the gradients accumulate across steps: call `optimizer.zero_grad()` before "
            "`backward()`."),
    }
    mistake = check_path(path, reference, what="train(3.0, 0.5, 0.8, 15)", variants=variants)
    if mistake is None:
        return ("the learning rates along your path are 0.5 * 0.8^k, k = 0, 1, ...: the "
                "scheduler steps after the optimizer.")
    if mistake.key in variants or len(path) < 2:
        raise mistake
    used = np.abs(np.diff(path[:, 0])) / 5          # on 5|x| each step has length 5 lr_k
    timing = check_lrs(used, lr * gamma ** np.arange(2 * steps + 2),
                       what="the learning rates your steps used")
    raise timing if timing is not None and timing.key != "wrong_lr" else mistake


q3 = Exercise(
    "4.3", "An ExponentialLR loop, in the right order",
    r"""Write `train(x0, lr, gamma, steps)`: minimise $f(x) = 5|x|$ from `x0` with
`torch.optim.SGD` and `ExponentialLR(optimizer, gamma)`, one scheduler step per optimizer
step, and return the `steps + 1` points. (On $5|x|$ every step has length $5\eta_k$: the
check reads your learning rates off your path.)""",
    answers="train",
    check=_check_q3,
    hints=["It is notebook 3's torch.optim loop (SGD on f(x) = 5|x|) with a scheduler attached to "
           "the optimizer. Which line does the scheduler add to the loop, and where?",
           "The scheduler prepares the rate of the *next* step, so it steps after the optimizer: "
           "zero_grad, backward, `optimizer.step()`, then `scheduler.step()`. Stepped first, it "
           "lowers the rate before the first step has used lr.",
           "A float64 tensor `[x0]` with requires_grad, `torch.optim.SGD([x], lr=lr)`, "
           "`torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)` and `points = "
           "[x.item()]`; each step: `optimizer.zero_grad()`, `(5 * x.abs().sum()).backward()`, "
           "`optimizer.step()`, `scheduler.step()`, `points.append(x.item())`."],
    solution="""
import numpy as np
import torch


def train(x0, lr, gamma, steps):
    x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    points = [x.item()]
    for _ in range(steps):
        optimizer.zero_grad()
        (5 * x.abs().sum()).backward()
        optimizer.step()
        scheduler.step()
        points.append(x.item())
    return np.array(points)
""",
    stub="""
import numpy as np
import torch


def train(x0, lr, gamma, steps):
    raise NotImplementedError("Exercise 4.3: SGD + ExponentialLR on 5|x|; return the points")
""",
)


# ----------------------------------------------------------------------------- q4

def _check_q4(warmup: Any) -> str:
    lr0, n = 0.1, 12
    if not callable(warmup):
        raise Mistake("not_a_function", "warmup should be a function of the step k.")
    used = torch_lrs("lambda", lr0, n, lr_lambda=lambda k: float(call(warmup, k,
                                                                      name="warmup")))
    truth = lr0 * np.minimum(1.0, (np.arange(n) + 1) / 5)
    alternatives = {
        "zero_first_rate": (lr0 * np.minimum(1.0, np.arange(n) / 5),
                            "the first step gets lr = 0 and does nothing: use (k + 1) / 5."),
        "no_clamp": (lr0 * (np.arange(n) + 1) / 5,
                     "the factor keeps growing after the warm-up: cap it at 1 "
                     "(min(1, (k + 1) / 5))."),
        "rate_not_factor": (lr0 * lr0 * np.minimum(1.0, (np.arange(n) + 1) / 5),
                            "LambdaLR multiplies the initial rate by your function: return "
                            "a factor (1 at the end of the warm-up), not a learning rate."),
    }
    mistake = compare(used, truth, what="the rates LambdaLR(warmup) gives",
                      alternatives=alternatives, rtol=1e-9, atol=1e-15)
    if mistake:
        raise mistake
    return "rates 0.02, 0.04, ..., 0.1, then constant: a linear warm-up over 5 steps."


q4 = Exercise(
    "4.4", "A warm-up with LambdaLR",
    r"""`LambdaLR(optimizer, lr_lambda=warmup)` uses the rate $\eta_0 \cdot$ `warmup(k)` at
step k. Write `warmup(k)` so that the rate grows linearly over the first 5 steps
($\eta_0/5, 2\eta_0/5, \dots, \eta_0$ at k = 4) and then stays at $\eta_0$.""",
    answers="warmup",
    check=_check_q4,
    hints=["warmup returns a factor, not a rate: LambdaLR multiplies the initial rate by it. "
           "Which factor do you want at k = 0, 1, ..., 4, and after?",
           "The factors 1/5, 2/5, 3/5, 4/5, 1 grow by 1/5 per step: (k + 1) / 5 for k = 0 to 4. "
           "From k = 4 on the factor stays 1.",
           "Cap the straight line at 1: the smaller of 1 and (k + 1) / 5 (`min`)."],
    solution="""
def warmup(k):
    return min(1.0, (k + 1) / 5)
""",
    stub="""
def warmup(k):
    raise NotImplementedError("Exercise 4.4: return the factor for step k")
""",
)


# ----------------------------------------------------------------------------- q5

def _check_q5(cosine_lr: Any) -> str:
    alternatives = {
        "missing_half": (lambda lr0, T, k: lr0 * (1 + np.cos(np.pi * k / T)),
                         "the factor (1 + cos) / 2 goes from 1 to 0; without the / 2 the rate "
                         "starts at 2 lr_0."),
        "missing_one_plus": (lambda lr0, T, k: lr0 * np.cos(np.pi * k / T),
                             "cos(pi k / T) alone goes negative: the factor is "
                             "(1 + cos(pi k / T)) / 2."),
        "missing_pi": (lambda lr0, T, k: lr0 * (1 + np.cos(k / T)) / 2,
                       "the angle runs from 0 to pi over T_max steps: pi k / T_max."),
        "full_period": (lambda lr0, T, k: lr0 * (1 + np.cos(2 * np.pi * k / T)) / 2,
                        "the rate reaches its minimum at k = T_max: half a period, pi k / T."),
    }
    _schedule_check(cosine_lr, "cosine", "cosine_lr",
                    [{"lr0": 0.1, "T_max": 10}, {"lr0": 2.0, "T_max": 7}], 8, alternatives)
    return "lr_k = lr_0 (1 + cos(pi k / T_max)) / 2: slow, fast, slow."


q5 = Exercise(
    "4.5", "The cosine schedule",
    r"""`CosineAnnealingLR(optimizer, T_max)` lowers the rate from $\eta_0$ to 0 along half a
cosine period: $\eta_k = \eta_0 \, \frac{1 + \cos(\pi k / T_{max})}{2}$. Write
`cosine_lr(lr0, T_max, k)` for $0 \le k \le T_{max}$.""",
    answers="cosine_lr",
    check=_check_q5,
    hints=["The formula is in the statement: translate it into numpy. Check it at the ends: the "
           "factor is 1 at k = 0 and 0 at k = T_max.",
           "The angle goes from 0 to pi while k goes from 0 to T_max: pi k / T_max. Then (1 + "
           "cos(angle)) / 2 goes from 1 down to 0.",
           "lr0 times (1 + `np.cos(np.pi * k / T_max)`) / 2."],
    solution="""
import numpy as np


def cosine_lr(lr0, T_max, k):
    return lr0 * (1 + np.cos(np.pi * k / T_max)) / 2
""",
    stub="""
import numpy as np


def cosine_lr(lr0, T_max, k):
    raise NotImplementedError("Exercise 4.5: return the cosine schedule's rate at step k")
""",
)


# ----------------------------------------------------------------------------- q6

LOSSES = (5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.9, 3.0, 3.0, 3.0, 2.95, 2.9)


def _plateau_drops(patience: int) -> list[int]:
    import torch

    x = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([x], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=patience)
    drops, lr = [], 1.0
    for k, loss in enumerate(LOSSES):
        sched.step(loss)
        if opt.param_groups[0]["lr"] < lr:
            drops.append(k)
            lr = opt.param_groups[0]["lr"]
    return drops


def _check_q6(first_drop: Any) -> str:
    k = as_number(first_drop, "first_drop")
    truth = _plateau_drops(patience=2)[0]
    if k == truth:
        return (f"losses {LOSSES[3:6]} at k = 3, 4, 5 are three in a row that do not beat the "
                f"best 3.0: patience 2 tolerates two, the third lowers the rate.")
    previous, bad = [], 0
    for i in range(1, len(LOSSES)):          # the "compare with the previous loss" reading
        bad = bad + 1 if LOSSES[i] >= LOSSES[i - 1] else 0
        if bad > 2:
            previous.append(i)
            bad = 0
    if k == truth - 1:
        raise Mistake("patience_off_by_one", "patience = 2 means two bad steps are tolerated; "
                      "the rate drops at the third bad step in a row.")
    if previous and k == previous[0]:
        raise Mistake("compared_with_previous", "a loss counts as an improvement only when it "
                      "beats the best loss so far (3.0), not the previous loss.")
    raise Mistake("wrong", f"not at step {k:g}: count the steps after k = 2 (best loss 3.0) "
                  f"that do not improve on it.")


q6 = Exercise(
    "4.6", "When does ReduceLROnPlateau act?",
    r"""A loop calls `scheduler.step(loss)` with the losses `LOSSES` (k = 0, 1, ...), with
`ReduceLROnPlateau(optimizer, factor=0.5, patience=2)`. After which k is the learning rate
lowered for the first time? Set `first_drop` to that k.""",
    answers="first_drop",
    check=_check_q6,
    hints=["Write down the best loss so far at each k, and mark the steps whose loss does not "
           "beat it.",
           "A loss is 'bad' when it does not beat the best loss seen so far (by torch's default, "
           "beating means going below best * (1 - 1e-4): threshold=1e-4, mode 'rel'), not the "
           "previous loss. The count of bad losses in a row restarts at each improvement.",
           "patience = 2: two bad losses in a row are tolerated, and the rate is lowered when the "
           "third arrives. The best loss is 3.0 at k = 2: count the bad ones after it."],
    solution="""
first_drop = 5
""",
    stub="""
first_drop = ...   # Exercise 4.6: a step number k
""",
)
