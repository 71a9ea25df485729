"""Quantum building blocks: gate matrices, a batched statevector simulator and the VQC module."""

from qedm.quantum.circuits import VQC, entangler_pairs, observable_list
from qedm.quantum.gates import gate_matrix
from qedm.quantum.hardware import expectations
from qedm.quantum.ir import Observable, Op, Param
from qedm.quantum.simulator import apply_gate, expval_z, probabilities, run_ops

__all__ = [
    "VQC",
    "Observable",
    "Op",
    "Param",
    "apply_gate",
    "entangler_pairs",
    "expectations",
    "expval_z",
    "gate_matrix",
    "observable_list",
    "probabilities",
    "run_ops",
]
