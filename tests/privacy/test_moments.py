"""DP moments and DP quantile knots: with negligible noise they equal the plain statistics."""

import numpy as np
import pandas as pd

from qedm.privacy.moments import private_moments
from qedm.privacy.transform import fit_private_transform


def test_moments_with_tiny_noise_are_the_clipped_rows_mean_and_covariance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4))
    clip = 3.0
    mean, cov = private_moments(x, 1e-9, clip, np.random.default_rng(1))
    clipped = x * np.minimum(1.0, clip / np.linalg.norm(x, axis=1, keepdims=True))
    np.testing.assert_allclose(mean, clipped.mean(0), atol=1e-6)
    np.testing.assert_allclose(cov, np.cov(clipped.T, ddof=0),
                               atol=0.06)  # eigenvalues floored at 0.05
    assert np.linalg.eigvalsh(cov).min() >= 0.05 - 1e-9


def test_quantile_knots_with_tiny_noise_follow_the_data():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.gamma(2.0, 3.0, 4000)})
    transformer, _ = fit_private_transform(frame, 1e-3, 1e-6, np.random.default_rng(1),
                                           quantile_noise_multiplier=1e-3, n_bins=64)
    knots = np.asarray(transformer.columns_[0]["quantiles"])
    assert np.all(np.diff(knots) > 0)
    # the median knot lies within a bin width (of the 64 between the DP bounds) of the data's median
    width = (knots[-1] - knots[0]) / 64
    assert abs(knots[len(knots) // 2] - np.median(frame["x"])) < 2 * width
