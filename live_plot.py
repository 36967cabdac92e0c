"""``from live_plot import init_2dplot, add_point_2d, init_3dplot, add_point_3d`` from the
repository root, as in the course notebooks: the functions live in :mod:`optilab.live_plot`."""

from optilab.live_plot import add_point_2d, add_point_3d, current_plot, init_2dplot, init_3dplot

__all__ = ["init_2dplot", "add_point_2d", "init_3dplot", "add_point_3d", "current_plot"]
