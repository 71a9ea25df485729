"""Batched statevector kernels on PyTorch: gate-by-gate execution of an Op list, plus the
structured pieces (product states, local products, permutations) the fast VQC path uses.

States are [B, 2**n] complex tensors; wire 0 is the most significant bit of the index. The
gate-by-gate path is plain torch (autograd). The layer kernels with hand-written backwards
(`apply_kron_layers`, `apply_fused_layers`, `apply_reupload_kernel`) are in `qedm.quantum.kernels`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from qedm.errors import CircuitError
from qedm.quantum.gates import gate_matrix, kron_chain, real_dtype
from qedm.quantum.ir import Observable, Op, Param

# Largest group of qubits whose 2x2 factors are multiplied out into one kron matrix before it
# is applied (see `apply_local_product`): 2**5 = 32 complex MACs per amplitude per group.
MAX_KRON_GROUP = 5


def zero_state(batch: int, n_qubits: int, dtype: torch.dtype, device: torch.device | None) -> torch.Tensor:
    """|0...0> for every row: [batch, 2**n]."""
    state = torch.zeros(batch, 2**n_qubits, dtype=dtype, device=device)
    state[:, 0] = 1
    return state


def apply_gate(state: torch.Tensor, matrix: torch.Tensor, wires: Sequence[int], n_qubits: int) -> torch.Tensor:
    """Apply a k-qubit gate: state [B, 2**n], matrix [2**k, 2**k] or [B, 2**k, 2**k] -> [B, 2**n]."""
    batch, k = state.shape[0], len(wires)
    axes = [1 + w for w in wires]
    others = [a for a in range(1, n_qubits + 1) if a not in axes]
    perm = [0] + others + axes
    psi = state.reshape((batch,) + (2,) * n_qubits).permute(perm).reshape(batch, -1, 2**k)
    out = psi @ matrix.transpose(-1, -2).to(state.dtype)
    inverse = [perm.index(i) for i in range(n_qubits + 1)]
    return out.reshape([batch] + [2] * n_qubits).permute(inverse).reshape(batch, 2**n_qubits)


def amplitude_state(features: torch.Tensor, n_qubits: int, dtype: torch.dtype) -> torch.Tensor:
    """Amplitude encoding: features [B, k<=2**n] normalised to unit norm, zero-padded -> [B, 2**n].

    An all-zero row has no direction to encode and raises CircuitError.
    """
    dim = 2**n_qubits
    if features.shape[-1] > dim:
        raise CircuitError(f"amplitude encoding takes at most 2**{n_qubits}={dim} features, got {features.shape[-1]}")
    norm = features.norm(dim=-1, keepdim=True)
    if bool((norm == 0).any()):
        rows = torch.nonzero(norm[:, 0] == 0).flatten()[:5].tolist()
        raise CircuitError(f"amplitude encoding got all-zero input rows {rows}; they cannot be normalised")
    amps = torch.nn.functional.pad(features / norm, (0, dim - features.shape[-1]))
    return amps.to(dtype)


def product_state(vectors: torch.Tensor) -> torch.Tensor:
    """Kron of one single-qubit state per wire: vectors [B, n, 2] -> [B, 2**n] (wire 0 = MSB)."""
    factors = vectors.unbind(1)
    out = factors[0]
    for vec in factors[1:]:
        out = (out[:, :, None] * vec[:, None, :]).reshape(out.shape[0], -1)
    return out


def outer_rows(lead: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
    """Basis-first kron of two states per column: lead [D0, C], tail [D1, C] -> [D0 * D1, C]."""
    return (lead[:, None, :] * tail[None, :, :]).reshape(-1, lead.shape[-1])


def product_state_rows(vectors: torch.Tensor) -> torch.Tensor:
    """Basis-first kron of one state per wire: vectors [n, 2, C] -> [2**n, C] (wire 0 = MSB; n = 0: ones)."""
    if vectors.shape[0] == 0:
        return torch.ones(1, vectors.shape[-1], dtype=vectors.dtype, device=vectors.device)
    out = vectors[0]
    for vec in vectors[1:]:
        out = outer_rows(out, vec)
    return out


def ry_vectors(angles: torch.Tensor) -> torch.Tensor:
    """RY(angles) |0> per wire: angles [B, n] -> real [B, n, 2] = [cos(a/2), sin(a/2)]."""
    return torch.stack([torch.cos(angles / 2), torch.sin(angles / 2)], dim=-1)


def product_state_ry(angles: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """RY(angles[:, q]) on qubit q applied to |0...0>: angles [B, n] -> [B, 2**n] (a kron of real 2-vectors)."""
    return product_state(ry_vectors(angles)).to(dtype)


def kron_groups(n_qubits: int, max_group: int = MAX_KRON_GROUP) -> list[tuple[int, int]]:
    """Split wires 0..n-1 into near-equal consecutive groups of at most max_group: [(start, size)]."""
    n_groups = math.ceil(n_qubits / max_group)
    sizes = [n_qubits // n_groups + (1 if g < n_qubits % n_groups else 0) for g in range(n_groups)]
    starts = [sum(sizes[:g]) for g in range(n_groups)]
    return list(zip(starts, sizes))


def apply_local_product(
    state: torch.Tensor, mats: torch.Tensor, n_qubits: int, max_group: int = MAX_KRON_GROUP
) -> torch.Tensor:
    """Apply (x)_q mats[q] (one 2x2 gate on every wire): state [R, 2**n], mats [n, 2, 2] or [R, n, 2, 2].

    Factors are multiplied out in groups of <= max_group wires and each group is one matmul,
    so a layer costs R * 2**n * sum(2**group) complex MACs and a handful of kernel calls.
    """
    rows, per_row = state.shape[0], mats.dim() == 4
    for start, size in kron_groups(n_qubits, max_group):
        k = kron_chain(mats[..., start:start + size, :, :])  # [D, D] or [R, D, D]
        before, dim, after = 2**start, 2**size, 2 ** (n_qubits - start - size)
        if after == 1:  # the group holds the last wires: rows of length D times K^T
            psi = state.reshape(rows, before, dim) @ k.transpose(-1, -2)
        elif per_row:
            psi = k[:, None] @ state.reshape(rows, before, dim, after)
        else:
            psi = k @ state.reshape(rows, before, dim, after)
        state = psi.reshape(rows, -1)
    return state


def _select(x: torch.Tensor, index: torch.Tensor, dim: int) -> torch.Tensor:
    """x.index_select(dim, index); along the last dim of a contiguous complex64 [R, N] as a gather.

    index_select along dim 1 copies element by element; gather on the same bytes viewed as
    float64 is a vectorised copy.
    """
    if dim == 1 and x.dim() == 2 and x.dtype == torch.complex64 and x.is_contiguous():
        return torch.gather(x.view(torch.float64), 1, index.expand(x.shape[0], -1)).view(torch.complex64)
    return x.index_select(dim, index)


class _PermuteRows(torch.autograd.Function):
    """x.index_select(dim, index) for a permutation index; the backward is the inverse gather, not a scatter-add."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor, dim: int) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.dim = dim
        return _select(x, index, dim)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        inverse = torch.empty_like(index)
        inverse[index] = torch.arange(index.numel(), device=index.device)
        return _select(grad, inverse, ctx.dim), None, None


def permute_rows(x: torch.Tensor, index: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Entries of x reordered along `dim` by a permutation index (new entry j = old entry index[j])."""
    return _PermuteRows.apply(x, index, dim)


def cnot_permutation(pairs: Sequence[tuple[int, int]], n_qubits: int) -> torch.Tensor:
    """Index map of a CNOT sequence: `state[:, idx]` applies CNOT(c, t) for (c, t) in order. [2**n] long."""
    basis = torch.arange(2**n_qubits)
    image = basis.clone()  # image[k]: where basis state k ends up
    for c, t in pairs:
        cbit, tbit = n_qubits - 1 - c, n_qubits - 1 - t
        image = image ^ (((image >> cbit) & 1) << tbit)
    return torch.argsort(image)  # new[j] = old[image^-1(j)]


def z_signs(n_qubits: int, observables: Sequence[Observable], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The ±1 value of each Z-product observable on each basis state: [2**n, m]."""
    basis = torch.arange(2**n_qubits)
    cols = []
    for obs in observables:
        parity = torch.zeros_like(basis)
        for w in obs:
            parity = parity ^ ((basis >> (n_qubits - 1 - w)) & 1)
        cols.append(1 - 2 * parity)
    return torch.stack(cols, dim=1).to(dtype) if cols else torch.zeros(2**n_qubits, 0, dtype=dtype)


def probabilities(state: torch.Tensor) -> torch.Tensor:
    """Born probabilities: state [B, 2**n] complex -> [B, 2**n] real."""
    return state.real**2 + state.imag**2


def expval_z(
    state: torch.Tensor, observables: Sequence[Observable], signs: torch.Tensor | None = None
) -> torch.Tensor:
    """<Z...Z> of each observable: state [B, 2**n] -> [B, m] real; `signs` [2**n, m] may be precomputed."""
    probs = probabilities(state)
    if signs is None:
        n_qubits = int(round(math.log2(state.shape[-1])))
        signs = z_signs(n_qubits, observables, probs.dtype).to(probs.device)
    return probs @ signs.to(probs.dtype)


def _param_value(param: Param, x: torch.Tensor | None, weights_flat: torch.Tensor) -> torch.Tensor:
    """One angle: a scalar for weights, [B] for input-dependent params."""
    if param.kind == "weight":
        return weights_flat[param.index[0]] * param.scale
    if x is None:
        raise CircuitError(f"a gate reads input feature(s) {param.index} but x is None")
    if param.kind == "input":
        return x[:, param.index[0]] * param.scale
    if param.kind == "input_product":
        return x[:, param.index[0]] * x[:, param.index[1]] * param.scale
    raise CircuitError(f"unknown Param kind {param.kind!r}; expected weight, input or input_product")


def prepare_inputs(x: torch.Tensor | None, weights: torch.Tensor | None, dtype: torch.dtype):
    """Inputs and flat weights in the real dtype matching `dtype`, on the weights' device.

    Returns (x [B, k] or None, weights_flat [P], batch size, device).
    """
    real = real_dtype(dtype)
    ref = weights if weights is not None else x
    device = ref.device if ref is not None else None
    x = x.to(device=device, dtype=real) if x is not None else None
    weights_flat = weights.reshape(-1).to(real) if weights is not None else torch.zeros(0, dtype=real, device=device)
    return x, weights_flat, (x.shape[0] if x is not None else 1), device


def run_ops(
    ops: Sequence[Op],
    n_qubits: int,
    x: torch.Tensor | None,
    weights: torch.Tensor | None,
    dtype: torch.dtype = torch.complex64,
    shift: tuple[int, int, float] | None = None,
) -> torch.Tensor:
    """Gate-by-gate reference execution of an Op list: x [B, k], weights (any shape) -> state [B, 2**n].

    `shift=(op_index, param_position, delta)` adds delta to that one angle (parameter-shift).
    """
    x, weights_flat, batch, device = prepare_inputs(x, weights, dtype)
    state = None
    for i, op in enumerate(ops):
        if op.name == "AmplitudeEmbedding":
            if i != 0:
                raise CircuitError(f"AmplitudeEmbedding must be the first op, found at position {i}")
            features = torch.stack([_param_value(p, x, weights_flat) for p in op.params], dim=-1)
            state = amplitude_state(features, n_qubits, dtype)
            continue
        if state is None:
            state = zero_state(batch, n_qubits, dtype, device)
        if any(w < 0 or w >= n_qubits for w in op.wires):
            raise CircuitError(f"op {op.name} on wires {op.wires} is outside 0..{n_qubits - 1}")
        angles = None
        if op.params:
            values = [_param_value(p, x, weights_flat) for p in op.params]
            if shift is not None and shift[0] == i:
                values[shift[1]] = values[shift[1]] + shift[2]
            if op.is_data_dependent:
                values = [v.expand(batch) if v.dim() == 0 else v for v in values]
            angles = torch.stack(values, dim=-1)
        matrix = gate_matrix(op.name, angles, dtype)
        state = apply_gate(state, matrix.to(device), op.wires, n_qubits)
    if state is None:
        state = zero_state(batch, n_qubits, dtype, device)
    return state
