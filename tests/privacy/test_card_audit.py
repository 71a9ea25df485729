"""Model cards (flat, fingerprint only) and the privacy audit (SDMetrics scores, canary attack)."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qedm.cli import app
from qedm.privacy.audit import canary_mia_auc, plant_canaries, privacy_audit
from qedm.privacy.card import data_fingerprint

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("card")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=90), "secret_value": rng.normal(7.123456, 0.001, 90),
                          "kind": rng.choice(["a", "b"], 90)})
    data = root / "t.csv"
    frame.to_csv(data, index=False)
    config = root / "c.yaml"
    config.write_text("hidden: 16\nn_blocks: 1\nn_steps: 50\nbatch_size: 32\n")
    out = root / "run"
    result = CliRunner().invoke(app, ["fit", str(data), "--out", str(out), "--denoiser", "classical",
                                      "--epochs", "2", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return out, frame


def test_card_is_flat_and_holds_no_rows(run):
    out, frame = run
    card = json.loads((out / "card.json").read_text())
    for key, value in card.items():
        assert value is None or isinstance(value, (str, int, float, bool)) or (
            isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value)), key
    assert card["data.rows"] == 90 and card["data.column_names"] == ["x", "secret_value", "kind"]
    assert card["privacy.guarantee"] == "none" and card["config.denoiser"] == "classical"
    assert card["data.sha256"] == data_fingerprint(pd.read_csv(out.parent / "t.csv"))["data.sha256"]
    text = (out / "card.json").read_text() + (out / "card.md").read_text()
    assert "7.12" not in text  # no value of the rows
    assert "## Limitations" in (out / "card.md").read_text()


def test_fingerprint_changes_with_one_value():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    changed = frame.copy()
    changed.loc[1, "a"] = 2.5
    assert data_fingerprint(frame)["data.sha256"] != data_fingerprint(changed)["data.sha256"]


def test_cli_sample_marks_and_detect_finds_the_mark(run, tmp_path):
    out, _ = run
    runner = CliRunner()
    marked = tmp_path / "marked.csv"
    sampled = runner.invoke(app, ["sample", str(out), "-n", "150", "-o", str(marked), "--watermark-key", KEY])
    assert sampled.exit_code == 0, sampled.output
    result = runner.invoke(app, ["watermark", "detect", str(marked), "--model", str(out), "--key", KEY])
    assert result.exit_code == 0 and "watermarked" in result.output
    bad = tmp_path / "bad.csv"
    result = runner.invoke(app, ["sample", str(out), "-n", "10", "-o", str(bad), "--watermark-key", "nothex"])
    assert result.exit_code == 1 and "32 lowercase hexadecimal" in result.output and not bad.exists()
    result = runner.invoke(app, ["watermark", "detect", str(marked), "--model", str(out), "--key", KEY.upper()])
    assert result.exit_code == 1 and "error:" in result.output


def test_privacy_audit_scores_copies_as_unprotected():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200), "c": rng.choice(["a", "b"], 200)})
    holdout = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200), "c": rng.choice(["a", "b"], 200)})
    copied = privacy_audit(train, holdout, train.copy())
    fresh = privacy_audit(train, holdout, holdout.copy())
    assert copied["sdm_dcr_overfitting_protection"] < 0.05 < 0.8 < fresh["sdm_dcr_overfitting_protection"]
    assert all(0.0 <= v <= 1.0 for v in (*copied.values(), *fresh.values()))


def test_canary_attack_sees_copied_canaries_and_not_absent_ones():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    members, others = plant_canaries(table, 20, seed=1), plant_canaries(table, 20, seed=2)
    assert (members["x"].abs() > 2.5).all()  # planted canaries are outliers
    leaked = pd.concat([table, members], ignore_index=True)
    assert canary_mia_auc(members, others, leaked, table) == 1.0
    assert 0.25 < canary_mia_auc(members, others, table, table) < 0.75
