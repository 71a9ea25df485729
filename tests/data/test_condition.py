"""Continuous condition columns: which columns are continuous, standardisation round trip, draws."""

import numpy as np
import pandas as pd
import pytest
import torch

from qedm.data.condition import ValueCondition, is_continuous, null_condition
from qedm.errors import ConfigError, DataError


def test_auto_kind_treats_fractional_floats_as_values():
    assert is_continuous(pd.Series([0.2, 0.4, 1.0]), "auto")
    assert not is_continuous(pd.Series([1.0, 2.0, 3.0]), "auto")  # integer-valued floats stay classes
    assert not is_continuous(pd.Series(["a", "b"]), "auto")
    assert is_continuous(pd.Series([1, 2]), "continuous")
    assert not is_continuous(pd.Series([0.5, 1.5]), "class")


def test_round_trip_json_and_draws_at_training_frequencies():
    values = pd.Series([0.2] * 30 + [1.0] * 10)
    cond = ValueCondition.fit("h", values)
    assert cond.values == [0.2, 1.0] and cond.frequencies == pytest.approx([0.75, 0.25])
    encoded = cond.encode(values)
    assert abs(float(encoded.mean())) < 1e-6 and abs(float(encoded.std(unbiased=False)) - 1) < 1e-5
    assert np.allclose(cond.decode(encoded), values, atol=1e-6)
    again = ValueCondition.from_dict(cond.to_dict())
    draws = again.decode(again.draw(4000, torch.Generator().manual_seed(0)))
    assert abs(np.mean(np.isclose(draws, 0.2)) - 0.75) < 0.03
    assert cond.parse("0.9") == 0.9


def test_bad_values_name_the_column():
    with pytest.raises(DataError, match="'h' has missing"):
        ValueCondition.fit("h", pd.Series([0.1, np.nan]))
    cond = ValueCondition.fit("h", pd.Series([0.1, 0.5]))
    with pytest.raises(ConfigError, match="h='high' is not a number"):
        cond.parse("high")
    with pytest.raises(ConfigError, match="finite"):
        cond.parse("inf")


def test_null_condition_per_kind():
    assert torch.equal(null_condition(torch.tensor([2, 0])), torch.tensor([-1, -1]))
    assert torch.isnan(null_condition(torch.tensor([0.5]))).all()
