"""Datetime and timedelta columns in the TableTransformer: round trips, resolution, range, JSON."""
import json

import numpy as np
import pandas as pd
import pytest

from qedm.data.table import TableTransformer
from qedm.data.temporal import fit_temporal, from_seconds, to_seconds
from qedm.errors import DataError

N = 300


def admissions(n: int = N, seed: int = 0) -> pd.DataFrame:
    """Patient-like records: day dates (naive, with holes), local-midnight dates across clock changes, stays."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    admitted = pd.Series(days).where(rng.random(n) > 0.2)  # 20 % NaT
    return pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "admitted": admitted,
        "discharged_local": pd.DatetimeIndex(days).tz_localize("Europe/Berlin"),
        "measured_utc": pd.Timestamp("2021-06-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "stay": pd.to_timedelta(rng.integers(1, 5000, n), unit="min"),
    })


def test_kinds_resolutions_and_time_zones_are_detected():
    t = TableTransformer().fit(admissions())
    specs = {s["name"]: s for s in t.columns_}
    assert specs["admitted"]["kind"] == "datetime" and specs["admitted"]["missing"] is True
    assert (specs["admitted"]["resolution"], specs["admitted"]["timezone"]) == ("day", None)
    # Local midnight in Berlin is 22:00 or 23:00 UTC: the resolution is read on the local clock.
    assert (specs["discharged_local"]["resolution"], specs["discharged_local"]["timezone"]) == ("day", "Europe/Berlin")
    assert (specs["measured_utc"]["resolution"], specs["measured_utc"]["timezone"]) == ("second", "UTC")
    assert (specs["stay"]["kind"], specs["stay"]["resolution"]) == ("timedelta", "minute")
    assert t.kind_summary() == "1 integer, 3 datetime, 1 timedelta"


def test_round_trip_gives_back_the_same_values_dtypes_and_missing():
    df = admissions()
    t = TableTransformer().fit(df)
    back = t.inverse_transform(t.transform(df))
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    assert str(back["discharged_local"].dtype) == "datetime64[ns, Europe/Berlin]"
    for name in ("admitted", "discharged_local", "measured_utc", "stay"):
        pd.testing.assert_series_equal(back[name], df[name], obj=name)
    assert back["admitted"].isna().sum() == df["admitted"].isna().sum() > 0


def test_encoding_is_the_numeric_map_of_epoch_seconds():
    df = admissions()
    t = TableTransformer().fit(df)
    seconds = pd.DataFrame({"s": (df["measured_utc"] - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()})
    reference = TableTransformer().fit(seconds).transform(seconds)[:, 0]
    block = next(b for b in t.output_info if b.column == "measured_utc")
    np.testing.assert_array_equal(t.transform(df)[:, block.start], reference)
    spec = next(s for s in t.columns_ if s["name"] == "measured_utc")
    assert spec["min"] == seconds["s"].min() and spec["max"] == seconds["s"].max()


def test_missing_dates_get_the_indicator_output():
    df = admissions()
    t = TableTransformer().fit(df)
    x = t.transform(df)
    roles = {b.role: b for b in t.output_info if b.column == "admitted"}
    assert set(roles) == {"value", "missing"}
    np.testing.assert_array_equal(x[:, roles["missing"].start] > 0, df["admitted"].isna().to_numpy())


def test_decoded_noise_stays_in_range_and_on_the_training_resolution():
    df = admissions()
    t = TableTransformer().fit(df)
    noise = np.random.default_rng(1).normal(scale=3.0, size=(2000, t.output_dim))
    out = t.inverse_transform(noise)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    for name in ("admitted", "discharged_local", "measured_utc", "stay"):
        values = out[name].dropna()
        assert values.min() >= df[name].min() and values.max() <= df[name].max(), name
    admitted = out["admitted"].dropna()
    assert (admitted == admitted.dt.normalize()).all()
    local = out["discharged_local"].dt.tz_localize(None)
    assert (local == local.dt.normalize()).all()  # local midnight, also across DST changes
    assert (out["measured_utc"].dt.microsecond == 0).all() and (out["measured_utc"].dt.nanosecond == 0).all()
    assert (out["stay"] % pd.Timedelta("1min") == pd.Timedelta(0)).all()
    assert out["stay"].nunique() > 100  # decoded values spread over the range, not a few knots
    assert 0.05 < out["admitted"].isna().mean() < 0.95


@pytest.mark.parametrize(
    "values, resolution",
    [
        (pd.date_range("2020-01-01", periods=20, freq="D"), "day"),
        (pd.date_range("2020-01-01 05:00", periods=20, freq="7h"), "hour"),
        (pd.date_range("2020-01-01 05:03", periods=20, freq="1D"), "minute"),
        (pd.date_range("2020-01-01 05:03:09", periods=20, freq="1min"), "second"),
        (pd.date_range("2020-01-01", periods=20, freq="1001ms"), "millisecond"),
        (pd.date_range("2020-01-01", periods=20, freq="1000001us"), "microsecond"),
        (pd.date_range("2020-01-01", periods=20, freq="1000000001ns"), "nanosecond"),
        (pd.date_range("1950-01-01 06:00", periods=20, freq="-1D"), "hour"),  # before the epoch
        (pd.to_timedelta(np.arange(20), unit="h"), "hour"),
        (pd.to_timedelta(np.arange(20) * 1.5, unit="s"), "millisecond"),
    ],
)
def test_resolution_is_the_coarsest_unit_dividing_every_value(values, resolution):
    col = pd.Series(values, name="t")
    assert fit_temporal(col)["resolution"] == resolution


def test_resolution_never_finer_than_the_storage_unit():
    col = pd.Series(pd.date_range("2020-01-01 00:00:01", periods=20, freq="3s").as_unit("s"), name="t")
    assert fit_temporal(col) == {"timezone": None, "unit": "s", "resolution": "second"}


def test_decoding_rounds_to_the_resolution():
    spec = {"kind": "datetime", "timezone": None, "unit": "ns", "resolution": "day"}
    noon_minus = 86_400 * 10 + 43_199.0  # 1970-01-11 11:59:59 rounds down, 12:00:01 up
    out = pd.Series(from_seconds(np.array([noon_minus, noon_minus + 2.0, np.nan]), spec))
    assert out.tolist()[:2] == [pd.Timestamp("1970-01-11"), pd.Timestamp("1970-01-12")]
    assert pd.isna(out.iloc[2])
    spec = {"kind": "timedelta", "timezone": None, "unit": "ns", "resolution": "minute"}
    out = pd.Series(from_seconds(np.array([89.0, 91.0]), spec))
    assert out.tolist() == [pd.Timedelta("1min"), pd.Timedelta("2min")]


def test_to_seconds_counts_from_the_epoch_in_utc():
    naive = pd.Series(pd.to_datetime(["1970-01-02", None]))
    aware = pd.Series(pd.to_datetime(["1970-01-02 01:00"]).tz_localize("Europe/Berlin"))  # = 00:00 UTC
    np.testing.assert_array_equal(to_seconds(naive), [86_400.0, np.nan])
    np.testing.assert_array_equal(to_seconds(aware), [86_400.0])
    np.testing.assert_array_equal(to_seconds(pd.Series(pd.to_timedelta(["90s", "1D"]))), [90.0, 86_400.0])


def test_other_storage_units_keep_their_dtype():
    rng = np.random.default_rng(2)
    far = np.datetime64("2400-01-01", "s")  # beyond the nanosecond range (year 2262)
    millis = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**9, 50), unit="ms")
    df = pd.DataFrame({
        "s": pd.Series(far + rng.integers(0, 10**8, 50).astype("m8[s]")),
        "ms_utc": pd.Series(millis).astype("datetime64[ms, UTC]"),
    })
    assert [str(d) for d in df.dtypes] == ["datetime64[s]", "datetime64[ms, UTC]"]
    t = TableTransformer().fit(df)
    back = t.inverse_transform(t.transform(df))
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, df)


def test_json_state_round_trip(assert_json_round_trip):
    df = admissions()
    t = TableTransformer().fit(df)
    assert_json_round_trip(t, df)


def test_constant_datetime_and_timedelta_columns_survive_json():
    df = pd.DataFrame({
        "x": np.arange(20.0) / 3,
        "when": pd.Timestamp("2021-03-28 02:30", tz="America/New_York"),
        "span": pd.Timedelta("1D 3h"),
    })
    t = TableTransformer().fit(df)
    assert [s["kind"] for s in t.columns_] == ["numeric", "constant", "constant"]
    t2 = TableTransformer.from_dict(json.loads(json.dumps(t.to_dict())))
    back = t2.inverse_transform(t2.transform(df))
    pd.testing.assert_frame_equal(back, df)


def test_column_kinds_overrides_for_temporal_columns():
    df = admissions()
    t = TableTransformer(column_kinds={"admitted": "datetime", "stay": "timedelta"}).fit(df)
    assert {s["name"]: s["kind"] for s in t.columns_}["admitted"] == "datetime"
    with pytest.raises(DataError, match="column 'admitted' holds datetimes.*not 'numeric'"):
        TableTransformer(column_kinds={"admitted": "numeric"}).fit(df)
    with pytest.raises(DataError, match="column 'stay' holds timedeltas.*not 'categorical'"):
        TableTransformer(column_kinds={"stay": "categorical"}).fit(df)
    with pytest.raises(DataError, match="column 'age' cannot be treated as datetime"):
        TableTransformer(column_kinds={"age": "datetime"}).fit(df)
    with pytest.raises(DataError, match="column 'admitted' cannot be treated as timedelta"):
        TableTransformer(column_kinds={"admitted": "timedelta"}).fit(df)


def test_transform_of_a_non_datetime_column_names_it():
    df = admissions()
    t = TableTransformer().fit(df)
    other = df.assign(admitted=df["admitted"].astype(str))
    with pytest.raises(DataError, match="column 'admitted' was fitted as datetime"):
        t.transform(other)


def test_time_zone_without_a_name_is_a_clear_error():
    pytz = pytest.importorskip("pytz")
    df = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=20, tz=pytz.FixedOffset(90))})
    with pytest.raises(DataError, match="column 't' has the time zone"):
        TableTransformer().fit(df)
