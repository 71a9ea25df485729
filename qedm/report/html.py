"""The benchmark report: one self-contained HTML file (inline CSS, plots as base64 PNG, tables)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qedm.atomic import atomic_write_text
from qedm.report.ablation import ablation_html
from qedm.report.plots import correlation_heatmaps, loss_curves, marginal_histograms, png_data_uri

CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em; color: #222;
       max-width: 1400px; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.6em 1em; }
.failed, .loss { color: #b00020; } .win { color: #1b5e20; } .tie { color: #555; }
img { max-width: 100%; border: 1px solid #eee; }
"""
EFFICIENCY_HEADERS = {
    "params_classical": "classical params", "params_quantum": "quantum params", "params_total": "total params",
    "qubits": "qubits", "circuit_depth": "circuit depth", "circuit_evals_per_step": "circuit evals / step",
    "circuit_evals_per_step_parameter_shift": "circuit evals / step (parameter-shift, hardware)",
    "shots_per_step": "shots / step", "fit_seconds": "fit s", "sample_seconds": "sample s",
}
PRIVACY_COLUMNS = ("mia_auc", "dcr_synthetic_median", "dcr_holdout_median", "dcr_share_closer_than_holdout_p5",
                   "exact_copy_share", "sdm_dcr_overfitting_protection", "sdm_disclosure_protection")


def write_report(path: str | Path, results: pd.DataFrame, summary: pd.DataFrame, comparison: pd.DataFrame,
                 comparisons: list[str], config: dict[str, Any], real_train: pd.DataFrame, run_dir: str | Path) -> Path:
    """Render the report for a benchmark run directory (samples/ and histories/ in `run_dir`)."""
    run_dir = Path(run_dir)
    seed = int(config["seeds"][0])
    synthetic = {}
    for model in summary["model"]:
        sample_path = run_dir / "samples" / f"{model}_seed{seed}.csv"
        ok = results[(results["model"] == model) & (results["seed"] == seed) & (results["status"] == "ok")]
        if len(ok) and sample_path.is_file():
            synthetic[model] = pd.read_csv(sample_path)
    histories: dict[str, dict[int, list[dict]]] = {m: {} for m in summary["model"]}
    for row in results[results["status"] == "ok"].itertuples():
        history_path = run_dir / "histories" / f"{row.model}_seed{int(row.seed)}.json"
        if history_path.is_file():
            histories.setdefault(row.model, {})[int(row.seed)] = json.loads(history_path.read_text())
    html = render_html(results, summary, comparison, comparisons, config, real_train, synthetic, histories)
    return atomic_write_text(path, html)


def render_html(results: pd.DataFrame, summary: pd.DataFrame, comparison: pd.DataFrame, comparisons: list[str],
                config: dict[str, Any],
                real_train: pd.DataFrame, synthetic: dict[str, pd.DataFrame],
                histories: dict[str, dict[int, list[dict]]]) -> str:
    """The whole report as one HTML string."""
    from qedm.report.summary import (
        INFO_COLUMNS,
        SIMULATOR_NOTE,
        format_efficiency,
        headline_metrics,
        metric_columns,
        metric_direction,
    )

    metrics = headline_metrics(metric_columns(results))
    seed = config["seeds"][0]
    parts = [f"<h1>qedm benchmark: {escape(str(config['data']))}</h1>",
             f"<p class='note' id='simulator-note'>{escape(SIMULATOR_NOTE)}</p>",
             "<p>" + escape(f"Models {', '.join(map(str, summary['model']))}; seeds {config['seeds']}; "
                            f"test_size {config['test_size']}; epochs {config['epochs']}; "
                            f"target {config['target']}; {config['n_rows']} rows.") + "</p>",
             "<h2>Metrics (mean ± std over seeds)</h2>",
             "<p>↑: higher is better, ↓: lower is better (privacy rows: more private), "
             "no arrow: shown, not judged.</p>",
             _metrics_table(summary, metrics, metric_direction),
             "<h2>Hybrid efficiency</h2>",
             "<p>Parameter counts and the cost of the quantum circuit per training step. Circuit runs are "
             "counted as on hardware; here they were simulated classically.</p>",
             _summary_table(summary, [c for c in EFFICIENCY_HEADERS if f"{c}_mean" in summary],
                            "efficiency-table", EFFICIENCY_HEADERS, format_efficiency),
             "<h2>Hybrid vs baselines, as measured</h2>",
             "<p>Each cell: hybrid's verdict against that model, with the model's mean ± std. "
             "Verdicts: Welch's t-test on the per-seed values (tie when p >= 0.05; with one seed any "
             "difference counts); the sentences give the 95% CIs and p-values.</p>",
             _verdict_table(comparison), _list(comparisons), ablation_html(results)]
    privacy = [c for c in PRIVACY_COLUMNS if f"{c}_mean" in summary]
    if privacy:
        parts += ["<h2 id='privacy'>Privacy</h2>",
                  "<p>qedm's distance to closest record and membership-inference AUC (0.5: the attacker "
                  "cannot tell training rows from holdout rows), next to SDMetrics' DCROverfittingProtection and "
                  "DisclosureProtection (1: best protected). Empirical checks, not guarantees; a DP fit's "
                  "(epsilon, delta) is in its model card.</p>",
                  _summary_table(summary, privacy, "privacy-table")]
    failed = results[results["status"] != "ok"]
    if len(failed):
        parts += ["<h2 class='failed'>Failed runs</h2>",
                  _list([f"{r.model} seed {r.seed}: {r.error}" for r in failed.itertuples()])]
    if synthetic:
        parts += [f"<h2>Marginals: real train vs synthetic (seed {escape(str(seed))})</h2>",
                  _img(marginal_histograms(real_train, synthetic), "marginal histograms"),
                  "<h2>Correlations (numeric columns and category codes)</h2>",
                  _img(correlation_heatmaps(real_train, synthetic), "correlation heatmaps")]
    if any(histories.values()):
        parts += ["<h2>Training loss</h2>",
                  "<p>Each model's own training loss (diffusion: noise-prediction MSE; CTGAN: generator "
                  "loss; TVAE: its ELBO loss), so values are comparable across seeds, not across models.</p>",
                  _img(loss_curves(histories), "training loss curves")]
    shown = [c for c in results.columns if c in INFO_COLUMNS or c in metrics]
    parts += ["<h2>All runs</h2>", "<p>Headline columns; results.csv holds every score.</p>",
              _frame_table(results[shown], "results-table")]
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>qedm benchmark: {escape(str(config['data']))}</title><style>{CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


def _metrics_table(summary: pd.DataFrame, metrics: list[str], direction) -> str:
    """Metrics down, models across (tables stay readable with twenty metrics)."""
    from qedm.report.summary import format_mean_std

    arrows = {1: " ↑", -1: " ↓", 0: ""}
    head = "".join(f"<th>{escape(str(m))}</th>" for m in summary["model"])
    rows = ["<tr><td>seeds ok / failed</td>" + "".join(
        f"<td>{int(r.n_ok)} / {int(r.n_failed)}</td>" for r in summary.itertuples()) + "</tr>"]
    for metric in metrics:
        cells = "".join(f"<td>{escape(format_mean_std(r[f'{metric}_mean'], r[f'{metric}_std']))}</td>"
                        for _, r in summary.iterrows())
        rows.append(f"<tr><td>{escape(metric)}{arrows[direction(metric)]}</td>{cells}</tr>")
    return (f"<table id='metrics-table'><thead><tr><th>metric</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _summary_table(summary: pd.DataFrame, columns: list[str], table_id: str,
                   headers: dict[str, str] | None = None, cell=None) -> str:
    """One row per model; cells are mean ± std unless `cell(row, column)` formats them."""
    from qedm.report.summary import format_mean_std

    headers = headers or {}
    cell = cell or (lambda row, c: format_mean_std(row[f"{c}_mean"], row[f"{c}_std"]))
    head = "".join(f"<th>{escape(headers.get(c, c))}</th>" for c in columns)
    rows = []
    for _, row in summary.iterrows():
        cells = "".join(f"<td>{escape(cell(row, c))}</td>" for c in columns)
        rows.append(f"<tr><td>{escape(str(row['model']))}</td><td>{int(row['n_ok'])}</td>"
                    f"<td>{int(row['n_failed'])}</td>{cells}</tr>")
    return (f"<table id='{table_id}'><thead><tr><th>model</th><th>seeds ok</th><th>failed</th>{head}</tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def _verdict_table(comparison: pd.DataFrame) -> str:
    """Metrics down, baselines across: "win/tie/loss (baseline mean ± std)" for the hybrid."""
    from qedm.report.summary import format_mean_std

    if comparison.empty:
        return ""
    baselines = list(dict.fromkeys(comparison["baseline"]))
    head = "".join(f"<th>vs {escape(str(b))}</th>" for b in baselines)
    rows = []
    for metric, group in comparison.groupby("metric", sort=False):
        by = {r.baseline: r for r in group.itertuples()}
        first = group.iloc[0]
        cells = "".join(
            f"<td class='{by[b].verdict}'>{by[b].verdict} "
            f"({escape(format_mean_std(by[b].baseline_mean, by[b].baseline_std))})</td>"
            if b in by else "<td>–</td>" for b in baselines)
        rows.append(f"<tr><td>{escape(metric)} ({escape(first.better)})</td>"
                    f"<td>{escape(format_mean_std(first.hybrid_mean, first.hybrid_std))}</td>{cells}</tr>")
    return (f"<table id='verdict-table'><thead><tr><th>metric</th><th>hybrid</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _frame_table(frame: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = ["<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in record) + "</tr>"
            for record in frame.itertuples(index=False)]
    return f"<table id='{table_id}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(str(item))}</li>" for item in items) + "</ul>"


def _img(png: bytes, alt: str) -> str:
    return f"<p><img alt='{escape(alt)}' src='{png_data_uri(png)}'></p>"
