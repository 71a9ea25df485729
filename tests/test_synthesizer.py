"""QEDM end to end on small tables: seeding, save/load identity, conditioning, resume."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from qedm.config import TABLE_CLASS_GUIDANCE
from qedm.errors import ConfigError, DataError, QEDMError
from qedm.synthesizer import QEDM

SMALL = dict(epochs=3, batch_size=64, hidden=32, n_blocks=1, n_steps=100, checkpoint_every=1)


@pytest.fixture(scope="module")
def mixed_table():
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "weight": rng.normal(70, 12, n).round(1),
        "smoker": rng.choice(["yes", "no"], n),
        "group": rng.choice([0, 1, 2], n),
    })


@pytest.fixture(scope="module")
def fitted(mixed_table):
    return QEDM(denoiser="classical", **SMALL).fit(mixed_table)


def test_samples_have_the_original_columns_dtypes_and_valid_categories(fitted, mixed_table):
    synthetic = fitted.sample(50, seed=3)
    assert list(synthetic.columns) == list(mixed_table.columns)
    assert (synthetic.dtypes == mixed_table.dtypes).all()
    assert set(synthetic["smoker"]) <= {"yes", "no"}
    assert synthetic["age"].between(18, 89).all()
    assert len(synthetic) == 50


def test_same_seed_same_samples_other_seed_other_samples(fitted):
    first, again, other = fitted.sample(40, seed=1), fitted.sample(40, seed=1), fitted.sample(40, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_same_seed_same_model(mixed_table):
    a = QEDM(denoiser="classical", **SMALL).fit(mixed_table)
    b = QEDM(denoiser="classical", **SMALL).fit(mixed_table)
    for (name, pa), (_, pb) in zip(a.denoiser.state_dict().items(), b.denoiser.state_dict().items()):
        assert torch.equal(pa, pb), name


def test_save_load_identity_and_no_pickled_code(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = QEDM.load(tmp_path / "model")
    pd.testing.assert_frame_equal(fitted.sample(30, seed=5), loaded.sample(30, seed=5))
    json.loads((tmp_path / "model" / "transform.json").read_text())
    torch.load(tmp_path / "model" / "weights.pt", weights_only=True)  # tensors only


def test_load_names_what_is_missing(tmp_path):
    with pytest.raises(QEDMError, match="missing config.json"):
        QEDM.load(tmp_path)


def test_sample_before_fit_and_bad_n_are_errors(fitted):
    with pytest.raises(QEDMError, match="not fitted"):
        QEDM().sample(5)
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        fitted.sample(0)


@pytest.mark.parametrize("denoiser", ["hybrid", "quantum"])
def test_quantum_denoisers_fit_and_sample(mixed_table, denoiser):
    small = {k: v for k, v in SMALL.items() if denoiser == "hybrid" or k not in ("hidden", "n_blocks")}
    model = QEDM(denoiser=denoiser, n_qubits=3, n_layers=1, **small).fit(mixed_table)
    synthetic = model.sample(20, seed=0)
    assert list(synthetic.columns) == list(mixed_table.columns)
    counts = model.parameter_counts()
    assert counts["quantum"] == 1 * 3 * 3
    assert model.resources()["qubits"] == 3


def test_conditional_samples_carry_the_requested_class(mixed_table):
    model = QEDM(denoiser="classical", condition_column="smoker", **SMALL).fit(mixed_table)
    synthetic = model.sample(25, seed=0, conditions={"smoker": "yes"})
    assert (synthetic["smoker"] == "yes").all()
    assert list(synthetic.columns) == list(mixed_table.columns)
    unconditional = model.sample(400, seed=0)
    share = (unconditional["smoker"] == "yes").mean()
    assert abs(share - (mixed_table["smoker"] == "yes").mean()) < 0.1
    with pytest.raises(ConfigError, match="not a class"):
        model.sample(5, conditions={"smoker": "sometimes"})
    with pytest.raises(ConfigError, match="cannot condition on height==2: 'height' is not a column"):
        model.sample(5, conditions={"height": 2})
    # Another column: rejection sampling on top of the guided class.
    both = model.sample(5, seed=1, conditions=["smoker=no", "age>=50"])
    assert (both["smoker"] == "no").all() and (both["age"] >= 50).all()
    assert model.last_rejection.conditions == ["age>=50"] and 0 < model.last_rejection.acceptance_rate <= 1
    # The default guidance of a table's class is TABLE_CLASS_GUIDANCE (2.0): the same rows as asking
    # for 2.0, not those of 1.0 (plain conditional); a scale in the config wins over the default.
    default = model.sample(30, seed=3, conditions={"smoker": "yes"})
    assert model.config.guidance_scale is None and TABLE_CLASS_GUIDANCE == 2.0
    pd.testing.assert_frame_equal(default, model.sample(30, seed=3, conditions={"smoker": "yes"},
                                                        guidance_scale=2.0))
    plain = model.sample(30, seed=3, conditions={"smoker": "yes"}, guidance_scale=1.0)
    assert not default.drop(columns="smoker").equals(plain.drop(columns="smoker"))
    model.config = model.config.updated(guidance_scale=1.0)
    pd.testing.assert_frame_equal(model.sample(30, seed=3, conditions={"smoker": "yes"}), plain)


def test_condition_column_must_exist(mixed_table):
    with pytest.raises(DataError, match="condition_column 'label'"):
        QEDM(condition_column="label", **SMALL).fit(mixed_table)


def test_resumed_fit_equals_uninterrupted_fit(mixed_table, tmp_path):
    full = QEDM(denoiser="classical", **SMALL).fit(mixed_table, run_dir=tmp_path / "full")
    QEDM(denoiser="classical", **{**SMALL, "epochs": 2}).fit(mixed_table, run_dir=tmp_path / "cut")
    resumed = QEDM(denoiser="classical", **SMALL).fit(mixed_table, run_dir=tmp_path / "cut")
    for name, value in full.denoiser.state_dict().items():
        assert torch.allclose(value, resumed.denoiser.state_dict()[name]), name
    lines = (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]


def test_datetime_and_timedelta_columns_fit_and_sample(tmp_path):
    rng = np.random.default_rng(0)
    n = 150
    admitted = pd.Series(pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"))
    table = pd.DataFrame({
        "admitted": admitted.where(rng.random(n) > 0.1),
        "measured": (pd.Timestamp("2021-01-01", tz="Europe/Berlin")
                     + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")),
        "stay": pd.to_timedelta(rng.integers(1, 20, n), unit="D"),
        "weight": rng.normal(70, 12, n).round(1),
    })
    model = QEDM(denoiser="classical", **SMALL).fit(table)
    assert model.transformer.kind_summary() == "1 numeric, 2 datetime, 1 timedelta"
    synthetic = model.sample(200, seed=1)
    assert synthetic.dtypes.to_dict() == table.dtypes.to_dict()
    assert str(synthetic["measured"].dtype) == "datetime64[ns, Europe/Berlin]"
    for name in ("admitted", "measured", "stay"):
        values = synthetic[name].dropna()
        assert len(values) > 100 and values.nunique() > 10, name
        assert values.between(table[name].min(), table[name].max()).all(), name
    admitted = synthetic["admitted"].dropna()
    assert (admitted == admitted.dt.normalize()).all()  # day dates in, day dates out
    model.save(tmp_path / "model")
    pd.testing.assert_frame_equal(QEDM.load(tmp_path / "model").sample(20, seed=2), model.sample(20, seed=2))
