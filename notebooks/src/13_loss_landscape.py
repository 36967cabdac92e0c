# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 13. The landscape of a real net
#
# Notebook 7 trained a small tanh network: 321 parameters fitted to thirty noisy points of
# $\sin 3x$. Its loss is a function of 321 variables, and we can only draw two. This notebook
# draws honest two-dimensional slices of it, the way Li et al. did in "Visualizing the Loss
# Landscape of Neural Nets" (2018):
#
# $$L(\alpha, \beta) = \mathrm{loss}(\theta^* + \alpha\, d_1 + \beta\, d_2)$$
#
# a plane through the trained weights $\theta^*$, spanned by two directions $d_1, d_2$ in
# weight space. Which directions? Two random ones, *filter-normalised* so that a step of 1
# means the same for every unit; or the two directions in which the training path moved the
# most, so that the path itself can be drawn on the slice. On the way, a *learning-rate range
# test* (Leslie Smith) picks the learning rates of gradient descent and Adam.
#
# `optilab.landscape` does the work (for our engine's Modules and for torch's); the three
# exercises build its three pieces.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import torch

from optilab.autograd.nn import MSELoss
from optilab.autograd.optim import GD, Adam
from optilab.exercises.nb13_landscape import MLP, q1, q2, q3, sine_data, torch_copy
from optilab.landscape import filter_normalized, loss_landscape, lr_range_test, weights_of
from optilab.landscape import pca_directions as library_pca

# %% [markdown]
# ## 1. The net, its data, and a learning-rate range test
#
# Notebook 7's data and network: sizes $[1, 16, 16, 1]$, tanh between the layers, the mean
# squared error as the loss. `loss(model)` is the loss of a model with its weights as they are
# now; every tool below takes the model and this function.

# %%
xs, ys = sine_data()
X, Y = xs.reshape(-1, 1, 1), ys.reshape(-1, 1, 1)          # 30 samples, each a (1, 1) column
mse = MSELoss()


def loss(model):
    return mse(model(X), Y)


net = MLP([1, 16, 16, 1], seed=0)
theta0 = weights_of(net)                                    # the start, one flat vector
print(f"{theta0.size} parameters, loss at the start {float(loss(net).value):.4f}")

# %% [markdown]
# Which learning rate? The range test trains from the start for 100 steps while the rate
# grows geometrically, from $10^{-4}$ to $10$ here, and records the loss before each step,
# smoothed by an exponential moving average. At tiny rates nothing happens; then the loss
# falls; past some rate it explodes, and the test stops. The rule used here picks the rate
# where the smoothed loss falls fastest against $\log \eta$ (before its minimum). The test
# leaves the network's weights as they were.

# %%
tests = {name: lr_range_test(net, loss, name, lr_min=1e-4, lr_max=10, steps=100)
         for name in ("sgd", "adam")}
assert np.array_equal(weights_of(net), theta0)              # weights put back
for name, test in tests.items():
    print(f"{name:4s}: suggested lr = {test.suggestion:.3g} (steepest descent); "
          f"{test.stopped}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for ax, test in zip(axes, tests.values()):
    test.plot(ax)
plt.show()

# %% [markdown]
# GD and Adam (our engine's), the same start, 1000 steps each at the suggested rates; every
# fifth step we record the weights (`weights_of`): 201 points of a path in
# $\mathbb{R}^{321}$, enough to draw it.

# %%
def train(make_optimizer, lr, steps=1000, every=5):
    """A copy of the starting net trained by make_optimizer: (net, path, losses)."""
    model = MLP([1, 16, 16, 1], seed=0)
    optimizer = make_optimizer(model.parameters(), lr=lr)
    path, losses = [weights_of(model)], []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        value = loss(model)
        value.backward()
        optimizer.step()
        losses.append(float(value.value))
        if step % every == 0:
            path.append(weights_of(model))
    losses.append(float(loss(model).value))
    return model, np.array(path), np.array(losses)


runs = {"GD": train(GD, tests["sgd"].suggestion), "Adam": train(Adam, tests["adam"].suggestion)}
for name, (_, path, losses) in runs.items():
    print(f"{name:4s}: final loss {losses[-1]:.4f}, moved "
          f"{np.linalg.norm(path[-1] - path[0]):.2f} from the start (weights' norm "
          f"{np.linalg.norm(path[-1]):.2f})")

# %% [markdown]
# ## 2. Filter-normalised random directions
#
# A random direction $d$ (Gaussian entries) does not know the network. Li et al. rescale it
# unit by unit: the weights coming into a unit (a row of a layer's (out, in) matrix; a
# "filter" of a convolution) get the norm of that unit's own weights,
# $d_i \leftarrow d_i \, \|\theta_i\| / \|d_i\|$. A step $\alpha = 1$ then changes every unit by
# as much as its own size, and the picture does not depend on how the weights are scaled (a
# ReLU net is the same function when one layer is multiplied by 10 and the next divided by 10).
# Biases keep a zero direction (they stay at their trained values), as the paper's code does
# with its `biasbn` option.

# %%
q1

# %%
def filter_normalize(d, w):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 13.1: rescale each row of d to the norm of w's row")
    rows = lambda a: np.linalg.norm(a, axis=1, keepdims=True)   # noqa: E731
    return d * rows(w) / rows(d)
    # END SOLUTION


q1.check(filter_normalize)

# %% [markdown]
# With your function on every weight matrix (zero for the biases) we get the same direction
# as `optilab.landscape.filter_normalized` when both draw the same random numbers:

# %%
normalize = q1.use(filter_normalize)
adam_net = runs["Adam"][0]
rng = np.random.default_rng(0)
mine = []
for name, p in adam_net.named_parameters():
    d = rng.standard_normal(p.value.shape)
    mine.append(np.zeros_like(d) if name.endswith("bias") else normalize(d, p.value))
mine = np.concatenate([m.ravel() for m in mine])
print("the same as the library's:", np.allclose(mine, filter_normalized(adam_net, seed=0)))

# %% [markdown]
# The slice around each optimizer's final weights, on a 41 x 41 grid of
# $\alpha, \beta \in [-1, 1]$ (1681 evaluations of the loss, about a second per slice here),
# drawn with the same colour scale:

# %%
around = {name: loss_landscape(model, loss, n=41, seed=0) for name, (model, _, _) in runs.items()}
top = max(s.losses.max() for s in around.values())
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (name, scape) in zip(axes, around.items()):
    A, B = np.meshgrid(scape.alphas, scape.betas)
    levels = np.geomspace(scape.losses.min(), top, 25)
    shown = ax.contourf(A, B, scape.losses, levels, norm="log", cmap="viridis")
    ax.plot(0, 0, "w*", ms=12, mec="k")
    ax.set(title=f"around {name}'s weights", xlabel=r"$\alpha$", ylabel=r"$\beta$")
fig.colorbar(shown, ax=axes, label="loss (log scale)", ticks=[0.01, 0.03, 0.1, 0.3, 1, 3, 10],
             format="%g")
plt.show()
for name, scape in around.items():
    ring = np.hypot(*np.meshgrid(scape.alphas, scape.betas)) <= 0.25
    print(f"{name:4s}: loss {scape.loss_at_center:.4f} at the centre, "
          f"{scape.losses[ring].max():.4f} at most within a radius 0.25")

# %% [markdown]
# Each slice has a basin around its centre (the star). How wide it is tells how far the
# weights can move, unit by unit relative to their size, before the fit breaks. Here GD ended
# in a wide valley and Adam, lower, in a narrow one: within a radius of 0.25 the loss climbs
# from 0.023 to at most 0.13 around GD's weights, from 0.0045 to 0.39 around Adam's. (Another
# seed, net or rate can change that: it is measured, not a law.) Filter normalisation is what
# makes the two pictures comparable at all: Adam's weights are larger (norm 7.6 against 4.5),
# and with plain random directions of one length a net with larger weights looks flatter
# just because the same step is relatively smaller for it.
#
# The same slice as a surface, through `optilab.plot` (Adam's):

# %%
around["Adam"].plot("surface", title="around Adam's weights")

# %% [markdown]
# ## 3. The plane of the training path
#
# A random plane almost never contains the path the optimizer took: in 321 dimensions two
# random directions are nearly orthogonal to everything else. To see the path, take the plane
# that holds as much of it as possible. Stack the path's points as differences from the final
# weights, $M = [\theta_i - \theta^*]_i$; the two leading right singular vectors of $M$ span the
# plane through $\theta^*$ that is closest to the path (in the sum of squared distances).

# %%
q2

# %%
def pca_directions(path):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 13.2: the top two right singular vectors")
    M = path - path[-1]
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    return Vt[:2]
    # END SOLUTION


q2.check(pca_directions)

# %% [markdown]
# A point of the path lands on the plane at its coordinates $(\alpha, \beta)$: the point of
# the plane closest to it. For the PCA directions (unit, orthogonal) those are two dot products;
# for filter-normalised random ones (neither unit nor orthogonal) they are not.

# %%
q3

# %%
def project(theta, center, d1, d2):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 13.3: return (alpha, beta)")
    D = np.stack([d1, d2])
    return np.linalg.solve(D @ D.T, D @ (theta - center))
    # END SOLUTION


q3.check(project)

# %% [markdown]
# One plane for both runs: centred on Adam's final weights, spanned by the principal directions
# of both paths together (their differences from that centre). Both paths start at the same
# point. First with your functions, against the library's:

# %%
principal, coordinates = q2.use(pca_directions), q3.use(project)
paths = {name: path for name, (_, path, _) in runs.items()}
center = paths["Adam"][-1]
both = np.vstack([paths["GD"], paths["Adam"]])
d1, d2 = principal(np.vstack([both, center]))       # the centre as the last row: M = both - center
library, share = library_pca(paths, center)
same = all(abs(abs(a @ b) - 1) < 1e-8 for a, b in zip((d1, d2), library))
print("your directions are the library's (up to sign):", same)
gd_end = coordinates(paths["GD"][-1], center, d1, d2)
print(f"GD's end lies at (alpha, beta) = {np.round(gd_end, 3)}")

# %%
plane = loss_landscape(adam_net, loss, directions="pca", path=paths, n=41)
for name, held in plane.captured.items():
    print(f"the plane holds {100 * held:.1f}% of {name}'s squared distance to the centre")
plane.plot()

# %% [markdown]
# The first direction alone holds 96% of the motion: it points from the common start (the
# hollow circle) to Adam's end (the star). GD, at its rate, went straight down into the
# valley next to the start and stayed there (it moved 2.0, Adam 5.7); Adam set off along the
# second direction and crossed over to the deeper valley at the star.
# Adam's path is not all in the plane (the percentage above): what the picture shows between
# the points is the loss on the plane, not along the path itself, so a path can seem to cross
# a ridge that it went around in a direction the slice does not show.
#
# The same slice as a surface, the paths on it (at their projections):

# %%
plane.plot("surface", elev=35, azim=-120)

# %% [markdown]
# ## 4. The same with torch
#
# The tools take a `torch.nn.Module` as well. The same network in torch (float64, the same
# weights in the same order) gives the same slice to rounding; torch evaluates a whole chunk of
# grid points at once (`torch.func.functional_call` under `vmap`).

# %%
torch_net = torch_copy(adam_net)
tx, ty = torch.tensor(xs).reshape(-1, 1), torch.tensor(ys).reshape(-1, 1)
torch_scape = loss_landscape(torch_net, lambda m: torch.nn.functional.mse_loss(m(tx), ty),
                             directions="pca", path=paths, n=41)
print("largest difference from our engine's slice:",
      f"{np.abs(torch_scape.losses - plane.losses).max():.1e}")

# %% [markdown]
# ## What to take away
#
# * A slice is a plane through the weights; what it shows depends on the plane. Random planes
#   show the neighbourhood of a minimum, filter normalisation makes them comparable across
#   networks; the plane of the path shows the path but only the part of it that lies in that
#   plane.
# * The range test is cheap (100 steps) and gives a learning rate before a long run; its rule
#   (steepest descent) is a heuristic, not a theorem, and is best read off its picture.
