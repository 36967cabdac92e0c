"""Linear algebra: products of tensors, and the matrix functions with known derivatives.

Products are *derived*: ``dot`` is a matmul, ``outer`` a broadcast product, ``trace`` the
sum of a diagonal, and ``inner`` and ``tensordot`` are written with one primitive,
``einsum`` (Einstein summation), whose derivative for one operand is another einsum of
the gradient with the other operands:

    C = einsum("ij,jk->ik", A, B)     dA = einsum("jk,ik->ij", B, G)

The matrix functions use the classical results (Giles 2008, "Extended collection of
matrix derivative results"; Murray 2016 for the Cholesky factor), with G the gradient
of the output and A^-T the transposed inverse:

    X = solve(A, B)   dB = solve(A^T, G)         dA = -dB X^T
    Y = inv(A)        dA = -Y^T G Y^T
    d = det(A)        dA = g d A^-T              log|det A|:  dA = g A^-T
    L = cholesky(A)   dA = sym(L^-T Phi(L^T G) L^-1)   (Phi: lower triangle, half diagonal)
    w = eigvalsh(A)   dA = V diag(g) V^T         (A symmetric, V its eigenvectors)

cholesky, eigh and eigvalsh read A's lower triangle, as numpy does (the gradient lands there).
"""

from __future__ import annotations

import string
from collections import namedtuple
from typing import Any

import numpy as np

from .primitives import _col, _mT, matmul, multiply, where
from .reductions import norm, sum
from .shapes import broadcast_to, diagonal, getitem, normalize_axes, reshape, tril
from .tensor import Primitive, _raw, defvjp

__all__ = ["dot", "inner", "outer", "tensordot", "einsum", "trace", "solve", "inv", "det",
           "slogdet", "cholesky", "eigh", "eigvalsh", "norm"]   # norm: as np.linalg.norm

# ---------------------------------------------------------------------------- einsum


def _parse(subscripts: str, ndims: list[int]) -> tuple[list[str], str]:
    """'ij,jk->ik' as (['ij', 'jk'], 'ik'); without '->', numpy's implicit output
    (the indices used once, in alphabetical order)."""
    if "." in subscripts:
        raise NotImplementedError("einsum: '...' (ellipsis) is not supported by the engine; "
                                  "write every index, e.g. 'bij,bjk->bik'")
    subscripts = subscripts.replace(" ", "")
    ins, _, out = subscripts.partition("->")
    inputs = ins.split(",")
    if len(inputs) != len(ndims) or any(len(s) != n for s, n in zip(inputs, ndims)):
        raise ValueError(f"einsum: subscripts {subscripts!r} do not match operands with "
                         f"{ndims} dimensions")
    if "->" not in subscripts:
        letters = "".join(inputs)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return inputs, out


def _einsum(*operands: Any, subscripts: str) -> np.ndarray:
    return np.einsum(subscripts, *operands, optimize=len(operands) > 2)


def _einsum_vjp(i: int, g: Any, ans: Any, *operands: Any, subscripts: str) -> Any:
    """dL/d operand_i: contract g with the other operands back onto operand i's indices."""
    inputs, out = _parse(subscripts, [np.ndim(_raw(a)) for a in operands])
    target = inputs[i]
    if len(set(target)) != len(target):
        raise NotImplementedError(
            f"einsum: no derivative for operand {i} with a repeated index ({target!r}); "
            f"use ag.diagonal or ag.trace for diagonals")
    others = [s for j, s in enumerate(inputs) if j != i] + [out]
    reached = "".join(c for c in target if c in "".join(others))
    r = _einsum_p(*[a for j, a in enumerate(operands) if j != i], g,
                  subscripts=",".join(others) + "->" + reached)
    if reached == target:
        return r
    shape = np.shape(_raw(operands[i]))       # indices summed in operand i alone: repeat g
    r = reshape(r, tuple(n if c in reached else 1 for c, n in zip(target, shape)))
    return broadcast_to(r, shape)


_einsum_p = Primitive(_einsum, "einsum")
_einsum_p.vjp_any = _einsum_vjp


def einsum(subscripts: str, *operands: Any) -> Any:
    """Einstein summation, ``einsum("ij,j->i", A, x)`` (explicit indices, no '...')."""
    if not isinstance(subscripts, str):
        raise TypeError("einsum takes its subscripts as a string first, einsum('ij,j->i', A, "
                        "x); the operand-list form einsum(A, [0, 1], x, [1]) is not supported")
    inputs, out = _parse(subscripts, [np.ndim(_raw(a)) for a in operands])
    for s, a in zip(inputs, operands):
        if len(set(s)) != len(s) and getattr(a, "requires_grad", False):
            raise TypeError(f"einsum: the engine has no derivative for a repeated index in "
                            f"one operand ({s!r}); use ag.diagonal(x) or ag.trace(x) for it")
    return _einsum_p(*operands, subscripts=",".join(inputs) + "->" + out)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Sum products over the last ``axes`` axes of a and the first of b (or the given pairs)."""
    na, nb = np.ndim(_raw(a)), np.ndim(_raw(b))
    if np.ndim(axes) == 0:
        axes = (list(range(na - axes, na)), list(range(axes)))
    ax_a, ax_b = ([x] if np.ndim(x) == 0 else list(x) for x in axes)
    ax_a = [normalize_axes(x, na)[0] for x in ax_a]      # checked: out-of-range axes fail
    ax_b = [normalize_axes(x, nb)[0] for x in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for x, y in zip(ax_a, ax_b):
        sb[y] = sa[x]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + \
          [c for k, c in enumerate(sb) if k not in ax_b]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def dot(a: Any, b: Any) -> Any:
    """numpy's dot: the inner product of vectors, the matrix product of matrices,
    a product over the last axis of a and the second-to-last of b in general."""
    na, nb = np.ndim(_raw(a)), np.ndim(_raw(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


def inner(a: Any, b: Any) -> Any:
    """Sum of products over the last axes of a and b."""
    if np.ndim(_raw(a)) == 0 or np.ndim(_raw(b)) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


def outer(a: Any, b: Any) -> Any:
    """out[i, j] = a[i] * b[j] (both flattened)."""
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The sum of the diagonal."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


# ------------------------------------------------------------------ matrix functions


def _sym(a: Any) -> Any:
    return (a + _mT(a)) * 0.5


def _from_lower(a: Any) -> Any:
    """The symmetric matrix whose lower triangle is a's: what numpy's eigh and cholesky
    read (UPLO='L').  Written with engine ops, so the gradient lands on that triangle."""
    return tril(a) + _mT(tril(a, -1))


def _b_is_vector(b: Any) -> bool:
    """numpy's (2.x) solve: b is a vector when it has one axis, else a stack of matrices."""
    return np.ndim(_raw(b)) == 1


def _solve(a: Any, b: Any) -> np.ndarray:
    if _b_is_vector(b):
        return np.linalg.solve(a, b[..., None])[..., 0]
    return np.linalg.solve(a, b)


def _solve_db(g: Any, ans: Any, a: Any, b: Any) -> Any:
    if _b_is_vector(b):                     # g has a's batch axes: solve column by column
        return getitem(solve(_mT(a), _col(g)), (Ellipsis, 0))
    return solve(_mT(a), g)


def _solve_da(g: Any, ans: Any, a: Any, b: Any) -> Any:
    gb = _solve_db(g, ans, a, b)
    if _b_is_vector(b):
        return -_col(gb) * reshape(ans, ans.shape[:-1] + (1, ans.shape[-1]))
    return -matmul(gb, _mT(ans))


solve = Primitive(_solve, "solve")
inv = Primitive(np.linalg.inv, "inv")
det = Primitive(np.linalg.det, "det")
logabsdet = Primitive(lambda a: np.linalg.slogdet(a)[1], "logabsdet")

defvjp(solve,     _solve_da, _solve_db)
defvjp(inv,       lambda g, ans, a: -matmul(matmul(_mT(ans), g), _mT(ans)))
defvjp(det,       lambda g, ans, a: reshape(g * ans, ans.shape + (1, 1)) * _mT(inv(a)))
defvjp(logabsdet, lambda g, ans, a: reshape(g, g.shape + (1, 1)) * _mT(inv(a)))

SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")   # numpy's field names
EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")


def slogdet(a: Any) -> SlogdetResult:
    """(sign, log|det A|): the sign is a constant, the log a differentiable tensor."""
    return SlogdetResult(np.linalg.slogdet(_raw(a))[0], logabsdet(a))


def _cholesky_vjp(g: Any, ans: Any, a: Any) -> Any:
    """Murray (2016): P = Phi(L^T G), S = L^-T P L^-1, dA = (S + S^T) / 2."""
    phi = tril(matmul(_mT(ans), g))
    phi = phi - 0.5 * _diag_part(phi)
    s = solve(_mT(ans), _mT(solve(_mT(ans), _mT(phi))))    # L^-T P L^-1
    return _sym(s)


def _diag_part(m: Any) -> Any:
    n = np.shape(_raw(m))[-1]
    return m * np.eye(n)


# the primitives take a symmetric matrix (they read (A + A^T) / 2, so their rules are
# the symmetric ones); the functions below hand them the one numpy reads
_cholesky = Primitive(lambda a: np.linalg.cholesky(0.5 * (a + np.swapaxes(a, -1, -2))),
                      "cholesky")
defvjp(_cholesky, _cholesky_vjp)


def _eigh(a: Any) -> tuple[np.ndarray, np.ndarray]:
    return np.linalg.eigh(0.5 * (a + np.swapaxes(a, -1, -2)))


_eigvalsh = Primitive(lambda a: _eigh(a)[0], "eigvalsh")
_eigh_vectors = Primitive(lambda a: _eigh(a)[1], "eigh_vectors")


def _eigvalsh_vjp(g: Any, ans: Any, a: Any) -> Any:
    v = _eigh_vectors(a)                            # dA = V diag(g) V^T
    return matmul(v * reshape(g, g.shape[:-1] + (1, g.shape[-1])), _mT(v))


def _eigh_vectors_vjp(g: Any, ans: Any, a: Any) -> Any:
    """dA = V (F o (V^T G)) V^T with F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it
    (distinct eigenvalues; the sign of each eigenvector is numpy's choice)."""
    w = _eigvalsh(a)
    n = w.shape[-1]
    gap = reshape(w, w.shape[:-1] + (1, n)) - reshape(w, w.shape[:-1] + (n, 1))
    eye = np.eye(n, dtype=bool)
    f = where(eye, 0.0, 1.0 / where(eye, 1.0, gap))
    return _sym(matmul(matmul(ans, f * matmul(_mT(ans), g)), _mT(ans)))


defvjp(_eigvalsh, _eigvalsh_vjp)
defvjp(_eigh_vectors, _eigh_vectors_vjp)


def cholesky(a: Any) -> Any:
    """L, lower triangular with L L^T = A, for A symmetric positive definite (read from
    its lower triangle, as numpy does)."""
    return _cholesky(_from_lower(a))


def eigvalsh(a: Any) -> Any:
    """The eigenvalues (ascending) of a symmetric matrix (read from its lower triangle)."""
    return _eigvalsh(_from_lower(a))


def eigh(a: Any) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix (read from
    its lower triangle, as numpy does)."""
    m = _from_lower(a)
    return EighResult(_eigvalsh(m), _eigh_vectors(m))
