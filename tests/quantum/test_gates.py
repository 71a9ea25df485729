"""Gate matrices against PennyLane's qml.matrix, batching, kron order and errors."""

import numpy as np
import pytest
import torch

from qedm.errors import CircuitError
from qedm.quantum.gates import gate_matrix, kron_chain

qml = pytest.importorskip("pennylane")

ROTATIONS = {"RX": qml.RX, "RY": qml.RY, "RZ": qml.RZ, "Rot": qml.Rot, "CRX": qml.CRX, "CRZ": qml.CRZ}
FIXED = {"H": qml.Hadamard, "X": qml.PauliX, "Z": qml.PauliZ, "CNOT": qml.CNOT, "CZ": qml.CZ}
WIRES = {"CRX": [0, 1], "CRZ": [0, 1], "CNOT": [0, 1], "CZ": [0, 1]}


@pytest.mark.parametrize("name", list(ROTATIONS))
def test_rotation_matrices_match_pennylane(name):
    rng = np.random.default_rng(0)
    n_params = 3 if name == "Rot" else 1
    angles = rng.uniform(-2 * np.pi, 2 * np.pi, size=(5, n_params))
    ours = gate_matrix(name, torch.tensor(angles), torch.complex128).numpy()
    assert ours.shape[0] == 5
    for row, a in zip(ours, angles):
        ref = qml.matrix(ROTATIONS[name](*a, wires=WIRES.get(name, [0])))
        np.testing.assert_allclose(row, ref, atol=1e-12)


@pytest.mark.parametrize("name", list(FIXED))
def test_fixed_matrices_match_pennylane(name):
    ours = gate_matrix(name, None, torch.complex64).numpy()
    ref = qml.matrix(FIXED[name](wires=WIRES.get(name, [0])))
    np.testing.assert_allclose(ours, ref, atol=1e-7)
    assert ours.dtype == np.complex64


def test_complex64_dtype_and_leading_dims():
    angles = torch.zeros(2, 3, 3, dtype=torch.float32)
    m = gate_matrix("Rot", angles)
    assert m.shape == (2, 3, 2, 2) and m.dtype == torch.complex64
    torch.testing.assert_close(m, torch.eye(2, dtype=torch.complex64).expand(2, 3, 2, 2))


def test_kron_chain_matches_numpy_kron():
    mats = gate_matrix("Rot", torch.rand(3, 3, dtype=torch.float64), torch.complex128)
    ref = np.kron(np.kron(mats[0].numpy(), mats[1].numpy()), mats[2].numpy())
    np.testing.assert_allclose(kron_chain(mats).numpy(), ref, atol=1e-12)


def test_gate_gradient_matches_finite_difference():
    a = torch.tensor([0.3, -1.1, 0.7], dtype=torch.float64, requires_grad=True)

    def f(t):
        m = gate_matrix("Rot", t, torch.complex128)
        return m.real.sum() + m.imag[0, 1]

    assert torch.autograd.gradcheck(f, (a,))


def test_errors_name_the_problem():
    with pytest.raises(CircuitError, match="unknown gate 'FOO'"):
        gate_matrix("FOO", torch.zeros(1))
    with pytest.raises(CircuitError, match=r"shape \[..., 3\]"):
        gate_matrix("Rot", torch.zeros(2))
    with pytest.raises(CircuitError, match="needs 1 angle"):
        gate_matrix("RX", None)
    with pytest.raises(CircuitError, match="complex64 or torch.complex128"):
        gate_matrix("RX", torch.zeros(1), torch.float32)
