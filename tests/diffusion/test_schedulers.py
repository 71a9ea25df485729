"""The scheduler API (diffusers' shape): it reproduces the pre-scheduler samplers exactly, and steps in order."""

from pathlib import Path

import pytest
import torch

from qedm.diffusion.clipping import clip_denoised
from qedm.diffusion.samplers import run_scheduler, sample
from qedm.diffusion.schedulers import SCHEDULERS, DPMSolverScheduler, make_scheduler
from qedm.diffusion.schedules import make_schedule
from qedm.errors import ConfigError

GOLDEN = Path(__file__).parent / "data" / "sampler_golden.pt"
LOW, HIGH = torch.tensor([-1.0, -2.0, -0.5]), torch.tensor([1.0, 0.5, 2.0])


def toy_eps(schedule):
    """The predictor make_sampler_golden.py recorded with (nonlinear in x and t)."""
    from tests.diffusion.make_sampler_golden import toy_eps as recorded

    return recorded(schedule)


def golden_cases():
    return list(torch.load(GOLDEN, weights_only=True).items())


@pytest.mark.parametrize("key,expected", golden_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_schedulers_reproduce_the_old_samplers_exactly(key, expected):
    """Same seed, same tensors: each scheduler, through one loop, with clipping as its option.

    The golden tensors were recorded on another CPU; vectorised float kernels differ in the last bits
    between instruction sets, so the recorded values are matched to a rounding tolerance (a wrong update
    rule is off by O(1)), and the two clipping forms are compared bit for bit on this machine.
    """
    name, schedule_name, n_steps, steps, eta, clip, dtype = eval(key)  # a tuple of literals we wrote
    sch = make_schedule(schedule_name, n_steps)
    options = {"eta": eta} if name == "ddim" else {}
    scheduler = make_scheduler(name, sch, clip=(LOW, HIGH) if clip else None, **options)
    scheduler.set_timesteps(steps)
    got = run_scheduler(toy_eps(sch), scheduler, (6, 3), noise=11, dtype=getattr(torch, dtype))
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    torch.testing.assert_close(got, expected, rtol=tolerance, atol=tolerance)
    # The eps_fn wrapper form of clipping gives the same tensors as the scheduler option.
    if clip:
        wrapped = sample(clip_denoised(toy_eps(sch), sch, LOW, HIGH), sch, 6, 3, sampler=name, steps=steps,
                         eta=eta, generator=11, dtype=getattr(torch, dtype))
        assert torch.equal(wrapped, got)


def test_set_timesteps_spacings_and_defaults():
    sch = make_schedule("cosine", 1000)
    for name, cls in SCHEDULERS.items():
        scheduler = make_scheduler(name, sch).set_timesteps()
        assert len(scheduler.timesteps) == cls.default_steps and scheduler.timesteps[0] == 999
        assert scheduler.timesteps[-1] == 0 and bool((scheduler.timesteps.diff() < 0).all())
    ddim = make_scheduler("ddim", sch).set_timesteps(5)
    assert ddim.timesteps.tolist() == [999, 749, 500, 250, 0]  # linspace(999, 0, 5) rounded
    dpm_lin = DPMSolverScheduler(sch).set_timesteps(5, spacing="linspace")
    assert dpm_lin.timesteps.tolist() == ddim.timesteps.tolist()
    assert DPMSolverScheduler(sch).set_timesteps(5).timesteps.tolist() != ddim.timesteps.tolist()
    with pytest.raises(ConfigError, match="spacing='karras'"):
        make_scheduler("ddim", sch).set_timesteps(5, spacing="karras")
    with pytest.raises(ConfigError, match="steps must be an integer in 1..1000"):
        make_scheduler("ddim", sch).set_timesteps(1001)
    assert len(make_scheduler("ddpm", make_schedule("linear", 50)).set_timesteps().timesteps) == 50  # capped at T


def test_multistep_history_is_scheduler_state_and_steps_run_in_order():
    sch = make_schedule("linear", 100)
    eps = toy_eps(sch)
    scheduler = make_scheduler("dpm_solver", sch).set_timesteps(6)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    first = scheduler.timesteps[0].item()
    scheduler.step(eps(x, torch.full((4,), first)), first, x)
    assert scheduler.x0_prev is not None and scheduler.h_prev is not None
    with pytest.raises(RuntimeError, match="stepped at t=99, expected t="):
        scheduler.step(eps(x, torch.full((4,), first)), first, x)  # the same timestep twice
    scheduler.set_timesteps(6)  # a new run forgets the history
    assert scheduler.x0_prev is None and scheduler.step_index == 0


def test_a_new_sampler_is_one_class():
    """A subclass with only _update runs through the same loop (here: the deterministic x0 jump)."""
    from qedm.diffusion.schedulers import Scheduler

    class JumpScheduler(Scheduler):
        name = "jump"

        def _update(self, x0, eps, x, i, source):
            a_next = self.alpha_bar(i + 1)
            return a_next ** 0.5 * x0 + (1 - a_next) ** 0.5 * eps

    sch = make_schedule("cosine", 200)
    jump = run_scheduler(toy_eps(sch), JumpScheduler(sch).set_timesteps(10), (5, 3), noise=2)
    ddim = run_scheduler(toy_eps(sch), make_scheduler("ddim", sch).set_timesteps(10), (5, 3), noise=2)
    torch.testing.assert_close(jump, ddim)  # it is DDIM with eta = 0
