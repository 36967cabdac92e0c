# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 1. Autograd from scratch
#
# Every optimiser in this course needs the gradient of the function it minimises. There are
# three ways to get a derivative out of a computer:
#
# 1. **symbolically**: apply the rules of calculus to the formula (by hand, or with a computer
#    algebra system such as sympy);
# 2. **numerically**: finite differences, $f'(x) \approx \dfrac{f(x + h) - f(x - h)}{2h}$;
# 3. **automatically** (reverse mode): record the operations while computing $f(x)$, then
#    apply the chain rule to those recorded numbers, backwards. This is what PyTorch does,
#    and what our own engine `optilab.autograd` does in a few hundred lines of numpy.
#
# We try all three on one messy function,
#
# $$f(x) = \left((x - 3)^{2/x} - 1\right)^{x - 1}, \qquad x > 4,$$
#
# then look inside the engine: the computation graph, broadcasting, a derivative rule of our
# own, gradient checking and second derivatives.
#
# Each exercise ends with a check cell: `q1.check(...)` answers *correct*, *not attempted yet*
# or *incorrect* (and names the likely mistake). `q1.hint()` gives a hint; call it again for
# the next one: a nudge, then the idea, then nearly the solution. `q1.solution()` shows a
# solution.

# %%
# %matplotlib inline
import timeit

import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
import torch

import optilab.autograd as ag
from optilab.exercises.nb01_autograd import messy, q1, q2, q3, q4

# %% [markdown]
# `messy` is written with operators only, so it accepts a float, a numpy array, a sympy
# symbol, one of our `ag.Tensor`s or a `torch.Tensor`: one source, every engine.

# %%
xs = np.linspace(4.05, 14, 300)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(xs, messy(xs))
ax.axvline(10, color="0.7", ls="--")
ax.set(xlabel="x", ylabel="f(x)", title=r"$f(x) = ((x-3)^{2/x} - 1)^{x-1}$")
plt.show()

# %% [markdown]
# ## 1. Symbolic differentiation
#
# sympy applies the rules of calculus to the expression tree of $f$. The result is exact, but
# look at its size: the same subexpressions, such as $(x-3)^{2/x}$, are written out again and
# again, and each further derivative makes it grow (*expression swell*).

# %%
x = sp.symbols("x")
f_sym = messy(x)
df_sym = sp.diff(f_sym, x)
d2f_sym = sp.diff(df_sym, x)
print("operations in f, f', f'':", [sp.count_ops(e) for e in (f_sym, df_sym, d2f_sym)])
exact = float(df_sym.subs(x, 10))
print(f"f'(10) = {exact:.15g}")
df_sym

# %% [markdown]
# Now by hand. Both powers have $x$ in the exponent, so the power rule $(u^n)' = n u^{n-1} u'$
# does not apply: write $a^b = e^{b \ln a}$ first (logarithmic differentiation).

# %%
q1

# %%
def dfdx(x):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 1.1: return f'(x), differentiated by hand")
    u = (x - 3) ** (2 / x)
    du = u * (-2 / x ** 2 * np.log(x - 3) + 2 / (x * (x - 3)))
    f = (u - 1) ** (x - 1)
    return f * (np.log(u - 1) + (x - 1) * du / (u - 1))
    # END SOLUTION


q1.check(dfdx)

# %% [markdown]
# ## 2. Finite differences
#
# Taylor's formula $f(x \pm h) = f(x) \pm h f'(x) + \frac{h^2}{2} f''(x) \pm \frac{h^3}{6}
# f'''(x) + \dots$ gives two estimates:
#
# * forward, $\dfrac{f(x+h) - f(x)}{h} = f'(x) + O(h)$;
# * central, $\dfrac{f(x+h) - f(x-h)}{2h} = f'(x) + O(h^2)$ (the even terms cancel).
#
# A smaller $h$ is not always better: $f(x+h) - f(x)$ subtracts two nearly equal numbers,
# each known to about $10^{-16} |f(x)|$ (float64), and dividing by $h$ magnifies that
# rounding error like $10^{-16} |f| / h$. The total error is smallest in between.

# %%
hs = np.logspace(-13, -1, 60)
forward = (messy(10 + hs) - messy(10)) / hs
central = (messy(10 + hs) - messy(10 - hs)) / (2 * hs)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(hs, np.abs(forward - exact), label="forward: error ~ h")
ax.loglog(hs, np.abs(central - exact), label="central: error ~ h²")
ax.set(xlabel="h", ylabel="|error|", title="finite differences of f at x = 10")
ax.legend()
plt.show()

# %% [markdown]
# Rounding wins on the left, truncation on the right. The best forward step (near $10^{-8}$)
# leaves about half of float64's 16 digits correct, the best central step (near $10^{-5}$)
# about two thirds; the exact derivative is out of reach either way.
# For a function of $n$ variables a finite-difference gradient costs $2n$ evaluations of $f$:
# hopeless for a network with millions of weights, but a fine *test* of other methods.

# %%
q2

# %%
def numerical_gradient(f, x, h=1e-6):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 1.2: return the central-difference gradient of f at x")
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g
    # END SOLUTION


q2.check(numerical_gradient)

# %% [markdown]
# ## 3. Reverse mode: our engine
#
# An `ag.Tensor` records every operation applied to it. Computing $y = f(x)$ builds a graph
# of intermediate values $v_1 = x, v_2, \dots, v_n = y$, each $v_j = g_j(\text{its inputs})$
# with an elementary $g_j$ (`-`, `**`, ...). `y.backward()` then walks the graph from the
# output back to the input and computes the *adjoints* $\bar v_i = \partial y / \partial v_i$:
#
# $$\bar v_n = 1, \qquad \bar v_i = \sum_{j \text{ uses } v_i} \bar v_j \,
# \frac{\partial g_j}{\partial v_i}.$$
#
# Each term needs only the local derivative of one elementary operation, evaluated at numbers
# stored during the forward pass. One backward sweep costs a few evaluations of $f$ and gives
# the derivative with respect to *every* input at once: this is why training a model with a
# million parameters needs one backward pass, not two million evaluations.

# %%
xt = ag.Tensor(10.0)
y = messy(xt)
y.backward()
print("f(10)  =", y.item())
print("f'(10) =", xt.grad, " (sympy:", exact, ")")

# %% [markdown]
# Here is the graph the engine recorded: each box shows an operation, its value, and (after
# `backward()`) its adjoint $\partial y / \partial v$. Follow the adjoints from right to left:
# each is the sum, over the arrows leaving the box, of the next adjoint times a local
# derivative. Note that $x$ is used three times and its adjoint collects three contributions.

# %%
ag.draw_graph(y, names={xt: "x"})

# %% [markdown]
# The adjoints are *accumulated*: `backward()` adds into `.grad`, it does not overwrite it.

# %%
q3

# %%
# BEGIN SOLUTION
# STUB: grad_after_two = ...   # Exercise 1.3: a number (think first, then try it below)
grad_after_two = 24.0    # backward() adds: 12 + 12
# END SOLUTION
q3.check(grad_after_two)

# %%
x2 = ag.Tensor(2.0)
y2 = x2 ** 3
y2.backward()
print("after one backward():", x2.grad)
y2.backward()
print("after two           :", x2.grad)
x2.grad = None            # what an optimiser's zero_grad() does
print("after resetting     :", x2.grad)

# %% [markdown]
# The functional interface hides the bookkeeping: `ag.grad(f)` is a new function that
# computes $\nabla f$ (with a fresh graph each call).

# %%
df = ag.grad(messy)
for v in (5.0, 6.5, 10.0):
    print(f"f'({v:4}) = {float(df(v)):+.8f}")

# %% [markdown]
# ## 4. The same function in PyTorch
#
# PyTorch's `backward()` is the same algorithm, implemented in C++. Same function source,
# same number, to the last digits:

# %%
x_torch = torch.tensor(10.0, dtype=torch.float64, requires_grad=True)
messy(x_torch).backward()
by_hand = q1.use(dfdx)(10.0)
print(f"sympy             {exact:.17g}")
print(f"by hand           {by_hand:.17g}")
print(f"central, h=1e-5   {(messy(10 + 1e-5) - messy(10 - 1e-5)) / 2e-5:.17g}")
print(f"optilab.autograd  {float(ag.grad(messy)(10.0)):.17g}")
print(f"torch             {x_torch.grad.item():.17g}")

# %% [markdown]
# How long does one derivative take? For a single number, both engines spend their time on
# overhead (creating a node per operation, dispatching it), not on arithmetic: the compiled
# formula from sympy is far faster. On arrays the overhead is paid once per operation, not
# once per number: with a million numbers per node, all three do the same arithmetic.
# (Timings vary from machine to machine; run the cell again to see the noise.)

# %%
def torch_grad(v):
    t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
    messy(t).sum().backward()
    return t.grad


by_formula = sp.lambdify(x, df_sym, "numpy")           # sympy's derivative, compiled
many = np.linspace(5, 12, 1_000_000)
methods = {
    "sympy, compiled": by_formula,
    "optilab.autograd": ag.grad(lambda t: messy(t).sum()),
    "torch": torch_grad,
}
print(f"{'':18s}{'x = 10':>12s}{'10^6 points':>14s}")
for name, fn in methods.items():
    one = timeit.timeit(lambda fn=fn: fn(10.0), number=200) / 200
    arr = timeit.timeit(lambda fn=fn: fn(many), number=2) / 2
    print(f"{name:18s}{one * 1e6:9.1f} µs{arr * 1e3:11.1f} ms")

# %% [markdown]
# ## 5. Broadcasting
#
# numpy and torch let you combine arrays of different shapes: in `A * b` with `A` of shape
# (2, 3) and `b` of shape (3,), `b` is reused in each row. In the graph, that reuse is a
# copy, and the gradient of a copied value is the **sum** of the gradients of its copies:
#
# $$y_{ij} = A_{ij} b_j + c \quad\Rightarrow\quad
# \frac{\partial L}{\partial b_j} = \sum_i \frac{\partial L}{\partial y_{ij}} A_{ij}, \qquad
# \frac{\partial L}{\partial c} = \sum_{i,j} \frac{\partial L}{\partial y_{ij}}.$$
#
# So every gradient has the shape of its input. Our engine does this in one place (summing
# the incoming gradient back to the input's shape), so no derivative rule has to care.

# %%
A = np.arange(6.0).reshape(2, 3)
b = ag.Tensor([1.0, 2.0, 3.0])
c = ag.Tensor(2.0)
(A * b + c).sum().backward()
print("b.grad =", b.grad, "(column sums of A)")
print("c.grad =", c.grad, "(one per element of the 2 x 3 result)")

b_t = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
c_t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
(torch.from_numpy(A) * b_t + c_t).sum().backward()
print("torch:", b_t.grad.numpy(), c_t.grad.item())

# %% [markdown]
# ## 6. A primitive of your own
#
# The engine knows a table of *primitives*, each with a derivative rule. A rule is a
# vector-Jacobian product (vjp): for $y = g(x)$, given $\bar y = \partial L / \partial y$
# (called `g` in the code), it returns $\bar x = \bar y \, \partial g / \partial x$. Every
# other function is built from primitives, and its derivative follows by the chain rule.
#
# Why add one? Softplus, $\ln(1 + e^x)$, built from `exp` and `log` overflows for large $x$,
# although its value is simply $\approx x$ there:

# %%
with np.errstate(over="ignore"):
    print("log(1 + exp(1000)) =", ag.log(1 + ag.exp(ag.Tensor(1000.0))).item())
print("np.logaddexp(0, 1000) =", np.logaddexp(0, 1000.0))

# %% [markdown]
# `np.logaddexp(0, x)` computes it stably, but the engine cannot see inside numpy: we wrap it
# with `ag.primitive` and give it its rule with `ag.defvjp`.

# %%
softplus = ag.primitive(lambda x: np.logaddexp(0, x))
q4

# %%
def softplus_vjp(g, ans, x):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 1.4: return the gradient for x, given g")
    return g * ag.sigmoid(x)
    # END SOLUTION


q4.check(softplus_vjp)

# %%
ag.defvjp(softplus, q4.use(softplus_vjp))

big = ag.Tensor(1000.0)
softplus(big).backward()
print("softplus(1000) =", softplus(big).item(), " derivative:", big.grad)

# %% [markdown]
# Because the rule is written with the engine's own functions, it can be differentiated
# again. For elementwise functions, the gradient of `f(t).sum()` is the vector of the
# derivatives $f'(t_i)$:

# %%
def derivative(f):
    """x -> f'(x) elementwise, for an elementwise f."""
    return ag.grad(lambda t: f(t).sum())


ts = np.linspace(-6, 6, 200)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(ts, softplus(ts), label="softplus")
ax.plot(ts, derivative(softplus)(ts), label="first derivative: sigmoid")
ax.plot(ts, derivative(derivative(softplus))(ts), label="second derivative")
ax.set(xlabel="x", ylim=(-0.2, 3))
ax.legend()
plt.show()

# %% [markdown]
# ## 7. Gradient checking
#
# A wrong derivative rule does not crash: it silently gives wrong gradients, and the
# optimiser goes the wrong way. So test every rule against finite differences.
# `ag.check_grads(f, order=2)(x)` picks a random direction $v$ and compares the directional
# derivative from the backward pass, $\nabla f(x) \cdot v$, with
# $\dfrac{f(x + \epsilon v) - f(x - \epsilon v)}{2\epsilon}$ (two evaluations, whatever the
# dimension), then does the same for the derivative of the backward pass (order 2). It is
# silent when all agree and raises an `AssertionError` otherwise.

# %%
points = np.array([-1.0, 0.5, 2.0])
ag.check_grads(lambda t: softplus(t).sum(), order=2)(points)
print("softplus: first and second derivatives agree with finite differences")

wrong = ag.defvjp(ag.primitive(lambda x: np.logaddexp(0, x)),
                  lambda g, ans, x: g * ag.sigmoid(-x))          # a classic slip
try:
    ag.check_grads(lambda t: wrong(t).sum())(points)
except AssertionError as e:
    print("wrong rule:", e)

# %% [markdown]
# Your `numerical_gradient` from exercise 1.2 does the full version, all $n$ partial
# derivatives. On Rosenbrock's function in 4 dimensions:

# %%
def rosenbrock(p):
    return ((1 - p[:-1]) ** 2 + 100 * (p[1:] - p[:-1] ** 2) ** 2).sum()


p0 = np.array([-1.2, 1.0, 0.5, 2.0])
print("engine     :", ag.grad(rosenbrock)(p0))
print("differences:", q2.use(numerical_gradient)(rosenbrock, p0))

# %% [markdown]
# ## 8. Second derivatives
#
# Derivative rules are built from the engine's operations, so `ag.grad(f)` is itself a
# function the engine can trace: `ag.grad(ag.grad(f))` is $f''$. No expression swell: the
# second derivative costs a few times one evaluation, like the first. PyTorch does the same
# when asked to keep the graph of the backward pass (`create_graph=True`).

# %%
d2 = ag.grad(ag.grad(messy))
x_torch = torch.tensor(10.0, dtype=torch.float64, requires_grad=True)
(d1_torch,) = torch.autograd.grad(messy(x_torch), x_torch, create_graph=True)
(d2_torch,) = torch.autograd.grad(d1_torch, x_torch)
print(f"sympy   f''(10) = {float(d2f_sym.subs(x, 10)):.15g}")
print(f"optilab f''(10) = {float(d2(10.0)):.15g}")
print(f"torch   f''(10) = {d2_torch.item():.15g}")

# %% [markdown]
# For $f:\mathbb{R}^n \to \mathbb{R}$ the second derivative is the Hessian matrix
# $H_{ij} = \partial^2 f / \partial x_i \partial x_j$, the Jacobian of the gradient:
# `ag.hessian(f)`. Its eigenvalues are the curvatures along its eigenvectors. At the minimum
# $(1, 1)$ of Rosenbrock's function in 2D one curvature is about 2500 times the other: the
# valley is steep across and nearly flat along, which is exactly what makes gradient
# descent zig-zag there (notebooks 2 and 3).

# %%
H = ag.hessian(rosenbrock)(np.array([1.0, 1.0]))
curvatures = np.linalg.eigvalsh(H)
print("H =\n", H)
print(f"eigenvalues {curvatures[0]:.4g} and {curvatures[1]:.4g}, "
      f"ratio {curvatures[1] / curvatures[0]:.0f}")

# %% [markdown]
# ## Summary
#
# * Symbolic derivatives are exact but grow with every derivative; finite differences are
#   simple, approximate (10 digits at best) and cost $2n$ evaluations.
# * Reverse mode records the computation and applies the chain rule backwards: the whole
#   gradient for a few evaluations' cost, exact up to rounding. `backward()` *adds* into
#   `.grad`.
# * Broadcasting is undone by summing gradients back to each input's shape.
# * A new primitive needs a vjp rule; write it with the engine's functions and it can be
#   differentiated again; check it with `ag.check_grads`.
# * `ag.grad(ag.grad(f))` and `ag.hessian(f)` give second derivatives for free.
