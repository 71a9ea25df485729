"""The forward (noising) process and the epsilon-prediction training loss."""

from __future__ import annotations

from collections.abc import Callable

import torch

from qedm.diffusion.noise import NoiseSource, as_noise_source
from qedm.diffusion.schedules import Schedule
from qedm.errors import ConfigError

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise; x0, noise: [B, ...], t: [B]."""
    a = schedule.at(schedule.alphas_cumprod, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def predict_x0(x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """Invert q_sample given the noise: x0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)."""
    a = schedule.at(schedule.alphas_cumprod, t, x_t)
    return (x_t - (1 - a).sqrt() * eps) / a.sqrt()


def diffusion_loss(
    eps_model: EpsFn,
    x0: torch.Tensor,
    schedule: Schedule,
    noise: NoiseSource | torch.Generator | int | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Simple DDPM loss: || eps - eps_model(x_t, t) ||^2 with t ~ U{0..T-1}, eps ~ N(0, I).

    x0: [B, d]. `noise` is a NoiseSource (or torch.Generator / seed) for t and eps.
    reduction="mean": scalar mean over batch and features; "none": per-sample [B].
    """
    if reduction not in ("mean", "none"):
        raise ConfigError(f"reduction={reduction!r} is not one of: mean, none")
    source = as_noise_source(noise)
    t = source.randint(schedule.n_steps, (x0.shape[0],), device=x0.device)
    eps = source.normal(tuple(x0.shape), device=x0.device, dtype=x0.dtype)
    pred = eps_model(q_sample(x0, t, eps, schedule), t)
    per_sample = (pred - eps).pow(2).flatten(1).mean(dim=1)
    return per_sample.mean() if reduction == "mean" else per_sample
