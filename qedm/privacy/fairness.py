"""Fairness of synthetic data: per-subgroup fidelity, and whether TSTR models treat groups worse.

For each sensitive column the real holdout and the synthetic table are split by group and
scored with the fidelity metric (SDMetrics QualityReport) group by group. For a categorical
target, a logistic-regression pipeline (the utility module's encoder) is trained on the
synthetic rows (TSTR) and on the real training rows (TRTR), both predict the real holdout,
and fairlearn computes demographic-parity and equalised-odds differences over the
intersection of the sensitive columns (`MetricFrame`, `demographic_parity_difference`,
`equalized_odds_difference`). The positive class is the target's least frequent class in
the real holdout (one-vs-rest for multi-class targets). gap = TSTR - TRTR: positive means the
model trained on synthetic data is less fair than the one trained on real data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from qedm.errors import DataError, require
from qedm.evaluate.features import make_encoder, prepare_tables
from qedm.evaluate.fidelity import fidelity_scores

MIN_GROUP_ROWS = 5  # fewer real or synthetic rows than this: the group's fidelity is not scored
MAX_GROUPS = 20


@dataclass
class FairnessResult:
    """Per-group fidelity and rates, and the parity / odds differences of TSTR and TRTR models."""

    sensitive: list[str]
    target: str | None
    positive_class: object = None
    per_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: dict[str, float] = field(default_factory=dict)
    predictions: dict[str, np.ndarray] = field(default_factory=dict)  # y_true, tstr, trtr (0/1), groups
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float | None]:
        out: dict[str, float | None] = dict(self.differences)
        fid = self.per_group["fidelity"].dropna() if "fidelity" in self.per_group else pd.Series(dtype=float)
        out["subgroup_fidelity_min"] = float(fid.min()) if len(fid) else None
        out["subgroup_fidelity_max"] = float(fid.max()) if len(fid) else None
        return out


def check_sensitive(columns, sensitive: list[str]) -> list[str]:
    """The sensitive column names, or DataError naming the first one that is not a column."""
    if not sensitive:
        raise DataError("--sensitive needs at least one column name")
    for name in sensitive:
        if name not in columns:
            raise DataError(f"sensitive column '{name}' is not in the data; columns: {list(columns)}")
    return list(sensitive)


def fairness_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    sensitive: list[str],
    target: str | None = None,
    train: pd.DataFrame | None = None,
    seed: int = 0,
) -> FairnessResult:
    """Per-subgroup fidelity of `synthetic` vs the real holdout and, with a categorical target,
    the TSTR - TRTR gaps in demographic parity and equalised odds (fairlearn)."""
    fairlearn_metrics = require("fairlearn.metrics", "privacy")
    sensitive = check_sensitive(real.columns, sensitive)
    frames = {"real": real, "synthetic": synthetic} | ({"train": train} if train is not None else {})
    tables, kinds = prepare_tables(frames, None)
    for name in sensitive:
        if kinds[name] != "categorical" and real[name].nunique() > MAX_GROUPS:
            raise DataError(f"sensitive column '{name}' is numeric with {real[name].nunique()} values; "
                            f"bin it into at most {MAX_GROUPS} groups first")
    result = FairnessResult(sensitive=sensitive, target=target)
    rows = []
    for name in sensitive:
        for group in sorted(real[name].dropna().unique().tolist(), key=str):
            real_g, syn_g = real[real[name] == group], synthetic[synthetic[name] == group]
            score = None
            if len(real_g) >= MIN_GROUP_ROWS and len(syn_g) >= MIN_GROUP_ROWS:
                score = fidelity_scores(real_g, syn_g, kinds).overall
            else:
                result.notes.append(f"group {name}={group!r}: {len(real_g)} real / {len(syn_g)} synthetic rows, "
                                    f"fewer than {MIN_GROUP_ROWS}: fidelity not scored")
            rows.append({"column": name, "group": group, "n_real": len(real_g), "n_synthetic": len(syn_g),
                         "share_real": len(real_g) / len(real), "share_synthetic": len(syn_g) / len(synthetic),
                         "fidelity": score})
    result.per_group = pd.DataFrame(rows)
    if target is None or kinds.get(target) != "categorical":
        result.notes.append("fairness of TSTR models skipped: needs a categorical --target")
        return result
    _model_gaps(result, tables, kinds, sensitive, target, seed, fairlearn_metrics)
    return result


def _model_gaps(result, tables, kinds, sensitive, target, seed, fm) -> None:
    """Fit TSTR and TRTR classifiers, predict the holdout, and let fairlearn compare the groups."""
    test = tables["real"]
    if "train" in tables:
        real_train = tables["train"]
    else:
        order = np.random.default_rng(seed).permutation(len(test))
        real_train, test = test.iloc[order[: len(test) // 2]], test.iloc[order[len(test) // 2:]]
        result.notes.append("no train table: TRTR trained on half of the holdout, both tested on the other half")
    counts = test[target].value_counts()
    positive = counts.index[-1] if len(counts) else None
    result.positive_class = positive
    features = {c: k for c, k in kinds.items() if c != target}
    y_true = (test[target] == positive).astype(int).to_numpy()
    groups = test[sensitive].astype(str)
    predictions = {"y_true": y_true}
    for setting, fit_on in (("tstr", tables["synthetic"]), ("trtr", real_train)):
        y_fit = (fit_on[target] == positive).astype(int)
        if y_fit.nunique() < 2:
            result.notes.append(f"{setting}: the training rows have one class only; fairness not computed")
            return
        pipe = make_pipeline(make_encoder(features), LogisticRegression(max_iter=2000))
        pipe.fit(fit_on[list(features)], y_fit)
        y_pred = pipe.predict(test[list(features)])
        predictions[setting] = y_pred
        frame = fm.MetricFrame(metrics={"selection_rate": fm.selection_rate, "true_positive_rate":
                                        fm.true_positive_rate, "false_positive_rate": fm.false_positive_rate},
                               y_true=y_true, y_pred=y_pred, sensitive_features=groups)
        result.differences[f"demographic_parity_difference_{setting}"] = float(
            fm.demographic_parity_difference(y_true, y_pred, sensitive_features=groups))
        result.differences[f"equalized_odds_difference_{setting}"] = float(
            fm.equalized_odds_difference(y_true, y_pred, sensitive_features=groups))
        result.predictions[f"by_group_{setting}"] = frame.by_group
    for metric in ("demographic_parity_difference", "equalized_odds_difference"):
        result.differences[f"{metric}_gap"] = (result.differences[f"{metric}_tstr"]
                                               - result.differences[f"{metric}_trtr"])
    result.predictions.update(predictions)
    result.predictions["groups"] = groups
