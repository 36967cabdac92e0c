"""optilab: an interactive optimisation course-lab.

Importing ``optilab`` is cheap (numpy only): the parts (``optilab.optim``, ``optilab.plot``,
...) load when imported.  The maths functions below work on torch tensors, optilab tensors,
numpy arrays and numbers alike (see ``optilab.ops``), so ``ol.exp(x)`` reads as in a course.
"""

from .ops import abs, cos, exp, log, sigmoid, sin, sqrt, tanh  # noqa: A004

__all__ = ["abs", "cos", "exp", "log", "sigmoid", "sin", "sqrt", "tanh"]

__version__ = "0.1.0"
