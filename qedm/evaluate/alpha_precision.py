"""alpha-precision and beta-recall (Alaa et al. 2022, "How faithful is your synthetic data?").

The "naive" form TabSyn reports (synthcity's `delta_precision_alpha_naive` and
`delta_coverage_beta_naive`): rows are encoded (numeric standardised on the real set,
categories one-hot) and compared in that space, with no learned embedding.
- alpha-precision: for each alpha in [0, 1], the share of synthetic rows inside the ball around
  the real rows' mean that holds a share alpha of the real rows; 1 minus the mean absolute gap
  between that curve and the diagonal (normalised by the diagonal's mean), so 1 means synthetic
  rows fill the real support the way real rows do.
- beta-recall: for each beta, the share of real rows whose nearest synthetic row is closer than
  their nearest other real row AND lies inside the beta-quantile ball around the synthetic mean;
  scored against the diagonal the same way. It rewards covering every real mode.
- authenticity: the share of synthetic rows whose nearest real row is closer to another real
  row than to them (about 0.5 for fresh rows, low for copies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from qedm.errors import DataError
from qedm.evaluate.features import encode_tables, prepare_tables, subsample

N_LEVELS = 30  # alphas / betas on a grid of 30 from 0 to 1, as synthcity does


@dataclass
class AlphaPrecisionResult:
    """The two integrated scores in [0, 1] (1 = the real curve), authenticity, and the curves."""

    alpha_precision: float
    beta_recall: float
    authenticity: float
    alphas: np.ndarray  # [N_LEVELS]
    precision_curve: np.ndarray  # [N_LEVELS]
    recall_curve: np.ndarray  # [N_LEVELS]

    def summary(self) -> dict[str, float]:
        return {"alpha_precision": self.alpha_precision, "beta_recall": self.beta_recall,
                "authenticity": self.authenticity}


def alpha_precision_beta_recall(real: np.ndarray, fake: np.ndarray, n_levels: int = N_LEVELS) -> AlphaPrecisionResult:
    """The scores of encoded rows real [N, D] and fake [M, D] (Euclidean distances)."""
    if len(real) < 3 or len(fake) < 2:
        raise DataError(f"alpha-precision needs at least 3 real and 2 synthetic rows, got {len(real)} and {len(fake)}")
    alphas = np.linspace(0.0, 1.0, n_levels)
    real_center, fake_center = real.mean(axis=0), fake.mean(axis=0)
    radii = np.quantile(np.linalg.norm(real - real_center, axis=1), alphas)
    fake_to_center = np.linalg.norm(fake - real_center, axis=1)
    real_to_real = cKDTree(real).query(real, k=2)[0][:, 1]  # nearest other real row
    real_to_fake, nearest_fake = cKDTree(fake).query(real, k=1)
    closest_fake_d = np.linalg.norm(fake[nearest_fake] - fake_center, axis=1)
    fake_radii = np.quantile(closest_fake_d, alphas)
    precision = np.array([np.mean(fake_to_center <= r) for r in radii])
    recall = np.array([np.mean((real_to_fake <= real_to_real) & (closest_fake_d <= r)) for r in fake_radii])
    scale = alphas.sum()
    fake_to_real, nearest_real = cKDTree(real).query(fake, k=1)
    authenticity = float(np.mean(real_to_real[nearest_real] < fake_to_real))
    return AlphaPrecisionResult(
        alpha_precision=float(1.0 - np.abs(alphas - precision).sum() / scale),
        beta_recall=float(1.0 - np.abs(alphas - recall).sum() / scale),
        authenticity=authenticity, alphas=alphas, precision_curve=precision, recall_curve=recall)


def alpha_precision_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    column_kinds: Mapping[str, str] | None = None,
    max_rows: int | None = 5000,
    seed: int = 0,
) -> AlphaPrecisionResult:
    """alpha-precision / beta-recall of two tables, each capped at `max_rows` (random rows)."""
    tables, kinds = prepare_tables({"real": real, "synthetic": synthetic}, column_kinds)
    rng = np.random.default_rng(seed)
    real_x, syn_x = encode_tables(subsample(tables["real"], max_rows, rng),
                                  subsample(tables["synthetic"], max_rows, rng), kinds=kinds)
    return alpha_precision_beta_recall(real_x, syn_x)
