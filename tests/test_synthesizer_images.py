"""QEDM's image mode: [N, H, W] in, [n, H, W] out on the input's scale; labels condition it."""

import numpy as np
import pytest
from typer.testing import CliRunner

from qedm.cli import app
from qedm.data.datasets import load_digits_images
from qedm.errors import ConfigError
from qedm.synthesizer import QEDM

SMALL = dict(epochs=2, batch_size=128, n_steps=100, checkpoint_every=1)


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits_images()
    return images[:300], labels[:300]


@pytest.mark.parametrize("denoiser,settings", [("classical", dict(hidden=16)),
                                               ("hybrid", dict(n_qubits=3, hidden=16, n_layers=3)),
                                               ("quantum_dense", dict(n_layers=3))])
def test_image_models_sample_images_of_the_right_shape_and_range(digits, denoiser, settings, tmp_path):
    images, labels = digits
    model = QEDM(denoiser=denoiser, **settings, **SMALL).fit(images, labels=labels)
    samples, classes = model.sample(6, seed=0, conditions={"label": 3}, return_labels=True)
    assert samples.shape == (6, 8, 8) and samples.dtype.kind == "f"
    assert samples.min() >= 0.0 and samples.max() <= 16.0
    assert (classes == 3).all()
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(QEDM.load(tmp_path / "m").sample(4, seed=2), model.sample(4, seed=2))


def test_image_conditions_must_name_a_known_class(digits):
    images, labels = digits
    model = QEDM(denoiser="classical", hidden=16, **SMALL).fit(images, labels=labels)
    with pytest.raises(ConfigError, match="not a class"):
        model.sample(2, conditions={"label": 12})
    with pytest.raises(ConfigError, match="cannot condition on target"):
        model.sample(2, conditions={"target": 1})


def test_cli_fits_digits_and_writes_npy_and_grid(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("hidden: 16\nn_steps: 50\nepochs: 1\ndenoiser: classical\n")
    run = tmp_path / "digits"
    runner = CliRunner()
    result = runner.invoke(app, ["fit", "--dataset", "digits", "--out", str(run), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (run / "samples.npy").is_file()
    out, grid = tmp_path / "s.npy", tmp_path / "grid.png"
    result = runner.invoke(app, ["sample", str(run), "-n", "8", "-o", str(out), "--grid", str(grid),
                                 "--condition", "label=7"])
    assert result.exit_code == 0, result.output
    assert np.load(out).shape == (8, 8, 8)
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runner.invoke(app, ["sample", str(run), "-n", "8", "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 1 and ".npy" in result.output
