"""The privacy budget: argument checks, calibration, and the RDP epsilon against closed forms."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

pytest.importorskip("opacus")
from qedm.errors import ConfigError  # noqa: E402
from qedm.privacy.accounting import calibrate, check_budget, rdp_epsilon  # noqa: E402


@pytest.mark.parametrize("epsilon,delta,word", [(0, 1e-5, "dp_epsilon"), (-1, 1e-5, "dp_epsilon"),
                                                (1, 0, "dp_delta"), (1, 1, "dp_delta"), (1, 1.5, "dp_delta")])
def test_bad_budgets_name_the_argument(epsilon, delta, word):
    with pytest.raises(ConfigError, match=word):
        check_budget(epsilon, delta)


def _exact_gaussian_epsilon(z: float, delta: float) -> float:
    """Balle & Wang (2018): the exact epsilon of one Gaussian mechanism with noise multiplier z."""
    def excess(eps):
        return norm.cdf(0.5 / z - eps * z) - math.exp(eps) * norm.cdf(-0.5 / z - eps * z) - delta
    return brentq(excess, 1e-9, 100)


@pytest.mark.parametrize("z", [0.8, 2.0, 5.0])
def test_rdp_epsilon_of_one_gaussian_release_lies_between_exact_and_classical_bounds(z):
    delta = 1e-5
    eps = rdp_epsilon([(z, 1.0, 1)], delta)
    classical = min(a / (2 * z * z) + math.log(1 / delta) / (a - 1) for a in np.linspace(1.01, 500, 50000))
    assert _exact_gaussian_epsilon(z, delta) <= eps <= classical + 1e-6


def test_calibrate_finds_the_smallest_noise_meeting_the_target():
    def history(z):
        return [(z, 0.2, 50)]
    z = calibrate(history, 3.0, 1e-5)
    assert rdp_epsilon(history(z), 1e-5) <= 3.0
    assert rdp_epsilon(history(z * 0.99), 1e-5) > 3.0


def test_composition_costs_more_than_either_part():
    parts = [(3.0, 1.0, 1)], [(1.0, 0.1, 100)]
    both = rdp_epsilon(parts[0] + parts[1], 1e-5)
    assert both > max(rdp_epsilon(p, 1e-5) for p in parts)
    assert both < sum(rdp_epsilon(p, 1e-5) for p in parts)
