"""Alignment for display: the true map projected in km, and the reconstruction rotated,
mirrored and scaled onto it (Procrustes), with the errors in km."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..trajectory import Trajectory
from .data import Cities, load_cities, validate_distances

# ------------------------------------------------------------------------------ alignment

EARTH_RADIUS_KM = 6371.0088     # the mean radius (IUGG)


def project(cities: Cities | None = None,
            center: tuple[float, float] | None = None) -> np.ndarray:
    r"""The true positions on a flat map: an azimuthal equidistant projection, in km.

    Around the centre :math:`(\varphi_0, \lambda_0)` (default: the mean latitude and
    longitude), a city at :math:`(\varphi, \lambda)` goes to :math:`c\,R\,(\sin\alpha, \cos\alpha)`
    where :math:`c` is its great-circle angle from the centre and :math:`\alpha` its bearing:

    .. math::

        \cos c = \sin\varphi_0 \sin\varphi + \cos\varphi_0 \cos\varphi \cos\Delta\lambda,
        \quad x = R\,k \cos\varphi \sin\Delta\lambda,
        \quad y = R\,k\,(\cos\varphi_0 \sin\varphi - \sin\varphi_0 \cos\varphi \cos\Delta\lambda),

    with :math:`k = c / \sin c`. x points east and y north; distances from the centre are
    exact, others are stretched by a few percent at Europe's scale (no flat map is exact).

        >>> P = project()
        >>> cities = load_cities()
        >>> bool(P[cities.index("Lisbon"), 0] < 0 < P[cities.index("Moscow"), 0])
        True
    """
    cities = load_cities() if cities is None else cities
    lat, lon = np.radians(cities.latitude), np.radians(cities.longitude)
    lat0, lon0 = np.radians(center) if center is not None else (lat.mean(), lon.mean())
    dlon = lon - lon0
    cos_c = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(dlon)
    c = np.arccos(np.clip(cos_c, -1.0, 1.0))
    k = np.ones_like(c)
    k[c > 0] = c[c > 0] / np.sin(c[c > 0])
    x = EARTH_RADIUS_KM * k * np.cos(lat) * np.sin(dlon)
    y = EARTH_RADIUS_KM * k * (np.cos(lat0) * np.sin(lat) - np.sin(lat0) * np.cos(lat)
                               * np.cos(dlon))
    return np.column_stack((x, y))


def _map_array(X: Any) -> tuple[np.ndarray, float | None]:
    """(n, 2) numpy map from a Trajectory (its last finite point), array or tensor; its scale."""
    scale = None
    if isinstance(X, Trajectory):
        scale = X.settings.get("scale_km")
        finite = np.flatnonzero(np.all(np.isfinite(X.points), axis=1))
        X = X.points[finite[-1]]
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    X = np.asarray(getattr(X, "value", X), dtype=np.float64)
    if X.ndim == 1 and X.size % 2 == 0:
        X = X.reshape(-1, 2)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"a map is an (n, 2) array (or a flat 2n one, or a Trajectory), got "
                         f"shape {X.shape}")
    return X, scale


@dataclass(frozen=True)
class Alignment:
    r"""An isometry (a shift and a rotation, maybe with a mirror) and the km scale taking a
    solution onto the map's frame.

    ``alignment(Y) = (s Y - c) Q + t`` for a normalised map Y (n, 2) or a batch of them
    (k, n, 2) or flat ones (k, 2n): ``s`` the scale to km, ``c`` the solution's centroid in
    km, ``Q`` an orthogonal 2x2 matrix (a rotation, maybe with a mirror) and ``t`` where
    the centroid goes. The same motion moves every iterate of a run, so paths line up.
    """

    scale: float
    center: np.ndarray
    rotation: np.ndarray
    offset: np.ndarray

    def __call__(self, Y: Any) -> np.ndarray:
        Y = np.asarray(Y, dtype=np.float64)
        Y = Y.reshape(*Y.shape[:-1], -1, 2) if Y.shape[-1] != 2 else Y
        return (self.scale * Y - self.center) @ self.rotation + self.offset


def fit_alignment(X: Any, cities: Cities | None = None, reference: str = "projection",
                  scale: float | None = None) -> Alignment:
    r"""The motion that puts a solution north up and west left (see :func:`align`)."""
    cities = load_cities() if cities is None else cities
    X, found = _map_array(X)
    if len(X) != len(cities):
        raise ValueError(f"the map has {len(X)} cities but {len(cities)} are known; pass the "
                         f"Cities (with coordinates) the distances came from")
    scale = float(scale or found or np.linalg.norm(cities.distances))
    center = scale * X.mean(0)
    A = scale * X - center
    if reference == "projection":
        from scipy.linalg import orthogonal_procrustes

        truth = project(cities)
        rotation, _ = orthogonal_procrustes(A, truth - truth.mean(0))
        return Alignment(scale, center, rotation, truth.mean(0))
    if reference == "landmarks":
        up = A[cities.index("Kiruna")] - A[cities.index("Athens")]
        angle = np.pi / 2 - np.arctan2(up[1], up[0])        # turn Athens -> Kiruna to +y
        rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        B = A @ rotation
        if B[cities.index("Lisbon"), 0] > B[cities.index("Moscow"), 0]:
            rotation = rotation @ np.diag([-1.0, 1.0])       # mirror: west to the left
        return Alignment(scale, center, rotation, project(cities).mean(0))
    raise ValueError(f"reference must be 'projection' (fit the true positions) or "
                     f"'landmarks' (Kiruna up, Lisbon left of Moscow), got {reference!r}")


def align(X: Any, cities: Cities | None = None, reference: str = "projection",
          scale: float | None = None) -> np.ndarray:
    r"""A solution as a map in km with north up and west left.

    The criterion cannot tell a map from its rotations, mirror images and translations, so a
    solution comes out in any orientation. First it is scaled back to km,
    :math:`X_{km} = \|D_{km}\|_F\, X` (``scale``; a Trajectory knows it), then:

    * ``reference="projection"`` (default): the orthogonal Procrustes fit onto the true
      positions (:func:`project`): :math:`Q = \arg\min_{Q^\top Q = I} \|A Q - B\|_F`, with A
      and B centred, solved by the SVD :math:`A^\top B = U \Sigma V^\top`, :math:`Q = U V^\top`
      (a rotation or a mirror; no scaling, so the errors stay honest km);
    * ``reference="landmarks"``: rotate so Athens -> Kiruna points up, and mirror if Lisbon
      ends up east of Moscow: what you would do by eye (Kiruna is in fact 3.5 degrees of
      longitude west of Athens, so this map leans a little).

    Either way the centroid goes to the true positions' centroid (a translation, so the two
    can be overlaid).

    ``X`` is a Trajectory (its last finite point), an (n, 2) or flat map, numpy or tensor.

        >>> from optilab.cities import align, load_cities, solve
        >>> cities = load_cities()
        >>> M = align(solve("lbfgs", seed=3, progress=False))
        >>> bool(M[cities.index("Lisbon"), 0] < M[cities.index("Moscow"), 0])
        True
        >>> bool(M[cities.index("Kiruna"), 1] > M[cities.index("Athens"), 1])
        True
    """
    return fit_alignment(X, cities, reference, scale)(_map_array(X)[0])


def map_errors_km(X: Any, cities: Cities | None = None, reference: str = "projection",
                  scale: float | None = None) -> np.ndarray:
    """Per city: km between the aligned solution and its true (projected) position.

    Part of it is the projection's own distortion: a perfect solution still shows a few km.

        >>> from optilab.cities import map_errors_km, solve
        >>> errors = map_errors_km(solve("lbfgs", progress=False))
        >>> bool(np.median(errors) < 25)
        True
    """
    cities = load_cities() if cities is None else cities
    return np.linalg.norm(align(X, cities, reference, scale) - project(cities), axis=1)


def distance_errors_km(X: Any, distances: Any = None, scale: float | None = None) -> np.ndarray:
    r"""For each pair i < j: :math:`|\, s\|x_i - x_j\| - d_{ij} |` in km (no alignment needed).

    ``distances`` in km (default: the 36 cities'); ``s`` is :math:`\|D\|_F` (the
    normalisation's). Returns the n(n-1)/2 errors in ``numpy.triu_indices`` order.

        >>> from optilab.cities import distance_errors_km, solve
        >>> errors = distance_errors_km(solve("lbfgs", progress=False))
        >>> bool(np.median(errors) < 5 and errors.max() < 50)
        True
    """
    d_km = load_cities().distances if distances is None else validate_distances(distances)
    X, found = _map_array(X)
    if len(X) != len(d_km):
        raise ValueError(f"the map has {len(X)} cities but the distances {len(d_km)}")
    scale = float(scale or found or np.linalg.norm(d_km))
    i, j = np.triu_indices(len(X), 1)
    return np.abs(scale * np.linalg.norm(X[i] - X[j], axis=1) - d_km[i, j])
