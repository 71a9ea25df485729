"""Forward process and loss: closed forms, statistics, and the draw order of the loss."""
import numpy as np
import pytest
import torch
from scipy import stats

from qedm.diffusion.noise import make_noise_source
from qedm.diffusion.process import diffusion_loss, predict_x0, q_sample
from qedm.diffusion.schedules import make_schedule
from qedm.errors import ConfigError


@pytest.fixture
def sch():
    return make_schedule("linear", 1000)


def test_q_sample_closed_form_and_inverse(sch):
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    t = torch.tensor([0, 10, 500, 998, 999])
    ab = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))[t.numpy()][:, None]
    expected = np.sqrt(ab) * x0.numpy() + np.sqrt(1 - ab) * noise.numpy()
    x_t = q_sample(x0, t, noise, sch)
    np.testing.assert_allclose(x_t.numpy(), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(predict_x0(x_t, t, noise, sch), x0, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("step", [50, 400, 900])
def test_q_sample_mean_and_variance(sch, step):
    n = 200_000
    x0 = torch.full((n, 1), 2.0)
    noise = torch.randn(n, 1, generator=torch.Generator().manual_seed(step))
    x_t = q_sample(x0, torch.full((n,), step), noise, sch).double()
    ab = float(sch.alphas_cumprod[step])
    se = np.sqrt((1 - ab) / n)
    assert abs(x_t.mean().item() - 2.0 * np.sqrt(ab)) < 5 * se
    assert x_t.var().item() == pytest.approx(1 - ab, rel=0.02)


def test_loss_of_zero_model_is_noise_power_and_reproducible(sch):
    x0 = torch.randn(256, 4, generator=torch.Generator().manual_seed(1))
    seen = {}

    def zero_model(x_t, t):
        seen["t"] = t
        return torch.zeros_like(x_t)

    loss = diffusion_loss(zero_model, x0, sch, generator=torch.Generator().manual_seed(7))
    # The loss draws t first, then eps: redo those draws by hand.
    g = torch.Generator().manual_seed(7)
    t = torch.randint(0, 1000, (256,), generator=g)
    eps = torch.randn(256, 4, generator=g)
    assert torch.equal(seen["t"], t)
    assert loss.item() == pytest.approx(eps.pow(2).mean().item(), rel=1e-6)
    again = diffusion_loss(zero_model, x0, sch, generator=7)
    assert again.item() == pytest.approx(loss.item(), rel=1e-6)


def test_loss_samples_t_uniformly(sch):
    ts = []
    source = make_noise_source("prng", 3)
    model = lambda x, t: ts.append(t) or torch.zeros_like(x)  # noqa: E731
    for _ in range(40):
        diffusion_loss(model, torch.zeros(1000, 1), sch, generator=source)
    counts = np.bincount(torch.cat(ts).numpy() // 100, minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert torch.cat(ts).min() >= 0 and torch.cat(ts).max() <= 999


def test_loss_is_minimised_by_the_exact_eps(sch):
    """For Gaussian data N(mu, s^2) the optimal eps predictor is closed form; it beats zero."""
    mu, s = 1.0, 0.3
    x0 = mu + s * torch.randn(4000, 2, generator=torch.Generator().manual_seed(2))
    ab = sch.alphas_cumprod

    def exact(x_t, t):
        a = ab[t].float()[:, None]
        return (1 - a).sqrt() * (x_t - a.sqrt() * mu) / (a * s * s + 1 - a)

    best = diffusion_loss(exact, x0, sch, generator=0).item()
    zero = diffusion_loss(lambda x, t: torch.zeros_like(x), x0, sch, generator=0).item()
    assert best < 0.5 * zero


def test_labels_reach_the_model_and_grads_flow(sch):
    w = torch.nn.Parameter(torch.ones(1))
    got = {}

    def model(x_t, t, y):
        got["y"] = y
        return w * x_t

    y = torch.tensor([0, 1, -1])
    loss = diffusion_loss(model, torch.randn(3, 2), sch, generator=0, y=y)
    loss.backward()
    assert torch.equal(got["y"], y) and w.grad is not None and w.grad.abs().item() > 0


def test_bad_reduction(sch):
    with pytest.raises(ConfigError, match="reduction"):
        diffusion_loss(lambda x, t: x, torch.zeros(2, 2), sch, reduction="sum")
    per = diffusion_loss(lambda x, t: x * 0, torch.zeros(5, 2), sch, generator=0, reduction="none")
    assert per.shape == (5,)
