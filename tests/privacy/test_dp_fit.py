"""DP fits end to end: the guarantee is met, stored, printed; the transform holds no raw statistics."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("opacus")
from qedm import QEDM  # noqa: E402
from qedm.cli import app  # noqa: E402
from qedm.errors import ConfigError, DataError  # noqa: E402
from qedm.privacy.transform import bucket_edges, fit_private_transform  # noqa: E402

SMALL = {"hidden": 8, "n_blocks": 1, "n_steps": 50, "batch_size": 32, "epochs": 2, "time_dim": 8,
         "dp_public_categories": True}


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(5, 1, 120), "y": rng.gamma(2, 3, 120),
                         "kind": rng.choice(["a", "b", "c"], 120)})


@pytest.mark.parametrize("denoiser,extra", [("classical", {}), ("hybrid", {"n_qubits": 2, "n_layers": 1}),
                                            ("quantum", {"n_qubits": 2, "n_layers": 1})])
def test_dp_fit_meets_its_target_and_round_trips(table, tmp_path, denoiser, extra):
    small = {k: v for k, v in SMALL.items() if denoiser != "quantum" or k not in ("hidden", "n_blocks")}
    model = QEDM(denoiser=denoiser, dp_epsilon=2.0, dp_delta=1e-5, **small, **extra).fit(table)
    assert model.privacy.epsilon <= 2.0
    assert model.privacy.delta == 1e-5
    assert model.privacy.steps == 2 * 4  # ceil(120 / 32) steps per epoch
    assert all("loss" not in record for record in model.history)  # the private loss is never released
    loaded = QEDM.load(model.save(tmp_path / "m"))
    assert loaded.privacy == model.privacy
    assert list(loaded.sample(10, seed=1).columns) == ["x", "y", "kind"]
    pd.testing.assert_frame_equal(loaded.sample(10, seed=1), model.sample(10, seed=1))  # prior saved too


def test_dp_transform_keeps_no_raw_minimum_maximum_or_quantile(table):
    transformer, public = fit_private_transform(table, 0.01, 1e-6, np.random.default_rng(0))
    edges = set(bucket_edges().tolist())
    for spec in transformer.columns_:
        if spec["kind"] != "categorical":
            assert spec["min"] in edges and spec["max"] in edges  # bucket edges, not data values
            column = table[spec["name"]]
            assert spec["min"] <= column.quantile(0.05) and spec["max"] >= column.quantile(0.95)
    assert "row count" in public[0]


def test_rare_labels_are_not_released_and_public_labels_are():
    frame = pd.DataFrame({"c": ["a"] * 60 + ["b"] * 59 + ["rare"]})
    transformer, _ = fit_private_transform(frame, 0.05, 1e-6, np.random.default_rng(0))
    assert transformer.columns_[0]["categories"] == ["a", "b"]
    public, notes = fit_private_transform(frame, 0.05, 1e-6, np.random.default_rng(0), public_categories=True)
    assert public.columns_[0]["categories"] == ["a", "b", "rare"]
    assert any("categories of 'c'" in n for n in notes)
    with pytest.raises(DataError, match="'c'"):
        fit_private_transform(frame, 500.0, 1e-6, np.random.default_rng(0))  # too noisy to release any label


@pytest.mark.parametrize("values,word", [({"dp_epsilon": 0}, "dp_epsilon"),
                                         ({"dp_epsilon": 1, "dp_delta": 1.0}, "dp_delta"),
                                         ({"dp_epsilon": 1, "dp_max_grad_norm": 0}, "dp_max_grad_norm")])
def test_bad_dp_config_is_one_clear_error(values, word):
    with pytest.raises(ConfigError, match=word):
        QEDM(**values)


def test_dp_fit_refuses_a_latent_fitted_outside_the_budget(table):
    with pytest.raises(ConfigError, match="latent"):
        QEDM(dp_epsilon=1.0, latent="pca", **SMALL).fit(table)


def test_cli_dp_fit_prints_the_guarantee_and_writes_the_card(table, tmp_path):
    runner = CliRunner()
    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    config = tmp_path / "c.yaml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in SMALL.items()))
    out = tmp_path / "run"
    result = runner.invoke(app, ["fit", str(data), "--out", str(out), "--denoiser", "classical",
                                 "--config", str(config), "--dp-epsilon", "3", "--dp-delta", "1e-5"])
    assert result.exit_code == 0, result.output
    assert "delta=1e-05)-DP" in result.output
    card = json.loads((out / "card.json").read_text())
    assert card["privacy.epsilon"] <= 3 and card["privacy.guarantee"].startswith("(epsilon=")
    printed = runner.invoke(app, ["card", str(out)])
    assert printed.exit_code == 0 and "## Privacy" in printed.output


@pytest.mark.parametrize("flags", [["--dp-epsilon", "0"], ["--dp-epsilon", "-2"],
                                   ["--dp-epsilon", "1", "--dp-delta", "1"], ["--dp-epsilon", "1", "--dp-delta", "0"]])
def test_cli_bad_budget_writes_nothing(table, tmp_path, flags):
    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["fit", str(data), "--out", str(out), *flags])
    assert result.exit_code == 1
    assert "error:" in result.output and "dp_" in result.output
    assert not out.exists()
