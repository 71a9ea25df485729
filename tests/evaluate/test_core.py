"""evaluate(): input validation, skipping with notes, flat JSON summary, end-to-end known answers."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from qedm.errors import ConfigError, DataError
from qedm.evaluate import evaluate


@pytest.fixture(scope="module")
def split():
    frame = load_breast_cancer(as_frame=True).frame
    frame = frame[list(frame.columns[:6]) + ["target"]]
    idx = np.random.default_rng(0).permutation(len(frame))
    return frame.iloc[idx[:280]], frame.iloc[idx[280:]]


def test_copy_of_train_end_to_end(split):
    train, holdout = split
    res = evaluate(holdout, train.copy(), train=train, target="target")
    s = res.summary()
    for key in ("fidelity_overall", "column_shapes", "column_pair_trends", "c2st_auc", "tstr_accuracy",
                "trtr_accuracy", "precision", "recall", "density", "coverage", "dcr_synthetic_median",
                "exact_copy_share", "mia_auc", "mmd_rbf", "mmd_quantum"):
        assert isinstance(s[key], float), key
    assert s["exact_copy_share"] == 1.0 and s["mia_auc"] == 1.0 and s["privacy_flagged"] == 1.0
    assert s["fidelity_overall"] > 0.85 and s["c2st_auc"] < 0.65
    assert any("privacy flagged" in n for n in res.notes)
    assert set(res.tables()) == {"column_shapes", "column_pairs", "detection", "utility"}
    back = json.loads(res.to_json())
    assert back["summary"] == pytest.approx(s)
    assert sorted(back["privacy"]["exact_copy_indices"]) == sorted(int(i) for i in train.index)
    assert set(res.seconds) == {"fidelity", "detection", "utility", "diversity", "privacy", "mmd"}


def test_skips_are_noted_and_one_class_fails_cleanly(split):
    train, holdout = split
    res = evaluate(holdout, train, metrics=("utility", "privacy"))
    assert res.utility is None and res.privacy is None and len(res.notes) == 2
    one_class = train.assign(target=1)
    res = evaluate(holdout, one_class, target="target", metrics=("utility",))
    s = res.summary()
    assert s["utility_ok"] == 0.0 and s["tstr_accuracy"] is None
    assert any("only one class" in n for n in res.notes)
    json.loads(res.to_json())  # strict JSON even with failed scores


def test_column_mismatch_names_the_columns(split):
    train, holdout = split
    with pytest.raises(DataError, match="mean texture"):
        evaluate(holdout, train.drop(columns=["mean texture"]))
    with pytest.raises(DataError, match="'train'.*extra_col"):
        evaluate(holdout, train, train=train.assign(extra_col=1.0))


def test_empty_and_bad_arguments(split):
    train, holdout = split
    with pytest.raises(DataError, match="'synthetic' is empty"):
        evaluate(holdout, train.iloc[:0])
    with pytest.raises(ConfigError, match="unknown metrics"):
        evaluate(holdout, train, metrics=("fidelity", "vibes"))
    with pytest.raises(ConfigError, match="column_kinds"):
        evaluate(holdout, train, column_kinds={"nope": "numeric"})
    with pytest.raises(DataError, match="target column 'nope'"):
        evaluate(holdout, train, target="nope")


def test_column_kinds_detected_and_overridden():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "code": rng.integers(0, 3, 60),
                          "flag": rng.integers(0, 2, 60).astype(bool), "name": rng.choice(list("pq"), 60)})
    res = evaluate(frame, frame, metrics=("fidelity",))
    assert res.column_kinds == {"x": "numeric", "code": "categorical", "flag": "categorical", "name": "categorical"}
    res = evaluate(frame, frame, column_kinds={"code": "numeric"}, metrics=("fidelity",))
    assert res.column_kinds["code"] == "numeric"
    shapes = res.fidelity.shapes.set_index("Column")["Metric"]
    assert shapes["code"] == "KSComplement" and shapes["flag"] == "TVComplement"
    with pytest.raises(DataError, match="'name'"):
        evaluate(frame, frame, column_kinds={"name": "numeric"}, metrics=("fidelity",))


def test_datetime_columns_are_scored():
    rng = np.random.default_rng(0)

    def records(n, seed):
        r = np.random.default_rng(seed)
        days = r.integers(0, 700, n)
        return pd.DataFrame({
            "admitted": pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D"),
            "stay": pd.to_timedelta(r.integers(1, 30, n), unit="D"),
            "cost": days * 3.0 + r.normal(0, 50, n),
            "ward": r.choice(["a", "b"], n),
        })

    train, holdout = records(150, 1), records(100, 2)
    shuffled = train.assign(admitted=train["admitted"].to_numpy()[rng.permutation(len(train))])
    good = evaluate(holdout, train.copy(), train=train, target="cost")
    bad = evaluate(holdout, shuffled, train=train, target="cost")
    assert good.column_kinds["admitted"] == "numeric" and good.column_kinds["stay"] == "numeric"
    s_good, s_bad = good.summary(), bad.summary()
    assert all(np.isfinite(v) for k, v in s_good.items() if isinstance(v, float) and "pvalue" not in k)
    # Breaking the date-cost dependence must cost pair trends and utility: dates are really used.
    assert s_bad["column_pair_trends_all"] < s_good["column_pair_trends_all"]
    assert s_bad["tstr_mae"] > s_good["tstr_mae"]
