"""Timestep grids of the reverse process: which of the schedule's T timesteps a sampler visits.

Every grid runs from T-1 down to 0 with distinct integer timesteps (the model was trained on
integers), so a sampler makes exactly `n` model evaluations.
  "linspace": evenly spaced in t (DDPM respacing, DDIM).
  "log_snr":  near an even grid in log-SNR lambda (the DPM solvers' choice).
"""

from __future__ import annotations

from typing import Any

import torch

from qedm.diffusion.schedules import Schedule
from qedm.errors import ConfigError

SPACINGS = ("linspace", "log_snr")


def check_steps(steps: Any, n_steps: int) -> int:
    """`steps` if it is an integer in 1..n_steps, else ConfigError naming it."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= n_steps:
        raise ConfigError(f"steps must be an integer in 1..{n_steps} (the schedule's n_steps), got {steps!r}")
    return steps


def linspace_timesteps(schedule: Schedule, steps: int | None) -> list[int]:
    """`steps` evenly spaced timesteps from T-1 down to 0 (all T when steps is None)."""
    n = schedule.n_steps
    if steps is None:
        return list(range(n - 1, -1, -1))
    check_steps(steps, n)
    grid = torch.linspace(n - 1, 0, steps, dtype=torch.float64).round().long()
    return [int(v) for v in torch.unique_consecutive(grid)]


def log_snr_timesteps(schedule: Schedule, steps: int) -> list[int]:
    """`steps` distinct integer timesteps from T-1 down to 0, near an even grid in log-SNR.

    lambda(t) of the discrete schedule is interpolated linearly to find the (fractional) t of
    each target lambda; rounding keeps the model on the integer timesteps it was trained on.
    Where rounding lands two targets on one timestep (near t=0, where lambda changes fastest),
    the nearest free timesteps are taken instead, so the sampler makes exactly `steps` model
    evaluations.
    """
    check_steps(steps, schedule.n_steps)
    lam = schedule.log_snr  # decreasing in t
    targets = torch.linspace(float(lam[-1]), float(lam[0]), steps, dtype=torch.float64)
    # Interpolate t(lambda) over the increasing sequence lam.flip(0).
    lam_inc = lam.flip(0)
    t_inc = torch.arange(schedule.n_steps - 1, -1, -1, dtype=torch.float64)
    idx = torch.searchsorted(lam_inc, targets).clamp(1, schedule.n_steps - 1)
    l0, l1 = lam_inc[idx - 1], lam_inc[idx]
    w = ((targets - l0) / (l1 - l0)).clamp(0, 1)
    t_frac = t_inc[idx - 1] + w * (t_inc[idx] - t_inc[idx - 1])
    ts = [int(v) for v in t_frac.round().long()]  # non-increasing, ts[0] = T-1, ts[-1] = 0
    # Strictly decreasing with the least change: push duplicates up from t=0 (ts[k] >= steps-1-k),
    # then cap from ts[0] = T-1 down (ts[k] <= ts[k-1]-1), which keeps the first pass's bound.
    for k in range(steps - 2, -1, -1):
        ts[k] = max(ts[k], ts[k + 1] + 1)
    ts[0] = schedule.n_steps - 1
    for k in range(1, steps):
        ts[k] = min(ts[k], ts[k - 1] - 1)
    return ts


def timestep_grid(schedule: Schedule, steps: int | None, spacing: str) -> list[int]:
    """The timesteps named by `spacing` ("linspace" | "log_snr"); steps=None: all T."""
    if spacing == "linspace":
        return linspace_timesteps(schedule, steps)
    if spacing == "log_snr":
        return log_snr_timesteps(schedule, schedule.n_steps if steps is None else steps)
    raise ConfigError(f"spacing={spacing!r} is not one of: {', '.join(SPACINGS)}")
