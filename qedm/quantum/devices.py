"""Calibrated device models available offline: the fake backends shipped in `qiskit-ibm-runtime`.

Each fake backend is a snapshot of a real IBM device's calibration (per-qubit T1/T2 and readout
error, per-gate error and duration). `device_summary` reduces one to medians (what `qedm devices`
prints); `validate_calibration` checks the physical constraints a snapshot must meet (T2 <= 2 T1,
probabilities in [0, 1], positive durations) and names each violation. Aer's noise construction
clips T2 to 2 T1 where a snapshot violates it, so a violation is reported, not fatal.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from qedm.choices import DEVICE_BACKENDS
from qedm.errors import CircuitError, require

EXTRA = "hardware"
# qedm name -> class in qiskit_ibm_runtime.fake_provider (small, old-style devices and one Eagle).
DEVICES = {
    "fake_nairobi": "FakeNairobiV2",
    "fake_lagos": "FakeLagosV2",
    "fake_guadalupe": "FakeGuadalupeV2",
    "fake_brisbane": "FakeBrisbane",
}
assert tuple(DEVICES) == DEVICE_BACKENDS  # the one list of choices lives in qedm.choices


def check_device(name: str) -> str:
    """`name` if it is a known device (CircuitError lists them otherwise)."""
    if name not in DEVICES:
        raise CircuitError(f"unknown device {name!r}; expected one of {list(DEVICES)}")
    return name


def load_device(name: str):
    """The fake backend (a Qiskit BackendV2 with its calibration snapshot) called `name`."""
    check_device(name)
    fake_provider = require("qiskit_ibm_runtime.fake_provider", EXTRA)
    require("qiskit_aer", EXTRA)
    return getattr(fake_provider, DEVICES[name])()


@dataclass
class DeviceSummary:
    """Medians of one calibration snapshot (times in microseconds, durations in nanoseconds)."""

    name: str
    n_qubits: int
    basis_gates: list[str]
    two_qubit_gate: str
    t1_us: float
    t2_us: float
    error_1q: float
    error_2q: float
    readout_error: float
    duration_1q_ns: float
    duration_2q_ns: float
    readout_ns: float
    calibration_date: str
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _median(values: list[float]) -> float:
    values = [v for v in values if v is not None]
    return float(statistics.median(values)) if values else float("nan")


def two_qubit_gate(backend) -> str:
    """The device's native two-qubit gate (cx, ecr or cz)."""
    for name in ("ecr", "cx", "cz"):
        if name in backend.target.operation_names:
            return name
    raise CircuitError(f"device {backend.name!r} has no two-qubit gate among cx, ecr, cz")


def calibration_date(backend) -> str:
    """The snapshot's last update date (ISO format), or 'unknown'."""
    props = backend.properties() if hasattr(backend, "properties") else None
    date = getattr(props, "last_update_date", None)
    return date.isoformat() if hasattr(date, "isoformat") else str(date or "unknown")


def _gate_stats(target, name: str) -> tuple[list[float], list[float]]:
    errors, durations = [], []
    for props in (target[name] or {}).values():
        if props is None:
            continue
        if props.error is not None:
            errors.append(props.error)
        if props.duration is not None:
            durations.append(props.duration * 1e9)
    return errors, durations


def validate_calibration(backend) -> list[str]:
    """Physical constraints the snapshot violates, one line each (empty: valid)."""
    problems = []
    for q in range(backend.num_qubits):
        p = backend.qubit_properties(q)
        t1, t2 = getattr(p, "t1", None), getattr(p, "t2", None)
        if t1 is not None and t1 <= 0:
            problems.append(f"qubit {q}: T1={t1 * 1e6:.1f} us is not positive")
        if t2 is not None and t2 <= 0:
            problems.append(f"qubit {q}: T2={t2 * 1e6:.1f} us is not positive")
        if t1 is not None and t2 is not None and t2 > 2 * t1:
            problems.append(
                f"qubit {q}: T2={t2 * 1e6:.1f} us > 2*T1={2 * t1 * 1e6:.1f} us (unphysical; clipped to 2*T1)"
            )
    target = backend.target
    for name in target.operation_names:
        for qargs, props in (target[name] or {}).items():
            if props is None:
                continue
            if props.error is not None and not 0 <= props.error <= 1:
                problems.append(f"{name}{tuple(qargs)}: error {props.error} is not a probability")
            if props.duration is not None and props.duration < 0:
                problems.append(f"{name}{tuple(qargs)}: negative duration {props.duration}")
    return problems


def device_summary(name: str) -> DeviceSummary:
    """Medians of the calibration of device `name`, with its validation problems."""
    backend = load_device(name)
    target = backend.target
    props = [backend.qubit_properties(q) for q in range(backend.num_qubits)]
    two_q = two_qubit_gate(backend)
    e1, d1 = _gate_stats(target, "sx")
    e2, d2 = _gate_stats(target, two_q)
    er, dr = _gate_stats(target, "measure")
    basis = sorted(n for n in target.operation_names if n not in ("measure", "delay", "reset", "if_else", "for_loop",
                                                                   "while_loop", "switch_case"))
    return DeviceSummary(
        name=name, n_qubits=backend.num_qubits, basis_gates=basis, two_qubit_gate=two_q,
        t1_us=_median([getattr(p, "t1", None) for p in props]) * 1e6,
        t2_us=_median([getattr(p, "t2", None) for p in props]) * 1e6,
        error_1q=_median(e1), error_2q=_median(e2), readout_error=_median(er),
        duration_1q_ns=_median(d1), duration_2q_ns=_median(d2), readout_ns=_median(dr),
        calibration_date=calibration_date(backend), problems=validate_calibration(backend),
    )


def list_devices() -> list[DeviceSummary]:
    """Summaries of every known device."""
    return [device_summary(name) for name in DEVICES]
