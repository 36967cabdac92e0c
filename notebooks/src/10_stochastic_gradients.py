# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 10. Stochastic gradients
#
# A loss fitted to data is an average over the samples, $f(w) = \frac1n \sum_{i=1}^n f_i(w)$,
# and so is its gradient: one exact gradient costs $n$ sample gradients. *Stochastic gradient
# descent* (SGD) steps along the gradient of a random **minibatch** $B$ of $b$ samples,
#
# $$w_{k+1} = w_k - \eta\, \nabla f_{B_k}(w_k), \qquad
#   f_B(w) = \frac1b \sum_{i \in B} f_i(w).$$
#
# Over the random choice of $B$, $\nabla f_B$ is right on average, $\mathbb{E}_B \nabla f_B(w) =
# \nabla f(w)$, at $b/n$ of the cost; the price is noise. In this notebook you measure that
# noise: the **noise floor** where SGD stalls with a constant learning rate and how it depends
# on $\eta$ and $b$, why the rate must decay to go below it (Robbins and Monro), and what a step
# and what an epoch cost. Then SGD draws the city map of notebook 6.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from optilab.cities import solve
from optilab.exercises.nb10_stochastic import q1, q2, q3, q4
from optilab.optim import run
from optilab.plot import plot_trajectories
from optilab.trajectory import table

# %% [markdown]
# ## 1. A data set and its loss
#
# Four thousand noisy measurements of a line, $y = 1 + 0.5\,x + \varepsilon$ with noise of
# standard deviation 0.5, made here with a seeded generator (the same numbers on every
# machine). A column of ones in `X` carries the intercept, so the model is $x_i^\top w$ with
# $w = (\text{intercept}, \text{slope})$ and the loss is least squares:
#
# $$f(w) = \frac{1}{2n} \sum_{i=1}^n (x_i^\top w - y_i)^2.$$

# %%
rng = np.random.default_rng(0)
n = 4000
x = rng.uniform(-2, 2, size=n)
y = 1.0 + 0.5 * x + 0.5 * rng.normal(size=n)
X = np.column_stack([np.ones(n), x])          # rows x_i = (1, x_i)


def loss(w, X, y):
    """The least-squares loss of the samples given (all of them, or one batch)."""
    return ((X @ w - y) ** 2).mean() / 2


w_star = np.linalg.lstsq(X, y, rcond=None)[0]  # the minimiser of f, exactly
f_star = loss(w_star, X, y)
H = X.T @ X / n                                # f's Hessian, the same everywhere
print(f"w* = {w_star.round(4)}, f* = {f_star:.4f}, "
      f"Hessian eigenvalues {np.linalg.eigvalsh(H).round(3)}")

# %% [markdown]
# $f^* \approx 0.126$, about half the noise variance $0.5^2$: the line cannot explain the noise.
# The loss is a quadratic with the constant Hessian $H = X^\top X / n$, so
# $f(w) = f^* + \frac12 (w - w^*)^\top H (w - w^*)$ exactly, which draws its contour map cheaply.
#
# The loss of a batch is the same formula on the batch's rows: `loss(w, X[rows], y[rows])`.

# %%
q1

# %%
def minibatch_grad(w, X, y):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 10.1: return the gradient of the batch's loss")
    return X.T @ (X @ w - y) / len(y)
    # END SOLUTION


q1.check(minibatch_grad)

# %% [markdown]
# At $w_0 = (-1, 2)$, the full gradient and the gradients of three batches of 10 samples:

# %%
batch_gradient = q1.use(minibatch_grad)
w0 = np.array([-1.0, 2.0])
print("full gradient:  ", batch_gradient(w0, X, y).round(3))
for rows in rng.choice(n, size=(3, 10), replace=False):
    print("batch of 10:    ", batch_gradient(w0, X[rows], y[rows]).round(3))

# %% [markdown]
# Each batch points roughly downhill, each differently. Far from the minimum the gradient is
# large and the noise matters little; near the minimum the gradient vanishes but the noise does
# not, which is the whole story of this notebook.
#
# ## 2. SGD through `run()`
#
# `run` takes the data and a batch size: `f` then receives the point and one batch of each
# array, `loss(w, X_batch, y_batch)`. Two thousand steps of 10 samples, from $w_0$, on our own
# engine (`engine="optilab"`: numpy underneath, quicker than torch for steps this small; the
# same call without it runs `torch.optim.SGD`):

# %%
sgd = run(loss, w0, "sgd", lr=0.1, steps=2000, data=(X, y), batch_size=10, engine="optilab",
          progress=False)
print(sgd.summary())


def full_loss(a, b):
    """f on all the data at w = (a, b), for arrays of points (from its quadratic form)."""
    da, db = a - w_star[0], b - w_star[1]
    return f_star + (H[0, 0] * da ** 2 + 2 * H[0, 1] * da * db + H[1, 1] * db ** 2) / 2


fig = plot_trajectories(full_loss, {"SGD, batches of 10": sgd}, x_range=(-1.5, 2.0),
                        y_range=(-0.5, 2.5), title="the path on the loss of all the data")
fig.axes[0].set(xlabel="intercept $w_1$", ylabel="slope $w_2$")
fig

# %% [markdown]
# The Trajectory of a minibatch run keeps two losses per point: `values`, the loss of the batch
# each step used (what SGD sees), and `full_values`, the loss on all $n$ samples (what we care
# about; `run` computes it at every point for one extra pass over the data, not counted in
# the run's evaluations or time). `samples_at` counts the samples used to get to each point and
# `epochs` the passes over the data:

# %%
print("samples used:", sgd.samples_at[:4], "... epochs at the end:", sgd.epochs[-1])
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.semilogy(sgd.epochs, sgd.values, lw=0.5, alpha=0.6, label="loss of the batch (values)")
ax.semilogy(sgd.epochs, sgd.full_values, lw=2, label="loss on all the data (full_values)")
ax.axhline(f_star, color="k", ls="--", lw=1, label="$f^*$")
ax.set(xlabel="epochs (passes over the data)", ylabel="loss", ylim=(0.02, 10))
ax.legend()
plt.show()

# %% [markdown]
# The loss on all the data falls within a fraction of an epoch, then stalls a little above $f^*$
# while the batch losses keep jumping around it (a batch can even be fitted better than $f^*$).
#
# ## 3. Epochs
#
# Drawing batches independently, some samples would come up twice before others come up once.
# Practice (PyTorch's `DataLoader(shuffle=True)`, and `run`) shuffles the data once per
# **epoch** and walks through it in batches: every sample is used exactly once per epoch.

# %%
q2

# %%
def epoch_batches(n, batch_size, rng):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 10.2: return the list of index arrays of one epoch")
    rows = rng.permutation(n)
    return [rows[i:i + batch_size] for i in range(0, n, batch_size)]
    # END SOLUTION


q2.check(epoch_batches)

# %% [markdown]
# Over one epoch of equal batches, the batch gradients average to the full gradient exactly
# (a mean of means over a partition is the mean), however noisy each one is:

# %%
one_epoch = q2.use(epoch_batches)(n, 10, np.random.default_rng(1))
gradients = np.array([batch_gradient(w0, X[rows], y[rows]) for rows in one_epoch])
print(f"{len(one_epoch)} batches; their gradients spread by {gradients.std(axis=0).round(3)}")
print("their mean:   ", gradients.mean(axis=0).round(6))
print("full gradient:", batch_gradient(w0, X, y).round(6))

# %% [markdown]
# ## 4. The noise floor
#
# Start SGD **at the minimum** $w^*$: it does not stay there, since every batch's gradient
# pushes it off. It wanders around $w^*$ at an excess loss $f - f^*$ that settles, on average,
# at the **noise floor**. Eight runs of 1,200 steps, each measuring the floor as the mean of
# $f(w_k) - f^*$ over its last 900 steps: four learning rates with batches of 4, and five batch
# sizes at $\eta = 0.1$.

# %%
def noise_floor(lr, batch_size, steps=1200):
    t = run(loss, w_star, "sgd", lr=lr, steps=steps, data=(X, y), batch_size=batch_size,
            engine="optilab", progress=False)
    return float(np.mean(t.full_values[300:]) - f_star)


lrs, batch_sizes = [0.025, 0.05, 0.1, 0.2], [1, 2, 4, 8, 16]
floor_by_lr = {lr: noise_floor(lr, 4) for lr in lrs}
floor_by_batch = {b: floor_by_lr[0.1] if b == 4 else noise_floor(0.1, b) for b in batch_sizes}
print("batches of 4, lr =", *lrs, "->", *(f"{v:.2e}" for v in floor_by_lr.values()))
print("lr 0.1, batches of", *batch_sizes, "->", *(f"{v:.2e}" for v in floor_by_batch.values()))

# %% [markdown]
# Why a floor, and how high? Near $w^*$, with $e_k = w_k - w^*$, a step is (up to the batch's own
# curvature) $e_{k+1} \approx (I - \eta H)\, e_k - \eta\, \xi_k$, where $\xi_k$ is the batch
# gradient at $w^*$: mean zero, variance $\sigma_g^2 / b$ for a batch of $b$ (a mean of $b$
# samples whose gradients have variance $\sigma_g^2$). Each step **adds** noise of size
# $\eta^2 \sigma_g^2 / b$ and the minimum **pulls back** a fraction of about $2\eta\lambda$ of
# the squared error; they balance at a squared error proportional to $\eta\, \sigma_g^2 / b$.
# So the floor is proportional to $\eta / b$ (for a small rate).

# %%
q3

# %%
def predict_floor(floor0, lr0, b0, lr, b):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 10.3: return the floor at (lr, b)")
    return floor0 * (lr / lr0) * (b0 / b)
    # END SOLUTION


q3.check(predict_floor)

# %% [markdown]
# The measured floors against the prediction made from the one run at $\eta = 0.1$, $b = 4$:

# %%
predict = q3.use(predict_floor)
floor0 = floor_by_lr[0.1]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
left.loglog(lrs, list(floor_by_lr.values()), "o", label="measured (batch 4)")
left.loglog(lrs, [predict(floor0, 0.1, 4, lr, 4) for lr in lrs], "--", label="prediction")
left.set(xlabel="learning rate", ylabel="noise floor $f - f^*$")
left.set_xticks(lrs, [str(lr) for lr in lrs], minor=False)
left.tick_params(axis="x", which="minor", bottom=False, labelbottom=False)
inverse = [1 / b for b in batch_sizes]
right.plot(inverse, list(floor_by_batch.values()), "o", label="measured (lr 0.1)")
right.plot([0] + inverse, [0] + [predict(floor0, 0.1, 4, 0.1, b) for b in batch_sizes], "--",
           label="prediction")
right.set(xlabel="1 / batch size", ylabel="noise floor $f - f^*$")
for ax in (left, right):
    ax.legend()
fig.tight_layout()
plt.show()
ratios = [floor_by_lr[lr] / predict(floor0, 0.1, 4, lr, 4) for lr in lrs] + \
         [floor_by_batch[b] / predict(floor0, 0.1, 4, 0.1, b) for b in batch_sizes]
print(f"measured / predicted: from {min(ratios):.2f} to {max(ratios):.2f}")

# %% [markdown]
# The floor follows $\eta / b$ to within about 20% (the ratios printed above), the largest
# excess at the largest rate, 0.2, where "small $\eta$" starts to fail. Halving the rate or
# doubling the batch halves the floor.
#
# For least squares the balance can be solved exactly: each sample's gradient at $w^*$ is
# $r_i x_i$ with a residual $r_i$ of variance $\sigma^2 = 2 f^*$, independent of $x_i$, and for a
# small rate the floor is $\eta\, \sigma^2\, \mathrm{tr}(H) / (4b)$. This assumes independent
# batches; `run` reshuffles per epoch, which behaves the same here because an epoch ($n / b \ge
# 250$ steps) is much longer than the $1/(\eta \lambda_{min}) \le 40$ steps over which SGD
# forgets where it was:

# %%
theory = 0.1 * (2 * f_star) * np.trace(H) / (4 * 4)
print(f"lr 0.1, batch 4: theory {theory:.2e}, measured {floor0:.2e}")

# %% [markdown]
# ## 5. A decaying learning rate
#
# A constant rate keeps the floor forever. To converge, the rate must go to zero, but not too
# fast. Robbins and Monro (1951) proved convergence for rates with
#
# $$\sum_k \eta_k = \infty \qquad\text{and}\qquad \sum_k \eta_k^2 < \infty:$$
#
# the first lets the steps travel any distance (however far the start), the second keeps the
# total noise they add, about $\sum_k \eta_k^2 \sigma_g^2 / b$, finite.

# %%
q4

# %%
def decay(k):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 10.4: return the factor lr_k / lr_0")
    return 1 / (1 + k / 200)
    # END SOLUTION


q4.check(decay)

# %% [markdown]
# Four schedules from $w_0$, batches of 4, starting at $\eta_0 = 0.1$ (`scheduler="lambda"`
# multiplies $\eta_0$ by the factor at each step): constant; your decay; $1/\sqrt{1 + k/200}$,
# which breaks the second condition ($\sum 1/k$ diverges); and $0.95^k$, which breaks the first
# (its rates add up to $\eta_0 / 0.05 = 2$).

# %%
schedules = {"constant": None, "your decay": q4.use(decay),
             "1/sqrt": lambda k: (1 + k / 200) ** -0.5, "0.95^k": lambda k: 0.95 ** k}
decaying = {}
for name, factor in schedules.items():
    extra = {} if factor is None else {"scheduler": "lambda",
                                       "scheduler_kwargs": {"lr_lambda": factor}}
    decaying[name] = run(loss, w0, "sgd", lr=0.1, steps=1500, data=(X, y), batch_size=4,
                         progress=False, label=name, **extra)

fig, ax = plt.subplots(figsize=(7, 3.5))
window = np.ones(50) / 50                      # a running mean: f - f* jumps from step to step
for name, t in decaying.items():
    ax.semilogy(np.arange(49, 1501), np.convolve(t.full_values - f_star, window, "valid"),
                lw=1.5, label=name)
ax.axhline(floor0, color="k", ls="--", lw=1, label="floor at lr 0.1")
ax.set(xlabel="step", ylabel="$f - f^*$, mean of 50 steps", ylim=(1e-4, 1))
ax.legend(ncols=2)
plt.show()
for name, t in decaying.items():
    excess = np.mean(t.full_values[-500:]) - f_star
    print(f"{name:>10}: mean f - f* over the last 500 steps {excess:.1e}")

# %% [markdown]
# The constant rate stays at its floor. Your decay keeps going down: the floor follows the rate,
# and the rate keeps falling. $1/\sqrt{k}$ goes below the floor too (its rate also falls to
# zero; the conditions are sufficient, not necessary), but more slowly here. $0.95^k$ freezes
# after about a hundred steps, before even reaching the floor: its rates add up to only 2, so
# the distance its steps can cover is limited, and it stops short.
#
# ## 6. What a step costs, and what an epoch costs
#
# A step of batch $b$ costs $b$ sample gradients; an epoch costs $n$, whatever $b$. Four runs of
# 400 steps at $\eta = 0.1$, with batches of 1, 10, 100 and all 4,000 samples (plain gradient
# descent):

# %%
by_batch = {f"batch {b}": run(loss, w0, "sgd", lr=0.1, steps=400, data=(X, y), batch_size=b,
                              engine="optilab", progress=False) for b in (1, 10, 100, n)}
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for name, t in by_batch.items():
    left.semilogy(t.full_values - f_star, lw=1, label=name)
    right.loglog(t.epochs[1:], t.full_values[1:] - f_star, lw=1, label=name)
left.set(xlabel="step", ylabel="$f - f^*$ (all the data)")
right.set(xlabel="epochs (samples used / n)")
right.legend()
fig.tight_layout()
plt.show()
table(by_batch)

# %%
for name, t in by_batch.items():
    reached = np.flatnonzero(t.full_values - f_star < 5e-2)
    print(f"{name:>10}: f - f* < 5e-2 at step {reached[0]:>3}, after {t.epochs[reached[0]]:.3g} "
          f"epochs; {1e6 * t.times[-1] / t.steps:.0f} us per step")

# %% [markdown]
# Per **step**, the four runs descend alike at first (far from the minimum the gradient dwarfs
# the noise), then each stalls at its own floor, lower for a larger batch; gradient descent has
# none. Per **epoch** (per sample gradient computed), small batches win by orders of magnitude
# early on: batches of 10 get within $5 \times 10^{-2}$ of $f^*$ in a small fraction of one pass
# over the data, where gradient descent needs 19 passes. And the time of a step here is mostly
# fixed overhead: a step on 100 samples takes about as long as a step on 1, and one on all 4,000
# at most a few times longer (measured above), not thousands of times: the machine computes a
# batch at once (a GPU, thousands of samples). Hence the practice: batches as large as the
# hardware processes in about the time of one, and a rate that decays once the floor shows.
#
# ## 7. SGD on the city map
#
# The map of notebook 6 fits the $P = 630$ pairs of cities: its criterion is a sum over pairs, so
# a minibatch is a random set of pairs, weighted by $P / b$ to keep the gradient right on
# average. `solve("sgd", batch=b, lr=...)` runs it (each step draws its $b$ pairs afresh,
# independently of the previous steps, rather than by epochs). First, gradient descent against
# SGD with batches of 64 pairs (about 10%), 1,000 steps each, per epoch:

# %%
P = 36 * 35 // 2
maps = {"GD": solve("gd", steps=1000, seed=0, engine="optilab", fused=True, progress=False),
        "SGD, batch 64": solve("sgd", batch=64, lr=0.03, steps=1000, seed=0,
                                progress=False)}
batch_of = {"GD": P, "SGD, batch 64": 64}
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, t in maps.items():
    epochs = np.arange(len(t.values)) * batch_of[name] / P
    ax.loglog(epochs[1:], t.values[1:], lw=1, label=name)
ax.set(xlabel="epochs (pairs used / 630)", ylabel="f (all pairs)")
ax.legend()
plt.show()
sgd_epochs = 1000 * 64 / P
print(f"after {sgd_epochs:.0f} epochs: SGD f = {maps['SGD, batch 64'].values[-1]:.2e}, "
      f"GD f = {maps['GD'].values[round(sgd_epochs)]:.2e}; "
      f"GD after 1000 epochs: {maps['GD'].values[-1]:.2e}")

# %% [markdown]
# Per epoch SGD is ahead; per step, gradient descent (with a larger stable rate, 0.05, and no
# noise) is. Does SGD stall at a noise floor here, as on the line? Start it at the best map
# (found by BFGS, $f^* \approx 1.24 \times 10^{-8}$, notebook 6) and watch:

# %%
best = solve("bfgs", seed=0, progress=False)
stay = solve("sgd", batch=64, lr=0.03, steps=300, seed=0, x0=best.x, progress=False)
print(f"f* = {best.value:.4e}; SGD from there: f between {stay.values.min():.4e} and "
      f"{stay.values.max():.4e} over 300 steps")

# %% [markdown]
# It stays. The noise floor is set by how much the samples' gradients disagree **at the
# minimum**, $\sigma_g^2$. On the line every sample keeps a residual of about 0.5 (the noise in
# $y$), so their gradients disagree and SGD wanders. The best map matches almost every pair
# (its squared residuals add up to $f^* \approx 10^{-8}$), so near it the batch gradients all
# nearly vanish: there is no floor to speak of, and SGD with a constant rate keeps descending,
# as slowly as its small stable rate allows.
# Models that fit every sample (over-parameterised networks often do) share this property.
