# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 6. The city map
#
# An airline knows the distances between the 36 European cities it serves, and nothing else:
# no latitudes, no longitudes. Can it draw the map? We look for points
# $x_1, \dots, x_n \in \mathbb{R}^2$ (one per city, $n = 36$) whose distances match the table,
# by minimising
#
# $$f(X) = \sum_{i<j} \left(\|x_i - x_j\|^2 - d_{ij}^2\right)^2,
# \qquad X = \begin{pmatrix} x_1^\top \\ \vdots \\ x_n^\top \end{pmatrix}
# \in \mathbb{R}^{n \times 2}.$$
#
# That is $2n = 72$ unknowns: too many for contour plots, but the same optimisers as before.
# You write the criterion and its gradient, draw the map with gradient descent, then race it
# against Adam, L-BFGS and SciPy's BFGS, and compare the result with the real map.

# %%
# %matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import optilab.autograd as ag
from optilab.cities import (
    animate_map,
    compare,
    distance_errors_km,
    load_cities,
    map_errors_km,
    normalise,
    plot_map,
    plot_snapshots,
    random_start,
    solve,
    stress,
)
from optilab.exercises.nb06_cities import STEPS, TARGET, q1, q2, q3

# %% [markdown]
# ## 1. The data
#
# `load_cities()` gives the names (in the course's spelling) and the $36 \times 36$ matrix of
# distances in km, measured along the Earth's surface (WGS84 geodesics). It also knows each
# city's latitude and longitude, which we keep aside to check the map at the end.

# %%
cities = load_cities()
print(len(cities), "cities:", ", ".join(cities.names))
print(f"Paris - London: {cities.distance('Paris', 'London'):.0f} km, "
      f"Lisbon - Moscow: {cities.distance('Lisbon', 'Moscow'):.0f} km")

# %% [markdown]
# Course code often loads the matrix with `np.load("distances.npy")`: the file sits next to
# the notebooks (on Colab the setup cell at the top puts it there). It is the same matrix.

# %%
if Path("distances.npy").exists():
    d_km = np.load("distances.npy")
    print("np.load('distances.npy') == cities.distances:", np.array_equal(d_km, cities.distances))
else:
    d_km = cities.distances
print("shape", d_km.shape, "| symmetric:", np.allclose(d_km, d_km.T),
      "| zero diagonal:", not np.diagonal(d_km).any())

# %% [markdown]
# ## 2. The criterion
#
# **Why squared distances?** Comparing $\|x_i - x_j\|^2$ with $d_{ij}^2$, rather than
# $\|x_i - x_j\|$ with $d_{ij}$, makes $f$ a polynomial of degree 4 in the coordinates: smooth
# everywhere, with no square root to differentiate. The distance itself has the gradient
# $(x_i - x_j) / \|x_i - x_j\|$, undefined when two points meet. The price: long distances
# weigh more (an error $\varepsilon$ on $d_{ij}$ changes the residual by about
# $2 d_{ij} \varepsilon$).
#
# **Why normalise?** In km, $d_{ij}^4$ reaches $10^{14}$: $f$, its gradient and its curvature
# would be huge, and a good learning rate would depend on the unit. We divide the distances
# by their Frobenius norm, $D \leftarrow D / \|D\|_F$ with
# $\|D\|_F = \big(\sum_{ij} d_{ij}^2\big)^{1/2}$, so that everything is of order one. Nothing is
# lost: scaling $X$ and $D$ by $s$ multiplies $f$ by $s^4$, so the best map in km is the best
# normalised map times $\|D\|_F$.
#
# **Which map?** Moving, rotating or mirroring a map changes no distance:
# $f(XQ + \mathbf 1 t^\top) = f(X)$ for every orthogonal $Q$ and every shift $t$. These are the
# isometries of the plane (a mirror image is one, but not a rigid motion: it cannot be done by
# moving the map without lifting it). For exact Euclidean distances a theorem says the points
# are fixed up to an isometry; ours are distances along the curved Earth, which no flat map
# matches exactly, so here it is an observation about the runs, not a theorem. To compare a
# map with the real one we will turn it (or mirror it) north up.
#
# This criterion, the squared error of squared distances, is called *S-stress* (Takane,
# Young and de Leeuw); Kruskal's stress compares the distances themselves.
#
# In code, `X[:, None, :] - X[None, :, :]` is the $(n, n, 2)$ array of all differences
# $x_i - x_j$; summing over all pairs $(i, j)$ counts each pair twice (and $i = j$ adds 0).

# %%
q1

# %%
def criterion(X, D):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 6.1: return the sum over i < j of the squared residuals")
    squared = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)     # |x_i - x_j|^2, (n, n)
    return ((squared - D ** 2) ** 2).sum() / 2
    # END SOLUTION


q1.check(criterion)

# %% [markdown]
# ### One function, three engines
#
# Your criterion uses only broadcasting, `**` and `.sum()`, which numpy arrays, our engine's
# `Tensor`s and `torch.Tensor`s all understand. So the same function gives a number on numpy
# arrays and a gradient with either engine. We start from `random_start(36, seed=0)`: random
# points, scaled like the normalised distances.

# %%
f = q1.use(criterion)
D = normalise(cities.distances)
X0 = random_start(36, seed=0)

print("numpy  f(X0) =", float(f(X0, D)))
g_ours = ag.grad(lambda X: f(X, D))(X0)

X_torch = torch.tensor(X0, requires_grad=True)
value = f(X_torch, torch.tensor(D))
value.backward()
print("torch  f(X0) =", value.item())
print("gradients of the two engines agree:", np.allclose(g_ours, X_torch.grad.numpy()))

# %% [markdown]
# ### The gradient by hand
#
# With the residuals $r_{ij} = \|x_i - x_j\|^2 - d_{ij}^2$ (symmetric: $r_{ij} = r_{ji}$), write
# $f = \frac12 \sum_{i \ne j} r_{ij}^2$ over ordered pairs. The point $x_i$ enters the terms
# $(i, j)$ and $(j, i)$, which are equal, so the $\frac12$ cancels their count; differentiating
# $r_{ij}^2$ in $x_i$ gives $2 r_{ij} \cdot 2 (x_i - x_j)$, hence
#
# $$\nabla_{x_i} f = 4 \sum_j r_{ij}\, (x_i - x_j).$$

# %%
q2

# %%
def criterion_grad(X, D):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 6.2: return the (n, 2) gradient")
    diff = X[:, None, :] - X[None, :, :]                          # x_i - x_j, (n, n, 2)
    r = (diff ** 2).sum(-1) - D ** 2                               # r_ij, (n, n)
    return 4 * (r[:, :, None] * diff).sum(1)
    # END SOLUTION


q2.check(criterion_grad)

# %% [markdown]
# ## 3. Gradient descent by hand
#
# $X_{k+1} = X_k - \eta\, \nabla f(X_k)$, with your gradient. Too small a learning rate $\eta$
# crawls; too large a one makes the map explode.

# %%
q3

# %%
# BEGIN SOLUTION
# STUB: lr = ...   # Exercise 6.3: a learning rate
lr = 0.02
# END SOLUTION
q3.check(lr)

# %%
grad_f = q2.use(criterion_grad)
eta = q3.use(lr)

X, values = X0.copy(), [float(f(X0, D))]
for _ in range(STEPS):
    X = X - eta * grad_f(X, D)
    values.append(float(f(X, D)))
q3.print(f"lr = {eta}: f = {values[0]:.3g} -> {values[-1]:.3g} after {STEPS} steps")

plt.figure(figsize=(5, 3.2))
plt.semilogy(values)
plt.axhline(TARGET, ls=":", color="0.4", label="target")
plt.xlabel("step k")
plt.ylabel("$f(X_k)$")
plt.legend()
plt.show()

# %% [markdown]
# $f$ fell ten-thousandfold, yet the curve flattens. Is the map drawn? Not yet, as we shall see.
#
# ## 4. Gradient descent to the end
#
# `solve(method, ...)` runs a method on the normalised problem and returns a `Trajectory`:
# every iterate (`points`, flat maps of 72 numbers), `values`, gradients and timings.
# `engine="optilab"` uses our engine; `fused=True` makes it differentiate `stress`, the same
# criterion written as **one** primitive whose derivative rule is the closed-form gradient
# above: one node in the graph instead of ten, about three times faster. The bar is tqdm's.

# %%
gd = solve("gd", engine="optilab", fused=True, steps=6000, progress=True)
reached = int(np.argmax(gd.values <= 2e-8))
print(f"lr = {gd.settings['lr']}: f = {gd.value:.4g} after {gd.steps} steps "
      f"(f <= 2e-8 from step {reached})")

# %% [markdown]
# Thousands of steps: why? Follow the run. At a few steps $k$: $f$, the median error of the
# map's distances in km (`distance_errors_km`), and the smallest eigenvalue of the Hessian
# $\nabla^2 f$ (a $72 \times 72$ matrix, which our engine computes from `stress`).

# %%
hessian = ag.hessian(lambda p: stress(p, D))
print("    k          f   median error   smallest eigenvalue")
for k in (10, 300, 1000, 3000, 4200, 5000, gd.steps):
    km = np.median(distance_errors_km(gd.points[k]))
    lowest = np.linalg.eigvalsh(hessian(gd.points[k]))[0]
    print(f"{k:5} {gd.values[k]:10.2g} {km:10.0f} km {lowest:16.2g}")

# %% [markdown]
# Two phases.
#
# - **A plateau near saddle points.** From step 30 to about 4,000, $f$ is already small
#   (below $10^{-3}$, the exercise's target) but the map is wrong by hundreds of km, and the
#   Hessian has a clearly negative eigenvalue (values near 0 come from the rigid motions):
#   $f$ curves downwards along some direction, so this is no minimum but a *saddle region*.
#   The map is tangled: some cities are stuck on the wrong side of their neighbours (at
#   step 3000 Athens lies north of Milan, see section 8), and moving them through the
#   others first makes $f$ worse. There the gradient is tiny, and gradient descent, whose
#   step is proportional to the gradient, creeps until the map untangles.
# - **The final approach**, limited by the curvature:

# %%
at_start = np.linalg.eigvalsh(hessian(X0.ravel()))
at_end = np.linalg.eigvalsh(hessian(gd.x))
print(f"at the start:    largest eigenvalue {at_start[-1]:.3g}")
print("at the solution: three smallest", np.array2string(at_end[:3], precision=1),
      f"then {at_end[3]:.3g} ... {at_end[-1]:.3g}")

# %% [markdown]
# - At the start the curvature reaches about 55, which caps the learning rate near
#   $2/55 \approx 0.04$ (0.05 still works: the first steps quickly leave the steepest region).
# - At the solution three eigenvalues vanish: the rigid motions (two shifts and a rotation)
#   that do not change $f$. The smallest of the others is about 0.05, so along that direction
#   each step shrinks the error only by a factor $1 - 0.05 \times 0.05 \approx 0.9975$:
#   about a thousand steps per decade. The learning rate the start allows is too small for
#   the end.
#
# ## 5. Adam, L-BFGS, and SciPy's BFGS as the baseline
#
# - **Adam** (`torch.optim.Adam`) scales each coordinate's step by a running estimate of its
#   gradient's size, and takes hundreds of steps instead of thousands.
# - **L-BFGS** (`torch.optim.LBFGS`) builds an approximation of the inverse Hessian from the
#   last few gradients and finds each step with a line search: a quasi-Newton method.
# - **BFGS** (`scipy.optimize.minimize(method="BFGS")`, fed our engine's exact gradient) keeps
#   the whole $72 \times 72$ approximation: the standard to beat.
#
# Each runs from the same start, with the defaults of `optilab.cities.DEFAULTS`.

# %%
runs = {
    "GD (ours, fused)": gd,
    "GD (torch)": solve("gd", steps=2000, progress=False),
    "Adam (torch)": solve("adam", progress=False),
    "L-BFGS (torch)": solve("lbfgs", progress=False),
    "BFGS (scipy)": solve("bfgs", fused=True, progress=False),
}
for name, run in runs.items():
    print(f"{name:17} {run.status:9} {run.steps:5} steps   f = {run.value:.5g}")

# %% [markdown]
# Every method that finishes stops at the same value, $f^* \approx 1.24 \cdot 10^{-8}$, not 0.
# **The Earth is curved**: the distances were measured on (nearly) a sphere, and no flat map
# keeps all the distances of a curved surface (Gauss's *Theorema Egregium*: that is why
# every map projection distorts something). $f^* > 0$ is the price of flattening Europe.
#
# ## 6. The map
#
# `plot_map` scales the solution back to km, turns it north up and west left (the rotation or
# mirror that best fits the true positions: an orthogonal Procrustes problem), and draws the
# true positions, the error of each city in km, and the path three cities took from their
# random start.

# %%
plot_map(runs["L-BFGS (torch)"])

# %% [markdown]
# How good is the map? Two measures: how far the distances between the points are from the
# table (no alignment needed), and how far each aligned city is from its true position. In
# the median both are a few km, on a map 4,000 km across. The largest errors come from the
# curvature the flat solution had to absorb, and part of the position errors from the
# reference map itself (a flat projection of the true positions, exact only for distances
# from its centre).

# %%
pair_errors = distance_errors_km(runs["L-BFGS (torch)"])
city_errors = map_errors_km(runs["L-BFGS (torch)"])
print(f"distances, over the {len(pair_errors)} pairs: median {np.median(pair_errors):.1f} km, "
      f"max {pair_errors.max():.1f} km")
print(f"positions, over the {len(city_errors)} cities: median {np.median(city_errors):.1f} km, "
      f"max {city_errors.max():.1f} km ({cities.names[int(np.argmax(city_errors))]})")

# %% [markdown]
# ## 7. The race
#
# `compare` draws $f$ against the iteration and against wall-clock time (both on log axes),
# and returns a table. The two gradient descents take exactly the same steps; only the cost
# of a step differs (torch has more overhead per call on a problem this small). An L-BFGS
# iteration costs a few evaluations of $f$ (its line search), but it needs so few that it wins.

# %%
fig, table = compare(runs)
fig

# %%
table

# %% [markdown]
# ## 8. The cities fly into place
#
# Snapshots of the gradient-descent run, each aligned (rotated or mirrored) onto the real map
# and drawn with the error of every city in km (red). The random start is a cloud several
# times too large; within a few dozen steps it shrinks to the right size, but tangled;
# untangling takes thousands of steps, and then the cities snap into place.

# %%
snapshots = (0, 30, 300, 3000, 4200, gd.steps)
plot_snapshots(gd, snapshots)

# %% [markdown]
# The same run as an animation (`animate_map`; `.save("cities.gif")` keeps it for a slide).
# Every frame is moved by the one rotation (or mirror) that aligns the final map, so you see
# the cities travel; the grey dots are the true positions. The view follows the cities, so
# every city stays in the frame: the title says how many km across it is.

# %%
animate_map(gd, frames=20)

# %% [markdown]
# ## What to remember
#
# - A criterion written with operators only is differentiated by any engine; fusing it into
#   one primitive with a hand-derived gradient makes it faster, not different.
# - Gradient descent is limited by the ratio of the largest curvature it meets to the
#   smallest it must resolve; quasi-Newton methods (L-BFGS, BFGS) learn the curvature and
#   need tens of times fewer iterations.
# - The best flat map still has $f > 0$: the data come from a curved surface.
#
# To try: start from other seeds (`plot_map(solve("lbfgs", seed=3))`), or raise GD's
# learning rate until it diverges (`solve("gd", lr=0.07, seed=1).status`).
