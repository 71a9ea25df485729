"""The one configuration object of a QEDM run, validated in one place.

Everything a run needs to be rebuilt lives here as plain values, so a run directory's
`config.json` (or a user's YAML file) fully describes the model that was trained.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from qedm.errors import ConfigError

DENOISERS = ("classical", "hybrid", "quantum", "quantum_dense")
LATENTS = ("auto", "none", "pca", "ae")
SCHEDULES = ("linear", "cosine")
NOISE_SOURCES = ("prng", "qrng")
SAMPLERS = ("ddpm", "ddim", "dpm_solver", "dpm_solver_sde")
ENCODINGS = ("angle", "reupload", "amplitude", "iqp")
ENTANGLERS = ("ring", "all")
OBSERVABLES = ("z", "zz", "both")
DIFF_METHODS = ("backprop", "parameter-shift", "spsa")  # the values of `gradient`
BACKENDS = ("statevector", "density", "reference")  # qedm.quantum.backends.BACKENDS
DEVICE_BACKENDS = ("fake_nairobi", "fake_lagos", "fake_guadalupe", "fake_brisbane")  # qedm.quantum.devices.DEVICES


@dataclass
class QEDMConfig:
    """Hyper-parameters of a QEDM: denoiser, circuit, latent, diffusion and training."""

    denoiser: str = "hybrid"
    # Circuit (hybrid and quantum denoisers).
    n_qubits: int = 6
    n_layers: int | None = None  # None: 3 for hybrid/quantum, 20 for quantum_dense
    encoding: str | None = None  # None: "reupload" for hybrid and quantum
    entangler: str = "ring"
    observables: str = "both"
    # Execution: the backend that runs the circuit, shots per evaluation (None: exact), the
    # gradient method ("diff_method" in configs written before it was renamed).
    backend: str = "statevector"
    shots: int | None = None
    gradient: str = "backprop"
    # Classical layers.
    hidden: int = 128
    n_blocks: int = 2
    time_dim: int = 32
    # Latent: "auto" compresses only for the quantum denoiser (to n_qubits dimensions).
    latent: str = "auto"
    latent_dim: int | None = None
    # Diffusion.
    schedule: str = "cosine"
    n_steps: int = 1000
    noise: str = "prng"
    # Training.
    epochs: int = 300
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.0
    checkpoint_every: int = 25
    seed: int = 0
    # Sampling defaults.
    # Stochastic few-step DPM-Solver++(2M) SDE: at 20 steps it matched 1000-step DDPM on the
    # bundled table's fidelity and digits' FID (BENCHMARKS.md); deterministic samplers scored lower.
    sampler: str = "dpm_solver_sde"
    sample_steps: int | None = None  # None: the sampler's default (ddpm 200, ddim 50, dpm_solver(_sde) 20)
    # Conditional generation: a class column modelled with classifier-free guidance.
    condition_column: str | None = None
    guidance_scale: float = 1.0
    # Data.
    column_kinds: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    threads: int | None = 1  # torch intra-op threads while fitting/sampling; None: torch's default

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first argument that is out of range."""
        _one_of("denoiser", self.denoiser, DENOISERS)
        _one_of("latent", self.latent, LATENTS)
        _one_of("schedule", self.schedule, SCHEDULES)
        _one_of("noise", self.noise, NOISE_SOURCES)
        _one_of("sampler", self.sampler, SAMPLERS)
        _one_of("entangler", self.entangler, ENTANGLERS)
        _one_of("observables", self.observables, OBSERVABLES)
        _one_of("gradient", self.gradient, DIFF_METHODS)
        _one_of("backend", self.backend, BACKENDS + DEVICE_BACKENDS)
        if self.encoding is not None:
            _one_of("encoding", self.encoding, ENCODINGS)
        if self.n_layers is not None:
            _positive_int("n_layers", self.n_layers)
        for name in ("n_qubits", "hidden", "n_blocks", "time_dim", "n_steps",
                     "epochs", "batch_size", "checkpoint_every"):
            _positive_int(name, getattr(self, name))
        if self.n_qubits > 20:
            raise ConfigError(f"n_qubits={self.n_qubits} is too large for a statevector simulator (max 20)")
        if self.shots is not None:
            _positive_int("shots", self.shots)
        if self.threads is not None:
            _positive_int("threads", self.threads)
        if self.latent_dim is not None:
            _positive_int("latent_dim", self.latent_dim)
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.sample_steps is not None:
            _positive_int("sample_steps", self.sample_steps)
        if self.sample_steps is not None and self.sample_steps > self.n_steps:
            raise ConfigError(f"sample_steps={self.sample_steps} exceeds n_steps={self.n_steps}")
        if self.guidance_scale < 0:
            raise ConfigError(f"guidance_scale must be >= 0, got {self.guidance_scale}")

    @property
    def diff_method(self) -> str:
        """The gradient method under its former name."""
        return self.gradient

    @property
    def resolved_encoding(self) -> str:
        return self.encoding or "reupload"

    @property
    def resolved_n_layers(self) -> int:
        if self.n_layers is not None:
            return self.n_layers
        return 20 if self.denoiser == "quantum_dense" else 3

    @property
    def resolved_latent(self) -> str:
        if self.latent != "auto":
            return self.latent
        return "pca" if self.denoiser == "quantum" else "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "QEDMConfig":
        known = {f.name for f in fields(cls)}
        if "diff_method" in values:  # the former name of `gradient`
            values = dict(values)
            old = values.pop("diff_method")
            if values.setdefault("gradient", old) != old:
                raise ConfigError(f"diff_method={old!r} and gradient={values['gradient']!r} disagree; "
                                  "keep only gradient")
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> "QEDMConfig":
        """Read a YAML or JSON file of config values."""
        return cls.from_dict(read_config_file(path))

    def updated(self, **changes: Any) -> "QEDMConfig":
        """A copy with some values replaced (None values are ignored), validated."""
        values = self.to_dict()
        if changes.get("diff_method") is not None:  # the former name of `gradient`
            changes = {**changes, "gradient": changes.get("gradient") or changes["diff_method"]}
            if changes["gradient"] != changes.pop("diff_method"):
                raise ConfigError("diff_method and gradient disagree; keep only gradient")
        values.update({k: v for k, v in changes.items() if v is not None})
        return QEDMConfig.from_dict(values)

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Load a mapping of config values from YAML or JSON; errors name the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML/JSON: {exc}") from exc
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return values


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(allowed)}")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
