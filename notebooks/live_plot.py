"""``from live_plot import init_2dplot, add_point_2d, init_3dplot, add_point_3d`` in notebooks
run from this folder, as in the course: the functions live in :mod:`optilab.live_plot`.

If optilab is not installed, the repository it sits in is used.
"""

import sys
from pathlib import Path

try:
    import optilab  # noqa: F401
except ImportError:                      # a checkout without ``pip install -e .``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optilab.live_plot import (  # noqa: E402
    add_point_2d,
    add_point_3d,
    current_plot,
    init_2dplot,
    init_3dplot,
)

__all__ = ["init_2dplot", "add_point_2d", "init_3dplot", "add_point_3d", "current_plot"]
