"""Layer kernels of the fast VQC path: autograd Functions with hand-written backwards.

- `apply_kron_layers`: Rot layers as (phase, real RY kron per wire group, CNOT row gather) on
  a basis-first state [2**n, C], one GEMM per group; layer inputs kept in a reused
  `Workspace`, tables in `KronPlan`. It can build the angle encoding's product-state layer 0
  itself (`HeadPlan`).
- `apply_fused_layers`: small registers, all layers fused into one 2**n x 2**n unitary
  (tables in `FusedPlan`).
- `apply_reupload_layers`: the `reupload` encoding, per-row gates (plain autograd, few ops).
All are checked against the gate-by-gate path (`simulator.run_ops`) and PennyLane in the tests.

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

import math

import torch

from qedm.errors import CircuitError
from qedm.quantum import cpu_loops
from qedm.quantum.gates import RY_ENTRY_SHIFTS, kron_chain
from qedm.quantum.simulator import kron_groups, permute_rows, z_signs

# Largest wire group of the real layers of `apply_kron_layers` (its RY kron is one GEMM): at n=10 groups of 4
# (4+3+3 wires) were faster than groups of 5 or 6 (`benchmarks/bench_quantum.py`).
LAYER_GROUP = 4


def _apply_group(mats: torch.Tensor, x: torch.Tensor, start: int, size: int, out: torch.Tensor) -> None:
    """mats [D, D] on wires start..start+size-1 of a basis-first real state x [2**n, C] (D = 2**size).

    The row index splits as (J = 2**start, D, rest), so the group is one GEMM when it leads
    (J = 1) and otherwise one broadcast batched GEMM; no data is moved either way.
    """
    lead, d = 2**start, 2**size
    if lead == 1:
        torch.mm(mats, x.view(d, -1), out=out.view(d, -1))
    else:
        torch.bmm(mats.expand(lead, d, d), x.view(lead, d, -1), out=out.view(lead, d, -1))


def _group_grad(grad: torch.Tensor, x: torch.Tensor, start: int, size: int) -> torch.Tensor:
    """d loss / d mats of `_apply_group` from its output grad and input (both [2**n, C]): [D, D]."""
    lead, d = 2**start, 2**size
    if lead == 1:
        return grad.reshape(d, -1) @ x.reshape(d, -1).T
    return torch.bmm(grad.reshape(lead, d, -1), x.reshape(lead, d, -1).transpose(1, 2)).sum(0)


class Workspace:
    """Scratch tensors that `apply_kron_layers` reuses across calls; one per circuit, a cache only.

    A fresh multi-megabyte tensor is page-faulted in by the OS on first touch; with the
    allocator returning freed memory each step, that cost ~40 % of a step at n=10. A buffer
    leased to a forward comes back here when its autograd node is freed, so it is never
    reused while a graph can still read it.
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


class _Lease:
    """Holds a workspace tensor for an autograd node and gives it back when the node is freed."""

    def __init__(self, workspace: Workspace | None, tensor: torch.Tensor) -> None:
        self.workspace, self.tensor = workspace, tensor

    def __del__(self) -> None:
        workspace = getattr(self, "workspace", None)
        if workspace is not None:
            workspace.give(self.tensor)


# The layered kernel's RY angle gradients and phase steps run as compiled loops (`cpu_loops`, numba) on the
# CPU and as torch ops elsewhere; the tests set this to False to check the torch forms on the CPU too.
COMPILED_LOOPS = True


def _use_loops(tensor: torch.Tensor) -> bool:
    """Whether the compiled CPU loops run for this tensor: on the CPU, unless COMPILED_LOOPS is off."""
    return COMPILED_LOOPS and tensor.device.type == "cpu"

_KRON_INDEX: dict = {}
_RY_OFFSETS: dict = {}


def _ry_krons(b: torch.Tensor, groups) -> list[torch.Tensor]:
    """The kron of the RY(b) factors per wire group: b [Lb, n] -> [Lb, D, D] per group (no autograd).

    Entry (r, c) of a group's kron is the product over its wires of RY[bit(r), bit(c)], so the
    kron is one gather of a [Lb, 4n] table of RY entries (cos(b/2 + offset): c, -s, s, c) and a
    product over the wires: two kernel calls instead of one 6-d broadcast product per wire.
    """
    n, device = b.shape[1], b.device
    if (b.dtype, device) not in _RY_OFFSETS:
        _RY_OFFSETS[b.dtype, device] = torch.tensor(RY_ENTRY_SHIFTS, dtype=b.dtype, device=device)
    table = torch.cos(torch.add(_RY_OFFSETS[b.dtype, device], b[:, :, None], alpha=0.5)).view(b.shape[0], 4 * n)
    mats = []
    for start, size in groups:
        key = (start, size, device)
        if key not in _KRON_INDEX:
            d, wires = 2**size, torch.arange(size)[:, None, None]
            r, c = torch.arange(d)[None, :, None], torch.arange(d)[None, None, :]
            shift = size - 1 - wires
            entries = 4 * (start + wires) + 2 * ((r >> shift) & 1) + ((c >> shift) & 1)
            _KRON_INDEX[key] = entries.reshape(-1).to(device)
        mats.append(table.index_select(1, _KRON_INDEX[key]).view(b.shape[0], size, 2**size, 2**size).prod(1))
    return mats


def _half_angle_table(width: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(map [2w, w], offsets [2w, 1]): cos(addmm(offsets, map, x.T)) is cos(x/2) (rows 0..w-1), then sin(x/2)."""
    half_angles = torch.cat([0.5 * torch.eye(width, dtype=dtype)] * 2).to(device)
    offsets = torch.tensor([[0.0]] * width + [[-math.pi / 2]] * width, dtype=dtype, device=device)
    return half_angles, offsets


class HeadPlan:
    """Tables of the product-state head of `apply_kron_layers` for one register size, dtype and device.

    The head is layer 0 on the angle encoding without its RZ(c) (which joins the next phase
    row): RY(b) RZ(a) RY(x) |0> on every wire, still a product state. It is built inside the
    kernel as two halves of h = ceil(n/2) wires, both halves as one batch (an odd n gets a
    virtual wire with x = a = b = 0 at the start of the tail half; the tail is then the first
    2**(n-h) rows of its half). Each half is a kron of real [cos(x/2), sin(x/2)] vectors (one
    gather and a product), times its RZ(a) phases, times the real kron of its RY(b) (one
    batched GEMM). Its backward is by hand as well (autograd through per-wire Rot vectors is
    many small calls). On the CPU `forward_split` / `backward_split` do the same in two
    compiled loops (`cpu_loops`), as the torch form is ~50 small calls.
    """

    def __init__(self, n_qubits: int, dtype: torch.dtype, device: torch.device) -> None:
        n, h = n_qubits, (n_qubits + 1) // 2
        self.n_qubits, self.half, self.odd = n, h, n % 2 == 1
        self.input_map, self.input_offsets = _half_angle_table(2 * h, dtype, device)  # the padded wires
        local = torch.arange(h)
        bits = (torch.arange(2**h)[:, None] >> (h - 1 - local)) & 1  # [2**h, h]
        self.vector_rows = torch.stack([k * h + local + 2 * h * bits for k in (0, 1)]).reshape(-1).to(device)
        self.phase_signs = (-0.5 * z_signs(h, [(q,) for q in range(h)], dtype)).to(device)  # RZ(a): exp(i signs @ a)
        self.flips, self.bit_signs, _ = _bit_flips(h, dtype, device)
        wires = list(range(h)) + ([n] if self.odd else []) + list(range(h, n))  # padded order; n = the virtual wire
        self.pad_index = torch.tensor(wires, device=device)
        self.keep = torch.tensor([i for i, w in enumerate(wires) if w < n], device=device)

    def forward(self, angles: torch.Tensor, head: torch.Tensor, cdtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        """angles [B, n], head [n, 2] (a, b) -> the halves [2, 2**h, B] complex and what the backward needs."""
        h, batch = self.half, angles.shape[0]
        vectors, head = self._inputs(angles, head)
        real = vectors.index_select(0, self.vector_rows).view(2, 2**h, h, batch).prod(2)  # [2, 2**h, B]
        phases = torch.polar(torch.ones_like(real[:, :, 0]), head[:, 0].view(2, h) @ self.phase_signs.T).to(cdtype)
        b = head[:, 1].view(2, h)
        ry = _ry_krons(b, ((0, h),))[0]  # [2, 2**h, 2**h]
        pre = phases[:, :, None] * real
        halves = torch.bmm(ry, torch.view_as_real(pre).view(2, 2**h, 2 * batch))
        return torch.view_as_complex(halves.view(2, 2**h, batch, 2)), (real, phases, pre, ry)

    def _inputs(self, angles: torch.Tensor, head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cos and sin of half the angles [4h, B], head [2h, 2]), both on the padded wires."""
        if self.odd:
            angles = torch.nn.functional.pad(angles, (0, 1)).index_select(1, self.pad_index)
            head = torch.nn.functional.pad(head, (0, 0, 0, 1)).index_select(0, self.pad_index)
        return torch.cos(torch.addmm(self.input_offsets, self.input_map, angles.T)), head

    def _kept(self, grad_angles: torch.Tensor, grad_head: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.odd:
            return grad_angles.index_select(1, self.keep), grad_head.index_select(0, self.keep)
        return grad_angles, grad_head

    def forward_split(self, angles: torch.Tensor, head: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """As `forward`, by the compiled CPU loops, the halves in the split layout [2, 2**h, 2, B]."""
        h, batch = self.half, angles.shape[0]
        vectors, head = self._inputs(angles, head)
        a, b = head[:, 0].contiguous(), head[:, 1].contiguous()
        out, pre = angles.new_empty(2, 2**h, 2, batch), angles.new_empty(2, 2**h, 2, batch)
        real, ry = angles.new_empty(2, 2**h, batch), angles.new_empty(2, 2**h, 2**h)
        cpu_loops.head_forward(vectors[:2 * h], vectors[2 * h:], a, b, out, real, pre, ry)
        return out, (real, pre, ry, a)

    def backward_split(self, grad: torch.Tensor, saved) -> tuple[torch.Tensor, torch.Tensor]:
        """As `backward`, by the compiled CPU loops, from the halves' gradient in the split layout."""
        real, pre, ry, a = saved
        grad_x = real.new_empty(2 * self.half, real.shape[-1])
        grad_a, grad_b = torch.zeros_like(a), torch.empty_like(a)
        cpu_loops.head_backward(grad, real, pre, ry, a, torch.empty_like(pre), grad_x, grad_a, grad_b)
        return self._kept(grad_x.T, torch.stack([grad_a, grad_b], -1))

    def backward(self, grad_halves: torch.Tensor, saved) -> tuple[torch.Tensor, torch.Tensor]:
        """grad of the halves [2, 2**h, B] -> grads of angles [B, n] and head [n, 2]."""
        real, phases, pre, ry = saved
        h, batch = self.half, real.shape[-1]
        grad_real_view = torch.view_as_real(grad_halves).view(2, 2**h, 2 * batch)
        grad_pre_real = torch.bmm(ry.mT, grad_real_view)  # [2, 2**h, 2B]: RY(b) is orthogonal
        pre_real = torch.view_as_real(pre).view(2, 2**h, 2 * batch)
        grad_b = real.new_empty(2, h)
        for k in (0, 1):
            _layer_angle_grads(grad_pre_real[k], pre_real[k], h, ((0, h),), out=grad_b[k])
        grad_b = grad_b.view(-1).mul_(0.5)
        unphased = phases.conj()[:, :, None] * torch.view_as_complex(grad_pre_real.view(2, 2**h, batch, 2))
        grad_a = ((real * unphased.imag).sum(-1) @ self.phase_signs).view(-1)  # Im(conj(pre) grad), pre = phases real
        grad_vectors = unphased.real  # [2, 2**h, B]
        flipped = real.index_select(1, self.flips).view(2, h, 2**h, batch).mul_(grad_vectors[:, None])
        grad_angles = (self.bit_signs.mT @ flipped).view(2 * h, batch).T * 0.5  # d [cos, sin](x/2) = J [cos, sin] / 2
        return self._kept(grad_angles, torch.stack([grad_a, grad_b], -1))


class KronPlan:
    """Tables of `apply_kron_layers` for one register, entangler, dtype and device (VQC keeps one per device)."""

    def __init__(self, index: torch.Tensor, n_qubits: int, dtype: torch.dtype, max_group: int = LAYER_GROUP) -> None:
        device = index.device
        self.n_qubits, self.index, self.inverse = n_qubits, index, torch.argsort(index)
        # the wire groups of the RY krons, larger ones last: at n=10, (3, 3, 4) steps 3-5 % faster than (4, 3, 3)
        sizes = sorted(size for _, size in kron_groups(n_qubits, max_group))
        self.groups = tuple((sum(sizes[:k]), size) for k, size in enumerate(sizes))
        zs = z_signs(n_qubits, [(q,) for q in range(n_qubits)], dtype).to(device)  # [D, n]
        # phase row l = (a_l, c_{l-1}) @ phase_signs: RZ(a_l) on row r, and RZ(c_{l-1}) of the row the gather moved here
        self.phase_signs = (-0.5 * torch.cat([zs, zs.index_select(0, index)], 1).T).contiguous()  # [2n, D]
        self.head = HeadPlan(n_qubits, dtype, device)
        self.dtype, self.device = dtype, device
        self.phase_maps: dict[tuple[int, bool], torch.Tensor] = {}
        self.signs_seen: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def phase_map(self, n_rot: int, head: bool) -> torch.Tensor:
        """[3 n L, (Lb + 1) 2n] 0/1: flat Rot weights [L, n, 3] @ map = the phase angle rows (a_l, c_{l-1}), flat.

        Row l of the table holds a of kron layer l and c of the layer before it (Lb = L - head
        kron layers; with a head, c of layer 0 joins row 0). One matmul each way instead of
        slicing the weights apart and back together.
        """
        key = (n_rot, head)
        if key not in self.phase_maps:
            n, n_layers = self.n_qubits, n_rot - head
            table = torch.zeros(n_rot, n, 3, n_layers + 1, 2 * n, dtype=self.dtype)
            for row in range(n_layers + 1):
                for q in range(n):
                    if row < n_layers:
                        table[row + head, q, 0, row, q] = 1  # a
                    if row + head >= 1:
                        table[row + head - 1, q, 2, row, n + q] = 1  # c of the layer before
            self.phase_maps[key] = table.reshape(3 * n * n_rot, -1).to(self.device)
        return self.phase_maps[key]

    def moved_signs(self, signs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(signs[inverse], 2 * signs[inverse]) for Z sums that skip the last gather (kept for the last signs seen)."""
        if self.signs_seen is None or self.signs_seen[0] is not signs:
            moved = signs.index_select(0, self.inverse)  # sum_j |psi[index[j]]|^2 s[j] = sum_r |psi[r]|^2 s[inverse[r]]
            self.signs_seen = (signs, moved, 2 * moved)
        return self.signs_seen[1], self.signs_seen[2]


class _RealKronLayers(torch.autograd.Function):
    """The layered kernel of `apply_kron_layers` with a hand-written (stored-state) backward.

    Autograd through these GEMMs would expand each group matrix over the blocks and sum its
    gradient back, and record dozens of small nodes per layer; here the backward is, per layer,
    one GEMM per group for the state gradient (the RY krons are orthogonal: their transposes),
    one call for all the layer's RY angle gradients (`_layer_angle_grads`) and one for its
    phases and the gather before them (`_phase_back`). Only each layer's input is kept, in one
    workspace block [Lb + 2, 2**n, 2C] (two scratch slots for the groups in between).

    States are real [2**n, 2C] in the split layout: each row holds the C real parts, then the
    C imaginary parts. The GEMMs do not care, and the phase steps run as compiled loops on it
    (interleaved (re, im) pairs do not vectorise; `cpu_loops`).
    """

    @staticmethod
    def forward(ctx, state, angles, weights, signs, final_phase, plan, workspace):
        gather_first, groups, index = angles is not None, plan.groups, plan.index
        n_rot, n = weights.shape[:2]
        n_layers, n_groups = n_rot - gather_first, len(groups)  # kron layers (after the head)
        dim, batch = (2**n, angles.shape[0]) if state is None else state.shape
        # phase angle rows (a_l, c_{l-1}): RZ(c) of a layer joins RZ(a) of the next (the head's c: row 0)
        table = (weights.view(1, -1) @ plan.phase_map(n_rot, gather_first)).view(n_layers + 1, 2 * n)
        phases = table[:n_layers + final_phase] @ plan.phase_signs  # [P, 2**n]; no last row when final_phase=False
        b = weights[gather_first:, :, 1]
        units = torch.polar(torch.ones_like(phases), phases)  # [P, 2**n] complex
        mats = _ry_krons(b, groups)
        # one slot per layer input (all the backward reads), then two scratch slots the groups alternate between
        n_saved = n_layers
        block = (workspace or Workspace()).take((n_saved + 2, dim, 2 * batch), b.dtype, b.device)
        slots = block.unbind(0)
        lead = tail = ctx.split_halves = None
        if state is None and _use_loops(block):  # the head (`HeadPlan`) as split halves; product, gather, phase
            halves, ctx.head_saved = plan.head.forward_split(angles, weights[0, :, :2])  # [2, 2**h, 2, C]
            ctx.split_halves, ctx.tail_rows = halves, dim // halves.shape[1]
            cpu_loops.product_rows(halves[0], halves[1, :ctx.tail_rows], index, units[0], out=slots[0])
        else:
            if state is None:  # the head (`HeadPlan`) as two complex halves, multiplied out in a scratch slot
                cdtype = torch.complex128 if weights.dtype == torch.float64 else torch.complex64
                halves, ctx.head_saved = plan.head.forward(angles, weights[0, :, :2], cdtype)
                lead, tail = halves[0], halves[1, :dim // halves.shape[1]]
                state = torch.view_as_complex(slots[n_saved + 1].view(dim, batch, 2))
                torch.mul(lead[:, None, :], tail[None], out=state.view(lead.shape[0], tail.shape[0], batch))
            _split(state, out=slots[n_saved])
            _gather_phase(slots[n_saved], index if gather_first else None, units[0], out=slots[0])
        # group k of a layer writes the scratch slot that leaves the last group's output in slot n_saved + 1
        outputs = [n_saved + 1 - (n_groups - 1 - k) % 2 for k in range(n_groups)]
        layer_mats = [m.unbind(0) for m in mats]
        for layer in range(n_layers):
            source = slots[layer]
            for k, (start, size) in enumerate(groups):
                _apply_group(layer_mats[k][layer], source, start, size, out=slots[outputs[k]])
                source = slots[outputs[k]]
            if layer == n_layers - 1 and signs is not None:
                break  # measured (signs): |psi|^2 does not see the last phase, and the last gather moves into the signs
            unit = units[layer + 1] if layer + 1 < units.shape[0] else None
            _gather_phase(slots[n_saved + 1], index, unit, out=slots[layer + 1])
        last = n_saved + 1 if signs is not None else n_saved
        if signs is not None:
            signs, ctx.twice_signs = plan.moved_signs(signs)
        ctx.signs, ctx.gather_first, ctx.weights_shape = signs, gather_first, weights.shape
        ctx.units, ctx.b, ctx.mats, ctx.workspace = units, b, mats, workspace
        ctx.halves, ctx.plan = (None if lead is None else (lead, tail)), plan
        ctx.lease = _Lease(workspace, block)
        if signs is None:
            return torch.complex(block[last, :, :batch], block[last, :, batch:])
        squares = torch.mul(block[last], block[last], out=slots[n_saved])  # slot n_saved is scratch here
        return (signs.T @ squares).view(-1, 2, batch).sum(1).T  # [C, m]

    @staticmethod
    def backward(ctx, grad):
        plan, mats, units = ctx.plan, ctx.mats, ctx.units
        groups, n_groups, index, inverse = plan.groups, len(plan.groups), plan.index, plan.inverse
        n_layers, n_qubits, block = ctx.b.shape[0], ctx.b.shape[1], ctx.lease.tensor
        n_saved, dim, cols = block.shape[0] - 2, block.shape[1], block.shape[2]
        batch = cols // 2
        work = (ctx.workspace or Workspace()).take((2, dim, cols), block.dtype, block.device)
        slots, bufs = block.unbind(0), work.unbind(0)
        grad_phases = torch.zeros(units.shape, dtype=block.dtype, device=block.device)
        grad_b = torch.empty_like(ctx.b) if ctx.needs_input_grad[2] else None
        if ctx.signs is not None:  # d <sum_r |psi_r|^2 signs[r, :]> / d psi = 2 psi (signs @ grad^T)
            scale = grad.T.to(block.dtype)[:, None, :].expand(-1, 2, -1).reshape(grad.shape[1], cols)  # re, im
            torch.mm(ctx.twice_signs, scale, out=bufs[1])  # the scale per real entry; no large temporaries
            torch.mul(block[n_saved + 1], bufs[1], out=bufs[0])
            cur = 0
        else:  # the last layer's gather, and the last phase row if there is one
            _split(grad, out=bufs[0])
            unit = units[n_layers] if units.shape[0] > n_layers else None
            _phase_back(slots[n_saved], bufs[0], unit, index, inverse, out=bufs[1], phase_grad=grad_phases[n_layers])
            cur = 1
        back_mats = [m.transpose(1, 2).unbind(0) for m in mats]
        for layer in reversed(range(n_layers)):
            for k in reversed(range(n_groups)):  # the RYs are orthogonal: their transposes carry the gradient back
                start, size = groups[k]
                _apply_group(back_mats[k][layer], bufs[cur], start, size, out=bufs[1 - cur])
                cur = 1 - cur
            if grad_b is not None:  # bufs[cur]: the gradient at this layer's input slots[layer]
                _layer_angle_grads(bufs[cur], slots[layer], n_qubits, groups, out=grad_b[layer])
            gathered = layer > 0 or ctx.gather_first  # a row gather made this layer's input
            _phase_back(slots[layer], bufs[cur], units[layer], index if gathered else None, inverse,
                        out=bufs[1 - cur], phase_grad=grad_phases[layer])
            cur = 1 - cur
        grad_state = grad_angles = grad_head = None
        if ctx.split_halves is not None:  # psi = lead (x) tail per column: one pass for both halves' gradients
            split, rows = ctx.split_halves, ctx.tail_rows
            grad_split = torch.zeros_like(split)  # the tail's half padded (odd n)
            cpu_loops.product_grads(bufs[cur], split[0], split[1, :rows], grad_split[0], grad_split[1, :rows])
            grad_angles, grad_head = plan.head.backward_split(grad_split, ctx.head_saved)
        elif ctx.halves:  # d/d lead = sum over tail rows of g conj(tail), and alike
            lead, tail = ctx.halves
            grid = torch.view_as_complex(bufs[1 - cur].view(dim, batch, 2))
            grid.copy_(torch.complex(bufs[cur][:, :batch], bufs[cur][:, batch:]))
            scratch = torch.view_as_complex(bufs[cur].view(dim, batch, 2)).view(lead.shape[0], tail.shape[0], -1)
            grid = grid.view(lead.shape[0], tail.shape[0], -1)
            grad_halves = lead.new_zeros(2, *lead.shape)  # the tail's half padded (odd n)
            torch.sum(torch.mul(grid, tail.conj().resolve_conj()[None], out=scratch), 1, out=grad_halves[0])
            torch.sum(torch.mul(grid, lead.conj().resolve_conj()[:, None], out=scratch), 0,
                      out=grad_halves[1, :tail.shape[0]])
            grad_angles, grad_head = plan.head.backward(grad_halves, ctx.head_saved)
        elif ctx.needs_input_grad[0]:
            grad_state = torch.complex(bufs[cur][:, :batch], bufs[cur][:, batch:])
        if ctx.workspace:
            ctx.workspace.give(work)
        grad_weights = None
        if grad_b is not None:  # back through the phase angle table of the forward, then the RY and head angles
            head, rows = ctx.gather_first, grad_phases.shape[0]
            phase_map = plan.phase_map(ctx.weights_shape[0], head)[:, :rows * 2 * n_qubits]
            grad_weights = (phase_map @ (grad_phases @ plan.phase_signs.T).view(-1)).view(ctx.weights_shape)
            grad_weights[int(head):, :, 1] = grad_b.mul_(0.5)  # the map has zeros at every b
            if head:
                grad_weights[0, :, :2] = grad_head  # and at the head's a
        return grad_state, grad_angles, grad_weights, None, None, None, None


def _split(state: torch.Tensor, out: torch.Tensor) -> None:
    """A complex [2**n, C] state into the split real layout out [2**n, 2C] (real parts, then imaginary)."""
    out.view(out.shape[0], 2, -1).copy_(torch.view_as_real(state).permute(0, 2, 1))


def _phase_rows(x: torch.Tensor, unit: torch.Tensor) -> None:
    """x [2**n, 2C] (split layout) *= unit [2**n] complex, row by row, in place (torch ops)."""
    real, imag = x.view(x.shape[0], 2, -1).unbind(1)
    cos, sin = unit.real[:, None], unit.imag[:, None]
    real_sin = real * sin
    real.mul_(cos).addcmul_(imag, sin, value=-1)
    imag.mul_(cos).add_(real_sin)


def _gather_phase(source: torch.Tensor, index: torch.Tensor | None, unit: torch.Tensor | None,
                  out: torch.Tensor) -> None:
    """out = source[index] * unit, row by row (split layout [2**n, 2C]; index None: no gather, unit None: no phase)."""
    if index is None and unit is None:
        out.copy_(source)
    elif _use_loops(out) and unit is not None:
        cpu_loops.gather_phase(source, index, unit, out)
    else:
        torch.index_select(source, 0, index, out=out) if index is not None else out.copy_(source)
        if unit is not None:
            _phase_rows(out, unit)


def _phase_back(x: torch.Tensor, grad: torch.Tensor, unit: torch.Tensor | None, index: torch.Tensor | None,
                inverse: torch.Tensor, out: torch.Tensor, phase_grad: torch.Tensor) -> None:
    """Backward of `_gather_phase`(., index, unit) that made x, all split layout [2**n, 2C].

    phase_grad [2**n] gets d loss / d phi of unit = exp(i phi) (sum over columns of
    Im(conj(x) grad)); out gets the gradient before the gather, (grad conj(unit))[inverse].
    One compiled pass on the CPU (`cpu_loops.phase_back`); elsewhere torch ops that use `grad`
    as scratch.
    """
    if unit is not None and _use_loops(x):
        cpu_loops.phase_back(x, grad, unit, index, out, phase_grad)
        return
    if unit is not None:
        half = x.shape[1] // 2
        torch.sum(x[:, :half] * grad[:, half:] - x[:, half:] * grad[:, :half], 1, out=phase_grad)
        _phase_rows(grad, unit.conj())
    torch.index_select(grad, 0, inverse, out=out) if index is not None else out.copy_(grad)


def _layer_angle_grads(grad: torch.Tensor, x: torch.Tensor, n_qubits: int, groups, out: torch.Tensor) -> None:
    """2 d loss / d b into out [n] for one layer's RYs, from its input x and the gradient there (real [2**n, C]).

    d/dt RY(t) = 1/2 RY(t) J (J = [[0, -1], [1, 0]]), so d loss / d b_q = 1/2 grad^T J_q x; this
    writes grad^T J_q x (the caller halves them all at once). On the CPU one compiled pass over
    both (`cpu_loops`: 2 multiply-adds per entry and wire instead of a Gram GEMM's 2**group); on other devices (or with
    COMPILED_LOOPS False) per wire group the Gram matrix G = grad x^T over the group's rows (one
    GEMM) and its signed entries (r, r ^ bit_q): grad^T J_q x = sum_r sign_q(r) G[r, r ^ bit_q].
    """
    if _use_loops(x):
        cpu_loops.rotation_cross_sums(grad, x, n_qubits, out)
        return
    for start, size in groups:
        _, signs, cross_index = _bit_flips(size, x.dtype, x.device)
        gram = _group_grad(grad, x, start, size).view(-1)
        out[start:start + size] = (gram.index_select(0, cross_index).view(size, -1) * signs[:, :, 0]).sum(-1)


_FLIP_CACHE: dict = {}


def _bit_flips(n_qubits: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Bit-flip tables of the RY and [cos, sin] derivatives (cached per n, dtype, device).

    Returns r ^ (bit of wire q) [n * 2**n]; the sign -1/+1 of that bit in r [n, 2**n, 1]; and
    the flat index of entries (r, r ^ bit_q) of a [2**n, 2**n] matrix [n * 2**n]. Both an RY
    factor's derivative and a [cos, sin] vector's are, up to the sign and a factor 1/2, the
    same kron with wire q's row bit flipped: d/dt RY(t) = 1/2 [[0, -1], [1, 0]] RY(t).
    """
    key = (n_qubits, dtype, device)
    if key not in _FLIP_CACHE:
        dim = 2**n_qubits
        rows = torch.arange(dim, device=device)
        bits = (1 << (n_qubits - 1 - torch.arange(n_qubits, device=device)))[:, None]  # [n, 1]
        signs = torch.where(rows & bits == 0, -1.0, 1.0).to(dtype)[:, :, None]
        flips = (rows ^ bits).reshape(-1)
        _FLIP_CACHE[key] = (flips, signs, flips + rows.repeat(n_qubits) * dim)
    return _FLIP_CACHE[key]


class FusedPlan:
    """Index and sign tables of `apply_fused_layers` for one register and entangler (VQC keeps one per device).

    The layers are built with the CNOT row gather already applied: row j of layer l's kron is
    row index[j] of the kron of the Rot matrices. Its real part R[j, c] is the product over
    wires q of RY(b_lq)[bit_q(index[j]), bit_q(c)], formed by two gathers (per-half krons from
    the RY entries, then the full kron from the halves) and two products, instead of chained
    6-d broadcast products and a separate row gather.
    """

    def __init__(self, index: torch.Tensor, n_qubits: int, dtype: torch.dtype) -> None:
        device, n, dim = index.device, n_qubits, 2**n_qubits
        self.n_qubits, self.inverse = n, torch.argsort(index)
        zs = z_signs(n, [(q,) for q in range(n)], dtype).to(device)  # [D, n]
        self.zs, self.moved_zs = zs, zs.index_select(0, index)  # moved: the signs of the gathered rows
        # one cos of weights [L, 3n] @ angle_map + offsets gives every trig value of the layers: the RY entries
        # [L, 4n] (entry 4q + 2 * row bit + column bit of wire q: cos(b/2) or cos(b/2 +- pi/2) = -+sin(b/2)),
        # a 1 (pads the short half of an odd n), then cos and -sin of the phase angles theta (a . z(column) / 2,
        # then c . z(index[row]) / 2: E = exp(-i theta_row - i theta_column)) [L, 4D]
        ry_cols, phase_cols = 4 * n + 1, 2 * dim
        angle_map = torch.zeros(3 * n, ry_cols + 2 * phase_cols, dtype=dtype)
        offsets = torch.zeros(ry_cols + 2 * phase_cols, dtype=dtype)
        wires = torch.arange(n)
        for entry, shift in enumerate(RY_ENTRY_SHIFTS):
            angle_map[3 * wires + 1, 4 * wires + entry] = 0.5
            offsets[4 * wires + entry] = shift
        for start in (ry_cols, ry_cols + phase_cols):
            angle_map[0::3, start:start + dim] = 0.5 * zs.T.cpu()
            angle_map[2::3, start + dim:start + phase_cols] = 0.5 * self.moved_zs.T.cpu()
        offsets[ry_cols + phase_cols:] = math.pi / 2
        self.angle_map, self.angle_offsets, self.ry_cols = angle_map.to(device), offsets.to(device), ry_cols
        self.input_map, self.input_offsets = _half_angle_table(n, dtype, device)
        self.flips, self.bit_signs, _ = _bit_flips(n, dtype, device)
        bits_of_rows = (torch.arange(dim)[:, None] >> (n - 1 - wires)) & 1  # [D, n]
        self.product_rows = (wires + n * bits_of_rows).reshape(-1).to(device)  # rows of the [2n, B] vector table
        rows, bits = torch.arange(dim), (1 << (n - 1 - wires))[:, None]
        inverse = self.inverse.cpu()
        # entries (inverse[r], inverse[r ^ bit_q]) of a row-gathered [D, D] product, flat [n * D]
        self.cross_index = (inverse[rows] * dim + inverse[rows ^ bits]).reshape(-1).to(device)
        self.half = (n + 1) // 2
        self.kron_first, self.kron_second = (t.to(device) for t in _kron_indices(n, index.cpu()))
        self.buffers: dict[str, torch.Tensor] = {}

    def scratch(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """A reused uninitialised tensor for a temporary that dies within one forward or backward call.

        The same memory every step stays in cache, where fresh temporaries of a few hundred kB
        would be allocated and page-faulted each step. Never returned or saved for backward; one per name (the
        latest shape), so not for concurrent use from several threads.
        """
        buffer = self.buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != like.dtype or buffer.device != like.device:
            buffer = self.buffers[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buffer


def _kron_indices(n: int, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat gather indices of `FusedPlan`: RY entries [L, 4n (+1)] -> half krons [L, 2, h, Dh*Dh] -> [L, 2, D, D].

    Wire q's RY entry (row bit, column bit) sits at 4q + 2 * row bit + column bit of the table;
    a half kron is laid out Dh x Dh (Dh = 2**h, h = ceil(n/2)), the short half of an odd n in
    its top-left corner with the trailing 1 of the table as its missing wire. The second index
    picks, for column c and row j (basis state index[j]), the two halves' entries: the kron
    comes out transposed, the layout the kernel works in.
    """
    half = (n + 1) // 2
    dh, low = 2**half, n - half
    first = torch.full((2, half, dh, dh), 4 * n, dtype=torch.long)
    for k, (start, size) in enumerate([(0, half), (half, low)]):
        r, c = torch.arange(2**size)[:, None], torch.arange(2**size)[None, :]
        for w in range(size):
            shift = size - 1 - w
            first[k, w, :2**size, :2**size] = 4 * (start + w) + 2 * ((r >> shift) & 1) + ((c >> shift) & 1)
    r, c = index[:, None], torch.arange(2**n)[None, :]
    mask = (1 << low) - 1
    second = torch.stack([(r >> low) * dh + (c >> low), dh * dh + (r & mask) * dh + (c & mask)])
    return first.reshape(-1), second.mT.reshape(-1)  # the kron transposed: [2, column c, row j]


class _FusedLayers(torch.autograd.Function):
    """All layers fused into one unitary U, applied with one GEMM; hand-written backward.

    For small registers the cost is kernel calls, not flops, so forward and backward are a
    fixed handful of batched ops. Layer l is M_l = E_l * R_l (elementwise), rows already in
    the entangler's gathered order (`FusedPlan`): R_l the real kron of the RY(b) factors,
    E_l = exp(i phi_l) the RZ(c) (row) and RZ(a) (column) phases. Everything is kept
    transposed (M_l^T, prefix products P_l^T, U^T), the layout in which U^T viewed as real
    [D, 2D] maps a real batch-major state to interleaved (re, im) amplitudes in one GEMM and
    the chain rule needs no transposed copies. Backward: the composition chain rule gives
    G_l = dL/dM_l for every layer (L - 1 sequential GEMMs and one batched GEMM); with
    H_l = conj(G_l) * M_l the a and c gradients are 1/2 Im of H_l's column and row sums
    against the (moved) Z signs (dRot/da = Rot (-i/2 Z), dRot/dc = (-i/2 Z) Rot). dR/db_q is R
    with wire q's bit of the row's basis state flipped, times a sign (`_bit_flips`), so the b
    gradients are entries (inverse[r], inverse[r ^ bit_q]) of W_l R_l^T, W_l =
    Re(conj(G_l) E_l): one batched real GEMM and a gather. The input gradient of the product
    state uses the same flip.
    """

    @staticmethod
    def forward(ctx, state, weights, signs, angles, plan):
        n_layers, n = weights.shape[:2]
        dim = 2**n
        trig = torch.cos(torch.addmm(plan.angle_offsets, weights.view(n_layers, 3 * n), plan.angle_map))
        table = trig[:, :plan.ry_cols]  # RY entries per wire and a 1
        halves = table.index_select(1, plan.kron_first).view(n_layers, 2, plan.half, -1).prod(2).view(n_layers, -1)
        pair_out = plan.scratch("pair", (n_layers, 2 * dim * dim), halves)
        pair = torch.index_select(halves, 1, plan.kron_second, out=pair_out)
        pair = pair.view(n_layers, 2, dim, dim)
        real_t = torch.mul(pair[:, 0], pair[:, 1])  # R_l^T [L, D, D] (rows gathered in R_l)
        units = torch.complex(trig[:, plan.ry_cols:plan.ry_cols + 2 * dim], trig[:, plan.ry_cols + 2 * dim:])
        units = units.to(state.dtype).view(n_layers, 2, dim)  # exp(-i theta): columns, then rows
        phases_t = units[:, 0, :, None] * units[:, 1, None, :]  # E_l^T [L, D, D]
        layers_t = phases_t * real_t  # M_l^T
        prefix_t = torch.empty_like(layers_t)  # P_l^T = M_0^T ... M_l^T
        prefix_t[0] = layers_t[0]
        for layer in range(1, n_layers):
            torch.mm(prefix_t[layer - 1], layers_t[layer], out=prefix_t[layer])
        ctx.state, ctx.layers_t, ctx.real_t, ctx.prefix_t = state, layers_t, real_t, prefix_t
        ctx.signs, ctx.phases_t, ctx.plan = signs, phases_t, plan
        if angles is None:  # a given complex state [D, B]
            psi = prefix_t[-1].mT @ state
            ctx.psi = psi
            if signs is None:
                return psi
            return (psi.real.square() + psi.imag.square()).T @ signs
        # RY(angles[:, q]) on qubit q of |0...0>: a real product state
        vectors = torch.cos(torch.addmm(plan.input_offsets, plan.input_map, angles.T))  # [2n, B]: cos, sin of x/2
        rows = plan.scratch("rows", (plan.product_rows.numel(), vectors.shape[1]), vectors)
        state = torch.index_select(vectors, 0, plan.product_rows, out=rows).view(dim, n, -1).prod(1)  # [D, B]
        unitary_t = torch.view_as_real(prefix_t[-1]).view(dim, 2 * dim)  # U^T as real: [c, (r, re/im)]
        psi_t = state.T @ unitary_t  # [B, 2D]: (re, im) of U state, interleaved
        ctx.state, ctx.psi_t, ctx.unitary_t = state, psi_t, unitary_t
        if signs is None:
            return torch.view_as_complex(psi_t.view(-1, dim, 2)).T
        squares = torch.mul(psi_t, psi_t, out=plan.scratch("squares", psi_t.shape, psi_t))
        ctx.signs = signs.repeat_interleave(2, 0)  # [2D, m], the interleaved layout's
        return (ctx.signs.T @ squares.T).T  # a GEMM with the long side as N: squares @ signs (N = m) is slower

    @staticmethod
    def backward(ctx, grad):
        state, layers_t, prefix_t, signs, plan = ctx.state, ctx.layers_t, ctx.prefix_t, ctx.signs, ctx.plan
        n_layers, dim, n = layers_t.shape[0], layers_t.shape[1], plan.n_qubits
        grad_state = grad_angles = None
        # outer[L-1] = C^T = conj(dL/dU)^T. The gradient of psi below is HALF of dL/dpsi (re, im); the halves cancel
        # against the 1/2 of the angle derivatives
        outer = plan.scratch("outer", layers_t.shape, layers_t)
        if hasattr(ctx, "psi_t"):
            psi_t = ctx.psi_t
            if signs is not None:
                scale = torch.mm(grad, signs.T, out=plan.scratch("scale", psi_t.shape, psi_t))
                g_t = scale.mul_(psi_t)  # [B, 2D]
            else:
                g_t = 0.5 * torch.view_as_real(grad.T.resolve_conj()).reshape(psi_t.shape)
            if ctx.needs_input_grad[3]:  # d psi0[r] / d x_q = sign_q(r) psi0[r ^ bit_q] / 2
                grad_real = torch.mm(ctx.unitary_t, g_t.T, out=plan.scratch("grad_real", state.shape, state))  # [D, B]
                flipped = torch.index_select(state, 0, plan.flips, out=plan.scratch("rows", (n * dim, state.shape[1]),
                                                                                        state)).view(n, dim, -1)
                grad_angles = (plan.bit_signs.mT @ flipped.mul_(grad_real))[:, 0].T  # [B, n]
            if not ctx.needs_input_grad[1]:
                return None, None, None, grad_angles, None
            torch.conj_physical(torch.view_as_complex((state @ g_t).view(dim, dim, 2)), out=outer[-1])
        else:
            psi = ctx.psi
            g_psi = psi * (signs @ grad.T) if signs is not None else 0.5 * grad  # [D, B] complex
            if ctx.needs_input_grad[0]:
                grad_state = prefix_t[-1].conj() @ (2 * g_psi)
            if not ctx.needs_input_grad[1]:
                return grad_state, None, None, None, None
            torch.mm(state, g_psi.mH, out=outer[-1])
        # reverse mode through U = M_{L-1} ... M_0: with F_{L-1} = dL/dU and F_{l-1} = M_l^H F_l,
        # dL/dM_l = F_l P_{l-1}^H (l >= 1, P the prefix products) and dL/dM_0 = F_0. On the transposed
        # conjugates C_l^T = conj(F_l)^T: C_{l-1}^T = C_l^T M_l and conj(dL/dM_l)^T = P_{l-1} C_l^T
        for layer in range(n_layers - 1, 0, -1):
            torch.mm(outer[layer], layers_t[layer].mT, out=outer[layer - 1])
        if n_layers > 1:
            outer[1:] = prefix_t[:-1].mT @ outer[1:]
        g_conj = outer.mul_(ctx.phases_t)  # (conj(dL/dM_l) E_l)^T [L, D, D]
        h_imag = g_conj.imag * ctx.real_t  # Im(conj(G) M)^T
        grad_a = h_imag.sum(2) @ plan.zs
        grad_c = h_imag.sum(1) @ plan.moved_zs
        cross = (g_conj.real.contiguous().mT @ ctx.real_t).view(n_layers, -1)  # [L, D * D]: (W R^T)[j, j']
        grad_b = (cross.index_select(1, plan.cross_index).view(n_layers, n, dim) * plan.bit_signs[:, :, 0]).sum(-1)
        return grad_state, torch.stack([grad_a, grad_b, grad_c], -1), None, grad_angles, None


@torch.compiler.disable  # torch.compile of these complex-valued kernels compiles slowly and runs slower
def apply_fused_layers(
    state: torch.Tensor, weights: torch.Tensor, index: torch.Tensor, signs: torch.Tensor | None = None,
    angles: torch.Tensor | None = None, plan: FusedPlan | None = None,
) -> torch.Tensor:
    """Rot layers weights [L, n, 3] (Rot on every wire, then the row gather `index`) as one fused unitary.

    state [2**n, B] complex -> [2**n, B], or with `signs` [2**n, m] the Z expectations [B, m].
    With `angles` [B, n] the input state is the RY angle encoding of them (built inside, its
    gradient in closed form; `state` then only gives the complex dtype). `plan` (the tables
    for this index, dtype and device) may be passed prebuilt. Builds the 2**n x 2**n unitary
    (L * 8**n complex MACs), so it pays only for small n.
    """
    if weights.shape[0] == 0:
        raise CircuitError("apply_fused_layers needs at least one layer")
    if plan is None:
        plan = FusedPlan(index, weights.shape[1], weights.dtype)
    return _FusedLayers.apply(state.contiguous(), weights.contiguous(), signs, angles, plan)


@torch.compiler.disable  # see apply_fused_layers
def apply_kron_layers(
    state: torch.Tensor | None,
    weights: torch.Tensor,
    index: torch.Tensor,
    signs: torch.Tensor | None = None,
    angles: torch.Tensor | None = None,
    plan: KronPlan | None = None,
    workspace: Workspace | None = None,
    final_phase: bool = True,
) -> torch.Tensor:
    """Rot layers weights [L, n, 3] (Rot on every wire, then the row gather `index`) on a basis-first state [2**n, C].

    Rot(a, b, c) = RZ(c) RY(b) RZ(a): the RZs are diagonal phases (RZ(c) of a layer and RZ(a)
    of the next, moved through the gather, are one phase multiply), and the RYs of a wire
    group (`plan.groups`) one REAL kron matrix; a real matrix acts alike on real and imaginary
    parts, so each group is one GEMM on the complex state viewed as real [2**n, 2C] (a quarter
    of the flops of complex arithmetic). Returns the state [2**n, C] complex (without the last
    RZ(c) when final_phase=False: no Z measurement sees it), or with `signs` [2**n, m] the Z
    expectations [C, m] = |state|^2 summed with those signs. With `angles` [C, n] instead of a
    state, the input is their RY angle encoding, and layer 0 on it is built inside as a product
    state (`HeadPlan`); L >= 2 then. Differentiable w.r.t. state, weights and angles. `plan`
    (the tables for this index, dtype and device) and `workspace` may be passed prebuilt.
    """
    if weights.dim() != 3 or weights.shape[2] != 3:
        raise CircuitError(f"apply_kron_layers needs weights [L, n, 3], got {tuple(weights.shape)}")
    n_qubits, has_head = weights.shape[1], angles is not None
    if (state is None) != has_head:
        raise CircuitError("apply_kron_layers takes either a state or angles (the angle encoding), not both")
    if weights.shape[0] < 1 + has_head:
        raise CircuitError(f"apply_kron_layers needs at least {1 + has_head} layers here, got {weights.shape[0]}")
    if plan is None:
        plan = KronPlan(index, n_qubits, weights.dtype)
    if has_head:
        if angles.dim() != 2 or angles.shape[1] != n_qubits:
            raise CircuitError(f"apply_kron_layers needs angles [C, {n_qubits}], got {tuple(angles.shape)}")
        angles = angles.to(weights.dtype).contiguous()
    else:
        state = state.to(torch.complex128 if weights.dtype == torch.float64 else torch.complex64).contiguous()
    return _RealKronLayers.apply(state, angles, weights.contiguous(), signs, final_phase, plan, workspace)


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
