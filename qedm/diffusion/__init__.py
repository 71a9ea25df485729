"""The diffusion stage: schedules, the forward process and loss, the noise engine, schedulers and the loop."""

from qedm.diffusion.clipping import clip_denoised
from qedm.diffusion.noise import NoiseSource, PRNGNoise, QRNGNoise, as_noise_source, make_noise_source
from qedm.diffusion.process import diffusion_loss, predict_x0, q_sample
from qedm.diffusion.samplers import (
    SAMPLERS,
    ddim_sample,
    ddpm_sample,
    dpm_solver_pp_sample,
    dpm_solver_sde_sample,
    make_sampler,
    run_scheduler,
    sample,
)
from qedm.diffusion.schedulers import (
    SCHEDULERS,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverScheduler,
    DPMSolverSDEScheduler,
    Scheduler,
    make_scheduler,
)
from qedm.diffusion.schedules import CosineSchedule, LinearSchedule, Schedule, make_schedule

__all__ = [
    "SCHEDULERS", "DDIMScheduler", "DDPMScheduler", "DPMSolverSDEScheduler", "DPMSolverScheduler", "Scheduler",
    "make_scheduler", "run_scheduler",
    "CosineSchedule", "LinearSchedule", "NoiseSource", "PRNGNoise", "QRNGNoise", "SAMPLERS", "Schedule",
    "as_noise_source", "clip_denoised", "ddim_sample", "ddpm_sample", "diffusion_loss", "dpm_solver_pp_sample",
    "dpm_solver_sde_sample",
    "make_noise_source", "make_sampler", "make_schedule", "predict_x0", "q_sample", "sample",
]
