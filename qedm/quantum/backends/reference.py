"""The oracle backend: the template's Op list run gate by gate (`simulator.run_ops`), plain autograd.

Slow (one small matmul per gate and row block) but written straight from the gate
definitions, so every other backend is tested against it.
"""

from __future__ import annotations

import torch

from qedm.quantum.backends.base import BackendBase
from qedm.quantum.simulator import probabilities, run_ops


class ReferenceBackend(BackendBase):
    """Gate-by-gate statevector execution of `circuit.ops()`."""

    name = "reference"

    def state(self, circuit, x: torch.Tensor, weights: torch.Tensor, shift=None) -> torch.Tensor:
        """Final state [B, 2**n] complex."""
        return run_ops(circuit.ops(), circuit.n_qubits, x, weights, circuit.dtype, shift)

    def probabilities(self, circuit, x, weights, shift=None) -> torch.Tensor:
        return probabilities(self.state(circuit, x, weights, shift))
