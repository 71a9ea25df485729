"""MMD: RBF against a direct numpy double loop; the simulated fidelity kernel against its closed form."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from qedm.evaluate.mmd import (
    fidelity_kernel,
    median_bandwidth,
    mmd2_unbiased,
    mmd_permutation_pvalue,
    mmd_scores,
    product_fidelity_kernel,
    quantum_angles,
    rbf_kernel,
)


def loop_mmd2(x, y, kernel):
    """Unbiased MMD^2 written term by term."""
    n, m = len(x), len(y)
    xx = sum(kernel(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(kernel(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_rbf_mmd_matches_loop():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 3)), rng.normal(0.5, 1.0, size=(20, 3))
    pooled = np.vstack([x, y])
    dists = [np.linalg.norm(pooled[i] - pooled[j]) for i in range(45) for j in range(i + 1, 45)]
    sigma = np.median(dists)
    assert median_bandwidth(x, y) == pytest.approx(sigma)
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * sigma**2))  # noqa: E731
    got = mmd2_unbiased(rbf_kernel(x, x, sigma), rbf_kernel(y, y, sigma), rbf_kernel(x, y, sigma))
    assert got == pytest.approx(loop_mmd2(x, y, k), rel=1e-10)


def test_simulated_kernel_matches_closed_form():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, np.pi, size=(7, 4)), rng.uniform(0, np.pi, size=(5, 4))
    simulated = fidelity_kernel(x, y)
    closed = product_fidelity_kernel(x, y)
    direct = np.array([[np.prod(np.cos((a - b) / 2) ** 2) for b in y] for a in x])
    np.testing.assert_allclose(closed, direct, atol=1e-12)
    np.testing.assert_allclose(simulated, closed, atol=1e-10)
    np.testing.assert_allclose(np.diag(fidelity_kernel(x, x)), 1.0, atol=1e-10)


def test_permutation_pvalue_matches_loop():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 2)), rng.normal(0.3, 1.0, size=(10, 2))
    pooled = np.vstack([x, y])
    k = rbf_kernel(pooled, pooled, 1.0)
    got = mmd_permutation_pvalue(k, 12, 50, np.random.default_rng(3))
    draws = np.random.default_rng(3)
    observed = mmd2_unbiased(k[:12, :12], k[12:, 12:], k[:12, 12:])
    null = []
    for _ in range(50):
        perm = draws.permutation(22)
        a, b = np.sort(perm[:12]), np.sort(perm[12:])
        null.append(mmd2_unbiased(k[np.ix_(a, a)], k[np.ix_(b, b)], k[np.ix_(a, b)]))
    assert got == pytest.approx((1 + np.sum(np.array(null) >= observed - 1e-12)) / 51)


@pytest.fixture(scope="module")
def cancer_halves():
    frame = load_breast_cancer(as_frame=True).frame
    idx = np.random.default_rng(0).permutation(len(frame))
    return frame.iloc[idx[:280]], frame.iloc[idx[280:]]


def test_same_distribution_near_zero_noise_far(cancer_halves):
    a, b = cancer_halves
    same = mmd_scores(a, b, n_permutations=100)
    assert abs(same.mmd_rbf) < 0.01 and abs(same.mmd_quantum) < 0.01
    assert same.mmd_rbf_pvalue > 0.05 and same.mmd_quantum_pvalue > 0.05
    rng = np.random.default_rng(0)
    shifted = b.copy()
    numeric = [c for c in b.columns if c != "target"]
    noise = rng.normal(size=(len(b), len(numeric)))
    shifted[numeric] = b[numeric].to_numpy() + 2.0 * b[numeric].std().to_numpy() * noise
    far = mmd_scores(a, shifted, n_permutations=100)
    assert far.mmd_rbf > 10 * abs(same.mmd_rbf) and far.mmd_rbf_pvalue < 0.02
    assert far.mmd_quantum > 10 * abs(same.mmd_quantum) and far.mmd_quantum_pvalue < 0.02


def test_quantum_features_are_angles_on_at_most_ten_qubits(cancer_halves):
    a, b = cancer_halves
    rng = np.random.default_rng(0)
    real_a, syn_a, explained = quantum_angles(rng.normal(size=(100, 31)), rng.normal(size=(80, 31)), 10)
    assert real_a.shape == (100, 10) and syn_a.shape == (80, 10)
    assert real_a.min() >= 0 and real_a.max() <= np.pi and 0 < explained <= 1
    assert mmd_scores(a, b, n_permutations=0).n_qubits == 10
    small = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})
    assert mmd_scores(small, small, n_permutations=0).n_qubits == 2


def test_feature_map_fitted_on_both_sets_keeps_the_null_calibrated():
    """A PCA fitted on real alone inflates real's variance on its top components (p ~ 0.005)."""
    rng = np.random.default_rng(0)
    cols = [f"c{i}" for i in range(31)]
    a = pd.DataFrame(rng.normal(size=(400, 31)), columns=cols)
    b = pd.DataFrame(rng.normal(size=(400, 31)), columns=cols)
    res = mmd_scores(a, b, n_permutations=100)
    assert res.mmd_quantum_pvalue > 0.05 and res.mmd_rbf_pvalue > 0.05
