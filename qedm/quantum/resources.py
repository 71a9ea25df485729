"""What a VQC costs on hardware: qubits, depth, gate counts, parameters, circuit runs per training step."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from qedm.quantum.gradients import GRADIENT_METHODS, circuit_evaluations_per_step
from qedm.quantum.ir import Op

if TYPE_CHECKING:  # pragma: no cover
    from qedm.quantum.circuits import VQC


@dataclass(frozen=True)
class Resources:
    """Hardware cost of one VQC; evaluations count one circuit run per input row."""

    qubits: int
    depth: int
    one_qubit_gates: int
    two_qubit_gates: int
    state_preparations: int
    gate_counts: dict[str, int]
    trainable_parameters: int  # entries of vqc.weights
    trainable_angles: int  # gate angle slots fed by a weight (each shifted by parameter-shift)
    encoding_parameters: int  # gate angle slots fed by x, plus features read by amplitude embedding
    batch_size: int
    backend: str  # the backend name the circuit runs on
    shots: int | None
    evaluations_per_step: dict[str, int]  # method -> circuit runs per training step
    shots_per_step: dict[str, int | None]  # method -> evaluations * shots (None for exact expectations)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def circuit_depth(ops: Sequence[Op], n_qubits: int) -> int:
    """Depth layered by wire occupancy: each op starts after the last op on any of its wires."""
    level = [0] * n_qubits
    for op in ops:
        wires = range(n_qubits) if op.name == "AmplitudeEmbedding" else op.wires
        start = max(level[w] for w in wires) + 1
        for w in wires:
            level[w] = start
    return max(level, default=0)


def circuit_resources(vqc: VQC, batch_size: int = 1, input_gradients: bool = False) -> Resources:
    """Resources of `vqc` for training steps over `batch_size` rows at `vqc.shots` shots per circuit.

    input_gradients=True also counts the parameter-shift runs for d/dx (a VQC inside a hybrid
    model whose inputs come from trainable layers).
    """
    ops = vqc.ops()
    counts = Counter(op.name for op in ops)
    prep = counts.get("AmplitudeEmbedding", 0)
    one = sum(c for name, c in counts.items() if name != "AmplitudeEmbedding" and _arity(ops, name) == 1)
    two = sum(c for name, c in counts.items() if name != "AmplitudeEmbedding" and _arity(ops, name) == 2)
    evaluations = {m: circuit_evaluations_per_step(vqc, m, batch_size, input_gradients) for m in GRADIENT_METHODS}
    shots = vqc.shots
    return Resources(
        qubits=vqc.n_qubits,
        depth=circuit_depth(ops, vqc.n_qubits),
        one_qubit_gates=one,
        two_qubit_gates=two,
        state_preparations=prep,
        gate_counts=dict(counts),
        trainable_parameters=int(vqc.weights.numel()),
        trainable_angles=sum(p.trainable for op in ops for p in op.params),
        encoding_parameters=sum(not p.trainable for op in ops for p in op.params),
        batch_size=batch_size,
        backend=vqc.backend.name,
        shots=shots,
        evaluations_per_step=evaluations,
        shots_per_step={m: (e * shots if shots is not None else None) for m, e in evaluations.items()},
    )


def _arity(ops: Sequence[Op], name: str) -> int:
    return next(len(op.wires) for op in ops if op.name == name)
