"""A device's noise on the qubits one program uses: Aer's `NoiseModel.from_backend` construction, remapped.

`qiskit_aer.noise.device.basic_device_gate_errors` builds, per (gate, qubits) of the calibration
target, a depolarizing error composed with thermal relaxation (T1, T2 and the gate's duration)
such that the total error matches the reported gate error; `basic_device_readout_errors` builds
each qubit's assignment matrix. These are exactly the pieces `NoiseModel.from_backend` adds. Here
they are kept only for the program's active qubits and renumbered to them, so the qedm engine
(Kraus operators) and the Aer engine (a NoiseModel) run the same channels on the same circuit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qedm.errors import require
from qedm.quantum.device_program import DeviceProgram

EXTRA = "hardware"


@dataclass
class ProgramNoise:
    """Noise of one program: gate errors as Kraus lists on active qubits and readout matrices.

    gate[(name, active qubits)] = [K, ...] each [2**k, 2**k] (Qiskit little-endian qubit order);
    errors[(name, active qubits)] = the Aer QuantumError; readout[j] = [2, 2] P(measured m | prepared p)
    for active qubit j (identity where the device reports none).
    """

    gate: dict
    errors: dict
    readout: list[np.ndarray]
    readout_errors: dict

    def aer_noise_model(self):
        """The same noise as a qiskit_aer NoiseModel on the active qubits."""
        noise = require("qiskit_aer.noise", EXTRA)
        model = noise.NoiseModel(basis_gates=sorted({name for name, _ in self.errors} | {"rz"}))
        for (name, qubits), error in self.errors.items():
            model.add_quantum_error(error, name, list(qubits))
        for j, error in self.readout_errors.items():
            model.add_readout_error(error, [j])
        return model


def program_noise(program: DeviceProgram, backend) -> ProgramNoise:
    """The device's gate and readout noise restricted to the program's active qubits."""
    device = require("qiskit_aer.noise.device", EXTRA)
    quantum_info = require("qiskit.quantum_info", EXTRA)
    active = {p: j for j, p in enumerate(program.physical)}
    gate, errors = {}, {}
    for name, qargs, error in device.basic_device_gate_errors(target=backend.target):
        if all(q in active for q in qargs):
            key = (name, tuple(active[q] for q in qargs))
            errors[key] = error
            gate[key] = [np.asarray(k, dtype=np.complex128)
                         for k in quantum_info.Kraus(error.to_quantumchannel()).data]
    readout = [np.eye(2) for _ in program.physical]
    readout_errors = {}
    for qargs, error in device.basic_device_readout_errors(target=backend.target):
        if len(qargs) == 1 and qargs[0] in active:
            j = active[qargs[0]]
            readout[j] = np.asarray(error.probabilities, dtype=np.float64)
            readout_errors[j] = error
    return ProgramNoise(gate, errors, readout, readout_errors)
