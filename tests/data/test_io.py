"""read_table: each supported format reads back the same table; non-tables raise DataError naming the file."""
import importlib.util

import numpy as np
import pandas as pd
import pytest

from qedm.data.io import parse_iso_dates, read_table
from qedm.errors import DataError, MissingExtraError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "x": [0.5, 1.25, -3.0, np.nan],
        "n": [1, 2, 3, 4],
        "s": ["a", "b", None, "a"],
        "b": [True, False, True, True],
    })


def test_csv_tsv_json_read_back(tmp_path, frame):
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    frame.to_json(tmp_path / "t.json", orient="records")
    frame.to_json(tmp_path / "lines.json", orient="records", lines=True)
    for name in ("t.csv", "t.tsv", "t.json", "lines.json"):
        df = read_table(tmp_path / name)
        pd.testing.assert_frame_equal(_nulls_as_none(df), _nulls_as_none(frame), check_dtype=False, obj=name)


def _nulls_as_none(df: pd.DataFrame) -> pd.DataFrame:
    """Text readers return NaN or None for a missing string; compare them as one."""
    out = df.copy()
    out["s"] = out["s"].astype(object).where(out["s"].notna(), None)
    return out


def test_parquet(tmp_path, frame):
    path = tmp_path / "t.parquet"
    if importlib.util.find_spec("pyarrow") is None:
        path.write_bytes(b"PAR1 not really")
        with pytest.raises(MissingExtraError, match="pyarrow"):
            read_table(path)
        return
    frame.to_parquet(path)
    pd.testing.assert_frame_equal(read_table(path), frame)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\n\n\n", "no table in it"),
        ("header.csv", b"a,b,c\n", "header but no rows"),
        ("binary.csv", bytes(range(256)) * 4, "binary file"),
        ("latin.csv", "a,b\ncaf\u00e9,1\n".encode("latin-1") + b"x,2\n" * 3, "not UTF-8"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n7,8\n", "different numbers of fields"),
        ("garbage.csv", b"qwe8r7\nzx;cv!\npoi uyt\n@@##\n", "one column 'qwe8r7'.*does not look like a table"),
        ("bad.json", b"{not json at all", "not a JSON table"),
        ("table.xlsx", b"PK\x03\x04", "unsupported file type '.xlsx'"),
    ],
)
def test_non_tables_raise_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_table(path)
    assert name in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="nope.csv: no such file"):
        read_table(tmp_path / "nope.csv")


def test_single_numeric_column_is_a_table(tmp_path):
    (tmp_path / "one.csv").write_text("v\n1\n2\n3\n2\n")
    assert read_table(tmp_path / "one.csv")["v"].tolist() == [1, 2, 3, 2]


def test_parse_iso_dates_converts_only_columns_of_iso_dates():
    df = pd.DataFrame({
        "day": ["2021-03-04", None, " 2021-03-05 "],
        "stamp": ["2021-03-04 10:00:00", "2021-03-04T11:30", np.nan],
        "zulu": ["2021-03-04T10:00:00Z", "2021-03-05T10:00:00.250Z", None],
        "same_offset": ["2021-03-04T10:00+01:00", "2021-03-05T10:00+01:00", None],
        "offsets": ["2021-03-04T10:00:00+01:00", "2021-07-04T10:00:00+02:00", None],
        "digits": ["20210304", "20210305", "1"],
        "text": ["admitted", "discharged", "2021-03-04 was a Thursday"],
        "mixed": ["2021-03-04", "unknown", None],
        "naive_and_aware": ["2021-03-04T10:00:00+01:00", "2021-03-04T10:00:00", None],
        "impossible": ["2021-02-30", "2021-01-01", None],
        "far_future": ["2021-01-01", "9999-12-31", None],
        "number": [1.5, 2.5, 3.5],
    })
    out = parse_iso_dates(df)
    assert str(out["day"].dtype) == "datetime64[ns]"
    assert out["day"].tolist()[0] == pd.Timestamp("2021-03-04") and pd.isna(out["day"][1])
    assert out["stamp"].tolist()[:2] == [pd.Timestamp("2021-03-04 10:00"), pd.Timestamp("2021-03-04 11:30")]
    assert str(out["zulu"].dtype) == "datetime64[ns, UTC]"
    assert out["zulu"][1] == pd.Timestamp("2021-03-05 10:00:00.250", tz="UTC")
    assert str(out["same_offset"].dtype) == "datetime64[ns, UTC+01:00]"
    # Different offsets (summer and winter time) become one time zone, UTC, at the same instants.
    assert out["offsets"].tolist()[:2] == [pd.Timestamp("2021-03-04 09:00", tz="UTC"),
                                           pd.Timestamp("2021-07-04 08:00", tz="UTC")]
    for name in ("digits", "text", "mixed", "naive_and_aware", "impossible", "far_future", "number"):
        pd.testing.assert_series_equal(out[name], df[name], obj=name)
    assert df["day"].dtype == object  # the input is not changed in place


def test_dates_in_text_files_are_read_as_datetimes(tmp_path):
    (tmp_path / "t.csv").write_text(
        "id,admitted,note,code\n1,2021-03-04,ok,007\n2,,late,008\n3,2021-03-06,2021-03-04,009\n"
    )
    df = read_table(tmp_path / "t.csv")
    assert str(df["admitted"].dtype) == "datetime64[ns]"
    assert df["admitted"].isna().tolist() == [False, True, False]
    assert df["note"].dtype == object and df["code"].dtype == np.int64
    frame = pd.DataFrame({"when": ["2021-03-04T10:00:00Z", "2021-03-05T10:00:00Z"], "date": [1614556800, 1614643200]})
    frame.to_json(tmp_path / "t.json", orient="records")
    df = read_table(tmp_path / "t.json")
    assert str(df["when"].dtype) == "datetime64[ns, UTC]"
    # pandas would read a column named "date" holding epoch-like numbers as dates; they stay numbers
    assert df["date"].tolist() == [1614556800, 1614643200]
