"""Reversible table transform: a DataFrame of mixed columns <-> a float32 matrix for diffusion.

Numeric columns go through a quantile-to-normal map (so each output is ~N(0, 1)); categorical
columns become one-hot blocks in {-1, +1} ("analog bits": same scale as the numeric outputs and
symmetric around 0, which suits a Gaussian diffusion that starts from N(0, I)); decoding takes
the argmax, so any real-valued block maps back to a valid category. A column with missing values
gets one extra indicator output (+1 missing, -1 present); categorical missing values are their
own category instead. Datetime and timedelta columns are encoded like numeric ones, as float
seconds (see qedm.data.temporal), and decoded rounded to the resolution of the training values.
Constant columns produce no output and are restored from the stored value.
A column given the kind "smiles" holds molecules: a fixed-length SELFIES token sequence, one
{-1, +1} one-hot block per position (qedm.science.molecules; decoded by argmax, always a valid
molecule, written back as canonical SMILES).
The fitted state is plain JSON (`to_dict` / `from_dict`), never pickle.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from qedm.data.temporal import (
    TEMPORAL_KINDS,
    constant_from_json,
    constant_to_json,
    fit_temporal,
    from_seconds,
    temporal_kind,
    to_seconds,
)
from qedm.data.validation import validate_column_kinds, validate_table
from qedm.errors import DataError

_EPS = 1e-7  # u is clipped to [eps, 1 - eps] before ndtri, so outputs stay within about +-5.2
_SNAP = 2.5e-7  # decoded u this close to a knot is snapped onto it (see quantile_normal_inverse)


@dataclass(frozen=True)
class OutputBlock:
    """Output columns [start, stop) of the matrix that belong to input `column` in `role`.

    role: "value" (one numeric output), "one_hot" (categorical block) or "missing" (indicator).
    """

    column: str
    kind: str
    role: str
    start: int
    stop: int


def quantile_normal_fit(x: np.ndarray, n_quantiles: int) -> np.ndarray:
    """Knots of the empirical CDF of x: [n] at evenly spaced probabilities (the sorted data if n is small)."""
    if x.size <= n_quantiles:
        return np.sort(x) if x.size > 1 else np.repeat(x, 2)
    return np.quantile(x, np.linspace(0.0, 1.0, n_quantiles))


def quantile_normal_transform(x: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Map x: [n] to ~N(0, 1) through the empirical CDF (interpolated) and the normal quantile."""
    refs = np.linspace(0.0, 1.0, quantiles.size)
    # Average of forward and backward interpolation puts tied values in the middle of their
    # flat stretch, so inverse interpolation lands exactly on the tied value again.
    u = 0.5 * (np.interp(x, quantiles, refs) - np.interp(-x, -quantiles[::-1], -refs[::-1]))
    return ndtri(np.clip(u, _EPS, 1.0 - _EPS))


def quantile_normal_inverse(z: np.ndarray, quantiles: np.ndarray, knots_are_data: bool) -> np.ndarray:
    """Inverse of quantile_normal_transform: z: [n] -> values on the original scale.

    A float32 z carries u only to about 1e-8, and where knots are far apart (wide integer
    ranges) that can miss a value by more than 0.5. So u within _SNAP of a knot snaps onto it:
    every knot when the knots are the data themselves (n <= n_quantiles; this moves at most
    2 * _SNAP * n_knots of probability mass), else only the two end knots (min and max).
    """
    refs = np.linspace(0.0, 1.0, quantiles.size)
    u = ndtr(z)
    x = np.interp(u, refs, quantiles)
    nearest = np.clip(np.rint(u * (quantiles.size - 1)).astype(np.int64), 0, quantiles.size - 1)
    close = np.abs(u - refs[nearest]) < _SNAP
    if not knots_are_data:
        close &= (nearest == 0) | (nearest == quantiles.size - 1)
    return np.where(close, quantiles[nearest], x)


def _typed(v) -> tuple:
    """(type, value) key that keeps 1, 1.0 and True apart."""
    v = _to_json_scalar(v)
    return type(v), v


def _distinct(values: pd.Series) -> list:
    """Distinct non-missing values as JSON scalars, sorted when their types allow it."""
    if values.dtype == object:  # may mix types: dedupe on (type, value) so True != 1
        cats = [v for _, v in dict.fromkeys(_typed(v) for v in values.tolist())]
    else:
        cats = [_to_json_scalar(v) for v in pd.unique(values.to_numpy())]
    try:
        return sorted(cats)
    except TypeError:  # mixed types (e.g. str and int) keep first-seen order
        return cats


def _to_json_scalar(v):
    """A numpy or Python scalar as a plain JSON value (a Timestamp or Timedelta as ISO text)."""
    if isinstance(v, (pd.Timestamp, pd.Timedelta)):
        return constant_to_json(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


class TableTransformer:
    """Fit on a DataFrame, then transform it to float32 [N, output_dim] and back.

    column_kinds overrides the detected kind per column ("numeric" | "integer" | "categorical";
    "datetime" | "timedelta" only for columns of those types, which are always detected as such).
    Integer-valued columns with at most `categorical_threshold` distinct values are categorical;
    strings, bools and pandas categories always are. `n_quantiles` knots are kept per numeric
    column; `max_categories` guards against identifier columns exploding the one-hot width.
    """

    def __init__(
        self,
        column_kinds: dict[str, str] | None = None,
        categorical_threshold: int = 10,
        n_quantiles: int = 1000,
        min_rows: int = 10,
        max_categories: int = 500,
    ):
        self.column_kinds = dict(column_kinds or {})
        self.categorical_threshold = categorical_threshold
        self.n_quantiles = n_quantiles
        self.min_rows = min_rows
        self.max_categories = max_categories
        self.columns_: list[dict] | None = None

    # ----- fitting -------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame) -> "TableTransformer":
        """Learn each column's kind, bounds, quantiles and categories from df."""
        validate_table(df, self.min_rows)
        kinds = validate_column_kinds(df, self.column_kinds)
        self.columns_ = [self._fit_column(df[name], kinds.get(name)) for name in df.columns]
        return self

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        """fit(df), then transform(df): float32 [N, output_dim]."""
        return self.fit(df).transform(df)

    def _detect_kind(self, col: pd.Series) -> str:
        dtype = col.dtype
        temporal = temporal_kind(dtype)
        if temporal is not None:
            return temporal
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            return "categorical"
        values = col.dropna().to_numpy(dtype=np.float64)
        if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            return "categorical" if np.unique(values).size <= self.categorical_threshold else "integer"
        return "numeric"

    def _fit_column(self, col: pd.Series, kind: str | None) -> dict:
        name = _to_json_scalar(col.name)
        dtype = col.dtype
        spec: dict = {"name": name, "dtype": str(dtype), "missing": bool(col.isna().any())}
        nonnull = col.dropna()
        if not spec["missing"] and nonnull.nunique() == 1 and kind != "smiles":
            spec.update(kind="constant", value=_to_json_scalar(nonnull.iloc[0]))
            if isinstance(dtype, pd.CategoricalDtype):
                spec["categories"] = [_to_json_scalar(c) for c in dtype.categories]
                spec["ordered"] = bool(dtype.ordered)
            return spec
        kind = kind or self._detect_kind(col)
        spec["kind"] = kind
        if kind == "smiles":
            from qedm.science.molecules import SelfiesCodec

            if spec["missing"]:
                raise DataError(f"column '{name}' (smiles) has missing values; drop those rows first")
            spec["codec"] = SelfiesCodec.fit(nonnull.tolist(), column=str(name)).to_dict()
            return spec
        if kind == "categorical":
            if isinstance(dtype, pd.CategoricalDtype):
                spec["dtype_categories"] = [_to_json_scalar(c) for c in dtype.categories]
                spec["ordered"] = bool(dtype.ordered)
            cats = _distinct(nonnull)
            if len(cats) > self.max_categories:
                raise DataError(
                    f"column '{name}' has {len(cats)} distinct values, more than max_categories="
                    f"{self.max_categories}; it looks like an identifier: drop it or raise the limit"
                )
            spec["categories"] = [_to_json_scalar(c) for c in cats]
            return spec
        if kind in TEMPORAL_KINDS:
            spec.update(fit_temporal(col))
            x = to_seconds(nonnull)
        else:
            x = nonnull.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise DataError(f"column '{name}' holds infinite values; replace them or drop the rows")
        q = quantile_normal_fit(x, self.n_quantiles)
        spec.update(min=float(x.min()), max=float(x.max()), quantiles=q.tolist(),
                    knots_are_data=bool(x.size <= self.n_quantiles))
        return spec

    # ----- layout --------------------------------------------------------------------------
    def _check_fitted(self) -> list[dict]:
        if self.columns_ is None:
            raise DataError("the TableTransformer is not fitted: call fit(df) first")
        return self.columns_

    @property
    def output_info(self) -> list[OutputBlock]:
        """Which output columns belong to which input column, in output order."""
        blocks, start = [], 0
        for spec in self._check_fitted():
            kind = spec["kind"]
            if kind == "constant":
                continue
            if kind == "smiles":
                width = len(spec["codec"]["vocabulary"]) * spec["codec"]["max_tokens"]
                blocks.append(OutputBlock(spec["name"], kind, "tokens", start, start + width))
                start += width
                continue
            if kind == "categorical":
                width = len(spec["categories"]) + int(spec["missing"])
                blocks.append(OutputBlock(spec["name"], kind, "one_hot", start, start + width))
                start += width
                continue
            blocks.append(OutputBlock(spec["name"], kind, "value", start, start + 1))
            start += 1
            if spec["missing"]:
                blocks.append(OutputBlock(spec["name"], kind, "missing", start, start + 1))
                start += 1
        return blocks

    @property
    def output_dim(self) -> int:
        """Width d of the transformed matrix."""
        info = self.output_info
        return info[-1].stop if info else 0

    @property
    def column_names(self) -> list:
        """Input columns in their fitted order."""
        return [spec["name"] for spec in self._check_fitted()]

    def kind_summary(self) -> str:
        """Column kinds as counts, e.g. "30 numeric, 1 categorical"."""
        kinds = [spec["kind"] for spec in self._check_fitted()]
        order = ("numeric", "integer", *TEMPORAL_KINDS, "categorical", "smiles", "constant")
        return ", ".join(f"{kinds.count(k)} {k}" for k in order if k in kinds)

    # ----- transform -----------------------------------------------------------------------
    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode df (same columns as fitted) to float32 [N, output_dim]."""
        specs = self._check_fitted()
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, got {type(df).__name__}")
        missing_cols = [s["name"] for s in specs if s["name"] not in df.columns]
        if missing_cols:
            raise DataError(f"the table lacks the fitted columns {missing_cols}")
        out = np.full((len(df), self.output_dim), -1.0, dtype=np.float32)
        for spec, block in zip(self._specs_with_output(), self._grouped_blocks()):
            col = df[spec["name"]]
            if spec["kind"] == "categorical":
                self._encode_categorical(col, spec, out[:, block[0].start : block[0].stop])
                continue
            if spec["kind"] == "smiles":
                _encode_smiles(col, spec, out[:, block[0].start : block[0].stop])
                continue
            x = _numbers(col, spec)
            isna = np.isnan(x)
            z = quantile_normal_transform(np.where(isna, spec["min"], x), np.asarray(spec["quantiles"]))
            out[:, block[0].start] = np.where(isna, 0.0, z)
            if spec["missing"]:
                out[:, block[1].start] = np.where(isna, 1.0, -1.0)
        return out

    def _specs_with_output(self) -> list[dict]:
        return [s for s in self._check_fitted() if s["kind"] != "constant"]

    def _grouped_blocks(self) -> list[list[OutputBlock]]:
        groups: list[list[OutputBlock]] = []
        for block in self.output_info:
            if groups and groups[-1][0].column == block.column:
                groups[-1].append(block)
            else:
                groups.append([block])
        return groups

    @staticmethod
    def _encode_categorical(col: pd.Series, spec: dict, out: np.ndarray) -> None:
        """Write the {-1, +1} one-hot of col into out: [N, K]; unseen values stay all -1."""
        cats = list(spec["categories"])
        values = col.astype(object).to_numpy()
        if cats and all(type(c) is type(cats[0]) for c in cats):
            codes = pd.Categorical(values, categories=cats).codes
        else:  # mixed Python types: pandas would conflate 1 and True, so look up (type, value)
            lookup = {(type(c), c): i for i, c in enumerate(cats)}
            codes = np.array([lookup.get(_typed(v), -1) for v in values], dtype=np.int64)
        codes = np.asarray(codes, dtype=np.int64)
        if spec["missing"]:
            codes = np.where(pd.isna(col).to_numpy(), len(cats), codes)
        rows = np.nonzero(codes >= 0)[0]
        out[rows, codes[rows]] = 1.0

    # ----- inverse -------------------------------------------------------------------------
    def inverse_transform(self, arr: np.ndarray) -> pd.DataFrame:
        """Decode [N, output_dim] back to a DataFrame with the fitted columns, order and dtypes."""
        specs = self._check_fitted()
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.output_dim:
            raise DataError(
                f"expected an array of shape [N, {self.output_dim}], got {list(arr.shape)}"
            )
        if not np.all(np.isfinite(arr)):
            raise DataError("the array to decode contains NaN or infinite values (did the model diverge?)")
        n = arr.shape[0]
        decoded = {}
        blocks = dict(zip([s["name"] for s in self._specs_with_output()], self._grouped_blocks()))
        for spec in specs:
            name = spec["name"]
            if spec["kind"] == "constant":
                decoded[name] = _restore_dtype(np.full(n, spec["value"], dtype=object), spec)
            elif spec["kind"] == "smiles":
                b = blocks[name][0]
                decoded[name] = _decode_smiles(arr[:, b.start : b.stop], spec)
            elif spec["kind"] == "categorical":
                b = blocks[name][0]
                codes = np.argmax(arr[:, b.start : b.stop], axis=1)
                table = np.array(list(spec["categories"]) + [np.nan], dtype=object)
                decoded[name] = _restore_dtype(table[codes], spec)
            else:
                b = blocks[name]
                x = quantile_normal_inverse(arr[:, b[0].start], np.asarray(spec["quantiles"]),
                                            spec["knots_are_data"])
                x = np.clip(x, spec["min"], spec["max"])
                if spec["kind"] == "integer":
                    x = np.round(x)  # datetimes and timedeltas round in _restore_dtype
                if spec["missing"]:
                    x = np.where(arr[:, b[1].start] > 0.0, np.nan, x)
                decoded[name] = _restore_dtype(x, spec)
        return pd.DataFrame(decoded, columns=[s["name"] for s in specs])

    # ----- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-able state: parameters plus each fitted column's spec."""
        return {
            "format": "qedm.TableTransformer/1",
            "params": {
                "column_kinds": self.column_kinds,
                "categorical_threshold": self.categorical_threshold,
                "n_quantiles": self.n_quantiles,
                "min_rows": self.min_rows,
                "max_categories": self.max_categories,
            },
            "columns": [dict(s) for s in self._check_fitted()],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TableTransformer":
        """Rebuild a fitted transformer from to_dict() output (e.g. after json.loads)."""
        if not isinstance(d, dict) or d.get("format") != "qedm.TableTransformer/1":
            raise DataError("not a saved TableTransformer (missing format 'qedm.TableTransformer/1')")
        obj = cls(**d["params"])
        obj.columns_ = [dict(s) for s in d["columns"]]
        return obj


def _encode_smiles(col: pd.Series, spec: dict, out: np.ndarray) -> None:
    """Write the per-position {-1, +1} one-hot of each molecule's SELFIES tokens into out: [N, L * V]."""
    from qedm.science.molecules import SelfiesCodec

    codec = SelfiesCodec.from_dict(spec["codec"])
    tokens = codec.encode(col.tolist(), column=str(spec["name"]))  # [N, L]
    view = out.reshape(len(col), codec.max_tokens, codec.size)
    rows, positions = np.indices(tokens.shape)
    view[rows, positions, tokens] = 1.0


def _decode_smiles(block: np.ndarray, spec: dict) -> np.ndarray:
    """Canonical SMILES [N] (object) from the token blocks [N, L * V]: argmax at each position."""
    from qedm.science.molecules import SelfiesCodec

    codec = SelfiesCodec.from_dict(spec["codec"])
    tokens = block.reshape(len(block), codec.max_tokens, codec.size).argmax(axis=2)
    return np.asarray(codec.decode(tokens), dtype=object)


def _numbers(col: pd.Series, spec: dict) -> np.ndarray:
    """The float64 values [N] (NaN = missing) of a column fitted as numeric, integer or temporal."""
    if spec["kind"] in TEMPORAL_KINDS:
        if temporal_kind(col.dtype) != spec["kind"]:
            raise DataError(f"column '{spec['name']}' was fitted as {spec['kind']} but has type "
                            f"{col.dtype}; convert it with pandas.to_datetime / to_timedelta first")
        return to_seconds(col)
    try:
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataError(f"column '{spec['name']}' was fitted as {spec['kind']} but holds "
                        f"non-numbers ({exc})") from exc


def _restore_dtype(values: np.ndarray, spec: dict):
    """Cast decoded values (object or float64 array [N], NaN = missing) to the original dtype.

    Datetime and timedelta values arrive as float seconds (or, for a constant, ISO text).
    """
    dtype = spec["dtype"]
    if spec["kind"] in TEMPORAL_KINDS:
        return from_seconds(values, spec)
    if spec["kind"] == "constant" and dtype.startswith(("datetime64", "timedelta64")):
        return constant_from_json(spec["value"], len(values), spec)
    if dtype == "category":
        cats = spec.get("dtype_categories", spec.get("categories"))
        return pd.Categorical(values, categories=cats, ordered=spec.get("ordered", False))
    if dtype == "object":
        return values.astype(object)
    try:
        np_dtype = np.dtype(dtype)
    except TypeError:  # pandas extension dtypes: Int64, boolean, string, Float64 ...
        return pd.array([None if _is_missing(v) else v for v in values], dtype=dtype)
    return values.astype(np_dtype)


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
