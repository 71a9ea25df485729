"""Watermarks: marked rows are detected, unmarked rows are not (at the stated rate), keys are checked."""

import numpy as np
import pandas as pd
import pytest

from qedm.data.table import TableTransformer
from qedm.errors import ConfigError
from qedm.privacy.watermark import check_key, detect, new_key, select_marked

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 1200
    return pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(10)} | {"c": rng.choice(list("abc"), n)})


@pytest.fixture(scope="module")
def transformer(frame):
    return TableTransformer().fit(frame)


def test_marked_rows_are_detected_and_survive_deletion_and_noise(frame, transformer):
    marked = select_marked(frame.iloc[:400], transformer, KEY, 200)
    assert detect(marked, transformer, KEY)["verdict"] == "watermarked"
    half = marked.sample(frac=0.5, random_state=0)
    assert detect(half, transformer, KEY)["p_value"] < 0.01
    noisy = marked.copy()
    numeric = [c for c in noisy.columns if c != "c"]
    noisy[numeric] += np.random.default_rng(1).normal(0, 0.01, size=(len(noisy), len(numeric)))
    assert detect(noisy, transformer, KEY)["p_value"] < 0.01


def test_false_positive_rate_on_unmarked_rows(frame, transformer):
    rejections = sum(detect(frame.iloc[400:600], transformer, new_key(), n_null=99)["p_value"] < 0.05
                     for _ in range(40))
    assert rejections <= 8  # expected 2 of 40 at alpha 0.05; the rank test is exact


def test_selection_keeps_rows_of_the_candidates(frame, transformer):
    marked = select_marked(frame.iloc[:100], transformer, KEY, 50)
    assert len(marked) == 50
    assert pd.merge(marked, frame.iloc[:100], how="inner").shape[0] == 50


@pytest.mark.parametrize("key", ["abc", "0123456789ABCDEF0123456789ABCDEF", "g" * 32, KEY + "0"])
def test_malformed_keys_are_one_error(key):
    with pytest.raises(ConfigError, match="32 lowercase hexadecimal"):
        check_key(key)
