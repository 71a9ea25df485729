"""Bundled datasets: the list describes what loads, contents match the source packages, no network."""
import importlib.util
import socket

import numpy as np
import pytest
import sklearn.datasets

from qedm.data.datasets import (
    DEFAULT_DATASET,
    dataset_info,
    list_datasets,
    load_dataset,
    load_digits_images,
)
from qedm.data.table import TableTransformer
from qedm.errors import DataError

INFOS = list_datasets()


def _available(info) -> bool:
    return info.requires is None or importlib.util.find_spec(info.requires) is not None


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a dataset tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_list_has_the_default_first_and_unique_names():
    names = [info.name for info in INFOS]
    assert names[0] == DEFAULT_DATASET == "breast_cancer"
    assert len(set(names)) == len(names)
    assert {"iris", "wine", "diabetes", "student_placements", "fair", "digits"} <= set(names)
    assert all(info.description and info.source for info in INFOS)


@pytest.mark.parametrize("info", INFOS, ids=lambda i: i.name)
def test_each_dataset_loads_offline_as_described(info, no_network):
    if not _available(info):
        with pytest.raises(Exception, match=f"{info.requires}|needs the optional package"):
            load_dataset(info.name)
        return
    df = load_dataset(info.name)
    assert df.shape == (info.n_rows, info.n_columns)
    assert info.target is None or info.target in df.columns
    assert dataset_info(info.name) == info
    if info.kind == "table":
        assert TableTransformer(column_kinds=dict(info.column_kinds)).fit(df).kind_summary() == info.kinds


def test_breast_cancer_matches_sklearn():
    df = load_dataset("breast_cancer")
    ref = sklearn.datasets.load_breast_cancer()
    np.testing.assert_array_equal(df.drop(columns="target").to_numpy(), ref.data)
    labels = np.asarray(ref.target_names)[ref.target]
    assert df["target"].tolist() == labels.tolist()
    assert df["target"].value_counts().to_dict() == {"benign": 357, "malignant": 212}


def test_class_targets_are_string_categories():
    for name in ("iris", "wine"):
        target = load_dataset(name)["target"]
        assert target.dtype == object and target.map(type).eq(str).all()
    assert sorted(load_dataset("iris")["target"].unique()) == ["setosa", "versicolor", "virginica"]


def test_student_placements_keeps_real_missing_values():
    df = load_dataset("student_placements")
    assert not {"student_id", "start_date", "end_date"} & set(df.columns)
    # Salary is missing exactly for the students who were not placed.
    assert df["salary"].isna().equals(~df["placed"])


def test_fair_is_really_imbalanced():
    pytest.importorskip("statsmodels")
    shares = load_dataset("fair")["rate_marriage"].value_counts(normalize=True)
    assert shares.min() < 0.02 and shares.idxmin() == 1


def test_digits_images_match_sklearn():
    x, y = load_digits_images()
    ref = sklearn.datasets.load_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32 and y.shape == (1797,)
    assert x.min() == 0.0 and x.max() == 16.0
    np.testing.assert_array_equal(x.reshape(1797, 64), ref.data)
    np.testing.assert_array_equal(y, ref.target)


def test_unknown_name_lists_valid_names():
    with pytest.raises(DataError, match="unknown dataset 'adult'; valid names: breast_cancer, iris"):
        load_dataset("adult")
    with pytest.raises(DataError, match="valid names"):
        dataset_info("adult")


def test_each_load_is_a_fresh_copy():
    a = load_dataset("iris")
    a.iloc[0, 0] = -1.0
    assert load_dataset("iris").iloc[0, 0] != -1.0
