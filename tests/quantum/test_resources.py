"""Resource counts against Qiskit's own depth/count_ops on the exported circuit, and closed forms."""
import pytest
import torch

from qedm.quantum.circuits import VQC
from qedm.quantum.gradients import circuit_evaluations_per_step
from qedm.quantum.ir import Op, Param
from qedm.quantum.resources import circuit_depth, circuit_resources

pytest.importorskip("qiskit")

QISKIT_NAMES = {"RY": "ry", "RZ": "rz", "Rot": "u", "CNOT": "cx", "H": "h", "AmplitudeEmbedding": "state_preparation"}


@pytest.mark.parametrize(
    "n,layers,encoding,entangler",
    [(3, 2, "angle", "ring"), (4, 3, "reupload", "all"), (3, 2, "amplitude", "ring"), (4, 2, "iqp", "ring"),
     (2, 1, "iqp", "all"), (1, 3, "angle", "ring"), (5, 0, "angle", "ring")],
)
def test_depth_and_counts_match_qiskit(n, layers, encoding, entangler):
    vqc = VQC(n, layers, encoding=encoding, entangler=entangler, seed=0)
    res = circuit_resources(vqc)
    qc, _ = vqc.to_qiskit(torch.rand(vqc.n_inputs) + 0.1)
    assert res.depth == qc.depth()
    assert {QISKIT_NAMES[k]: v for k, v in res.gate_counts.items()} == dict(qc.count_ops())
    two = sum(v for k, v in qc.count_ops().items() if k in ("cx", "cz", "crx", "crz"))
    assert res.two_qubit_gates == two
    assert res.one_qubit_gates + res.two_qubit_gates + res.state_preparations == qc.size()
    assert res.qubits == qc.num_qubits == n


def test_closed_forms_angle_ring():
    n, layers, batch, shots = 4, 3, 8, 1000
    vqc = VQC(n, layers, encoding="angle", entangler="ring", shots=shots)
    res = circuit_resources(vqc, batch_size=batch)
    assert res.one_qubit_gates == n + layers * n  # RY encoding + one Rot per qubit and layer
    assert res.two_qubit_gates == layers * n  # ring of n CNOTs per layer
    assert res.trainable_parameters == res.trainable_angles == 3 * n * layers
    assert res.encoding_parameters == n
    assert res.evaluations_per_step == {
        "backprop": batch, "parameter-shift": batch * (1 + 2 * 3 * n * layers), "spsa": batch * 3,
    }
    assert res.shots_per_step["parameter-shift"] == batch * (1 + 6 * n * layers) * shots
    with_x = circuit_resources(vqc, batch_size=batch, input_gradients=True)
    assert with_x.evaluations_per_step["parameter-shift"] == batch * (1 + 6 * n * layers + 2 * n)
    assert with_x.evaluations_per_step["spsa"] == batch * 3  # SPSA perturbs x in the same two runs
    d = res.to_dict()
    assert d["depth"] == res.depth and d["evaluations_per_step"]["spsa"] == 24


def test_closed_forms_reupload_and_amplitude():
    vqc = VQC(3, 4, encoding="reupload")
    res = circuit_resources(vqc)
    assert res.encoding_parameters == 3 * 4 and res.shots_per_step["spsa"] is None
    amp = circuit_resources(VQC(3, 2, encoding="amplitude", n_inputs=6))
    assert amp.encoding_parameters == 6 and amp.state_preparations == 1
    # a single qubit: the encoding RY then one Rot per layer, all in series
    assert circuit_resources(VQC(1, 5)).depth == 6


def test_depth_layers_by_wire_occupancy_and_four_term_cost():
    w = lambda i: Param("weight", (i,))  # noqa: E731
    ops = [Op("H", (0,)), Op("H", (1,)), Op("H", (2,)), Op("CRX", (0, 1), (w(0),)), Op("RZ", (2,), (w(1),)),
           Op("CRZ", (1, 2), (w(2),)), Op("RX", (0,), (Param("input", (0,)),))]
    assert circuit_depth(ops, 3) == 3

    class Stub:
        def ops(self):
            return ops

    # forward + 4 (CRX) + 2 (RZ) + 4 (CRZ) per row; with inputs + 2 for the RX(x)
    assert circuit_evaluations_per_step(Stub(), "parameter-shift", 5) == 5 * 11
    assert circuit_evaluations_per_step(Stub(), "parameter-shift", 5, include_inputs=True) == 5 * 13
    assert circuit_evaluations_per_step(Stub(), "spsa", 5, spsa_samples=4) == 5 * 9
