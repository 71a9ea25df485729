"""The noisy backend: density matrices with gate channels and readout error (`qedm.quantum.noise`).

rho is [B, 2**n, 2**n], so memory grows as 4**n (at most `noise.MAX_DENSITY_QUBITS` qubits).
With a zero `NoiseModel` the result equals the statevector backends' (tested).
"""

from __future__ import annotations

import torch

from qedm.quantum.backends.base import BackendBase
from qedm.quantum.noise import NoiseModel, density_matrix, density_probabilities


class DensityBackend(BackendBase):
    """Every op's unitary, then its noise channels, on rho; readout error on the measured bits."""

    name = "density"

    def __init__(self, shots: int | None = None, noise: NoiseModel | None = None) -> None:
        super().__init__(shots)
        self.noise = noise if noise is not None else NoiseModel()

    def density_matrix(self, circuit, x: torch.Tensor, weights: torch.Tensor, shift=None) -> torch.Tensor:
        """Final rho [B, 2**n, 2**n] complex."""
        return density_matrix(circuit.ops(), circuit.n_qubits, x, weights, self.noise, circuit.dtype, shift)

    def probabilities(self, circuit, x, weights, shift=None) -> torch.Tensor:
        return density_probabilities(self.density_matrix(circuit, x, weights, shift), self.noise.readout)

    def describe(self) -> dict:
        from dataclasses import asdict

        return {**super().describe(), "noise": asdict(self.noise)}

    def __repr__(self) -> str:
        return f"DensityBackend(shots={self.shots}, noise={self.noise})"
