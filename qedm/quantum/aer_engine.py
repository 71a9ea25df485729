"""The reference engine: the same `DeviceProgram` and noise run by Qiskit Aer's density-matrix method.

Each row becomes one bound circuit on the active qubits (an amplitude state enters as a noiseless
`set_density_matrix`); all B circuits go to Aer in one `run`. Exact mode saves the probabilities
of the measured qubits and applies the same readout matrices; shot mode measures and lets Aer
sample, readout error included. Not differentiable (a reference, not a training path).
"""

from __future__ import annotations

import numpy as np
import torch

from qedm.errors import require
from qedm.quantum.device_emulator import apply_local
from qedm.quantum.device_noise import ProgramNoise
from qedm.quantum.device_program import DeviceProgram, amplitude_state, gate_angles

EXTRA = "hardware"


def aer_circuits(program: DeviceProgram, theta: torch.Tensor, x: torch.Tensor | None, measure: bool) -> list:
    """One bound Qiskit circuit per row on the program's active qubits."""
    qiskit = require("qiskit", EXTRA)
    require("qiskit_aer", EXTRA)
    angles = [a if a is None else a.detach().cpu().numpy() for a in gate_angles(program, theta.detach())]
    psi = amplitude_state(program, x.detach()).cpu().numpy() if program.amplitude is not None else None
    circuits = []
    for row in range(theta.shape[0]):
        qc = qiskit.QuantumCircuit(program.n_active, program.n_logical)
        if psi is not None:
            qc.set_density_matrix(np.outer(psi[row], psi[row].conj()))
        for ins, a in zip(program.instructions, angles):
            if a is None:
                qc.append(_fixed_gate(ins.name), list(ins.qubits))
            else:
                getattr(qc, ins.name)(float(a[row]), ins.qubits[0])
        if measure:
            for i, q in enumerate(program.measured):
                qc.measure(q, i)
        else:
            qc.save_probabilities(list(program.measured))
        circuits.append(qc)
    return circuits


def _fixed_gate(name: str):
    from qiskit.circuit.library import get_standard_gate_name_mapping

    return get_standard_gate_name_mapping()[name]


def aer_probabilities(program: DeviceProgram, noise: ProgramNoise, theta: torch.Tensor, x: torch.Tensor | None,
                      shots: int | None = None, seed: int = 0) -> torch.Tensor:
    """Measured logical bits' distribution [B, 2**n] (qedm order), exact or as shot frequencies, float64."""
    aer = require("qiskit_aer", EXTRA)
    sim = aer.AerSimulator(method="density_matrix", noise_model=noise.aer_noise_model(), seed_simulator=seed)
    n = program.n_logical
    circuits = aer_circuits(program, theta, x, measure=shots is not None)
    result = sim.run(circuits, shots=shots or 1).result()
    out = np.zeros((len(circuits), 2**n))
    for row in range(len(circuits)):
        if shots is None:
            # saved qubits [measured[0], ...]: index bit i = logical Qiskit qubit i = qedm's index
            out[row] = np.asarray(result.data(row)["probabilities"])
        else:
            for key, c in result.get_counts(row).items():
                out[row, int(key.replace(" ", ""), 2)] = c / shots
    probs = torch.as_tensor(out)
    if shots is None:
        mats = {i: torch.as_tensor(noise.readout[q]) for i, q in enumerate(program.measured)}
        probs = apply_local(probs, mats, n)
    return probs
