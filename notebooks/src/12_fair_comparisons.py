# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 12. Fair comparisons: learning-rate sweeps
#
# "Adam beats SGD" or "SGD beats Adam": such claims often rest on one optimizer whose
# learning rate was tuned and others run at their defaults. A fair comparison gives every
# optimizer the same chance: the same grid of learning rates, the same start, the same number
# of steps, and then compares each at its *own* best rate, by a criterion stated in advance.
#
# `optilab.sweep.sweep` does that. It runs every optimizer over a log grid of learning rates
# (and over seeds when f is random), keeps every run, and reports each one's best rate, what a
# run there cost (evaluations of f and of its gradient, seconds) and how many rates diverged.
# Every run is the same, bit for bit, as `optilab.optim.run` with those settings; the sweep
# is fast because it stacks the runs of one optimizer into one tensor.

# %%
# %matplotlib inline
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from optilab.exercises.nb12_comparisons import q1, q2, q3
from optilab.functions import rosenbrock
from optilab.optim import run
from optilab.sweep import load, log_grid, sweep

# %% [markdown]
# ## 1. An unfair comparison
#
# Someone tunes plain gradient descent on Rosenbrock's function from $(-1.2, 1)$ by trying
# three rates, and runs Adam at torch's default, `lr=1e-3`:

# %%
x0 = [-1.2, 1.0]
for lr in (1e-4, 1e-3, 2e-3):
    print(f"SGD  lr = {lr:g}: f = {run(rosenbrock, x0, 'sgd', lr=lr, steps=500).value:.4g}")
print(f"Adam lr = 0.001 (default): f = {run(rosenbrock, x0, 'adam', steps=500).value:.4g}")

# %% [markdown]
# After 500 steps the tuned SGD is lower than the untuned Adam: Adam's default moves each
# coordinate by at most about $10^{-3}$ per step (0.5 in 500 steps), too little to follow the
# valley from $x = -1.2$ to $1$. That says more about the tuning than about the methods.
#
# ## 2. The sweep: every optimizer, every rate
#
# Seven settings, 25 rates from $10^{-5}$ to $10$ (four per factor of ten), 500 steps each:
# 175 runs. The criterion, chosen before looking, is the final value $f(x_{500})$; a run that
# diverged is never the best.

# %%
configs = {
    "SGD": dict(optimizer="sgd"),
    "momentum": dict(optimizer="sgd", momentum=0.9),
    "Nesterov": dict(optimizer="sgd", momentum=0.9, nesterov=True),
    "Adam": dict(optimizer="adam"),
    "RMSprop": dict(optimizer="rmsprop"),
    "Adagrad": dict(optimizer="adagrad"),
    "Adadelta": dict(optimizer="adadelta"),
}
s = sweep(rosenbrock, x0, configs, lrs=log_grid(1e-5, 10, 25), steps=500)
s

# %% [markdown]
# At its own best rate Adam ends far below the tuned SGD; heavy-ball momentum ends lowest of
# all. The column "lrs diverged" tells the other half of the story: the SGD family blows up
# at about half of the grid, the adaptive methods at none of it (each divides the gradient by
# a running measure of its size, which keeps a step bounded where the gradient is large).
#
# ## 3. Sensitivity curves
#
# Final $f$ against the learning rate, for each optimizer. A cross on the top edge is a rate
# at which the run diverged; the large marker is the best rate. A wide, low valley is an
# optimizer that forgives a badly chosen rate; a narrow one must be tuned.

# %%
s.plot_sensitivity()

# %% [markdown]
# **Exercise 12.1.** The sweep's `best` is an argmin with two rules: a diverged run is never
# chosen, and ties go to the smaller rate. Write it yourself.

# %%
q1

# %%
def best_lr(lrs, finals):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 12.1: the lr with the lowest final f (never a NaN)")
    scores = np.where(np.isfinite(finals), finals, np.inf)   # a diverged run: the worst
    return lrs[np.argmin(scores)]                             # ties: the first, the smaller
    # END SOLUTION


q1.check(best_lr)

# %% [markdown]
# Applied to the sweep (its scores are an array `(rates, seeds)`; here one seed), your
# function should name the sweep's own choices:

# %%
best_lr = q1.use(best_lr)
finals = {label: score[:, 0] for label, score in s.scores("final").items()}
for label, f in finals.items():
    print(f"{label:9s} best lr {best_lr(s.lrs, f):.3g}   (the sweep: {s.best[label].lr:.3g})")

# %% [markdown]
# **Exercise 12.2.** How wide is each valley? Count it in decades: from the smallest to the
# largest rate whose run ended with $f \le$ `tol`.

# %%
q2

# %%
def good_decades(lrs, finals, tol):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 12.2: log10(largest good lr / smallest good lr)")
    good = lrs[np.nan_to_num(finals, nan=np.inf) <= tol]
    return float(np.log10(good.max() / good.min())) if good.size else 0.0
    # END SOLUTION


q2.check(good_decades)

# %%
good_decades = q2.use(good_decades)
for label, f in finals.items():
    print(f"{label:9s} f <= 1e-2 over {good_decades(s.lrs, f, 1e-2):.2f} decades of lr")

# %% [markdown]
# With this budget of 500 steps only momentum, Nesterov, Adam and Adagrad get below
# $10^{-2}$ at all, and Adam does so over the widest range of rates: the best final value and
# the most forgiving optimizer are not the same one.
#
# ## 4. The criterion matters
#
# "Best" depends on the question. The area under the loss curve (the mean of $f$ over the
# steps) rewards a fast start; the final value rewards where a run ends. The same runs, read
# with the other criterion:

# %%
by_area = {label: float(s.lrs[np.argmin(np.median(v, axis=1))])
           for label, v in s.scores("auc").items()}
for label in configs:
    print(f"{label:9s} best lr by final f {s.best[label].lr:.3g}, by area {by_area[label]:.3g}")

# %% [markdown]
# ## 5. The race at each optimizer's own best rate
#
# Only now is a race fair: each optimizer at the rate the sweep chose for it.

# %%
s.plot_race()

# %% [markdown]
# ## 6. Steps, evaluations and seconds
#
# A step is not a unit of cost. L-BFGS calls f many times per step (inner iterations, up to
# 25 evaluations), so in steps it looks better than it is. The Trajectory counts every
# evaluation: `t.evaluations_at[k]` is how many had been made when point k was recorded.

# %%
lbfgs = run(rosenbrock, x0, "lbfgs", lr=1.0, steps=30)
print(lbfgs.summary())
print("evaluations per step:", np.diff(lbfgs.evaluations_at)[:10], "...")

# %% [markdown]
# **Exercise 12.3.** Write `evaluations_to(t, target)`: the evaluations of f a run had made
# when f first reached `target`.

# %%
q3

# %%
def evaluations_to(t, target):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 12.3: t.evaluations_at at the first f <= target")
    hits = np.flatnonzero(t.values <= target)
    return t.evaluations_at[hits[0]] if hits.size else math.inf
    # END SOLUTION


q3.check(evaluations_to)

# %%
evaluations_to = q3.use(evaluations_to)
races = {**s.best_runs(), "L-BFGS (lr=1)": lbfgs}
for label, t in races.items():
    k = np.flatnonzero(t.values <= 1e-3)
    steps = f"step {k[0]}" if k.size else "never"
    print(f"{label:24s} f <= 1e-3 after {evaluations_to(t, 1e-3)} evaluations of f ({steps})")

# %% [markdown]
# The same runs against evaluations of f and against seconds (the best runs of the sweep;
# a batched run's seconds are its share of the batch's clock):

# %%
s.plot_cost()

# %% [markdown]
# ## 7. A random f: sweep over seeds too
#
# When f is random (a minibatch, noise in the gradient), one run per rate is one sample. A
# sweep over seeds runs each rate several times, each from `torch.manual_seed(seed)`, and
# scores a rate by the median over its seeds; the picture shows the range over seeds as a
# band. Here Rosenbrock with noise added to its gradient: $f + 2(\xi_1 x + \xi_2 y)$ with fresh
# standard normal $\xi_1, \xi_2$ at every call.

# %%
def noisy_rosenbrock(x, y):
    return rosenbrock(x, y) + 2.0 * (torch.randn(()) * x + torch.randn(()) * y)


noisy = sweep(noisy_rosenbrock, x0, {"SGD": dict(optimizer="sgd"), "Adam": {}},
              lrs=log_grid(1e-4, 1, 9), seeds=range(3), steps=150)
noisy

# %%
noisy.plot_sensitivity()

# %% [markdown]
# A random f runs one by one (each run draws its own noise), so this sweep is slower per run;
# `sweep(..., n_jobs=2)` spreads the runs over two processes, and with a Dask cluster
# `sweep(..., client=client)` (or joblib's `parallel_config(backend="dask")`) runs them there,
# with the same numbers.
#
# ## 8. Reproducible
#
# The same call gives the same numbers, and a sweep keeps every setting and the versions it
# ran with. It saves to one `.npz` file (arrays, plus the settings as JSON; no pickle):

# %%
path = s.save(Path(tempfile.mkdtemp()) / "rosenbrock_sweep.npz")
again = load(path)
print(again.versions)
print({k: again.settings[k] for k in ("function", "steps", "criterion", "seeds")})
print("same table after loading:", again.markdown() == s.markdown())
