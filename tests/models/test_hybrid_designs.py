"""Hybrid designs: what each computes, its parameter count, config validation and save/load."""

import numpy as np
import pandas as pd
import pytest
import torch

from qedm import QEDM
from qedm.choices import HYBRID_DESIGNS as DESIGNS
from qedm.config import QEDMConfig
from qedm.errors import ConfigError
from qedm.models import HybridDenoiser


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(design):
    return HybridDenoiser(3, n_qubits=3, n_layers=1, hidden=8, n_blocks=1, time_dim=4, design=design, seed=0)


def test_each_design_computes_its_formula():
    x, t = torch.randn(5, 3), torch.randint(0, 1000, (5,))
    base = build("residual")
    h = base.blocks(base.stem(x, t))
    q = base.vqc(base.circuit_inputs(h)).to(h.dtype)
    c = base.from_circuit(q)
    expected = {"residual": h + c, "bottleneck": c, "gated": 0.5 * h + 0.5 * c}  # gate starts at sigmoid(0)
    for design, z in expected.items():
        model = build(design)
        model.load_state_dict(base.state_dict(), strict=False)
        assert torch.allclose(model(x, t), base.out(z), atol=1e-6), design
    film = build("film")
    film.load_state_dict(base.state_dict(), strict=False)
    assert torch.allclose(film(x, t), base.out(h * (1 + film.modulation(q)) + c), atol=1e-6)
    skip = build("skip")
    skip.load_state_dict(base.state_dict(), strict=False)
    assert torch.allclose(skip(x, t), base.out(c + skip.skip(x)), atol=1e-6)


def test_parameter_counts_per_design():
    counts = {d: build(d).parameter_counts()["total"] for d in DESIGNS}
    n_out = build("residual").vqc.n_outputs
    assert counts["bottleneck"] == counts["residual"]
    assert counts["gated"] == counts["residual"] + 8
    assert counts["film"] == counts["residual"] + n_out * 8 + 8
    assert counts["skip"] == counts["residual"] + 3 * 8 + 8


def test_bad_design_names_the_argument():
    with pytest.raises(ConfigError, match="design"):
        QEDMConfig(design="serial")
    with pytest.raises(ConfigError, match="design"):
        build("serial")


def test_design_survives_save_and_load(tmp_path):
    g = np.random.default_rng(0)
    frame = pd.DataFrame({"a": g.normal(size=60), "b": g.normal(size=60)})
    model = QEDM(denoiser="hybrid", design="film", n_qubits=2, n_layers=1, hidden=8, n_blocks=1,
                 time_dim=4, epochs=1, n_steps=20, sample_steps=4).fit(frame)
    loaded = QEDM.load(model.save(tmp_path / "m"))
    assert loaded.config.design == "film" and loaded.denoiser.design == "film"
    pd.testing.assert_frame_equal(loaded.sample(10, seed=3), model.sample(10, seed=3))
