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
from qedm.executors import Cell, make_executor
from qedm.report.ablation import ablation_markdown
from qedm.report.summary import INFO_COLUMNS, compare_to_hybrid, comparison_sentences, summarise, summary_markdown

RESULTS_FILE, SUMMARY_CSV, SUMMARY_MD = "results.csv", "summary.csv", "summary.md"
COMPARISON_CSV = "comparison.csv"
REPORT_FILE, CONFIG_FILE = "report.html", "benchmark_config.json"

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
    executor: str | Any = "sequential",
    address: str | None = None,
) -> BenchmarkResult:
    """Fit, sample and evaluate every model for every seed; write results, summary and report.

    `seeds` is a list of seeds or a count (n -> 0..n-1). `epochs` applies to every trained model
    (QEDM denoisers, CTGAN, TVAE unless `sdv_epochs`); `qedm_options` are QEDMConfig values;
    `metrics` picks qedm.evaluate's metric groups (default all). `evaluator`/`model_factory`
    replace `qedm.evaluate` and `make_model` (tests). `executor` runs the cells ("sequential", or
    "ray" on a local Ray instance or the cluster at `address`; see qedm.executors).
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
    splits = {seed: split_table(table, target, test_size, seed) for seed in dict.fromkeys(s for s, _ in todo)}
    cells = [Cell(name, seed, *splits[seed], epochs if name in QEDM_MODELS else None) for seed, name in todo]
    run = partial(_run_executor_cell, target=target, out_dir=out_dir, factory=factory, evaluate_fn=evaluate_fn,
                  epochs=epochs, sdv_epochs=sdv_epochs, options=qedm_options or {})
    with _Progress(progress, len(todo)) as bar:
        for cell, row in make_executor(executor, address).map(run, cells, bar):
            rows[(cell.name, cell.seed)] = row
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
    atomic_write_text(out_dir / SUMMARY_MD, summary_markdown(summary, comparisons, config, ablation_markdown(current)))
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
    scores = evaluate(holdout, synthetic, train=train, target=target, seed=seed, metrics=chosen).summary()
    if "privacy" in chosen and train is not None:  # SDMetrics' protection scores next to qedm's DCR / MIA
        from qedm.privacy.audit import privacy_audit

        scores.update(privacy_audit(train, holdout, synthetic, seed=seed))
    return scores


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
        if hasattr(model, "ablations"):  # QEDM denoisers: does the circuit matter (qedm.evaluate.ablation)?
            row.update(model.ablations(train, holdout, seed=seed, fitted_quality=row.get("fidelity_overall")))
        row["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a failing model must not stop the benchmark
        row["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return row


def _run_executor_cell(cell: Cell, bar, **settings) -> dict[str, Any]:
    s = settings
    return _run_cell(cell.name, cell.seed, cell.train, cell.holdout, s["target"], s["out_dir"], s["factory"],
                     s["evaluate_fn"], s["epochs"], s["sdv_epochs"], s["options"], bar)


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
