"""The benchmark engine: QEDM denoisers and classical baselines on the same splits, side by side.

For each seed one stratified train/holdout split is drawn (the same for every model); each model
is fitted on train, samples as many rows as train, and is evaluated against the holdout. Every
finished cell is written to results.csv at once (atomically), so a re-run with the same out_dir
resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qedm import __version__
from qedm.atomic import atomic_write_csv, atomic_write_text
from qedm.baselines.protocol import MODEL_NAMES, QEDM_MODELS, make_model
from qedm.errors import ConfigError, DataError

RESULTS_FILE, SUMMARY_CSV, SUMMARY_MD = "results.csv", "summary.csv", "summary.md"
COMPARISON_CSV = "comparison.csv"
REPORT_FILE, CONFIG_FILE = "report.html", "benchmark_config.json"
# Everything in a results row that is not a metric of the synthetic data.
INFO_COLUMNS = ("model", "seed", "status", "error", "n_train", "n_holdout", "n_real", "n_synthetic", "fit_seconds",
                "sample_seconds", "epochs", "params_classical", "params_quantum", "params_total",
                "matched_hidden", "qubits", "circuit_depth", "circuit_evals_per_step",
                "circuit_evals_per_step_parameter_shift", "shots_per_step")
EFFICIENCY_COLUMNS = ("params_classical", "params_quantum", "params_total", "qubits", "circuit_depth",
                      "circuit_evals_per_step", "circuit_evals_per_step_parameter_shift",
                      "shots_per_step", "fit_seconds", "sample_seconds")
# Which way is better for the scores qedm.evaluate reports, by name prefix. Reference values that do
# not depend on the generator (TRTR, holdout DCR), spreads and p-values are shown but not judged.
NOT_JUDGED = ("trtr_", "dcr_holdout", "holdout_", "utility_ok", "density", "n_")
LOWER_IS_BETTER = ("c2st_auc", "utility_gap_", "tstr_mae", "mmd_", "mia_auc", "dcr_share_closer",
                   "exact_copy", "privacy_flagged", "fit_seconds", "sample_seconds")
HIGHER_IS_BETTER = ("fidelity", "column_shapes", "column_pair_trends", "tstr_", "precision", "recall",
                    "coverage", "dcr_synthetic")

# Per-model breakdowns (detector / utility model) stay in results.csv and summary.csv only.
BREAKDOWN_SUFFIXES = ("_logistic", "_random_forest", "_gradient_boosting", "_ridge", "_std", "_pvalue")

Evaluator = Callable[..., dict[str, float]]
ModelFactory = Callable[..., Any]


@dataclass
class BenchmarkResult:
    """What a run produced: per-cell results, per-model summary, comparisons, and where files are."""

    results: pd.DataFrame  # one row per (seed, model)
    summary: pd.DataFrame  # one row per model: <metric>_mean, <metric>_std, n_ok, n_failed
    comparison: pd.DataFrame  # metric, baseline, verdict (win/tie/loss for hybrid), means and stds
    comparisons: list[str]  # the same as sentences, plus a tally per baseline
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)


def run_benchmark(
    data: str | pd.DataFrame,
    models: Sequence[str],
    seeds: int | Sequence[int],
    out_dir: str | Path,
    target: str | None = None,
    test_size: float = 0.3,
    epochs: int | None = None,
    progress: bool = True,
    *,
    fresh: bool = False,
    sdv_epochs: int | None = None,
    qedm_options: dict[str, Any] | None = None,
    metrics: Sequence[str] | None = None,
    evaluator: Evaluator | None = None,
    model_factory: ModelFactory | None = None,
) -> BenchmarkResult:
    """Fit, sample and evaluate every model for every seed; write results, summary and report.

    `seeds` is a list of seeds or a count (n -> 0..n-1). `epochs` applies to every trained model
    (QEDM denoisers, CTGAN, TVAE unless `sdv_epochs`); `qedm_options` are QEDMConfig values;
    `metrics` picks qedm.evaluate's metric groups (default all). `evaluator`/`model_factory`
    replace `qedm.evaluate` and `make_model` (tests).
    """
    models = _check_models(models)
    seeds = _check_seeds(seeds)
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"test_size must be between 0 and 1, got {test_size}")
    table, label = _load_table(data)
    target = _resolve_target(data, table, target)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "data": label, "data_sha256": _fingerprint(table), "n_rows": len(table), "target": target,
        "test_size": test_size, "epochs": epochs, "sdv_epochs": sdv_epochs,
        "qedm_options": qedm_options or {}, "metrics": list(metrics) if metrics else None,
        "models": models, "seeds": seeds,
        "qedm_version": __version__, "simulator": "classical statevector simulation (no quantum hardware)",
    }
    previous = pd.DataFrame() if fresh else _load_previous(out_dir, config)
    atomic_write_text(out_dir / CONFIG_FILE, json.dumps(config, indent=2, default=str))

    factory = model_factory or make_model
    evaluate_fn = evaluator or partial(_default_evaluator, metrics=metrics)
    rows = {(r["model"], int(r["seed"])): r for r in previous.to_dict("records")}
    todo = [(s, m) for s in seeds for m in models if rows.get((m, s), {}).get("status") != "ok"]
    with _Progress(progress, len(todo)) as bar:
        splits: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
        for seed, name in todo:
            if seed not in splits:
                splits[seed] = split_table(table, target, test_size, seed)
            train, holdout = splits[seed]
            bar.start(f"{name} seed {seed}", epochs if name in QEDM_MODELS else None)
            rows[(name, seed)] = _run_cell(name, seed, train, holdout, target, out_dir, factory,
                                           evaluate_fn, epochs, sdv_epochs, qedm_options or {}, bar)
            atomic_write_csv(_results_frame(rows.values()), out_dir / RESULTS_FILE)
            bar.advance()

    results = _results_frame(rows.values())
    atomic_write_csv(results, out_dir / RESULTS_FILE)
    current = results[results["model"].isin(models) & results["seed"].isin(seeds)]
    summary = summarise(current, models)
    comparison = compare_to_hybrid(summary)
    comparisons = comparison_sentences(comparison, summary)
    atomic_write_csv(summary, out_dir / SUMMARY_CSV)
    atomic_write_csv(comparison, out_dir / COMPARISON_CSV)
    atomic_write_text(out_dir / SUMMARY_MD, summary_markdown(summary, comparisons, config))
    real_train = split_table(table, target, test_size, seeds[0])[0]
    from qedm.report.html import write_report

    write_report(out_dir / REPORT_FILE, current, summary, comparison, comparisons, config, real_train, out_dir)
    names = (RESULTS_FILE, SUMMARY_CSV, SUMMARY_MD, COMPARISON_CSV, REPORT_FILE, CONFIG_FILE)
    files = {name: out_dir / name for name in names}
    return BenchmarkResult(current.reset_index(drop=True), summary, comparison, comparisons, out_dir, files)


# ----------------------------------------------------------------- inputs
def _check_models(models: Sequence[str]) -> list[str]:
    models = [models] if isinstance(models, str) else list(models)
    if not models:
        raise ConfigError("models must name at least one model")
    unknown = [m for m in models if m not in MODEL_NAMES]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; choose from: {', '.join(MODEL_NAMES)}")
    return list(dict.fromkeys(models))


def _check_seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ConfigError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        return list(range(int(seeds)))
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("seeds must hold at least one seed")
    return list(dict.fromkeys(seeds))


def _load_table(data: str | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """A DataFrame as given, a path to a table file, or a bundled dataset name."""
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise DataError("the data table is empty")
        return data.reset_index(drop=True), "dataframe"
    path = Path(str(data))
    if path.suffix or path.is_file():
        if not path.is_file():
            raise DataError(f"data file not found: {path}")
        from qedm.data import read_table

        return read_table(path).reset_index(drop=True), str(path)
    from qedm.data import load_dataset

    return load_dataset(str(data)).reset_index(drop=True), str(data)


def _resolve_target(data: str | pd.DataFrame, table: pd.DataFrame, target: str | None) -> str | None:
    if target is None and isinstance(data, str) and not Path(data).suffix and not Path(data).is_file():
        from qedm.data import dataset_info

        target = dataset_info(data).target
    if target is not None and target not in table.columns:
        raise DataError(f"target column {target!r} is not a column of the table: {list(table.columns)}")
    return target


def _fingerprint(table: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(table, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(map(str, table.columns)).encode()).hexdigest()[:16]


def split_table(table: pd.DataFrame, target: str | None, test_size: float,
                seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One train/holdout split, stratified on `target` (numeric targets by quintile) when possible."""
    from sklearn.model_selection import train_test_split

    strata = _strata(table, target)
    try:
        train, holdout = train_test_split(table, test_size=test_size, random_state=seed, stratify=strata)
    except ValueError:  # too few rows per class for a stratified split of this size
        train, holdout = train_test_split(table, test_size=test_size, random_state=seed)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def _strata(table: pd.DataFrame, target: str | None) -> pd.Series | None:
    if target is None:
        return None
    values = table[target]
    if pd.api.types.is_float_dtype(values) and values.nunique() > 20:
        values = pd.qcut(values, q=5, duplicates="drop")
    strata = values.astype(str)
    return strata if strata.value_counts().min() >= 2 else None


# ------------------------------------------------------------------ cells
def _default_evaluator(holdout, synthetic, train, target, seed, metrics=None) -> dict[str, float]:
    from qedm.evaluate import METRICS, evaluate

    chosen = tuple(metrics) if metrics else METRICS
    return evaluate(holdout, synthetic, train=train, target=target, seed=seed, metrics=chosen).summary()


def _run_cell(name, seed, train, holdout, target, out_dir, factory, evaluate_fn, epochs,
              sdv_epochs, options, bar) -> dict[str, Any]:
    """Fit, sample, evaluate one (model, seed); a failure is recorded, not raised."""
    row: dict[str, Any] = {"model": name, "seed": seed, "status": "failed", "error": "",
                           "n_train": len(train), "n_holdout": len(holdout)}
    try:
        model = factory(name, seed=seed, epochs=epochs, sdv_epochs=sdv_epochs,
                        on_epoch=bar.epoch, **options)
        started = time.perf_counter()
        model.fit(train)
        row["fit_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        synthetic = model.sample(len(train), seed=seed)
        row["sample_seconds"] = time.perf_counter() - started
        atomic_write_csv(synthetic, out_dir / "samples" / f"{name}_seed{seed}.csv")
        history = list(getattr(model, "history", []) or [])
        atomic_write_text(out_dir / "histories" / f"{name}_seed{seed}.json", json.dumps(history, default=float))
        row["epochs"] = len(history) or np.nan
        row.update(_efficiency(model))
        metrics = evaluate_fn(holdout, synthetic, train=train, target=target, seed=seed)
        row.update({k: (np.nan if v is None else float(v)) for k, v in metrics.items() if k not in INFO_COLUMNS})
        row["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a failing model must not stop the benchmark
        row["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return row


def _efficiency(model) -> dict[str, Any]:
    """Parameter counts and circuit costs (qubits, depth, evaluations and shots per step)."""
    out: dict[str, Any] = {}
    counts = model.parameter_counts() if hasattr(model, "parameter_counts") else {}
    for key in ("classical", "quantum", "total"):
        out[f"params_{key}"] = counts.get(key, np.nan)
    out["matched_hidden"] = getattr(model, "matched", {}).get("hidden", np.nan)
    res = model.resources() if hasattr(model, "resources") else {}
    if res:
        method = res.get("diff_method", "backprop")
        evals, shots = res.get("evaluations_per_step", {}), res.get("shots_per_step", {})
        out["qubits"] = res.get("qubits", np.nan)
        out["circuit_depth"] = res.get("depth", np.nan)
        out["circuit_evals_per_step"] = evals.get(method, np.nan) if isinstance(evals, dict) else evals
        out["circuit_evals_per_step_parameter_shift"] = (
            evals.get("parameter-shift", np.nan) if isinstance(evals, dict) else np.nan)
        value = shots.get(method) if isinstance(shots, dict) else shots
        out["shots_per_step"] = np.nan if value is None else value
    return out


def _results_frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    first = [c for c in INFO_COLUMNS if c in frame.columns]
    frame = frame[first + sorted(c for c in frame.columns if c not in first)]
    return frame.sort_values(["seed", "model"], kind="stable").reset_index(drop=True)


def _load_previous(out_dir: Path, config: dict[str, Any]) -> pd.DataFrame:
    """Finished cells of an earlier run in out_dir, if that run used the same data and settings."""
    path = out_dir / RESULTS_FILE
    if not path.is_file():
        return pd.DataFrame()
    old_path = out_dir / CONFIG_FILE
    if old_path.is_file():
        old = json.loads(old_path.read_text())
        keys = ("data_sha256", "target", "test_size", "epochs", "sdv_epochs", "qedm_options", "metrics")
        changed = [k for k in keys if old.get(k) != json.loads(json.dumps(config[k], default=str))]
        if changed:
            raise ConfigError(
                f"{out_dir} holds a benchmark with different {', '.join(changed)}; "
                "use --fresh to overwrite it or choose another out_dir")
    frame = pd.read_csv(path, float_precision="round_trip")
    frame["error"] = frame.get("error", pd.Series(dtype=str)).fillna("")
    return frame


# ---------------------------------------------------------------- summary
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
                                  "errors": " | ".join(sorted(set(cells.loc[cells["status"] != "ok", "error"].astype(str))))}
        for column in columns:
            values = pd.to_numeric(ok[column], errors="coerce").dropna() if column in ok else pd.Series(dtype=float)
            record[f"{column}_mean"] = values.mean() if len(values) else np.nan
            record[f"{column}_std"] = values.std(ddof=1) if len(values) > 1 else (0.0 if len(values) else np.nan)
        records.append(record)
    return pd.DataFrame(records)


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


def compare_to_hybrid(summary: pd.DataFrame) -> pd.DataFrame:
    """Hybrid vs each other model on every judged headline metric: win / tie / loss as measured.

    A tie is a difference of means within the two standard deviations added in quadrature
    (with one seed the std is 0, so any difference counts: the sentences say so).
    """
    columns = ["metric", "baseline", "better", "hybrid_mean", "hybrid_std", "baseline_mean",
               "baseline_std", "verdict", "n_hybrid", "n_baseline"]
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
            spread = float(np.hypot(0.0 if pd.isna(h_std) else h_std, 0.0 if pd.isna(o_std) else o_std))
            if abs(h_mean - o_mean) <= spread:
                verdict = "tie"
            else:
                verdict = "win" if (h_mean - o_mean) * direction > 0 else "loss"
            word = "more private" if metric.startswith(PRIVACY_PREFIXES) else "better"
            better = f"{'higher' if direction > 0 else 'lower'} is {word}"
            records.append({"metric": metric, "baseline": other["model"], "better": better,
                            "hybrid_mean": h_mean, "hybrid_std": h_std, "baseline_mean": o_mean,
                            "baseline_std": o_std, "verdict": verdict, "n_hybrid": int(hybrid["n_ok"]),
                            "n_baseline": int(other["n_ok"])})
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
        parts = [f"{r.verdict} vs {r.baseline} ({format_mean_std(r.baseline_mean, r.baseline_std)})"
                 for r in rows.itertuples()]
        sentences.append(f"{metric} ({first.better}): hybrid {format_mean_std(first.hybrid_mean, first.hybrid_std)}; "
                         + ", ".join(parts) + ".")
    for baseline in [m for m in models if m != "hybrid"]:
        if ok[baseline] == 0:
            sentences.append(f"Hybrid vs {baseline}: {baseline} failed on every seed, not compared.")
            continue
        verdicts = comparison.loc[comparison["baseline"] == baseline, "verdict"].value_counts()
        seeds = f"{ok['hybrid']} vs {ok[baseline]} seeds"
        if min(ok["hybrid"], ok[baseline]) < 2:
            seeds += "; one seed gives no spread, so every difference counts"
        sentences.append(f"Hybrid vs {baseline}: {verdicts.get('win', 0)} wins, {verdicts.get('tie', 0)} ties, "
                         f"{verdicts.get('loss', 0)} losses over {int(verdicts.sum())} metrics, "
                         f"as measured ({seeds}).")
    return sentences


def format_mean_std(mean: float, std: float) -> str:
    """"mean ± std" (std 0 for a single seed, "n/a" without a value)."""
    if pd.isna(mean):
        return "n/a"
    return f"{mean:.4g} ± {0.0 if pd.isna(std) else std:.2g}"


SIMULATOR_NOTE = ("All quantum circuits ran on a classical statevector simulator, not on quantum hardware; "
                  "these numbers show no quantum advantage and claim none. Win/tie/loss is only as measured "
                  "on this data with these seeds (tie: means within the stds added in quadrature).")


def summary_markdown(summary: pd.DataFrame, comparisons: list[str], config: dict[str, Any]) -> str:
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
    lines += ["", SIMULATOR_NOTE, ""]
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


class _Progress:
    """Rich progress bars (cells, and epochs of the model in training); silent if disabled."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total
        self._bar = self._cells = self._epochs = None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), transient=False)
            self._bar.__enter__()
            self._cells = self._bar.add_task("benchmark cells", total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def start(self, description: str, epochs: int | None) -> None:
        if self._bar is None:
            return
        if self._epochs is not None:
            self._bar.remove_task(self._epochs)
        self._epochs = self._bar.add_task(f"  {description}", total=epochs)

    def epoch(self, record: dict) -> None:
        if self._bar is not None and self._epochs is not None:
            self._bar.advance(self._epochs)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._cells)
            if self._epochs is not None:
                self._bar.remove_task(self._epochs)
                self._epochs = None
