"""Datetime and timedelta columns as float seconds, and back.

A datetime becomes seconds since the Unix epoch in UTC (a naive datetime is read as UTC), a
timedelta its length in seconds; NaT becomes NaN. Decoding rounds to the coarsest resolution
that divided every training value ("resolution": day ... nanosecond), measured on the wall
clock of the column's time zone, so dates stored at local midnight come back at local midnight.
Float64 seconds carry about 0.25 microseconds near today's dates: nanoseconds do not survive.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from qedm.errors import DataError

NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
# Coarsest first: fitting picks the first that divides every training value.
RESOLUTION_NS = {
    "day": 86_400 * 10**9,
    "hour": 3_600 * 10**9,
    "minute": 60 * 10**9,
    "second": 10**9,
    "millisecond": 10**6,
    "microsecond": 10**3,
    "nanosecond": 1,
}
TEMPORAL_KINDS = ("datetime", "timedelta")


def temporal_kind(dtype) -> str | None:
    """"datetime" for datetime64 dtypes (naive or with a time zone), "timedelta" for timedelta64, else None."""
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    return None


def _index(values: pd.Series, name) -> pd.DatetimeIndex | pd.TimedeltaIndex:
    kind = temporal_kind(values.dtype)
    if kind == "datetime":
        return pd.DatetimeIndex(values)
    if kind == "timedelta":
        return pd.TimedeltaIndex(values)
    raise DataError(f"column '{name}' should hold datetimes or timedeltas but has type {values.dtype}")


def _wall_units(index: pd.DatetimeIndex | pd.TimedeltaIndex) -> np.ndarray:
    """int64 [N] counts of the index's unit on the local wall clock (NaT: the int64 minimum)."""
    if isinstance(index, pd.DatetimeIndex) and index.tz is not None:
        index = index.tz_localize(None)
    return index.asi8


def to_seconds(values: pd.Series) -> np.ndarray:
    """A datetime or timedelta column as float64 seconds [N]: since the epoch in UTC, or its length.

    NaT becomes NaN. Whole seconds and the fraction are converted apart so that large
    nanosecond counts lose no more than float64 must.
    """
    index = _index(values, values.name)
    per_second = 10**9 // NS_PER_UNIT[index.unit]
    units = index.asi8  # a time-zone-aware index counts in UTC
    whole, rest = np.divmod(units, per_second)
    seconds = whole.astype(np.float64) + rest.astype(np.float64) / per_second
    return np.where(index.isna(), np.nan, seconds)


def seconds_series(values: pd.Series) -> pd.Series:
    """`to_seconds` as a Series on the column's index (for code that treats dates as numbers)."""
    return pd.Series(to_seconds(values), index=values.index, name=values.name)


def timezone_name(values: pd.Series) -> str | None:
    """The time zone of a datetime column as a name pandas reads back ("Europe/Berlin", "UTC+01:00")."""
    tz = getattr(values.dtype, "tz", None)
    if tz is None:
        return None
    name = getattr(tz, "key", None) or getattr(tz, "zone", None) or str(tz)
    try:
        pd.DatetimeTZDtype("ns", name)
    except (TypeError, ValueError, KeyError) as exc:
        raise DataError(
            f"column '{values.name}' has the time zone {tz!r}, which cannot be saved by name; "
            "convert it first, e.g. col.dt.tz_convert('UTC') or to an IANA zone like 'Europe/Berlin'"
        ) from exc
    return name


def fit_temporal(values: pd.Series) -> dict:
    """What decoding needs besides min/max/quantiles: time zone, storage unit and resolution."""
    index = _index(values, values.name)
    units = _wall_units(index)[~index.isna()]
    unit_ns = NS_PER_UNIT[index.unit]
    resolution = next(
        name for name, ns in RESOLUTION_NS.items()
        if ns >= unit_ns and np.all(units % (ns // unit_ns) == 0)
    )
    return {"timezone": timezone_name(values), "unit": index.unit, "resolution": resolution}


def from_seconds(seconds: np.ndarray, spec: dict) -> pd.api.extensions.ExtensionArray:
    """Inverse of to_seconds: float seconds [N] (NaN = missing) -> values of the spec's dtype.

    Values are rounded to spec["resolution"] on the wall clock of spec["timezone"]; a rounded
    local time that a clock change skips moves forward, one it repeats is read as standard time.
    """
    unit = spec["unit"]
    per_second = 10**9 // NS_PER_UNIT[unit]
    missing = np.isnan(seconds)
    seconds = np.where(missing, 0.0, seconds)
    whole = np.floor(seconds)
    units = whole.astype(np.int64) * per_second + np.rint((seconds - whole) * per_second).astype(np.int64)
    step = max(RESOLUTION_NS[spec["resolution"]] // NS_PER_UNIT[unit], 1)
    if spec["kind"] == "timedelta":
        index = pd.TimedeltaIndex(_round_to(units, step).view(f"m8[{unit}]"))
        return index.where(~missing).array
    index = pd.DatetimeIndex(units.view(f"M8[{unit}]"))
    tz = spec["timezone"]
    if tz is None:
        index = pd.DatetimeIndex(_round_to(units, step).view(f"M8[{unit}]"))
    else:
        wall = index.tz_localize("UTC").tz_convert(tz).tz_localize(None)
        wall = pd.DatetimeIndex(_round_to(wall.asi8, step).view(f"M8[{unit}]"))
        index = wall.tz_localize(tz, ambiguous=np.zeros(len(wall), dtype=bool), nonexistent="shift_forward")
    return index.where(~missing).array


def _round_to(units: np.ndarray, step: int) -> np.ndarray:
    """int64 [N] rounded to the nearest multiple of step (halves up), in integers to stay exact."""
    if step == 1:
        return units
    return (units + step // 2) // step * step


def constant_to_json(value) -> str:
    """A Timestamp or Timedelta as ISO-8601 text (exact, with its UTC offset) for a JSON spec."""
    return value.isoformat()


def constant_from_json(value: str, n: int, spec: dict) -> pd.api.extensions.ExtensionArray:
    """n copies of a constant saved by constant_to_json, with the column's original dtype."""
    dtype = pd.api.types.pandas_dtype(spec["dtype"])
    if temporal_kind(dtype) == "timedelta":
        return pd.array(np.full(n, pd.Timedelta(value).to_timedelta64())).astype(dtype)
    return pd.Series(pd.Timestamp(value), index=range(n)).astype(dtype).array
