"""GaussianPriorDenoiser: the exact noise prediction of Gaussian data, plus a residual network."""

import numpy as np
import torch

from qedm.diffusion.schedules import make_schedule
from qedm.models.gaussian_prior import GaussianPriorDenoiser, zero_readout
from qedm.models.registry import build_denoiser


def _prior(seed=0, d=3):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    cov = a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)
    mean = torch.randn(d, generator=gen, dtype=torch.float64)
    net = build_denoiser("hybrid", d, seed=0, hidden=8, n_blocks=1, n_qubits=2, n_layers=1)
    return GaussianPriorDenoiser(net, mean, cov, make_schedule("cosine", 100).alphas_cumprod), mean, cov


def test_gaussian_eps_is_the_conditional_mean_of_the_noise():
    """Against the closed form s Cov(x_t)^-1 (x_t - a mean), solved directly (no eigenbasis)."""
    model, mean, cov = _prior()
    x = torch.randn(4, 3, dtype=torch.float64)
    t = torch.tensor([0, 10, 50, 99])
    got = model.gaussian_eps(x.float(), t).double()
    for i in range(4):
        a2 = model.alphas_cumprod[t[i]].double()
        a, s = a2.sqrt(), (1 - a2).sqrt()
        expect = s * torch.linalg.solve(a2 * cov + s * s * torch.eye(3, dtype=torch.float64), x[i] - a * mean)
        torch.testing.assert_close(got[i], expect, atol=1e-4, rtol=1e-4)


def test_a_zero_readout_leaves_the_gaussian_and_monte_carlo_agrees():
    model, mean, cov = _prior(1)
    zero_readout(model.net)
    t = torch.full((20000,), 40)
    gen = torch.Generator().manual_seed(2)
    x0 = torch.distributions.MultivariateNormal(mean, cov).sample((20000,))
    eps = torch.randn(20000, 3, generator=gen, dtype=torch.float64)
    a2 = model.alphas_cumprod[40].double()
    x_t = (a2.sqrt() * x0 + (1 - a2).sqrt() * eps).float()
    with torch.no_grad():
        pred = model(x_t, t).double()
    torch.testing.assert_close(pred, model.gaussian_eps(x_t, t).double())
    # E[eps | x_t] is the least-squares predictor: its residual is uncorrelated with x_t.
    residual = (eps - pred).numpy()
    assert np.abs(residual.T @ (x_t.double().numpy() - x_t.double().numpy().mean(0)) / 20000).max() < 0.03
