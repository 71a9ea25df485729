"""Shared input handling: kind inference, canonical categories, encoding fitted on the reference."""
import numpy as np
import pandas as pd
import pytest

from qedm.errors import DataError
from qedm.evaluate.features import MISSING, encode_tables, infer_column_kinds, prepare_tables


def test_infer_kinds():
    frame = pd.DataFrame({"f": [0.5, 1.5, 2.5], "i": [1, 2, 3], "wide_int": [1, 2, 3],
                          "b": [True, False, True], "o": ["a", "b", "a"],
                          "cat": pd.Categorical(["x", "y", "x"])})
    kinds = infer_column_kinds(frame, max_int_categories=2)
    assert kinds == {"f": "numeric", "i": "numeric", "wide_int": "numeric",
                     "b": "categorical", "o": "categorical", "cat": "categorical"}
    assert infer_column_kinds(frame)["i"] == "categorical"  # 3 distinct <= 10


def test_canonical_categories_unify_types_and_missing():
    real = pd.DataFrame({"c": [0, 1, 1], "x": [1.0, 2.0, np.nan]})
    syn = pd.DataFrame({"c": [0.0, 1.0, np.nan], "x": [1, 2, 3]})
    tables, kinds = prepare_tables({"real": real, "synthetic": syn}, {"c": "categorical"})
    assert list(tables["real"]["c"]) == ["0", "1", "1"]
    assert list(tables["synthetic"]["c"]) == ["0", "1", MISSING]
    assert tables["synthetic"]["x"].dtype == np.float64


def test_encoding_standardises_on_reference_and_pools_categories():
    ref = pd.DataFrame({"x": [0.0, 2.0, 4.0], "c": ["a", "a", "b"]})
    other = pd.DataFrame({"x": [2.0, 6.0], "c": ["z", "a"]})
    tables, kinds = prepare_tables({"ref": ref, "other": other})
    ref_x, other_x = encode_tables(tables["ref"], tables["other"], kinds=kinds)
    std = np.std([0.0, 2.0, 4.0])
    np.testing.assert_allclose(other_x[:, 0], [0.0, 4.0 / std])
    # one-hot over a, b, z: the category only `other` has still gets a column
    np.testing.assert_array_equal(other_x[:, 1:], [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ref_x[:, 1:], [[1, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_non_numeric_value_in_numeric_column_names_it():
    real = pd.DataFrame({"x": [1.0, 2.0]})
    syn = pd.DataFrame({"x": ["1.0", "oops"]})
    with pytest.raises(DataError, match="column 'x' of 'synthetic'"):
        prepare_tables({"real": real, "synthetic": syn}, {"x": "numeric"})


def test_sdv_style_metadata_is_accepted():
    frame = pd.DataFrame({"code": [1, 2, 3, 1], "x": [0.1, 0.2, 0.3, 0.4]})
    meta = {"columns": {"code": {"sdtype": "numerical"}, "x": {"sdtype": "categorical"}}}
    _, kinds = prepare_tables({"real": frame}, meta)
    assert kinds == {"code": "numeric", "x": "categorical"}


def test_datetimes_and_timedeltas_are_numeric_seconds():
    frame = pd.DataFrame({
        "admitted": pd.to_datetime(["1970-01-02", None, "1970-01-03"]),
        "local": pd.to_datetime(["1970-01-01 01:00"] * 3).tz_localize("Europe/Berlin"),
        "stay": pd.to_timedelta(["1h", "90s", None]),
    })
    assert infer_column_kinds(frame) == {"admitted": "numeric", "local": "numeric", "stay": "numeric"}
    tables, _ = prepare_tables({"real": frame, "synthetic": frame.iloc[::-1]})
    np.testing.assert_array_equal(tables["real"]["admitted"], [86_400.0, np.nan, 172_800.0])
    np.testing.assert_array_equal(tables["real"]["local"], [0.0, 0.0, 0.0])  # 01:00 in Berlin = 00:00 UTC
    np.testing.assert_array_equal(tables["synthetic"]["stay"], [np.nan, 90.0, 3_600.0])
    assert (tables["real"].dtypes == np.float64).all()


def test_sdv_datetime_sdtype_is_numeric():
    frame = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=4), "x": [0.1, 0.2, 0.3, 0.4]})
    meta = {"columns": {"when": {"sdtype": "datetime"}, "x": {"sdtype": "numerical"}}}
    tables, kinds = prepare_tables({"real": frame}, meta)
    assert kinds == {"when": "numeric", "x": "numeric"}
    assert tables["real"]["when"].diff().dropna().tolist() == [86_400.0] * 3
