"""QEDM conditioned on a continuous column: unseen values, save/load, defaults, errors."""

import numpy as np
import pandas as pd
import pytest

from qedm.errors import ConfigError
from qedm.science import tfim_dataset
from qedm.synthesizer import QEDM

SMALL = dict(epochs=3, batch_size=64, hidden=32, n_blocks=1, n_steps=100, checkpoint_every=1)


@pytest.fixture(scope="module")
def snapshots():
    return tfim_dataset(6, [0.3, 0.8, 1.6], 80, "z", seed=0)


@pytest.fixture(scope="module")
def fitted(snapshots):
    return QEDM(denoiser="classical", condition_column="h", **SMALL).fit(snapshots)


def test_an_unseen_value_is_generated_and_written_as_given(fitted, snapshots):
    assert fitted.value_condition is not None and fitted.classes is None
    rows = fitted.sample(30, seed=1, conditions={"h": "0.9"})
    assert list(rows.columns) == list(snapshots.columns)
    assert np.allclose(rows["h"], 0.9) and rows["h"].dtype == np.float64
    assert set(np.unique(rows.drop(columns="h"))) <= {0, 1}
    other = fitted.sample(30, seed=1, conditions={"h": 1.5})
    assert not rows.drop(columns="h").equals(other.drop(columns="h"))  # the value reaches the denoiser


def test_unconditional_draws_use_the_training_values(fitted):
    rows = fitted.sample(300, seed=2)
    assert set(np.round(rows["h"], 9)) == {0.3, 0.8, 1.6}


def test_save_load_gives_the_same_samples(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    loaded = QEDM.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.sample(20, seed=4, conditions={"h": 1.1}),
                                  fitted.sample(20, seed=4, conditions={"h": 1.1}))


def test_guidance_scale_uses_the_null_value(fitted):
    guided = fitted.sample(20, seed=5, conditions={"h": 0.9}, guidance_scale=2.0)
    assert np.allclose(guided["h"], 0.9) and guided.drop(columns="h").notna().all().all()
    # A continuous condition keeps guidance 1.0 by default (TABLE_CLASS_GUIDANCE is for classes).
    pd.testing.assert_frame_equal(fitted.sample(20, seed=5, conditions={"h": 0.9}),
                                  fitted.sample(20, seed=5, conditions={"h": 0.9}, guidance_scale=1.0))
    assert not guided.equals(fitted.sample(20, seed=5, conditions={"h": 0.9}))


def test_errors_name_the_condition(fitted, snapshots):
    with pytest.raises(ConfigError, match="h='strong' is not a number"):
        fitted.sample(5, conditions={"h": "strong"})
    with pytest.raises(ConfigError, match="'spin' is not a column"):
        fitted.sample(5, conditions={"spin": 1})
    # Another column than the trained one is met by rejection sampling, with h still guided.
    rows = fitted.sample(5, seed=2, conditions=["h=0.9", "z0=1"])
    assert (rows["z0"].astype(str) == "1").all() and np.allclose(rows["h"], 0.9)
    with pytest.raises(ConfigError, match="condition_kind"):
        QEDM(condition_kind="ordinal")


def test_class_kind_keeps_a_float_column_categorical(snapshots):
    model = QEDM(denoiser="classical", condition_column="h", condition_kind="class", **SMALL).fit(snapshots)
    assert model.value_condition is None and model.classes == [0.3, 0.8, 1.6]
    with pytest.raises(ConfigError, match="not a class"):
        model.sample(5, conditions={"h": 0.9})
