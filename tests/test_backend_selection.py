"""Choosing the circuit backend, shots and gradient from QEDMConfig and `qedm fit`, and keeping them on load."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qedm.cli import app
from qedm.config import QEDMConfig
from qedm.errors import ConfigError
from qedm.runs import load_run_model
from qedm.synthesizer import QEDM

SMALL = dict(epochs=1, batch_size=64, hidden=16, n_blocks=1, n_steps=50, checkpoint_every=1, n_qubits=2,
             n_layers=1, sample_steps=5)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=60), "kind": rng.choice(["a", "b"], 60)})


def test_config_fields_defaults_and_the_old_key():
    cfg = QEDMConfig()
    assert (cfg.backend, cfg.shots, cfg.gradient) == ("statevector", None, "backprop")
    old = QEDMConfig.from_dict({"diff_method": "spsa"})
    assert old.gradient == "spsa" == old.diff_method and "diff_method" not in old.to_dict()
    assert QEDMConfig.from_dict({"diff_method": "spsa", "gradient": "spsa"}).gradient == "spsa"
    with pytest.raises(ConfigError, match="disagree"):
        QEDMConfig.from_dict({"diff_method": "spsa", "gradient": "backprop"})
    with pytest.raises(ConfigError, match="backend='qpu' is not one of"):
        QEDMConfig(backend="qpu")
    with pytest.raises(ConfigError, match="gradient='adjoint' is not one of"):
        QEDMConfig(gradient="adjoint")


def test_saved_and_loaded_model_keeps_its_backend(table, tmp_path):
    model = QEDM(denoiser="hybrid", backend="density", **SMALL).fit(table)
    assert model.denoiser.vqc.backend.name == "density"
    assert model.resources()["backend"] == "density"
    loaded = QEDM.load(model.save(tmp_path / "model"))
    assert loaded.config.backend == "density"
    assert loaded.denoiser.vqc.backend.name == "density"
    pd.testing.assert_frame_equal(loaded.sample(8, seed=3), model.sample(8, seed=3))


def test_fit_cli_selects_backend_shots_and_gradient(table, tmp_path):
    data, run = tmp_path / "table.csv", tmp_path / "run"
    table.to_csv(data, index=False)
    config = tmp_path / "small.yaml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in SMALL.items()))
    result = CliRunner().invoke(app, ["fit", str(data), "--out", str(run), "--denoiser", "hybrid", "--config",
                                      str(config), "--backend", "reference", "--shots", "32", "--gradient", "spsa"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "config.json").read_text())["denoiser_config"]
    assert (saved["backend"], saved["shots"], saved["gradient"]) == ("reference", 32, "spsa")
    vqc = load_run_model(run).denoiser.vqc
    assert (vqc.backend.name, vqc.shots, vqc.diff_method) == ("reference", 32, "spsa")
    bad = CliRunner().invoke(app, ["fit", str(data), "--out", str(tmp_path / "bad"), "--backend", "qpu"])
    assert bad.exit_code != 0 and "backend='qpu'" in bad.output and not (tmp_path / "bad").exists()


def test_old_keyword_still_sets_the_gradient():
    assert QEDM(diff_method="parameter-shift").config.gradient == "parameter-shift"
    assert QEDMConfig().updated(diff_method="spsa", shots=10).gradient == "spsa"
