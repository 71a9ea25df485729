"""Privacy: distance to closest record (DCR), exact copies, and a membership-inference attack.

The baseline for every number is the real holdout: fresh rows from the same distribution that
the generator never saw. A synthetic set that sits closer to the training rows than the
holdout does, copies them, or lets an attacker tell training rows from holdout rows by their
distance to the nearest synthetic row, leaks its training data.
Distances are Euclidean on the encoding fitted on `train` (numeric standardised, one-hot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.metrics import roc_auc_score

from qedm.evaluate.features import encode_tables, prepare_tables, subsample

# Flag heuristics (documented in the result's reasons): margins over the holdout baseline.
COPY_MARGIN = 0.01  # exact-copy share above the holdout's own exact-match share
P5_SHARE_LIMIT = 0.10  # share of synthetic rows below the holdout's 5th-pct DCR (expected 0.05)
MIA_AUC_LIMIT = 0.60


@dataclass
class PrivacyResult:
    """DCR statistics (synthetic vs holdout baseline), exact copies, MIA AUC and a flag."""

    dcr_synthetic_median: float
    dcr_synthetic_p5: float
    dcr_holdout_median: float
    dcr_holdout_p5: float
    share_closer_than_holdout_median: float  # ~0.5 when synthetic is no closer than fresh data
    share_closer_than_holdout_p5: float  # ~0.05 likewise
    exact_copy_share: float
    holdout_exact_match_share: float  # the same share for fresh real rows: the baseline
    exact_copy_indices: list = field(default_factory=list)  # synthetic index labels
    mia_auc: float = float("nan")
    flagged: bool = False
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        return {
            "dcr_synthetic_median": self.dcr_synthetic_median,
            "dcr_synthetic_p5": self.dcr_synthetic_p5,
            "dcr_holdout_median": self.dcr_holdout_median,
            "dcr_holdout_p5": self.dcr_holdout_p5,
            "dcr_share_closer_than_holdout_median": self.share_closer_than_holdout_median,
            "dcr_share_closer_than_holdout_p5": self.share_closer_than_holdout_p5,
            "exact_copy_share": self.exact_copy_share,
            "holdout_exact_match_share": self.holdout_exact_match_share,
            "mia_auc": self.mia_auc,
            "privacy_flagged": float(self.flagged),
        }


def nearest_distance(query: np.ndarray, reference: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Exact Euclidean distance from each row of query [N, D] to its nearest row of reference: [N]."""
    out = np.empty(len(query))
    for start in range(0, len(query), chunk):
        out[start:start + chunk] = cdist(query[start:start + chunk], reference).min(axis=1)
    return out


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def privacy_scores(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    column_kinds: Mapping[str, str] | None = None,
    max_rows: int | None = 5000,
    max_train_rows: int | None = 50000,
    seed: int = 0,
) -> PrivacyResult:
    """DCR of synthetic and holdout rows to train, exact copies of train rows, and MIA AUC.

    Exact copies are checked on all rows; distance queries use at most `max_rows` synthetic,
    holdout and (for the attack) train rows, against at most `max_train_rows` train rows.
    """
    tables, kinds = prepare_tables({"train": train, "holdout": holdout, "synthetic": synthetic}, column_kinds)
    train_c, hold_c, syn_c = tables["train"], tables["holdout"], tables["synthetic"]

    train_hashes = _row_hashes(train_c)
    is_copy = np.isin(_row_hashes(syn_c), train_hashes)
    hold_match = np.isin(_row_hashes(hold_c), train_hashes)

    rng = np.random.default_rng(seed)
    train_ref = subsample(train_c, max_train_rows, rng)
    hold_q = subsample(hold_c, max_rows, rng)
    syn_q = subsample(syn_c, max_rows, rng)
    members = subsample(train_c, len(hold_q), rng)  # as many members as non-members
    train_x, hold_x, syn_x, member_x = encode_tables(train_ref, hold_q, syn_q, members, kinds=kinds)

    dcr_syn = nearest_distance(syn_x, train_x)
    dcr_hold = nearest_distance(hold_x, train_x)
    hold_median, hold_p5 = float(np.median(dcr_hold)), float(np.percentile(dcr_hold, 5))

    # Attack: a row is called a member when a synthetic row lies close to it.
    attack_score = -np.r_[nearest_distance(member_x, syn_x), nearest_distance(hold_x, syn_x)]
    labels = np.r_[np.ones(len(member_x)), np.zeros(len(hold_x))]
    mia = float(roc_auc_score(labels, attack_score))

    result = PrivacyResult(
        dcr_synthetic_median=float(np.median(dcr_syn)),
        dcr_synthetic_p5=float(np.percentile(dcr_syn, 5)),
        dcr_holdout_median=hold_median,
        dcr_holdout_p5=hold_p5,
        share_closer_than_holdout_median=float((dcr_syn < hold_median).mean()),
        share_closer_than_holdout_p5=float((dcr_syn < hold_p5).mean()),
        exact_copy_share=float(is_copy.mean()),
        holdout_exact_match_share=float(hold_match.mean()),
        exact_copy_indices=list(syn_c.index[is_copy]),
        mia_auc=mia,
    )
    if result.exact_copy_share > result.holdout_exact_match_share + COPY_MARGIN:
        result.reasons.append(
            f"{is_copy.sum()} synthetic rows ({result.exact_copy_share:.1%}) copy a training row; "
            f"fresh real rows match one {result.holdout_exact_match_share:.1%} of the time")
    if result.share_closer_than_holdout_p5 > P5_SHARE_LIMIT:
        result.reasons.append(
            f"{result.share_closer_than_holdout_p5:.1%} of synthetic rows are closer to a training "
            f"row than the holdout's 5th-percentile distance (expected about 5%)")
    if mia > MIA_AUC_LIMIT:
        result.reasons.append(f"membership-inference AUC {mia:.2f} > {MIA_AUC_LIMIT}")
    result.flagged = bool(result.reasons)
    return result
