"""Report plots: datetime and timedelta columns are drawn and correlated as numbers."""
import numpy as np
import pandas as pd

from qedm.report.plots import association_matrix, marginal_histograms


def test_dates_correlate_as_numbers_and_plot():
    rng = np.random.default_rng(0)
    days = rng.integers(0, 400, 60)
    real = pd.DataFrame({
        "admitted": pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(days, unit="D"),
        "stay": pd.to_timedelta(days * 2, unit="h"),
        "cost": days * 10.0,
    })
    matrix = association_matrix(real, list(real.columns))
    # As category codes the dates would correlate with cost only by their sorted label order;
    # as numbers the linear relation is exact.
    np.testing.assert_allclose(matrix.to_numpy(), np.ones((3, 3)), atol=1e-9)
    png = marginal_histograms(real, {"model": real.sample(60, replace=True, random_state=1)})
    assert png.startswith(b"\x89PNG")
