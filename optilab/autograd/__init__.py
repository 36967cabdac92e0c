"""optilab.autograd: a small, readable, vectorised reverse-mode autograd engine on numpy.

Read it in this order: ``tensor.py`` (the Tensor and how an operation is recorded),
``primitives.py`` (the derivative table), ``backward.py`` (the reverse sweep),
``functional.py`` (grad, jacobian, hessian, ...), then ``module.py``, ``nn.py``, ``optim.py``
and ``graph.py`` (``draw_graph``).

    >>> import optilab.autograd as ag
    >>> x = ag.Tensor(10.0)
    >>> y = ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)
    >>> y.backward()
    >>> round(float(x.grad), 5)
    -0.00129

This package never imports torch (torch is only the tests' oracle).
"""

from .functional import check_grads, flatten, grad, hessian, hvp, jacobian, value_and_grad
from .graph import GraphPicture, draw_graph
from .module import Module
from .nn import Exp, MSELoss, ReLU, Sigmoid, Tanh
from .primitives import (
    abs,
    add,
    broadcast_to,
    clip,
    concatenate,
    cos,
    divide,
    exp,
    log,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    multiply,
    negative,
    power,
    relu,
    reshape,
    sigmoid,
    sign,
    sin,
    softmax,
    sqrt,
    stack,
    subtract,
    sum,
    tanh,
    transpose,
    where,
)
from .tensor import Primitive, Tensor, Variable, defvjp, is_grad_enabled, no_grad, primitive

__all__ = [
    "Tensor", "Variable", "Primitive", "primitive", "defvjp", "no_grad", "is_grad_enabled",
    "grad", "value_and_grad", "jacobian", "hessian", "hvp", "check_grads", "flatten",
    "add", "subtract", "multiply", "divide", "power", "negative", "matmul",
    "exp", "log", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "sqrt", "sign",
    "maximum", "minimum", "clip", "where", "sum", "mean", "logsumexp", "softmax",
    "reshape", "transpose", "broadcast_to", "concatenate", "stack",
    "draw_graph", "GraphPicture",
    "Module", "Exp", "Tanh", "Sigmoid", "ReLU", "MSELoss",
]
