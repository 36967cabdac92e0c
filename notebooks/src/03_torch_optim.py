# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 3. torch.optim
#
# In notebook 2 you wrote gradient descent by hand. PyTorch ships it, and a dozen smarter
# variants, in `torch.optim`. Every one of them is used through the same three lines:
#
# ```python
# optimizer.zero_grad()     # forget the previous gradient
# f(x).backward()           # compute the new one into x.grad
# optimizer.step()          # move x
# ```
#
# This notebook first does the update by hand in torch (and shows why each line is needed),
# then opens the box of two optimisers, momentum and Adam, and finally races the whole zoo on
# test functions. The functions of the exercises: `valley`, a softer Rosenbrock valley
# $(1 - x)^2 + 10 (y - x^2)^2$ with its minimum at $(1, 1)$, and `bowl`, an elongated bowl
# $(x - 1)^2 + 10 (y + 0.5)^2$ with its minimum at $(1, -0.5)$.
#
# Each exercise ends with a check cell: `q1.check(...)` answers *correct*, *not attempted yet*
# or *incorrect* (and names the likely mistake). `q1.hint()` gives a hint; call it again for
# the next one: a nudge, then the idea, then nearly the solution. `q1.solution()` shows a
# solution.

# %%
# %matplotlib inline
import numpy as np
import torch

import optilab.autograd as ag
from optilab import functions
from optilab.exercises.nb03_torch_optim import bowl, q1, q2, q3, q4, valley
from optilab.optim import race, run
from optilab.plot import animate, plot_trajectories


def on_plane(f):
    """f(p) as f(x, y), the form the plots evaluate on a grid."""
    return lambda x, y: f((x, y))


# %% [markdown]
# ## 1. Gradient descent by hand, in torch
#
# A tensor created with `requires_grad=True` is a **leaf** of the computation graph: a
# variable we differentiate with respect to. Everything computed from it records how it was
# made (`grad_fn`), and `backward()` leaves $\nabla f$ in the leaf's `.grad`.

# %%
x = torch.tensor([-1.0, 1.0], dtype=torch.float64, requires_grad=True)
loss = valley(x)
loss.backward()
print("loss =", loss.item(), "  made by", loss.grad_fn)
print("x.is_leaf:", x.is_leaf, "  x.grad =", x.grad)

# %% [markdown]
# Now the step $x \leftarrow x - \eta \nabla f(x)$. The obvious ways both fail:
#
# * `x -= lr * x.grad` is refused: changing a leaf in place *while recording* would make the
#   graph lie about how later values were computed;
# * `x = x - lr * x.grad` is recorded: the new `x` is computed from the old one, so it is no
#   longer a leaf, and the next `backward()` leaves no gradient in it.

# %%
lr = 0.01
try:
    x -= lr * x.grad
except RuntimeError as e:
    print("RuntimeError:", e)

y = x - lr * x.grad
print("y.is_leaf:", y.is_leaf, "  y.grad_fn:", y.grad_fn)

# %% [markdown]
# What we want is to change the *numbers* in `x` without recording it. Either work on
# `x.data`, the same numbers seen without autograd, or switch recording off:
#
# ```python
# x.data -= lr * x.grad             # or:  with torch.no_grad(): x -= lr * x.grad
# ```
#
# And then reset the gradient, because `backward()` *adds* into `x.grad` (as in our engine,
# notebook 1): two backward passes leave twice the gradient.

# %%
valley(x).backward()          # x.grad already held one gradient
print("after a second backward():", x.grad)
x.grad.zero_()
print("after x.grad.zero_()     :", x.grad)

# %%
q1

# %%
def descend(f, x0, lr, steps):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 3.1: update x.data, zero x.grad, return the points")
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    points = [x.detach().clone().numpy()]
    for _ in range(steps):
        f(x).backward()
        x.data -= lr * x.grad
        x.grad.zero_()                  # backward() adds into x.grad
        points.append(x.detach().clone().numpy())
    return np.array(points)
    # END SOLUTION


q1.check(descend)

# %% [markdown]
# Once the check passes, **try commenting out the line that zeroes the gradient** and run
# the check again: it recognises the path. What does that path look like? Without the reset,
# step $k$ uses the sum of all gradients so far,
#
# $$x_{k+1} = x_k - \eta \sum_{j \le k} \nabla f(x_j),$$
#
# which is exactly SGD with momentum $\beta = 1$ (section 3): a heavy ball with no friction.
# It even looks faster at first, but it never forgets a gradient, so it never settles.
# `optilab.optim.run` (the same torch loop, recorded as a `Trajectory`) shows it:

# %%
with_reset = q1.use(descend)(valley, [-1.0, 1.0], 0.01, 60)
forgot = run(valley, [-1.0, 1.0], "sgd", lr=0.01, steps=60, momentum=1.0,
             label="no zero_(), i.e. momentum 1")
plot_trajectories(on_plane(valley), {"with zero_()": with_reset, forgot.label: forgot},
                  x_range=(-2, 2), y_range=(-1, 3), panels=("loss",))

# %% [markdown]
# ## 2. An optimizer does the step
#
# `torch.optim` optimizers take the list of leaves to move (`model.parameters()` for a
# network; here just `[x]`). `optimizer.step()` reads each `.grad` and updates the numbers
# without recording, and `optimizer.zero_grad()` resets the gradients. Swapping the update
# rule is then a one-word change.

# %%
q2

# %%
def train_adam(f, x0, lr, steps):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 3.2: the zero_grad / backward / step loop with Adam")
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=lr)
    points = [x.detach().clone().numpy()]
    for _ in range(steps):
        optimizer.zero_grad()
        f(x).backward()
        optimizer.step()
        points.append(x.detach().clone().numpy())
    return np.array(points)
    # END SOLUTION


q2.check(train_adam)

# %% [markdown]
# `optilab.optim.run(f, x0, optimizer, lr, steps, ...)` is this loop plus bookkeeping: it
# records points, values, gradients and learning rates in a `Trajectory`, and stops early
# if the run diverges. It gives the same path, to the last bit:

# %%
mine = q2.use(train_adam)(bowl, [0.0, 0.0], 0.1, 25)
recorded = run(bowl, [0.0, 0.0], "adam", lr=0.1, steps=25)
print("largest difference:", np.abs(mine - recorded.points).max())
print(recorded.summary())

# %% [markdown]
# ## 3. Momentum
#
# Plain gradient descent on an elongated bowl zig-zags across the steep direction and
# crawls along the flat one. Momentum keeps a velocity $v$, a running sum of the gradients
# that decays by a factor $\beta$ per step:
#
# $$v \leftarrow \beta v + \nabla f(x), \qquad x \leftarrow x - \eta v.$$
#
# Gradients that keep their direction add up (along a constant slope the step grows to
# $\eta / (1 - \beta)$ times the gradient: 10 times for $\beta = 0.9$), while gradients that
# flip sign from step to step cancel out. The zig-zag is damped, the crawl accelerated.

# %%
q3

# %%
def momentum_step(x, v, g, lr, beta):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 3.3: return the new (x, v)")
    v = beta * v + g
    return x - lr * v, v
    # END SOLUTION


q3.check(momentum_step)

# %% [markdown]
# Your step, iterated on the valley with gradients from our own engine, for three values of
# $\beta$ (the learning rate stays 0.02). Along the curved floor the gradients keep their
# direction and momentum builds up speed; $\beta = 0.9$ overshoots at the bend and circles
# in to the minimum, still long before plain descent arrives.

# %%
step = q3.use(momentum_step)
gradient = ag.grad(valley)
paths = {}
for beta in (0.0, 0.5, 0.9):
    x, v, points = np.array([-1.0, 1.0]), np.zeros(2), [np.array([-1.0, 1.0])]
    for _ in range(100):
        x, v = step(x, v, gradient(x), 0.02, beta)
        points.append(x)
    paths[f"beta = {beta}"] = np.array(points)
plot_trajectories(on_plane(valley), paths, x_range=(-2, 2), y_range=(-1, 3), panels=("loss",))

# %% [markdown]
# ## 4. Adam
#
# Adam (adaptive moments) keeps two running averages per coordinate, of the gradient and of
# its square, corrects them for starting at zero, and divides one by the root of the other:
#
# $$m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad v \leftarrow \beta_2 v + (1 - \beta_2) g^2,
# \qquad \hat m = \frac{m}{1 - \beta_1^t}, \quad \hat v = \frac{v}{1 - \beta_2^t}, \qquad
# x \leftarrow x - \eta \, \frac{\hat m}{\sqrt{\hat v} + \epsilon},$$
#
# with $t$ the step number and, by default, $\beta_1 = 0.9$, $\beta_2 = 0.999$. The ratio
# $\hat m / \sqrt{\hat v}$ has no units: the step size is set by $\eta$, whatever the scale
# of the gradient.

# %%
q4

# %%
def adam_first_step(x0, g, lr):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 3.4: return x1 after one Adam step")
    return x0 - lr * np.sign(g)
    # END SOLUTION


q4.check(adam_first_step)

# %% [markdown]
# On the bowl the gradient at $(0, 0)$ is $(-2, 10)$, five times larger along $y$; Adam's
# first step is nevertheless the same in both coordinates. Useful where one coordinate has a
# tiny gradient (a plateau, a saddle), harmful where a large step along a steep direction
# overshoots.

# %%
first = q4.use(adam_first_step)(np.zeros(2), ag.grad(bowl)(np.zeros(2)), 0.1)
print("gradient at (0, 0):", ag.grad(bowl)(np.zeros(2)))
q4.print("Adam's first step :", first, "  torch.optim agrees:", recorded.points[1])

# %% [markdown]
# ## 5. The optimizer zoo
#
# `optilab.optim.race(f, x0, {label: settings}, steps=...)` runs several optimizers from the
# same start and returns their trajectories. What the others do, in one line each:
#
# * **SGD with momentum**: the heavy ball of section 3;
# * **Adagrad**: divides by the root of the *sum* of all past $g^2$, so each coordinate's
#   step shrinks for good as it accumulates gradient;
# * **RMSprop**: divides by the root of a *running average* of $g^2$, with its own
#   $\alpha = 0.99$ (Adam's $\beta_2$ is 0.999); it keeps no running mean of $g$ and does no
#   bias correction;
# * **Adadelta**: like RMSprop, and also scales the step by a running average of past steps,
#   so the step gets the units of $x$ by itself (torch's `lr` is only an extra factor,
#   1.0 by default);
# * **L-BFGS**: a quasi-Newton method. It builds an approximation of the inverse Hessian from
#   the differences of past points and gradients (a memory of `history_size=100` pairs by
#   default). One `step()` runs up to `max_iter=20` inner quasi-Newton iterations, calling
#   $f$ up to `max_eval=25` times; by default it takes those steps with a fixed length (no
#   line search), and `line_search_fn="strong_wolfe"` adds one. That is why it needs a
#   *closure*, a function that re-evaluates the loss:
#
# ```python
# def closure():
#     optimizer.zero_grad()
#     loss = f(x)
#     loss.backward()
#     return loss
#
# optimizer.step(closure)      # up to max_iter=20 evaluations of f per step
# ```
#
# The learning rates below are reasonable for each method on Rosenbrock's banana valley, not
# tuned to the last digit (try your own).

# %%
zoo = {
    "SGD": dict(optimizer="sgd", lr=2e-3),
    "SGD + momentum": dict(optimizer="sgd", lr=1e-3, momentum=0.9),
    "Adam": dict(optimizer="adam", lr=0.1),
    "Adadelta": dict(optimizer="adadelta", lr=3.0),
    "Adagrad": dict(optimizer="adagrad", lr=1.0),
    "RMSprop": dict(optimizer="rmsprop", lr=0.01),
    "LBFGS": dict(optimizer="lbfgs", lr=1.0, steps=20),
}
runs = race(functions.rosenbrock, [-1.2, 1.0], zoo, steps=300)
plot_trajectories(functions.rosenbrock, runs, panels=("loss",))

# %% [markdown]
# `Trajectory.summary()` says how each run ended. Count the evaluations of $f$, not the
# steps: each L-BFGS step evaluates $f$ several times.

# %%
for trajectory in runs.values():
    print(f"{trajectory.evaluations:4d} evaluations | {trajectory.summary()}")

# %% [markdown]
# The same race as an animation (a few frames, sampled evenly along the runs). Momentum
# gathers speed along the floor of the valley. Adam and RMSprop slow down once they are in it,
# for the same reason: their $v$, a running average of $g^2$, has a long memory (about
# $1/(1-\beta_2) = 1000$ steps for Adam, $1/(1-\alpha) = 100$ for RMSprop), so it still holds
# the large gradients met on the way down the wall while the gradient along the floor is
# small. A step is then a fraction of the learning rate: after step 150 of this race,
# RMSprop's $|g|/\sqrt{v}$ is about 0.2 to 0.4, and Adam's $|m|/\sqrt{v}$ about 0.1 to 0.2.
# L-BFGS takes a few long, well-aimed steps.

# %%
animate(functions.rosenbrock, {k: runs[k] for k in ("SGD + momentum", "Adam", "RMSprop",
                                                   "LBFGS")}, frames=10)

# %% [markdown]
# ## 6. A saddle
#
# On $f(x, y) = x^2 - y^2$, started a hair off the ridge at $(1.5, 0.001)$, the gradient
# $(2x, -2y)$ points almost straight at the saddle point $(0, 0)$, which is not a minimum.
# Plain SGD walks there and stalls: the push along $y$ is only $2 |y|$. Momentum overshoots
# the saddle and has to come back. Adam and RMSprop divide each coordinate by its own
# gradient scale, so the tiny $y$-gradient still gets a step of size about $\eta$ (exercise
# 3.4): they escape at once.

# %%
saddle_runs = race(functions.saddle, [1.5, 1e-3], {
    "SGD": dict(lr=0.05),
    "SGD + momentum": dict(optimizer="sgd", lr=0.05, momentum=0.9),
    "Adam": dict(lr=0.05),
    "RMSprop": dict(lr=0.01),
}, steps=30)
plot_trajectories(functions.saddle, saddle_runs, panels=("loss",))

# %% [markdown]
# ## 7. Inside the optimizer
#
# `run(..., record_state=True)` (and `race(..., record_state=True)`) also records what the
# optimizer carries from one step to the next: the momentum buffer, Adam's running averages,
# the points L-BFGS's line search tried (`Trajectory.state`, `Trajectory.trial_points`).
# `plot_trajectories(..., internals=k)` draws them at step $k$: the step taken (solid, the
# path's colour) against steepest descent $-g$ drawn as long (dashed grey), with a caption in
# words under the map. L-BFGS does one inner iteration per step here (`max_iter=1`), so each
# step is one line search; it needs `max_eval=10`, since the default
# `max_eval = max_iter * 5 // 4` would be 1 and the run would not move.

# %%
inside = race(functions.rosenbrock, [-1.2, 1.0], {
    "SGD + momentum": dict(optimizer="sgd", lr=1e-3, momentum=0.9),
    "Adam": dict(optimizer="adam", lr=0.1),
    "LBFGS": dict(optimizer="lbfgs", lr=1.0, max_iter=1, max_eval=10,
                  line_search_fn="strong_wolfe"),
}, steps=40, record_state=True)
near_start = dict(x_range=(-1.5, -0.7), y_range=(0.6, 1.3))
plot_trajectories(functions.rosenbrock, {"SGD + momentum": inside["SGD + momentum"]},
                  internals=1, **near_start)

# %% [markdown]
# At step 1 momentum's step points 171 degrees away from steepest descent: its velocity
# $v_1 = 0.9\, v_0 + g_1$ is still mostly the gradient of step 0 ($|0.9\, g_0| pprox 210$
# against $|g_1| pprox 49$), so it crosses the floor of the valley and climbs the far wall:
# $f$ goes from 5.35 to 23.5.

# %%
plot_trajectories(functions.rosenbrock, {"Adam": inside["Adam"]}, internals=0, **near_start)

# %% [markdown]
# Adam's first step is $(0.1, 0.1)$, the corner of the box $|\mathrm{step}_i| \le \eta$: at the
# first step $\hat m / \sqrt{\hat v} = g / |g| = \pm 1$ in each coordinate, although the
# gradient $(-215.6, -88)$ is 2.45 times larger along $x$; the step is 23 degrees away from
# steepest descent.

# %%
plot_trajectories(functions.rosenbrock, {"LBFGS": inside["LBFGS"]}, internals=12,
                  x_range=(-0.7, 0.3), y_range=(-0.5, 0.4))

# %% [markdown]
# At step 12 L-BFGS's line search first tries the whole quasi-Newton step ($t = 1$, the far
# cross), where $f = 18.3$, more than $f(x_{12}) = 1.82$; it backs off to $t \approx 0.26$
# ($f = 1.72$), then to $t \approx 0.17$ ($f = 1.66$), where it stops: that is the step taken.

# %% [markdown]
# ## Summary
#
# * A torch optimisation loop is `zero_grad()`, `backward()`, `step()`. By hand, the update
#   goes through `x.data` (or under `torch.no_grad()`) so that it is not recorded, and the
#   gradient must be reset: forgetting it turns the loop into momentum with $\beta = 1$.
# * Momentum: $v \leftarrow \beta v + g$, $x \leftarrow x - \eta v$: damps zig-zags,
#   accelerates along consistent slopes.
# * Adam normalises each coordinate's step by its gradient scale: the first step moves every
#   coordinate by $\eta$.
# * No optimizer wins everywhere: compare them on the problem at hand, count evaluations, and
#   give L-BFGS a closure.
# * `record_state=True` records what an optimizer carries between steps;
#   `plot_trajectories(..., internals=k)` draws it at step $k$, against steepest descent.
