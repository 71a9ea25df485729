"""The circuit description every quantum module shares: a flat list of `Op`s.

The simulator runs it, export turns it into PennyLane/Qiskit, noise inserts channels after
each op, resources counts it, and gradients shift its trainable angles. One description,
so the circuit that trains is exactly the circuit that is exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Names of the gates the simulator supports. Rotation conventions follow PennyLane:
# RX(t) = exp(-i t X / 2), RY, RZ alike; Rot(a, b, c) = RZ(c) RY(b) RZ(a);
# CRX/CRZ apply RX/RZ on wires[1] controlled by wires[0]; CNOT(control, target).
# "AmplitudeEmbedding" prepares the state from x (normalised, zero-padded to 2**n) and
# may only stand first; its params list the input features it reads.
ONE_QUBIT_FIXED = ("H", "X", "Z")
ONE_QUBIT_ROTATIONS = ("RX", "RY", "RZ")
TWO_QUBIT_FIXED = ("CNOT", "CZ")
TWO_QUBIT_ROTATIONS = ("CRX", "CRZ")
GATE_NAMES = (
    ONE_QUBIT_FIXED + ONE_QUBIT_ROTATIONS + ("Rot",) + TWO_QUBIT_FIXED + TWO_QUBIT_ROTATIONS
    + ("AmplitudeEmbedding",)
)
N_PARAMS = {name: 1 for name in ONE_QUBIT_ROTATIONS + TWO_QUBIT_ROTATIONS}
N_PARAMS.update({"Rot": 3, "H": 0, "X": 0, "Z": 0, "CNOT": 0, "CZ": 0})


@dataclass(frozen=True)
class Param:
    """Where a gate angle comes from.

    kind="weight": trainable weight `weights.flatten()[index[0]]`;
    kind="input": input feature `x[:, index[0]]` times `scale`;
    kind="input_product": `x[:, index[0]] * x[:, index[1]] * scale` (IQP's ZZ terms).
    """

    kind: Literal["weight", "input", "input_product"]
    index: tuple[int, ...]
    scale: float = 1.0

    @property
    def trainable(self) -> bool:
        return self.kind == "weight"


@dataclass(frozen=True)
class Op:
    """One gate: `name` from GATE_NAMES, the wires it acts on, and its angle sources."""

    name: str
    wires: tuple[int, ...]
    params: tuple[Param, ...] = ()

    @property
    def n_qubits_acted(self) -> int:
        return len(self.wires)

    @property
    def is_trainable(self) -> bool:
        return any(p.trainable for p in self.params)

    @property
    def is_data_dependent(self) -> bool:
        return any(not p.trainable for p in self.params)


# An observable is a product of Pauli-Z on the listed wires: (0,) is <Z_0>, (0, 1) is <Z_0 Z_1>.
Observable = tuple[int, ...]
