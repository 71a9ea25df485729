"""The PennyLane reference circuit the quantum tests compare against, written from the documented circuit."""

import pytest


def ring(n):
    return [] if n == 1 else [(0, 1)] if n == 2 else [(q, (q + 1) % n) for q in range(n)]


def _pennylane_vqc(n_qubits, n_layers, encoding, entangler, observables):
    """Reference QNode f(x [B, k], w [L, n, 3]) -> [m, B], written from the documented circuit."""
    import pennylane as qml

    n = n_qubits
    pairs = ring(n) if entangler == "ring" else [(i, j) for i in range(n) for j in range(i + 1, n)]
    obs = [qml.PauliZ(q) for q in range(n)] if observables in ("z", "both") else []
    if observables in ("zz", "both"):
        obs += [qml.PauliZ(i) @ qml.PauliZ(j) for i, j in ring(n)]

    def encode(x):
        if encoding == "amplitude":
            qml.AmplitudeEmbedding(x, wires=range(n), pad_with=0.0, normalize=True)
        elif encoding in ("angle", "reupload"):
            for q in range(x.shape[-1]):
                qml.RY(x[..., q], wires=q)
        else:
            for q in range(n):
                qml.Hadamard(wires=q)
            for q in range(x.shape[-1]):
                qml.RZ(x[..., q], wires=q)
            for i, j in pairs:
                qml.IsingZZ(x[..., i] * x[..., j], wires=[i, j])

    @qml.qnode(qml.device("default.qubit", wires=n), interface="torch", diff_method="backprop")
    def circuit(x, w):
        for layer in range(max(n_layers, 1)):
            if layer == 0 or encoding == "reupload":
                encode(x)
            if n_layers:
                for q in range(n):
                    qml.Rot(w[layer, q, 0], w[layer, q, 1], w[layer, q, 2], wires=q)
                for i, j in pairs:
                    qml.CNOT(wires=[i, j])
        return [qml.expval(o) for o in obs]

    return circuit




@pytest.fixture
def pennylane_vqc():
    """The reference circuit builder (skips the test when PennyLane is not installed)."""
    pytest.importorskip("pennylane")
    return _pennylane_vqc
