"""Per-sample layer kernel for the `reupload` encoding (RY(x) re-applied before every Rot layer).

Layer l is RY(x_q) then Rot(w[l, q]) on every wire q, then the entangler's row gather. On a
batch-first state [B, 2**n] viewed as [B, D0, D1] (wire groups of ceil(n/2) and floor(n/2)
wires), the layer's gates of group g are one matrix per row, K_g(l) R_g(x): the kron of the
Rot matrices (shared by all rows) times the kron of the RY(x) matrices (real, one per row,
the same in every layer, so built once). A layer is then M0 @ S @ M1^T, two batched GEMMs:
~10 kernel calls per layer, so autograd's backward stays short as well.
"""

from __future__ import annotations

import torch

from qedm.quantum.gates import kron_chain


def ry_matrices(angles: torch.Tensor) -> torch.Tensor:
    """RY(angles) as real matrices: angles [...] -> [..., 2, 2]."""
    cos, sin = torch.cos(angles / 2), torch.sin(angles / 2)
    return torch.stack([cos, -sin, sin, cos], -1).reshape(*angles.shape, 2, 2)


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
    lead_rot = kron_chain(rots[:, :split])  # [L, d0, d0]
    lead_ry = kron_chain(ry[:, :split]).to(rots.dtype)  # [B, d0, d0]
    tail_rot = kron_chain(rots[:, split:]).transpose(1, 2) if n > split else None  # [L, d1, d1], transposed
    tail_ry = kron_chain(ry[:, split:]).transpose(1, 2).to(rots.dtype) if n > split else None
    state = None
    for layer in range(n_layers):
        lead = torch.matmul(lead_rot[layer], lead_ry)  # [B, d0, d0]
        tail = torch.matmul(tail_ry, tail_rot[layer]) if tail_rot is not None else None  # [B, d1, d1]
        if state is None:  # layer 0 acts on |0...0>: the outer product of the first columns
            psi = lead[:, :, :1] if tail is None else lead[:, :, :1] * tail[:, :1, :]
        else:
            psi = torch.bmm(lead, state)
            if tail is not None:
                psi = torch.bmm(psi, tail)
        state = psi.reshape(batch, -1)[:, index].view(batch, d0, d1)
    state = state.reshape(batch, -1)
    if signs is None:
        return state
    return (state.real.square() + state.imag.square()) @ signs.to(state.real.dtype)
