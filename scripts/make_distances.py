"""Regenerate ``optilab/data/distances.npy`` from ``optilab/data/cities.csv``.

    python scripts/make_distances.py            # rewrite the file
    python scripts/make_distances.py --check    # exit 1 if the stored file is stale

The distances are geodesics on the WGS84 ellipsoid (Karney's algorithm, via ``geographiclib``,
a development dependency: ``pip install geographiclib``), in km, float64, symmetric with a zero
diagonal, rows and columns in the CSV's order. The ``.npy`` format has no room for a comment,
so this docstring and ``optilab/data/README.md`` are its "how to regenerate" note.
``data/distances.npy`` and ``notebooks/distances.npy`` are symlinks to the package's file.
``tests/test_cities_data.py`` regenerates the matrix in memory and fails when the file is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CSV = ROOT / "optilab" / "data" / "cities.csv"
NPY = ROOT / "optilab" / "data" / "distances.npy"
TOLERANCE_KM = 1e-9

sys.path.insert(0, str(ROOT))          # use this checkout's optilab, installed or not
from optilab.cities import read_cities_csv, validate_distances  # noqa: E402


def geodesic_distances(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """``(n, n)`` WGS84 geodesic distances in km between points given in degrees."""
    from geographiclib.geodesic import Geodesic

    n = len(latitude)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            line = Geodesic.WGS84.Inverse(latitude[i], longitude[i], latitude[j], longitude[j],
                                          Geodesic.DISTANCE)
            d[i, j] = d[j, i] = line["s12"] / 1000.0
    return d


def make_distances(csv_path: str | Path = CSV) -> np.ndarray:
    """The distance matrix for the cities listed in ``csv_path``, checked."""
    names, _, latitude, longitude = read_cities_csv(csv_path)
    return validate_distances(geodesic_distances(latitude, longitude), names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the stored file differs")
    parser.add_argument("--csv", type=Path, default=CSV, help=f"input (default: {CSV})")
    parser.add_argument("--output", type=Path, default=NPY, help=f"output (default: {NPY})")
    args = parser.parse_args(argv)

    d = make_distances(args.csv)
    if args.check:
        if not args.output.exists():
            print(f"{args.output} is missing: run python scripts/make_distances.py",
                  file=sys.stderr)
            return 1
        stored = np.load(args.output, allow_pickle=False)
        if stored.shape != d.shape or not np.allclose(stored, d, rtol=0, atol=TOLERANCE_KM):
            print(f"{args.output} is stale (it does not match {args.csv}): "
                  "run python scripts/make_distances.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({d.shape[0]} cities)")
        return 0
    np.save(args.output, d, allow_pickle=False)
    print(f"wrote {args.output} ({d.shape[0]} cities, km)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
