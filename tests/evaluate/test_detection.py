"""C2ST: same distribution -> AUC near 0.5, noise or broken dependencies -> AUC near 1."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from qedm.errors import ConfigError, DataError
from qedm.evaluate.detection import c2st_auc


@pytest.fixture(scope="module")
def cancer():
    frame = load_breast_cancer(as_frame=True).frame
    return frame[list(frame.columns[:10]) + ["target"]]


def test_independent_sample_is_indistinguishable():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abc"), 600)})
    syn = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abc"), 600)})
    res = c2st_auc(real, syn, seed=0)
    assert 0.4 < res.auc_mean < 0.6
    assert set(res.per_model["model"]) == {"logistic", "gradient_boosting"}
    assert len(res.per_model.loc[0, "fold_aucs"]) == 5


def test_noise_is_detected(cancer):
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(rng.normal(size=cancer.shape), columns=cancer.columns)
    noise["target"] = rng.integers(0, 2, len(noise))
    res = c2st_auc(cancer, noise)
    assert res.auc_mean > 0.98


def test_shuffled_columns_are_detected(cancer):
    rng = np.random.default_rng(1)
    shuffled = cancer.apply(lambda c: pd.Series(rng.permutation(c.to_numpy()), index=cancer.index))
    res = c2st_auc(cancer, shuffled)
    assert res.auc_mean > 0.85  # same marginals; only the dependencies differ


def test_classes_are_balanced_by_subsampling():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=400)})
    syn = pd.DataFrame({"x": rng.normal(size=90)})
    assert c2st_auc(real, syn, models=("logistic",)).n_per_class == 90


def test_bad_arguments_raise():
    frame = pd.DataFrame({"x": np.arange(20.0)})
    with pytest.raises(ConfigError, match="unknown detector"):
        c2st_auc(frame, frame, models=("svm",))
    with pytest.raises(DataError, match="at least n_folds"):
        c2st_auc(frame, frame.iloc[:3])
