"""Machine-learning utility: train on synthetic, test on real (TSTR) against train real (TRTR).

Both settings are scored on the same real holdout with the same two model families, so the
gap is the price of training on synthetic data. Task type follows the target's column kind:
categorical -> classification (accuracy, macro-F1), numeric -> regression (R^2, MAE).
`gap` is always "how much worse TSTR is" (TRTR - TSTR for accuracy/F1/R^2, TSTR - TRTR for
MAE), so positive means synthetic data lost utility.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from qedm.errors import ConfigError, DataError
from qedm.evaluate.features import MISSING, make_encoder, prepare_tables

METRICS = {"classification": ("accuracy", "f1_macro"), "regression": ("r2", "mae")}
LOWER_IS_BETTER = {"mae"}
FAMILIES = ("logistic", "random_forest", "gradient_boosting")  # "logistic" is Ridge for regression
DEFAULT_FAMILIES = ("logistic", "random_forest")


@dataclass
class UtilityResult:
    """TSTR / TRTR scores per model family and metric, or a failed status with its reason."""

    target: str
    task: str  # "classification" | "regression"
    status: str  # "ok" | "failed"
    reason: str = ""
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)  # model, metric, tstr, trtr, gap
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {"utility_ok": 1.0 if self.status == "ok" else 0.0}
        if self.status != "ok":
            for metric in METRICS[self.task]:
                out[f"tstr_{metric}"] = None
            return out
        for row in self.scores.itertuples():
            out[f"tstr_{row.metric}_{row.model}"] = row.tstr
            out[f"trtr_{row.metric}_{row.model}"] = row.trtr
            out[f"utility_gap_{row.metric}_{row.model}"] = row.gap
        for metric, group in self.scores.groupby("metric"):
            out[f"tstr_{metric}"] = float(group["tstr"].mean())
            out[f"trtr_{metric}"] = float(group["trtr"].mean())
        return out


def _models(task: str, seed: int, families=DEFAULT_FAMILIES) -> dict:
    """The model of each family for the task (the linear family is named "ridge" for regression)."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ConfigError(f"unknown utility model families {unknown}; choose from {FAMILIES}")
    if task == "classification":
        made = {
            "logistic": lambda: LogisticRegression(max_iter=2000),
            "random_forest": lambda: RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1),
            "gradient_boosting": lambda: HistGradientBoostingClassifier(random_state=seed),
        }
        return {f: made[f]() for f in families}
    made = {
        "logistic": lambda: Ridge(alpha=1.0),
        "random_forest": lambda: RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1),
        "gradient_boosting": lambda: HistGradientBoostingRegressor(random_state=seed),
    }
    return {("ridge" if f == "logistic" else f): made[f]() for f in families}


def _score(task: str, y_true, y_pred) -> dict[str, float]:
    if task == "classification":
        return {"accuracy": float(accuracy_score(y_true, y_pred)),
                "f1_macro": float(f1_score(y_true, y_pred, average="macro"))}
    return {"r2": float(r2_score(y_true, y_pred)), "mae": float(mean_absolute_error(y_true, y_pred))}


def _roc_auc(pipe, x: pd.DataFrame, y: pd.Series) -> float:
    """ROC AUC of a fitted classifier on (x, y); classes it never saw score 0 probability; NaN if y has one class."""
    classes = sorted(pd.unique(y).tolist(), key=str)
    if len(classes) < 2:
        return float("nan")
    proba = pipe.predict_proba(x)
    known = list(pipe.classes_)
    columns = np.stack([proba[:, known.index(c)] if c in known else np.zeros(len(x)) for c in classes], axis=1)
    if len(classes) == 2:
        return float(roc_auc_score(y == classes[1], columns[:, 1]))
    columns = columns / np.clip(columns.sum(axis=1, keepdims=True), 1e-12, None)
    return float(roc_auc_score(y, columns, multi_class="ovr", average="macro", labels=classes))


def _unusable(task: str, y: pd.Series, name: str, target: str) -> str:
    """Why a training target cannot fit a model, or '' if it can."""
    if len(y) < 2:
        return f"{name} has {len(y)} usable rows for target '{target}'"
    if task == "classification" and y.nunique() < 2:
        return f"{name} target '{target}' has only one class ({y.iloc[0]!r}); no classifier can be trained"
    if task == "regression" and float(y.std()) == 0.0:
        return f"{name} target '{target}' is constant ({y.iloc[0]}); no regressor can be trained"
    return ""


def _drop_missing_target(frame: pd.DataFrame, target: str, task: str) -> pd.DataFrame:
    keep = frame[target] != MISSING if task == "classification" else frame[target].notna()
    return frame[keep]


def tstr_utility(
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    target: str,
    train: pd.DataFrame | None = None,
    column_kinds: Mapping[str, str] | None = None,
    seed: int = 0,
    families: tuple[str, ...] = DEFAULT_FAMILIES,
) -> UtilityResult:
    """Fit each model family on synthetic (TSTR) and on real train (TRTR); score on `holdout`.

    `families` picks from FAMILIES; "gradient_boosting" (scikit-learn's histogram GBM, the
    family TabSyn/TabDDPM report) also scores ROC AUC for classification (macro one-vs-rest
    for more than two classes).

    Without `train`, the holdout is split in half: TRTR trains on one half, and both settings
    are scored on the other half (noted in the result).
    """
    frames = {"real": holdout, "synthetic": synthetic}
    if train is not None:
        frames["train"] = train
    if target not in holdout.columns:
        raise DataError(f"target column '{target}' is not in the real data; columns: {list(holdout.columns)}")
    tables, kinds = prepare_tables(frames, column_kinds)
    task = "classification" if kinds[target] == "categorical" else "regression"
    notes: list[str] = []
    test = _drop_missing_target(tables["real"], target, task)
    if "train" in tables:
        real_train = _drop_missing_target(tables["train"], target, task)
    else:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(test))
        half = len(test) // 2
        real_train, test = test.iloc[order[:half]], test.iloc[order[half:]]
        notes.append("no train table given: TRTR trained on a random half of the holdout, "
                     "both settings tested on the other half")
    syn = _drop_missing_target(tables["synthetic"], target, task)
    if len(syn) < len(tables["synthetic"]):
        notes.append(f"{len(tables['synthetic']) - len(syn)} synthetic rows with missing target dropped")
    reason = (_unusable(task, syn[target], "synthetic", target)
              or _unusable(task, real_train[target], "real train", target)
              or ("real holdout has no rows with a target" if len(test) == 0 else ""))
    if reason:
        return UtilityResult(target=target, task=task, status="failed", reason=reason, notes=notes)
    features = {c: k for c, k in kinds.items() if c != target}
    if not features:
        return UtilityResult(target=target, task=task, status="failed",
                             reason=f"no feature columns besides target '{target}'", notes=notes)
    cols = list(features)
    rows = []
    for name, model in _models(task, seed, families).items():
        result = {}
        for setting, fit_on in (("tstr", syn), ("trtr", real_train)):
            pipe = make_pipeline(make_encoder(features), clone(model))
            with threadpool_limits(limits=1, user_api="openmp"):
                pipe.fit(fit_on[cols], fit_on[target])
                result[setting] = _score(task, test[target], pipe.predict(test[cols]))
                if name == "gradient_boosting" and task == "classification":
                    result[setting]["roc_auc"] = _roc_auc(pipe, test[cols], test[target])
        extra = ("roc_auc",) if name == "gradient_boosting" and task == "classification" else ()
        for metric in METRICS[task] + extra:
            tstr, trtr = result["tstr"][metric], result["trtr"][metric]
            gap = tstr - trtr if metric in LOWER_IS_BETTER else trtr - tstr
            rows.append({"model": name, "metric": metric, "tstr": tstr, "trtr": trtr, "gap": gap})
    return UtilityResult(target=target, task=task, status="ok", scores=pd.DataFrame(rows), notes=notes)
