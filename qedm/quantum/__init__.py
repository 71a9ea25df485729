"""Quantum building blocks: gate matrices, the Op IR, the VQC template and the backends that run it."""

from qedm.quantum.backends import BACKENDS, make_backend
from qedm.quantum.circuits import VQC, entangler_pairs, observable_list
from qedm.quantum.gates import gate_matrix
from qedm.quantum.hardware import expectations
from qedm.quantum.ir import Observable, Op, Param
from qedm.quantum.simulator import apply_gate, expval_z, probabilities, run_ops

__all__ = [
    "BACKENDS",
    "VQC",
    "Observable",
    "Op",
    "Param",
    "apply_gate",
    "entangler_pairs",
    "expectations",
    "expval_z",
    "gate_matrix",
    "make_backend",
    "observable_list",
    "probabilities",
    "run_ops",
]
