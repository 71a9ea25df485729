"""Fairness: the parity and odds differences are fairlearn's, and equal a hand computation."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("fairlearn")
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference  # noqa: E402

from qedm.cli import app  # noqa: E402
from qedm.errors import DataError  # noqa: E402
from qedm.privacy.fairness import fairness_scores  # noqa: E402


def _table(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    group = rng.choice(["f", "m"], n, p=[0.4, 0.6])
    x = rng.normal(size=n) + (group == "m") * 0.8 + shift
    label = np.where(x + rng.normal(0, 0.7, n) > 0.5, "yes", "no")
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "group": group, "label": label})


def _by_hand(y_true, y_pred, groups):
    frame = pd.DataFrame({"t": y_true, "p": y_pred, "g": groups})
    rate = frame.groupby("g")["p"].mean()
    tpr = frame[frame.t == 1].groupby("g")["p"].mean()
    fpr = frame[frame.t == 0].groupby("g")["p"].mean()
    return rate.max() - rate.min(), max(tpr.max() - tpr.min(), fpr.max() - fpr.min())


def test_differences_equal_fairlearn_and_a_hand_computation():
    real, train, synthetic = _table(300, 0), _table(300, 1), _table(300, 2, shift=0.3)
    result = fairness_scores(real, synthetic, ["group"], target="label", train=train)
    y_true, groups = result.predictions["y_true"], result.predictions["groups"]
    for setting in ("tstr", "trtr"):
        y_pred = result.predictions[setting]
        dp, eo = _by_hand(y_true, y_pred, groups["group"].to_numpy())
        assert result.differences[f"demographic_parity_difference_{setting}"] == pytest.approx(dp, abs=1e-12)
        assert result.differences[f"equalized_odds_difference_{setting}"] == pytest.approx(eo, abs=1e-12)
        assert dp == pytest.approx(demographic_parity_difference(y_true, y_pred, sensitive_features=groups))
        assert eo == pytest.approx(equalized_odds_difference(y_true, y_pred, sensitive_features=groups))
    gap = result.differences["demographic_parity_difference_gap"]
    assert gap == pytest.approx(result.differences["demographic_parity_difference_tstr"]
                                - result.differences["demographic_parity_difference_trtr"])
    assert result.positive_class == "yes" or result.positive_class == "no"
    per_group = result.per_group.set_index("group")
    assert per_group.loc["f", "n_real"] == (real["group"] == "f").sum()
    assert 0 <= per_group["fidelity"].min() <= 1


def test_unknown_sensitive_column_is_one_error():
    real = _table(50, 0)
    with pytest.raises(DataError, match="'sex'"):
        fairness_scores(real, real, ["sex"], target="label")


def test_cli_unknown_sensitive_column_writes_nothing(tmp_path):
    real = tmp_path / "real.csv"
    _table(60, 0).to_csv(real, index=False)
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["evaluate", str(real), str(real), "--sensitive", "group,sex",
                                      "--json", str(out)])
    assert result.exit_code == 1 and "sensitive column 'sex'" in result.output
    assert not out.exists()


def test_cli_sensitive_reports_subgroups(tmp_path):
    real, synthetic = tmp_path / "real.csv", tmp_path / "syn.csv"
    _table(120, 0).to_csv(real, index=False)
    _table(120, 2).to_csv(synthetic, index=False)
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, ["evaluate", str(real), str(synthetic), "--sensitive", "group",
                                      "--target", "label", "--metrics", "fidelity", "--json", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert "demographic_parity_difference_gap" in payload["summary"]
    assert {row["group"] for row in payload["fairness_per_group"]} == {"f", "m"}
