"""Schedules against their closed forms (numpy, float64)."""
import math

import numpy as np
import pytest
import torch

from qedm.diffusion.schedules import CosineSchedule, LinearSchedule, make_schedule
from qedm.errors import ConfigError


def test_linear_matches_closed_form():
    sch = LinearSchedule(1000, 1e-4, 0.02)
    betas = np.linspace(1e-4, 0.02, 1000)
    assert sch.betas.dtype == torch.float64
    np.testing.assert_allclose(sch.betas.numpy(), betas, rtol=1e-12)
    np.testing.assert_allclose(sch.alphas.numpy(), 1 - betas, rtol=1e-12)
    np.testing.assert_allclose(sch.alphas_cumprod.numpy(), np.cumprod(1 - betas), rtol=1e-10)
    assert sch.n_steps == 1000


def test_cosine_matches_nichol_dhariwal_formula():
    n, s = 1000, 0.008
    sch = CosineSchedule(n, s=s)
    f = lambda t: math.cos((t / n + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    expected = np.array([f(t + 1) / f(0) for t in range(n)])
    betas = sch.betas.numpy()
    unclipped = betas < 0.999
    # alpha_bar(t) = f(t+1)/f(0) wherever no earlier beta was clipped (all but the last step).
    assert unclipped[:-1].all() and betas[-1] == pytest.approx(0.999)
    np.testing.assert_allclose(sch.alphas_cumprod.numpy()[:-1], expected[:-1], rtol=1e-9)
    ab = sch.alphas_cumprod.numpy()
    assert np.all(np.diff(ab) < 0) and np.all((ab > 0) & (ab < 1))
    assert np.all(betas <= 0.999) and np.all(betas > 0)


def test_log_snr_and_at():
    sch = make_schedule("cosine", 100)
    ab = sch.alphas_cumprod.numpy()
    np.testing.assert_allclose(sch.log_snr.numpy(), 0.5 * np.log(ab / (1 - ab)), rtol=1e-9)
    x = torch.zeros(3, 4, dtype=torch.float32)
    col = sch.at(sch.alphas_cumprod, torch.tensor([0, 5, 99]), x)
    assert col.shape == (3, 1) and col.dtype == torch.float32
    np.testing.assert_allclose(col.flatten().numpy(), ab[[0, 5, 99]], rtol=1e-6)


def test_make_schedule_linear_scales_short_chains():
    np.testing.assert_array_equal(make_schedule("linear", 1000).betas.numpy(),
                                  LinearSchedule(1000).betas.numpy())
    short = make_schedule("linear", 100)
    np.testing.assert_allclose(short.betas.numpy(), np.linspace(1e-3, 0.2, 100), rtol=1e-12)
    assert short.alphas_cumprod[-1] < 1e-3  # the chain still ends near pure noise


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_config_round_trip(name):
    sch = make_schedule(name, 50)
    again = make_schedule(**sch.config())
    assert torch.equal(sch.betas, again.betas) and type(again) is type(sch)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ConfigError, match="schedule='sqrt'"):
        make_schedule("sqrt", 10)
    with pytest.raises(ConfigError, match="n_steps"):
        LinearSchedule(1)
    with pytest.raises(ConfigError, match="beta_start"):
        LinearSchedule(10, beta_start=0.5, beta_end=0.1)
    with pytest.raises(ConfigError, match="s must"):
        CosineSchedule(10, s=-1.0)
    with pytest.raises(ConfigError, match="n_steps"):
        make_schedule("cosine", 2.5)
