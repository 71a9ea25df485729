"""The benchmark engine end to end: files, mean ± std, resume, failures, honest comparisons."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from qedm.benchmark import run_benchmark, split_table
from qedm.errors import ConfigError
from qedm.report.summary import compare_to_hybrid, comparison_sentences, metric_direction, summarise


def iris_like(n=120, seed=0):
    rng = np.random.default_rng(seed)
    species = np.repeat(["setosa", "versicolor", "virginica"], n // 3)
    shift = {"setosa": 0.0, "versicolor": 1.5, "virginica": 3.0}
    base = np.array([shift[s] for s in species])
    return pd.DataFrame({
        "sepal_length": 5 + base * 0.6 + rng.normal(0, 0.3, n),
        "sepal_width": 3 + rng.normal(0, 0.3, n),
        "petal_length": 1.5 + base * 1.3 + rng.normal(0, 0.3, n),
        "petal_width": 0.2 + base * 0.6 + rng.normal(0, 0.1, n),
        "species": species,
    })


class BootstrapModel:
    """Stub synthesizer: resamples training rows (seeded), so metrics depend on the seed."""

    calls: list = []

    def __init__(self, name, seed=0, fail=False, **_):
        self.name, self.seed, self.fail = name, seed, fail
        self.history = [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}]

    def fit(self, data):
        BootstrapModel.calls.append((self.name, self.seed))
        if self.fail:
            raise RuntimeError("stub failure")
        self.data = data
        return self

    def sample(self, n, seed=0):
        state = seed + 1000 * (self.name == "tvae")
        return self.data.sample(n, replace=True, random_state=state).reset_index(drop=True)

    def parameter_counts(self):
        return {"classical": 10, "quantum": 5 if self.name == "hybrid" else 0, "total": 15}

    def resources(self):
        if self.name != "hybrid":
            return {}
        return {"qubits": 6, "depth": 9, "evaluations_per_step": {"backprop": 32, "parameter-shift": 3488},
                "shots_per_step": {"backprop": None, "parameter-shift": None}}


def stub_factory(name, seed=0, **kwargs):
    return BootstrapModel(name, seed=seed, fail=(name == "ctgan"))


def mean_gap(holdout, synthetic, train=None, target=None, seed=0):
    """Stub evaluator: absolute gap of column means (lower is better) -> named like a real metric."""
    numeric = holdout.select_dtypes("number").columns
    return {"mmd_rbf": float((holdout[numeric].mean() - synthetic[numeric].mean()).abs().mean()),
            "column_shapes": 1.0 - float((holdout[numeric].mean() - synthetic[numeric].mean()).abs().mean())}


def test_engine_with_stub_models_writes_files_summary_and_resumes(tmp_path):
    BootstrapModel.calls = []
    data = iris_like()
    kwargs = dict(models=["hybrid", "tvae", "ctgan"], seeds=[0, 1], out_dir=tmp_path, target="species",
                  progress=False, evaluator=mean_gap, model_factory=stub_factory)
    result = run_benchmark(data, **kwargs)
    for name in ("results.csv", "summary.csv", "summary.md", "comparison.csv", "report.html", "benchmark_config.json"):
        assert (tmp_path / name).is_file(), name
    for model in ("hybrid", "tvae"):
        for seed in (0, 1):
            sample = pd.read_csv(tmp_path / "samples" / f"{model}_seed{seed}.csv")
            assert len(sample) == 84  # as many rows as train (120 * 0.7)
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 6
    failed = results[results["model"] == "ctgan"]
    assert (failed["status"] == "failed").all() and failed["error"].str.contains("stub failure").all()
    hybrid = results[results["model"] == "hybrid"]
    assert (hybrid["circuit_evals_per_step_parameter_shift"] == 3488).all() and (hybrid["qubits"] == 6).all()
    # mean ± std over seeds, computed independently with numpy (ddof=1).
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("model")
    values = results.loc[results["model"] == "tvae", "mmd_rbf"].to_numpy()
    assert summary.loc["tvae", "mmd_rbf_mean"] == pytest.approx(values.mean())
    assert summary.loc["tvae", "mmd_rbf_std"] == pytest.approx(np.std(values, ddof=1))
    assert summary.loc["ctgan", "n_failed"] == 2 and summary.loc["ctgan", "n_ok"] == 0
    md = (tmp_path / "summary.md").read_text()
    assert f"{values.mean():.4g} ± {np.std(values, ddof=1):.2g}" in md
    assert "classical statevector simulator" in md and "stub failure" in md
    assert all(m.group(1) == "no " for m in re.finditer(r"(\w+ )?quantum advantage", md))
    config = json.loads((tmp_path / "benchmark_config.json").read_text())
    assert config["seeds"] == [0, 1] and config["target"] == "species"
    assert len(BootstrapModel.calls) == 6
    verdicts = pd.read_csv(tmp_path / "comparison.csv")
    assert set(verdicts["baseline"]) == {"tvae"} and set(verdicts["verdict"]) <= {"win", "tie", "loss"}

    # Resume: finished cells are reused, only the failed ones are retried.
    BootstrapModel.calls = []
    again = run_benchmark(data, **kwargs)
    assert sorted(BootstrapModel.calls) == [("ctgan", 0), ("ctgan", 1)]
    pd.testing.assert_frame_equal(again.summary, result.summary)
    # Adding a seed runs only the new cells.
    BootstrapModel.calls = []
    run_benchmark(data, **{**kwargs, "seeds": [0, 1, 2], "models": ["hybrid", "tvae"]})
    assert sorted(BootstrapModel.calls) == [("hybrid", 2), ("tvae", 2)]
    # --fresh runs everything again.
    BootstrapModel.calls = []
    run_benchmark(data, **{**kwargs, "models": ["tvae"], "fresh": True})
    assert sorted(BootstrapModel.calls) == [("tvae", 0), ("tvae", 1)]
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2


def test_resume_refuses_a_different_split(tmp_path):
    kwargs = dict(models=["tvae"], seeds=1, out_dir=tmp_path, target="species", progress=False,
                  evaluator=mean_gap, model_factory=stub_factory)
    run_benchmark(iris_like(), **kwargs)
    with pytest.raises(ConfigError, match="test_size.*--fresh"):
        run_benchmark(iris_like(), test_size=0.5, **kwargs)


def test_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(ConfigError, match="unknown model"):
        run_benchmark(iris_like(), ["gan9000"], 1, tmp_path, progress=False)
    with pytest.raises(ConfigError, match="test_size"):
        run_benchmark(iris_like(), ["tvae"], 1, tmp_path, test_size=1.5, progress=False)
    with pytest.raises(Exception, match="target column 'nope'"):
        run_benchmark(iris_like(), ["tvae"], 1, tmp_path, target="nope", progress=False)


def test_split_is_stratified_and_seeded():
    data = iris_like(150)
    train, holdout = split_table(data, "species", 0.3, seed=3)
    assert len(train) == 105 and len(holdout) == 45
    assert (holdout["species"].value_counts() == 15).all()  # 45 holdout rows, 3 equal classes
    again, _ = split_table(data, "species", 0.3, seed=3)
    pd.testing.assert_frame_equal(train, again)
    other, _ = split_table(data, "species", 0.3, seed=4)
    assert not train.equals(other)
    # Numeric target: stratified by quintile, so each quintile is in holdout 9 times.
    numeric_train, numeric_holdout = split_table(data, "petal_length", 0.3, seed=0)
    bins = pd.qcut(data["petal_length"], 5, labels=False)
    holdout_bins = pd.cut(numeric_holdout["petal_length"], pd.qcut(data["petal_length"], 5, retbins=True)[1],
                          include_lowest=True, labels=False)
    assert holdout_bins.value_counts().tolist() == [9] * 5 and bins.value_counts().tolist() == [30] * 5


def test_comparisons_are_win_tie_loss_as_measured():
    summary = pd.DataFrame([
        {"model": "hybrid", "n_ok": 3, "n_failed": 0, "c2st_auc_mean": 0.70, "c2st_auc_std": 0.01,
         "column_shapes_mean": 0.80, "column_shapes_std": 0.05, "odd_mean": 1.0, "odd_std": 0.0},
        {"model": "gaussian_copula", "n_ok": 3, "n_failed": 0, "c2st_auc_mean": 0.60, "c2st_auc_std": 0.01,
         "column_shapes_mean": 0.82, "column_shapes_std": 0.05, "odd_mean": 2.0, "odd_std": 0.0},
        {"model": "tvae", "n_ok": 3, "n_failed": 0, "c2st_auc_mean": 0.90, "c2st_auc_std": 0.05,
         "column_shapes_mean": 0.50, "column_shapes_std": 0.01, "odd_mean": 2.0, "odd_std": 0.0},
        {"model": "ctgan", "n_ok": 0, "n_failed": 3},
    ])
    table = compare_to_hybrid(summary).set_index(["metric", "baseline"])["verdict"].to_dict()
    # "odd" has no known direction: shown in the tables, never judged.
    assert table == {("c2st_auc", "gaussian_copula"): "loss",  # 0.70 vs 0.60, lower is better, Welch p < 0.05
                     ("column_shapes", "gaussian_copula"): "tie",  # 0.80 vs 0.82 +- 0.05: p >= 0.05
                     ("c2st_auc", "tvae"): "win",  # 0.70 vs 0.90
                     ("column_shapes", "tvae"): "win"}  # 0.80 vs 0.50
    # Welch's test from the summary statistics equals scipy's on samples with those means and stds.
    from scipy import stats

    def sample(mean, std):
        z = np.array([-1.0, 0.0, 1.0])  # mean 0, std (ddof=1) 1
        return mean + std * z

    frame = compare_to_hybrid(summary).set_index(["metric", "baseline"])
    for (metric, baseline), row in frame.iterrows():
        ref = stats.ttest_ind(sample(row.hybrid_mean, row.hybrid_std), sample(row.baseline_mean, row.baseline_std),
                              equal_var=False)
        assert row.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        ci = ref.confidence_interval(0.95)
        assert (row.diff_low, row.diff_high) == pytest.approx((ci.low, ci.high), rel=1e-9)
        assert (row.p_value < 0.05) == (row.verdict != "tie")
    sentences = comparison_sentences(compare_to_hybrid(summary), summary)
    assert sentences[0].startswith("c2st_auc (lower is better): hybrid 0.7 ± 0.01 [95% CI 0.6752, 0.7248]; "
                                   "loss vs gaussian_copula (0.6 ± 0.01; diff 95% CI [+0.0773, +0.123], Welch p=")
    assert ("Hybrid vs gaussian_copula: 0 wins, 1 ties, 1 losses over 2 metrics, as measured (3 vs 3 seeds; "
            "Welch's t-test (two-sided, alpha 0.05))." in sentences)
    assert "Hybrid vs ctgan: ctgan failed on every seed, not compared." in sentences
    assert metric_direction("c2st_auc_std") == 0 and metric_direction("fidelity_overall") == 1
    assert metric_direction("tstr_mae") == -1 and metric_direction("tstr_f1_macro") == 1
    assert metric_direction("trtr_accuracy") == 0 and metric_direction("mmd_rbf_pvalue") == 0


def test_summary_of_a_single_seed_has_zero_std():
    results = pd.DataFrame([{"model": "tvae", "seed": 0, "status": "ok", "error": "", "mmd_rbf": 0.3}])
    summary = summarise(results)
    assert summary.loc[0, "mmd_rbf_mean"] == 0.3 and summary.loc[0, "mmd_rbf_std"] == 0.0
    assert not any(math.isnan(v) for v in summary.select_dtypes("number").iloc[0])


@pytest.fixture
def one_torch_thread():
    """Two cores shared by several processes: torch's thread pool would spin against them."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


FAST_METRICS = ["fidelity", "privacy"]  # C2ST and TSTR fit many sklearn models: slow on 2 cores


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
def test_engine_end_to_end_with_real_models(tmp_path, one_torch_thread):
    pytest.importorskip("sdv", reason="gaussian_copula needs the optional extra qedm[sdv]")
    data = iris_like()
    kwargs = dict(target="species", epochs=2, progress=False, metrics=FAST_METRICS,
                  qedm_options={"n_steps": 50, "sample_steps": 10, "batch_size": 64})
    result = run_benchmark(data, ["classical", "gaussian_copula"], [0, 1], tmp_path, **kwargs)
    assert (result.results["status"] == "ok").all(), result.results["error"].tolist()
    for model in ("classical", "gaussian_copula"):
        for seed in (0, 1):
            sample = pd.read_csv(tmp_path / "samples" / f"{model}_seed{seed}.csv")
            assert list(sample.columns) == list(data.columns) and len(sample) == 84
    summary = result.summary.set_index("model")
    for model in ("classical", "gaussian_copula"):
        shapes = result.results.loc[result.results["model"] == model, "column_shapes"]
        assert summary.loc[model, "column_shapes_mean"] == pytest.approx(shapes.mean())
        assert summary.loc[model, "column_shapes_std"] == pytest.approx(shapes.std(ddof=1))
        assert 0.0 <= shapes.min() <= shapes.max() <= 1.0
    classical = result.results[result.results["model"] == "classical"]
    assert (classical["epochs"] == 2).all() and (classical["params_quantum"] == 0).all()
    assert "±" in (tmp_path / "summary.md").read_text()
    assert "<img" in (tmp_path / "report.html").read_text()
    before = (tmp_path / "results.csv").read_text()
    again = run_benchmark(data, ["classical", "gaussian_copula"], [0, 1], tmp_path, **kwargs)
    assert (tmp_path / "results.csv").read_text() == before  # every cell reused, none re-fitted
    pd.testing.assert_frame_equal(again.summary, result.summary)


def test_classical_denoiser_is_matched_to_the_hybrid_parameter_budget():
    from qedm.baselines.protocol import matched_classical_hidden_for
    from qedm.models.registry import build_denoiser

    data = iris_like()
    hidden, target = matched_classical_hidden_for(data, seed=0, n_qubits=4, n_layers=2)
    # Independent count: the hybrid built directly from the registry on the transformed width.
    from qedm.data.table import TableTransformer

    width = TableTransformer().fit(data).transform(data).shape[1]
    hybrid = build_denoiser("hybrid", width, n_qubits=4, n_layers=2, hidden=128, time_dim=32, seed=0)
    assert target == sum(p.numel() for p in hybrid.parameters() if p.requires_grad)

    def classical_count(h):
        model = build_denoiser("classical", width, hidden=h, n_blocks=2, time_dim=32)
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    best = classical_count(hidden)
    neighbours = (abs(classical_count(hidden - 1) - target), abs(classical_count(hidden + 1) - target))
    assert abs(best - target) <= min(neighbours)
    assert abs(best - target) / target < 0.05


def test_hybrid_cell_records_circuit_costs(tmp_path, one_torch_thread):
    options = {"n_qubits": 2, "n_layers": 1, "n_steps": 20, "sample_steps": 5, "batch_size": 32,
               "diff_method": "parameter-shift", "shots": 50}
    result = run_benchmark(iris_like(60), ["hybrid"], [0], tmp_path, target="species", epochs=1,
                           progress=False, qedm_options=options, evaluator=mean_gap)
    row = result.results.iloc[0]
    assert row["status"] == "ok", row["error"]
    weights = 1 * 2 * 3  # n_layers x n_qubits x 3 Rot angles
    assert row["qubits"] == 2 and row["params_quantum"] == weights
    # Parameter-shift: per row, one plain run plus two shifted runs per weight angle.
    assert row["circuit_evals_per_step"] == 32 * (2 * weights + 1)
    assert row["shots_per_step"] == 32 * (2 * weights + 1) * 50
    # Ablations: every circuit model gets them, and both summary.md and the report carry the verdict.
    for column in ("heldout_loss", "ablation_mean_loss_delta", "ablation_random_loss_delta"):
        assert np.isfinite(row[column]), column
    text = (tmp_path / "summary.md").read_text()
    assert "## Does the circuit matter? (ablations)" in text and "measurably" in text
    assert "id='ablation-table'" in (tmp_path / "report.html").read_text()
