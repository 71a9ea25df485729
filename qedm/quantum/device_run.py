"""Put every circuit of a trained model on a device backend, and write what that cost.

`attach_device(module, "fake_nairobi", shots, mitigation)` replaces the backend of each VQC in
`module` by a `ResilientBackend` around a `DeviceBackend` (so a failing device call falls back
to the exact simulator instead of losing rows) and transpiles each circuit at once, so bad input
(too many qubits, unknown device) fails before any work or output.
"""

from __future__ import annotations

from qedm.errors import ConfigError


def attach_device(module, device: str, shots: int | None = None, mitigation: str = "none", engine: str = "qedm",
                  retries: int = 2, timeout_s: float | None = None, seed: int = 0, chunk_rows: int | None = 256,
                  workers: int = 2) -> list:
    """[(vqc, backend)] for every VQC in `module`, now on `device` (chunks of `chunk_rows` rows in flight at once)."""
    from qedm.quantum.backends.device import DeviceBackend
    from qedm.quantum.backends.resilient import ResilientBackend
    from qedm.quantum.circuits import VQC

    vqcs = [m for m in module.modules() if isinstance(m, VQC)]
    if not vqcs:
        raise ConfigError(f"--backend {device!r} needs a model with a quantum circuit; this one has none")
    attached = []
    for vqc in vqcs:
        primary = DeviceBackend(device, shots, mitigation, engine, seed=seed)
        primary.program(vqc)  # transpile now: too many qubits fails here
        vqc.backend = ResilientBackend(primary, retries=retries, timeout_s=timeout_s, chunk_rows=chunk_rows,
                                       workers=workers)
        attached.append((vqc, vqc.backend))
    return attached


def attached_provenance(attached: list) -> dict:
    """Provenance of every attached circuit, with totals over them."""
    from qedm.quantum.provenance import device_provenance

    circuits = [device_provenance(backend, vqc) for vqc, backend in attached]
    total = {key: sum(c[key] for c in circuits) for key in ("circuit_executions", "total_shots",
                                                            "estimated_qpu_seconds")}
    return {**{k: circuits[0][k] for k in ("backend", "engine", "shots", "mitigation", "zne_factory",
                                            "calibration_date")},
            **total, "fallbacks": [f for c in circuits for f in c["fallbacks"]], "circuits": circuits}
