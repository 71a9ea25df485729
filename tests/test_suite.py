"""The table suite: its tables load offline, ranks follow their definition, a real run writes its files."""
import numpy as np
import pandas as pd
import pytest

from qedm.data import dataset_info, load_dataset
from qedm.errors import ConfigError
from qedm.suite import SUITES, capped_table, rank_models, run_suite


def test_suite_tables_are_real_mixed_type_and_one_is_large():
    names = SUITES["tables"]
    assert len(names) >= 5
    sizes = {}
    for name in names:
        table = load_dataset(name)
        info = dataset_info(name)
        assert len(table) == info.n_rows and table.shape[1] == info.n_columns
        assert info.target in table.columns
        sizes[name] = len(table)
    assert max(sizes.values()) > 20000
    assert capped_table("randhie", 500).equals(capped_table("randhie", 500))  # the same subset every time
    assert len(capped_table("randhie", 500)) == 500


def test_ranking_is_the_mean_rank_over_tables_with_directions():
    summary = pd.DataFrame({
        "table": ["t1"] * 3 + ["t2"] * 3,
        "model": ["a", "b", "c"] * 2,
        "column_shape_error_mean": [0.1, 0.2, 0.3, 0.3, 0.2, 0.1],  # lower is better
        "tstr_gbm_mean": [0.9, 0.9, 0.5, 0.8, np.nan, 0.7],  # higher; NaN (failed) ranks last
    })
    ranking = rank_models(summary).set_index("model")
    assert ranking.loc["a", "column_shape_error"] == pytest.approx((1 + 3) / 2)
    assert ranking.loc["c", "column_shape_error"] == pytest.approx((3 + 1) / 2)
    assert ranking.loc["a", "tstr_gbm"] == pytest.approx((1.5 + 1) / 2)
    assert ranking.loc["b", "tstr_gbm"] == pytest.approx((1.5 + 3) / 2)
    assert ranking.loc["a", "mean_rank"] == pytest.approx((2.0 + 1.25) / 2)
    assert list(ranking.index)[0] == "a"


def test_verdicts_name_each_baseline_not_beaten():
    from qedm.suite import verdict_lines

    summary = pd.DataFrame({
        "table": ["t"] * 3, "model": ["classical", "gaussian_copula", "tvae"],
        "column_shape_error_mean": [0.1, 0.2, 0.05], "pair_trend_error_mean": [0.1, 0.2, 0.3],
        "tstr_gbm_mean": [0.9, 0.8, 0.7]})
    assert verdict_lines(summary) == ["t: classical does not beat: column shape vs tvae (0.100 vs 0.050)"]
    summary.loc[2, "column_shape_error_mean"] = 0.3
    assert verdict_lines(summary) == ["t: classical beats gaussian_copula, tvae on shape, pair trend and utility"]


def test_unknown_suite_and_table_are_named(tmp_path):
    with pytest.raises(ConfigError, match="unknown suite 'nope'"):
        run_suite("nope", ["classical"], 1, tmp_path)
    with pytest.raises(ConfigError, match="not in suite"):
        run_suite("tables", ["classical"], 1, tmp_path, tables=["iris"])
    with pytest.raises(ConfigError, match="max_rows"):
        run_suite("tables", ["classical"], 1, tmp_path, max_rows=3)


def test_suite_runs_the_benchmark_per_table_with_its_target_and_cap(tmp_path):
    calls = []

    def fake_benchmark(table, models, seeds, out_dir, target, **kw):
        calls.append((len(table), target, out_dir.name, kw["epochs"]))
        rows = [{"model": m, "seed": 0, "status": "ok", "column_shape_error": 0.1 * i, "tstr_gbm": 0.5}
                for i, m in enumerate(models)]
        return type("R", (), {"results": pd.DataFrame(rows)})()

    result = run_suite("tables", ["classical", "tvae"], 1, tmp_path, tables=["anes96", "randhie"], max_rows=300,
                       epochs=7, benchmark=fake_benchmark)
    assert calls == [(300, "vote", "anes96", 7), (300, "idp", "randhie", 7)]
    assert list(result.ranking["model"]) == ["classical", "tvae"]
    assert set(result.results["table"]) == {"anes96", "randhie"}
    assert (tmp_path / "suite_summary.md").is_file() and (tmp_path / "suite_results.csv").is_file()


@pytest.mark.slow
def test_a_small_real_suite_run_writes_ranked_tabsyn_metrics(tmp_path):
    pytest.importorskip("sdv")
    result = run_suite("tables", ["classical", "gaussian_copula"], 1, tmp_path, tables=["student_placements"],
                       epochs=2, progress=False)
    assert set(result.results["status"]) == {"ok"}
    row = result.summary.set_index("model").loc["gaussian_copula"]
    for metric in ("column_shape_error", "pair_trend_error", "alpha_precision", "beta_recall", "c2st_auc",
                   "tstr_gbm", "dcr_share_closer_than_holdout_median"):
        assert np.isfinite(row[f"{metric}_mean"]), metric
    # Two epochs of diffusion cannot beat the copula on the marginals.
    assert list(result.ranking["model"])[0] == "gaussian_copula"
    text = result.files["suite_summary.md"].read_text()
    assert "## student_placements" in text and "Ranking" in text
    again = run_suite("tables", ["classical", "gaussian_copula"], 1, tmp_path, tables=["student_placements"],
                      epochs=2, progress=False)  # resumed: every cell is reused
    shown = ["table", "model", "seed", "column_shape_error", "tstr_gbm", "fit_seconds"]
    pd.testing.assert_frame_equal(again.results[shown], result.results[shown], check_dtype=False)
