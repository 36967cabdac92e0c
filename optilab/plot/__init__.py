"""Plots of functions and optimisation paths: static figures, live plots, animations.

* :func:`plot_trajectories` -- a static figure: a function (curve, contour map or surface)
  with trajectories over it, optional loss and learning-rate panels.
* :class:`LivePlot` -- the same, growing point by point and shown live in any notebook front
  end (``LivePlot(f, view="contour" | "curve" | "surface")``, then ``add_point``).
* :func:`animate` / :func:`save_animation` -- an animation to watch inline (HTML) or keep
  (GIF, MP4).
* :func:`plot_rates` / :func:`plot_momentum_region` -- runs on a quadratic against their
  theoretical rate, and the (lr, momentum) region where momentum converges
  (:mod:`optilab.plot.rates`).
* :mod:`optilab.plot.static` -- the drawing pieces (``draw_function``,
  ``draw_trajectories``) for code that redraws, such as slider explorers.

The course's ``init_2dplot`` / ``add_point_2d`` / ``init_3dplot`` / ``add_point_3d`` live in
:mod:`optilab.live_plot`.

    >>> from optilab import functions
    >>> from optilab.optim import race
    >>> runs = race(functions.booth, [-8.0, -8.0], {"sgd": dict(lr=0.05), "adam": dict(lr=0.5)},
    ...             steps=40)
    >>> fig = plot_trajectories("booth", runs, panels=("loss",))
    >>> anim = animate("booth", runs, frames=10)
    >>> len(anim)
    10
"""

from .animation import Animation, animate, save_animation
from .live import LivePlot
from .rates import plot_momentum_region, plot_rates
from .static import draw_function, draw_trajectories, plot_trajectories

__all__ = ["LivePlot", "Animation", "plot_trajectories", "animate", "save_animation",
           "draw_function", "draw_trajectories", "plot_rates", "plot_momentum_region"]
