"""Gradient health: the logged norms against autograd, the flags, and metrics.jsonl."""

import json
import math

import pytest
import torch

from qedm.diffusion.noise import PRNGNoise
from qedm.diffusion.process import diffusion_loss
from qedm.diffusion.schedules import make_schedule
from qedm.gradient_health import GradientMonitor, gradient_flags, gradient_warning
from qedm.models import ClassicalDenoiser, HybridDenoiser
from qedm.training import train_denoiser

SCHEDULE = make_schedule("cosine", 100)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rows(n=48, d=3, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def hybrid(seed=0, **kwargs):
    return HybridDenoiser(3, n_qubits=3, n_layers=2, hidden=16, n_blocks=1, time_dim=8, seed=seed, **kwargs)


def reference_norms(model, data, seed):
    """Replay train_denoiser's first step (one batch per epoch) and take the gradients with autograd.grad."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(data.shape[0], generator=gen)
    captured = []
    handle = model.vqc.register_forward_pre_hook(lambda m, args: captured.append(args[0]))
    model.train()
    loss = diffusion_loss(model, data[order], SCHEDULE, generator=PRNGNoise(generator=gen))
    handle.remove()
    circuit = list(model.vqc.parameters())
    classical = [p for n, p in model.named_parameters() if not n.startswith("vqc.")]
    grads = torch.autograd.grad(loss, circuit + classical + captured)
    norm = lambda gs: math.sqrt(sum(float(g.double().pow(2).sum()) for g in gs))  # noqa: E731
    return (norm(grads[:len(circuit)]), norm(grads[len(circuit) + len(classical):]),
            norm(grads[len(circuit):len(circuit) + len(classical)]))


def test_logged_norms_match_autograd(tmp_path):
    data = rows()
    model = hybrid()
    expected = reference_norms(hybrid(), data, seed=4)  # an identical fresh model
    metrics = tmp_path / "metrics.jsonl"
    train_denoiser(model, data, SCHEDULE, epochs=2, batch_size=64, lr=1e-2, seed=4, metrics_path=metrics)
    first = json.loads(metrics.read_text().splitlines()[0])
    got = (first["grad_circuit_norm"], first["grad_circuit_input_norm"], first["grad_classical_norm"])
    assert got == pytest.approx(expected, rel=1e-5)
    assert min(expected) > 0
    n_circuit, n_classical = 2 * 3 * 3, sum(p.numel() for p in model.parameters()) - 18
    ratio = (expected[0] / math.sqrt(n_circuit)) / (expected[2] / math.sqrt(n_classical))
    assert first["grad_circuit_ratio"] == pytest.approx(ratio, rel=1e-5)


def test_a_circuit_cut_off_from_autograd_is_flagged():
    model = hybrid()
    original = model.vqc.forward
    model.vqc.forward = lambda x: original(x.detach()).detach()  # the withdrawn-paper bug: no gradient path
    state = train_denoiser(model, rows(), SCHEDULE, epochs=2, batch_size=16, lr=1e-2, seed=0)
    flags = gradient_flags(state.history)
    assert flags["grad_circuit_norm"] == 0 and flags["grad_flag"] == 1
    assert "unhealthy" in gradient_warning(state.history)
    healthy = train_denoiser(hybrid(), rows(), SCHEDULE, epochs=2, batch_size=16, lr=1e-2, seed=0)
    assert gradient_flags(healthy.history)["grad_flag"] == 0 and gradient_warning(healthy.history) is None


def test_models_without_a_circuit_log_no_gradient_figures():
    model = ClassicalDenoiser(3, hidden=8, n_blocks=1, time_dim=8, seed=0)
    assert GradientMonitor.attach(model) is None
    state = train_denoiser(model, rows(), SCHEDULE, epochs=1, batch_size=16, lr=1e-2, seed=0)
    assert "grad_circuit_norm" not in state.history[0] and gradient_flags(state.history) == {}
