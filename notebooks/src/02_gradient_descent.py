# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 2. Gradient descent by hand
#
# Gradient descent repeats one step: from the point $x_k$, move against the gradient,
#
# $$x_{k+1} = x_k - \eta\, \nabla f(x_k),$$
#
# where the learning rate $\eta$ sets the step length. In this notebook you write that step,
# then the whole loop with our autograd engine (`optilab.autograd`), and watch what the
# learning rate does: on a 1D quadratic, on a 2D function with several hollows, and when
# training a perceptron on two blobs of points.
#
# Each exercise ends with a check cell: `q1.check(...)` answers *correct*, *not attempted yet*
# or *incorrect* (and names the likely mistake). `q1.hint()` gives a hint; call it again for
# the next one: a nudge, then the idea, then nearly the solution. `q1.solution()` shows a
# solution.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import optilab.autograd as ag
from optilab.exercises.nb02_gradient_descent import (
    STARTS,
    WELL_LR,
    WELL_STEPS,
    blobs,
    q1,
    q2,
    q3,
    q4,
    q5,
    q6,
    well,
)
from optilab.functions import gaussian_well

# %% [markdown]
# ## 1. One step
#
# `ag.grad(f)` turns a function into its gradient function: `ag.grad(f)(x)` is $\nabla f(x)$.

# %%
print(ag.grad(lambda x: x ** 2)(3.0))          # f'(x) = 2x, so 6 at x = 3

# %%
q1

# %%
def gd_step(f, x, lr):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 2.1: return x - lr * (gradient of f at x)")
    return x - lr * ag.grad(f)(x)
    # END SOLUTION


q1.check(gd_step)

# %% [markdown]
# ## 2. Two learning rates on $f(x) = x^2$
#
# With a working `gd_step`, run 25 steps from $x_0 = 4$ with a small and a large learning rate.
# The left plot shows the path on the curve, the right one the error $|x_k - x^*|$ on a log
# scale: a straight line means the error is multiplied by the same factor at every step.

# %%
step = q1.use(gd_step)


def square(x):
    return x ** 2


paths = {}
for lr in (0.1, 0.9):
    x, path = 4.0, [4.0]
    for _ in range(25):
        x = float(step(square, x, lr))
        path.append(x)
    paths[lr] = np.array(path)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
xs = np.linspace(-4.5, 4.5, 200)
left.plot(xs, xs ** 2, color="0.6")
for lr, path in paths.items():
    left.plot(path, path ** 2, "o-", ms=3, label=f"lr = {lr}")
    right.semilogy(np.abs(path), "o-", ms=3, label=f"lr = {lr}")
left.set(xlabel="x", ylabel="f(x)", title="paths on $f(x) = x^2$")
right.set(xlabel="step k", ylabel="$|x_k - x^*|$", title="error (log scale)")
left.legend()
right.legend()
plt.show()

# %% [markdown]
# Both errors fall along straight lines, with the same slope. The large rate overshoots: $x_k$
# changes sign at every step, yet it converges exactly as fast as the small rate. Why?

# %%
q2

# %%
def log_error_slope(lr):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 2.2: return the slope of log10|x_k| against k")
    return np.log10(abs(1 - 2 * lr))
    # END SOLUTION


q2.check(log_error_slope)

# %% [markdown]
# ## 3. The loop with `backward()`
#
# Our engine also has the object interface of PyTorch: a `Tensor` records the operations
# applied to it, `loss.backward()` leaves the gradient in `x.grad`, and you move `x.value`.
# One trap: `backward()` *adds* its gradient into `x.grad`. Once your loop passes, try
# commenting out the line that resets `x.grad`, and see what the check says.

# %%
q3

# %%
def gradient_descent(f, x0, lr, steps):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 2.3: loop `steps` times: f(x).backward(), then move x.value")
    x = ag.Tensor(x0)
    points = [x.value.copy()]
    for _ in range(steps):
        x.grad = None                       # backward() adds into x.grad: reset it first
        f(x).backward()
        x.value = x.value - lr * x.grad
        points.append(x.value.copy())
    return np.array(points)
    # END SOLUTION


q3.check(gradient_descent)

# %% [markdown]
# ## 4. How large may the learning rate be?
#
# On $f(x, y) = x^2 + 5y^2$ the two coordinates evolve separately. Find the largest learning
# rate for which gradient descent does not blow up.

# %%
q4

# %%
# BEGIN SOLUTION
# STUB: lr_max = ...   # Exercise 2.4: a number
lr_max = 2 / 10
# END SOLUTION
q4.check(lr_max)

# %%
descend = q3.use(gradient_descent)


def bowl(p):
    return p[0] ** 2 + 5 * p[1] ** 2


for lr in (0.19, 0.21):
    path = descend(bowl, np.array([1.0, 1.0]), lr, 60)
    print(f"lr = {lr}: after 60 steps |x| = {np.linalg.norm(path[-1]):.3g}")

# %% [markdown]
# ## 5. A function with several hollows
#
# `well` has a global minimum at $(0, -1.532)$, a shallower local minimum at the origin, and
# flattens out far away. Run gradient descent from the four starts and draw the paths.

# %%
X, Y, Z = gaussian_well.grid(n=150)
fig, ax = plt.subplots(figsize=(6, 5))
ax.contour(X, Y, Z, levels=30, cmap="viridis")
for i, start in enumerate(STARTS):
    path = descend(well, np.array(start), WELL_LR, WELL_STEPS)
    ax.plot(path[:, 0], path[:, 1], ".-", ms=2, label=f"start {i}: {start}")
    ax.plot(*path[-1], "k*", ms=10)
ax.set(xlim=(-3, 3), ylim=(-3, 3), xlabel="x", ylabel="y",
       title=f"gradient descent on well, lr = {WELL_LR}")
ax.legend(fontsize=8)
plt.show()

# %%
q5

# %%
# BEGIN SOLUTION
# STUB: reach_global = ...   # Exercise 2.5: a set of start numbers, e.g. {0, 2}
reach_global = {1, 3}
# END SOLUTION
q5.check(reach_global)

# %% [markdown]
# ## 6. A perceptron on two blobs
#
# A perceptron predicts $p_i = \tanh(w \cdot x_i + b)$ for each point $x_i$ of the plane.
# Training means gradient descent on the loss $L(w, b) = \frac1N \sum_i (p_i - y_i)^2$, with
# labels $y_i = \pm 1$. Here you write its gradient by hand, with numpy.

# %%
q6

# %%
def perceptron_grad(w, b, X, y):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 2.6: return (dL/dw, dL/db) with numpy")
    p = np.tanh(X @ w + b)
    r = 2 * (p - y) * (1 - p ** 2) / len(y)     # dL/dz for each sample
    return X.T @ r, r.sum()
    # END SOLUTION


q6.check(perceptron_grad)

# %%
grad_wb = q6.use(perceptron_grad)
points, labels = blobs()
w, b = np.zeros(2), 0.0
for _ in range(200):
    gw, gb = grad_wb(w, b, points, labels)
    w, b = w - 0.5 * gw, b - 0.5 * gb

accuracy = np.mean(np.sign(points @ w + b) == labels)
print(f"w = {np.round(w, 3)}, b = {b:.3f}, accuracy {accuracy:.0%}")

fig, ax = plt.subplots(figsize=(5, 4.5))
ax.scatter(*points.T, c=labels, cmap="coolwarm", edgecolor="k")
line = np.linspace(points[:, 0].min(), points[:, 0].max(), 2)
ax.plot(line, -(w[0] * line + b) / w[1], "k--", label="$w \\cdot x + b = 0$")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="the trained perceptron",
       ylim=(points[:, 1].min() - 1, points[:, 1].max() + 1))
ax.legend()
plt.show()
