"""Schedulers (diffusers' API): one class per reverse-process update rule, one sampling loop for all.

A scheduler knows the schedule's alphas, its timestep grid and its update rule; it never sees
the model (the loop in `qedm.diffusion.samplers` calls the model and hands over its noise
prediction):

    scheduler = make_scheduler("dpm_solver", schedule, clip=(low, high))
    scheduler.set_timesteps(20)                    # spacing= "linspace" | "log_snr"
    x = noise.normal((n, d))
    for t in scheduler.timesteps.tolist():
        x = scheduler.step(eps_fn(x, t), t, x, generator=noise)

Multistep solvers keep their history (the previous x0 prediction and step size) as scheduler
state, reset by `set_timesteps`. `clip=(low, high)` clamps each x0 prediction to the data's
range (diffusers' `clip_sample`, see `qedm.diffusion.clipping`). A new sampler is one new class
with `name`, `default_steps`, `spacing` and `_update`.
"""

from __future__ import annotations

import math

import torch

from qedm.diffusion.clipping import clip_eps
from qedm.diffusion.noise import NoiseSource, as_noise_source
from qedm.diffusion.process import x0_from_eps
from qedm.diffusion.schedules import Schedule
from qedm.diffusion.timesteps import timestep_grid
from qedm.errors import ConfigError

Generator = NoiseSource | torch.Generator | None


class Scheduler:
    """The base of every scheduler: timesteps, the x0 prediction (clipped if asked), step order.

    Subclasses set `name`, `default_steps` (model evaluations when the caller gives none),
    `spacing` (the default timestep grid) and implement `_update(x0, eps, x, i, generator)`,
    the move from timesteps[i] to timesteps[i + 1] (to alpha_bar = 1 after the last one).
    """

    name = "base"
    default_steps = 50
    spacing = "linspace"
    stochastic = False

    def __init__(self, schedule: Schedule, clip: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        self.schedule = schedule
        self.clip = clip
        self.timesteps = torch.zeros(0, dtype=torch.long)
        self._grid: list[int] = []
        self.step_index = 0
        self.reset()

    def set_timesteps(self, n: int | None = None, spacing: str | None = None) -> "Scheduler":
        """Choose the `n` timesteps to visit (T-1 down to 0; None: the default, capped at T)."""
        if n is None:
            n = min(self.default_steps, self.schedule.n_steps)
        grid = timestep_grid(self.schedule, n, spacing or self.spacing)
        self.timesteps = torch.tensor(grid, dtype=torch.long)
        self._grid = grid
        self.step_index = 0
        self.reset()
        return self

    def reset(self) -> None:
        """Forget the multistep history (a no-op for one-step rules)."""

    def alpha_bar(self, i: int) -> float:
        """alpha_bar at timesteps[i]; 1.0 past the last one (the clean data)."""
        return float(self.schedule.alphas_cumprod[self._grid[i]]) if i < len(self._grid) else 1.0

    def step(self, eps: torch.Tensor, t: int, x: torch.Tensor, generator: Generator = None) -> torch.Tensor:
        """x at the next timestep from x at timestep t and the model's noise prediction eps there.

        eps, x: [B, ...]; t must be the next timestep of `timesteps` (steps run in order).
        `generator` (a NoiseSource or torch.Generator) draws the fresh noise of stochastic rules.
        """
        i = self.step_index
        if i >= len(self._grid) or self._grid[i] != int(t):
            expected = self._grid[i] if i < len(self._grid) else "none (all steps done)"
            raise RuntimeError(f"{self.name} scheduler stepped at t={int(t)}, expected t={expected}; "
                               "call set_timesteps and step through `timesteps` in order")
        if self.clip is not None:
            tt = torch.full((x.shape[0],), int(t), dtype=torch.long, device=x.device)
            eps = clip_eps(eps, x, tt, self.schedule, *self.clip)
        x0 = x0_from_eps(x, eps, self.alpha_bar(i))
        source = None if generator is None and not self.stochastic else as_noise_source(generator)
        x = self._update(x0, eps, x, i, source)
        self.step_index = i + 1
        return x

    def _update(self, x0: torch.Tensor, eps: torch.Tensor, x: torch.Tensor, i: int,
                source: NoiseSource | None) -> torch.Tensor:
        raise NotImplementedError

    def _last(self, i: int) -> bool:
        return i + 1 == len(self._grid)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(schedule={self.schedule!r}, timesteps={len(self.timesteps)})"


class DDPMScheduler(Scheduler):
    """Ancestral sampling (Ho et al. 2020) with the posterior variance beta~_t.

    On fewer timesteps than T the chain is respaced (Nichol & Dhariwal): the betas between the
    kept timesteps are recomputed from alpha_bar. Each step draws from q(x_prev | x_t, x0_hat).
    """

    name = "ddpm"
    default_steps = 200  # scored the fidelity of all 1000 on the bundled tables at a fifth of the cost
    stochastic = True

    def _update(self, x0, eps, x, i, source):
        a_t, a_prev = self.alpha_bar(i), self.alpha_bar(i + 1)
        beta = 1.0 - a_t / a_prev
        # Posterior mean of q(x_prev | x_t, x0) (Ho et al. eq. 7).
        x = (a_prev ** 0.5 * beta * x0 + (1.0 - beta) ** 0.5 * (1.0 - a_prev) * x) / (1.0 - a_t)
        if not self._last(i):
            var = beta * (1.0 - a_prev) / (1.0 - a_t)
            x = x + var ** 0.5 * source.normal(tuple(x.shape), device=x.device, dtype=x.dtype)
        return x


class DDIMScheduler(Scheduler):
    """DDIM (Song et al. 2021); eta=0 is deterministic, eta=1 the respaced DDPM step.

    The last step goes to alpha_bar = 1, i.e. returns the x0 prediction.
    """

    name = "ddim"
    default_steps = 50

    def __init__(self, schedule: Schedule, clip=None, eta: float = 0.0) -> None:
        if not eta >= 0:
            raise ConfigError(f"eta must be >= 0, got {eta}")
        super().__init__(schedule, clip)
        self.eta = float(eta)
        self.stochastic = self.eta > 0

    def _update(self, x0, eps, x, i, source):
        a_t, a_prev = self.alpha_bar(i), self.alpha_bar(i + 1)
        sigma = self.eta * ((1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev)) ** 0.5
        x_next = a_prev ** 0.5 * x0 + max(1.0 - a_prev - sigma ** 2, 0.0) ** 0.5 * eps
        if sigma > 0:
            x_next = x_next + sigma * source.normal(tuple(x.shape), device=x.device, dtype=x.dtype)
        return x_next


class _DPMSolverBase(Scheduler):
    """The DPM solvers' shared part: log-SNR timesteps and the (x0, h) history of the last step."""

    default_steps = 20
    spacing = "log_snr"

    def reset(self) -> None:
        self.x0_prev: torch.Tensor | None = None
        self.h_prev: float | None = None

    def _coefficients(self, i: int) -> tuple[float, float, float, float]:
        """(sigma_t, sigma_next, alpha_next, h) between timesteps[i] and timesteps[i + 1]."""
        t, t_next = self._grid[i], self._grid[i + 1]
        abar, lam = self.schedule.alphas_cumprod, self.schedule.log_snr
        sigma = (1.0 - float(abar[t])) ** 0.5
        sigma_next = (1.0 - float(abar[t_next])) ** 0.5
        alpha_next = float(abar[t_next]) ** 0.5
        return sigma, sigma_next, alpha_next, float(lam[t_next]) - float(lam[t])


class DPMSolverScheduler(_DPMSolverBase):
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2): multistep 2nd order on the data prediction.

    Model evaluations sit at timesteps evenly spaced in log-SNR lambda; the update integrates
    in lambda between them with the exact discrete alpha_bar at each timestep. The last step
    (to sigma = 0) is first order and returns the x0 prediction.
    """

    name = "dpm_solver"

    def _update(self, x0, eps, x, i, source):
        if self._last(i):
            return x0  # sigma_next = 0: the first-order step lands on the data prediction
        sigma, sigma_next, alpha_next, h = self._coefficients(i)
        d = x0
        if self.x0_prev is not None:
            r = self.h_prev / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * self.x0_prev
        self.x0_prev, self.h_prev = x0, h
        return (sigma_next / sigma) * x - alpha_next * math.expm1(-h) * d


class DPMSolverSDEScheduler(_DPMSolverBase):
    """DPM-Solver++(2M) SDE (Lu et al. 2022, sec. 5 / App. B): multistep 2nd order on the reverse SDE.

    Same log-SNR timesteps as DPMSolverScheduler, but each step solves the reverse-time SDE (as
    diffusers' "sde-dpmsolver++" and k-diffusion's `sample_dpmpp_2m_sde`, midpoint form): with
    h = lambda_next - lambda and D the (extrapolated) data prediction,
    x_next = (sigma_next / sigma) e^-h x + alpha_next (1 - e^-2h) D + sigma_next sqrt(1 - e^-2h) z.
    Fresh noise z at every step but the last, which returns the x0 prediction.
    """

    name = "dpm_solver_sde"
    stochastic = True

    def _update(self, x0, eps, x, i, source):
        if self._last(i):
            return x0  # sigma_next = 0: e^-h = 0, no noise, the step lands on the data prediction
        sigma, sigma_next, alpha_next, h = self._coefficients(i)
        one_minus = -math.expm1(-2.0 * h)  # 1 - e^-2h
        d = x0
        if self.x0_prev is not None:
            d = x0 + (0.5 * h / self.h_prev) * (x0 - self.x0_prev)  # midpoint: D0 + D1 / 2
        z = source.normal(tuple(x.shape), device=x.device, dtype=x.dtype)
        self.x0_prev, self.h_prev = x0, h
        return (sigma_next / sigma * math.exp(-h)) * x + (alpha_next * one_minus) * d \
            + (sigma_next * one_minus ** 0.5) * z


SCHEDULERS: dict[str, type[Scheduler]] = {
    cls.name: cls for cls in (DDPMScheduler, DDIMScheduler, DPMSolverScheduler, DPMSolverSDEScheduler)
}
ALIASES = {"dpm_solver_pp": "dpm_solver", "dpm-solver": "dpm_solver", "dpm-solver++": "dpm_solver",
           "dpmpp_2m": "dpm_solver", "dpmpp_2m_sde": "dpm_solver_sde", "sde-dpmsolver++": "dpm_solver_sde"}


def scheduler_class(name: str) -> type[Scheduler]:
    """The scheduler class named `name` (or one of its aliases); ConfigError lists the names."""
    key = ALIASES.get(name, name)
    if key not in SCHEDULERS:
        raise ConfigError(f"sampler={name!r} is not one of: {', '.join(SCHEDULERS)}")
    return SCHEDULERS[key]


def make_scheduler(name: str, schedule: Schedule, clip=None, **options) -> Scheduler:
    """A scheduler by name ("ddpm" | "ddim" | "dpm_solver" | "dpm_solver_sde") on `schedule`.

    `options` are the class's own settings (eta for ddim); another is a ConfigError naming it.
    """
    cls = scheduler_class(name)
    if options and cls is not DDIMScheduler:
        raise ConfigError(f"{', '.join(options)} applies to the ddim sampler only, got it with sampler={name!r}")
    return cls(schedule, clip, **options)
