"""The "does the circuit matter?" section of a benchmark: ablation deltas per quantum model over seeds.

Reads the per-seed columns `qedm.evaluate.ablation.AblationResult.columns` and the gradient
health figures (`qedm.gradient_health`) wrote into results.csv; summary.md and report.html both
render the table built here.
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from qedm.evaluate.ablation import circuit_verdict, t_interval

ABLATION_COLUMNS = ("heldout_loss", "ablation_mean_loss_delta", "ablation_random_loss_delta",
                    "ablation_mean_quality_delta", "ablation_random_quality_delta", "circuit_output_std",
                    "grad_circuit_norm", "grad_circuit_input_norm", "grad_classical_norm", "grad_circuit_ratio",
                    "grad_flag")
SHOWN = {
    "heldout_loss": "held-out loss",
    "ablation_mean_loss_delta": "Δ loss, mean ablation",
    "ablation_random_loss_delta": "Δ loss, random circuit",
    "classical_loss_delta": "Δ loss, matched classical",
    "ablation_mean_quality_delta": "Δ fidelity, mean ablation",
    "ablation_random_quality_delta": "Δ fidelity, random circuit",
    "grad_circuit_ratio": "circuit / classical grad (last epoch)",
}
NOTE = ("Δ: ablated minus the fitted model, mean ± std over seeds [95% t-interval]; a loss rise (> 0) or a "
        "fidelity drop (< 0) means the circuit carried information. Mean ablation: circuit outputs replaced by "
        "their batch mean. Random circuit: trained angles replaced by frozen uniform ones, classical parts "
        "retrained briefly (against the trained circuit retrained the same way). Matched classical: the "
        "classical model of the same parameter count, held-out loss minus the quantum model's, paired by seed.")


def circuit_models(results: pd.DataFrame) -> list[str]:
    """Models of the run with ablation figures (those with a circuit)."""
    if "ablation_mean_loss_delta" not in results:
        return []
    ok = results[(results["status"] == "ok") & results["ablation_mean_loss_delta"].notna()]
    return list(dict.fromkeys(ok["model"]))


def ablation_rows(results: pd.DataFrame) -> list[dict]:
    """Per circuit model: {"model", "n", column: (mean, std, low, high), "verdict"}."""
    ok = results[results["status"] == "ok"]
    classical = ok[ok["model"] == "classical"].set_index("seed")
    rows = []
    for model in circuit_models(results):
        cells = ok[ok["model"] == model].set_index("seed")
        per_seed = {c: cells[c].astype(float) for c in SHOWN if c in cells}
        paired = [s for s in cells.index if s in classical.index and "heldout_loss" in classical]
        if paired:
            per_seed["classical_loss_delta"] = (classical.loc[paired, "heldout_loss"].astype(float)
                                                - cells.loc[paired, "heldout_loss"].astype(float))
        row = {"model": model, "n": len(cells)}
        for column, values in per_seed.items():
            values = values.dropna()
            mean, low, high = t_interval(values.tolist())
            row[column] = (mean, float(values.std(ddof=1)) if len(values) > 1 else 0.0, low, high)
        row["verdict"] = circuit_verdict(
            cells["ablation_mean_loss_delta"].tolist(), cells.get("ablation_random_loss_delta", pd.Series()).tolist(),
            cells["heldout_loss"].tolist(),
            classical.loc[paired, "heldout_loss"].tolist() if paired else ())
        if "grad_flag" in cells and cells["grad_flag"].fillna(0).astype(float).gt(0).any():
            row["verdict"] += (" Gradient health: the circuit's gradient was zero or many orders of magnitude "
                               "below the classical parameters' in some seed(s) (see grad_circuit_ratio).")
        rows.append(row)
    return rows


def _cell(value) -> str:
    if value is None:
        return "n/a"
    mean, std, low, high = value
    if not np.isfinite(mean):
        return "n/a"
    ci = f" [{low:+.3g}, {high:+.3g}]" if np.isfinite(low) else ""
    return f"{mean:+.4g} ± {std:.2g}{ci}"


def ablation_markdown(results: pd.DataFrame) -> list[str]:
    """summary.md lines of the section (empty when no model has a circuit)."""
    rows = ablation_rows(results)
    if not rows:
        return []
    columns = [c for c in SHOWN if any(c in r for r in rows)]
    lines = ["## Does the circuit matter? (ablations)", "", NOTE, "",
             "| model | seeds | " + " | ".join(SHOWN[c] for c in columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['n']} | " + " | ".join(_cell(r.get(c)) for c in columns) + " |")
    lines += [""] + [f"- {r['model']}: {r['verdict']}" for r in rows]
    return lines + [""]


def ablation_html(results: pd.DataFrame) -> str:
    """The report's section (empty string when no model has a circuit)."""
    rows = ablation_rows(results)
    if not rows:
        return ""
    columns = [c for c in SHOWN if any(c in r for r in rows)]
    head = "".join(f"<th>{escape(SHOWN[c])}</th>" for c in columns)
    body = "".join(f"<tr><td>{escape(r['model'])}</td><td>{r['n']}</td>"
                   + "".join(f"<td>{escape(_cell(r.get(c)))}</td>" for c in columns) + "</tr>" for r in rows)
    verdicts = "".join(f"<li class='verdict'>{escape(r['model'])}: {escape(r['verdict'])}</li>" for r in rows)
    return ("<h2 id='ablations'>Does the circuit matter? (ablations)</h2>"
            f"<p>{escape(NOTE)}</p><table id='ablation-table'><thead><tr><th>model</th><th>seeds</th>{head}"
            f"</tr></thead><tbody>{body}</tbody></table><ul>{verdicts}</ul>")
