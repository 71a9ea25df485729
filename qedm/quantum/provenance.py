"""What a device run cost and how it ran: the provenance written next to its output.

`program_seconds` is one shot's wall time on the device from its calibration: the ASAP schedule of
the transpiled program with each native gate's duration on its physical qubits, plus the longest
readout of the measured qubits, plus the device's default repetition delay. The estimated QPU time
of a call is rows x scale-folded programs x shots x that, summed; exact (shots=None) calls cost
no QPU time (they cannot run on a device) and are counted as circuit executions only.
"""

from __future__ import annotations

import json
from pathlib import Path

from qedm.atomic import atomic_write_text

DEFAULT_REP_DELAY_S = 250e-6


def _duration(target, name: str, qargs: tuple[int, ...]) -> float:
    try:
        props = target[name][qargs]
    except KeyError:
        return 0.0
    return float(props.duration or 0.0) if props is not None else 0.0


def program_seconds(program, backend) -> float:
    """Device time of one shot of `program` (seconds): schedule + readout + repetition delay."""
    target = backend.target
    clock = [0.0] * program.n_active
    for ins in program.instructions:
        phys = tuple(program.physical[q] for q in ins.qubits)
        start = max(clock[q] for q in ins.qubits)
        for q in ins.qubits:
            clock[q] = start + _duration(target, ins.name, phys)
    readout = max((_duration(target, "measure", (program.physical[q],)) for q in program.measured), default=0.0)
    rep_delay = getattr(backend, "default_rep_delay", None) or DEFAULT_REP_DELAY_S
    return max(clock, default=0.0) + readout + float(rep_delay)


def device_provenance(backend, circuit=None) -> dict:
    """Provenance of a DeviceBackend (or a ResilientBackend around one) after a run."""
    from qedm.quantum.devices import calibration_date

    inner = getattr(backend, "primary", backend)
    out = {"backend": inner.name, "engine": getattr(inner, "engine", None), "shots": inner.shots,
           "mitigation": getattr(inner, "mitigation", "none"), "zne_factory": getattr(inner, "zne_factory", None)}
    if hasattr(inner, "device"):
        out["calibration_date"] = calibration_date(inner.device)
    if circuit is not None and hasattr(inner, "program"):
        program = inner.program(circuit)
        out.update({"transpiled_depth": program.depth, "two_qubit_gates": program.count(2),
                    "device_qubits_used": list(program.physical),
                    "seconds_per_shot": program_seconds(program, inner.device)})
    usage = dict(getattr(inner, "usage", {}))
    out.update({"circuit_executions": usage.get("circuit_executions", 0), "total_shots": usage.get("total_shots", 0),
                "estimated_qpu_seconds": usage.get("qpu_seconds", 0.0)})
    out["fallbacks"] = list(getattr(backend, "fallbacks", []))
    return out


def write_provenance(path: str | Path, provenance: dict) -> Path:
    """Write the provenance as JSON atomically."""
    return atomic_write_text(path, json.dumps(provenance, indent=2, default=str) + "\n")
