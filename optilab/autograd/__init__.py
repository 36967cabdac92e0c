"""optilab.autograd: a small, readable, vectorised reverse-mode autograd engine on numpy.

Read it in this order: ``tensor.py`` (the Tensor and how an operation is recorded),
``primitives.py`` (the derivative table: arithmetic and elementwise functions),
``backward.py`` (the reverse sweep), ``functional.py`` (grad, jacobian, hessian, ...);
then the other families of the table, ``reductions.py``, ``shapes.py`` and ``linalg.py``;
``numpy_api.py`` (numpy's own functions on Tensors), ``module.py``, ``nn.py``,
``optim.py`` and ``graph.py`` (``draw_graph``).

    >>> import optilab.autograd as ag
    >>> x = ag.Tensor(10.0)
    >>> y = ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)
    >>> y.backward()
    >>> round(float(x.grad), 5)
    -0.00129

This package never imports torch (torch is only the tests' oracle).
"""

# isort: off
# tensor.py first: at its end it loads the operation families, which need the Tensor class
from .tensor import (GradientLostWarning, Primitive, Tensor, Variable, defvjp, is_grad_enabled,
                     no_grad, primitive)
# isort: on

from .functional import (
    check_grads,
    elementwise_grad,
    flatten,
    gnvp,
    grad,
    hessian,
    hvp,
    jacobian,
    jvp,
    value_and_grad,
)
from .graph import GraphPicture, draw_graph
from .linalg import (
    cholesky,
    det,
    dot,
    eigh,
    eigvalsh,
    einsum,
    inner,
    inv,
    outer,
    slogdet,
    solve,
    tensordot,
    trace,
)
from .module import Module
from .nn import CrossEntropyLoss, Exp, MSELoss, ReLU, Sigmoid, Tanh, cross_entropy
from .primitives import (
    abs,
    add,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    clip,
    cos,
    cosh,
    divide,
    exp,
    exp2,
    expm1,
    hypot,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    matmul,
    maximum,
    minimum,
    multiply,
    negative,
    power,
    reciprocal,
    relu,
    sigmoid,
    sign,
    sin,
    sinh,
    softplus,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    where,
)
from .reductions import (
    amax,
    amin,
    argmax,
    argmin,
    cumsum,
    log_softmax,
    logsumexp,
    mean,
    norm,
    prod,
    softmax,
    std,
    sum,
    var,
)
from .shapes import (
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_to,
    column_stack,
    concatenate,
    diag,
    diagonal,
    diff,
    expand_dims,
    flip,
    hstack,
    moveaxis,
    ravel,
    repeat,
    reshape,
    roll,
    split,
    squeeze,
    stack,
    swapaxes,
    take,
    tile,
    transpose,
    tril,
    triu,
    vstack,
)

max, min = amax, amin  # noqa: A001 - numpy's names: np.max is np.amax
from . import linalg  # noqa: E402 - numpy's spelling too: ag.linalg.solve, ag.linalg.norm

# the operations by family, as the README lists them
ARITHMETIC = ["add", "subtract", "multiply", "divide", "power", "negative", "matmul",
              "square", "reciprocal"]
ELEMENTWISE = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "abs",
               "sign", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
               "tanh", "arcsinh", "arccosh", "arctanh", "sigmoid", "softplus", "relu",
               "arctan2", "hypot", "logaddexp", "logaddexp2", "maximum", "minimum", "clip",
               "where"]
REDUCTIONS = ["sum", "mean", "prod", "max", "min", "amax", "amin", "cumsum", "var", "std",
              "norm", "logsumexp", "softmax", "log_softmax", "argmax", "argmin"]
SHAPES = ["reshape", "ravel", "squeeze", "expand_dims", "transpose", "swapaxes", "moveaxis",
          "broadcast_to", "atleast_1d", "atleast_2d", "atleast_3d", "concatenate", "stack",
          "vstack", "hstack", "column_stack", "split", "array_split", "repeat", "tile",
          "take", "flip", "roll", "diagonal", "diag", "tril", "triu", "diff"]
LINALG = ["dot", "inner", "outer", "tensordot", "einsum", "trace", "solve", "inv", "det",
          "slogdet", "cholesky", "eigh", "eigvalsh"]
OPERATIONS = ARITHMETIC + ELEMENTWISE + REDUCTIONS + SHAPES + LINALG

__all__ = [
    "Tensor", "Variable", "Primitive", "primitive", "defvjp", "no_grad", "is_grad_enabled",
    "GradientLostWarning",
    "grad", "value_and_grad", "elementwise_grad", "jacobian", "hessian", "hvp", "jvp", "gnvp",
    "check_grads", "flatten", *OPERATIONS, "linalg", "cross_entropy",
    "draw_graph", "GraphPicture",
    "Module", "Exp", "Tanh", "Sigmoid", "ReLU", "MSELoss", "CrossEntropyLoss",
]
