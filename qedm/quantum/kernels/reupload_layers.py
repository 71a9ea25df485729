"""The reupload kernel: L layers of per-row RY(x) then Rot(w) on every wire, then the CNOT gather (autograd).

Reupload: layer l is RY(x_q) then Rot(w[l, q]) on every wire q, then the entangler's row
gather. On a batch-first state [B, 2**n] viewed as [B, D0, D1] (wire groups of ceil(n/2) and
floor(n/2) wires), the layer's gates of group g are one matrix per row, K_g(l) R_g(x): the
kron of the Rot matrices (shared by all rows) times the kron of the RY(x) matrices (real, one
per row, the same in every layer). The M_g of all layers come from one GEMM per group
(`_layer_matrices`), layer 0 only needs their first columns (it acts on |0...0>), and a later
layer is M0 @ S @ M1^T, two batched GEMMs, plus the gather: few kernel calls per layer, so
autograd's backward stays short as well.
"""

from __future__ import annotations

import torch

from qedm.quantum.gates import kron_chain
from qedm.quantum.simulator import permute_rows


def ry_matrices(angles: torch.Tensor) -> torch.Tensor:
    """RY(angles) as real matrices: angles [...] -> [..., 2, 2]."""
    cos, sin = torch.cos(angles / 2), torch.sin(angles / 2)
    return torch.stack([cos, -sin, sin, cos], -1).reshape(*angles.shape, 2, 2)


def _layer_matrices(shared: torch.Tensor, per_row: torch.Tensor) -> list[torch.Tensor]:
    """shared [L, d, d] times per_row [B, d, d] for every (l, b) in one GEMM: L views [B, d, d] (no copies).

    [K_0; K_1; ...] [L*d, d] times [R_0 | R_1 | ...] [d, B*d]: entry [l*d + i, b*d + j] is
    (K_l R_b)[i, j], so layer l's matrices are a strided view that a batched GEMM reads as is.
    """
    n_layers, d = shared.shape[:2]
    batch = per_row.shape[0]
    out = shared.reshape(n_layers * d, d) @ per_row.permute(1, 0, 2).reshape(d, batch * d)
    return list(out.view(n_layers, d, batch, d).permute(0, 2, 1, 3).unbind(0))


def apply_reupload_layers(
    rots: torch.Tensor, angles: torch.Tensor, index: torch.Tensor, signs: torch.Tensor | None = None
) -> torch.Tensor:
    """L layers of (RY(angles[b, q]) then rots[l, q] on every wire q, then the row gather `index`) on |0...0>.

    rots: [L >= 1, n, 2, 2] complex; angles: [B, n] real; index: [2**n] (new basis state j =
    old index[j]). Returns the final state [B, 2**n], or with `signs` [2**n, m] the Z
    expectations [B, m] = |state|^2 @ signs.
    """
    n_layers, n = rots.shape[:2]
    batch, split = angles.shape[0], (n + 1) // 2
    d0, d1 = 2**split, 2 ** (n - split)
    ry = ry_matrices(angles)  # [B, n, 2, 2] real
    groups = [(kron_chain(rots[:, :split]), kron_chain(ry[:, :split]).to(rots.dtype))]  # K_g [L, d, d], R_g [B, d, d]
    if n > split:
        groups.append((kron_chain(rots[:, split:]), kron_chain(ry[:, split:]).to(rots.dtype)))
    # layer 0 acts on |0...0>: per group the first column K_g(0) R_g(b) e_0, then their outer product
    cols = [r[:, :, 0] @ k[0].T for k, r in groups]  # [B, d]
    psi = cols[0][:, :, None] if len(cols) == 1 else cols[0][:, :, None] * cols[1][:, None, :]
    state = permute_rows(psi.reshape(batch, -1), index, 1).view(batch, d0, d1)
    if n_layers == 1:
        return _finish(state.reshape(batch, -1), signs)
    # M_g(l, b) = K_g(l) R_g(b) of the later layers: one GEMM per group
    lead, *tail = [_layer_matrices(k[1:], r) for k, r in groups]
    for layer in range(n_layers - 1):
        psi = torch.bmm(lead[layer], state)
        if tail:
            psi = torch.bmm(psi, tail[0][layer].transpose(1, 2))
        state = permute_rows(psi.reshape(batch, -1), index, 1).view(batch, d0, d1)
    return _finish(state.reshape(batch, -1), signs)


def _finish(state: torch.Tensor, signs: torch.Tensor | None) -> torch.Tensor:
    """The state [B, 2**n], or with signs [2**n, m] its Z expectations [B, m]."""
    if signs is None:
        return state
    return (state.real.square() + state.imag.square()) @ signs.to(state.real.dtype)
