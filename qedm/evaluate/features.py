"""Shared input handling for every metric: validation, column kinds, and the numeric encoding.

Every metric sees the same canonical tables (numeric columns as float64, categorical columns
as strings) so that "0", 0 and 0.0 are one category, and the same encoding for distances and
classifiers: numeric columns standardised on the reference table, categories one-hot.
Datetime and timedelta columns are numeric, as float seconds (qedm.data.temporal.to_seconds).
"""

from __future__ import annotations

from typing import Literal, Mapping

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from qedm.data.temporal import seconds_series, temporal_kind
from qedm.errors import ConfigError, DataError

ColumnKind = Literal["numeric", "categorical"]
COLUMN_KINDS = ("numeric", "categorical")
# Integer columns with at most this many distinct values count as categorical (codes, flags).
MAX_INT_CATEGORIES = 10
MISSING = "<missing>"


def infer_column_kinds(frame: pd.DataFrame, max_int_categories: int = MAX_INT_CATEGORIES) -> dict[str, ColumnKind]:
    """Guess each column's kind: object/category/bool or low-cardinality ints are categorical.

    Datetime and timedelta columns are numeric (compared as seconds).
    """
    kinds: dict[str, ColumnKind] = {}
    for name in frame.columns:
        col = frame[name]
        if temporal_kind(col.dtype) is not None:
            kinds[name] = "numeric"
        elif pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            kinds[name] = "categorical"
        elif pd.api.types.is_integer_dtype(col) and col.nunique(dropna=True) <= max_int_categories:
            kinds[name] = "categorical"
        else:
            kinds[name] = "numeric"
    return kinds


def _check_columns(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """Raise DataError unless all frames are non-empty DataFrames with the same column set."""
    names = list(frames)
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"'{name}' must be a pandas DataFrame, got {type(frame).__name__}")
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            raise DataError(f"'{name}' is empty (shape {frame.shape}); it needs rows and columns")
        if frame.columns.duplicated().any():
            dup = list(frame.columns[frame.columns.duplicated()])
            raise DataError(f"'{name}' has duplicated column names: {dup}")
    reference = list(frames[names[0]].columns)
    for name in names[1:]:
        cols = set(frames[name].columns)
        missing = [c for c in reference if c not in cols]
        extra = [c for c in frames[name].columns if c not in set(reference)]
        if missing or extra:
            raise DataError(
                f"'{name}' does not have the same columns as '{names[0]}': "
                f"missing {missing}, unexpected {extra}"
            )
    return reference


def _category_label(value) -> str:
    """One string per category: True -> 'True', 1 / 1.0 / '1' -> '1', NaN -> MISSING."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _canonical(frame: pd.DataFrame, kinds: Mapping[str, ColumnKind], name: str) -> pd.DataFrame:
    """Cast numeric columns to float64 (datetimes: seconds) and categorical columns to canonical strings."""
    out = {}
    for col, kind in kinds.items():
        series = frame[col]
        if kind == "numeric" and temporal_kind(series.dtype) is not None:
            out[col] = seconds_series(series)
        elif kind == "numeric":
            if pd.api.types.is_bool_dtype(series):
                series = series.astype(float)
            try:
                out[col] = pd.to_numeric(series, errors="raise").astype("float64")
            except (ValueError, TypeError) as exc:
                raise DataError(
                    f"column '{col}' of '{name}' is numeric but holds non-numeric values ({exc}); "
                    f"pass column_kinds={{'{col}': 'categorical'}} if it is a category"
                ) from exc
        else:
            values = series.astype(object)
            missing = values.isna()
            # Label each distinct value once: tables can be long, categories are few.
            labels = {v: _category_label(v) for v in pd.unique(values[~missing])}
            out[col] = values.where(missing, values.map(labels)).where(~missing, MISSING)
    return pd.DataFrame(out, index=frame.index)


def kinds_from_metadata(column_kinds: Mapping | None) -> dict[str, str]:
    """Accept {col: "numeric"|"categorical"} or SDV/SDMetrics metadata {"columns": {col: {"sdtype": ...}}}."""
    if not column_kinds:
        return {}
    columns = column_kinds.get("columns")
    if not isinstance(columns, Mapping):
        return dict(column_kinds)
    kinds = {}
    for col, meta in columns.items():
        sdtype = meta.get("sdtype") if isinstance(meta, Mapping) else None
        if sdtype is None:
            raise ConfigError(f"metadata for column '{col}' has no 'sdtype'")
        kinds[col] = "numeric" if sdtype in ("numerical", "datetime") else "categorical"
    return kinds


def prepare_tables(
    frames: Mapping[str, pd.DataFrame],
    column_kinds: Mapping[str, str] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, ColumnKind]]:
    """Validate named frames (same columns, non-empty) and return canonical copies and kinds.

    Kinds not given in `column_kinds` (or SDV-style metadata) are inferred from the first
    frame (the real data).
    """
    columns = _check_columns(frames)
    first = frames[next(iter(frames))]
    column_kinds = kinds_from_metadata(column_kinds)
    unknown = [c for c in column_kinds if c not in columns]
    if unknown:
        raise ConfigError(f"column_kinds names columns not in the data: {unknown}")
    bad = {c: k for c, k in column_kinds.items() if k not in COLUMN_KINDS}
    if bad:
        raise ConfigError(f"column_kinds values must be one of {COLUMN_KINDS}, got {bad}")
    inferred = infer_column_kinds(first)
    kinds: dict[str, ColumnKind] = {c: column_kinds.get(c, inferred[c]) for c in columns}
    tables = {name: _canonical(frame[columns], kinds, name) for name, frame in frames.items()}
    return tables, kinds


def make_encoder(kinds: Mapping[str, ColumnKind]) -> ColumnTransformer:
    """Unfitted encoder: numeric -> median-imputed, standardised; categorical -> one-hot."""
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def encode_tables(
    reference: pd.DataFrame, *others: pd.DataFrame, kinds: Mapping[str, ColumnKind]
) -> list[np.ndarray]:
    """Encode canonical tables as float arrays [N_i, D]: scaling fitted on `reference`.

    Categories are taken from all tables together so that a category only one table has still
    gets its own column (and so counts as a difference in distances).
    """
    encoder = make_encoder(kinds)
    cat_cols = [c for c, k in kinds.items() if k == "categorical"]
    if cat_cols:
        pooled = pd.concat([reference, *others], axis=0, ignore_index=True)
        cats = [sorted(pooled[c].unique()) for c in cat_cols]
        encoder.set_params(cat__categories=cats)
    encoder.fit(reference)
    return [np.asarray(encoder.transform(t), dtype=np.float64) for t in (reference, *others)]


def subsample(frame: pd.DataFrame, max_rows: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """At most `max_rows` rows drawn without replacement (all rows, unshuffled, if fewer)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    idx = rng.choice(len(frame), size=max_rows, replace=False)
    return frame.iloc[np.sort(idx)]
