"""Keep the denoiser's x0 prediction inside the range the training data spans.

At the noisiest steps alpha_bar is close to 0, so the implied x0 = (x_t - sqrt(1 - a) eps) / sqrt(a)
magnifies any error in eps by 1/sqrt(a) (hundreds of times with a cosine schedule), and the
samplers diverge unless the denoiser is near perfect there. Clipping x0 to the data's range and
re-deriving eps from it (diffusers' `clip_sample`) keeps every sampler stable; it wraps eps_fn,
so DDPM, DDIM and DPM-Solver all get it without knowing.
"""

from __future__ import annotations

import torch

from qedm.diffusion.process import EpsFn, eps_from_x0, x0_from_eps
from qedm.diffusion.schedules import Schedule


def clip_eps(eps: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, schedule: Schedule,
             low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """The noise whose implied x0 is clamped to [low, high] (per feature, [d]): eps, x_t [B, d], t [B]."""
    a = schedule.at(schedule.alphas_cumprod, t, x_t)
    x0 = x0_from_eps(x_t, eps, a)
    x0 = torch.maximum(torch.minimum(x0, high.to(x0)), low.to(x0))
    return eps_from_x0(x_t, x0, a)


def clip_denoised(eps_fn: EpsFn, schedule: Schedule, low: torch.Tensor, high: torch.Tensor) -> EpsFn:
    """eps_fn whose implied x0 is clamped to [low, high] (per feature, shapes [d]).

    The schedulers do this themselves with `clip=(low, high)`; this wrapper is for callers
    of an eps_fn outside them.
    """
    return lambda x_t, t: clip_eps(eps_fn(x_t, t), x_t, t, schedule, low, high)
