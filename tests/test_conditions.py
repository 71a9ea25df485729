"""Conditions on any column: parsing, and rejection-sampled rows that follow the real conditional law."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qedm.conditions import Condition, as_conditions, parse_condition, rejection_sample
from qedm.errors import ConfigError, QEDMError
from qedm.synthesizer import QEDM


@pytest.mark.parametrize("text,expected", [
    ("age>=60", ("age", ">=", "60")), ("age <= 60", ("age", "<=", "60")), ("x>1.5", ("x", ">", "1.5")),
    ("x<-2", ("x", "<", "-2")), ("Class=1", ("Class", "==", "1")), ("Class==1", ("Class", "==", "1")),
    ("kind!=b", ("kind", "!=", "b")), ("a b = c d", ("a b", "==", "c d")),
])
def test_parse_condition(text, expected):
    c = parse_condition(text)
    assert (c.column, c.op, c.value) == expected


@pytest.mark.parametrize("text", ["age", "=3", "age>=", ""])
def test_bad_conditions_are_named(text):
    with pytest.raises(ConfigError, match="COLUMN=VALUE"):
        parse_condition(text)


def test_masks_compare_numbers_as_numbers_and_text_as_text():
    frame = pd.DataFrame({"age": [59, 60, 61], "kind": ["a", "b", "a"], "flag": [1, 0, 1]})
    assert parse_condition("age>=60").mask(frame).tolist() == [False, True, True]
    assert parse_condition("age<60").mask(frame).tolist() == [True, False, False]
    assert parse_condition("age==60.0").mask(frame).tolist() == [False, True, False]
    assert parse_condition("kind=a").mask(frame).tolist() == [True, False, True]
    assert as_conditions({"flag": 1})[0].mask(frame).tolist() == [True, False, True]
    with pytest.raises(ConfigError, match="kind>=a: >= needs a numeric column"):
        parse_condition("kind>=a").mask(frame)
    with pytest.raises(ConfigError, match="'age' is numeric, 'old' is not a number"):
        parse_condition("age=old").mask(frame)


def test_rejection_sample_fills_the_request_within_budget_or_names_the_condition():
    rng = np.random.default_rng(0)
    draws = []

    def draw(size, round_index):
        draws.append(size)
        return pd.DataFrame({"u": np.random.default_rng(round_index).uniform(0, 1, size)})

    rows, info = rejection_sample(draw, 50, [Condition("u", "<", 0.1)], max_candidates=5000)
    assert len(rows) == 50 and (rows["u"] < 0.1).all()
    assert info.drawn == sum(draws) <= 5000 and len(draws) <= 4  # few rounds: sized by the rate seen
    assert info.acceptance_rate == pytest.approx(0.1, abs=0.05)
    with pytest.raises(QEDMError, match=r"only \d+ of 50 rows with u<0.001.*1000 candidate rows"):
        rejection_sample(draw, 50, [Condition("u", "<", 0.001)], max_candidates=1000)
    del rng


@pytest.fixture(scope="module")
def two_groups():
    """kind a: x ~ N(-2, 0.5); kind b: x ~ N(2, 0.5), 30 % of rows; y = x + noise."""
    rng = np.random.default_rng(7)
    n = 600
    kind = np.where(rng.uniform(size=n) < 0.3, "b", "a")
    x = np.where(kind == "b", 2.0, -2.0) + rng.normal(0, 0.5, n)
    return pd.DataFrame({"x": x, "y": x + rng.normal(0, 0.3, n), "kind": kind})


@pytest.fixture(scope="module")
def unconditioned(two_groups):
    return QEDM(denoiser="classical", hidden=64, n_blocks=1, epochs=150, batch_size=128, n_steps=200,
                lr=3e-3).fit(two_groups)


def test_rejection_sampled_rows_follow_the_real_conditional_distribution(two_groups, unconditioned):
    """kind=b on a model fitted without a condition column: rows are all b and their x is b's x."""
    samples = unconditioned.sample(200, seed=3, conditions={"kind": "b"})
    assert len(samples) == 200 and (samples["kind"] == "b").all()
    info = unconditioned.last_rejection
    assert info.conditions == ["kind==b"] and info.accepted >= 200
    assert info.acceptance_rate == pytest.approx(0.3, abs=0.12)  # b's share of the real rows
    real_b, real_a = two_groups.loc[two_groups["kind"] == "b", "x"], two_groups.loc[two_groups["kind"] == "a", "x"]
    assert samples["x"].mean() == pytest.approx(real_b.mean(), abs=0.3)
    assert stats.ks_2samp(samples["x"], real_b).pvalue > 1e-3
    assert stats.ks_2samp(samples["x"], real_a).pvalue < 1e-10  # the check can fail: a's x is elsewhere


def test_numeric_range_conditions(two_groups, unconditioned):
    samples = unconditioned.sample(150, seed=4, conditions=["x>=1"])
    assert (samples["x"] >= 1).all()
    real = two_groups[two_groups["x"] >= 1]
    # Rows with x >= 1 are nearly all of kind b, in the real data and in the samples alike.
    assert (samples["kind"] == "b").mean() == pytest.approx((real["kind"] == "b").mean(), abs=0.1)
    assert samples["y"].mean() == pytest.approx(real["y"].mean(), abs=0.3)
    again = unconditioned.sample(150, seed=4, conditions=["x>=1"])
    pd.testing.assert_frame_equal(samples, again)  # same seed, same rows
    with pytest.raises(QEDMError, match="x>=50"):
        unconditioned.sample(10, seed=0, conditions=["x>=50"], max_tries=20)
    assert unconditioned.sample(5, seed=0) is not None and unconditioned.last_rejection is None
