"""The one metrics entry point: `evaluate(real, synthetic, ...)` -> EvaluationResult."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from qedm.errors import ConfigError, DataError
from qedm.evaluate.detection import DetectionResult, c2st_auc
from qedm.evaluate.diversity import DiversityResult, diversity_scores
from qedm.evaluate.features import ColumnKind, prepare_tables
from qedm.evaluate.fidelity import FidelityResult, fidelity_scores
from qedm.evaluate.mmd import MMDResult, mmd_scores
from qedm.evaluate.privacy import PrivacyResult, privacy_scores
from qedm.evaluate.utility import UtilityResult, tstr_utility

METRICS = ("fidelity", "detection", "utility", "diversity", "privacy", "mmd")


@dataclass
class EvaluationResult:
    """Every metric's result (None when not run), notes on skipped parts, and seconds per metric."""

    column_kinds: dict[str, ColumnKind]
    n_real: int
    n_synthetic: int
    n_train: int | None = None
    fidelity: FidelityResult | None = None
    detection: DetectionResult | None = None
    utility: UtilityResult | None = None
    diversity: DiversityResult | None = None
    privacy: PrivacyResult | None = None
    mmd: MMDResult | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, float | None]:
        """Flat {name: number} of every computed score; None where a score could not be computed."""
        out: dict[str, Any] = {"n_real": float(self.n_real), "n_synthetic": float(self.n_synthetic)}
        if self.n_train is not None:
            out["n_train"] = float(self.n_train)
        for name in METRICS:
            part = getattr(self, name)
            if part is not None:
                out.update(part.summary())
        return {k: _clean(v) for k, v in out.items()}

    def tables(self) -> dict[str, pd.DataFrame]:
        """The detail tables: per-column shapes, per-pair trends, detectors, utility scores."""
        out = {}
        if self.fidelity is not None:
            out["column_shapes"] = self.fidelity.shapes
            out["column_pairs"] = self.fidelity.pairs
        if self.detection is not None:
            out["detection"] = self.detection.per_model
        if self.utility is not None and self.utility.status == "ok":
            out["utility"] = self.utility.scores
        return out

    def to_dict(self) -> dict:
        """Summary, notes, timings, flags and detail tables as plain JSON-able values."""
        out: dict[str, Any] = {
            "summary": self.summary(),
            "column_kinds": dict(self.column_kinds),
            "notes": list(self.notes),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "tables": {name: json.loads(t.to_json(orient="records")) for name, t in self.tables().items()},
        }
        if self.utility is not None:
            out["utility"] = {"target": self.utility.target, "task": self.utility.task,
                              "status": self.utility.status, "reason": self.utility.reason}
        if self.privacy is not None:
            out["privacy"] = {"flagged": self.privacy.flagged, "reasons": self.privacy.reasons,
                              "exact_copy_indices": [_json_label(i) for i in self.privacy.exact_copy_indices]}
        if self.detection is not None:
            out["detection"] = {"best_model": self.detection.best_model}
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON (NaN written as null)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def _clean(value):
    """numpy scalars -> Python; NaN/inf -> None, so the output is strict JSON."""
    if isinstance(value, (np.bool_, bool)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def _json_label(label):
    """An index label as JSON: numbers and strings as they are, anything else as its string."""
    label = _clean(label)
    return label if isinstance(label, (int, float, str)) or label is None else str(label)


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    train: pd.DataFrame | None = None,
    target: str | None = None,
    column_kinds: Mapping[str, str] | None = None,
    seed: int = 0,
    metrics: Sequence[str] = METRICS,
) -> EvaluationResult:
    """Score `synthetic` against `real` (held-out real rows; `train` = the rows the model saw).

    privacy needs `train`; utility needs `target` (both are skipped with a note otherwise).
    `column_kinds`: {column: "numeric" | "categorical"} or SDV-style metadata; the rest inferred.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"unknown metrics {unknown}; choose from {METRICS}")
    frames = {"real": real, "synthetic": synthetic}
    if train is not None:
        frames["train"] = train
    _, kinds = prepare_tables(frames, column_kinds)  # validates once, names the bad argument
    if target is not None and target not in kinds:
        raise DataError(f"target column '{target}' is not in the data; columns: {list(kinds)}")
    result = EvaluationResult(column_kinds=kinds, n_real=len(real), n_synthetic=len(synthetic),
                              n_train=None if train is None else len(train))
    for name in metrics:
        if name == "utility" and target is None:
            result.notes.append("utility skipped: pass target=<column> to run TSTR/TRTR")
            continue
        if name == "privacy" and train is None:
            result.notes.append("privacy skipped: pass train=<the rows the generator was fitted on>")
            continue
        start = time.perf_counter()
        if name == "fidelity":
            result.fidelity = fidelity_scores(real, synthetic, kinds)
        elif name == "detection":
            result.detection = c2st_auc(real, synthetic, kinds, seed=seed)
        elif name == "utility":
            result.utility = tstr_utility(real, synthetic, target, train=train, column_kinds=kinds, seed=seed)
            result.notes.extend(f"utility: {n}" for n in result.utility.notes)
            if result.utility.status != "ok":
                result.notes.append(f"utility failed: {result.utility.reason}")
        elif name == "diversity":
            result.diversity = diversity_scores(real, synthetic, kinds, seed=seed)
        elif name == "privacy":
            result.privacy = privacy_scores(train, real, synthetic, kinds, seed=seed)
            if result.privacy.flagged:
                result.notes.extend(f"privacy flagged: {r}" for r in result.privacy.reasons)
        elif name == "mmd":
            result.mmd = mmd_scores(real, synthetic, kinds, seed=seed)
        result.seconds[name] = time.perf_counter() - start
    return result
