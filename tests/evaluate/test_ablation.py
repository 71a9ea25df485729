"""Ablations: the mean ablation against closed-form expectations, the random circuit, the CI and verdict."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from qedm.diffusion.schedules import make_schedule
from qedm.errors import ConfigError
from qedm.evaluate.ablation import (
    ablate_denoiser,
    ablate_fitted,
    circuit_verdict,
    heldout_loss,
    mean_ablated,
    randomise_circuit,
    t_interval,
)
from qedm.models import ClassicalDenoiser, HybridDenoiser
from qedm.training import train_denoiser


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def toy_rows(n=256, seed=0):
    """Two tight clusters in 2-D: a denoiser that sees x_t predicts eps far better than a constant."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-0.8, 0.5], [0.8, -0.5]])
    return centres[torch.randint(0, 2, (n,), generator=g)] + 0.05 * torch.randn(n, 2, generator=g)


SCHEDULE = make_schedule("cosine", 100)


def small_hybrid(design="residual", seed=0):
    return HybridDenoiser(2, n_qubits=3, n_layers=2, hidden=16, n_blocks=1, time_dim=8, design=design, seed=seed)


def test_mean_ablation_of_a_constant_circuit_changes_nothing():
    model = small_hybrid()
    with torch.no_grad():  # the circuit reads a constant: Linear with zero weights, so q is the same for every row
        model.to_circuit.weight.zero_()
    rows = toy_rows(64)
    full = heldout_loss(model, rows, SCHEDULE, seed=3)
    with mean_ablated(model.vqc):
        ablated = heldout_loss(model, rows, SCHEDULE, seed=3)
    assert ablated == pytest.approx(full, abs=1e-6)
    result = ablate_denoiser(model, rows, SCHEDULE, seed=3)
    assert result.columns()["ablation_mean_loss_delta"] == pytest.approx(0.0, abs=1e-6)
    assert result.circuit_output_std == pytest.approx(0.0, abs=1e-6)


def test_mean_ablation_destroys_a_prediction_that_passes_only_through_the_circuit():
    rows = toy_rows()
    model = small_hybrid("bottleneck")
    train_denoiser(model, rows, SCHEDULE, epochs=40, batch_size=64, lr=1e-2, seed=0)
    held = toy_rows(256, seed=1)
    full = heldout_loss(model, held, SCHEDULE, seed=5, draws=2)
    # the best prediction that ignores the input is the batch mean of the noise: its MSE is the
    # noise's per-feature variance over the same draws, ~1
    g = torch.Generator().manual_seed(5)
    torch.randint(0, SCHEDULE.n_steps, (held.shape[0] * 2,), generator=g)  # diffusion_loss draws t first
    eps = torch.randn(held.shape[0] * 2, 2, generator=g)
    best_constant = float(eps.var(dim=0, unbiased=False).mean())
    with mean_ablated(model.vqc), torch.no_grad():
        ablated = heldout_loss(model, held, SCHEDULE, seed=5, draws=2)
        x = torch.randn(32, 2)
        pred = model(x, torch.randint(0, 100, (32,)))
    assert full < 0.8 * best_constant  # the trained model uses its input
    assert ablated >= best_constant - 1e-4  # ... and without the circuit it cannot
    assert float(pred.std(dim=0).max()) < 1e-5  # every row gets the same prediction


def test_random_circuit_is_frozen_uniform_and_keeps_the_rest():
    model = small_hybrid()
    random = randomise_circuit(model, seed=1)
    w = random.vqc.weights
    assert not w.requires_grad and float(w.min()) >= 0 and float(w.max()) < 2 * np.pi
    assert not torch.allclose(w, model.vqc.weights)
    assert torch.equal(random.from_circuit.weight, model.from_circuit.weight)
    before = w.detach().clone()
    train_denoiser(random, toy_rows(64), SCHEDULE, epochs=2, batch_size=32, lr=1e-2, seed=0)
    assert torch.equal(random.vqc.weights, before)  # the retrain only moves the classical parts
    assert not torch.equal(random.from_circuit.weight, model.from_circuit.weight)


def test_ablation_needs_a_circuit_and_heldout_loss_is_seeded():
    model = ClassicalDenoiser(2, hidden=8, n_blocks=1, time_dim=8, seed=0)
    with pytest.raises(ConfigError, match="circuit"):
        ablate_denoiser(model, toy_rows(8), SCHEDULE)
    a = heldout_loss(model, toy_rows(32), SCHEDULE, seed=2)
    assert a == heldout_loss(model, toy_rows(32), SCHEDULE, seed=2)
    assert a != heldout_loss(model, toy_rows(32), SCHEDULE, seed=3)


def test_t_interval_matches_scipy():
    values = [0.1, 0.4, 0.25, 0.3, 0.2]
    mean, low, high = t_interval(values)
    ref = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (low, high) == pytest.approx(ref)
    assert mean == pytest.approx(0.25)
    assert np.isnan(t_interval([1.0])[1])


def test_verdict_follows_the_numbers():
    yes = circuit_verdict([0.05, 0.06, 0.055], [0.02, 0.03, 0.025], [0.3, 0.3, 0.3], [0.31, 0.32, 0.30])
    assert yes.startswith("The circuit contributes measurably") and "beats a frozen random one" in yes
    assert "matched classical" in yes
    no = circuit_verdict([0.0001, -0.0002, 0.0], [0.0, 0.0, 0.0], [0.3, 0.3, 0.3])
    assert no.startswith("The circuit does not contribute measurably") and "does not measurably beat" in no
    noisy = circuit_verdict([0.2, -0.19, 0.01], [], [0.3, 0.3, 0.3])  # large but the CI spans 0
    assert "does not contribute" in noisy


def test_ablate_fitted_on_a_qedm(one_thread):
    from qedm import QEDM

    g = np.random.default_rng(0)
    frame = pd.DataFrame({"a": g.normal(size=120), "b": g.normal(size=120),
                          "c": g.choice(["x", "y"], size=120)})
    model = QEDM(denoiser="hybrid", n_qubits=2, n_layers=1, hidden=16, n_blocks=1, time_dim=8, epochs=2,
                 n_steps=50, batch_size=64).fit(frame[:80])
    columns = ablate_fitted(model, frame[:80], frame[80:], retrain_epochs=1, quality=False).columns()
    assert set(columns) >= {"heldout_loss", "ablation_mean_loss_delta", "ablation_random_loss_delta"}
    assert np.isfinite(columns["ablation_random_loss_delta"]) and np.isnan(columns["ablation_mean_quality_delta"])
