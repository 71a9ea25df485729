"""Build a denoiser from its name and config values; match a classical width to a budget."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from qedm.errors import ConfigError
from qedm.models.classical import ClassicalDenoiser, matched_classical_hidden
from qedm.models.hybrid import HybridDenoiser
from qedm.models.quantum import QuantumDenoiser
from qedm.models.quantum_dense import QuantumDenseDenoiser

DENOISERS: dict[str, type[nn.Module]] = {
    "classical": ClassicalDenoiser,
    "hybrid": HybridDenoiser,
    "quantum": QuantumDenoiser,
    "quantum_dense": QuantumDenseDenoiser,
}


def denoiser_arguments(name: str) -> tuple[str, ...]:
    """The keyword arguments the denoiser `name` takes besides data_dim."""
    if name not in DENOISERS:
        raise ConfigError(f"denoiser={name!r} is not one of: {', '.join(DENOISERS)}")
    params = inspect.signature(DENOISERS[name].__init__).parameters
    return tuple(p for p in params if p not in ("self", "data_dim"))


def build_denoiser(name: str, data_dim: int, **kwargs: Any) -> nn.Module:
    """A fresh denoiser: "classical" | "hybrid" | "quantum" on data of width data_dim.

    One config serves every denoiser: a keyword that another denoiser takes but this one
    does not (e.g. n_qubits for "classical", hidden for "quantum") is ignored; a keyword no
    denoiser takes raises ConfigError naming it, as do out-of-range values.
    """
    accepted = denoiser_arguments(name)
    known = {arg for other in DENOISERS for arg in denoiser_arguments(other)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ConfigError(f"unknown denoiser argument(s): {', '.join(unknown)}; "
                          f"{name!r} takes: {', '.join(accepted)}")
    return DENOISERS[name](data_dim, **{k: v for k, v in kwargs.items() if k in accepted})


__all__ = ["DENOISERS", "build_denoiser", "denoiser_arguments", "matched_classical_hidden"]
