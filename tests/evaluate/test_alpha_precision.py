"""alpha-precision / beta-recall against a point-by-point reading of Alaa et al. (synthcity's naive form)."""
import numpy as np
import pandas as pd
import pytest

from qedm.errors import DataError
from qedm.evaluate.alpha_precision import alpha_precision_beta_recall, alpha_precision_scores


def reference(real, fake, n_levels=30):
    """The definitions written out row by row, with brute-force nearest neighbours."""
    alphas = np.linspace(0, 1, n_levels)
    c_real, c_fake = real.mean(0), fake.mean(0)
    radii = np.quantile([np.linalg.norm(r - c_real) for r in real], alphas)
    precision = [np.mean([np.linalg.norm(f - c_real) <= rad for f in fake]) for rad in radii]
    nn_real = [sorted(np.linalg.norm(real - r, axis=1))[1] for r in real]
    nn_fake = [int(np.argmin(np.linalg.norm(fake - r, axis=1))) for r in real]
    d_fake = [np.linalg.norm(fake[j] - r) for j, r in zip(nn_fake, real)]
    closest = [np.linalg.norm(fake[j] - c_fake) for j in nn_fake]
    fake_radii = np.quantile(closest, alphas)
    recall = [np.mean([(d_fake[i] <= nn_real[i]) and (closest[i] <= rad) for i in range(len(real))])
              for rad in fake_radii]
    score = lambda curve: 1 - np.abs(alphas - np.array(curve)).sum() / alphas.sum()  # noqa: E731
    return score(precision), score(recall)


def test_matches_reference_definitions():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(60, 3)), rng.normal(0.3, 1.4, size=(50, 3))
    got = alpha_precision_beta_recall(real, fake)
    want = reference(real, fake)
    assert got.alpha_precision == pytest.approx(want[0]) and got.beta_recall == pytest.approx(want[1])


def test_identical_rows_score_about_one_and_are_not_authentic():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(400, 2))
    got = alpha_precision_beta_recall(real, real.copy())
    # Each curve is the empirical CDF at its own quantiles: within 1/N of the diagonal.
    assert got.alpha_precision > 0.99 and got.beta_recall > 0.99
    assert got.authenticity == 0.0


def test_collapsed_samples_have_zero_alpha_precision_and_low_recall():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(300, 2))
    fake = np.repeat(real.mean(0, keepdims=True), 50, axis=0)  # every row at the real centre
    got = alpha_precision_beta_recall(real, fake)
    # Closed form: the precision curve is 1 at every alpha, so 1 - sum(1 - a) / sum(a) = 0.
    assert got.alpha_precision == pytest.approx(0.0, abs=1e-12)
    assert got.beta_recall < 0.2


def test_tables_and_errors():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(list("abc"), 200)})
    assert alpha_precision_scores(frame, frame.sample(frac=1.0, random_state=0)).alpha_precision > 0.95
    with pytest.raises(DataError, match="at least 3 real"):
        alpha_precision_beta_recall(np.zeros((2, 1)), np.zeros((5, 1)))
