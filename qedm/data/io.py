"""Read a table from a file (.csv, .tsv, .parquet, .json); anything else raises DataError naming the file.

Text formats have no date type, so text columns of ISO-8601 dates are parsed to datetime64
(`parse_iso_dates`); parquet keeps the types it stored.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from qedm.errors import DataError, require

SUFFIXES = (".csv", ".tsv", ".parquet", ".json")

# "2021-03-04", "2021-03-04 10:00", "2021-03-04T10:00:00.123Z", "2021-03-04T10:00:00+01:00";
# group "offset" is the UTC offset, only allowed after a time.
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?P<offset>Z|[+-]\d{2}:?\d{2})?)?"
)


def read_table(path: str | Path) -> pd.DataFrame:
    """Load the table at `path`; the suffix picks the reader (parquet needs pyarrow)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"{path}: unsupported file type '{suffix}'; use one of {list(SUFFIXES)}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    if suffix == ".parquet":
        return _read_parquet(path)
    _check_text(path)
    if suffix == ".json":
        return parse_iso_dates(_read_json(path))
    return parse_iso_dates(_read_delimited(path, sep="\t" if suffix == ".tsv" else ","))


def parse_iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """df with each text column of ISO-8601 dates or datetimes parsed to datetime64.

    Conservative on purpose: a column converts only if every non-missing value is a string of
    the form YYYY-MM-DD[(T| )hh:mm[:ss[.fff]][offset]] and pandas parses them all; numbers as
    text, free text and columns mixing dates with anything else stay as they are. Values with
    one shared UTC offset keep it; different offsets are converted to UTC; a mix of values
    with and without an offset is ambiguous and stays text.
    """
    out = df.copy()
    for name in df.columns:
        parsed = _parse_iso_column(df[name])
        if parsed is not None:
            out[name] = parsed
    return out


def _parse_iso_column(col: pd.Series) -> pd.Series | None:
    """The column as datetime64 if it is all ISO-8601 date text (see parse_iso_dates), else None."""
    if col.dtype != object:
        return None
    values = col.dropna()
    if values.empty or not all(isinstance(v, str) for v in values):
        return None
    matches = [_ISO_DATE.fullmatch(v.strip()) for v in values]
    if not all(matches):
        return None
    offsets = {m.group("offset") for m in matches}
    if None in offsets and len(offsets) > 1:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failed parse leaves the column as text anyway
            return pd.to_datetime(col.str.strip(), format="ISO8601", utc=len(offsets) > 1)
    except (ValueError, OverflowError):  # impossible dates ("2021-02-30"), out of range years
        return None


def _check_text(path: Path) -> None:
    """Reject binary files before a text parser produces a garbage table from them."""
    head = path.read_bytes()[:8192]
    if b"\x00" in head:
        raise DataError(f"{path}: looks like a binary file, not a text table")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the 8 KiB mark is fine
            raise DataError(f"{path}: is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from exc


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file has no table in it") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: rows have different numbers of fields ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: is not UTF-8 text") from exc
    return _check_shape(df, path)


def _read_json(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_json(path, convert_dates=False)  # dates: parse_iso_dates, not column names
    except ValueError as exc:
        try:
            df = pd.read_json(path, lines=True, convert_dates=False)
        except ValueError:
            raise DataError(f"{path}: not a JSON table (records, columns or JSON lines): {exc}") from exc
    return _check_shape(df, path)


def _read_parquet(path: Path) -> pd.DataFrame:
    require("pyarrow", "parquet")
    import pyarrow

    try:
        df = pd.read_parquet(path)
    except (pyarrow.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable parquet file ({exc})") from exc
    return _check_shape(df, path)


def _check_shape(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A table needs rows, and a header that is not the only thing in the file."""
    if df.shape[0] == 0:
        raise DataError(f"{path}: the file has a header but no rows")
    if df.shape[1] == 0:
        raise DataError(f"{path}: the file has no columns")
    unnamed = [c for c in df.columns if isinstance(c, str) and c.startswith("Unnamed: ")]
    if df.shape[1] > 1 and len(unnamed) == df.shape[1]:
        raise DataError(f"{path}: the file has no header row of column names")
    if df.shape[1] == 1:
        col = df.columns[0]
        # A single column is only a table if its values look like data, not garbled text: distinct
        # text with a delimiter-like character in it (distinct tokens without one, e.g. SMILES, pass).
        values = df[col].astype(str)
        if (df[col].dtype == object and df[col].nunique() == len(df) and len(df) > 1
                and values.str.contains(r"[\s;|]").any()):
            raise DataError(
                f"{path}: found one column '{col}' whose every value is distinct text; "
                "this does not look like a table (wrong delimiter or not a data file?)"
            )
    return df
