"""The barren-plateau diagnostic reproduces the 2-design gradient variance ~ 2^-(n+1) of random circuits."""

import math

import numpy as np
import pytest
import torch

from qedm.errors import ConfigError
from qedm.quantum.barren_plateau import gradient_variance, haar_gradient_variance


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_haar_value_closed_form():
    # n = 1: d = 2 -> 4 / (2 * 3 * 3); large n -> 2^-(n+1)
    assert haar_gradient_variance(1) == pytest.approx(4 / 18)
    assert haar_gradient_variance(12) * 2**13 == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("n_qubits", [2, 4, 6])
def test_random_hardware_efficient_circuit_matches_the_2_design_variance(n_qubits):
    variance = gradient_variance(n_qubits, 3 * n_qubits, init="uniform", samples=120, seed=0)
    assert 0.5 < variance / haar_gradient_variance(n_qubits) < 2.0


@pytest.mark.slow
def test_random_init_variance_decays_as_2_to_the_minus_n():
    ns = [2, 4, 6, 8, 10]
    variances = [gradient_variance(n, 3 * n, init="uniform", samples=200, seed=1) for n in ns]
    for n, v in zip(ns, variances):
        assert 0.5 < v / haar_gradient_variance(n) < 2.0, n
    slope = np.polyfit(ns, np.log2(variances), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.2)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="n_qubits"):
        gradient_variance(1, 2)
    with pytest.raises(ConfigError, match="samples"):
        gradient_variance(2, 2, samples=1)
    assert math.isfinite(gradient_variance(2, 2, samples=3, encoding="amplitude"))
