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
from qedm.quantum.simulator import permute_rows


def ry_matrices(angles: torch.Tensor) -> torch.Tensor:
    """RY(angles) as real matrices: angles [...] -> [..., 2, 2]."""
    cos, sin = torch.cos(angles / 2), torch.sin(angles / 2)
    return torch.stack([cos, -sin, sin, cos], -1).reshape(*angles.shape, 2, 2)


def _layer_matrices(shared: torch.Tensor, per_row_t: torch.Tensor) -> torch.Tensor:
    """shared [L, d, d] times per-row per_row_t [B, d, d] (transposed) as one GEMM: [B, d, L, d], entry M(l, b)^T."""
    n_layers, d = shared.shape[:2]
    out = per_row_t.reshape(-1, d) @ shared.permute(2, 0, 1).reshape(d, n_layers * d)
    return out.view(per_row_t.shape[0], d, n_layers, d)


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
    ry_t = ry_matrices(-angles)  # RY(x)^T = RY(-x): [B, n, 2, 2] real
    # M_g(l, b) = K_g(l) R_g(b) for every layer in one GEMM: R_g(b)^T stacked over b and rows,
    # times [K_g(0)^T | K_g(1)^T | ...]; entry [b, j, l, i] is M_g(l, b)[i, j]
    lead = _layer_matrices(kron_chain(rots[:, :split]), kron_chain(ry_t[:, :split]).to(rots.dtype))
    tail = _layer_matrices(kron_chain(rots[:, split:]), kron_chain(ry_t[:, split:]).to(rots.dtype)) if n > split else None
    state = None
    for layer in range(n_layers):
        m0 = lead[:, :, layer].transpose(1, 2)  # [B, d0, d0]
        m1_t = tail[:, :, layer] if tail is not None else None  # [B, d1, d1], M1 transposed
        if state is None:  # layer 0 acts on |0...0>: the outer product of the first columns
            psi = m0[:, :, :1] if m1_t is None else m0[:, :, :1] * m1_t[:, :1, :]
        else:
            psi = torch.bmm(m0, state)
            if m1_t is not None:
                psi = torch.bmm(psi, m1_t)
        state = permute_rows(psi.reshape(batch, -1), index, 1).view(batch, d0, d1)
    state = state.reshape(batch, -1)
    if signs is None:
        return state
    return (state.real.square() + state.imag.square()) @ signs.to(state.real.dtype)
