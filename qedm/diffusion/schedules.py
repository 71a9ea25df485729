"""Noise schedules: the betas of a discrete diffusion and the quantities derived from them.

Everything is kept in float64 (cumulative products of ~1000 factors lose digits in float32)
and cast to the caller's dtype on use (`Schedule.at`).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from qedm.errors import ConfigError


class Schedule:
    """A discrete schedule of `n_steps` betas; t runs over 0 .. n_steps-1 (t=0 is least noisy).

    betas, alphas = 1 - betas, alphas_cumprod = prod_{s<=t} alphas_s: all float64 [n_steps].
    """

    name = "custom"

    def __init__(self, betas: torch.Tensor) -> None:
        betas = torch.as_tensor(betas, dtype=torch.float64).flatten()
        if betas.numel() < 2:
            raise ConfigError(f"n_steps must be at least 2, got {betas.numel()}")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ConfigError("betas must all lie in (0, 1)")
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)

    @property
    def n_steps(self) -> int:
        return int(self.betas.numel())

    @property
    def log_snr(self) -> torch.Tensor:
        """lambda_t = log(alpha_t / sigma_t) with alpha_t^2 = alphas_cumprod: float64 [n_steps]."""
        a = self.alphas_cumprod
        return 0.5 * (torch.log(a) - torch.log1p(-a))

    def at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t] as a column broadcastable against `like` ([B, ...]), in like's dtype/device."""
        out = values.to(like.device)[t.to(like.device).long()].to(like.dtype)
        return out.reshape(-1, *([1] * (like.dim() - 1)))

    def config(self) -> dict[str, Any]:
        """The arguments that rebuild this schedule with `make_schedule(**config)`."""
        return {"name": self.name, "n_steps": self.n_steps}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class LinearSchedule(Schedule):
    """Ho et al. (2020): betas evenly spaced from beta_start to beta_end."""

    name = "linear"

    def __init__(self, n_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> None:
        _check_steps(n_steps)
        if not 0 < beta_start <= beta_end < 1:
            raise ConfigError(
                f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}"
            )
        self.beta_start, self.beta_end = float(beta_start), float(beta_end)
        super().__init__(torch.linspace(beta_start, beta_end, n_steps, dtype=torch.float64))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "beta_start": self.beta_start, "beta_end": self.beta_end}


class CosineSchedule(Schedule):
    """Nichol & Dhariwal (2021): alpha_bar(t) = f(t)/f(0), f(t) = cos^2(((t/T + s)/(1 + s)) pi/2).

    betas_t = 1 - alpha_bar(t+1)/alpha_bar(t), clipped to `max_beta` (0.999) so the last steps
    do not collapse to beta = 1.
    """

    name = "cosine"

    def __init__(self, n_steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> None:
        _check_steps(n_steps)
        if not s >= 0:
            raise ConfigError(f"s must be >= 0, got {s}")
        if not 0 < max_beta < 1:
            raise ConfigError(f"max_beta must lie in (0, 1), got {max_beta}")
        self.s, self.max_beta = float(s), float(max_beta)
        grid = torch.arange(n_steps + 1, dtype=torch.float64) / n_steps
        f = torch.cos((grid + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bar = f / f[0]
        betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(min=0.0, max=max_beta)
        super().__init__(betas.clamp(min=1e-12))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "s": self.s, "max_beta": self.max_beta}


SCHEDULES = {"linear": LinearSchedule, "cosine": CosineSchedule}


def make_schedule(name: str, n_steps: int = 1000, **kwargs: Any) -> Schedule:
    """Build a schedule by name ("linear" | "cosine").

    For "linear" without explicit betas, beta_start/beta_end are scaled by 1000/n_steps
    (improved-diffusion's rule, identical at 1000 steps) so alpha_bar at the last step stays
    near 0 for short chains too.
    """
    if name not in SCHEDULES:
        raise ConfigError(f"schedule={name!r} is not one of: {', '.join(SCHEDULES)}")
    _check_steps(n_steps)
    if name == "linear":
        scale = 1000.0 / n_steps
        kwargs.setdefault("beta_start", min(1e-4 * scale, 0.999))
        kwargs.setdefault("beta_end", min(0.02 * scale, 0.999))
    try:
        return SCHEDULES[name](n_steps=n_steps, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad argument for schedule {name!r}: {exc}") from exc


def _check_steps(n_steps: Any) -> None:
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 2:
        raise ConfigError(f"n_steps must be an integer >= 2, got {n_steps!r}")
