"""QRNG: balanced bits, Gaussian output, reproducibility, pluggable bit source."""
import pytest
import torch
from scipy import stats

from qedm.errors import ConfigError
from qedm.quantum.qrng import BitSource, QuantumRNG, SimulatedHadamardSource


def test_bits_are_balanced_binomial_test():
    bits = QuantumRNG(n_qubits=8, seed=0).bits(100_000)
    assert bits.dtype == torch.uint8 and bits.shape == (100_000,)
    assert set(bits.unique().tolist()) == {0, 1}
    assert stats.binomtest(int(bits.sum()), bits.numel(), 0.5).pvalue > 0.01
    # each wire is balanced too (bits come out wire 0 first, 8 per shot)
    per_wire = bits.reshape(-1, 8).double().mean(0)
    assert (per_wire - 0.5).abs().max() < 0.02


def test_normal_passes_ks_and_uniform_is_uniform():
    rng = QuantumRNG(seed=1)
    z = rng.normal((50, 100))
    assert z.shape == (50, 100) and z.dtype == torch.float32 and torch.isfinite(z).all()
    assert stats.kstest(z.flatten().numpy(), "norm").pvalue > 0.01
    u = rng.uniform(5000)
    assert ((u >= 0) & (u < 1)).all()
    assert stats.kstest(u.numpy(), "uniform").pvalue > 0.01


def test_seeded_reproducibility():
    a, b = QuantumRNG(seed=7), QuantumRNG(seed=7)
    assert torch.equal(a.normal(100), b.normal(100))
    assert torch.equal(a.bits(33), b.bits(33))
    assert not torch.equal(QuantumRNG(seed=8).normal(100), QuantumRNG(seed=7).normal(100))


def test_source_says_pseudo_random_and_hardware_plugs_in():
    rng = QuantumRNG(seed=0)
    assert "pseudo-random" in rng.source and "simulator" in rng.source
    assert "pseudo" in QuantumRNG.__doc__.lower() or "pseudo" in rng.source
    assert isinstance(SimulatedHadamardSource(4, seed=0), BitSource)

    class AllOnes:
        source = "test: constant ones"

        def bits(self, n):
            return torch.ones(n, dtype=torch.uint8)

    hw = QuantumRNG(bit_source=AllOnes())
    assert hw.source == "test: constant ones"
    assert torch.equal(hw.uniform(3), torch.full((3,), (2**24 - 1) / 2**24))
    assert torch.allclose(hw.normal(1).double(), torch.tensor([stats.norm.ppf(1 - 0.5 / 2**24)]), atol=1e-5)


def test_bad_backend_and_qubits_raise():
    with pytest.raises(ConfigError, match="backend='qpu'"):
        QuantumRNG(backend="qpu")
    with pytest.raises(ConfigError, match="n_qubits"):
        QuantumRNG(n_qubits=0)
