"""The table suite: the benchmark on every bundled real mixed-type table, ranked across tables.

`run_suite("tables", ...)` runs `qedm.benchmark.run_benchmark` once per table (each in its own
sub-directory of `out_dir`, so an interrupted suite resumes cell by cell), scores every cell
with the TabSyn-style metrics of `qedm.evaluate.tabsyn`, and writes:
- suite_results.csv: one row per (table, model, seed);
- suite_summary.csv / suite_summary.md: mean ± std per (table, model) and the ranking;
- the ranking: per table and metric the models are ranked by their mean (1 = best, ties share
  the mean rank), then ranks are averaged over the metrics and tables.
`max_rows` caps each table (a seeded random subset, the same for every model and seed) so a
suite fits a small machine; the report says which cap was used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qedm.atomic import atomic_write_csv, atomic_write_text
from qedm.errors import ConfigError
from qedm.report.summary import mean_std_record

# Every real table with mixed column kinds that qedm can load offline, from 215 to 20,190 rows.
SUITES: dict[str, tuple[str, ...]] = {
    "tables": ("student_placements", "diabetes", "anes96", "fair", "randhie"),
}
SUITE_RESULTS, SUITE_SUMMARY_CSV, SUITE_SUMMARY_MD = "suite_results.csv", "suite_summary.csv", "suite_summary.md"
SHOWN = ("column_shape_error", "pair_trend_error", "alpha_precision", "beta_recall", "c2st_auc",
         "tstr_gbm", "trtr_gbm", "dcr_share_closer_than_holdout_median", "fit_seconds")


@dataclass
class SuiteResult:
    """Per-cell results of every table, the per-table summary, the ranking, and where files are."""

    results: pd.DataFrame  # table, model, seed, status, metrics...
    summary: pd.DataFrame  # table, model, <metric>_mean, <metric>_std
    ranking: pd.DataFrame  # model, mean_rank, then the mean rank per metric
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)


def suite_tables(suite: str) -> tuple[str, ...]:
    """The dataset names of a suite; unknown suites raise ConfigError naming the valid ones."""
    if suite not in SUITES:
        raise ConfigError(f"unknown suite {suite!r}; choose from: {', '.join(SUITES)}")
    return SUITES[suite]


def capped_table(name: str, max_rows: int | None, seed: int = 0) -> pd.DataFrame:
    """A bundled table, or a seeded random subset of `max_rows` rows of it (same for every model)."""
    from qedm.data import load_dataset

    table = load_dataset(name)
    if max_rows is not None and len(table) > max_rows:
        table = table.sample(n=max_rows, random_state=seed).reset_index(drop=True)
    return table


def run_suite(
    suite: str,
    models: Sequence[str],
    seeds: int | Sequence[int],
    out_dir: str | Path,
    *,
    tables: Sequence[str] | None = None,
    max_rows: int | None = None,
    epochs: int | None = None,
    sdv_epochs: int | None = None,
    qedm_options: dict[str, Any] | None = None,
    progress: bool = True,
    fresh: bool = False,
    benchmark=None,
) -> SuiteResult:
    """Benchmark `models` on every table of `suite` (or the named subset `tables`) and rank them.

    `benchmark` replaces qedm.benchmark.run_benchmark (tests).
    """
    from qedm.data import dataset_info
    from qedm.evaluate.tabsyn import tabsyn_metrics

    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 20):
        raise ConfigError(f"max_rows must be an integer >= 20, got {max_rows!r}")
    names = suite_tables(suite)
    if tables:
        unknown = [t for t in tables if t not in names]
        if unknown:
            raise ConfigError(f"tables {unknown} are not in suite {suite!r}: {', '.join(names)}")
        names = tuple(t for t in names if t in tables)
    if benchmark is None:
        from qedm.benchmark import run_benchmark as benchmark
    out_dir = Path(out_dir)
    frames = []
    for name in names:
        target = dataset_info(name).target
        evaluator = partial(_suite_evaluator, metric_fn=tabsyn_metrics)
        result = benchmark(capped_table(name, max_rows), models, seeds, out_dir / name, target=target,
                           epochs=epochs, sdv_epochs=sdv_epochs, qedm_options=qedm_options,
                           progress=progress, fresh=fresh, evaluator=evaluator)
        frames.append(result.results.assign(table=name))
    results = pd.concat(frames, ignore_index=True)
    results = results[["table"] + [c for c in results.columns if c != "table"]]
    summary = summarise_suite(results)
    ranking = rank_models(summary)
    atomic_write_csv(results, out_dir / SUITE_RESULTS)
    atomic_write_csv(pd.concat([summary, ranking.assign(table="(ranking)")], ignore_index=True),
                     out_dir / SUITE_SUMMARY_CSV)
    settings = {"suite": suite, "tables": list(names), "max_rows": max_rows, "epochs": epochs,
                "sdv_epochs": sdv_epochs, "qedm_options": qedm_options or {},
                "seeds": sorted(set(int(s) for s in results["seed"]))}
    atomic_write_text(out_dir / SUITE_SUMMARY_MD, suite_markdown(summary, ranking, settings))
    files = {n: out_dir / n for n in (SUITE_RESULTS, SUITE_SUMMARY_CSV, SUITE_SUMMARY_MD)}
    return SuiteResult(results, summary, ranking, out_dir, files)


def _suite_evaluator(holdout, synthetic, train, target, seed, metric_fn) -> dict[str, float]:
    return metric_fn(holdout, synthetic, train=train, target=target, seed=seed)


def summarise_suite(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof=1) of every shown metric over the successful seeds of each (table, model)."""
    ok = results[results["status"] == "ok"]
    records = []
    for (table, model), cells in results.groupby(["table", "model"], sort=False):
        good = ok[(ok["table"] == table) & (ok["model"] == model)]
        record: dict[str, Any] = {"table": table, "model": model, "n_ok": len(good),
                                  "n_failed": len(cells) - len(good)}
        for metric in SHOWN:
            record.update(mean_std_record(good, metric))
        records.append(record)
    return pd.DataFrame(records)


def rank_models(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean rank of each model (1 = best) per ranked metric over tables, and over everything.

    A model missing a metric on a table (failed cells) is ranked last there.
    """
    from qedm.evaluate.tabsyn import RANK_DIRECTIONS

    per_metric: dict[str, pd.Series] = {}
    for metric, direction in RANK_DIRECTIONS.items():
        column = f"{metric}_mean"
        if column not in summary:
            continue
        ranks = []
        for _, group in summary.groupby("table", sort=False):
            values = group.set_index("model")[column]
            if values.notna().sum() == 0:
                continue
            filled = (values * direction).fillna(-np.inf)  # higher = better after the sign
            ranks.append(filled.rank(ascending=False, method="average"))
        if ranks:
            per_metric[metric] = pd.concat(ranks, axis=1).mean(axis=1)
    frame = pd.DataFrame(per_metric)
    frame.insert(0, "mean_rank", frame.mean(axis=1))
    frame = frame.sort_values("mean_rank").reset_index().rename(columns={"index": "model"})
    return frame


QEDM_NAMES, SDV_NAMES = ("hybrid", "classical", "quantum"), ("gaussian_copula", "ctgan", "tvae")
VERDICT_METRICS = {"column_shape_error": "column shape", "pair_trend_error": "pair trend", "tstr_gbm": "utility"}


def verdict_lines(summary: pd.DataFrame) -> list[str]:
    """Per table and QEDM model: which SDV baselines it does not beat on shape, pair trend and utility.

    "Beat" compares means only (one seed has no spread); each line names the losses with both means.
    """
    from qedm.evaluate.tabsyn import RANK_DIRECTIONS

    lines = []
    for table, group in summary.groupby("table", sort=False):
        means = group.set_index("model")
        for ours in [m for m in QEDM_NAMES if m in means.index]:
            losses = []
            for metric, label in VERDICT_METRICS.items():
                sign = RANK_DIRECTIONS[metric]
                mine = means.loc[ours, f"{metric}_mean"]
                for base in [b for b in SDV_NAMES if b in means.index]:
                    theirs = means.loc[base, f"{metric}_mean"]
                    if not np.isfinite(mine) or (np.isfinite(theirs) and sign * (mine - theirs) <= 0):
                        losses.append(f"{label} vs {base} ({mine:.3f} vs {theirs:.3f})")
            bases = [b for b in SDV_NAMES if b in means.index]
            if bases:
                lines.append(f"{table}: {ours} " + (f"does not beat: {'; '.join(losses)}" if losses
                                                     else f"beats {', '.join(bases)} on shape, pair trend and utility"))
    return lines


def suite_markdown(summary: pd.DataFrame, ranking: pd.DataFrame, settings: dict[str, Any]) -> str:
    """suite_summary.md: settings, the ranking, and one table per dataset (mean ± std)."""
    from qedm.report.summary import format_mean_std

    lines = ["# Table suite", "", "Settings: `" + json.dumps(settings, default=str) + "`", "",
             "## Ranking (mean rank over tables; 1 = best)", "",
             "| model | " + " | ".join(ranking.columns[1:]) + " |",
             "|---|" + "---|" * (len(ranking.columns) - 1)]
    for row in ranking.itertuples(index=False):
        lines.append(f"| {row[0]} | " + " | ".join(f"{v:.2f}" for v in row[1:]) + " |")
    arrows = {"column_shape_error": "↓", "pair_trend_error": "↓", "alpha_precision": "↑", "beta_recall": "↑",
              "c2st_auc": "↓", "tstr_gbm": "↑", "trtr_gbm": "(real)", "fit_seconds": "↓",
              "dcr_share_closer_than_holdout_median": "(~0.5)"}
    for table, group in summary.groupby("table", sort=False):
        lines += ["", f"## {table}", "", "| model | ok/failed | " + " | ".join(f"{m} {arrows.get(m, '')}"
                                                                              for m in SHOWN) + " |",
                  "|---|---|" + "---|" * len(SHOWN)]
        for row in group.itertuples(index=False):
            record = row._asdict()
            cells = [format_mean_std(record[f"{m}_mean"], record[f"{m}_std"]) for m in SHOWN]
            lines.append(f"| {record['model']} | {record['n_ok']}/{record['n_failed']} | " + " | ".join(cells) + " |")
    verdicts = verdict_lines(summary)
    if verdicts:
        lines += ["", "## QEDM vs the SDV baselines (means; column shape, pair trend, utility)", ""]
        lines += [f"- {v}" for v in verdicts]
    lines += ["", "tstr_gbm / trtr_gbm: ROC AUC (class target) or R^2 (numeric target) of a gradient-boosting "
              "model trained on synthetic / real train rows, tested on the real holdout. "
              "Quantum circuits ran on a classical simulator."]
    return "\n".join(lines) + "\n"
