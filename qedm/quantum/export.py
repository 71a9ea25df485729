"""Export a VQC to PennyLane or Qiskit by walking its Op list, so the exported circuit is the trained one.

Wire order: qedm and PennyLane put wire 0 at the most significant bit of the state index;
Qiskit puts qubit 0 at the least significant bit. `to_qiskit` therefore maps qedm wire w to
Qiskit qubit n-1-w, which makes the two statevectors identical element by element.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from qedm.errors import CircuitError, require
from qedm.quantum.ir import Observable, Op, Param

if TYPE_CHECKING:  # pragma: no cover
    from qedm.quantum.circuits import VQC


def _angle(param: Param, x: Any, weights: Any) -> Any:
    """The angle one Param stands for; x is [k] or [B, k] (numpy or torch), weights is flat."""
    if param.kind == "weight":
        return weights[param.index[0]] * param.scale
    if param.kind == "input":
        return x[..., param.index[0]] * param.scale
    if param.kind == "input_product":
        return x[..., param.index[0]] * x[..., param.index[1]] * param.scale
    raise CircuitError(f"unknown Param kind {param.kind!r}; expected weight, input or input_product")


def _amplitude_features(op: Op, x: Any) -> Any:
    """The raw (unnormalised, unpadded) amplitude vector: [k] or [B, k]."""
    cols = [x[..., p.index[0]] * p.scale for p in op.params]
    if isinstance(x, torch.Tensor):
        return torch.stack(cols, dim=-1)
    return np.stack(cols, axis=-1)


def _current_weights(vqc: VQC) -> np.ndarray:
    """The VQC's weights flattened to float64 numpy, in `weights.flatten()` order."""
    return vqc.weights.detach().flatten().cpu().double().numpy()


def _check_ops(ops: Sequence[Op]) -> None:
    for i, op in enumerate(ops):
        if op.name == "AmplitudeEmbedding" and i != 0:
            raise CircuitError(f"AmplitudeEmbedding must be the first op, found at position {i}")


def pennylane_ops(ops: Sequence[Op], n_qubits: int, x: Any, weights: Any) -> None:
    """Queue the PennyLane operations for an Op list (call inside a QNode)."""
    qml = require("pennylane", "pennylane")
    simple = {"H": qml.Hadamard, "X": qml.PauliX, "Z": qml.PauliZ, "CNOT": qml.CNOT, "CZ": qml.CZ}
    rotations = {"RX": qml.RX, "RY": qml.RY, "RZ": qml.RZ, "Rot": qml.Rot, "CRX": qml.CRX, "CRZ": qml.CRZ}
    _check_ops(ops)
    for op in ops:
        wires = list(op.wires)
        if op.name == "AmplitudeEmbedding":
            qml.AmplitudeEmbedding(
                _amplitude_features(op, x), wires=range(n_qubits), pad_with=0.0, normalize=True
            )
        elif op.name in simple:
            simple[op.name](wires=wires)
        elif op.name in rotations:
            rotations[op.name](*[_angle(p, x, weights) for p in op.params], wires=wires)
        else:
            raise CircuitError(f"gate {op.name!r} has no PennyLane export")


def pennylane_observable(obs: Observable) -> Any:
    """Z-product observable as a PennyLane operator."""
    qml = require("pennylane", "pennylane")
    return qml.prod(*[qml.PauliZ(w) for w in obs]) if len(obs) > 1 else qml.PauliZ(obs[0])


def to_pennylane(vqc: VQC, device: str = "default.qubit", **device_kwargs: Any) -> Any:
    """A PennyLane QNode `f(x, weights=current)` for the VQC; x: [k] or [B, k], numpy or torch.

    Returns a tuple of m expectations (each scalar or [B]), in `vqc.observable_list` order;
    `qml.math.stack(f(x), axis=-1)` gives the [B, m] array `vqc(x)` returns. `weights`
    defaults to the current weights (flat, float64 numpy); pass a tensor to differentiate.
    """
    qml = require("pennylane", "pennylane")
    ops, n, observables = vqc.ops(), vqc.n_qubits, list(vqc.observable_list)
    _check_ops(ops)
    dev = qml.device(device, wires=n, **device_kwargs)
    default_weights = _current_weights(vqc)

    @qml.qnode(dev)
    def circuit(x, weights=default_weights):
        pennylane_ops(ops, n, x, weights)
        return tuple(qml.expval(pennylane_observable(o)) for o in observables)

    return circuit


def qiskit_observable(obs: Observable, n_qubits: int) -> Any:
    """Z-product observable as a SparsePauliOp; the label's i-th character is qedm wire i."""
    quantum_info = require("qiskit.quantum_info", "qiskit")
    label = "".join("Z" if w in obs else "I" for w in range(n_qubits))
    return quantum_info.SparsePauliOp(label)


def qiskit_circuit(ops: Sequence[Op], n_qubits: int, x: np.ndarray, weights: np.ndarray) -> Any:
    """A bound Qiskit QuantumCircuit for an Op list and one input row x: [k]."""
    qiskit = require("qiskit", "qiskit")
    from qiskit.circuit.library import StatePreparation

    _check_ops(ops)
    qc = qiskit.QuantumCircuit(n_qubits)

    def q(w: int) -> int:  # qedm wire 0 is the most significant bit, Qiskit qubit 0 the least
        return n_qubits - 1 - w

    for op in ops:
        angles = [float(_angle(p, x, weights)) for p in op.params] if op.name != "AmplitudeEmbedding" else []
        qs = [q(w) for w in op.wires]
        if op.name == "AmplitudeEmbedding":
            vec = np.zeros(2**n_qubits, dtype=np.complex128)
            feats = np.asarray(_amplitude_features(op, x), dtype=np.float64)
            vec[: feats.shape[-1]] = feats
            norm = np.linalg.norm(vec)
            if norm == 0:
                raise CircuitError("amplitude embedding of an all-zero input row x is undefined")
            # Listing qubits 0..n-1 makes vector index bit j = qubit j, i.e. qedm's index order.
            qc.append(StatePreparation(vec / norm), list(range(n_qubits)))
        elif op.name == "H":
            qc.h(qs[0])
        elif op.name == "X":
            qc.x(qs[0])
        elif op.name == "Z":
            qc.z(qs[0])
        elif op.name == "CNOT":
            qc.cx(qs[0], qs[1])
        elif op.name == "CZ":
            qc.cz(qs[0], qs[1])
        elif op.name == "RX":
            qc.rx(angles[0], qs[0])
        elif op.name == "RY":
            qc.ry(angles[0], qs[0])
        elif op.name == "RZ":
            qc.rz(angles[0], qs[0])
        elif op.name == "Rot":
            # Rot(a, b, c) = RZ(c) RY(b) RZ(a) = exp(-i (a + c) / 2) U(b, c, a): one gate, exact phase.
            a, b, c = angles
            qc.u(b, c, a, qs[0])
            qc.global_phase -= (a + c) / 2
        elif op.name == "CRX":
            qc.crx(angles[0], qs[0], qs[1])
        elif op.name == "CRZ":
            qc.crz(angles[0], qs[0], qs[1])
        else:
            raise CircuitError(f"gate {op.name!r} has no Qiskit export")
    return qc


def to_qiskit(vqc: VQC, x: Any) -> tuple[Any, list[Any]]:
    """(QuantumCircuit, [SparsePauliOp]) for the VQC with its weights and ONE input row x: [k] bound."""
    row = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    if row.ndim != 1:
        raise CircuitError(f"to_qiskit binds one input row: x must have shape [k], got {list(row.shape)}")
    if row.shape[0] != vqc.n_inputs:
        raise CircuitError(f"x has {row.shape[0]} features but the VQC expects n_inputs={vqc.n_inputs}")
    qc = qiskit_circuit(vqc.ops(), vqc.n_qubits, row, _current_weights(vqc))
    return qc, [qiskit_observable(o, vqc.n_qubits) for o in vqc.observable_list]
