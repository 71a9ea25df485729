"""TSTR/TRTR: separable problems score ~1, one-class synthetic fails clearly, sklearn agrees."""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from qedm.errors import DataError
from qedm.evaluate.utility import tstr_utility


def separable(n, seed):
    """Two well-separated classes along x1, an irrelevant x2 and a category."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    return pd.DataFrame({
        "x1": np.where(label == 1, 3.0, -3.0) + rng.normal(size=n),
        "x2": rng.normal(size=n),
        "c": rng.choice(["u", "v"], n),
        "label": np.where(label == 1, "yes", "no"),
    })


def test_separable_classification_scores_one():
    res = tstr_utility(separable(200, 0), separable(300, 1), "label", train=separable(300, 2))
    assert res.status == "ok" and res.task == "classification"
    scores = res.scores.set_index(["model", "metric"])
    assert set(scores.index.get_level_values("model")) == {"logistic", "random_forest"}
    assert (scores["tstr"] > 0.97).all() and (scores["trtr"] > 0.97).all()
    assert scores["gap"].abs().max() < 0.03
    summary = res.summary()
    assert summary["tstr_accuracy_logistic"] == scores.loc[("logistic", "accuracy"), "tstr"]


def test_trtr_matches_direct_sklearn():
    hold, syn, train = separable(200, 0), separable(300, 1), separable(300, 2)
    for frame in (hold, syn, train):  # make the task imperfect so the number is informative
        frame["x1"] = frame["x1"] * 0.3 + np.random.default_rng(5).normal(size=len(frame))
    res = tstr_utility(hold, syn, "label", train=train)
    cols = ["x1", "x2"]
    enc = lambda f: np.c_[(f[cols] - train[cols].mean()) / train[cols].std(ddof=0), f["c"] == "u", f["c"] == "v"]  # noqa: E731
    model = LogisticRegression(max_iter=2000).fit(enc(train), train["label"])
    expected = accuracy_score(hold["label"], model.predict(enc(hold)))
    got = res.scores.set_index(["model", "metric"]).loc[("logistic", "accuracy"), "trtr"]
    assert got == pytest.approx(expected)


def test_one_class_synthetic_fails_with_reason():
    syn = separable(100, 1)
    syn["label"] = "yes"
    res = tstr_utility(separable(100, 0), syn, "label", train=separable(100, 2))
    assert res.status == "failed"
    assert "only one class" in res.reason and "synthetic" in res.reason
    assert res.summary()["utility_ok"] == 0.0 and res.summary()["tstr_accuracy"] is None


def test_regression_target_detected():
    def frame(n, seed):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=n)
        return pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": 2.0 * x + 0.05 * rng.normal(size=n)})

    res = tstr_utility(frame(200, 0), frame(300, 1), "y", train=frame(300, 2))
    assert res.task == "regression"
    scores = res.scores.set_index(["model", "metric"])
    assert scores.loc[("ridge", "r2"), "tstr"] > 0.99
    assert scores.loc[("ridge", "mae"), "tstr"] < 0.1
    # MAE gap is TSTR - TRTR: "how much worse synthetic is"
    row = scores.loc[("ridge", "mae")]
    assert row["gap"] == pytest.approx(row["tstr"] - row["trtr"])


def test_without_train_splits_holdout_and_notes_it():
    res = tstr_utility(separable(200, 0), separable(200, 1), "label")
    assert res.status == "ok" and any("half" in n for n in res.notes)


def test_missing_target_raises():
    with pytest.raises(DataError, match="'nope'"):
        tstr_utility(separable(50, 0), separable(50, 1), "nope")


def test_gradient_boosting_family_scores_roc_auc_and_unknown_family_is_named():
    from qedm.errors import ConfigError

    res = tstr_utility(separable(200, 0), separable(300, 1), "label", train=separable(300, 2),
                       families=("gradient_boosting",))
    scores = res.scores.set_index("metric")
    assert set(scores.index) == {"accuracy", "f1_macro", "roc_auc"}
    assert scores.loc["roc_auc", "tstr"] > 0.9  # separable classes: the ranking is near perfect
    with pytest.raises(ConfigError, match="xgboost"):
        tstr_utility(separable(50, 0), separable(50, 1), "label", families=("xgboost",))
