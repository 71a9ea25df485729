"""Keep the denoiser's x0 prediction inside the range the training data spans.

At the noisiest steps alpha_bar is close to 0, so the implied x0 = (x_t - sqrt(1 - a) eps) / sqrt(a)
magnifies any error in eps by 1/sqrt(a) (hundreds of times with a cosine schedule), and the
samplers diverge unless the denoiser is near perfect there. Clipping x0 to the data's range and
re-deriving eps from it (diffusers' `clip_sample`) keeps every sampler stable; it wraps eps_fn,
so DDPM, DDIM and DPM-Solver all get it without knowing.
"""

from __future__ import annotations

import torch

from qedm.diffusion.process import EpsFn
from qedm.diffusion.schedules import Schedule


def clip_denoised(eps_fn: EpsFn, schedule: Schedule, low: torch.Tensor, high: torch.Tensor) -> EpsFn:
    """eps_fn whose implied x0 is clamped to [low, high] (per feature, shapes [d])."""

    def clipped(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        eps = eps_fn(x_t, t)
        a = schedule.at(schedule.alphas_cumprod, t, x_t)
        x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
        x0 = torch.maximum(torch.minimum(x0, high.to(x0)), low.to(x0))
        return (x_t - a.sqrt() * x0) / (1 - a).sqrt()

    return clipped
