"""Statistical fidelity: SDMetrics' QualityReport (column shapes and column-pair trends).

Column shapes: KSComplement for numeric columns, TVComplement for categorical ones.
Pair trends: CorrelationSimilarity for numeric pairs, ContingencySimilarity for categorical
and mixed pairs (numeric columns binned). SDMetrics 0.32 averages pair trends only over
pairs whose real |correlation| (or Cramer's V) exceeds 0.5 (the others score NaN); we keep
that number for comparability with published SDV results and also score every pair (a
second run with the cut-off at 0): `column_pair_trends_all` and the `pairs` table, whose
column "In SDMetrics Score" marks the pairs the default counts. A generator that breaks
weak dependencies is otherwise not penalised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from qedm.evaluate.features import prepare_tables

SDTYPES = {"numeric": "numerical", "categorical": "categorical"}


@dataclass
class FidelityResult:
    """Overall SDMetrics quality score, its two properties, and per-column / per-pair tables."""

    overall: float
    column_shapes: float
    column_pair_trends: float
    column_pair_trends_all: float
    shapes: pd.DataFrame  # Column, Metric, Score
    pairs: pd.DataFrame  # Column 1, Column 2, Metric, Score, Real/Synthetic Correlation, ...

    def summary(self) -> dict[str, float]:
        return {
            "fidelity_overall": self.overall,
            "column_shapes": self.column_shapes,
            "column_pair_trends": self.column_pair_trends,
            "column_pair_trends_all": self.column_pair_trends_all,
        }


def sdmetrics_metadata(kinds: Mapping[str, str]) -> dict:
    """The single-table metadata dict SDMetrics expects, from our column kinds."""
    return {"columns": {col: {"sdtype": SDTYPES[kind]} for col, kind in kinds.items()}}


def _quality_report_class():
    with warnings.catch_warnings():
        # 0.32 warns that the single-table report moves; it is the one the brief pins.
        warnings.simplefilter("ignore", FutureWarning)
        from sdmetrics.reports.single_table import QualityReport
    return QualityReport


def _generate(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict, threshold: float | None):
    """One QualityReport run; `threshold` overrides the real-correlation/association cut-off."""
    report = _quality_report_class()()
    if threshold is not None:
        report.real_correlation_threshold = threshold
        report.real_association_threshold = threshold
    with warnings.catch_warnings():
        # Constant columns make correlations undefined; SDMetrics warns and scores them NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        report.generate(real, synthetic, metadata, verbose=False)
    return report


def fidelity_scores(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    column_kinds: Mapping[str, str] | None = None,
) -> FidelityResult:
    """Run SDMetrics' QualityReport on real vs synthetic and return scores in [0, 1] (1 = same)."""
    tables, kinds = prepare_tables({"real": real, "synthetic": synthetic}, column_kinds)
    real_c, syn_c = tables["real"], tables["synthetic"]
    metadata = sdmetrics_metadata(kinds)
    report = _generate(real_c, syn_c, metadata, threshold=None)  # SDMetrics defaults (0.5)
    every_pair = _generate(real_c, syn_c, metadata, threshold=0.0)  # every pair scored
    props = report.get_properties().set_index("Property")["Score"]
    shapes = report.get_details("Column Shapes").reset_index(drop=True)
    pairs = every_pair.get_details("Column Pair Trends").reset_index(drop=True)
    pairs = pairs.drop(columns=["Meets Threshold?"], errors="ignore")
    if len(pairs):
        default_pairs = report.get_details("Column Pair Trends").reset_index(drop=True)
        pairs["In SDMetrics Score"] = default_pairs["Score"].notna().to_numpy()
    all_pairs = float(pairs["Score"].mean()) if len(pairs) and pairs["Score"].notna().any() else float("nan")
    return FidelityResult(
        overall=float(report.get_score()),
        column_shapes=float(props.get("Column Shapes", np.nan)),
        column_pair_trends=float(props.get("Column Pair Trends", np.nan)),
        column_pair_trends_all=all_pairs,
        shapes=shapes,
        pairs=pairs,
    )
