"""The fused kernel: all Rot layers of a small register as one 2**n x 2**n unitary, hand-written backward.

`apply_fused_layers` builds U from the layers' weights (tables in `FusedPlan`) and applies it
with one GEMM; it pays where the cost is kernel calls rather than flops (small n).
"""

from __future__ import annotations

import math

import torch

from qedm.errors import CircuitError
from qedm.quantum.gates import RY_ENTRY_SHIFTS
from qedm.quantum.kernels.tables import bit_flips, half_angle_table
from qedm.quantum.simulator import z_signs


class FusedPlan:
    """Index and sign tables of `apply_fused_layers` for one register and entangler (the backend keeps one per device).

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
        self.input_map, self.input_offsets = half_angle_table(n, dtype, device)
        self.flips, self.bit_signs, _ = bit_flips(n, dtype, device)
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
        would be allocated and page-faulted each step. Never returned or saved for backward; one
        per name (the latest shape), so not for concurrent use from several threads.
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
    with wire q's bit of the row's basis state flipped, times a sign (`tables.bit_flips`), so the b
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
