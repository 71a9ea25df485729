"""Gate matrices (PennyLane conventions), batched over leading angle dimensions and differentiable.

Rotations: RX(t) = exp(-i t X/2), RY, RZ alike; Rot(a, b, c) = RZ(c) RY(b) RZ(a);
CRX/CRZ apply RX/RZ on the second wire when the first is |1>. For a k-qubit gate the row
index reads wires[0] as the most significant bit (PennyLane's ordering).
"""

from __future__ import annotations

import math

import torch

from qedm.errors import CircuitError
from qedm.quantum.ir import N_PARAMS

REAL_DTYPE = {torch.complex64: torch.float32, torch.complex128: torch.float64}

_S = 1.0 / math.sqrt(2.0)
_FIXED = {
    "H": [[_S, _S], [_S, -_S]],
    "X": [[0, 1], [1, 0]],
    "Z": [[1, 0], [0, -1]],
    "CNOT": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
    "CZ": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1]],
}


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """The real dtype matching a complex state dtype (complex64 -> float32, complex128 -> float64)."""
    if dtype not in REAL_DTYPE:
        raise CircuitError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    return REAL_DTYPE[dtype]


def _matrix(re: list[list[torch.Tensor]], im: list[list[torch.Tensor]], dtype: torch.dtype) -> torch.Tensor:
    """Assemble a complex [..., 2, 2] matrix from nested lists of real [...] entries."""
    real = torch.stack([torch.stack(row, dim=-1) for row in re], dim=-2)
    imag = torch.stack([torch.stack(row, dim=-1) for row in im], dim=-2)
    return torch.complex(real, imag).to(dtype)


# RY(t) entries (0,0), (0,1), (1,0), (1,1) = cos(t/2 + shift): c, -s, s, c
RY_ENTRY_SHIFTS = (0.0, math.pi / 2, -math.pi / 2, 0.0)


def rot_matrix(angles: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Rot(a, b, c) = RZ(c) RY(b) RZ(a): angles [..., 3] -> [..., 2, 2], in a few batched ops.

    Entries are modulus x phase: [[cos(b/2) e^{-i(a+c)/2}, -sin(b/2) e^{i(a-c)/2}],
    [sin(b/2) e^{-i(a-c)/2}, cos(b/2) e^{i(a+c)/2}]]; the moduli are cos(b/2 + offset) and the
    phases a linear map of (a, b, c), so the whole batch costs two small matmuls.
    """
    real = angles.dtype
    to_phase = torch.tensor([[-0.5, 0.5, -0.5, 0.5], [0.0, 0.0, 0.0, 0.0], [-0.5, -0.5, 0.5, 0.5]], dtype=real,
                            device=angles.device)
    to_half_b = torch.tensor([[0.0] * 4, [0.5] * 4, [0.0] * 4], dtype=real, device=angles.device)
    offset = torch.tensor(RY_ENTRY_SHIFTS, dtype=real, device=angles.device)
    modulus = torch.cos(angles @ to_half_b + offset)
    phase = angles @ to_phase
    entries = torch.complex(modulus * torch.cos(phase), modulus * torch.sin(phase))
    return entries.reshape(*angles.shape[:-1], 2, 2).to(dtype)


def rotation_1q(name: str, angles: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """RX/RY/RZ/Rot matrices: angles [..., n_params] -> [..., 2, 2]."""
    if name == "Rot":
        return rot_matrix(angles, dtype)
    t = angles[..., 0] / 2
    c, s = torch.cos(t), torch.sin(t)
    zero = torch.zeros_like(c)
    if name == "RX":
        return _matrix([[c, zero], [zero, c]], [[zero, -s], [-s, zero]], dtype)
    if name == "RY":
        return _matrix([[c, -s], [s, c]], [[zero, zero], [zero, zero]], dtype)
    if name == "RZ":
        return _matrix([[c, zero], [zero, c]], [[-s, zero], [zero, s]], dtype)
    raise CircuitError(f"unknown one-qubit rotation {name!r}")


def gate_matrix(
    name: str, angles: torch.Tensor | None = None, dtype: torch.dtype = torch.complex64
) -> torch.Tensor:
    """Matrix of gate `name`: angles [..., n_params] (None for fixed gates) -> [..., 2**k, 2**k]."""
    real = real_dtype(dtype)
    if name in _FIXED:
        device = angles.device if isinstance(angles, torch.Tensor) else None
        return torch.tensor(_FIXED[name], dtype=real, device=device).to(dtype)
    if name not in N_PARAMS:
        raise CircuitError(f"unknown gate {name!r}; expected one of {sorted(set(N_PARAMS) | set(_FIXED))}")
    if angles is None:
        raise CircuitError(f"gate {name!r} needs {N_PARAMS[name]} angle(s), got None")
    angles = torch.as_tensor(angles).to(real)
    if angles.dim() == 0 or angles.shape[-1] != N_PARAMS[name]:
        raise CircuitError(
            f"gate {name!r} needs angles of shape [..., {N_PARAMS[name]}], got {tuple(angles.shape)}"
        )
    if name in ("CRX", "CRZ"):
        inner = rotation_1q(name[1:], angles, dtype)
        eye = torch.eye(2, dtype=dtype, device=angles.device).expand_as(inner)
        zero = torch.zeros_like(inner)
        top = torch.cat([eye, zero], dim=-1)
        bottom = torch.cat([zero, inner], dim=-1)
        return torch.cat([top, bottom], dim=-2)
    return rotation_1q(name, angles, dtype)


def _kron_pair(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """kron(a, b) over the last two axes, batched over the others: [..., p, p], [..., q, q] -> [..., pq, pq]."""
    p, q = a.shape[-1], b.shape[-1]
    return (a[..., :, None, :, None] * b[..., None, :, None, :]).reshape(*a.shape[:-2], p * q, p * q)


def kron_chain(mats: torch.Tensor) -> torch.Tensor:
    """Kronecker product over axis -3: mats [..., k, 2, 2] -> [..., 2**k, 2**k] (first factor = MSB).

    From k = 4 on, the two halves of the chain are one batched kron_chain and one final
    product, so the big multiplies are few; short chains multiply left to right.
    """
    k = mats.shape[-3]
    if k >= 4 and k % 2:
        return _kron_pair(kron_chain(mats[..., :-1, :, :]), mats[..., -1, :, :])
    if k >= 4:
        halves = kron_chain(mats.reshape(*mats.shape[:-3], 2, k // 2, 2, 2))  # [..., 2, D, D]
        return _kron_pair(halves[..., 0, :, :], halves[..., 1, :, :])
    factors = mats.unbind(-3)
    out = factors[0]
    for factor in factors[1:]:
        out = _kron_pair(out, factor)
    return out
