"""Samplers driven by the exact eps of known distributions (closed-form scores)."""
import math

import numpy as np
import pytest
import torch

from qedm.diffusion.samplers import (
    ddim_sample,
    ddpm_sample,
    dpm_solver_pp_sample,
    dpm_solver_sde_sample,
    make_sampler,
    sample,
)
from qedm.diffusion.schedules import make_schedule
from qedm.diffusion.timesteps import log_snr_timesteps
from qedm.errors import ConfigError

MU, S = 1.5, 0.5


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one intra-op thread avoids oversubscribing the shared CPU (far faster here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
SCHEDULES = {name: make_schedule(name, 1000) for name in ("linear", "cosine")}


def gaussian_eps(schedule, mu=MU, s=S):
    """eps*(x_t, t) = sigma_t (x_t - a_t mu) / (a_t^2 s^2 + sigma_t^2) for data N(mu, s^2)."""
    ab = schedule.alphas_cumprod

    def eps(x, t):
        a = ab[t].to(x.dtype)[:, None]
        return (1 - a).sqrt() * (x - a.sqrt() * mu) / (a * s * s + 1 - a)

    return eps


def mixture_eps(schedule, weights=(0.3, 0.7), mus=(-2.0, 2.0), s=0.5):
    """eps* = -sigma_t * score of p_t = sum_k w_k N(a_t mu_k, a_t^2 s^2 + sigma_t^2) (1-D)."""
    ab = schedule.alphas_cumprod
    logw, mus = torch.log(torch.tensor(weights, dtype=torch.float64)), torch.tensor(mus, dtype=torch.float64)

    def eps(x, t):
        a = ab[t][:, None]
        v = a * s * s + 1 - a
        diff = x.double() - a.sqrt() * mus  # [B, K]
        logp = logw - 0.5 * diff ** 2 / v - 0.5 * torch.log(v)
        r = torch.softmax(logp, dim=1)
        score = (r * (-diff / v)).sum(dim=1, keepdim=True)
        return (-(1 - a).sqrt() * score).to(x.dtype)

    return eps


# (sampler, steps): DDPM walks the full chain of a 250-step schedule; the others stride it.
CASES = [("ddpm", None), ("ddim", 100), ("dpm_solver", 20), ("dpm_solver_sde", 20)]
SHORT = {name: make_schedule(name, 250) for name in ("linear", "cosine")}


@pytest.mark.parametrize("schedule_name", ["linear", "cosine"])
@pytest.mark.parametrize("name,steps", CASES)
def test_recovers_gaussian(schedule_name, name, steps):
    sch = SHORT[schedule_name]
    x = sample(gaussian_eps(sch), sch, 2000, 1, sampler=name, steps=steps, generator=0)
    assert x.shape == (2000, 1)
    assert x.mean().item() == pytest.approx(MU, abs=0.04)
    assert x.std().item() == pytest.approx(S, rel=0.06)


@pytest.mark.parametrize("name,steps", CASES)
def test_recovers_mixture_weights(name, steps):
    sch = SHORT["cosine"]
    x = sample(mixture_eps(sch), sch, 2000, 1, sampler=name, steps=steps, generator=1)
    right = x[x > 0]
    # The SDE solver's 20 steps carry more discretization error (measured +0.065 on the right mean
    # with 40k samples; 0.001 at 50 steps, see test_sde_converges_with_steps).
    mean_tol = 0.1 if name == "dpm_solver_sde" else 0.06
    assert (x > 0).float().mean().item() == pytest.approx(0.7, abs=0.035)
    assert right.mean().item() == pytest.approx(2.0, abs=mean_tol)
    assert right.std().item() == pytest.approx(0.5, rel=0.12)


def test_ddim_eta_one_is_respaced_ddpm():
    """DDIM with eta=1 takes exactly the ancestral (posterior-variance) step of the respaced chain."""
    sch = SHORT["linear"]
    ddim = ddim_sample(gaussian_eps(sch), sch, (300, 2), noise=5, steps=25, eta=1.0, dtype=torch.float64)
    ddpm = ddpm_sample(gaussian_eps(sch), sch, (300, 2), noise=5, steps=25, dtype=torch.float64)
    torch.testing.assert_close(ddim, ddpm, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("schedule_name", ["linear", "cosine"])
def test_ode_samplers_follow_the_exact_flow(schedule_name):
    """For Gaussian data the probability-flow ODE is affine: x0 = mu + s (x_T - a_T mu) / sqrt(v_T)."""
    sch = SCHEDULES[schedule_name]
    eps = gaussian_eps(sch)
    shape = (500, 1)
    x_T = torch.randn(shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    a_T = float(sch.alphas_cumprod[-1])
    exact = MU + S * (x_T - math.sqrt(a_T) * MU) / math.sqrt(a_T * S * S + 1 - a_T)
    ddim = ddim_sample(eps, sch, shape, noise=4, steps=200, dtype=torch.float64)
    dpm = dpm_solver_pp_sample(eps, sch, shape, noise=4, steps=20, dtype=torch.float64)
    dpm_fine = dpm_solver_pp_sample(eps, sch, shape, noise=4, steps=200, dtype=torch.float64)
    assert (ddim - exact).abs().max() < 0.03
    assert (dpm - exact).abs().max() < 0.06
    assert (dpm_fine - exact).abs().max() < 2e-3
    assert (dpm - ddim).abs().max() < 0.08  # DDIM(eta=0) and DPM-Solver++ solve the same ODE
    # DPM-Solver++(2M) is second order: 20 of its steps beat 20 DDIM steps.
    ddim20 = ddim_sample(eps, sch, shape, noise=4, steps=20, dtype=torch.float64)
    assert (dpm - exact).abs().max() < 0.5 * (ddim20 - exact).abs().max()


@pytest.mark.parametrize("name", ["ddpm", "ddim", "dpm_solver", "dpm_solver_sde"])
def test_same_seed_same_samples_and_progress(name):
    sch = make_schedule("cosine", 100)
    calls = []
    a = sample(gaussian_eps(sch), sch, 16, 3, sampler=name, steps=10, generator=torch.Generator().manual_seed(9),
               progress=lambda i, n: calls.append((i, n)))
    b = sample(gaussian_eps(sch), sch, 16, 3, sampler=name, steps=10, noise=9)
    c = sample(gaussian_eps(sch), sch, 16, 3, sampler=name, steps=10, generator=10)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert calls == [(i, 10) for i in range(1, 11)]


def test_runs_without_grad_and_with_qrng():
    from qedm.diffusion.noise import make_noise_source

    sch = make_schedule("linear", 50)
    w = torch.nn.Parameter(torch.tensor(0.5))
    x = sample(lambda x, t: w * x, sch, 8, 2, sampler="ddim", steps=5, noise=make_noise_source("qrng", 0))
    assert not x.requires_grad and torch.isfinite(x).all()


def test_make_sampler_names_and_errors():
    assert make_sampler("ddim") is ddim_sample and make_sampler("ddpm") is ddpm_sample
    assert make_sampler("dpm_solver") is dpm_solver_pp_sample is make_sampler("dpm-solver++")
    assert make_sampler("dpm_solver_sde") is dpm_solver_sde_sample is make_sampler("dpmpp_2m_sde")
    sch = make_schedule("linear", 20)
    eps = gaussian_eps(sch)
    with pytest.raises(ConfigError, match="sampler='euler'"):
        make_sampler("euler")
    with pytest.raises(ConfigError, match="steps"):
        sample(eps, sch, 4, 1, sampler="ddim", steps=21)
    with pytest.raises(ConfigError, match="eta"):
        sample(eps, sch, 4, 1, sampler="dpm_solver", eta=0.5)
    with pytest.raises(ConfigError, match="n must"):
        sample(eps, sch, 0, 1)
    with pytest.raises(ValueError, match="eps_fn returned shape") as broken:
        sample(lambda x, t: x[:, :1], sch, 4, 2, steps=3)
    assert not isinstance(broken.value, ConfigError)  # a broken denoiser is a bug: it keeps its traceback
    with pytest.raises(ConfigError, match="not both"):
        sample(eps, sch, 4, 1, generator=1, noise=1)


@pytest.mark.parametrize("name,steps", CASES)
def test_clipped_eps_keeps_every_sampler_in_range(name, steps):
    """Samplers driven through clip_denoised: neutral for good predictions, bounded for bad ones."""
    from qedm.diffusion.clipping import clip_denoised

    sch = SHORT["cosine"]
    low, high = torch.full((1,), -3.0), torch.full((1,), 3.0)
    eps = gaussian_eps(sch)
    free = sample(eps, sch, 300, 1, sampler=name, steps=steps, generator=2)
    loose = sample(clip_denoised(eps, sch, 1e3 * low, 1e3 * high), sch, 300, 1, sampler=name, steps=steps,
                   generator=2)
    torch.testing.assert_close(free, loose, rtol=1e-3, atol=1e-3)
    # A useless model (eps = 0) makes x0 = x / alpha explode; clipping keeps samples in range.
    zero = lambda x, t: torch.zeros_like(x)  # noqa: E731
    assert sample(zero, sch, 300, 1, sampler=name, steps=steps, generator=2).abs().max() > 100
    clipped = sample(clip_denoised(zero, sch, low, high), sch, 300, 1, sampler=name, steps=steps, generator=2)
    assert clipped.abs().max() <= 3.0 + 1e-4


@pytest.mark.parametrize("schedule_name,n_steps", [("linear", 1000), ("cosine", 1000), ("cosine", 250)])
@pytest.mark.parametrize("name", ["ddpm", "ddim", "dpm_solver", "dpm_solver_sde"])
def test_model_evaluations_equal_steps(name, schedule_name, n_steps):
    """Respacing never merges timesteps: `steps` model evaluations for every steps <= n_steps."""
    sch = make_schedule(schedule_name, n_steps)
    for steps in (2, 5, 10, 20, 50, n_steps):
        seen = []
        sample(lambda x, t: seen.append(int(t[0])) or torch.zeros_like(x), sch, 2, 1, sampler=name, steps=steps,
               generator=0)
        assert len(seen) == steps and len(set(seen)) == steps, (steps, seen)
        assert seen[0] == n_steps - 1 and seen[-1] == 0 and seen == sorted(seen, reverse=True)


def _reference_log_snr_grid(schedule, steps):
    """Fractional timesteps at evenly spaced log-SNR, by numpy interpolation of t(lambda)."""
    lam = schedule.log_snr.numpy()[::-1]  # increasing
    t = np.arange(schedule.n_steps - 1, -1, -1, dtype=float)
    return np.interp(np.linspace(lam[0], lam[-1], steps), lam, t)


def test_log_snr_grid_matches_reference_and_stays_close_when_crowded():
    lin = make_schedule("linear", 1000)
    ref = np.rint(_reference_log_snr_grid(lin, 20)).astype(int)
    assert len(set(ref)) == 20  # no collisions here: the grid is the rounded reference itself
    assert log_snr_timesteps(lin, 20) == ref.tolist()
    cos = make_schedule("cosine", 1000)  # crowded at both ends: rounding collides
    frac = _reference_log_snr_grid(cos, 20)
    collisions = 20 - len(set(np.rint(frac).astype(int)))
    ts = log_snr_timesteps(cos, 20)
    assert collisions >= 3 and len(set(ts)) == 20
    assert np.abs(np.array(ts) - frac).max() <= collisions + 0.5


def test_sde_first_order_step_is_the_ddpm_posterior_step():
    """With a constant data prediction (no 2nd-order term) on all timesteps, DPM-Solver++ SDE = DDPM.

    The first-order SDE step of Lu et al. is the posterior q(x_prev | x_t, x0) in closed form, so the
    two samplers must visit the same states when fed the same noise.
    """
    sch = make_schedule("linear", 30)
    ab = sch.alphas_cumprod
    c = torch.tensor([[0.7, -1.2]], dtype=torch.float64)

    def recorder(states):
        def eps(x, t):
            states.append(x.clone())
            a = ab[t][:, None]
            return (x - a.sqrt() * c) / (1 - a).sqrt()  # the eps whose x0 prediction is always c
        return eps

    sde_states, ddpm_states = [], []
    dpm_solver_sde_sample(recorder(sde_states), sch, (64, 2), noise=3, steps=30, dtype=torch.float64)
    ddpm_sample(recorder(ddpm_states), sch, (64, 2), noise=3, steps=30, dtype=torch.float64)
    assert len(sde_states) == len(ddpm_states) == 30
    torch.testing.assert_close(torch.stack(sde_states), torch.stack(ddpm_states), rtol=1e-7, atol=1e-7)


def test_sde_converges_with_steps():
    """The SDE solver's error on the mixture shrinks with steps and is small at 50 (both components)."""
    sch = SHORT["cosine"]

    def errors(steps):
        x = sample(mixture_eps(sch), sch, 4000, 1, sampler="dpm_solver_sde", steps=steps, generator=3,
                   dtype=torch.float64)
        right, left = x[x > 0], x[x < 0]
        return max(abs(right.mean().item() - 2.0), abs(left.mean().item() + 2.0),
                   abs(right.std().item() - 0.5), abs(left.std().item() - 0.5))

    e10, e50 = errors(10), errors(50)
    assert e50 < 0.06 and e50 < 0.3 * e10
