"""EMA of the weights: the closed-form update, the warm-up, and a resumed fit that equals an unbroken one."""
import numpy as np
import pandas as pd
import pytest
import torch

from qedm.config import QEDMConfig
from qedm.errors import ConfigError
from qedm.synthesizer import QEDM
from qedm.training import _EMA

SMALL = dict(denoiser="classical", epochs=3, batch_size=32, hidden=16, n_blocks=1, n_steps=50, checkpoint_every=1)


def test_update_follows_the_warmed_up_decay():
    model = torch.nn.Linear(2, 1)
    start = [p.detach().clone() for p in model.parameters()]
    ema = _EMA(model, decay=0.99)
    expected = [s.clone() for s in start]
    for step in range(1, 4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        ema.update(model)
        decay = min(0.99, (1 + step) / (10 + step))
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, model.parameters())]
    for got, want in zip(ema.shadow, expected):
        assert torch.allclose(got, want, atol=1e-6)
    ema.copy_to(model)
    assert all(torch.equal(p, s) for p, s in zip(model.parameters(), ema.shadow))


def test_ema_fit_resumes_to_the_same_weights_and_differs_from_no_ema(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=100), "c": rng.choice(["a", "b"], 100)})
    full = QEDM(ema_decay=0.9, **SMALL).fit(table, run_dir=tmp_path / "full")
    QEDM(ema_decay=0.9, **{**SMALL, "epochs": 2}).fit(table, run_dir=tmp_path / "cut")
    resumed = QEDM(ema_decay=0.9, **SMALL).fit(table, run_dir=tmp_path / "cut")
    plain = QEDM(ema_decay=0.0, **SMALL).fit(table)
    for name, value in full.denoiser.state_dict().items():
        assert torch.allclose(value, resumed.denoiser.state_dict()[name]), name
    assert not all(torch.allclose(v, plain.denoiser.state_dict()[k]) for k, v in full.denoiser.state_dict().items())


def test_ema_decay_is_validated():
    with pytest.raises(ConfigError, match="ema_decay"):
        QEDMConfig(ema_decay=1.0)
