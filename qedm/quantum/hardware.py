"""Run any circuit template on a calibrated device: `expectations(vqc, x, backend="fake_nairobi", ...)`.

One call transpiles the template for the device (cached on the backend), emulates it with the
device's noise on the chosen engine, samples `shots` per row and applies `mitigation`.
"""

from __future__ import annotations

import torch

from qedm.errors import CircuitError


def expectations(vqc, x, backend: str = "fake_nairobi", shots: int | None = None, mitigation: str = "none",
                 engine: str = "qedm", zne_factory: str = "richardson", seed: int = 0,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """The template's observables on the device: x [B, k] -> [B, m] (the template's real dtype).

    backend: a device name (`qedm.quantum.devices.DEVICES`) or a `DeviceBackend`; shots None gives
    exact noisy expectations, N the N-shot estimate per row (seeded by `seed`).
    """
    from qedm.quantum.backends.device import DeviceBackend

    if isinstance(backend, DeviceBackend):
        dev = backend
    elif isinstance(backend, str):
        dev = DeviceBackend(backend, shots, mitigation, engine, zne_factory, seed)
    else:
        raise CircuitError(f"backend must be a device name or a DeviceBackend, got {type(backend).__name__}")
    x, w = vqc._resolve(x, weights)
    return dev.estimate(vqc, x, w, generator=torch.Generator().manual_seed(seed) if dev.shots else None)
