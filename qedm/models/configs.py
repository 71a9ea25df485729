"""The settings of each denoiser, declared once (diffusers' `register_to_config` idea).

One dataclass per denoiser holds its settings and their defaults; the denoiser's constructor
takes its defaults from here and `QEDMConfig.denoiser_config` holds one of these, so a setting
a denoiser does not take cannot be given to it (ConfigError naming the key and what it takes).
What the pipeline supplies (data width, classes, seed, the schedule) is not in here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from qedm.choices import (
    BACKENDS,
    DENOISERS,
    DENSE_ENTANGLERS,
    DENSE_READOUTS,
    DEVICE_BACKENDS,
    DIFF_METHODS,
    ENCODINGS,
    ENTANGLERS,
    HYBRID_DESIGNS,
    INITS,
    OBSERVABLES,
    TIME_GATES,
    in_range,
    one_of,
    positive_int,
    qubit_count,
)
from qedm.errors import ConfigError


@dataclass
class ClassicalConfig:
    """The residual MLP (ClassicalDenoiser): width, residual blocks, timestep features, dropout."""

    name: ClassVar[str] = "classical"
    hidden: int = 128
    n_blocks: int = 2
    time_dim: int = 32
    dropout: float = 0.0

    def __post_init__(self) -> None:
        positive_int("hidden", self.hidden)
        positive_int("n_blocks", self.n_blocks, minimum=0)
        positive_int("time_dim", self.time_dim)
        in_range("dropout", self.dropout, 0.0, 1.0)


@dataclass
class CircuitConfig:
    """The VQC of the hybrid and quantum denoisers (qedm.quantum.circuits.VQC)."""

    n_qubits: int = 6
    n_layers: int = 3
    encoding: str = "reupload"
    entangler: str = "ring"
    observables: str = "both"
    # Execution: the backend that runs the circuit (qedm.quantum.backends), shots per evaluation
    # (None: exact expectations) and the gradient method ("diff_method" before it was renamed).
    backend: str = "statevector"
    shots: int | None = None
    gradient: str = "backprop"
    init: str = "small"

    def __post_init__(self) -> None:
        qubit_count("n_qubits", self.n_qubits)
        positive_int("n_layers", self.n_layers)
        one_of("encoding", self.encoding, ENCODINGS)
        one_of("entangler", self.entangler, ENTANGLERS)
        one_of("observables", self.observables, OBSERVABLES)
        one_of("backend", self.backend, BACKENDS + DEVICE_BACKENDS)
        one_of("gradient", self.gradient, DIFF_METHODS)
        one_of("init", self.init, INITS)
        if self.shots is not None:
            positive_int("shots", self.shots)


@dataclass
class HybridConfig(CircuitConfig):
    """HybridDenoiser: an MLP trunk (hidden, n_blocks, time_dim, dropout) around the circuit."""

    name: ClassVar[str] = "hybrid"
    hidden: int = 128
    n_blocks: int = 1
    time_dim: int = 32
    dropout: float = 0.0
    design: str = "residual"  # how the circuit's read-out joins the trunk (choices.HYBRID_DESIGNS)

    def __post_init__(self) -> None:
        super().__post_init__()
        positive_int("hidden", self.hidden)
        positive_int("n_blocks", self.n_blocks, minimum=0)
        positive_int("time_dim", self.time_dim)
        in_range("dropout", self.dropout, 0.0, 1.0)
        one_of("design", self.design, HYBRID_DESIGNS)


@dataclass
class QuantumConfig(CircuitConfig):
    """QuantumDenoiser: the circuit between a linear read-in (with timestep features) and read-out."""

    name: ClassVar[str] = "quantum"
    time_dim: int = 32

    def __post_init__(self) -> None:
        super().__post_init__()
        positive_int("time_dim", self.time_dim)


@dataclass
class QuantumDenseConfig:
    """QuantumDenseDenoiser: one amplitude-encoded circuit on the whole (image) row."""

    name: ClassVar[str] = "quantum_dense"
    n_layers: int = 20
    n_blocks: int = 3
    readout: str = "both"
    entangler: str = "crx"
    sigma_data: float = 0.5
    clip_denoised: bool = True
    time_gates: tuple[str, ...] = ("RY",)
    time_phases: bool = True
    init_std: float = 0.02

    def __post_init__(self) -> None:
        self.time_gates = tuple(self.time_gates)  # JSON gives a list back
        positive_int("n_layers", self.n_layers)
        positive_int("n_blocks", self.n_blocks)
        if self.n_blocks > self.n_layers:
            raise ConfigError(f"n_blocks must be an integer in 1..n_layers={self.n_layers}, got {self.n_blocks}")
        one_of("readout", self.readout, DENSE_READOUTS)
        one_of("entangler", self.entangler, DENSE_ENTANGLERS)
        if not self.time_gates or any(g not in TIME_GATES for g in self.time_gates):
            raise ConfigError(f"time_gates must be a non-empty sequence of RX/RY/RZ, got {self.time_gates!r}")


DenoiserConfig = ClassicalConfig | HybridConfig | QuantumConfig | QuantumDenseConfig
DENOISER_CONFIGS: dict[str, type] = {
    cls.name: cls for cls in (ClassicalConfig, HybridConfig, QuantumConfig, QuantumDenseConfig)
}
assert tuple(DENOISER_CONFIGS) == DENOISERS


def setting_names(denoiser: str) -> tuple[str, ...]:
    """The settings the denoiser `denoiser` takes, in declaration order."""
    one_of("denoiser", denoiser, DENOISERS)
    return tuple(f.name for f in fields(DENOISER_CONFIGS[denoiser]))


def make_denoiser_config(denoiser: str, values: Any = None, **changes: Any) -> DenoiserConfig:
    """The config of `denoiser` from a mapping or config object (None: defaults) plus `changes`.

    A key the denoiser does not take is a ConfigError naming it and listing what it takes.
    """
    names = setting_names(denoiser)
    cls = DENOISER_CONFIGS[denoiser]
    if values is None:
        values = {}
    elif isinstance(values, cls):
        values = asdict(values)
    elif not isinstance(values, dict):
        raise ConfigError(f"denoiser_config for denoiser={denoiser!r} must be a {cls.__name__} or a mapping, "
                          f"got {type(values).__name__}")
    merged = {**_renamed(values, names), **_renamed(changes, names)}
    unknown = [key for key in merged if key not in names]
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(map(repr, unknown))}: not a pipeline setting nor one "
                          f"the {denoiser!r} denoiser takes (it takes: {', '.join(names)})")
    return cls(**merged)


def _renamed(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """`diff_method` (the former name of a circuit's `gradient`) read as `gradient`."""
    if "diff_method" not in values or "gradient" not in names:
        return values
    values = dict(values)
    old = values.pop("diff_method")
    if values.setdefault("gradient", old) != old:
        raise ConfigError(f"diff_method={old!r} and gradient={values['gradient']!r} disagree; keep only gradient")
    return values
