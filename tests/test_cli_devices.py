"""`qedm devices` and `qedm sample --backend DEVICE`: provenance next to the output, bad input writes nothing."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_ibm_runtime")
pytest.importorskip("mitiq")

from qedm.cli import app  # noqa: E402

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def quantum_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("devrun")
    rng = np.random.default_rng(1)
    table = tmp / "table.csv"
    pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)}).to_csv(table, index=False)
    config = tmp / "small.yaml"
    config.write_text("n_steps: 50\nbatch_size: 32\n")
    run = tmp / "run"
    result = invoke("fit", table, "--out", run, "--denoiser", "quantum", "--epochs", 1, "--n-qubits", 2,
                    "--n-layers", 1, "--config", config)
    assert result.exit_code == 0, result.output
    return run


def test_devices_lists_the_snapshots():
    result = runner.invoke(app, ["devices"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "fake_nairobi" in result.output and "fake_brisbane" in result.output
    assert "calibration warning" in result.output  # FakeBrisbane's T2 > 2 T1 qubits


def test_sample_on_a_device_writes_provenance(tmp_path, quantum_run):
    out = tmp_path / "dev.csv"
    result = invoke("sample", quantum_run, "-n", 8, "-o", out, "--steps", 2, "--backend", "fake_nairobi",
                    "--shots", 200, "--mitigation", "readout+zne", "--seed", 1)
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 8
    prov = json.loads((tmp_path / "dev.csv.provenance.json").read_text())
    assert prov["backend"] == "fake_nairobi" and prov["shots"] == 200 and prov["mitigation"] == "readout+zne"
    assert prov["calibration_date"].startswith("2024")
    # 3 ZNE scale factors per denoiser call; each call runs every row once
    assert prov["circuit_executions"] % 3 == 0 and prov["total_shots"] == 200 * prov["circuit_executions"]
    assert prov["estimated_qpu_seconds"] > 0 and prov["fallbacks"] == []
    assert prov["circuits"][0]["two_qubit_gates"] >= 1


@pytest.mark.parametrize(("args", "message"), [
    (("--backend", "fake_mars"), "unknown device 'fake_mars'"),
    (("--backend", "fake_nairobi", "--shots", 0), "shots must be a positive integer"),
    (("--backend", "fake_nairobi", "--mitigation", "magic"), "unknown mitigation 'magic'"),
    (("--shots", 100), "need --backend"),
])
def test_bad_device_input_is_one_line_and_writes_nothing(tmp_path, quantum_run, args, message):
    out = tmp_path / "dev.csv"
    result = runner.invoke(app, ["sample", str(quantum_run), "-n", "4", "-o", str(out), "--steps", "2",
                                 *map(str, args)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "dev.csv.provenance.json").exists()


def test_fit_on_a_device_trains_under_its_noise(tmp_path):
    rng = np.random.default_rng(2)
    table = tmp_path / "table.csv"
    pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)}).to_csv(table, index=False)
    config = tmp_path / "small.yaml"
    config.write_text("n_steps: 20\nbatch_size: 20\n")
    run = tmp_path / "run"
    result = invoke("fit", table, "--out", run, "--denoiser", "quantum", "--epochs", 1, "--n-qubits", 2,
                    "--n-layers", 1, "--config", config, "--backend", "fake_lagos", "--shots", 100)
    assert result.exit_code == 0, result.output
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["backend"] == "fake_lagos" and prov["shots"] == 100
    assert prov["circuit_executions"] >= 40 and prov["total_shots"] == 100 * prov["circuit_executions"]
    assert json.loads((run / "config.json").read_text())["denoiser_config"]["backend"] == "fake_lagos"
