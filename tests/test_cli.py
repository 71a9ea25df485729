"""The `qedm` command line: run directories, resume, one-line errors, nothing half-written."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qedm.cli import app
from qedm.errors import ConfigError

runner = CliRunner()


@pytest.fixture
def small_config(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("hidden: 32\nn_blocks: 1\nn_steps: 100\nbatch_size: 64\ncheckpoint_every: 1\n")
    return path


@pytest.fixture
def table_csv(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=80), "kind": rng.choice(["a", "b"], 80)})
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_datasets_lists_the_bundled_tables():
    result = invoke("datasets")
    assert result.exit_code == 0
    assert "breast_cancer" in result.output and "digits" in result.output


def test_fit_writes_a_run_directory_and_sample_reads_it(tmp_path, table_csv, small_config):
    run = tmp_path / "run"
    result = invoke("fit", table_csv, "--out", run, "--denoiser", "classical", "--epochs", 2,
                    "--config", small_config)
    assert result.exit_code == 0, result.output
    for name in ("config.json", "metrics.jsonl", "checkpoint.pt", "samples.csv", "model/weights.pt"):
        assert (run / name).exists(), name
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2

    out = tmp_path / "synthetic.csv"
    result = invoke("sample", run, "-n", 15, "-o", out, "--seed", 4, "--sampler", "ddpm", "--steps", 20)
    assert result.exit_code == 0, result.output
    synthetic = pd.read_csv(out)
    assert list(synthetic.columns) == ["x", "kind"] and len(synthetic) == 15
    again = tmp_path / "again.csv"
    invoke("sample", run, "-n", 15, "-o", again, "--seed", 4, "--sampler", "ddpm", "--steps", 20)
    assert out.read_text() == again.read_text()


def test_fit_resumes_and_refuses_a_changed_config(tmp_path, table_csv, small_config):
    run = tmp_path / "run"
    invoke("fit", table_csv, "--out", run, "--denoiser", "classical", "--epochs", 1, "--config", small_config)
    result = invoke("fit", table_csv, "--out", run, "--denoiser", "classical", "--epochs", 3,
                    "--config", small_config)
    assert result.exit_code == 0, result.output
    epochs = [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]
    result = invoke("fit", table_csv, "--out", run, "--denoiser", "hybrid", "--config", small_config)
    assert result.exit_code == 1
    assert "another config" in result.output and "denoiser" in result.output


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, small_config):
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b\n")
    run = tmp_path / "run"
    result = invoke("fit", empty, "--out", run, "--config", small_config)
    assert result.exit_code == 1
    assert result.output.startswith("error:") and "Traceback" not in result.output
    assert not run.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "--out", "x"], "either a DATA file or --dataset"),
        (["fit", "--dataset", "mnist", "--out", "x"], "unknown dataset 'mnist'"),
        (["fit", "--dataset", "iris", "--out", "x", "--denoiser", "big"], "denoiser='big'"),
        (["sample", "nowhere", "-n", "3", "-o", "x.csv"], "run directory not found"),
    ],
)
def test_errors_name_the_problem(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 1
    assert message in result.output


def test_sample_checks_the_output_name_and_conditions(tmp_path, table_csv, small_config):
    run = tmp_path / "run"
    invoke("fit", table_csv, "--out", run, "--denoiser", "classical", "--epochs", 1, "--config", small_config)
    result = invoke("sample", run, "-n", 3, "-o", tmp_path / "out.xlsx")
    assert result.exit_code == 1 and ".csv, .tsv or .parquet" in result.output
    result = invoke("sample", run, "-n", 3, "-o", tmp_path / "out.csv", "--condition", "kind")
    assert result.exit_code == 1 and "COLUMN=VALUE" in result.output
    # Not fitted for `kind`: rejection sampling, with its acceptance rate printed.
    result = invoke("sample", run, "-n", 3, "-o", tmp_path / "out.csv", "--condition", "kind=a",
                    "--condition", "x>=-5")
    assert result.exit_code == 0, result.output
    assert "rejection sampling for kind==a and x>=-5" in result.output and "acceptance rate" in result.output
    written = pd.read_csv(tmp_path / "out.csv")
    assert len(written) == 3 and (written["kind"] == "a").all() and (written["x"] >= -5).all()
    result = invoke("sample", run, "-n", 3, "-o", tmp_path / "none.csv", "--condition", "x>=1000")
    assert result.exit_code == 1 and "x>=1000" in result.output and "acceptance rate of 0.00%" in result.output
    assert not (tmp_path / "none.csv").exists()


def test_benchmark_command_writes_report(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "y": rng.choice(["p", "q"], 60)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = invoke("benchmark", tmp_path / "t.csv", "--models", "gaussian_copula", "--seeds", 1,
                    "--target", "y", "--metrics", "fidelity", "--out", tmp_path / "out", "--no-progress")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").is_file()
    result = invoke("benchmark", tmp_path / "t.csv", "--models", "nope", "--out", tmp_path / "o2")
    assert result.exit_code == 1 and "nope" in result.output


def test_benchmark_command_prints_whether_the_circuit_contributes(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60), "y": rng.choice(["p", "q"], 60)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = invoke("benchmark", tmp_path / "t.csv", "--models", "hybrid", "--seeds", 2, "--epochs", 1,
                    "--n-qubits", 2, "--n-layers", 1, "--target", "y", "--metrics", "fidelity",
                    "--out", tmp_path / "out", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "- hybrid: The circuit " in result.output and "contribute" in result.output
    assert "mean ablation changes held-out loss" in result.output


def test_evaluate_command_scores_a_pair_of_tables(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("real", "synthetic"):
        pd.DataFrame({"a": rng.normal(size=80), "y": rng.choice(["p", "q"], 80)}).to_csv(
            tmp_path / f"{name}.csv", index=False)
    result = invoke("evaluate", tmp_path / "real.csv", tmp_path / "synthetic.csv", "--target", "y",
                    "--metrics", "fidelity,utility", "--json", tmp_path / "scores.json")
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert 0.8 < scores["summary"]["fidelity_overall"] <= 1.0


def test_config_file_settings_apply_to_the_denoiser_the_command_line_names(tmp_path, small_config):
    from qedm.runs import resolve_config

    config = resolve_config(small_config, denoiser="classical", epochs=4, n_qubits=None)
    assert (config.denoiser, config.hidden, config.n_blocks, config.epochs) == ("classical", 32, 1, 4)
    with pytest.raises(ConfigError, match="'n_qubits'.*'classical' denoiser"):
        resolve_config(small_config, denoiser="classical", n_qubits=4)


def test_a_datasets_fit_defaults_yield_to_the_config_file_and_the_command_line(small_config):
    from qedm.data.datasets import dataset_info
    from qedm.runs import resolve_config

    moses = dict(dataset_info("moses_small").fit_defaults)
    assert moses["hidden"] > 30 * 26  # wider than the 780 one-hot dims of its SMILES column
    assert resolve_config(None, moses, denoiser="classical").hidden == moses["hidden"]
    assert resolve_config(small_config, moses, denoiser="classical").hidden == 32  # the file's value
    assert resolve_config(None, moses, denoiser="classical", hidden=64).hidden == 64

def test_fit_on_tfim_then_sample_an_unseen_field_and_check_the_physics(tmp_path, small_config):
    run = tmp_path / "tfim"
    result = invoke("fit", "--dataset", "tfim_z", "--condition-column", "h", "--out", run,
                    "--config", small_config, "--epochs", 1, "--denoiser", "classical")
    assert result.exit_code == 0, result.output
    out = tmp_path / "h09.csv"
    result = invoke("sample", run, "-n", 40, "--condition", "h=0.9", "-o", out, "--seed", 1)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert np.allclose(frame["h"], 0.9) and frame.shape == (40, 9)
    from qedm.data.datasets import load_dataset

    train = tmp_path / "train.csv"
    load_dataset("tfim_z").to_csv(train, index=False)
    report = tmp_path / "physics.json"
    result = invoke("evaluate", train, out, "--physics", "tfim", "--json", report)
    assert result.exit_code == 0, result.output
    assert "abs_mz" in result.output and "nearest-field" in result.output
    rows = json.loads(report.read_text())
    assert {r["source"] for r in rows} == {"synthetic", "nearest_field_baseline"}
    assert {r["observable"] for r in rows} == {"abs_mz", "zz", "tv_z"}
    result = runner.invoke(app, ["evaluate", str(train), str(out), "--physics", "ising"])
    assert result.exit_code == 1 and "--physics 'ising' is not one of: tfim" in result.output
