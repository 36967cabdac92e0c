"""Maths functions that work on whatever you give them: one function source, two engines.

``ops.sin(x)`` is ``x.sin()`` for a ``torch.Tensor`` and ``optilab.autograd.sin(x)`` for
everything else: an ``optilab.autograd.Tensor`` (recorded for differentiation), a numpy
array (plain numpy: a grid for plotting) or a number.  So one definition

    def f(x, y):
        return ops.sin(x) * ops.exp(-y ** 2)

can be differentiated by torch, differentiated by optilab.autograd, and evaluated on a
numpy meshgrid.  (numpy arrays have no ``.sin()`` method, which is why these namespace
functions exist.)  torch is recognised without importing it, so using ``ops`` never
loads torch.

    >>> import numpy as np
    >>> from optilab import ops
    >>> ops.tanh(np.array([0.0, 100.0]))
    array([0., 1.])
    >>> import optilab.autograd as ag
    >>> ops.exp(ag.Tensor(0.0))
    Tensor(1., op=exp)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import autograd as _ag

__all__ = ["exp", "log", "sin", "cos", "tanh", "sqrt", "abs", "sigmoid", "is_torch"]


def is_torch(x: Any) -> bool:
    """True for a ``torch.Tensor`` (checked by its module's name: torch is not imported).

    >>> is_torch(1.0)
    False
    """
    return type(x).__module__.startswith("torch")


def _dispatching(name: str, maths: str) -> Callable[[Any], Any]:
    ours = getattr(_ag, name)

    def op(x: Any) -> Any:
        return getattr(x, name)() if is_torch(x) else ours(x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"{maths}, elementwise: ``x.{name}()`` for a torch tensor, "
                  f"``optilab.autograd.{name}(x)`` for optilab tensors, numpy arrays and numbers.")
    return op


exp = _dispatching("exp", "e^x")
log = _dispatching("log", "the natural logarithm ln x")
sin = _dispatching("sin", "sin x")
cos = _dispatching("cos", "cos x")
tanh = _dispatching("tanh", "tanh x = (e^x - e^-x) / (e^x + e^-x)")
sqrt = _dispatching("sqrt", "the square root of x")
abs = _dispatching("abs", "|x|")  # noqa: A001 - the name students know
sigmoid = _dispatching("sigmoid", "sigmoid(x) = 1 / (1 + e^-x)")
