"""SDV baselines behind the protocol: seeded, columns kept, clear error without the extra."""

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qedm.baselines import SDVModel, Synthesizer, make_model
from qedm.errors import ConfigError, MissingExtraError

pytest.importorskip("sdv", reason="SDV baselines need the optional extra: pip install 'qedm[sdv]'")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Two cores shared by several processes: torch's thread pool would spin against them."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 120
    x = rng.normal(10.0, 2.0, n)
    return pd.DataFrame({
        "x": x,
        "y": 0.8 * x + rng.normal(0, 0.5, n),
        "count": rng.integers(0, 5, n),
        "colour": rng.choice(["red", "green", "blue"], n, p=[0.6, 0.3, 0.1]),
    })


@pytest.fixture(scope="module")
def copula(table):
    return SDVModel("gaussian_copula", seed=0).fit(table)


def test_gaussian_copula_keeps_columns_and_reproduces_the_marginals(table, copula):
    assert isinstance(copula, Synthesizer)
    fake = copula.sample(400, seed=1)
    assert list(fake.columns) == list(table.columns) and len(fake) == 400
    assert set(fake["colour"]) <= {"red", "green", "blue"}
    # A Gaussian copula must keep the marginal of x (KS two-sample test) and its strong x-y correlation.
    assert stats.ks_2samp(table["x"], fake["x"]).pvalue > 0.01
    assert np.corrcoef(fake["x"], fake["y"])[0, 1] > 0.7
    assert fake["colour"].value_counts(normalize=True)["red"] == pytest.approx(0.6, abs=0.12)


def test_sampling_is_seeded(copula):
    a, b, c = copula.sample(50, seed=7), copula.sample(50, seed=7), copula.sample(50, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("kind", ["ctgan", "tvae"])
def test_neural_baselines_train_for_the_given_epochs_and_are_seeded(table, kind):
    model = make_model(kind, seed=3, epochs=2)
    model.fit(table)
    assert [h["epoch"] for h in model.history] == [1, 2]
    fake = model.sample(60, seed=0)
    assert list(fake.columns) == list(table.columns) and len(fake) == 60
    pd.testing.assert_frame_equal(fake, model.sample(60, seed=0))
    again = make_model(kind, seed=3, epochs=2).fit(table)  # same fit seed -> same weights -> same rows
    pd.testing.assert_frame_equal(fake, again.sample(60, seed=0))
    counts = model.parameter_counts()
    assert counts["quantum"] == 0 and counts["total"] == counts["classical"] > 1000


def test_missing_sdv_raises_missing_extra(monkeypatch, table):
    monkeypatch.setitem(sys.modules, "sdv", None)  # makes `import sdv` fail as if not installed
    with pytest.raises(MissingExtraError, match=r"qedm\[sdv\]"):
        SDVModel("gaussian_copula").fit(table)


def test_bad_names_and_epochs_are_config_errors():
    with pytest.raises(ConfigError, match="'gan'"):
        make_model("gan")
    with pytest.raises(ConfigError, match="epochs"):
        SDVModel("ctgan", epochs=0)


def test_datetimes_and_timedeltas_come_back_with_their_types():
    rng = np.random.default_rng(0)
    n = 120
    days = rng.integers(0, 500, n)
    table = pd.DataFrame({
        "admitted": pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D"),
        "stay": pd.Series(pd.to_timedelta(rng.integers(5, 600, n), unit="min")).where(rng.random(n) > 0.1),
        "cost": days + rng.normal(0, 5, n),
    })
    fake = SDVModel("gaussian_copula", seed=0).fit(table).sample(300, seed=1)
    assert fake.dtypes.to_dict() == table.dtypes.to_dict()
    stay = fake["stay"].dropna()
    assert stay.between(table["stay"].min(), table["stay"].max()).all()
    assert (stay % pd.Timedelta("1min") == pd.Timedelta(0)).all()  # the training resolution
    assert 0.0 < fake["stay"].isna().mean() < 0.3
    assert fake["admitted"].between(table["admitted"].min(), table["admitted"].max()).all()
