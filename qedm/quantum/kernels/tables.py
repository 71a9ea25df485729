"""Shared pieces of the layer kernels: wire-group GEMMs, RY krons, bit-flip and half-angle tables, scratch.

Tables are built once by the kernels' plans (`KronPlan`, `HeadPlan`, `FusedPlan`), which the
statevector backend keeps per device; nothing here is cached at module level.
"""

from __future__ import annotations

import math

import torch

from qedm.quantum.gates import RY_ENTRY_SHIFTS


def apply_group(mats: torch.Tensor, x: torch.Tensor, start: int, size: int, out: torch.Tensor) -> None:
    """mats [D, D] on wires start..start+size-1 of a basis-first real state x [2**n, C] (D = 2**size).

    The row index splits as (J = 2**start, D, rest), so the group is one GEMM when it leads
    (J = 1) and otherwise one broadcast batched GEMM; no data is moved either way.
    """
    lead, d = 2**start, 2**size
    if lead == 1:
        torch.mm(mats, x.view(d, -1), out=out.view(d, -1))
    else:
        torch.bmm(mats.expand(lead, d, d), x.view(lead, d, -1), out=out.view(lead, d, -1))


def group_grad(grad: torch.Tensor, x: torch.Tensor, start: int, size: int) -> torch.Tensor:
    """d loss / d mats of `apply_group` from its output grad and input (both [2**n, C]): [D, D]."""
    lead, d = 2**start, 2**size
    if lead == 1:
        return grad.reshape(d, -1) @ x.reshape(d, -1).T
    return torch.bmm(grad.reshape(lead, d, -1), x.reshape(lead, d, -1).transpose(1, 2)).sum(0)


def ry_kron_tables(groups, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The tables of `ry_krons` for these wire groups: the RY entry offsets [4] and one gather index per group."""
    offsets = torch.tensor(RY_ENTRY_SHIFTS, dtype=dtype, device=device)
    indices = []
    for start, size in groups:
        d, wires = 2**size, torch.arange(size)[:, None, None]
        r, c = torch.arange(d)[None, :, None], torch.arange(d)[None, None, :]
        shift = size - 1 - wires
        entries = 4 * (start + wires) + 2 * ((r >> shift) & 1) + ((c >> shift) & 1)
        indices.append(entries.reshape(-1).to(device))
    return offsets, indices


def ry_krons(b: torch.Tensor, groups, tables: tuple[torch.Tensor, list[torch.Tensor]]) -> list[torch.Tensor]:
    """The kron of the RY(b) factors per wire group: b [Lb, n] -> [Lb, D, D] per group (no autograd).

    Entry (r, c) of a group's kron is the product over its wires of RY[bit(r), bit(c)], so the
    kron is one gather of a [Lb, 4n] table of RY entries (cos(b/2 + offset): c, -s, s, c) and a
    product over the wires: two kernel calls instead of one 6-d broadcast product per wire.
    `tables` come from `ry_kron_tables(groups, ...)`.
    """
    offsets, indices = tables
    n = b.shape[1]
    table = torch.cos(torch.add(offsets, b[:, :, None], alpha=0.5)).view(b.shape[0], 4 * n)
    return [table.index_select(1, index).view(b.shape[0], size, 2**size, 2**size).prod(1)
            for index, (_, size) in zip(indices, groups)]


def half_angle_table(width: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(map [2w, w], offsets [2w, 1]): cos(addmm(offsets, map, x.T)) is cos(x/2) (rows 0..w-1), then sin(x/2)."""
    half_angles = torch.cat([0.5 * torch.eye(width, dtype=dtype)] * 2).to(device)
    offsets = torch.tensor([[0.0]] * width + [[-math.pi / 2]] * width, dtype=dtype, device=device)
    return half_angles, offsets


def bit_flips(n_qubits: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Bit-flip tables of the RY and [cos, sin] derivatives (plans build them once).

    Returns r ^ (bit of wire q) [n * 2**n]; the sign -1/+1 of that bit in r [n, 2**n, 1]; and
    the flat index of entries (r, r ^ bit_q) of a [2**n, 2**n] matrix [n * 2**n]. Both an RY
    factor's derivative and a [cos, sin] vector's are, up to the sign and a factor 1/2, the
    same kron with wire q's row bit flipped: d/dt RY(t) = 1/2 [[0, -1], [1, 0]] RY(t).
    """
    dim = 2**n_qubits
    rows = torch.arange(dim, device=device)
    bits = (1 << (n_qubits - 1 - torch.arange(n_qubits, device=device)))[:, None]  # [n, 1]
    signs = torch.where(rows & bits == 0, -1.0, 1.0).to(dtype)[:, :, None]
    flips = (rows ^ bits).reshape(-1)
    return flips, signs, flips + rows.repeat(n_qubits) * dim


class Workspace:
    """Scratch blocks that `apply_kron_layers` reuses across calls; one per circuit, a cache only.

    A fresh multi-megabyte tensor is page-faulted in by the OS on first touch, each step when
    the allocator hands freed memory back. The kernel takes a block per forward and gives it
    back explicitly: at the end of its backward, or at the end of a forward that records no
    graph. A block is therefore never reused while a graph can still read it (a second backward
    through the same graph is refused), and a graph that is dropped unused just costs a new block.
    """

    def __init__(self, max_free: int = 2) -> None:
        self.max_free, self.free = max_free, []

    def take(self, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """A tensor of this shape (uninitialised): a free one if there is one, else a new one."""
        for i, t in enumerate(self.free):
            if t.shape == shape and t.dtype == dtype and t.device == device:
                return self.free.pop(i)
        return torch.empty(shape, dtype=dtype, device=device)

    def give(self, tensor: torch.Tensor) -> None:
        """Return a tensor no one reads any more (the oldest free one is dropped beyond max_free)."""
        self.free.append(tensor)
        del self.free[: -self.max_free]
