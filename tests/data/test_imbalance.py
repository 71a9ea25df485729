"""Induced imbalance: the kept share, the rows kept untouched, seeding, and the errors."""
import numpy as np
import pandas as pd
import pytest

from qedm.data import induce_imbalance
from qedm.data.imbalance import minority_rows_for_share
from qedm.errors import DataError


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    labels = np.array(["a"] * 300 + ["b"] * 100 + ["c"] * 50, dtype=object)
    rng.shuffle(labels)
    return pd.DataFrame({"x": np.arange(len(labels), dtype=float), "label": labels})


def test_the_class_is_cut_to_the_share_and_the_rest_is_untouched():
    frame = _frame()
    out = induce_imbalance(frame, "label", "b", share=0.04, seed=3)
    # 350 other rows; 0.04 * 350 / 0.96 = 14.58 -> 15 kept, 15 / 365 = 0.041.
    assert (out["label"] == "b").sum() == 15
    assert len(out) == 365
    rest = frame[frame["label"] != "b"]
    pd.testing.assert_frame_equal(out[out["label"] != "b"], rest)
    assert out["x"].is_monotonic_increasing  # rows stay where they stood
    kept = out[out["label"] == "b"]
    assert set(kept["x"]) <= set(frame.loc[frame["label"] == "b", "x"])


def test_same_seed_same_rows_other_seed_other_rows():
    frame = _frame()
    first = induce_imbalance(frame, "label", "b", 0.05, seed=1)
    again = induce_imbalance(frame, "label", "b", 0.05, seed=1)
    other = induce_imbalance(frame, "label", "b", 0.05, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert set(first["x"]) != set(other["x"])


def test_rows_for_share_closed_form():
    assert minority_rows_for_share(250, 0.05) == 13  # 13.16 -> 13
    assert minority_rows_for_share(950, 0.05) == 50  # exactly 5 % of 1000
    assert minority_rows_for_share(10, 0.01) == 1  # never zero rows


@pytest.mark.parametrize("kwargs, match", [
    ({"column": "nope", "value": "b", "share": 0.1}, "column 'nope'"),
    ({"column": "label", "value": "z", "share": 0.1}, "no rows of class 'z'"),
    ({"column": "label", "value": "b", "share": 1.0}, "share must lie"),
    ({"column": "label", "value": "c", "share": 0.5}, "already 50"),
])
def test_errors_name_the_argument(kwargs, match):
    with pytest.raises(DataError, match=match):
        induce_imbalance(_frame(), seed=0, **kwargs)
