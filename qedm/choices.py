"""Every list of valid choices in qedm, and the one validator of settings.

Configs, denoisers, circuits and samplers all check their arguments with `one_of` and
`positive_int`, against the tuples here, so a choice is added in one place and every
error reads the same: the argument's name, the bad value, what is allowed.
"""

from __future__ import annotations

import numbers
from typing import Any

from qedm.errors import ConfigError, QEDMError

DENOISERS = ("classical", "hybrid", "quantum", "quantum_dense")
LATENTS = ("auto", "none", "pca", "ae")
SCHEDULES = ("linear", "cosine")
NOISE_SOURCES = ("prng", "qrng")
SAMPLERS = ("ddpm", "ddim", "dpm_solver", "dpm_solver_sde")
DP_PRIORS = ("gaussian", "none")  # starting point of a DP fit's denoiser (qedm.privacy.fit)
CONDITION_KINDS = ("auto", "class", "continuous")  # how a condition column is modelled
TIMESTEP_SPACINGS = ("linspace", "log_snr")
# Circuits of the hybrid and quantum denoisers (qedm.quantum.circuits.VQC).
ANGLE_ENCODINGS = ("angle", "reupload", "iqp")
ENCODINGS = ("angle", "reupload", "amplitude", "iqp")
ENTANGLERS = ("ring", "all")
OBSERVABLES = ("z", "zz", "both")
DIFF_METHODS = ("backprop", "parameter-shift", "spsa")  # the values of a circuit's `gradient`
BACKENDS = ("statevector", "density", "reference")  # qedm.quantum.backends, chosen by name
# Calibrated device emulations (qedm.quantum.devices), also valid as a circuit's backend.
DEVICE_BACKENDS = ("fake_nairobi", "fake_lagos", "fake_guadalupe", "fake_brisbane")
INITS = ("small", "identity", "uniform")
# How the hybrid's circuit read-out c = Linear(q) [B, hidden] joins its trunk (qedm.models.hybrid).
HYBRID_DESIGNS = ("residual", "bottleneck", "gated", "film", "skip")
# statevector kernel choice; "gates": the reference backend
EXECUTIONS = ("auto", "compiled", "fused", "layers", "gates")
# The quantum_dense denoiser's own circuit (qedm.models.quantum_dense).
DENSE_ENTANGLERS = ("cnot", "crx")
DENSE_READOUTS = ("amplitude", "probability", "both")
TIME_GATES = ("RX", "RY", "RZ")

MAX_QUBITS = 20  # a statevector of 2**20 amplitudes per row is the most a CPU handles


def one_of(name: str, value: Any, allowed: tuple[str, ...], error: type[QEDMError] = ConfigError) -> Any:
    """`value` if it is one of `allowed`, else `error` (ConfigError; circuits pass CircuitError) naming `name`,
    the value and the choices."""
    if value not in allowed:
        raise error(f"{name}={value!r} is not one of: {', '.join(allowed)}")
    return value


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """`value` as an int if it is an integer >= minimum (numpy ints too), else ConfigError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{name} must be {kind}, got {value!r}")
    return int(value)


def in_range(name: str, value: Any, low: float, high: float, *, high_open: bool = True) -> float:
    """`value` as a float in [low, high) (or [low, high]), else ConfigError naming `name`."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and low <= value
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        raise ConfigError(f"{name} must lie in [{low}, {high}{')' if high_open else ']'}, got {value!r}")
    return float(value)


def qubit_count(name: str, value: Any) -> int:
    """A positive qubit count a statevector simulator can hold (at most MAX_QUBITS)."""
    value = positive_int(name, value)
    if value > MAX_QUBITS:
        raise ConfigError(f"{name}={value} is too large for a statevector simulator (max {MAX_QUBITS})")
    return value
