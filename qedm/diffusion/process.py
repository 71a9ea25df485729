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


def x0_from_eps(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar: float | torch.Tensor) -> torch.Tensor:
    """Invert q_sample given the noise: x0 = (x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar).

    The one place this formula is written; `alpha_bar` is a float (samplers) or a column
    broadcastable against x_t (a tensor of alpha_bar_t per row).
    """
    return (x_t - (1 - alpha_bar) ** 0.5 * eps) / alpha_bar ** 0.5


def eps_from_x0(x_t: torch.Tensor, x0: torch.Tensor, alpha_bar: float | torch.Tensor) -> torch.Tensor:
    """The noise that takes x0 to x_t: eps = (x_t - sqrt(alpha_bar) x0) / sqrt(1 - alpha_bar)."""
    return (x_t - alpha_bar ** 0.5 * x0) / (1 - alpha_bar) ** 0.5


def predict_x0(x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """x0 implied by the noise eps at timesteps t: [B, ...] (t: [B])."""
    return x0_from_eps(x_t, eps, schedule.at(schedule.alphas_cumprod, t, x_t))


def diffusion_loss(
    eps_model: EpsFn,
    x0: torch.Tensor,
    schedule: Schedule,
    generator: NoiseSource | torch.Generator | int | None = None,
    y: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Simple DDPM loss: || eps - eps_model(x_t, t[, y]) ||^2, t ~ U{0..T-1}, eps ~ N(0, I).

    x0: [B, d]; y: optional class labels [B] passed through to the model (-1 = no class).
    `generator` is a torch.Generator, a NoiseSource (e.g. "qrng") or an int seed; it draws t
    first, then eps. reduction="mean": scalar over batch and features; "none": per-sample [B].
    """
    if reduction not in ("mean", "none"):
        raise ConfigError(f"reduction={reduction!r} is not one of: mean, none")
    source = as_noise_source(generator)
    t = source.randint(schedule.n_steps, (x0.shape[0],), device=x0.device)
    eps = source.normal(tuple(x0.shape), device=x0.device, dtype=x0.dtype)
    x_t = q_sample(x0, t, eps, schedule)
    pred = eps_model(x_t, t) if y is None else eps_model(x_t, t, y)
    per_sample = (pred - eps).pow(2).flatten(1).mean(dim=1)
    return per_sample.mean() if reduction == "mean" else per_sample
