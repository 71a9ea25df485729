"""Quantum dense denoisers against PennyLane, plus shapes, gradients, parameter counts and
conditioning of every image denoiser at the benchmark's widths."""

import math

import numpy as np
import pennylane as qml
import pytest
import torch

from qedm.errors import ConfigError
from qedm.models.classical import ClassicalDenoiser, matched_classical_hidden
from qedm.models.hybrid import HybridDenoiser
from qedm.models.quantum_dense import KolleDenseDenoiser, QuantumDenseDenoiser

DEV = qml.device("default.qubit", wires=6)


@pytest.mark.parametrize("entangler", ["cnot", "crx"])
def test_final_state_matches_pennylane(entangler):
    gates = ("RY",) if entangler == "cnot" else ("RY", "RZ")
    model = QuantumDenseDenoiser(n_layers=7, n_blocks=3, n_classes=3, entangler=entangler, time_gates=gates,
                                 time_phases=False, seed=1, dtype=torch.complex128).double()
    if entangler == "crx":
        with torch.no_grad():
            model.ent_angles.normal_(0, 1.0)
    x = torch.randn(2, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    t, y = torch.tensor([5, 900]), torch.tensor([1, -1])
    state = model.final_state(x, t, y).detach().numpy()
    blocks = [(0, 3), (3, 2), (5, 2)]  # 7 layers in 3 near-equal blocks
    w, ta, la = (p.detach().numpy() for p in (model.weights, model.time_angles, model.label_angles))
    ent = model.ent_angles.detach().numpy() if entangler == "crx" else None

    @qml.qnode(DEV)
    def circuit(features, tau, label):
        qml.AmplitudeEmbedding(features, wires=range(6), normalize=True)
        for k, (first, size) in enumerate(blocks):
            for q in range(6):
                qml.RY(tau * ta[k, q, 0], wires=q)
                if len(gates) == 2:
                    qml.RZ(tau * ta[k, q, 1], wires=q)
                qml.RX(la[k, label, q], wires=q)
            if entangler == "cnot":
                qml.StronglyEntanglingLayers(w[first:first + size], wires=range(6),
                                             ranges=[(first + i) % 5 + 1 for i in range(size)])
                continue
            for layer in range(first, first + size):  # Rot, then CRX on the same (control, target) pairs
                for q in range(6):
                    qml.Rot(*w[layer, q], wires=q)
                for q in range(6):
                    qml.CRX(ent[layer, q], wires=[q, (q + layer % 5 + 1) % 6])
        return qml.state()

    for i, label in enumerate([1, 3]):  # -1 is the null class, row n_classes
        ref = circuit(x[i].numpy(), float(t[i]) * math.pi / 999, label)
        np.testing.assert_allclose(state[i], ref, atol=1e-10)


def test_kolle_model_matches_pennylane_qdense():
    model = KolleDenseDenoiser(seed=0, dtype=torch.complex128).double()
    x = torch.rand(3, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    angles = math.pi * np.tanh(model.weights.detach().numpy())

    @qml.qnode(DEV)
    def circuit(features):
        qml.AmplitudeEmbedding(features, wires=range(6), normalize=True, pad_with=0.1)
        qml.StronglyEntanglingLayers(angles, wires=range(6))
        return qml.probs(wires=range(6))

    ref = np.clip(np.stack([circuit(r.numpy()) for r in x]) * 64, 0, 1)
    np.testing.assert_allclose(model(x).detach().numpy(), ref, atol=1e-10)
    assert model.parameter_counts() == {"classical": 0, "quantum": 990, "total": 990}


@pytest.mark.parametrize("readout, n_classes", [("both", None), ("amplitude", 10), ("probability", None)])
def test_parameter_counts_closed_form(readout, n_classes):
    model = QuantumDenseDenoiser(n_layers=44, n_blocks=4, n_classes=n_classes, readout=readout, time_phases=False)
    quantum = 44 * 6 * (3 + 1) + 4 * 6 + (4 * (n_classes + 1) * 6 if n_classes else 0)  # Rot + CRX angles
    classical = {"both": 3, "amplitude": 2, "probability": 2}[readout] * 64
    assert model.parameter_counts() == {"classical": classical, "quantum": quantum, "total": quantum + classical}


def _image_denoisers():
    h1k = matched_classical_hidden(64, 1000, n_blocks=1, time_dim=8, n_classes=10)
    return [
        QuantumDenseDenoiser(n_layers=10, n_blocks=2, n_classes=10, seed=0),
        ClassicalDenoiser(64, hidden=h1k, n_blocks=1, time_dim=8, n_classes=10, seed=0),
        HybridDenoiser(64, hidden=5, n_blocks=0, time_dim=8, n_layers=3, n_classes=10, seed=0),
    ]


@pytest.mark.parametrize("model", _image_denoisers(), ids=["quantum_dense", "classical", "hybrid"])
def test_image_denoisers_shapes_gradients_and_labels(model):
    gen = torch.Generator().manual_seed(0)
    x, t = torch.randn(5, 64, generator=gen), torch.randint(0, 1000, (5,), generator=gen)
    y = torch.tensor([0, 1, 2, 3, -1])
    out = model(x, t, y)
    assert out.shape == (5, 64) and out.dtype == torch.float32
    out.pow(2).sum().backward()
    # The null-class row of a label table gets no gradient when no row is unlabelled; here one is.
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not torch.allclose(model(x, t, torch.tensor([5, 6, 7, 8, 9])), model(x, t, y))
    counts = model.parameter_counts()
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["classical"] + counts["quantum"] == counts["total"]


def test_timestep_changes_the_quantum_dense_output_and_errors_are_named():
    model = QuantumDenseDenoiser(n_layers=4, n_blocks=2, init_std=0.5, seed=0)
    x = torch.randn(2, 64)
    assert not torch.allclose(model(x, torch.tensor([0, 0])), model(x, torch.tensor([999, 999])))
    with pytest.raises(ConfigError, match="without n_classes"):
        model(x, torch.tensor([0, 0]), torch.tensor([1, 1]))
    with pytest.raises(ConfigError, match=r"x_t must have shape \[B, 64\]"):
        model(torch.randn(2, 63), torch.tensor([0, 0]))
    with pytest.raises(ConfigError, match="readout"):
        QuantumDenseDenoiser(readout="logits")
    with pytest.raises(ConfigError, match="n_blocks"):
        QuantumDenseDenoiser(n_layers=2, n_blocks=3)


def test_preconditioning_matches_its_closed_form():
    from qedm.diffusion.schedules import make_schedule

    schedule = make_schedule("cosine", 1000)
    model = QuantumDenseDenoiser(n_layers=4, n_blocks=2, readout="amplitude", schedule=schedule, sigma_data=0.5)
    with torch.no_grad():
        model.amp_scale.zero_()  # circuit output F = 0: eps = x_t (1 - c_skip) / s
    x, t = torch.randn(3, 64, dtype=torch.float64), torch.tensor([0, 500, 999])
    abar = schedule.alphas_cumprod[t][:, None]
    sigma2 = (1 - abar) / abar
    expected = x * (1 - 0.25 / (sigma2 + 0.25)) / (1 - abar).sqrt()  # (learned mean image m = 0 at init)
    torch.testing.assert_close(model.double()(x, t), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="n_steps"):
        QuantumDenseDenoiser(schedule=make_schedule("cosine", 100))


def test_labels_steer_the_preconditioned_quantum_dense_model():
    """Two classes with opposite mean images: after brief training, class-conditional samples follow
    the label (each class has its own learned mean image; the null class is the overall mean)."""
    from qedm.diffusion.samplers import ddim_sample
    from qedm.diffusion.schedules import make_schedule
    from qedm.training import train_denoiser

    schedule = make_schedule("cosine", 1000)
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(200) % 2
    data = torch.where(labels[:, None] == 1, 0.6, -0.6) + 0.05 * torch.randn(200, 64, generator=gen)
    model = QuantumDenseDenoiser(n_layers=4, n_blocks=2, n_classes=2, schedule=schedule, seed=0)
    assert model.center.shape == (3, 64)
    train_denoiser(model, data, schedule, epochs=40, batch_size=50, lr=1e-2, seed=0, labels=labels)
    model.eval()
    for label, sign in ((0, -1.0), (1, 1.0)):
        wanted = torch.full((40,), label)
        x = ddim_sample(lambda x_t, t: model(x_t, t, wanted), schedule, (40, 64), noise=1, steps=20)
        assert float(x.mean()) * sign > 0.4, (label, float(x.mean()))


def test_time_phases_match_pennylane_diagonal_gate():
    model = QuantumDenseDenoiser(n_layers=4, n_blocks=2, time_phases=True, seed=3, dtype=torch.complex128).double()
    with torch.no_grad():
        model.phase_offset.normal_(0, 1.0)
    x, t = torch.randn(1, 64, dtype=torch.float64), torch.tensor([321])
    tau = 321 * math.pi / 999
    w, ent, ta = (p.detach().numpy() for p in (model.weights, model.ent_angles, model.time_angles))
    phase = tau * model.phase_time[0].detach().numpy() + model.phase_offset[0].detach().numpy()

    @qml.qnode(DEV)
    def circuit(features):
        qml.AmplitudeEmbedding(features, wires=range(6), normalize=True)
        for k in range(2):
            if k == 1:
                qml.DiagonalQubitUnitary(np.exp(1j * phase), wires=range(6))
            for q in range(6):
                qml.RY(tau * ta[k, q, 0], wires=q)
            for layer in range(2 * k, 2 * k + 2):
                for q in range(6):
                    qml.Rot(*w[layer, q], wires=q)
                for q in range(6):
                    qml.CRX(ent[layer, q], wires=[q, (q + layer % 5 + 1) % 6])
        return qml.state()

    np.testing.assert_allclose(model.final_state(x, t)[0].detach().numpy(), circuit(x[0].numpy()), atol=1e-10)
    counts = model.parameter_counts()
    assert counts["quantum"] == 4 * 6 * 4 + 2 * 6 + 2 * 64 and counts["classical"] == 3 * 64


@pytest.mark.parametrize("entangler", ["cnot", "crx"])
def test_block_ops_are_the_fused_matrix(entangler):
    """The block's Op IR run gate by gate (the reference backend's path) gives the fused block's unitary."""
    from qedm.models.quantum_dense import StronglyEntanglingBlock

    block = StronglyEntanglingBlock(4, 2, 3, torch.complex128, entangler)
    shapes = StronglyEntanglingBlock.shape(4, 3, entangler)
    gen = torch.Generator().manual_seed(0)
    angles = {name: torch.randn(shape, generator=gen, dtype=torch.float64) for name, shape in shapes.items()}
    weights = torch.cat([a.reshape(-1) for a in angles.values()])
    ops = block.ops()
    assert sum(op.name == "Rot" for op in ops) == 12 and {p.index[0] for op in ops for p in op.params} == set(
        range(weights.numel()))
    columns = torch.stack([_basis_run(ops, k, weights) for k in range(16)])  # row k: U e_k, so [k, j] = U[j, k]
    matrix = block.matrix(angles["angles"], angles.get("ent_angles"))  # M = U^T
    torch.testing.assert_close(columns, matrix, atol=1e-12, rtol=0)


def _basis_run(ops, k, weights):
    """U |k>: X gates prepare basis state k (wire 0 = MSB), then the block's ops."""
    from qedm.quantum.ir import Op
    from qedm.quantum.simulator import run_ops

    prep = [Op("X", (w,)) for w in range(4) if (k >> (3 - w)) & 1]
    return run_ops(prep + ops, 4, None, weights, torch.complex128)[0]
