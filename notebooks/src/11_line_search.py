# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 11. Line search and quasi-Newton
#
# Gradient descent with a fixed learning rate uses one step size for the whole run, and it
# must suit the steepest curvature the run will ever meet (notebooks 5 and 8). Newton's step
# (notebook 8) is right near the minimum but can jump far away from it. A *line search*
# chooses the step afresh at every iteration: given a direction $d$ (minus the gradient, a
# Newton or a quasi-Newton direction), it picks $t > 0$ and moves to $x + t d$.
#
# In this notebook you write Armijo's test and backtracking on our engine, see why
# quasi-Newton methods need the Wolfe curvature condition, find out what one `step()` of
# `torch.optim.LBFGS` does with and without its line search, and draw the city map of
# notebook 6 in closed form (classical MDS), the baseline for its optimisers.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import optilab.autograd as ag
from optilab.cities import (
    distance_errors_km,
    load_cities,
    map_errors_km,
    normalise,
    plot_map,
    solve,
    stress,
)
from optilab.exercises.nb11_line_search import himmel, q1, q2, q3, q4, rosen
from optilab.functions import rosenbrock
from optilab.optim import run
from optilab.plot import plot_trajectories
from optilab.plot.static import COLORS
from optilab.trajectory import table

# %% [markdown]
# ## 1. Sufficient decrease
#
# Along a direction $d$ from $x$, $f$ becomes a function of one variable,
# $\varphi(t) = f(x + t d)$, whose slope at $t = 0$ is $\varphi'(0) = \nabla f(x)^\top d$.
# $d$ is a *descent direction* when that slope is negative: then small steps decrease $f$.
#
# Asking only for $f(x + t d) < f(x)$ is not enough: a method can keep accepting steps whose
# gains shrink towards nothing, and stall far from any minimum. *Armijo's condition* asks
# for at least a fraction $c \in (0, 1)$ of the decrease that the slope promises:
#
# $$f(x + t d) \le f(x) + c\, t\, \nabla f(x)^\top d .$$
#
# The right side is a line through $f(x)$, less steep than the tangent (typically
# $c = 10^{-4}$). Since $f(x + t d) = f(x) + t\, \nabla f(x)^\top d + o(t)$ and $c < 1$,
# every small enough step of a descent direction passes.

# %%
q1

# %%
def armijo(f, x, d, t, c=1e-4):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 11.1: return f(x + t d) <= f(x) + c t grad f(x).d")
    fx, g = ag.value_and_grad(f)(x)
    return f(x + t * d) <= fx + c * t * np.dot(g, d)
    # END SOLUTION


q1.check(armijo)

# %% [markdown]
# From Rosenbrock's classic start $(-1.2, 1)$, along minus the gradient, which steps pass?

# %%
sufficient = q1.use(armijo)
x0 = np.array([-1.2, 1.0])
d0 = -ag.grad(rosen)(x0)
print(f"f(x0) = {rosen(x0):.4g}, slope grad f(x0).d = {np.dot(-d0, d0):.4g}")
for t in (1.0, 0.1, 0.01, 1e-3, 1e-4):
    print(f"t = {t:<6g} f(x0 + t d) = {rosen(x0 + t * d0):12.5g}   Armijo: "
          f"{bool(sufficient(rosen, x0, d0, t))}")

# %% [markdown]
# The gradient is large here ($|\nabla f| \approx 233$), so only steps of about $10^{-3}$ and
# below are short enough: $t = 0.01$ already lands higher than the start.
#
# ## 2. Backtracking
#
# The simplest line search: try a step $t$; while it fails Armijo's test, shrink it,
# $t \leftarrow \rho\, t$ (typically $\rho = 1/2$), and try again. For a descent direction it
# stops after finitely many trials (small steps pass). For a direction along which $f$ rises,
# no small step passes, and the search would shrink $t$ until $x + t d$ rounds to $x$: it must
# refuse such a direction instead.

# %%
q2

# %%
def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 11.2: return the list of trial steps, the last accepted")
    fx, g = ag.value_and_grad(f)(x)
    slope = np.dot(g, d)                        # phi'(0) = grad f(x) . d
    if slope >= 0:
        raise ValueError(f"d is not a descent direction: grad f(x).d = {slope:.3g} >= 0")
    trials = [t]
    while f(x + t * d) > fx + c * t * slope:    # Armijo's test fails: shrink
        t = rho * t
        trials.append(t)
    return trials
    # END SOLUTION


q2.check(backtracking)

# %% [markdown]
# ### Newton's method with a line search
#
# In notebook 8, Newton's second step from $(-1.2, 1)$ jumped to $y \approx -3.2$, where $f$
# is 300 times larger. With backtracking, the Newton direction $d = -H^{-1} \nabla f$ is
# searched from $t = 1$ (the full Newton step, the minimum of the quadratic model) and
# shortened only when $f$ does not decrease enough. Each step records its trial points and
# the evaluations of $f$ it cost ($f$ with its gradient once per search, $f$ once per trial;
# the Hessian aside).

# %%
search = q2.use(backtracking)


def newton_with_line_search(f, x0, tol=1e-10, most=100):
    """Newton directions, steps by backtracking: the points, each search's (x, d, trials),
    and the evaluations of f made when each point was reached."""
    x = np.array(x0, dtype=float)
    points, searches, evaluations = [x.copy()], [], [0]
    for _ in range(most):
        g = ag.grad(f)(x)
        if np.linalg.norm(g) <= tol:
            break
        d = -np.linalg.solve(ag.hessian(f)(x), g)
        trials = search(f, x, d)
        searches.append((x, d, trials))
        x = x + trials[-1] * d
        points.append(x.copy())
        evaluations.append(evaluations[-1] + 1 + len(trials))
    return np.array(points), searches, np.array(evaluations)


def pure_newton(f, x0, steps):
    points = [np.array(x0, dtype=float)]
    for _ in range(steps):
        x = points[-1]
        points.append(x - np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x)))
    return np.array(points)


damped, searches, damped_evals = newton_with_line_search(rosen, x0)
pure = pure_newton(rosen, x0, 10)
k = int(np.argmax(np.linalg.norm(damped - 1, axis=1) < 1e-4))
k_pure = int(np.argmax(np.linalg.norm(pure - 1, axis=1) < 1e-4))
values = np.array([rosen(p) for p in damped])
print(f"with backtracking: |x_k - x*| < 1e-4 after {k} steps, {damped_evals[k]} evaluations "
      f"of f; f decreased at every step: {bool(np.all(np.diff(values) < 0))}")
print(f"pure Newton:       |x_k - x*| < 1e-4 after {k_pure} steps; f at its step 2: "
      f"{rosen(pure[2]):.4g}")
print("accepted steps t:", " ".join(f"{trials[-1]:g}" for _, _, trials in searches))

# %% [markdown]
# The trial points of the first steps (grey crosses: rejected, then accepted): the full
# Newton step from $x_1$ is the cross near $(0.76, -3.17)$, halved three times.

# %%
fig = plot_trajectories("rosenbrock", {"Newton + backtracking": damped}, y_range=(-3.5, 3.0))
ax = fig.axes[0]
for x, d, trials in searches[:6]:
    tried = np.array([x + t * d for t in trials])
    ax.plot(tried[:, 0], tried[:, 1], "x", color="0.35", ms=7, zorder=5)
ax.plot([], [], "x", color="0.35", label="trial points (steps 1-6)")
ax.legend(loc="upper right")
fig

# %% [markdown]
# The line search buys safety, not speed here: $f$ decreases at every step, but the path
# takes 20 steps where pure Newton takes 5, after a detour through $f \approx 1400$ that
# happened to land near the solution. Near the solution the full step $t = 1$ is accepted
# at once, so Newton's fast local convergence is kept.
#
# ### Steepest descent with a line search
#
# Along $d = -\nabla f$ the line search sets the length of the step, not its direction. In
# Rosenbrock's valley, about 2,500 times more curved across than along near the minimum
# (notebook 8), that direction is a poor one: even with the best step length, on a quadratic
# with condition number $\kappa$ steepest descent shrinks $f - f^*$ by a factor up to
# $\left(\frac{\kappa - 1}{\kappa + 1}\right)^2$ per step. Five hundred steps, against
# gradient descent at a fixed $\eta = 1.5 \cdot 10^{-3}$ for as many steps, and for as many
# evaluations of $f$:

# %%
def steepest_descent(f, x0, steps):
    x, evaluations, accepted = np.array(x0, dtype=float), 0, []
    for _ in range(steps):
        d = -ag.grad(f)(x)
        tried = search(f, x, d)
        x, evaluations = x + tried[-1] * d, evaluations + 1 + len(tried)
        accepted.append(tried[-1])
    return x, evaluations, np.array(accepted)


x_sd, sd_evaluations, sd_steps = steepest_descent(rosen, x0, 500)
print(f"steepest descent + backtracking, 500 steps: |x - x*| = {np.linalg.norm(x_sd - 1):.3g} "
      f"({sd_evaluations} evaluations, median step {np.median(sd_steps):.3g})")
for steps in (500, sd_evaluations):
    fixed = run(rosenbrock, x0, "sgd", lr=1.5e-3, steps=steps, engine="optilab", progress=False)
    print(f"fixed lr 1.5e-3, {steps:5} steps:          |x - x*| = "
          f"{np.linalg.norm(fixed.x - 1):.3g} ({fixed.evaluations} evaluations)")

# %% [markdown]
# Each search starts at $t = 1$ and halves nine times, to $2^{-9} \approx 0.002$ (the
# median accepted step): eleven evaluations of $f$ per step. Per step, the line search is
# far ahead of the fixed rate; per evaluation of $f$, which is what costs time, the fixed
# rate is ahead. The line search spared us choosing $\eta$ but not the poor direction. For
# Newton and quasi-Newton directions, $t = 1$ is the natural first trial, and near a
# solution it passes at once.
#
# ## 3. The curvature condition
#
# Quasi-Newton methods (BFGS, L-BFGS) build an approximation $H_k$ of the *inverse* Hessian
# from what each step shows: the step $s_k = x_{k+1} - x_k$ and the change of gradient
# $y_k = \nabla f(x_{k+1}) - \nabla f(x_k)$. The new matrix must satisfy the *secant
# equation* $H_{k+1} y_k = s_k$, as the inverse Hessian of a quadratic would. Multiply on the
# left by $y_k^\top$:
#
# $$y_k^\top H_{k+1} y_k = y_k^\top s_k .$$
#
# So a positive definite $H_{k+1}$, which makes $-H_{k+1} \nabla f$ a descent direction, is
# possible only if $s_k^\top y_k > 0$. Along the line, $s^\top y = t\,(\varphi'(t) - \varphi'(0))$:
# the slope must have *increased* between the two ends of the step. Armijo's test says nothing
# about slopes. The (weak) *Wolfe curvature condition* does:
# $\varphi'(t) \ge c_2\, \varphi'(0)$ with $c_1 < c_2 < 1$ gives
# $s^\top y \ge t\,(c_2 - 1)\, \varphi'(0) > 0$. The *strong* form,
# $|\varphi'(t)| \le c_2 |\varphi'(0)|$, also refuses steps that overshoot to where $f$ rises
# steeply; $c_2 = 0.9$ is the usual value for quasi-Newton methods.
#
# An example where it matters: Himmelblau's function from $(0, -1)$ along the steepest
# descent direction $d = -\nabla f = (12, 0)$, a line on which $f$ is concave at first.

# %%
xh, dh = np.array([0.0, -1.0]), np.array([12.0, 0.0])
tried = search(himmel, xh, dh)
t_bt = tried[-1]
s = t_bt * dh
y = ag.grad(himmel)(xh + s) - ag.grad(himmel)(xh)
print(f"backtracking tries {tried} and accepts t = {t_bt}: f {himmel(xh):.4g} -> "
      f"{himmel(xh + s):.4g}")
print(f"but s.y = {np.dot(s, y):.4g}: slope {np.dot(ag.grad(himmel)(xh), dh):.4g} at t = 0, "
      f"{np.dot(ag.grad(himmel)(xh + s), dh):.4g} at t = {t_bt}")

# %% [markdown]
# $f$ fell tenfold, yet along the line the slope got steeper, and $s^\top y < 0$: no positive
# definite matrix maps this $y$ to this $s$. The BFGS update with this pair would lose
# positive definiteness; torch's L-BFGS simply skips pairs with $s^\top y \le 10^{-10}$.

# %%
q3

# %%
def strong_wolfe(f, x, d, t, c1=1e-4, c2=0.9):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 11.3: return Armijo's test and the curvature test")
    fx, g = ag.value_and_grad(f)(x)
    ft, gt = ag.value_and_grad(f)(x + t * d)
    slope, slope_t = np.dot(g, d), np.dot(gt, d)
    return bool(ft <= fx + c1 * t * slope and abs(slope_t) <= c2 * abs(slope))
    # END SOLUTION


q3.check(strong_wolfe)

# %% [markdown]
# $\varphi(t) = f(x + t d)$ on that line, with the steps each test accepts (your functions,
# on a grid of $t$):

# %%
wolfe = q3.use(strong_wolfe)
ts = np.linspace(0.002, 0.5, 250)
phi = np.array([himmel(xh + t * dh) for t in ts])
passes_armijo = np.array([bool(sufficient(himmel, xh, dh, t)) for t in ts])
passes_wolfe = np.array([bool(wolfe(himmel, xh, dh, t)) for t in ts])
negative_sy = np.array([np.dot(t * dh, ag.grad(himmel)(xh + t * dh) - ag.grad(himmel)(xh)) <= 0
                        for t in ts])
print(f"Armijo accepts t <= {ts[passes_armijo].max():.3f}; strong Wolfe accepts "
      f"{ts[passes_wolfe].min():.3f} <= t <= {ts[passes_wolfe].max():.3f}; "
      f"s.y <= 0 for t <= {ts[negative_sy].max():.3f}; phi is lowest at t = "
      f"{ts[np.argmin(phi)]:.3f}")

fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(ts, phi, color="k", label=r"$\varphi(t) = f(x + t d)$")
ax.plot(ts, himmel(xh) + 1e-4 * ts * np.dot(-dh, dh), "--", color="0.4",
        label=r"Armijo's line $f(x) + c_1 t \varphi'(0)$")
strips = ((passes_armijo, "#56B4E9", "Armijo holds"),
          (passes_wolfe, "#009E73", "strong Wolfe holds"),
          (negative_sy, "#D55E00", r"$s^\top y \leq 0$"))
for row, (mask, color, label) in enumerate(strips):      # one strip each, at the top
    top = 1 - 0.07 * row
    ax.fill_between(ts, top - 0.06, top, where=mask, transform=ax.get_xaxis_transform(),
                    color=color, lw=0)
    ax.text(0.502, top - 0.03, label, transform=ax.get_xaxis_transform(), va="center",
            fontsize=8)
ax.plot(t_bt, himmel(xh + t_bt * dh), "x", color="#CC79A7", ms=10, mew=2,
        label=f"backtracking accepts t = {t_bt:g} (after 1, 0.5)")
ax.set(xlim=(0, 0.5), ylim=(0, 330), xlabel="step t", ylabel="f",
       title="Himmelblau from (0, -1) along d = (12, 0)")
ax.legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()

# %% [markdown]
# Backtracking's accepted $t = 0.25$ lies where $s^\top y \le 0$; the strong Wolfe steps sit
# around the minimum of $\varphi$ (at $t \approx 0.29$), where the slope has flattened. A
# Wolfe line search therefore does more than backtrack: when a step is too short for the
# curvature condition, it tries a longer one, and it interpolates between trials to find an
# acceptable step in a few evaluations (torch's uses cubic interpolation).
#
# ## 4. What one `step()` of torch's L-BFGS does
#
# `torch.optim.LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
# tolerance_change=1e-9, history_size=100, line_search_fn=None)`. One call
# `optimizer.step(closure)` runs up to `max_iter` = 20 *inner* quasi-Newton iterations. Each
# takes the direction $d = -H \nabla f$ from the last `history_size` = 100 pairs $(s, y)$
# (skipping pairs with $s^\top y \le 10^{-10}$), then:
#
# - **without a line search** (the default): moves to $x + t d$ with $t$ = `lr` (the run's
#   very first iteration uses $t = \min(1, 1/\|\nabla f\|_1) \cdot$ `lr`), and evaluates $f$
#   and its gradient there once, whatever the value (the last iteration of a `step()` leaves
#   that evaluation to the next `step()`, which starts with one);
# - **with `line_search_fn="strong_wolfe"`**: searches along $d$, from the same first $t$, for
#   a step satisfying the strong Wolfe conditions ($c_1 = 10^{-4}$, $c_2 = 0.9$).
#
# The step ends after `max_iter` iterations, once `max_eval` evaluations are spent (by default
# `max_iter * 5 // 4` = 25), or earlier: when $\max_i |\partial f / \partial x_i| \le$
# `tolerance_grad`, or when the directional derivative $\nabla f^\top d$, the change of $f$
# or the step $\max_i |t d_i|$ falls below `tolerance_change` (in size). `run()` counts every
# evaluation: `t.evaluations_at[k]` is how many had been made when point $k$ was recorded,
# so `np.diff(t.evaluations_at)` is the cost of each step. Four runs from $(-1.2, 1)$: torch's
# defaults, the same with the line search, and one inner iteration per `step()`
# (`max_iter=1`) without and with it.

# %%
lbfgs = {
    "default (20 iterations per step)": run(rosenbrock, x0, "lbfgs", steps=10, progress=False),
    "strong Wolfe (20 per step)": run(rosenbrock, x0, "lbfgs", steps=10, progress=False,
                                      line_search_fn="strong_wolfe"),
    "1 iteration per step": run(rosenbrock, x0, "lbfgs", steps=100, max_iter=1,
                                progress=False),
    "1 per step, strong Wolfe": run(rosenbrock, x0, "lbfgs", steps=100, max_iter=1,
                                    max_eval=25, line_search_fn="strong_wolfe",
                                    progress=False),
}
for name, t in lbfgs.items():
    reached = np.flatnonzero(t.values <= 1e-8)
    where = (f"f <= 1e-8 at step {reached[0]}, after {t.evaluations_at[reached[0]]} "
             f"evaluations" if len(reached) else "f never <= 1e-8")
    print(f"{name:33} evaluations per step {np.diff(t.evaluations_at)[:6]}...  {where}")
table(lbfgs)

# %% [markdown]
# - By default, one `step()` costs 20 evaluations: twenty quasi-Newton iterations with a
#   fixed step. With the line search, its first `step()` stops at the 25 evaluations of
#   `max_eval`.
# - Both 20-iteration runs reach $f \le 10^{-8}$ within four calls of `step()`, then stop
#   moving: each later `step()` evaluates $f$ once and ends without a move, because the
#   directional derivative $\nabla f^\top d$ is above $-$`tolerance_change` $= -10^{-9}$.
#   To go further, pass `tolerance_change=0, tolerance_grad=0`.
# - Counted in steps, the 20-iteration runs look about 15 times faster than the others;
#   counted in evaluations of $f$ (what costs time on a real problem), the four runs need
#   between 45 and 77 to reach $f \le 10^{-8}$:

# %%
fig, (by_step, by_eval) = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
looks = zip([COLORS[i] for i in (4, 0, 5, 2)], ("o-", "s--", "-.", ":"))
for (name, t), (color, style) in zip(lbfgs.items(), looks):   # Okabe-Ito, and a line style
    values = np.maximum(t.values, 1e-16)
    by_step.semilogy(values, style, color=color, ms=3, label=name)
    by_eval.semilogy(t.evaluations_at, values, style, color=color, ms=3, label=name)
by_step.set(xlabel="step (calls of optimizer.step)", ylabel="f", title="f against steps")
by_eval.set(xlabel="evaluations of f and its gradient", title="f against evaluations")
by_eval.legend(fontsize=8)
plt.show()

# %% [markdown]
# With one iteration per recorded step, each step is one quasi-Newton pair, so the
# trajectory shows $s^\top y$ for every pair, and whether $f$ went up:

# %%
for name in ("1 iteration per step", "1 per step, strong Wolfe"):
    t = lbfgs[name]
    n = int(np.argmax(t.values <= 1e-8))                 # the steps before f <= 1e-8
    sy = np.sum(np.diff(t.points, axis=0)[:n] * np.diff(t.grads, axis=0)[:n], axis=1)
    print(f"{name:25}: in its first {n} steps, s.y <= 1e-10 (a pair skipped) "
          f"{np.sum(sy <= 1e-10)} times, f went up {np.sum(np.diff(t.values[:n + 1]) > 0)} times")

# %% [markdown]
# Without the line search nothing stops L-BFGS from stepping uphill, and a pair with
# $s^\top y \le 10^{-10}$ teaches it nothing; with the strong Wolfe search, $f$ decreases at
# every step and every pair is used. Beware one trap: with `max_iter=1`, torch's default
# `max_eval` is `1 * 5 // 4 = 1`, which leaves the line search no evaluation at all, and
# L-BFGS never moves:

# %%
stuck = run(rosenbrock, x0, "lbfgs", steps=20, max_iter=1, line_search_fn="strong_wolfe",
            progress=False)
print(f"max_iter=1 without max_eval: f = {stuck.values[0]:.4g} -> {stuck.value:.4g} after "
      f"{stuck.steps} steps ({stuck.evaluations} evaluations)")

# %% [markdown]
# (`optilab.cities.solve("lbfgs")` passes `max_eval=25` for this reason.)
#
# ## 5. The city map in closed form: classical MDS
#
# Notebook 6 drew the map of 36 cities by minimising the S-stress from a random start. There
# is a closed form, *classical multidimensional scaling* (Torgerson, 1952). If centred points
# $x_i$ have the distances $d_{ij}$, their Gram matrix $B = X X^\top$ (entries
# $b_{ij} = x_i^\top x_j$) follows from $d_{ij}^2 = b_{ii} + b_{jj} - 2 b_{ij}$ by removing the
# row and column means, *double centring*:
#
# $$B = -\tfrac12\, J D^{(2)} J, \qquad J = I - \tfrac1n \mathbf 1 \mathbf 1^\top,
# \qquad D^{(2)}_{ij} = d_{ij}^2 .$$
#
# $B$ is symmetric; with its eigenvalues $\lambda_1 \ge \lambda_2 \ge \dots$ and unit
# eigenvectors $v_k$, the map $X = (\sqrt{\lambda_1}\, v_1, \sqrt{\lambda_2}\, v_2)$ has
# $X X^\top$ as close to $B$ as the Gram matrix of a flat map can be (Eckart and Young). For
# points of a plane it is exact, up to an isometry.

# %%
q4

# %%
def classical_mds(D):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 11.4: return the (n, 2) map of classical MDS")
    n = len(D)
    J = np.eye(n) - np.ones((n, n)) / n        # removes the means
    B = -J @ (D ** 2) @ J / 2                  # the Gram matrix X X^T of a centred map
    w, V = np.linalg.eigh(B)                   # eigenvalues in ascending order
    top = [-1, -2]                             # the two largest
    return V[:, top] * np.sqrt(w[top])
    # END SOLUTION


q4.check(classical_mds)

# %% [markdown]
# Our distances are measured along the curved Earth, so no flat map has them exactly. The
# spectrum of $B$ says how far from flat they are:

# %%
mds = q4.use(classical_mds)
cities = load_cities()
n = len(cities)
J = np.eye(n) - np.ones((n, n)) / n
spectrum = np.linalg.eigvalsh(-J @ cities.distances ** 2 @ J / 2)[::-1]
print("largest eigenvalues of B (km^2):", np.array2string(spectrum[:4], precision=3))
print("smallest:", np.array2string(spectrum[-2:], precision=3))
print(f"third / second: {spectrum[2] / spectrum[1]:.2%}, smallest / second: "
      f"{spectrum[-1] / spectrum[1]:.2%}")

# %% [markdown]
# Two eigenvalues dominate: the map is nearly flat. The third, 0.6% of the second, is the
# bulge of the Earth under Europe (points on a sphere need three coordinates). And $B$ has
# negative eigenvalues, the smallest about 1% of the second in size. A Gram matrix has none,
# so no set of points, in any dimension, has exactly these distances: distances measured
# along a curved surface are not straight-line distances. The map from the two largest
# eigenvalues, in normalised units as in notebook 6:

# %%
D = normalise(cities.distances)
X_mds = np.asarray(mds(D), dtype=float)
errors = distance_errors_km(X_mds)
print(f"S-stress f(X_mds) = {float(stress(X_mds.ravel(), D)):.4g}")
print(f"distance errors: median {np.median(errors):.2f} km, max {errors.max():.1f} km")
plot_map(X_mds, title="classical MDS: no iterations")

# %% [markdown]
# The closed form, one eigen-decomposition, is already a map whose distances are off by
# 1.4 km in the median. Is it the best map for the S-stress of notebook 6? No: its S-stress,
# $2.2 \cdot 10^{-8}$, is 78% above the floor $f^* \approx 1.24 \cdot 10^{-8}$, because the
# two criteria differ (classical MDS fits $B$, the S-stress fits the squared distances).
# From that start, L-BFGS (`solve("lbfgs")`: strong Wolfe line search, one iteration per
# step), against the random start of notebook 6:

# %%
from_mds = solve("lbfgs", x0=X_mds, progress=False)
from_random = solve("lbfgs", seed=0, progress=False)
f_star = min(from_mds.value, from_random.value)
for name, t in (("from classical MDS", from_mds), ("from random_start(36, 0)", from_random)):
    k = int(np.argmax(t.values <= 1.01 * f_star))
    print(f"{name:25}: f = {t.values[0]:.4g} -> {t.value:.6g}; within 1% of f* after {k} "
          f"iterations ({t.evaluations_at[k]} evaluations), {t.status} after {t.steps}")
for name, X in (("classical MDS", X_mds), ("L-BFGS on the S-stress", from_mds)):
    e, p = distance_errors_km(X), map_errors_km(X)
    print(f"{name:23}: distance errors median {np.median(e):.2f} km, max {e.max():.1f} km, "
          f"rms {np.sqrt(np.mean(e ** 2)):.2f} km; position errors median {np.median(p):.2f} "
          f"km, max {p.max():.1f} km")

# %% [markdown]
# - Started from classical MDS, L-BFGS is within 1% of the S-stress floor $f^*$ after three
#   iterations, where the random start needs about thirty; reaching the gradient tolerance
#   (`gtol` = $10^{-9}$) then takes about as many iterations from either start.
# - The S-stress minimum is not better in every respect: it cuts the largest distance error
#   (30 km instead of 37), the root-mean-square error and the position errors, but its
#   median distance error is larger than the closed form's (1.7 km instead of 1.4).
#   The S-stress weighs long distances most (it compares squared distances), classical MDS
#   fits the Gram matrix. Which map is "right" depends on the criterion; both are
#   flattenings of a curved surface.
#
# ## What to remember
#
# - A line search picks the step along a direction: Armijo's condition asks for a real
#   decrease, and backtracking finds such a step for any descent direction.
# - Quasi-Newton methods also need $s^\top y > 0$, which the Wolfe curvature condition
#   guarantees and Armijo's does not.
# - torch's L-BFGS runs 20 inner iterations per `step()`, without a line search unless
#   `line_search_fn="strong_wolfe"`: compare optimisers by evaluations of $f$, not steps.
# - Classical MDS draws the map in closed form; it is exact for flat data and an excellent
#   start for an iterative method when the data are not.
