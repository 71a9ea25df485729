"""Execution backends behind one protocol (`base.Backend`), chosen by name.

- "reference" (`reference.py`): the template's Op list gate by gate, the oracle;
- "statevector" (`statevector.py`): the fast exact kernels (CPU; the CUDA path is untested on real hardware);
- "density" (`density.py`): density matrices with noise channels and readout error.
Every backend takes `shots=N` (expectations estimated from N sampled bitstrings per row).
The concrete backends are imported when first made, so that `noise`/`gradients` can import `base`.
"""

from __future__ import annotations

from qedm.choices import BACKENDS
from qedm.errors import CircuitError
from qedm.quantum.backends.base import Backend, BackendBase, check_shots, sample_counts, shot_estimate


def check_backend(name: str) -> str:
    """`name` if it is a known backend or device (CircuitError lists them otherwise)."""
    from qedm.quantum.devices import DEVICES

    if name not in BACKENDS and name not in DEVICES:
        raise CircuitError(f"unknown backend {name!r}; expected one of {list(BACKENDS) + list(DEVICES)}")
    return name


def make_backend(name: str, shots: int | None = None, *, noise=None, execution: str = "auto") -> BackendBase:
    """The backend called `name` with `shots` (None: exact); `noise` (a NoiseModel) only for "density"."""
    check_backend(name)
    if name not in BACKENDS:  # a calibrated device (qedm.quantum.devices): its own noise, no mitigation here
        from qedm.quantum.backends.device import DeviceBackend

        if noise is not None:
            raise CircuitError(f"device backend {name!r} brings its own noise; do not pass a noise model")
        return DeviceBackend(name, shots)
    if noise is not None and name != "density":
        raise CircuitError(f"a noise model needs backend='density', got backend={name!r}")
    if name == "density":
        from qedm.quantum.backends.density import DensityBackend

        return DensityBackend(shots, noise)
    if name == "reference":
        from qedm.quantum.backends.reference import ReferenceBackend

        return ReferenceBackend(shots)
    from qedm.quantum.backends.statevector import StatevectorBackend

    return StatevectorBackend(shots, execution)


__all__ = ["BACKENDS", "Backend", "BackendBase", "check_backend", "check_shots", "make_backend", "sample_counts",
           "shot_estimate"]
