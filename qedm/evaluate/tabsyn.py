"""The TabSyn-style metric set of the table suite, composed from qedm.evaluate's metrics.

TabSyn (Zhang et al. 2024) and TabDiff report, per table: column-shape error and pair-trend
error (1 - SDMetrics' scores, here over every column pair), alpha-precision and beta-recall,
a C2ST detection score, the utility of a gradient-boosting model trained on synthetic rows and
tested on real ones (ROC AUC for a class target, R^2 for a numeric one), and the distance to
closest record (DCR: the share of synthetic rows closer to a training row than the holdout's
median distance; about 0.5 for fresh rows). Every key is a float; lower/higher-is-better is
declared in qedm.report.summary by name.
"""

from __future__ import annotations

import pandas as pd

from qedm.evaluate.alpha_precision import alpha_precision_scores
from qedm.evaluate.detection import c2st_auc
from qedm.evaluate.features import prepare_tables
from qedm.evaluate.fidelity import fidelity_scores
from qedm.evaluate.privacy import privacy_scores
from qedm.evaluate.utility import tstr_utility

# The metrics that rank models across tables (direction in RANK_DIRECTIONS: +1 higher is better).
RANK_DIRECTIONS = {"column_shape_error": -1, "pair_trend_error": -1, "alpha_precision": 1,
                   "beta_recall": 1, "c2st_auc": -1, "tstr_gbm": 1}


def tabsyn_metrics(holdout: pd.DataFrame, synthetic: pd.DataFrame, train: pd.DataFrame,
                   target: str | None, seed: int = 0, max_rows: int | None = 5000) -> dict[str, float]:
    """Score `synthetic` against the real `holdout` (and `train`, for DCR and TRTR): the keys above.

    `max_rows` caps the rows of the k-NN, C2ST and DCR computations (random rows, seeded).
    """
    _, kinds = prepare_tables({"real": holdout, "synthetic": synthetic, "train": train})
    fidelity = fidelity_scores(holdout, synthetic, kinds)
    out = {"column_shape_error": 1.0 - fidelity.column_shapes,
           "pair_trend_error": 1.0 - fidelity.column_pair_trends_all,
           "pair_trend_error_sdmetrics": 1.0 - fidelity.column_pair_trends}
    out.update(alpha_precision_scores(holdout, synthetic, kinds, max_rows=max_rows, seed=seed).summary())
    out["c2st_auc"] = c2st_auc(holdout, synthetic, kinds, max_rows_per_class=max_rows, seed=seed).auc_mean
    if target is not None:
        utility = tstr_utility(holdout, synthetic, target, train=train, column_kinds=kinds, seed=seed,
                               families=("gradient_boosting",))
        if utility.status == "ok":
            metric = "roc_auc" if utility.task == "classification" else "r2"
            row = utility.scores.set_index("metric").loc[metric]
            out["tstr_gbm"], out["trtr_gbm"] = float(row["tstr"]), float(row["trtr"])
    privacy = privacy_scores(train, holdout, synthetic, kinds, max_rows=max_rows, seed=seed)
    out["dcr_share_closer_than_holdout_median"] = privacy.share_closer_than_holdout_median
    out["exact_copy_share"] = privacy.exact_copy_share
    return out
