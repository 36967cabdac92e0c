# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 9. The quadratic model
#
# Near a minimum every smooth function looks like a bowl, its quadratic model (notebook 8). On
# a bowl, the speed of gradient descent is not a matter of trying: it is a number you can
# compute before you run, and every run follows it. This notebook builds a bowl 1000 times
# steeper one way than the other and computes, then measures:
#
# 1. the condition number $\kappa$, and gradient descent's best fixed step and its rate;
# 2. how many steps a rate costs;
# 3. momentum as torch computes it, and its rate, from a 2x2 matrix;
# 4. the tuned heavy ball and Nesterov, each run against its theoretical rate on one log plot;
# 5. the region of the (learning rate, momentum) plane where momentum converges.

# %%
import math

import numpy as np

from optilab.exercises.nb09_quadratic import q1, q2, q3, q4
from optilab.optim import run
from optilab.plot import plot_momentum_region, plot_rates, plot_trajectories
from optilab.quadratic import Quadratic, optimal, rate

# %% [markdown]
# ## 1. A bowl with a chosen spectrum
#
# $f(x) = \frac12 x^\top A x$ with $A = Q \,\mathrm{diag}(1, 1000)\, Q^\top$, where $Q$ turns
# the axes by 30 degrees: the Hessian is $A$ everywhere, its eigenvalues (the curvatures along
# its eigenvectors) are $\mu = 1$ and $L = 1000$, and the minimum is $x^* = 0$. The
# *condition number* $\kappa = L / \mu = 1000$ says how stretched the bowl is.
# `Quadratic` makes such a bowl; it is a function of one point, ready for `run`.

# %%
q = Quadratic([1.0, 1000.0], angle=30)
x0 = np.array([1.0, 0.0])                       # |x0 - x*| = 1
print("A =\n", q.A.round(2))
print("eigenvalues:", np.linalg.eigvalsh(q.A).round(6), " kappa =", round(q.kappa))

# %% [markdown]
# The gradient is $\nabla f(x) = A x$, so a gradient step maps the error $e = x - x^*$ to
# $(I - \eta A)\, e$. Along an eigenvector with eigenvalue $\lambda$ the error is multiplied by
# $1 - \eta\lambda$ at every step, independently of the other directions. The run converges
# when every $|1 - \eta\lambda| < 1$ (that is $\eta < 2/L$, notebook 5), and it is as slow as
# its slowest direction: the error shrinks like $\rho^k$ with the *rate*
# $\rho = \max_\lambda |1 - \eta\lambda|$.
#
# ## 2. Gradient descent's best fixed step

# %%
q1

# %%
def best_step(mu, L):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 9.1: return (lr, rate) of the best fixed step")
    lr = 2 / (mu + L)
    return lr, 1 - lr * mu
    # END SOLUTION


q1.check(best_step)

# %% [markdown]
# At the best step the flat direction shrinks by $1 - \eta\mu$ and the steep one flips sign
# and shrinks by the same amount: every component of the error is multiplied by $\pm\rho$, so
# $|x_k - x^*| = \rho^k |x_0 - x^*|$ exactly. With $\rho = 0.998$ that is slow: the first 40
# steps bounce from one wall of the valley to the other, and have barely moved.

# %%
lr_gd, rate_gd = q1.use(best_step)(q.mu, q.L)
q1.print(f"best step {lr_gd:.6g}, rate {rate_gd:.6f}; "
         f"optilab.quadratic.rate says {rate(q.eigenvalues, lr_gd):.6f}")
start = run(q, x0, "sgd", lr=lr_gd, steps=40, progress=False)
plot_trajectories(q.test_function(x_range=(-1.1, 1.1), y_range=(-1.1, 1.1)),
                  {"gradient descent": start}, title="the 1000:1 bowl, 40 steps at the best lr")

# %% [markdown]
# ## 3. What a rate costs

# %%
q2

# %%
def steps_needed(rate, tol):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 9.2: the first k with rate ** k <= tol")
    return math.ceil(math.log(tol) / math.log(rate))
    # END SOLUTION


q2.check(steps_needed)

# %% [markdown]
# Now the run: gradient descent at its best step until the error is $10^{-7}$ of the start's.
# (Plain gradient descent is the same update on either engine; these thousands of tiny steps
# run on our own engine, `engine="optilab"`, which does them several times faster than torch.)

# %%
steps_for = q2.use(steps_needed)
TOL = 1e-7
gd = run(q, x0, "sgd", lr=lr_gd, steps=8100, engine="optilab", progress=False, label="GD")
error_gd = q.error(gd.points)
print(f"measured: the error first falls below {TOL:g} at step {np.argmax(error_gd <= TOL):,}")
q2.print(f"predicted by the rate: {steps_for(rate_gd, TOL):,} steps")
q1.print(f"per step the error shrinks by {error_gd[5001] / error_gd[5000]:.6f}, "
         f"{error_gd[8000] / error_gd[7999]:.6f}, ...: the rate, at every step")

# %% [markdown]
# 8,060 steps, as predicted: each decimal digit costs $\ln 10 / -\ln\rho \approx 1151$ steps,
# and the rate $(\kappa - 1)/(\kappa + 1) \approx 1 - 2/\kappa$ makes the cost grow in
# proportion to $\kappa$. The textbook step $1/L$ is twice as slow: its rate is
# $1 - 1/\kappa = 0.999$, 16,111 steps.
#
# ## 4. Momentum, as torch computes it
#
# `torch.optim.SGD(params, lr, momentum=beta)` keeps a velocity $v$ (equal to the first
# gradient at the first step):
#
# $$v \leftarrow \beta v + \nabla f(x), \qquad x \leftarrow x - \eta v.$$
#
# Since $x_k - x_{k-1} = -\eta v_k$, this is Polyak's *heavy ball* with step $\eta$ and
# momentum $\beta$:
#
# $$x_{k+1} = x_k - \eta \nabla f(x_k) + \beta (x_k - x_{k-1}).$$
#
# (Some texts write $v \leftarrow \beta v - \eta \nabla f$, $x \leftarrow x + v$: with a
# constant $\eta$ the points are the same; only $v$ is scaled by $-\eta$.) Along an
# eigenvector, the pair $(e_{k+1}, e_k)$ is the pair $(e_k, e_{k-1})$ times
# $M = \begin{pmatrix} 1 + \beta - \eta\lambda & -\beta \\ 1 & 0 \end{pmatrix}$, and the error
# shrinks like $\rho(M)^k$, the spectral radius: the largest modulus of $M$'s eigenvalues.

# %%
q3

# %%
def momentum_rate(lr, beta, eigenvalues):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 9.3: the largest spectral radius of M over the eigenvalues")
    radii = []
    for lam in eigenvalues:
        M = np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])
        radii.append(np.abs(np.linalg.eigvals(M)).max())
    return max(radii)
    # END SOLUTION


q3.check(momentum_rate)

# %% [markdown]
# A common default, $\beta = 0.9$, with the step $0.002$: that is $2/L$, where gradient descent
# stops converging, but momentum moves the limit to $2(1 + \beta)/L = 0.0038$. Its rate is
# already much better than the best gradient descent's:

# %%
spectral_radius = q3.use(momentum_rate)
q3.print(f"beta = 0.9, lr = 0.002: rate {spectral_radius(0.002, 0.9, q.eigenvalues):.6f}")
print(f"optilab.quadratic.rate:    rate {rate(q.eigenvalues, 0.002, 0.9):.6f}")

# %% [markdown]
# ## 5. The tuned heavy ball, and Nesterov

# %%
q4

# %%
def heavy_ball_tuning(mu, L):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 9.4: return (lr, beta, rate) of the tuned heavy ball")
    root = math.sqrt(L / mu)
    r = (root - 1) / (root + 1)
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, r ** 2, r
    # END SOLUTION


q4.check(heavy_ball_tuning)

# %% [markdown]
# Nesterov's method, `nesterov=True` in torch, updates $v$ the same way and then steps along
# $\nabla f(x) + \beta v$: along an eigenvector its matrix is
# $\begin{pmatrix} (1 + \beta)(1 - \eta\lambda) & -\beta(1 - \eta\lambda) \\ 1 & 0
# \end{pmatrix}$. Its best tuning on a quadratic (Lessard, Recht and Packard, 2016) is
# $\eta = 4/(3L + \mu)$, $\beta = (\sqrt{3\kappa + 1} - 2)/(\sqrt{3\kappa + 1} + 2)$, with the
# rate $1 - 2/\sqrt{3\kappa + 1}$: between gradient descent and the heavy ball on a quadratic.
# (Nesterov's method has guarantees for every smooth convex function; the heavy ball with
# Polyak's tuning can fail to converge on some that are not quadratic.)
# `optilab.quadratic.optimal` gives the three tunings; the three runs:

# %%
lr_hb, beta_hb, rate_hb = q4.use(heavy_ball_tuning)(q.mu, q.L)
nesterov = optimal(q.mu, q.L, "nesterov")
hb = run(q, x0, "sgd", lr=lr_hb, momentum=beta_hb, steps=500, progress=False,
         label="heavy ball")
nag = run(q, x0, "sgd", steps=600, progress=False, label="Nesterov", **nesterov.kwargs)
runs = {"GD": gd, "heavy ball": hb, "Nesterov": nag}
q4.print(f"heavy ball: lr = {lr_hb:.6g}, beta = {beta_hb:.6g}, rate {rate_hb:.6f}")
print(f"Nesterov:   lr = {nesterov.lr:.6g}, beta = {nesterov.momentum:.6g}, "
      f"rate {nesterov.rate:.6f}")
print(f"\nsteps until |x_k - x*| <= {TOL:g}:")
for name, t in runs.items():
    r = rate(q.eigenvalues, t.settings["lr"], t.settings.get("momentum", 0.0),
             nesterov=bool(t.settings.get("nesterov")))
    line = (f"  {name:>10}: {np.argmax(q.error(t.points) <= TOL):5,} measured, "
            f"{math.ceil(math.log(TOL) / math.log(r)):5,} from the rate {r:.6f} alone")
    (q4.print if name == "heavy ball" else print)(line)

# %% [markdown]
# The measured error of each run (solid) against the line $|x_0 - x^*|\,\rho^k$ of its rate
# (dashed):

# %%
plot_rates(runs, q, tol=TOL, title="1000:1 bowl: measured error and theoretical rate")

# %% [markdown]
# The heavy ball needs 347 steps instead of 8,060, 23 times fewer: its rate has
# $\sqrt\kappa$ where gradient descent's has $\kappa$. Its line is parallel to the theory
# but above it, and it reaches the tolerance about 90 steps later than $\rho^k$ alone
# predicts. At the tuned $(\eta, \beta)$ the matrices $M$ of the two extreme eigenvalues have
# a double eigenvalue, and then the error behaves like $k\,\rho^k$, not $\rho^k$:

# %%
errors_hb = q.error(hb.points)
print("heavy ball, |x_k - x*| / rate^k:",
      ", ".join(f"k = {k}: {errors_hb[k] / rate_hb ** k:.1f}" for k in (100, 200, 300, 400)))

# %% [markdown]
# The ratio grows in proportion to $k$: the rate is right, the constant in front grows
# slowly. Nesterov shows a milder version of the same (its tuning also puts a double
# eigenvalue at one end of the spectrum).
#
# ## 6. Where momentum converges
#
# Every point of the $(\eta, \beta)$ plane has a rate, the largest spectral radius of $M$ over
# the two eigenvalues. The picture colours it (yellow: fast; dark: $\rho$ close to 1; grey:
# $\rho \ge 1$, no convergence) and marks the runs. The black edge is the line
# $\eta = 2(1 + \beta)/L$; gradient descent lives on the bottom line $\beta = 0$.

# %%
plot_momentum_region(q, {"GD, best step": gd, "heavy ball, tuned": hb,
                         "lr = 0.002, beta = 0.9": (0.002, 0.9)})

# %% [markdown]
# The tuned heavy ball sits in a narrow bright band, right against the edge: its step is 0.1%
# below the limit $2(1 + \beta)/L$, and 1% more diverges.

# %%
edge = 2 * (1 + beta_hb) / q.L
q4.print(f"edge {edge:.6g}, tuned lr {lr_hb:.6g} ({100 * (1 - lr_hb / edge):.2f}% below)")
q4.print(f"rate at 1.01 lr: {rate(q.eigenvalues, 1.01 * lr_hb, beta_hb):.4f} (> 1: diverges)")

# %% [markdown]
# Nesterov's plane has another shape: its edge is $\eta < 2(1 + \beta)/((1 + 2\beta) L)$,
# never beyond $2/L$.

# %%
plot_momentum_region(q, {"Nesterov, tuned": nag}, nesterov=True)

# %% [markdown]
# ## What to take away
#
# * On a quadratic, a gradient method is a linear iteration, and its rate is a spectral radius
#   that you can compute from the eigenvalues: gradient descent $(\kappa - 1)/(\kappa + 1)$,
#   the tuned heavy ball $(\sqrt\kappa - 1)/(\sqrt\kappa + 1)$.
# * The cost in steps is $\ln(1/\text{tol}) / -\ln\rho$: proportional to $\kappa$ for gradient
#   descent, to $\sqrt\kappa$ with momentum; here 8,060 against 347 steps.
# * The best momentum settings sit at the edge of divergence, and they assume you know $\mu$
#   and $L$; on a real problem the curvature changes from place to place (notebook 5), which
#   is why $\beta = 0.9$ with a tuned learning rate is the common, safer default.
