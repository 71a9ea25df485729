"""Fit the table transform from noisy counts, so that it counts against the privacy budget.

The ordinary `TableTransformer` stores each numeric column's min, max and 1000 quantiles and
each categorical column's labels: all read straight off the rows. Here those are replaced by:
- numeric / integer columns: a fixed public grid of signed power-of-two buckets
  (0, +-[2^k, 2^(k+1)) for k = -16..40); the bounds are the outermost buckets whose noisy
  count clears 3 noise standard deviations (the fullest bucket when none does), and the
  knots are evenly spaced between them (log-spaced for positive columns spanning a factor
  over 10), i.e. a uniform CDF on the DP range instead of the empirical one;
- categorical columns: a noisy count per observed label; a label is released only when its
  noisy count clears tau = 1 + sigma * Phi^-1(1 - selection_delta / n_columns) (Gaussian
  partition selection: a label that one row alone brings in is released with probability at
  most selection_delta / n_columns), unless the labels are declared public (pandas Categorical
  dtype, or `public_categories=True`: a codebook lists them), then every label is kept.
All counts of all columns are one Gaussian release with L2 sensitivity sqrt(n_columns)
(one row adds 1 to one bucket or label of every column), noise multiplier z.
Public, as in every DP synthesiser: the schema (column names, dtypes, kinds, which columns may
hold missing values) and the row count. Temporal columns are not supported under DP.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from qedm.data.table import TableTransformer, _distinct, _to_json_scalar
from qedm.data.temporal import TEMPORAL_KINDS
from qedm.errors import ConfigError, DataError

BUCKET_EXPONENTS = np.arange(-16, 41)  # magnitudes 2^-16 .. 2^41
N_KNOTS = 65


def bucket_edges() -> np.ndarray:
    """Edges of the public bucket grid: [-2^41 .. -2^-16, 0, 2^-16 .. 2^41] (ascending)."""
    positive = 2.0 ** np.r_[BUCKET_EXPONENTS, BUCKET_EXPONENTS[-1] + 1]
    return np.r_[-positive[::-1], 0.0, positive]


def fit_private_transform(
    df: pd.DataFrame,
    noise_multiplier: float,
    selection_delta: float,
    generator: np.random.Generator,
    column_kinds: dict[str, str] | None = None,
    public_categories: bool = False,
    quantile_noise_multiplier: float | None = None,
    n_bins: int = 16,
) -> tuple[TableTransformer, list[str]]:
    """A fitted TableTransformer whose data-dependent values come from one or two Gaussian releases.

    The first (noise_multiplier) gives bounds and labels; the second (quantile_noise_multiplier,
    None = skipped) gives each numeric column's knots from a noisy n_bins histogram between
    its bounds. Returns the transformer and the list of what was declared public (model card).
    """
    base = TableTransformer(column_kinds=column_kinds).fit(df)  # schema only: its values are replaced
    specs = base.columns_
    sigma = noise_multiplier * np.sqrt(len(specs))
    quantile_sigma = None if quantile_noise_multiplier is None else quantile_noise_multiplier * np.sqrt(len(specs))
    tau = 1.0 + sigma * float(ndtri(1.0 - selection_delta / len(specs)))
    edges = bucket_edges()
    public = ["row count", "schema (column names, dtypes, kinds, which columns may be missing)"]
    columns = []
    for spec in specs:
        col = df[spec["name"]]
        kind = spec["kind"]
        if kind in TEMPORAL_KINDS:
            raise ConfigError(f"column '{spec['name']}' is {kind}: DP fits do not support temporal columns yet")
        if kind == "constant":  # whether a column is constant is data: fit it like any other
            kind = base._detect_kind(col)
        new = {"name": spec["name"], "dtype": spec["dtype"], "missing": spec["missing"], "kind": kind}
        if kind == "categorical":
            new.update(_private_categories(col, spec, sigma, tau, generator, public_categories))
            if public_categories or "dtype_categories" in spec:
                public.append(f"categories of '{spec['name']}'")
        else:
            new.update(_private_range(col, edges, sigma, generator, quantile_sigma, n_bins))
        columns.append(new)
    base.columns_ = columns
    return base, public


def _private_categories(col, spec, sigma, tau, generator, public_categories) -> dict:
    out = {k: spec[k] for k in ("dtype_categories", "ordered") if k in spec}
    if "dtype_categories" in spec:
        return {**out, "categories": list(spec["dtype_categories"])}
    labels = spec.get("categories") or _distinct(col.dropna())
    if public_categories:
        return {**out, "categories": [_to_json_scalar(c) for c in labels]}
    counts = col.astype(object).value_counts(dropna=True)
    noisy = {c: counts.get(c, 0) + generator.normal(0.0, sigma) for c in labels}
    kept = [c for c in labels if noisy[c] > tau]
    if not kept:
        raise DataError(f"column '{spec['name']}': no label is frequent enough to be released at this "
                        f"privacy budget (noisy counts below {tau:.0f}); declare its labels public "
                        "(dp_public_categories / --dp-public-categories, or a pandas Categorical dtype) "
                        "or drop the column")
    return {**out, "categories": [_to_json_scalar(c) for c in kept]}


def _private_range(col: pd.Series, edges: np.ndarray, sigma: float, generator: np.random.Generator,
                   quantile_sigma: float | None = None, n_bins: int = 0) -> dict:
    """DP bounds from noisy bucket counts; knots from a second noisy histogram between them.

    Without the second release (quantile_sigma None) the knots are spread evenly between the
    bounds (a uniform CDF on the DP range).
    """
    x = col.dropna().to_numpy(dtype=np.float64)
    clipped = np.clip(x, edges[0], edges[-1])
    counts = np.histogram(clipped, bins=edges)[0].astype(np.float64)
    noisy = counts + generator.normal(0.0, sigma, size=counts.shape)
    full = np.nonzero(noisy > 3.0 * sigma)[0]
    if full.size == 0:
        full = np.array([int(np.argmax(noisy))])
    low, high = float(edges[full.min()]), float(edges[full.max() + 1])
    spread = np.geomspace if low > 0 and high / low > 10 else np.linspace
    knots = spread(low, high, N_KNOTS)
    if quantile_sigma is not None:
        knots = _noisy_quantiles(np.clip(x, low, high), spread(low, high, n_bins + 1), quantile_sigma, generator)
    return {"min": low, "max": high, "quantiles": knots.tolist(), "knots_are_data": False}


def _noisy_quantiles(x: np.ndarray, bin_edges: np.ndarray, sigma: float, generator: np.random.Generator) -> np.ndarray:
    """N_KNOTS knots at evenly spaced probabilities from a noisy histogram of x over bin_edges.

    Noisy counts are floored at a small positive mass (so the CDF is strictly increasing) and
    the CDF is interpolated linearly inside each bin.
    """
    counts = np.histogram(x, bins=bin_edges)[0] + generator.normal(0.0, sigma, size=bin_edges.size - 1)
    mass = np.maximum(counts, 0.0) + 1e-3 * max(float(np.maximum(counts, 0.0).sum()), 1.0) / counts.size
    cdf = np.r_[0.0, np.cumsum(mass)] / mass.sum()
    return np.interp(np.linspace(0.0, 1.0, N_KNOTS), cdf, bin_edges)
