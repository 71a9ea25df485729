"""Read a table from a file (.csv, .tsv, .parquet, .json); anything else raises DataError naming the file."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from qedm.errors import DataError, require

SUFFIXES = (".csv", ".tsv", ".parquet", ".json")


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
        return _read_json(path)
    return _read_delimited(path, sep="\t" if suffix == ".tsv" else ",")


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
        df = pd.read_json(path)
    except ValueError as exc:
        try:
            df = pd.read_json(path, lines=True)
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
        # A single column is only a table if its values look like data, not garbled text.
        if df[col].dtype == object and df[col].nunique() == len(df) and len(df) > 1:
            raise DataError(
                f"{path}: found one column '{col}' whose every value is distinct text; "
                "this does not look like a table (wrong delimiter or not a data file?)"
            )
    return df
