# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 7. Regression and a small neural network
#
# Fitting a model to data is an optimisation problem: choose the parameters $\theta$ that make
# the mean squared error
#
# $$L(\theta) = \frac1N \sum_{i=1}^N \big(\hat y_\theta(x_i) - y_i\big)^2$$
#
# as small as possible. In this notebook our engine (`optilab.autograd`) fits three models of
# growing power, always with the same loop: a line, a polynomial, and a small neural network
# with tanh units. On the way you meet the engine's building blocks (`Module`, `nn.Linear`,
# `nn.MSELoss`, the optimizers `GD` and `Adam`), and see what changes when the loss is no
# longer a quadratic bowl.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import optilab.autograd as ag
from optilab.autograd import Module
from optilab.autograd.nn import Linear, MSELoss
from optilab.autograd.optim import GD, Adam
from optilab.exercises.nb07_regression import line_data, q1, q2, q3, q4
from optilab.optim import run
from optilab.plot import plot_trajectories

# %% [markdown]
# ## 1. A line
#
# Twenty noisy points around a line. The model $\hat y = a x + b$ has two parameters, and the
# loss $L(a, b) = \frac1N \sum_i (a x_i + b - y_i)^2$ is a quadratic function of them.

# %%
x, y = line_data()
q1

# %%
def fit_line(x, y, lr, steps):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 7.1: return (a, b) after `steps` steps of GD")
    a, b = ag.Tensor(0.0), ag.Tensor(0.0)
    for _ in range(steps):
        a.grad = b.grad = None
        ((a * x + b - y) ** 2).mean().backward()
        a.value = a.value - lr * a.grad
        b.value = b.value - lr * b.grad
    return float(a.value), float(b.value)
    # END SOLUTION


q1.check(fit_line)

# %% [markdown]
# A quadratic loss has a formula for its minimum: the *normal equations* $A^\top A w = A^\top y$.
# `np.polyfit` finds the same minimum with a least-squares solver (an SVD of $A$, through
# `np.linalg.lstsq`), precisely to avoid forming $A^\top A$, whose condition number is the
# square of $A$'s. Gradient descent gets there too:

# %%
fit = q1.use(fit_line)
a, b = fit(x, y, lr=0.5, steps=300)
a_star, b_star = np.polyfit(x, y, 1)
print(f"gradient descent: a = {a:.5f}, b = {b:.5f}")
print(f"least squares:    a = {a_star:.5f}, b = {b_star:.5f}")

plt.figure(figsize=(5, 3.5))
plt.plot(x, y, "o", label="data")
plt.plot(x, a * x + b, label=f"$\\hat y = {a:.2f}\\,x {b:+.2f}$")
plt.xlabel("x")
plt.ylabel("y")
plt.legend()
plt.show()

# %% [markdown]
# Training is a path in parameter space. Written with operators only, the loss can be plotted
# as a function of $(a, b)$ and handed to `optilab.optim.run` like any test function: the
# contour lines are ellipses, the bowl of a quadratic.

# %%
def line_loss(a, b):
    return sum((a * xi + b - yi) ** 2 for xi, yi in zip(x, y)) / len(x)


path = run(line_loss, [0.0, 0.0], "sgd", lr=0.5, steps=100, label="GD, lr = 0.5")
fig = plot_trajectories(line_loss, path, x_range=(-0.5, 4), y_range=(-2.5, 1),
                        panels=("loss",), title="$L(a, b)$")
fig.axes[0].set(xlabel="slope a", ylabel="intercept b")
fig

# %% [markdown]
# ## 2. The engine's building blocks
#
# The same fit, written the way every model below is trained. A `Module` is a model whose
# tensor attributes are its parameters; `Linear((out, in))` computes $W x + b$ for a column
# vector $x$ (shape `(in, 1)`), and a batch of $N$ samples stacked as `(N, in, 1)` goes through
# in one call. The loop is PyTorch's: `zero_grad`, forward, `backward`, `step`.

# %%
X, Y = x.reshape(-1, 1, 1), y.reshape(-1, 1, 1)     # 20 samples, each a (1, 1) column
model = Linear((1, 1), seed=0)
loss_fn = MSELoss()
optimizer = GD(model.parameters(), lr=0.5)
for _ in range(300):
    optimizer.zero_grad()
    loss = loss_fn(model(X), Y)
    loss.backward()
    optimizer.step()
print(model, f"loss = {loss.item():.5f}")
print(f"a = {model.weight.item():.5f}, b = {model.bias.item():.5f}")

# %% [markdown]
# ## 3. Polynomial features
#
# A line cannot follow a curve. Feed the model the powers of $x$ instead of $x$ alone: with the
# *features* $\phi(x) = (1, x, x^2, \dots, x^d)$, the model $\hat y = \phi(x) \cdot w$ is a
# polynomial of degree $d$, and still linear in its parameters $w$.

# %%
q2

# %%
def poly_features(x, degree):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 7.2: return the (N, degree + 1) feature matrix")
    return np.stack([x ** k for k in range(degree + 1)], axis=1)
    # END SOLUTION


q2.check(poly_features)

# %% [markdown]
# With the feature matrix $\Phi$ (one row $\phi(x_i)$ per sample), the loss
# $L(w) = \frac1N \|\Phi w - y\|^2$ is again a quadratic bowl, with the constant Hessian
# $H = \frac2N \Phi^\top \Phi$. Notebook 5 showed that gradient descent is stable only for
# $\eta < 2/\lambda_{max}$, while the error along the flattest direction shrinks by
# $1 - \eta\lambda_{min}$ per step: the *condition number* $\lambda_{max}/\lambda_{min}$ counts
# the steps it needs. Thirty noisy points of $\sin 3x$, degree 5:

# %%
features = q2.use(poly_features)
rng = np.random.default_rng(1)
xs = np.linspace(-1, 1, 30)
ys = np.sin(3 * xs) + 0.1 * rng.normal(size=xs.size)
Phi = features(xs, 5)
eigenvalues = np.linalg.eigvalsh(2 * Phi.T @ Phi / len(xs))
print(f"lambda_min = {eigenvalues[0]:.3g}, lambda_max = {eigenvalues[-1]:.3g}, "
      f"condition number {eigenvalues[-1] / eigenvalues[0]:.0f}")

# %% [markdown]
# Gradient descent at half its stability limit against Adam, 2000 steps each, and the exact
# least-squares solution (`np.linalg.lstsq`) as the referee:

# %%
w_star = np.linalg.lstsq(Phi, ys, rcond=None)[0]
loss_star = np.mean((Phi @ w_star - ys) ** 2)
fits, gaps = {}, {}
for name, make in {"GD": lambda w: GD([w], lr=1 / eigenvalues[-1]),
                   "Adam": lambda w: Adam([w], lr=0.05)}.items():
    w = ag.Tensor(np.zeros(6))
    optimizer = make(w)
    gaps[name] = []
    for _ in range(2000):
        optimizer.zero_grad()
        loss = ((Phi @ w - ys) ** 2).mean()
        loss.backward()
        optimizer.step()
        gaps[name].append(float(loss.value) - loss_star)
    fits[name] = w.value

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
grid = np.linspace(-1, 1, 200)
left.plot(xs, ys, "o", color="0.5", label="data")
for name, w in {**fits, "least squares": w_star}.items():
    left.plot(grid, features(grid, 5) @ w, label=name)
for name, gap in gaps.items():
    right.semilogy(gap, label=name)
left.set(xlabel="x", ylabel="y", title="degree-5 fits")
right.set(xlabel="step", ylabel="$L(w_k) - L(w^*)$", title="distance to the optimum")
left.legend()
right.legend()
plt.show()

# %% [markdown]
# Gradient descent has settled the steep directions and crawls along the flat ones. Adam
# divides each coordinate's step by the size of its recent gradients: a diagonal
# preconditioner, which undoes badly scaled columns (features of very different sizes) but not
# correlated ones, whose steep and flat directions are not along the axes. Its steps do not
# shrink with the gradient, though, which causes the spikes near the optimum. (Raise the
# degree to 9 and the condition number passes a million.)
#
# ## 4. A tanh network
#
# A network with one hidden layer computes $\hat y = W_2 \tanh(W_1 x + b_1) + b_2$. Unlike a
# polynomial it is *not* linear in its parameters, so its loss is no bowl: there is no formula
# for the minimum, and an iterative method is needed (gradient descent here; second-order and
# quasi-Newton methods work too). How many numbers does it learn?

# %%
q3

# %%
def count_parameters(sizes):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 7.3: return the number of weights and biases")
    return sum(n_out * n_in + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    # END SOLUTION


q3.check(count_parameters)

# %%
q4

# %%
def mlp_forward(params, x):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 7.4: return W2 @ tanh(W1 @ x + b1) + b2")
    (W1, b1), (W2, b2) = params
    return W2 @ ag.tanh(W1 @ x + b1) + b2
    # END SOLUTION


q4.check(mlp_forward)

# %% [markdown]
# Train it on the same thirty points: eight hidden units, parameters as plain Tensors (random
# weights: with all weights zero, tanh(0) = 0 and its slope 1 leave every weight's gradient
# at 0, so only the output bias $b_2$ would learn; with equal non-zero weights, every hidden
# unit would get the same gradient and stay the same), Adam.

# %%
forward = q4.use(mlp_forward)
rng = np.random.default_rng(0)
params = [(ag.Tensor(rng.normal(size=(8, 1))), ag.Tensor(np.zeros((8, 1)))),
          (ag.Tensor(rng.normal(size=(1, 8)) / 3), ag.Tensor(np.zeros((1, 1))))]
Xs, Ys = xs.reshape(-1, 1, 1), ys.reshape(-1, 1, 1)


def train(parameters, predict, steps=1500, lr=0.02):
    """Adam on the mean squared error of predict(Xs); returns the losses."""
    optimizer = Adam(parameters, lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(predict(Xs), Ys)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.value))
    return losses


losses = {"hand-made, 8 hidden": train([p for layer in params for p in layer],
                                       lambda x: forward(params, x))}
print(f"final loss {losses['hand-made, 8 hidden'][-1]:.4f} "
      f"(the best degree-5 polynomial: {loss_star:.4f})")

# %% [markdown]
# The same as a `Module`, deeper: a list of `Linear` layers with tanh between them, sizes
# $[1, 16, 16, 1]$. Its parameters are found by walking its attributes, list included.

# %%
class MLP(Module):
    """tanh between Linear layers, a linear output; sizes = [n_in, hidden..., n_out]."""

    def __init__(self, sizes, seed=0):
        self.layers = [Linear((n_out, n_in), seed=seed + i)
                       for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = layer(x).tanh()
        return self.layers[-1](x)


count = q3.use(count_parameters)
sizes = [1, 16, 16, 1]
net = MLP(sizes)
print(f"{count(sizes)} parameters by your count, "
      f"{sum(p.size for p in net.parameters())} in the Module")
losses["Module, 16 + 16 hidden"] = train(net.parameters(), net)
print(f"final loss {losses['Module, 16 + 16 hidden'][-1]:.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
G = grid.reshape(-1, 1, 1)
left.plot(xs, ys, "o", color="0.5", label="data")
left.plot(grid, forward(params, G).value.ravel(), label="hand-made, 8 hidden")
left.plot(grid, net(G).value.ravel(), label="Module, 16 + 16 hidden")
for name, history in losses.items():
    right.semilogy(history, label=name)
left.set(xlabel="x", ylabel="y", title="two tanh networks")
right.set(xlabel="step", ylabel="loss", title="training loss")
left.legend()
right.legend()
plt.show()

# %% [markdown]
# Both networks fit the curve. Their loss curves are nothing like the steady descent on a
# quadratic bowl: plateaus, sudden drops, and spikes where Adam's step, too long for the narrow
# valley it has reached, throws it out for a moment (a smaller rate or a schedule, notebook 4,
# calms them). Where they end depends on the random start. Both end below the best degree-5
# polynomial, the larger one well below: with 321 parameters for 30 points it starts to follow
# the noise. That is overfitting, a question for a statistics course rather than this one.
