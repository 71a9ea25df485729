"""Denoisers: shapes, closed-form parameter counts, conditioning, gradients, training, errors."""

import numpy as np
import pytest
import torch

from qedm.diffusion.process import diffusion_loss
from qedm.diffusion.samplers import sample
from qedm.diffusion.schedules import make_schedule
from qedm.errors import ConfigError, DataError
from qedm.models import (
    ClassicalDenoiser,
    HybridDenoiser,
    QuantumDenoiser,
    SinusoidalTimeEmbedding,
    build_denoiser,
    denoiser_arguments,
    matched_classical_hidden,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one intra-op thread avoids oversubscribing the shared CPU (far faster here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SMALL = {
    "classical": dict(hidden=16, n_blocks=2, time_dim=8),
    "hybrid": dict(n_qubits=3, n_layers=2, hidden=16, time_dim=8, seed=0),
    "quantum": dict(n_qubits=3, n_layers=2, time_dim=4, seed=0),
}


def batch(d=3, b=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g), torch.randint(0, 1000, (b,), generator=g)


def test_sinusoidal_embedding_closed_form():
    t = torch.tensor([0, 1, 17, 999])
    emb = SinusoidalTimeEmbedding(6)(t).numpy()
    freqs = 10_000.0 ** (-np.arange(3) / 3)
    args = t.numpy()[:, None] * freqs[None, :]
    np.testing.assert_allclose(emb, np.concatenate([np.cos(args), np.sin(args)], 1), rtol=1e-5, atol=1e-5)
    assert SinusoidalTimeEmbedding(5)(t).shape == (4, 5)
    assert not list(SinusoidalTimeEmbedding(6).parameters())


@pytest.mark.parametrize("name,kwargs", [
    ("classical", SMALL["classical"]),
    ("hybrid", SMALL["hybrid"]),
    ("hybrid", dict(SMALL["hybrid"], encoding="angle", observables="z")),
    ("hybrid", dict(SMALL["hybrid"], encoding="iqp", entangler="all")),
    ("quantum", SMALL["quantum"]),
    ("quantum", dict(SMALL["quantum"], encoding="amplitude")),
])
def test_shapes_and_time_conditioning(name, kwargs):
    model = build_denoiser(name, 3, **kwargs)
    x, t = batch()
    out = model(x, t)
    assert out.shape == (5, 3) and out.dtype == torch.float32 and torch.isfinite(out).all()
    other = model(x, (t + 311) % 1000)
    assert (out - other).abs().max() > 1e-5, "the output must depend on the timestep"


@pytest.mark.parametrize("d,h,n,td,classes", [(3, 16, 2, 8, None), (7, 128, 3, 64, None), (5, 33, 0, 32, 4)])
def test_classical_parameter_count_closed_form(d, h, n, td, classes):
    model = ClassicalDenoiser(d, h, n, td, n_classes=classes)
    labels = (classes + 1) * h if classes else 0
    expected = (1 + 2 * n) * h * h + (2 * d + td + 3 + 2 * n) * h + d + labels
    actual = sum(p.numel() for p in model.parameters())
    assert actual == expected == ClassicalDenoiser.count_parameters(d, h, n, td, classes)
    assert model.parameter_counts() == {"classical": expected, "quantum": 0, "total": expected}


@pytest.mark.parametrize("encoding,n_inputs", [("reupload", 4), ("amplitude", 16)])
def test_hybrid_and_quantum_parameter_counts(encoding, n_inputs):
    d, h, q, layers, td = 3, 16, 4, 2, 8
    m = q + q  # observables="both" on a 4-qubit ring: 4 singles + 4 neighbour pairs
    hybrid = HybridDenoiser(d, q, layers, hidden=h, n_blocks=1, time_dim=td, encoding=encoding)
    stem = (d + 1) * h + (td + 1) * h + (h + 1) * h
    classical = stem + 2 * (h * h + h) + (h + 1) * n_inputs + (m + 1) * h + (h + 1) * d
    assert hybrid.parameter_counts() == {"classical": classical, "quantum": layers * q * 3,
                                         "total": classical + layers * q * 3}
    quantum = QuantumDenoiser(d, q, layers, time_dim=td, encoding=encoding)
    classical = (d + td + 1) * n_inputs + (m + 1) * d
    assert quantum.parameter_counts() == {"classical": classical, "quantum": layers * q * 3,
                                          "total": classical + layers * q * 3}


@pytest.mark.parametrize("d,target,n,td", [(3, 5000, 2, 32), (12, 60_000, 3, 64), (2, 300, 1, 8), (4, 10, 2, 32)])
def test_matched_classical_hidden_is_the_closest_width(d, target, n, td):
    h = matched_classical_hidden(d, target, n_blocks=n, time_dim=td)
    gaps = {w: abs(ClassicalDenoiser.count_parameters(d, w, n, td) - target) for w in range(1, 700)}
    assert gaps[h] == min(gaps.values())
    with pytest.raises(ConfigError, match="target_params"):
        matched_classical_hidden(d, 0)


@pytest.mark.parametrize("name", ["hybrid", "quantum"])
def test_gradients_reach_circuit_and_classical_layers(name):
    model = build_denoiser(name, 3, **SMALL[name])
    x, t = batch()
    model(x, t).pow(2).sum().backward()
    assert model.vqc.weights.grad is not None and model.vqc.weights.grad.abs().sum() > 0
    first = model.stem.in_proj.weight if name == "hybrid" else model.read_in.weight
    assert first.grad is not None and first.grad.abs().sum() > 0


def test_circuit_gradient_matches_finite_difference():
    """d out / d VQC weight by autograd equals a central finite difference."""
    model = HybridDenoiser(2, 3, 2, hidden=8, time_dim=4, seed=1)
    x, t = batch(d=2, b=3)
    model(x, t).sum().backward()
    grad = model.vqc.weights.grad.clone()
    assert grad.abs().max() > 1e-3
    h = 1e-2
    with torch.no_grad():
        w = model.vqc.weights
        for idx in [(0, 0, 1), (1, 2, 0), (1, 1, 2)]:
            w[idx] += h
            up = model(x, t).double().sum().item()
            w[idx] -= 2 * h
            down = model(x, t).double().sum().item()
            w[idx] += h
            assert grad[idx].item() == pytest.approx((up - down) / (2 * h), rel=2e-2, abs=2e-4)


@pytest.mark.parametrize("name,kwargs,steps,lr", [
    ("classical", dict(hidden=32, n_blocks=1, time_dim=16, seed=0), 60, 2e-2),
    ("hybrid", dict(n_qubits=3, n_layers=2, hidden=16, time_dim=8, seed=0), 40, 2e-2),
    ("quantum", dict(n_qubits=3, n_layers=2, time_dim=4, seed=0), 60, 5e-2),
])
def test_tiny_training_reduces_the_loss(name, kwargs, steps, lr):
    sch = make_schedule("cosine", 100)
    g = torch.Generator().manual_seed(0)
    data = torch.tensor([2.0, -1.0]) + 0.3 * torch.randn(512, 2, generator=g)
    model = build_denoiser(name, 2, **kwargs)

    def held_out() -> float:
        with torch.no_grad():
            return diffusion_loss(model, data, sch, generator=123).item()

    before = held_out()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, 512, (128,), generator=g)
        loss = diffusion_loss(model, data[idx], sch, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = held_out()
    assert after < 0.6 * before, (before, after)


@pytest.mark.parametrize("name", ["classical", "hybrid", "quantum"])
def test_class_labels(name):
    model = build_denoiser(name, 3, n_classes=2, **SMALL[name])
    x, t = batch()
    y0, y1 = torch.zeros(5, dtype=torch.long), torch.ones(5, dtype=torch.long)
    assert (model(x, t, y0) - model(x, t, y1)).abs().max() > 1e-6
    torch.testing.assert_close(model(x, t, torch.full((5,), -1)), model(x, t))
    with pytest.raises(DataError, match="labels y"):
        model(x, t, torch.full((5,), 2))
    plain = build_denoiser(name, 3, **SMALL[name])
    with pytest.raises(ConfigError, match="n_classes"):
        plain(x, t, y0)


@pytest.mark.parametrize("name", ["classical", "hybrid", "quantum"])
def test_seed_and_config_rebuild_the_same_model(name):
    state = torch.random.get_rng_state()
    a = build_denoiser(name, 3, **SMALL[name], **({} if name != "classical" else {"seed": 4}))
    assert torch.equal(torch.random.get_rng_state(), state), "building must not move the global RNG"
    b = build_denoiser(a.name, **a.config)
    for p, q in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(p, q)
    x, t = batch()
    out = sample(lambda x_t, tt: a(x_t, tt), make_schedule("linear", 20), 4, 3, steps=3, generator=0)
    assert out.shape == (4, 3)


def test_registry_rejects_what_the_denoiser_does_not_take():
    model = build_denoiser("classical", 3, hidden=8, time_dim=4)
    assert isinstance(model, ClassicalDenoiser) and model.hidden == 8
    assert isinstance(build_denoiser("quantum", 2, n_qubits=2, n_layers=1), QuantumDenoiser)
    assert "n_qubits" in denoiser_arguments("hybrid") and "n_qubits" not in denoiser_arguments("classical")
    with pytest.raises(ConfigError, match="n_qubits.*'classical' takes: hidden, n_blocks"):
        build_denoiser("classical", 3, hidden=8, n_qubits=6)  # no longer silently ignored
    with pytest.raises(ConfigError, match="hidden.*'quantum' takes"):
        build_denoiser("quantum", 2, hidden=128)
    with pytest.raises(ConfigError, match="denoiser='transformer'"):
        build_denoiser("transformer", 3)
    with pytest.raises(ConfigError, match="n_qbits"):
        build_denoiser("hybrid", 3, n_qbits=4)


@pytest.mark.parametrize("name,kwargs,match", [
    ("classical", dict(hidden=0), "hidden"),
    ("classical", dict(n_blocks=-1), "n_blocks"),
    ("classical", dict(dropout=1.5), "dropout"),
    ("classical", dict(time_dim=2.5), "time_dim"),
    ("hybrid", dict(encoding="basis"), "encoding"),
    ("hybrid", dict(entangler="line"), "entangler"),
    ("hybrid", dict(n_qubits=0), "n_qubits"),
    ("hybrid", dict(n_qubits=25), "n_qubits"),
    ("quantum", dict(observables="x"), "observables"),
    ("quantum", dict(gradient="adjoint"), "gradient"),
    ("quantum", dict(n_layers=0), "n_layers"),
])
def test_bad_values_name_the_argument(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_denoiser(name, 3, **kwargs)
    with pytest.raises(ConfigError, match="data_dim"):
        build_denoiser(name, 0)


@pytest.mark.parametrize("name", ["hybrid", "quantum"])
def test_parameter_shift_gradients_match_backprop(name):
    """The hardware-style gradient path (parameter-shift, exact expectations) agrees with autograd."""
    x, t = batch(d=2, b=4)
    grads = {}
    for method in ("backprop", "parameter-shift"):
        model = build_denoiser(name, 2, **dict(SMALL[name], gradient=method))
        model(x, t).pow(2).sum().backward()
        grads[method] = {k: p.grad.clone() for k, p in model.named_parameters()}
    for key, g in grads["backprop"].items():
        torch.testing.assert_close(grads["parameter-shift"][key], g, rtol=1e-3, atol=1e-5, msg=key)


@pytest.mark.parametrize("name", ["classical", "hybrid", "quantum"])
def test_numpy_integer_sizes_are_accepted(name):
    model = build_denoiser(name, np.int64(3), **{k: np.int64(v) if type(v) is int and k != "seed" else v
                                                 for k, v in SMALL[name].items()})
    x, t = batch()
    assert model(x, t).shape == (5, 3) and isinstance(model.config["data_dim"], int)


@pytest.mark.parametrize("name", ["classical", "hybrid", "quantum", "quantum_dense"])
def test_constructor_defaults_are_the_declared_settings(name):
    """One source of defaults: each denoiser's signature defaults equal its settings dataclass."""
    import dataclasses
    import inspect

    from qedm.models.configs import DENOISER_CONFIGS
    from qedm.models.registry import DENOISERS

    params = inspect.signature(DENOISERS[name].__init__).parameters
    settings = DENOISER_CONFIGS[name]
    assert DENOISERS[name].settings is settings
    for f in dataclasses.fields(settings):
        assert params[f.name].default == f.default, f.name
