# ruff: noqa: B018, E402  (a cell may end with a bare name to display it; an import may
# follow a print that says what is loading)

# %% [markdown]
# # 0. A tour of the course
#
# This course is about how a computer finds the minimum of a function: the derivatives it
# needs, the steps it takes, and why those steps sometimes crawl, zig-zag or blow up. You will
# watch optimizers move on curves, maps and surfaces, move sliders, and write the key pieces
# yourself.
#
# ## The notebooks
#
# 1. **Autograd from scratch**: derivatives by hand, by finite differences, and by our own
#    small autograd engine (`optilab.autograd`); how reverse mode works.
# 2. **Gradient descent by hand**: the step $x \leftarrow x - \eta \nabla f(x)$, the loop with
#    `backward()`, what the learning rate does, and a perceptron.
# 3. **torch.optim**: the same loops with PyTorch's optimizers: SGD, momentum, Adam.
# 4. **Learning-rate schedulers**: rates that change during training (steps, cosine, warm-up,
#    on plateaus), and the order of the calls in the loop.
# 5. **Live plots and sliders**: animate any optimizer while it runs, explore and race
#    optimizers with sliders, and understand why a run diverges.
# 6. **The city map**: redraw the map of 36 European cities from their distances alone.
# 7. **Regression and a small neural network**: a line, polynomials and a tanh network, fitted
#    with our engine.
# 8. **Newton's method and Hessians**: second derivatives, Newton against gradient descent,
#    Hessian-vector products.
#
# Each notebook has exercises. A check cell, `q1.check(...)`, answers *correct*, *not attempted
# yet*, or *incorrect* and names the likely mistake; `q1.hint()` gives a hint (call it again for
# the next one) and `q1.solution()` shows a solution. The cells after an exercise use the
# reference solution until yours is correct, so a notebook always runs from top to bottom. The
# folder `notebooks/solutions/` holds the same notebooks with every exercise solved.
#
# ## Running the notebooks
#
# * **On your computer**, with Python 3.10 or newer: from the repository's folder,
#
#   ```
#   python3 dev.py lab
#   ```
#
#   The first time, it makes a virtual environment in `.venv/` with the tested packages (about
#   a minute); then it opens JupyterLab on the notebooks. VS Code and Notebook 7 work too.
# * **On Google Colab**: click the *Open in Colab* badge next to a notebook in the repository's
#   README. The notebook's first code cell installs `optilab` (on Colab only; elsewhere it does
#   nothing). Run it first, and again after a runtime restart.
#
# ## One slider to move
#
# Gradient descent on Rosenbrock's function, $f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$: a
# curved valley with its minimum at $(1, 1)$ (the star). Run the two cells, then move the
# sliders: the optimizer runs again and the path is redrawn.

# %%
# The first import of a session loads torch and matplotlib: a few seconds, once per kernel.
print("Loading torch, matplotlib and the explorer ...", flush=True)
from optilab.widgets import explore

print("Ready: run the next cell.")

# %%
explorer = explore("rosenbrock", optimizer="sgd", lr=1e-3)
explorer

# %% [markdown]
# With `lr = 0.001` the path drops into the valley and creeps along its floor: after 100 steps
# it is still far from the star. A larger rate goes faster, up to a point. Push the learning
# rate to the right, beyond about 0.007: the path flies out of the picture, and the message
# under it says at which step the run diverged and why: the steps were too long for the
# curvature of $f$. Notebook 5 explains the rule it quotes, $\eta < 2 / \lambda_{max}$.
#
# The widget is a Python object too: after moving the slider, this cell prints the message for
# the current setting.

# %%
print(explorer.trajectories[0].summary())
