"""Detection: a classifier two-sample test (C2ST) between real and synthetic rows.

A classifier is trained to tell real from synthetic; its cross-validated ROC AUC is 0.5 when
the two sets are indistinguishable and 1.0 when every row gives itself away. Classes are
balanced by subsampling the larger set, the encoding is fitted inside each fold (no leak from
the test fold), and the reported AUC is that of the most discriminative model family: a test
is only as strong as its best detector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from qedm.errors import ConfigError, DataError
from qedm.evaluate.features import make_encoder, prepare_tables, subsample

DETECTORS = ("logistic", "gradient_boosting")


@dataclass
class DetectionResult:
    """C2ST AUC of the best detector (mean and std over folds) and every detector's scores."""

    auc_mean: float
    auc_std: float
    best_model: str
    n_per_class: int
    per_model: pd.DataFrame  # model, auc_mean, auc_std, fold_aucs

    def summary(self) -> dict[str, float]:
        out = {"c2st_auc": self.auc_mean, "c2st_auc_std": self.auc_std}
        for row in self.per_model.itertuples():
            out[f"c2st_auc_{row.model}"] = row.auc_mean
        return out


def _detector(name: str, seed: int):
    if name == "logistic":
        return LogisticRegression(max_iter=2000, C=1.0)
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=seed)
    raise ConfigError(f"unknown detector '{name}'; choose from {DETECTORS}")


def c2st_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    column_kinds: Mapping[str, str] | None = None,
    models: Sequence[str] = DETECTORS,
    n_folds: int = 5,
    max_rows_per_class: int | None = 5000,
    seed: int = 0,
) -> DetectionResult:
    """Cross-validated (stratified k-fold) AUC of classifiers separating real from synthetic."""
    tables, kinds = prepare_tables({"real": real, "synthetic": synthetic}, column_kinds)
    for m in models:
        _detector(m, seed)
    rng = np.random.default_rng(seed)
    n = min(len(tables["real"]), len(tables["synthetic"]))
    if max_rows_per_class is not None:
        n = min(n, max_rows_per_class)
    if n < n_folds:
        raise DataError(f"C2ST needs at least n_folds={n_folds} rows in each of real and synthetic, got {n}")
    x = pd.concat(
        [subsample(tables["real"], n, rng), subsample(tables["synthetic"], n, rng)],
        axis=0,
        ignore_index=True,
    )
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    rows = []
    for name in models:
        pipe = make_pipeline(make_encoder(kinds), _detector(name, seed))
        # One OpenMP thread: on tables this size gradient boosting's threads cost more than
        # they give, and on a shared machine they thrash (measured 30x slower).
        with threadpool_limits(limits=1, user_api="openmp"):
            aucs = cross_val_score(pipe, x, y, cv=folds, scoring="roc_auc")
        rows.append({"model": name, "auc_mean": float(aucs.mean()), "auc_std": float(aucs.std()),
                     "fold_aucs": [float(a) for a in aucs]})
    per_model = pd.DataFrame(rows)
    best = per_model.loc[per_model["auc_mean"].idxmax()]
    return DetectionResult(
        auc_mean=float(best["auc_mean"]),
        auc_std=float(best["auc_std"]),
        best_model=str(best["model"]),
        n_per_class=n,
        per_model=per_model,
    )
