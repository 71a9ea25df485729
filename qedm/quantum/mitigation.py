"""Error mitigation, batched over rows: local readout-error inversion and zero-noise extrapolation.

Readout: each measured bit's 2x2 assignment matrix (from the calibration) is inverted and applied
to the measured distribution (tensored, never the 2**n x 2**n matrix). ZNE: the circuit runs at
noise scale factors (global unitary folding, `DeviceProgram.fold`) and Mitiq's factories
extrapolate to zero noise. Richardson and linear extrapolation are linear in the measured values,
so Mitiq is asked once for the weights (its extrapolation of unit vectors) and the weights are
applied to all rows and observables in one product; exponential extrapolation (asymptote 0, as
for Pauli expectations under depolarizing noise) is Mitiq's `ExpFactory` fit done batched:
a weighted least-squares line through log|E| (Mitiq's weights) with the sign of the unscaled value.
"""

from __future__ import annotations

import torch

from qedm.errors import CircuitError, require

MITIGATIONS = ("none", "readout", "zne", "readout+zne")
FACTORIES = ("richardson", "linear", "exponential")
SCALES = {"richardson": (1, 3, 5), "linear": (1, 3), "exponential": (1, 3, 5)}


def check_mitigation(mitigation: str) -> str:
    if mitigation not in MITIGATIONS:
        raise CircuitError(f"unknown mitigation {mitigation!r}; expected one of {list(MITIGATIONS)}")
    return mitigation


def check_factory(factory: str) -> str:
    if factory not in FACTORIES:
        raise CircuitError(f"unknown zne_factory {factory!r}; expected one of {list(FACTORIES)}")
    return factory


def linear_weights(factory: str, scales: tuple[int, ...]) -> torch.Tensor:
    """Weights w [S] with E_0 = sum_s w_s E_s, from Mitiq's static extrapolation of unit vectors."""
    zne = require("mitiq.zne.inference", "hardware")
    cls = {"richardson": zne.RichardsonFactory, "linear": zne.LinearFactory}[factory]
    weights = []
    for s in range(len(scales)):
        unit = [1.0 if t == s else 0.0 for t in range(len(scales))]
        weights.append(float(cls.extrapolate(list(map(float, scales)), unit)))
    return torch.tensor(weights, dtype=torch.float64)


def extrapolate(values: torch.Tensor, scales: tuple[int, ...], factory: str) -> torch.Tensor:
    """Zero-noise values from values [S, B, m] measured at `scales`: [B, m]."""
    check_factory(factory)
    if factory != "exponential":
        w = linear_weights(factory, scales).to(device=values.device, dtype=values.dtype)
        return torch.tensordot(w, values, dims=([0], [0]))
    lam = torch.tensor(scales, dtype=values.dtype, device=values.device)
    sign = torch.sign(values[0])
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    shifted = (values * sign).clamp_min(1e-12)  # [S, B, m]
    y, w = torch.log(shifted), shifted  # Mitiq's polyfit weights sqrt|y|: squared residual weights |y|
    lam = lam[:, None, None]
    sw = w.sum(0)
    lam_bar, y_bar = (w * lam).sum(0) / sw, (w * y).sum(0) / sw
    slope = (w * (lam - lam_bar) * (y - y_bar)).sum(0) / (w * (lam - lam_bar) ** 2).sum(0)
    intercept = y_bar - slope * lam_bar
    return sign * torch.exp(intercept)


def invert_readout(probs: torch.Tensor, matrices: dict) -> torch.Tensor:
    """Apply each bit's inverse assignment matrix: probs [B, 2**n] (bit i = logical Qiskit qubit i)."""
    from qedm.quantum.device_emulator import apply_local

    n = int(probs.shape[1]).bit_length() - 1
    inverse = {i: torch.linalg.inv(m.double()) for i, m in matrices.items()}
    return apply_local(probs.double(), inverse, n).to(probs.dtype)
