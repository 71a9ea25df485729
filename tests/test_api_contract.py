"""The estimator contract (scikit-learn / SDV habits): refit resets, no global seeding, device, versions."""

import dataclasses
import importlib
import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import qedm
from qedm.errors import ConfigError, DataError, QEDMError
from qedm.synthesizer import QEDM

SMALL = dict(epochs=2, batch_size=64, hidden=16, n_blocks=1, n_steps=50, checkpoint_every=1)


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(3)
    n = 90
    return pd.DataFrame({"x": rng.normal(0, 1, n), "y": rng.normal(5, 2, n).round(2),
                         "kind": rng.choice(["a", "b", "c"], n)})


def test_qedm_evaluate_is_the_function_even_after_importing_the_subpackage():
    first = qedm.evaluate
    importlib.import_module("qedm.evaluate")  # the subpackage: Python sets qedm.evaluate to it
    from qedm import evaluate

    function = sys.modules["qedm.evaluate.core"].evaluate
    assert first is function and qedm.evaluate is function and evaluate is function
    from qedm.evaluate import METRICS  # the subpackage stays importable by name

    assert "fidelity" in METRICS


def test_config_and_data_errors_are_value_errors(table):
    assert issubclass(ConfigError, ValueError) and issubclass(DataError, ValueError)
    with pytest.raises(ValueError, match="epochs"):
        QEDM(epochs=0)
    with pytest.raises(ValueError, match="condition_column 'nope'"):
        QEDM(denoiser="classical", condition_column="nope", **SMALL).fit(table)


def test_refit_resets_every_fitted_attribute(table):
    model = QEDM(denoiser="classical", condition_column="kind", **SMALL).fit(table)
    assert model.classes == ["a", "b", "c"]
    other = table.drop(columns=["kind"]).rename(columns={"x": "u"})
    model.config = dataclasses.replace(model.config, condition_column=None)  # like set_params
    fresh = QEDM(model.config).fit(other)
    model.fit(other)
    for name in ("classes", "class_priors", "class_dtype", "condition_name", "columns"):
        assert getattr(model, name) == getattr(fresh, name), name
    assert model.classes is None and model.condition_name is None
    pd.testing.assert_frame_equal(model.sample(20, seed=4), fresh.sample(20, seed=4))
    samples, labels = model.sample(5, seed=1, return_labels=True)
    assert labels is None and list(samples.columns) == ["u", "y"]


def test_refit_of_images_forgets_the_old_labels():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 16, (40, 4, 4))
    model = QEDM(denoiser="classical", **SMALL).fit(images, labels=rng.integers(0, 2, 40))
    assert model.classes == [0, 1]
    model.fit(images)
    _, labels = model.sample(6, seed=2, return_labels=True)
    assert model.classes is None and labels is None


def test_fit_leaves_the_global_torch_rng_alone_and_is_still_reproducible(table):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = QEDM(denoiser="classical", dropout=0.2, **SMALL).fit(table)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(999)  # another global state: the same seed still gives the same model
    b = QEDM(denoiser="classical", dropout=0.2, **SMALL).fit(table)
    for (name, pa), (_, pb) in zip(a.denoiser.state_dict().items(), b.denoiser.state_dict().items()):
        assert torch.equal(pa, pb), name


def test_device_is_validated_and_cuda_without_cuda_is_an_error(table, monkeypatch):
    with pytest.raises(ConfigError, match="device='gpu0'"):
        QEDM(device="gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = QEDM(denoiser="classical", device="cuda", **SMALL)  # a config may name CUDA anywhere
    with pytest.raises(ConfigError, match="device='cuda'.*not available"):
        model.fit(table)


def test_a_cuda_model_loads_on_a_cpu_machine(table, tmp_path, monkeypatch):
    model = QEDM(denoiser="classical", **SMALL).fit(table)
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["device"] = "cuda"  # as written by a model fitted on a GPU
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = QEDM.load(tmp_path / "m")
    assert loaded.config.device == "cpu" and next(loaded.denoiser.parameters()).device.type == "cpu"
    pd.testing.assert_frame_equal(loaded.sample(10, seed=3), model.sample(10, seed=3))
    with pytest.raises(ConfigError, match="device='cuda'"):
        QEDM.load(tmp_path / "m", device="cuda")


@pytest.mark.gpu
def test_cuda_fit_sample_save_load_round_trip(table, tmp_path):
    model = QEDM(denoiser="hybrid", device="cuda", n_qubits=3, n_layers=1, **SMALL).fit(table)
    assert next(model.denoiser.parameters()).device.type == "cuda"
    on_gpu = model.sample(30, seed=2)
    model.save(tmp_path / "m")
    weights = torch.load(tmp_path / "m" / "weights.pt", weights_only=True)
    assert all(t.device.type == "cpu" for t in weights.values())
    on_cpu = QEDM.load(tmp_path / "m", device="cpu").sample(30, seed=2)
    again = QEDM.load(tmp_path / "m").sample(30, seed=2)
    assert QEDM.load(tmp_path / "m").config.device == "cuda"
    pd.testing.assert_frame_equal(on_gpu, again)
    np.testing.assert_allclose(on_cpu[["x", "y"]].to_numpy(), on_gpu[["x", "y"]].to_numpy(), rtol=1e-3, atol=1e-2)


def test_load_checks_the_saved_version(table, tmp_path):
    QEDM(denoiser="classical", **SMALL).fit(table).save(tmp_path / "m")
    meta_path = tmp_path / "m" / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["qedm_version"] == qedm.__version__
    meta["qedm_version"] = "0.0.9"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(QEDMError, match=r"saved with qedm 0\.0\.9.*this is qedm .*pip install 'qedm==0\.0\.9'"):
        QEDM.load(tmp_path / "m")
    meta["qedm_version"] = qedm.__version__.rsplit(".", 1)[0] + ".99"  # a patch release reads the same files
    meta_path.write_text(json.dumps(meta))
    QEDM.load(tmp_path / "m")
