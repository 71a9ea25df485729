"""Build a denoiser from its name and config values; match a classical width to a budget."""

from __future__ import annotations

import inspect
from dataclasses import asdict
from typing import Any

from torch import nn

from qedm.errors import ConfigError
from qedm.models.classical import ClassicalDenoiser, matched_classical_hidden
from qedm.models.configs import make_denoiser_config
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


def build_denoiser(name: str, data_dim: int, config: Any = None, **kwargs: Any) -> nn.Module:
    """A fresh denoiser: "classical" | "hybrid" | "quantum" | "quantum_dense" on data of width data_dim.

    `config` is the denoiser's settings (its qedm.models.configs dataclass, or a mapping; None:
    defaults); `kwargs` are settings too, or what the pipeline supplies (n_classes, seed, and
    for quantum_dense n_steps and schedule). A keyword this denoiser does not take raises
    ConfigError naming it and listing what it takes, as do out-of-range values.
    """
    accepted = denoiser_arguments(name)
    settings = asdict(make_denoiser_config(name, config)) if config is not None else {}
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(f"unknown denoiser argument(s): {', '.join(unknown)}; "
                          f"{name!r} takes: {', '.join(accepted)}")
    return DENOISERS[name](data_dim, **{**settings, **kwargs})


__all__ = ["DENOISERS", "build_denoiser", "denoiser_arguments", "matched_classical_hidden"]
