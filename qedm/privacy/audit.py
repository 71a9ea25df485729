"""Privacy audit: SDMetrics' disclosure and overfitting protection, and canary membership inference.

`privacy_audit` adds two SDMetrics scores (1 = best protected) next to qedm's own DCR and
membership-inference AUC (qedm.evaluate.privacy):
- DCROverfittingProtection: are synthetic rows closer to the training rows than to a real
  holdout? (distance to closest record, SDMetrics' implementation);
- DisclosureProtection (CAP): how well an attacker who knows some columns of a training row
  guesses a sensitive column from the synthetic rows, against a random-guess baseline.
`plant_canaries` / `canary_mia_auc` are the empirical audit of a DP guarantee: outlying rows
are planted in the training table, an equal number of similar canaries is held out, and the
attack (a canary is a member when a synthetic row lies close to it) is scored by ROC AUC;
under a tight guarantee it stays near 0.5.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from qedm.evaluate.features import encode_tables, prepare_tables
from qedm.evaluate.fidelity import sdmetrics_metadata
from qedm.evaluate.privacy import nearest_distance

N_KNOWN = 3  # columns the disclosure attacker is assumed to know (the first ones besides the secret)


def privacy_audit(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                  sensitive_column: str | None = None, max_rows: int = 2000, seed: int = 0) -> dict[str, float]:
    """{"sdm_dcr_overfitting_protection", "sdm_disclosure_protection"} in [0, 1] (1 = protected).

    The secret column is `sensitive_column` (default: the last column); the attacker knows the
    first N_KNOWN other columns. Tables are subsampled to `max_rows` rows (SDMetrics is quadratic).
    """
    from sdmetrics.single_table import DCROverfittingProtection, DisclosureProtection

    tables, kinds = prepare_tables({"train": train, "holdout": holdout, "synthetic": synthetic}, None)
    rng = np.random.default_rng(seed)
    train_c, hold_c, syn_c = (_subsample(tables[k], max_rows, rng) for k in ("train", "holdout", "synthetic"))
    secret = sensitive_column or train_c.columns[-1]
    known = [c for c in train_c.columns if c != secret][:N_KNOWN]
    continuous = [c for c in [*known, secret] if kinds[c] == "numeric"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metadata = {"tables": {"table": sdmetrics_metadata(kinds)}}
        overfit = DCROverfittingProtection.compute(train_c, syn_c, hold_c, metadata, "table")
        disclosure = DisclosureProtection.compute(train_c, syn_c, known_column_names=known,
                                                  sensitive_column_names=[secret],
                                                  continuous_column_names=continuous or None)
    return {"sdm_dcr_overfitting_protection": float(overfit), "sdm_disclosure_protection": float(disclosure)}


def _subsample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= n:
        return frame.reset_index(drop=True)
    return frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))].reset_index(drop=True)


def plant_canaries(table: pd.DataFrame, n: int, seed: int, scale: float = 4.0) -> pd.DataFrame:
    """`n` outlying rows: real rows whose numeric values are pushed `scale` standard deviations
    out, each in a random direction per column (categorical values kept): [n, columns]."""
    rng = np.random.default_rng(seed)
    rows = table.iloc[rng.choice(len(table), n, replace=True)].reset_index(drop=True).copy()
    for name in table.columns:
        if pd.api.types.is_float_dtype(table[name]):
            sign = rng.choice([-1.0, 1.0], size=n)
            rows[name] = table[name].mean() + sign * scale * table[name].std() * rng.uniform(0.8, 1.2, size=n)
    return rows


def canary_mia_auc(members: pd.DataFrame, non_members: pd.DataFrame, synthetic: pd.DataFrame,
                   reference: pd.DataFrame) -> float:
    """ROC AUC of "member when a synthetic row is near": planted canaries vs held-out canaries.

    Distances are on the encoding fitted on `reference` (the real training table).
    """
    tables, kinds = prepare_tables({"reference": reference, "members": members, "non": non_members,
                                    "synthetic": synthetic}, None)
    ref_x, mem_x, non_x, syn_x = encode_tables(tables["reference"], tables["members"], tables["non"],
                                               tables["synthetic"], kinds=kinds)
    score = -np.r_[nearest_distance(mem_x, syn_x), nearest_distance(non_x, syn_x)]
    labels = np.r_[np.ones(len(mem_x)), np.zeros(len(non_x))]
    return float(roc_auc_score(labels, score))
