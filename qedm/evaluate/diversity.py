"""Sample quality and diversity from k-NN balls: precision/recall and density/coverage.

Precision / recall: Kynkaanniemi et al. 2019, "Improved precision and recall metric for
assessing generative models". Density / coverage: Naeem et al. 2020, "Reliable fidelity and
diversity metrics for generative models". Rows are encoded (numeric standardised on the real
set, categories one-hot) and compared by Euclidean distance; each point's closed ball has the
radius of the distance to its k-th nearest neighbour in its own set (exact distances via
scipy's cdist, so duplicated rows with radius 0 still contain their copies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from qedm.errors import DataError
from qedm.evaluate.features import encode_tables, prepare_tables, subsample


@dataclass
class DiversityResult:
    """Precision and density (synthetic inside real balls), recall and coverage (the reverse)."""

    precision: float
    recall: float
    density: float
    coverage: float
    k: int
    n_real: int
    n_synthetic: int

    def summary(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall,
                "density": self.density, "coverage": self.coverage}


def kth_neighbour_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of x [N, D] to its k-th nearest other row: [N]."""
    d = cdist(x, x)
    # Column 0 of the sorted row is the point itself (distance 0), so index k is the k-th other.
    return np.partition(d, k, axis=1)[:, k]


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, float]:
    """Precision, recall, density, coverage of encoded rows real [N, D] and fake [M, D]."""
    if len(real) <= k or len(fake) <= k:
        raise DataError(f"k-NN diversity needs more than k={k} rows in each set, "
                        f"got {len(real)} real and {len(fake)} synthetic")
    real_radii = kth_neighbour_radii(real, k)  # [N]
    fake_radii = kth_neighbour_radii(fake, k)  # [M]
    d = cdist(real, fake)  # [N, M]
    inside_real = d <= real_radii[:, None]  # fake j inside real ball i
    inside_fake = d <= fake_radii[None, :]  # real i inside fake ball j
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float(inside_fake.any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((d.min(axis=1) <= real_radii).mean()),
    }


def diversity_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    column_kinds: Mapping[str, str] | None = None,
    k: int = 5,
    max_rows: int | None = 3000,
    seed: int = 0,
) -> DiversityResult:
    """k-NN precision/recall/density/coverage on encoded rows, each set capped at `max_rows`."""
    tables, kinds = prepare_tables({"real": real, "synthetic": synthetic}, column_kinds)
    rng = np.random.default_rng(seed)
    real_s = subsample(tables["real"], max_rows, rng)
    syn_s = subsample(tables["synthetic"], max_rows, rng)
    real_x, syn_x = encode_tables(real_s, syn_s, kinds=kinds)
    scores = prdc(real_x, syn_x, k)
    return DiversityResult(k=k, n_real=len(real_x), n_synthetic=len(syn_x), **scores)
