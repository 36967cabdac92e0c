r"""Classical multidimensional scaling (Torgerson, 1952): a map from distances in closed form.

If points :math:`x_1, \dots, x_n \in \mathbb{R}^p`, centred (:math:`\sum_i x_i = 0`), have the
distances :math:`d_{ij} = \|x_i - x_j\|`, then their Gram matrix :math:`B = X X^\top` is
recovered from the squared distances by *double centring*:

.. math::

    B = -\tfrac12\, J D^{(2)} J, \qquad J = I - \tfrac1n \mathbf 1 \mathbf 1^\top,
    \qquad D^{(2)}_{ij} = d_{ij}^2,

because :math:`d_{ij}^2 = b_{ii} + b_{jj} - 2 b_{ij}` and :math:`J` removes the row and column
means. :math:`B` is symmetric positive semi-definite of rank :math:`\le p`, so with its
eigen-decomposition :math:`B = V \Lambda V^\top` (eigenvalues in decreasing order), the
coordinates :math:`X = V_p \Lambda_p^{1/2}` (the top :math:`p` eigenvectors, each scaled by the
square root of its eigenvalue) have exactly the distances :math:`d_{ij}`: the map is recovered
up to an isometry (a shift, a rotation, a mirror).

When the distances are not those of points in the plane (distances along the curved Earth),
:math:`B` has more than two positive eigenvalues, and negative ones; the top two still give
the best rank-2 fit of :math:`B` (Eckart-Young), a good map and a good start for minimising
the S-stress :func:`optilab.cities.criterion`, but not its minimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .data import validate_distances

__all__ = ["classical_mds", "double_centre"]


def double_centre(distances: Any) -> np.ndarray:
    r"""The Gram matrix :math:`B = -\frac12 J D^{(2)} J` of the distances (squared inside).

        >>> double_centre([[0, 2], [2, 0]])      # two points at -1 and +1
        array([[ 1., -1.],
               [-1.,  1.]])
    """
    D = validate_distances(distances)
    D2 = D ** 2
    # J D2 J without forming J: subtract the row means and the column means, add back the mean
    B = -0.5 * (D2 - D2.mean(0) - D2.mean(1)[:, None] + D2.mean())
    return (B + B.T) / 2                      # symmetric to the last bit, for eigh


def classical_mds(distances: Any, dim: int = 2) -> np.ndarray:
    r"""Points in ``dim`` dimensions whose distances best match ``distances`` (classical MDS).

    ``distances`` is an (n, n) distance matrix (km, or normalised: the map comes out in the
    same unit). Returns the (n, dim) coordinates :math:`X = V_{dim} \Lambda_{dim}^{1/2}`,
    centred, column k along the k-th largest eigenvalue of :math:`B` (see the module), each
    column's sign chosen so that its largest entry in absolute value is positive (eigenvectors
    have no sign of their own). Exact, up to an isometry, for distances of points in
    ``dim`` dimensions.

    As a start for :func:`optilab.cities.solve`, which works on distances divided by their
    Frobenius norm, pass the map of the normalised distances:
    ``solve("lbfgs", x0=classical_mds(normalise(d_km)))``.

        >>> square = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0], [0.0, 4.0]])
        >>> D = np.linalg.norm(square[:, None] - square[None], axis=-1)
        >>> X = classical_mds(D)
        >>> bool(np.allclose(np.linalg.norm(X[:, None] - X[None], axis=-1), D))
        True
        >>> classical_mds(D, dim=3)
        Traceback (most recent call last):
        ...
        ValueError: classical_mds: dim=3 needs 3 positive eigenvalues of B = -J D^2 J / 2, ...
    """
    D = validate_distances(distances)
    n = len(D)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 1 <= dim < n:
        raise ValueError(f"classical_mds: dim must be a whole number from 1 to n - 1 = {n - 1} "
                         f"(the dimension of the map), got {dim!r}; a map is dim=2")
    eigenvalues, vectors = np.linalg.eigh(double_centre(D))      # ascending order
    eigenvalues, vectors = eigenvalues[::-1], vectors[:, ::-1]    # largest first
    top = eigenvalues[:dim]
    tiny = 1e-12 * eigenvalues[0]       # rounding around zero (trace B > 0: eigenvalues[0] > 0)
    if not top[-1] > tiny:
        positive = int(np.sum(eigenvalues > tiny))
        raise ValueError(
            f"classical_mds: dim={dim} needs {dim} positive eigenvalues of B = -J D^2 J / 2, "
            f"but these distances give only {positive} (the largest: "
            f"{np.array2string(eigenvalues[:dim + 1], precision=3)}): the points span fewer "
            f"dimensions. Try dim={positive}.")
    X = vectors[:, :dim] * np.sqrt(top)
    signs = np.sign(X[np.argmax(np.abs(X), axis=0), np.arange(dim)])
    return X * np.where(signs == 0, 1.0, signs)
