# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 8. Newton's method and Hessians
#
# Gradient descent sees only the slope. Its learning rate must stay below $2/\lambda_{max}$, set
# by the steepest curvature (notebook 5), while the flattest direction shrinks by only
# $1 - \eta\lambda_{min}$ per step: on Rosenbrock's valley, where $\lambda_{max}/\lambda_{min}$
# is about 2500, that means thousands of steps. Newton's method also uses the curvature, the
# Hessian $H = \nabla^2 f$, and rescales every direction by its own curvature.
#
# In this notebook you compute Hessians with our engine (`ag.hessian`), write Newton's method,
# race it against gradient descent on Rosenbrock, see where it goes wrong, and meet the
# Hessian-vector product (`ag.hvp`), which large problems use instead of the Hessian.

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import optilab.autograd as ag
from optilab.exercises.nb08_newton import q1, q2, q3, q4, rosen
from optilab.functions import rosenbrock
from optilab.optim import run
from optilab.plot import plot_trajectories

# %% [markdown]
# ## 1. The Newton step
#
# Near $x$, $f$ is close to its quadratic model, with $g = \nabla f(x)$ and $H = \nabla^2 f(x)$:
#
# $$f(x + d) \approx m(d) = f(x) + g^\top d + \tfrac12\, d^\top H d.$$
#
# When $H$ is positive definite the model has one minimum, where its gradient $g + H d$
# vanishes: $d = -H^{-1} g$. Newton's method jumps there,
#
# $$x_{new} = x - H^{-1} g.$$

# %%
q1

# %%
def newton_step(x, g, H):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 8.1: return x - H^-1 g (solve, do not invert)")
    return x - np.linalg.solve(H, g)
    # END SOLUTION


q1.check(newton_step)

# %% [markdown]
# A quadratic $f(x) = \frac12 x^\top A x - b^\top x$ is its own model, so one Newton step lands
# on the minimiser $A^{-1} b$, however badly the bowl is stretched. Gradient descent, even at
# 95% of its stability limit, needs thousands of steps on a bowl 1000 times steeper one way:

# %%
step = q1.use(newton_step)
A, b = np.diag([1.0, 1000.0]), np.array([1.0, 1.0])
x_star = np.linalg.solve(A, b)
x0 = np.array([5.0, 5.0])
print("one Newton step:", step(x0, A @ x0 - b, A), " minimiser:", x_star)

x, k = x0, 0
while np.linalg.norm(x - x_star) > 1e-6:
    x, k = x - 0.95 * 2 / 1000 * (A @ x - b), k + 1
print(f"gradient descent: {k} steps to get within 1e-6")

# %% [markdown]
# ## 2. Hessians with our engine
#
# `ag.hessian(f)` is `jacobian(grad(f))`: the engine's derivative rules are written with its own
# operations, so a gradient can be differentiated again. For Rosenbrock's function
# $f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$ (`rosen` takes one point $p = (x, y)$):

# %%
print(ag.hessian(rosen)(np.array([-1.2, 1.0])))

# %%
q2

# %%
def rosenbrock_hessian(x, y):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 8.2: return the 2x2 Hessian at (x, y)")
    return np.array([[2 - 400 * (y - x ** 2) + 800 * x ** 2, -400 * x],
                     [-400 * x, 200.0]])
    # END SOLUTION


q2.check(rosenbrock_hessian)

# %% [markdown]
# The eigenvalues of $H$ are the curvatures along its eigenvectors. At the minimum $(1, 1)$:

# %%
hessian_at = q2.use(rosenbrock_hessian)
curvatures = np.linalg.eigvalsh(hessian_at(1.0, 1.0))
print(f"eigenvalues {curvatures.round(3)}, condition number "
      f"{curvatures[-1] / curvatures[0]:.0f}")

# %% [markdown]
# Across the valley $f$ is about 2500 times more curved than along it. Gradient descent must
# keep $\eta < 2/1002$ for the steep direction, and then its error along the floor shrinks by a
# factor $1 - 0.4\,\eta > 0.9992$ per step: nearly 3000 steps for each correct digit.
#
# ## 3. Newton against gradient descent on Rosenbrock

# %%
q3

# %%
def newton(f, x0, steps):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 8.3: return the points of `steps` Newton steps")
    x = np.array(x0, dtype=float)
    points = [x.copy()]
    for _ in range(steps):
        x = x - np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x))
        points.append(x.copy())
    return np.array(points)
    # END SOLUTION


q3.check(newton)

# %% [markdown]
# The race, from the classic start $(-1.2, 1)$: six Newton steps; gradient descent at
# $\eta = 0.0015$ (75% of its limit at the minimum) and with momentum, run by
# `optilab.optim.run` on our engine.

# %%
newton_method = q3.use(newton)
start = np.array([-1.2, 1.0])
t0 = time.perf_counter()
newton_path = np.array(newton_method(rosen, start, 6))
newton_time = time.perf_counter() - t0
gd = run(rosenbrock, start, "sgd", lr=1.5e-3, steps=16000, engine="optilab", progress=False)
momentum = run(rosenbrock, start, "sgd", lr=1e-3, momentum=0.9, steps=3000, engine="optilab",
               progress=False)

errors = {"Newton": np.linalg.norm(newton_path - 1, axis=1),
          "GD": np.linalg.norm(gd.points - 1, axis=1),
          "GD + momentum": np.linalg.norm(momentum.points - 1, axis=1)}
for name, error in errors.items():
    print(f"{name:>13}: |x_k - x*| < 1e-4 after {np.argmax(error < 1e-4)} steps")
print(f"Newton: {newton_time / 6 * 1e3:.2f} ms per step (gradient, Hessian, solve)")
print("Newton, |x_k - x*| for k = 0..6:", " ".join(f"{e:.1e}" for e in errors["Newton"]))

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for name, error in errors.items():
    ax.loglog(np.arange(1, len(error) + 1), np.maximum(error, 1e-16), ".-" if
              name == "Newton" else "-", label=name)
ax.set(xlabel="step k + 1 (log scale)", ylabel="$|x_k - x^*|$", title="error on Rosenbrock")
ax.legend()
plt.show()

# %% [markdown]
# Near the minimum Newton's error is roughly squared at every step, $e_{k+1} \approx C e_k^2$
# (quadratic convergence: the number of correct digits doubles), where gradient descent's is
# multiplied by about the same factor, close to 1, at every step (linear convergence: a straight
# line against $k$ on a linear axis; the log axis here fits both methods in one picture).
#
# Newton's first steps are another story. Where the paths go:

# %%
plot_trajectories("rosenbrock", {"Newton": newton_path, "GD": gd, "GD + momentum": momentum})

# %%
print("f along Newton's path:", " ".join(f"{rosen(p):.3g}" for p in newton_path))

# %% [markdown]
# Its second step jumps out of the picture, to $y \approx -3.2$ (the cross on the frame), where
# $f$ is 300 times larger than where it came from: the quadratic model is trustworthy only near
# the point where it was built. Practical Newton methods therefore limit the step (a line search
# that insists $f$ decreases, or a *trust region*).
#
# ## 4. Newton looks for flat points, not minima
#
# Newton's step solves $\nabla m(d) = 0$: it goes to where the model's gradient vanishes. When
# $H$ has a negative eigenvalue, that is a saddle of the model, not a minimum. On
# $f(x, y) = x^2 - y^2$, whose Hessian is $\mathrm{diag}(2, -2)$, one Newton step from anywhere
# lands exactly on the saddle, which gradient descent escapes (notebook 5):

# %%
def saddle(p):
    return p[0] ** 2 - p[1] ** 2


print(newton_method(saddle, np.array([1.5, 0.1]), 1))

# %% [markdown]
# Remedies make the model convex where $f$ is not: add $\mu I$ to $H$ (damped, or
# regularised, Newton; Levenberg-Marquardt is the same damping applied to the Gauss-Newton
# matrix $J^T J$ of a least-squares problem), or use a positive-definite approximation built
# from gradients (quasi-Newton methods, such as BFGS and `torch.optim.LBFGS`).
#
# ## 5. Hessian-vector products
#
# With $n$ parameters, $H$ has $n^2$ entries and costs about $n$ gradient evaluations; for a
# network with a million weights that is out of reach. But the methods that solve $H d = -g$
# iteratively (conjugate gradients: *Newton-CG*, *Hessian-free* optimisation) only need
# products $H v$, and those cost about two gradients:
#
# $$H v = \frac{d}{d\varepsilon} \nabla f(x + \varepsilon v) \Big|_{\varepsilon = 0}
#       = \nabla_x \big( \nabla f(x) \cdot v \big).$$
#
# `ag.hvp(f)(x, v)` computes the right-hand side: the gradient of a dot product with a
# gradient. You approximate the derivative in the middle by finite differences.

# %%
q4

# %%
def hvp_fd(grad, x, v, h=1e-5):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 8.4: return the central difference of grad along v")
    return (grad(x + h * v) - grad(x - h * v)) / (2 * h)
    # END SOLUTION


q4.check(hvp_fd)

# %%
hvp_by_differences = q4.use(hvp_fd)
x, v = np.array([-1.2, 1.0]), np.array([0.6, -0.8])
print("finite differences:", hvp_by_differences(ag.grad(rosen), x, v))
print("ag.hvp:            ", ag.hvp(rosen)(x, v))
print("H @ v:             ", ag.hessian(rosen)(x) @ v)

# %% [markdown]
# The saving grows with the dimension. Rosenbrock's function has an $n$-dimensional version,
# $f(x) = \sum_{i=1}^{n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2$; with $n = 500$:

# %%
def rosen_n(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


x = np.random.default_rng(0).normal(size=500)
v = np.ones(500)
t0 = time.perf_counter()
H = ag.hessian(rosen_n)(x)
t1 = time.perf_counter()
Hv = ag.hvp(rosen_n)(x, v)
t2 = time.perf_counter()
print(f"the Hessian: {H.shape}, {(t1 - t0) * 1e3:.0f} ms; H v alone: {(t2 - t1) * 1e3:.1f} ms")
print("same product:", np.allclose(H @ v, Hv))
