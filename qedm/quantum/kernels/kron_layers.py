"""The layered kernel: Rot layers as (phase, real RY kron per wire group, CNOT row gather), hand-written backward.

`apply_kron_layers` runs on a basis-first state [2**n, C], one GEMM per wire group per layer;
layer inputs are kept in a `tables.Workspace` block, tables in `KronPlan`. It can build the
angle encoding's product-state layer 0 itself (`HeadPlan`).
"""

from __future__ import annotations

import torch

from qedm.errors import CircuitError
from qedm.quantum import cpu_loops
from qedm.quantum.kernels.tables import (
    Workspace,
    apply_group,
    bit_flips,
    group_grad,
    half_angle_table,
    ry_kron_tables,
    ry_krons,
)
from qedm.quantum.simulator import kron_groups, z_signs

# Largest wire group of the real layers (its RY kron is one GEMM): at n=10 groups of 4 (4+3+3 wires)
# were faster than groups of 5 or 6 (`benchmarks/bench_quantum.py`).
LAYER_GROUP = 4


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
        self.input_map, self.input_offsets = half_angle_table(2 * h, dtype, device)  # the padded wires
        local = torch.arange(h)
        bits = (torch.arange(2**h)[:, None] >> (h - 1 - local)) & 1  # [2**h, h]
        self.vector_rows = torch.stack([k * h + local + 2 * h * bits for k in (0, 1)]).reshape(-1).to(device)
        self.phase_signs = (-0.5 * z_signs(h, [(q,) for q in range(h)], dtype)).to(device)  # RZ(a): exp(i signs @ a)
        self.flip_tables = bit_flips(h, dtype, device)
        self.flips, self.bit_signs, _ = self.flip_tables
        self.ry_tables = ry_kron_tables(((0, h),), dtype, device)
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
        ry = ry_krons(b, ((0, h),), self.ry_tables)[0]  # [2, 2**h, 2**h]
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
            layer_angle_grads(grad_pre_real[k], pre_real[k], h, ((0, h),), grad_b[k], False, {h: self.flip_tables})
        grad_b = grad_b.view(-1).mul_(0.5)
        unphased = phases.conj()[:, :, None] * torch.view_as_complex(grad_pre_real.view(2, 2**h, batch, 2))
        grad_a = ((real * unphased.imag).sum(-1) @ self.phase_signs).view(-1)  # Im(conj(pre) grad), pre = phases real
        grad_vectors = unphased.real  # [2, 2**h, B]
        flipped = real.index_select(1, self.flips).view(2, h, 2**h, batch).mul_(grad_vectors[:, None])
        grad_angles = (self.bit_signs.mT @ flipped).view(2 * h, batch).T * 0.5  # d [cos, sin](x/2) = J [cos, sin] / 2
        return self._kept(grad_angles, torch.stack([grad_a, grad_b], -1))


class KronPlan:
    """Tables of `apply_kron_layers` for one register, entangler, dtype and device (the backend keeps one per device).

    compiled_loops: run the phase steps, the RY angle gradients and the head as numba loops
    (`cpu_loops`) on the CPU; False runs their torch forms (the other devices' path) there too.
    """

    def __init__(self, index: torch.Tensor, n_qubits: int, dtype: torch.dtype, max_group: int = LAYER_GROUP,
                 compiled_loops: bool = True) -> None:
        device = index.device
        self.n_qubits, self.index, self.inverse = n_qubits, index, torch.argsort(index)
        # the wire groups of the RY krons, larger ones last (at n=10 (3, 3, 4) ran faster than (4, 3, 3))
        sizes = sorted(size for _, size in kron_groups(n_qubits, max_group))
        self.groups = tuple((sum(sizes[:k]), size) for k, size in enumerate(sizes))
        self.loops = compiled_loops and device.type == "cpu"
        self.ry_tables = ry_kron_tables(self.groups, dtype, device)
        self.group_flips = {size: bit_flips(size, dtype, device) for _, size in self.groups}
        zs = z_signs(n_qubits, [(q,) for q in range(n_qubits)], dtype).to(device)  # [D, n]
        # phase row l = (a_l, c_{l-1}) @ phase_signs: RZ(a_l) on row r, and RZ(c_{l-1}) of the row the gather moved here
        self.phase_signs = (-0.5 * torch.cat([zs, zs.index_select(0, index)], 1).T).contiguous()  # [2n, D]
        self.zs, self.moved_zs = zs, zs.index_select(0, index)  # Z signs of each row, and of the row gathered there
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
    one call for all the layer's RY angle gradients (`layer_angle_grads`) and one for its
    phases and the gather before them (`_phase_back`). Only each layer's input is kept, in one
    workspace block [Lb + 2, 2**n, 2C] (two scratch slots for the groups in between).

    States are real [2**n, 2C] in the split layout: each row holds the C real parts, then the
    C imaginary parts. The GEMMs do not care, and the phase steps run as compiled loops on it
    (interleaved (re, im) pairs do not vectorise; `cpu_loops`).
    """

    @staticmethod
    def forward(ctx, state, angles, weights, signs, final_phase, plan, workspace, records):
        gather_first, groups, index = angles is not None, plan.groups, plan.index
        n_rot, n = weights.shape[:2]
        n_layers, n_groups = n_rot - gather_first, len(groups)  # kron layers (after the head)
        dim, batch = (2**n, angles.shape[0]) if state is None else state.shape
        # phase angle rows (a_l, c_{l-1}): RZ(c) of a layer joins RZ(a) of the next (the head's c: row 0)
        table = (weights.view(1, -1) @ plan.phase_map(n_rot, gather_first)).view(n_layers + 1, 2 * n)
        phases = table[:n_layers + final_phase] @ plan.phase_signs  # [P, 2**n]; no last row when final_phase=False
        b = weights[gather_first:, :, 1]
        units = torch.polar(torch.ones_like(phases), phases)  # [P, 2**n] complex
        mats = ry_krons(b, groups, plan.ry_tables)
        # one slot per layer input (all the backward reads), then two scratch slots the groups alternate between
        n_saved = n_layers
        block = (workspace or Workspace()).take((n_saved + 2, dim, 2 * batch), b.dtype, b.device)
        slots = block.unbind(0)
        lead = tail = ctx.split_halves = None
        if state is None and plan.loops:  # the head (`HeadPlan`) as split halves; product, gather, phase
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
            _gather_phase(slots[n_saved], index if gather_first else None, units[0], slots[0], plan.loops)
        # group k of a layer writes the scratch slot that leaves the last group's output in slot n_saved + 1
        outputs = [n_saved + 1 - (n_groups - 1 - k) % 2 for k in range(n_groups)]
        layer_mats = [m.unbind(0) for m in mats]
        for layer in range(n_layers):
            source = slots[layer]
            for k, (start, size) in enumerate(groups):
                apply_group(layer_mats[k][layer], source, start, size, out=slots[outputs[k]])
                source = slots[outputs[k]]
            if layer == n_layers - 1 and signs is not None:
                break  # with signs: |psi|^2 does not see the last phase, and the last gather moves into the signs
            unit = units[layer + 1] if layer + 1 < units.shape[0] else None
            _gather_phase(slots[n_saved + 1], index, unit, slots[layer + 1], plan.loops)
        last = n_saved + 1 if signs is not None else n_saved
        if signs is not None:
            signs, ctx.twice_signs = plan.moved_signs(signs)
        ctx.signs, ctx.gather_first, ctx.weights_shape = signs, gather_first, weights.shape
        ctx.units, ctx.b, ctx.mats, ctx.workspace = units, b, mats, workspace
        ctx.halves, ctx.plan = (None if lead is None else (lead, tail)), plan
        ctx.block = block  # given back to the workspace by the backward (or below, if no graph is recorded)
        if signs is None:
            out = torch.complex(block[last, :, :batch], block[last, :, batch:])
        else:
            squares = torch.mul(block[last], block[last], out=slots[n_saved])  # slot n_saved is scratch here
            out = (signs.T @ squares).view(-1, 2, batch).sum(1).T  # [C, m]
        if not records and workspace is not None:
            workspace.give(block)
            ctx.block = None
        return out

    @staticmethod
    def backward(ctx, grad):
        plan, mats, units = ctx.plan, ctx.mats, ctx.units
        groups, n_groups, index, inverse = plan.groups, len(plan.groups), plan.index, plan.inverse
        if ctx.block is None:
            raise CircuitError("apply_kron_layers: its graph was already differentiated once (its workspace block "
                               "is reused); run the forward again instead of backward with retain_graph")
        n_layers, n_qubits, block = ctx.b.shape[0], ctx.b.shape[1], ctx.block
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
            _phase_back(slots[n_saved], bufs[0], unit, index, inverse, bufs[1], grad_phases[n_layers], plan.loops)
            cur = 1
        back_mats = [m.transpose(1, 2).unbind(0) for m in mats]
        for layer in reversed(range(n_layers)):
            for k in reversed(range(n_groups)):  # the RYs are orthogonal: their transposes carry the gradient back
                start, size = groups[k]
                apply_group(back_mats[k][layer], bufs[cur], start, size, out=bufs[1 - cur])
                cur = 1 - cur
            if grad_b is not None:  # bufs[cur]: the gradient at this layer's input slots[layer]
                layer_angle_grads(bufs[cur], slots[layer], n_qubits, groups, grad_b[layer], plan.loops,
                                  plan.group_flips)
            gathered = layer > 0 or ctx.gather_first  # a row gather made this layer's input
            _phase_back(slots[layer], bufs[cur], units[layer], index if gathered else None, inverse,
                        bufs[1 - cur], grad_phases[layer], plan.loops)
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
        if ctx.workspace is not None:
            ctx.workspace.give(work)
            ctx.workspace.give(block)
        ctx.block = None
        grad_weights = None
        if grad_b is not None:  # back through the phase angle table of the forward, then the RY and head angles
            head, rows = ctx.gather_first, grad_phases.shape[0]
            phase_map = plan.phase_map(ctx.weights_shape[0], head)[:, :rows * 2 * n_qubits]
            grad_weights = (phase_map @ (grad_phases @ plan.phase_signs.T).view(-1)).view(ctx.weights_shape)
            grad_weights[int(head):, :, 1] = grad_b.mul_(0.5)  # the map has zeros at every b
            if head:
                grad_weights[0, :, :2] = grad_head  # and at the head's a
        return grad_state, grad_angles, grad_weights, None, None, None, None, None


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
                  out: torch.Tensor, loops: bool) -> None:
    """out = source[index] * unit, row by row (split layout [2**n, 2C]; index None: no gather, unit None: no phase)."""
    if index is None and unit is None:
        out.copy_(source)
    elif loops and unit is not None:
        cpu_loops.gather_phase(source, index, unit, out)
    else:
        torch.index_select(source, 0, index, out=out) if index is not None else out.copy_(source)
        if unit is not None:
            _phase_rows(out, unit)


def _phase_back(x: torch.Tensor, grad: torch.Tensor, unit: torch.Tensor | None, index: torch.Tensor | None,
                inverse: torch.Tensor, out: torch.Tensor, phase_grad: torch.Tensor, loops: bool) -> None:
    """Backward of `_gather_phase`(., index, unit) that made x, all split layout [2**n, 2C].

    phase_grad [2**n] gets d loss / d phi of unit = exp(i phi) (sum over columns of
    Im(conj(x) grad)); out gets the gradient before the gather, (grad conj(unit))[inverse].
    One compiled pass on the CPU (`cpu_loops.phase_back`); elsewhere torch ops that use `grad`
    as scratch.
    """
    if unit is not None and loops:
        cpu_loops.phase_back(x, grad, unit, index, out, phase_grad)
        return
    if unit is not None:
        half = x.shape[1] // 2
        torch.sum(x[:, :half] * grad[:, half:] - x[:, half:] * grad[:, :half], 1, out=phase_grad)
        _phase_rows(grad, unit.conj())
    torch.index_select(grad, 0, inverse, out=out) if index is not None else out.copy_(grad)


def layer_angle_grads(grad: torch.Tensor, x: torch.Tensor, n_qubits: int, groups, out: torch.Tensor, loops: bool,
                      flips: dict[int, tuple[torch.Tensor, ...]]) -> None:
    """2 d loss / d b into out [n] for one layer's RYs, from its input x and the gradient there (real [2**n, C]).

    d/dt RY(t) = 1/2 RY(t) J (J = [[0, -1], [1, 0]]), so d loss / d b_q = 1/2 grad^T J_q x; this
    writes grad^T J_q x (the caller halves them all at once). On the CPU one compiled pass over
    both when `loops` (`cpu_loops`: 2 multiply-adds per entry and wire instead of a Gram GEMM's
    2**group); otherwise per wire group the Gram matrix G = grad x^T over the group's rows (one
    GEMM) and its signed entries (r, r ^ bit_q): grad^T J_q x = sum_r sign_q(r) G[r, r ^ bit_q]
    (`flips[size]`: `bit_flips(size)` of each group size).
    """
    if loops:
        cpu_loops.rotation_cross_sums(grad, x, n_qubits, out)
        return
    for start, size in groups:
        _, signs, cross_index = flips[size]
        gram = group_grad(grad, x, start, size).view(-1)
        out[start:start + size] = (gram.index_select(0, cross_index).view(size, -1) * signs[:, :, 0]).sum(-1)


@torch.compiler.disable  # torch.compile of these kernels compiles slowly and runs slower
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
    records = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (state, angles, weights))
    return _RealKronLayers.apply(state, angles, weights.contiguous(), signs, final_phase, plan, workspace, records)
