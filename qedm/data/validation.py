"""Checks on an input table before it is fitted: each problem raises DataError naming the column."""
from __future__ import annotations

import datetime
import numbers

import numpy as np
import pandas as pd

from qedm.data.temporal import TEMPORAL_KINDS, temporal_kind
from qedm.errors import DataError

COLUMN_KINDS = ("numeric", "integer", "categorical", *TEMPORAL_KINDS, "smiles")

# Scalar types a categorical (object) column may hold; anything else (lists, dicts, bytes,
# timestamps) has no reversible one-hot meaning here.
_SCALAR_TYPES = (str, bool, np.bool_, numbers.Integral, numbers.Real)
_TEMPORAL_OBJECTS = (datetime.date, datetime.time, datetime.timedelta, np.datetime64, np.timedelta64)


def validate_table(df: object, min_rows: int = 10) -> pd.DataFrame:
    """Return `df` if it is a usable table, else raise DataError saying what is wrong and where."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise DataError("the table is empty: it has no columns")
    if df.shape[0] == 0:
        raise DataError("the table is empty: it has no rows")
    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        raise DataError(f"duplicated column names: {dup}; rename them so each is unique")
    for name in df.columns:
        if isinstance(name, bool) or not isinstance(name, (str, numbers.Integral)):
            raise DataError(f"column name {name!r} is not a string; rename the columns to strings")
    if df.shape[0] < min_rows:
        raise DataError(
            f"the table has {df.shape[0]} rows, fewer than the {min_rows} needed (min_rows)"
        )
    for name in df.columns:
        validate_column(df[name])
    return df


def validate_column(col: pd.Series) -> None:
    """Raise DataError if a column is all missing or of a type the transform cannot reverse."""
    name = col.name
    dtype = col.dtype
    if col.isna().all():
        raise DataError(f"column '{name}' is all missing; drop it before fitting")
    if isinstance(dtype, pd.PeriodDtype):
        raise DataError(
            f"column '{name}' has unsupported type {dtype} (periods); convert it to datetimes "
            "with col.dt.to_timestamp() or drop it"
        )
    if isinstance(dtype, pd.IntervalDtype):
        raise DataError(
            f"column '{name}' has unsupported type {dtype} (intervals); split it into two "
            "numeric columns (col.array.left, col.array.right) or drop it"
        )
    if pd.api.types.is_complex_dtype(dtype):
        raise DataError(
            f"column '{name}' has unsupported type {dtype} (complex numbers); split it into "
            "real and imaginary columns or drop it"
        )
    if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        values = col.dropna()
        if isinstance(dtype, pd.CategoricalDtype):
            values = pd.Series(dtype.categories)
        bad = [v for v in values.tolist() if not isinstance(v, _SCALAR_TYPES)]
        if bad and isinstance(bad[0], _TEMPORAL_OBJECTS):
            raise DataError(
                f"column '{name}' holds dates or times as Python objects (e.g. {bad[0]!r}); convert "
                "it with pandas.to_datetime (utc=True for mixed time zones) or pandas.to_timedelta"
            )
        if bad:
            raise DataError(
                f"column '{name}' holds unsupported values of type {type(bad[0]).__name__} "
                f"(e.g. {bad[0]!r}); only strings, numbers and booleans can be modelled"
            )


def validate_column_kinds(df: pd.DataFrame, column_kinds: dict | None) -> dict:
    """Check a {column: kind} override against the table; unknown names or kinds raise DataError."""
    if not column_kinds:
        return {}
    for name, kind in column_kinds.items():
        if name not in df.columns:
            raise DataError(
                f"column_kinds names column '{name}', which is not in the table "
                f"(columns: {list(df.columns)})"
            )
        if kind not in COLUMN_KINDS:
            raise DataError(
                f"column_kinds['{name}'] = {kind!r} is not one of {list(COLUMN_KINDS)}"
            )
        dtype = df[name].dtype
        actual = temporal_kind(dtype)
        if kind in TEMPORAL_KINDS and actual != kind:
            raise DataError(
                f"column '{name}' cannot be treated as {kind}: its type is {dtype}; convert it "
                f"with pandas.to_{kind} first"
            )
        if actual is not None and kind != actual:
            raise DataError(
                f"column '{name}' holds {actual}s (type {dtype}) and can only be modelled as "
                f"'{actual}', not {kind!r}; convert it yourself first (e.g. col.astype(str) "
                "for categories) or drop the override"
            )
        if kind == "smiles" and not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
            raise DataError(f"column '{name}' cannot be treated as smiles: its type is {dtype}, not text")
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if kind in ("numeric", "integer") and not numeric:
            raise DataError(
                f"column '{name}' cannot be treated as {kind}: its type is {dtype}, not a number "
                "type; convert it with pandas.to_numeric first or leave it categorical"
            )
    return dict(column_kinds)
