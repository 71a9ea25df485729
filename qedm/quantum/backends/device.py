"""The device backend: a template transpiled for a calibrated device and emulated with its noise.

`DeviceBackend("fake_nairobi", shots, mitigation, engine)` implements the `Backend` protocol, so a
VQC (or any template) runs on it unchanged. The circuit structure is transpiled once per template
(`device_program`), the device's Aer noise (`device_noise`) is kept for the qubits it uses, and one
of two engines runs all rows at once: "qedm" (`device_emulator`, torch, differentiable) or "aer"
(`aer_engine`, the reference). `probabilities` is the raw measured distribution (device noise and
readout error); `expectations`/`estimate` apply `mitigation` ("readout", "zne", "readout+zne") on
top, batched over rows. `usage` counts what a real device would be billed for.
"""

from __future__ import annotations

import threading

import torch

from qedm.errors import CircuitError
from qedm.quantum.backends.base import BackendBase, sample_counts
from qedm.quantum.mitigation import SCALES, check_factory, check_mitigation, extrapolate, invert_readout

ENGINES = ("qedm", "aer")


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise CircuitError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    return engine


class DeviceBackend(BackendBase):
    """A calibrated fake device: transpilation, device noise, shots, mitigation; see the module docstring."""

    owns_estimate = True  # shots and mitigation live here, not in the VQC's estimator

    def __init__(self, device: str, shots: int | None = None, mitigation: str = "none", engine: str = "qedm",
                 zne_factory: str = "richardson", seed: int = 0) -> None:
        from qedm.quantum.devices import check_device, load_device

        super().__init__(shots)
        self.name = check_device(device)
        self.mitigation = check_mitigation(mitigation)
        self.engine = check_engine(engine)
        self.zne_factory = check_factory(zne_factory)
        self.seed = seed
        self.device = load_device(device)
        self._programs: dict = {}
        self.usage = {"circuit_executions": 0, "total_shots": 0, "calls": 0, "qpu_seconds": 0.0}
        self._seconds: dict = {}
        self._lock = threading.RLock()  # chunks of one call may run on several threads (ResilientBackend)

    # ----- compilation, cached per template structure ---------------------------------------
    def _transpiled(self, circuit):
        """({scale: program}, noise, {(scale, dtype): emulator}) of `circuit`, transpiled on first use."""
        from qedm.quantum.device_noise import program_noise
        from qedm.quantum.device_program import transpile_program

        ops = tuple(circuit.ops())
        key = (ops, circuit.n_qubits)
        with self._lock:
            if key not in self._programs:
                program = transpile_program(ops, circuit.n_qubits, self.device, self.name, seed=self.seed)
                self._programs[key] = {1: program}, program_noise(program, self.device), {}
            return self._programs[key]

    def compiled(self, circuit, scale: int = 1):
        """(program, noise, emulator) of `circuit`'s Op list at folding `scale`."""
        from qedm.quantum.device_emulator import DeviceEmulator

        programs, noise, emulators = self._transpiled(circuit)
        dtype = getattr(circuit, "dtype", torch.complex128)  # complex64 templates run rho in complex64
        with self._lock:
            if scale not in programs:
                programs[scale] = programs[1].fold(scale)
            if self.engine == "qedm" and (scale, dtype) not in emulators:
                emulators[(scale, dtype)] = DeviceEmulator(programs[scale], noise, dtype)
            return programs[scale], noise, emulators.get((scale, dtype))

    def program(self, circuit):
        """The transpiled program (scale 1) of `circuit`."""
        return self._transpiled(circuit)[0][1]

    def _run(self, circuit, x, weights, shift, scale: int, shots: int | None, generator=None) -> torch.Tensor:
        """Measured logical distribution [B, 2**n] at one noise scale: exact, or shot frequencies."""
        from qedm.quantum.device_program import angles

        program, noise, emulator = self.compiled(circuit, scale)
        theta = angles(circuit.ops(), x, weights, circuit.dtype, shift)
        xx = x.double() if program.amplitude is not None else None
        with self._lock:
            self.usage["circuit_executions"] += theta.shape[0]
            self.usage["total_shots"] += theta.shape[0] * (shots or 0)
            if shots:
                if id(program) not in self._seconds:
                    from qedm.quantum.provenance import program_seconds

                    self._seconds[id(program)] = program_seconds(program, self.device)
                self.usage["qpu_seconds"] += theta.shape[0] * shots * self._seconds[id(program)]
        if self.engine == "aer":
            from qedm.quantum.aer_engine import aer_probabilities

            seed = self.seed if generator is None else int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
            return aer_probabilities(program, noise, theta, xx, shots, seed)
        probs = emulator.probabilities(theta, xx)
        if shots is None:
            return probs
        freq = sample_counts(probs, shots, generator) / shots
        return probs + (freq.to(probs.dtype) - probs).detach()  # straight-through: exact gradient

    def readout_matrices(self, circuit) -> dict:
        """Assignment matrix [2, 2] of each logical bit i (Qiskit qubit i), from the calibration."""
        programs, noise, _ = self._transpiled(circuit)
        return {i: torch.as_tensor(noise.readout[q]) for i, q in enumerate(programs[1].measured)}

    # ----- the Backend protocol ----------------------------------------------------------------
    def probabilities(self, circuit, x, weights, shift=None) -> torch.Tensor:
        """Raw measured distribution [B, 2**n] (device noise and readout error, no mitigation)."""
        return self._run(circuit, x, weights, shift, 1, None).to(circuit.real_dtype)

    def _mitigated(self, circuit, x, weights, shift, shots, generator) -> torch.Tensor:
        with self._lock:
            self.usage["calls"] += 1
        scales = SCALES[self.zne_factory] if "zne" in self.mitigation else (1,)
        signs = circuit.signs.to(torch.float64)
        values = []
        for s in scales:
            probs = self._run(circuit, x, weights, shift, s, shots, generator).double()
            if "readout" in self.mitigation:
                probs = invert_readout(probs, self.readout_matrices(circuit))
            values.append(probs @ signs)
        out = values[0] if len(scales) == 1 else extrapolate(torch.stack(values), scales, self.zne_factory)
        return out.to(circuit.real_dtype)

    def expectations(self, circuit, x, weights, shift=None) -> torch.Tensor:
        """Mitigated exact expectations [B, m] (no shot noise)."""
        return self._mitigated(circuit, x, weights, shift, None, None)

    def estimate(self, circuit, x, weights, shift=None, generator=None) -> torch.Tensor:
        """Mitigated expectations [B, m] from `shots` shots per circuit (exact if shots is None)."""
        if generator is None and self.shots is not None:
            generator = torch.Generator().manual_seed(self.seed)
        return self._mitigated(circuit, x, weights, shift, self.shots, generator)

    def describe(self) -> dict:
        return {**super().describe(), "mitigation": self.mitigation, "engine": self.engine,
                "zne_factory": self.zne_factory}

    def __repr__(self) -> str:
        return (f"DeviceBackend({self.name!r}, shots={self.shots}, mitigation={self.mitigation!r}, "
                f"engine={self.engine!r})")
