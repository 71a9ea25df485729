"""Benchmark tables: mean ± std per model, win/tie/loss against the hybrid, and the Markdown summary.

Which way is better for each score is decided here, by name prefix, in one place; the HTML
report and summary.md both read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from qedm.report.ablation import ABLATION_COLUMNS

# Everything in a results row that is not a metric of the synthetic data.
INFO_COLUMNS = ("model", "seed", "status", "error", "n_train", "n_holdout", "n_real", "n_synthetic", "fit_seconds",
                "sample_seconds", "epochs", "params_classical", "params_quantum", "params_total",
                "matched_hidden", "qubits", "circuit_depth", "circuit_evals_per_step",
                "circuit_evals_per_step_parameter_shift", "shots_per_step") + ABLATION_COLUMNS
EFFICIENCY_COLUMNS = ("params_classical", "params_quantum", "params_total", "qubits", "circuit_depth",
                      "circuit_evals_per_step", "circuit_evals_per_step_parameter_shift",
                      "shots_per_step", "fit_seconds", "sample_seconds")
# Which way is better for the scores qedm.evaluate reports, by name prefix. Reference values that do
# not depend on the generator (TRTR, holdout DCR), spreads and p-values are shown but not judged.
NOT_JUDGED = ("trtr_", "dcr_holdout", "holdout_", "utility_ok", "density", "n_")
LOWER_IS_BETTER = ("c2st_auc", "column_shape_error", "pair_trend_error",
                   "utility_gap_", "tstr_mae", "mmd_", "mia_auc", "dcr_share_closer",
                   "exact_copy", "privacy_flagged", "fit_seconds", "sample_seconds")
HIGHER_IS_BETTER = ("fidelity", "alpha_precision", "beta_recall",
                    "column_shapes", "column_pair_trends", "tstr_", "precision", "recall",
                    "coverage", "dcr_synthetic")

# Per-model breakdowns (detector / utility model) stay in results.csv and summary.csv only.
BREAKDOWN_SUFFIXES = ("_logistic", "_random_forest", "_gradient_boosting", "_ridge", "_std", "_pvalue")


def metric_columns(results: pd.DataFrame) -> list[str]:
    """The metric columns of a results table (everything numeric that is not bookkeeping)."""
    return [c for c in results.columns if c not in INFO_COLUMNS
            and pd.api.types.is_numeric_dtype(results[c])]


def headline_metrics(names: Sequence[str]) -> list[str]:
    """The metrics shown in the summary tables: no per-model breakdowns, spreads or reference values."""
    return [n for n in names if not n.endswith(BREAKDOWN_SUFFIXES) and not n.startswith(NOT_JUDGED)]


def summarise(results: pd.DataFrame, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and std (ddof=1; 0 for one seed) over successful seeds, one row per model."""
    models = list(models) if models is not None else list(dict.fromkeys(results["model"]))
    columns = metric_columns(results) + [c for c in EFFICIENCY_COLUMNS if c in results.columns]
    records = []
    for name in models:
        cells = results[results["model"] == name]
        ok = cells[cells["status"] == "ok"]
        record: dict[str, Any] = {"model": name, "n_ok": len(ok), "n_failed": len(cells) - len(ok),
                                  "errors": " | ".join(sorted(set(
                                      cells.loc[cells["status"] != "ok", "error"].astype(str))))}
        for column in columns:
            record.update(mean_std_record(ok, column))
        records.append(record)
    return pd.DataFrame(records)


def mean_std_record(cells: pd.DataFrame, column: str) -> dict[str, float]:
    """{column_mean, column_std} of a column's numeric values over seeds (std 0 for one, NaN for none)."""
    values = pd.to_numeric(cells[column], errors="coerce").dropna() if column in cells else pd.Series(dtype=float)
    return {f"{column}_mean": values.mean() if len(values) else np.nan,
            f"{column}_std": values.std(ddof=1) if len(values) > 1 else (0.0 if len(values) else np.nan)}


def metric_direction(name: str) -> int:
    """+1 if higher is better, -1 if lower is better, 0 if the benchmark does not judge it."""
    if name.endswith(("_std", "_pvalue")) or name.startswith(NOT_JUDGED):
        return 0
    if name.startswith(LOWER_IS_BETTER):
        return -1
    if name.startswith(HIGHER_IS_BETTER):
        return 1
    return 0


PRIVACY_PREFIXES = ("dcr_", "mia_", "exact_copy", "privacy_flagged")


ALPHA = 0.05
TEST_NAME = "Welch's t-test (two-sided, alpha 0.05)"


def welch(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> tuple[float, float, float]:
    """(p-value, low, high): Welch's t-test of mean_a - mean_b and its 95% CI (Welch-Satterthwaite df).

    NaN where it is undefined: fewer than 2 seeds on a side, or no spread on either side.
    """
    from scipy import stats

    if min(n_a, n_b) < 2:
        return float("nan"), float("nan"), float("nan")
    va, vb = (0.0 if pd.isna(std_a) else std_a) ** 2 / n_a, (0.0 if pd.isna(std_b) else std_b) ** 2 / n_b
    if va + vb == 0:
        return float("nan"), float("nan"), float("nan")
    df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    t = (mean_a - mean_b) / np.sqrt(va + vb)
    half = stats.t.ppf(1 - ALPHA / 2, df) * np.sqrt(va + vb)
    return float(2 * stats.t.sf(abs(t), df)), mean_a - mean_b - half, mean_a - mean_b + half


def t_halfwidth(std: float, n: int) -> float:
    """Half-width of the 95% t-interval of a mean over n seeds (NaN for n < 2)."""
    from scipy import stats

    if n < 2 or pd.isna(std):
        return float("nan")
    return float(stats.t.ppf(1 - ALPHA / 2, n - 1) * std / np.sqrt(n))


def compare_to_hybrid(summary: pd.DataFrame) -> pd.DataFrame:
    """Hybrid vs each other model on every judged headline metric: win / tie / loss as measured.

    The verdict is Welch's t-test on the per-seed values (from their means, stds and counts):
    a tie when p >= 0.05. Where the test is undefined (one seed on a side, or no spread at all)
    any difference counts, and the sentences say so. diff_low/diff_high: the 95% CI of
    hybrid minus baseline.
    """
    columns = ["metric", "baseline", "better", "hybrid_mean", "hybrid_std", "baseline_mean",
               "baseline_std", "verdict", "n_hybrid", "n_baseline", "p_value", "diff_low", "diff_high", "test"]
    models = set(summary["model"])
    if "hybrid" not in models:
        return pd.DataFrame(columns=columns)
    hybrid = summary.set_index("model").loc["hybrid"]
    metrics = headline_metrics([c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")])
    records = []
    for _, other in summary[summary["model"] != "hybrid"].iterrows():
        for metric in metrics:
            direction = metric_direction(metric)
            h_mean, h_std = hybrid[f"{metric}_mean"], hybrid[f"{metric}_std"]
            o_mean, o_std = other[f"{metric}_mean"], other[f"{metric}_std"]
            if direction == 0 or pd.isna(h_mean) or pd.isna(o_mean):
                continue
            p, low, high = welch(h_mean, h_std, int(hybrid["n_ok"]), o_mean, o_std, int(other["n_ok"]))
            if h_mean == o_mean or (not np.isnan(p) and p >= ALPHA):
                verdict = "tie"
            else:
                verdict = "win" if (h_mean - o_mean) * direction > 0 else "loss"
            word = "more private" if metric.startswith(PRIVACY_PREFIXES) else "better"
            better = f"{'higher' if direction > 0 else 'lower'} is {word}"
            records.append({"metric": metric, "baseline": other["model"], "better": better,
                            "hybrid_mean": h_mean, "hybrid_std": h_std, "baseline_mean": o_mean,
                            "baseline_std": o_std, "verdict": verdict, "n_hybrid": int(hybrid["n_ok"]),
                            "n_baseline": int(other["n_ok"]), "p_value": p, "diff_low": low, "diff_high": high,
                            "test": TEST_NAME})
    return pd.DataFrame(records, columns=columns)


def comparison_sentences(comparison: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """One sentence per metric (hybrid vs every baseline), then a win/tie/loss tally per baseline."""
    models = list(summary["model"])
    if "hybrid" not in models:
        return ["No hybrid model in this run: nothing compared."]
    ok = dict(zip(summary["model"], summary["n_ok"]))
    if ok["hybrid"] == 0:
        return ["The hybrid model failed on every seed, so nothing is compared."]
    sentences = []
    for metric, rows in comparison.groupby("metric", sort=False):
        first = rows.iloc[0]
        parts = [f"{r.verdict} vs {r.baseline} ({format_mean_std(r.baseline_mean, r.baseline_std)}"
                 f"{_format_test(r)})" for r in rows.itertuples()]
        hybrid_ci = _format_ci(first.hybrid_mean, t_halfwidth(first.hybrid_std, first.n_hybrid))
        sentences.append(f"{metric} ({first.better}): hybrid {format_mean_std(first.hybrid_mean, first.hybrid_std)}"
                         f"{hybrid_ci}; " + ", ".join(parts) + ".")
    for baseline in [m for m in models if m != "hybrid"]:
        if ok[baseline] == 0:
            sentences.append(f"Hybrid vs {baseline}: {baseline} failed on every seed, not compared.")
            continue
        verdicts = comparison.loc[comparison["baseline"] == baseline, "verdict"].value_counts()
        seeds = f"{ok['hybrid']} vs {ok[baseline]} seeds"
        if min(ok["hybrid"], ok[baseline]) < 2:
            seeds += "; one seed gives no spread, so every difference counts"
        else:
            seeds += f"; {TEST_NAME}"
        sentences.append(f"Hybrid vs {baseline}: {verdicts.get('win', 0)} wins, {verdicts.get('tie', 0)} ties, "
                         f"{verdicts.get('loss', 0)} losses over {int(verdicts.sum())} metrics, "
                         f"as measured ({seeds}).")
    return sentences


def _format_ci(mean: float, half: float) -> str:
    return "" if pd.isna(half) else f" [95% CI {mean - half:.4g}, {mean + half:.4g}]"


def _format_test(row) -> str:
    if pd.isna(row.p_value):
        return ""
    return f"; diff 95% CI [{row.diff_low:+.3g}, {row.diff_high:+.3g}], Welch p={row.p_value:.2g}"


def format_mean_std(mean: float, std: float) -> str:
    """"mean ± std" (std 0 for a single seed, "n/a" without a value)."""
    if pd.isna(mean):
        return "n/a"
    return f"{mean:.4g} ± {0.0 if pd.isna(std) else std:.2g}"


SIMULATOR_NOTE = ("All quantum circuits ran on a classical statevector simulator, not on quantum hardware; "
                  "these numbers show no quantum advantage and claim none. Win/tie/loss is only as measured "
                  "on this data with these seeds: Welch's t-test on the per-seed values, tie when p >= 0.05; "
                  "intervals are 95% t-intervals.")


def summary_markdown(summary: pd.DataFrame, comparisons: list[str], config: dict[str, Any],
                     sections: Sequence[str] = ()) -> str:
    """summary.md: metrics and efficiency per model (mean ± std over seeds), comparisons, simulator note."""
    judged = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    efficiency = [c for c in EFFICIENCY_COLUMNS if c in judged]
    metrics = headline_metrics([c for c in judged if c not in efficiency])
    lines = [f"# Benchmark on {config['data']}", "",
             f"Seeds {config['seeds']}, test_size {config['test_size']}, epochs {config['epochs']}, "
             f"target {config['target']}.", "", "## Metrics (mean ± std over seeds)", ""]
    models = list(summary["model"])
    lines += ["| metric | " + " | ".join(models) + " |", "|" + "---|" * (len(models) + 1),
              "| seeds ok / failed | " + " | ".join(f"{r.n_ok} / {r.n_failed}" for r in summary.itertuples()) + " |"]
    for metric in metrics:
        arrow = {1: " ↑", -1: " ↓", 0: ""}[metric_direction(metric)]
        cells = [format_mean_std(r[f"{metric}_mean"], r[f"{metric}_std"]) for _, r in summary.iterrows()]
        lines.append(f"| {metric}{arrow} | " + " | ".join(cells) + " |")
    lines += ["", "## Hybrid efficiency (parameters, circuit cost per training step, wall time)", ""]
    lines += _markdown_table(summary, efficiency, format_efficiency)
    failed = summary[summary["n_failed"] > 0]
    if len(failed):
        lines += ["", "## Failures", ""] + [f"- {r['model']}: {r['errors']}" for _, r in failed.iterrows()]
    lines += ["", "## Hybrid vs baselines (as measured)", ""]
    lines += [f"- {s}" for s in comparisons]
    lines += ["", *sections, SIMULATOR_NOTE, ""]
    return "\n".join(lines)


def _markdown_table(summary: pd.DataFrame, columns: list[str], cell) -> list[str]:
    lines = ["| model | seeds ok | failed | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 3)]
    for _, row in summary.iterrows():
        cells = [cell(row, c) for c in columns]
        lines.append(f"| {row['model']} | {row['n_ok']} | {row['n_failed']} | " + " | ".join(cells) + " |")
    return lines


def format_efficiency(row: pd.Series, column: str) -> str:
    """A summary cell of the efficiency table: counts once (same for every seed), times mean ± std."""
    mean = row[f"{column}_mean"]
    if column.endswith("_seconds"):
        return format_mean_std(mean, row[f"{column}_std"])
    if column == "shots_per_step" and pd.isna(mean) and not pd.isna(row.get("qubits_mean", np.nan)):
        return "exact (no shots)"
    return "n/a" if pd.isna(mean) else f"{mean:,.0f}"
