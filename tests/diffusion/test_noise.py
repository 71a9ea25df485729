"""Noise sources: reproducibility, distributions (scipy KS / chi-square), errors."""
import numpy as np
import pytest
import torch
from scipy import stats

import qedm.diffusion.noise as noise_module
from qedm.diffusion.noise import NoiseSource, PRNGNoise, as_noise_source, make_noise_source
from qedm.errors import ConfigError

KINDS = ["prng", "qrng"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_draws(kind):
    a, b, c = (make_noise_source(kind, s) for s in (5, 5, 6))
    x, y, z = a.normal((64, 3)), b.normal((64, 3)), c.normal((64, 3))
    assert x.shape == (64, 3) and x.dtype == torch.float32
    assert torch.equal(x, y) and not torch.equal(x, z)
    assert isinstance(a, NoiseSource)


@pytest.mark.parametrize("kind", KINDS)
def test_distributions(kind):
    source = make_noise_source(kind, 0)
    z = source.normal((4000,)).double().numpy()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    u = source.uniform((4000,), dtype=torch.float64).numpy()
    assert u.min() >= 0 and u.max() < 1 and stats.kstest(u, "uniform").pvalue > 1e-3
    k = source.randint(7, (7000,))
    assert k.dtype == torch.long and k.min() >= 0 and k.max() <= 6
    assert stats.chisquare(np.bincount(k.numpy(), minlength=7)).pvalue > 1e-3


def test_prng_matches_torch_generator_and_dtype():
    source = make_noise_source("prng", 11)
    expected = torch.randn(3, 2, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    assert torch.equal(source.normal((3, 2), dtype=torch.float64), expected)


def test_qrng_says_it_is_simulated():
    source = make_noise_source("qrng", 0)
    assert source.source.startswith("qrng:") and "simulator" in source.source
    assert "pseudo-random" in noise_module.__doc__


def test_as_noise_source():
    g = torch.Generator().manual_seed(3)
    src = as_noise_source(g)
    assert isinstance(src, PRNGNoise) and src.generator is g
    assert torch.equal(as_noise_source(3).normal((4,)), torch.randn(4, generator=torch.Generator().manual_seed(3)))
    q = make_noise_source("qrng", 1)
    assert as_noise_source(q) is q
    with pytest.raises(ConfigError, match="noise/generator"):
        as_noise_source("prng")


def test_unknown_kind():
    with pytest.raises(ConfigError, match="noise='true-random'"):
        make_noise_source("true-random", 0)
