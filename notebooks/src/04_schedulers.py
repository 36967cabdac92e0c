# ruff: noqa: B018  (a cell may end with a bare name to display it, as in a notebook)

# %% [markdown]
# # 4. Learning-rate schedulers
#
# A learning rate that suits the start of a run (big steps, far from the minimum) rarely
# suits its end (small steps, to settle). A **scheduler** changes the optimizer's learning
# rate as the run goes: $\eta_0, \eta_1, \eta_2, \dots$ In torch it wraps the optimizer and
# is stepped once per iteration, *after* the optimizer:
#
# ```python
# optimizer = torch.optim.SGD([x], lr=0.3)
# scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
# for k in range(steps):
#     optimizer.zero_grad()
#     f(x).backward()
#     optimizer.step()          # uses the rate eta_k
#     scheduler.step()          # prepares eta_(k+1)
# ```
#
# (In deep learning the scheduler is often stepped once per epoch instead; the formulas are
# the same with $k$ counting epochs.) We meet the seven schedulers of `torch.optim.lr_scheduler`
# that you will see most, each with its formula, and watch them on the simplest function
# where a schedule is *necessary*: $f(x) = 5|x|$.
#
# Each exercise ends with a check cell: `q1.check(...)` answers *correct*, *not attempted yet*
# or *incorrect* (and names the likely mistake). `q1.hint()` gives a hint; call it again for
# the next one: a nudge, then the idea, then nearly the solution. `q1.solution()` shows a
# solution.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import torch

from optilab.exercises.nb04_schedulers import LOSSES, q1, q2, q3, q4, q5, q6
from optilab.functions import abs_kink
from optilab.optim import race, run
from optilab.plot import plot_trajectories

X0, LR, STEPS = 4.0, 0.3, 40     # every run below: SGD from x = 4, eta_0 = 0.3, 40 steps


def agrees(formula, trajectory):
    """Does formula(k) give the rates the torch scheduler used in the run?"""
    return np.allclose([formula(k) for k in range(trajectory.steps)], trajectory.lrs)


# %% [markdown]
# ## 1. Why a fixed learning rate cannot converge on $5|x|$
#
# The derivative of $5|x|$ is $\pm 5$ everywhere except at the kink. So every gradient step
# has the same length $5\eta$, however close $x$ is to the minimum: with $\eta = 0.3$ the
# iterate walks down in steps of 1.5, then jumps back and forth across 0 forever. To settle,
# the steps themselves must shrink: $\eta_k \to 0$. But not too fast: the run can travel at
# most $\sum_k 5 \eta_k$ in total, and that has to cover the distance $|x_0|$ to the minimum.
# (For stochastic gradient descent the classic conditions are $\sum_k \eta_k = \infty$ and
# $\sum_k \eta_k^2 < \infty$, e.g. $\eta_k \propto 1/k$.)

# %%
constant = run(abs_kink, X0, "sgd", lr=LR, steps=STEPS, label="constant")
print(constant.summary())
plot_trajectories(abs_kink, constant, panels=("loss",))

# %% [markdown]
# `optilab.optim.run(..., scheduler=name, scheduler_kwargs={...})` attaches a torch scheduler
# to the same loop and records the rate of every step (`trajectory.lrs`), which the `"lr"`
# panel draws next to the path.
#
# ## 2. StepLR: a staircase
#
# `StepLR(optimizer, step_size, gamma)` multiplies the rate by $\gamma$ every `step_size`
# steps.

# %%
q1

# %%
def step_lr(lr0, step_size, gamma, k):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 4.1: return the learning rate of step k")
    return lr0 * gamma ** (k // step_size)
    # END SOLUTION


q1.check(step_lr)

# %%
stepped = run(abs_kink, X0, "sgd", lr=LR, steps=STEPS, scheduler="step",
              scheduler_kwargs=dict(step_size=10, gamma=0.5), label="StepLR")
rate = q1.use(step_lr)
print("your formula gives torch's rates:", agrees(lambda k: rate(LR, 10, 0.5, k), stepped))
print(stepped.summary())
plot_trajectories(abs_kink, [constant, stepped], panels=("loss", "lr"))

# %% [markdown]
# Each drop halves the step, so the bouncing halves too: the error falls in stairs, like the
# rate.
#
# ## 3. MultiStepLR: drops where you choose
#
# `MultiStepLR(optimizer, milestones, gamma)` multiplies the rate by $\gamma$ at each
# milestone: a staircase with uneven steps, e.g. drop when training usually stalls.

# %%
q2

# %%
def multistep_lr(lr0, milestones, gamma, k):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 4.2: return the learning rate of step k")
    return lr0 * gamma ** sum(m <= k for m in milestones)
    # END SOLUTION


q2.check(multistep_lr)

# %%
milestones = [10, 20, 25]
multistep = run(abs_kink, X0, "sgd", lr=LR, steps=STEPS, scheduler="multistep",
                scheduler_kwargs=dict(milestones=milestones, gamma=0.3), label="MultiStepLR")
rate = q2.use(multistep_lr)
print("your formula gives torch's rates:",
      agrees(lambda k: rate(LR, milestones, 0.3, k), multistep))
print(multistep.summary())

# %% [markdown]
# ## 4. ExponentialLR: a decay at every step
#
# `ExponentialLR(optimizer, gamma)` multiplies the rate by $\gamma$ after every step:
# $\eta_k = \eta_0 \gamma^k$. Time to write the whole loop yourself, in the right order.

# %%
q3

# %%
def train(x0, lr, gamma, steps):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 4.3: SGD + ExponentialLR on 5|x|; return the points")
    x = torch.tensor([x0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([x], lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    points = [x.item()]
    for _ in range(steps):
        optimizer.zero_grad()
        (5 * x.abs().sum()).backward()
        optimizer.step()
        scheduler.step()
        points.append(x.item())
    return np.array(points)
    # END SOLUTION


q3.check(train)

# %% [markdown]
# On $5|x|$ the exponential schedule has a *distance budget*: the run travels at most
#
# $$\sum_{k \ge 0} 5 \eta_0 \gamma^k = \frac{5 \eta_0}{1 - \gamma}.$$
#
# With $\eta_0 = 0.3$: $\gamma = 0.5$ allows a distance of 3, less than the 4 to the minimum,
# so the run stops short of it, near $x = 1$, however long it runs. $\gamma = 0.95$
# allows 30, but the rate shrinks so slowly that the bouncing is still wide after 40 steps.
# $\gamma = 0.8$ is about right.

# %%
path = q3.use(train)(X0, LR, 0.8, STEPS)
print(f"your loop, gamma = 0.8: x_40 = {path[-1]:.2g}")
decays = race(abs_kink, X0, {f"gamma = {g}": dict(scheduler="exponential",
                                                   scheduler_kwargs=dict(gamma=g))
                             for g in (0.5, 0.8, 0.95)},
              optimizer="sgd", lr=LR, steps=STEPS)
plot_trajectories(abs_kink, decays, panels=("loss", "lr"))

# %% [markdown]
# ## 5. LambdaLR: any factor you like
#
# `LambdaLR(optimizer, lr_lambda)` uses $\eta_k = \eta_0 \cdot \lambda(k)$ for a function
# $\lambda$ of your choice. A common one is a **warm-up**: start with small steps while the
# first gradients (and Adam's running averages) are unreliable, then use the full rate.

# %%
q4

# %%
def warmup(k):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 4.4: return the factor for step k")
    return min(1.0, (k + 1) / 5)
    # END SOLUTION


q4.check(warmup)

# %% [markdown]
# A warm-up alone ends at the full rate, so on $5|x|$ it bounces like the constant rate. The
# factor $5 / (k + 5)$ decays like $1/k$: its sum diverges (it always arrives, from any
# start), but slowly. Multiplying the two gives a warm-up followed by a decay.

# %%
ramp = q4.use(warmup)
factors = {
    "warm-up": ramp,
    "5 / (k + 5)": lambda k: 5 / (k + 5),
    "warm-up, then 5 / (k + 5)": lambda k: ramp(k) * 5 / (k + 5),
}
lambdas = race(abs_kink, X0, {name: dict(scheduler="lambda",
                                         scheduler_kwargs=dict(lr_lambda=factor))
                              for name, factor in factors.items()},
               optimizer="sgd", lr=LR, steps=STEPS)
plot_trajectories(abs_kink, lambdas, panels=("loss", "lr"))

# %% [markdown]
# ## 6. CosineAnnealingLR: slow, fast, slow
#
# `CosineAnnealingLR(optimizer, T_max)` follows half a cosine from $\eta_0$ down to 0 over
# `T_max` steps: it stays near $\eta_0$ for a while (progress), falls fastest in the middle,
# and approaches 0 gently (settling).

# %%
q5

# %%
def cosine_lr(lr0, T_max, k):
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError("Exercise 4.5: return the cosine schedule's rate at step k")
    return lr0 * (1 + np.cos(np.pi * k / T_max)) / 2
    # END SOLUTION


q5.check(cosine_lr)

# %%
cosine = run(abs_kink, X0, "sgd", lr=LR, steps=STEPS, scheduler="cosine",
             scheduler_kwargs=dict(T_max=STEPS), label="cosine")
rate = q5.use(cosine_lr)
print("your formula gives torch's rates:", agrees(lambda k: rate(LR, STEPS, k), cosine))
print(cosine.summary())

# %% [markdown]
# ## 7. OneCycleLR: up, then down
#
# `OneCycleLR(optimizer, max_lr, total_steps)` starts at `max_lr / 25`, rises along a cosine
# to `max_lr` over the first 30 % of the steps, then anneals to `max_lr / 25 / 10^4`. It
# sets the rate itself (the optimizer's `lr` is ignored) and, by default, also cycles the
# momentum the opposite way (from 0.95 down to 0.85 and back), even for `SGD` created
# without momentum: `cycle_momentum=False` keeps plain SGD here. It was designed for
# training networks fast, with a large peak rate in the middle of the run. On $5|x|$ the slow
# start wastes a few steps, and where the run ends depends on where the iterate is when the
# rate collapses.

# %%
onecycle = run(abs_kink, X0, "sgd", lr=LR, steps=STEPS, scheduler="onecycle",
               scheduler_kwargs=dict(max_lr=LR, total_steps=STEPS, cycle_momentum=False),
               label="one-cycle")
print(f"rates: first {onecycle.lrs[0]:.3g}, peak {onecycle.lrs.max():.3g} at step "
      f"{onecycle.lrs.argmax()}, last {onecycle.lrs[-1]:.2g}")
print(onecycle.summary())

# %% [markdown]
# ## 8. ReduceLROnPlateau: watch the loss
#
# All the schedules above are fixed in advance. `ReduceLROnPlateau(optimizer, factor,
# patience)` reacts to the run instead: it is stepped with the loss, `scheduler.step(loss)`,
# remembers the best loss so far, and multiplies the rate by `factor` when the loss has not
# beaten that best for more than `patience` steps in a row. "Beaten" means below
# best $\times (1 - \text{threshold})$, with `threshold=1e-4` in its default relative mode; after
# a reduction it waits `cooldown` steps (default 0) before counting again, and never goes
# below `min_lr` (default 0).

# %%
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.plot(LOSSES, "o-")
ax.set(xlabel="step k", ylabel="loss", title="LOSSES", xticks=range(len(LOSSES)))
plt.show()
q6

# %%
# BEGIN SOLUTION
# STUB: first_drop = ...   # Exercise 4.6: a step number k
first_drop = 5
# END SOLUTION
q6.check(first_drop)

# %% [markdown]
# On $5|x|$ the plateau scheduler notices the bouncing by itself: once the iterate jumps back
# and forth, the loss stops beating its best, and at the third such step (`patience=2`) the
# rate is halved. The halved bouncing soon stalls again, and so on: a staircase that the run
# chose itself.

# %%
plateau = run(abs_kink, X0, "sgd", lr=LR, steps=STEPS, scheduler="plateau",
              scheduler_kwargs=dict(factor=0.5, patience=2), label="plateau")
print("steps that start a lower rate:", (np.flatnonzero(np.diff(plateau.lrs)) + 1).tolist())
print(plateau.summary())

# %% [markdown]
# ## 9. Side by side
#
# The same start, the same $\eta_0$, seven ways to use it. The loss panel is on a log scale:
# a schedule that decays geometrically gives a straight line.

# %%
runs = {"constant": constant, "StepLR": stepped, "MultiStepLR": multistep,
        "ExponentialLR": decays["gamma = 0.8"], "cosine": cosine, "one-cycle": onecycle,
        "plateau": plateau}
for label, trajectory in runs.items():
    print(f"{label:>13s}: |x_40| = {abs(trajectory.x[0]):.2g}")
plot_trajectories(abs_kink, runs, panels=("loss", "lr"), figsize=(11, 4.5))

# %% [markdown]
# ## Summary
#
# * On a kink (and with noisy gradients) a constant step cannot settle: the rate must decay,
#   but slowly enough to cover the distance ($\sum 5\eta_k \ge |x_0|$ here).
# * `StepLR` and `MultiStepLR` decay in stairs, `ExponentialLR` at every step, `CosineAnnealing`
#   along half a cosine, `LambdaLR` by any factor (warm-ups), `OneCycleLR` up then down;
#   `ReduceLROnPlateau` decides from the loss.
# * In a loop: `optimizer.step()` first, then `scheduler.step()` (with the loss for the
#   plateau scheduler).
