"""Batched statevector kernels on PyTorch: gate-by-gate execution of an Op list, plus the
structured kernels (product states, kron-factored layers, permutations) the fast VQC path uses.

States are [B, 2**n] complex tensors; wire 0 is the most significant bit of the index.
Everything is plain torch, so autograd differentiates w.r.t. weights and inputs alike.
"""

from __future__ import annotations

import functools
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


def product_state_rows(vectors: torch.Tensor) -> torch.Tensor:
    """Basis-first kron of one state per wire: vectors [n, 2, C] -> [2**n, C] (wire 0 = MSB)."""
    out = vectors[0]
    for vec in vectors[1:]:
        out = (out[:, None, :] * vec[None, :, :]).reshape(-1, out.shape[-1])
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


class _PermuteRows(torch.autograd.Function):
    """x[index] for a permutation index; the backward is the inverse gather, not a scatter-add."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        return x.index_select(0, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (index,) = ctx.saved_tensors
        inverse = torch.empty_like(index)
        inverse[index] = torch.arange(index.numel(), device=index.device)
        return grad.index_select(0, inverse), None


def permute_rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Rows of x [N, ...] reordered by a permutation index [N] (new row j = old row index[j])."""
    return _PermuteRows.apply(x, index)


def _apply_group(mats: torch.Tensor, x: torch.Tensor, start: int, size: int) -> torch.Tensor:
    """mats [D, D] on wires start..start+size-1 of a basis-first real state x [2**n, C] (D = 2**size).

    The row index splits as (J = 2**start, D, rest), so the group is one GEMM when it leads
    (J = 1) and otherwise one broadcast batched GEMM; no data is moved either way.
    """
    dim, cols = x.shape
    lead = 2**start
    if lead == 1:
        return (mats @ x.reshape(2**size, -1)).reshape(dim, cols)
    return torch.bmm(mats.expand(lead, 2**size, 2**size), x.reshape(lead, 2**size, -1)).reshape(dim, cols)


def _group_grad(grad: torch.Tensor, x: torch.Tensor, start: int, size: int) -> torch.Tensor:
    """d loss / d mats of `_apply_group` from its output grad and input (both [2**n, C]): [D, D]."""
    lead, d = 2**start, 2**size
    if lead == 1:
        return grad.reshape(d, -1) @ x.reshape(d, -1).T
    return torch.bmm(grad.reshape(lead, d, -1), x.reshape(lead, d, -1).transpose(1, 2)).sum(0)


class _RealKronLayers(torch.autograd.Function):
    """The layered kernel of `apply_kron_layers` with a hand-written (stored-state) backward.

    Autograd through these GEMMs would expand each group matrix over the batch of blocks and
    sum its gradient back, and record dozens of small nodes per layer; here the backward is,
    per layer and group, one GEMM for the state gradient and one for the matrix gradient, and
    one fused reduction per phase.
    """

    @staticmethod
    def forward(ctx, state, phases, index, inverse, groups, *mats):
        n_layers = mats[0].shape[0] if mats else 0
        dim, batch = state.shape
        units = torch.polar(torch.ones_like(phases), phases)  # [P, 2**n] complex
        saved = []
        x = state
        for layer in range(n_layers):
            if layer < phases.shape[0]:
                x = x * units[layer][:, None]
            xr = torch.view_as_real(x).reshape(dim, 2 * batch)
            for (start, size), m in zip(groups, mats):
                saved.append(xr)
                xr = _apply_group(m[layer], xr, start, size)
            x = torch.view_as_complex(xr.index_select(0, index).reshape(dim, batch, 2))
        if phases.shape[0] > n_layers:
            x = x * units[n_layers][:, None]
        ctx.groups, ctx.n_layers = groups, n_layers
        ctx.save_for_backward(units, index, inverse, x, *saved, *mats)
        return x

    @staticmethod
    def backward(ctx, grad):
        groups, n_layers = ctx.groups, ctx.n_layers
        units, index, inverse, out, *rest = ctx.saved_tensors
        saved, mats = rest[: len(rest) - len(groups)], rest[len(rest) - len(groups):]
        dim, batch = grad.shape
        grad_phases = torch.zeros(units.shape, dtype=out.real.dtype, device=out.device)
        grad_mats = [torch.empty_like(m) for m in mats]
        g = grad
        if units.shape[0] > n_layers:
            grad_phases[n_layers] = (g * out.conj()).imag.sum(1)
            g = g * units[n_layers].conj()[:, None]
        for layer in reversed(range(n_layers)):
            gr = torch.view_as_real(g.contiguous()).reshape(dim, 2 * batch).index_select(0, inverse)
            for k in reversed(range(len(groups))):
                start, size = groups[k]
                x = saved[layer * len(groups) + k]
                grad_mats[k][layer] = _group_grad(gr, x, start, size)
                gr = _apply_group(mats[k][layer].T, gr, start, size)
            g = torch.view_as_complex(gr.reshape(dim, batch, 2))
            if layer < units.shape[0]:
                y = torch.view_as_complex(saved[layer * len(groups)].reshape(dim, batch, 2))
                grad_phases[layer] = (g * y.conj()).imag.sum(1)
                g = g * units[layer].conj()[:, None]
        return (g, grad_phases, None, None, None, *grad_mats)


def apply_kron_layers(
    state: torch.Tensor,
    mats: Sequence[torch.Tensor],
    phases: torch.Tensor,
    index: torch.Tensor,
    n_qubits: int,
    inverse: torch.Tensor | None = None,
    max_group: int = MAX_KRON_GROUP,
) -> torch.Tensor:
    """Layers of (phase, real kron, row gather) on a basis-first state [2**n, C] complex -> [2**n, C].

    Layer l multiplies row r by exp(i phases[l, r]), applies the REAL matrices mats[g][l]
    ([Lb, D_g, D_g], one per wire group of `kron_groups(n, max_group)`, on those wires), then
    the row gather `index` (new row j = old row index[j]); a row phases[Lb], if present, is
    applied last. phases: [Lb or Lb + 1, 2**n] real. A real matrix acts alike on real and
    imaginary parts, so the GEMMs run on the complex state viewed as real [2**n, 2C] (a quarter
    of the flops of complex arithmetic). Differentiable w.r.t. state, phases and mats.
    """
    if inverse is None:
        inverse = torch.argsort(index)
    groups = tuple(kron_groups(n_qubits, max_group))
    if len(mats) != len(groups):
        raise CircuitError(f"apply_kron_layers needs {len(groups)} group matrices for {n_qubits} qubits, got {len(mats)}")
    return _RealKronLayers.apply(state.contiguous(), phases, index, inverse, groups, *mats)


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
    real = real_dtype(dtype)
    ref = weights if weights is not None else x
    device = ref.device if ref is not None else None
    x = x.to(device=device, dtype=real) if x is not None else None
    weights_flat = weights.reshape(-1).to(real) if weights is not None else torch.zeros(0, dtype=real, device=device)
    batch = x.shape[0] if x is not None else 1
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
