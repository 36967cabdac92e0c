# ruff: noqa: B007, B018, E702  (a cell may end with a bare name to display it; the course's
# loops, `for i in range(15): opt.zero_grad(); f = ...; f.backward(); ...`, stay as written)

# %% [markdown]
# # 5. Live plots and sliders
#
# An optimizer is easier to understand while it moves than from its final number. This
# notebook shows the ways optilab draws a run as it happens:
#
# 1. the course's `init_2dplot` / `add_point_2d` and `init_3dplot` / `add_point_3d`, inside a
#    hand-written torch loop;
# 2. `LivePlot`, for several paths at once, with a panel of $f$ against the step;
# 3. sliders: `explore` (one optimizer, every setting) and `race` (several optimizers);
# 4. and, when a run blows up, why: the stability limit $\eta < 2 / \lambda_{max}$.
#
# Each new frame replaces the picture under the running cell, and the last one stays in the
# saved notebook. This works in JupyterLab, Notebook 7, VS Code and Colab, whatever the
# matplotlib backend: an old `%matplotlib notebook` line at the top of a course notebook can
# stay, it changes nothing here.

# %%
import numpy as np
import torch
from IPython.display import Image

import optilab.autograd as ag
import optilab.optim
from live_plot import add_point_2d, add_point_3d, init_2dplot, init_3dplot
from optilab.exercises.nb05_live_plots import bowl, q1, q2
from optilab.functions import rosenbrock
from optilab.plot import LivePlot, animate, plot_trajectories
from optilab.widgets import explore, race

# %% [markdown]
# ## 1. The course's live plots
#
# `init_2dplot(x_range, f, delta_)` draws the curve $y = f(x)$ once; `add_point_2d(x, f)` adds
# a point to the path and shows the new frame (`delta_` is the pause per point, in seconds).
# Fifteen steps of `torch.optim.SGD` on $f(x) = x^2/10 + \sin x$, which has two hollows:

# %%
def function_2d(x):
    return x ** 2 / 10 + torch.sin(x)


x = torch.tensor(-4.5, requires_grad=True)
opt = torch.optim.SGD([x], lr=0.5)
init_2dplot(torch.linspace(-5, 5, 100), function_2d, delta_=0.05)
for i in range(15):
    opt.zero_grad(); f = function_2d(x); f.backward(); add_point_2d(x, f); opt.step()

# %% [markdown]
# The steps are long where the slope is steep and shorten as the path settles at the bottom,
# $x \approx -1.31$. Now start at `x = torch.tensor(3.0, ...)` and run the cell again: the path
# stops in the shallower hollow near $x = 3.8$, on the other side of the bump.
#
# `init_3dplot(x_range, y_range, f, elev, azim, delta_)` does the same on the surface
# $z = f(x, y)$, seen from elevation `elev` and azimuth `azim` (in degrees), and
# `add_point_3d(x, y, f)` adds a point. First the saddle $f(x, y) = x^2 - y^2$: its gradient
# $(2x, -2y)$ vanishes at the origin, which is no minimum. Start close to the line $y = 0$:

# %%
def saddle(x, y):
    return x ** 2 - y ** 2


x = torch.tensor(1.5, requires_grad=True)
y = torch.tensor(0.15, requires_grad=True)
opt = torch.optim.SGD([x, y], lr=0.1)
init_3dplot(torch.linspace(-2, 2, 50), torch.linspace(-2, 2, 50), saddle, elev=30, azim=-60,
            delta_=0.05)
for i in range(15):
    opt.zero_grad(); f = saddle(x, y); f.backward(); add_point_3d(x, y, f); opt.step()

# %% [markdown]
# Each step multiplies $x$ by $1 - 2\eta = 0.8$ and $y$ by $1 + 2\eta = 1.2$: the path comes
# towards the saddle, then slides off along $y$. Started exactly on $y = 0$ it would stop at
# the saddle; the smallest push is enough to escape.
#
# Second, the ripple $f(x, y) = \sin\sqrt{x^2 + y^2}$, whose minimum $-1$ is a whole ring,
# of radius $r = 3\pi/2$:

# %%
def ripple(x, y):
    return torch.sin(torch.sqrt(x ** 2 + y ** 2))


x = torch.tensor(3.0, requires_grad=True)
y = torch.tensor(1.0, requires_grad=True)
opt = torch.optim.SGD([x, y], lr=0.5)
init_3dplot(torch.linspace(-7, 7, 60), torch.linspace(-7, 7, 60), ripple, elev=40, azim=-60,
            delta_=0.05)
for i in range(15):
    opt.zero_grad(); f = ripple(x, y); f.backward(); add_point_3d(x, y, f); opt.step()

# %% [markdown]
# ## 2. Several paths and a loss panel: `LivePlot`
#
# These four functions are a thin layer over `optilab.plot.LivePlot`, which does more: a test
# function by name (its plot window, formula and minimum come with it), several paths with a
# legend (`label=`), and panels of $f$ (and of the learning rate) against the step. Three
# torch optimizers on Rosenbrock's banana valley, each taking one step in turn:

# %%
settings = {"SGD": (torch.optim.SGD, dict(lr=1e-3)),
            "SGD + momentum": (torch.optim.SGD, dict(lr=1e-3, momentum=0.9)),
            "Adam": (torch.optim.Adam, dict(lr=0.1))}
points, optimizers = {}, {}
for name, (kind, kwargs) in settings.items():
    points[name] = torch.tensor([-1.2, 1.0], requires_grad=True)
    optimizers[name] = kind([points[name]], **kwargs)

plot = LivePlot("rosenbrock", panels=("loss",), max_steps=60)
for _ in range(60):
    for name, opt in optimizers.items():
        p = points[name]
        opt.zero_grad(); f = rosenbrock.at(p); f.backward(); plot.add_point(p, f, label=name)
        opt.step()

# %% [markdown]
# The plot keeps what it drew (`plot.paths`: points and values of each path), and
# `plot.savefig("race.png")` saves the picture.

# %%
for path in plot.paths:
    print(f"{path.label:>15}: f = {path.values[-1]:.3g} at {path.points[-1].round(3)}")

# %% [markdown]
# ## 3. Sliders: `explore`
#
# A slider re-runs the optimizer and redraws the path: a run of a few hundred steps takes
# milliseconds. `explore` puts one optimizer on one function with every setting on a control:
# the learning rate (on a log scale), momentum or Adam's betas, a scheduler, the number of
# steps, the start, the view (contour map or 3D surface) and the side panels.
#
# Himmelblau's function has four minima. Move the start sliders and see which one gradient
# descent finds; then give it momentum, and switch the view to the surface.

# %%
explore("himmelblau", optimizer="sgd", lr=0.01, steps=100)

# %% [markdown]
# ## 4. A race: `race`
#
# `race(f, x0, configs)` runs several optimizers from one start, each with its own learning-rate
# slider, and one `step` slider that moves them all: drag it back to see who leads after 20
# steps. A config without an `optimizer` uses its label as the optimizer's name.

# %%
configs = {"SGD": dict(lr=1e-3),
           "momentum": dict(optimizer="sgd", lr=1e-3, momentum=0.9),
           "Adam": dict(lr=0.1)}
race("rosenbrock", [-1.2, 1], configs)

# %% [markdown]
# For a slide: `optilab.optim.race` gives the same runs as data (a `Trajectory` each, with a
# `summary()` in words), `plot_trajectories` draws them as a static figure, and `animate` as an
# animation, saved with `.save("race.gif")` (also `.mp4`, or `.html` with a player). Here the
# GIF is shown inline: 40 frames in about 100 kB.

# %%
runs = optilab.optim.race(rosenbrock, [-1.2, 1.0], configs, steps=200)
for run in runs.values():
    print(run.summary())
Image(animate("rosenbrock", runs, frames=40, panels=("loss",)).to_gif())

# %% [markdown]
# ## 5. Why a run blows up
#
# Push a learning-rate slider far enough and the path leaves the picture: "diverged at step
# k". `optilab.optim.run` runs the same loop and returns the `Trajectory`; when gradient descent
# diverges, `summary()` says why:

# %%
blown = optilab.optim.run(rosenbrock, [-1.2, 1.0], "sgd", lr=0.01, steps=100)
print(blown.summary())

# %% [markdown]
# Near a point $x_0$, $f$ is close to its quadratic model, built with the Hessian
# $H = \nabla^2 f(x_0)$:
#
# $$f(x_0 + d) \approx f(x_0) + \nabla f(x_0)^\top d + \tfrac12\, d^\top H d.$$
#
# On this model, a gradient step multiplies the component of the error along an eigenvector of
# $H$ with eigenvalue $\lambda$ by $1 - \eta\lambda$. It shrinks while $|1 - \eta\lambda| < 1$,
# that is $0 < \eta < 2/\lambda$, and the steepest direction breaks first:
#
# $$\eta < \frac{2}{\lambda_{max}}.$$
#
# (At exactly $\eta = 2/\lambda_{max}$ that component flips sign forever without shrinking.)
# A quadratic is its own model, so there the limit holds everywhere; elsewhere it is a
# local condition, guaranteed only near a minimum.

# %%
q1

# %%
# BEGIN SOLUTION
# STUB: lr_max = ...   # Exercise 5.1: a number
lr_max = 2 / 12     # the Hessian [[10, 4], [4, 4]] has eigenvalues 2 and 12
# END SOLUTION
q1.check(lr_max)

# %% [markdown]
# Check it by running gradient descent on the bowl a little below and a little above the limit:

# %%
lr_max = q1.use(lr_max)
bowl_runs = optilab.optim.race(bowl, [1.0, 1.0], {
    "0.9 lr_max": dict(optimizer="sgd", lr=0.9 * lr_max),
    "1.2 lr_max": dict(optimizer="sgd", lr=1.2 * lr_max)}, steps=60)
for run in bowl_runs.values():
    q1.print(run.summary())                # each summary names its lr
plot_trajectories(bowl, bowl_runs, x_range=(-2, 2), y_range=(-2, 2), panels=("loss",),
                  title="$5x^2 + 4xy + 2y^2$")

# %% [markdown]
# Away from a quadratic the Hessian changes from point to point, and so does the limit:
# `summary()` above used the Hessian at the start. Compute that limit yourself.

# %%
q2

# %%
def lr_limit(f, x):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 5.2: return 2 / (the largest eigenvalue of the Hessian of f at x)")
    return 2 / np.linalg.eigvalsh(ag.hessian(f)(x)).max()
    # END SOLUTION


q2.check(lr_limit)

# %%
limit = q2.use(lr_limit)


def rosen(p):
    return rosenbrock(p[0], p[1])


print(f"lr_limit: 2 / lambda_max at (-1.2, 1) = {limit(rosen, np.array([-1.2, 1.0])):.6g}")
print(f"summary:  2 / lambda_max at (-1.2, 1) = {blown.stability_limit:.6g} "
      f"(lambda_max = {blown.lambda_max:.6g})")
print("\nalong the valley floor y = x^2:")
for x0 in (-1.2, -0.5, 0.0, 0.5, 1.0):
    print(f"  x = {x0:4}: lr < {limit(rosen, np.array([x0, x0 ** 2])):.4g}")

# %% [markdown]
# The valley's walls are least curved near $x = 0$ and steepest at its ends: a learning rate
# that is stable in the middle, such as $0.003$, is too large near the minimum $(1, 1)$, where
# the limit is $0.002$. Gradient descent with it does not blow up, but it never arrives: it
# ends up bouncing from wall to wall short of the minimum, for ever (try it:
# `explore("rosenbrock", lr=0.003, steps=1000)`). That is one reason for learning-rate
# schedules (notebook 4), and for methods that adapt to the curvature: Adam, and Newton's
# method (notebook 8).
