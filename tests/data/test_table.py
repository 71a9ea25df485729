"""TableTransformer: round trips, the numeric map against sklearn/scipy, JSON state, and errors.

Datetime and timedelta columns have their own file, test_temporal.py.
"""
import importlib.util
import json
import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri
from scipy.stats import rankdata
from sklearn.preprocessing import QuantileTransformer

from qedm.data.datasets import list_datasets, load_dataset
from qedm.data.table import TableTransformer
from qedm.errors import DataError


def crafted_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Every supported column type, with and without missing values."""
    rng = np.random.default_rng(seed)

    def holes(values, rate=0.2):
        return np.where(rng.random(n) < rate, None, values)

    return pd.DataFrame({
        "real": rng.normal(size=n),
        "skewed": rng.lognormal(3.0, 1.5, size=n),
        "wide_int": rng.integers(-5000, 5000, size=n),
        "code": rng.integers(0, 4, size=n).astype(np.int32),
        "text": rng.choice(["red", "green", "blue"], size=n).astype(object),
        "flag": rng.random(n) < 0.3,
        "cat": pd.Categorical(rng.choice(["lo", "hi"], size=n), categories=["lo", "hi", "unused"]),
        "real_nan": np.where(rng.random(n) < 0.25, np.nan, rng.exponential(size=n)),
        "text_nan": holes(rng.choice(["u", "v", "w"], size=n)).astype(object),
        "int_nullable": pd.array(holes(rng.integers(0, 500, size=n)), dtype="Int64"),
        "bool_nullable": pd.array(holes(rng.random(n) < 0.5), dtype="boolean"),
        "string": pd.array(rng.choice(["p", "q"], size=n), dtype="string"),
        "constant": np.full(n, 7),
        "single": np.float32(rng.normal(size=n)),
        "int_as_float": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 100_000, size=n)),
        "date_nat": pd.Series(pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"))
        .where(rng.random(n) > 0.15),
    })


def assert_same_table(original: pd.DataFrame, back: pd.DataFrame, kinds: dict) -> None:
    """Columns, order and dtypes equal; missing at the same places; values equal or close."""
    assert list(back.columns) == list(original.columns)
    assert back.dtypes.to_dict() == original.dtypes.to_dict()
    for name in original.columns:
        a, b = original[name], back[name]
        assert np.array_equal(a.isna().to_numpy(), b.isna().to_numpy()), name
        if kinds[name] == "numeric":
            x, y = a.to_numpy(np.float64, na_value=np.nan), b.to_numpy(np.float64, na_value=np.nan)
            scale = np.nanmax(x) - np.nanmin(x)
            np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-4 * scale, equal_nan=True, err_msg=name)
        else:  # integer, categorical, constant: exact
            assert a.equals(b), name


def kinds_of(t: TableTransformer) -> dict:
    return {spec["name"]: spec["kind"] for spec in t.columns_}


def test_crafted_round_trip_and_detected_kinds():
    df = crafted_frame()
    t = TableTransformer().fit(df)
    kinds = kinds_of(t)
    assert kinds == {
        "real": "numeric", "skewed": "numeric", "wide_int": "integer", "code": "categorical",
        "text": "categorical", "flag": "categorical", "cat": "categorical",
        "real_nan": "numeric", "text_nan": "categorical", "int_nullable": "integer",
        "bool_nullable": "categorical", "string": "categorical", "constant": "constant",
        "single": "numeric", "int_as_float": "integer", "date_nat": "datetime",
    }
    x = t.transform(df)
    assert x.dtype == np.float32 and x.shape == (len(df), t.output_dim)
    assert_same_table(df, t.inverse_transform(x), kinds)


@pytest.mark.parametrize("name", [info.name for info in list_datasets()])
def test_bundled_dataset_round_trip(name):
    info = next(i for i in list_datasets() if i.name == name)
    if info.requires and importlib.util.find_spec(info.requires) is None:
        pytest.skip(f"needs {info.requires}")
    df = load_dataset(name)
    t = TableTransformer(column_kinds=dict(info.column_kinds)).fit(df)
    assert_same_table(df, t.inverse_transform(t.transform(df)), kinds_of(t))


def test_output_info_tiles_the_matrix_and_one_hots_are_plus_minus_one():
    df = crafted_frame()
    t = TableTransformer().fit(df)
    x = t.transform(df)
    stops = 0
    for block in t.output_info:
        assert block.start == stops and block.stop > block.start
        stops = block.stop
        part = x[:, block.start : block.stop]
        if block.role == "one_hot":
            assert set(np.unique(part)) <= {-1.0, 1.0}
            assert np.all((part == 1.0).sum(axis=1) == 1)
        if block.role == "missing":
            isna = df[block.column].isna().to_numpy()
            assert np.array_equal(part[:, 0] > 0, isna)
    assert stops == t.output_dim
    widths = {b.column: b.stop - b.start for b in t.output_info if b.role == "one_hot"}
    assert widths["text_nan"] == 4  # three values plus the missing category
    assert widths["cat"] == 2  # the unused dtype category has no output
    assert "constant" not in {b.column for b in t.output_info}


def test_numeric_map_matches_sklearn_quantile_transformer_and_ranks():
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, size=400)
    df = pd.DataFrame({"x": x})
    z = TableTransformer().fit(df).transform(df)[:, 0]
    ref = QuantileTransformer(n_quantiles=400, output_distribution="normal").fit_transform(x[:, None])
    np.testing.assert_allclose(z, ref[:, 0], atol=1e-5)
    # With n <= n_quantiles the knots are the data, so u is the rank / (n - 1).
    u = (rankdata(x) - 1) / (len(x) - 1)
    np.testing.assert_allclose(z, ndtri(np.clip(u, 1e-7, 1 - 1e-7)), atol=1e-5)


def test_few_quantiles_still_round_trip_and_bound_noise():
    df = crafted_frame(n=2000)
    t = TableTransformer(n_quantiles=50).fit(df)
    assert all(len(s.get("quantiles", [])) <= 50 for s in t.columns_)
    assert_same_table(df, t.inverse_transform(t.transform(df)), kinds_of(t))
    # Arbitrary model outputs still decode to valid values inside the fitted ranges.
    noise = np.random.default_rng(2).normal(scale=3.0, size=(500, t.output_dim))
    out = t.inverse_transform(noise)
    assert out["wide_int"].between(df["wide_int"].min(), df["wide_int"].max()).all()
    assert out["date_nat"].dropna().between(df["date_nat"].min(), df["date_nat"].max()).all()
    assert set(out["text_nan"].dropna()) <= {"u", "v", "w"}
    assert out.dtypes.to_dict() == df.dtypes.to_dict()


def test_missing_rate_follows_the_indicator():
    df = crafted_frame(n=1000)
    t = TableTransformer().fit(df)
    x = t.transform(df)
    back = t.inverse_transform(x)
    for name in ("real_nan", "text_nan", "int_nullable", "bool_nullable", "date_nat"):
        assert back[name].isna().mean() == pytest.approx(df[name].isna().mean())


def test_column_kinds_override():
    df = crafted_frame()
    t = TableTransformer(column_kinds={"code": "integer", "wide_int": "numeric", "real": "categorical"},
                         max_categories=1000).fit(df)
    kinds = kinds_of(t)
    assert (kinds["code"], kinds["wide_int"], kinds["real"]) == ("integer", "numeric", "categorical")
    back = t.inverse_transform(t.transform(df))
    assert back["code"].equals(df["code"]) and back["real"].equals(df["real"])


def test_json_state_round_trip_is_identical(assert_json_round_trip):
    df = crafted_frame()
    t = TableTransformer(categorical_threshold=5).fit(df)
    assert_json_round_trip(t, df)


def test_unseen_category_encodes_to_no_active_slot():
    df = crafted_frame()
    t = TableTransformer().fit(df)
    other = df.copy()
    other.loc[0, "text"] = "purple"
    block = next(b for b in t.output_info if b.column == "text")
    assert np.all(t.transform(other)[0, block.start : block.stop] == -1.0)


def test_transform_of_10k_by_30_is_fast():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(size=(10_000, 30)), columns=[f"c{i}" for i in range(30)])
    t = TableTransformer().fit(df)
    start = time.perf_counter()
    x = t.transform(df)
    elapsed = time.perf_counter() - start
    assert x.shape == (10_000, 30)
    assert elapsed < 1.0, f"transform took {elapsed:.2f} s"


def _frame(**cols) -> pd.DataFrame:
    return pd.DataFrame(cols)


@pytest.mark.parametrize(
    "df, kwargs, message",
    [
        (pd.DataFrame(), {}, "no columns"),
        (pd.DataFrame({"a": []}), {}, "no rows"),
        (_frame(a=range(5)), {}, "5 rows, fewer than the 10"),
        (_frame(a=range(20), b=[np.nan] * 20), {}, "column 'b' is all missing"),
        (_frame(a=range(20), when=pd.period_range("2020-01", periods=20, freq="M")), {}, "column 'when'.*periods"),
        (_frame(a=range(20), span=pd.interval_range(0, 20)), {}, "column 'span'.*intervals"),
        (_frame(a=range(20), z=np.arange(20) * (1 + 1j)), {}, "column 'z'.*complex"),
        (_frame(a=range(20), day=[pd.Timestamp("2020-01-01").date()] * 20), {}, "column 'day'.*pandas.to_datetime"),
        (_frame(when=pd.date_range("2020-01-01", periods=20)), {"column_kinds": {"when": "numeric"}},
         "column 'when' holds datetimes"),
        (_frame(a=range(20), nest=[[1, 2]] * 20), {}, "column 'nest'.*list"),
        (_frame(a=range(20), ids=[f"id{i}" for i in range(20)]), {"max_categories": 10}, "column 'ids'.*identifier"),
        (_frame(a=[np.inf] + list(range(19)), b=np.arange(20.0) / 3), {}, "column 'a' holds infinite"),
        (_frame(a=range(20)), {"column_kinds": {"nope": "numeric"}}, "column 'nope'"),
        (_frame(a=range(20)), {"column_kinds": {"a": "ordinal"}}, r"column_kinds\['a'\]"),
        (_frame(s=list("ab") * 10), {"column_kinds": {"s": "numeric"}}, "column 's' cannot be treated as numeric"),
        ([[1, 2]], {}, "expected a pandas DataFrame"),
    ],
)
def test_bad_input_raises_data_error(df, kwargs, message):
    with pytest.raises(DataError, match=message):
        TableTransformer(**kwargs).fit(df)


def test_duplicated_columns_raise():
    df = pd.DataFrame(np.zeros((20, 3)), columns=["a", "b", "a"])
    with pytest.raises(DataError, match=r"duplicated column names: \['a'\]"):
        TableTransformer().fit(df)


def test_misuse_after_fit_raises():
    df = crafted_frame()
    with pytest.raises(DataError, match="not fitted"):
        TableTransformer().transform(df)
    t = TableTransformer().fit(df)
    with pytest.raises(DataError, match=r"lacks the fitted columns \['real'\]"):
        t.transform(df.drop(columns=["real"]))
    with pytest.raises(DataError, match=r"shape \[N, %d\]" % t.output_dim):
        t.inverse_transform(np.zeros((3, t.output_dim + 1)))
    with pytest.raises(DataError, match="NaN or infinite"):
        t.inverse_transform(np.full((2, t.output_dim), np.nan))
    bad = df.copy()
    bad["real"] = "oops"
    with pytest.raises(DataError, match="column 'real' was fitted as numeric"):
        t.transform(bad)
    with pytest.raises(DataError, match="not a saved TableTransformer"):
        TableTransformer.from_dict({"columns": []})


def test_wide_integer_ranges_round_trip_exactly():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({
        "huge": rng.integers(0, 10**12, size=800),  # knots are the data: snapped exactly
        "heavy_tail": rng.lognormal(0.0, 3.0, size=800).round().astype(np.int64),
    })
    t = TableTransformer().fit(df)
    assert t.inverse_transform(t.transform(df)).equals(df)
    big = pd.DataFrame({"counts": rng.lognormal(0.0, 3.0, size=5000).round().astype(np.int64),
                        "wide": rng.integers(0, 10**6, size=5000)})
    t = TableTransformer().fit(big)  # more rows than knots: exact up to float32 resolution
    assert t.inverse_transform(t.transform(big)).equals(big)


def test_mixed_python_types_keep_true_apart_from_one():
    df = pd.DataFrame({"m": pd.Series([0, True, 1, False, "x"] * 4, dtype=object)})
    t = TableTransformer.from_dict(json.loads(json.dumps(TableTransformer().fit(df).to_dict())))
    back = t.inverse_transform(t.transform(df))
    assert [(type(v), v) for v in back["m"]] == [(type(v), v) for v in df["m"]]
