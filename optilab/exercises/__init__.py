"""Exercises with checks, hints and solutions, one module per notebook.

    from optilab.exercises.nb02_gradient_descent import q1, q2
    q1.check(gd_step)      # correct / not attempted yet / incorrect, and why
    q1.hint()              # the next hint; q1.hint(2) for hint 2
    q1.solution()          # a solution (highlighted in notebooks)

A check answers "correct", "not attempted" (the stub is still there: it raises
``NotImplementedError("Exercise 2.1: ...")`` or is ``...``) or "incorrect", naming the likely
mistake (accumulated gradients, wrong sign, a scheduler stepped before the optimizer, a
learning rate too big, ...).  Checks are plain Python with numpy (and torch for the torch
notebooks), so they work on every front end, Colab included.

Modules: ``nb01_autograd``, ``nb02_gradient_descent``, ``nb03_torch_optim``,
``nb04_schedulers``, ``nb05_live_plots``, ``nb06_cities``, ``nb07_regression``,
``nb08_newton``, ``nb09_quadratic``, ``nb10_stochastic``, ``nb11_line_search``,
``nb12_comparisons``, ``nb13_landscape``.  Helpers for
new checks live in :mod:`optilab.exercises.diagnose`.
"""

from __future__ import annotations

from .base import CORRECT, INCORRECT, NOT_ATTEMPTED, Exercise, Mistake, NotAttempted, Result, call

MODULES = ("nb01_autograd", "nb02_gradient_descent", "nb03_torch_optim", "nb04_schedulers",
           "nb05_live_plots", "nb06_cities", "nb07_regression", "nb08_newton", "nb09_quadratic",
           "nb10_stochastic", "nb11_line_search", "nb12_comparisons", "nb13_landscape")

__all__ = ["Exercise", "Result", "Mistake", "NotAttempted", "call", "CORRECT", "INCORRECT",
           "NOT_ATTEMPTED", "MODULES", "all_exercises"]


def all_exercises() -> dict[str, Exercise]:
    """Every exercise of every notebook, by number (``"2.1"``), in order."""
    import importlib

    found: dict[str, Exercise] = {}
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for attr in sorted((a for a in vars(module) if a[:1] == "q" and a[1:].isdigit()),
                           key=lambda a: int(a[1:])):
            exercise = getattr(module, attr)
            if isinstance(exercise, Exercise):
                found[exercise.number] = exercise
    return found
