"""Density-matrix noise: physical states, zero-noise limit, closed forms, PennyLane default.mixed."""
import math

import numpy as np
import pytest
import torch

from qedm.errors import CircuitError, ConfigError
from qedm.quantum.circuits import VQC
from qedm.quantum.ir import Op, Param
from qedm.quantum.noise import NoiseModel, density_expectations, density_matrix, noisy_expectations

NOISY = NoiseModel(depolarizing={"CNOT": 0.05}, amplitude_damping={"Rot": 0.03}, depolarizing_1q=0.02,
                   depolarizing_2q=0.04, amplitude_damping_1q=0.01, amplitude_damping_2q=0.06, readout=0.03)
ENCODINGS = ["angle", "reupload", "amplitude", "iqp"]


def _vqc(encoding, n=3, layers=2):
    return VQC(n, layers, encoding=encoding, observables="both", init="uniform", seed=1, dtype=torch.complex128)


def _x(vqc, batch=3):
    return torch.rand(batch, vqc.n_inputs, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) + 0.05


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_zero_noise_equals_statevector(encoding):
    vqc = _vqc(encoding)
    x = _x(vqc)
    torch.testing.assert_close(noisy_expectations(vqc, x, NoiseModel()), vqc(x), atol=1e-10, rtol=0)


@pytest.mark.parametrize("encoding", ["angle", "amplitude"])
def test_density_matrix_stays_physical(encoding):
    vqc = _vqc(encoding)
    strong = NoiseModel(depolarizing_1q=0.3, depolarizing_2q=0.5, amplitude_damping_1q=0.4,
                        amplitude_damping={"AmplitudeEmbedding": 0.2})
    rho = density_matrix(vqc.ops(), vqc.n_qubits, _x(vqc), vqc.weights.detach(), strong)
    trace = torch.diagonal(rho, dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(trace, torch.ones_like(trace), atol=1e-12, rtol=0)
    torch.testing.assert_close(rho, rho.mH, atol=1e-12, rtol=0)
    assert torch.linalg.eigvalsh(rho).min() > -1e-12
    purity = torch.einsum("bij,bji->b", rho, rho).real
    assert (purity < 0.99).all()  # the noise really mixed the state


def test_closed_forms_single_qubit():
    theta = torch.tensor([[0.3], [1.2], [2.5]], dtype=torch.float64)
    ry = [Op("RY", (0,), (Param("input", (0,)),))]
    p = 0.12
    rho = density_matrix(ry, 1, theta, None, NoiseModel(depolarizing={"RY": p}))
    torch.testing.assert_close(density_expectations(rho, [(0,)])[:, 0], (1 - 4 * p / 3) * torch.cos(theta[:, 0]))
    # amplitude damping after X: P(1) = 1 - gamma, so <Z> = 2 gamma - 1
    rho = density_matrix([Op("X", (0,))], 1, None, None, NoiseModel(amplitude_damping_1q=0.3))
    assert math.isclose(density_expectations(rho, [(0,)]).item(), 2 * 0.3 - 1, abs_tol=1e-12)
    # readout error scales a Z-product on |S| wires by (1 - 2 q)^|S|
    vqc = _vqc("angle")
    x = _x(vqc)
    q = 0.07
    ideal = vqc(x)
    noisy = noisy_expectations(vqc, x, NoiseModel(readout=q))
    orders = torch.tensor([len(o) for o in vqc.observable_list], dtype=torch.float64)
    torch.testing.assert_close(noisy, ideal * (1 - 2 * q) ** orders, atol=1e-12, rtol=0)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_matches_pennylane_default_mixed(encoding):
    qml = pytest.importorskip("pennylane")
    from qedm.quantum.export import pennylane_observable, pennylane_ops

    vqc = _vqc(encoding)
    x = _x(vqc, batch=2)
    ours = noisy_expectations(vqc, x, NOISY).detach().numpy()
    ops, n, w = vqc.ops(), vqc.n_qubits, vqc.weights.detach().flatten().numpy()
    dev = qml.device("default.mixed", wires=n)

    @qml.qnode(dev)
    def circuit(row):
        for op in ops:
            pennylane_ops([op], n, row, w)
            dep, damp = NOISY.channel_probabilities(op)
            for wire in op.wires:
                if dep:
                    qml.DepolarizingChannel(dep, wires=wire)
                if damp:
                    qml.AmplitudeDamping(damp, wires=wire)
        # Readout as a BitFlip before measuring: what default.mixed's readout_prob does, which
        # PennyLane 0.45 breaks for analytic expvals (it iterates over the float probability).
        for wire in range(n):
            qml.BitFlip(NOISY.readout, wires=wire)
        return [qml.expval(pennylane_observable(o)) for o in vqc.observable_list]

    ref = np.stack([np.array(circuit(row.numpy())) for row in x])
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_noisy_expectations_are_differentiable():
    vqc = _vqc("angle")
    x = _x(vqc).requires_grad_(True)
    noisy_expectations(vqc, x, NOISY).sum().backward()
    assert torch.isfinite(vqc.weights.grad).all() and vqc.weights.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_bad_probabilities_and_too_many_qubits_raise():
    with pytest.raises(ConfigError, match="readout"):
        NoiseModel(readout=1.5)
    with pytest.raises(ConfigError, match="depolarizing\\['CNOT'\\]"):
        NoiseModel(depolarizing={"CNOT": -0.1})
    with pytest.raises(CircuitError, match="at most 10 qubits"):
        density_matrix([Op("H", (0,))], 11, None, None)


@pytest.mark.parametrize("n,axes,batched",
                         [(5, [2], False), (5, [4, 0], True), (6, [1, 3, 4], False), (3, [0, 1, 2], True)])
def test_apply_on_axes_matches_simulator_apply_gate(n, axes, batched):
    from qedm.quantum.noise import apply_on_axes
    from qedm.quantum.simulator import apply_gate

    g = torch.Generator().manual_seed(n)
    vec = torch.randn(3, 2**n, dtype=torch.complex128, generator=g)
    mat = torch.randn(*([3] if batched else []), 2 ** len(axes), 2 ** len(axes), dtype=torch.complex128, generator=g)
    torch.testing.assert_close(apply_on_axes(vec, mat, axes, n), apply_gate(vec, mat, axes, n), atol=1e-12, rtol=0)


def test_noisy_shots_converge_to_noisy_expectations():
    vqc = _vqc("angle")
    x = _x(vqc, batch=1).repeat(300, 1)
    exact = noisy_expectations(vqc, x[:1], NOISY)[0]
    est = noisy_expectations(vqc, x, NOISY, shots=500)
    predicted = torch.sqrt(1 - exact**2) / math.sqrt(500)
    assert ((est.std(0) / predicted - 1).abs() < 0.25).all()
    assert ((est.mean(0) - exact).abs() < 5 * predicted / math.sqrt(300)).all()
    again = noisy_expectations(_vqc("angle"), x[:5], NOISY, shots=500)
    assert torch.equal(again, noisy_expectations(_vqc("angle"), x[:5], NOISY, shots=500))  # seeded
    with pytest.raises(CircuitError, match="shape"):
        noisy_expectations(vqc, x[:, :2], NOISY)
