"""The reupload circuit on the layered kernel's pieces: per-row RY(x) folded in as a real rotation.

Layer l is RY(x_q) then Rot(a, b, c) = RZ(c) RY(b) RZ(a) on every wire q, then the CNOT row
gather. On the real split-layout state [2**n, 2B] (each row: B real parts, then B imaginary
parts) a layer is four steps, each one pass or one GEMM per wire group:
  1. RY(x) per column: a real rotation of the row pairs (r, r | b_q) of every wire q, with the
     column's own angle (no diagonal, no complex arithmetic; `cpu_loops.rotate_rows`);
  2. RZ(a): a phase per row; 3. RY(b): the real kron GEMMs of `kron_layers`;
  4. RZ(c) and the gather: `_gather_phase` with the phases moved through the gather.
Backward, layer by layer in reverse: `_phase_back` for 4 and 2, the transposed GEMMs and
`layer_angle_grads` for 3, and for 1 the rotation's transpose plus the input gradient
dL/dx_q = 1/2 sum_r (g^T J_q y)[r] per column, from d/dx RY(x) = 1/2 J RY(x) (y the step's
output, g the gradient there; `cpu_loops.column_cross_sums`). Each layer keeps three states
(after steps 1, 2 and 4). Numba loops run on the CPU, torch ops elsewhere.
"""

from __future__ import annotations

import torch

from qedm.errors import CircuitError
from qedm.quantum import cpu_loops
from qedm.quantum.kernels.kron_layers import KronPlan, _gather_phase, _phase_back, _split, layer_angle_grads
from qedm.quantum.kernels.tables import Workspace, apply_group, ry_krons


def _rotate(state: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, loops: bool) -> None:
    """RY per column on every wire of state [2**n, C], in place (cos, sin [n, C])."""
    if loops:
        cpu_loops.rotate_rows(state, cos, sin)
        return
    n = cos.shape[0]
    for q in range(n):
        view = state.view(2**q, 2, -1, state.shape[1])
        lo, hi = view[:, 0], view[:, 1]
        new_lo = cos[q] * lo - sin[q] * hi
        hi.mul_(cos[q]).addcmul_(lo, sin[q])
        lo.copy_(new_lo)


def _column_sums(grad: torch.Tensor, y: torch.Tensor, out: torch.Tensor, loops: bool) -> None:
    """out[q] += sum over row pairs of wire q of g1 y0 - g0 y1, per column: out [n, C]."""
    if loops:
        cpu_loops.column_cross_sums(grad, y, out)
        return
    for q in range(out.shape[0]):
        g, v = grad.view(2**q, 2, -1, grad.shape[1]), y.view(2**q, 2, -1, y.shape[1])
        out[q] += (g[:, 1] * v[:, 0] - g[:, 0] * v[:, 1]).sum((0, 1))


class _ReuploadLayers(torch.autograd.Function):
    """The four steps per layer of the module docstring, forward and (by hand) backward."""

    @staticmethod
    def forward(ctx, angles, weights, signs, final_phase, plan, workspace, records):
        n_layers, n = weights.shape[:2]
        batch, dim, loops = angles.shape[0], 2**n, plan.loops
        zs = plan.zs
        half = (0.5 * angles.T).repeat(1, 2)  # [n, 2B]: the same angle on a column's real and imaginary parts
        cos, sin = torch.cos(half), torch.sin(half)
        phase_a = -0.5 * weights[:, :, 0] @ zs.T  # [L, D]
        phase_c = -0.5 * weights[:, :, 2] @ plan.moved_zs.T  # RZ(c) before the gather = after it, on moved rows
        unit_a, unit_c = torch.polar(torch.ones_like(phase_a), phase_a), torch.polar(torch.ones_like(phase_c), phase_c)
        mats = [m.unbind(0) for m in ry_krons(weights[:, :, 1], plan.groups, plan.ry_tables)]
        # per layer the states after RY(x), RZ(a) and the gather, then two scratch slots
        states = (workspace or Workspace()).take((3 * n_layers + 2, dim, 2 * batch), weights.dtype, weights.device)
        scratch = states[-2:]
        state = scratch[0]
        state.zero_()
        state[0, :batch] = 1
        for layer in range(n_layers):
            rotated, phased, out = states[3 * layer], states[3 * layer + 1], states[3 * layer + 2]
            rotated.copy_(state)
            _rotate(rotated, cos, sin, loops)
            _gather_phase(rotated, None, unit_a[layer], phased, loops)
            source = phased
            for k, (start, size) in enumerate(plan.groups):
                target = scratch[k % 2]
                apply_group(mats[k][layer], source, start, size, out=target)
                source = target
            last = layer == n_layers - 1 and not final_phase
            _gather_phase(source, plan.index, None if last else unit_c[layer], out, loops)
            state = out
        ctx.save_for_backward(cos, sin, unit_a, unit_c)
        ctx.mats, ctx.plan, ctx.signs, ctx.final_phase, ctx.shape = mats, plan, signs, final_phase, weights.shape
        ctx.states, ctx.workspace = states, workspace  # the block goes back to the workspace after the backward
        if signs is None:
            out = torch.complex(state[:, :batch], state[:, batch:])
        else:
            out = (signs.T @ (state * state)).view(-1, 2, batch).sum(1).T  # [B, m]
        if not records and workspace is not None:
            workspace.give(states)
            ctx.states = None
        return out

    @staticmethod
    def backward(ctx, grad):
        cos, sin, unit_a, unit_c = ctx.saved_tensors
        states = ctx.states
        if states is None:
            raise CircuitError("apply_reupload_kernel: its graph was already differentiated once (its workspace "
                               "block is reused); run the forward again instead of backward with retain_graph")
        plan, mats, signs = ctx.plan, ctx.mats, ctx.signs
        n_layers, n, _ = ctx.shape
        loops, cols = plan.loops, states.shape[2]
        batch = cols // 2
        bufs = (ctx.workspace or Workspace()).take((2,) + tuple(states.shape[1:]), states.dtype, states.device)
        final = states[3 * n_layers - 1]
        if signs is not None:
            scale = (2 * signs.to(states.dtype)) @ grad.T.to(states.dtype)  # [D, B]
            torch.mul(final, scale.repeat(1, 2), out=bufs[0])
        else:
            _split(grad, out=bufs[0])
        grad_pa, grad_pc = torch.zeros_like(unit_a.real), torch.zeros_like(unit_c.real)
        grad_b = states.new_empty(n_layers, n)
        cross, back_sin = torch.zeros_like(cos), -sin  # [n, 2B]
        cur = 0
        for layer in reversed(range(n_layers)):
            rotated, phased, out = states[3 * layer], states[3 * layer + 1], states[3 * layer + 2]
            last = layer == n_layers - 1 and not ctx.final_phase
            _phase_back(out, bufs[cur], None if last else unit_c[layer], plan.index, plan.inverse, bufs[1 - cur],
                        grad_pc[layer], loops)
            cur = 1 - cur
            for k in reversed(range(len(plan.groups))):
                start, size = plan.groups[k]
                apply_group(mats[k][layer].T, bufs[cur], start, size, out=bufs[1 - cur])
                cur = 1 - cur
            layer_angle_grads(bufs[cur], phased, n, plan.groups, grad_b[layer], loops, plan.group_flips)
            _phase_back(phased, bufs[cur], unit_a[layer], None, plan.inverse, bufs[1 - cur], grad_pa[layer], loops)
            cur = 1 - cur
            _column_sums(bufs[cur], rotated, cross, loops)
            _rotate(bufs[cur], cos, back_sin, loops)  # RY(x)^T = RY(-x), wire order irrelevant: they commute
        if ctx.workspace is not None:
            ctx.workspace.give(bufs)
            ctx.workspace.give(states)
        ctx.states = None
        grad_angles = 0.5 * (cross[:, :batch] + cross[:, batch:]).T
        grad_weights = torch.stack([-0.5 * grad_pa @ plan.zs, 0.5 * grad_b, -0.5 * grad_pc @ plan.moved_zs], -1)
        return grad_angles, grad_weights, None, None, None, None, None


@torch.compiler.disable  # as apply_kron_layers
def apply_reupload_kernel(angles: torch.Tensor, weights: torch.Tensor, index: torch.Tensor,
                          signs: torch.Tensor | None = None, plan: KronPlan | None = None,
                          final_phase: bool = True, workspace: Workspace | None = None) -> torch.Tensor:
    """The reupload circuit on |0...0>: angles [B, n], weights [L >= 1, n, 3], gather `index` [2**n].

    Returns the final state [2**n, B] complex (without the last RZ(c) when final_phase=False),
    or with `signs` [2**n, m] the Z expectations [B, m]. Differentiable w.r.t. angles and weights.
    `workspace` (reused state blocks, as for `apply_kron_layers`) and `plan` may be passed prebuilt.
    """
    if weights.dim() != 3 or weights.shape[2] != 3 or weights.shape[0] < 1:
        raise CircuitError(f"apply_reupload_kernel needs weights [L >= 1, n, 3], got {tuple(weights.shape)}")
    n = weights.shape[1]
    if angles.dim() != 2 or angles.shape[1] != n:
        raise CircuitError(f"apply_reupload_kernel needs angles [B, {n}], got {tuple(angles.shape)}")
    if plan is None:
        plan = KronPlan(index, n, weights.dtype)
    records = torch.is_grad_enabled() and (angles.requires_grad or weights.requires_grad)
    return _ReuploadLayers.apply(angles.to(weights.dtype).contiguous(), weights.contiguous(), signs, final_phase,
                                 plan, workspace, records)


__all__ = ["apply_reupload_kernel"]
