"""Noisy execution of an Op list with density matrices: gate channels after each op, readout error.

After every op its unitary acts, then (per wire the op touches) a depolarizing channel
{sqrt(1-p) I, sqrt(p/3) X, sqrt(p/3) Y, sqrt(p/3) Z} and then amplitude damping
{[[1, 0], [0, sqrt(1-g)]], [[0, sqrt(g)], [0, 0]]} (PennyLane's DepolarizingChannel and
AmplitudeDamping). Readout error flips each measured bit with probability `readout`.
rho is [B, 2**n, 2**n], so memory grows as 4**n: circuits above MAX_DENSITY_QUBITS are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from qedm.errors import CircuitError, ConfigError
from qedm.quantum.backends.base import sample_counts
from qedm.quantum.gates import gate_matrix
from qedm.quantum.gradients import shot_generator
from qedm.quantum.ir import Observable, Op
from qedm.quantum.simulator import _param_value, prepare_inputs, run_ops, z_signs

if TYPE_CHECKING:  # pragma: no cover
    from qedm.quantum.circuits import VQC

MAX_DENSITY_QUBITS = 10  # rho is 4**n complex numbers per row: 16 MiB at n=10 in complex128


@dataclass
class NoiseModel:
    """Per-gate noise probabilities: dicts gate name -> p override the one-/two-qubit defaults.

    State preparation ("AmplitudeEmbedding") is noiseless unless named in a dict.
    """

    depolarizing: dict[str, float] = field(default_factory=dict)
    amplitude_damping: dict[str, float] = field(default_factory=dict)
    depolarizing_1q: float = 0.0
    depolarizing_2q: float = 0.0
    amplitude_damping_1q: float = 0.0
    amplitude_damping_2q: float = 0.0
    readout: float = 0.0  # bit-flip probability per measured qubit

    def __post_init__(self) -> None:
        values = {f"depolarizing[{k!r}]": v for k, v in self.depolarizing.items()}
        values.update({f"amplitude_damping[{k!r}]": v for k, v in self.amplitude_damping.items()})
        for name in ("depolarizing_1q", "depolarizing_2q", "amplitude_damping_1q", "amplitude_damping_2q", "readout"):
            values[name] = getattr(self, name)
        for name, p in values.items():
            if not 0.0 <= float(p) <= 1.0:
                raise ConfigError(f"NoiseModel.{name} must be a probability in [0, 1], got {p}")

    def channel_probabilities(self, op: Op) -> tuple[float, float]:
        """(depolarizing p, amplitude-damping gamma) applied to each wire after `op`."""
        if op.name == "AmplitudeEmbedding":
            return self.depolarizing.get(op.name, 0.0), self.amplitude_damping.get(op.name, 0.0)
        one = len(op.wires) == 1
        dep = self.depolarizing.get(op.name, self.depolarizing_1q if one else self.depolarizing_2q)
        damp = self.amplitude_damping.get(op.name, self.amplitude_damping_1q if one else self.amplitude_damping_2q)
        return float(dep), float(damp)


def depolarizing_kraus(p: float, dtype: torch.dtype) -> list[torch.Tensor]:
    """Kraus operators of the one-qubit depolarizing channel: 4 x [2, 2]."""
    s = math.sqrt(p / 3)
    mats = [
        [[math.sqrt(1 - p), 0], [0, math.sqrt(1 - p)]],
        [[0, s], [s, 0]],
        [[0, -1j * s], [1j * s, 0]],
        [[s, 0], [0, -s]],
    ]
    return [torch.tensor(m, dtype=dtype) for m in mats]


def amplitude_damping_kraus(gamma: float, dtype: torch.dtype) -> list[torch.Tensor]:
    """Kraus operators of one-qubit amplitude damping (|1> decays to |0> with prob gamma): 2 x [2, 2]."""
    return [
        torch.tensor([[1, 0], [0, math.sqrt(1 - gamma)]], dtype=dtype),
        torch.tensor([[0, math.sqrt(gamma)], [0, 0]], dtype=dtype),
    ]


def superoperator(kraus: Sequence[torch.Tensor]) -> torch.Tensor:
    """sum_k K (x) conj(K) for Kraus operators [..., d, d]: the channel on vec(rho), [..., d*d, d*d]."""
    out = 0
    for k in kraus:
        d = k.shape[-1]
        out = out + (k[..., :, None, :, None] * k.conj()[..., None, :, None, :]).reshape(*k.shape[:-2], d * d, d * d)
    return out


def apply_on_axes(vec: torch.Tensor, matrix: torch.Tensor, axes: Sequence[int], n_axes: int) -> torch.Tensor:
    """Apply a matrix [(B,) 2**k, 2**k] to qubit axes `axes` (axes[0] = its MSB) of vec [B, 2**n_axes].

    Untouched runs of axes are merged into one dimension, so einsum sees at most 2k + 2 axes
    instead of n_axes + 1: for density matrices (n_axes = 2n) this halves the time per op.
    """
    k, batch = len(axes), vec.shape[0]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    outs = {a: next(letters) for a in axes}
    ins = {a: next(letters) for a in axes}
    shape, v_in, v_out, prev = [batch], ["Z"], ["Z"], 0
    for a in sorted(axes):
        if a > prev:  # merged untouched axes prev .. a-1
            shape.append(2 ** (a - prev))
            rest = next(letters)
            v_in.append(rest)
            v_out.append(rest)
        shape.append(2)
        v_in.append(ins[a])
        v_out.append(outs[a])
        prev = a + 1
    if prev < n_axes:
        shape.append(2 ** (n_axes - prev))
        rest = next(letters)
        v_in.append(rest)
        v_out.append(rest)
    batched = matrix.dim() == 3
    m = matrix.reshape(([batch] if batched else []) + [2] * (2 * k))
    m_idx = ("Z" if batched else "") + "".join(outs[a] for a in axes) + "".join(ins[a] for a in axes)
    out = torch.einsum(f"{m_idx},{''.join(v_in)}->{''.join(v_out)}", m, vec.reshape(shape))
    return out.reshape(batch, -1)


def apply_superoperator(rho: torch.Tensor, sop: torch.Tensor, wires: Sequence[int], n_qubits: int) -> torch.Tensor:
    """Apply a channel given as a superoperator on `wires`: rho [B, D, D], sop [(B,) 4**k, 4**k] -> [B, D, D].

    rho is treated as a 2n-qubit vector (row wires 0..n-1, column wires n..2n-1), so the
    superoperator acts on the row wires and the matching column wires at once.
    """
    batch, dim = rho.shape[0], rho.shape[-1]
    sop = sop.to(device=rho.device, dtype=rho.dtype)
    axes = list(wires) + [n_qubits + w for w in wires]
    return apply_on_axes(rho.reshape(batch, dim * dim), sop, axes, 2 * n_qubits).reshape(batch, dim, dim)


def wire_channel(depolarizing: float, damping: float, dtype: torch.dtype) -> torch.Tensor | None:
    """Depolarizing then amplitude damping on one wire as one superoperator [4, 4] (None if both are 0)."""
    if depolarizing == 0 and damping == 0:
        return None
    damp = superoperator(amplitude_damping_kraus(damping, dtype))
    return damp @ superoperator(depolarizing_kraus(depolarizing, dtype))


def density_matrix(
    ops: Sequence[Op], n_qubits: int, x: torch.Tensor | None, weights: torch.Tensor | None,
    noise: NoiseModel | None = None, dtype: torch.dtype = torch.complex128,
    shift: tuple[int, int, float] | None = None,
) -> torch.Tensor:
    """Noisy final state of an Op list: x [B, k], weights (any shape) -> rho [B, 2**n, 2**n].

    `shift=(op_index, param_position, delta)` adds delta to that one angle (parameter-shift).
    """
    if n_qubits > MAX_DENSITY_QUBITS:
        raise CircuitError(
            f"density-matrix noise simulation supports at most {MAX_DENSITY_QUBITS} qubits "
            f"(memory grows as 4**n), got n_qubits={n_qubits}"
        )
    noise = noise or NoiseModel()
    x, weights_flat, batch, device = prepare_inputs(x, weights, dtype)
    rho = torch.zeros(batch, 2**n_qubits, 2**n_qubits, dtype=dtype, device=device)
    rho[:, 0, 0] = 1
    for i, op in enumerate(ops):
        if op.name == "AmplitudeEmbedding":
            if i != 0:
                raise CircuitError(f"AmplitudeEmbedding must be the first op, found at position {i}")
            psi = run_ops([op], n_qubits, x, weights, dtype=dtype)
            rho = psi[:, :, None] * psi.conj()[:, None, :]
            wires: Sequence[int] = range(n_qubits)
        else:
            angles = None
            if op.params:
                values = [_param_value(p, x, weights_flat) for p in op.params]
                if shift is not None and shift[0] == i:
                    values[shift[1]] = values[shift[1]] + shift[2]
                values = [v.expand(batch) for v in values] if op.is_data_dependent else values
                angles = torch.stack(values, dim=-1)
            rho = apply_superoperator(rho, superoperator([gate_matrix(op.name, angles, dtype)]), op.wires, n_qubits)
            wires = op.wires
        channel = wire_channel(*noise.channel_probabilities(op), dtype)
        if channel is not None:
            for w in wires:
                rho = apply_superoperator(rho, channel, [w], n_qubits)
    return rho


def readout_probabilities(probs: torch.Tensor, readout: float, n_qubits: int) -> torch.Tensor:
    """Flip each measured bit with probability `readout`: probs [B, 2**n] -> [B, 2**n]."""
    if readout == 0:
        return probs
    batch = probs.shape[0]
    p = probs.reshape((batch,) + (2,) * n_qubits)
    for w in range(n_qubits):
        p = (1 - readout) * p + readout * p.flip(1 + w)
    return p.reshape(batch, -1)


def density_probabilities(rho: torch.Tensor, readout: float = 0.0) -> torch.Tensor:
    """Measurement distribution of rho [B, D, D] including readout error: [B, D] real."""
    n_qubits = int(rho.shape[-1]).bit_length() - 1
    return readout_probabilities(torch.diagonal(rho, dim1=-2, dim2=-1).real, readout, n_qubits)


def density_expectations(
    rho: torch.Tensor, observables: Sequence[Observable], readout: float = 0.0
) -> torch.Tensor:
    """<Z-products> measured on rho [B, D, D] with readout error -> [B, m] real."""
    probs = density_probabilities(rho, readout)
    n_qubits = int(rho.shape[-1]).bit_length() - 1
    return probs @ z_signs(n_qubits, observables, probs.dtype).to(probs.device)


def noisy_expectations(
    vqc: VQC, x: torch.Tensor, noise: NoiseModel, weights: torch.Tensor | None = None,
    shots: int | None = None, dtype: torch.dtype = torch.complex128,
) -> torch.Tensor:
    """The VQC's outputs under `noise` (default: its current weights): x [B, k] -> [B, m].

    shots=None gives exact noisy expectations (differentiable); an int samples that many
    bitstrings per row from the noisy distribution with the VQC's seeded generator, every
    observable from the same shots (not differentiable).
    """
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] != vqc.n_inputs:
        raise CircuitError(f"x must have shape [B, {vqc.n_inputs}] (n_inputs), got {tuple(x.shape)}")
    rho = density_matrix(vqc.ops(), vqc.n_qubits, x, vqc.weights if weights is None else weights, noise, dtype)
    if shots is None:
        return density_expectations(rho, vqc.observable_list, noise.readout)
    if not isinstance(shots, int) or shots < 1:
        raise ConfigError(f"shots must be a positive integer or None, got {shots!r}")
    counts = sample_counts(density_probabilities(rho, noise.readout), shots, shot_generator(vqc))
    return (counts / shots) @ z_signs(vqc.n_qubits, vqc.observable_list, counts.dtype).to(counts.device)
