"""The RY-encoded circuit's Z expectations, forward and backward, each in ONE compiled call (CPU).

Circuit (the VQC's `angle` / `reupload` encodings, any entangler given as a row gather):
layer l is RY(x_q) on every wire q (every layer for reupload, layer 0 only for angle), then
Rot(a, b, c) = RZ(c) RY(b) RZ(a) on every wire, then the entangler's row gather `index`.
The expectations <Z-products> [B, m] are sum_r signs[r, k] |psi[r, b]|^2.

Why one call: for small registers (2**n rows of B columns fit in L2) the arithmetic of a
training step is a few hundred microseconds, and the torch/numba kernels' per-call cost
(dozens of calls per layer, forward and backward) was larger than it. Here a whole forward
or backward is one numba call: no tensor is allocated per layer and the state never leaves
the cache. Per layer the steps are passes over the real split-layout state [2**n, 2, B]
(each row: B real parts, then B imaginary parts), the inner loop over B contiguous:
  RY(x) per column (a real rotation of the row pairs (r, r | b_q) of wire q, the column's angle),
  RZ(a) (a phase per row, exp(-i/2 sum_q a_q z_q(r))), RY(b) (a real rotation per wire),
  RZ(c) and the gather (out[j] = in[index[j]] exp(-i/2 sum_q c_q z_q(index[j]))).
The last RZ(c) is skipped: no Z expectation sees it (its gradient is 0).
Backward, layer by layer in reverse, from the states kept after RY(x), RZ(a) and the gather:
the phase gradient of exp(i theta) at x is Im(conj(x) g) summed over columns; an RY(t)
rotation's is 1/2 g^T J_q y (d/dt RY(t) = 1/2 J RY(t), y its output, J = [[0, -1], [1, 0]]),
per column for the inputs x and summed for the weights b; the gradient goes back through the
transposed rotations and conjugated phases. Memory: 3 states per layer, so it is meant for
small n (the backend chooses it up to `COMPILED_MAX_QUBITS[encoding]`).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from qedm.errors import CircuitError

# Largest register for which the backend picks this kernel by encoding: above, the layered GEMM kernels
# (fewer passes over the state) were faster in `benchmarks/bench_quantum.py` (angle n=8: 2.0 vs 3.0 ms).
COMPILED_MAX_QUBITS = {"angle": 6, "reupload": 8}
LANES = 16  # partial sums of `_lane_sum`: enough independent adds to fill the vector units


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _z_table(n: int, dim: int) -> np.ndarray:
    """z[r, q] = +1 if wire q's bit of basis state r is 0, else -1 (wire 0 the most significant bit)."""
    z = np.empty((dim, n))
    for r in range(dim):
        for q in range(n):
            z[r, q] = 1.0 - 2.0 * ((r >> (n - 1 - q)) & 1)
    return z


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _phase_units(angles: np.ndarray, z: np.ndarray, rows: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> None:
    """cos/sin[j] of theta_j = -1/2 sum_q angles[q] z[rows[j], q]: RZ(angles) on every wire, row by row."""
    for j in range(rows.shape[0]):
        theta = 0.0
        for q in range(angles.shape[0]):
            theta += angles[q] * z[rows[j], q]
        cos[j], sin[j] = np.cos(-0.5 * theta), np.sin(-0.5 * theta)


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _rotate_columns(state: np.ndarray, cos: np.ndarray, sin: np.ndarray, batch: int) -> None:
    """RY per column on every wire, in place: state [2**n, 2B] (split rows), cos/sin [n, B] of the half angles."""
    dim, n = state.shape[0], cos.shape[0]
    for q in range(n):
        bit = 1 << (n - 1 - q)
        c, s = cos[q], sin[q]
        for base in range(0, dim, 2 * bit):
            for r in range(base, base + bit):
                lo, hi = state[r], state[r + bit]
                for part in range(0, 2 * batch, batch):
                    for j in range(batch):
                        a, b = lo[part + j], hi[part + j]
                        lo[part + j] = c[j] * a - s[j] * b
                        hi[part + j] = s[j] * a + c[j] * b


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _rotate_wires(state: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> None:
    """RY(t_q) on every wire q, in place: state [2**n, C], cos/sin [n] of the half angles."""
    dim, cols, n = state.shape[0], state.shape[1], cos.shape[0]
    for q in range(n):
        bit = 1 << (n - 1 - q)
        c, s = cos[q], sin[q]
        for base in range(0, dim, 2 * bit):
            for r in range(base, base + bit):
                lo, hi = state[r], state[r + bit]
                for j in range(cols):
                    a, b = lo[j], hi[j]
                    lo[j] = c * a - s * b
                    hi[j] = s * a + c * b


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _cross_columns(grad: np.ndarray, y: np.ndarray, out: np.ndarray, batch: int) -> None:
    """out[q, j] += sum over row pairs of wire q and both parts of grad[r | b_q] y[r] - grad[r] y[r | b_q]."""
    dim, n = y.shape[0], out.shape[0]
    for q in range(n):
        bit = 1 << (n - 1 - q)
        acc = out[q]
        for base in range(0, dim, 2 * bit):
            for r in range(base, base + bit):
                g0, g1, y0, y1 = grad[r], grad[r + bit], y[r], y[r + bit]
                for part in range(0, 2 * batch, batch):
                    for j in range(batch):
                        acc[j] += g1[part + j] * y0[part + j] - g0[part + j] * y1[part + j]


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _lane_sum(values: np.ndarray) -> float:
    """sum(values) in LANES interleaved partial sums: a fixed order (no fastmath needed) that vectorizes."""
    lanes = np.zeros(LANES, values.dtype)
    full = values.shape[0] - values.shape[0] % LANES
    for k in range(0, full, LANES):
        for lane in range(LANES):
            lanes[lane] += values[k + lane]
    total = 0.0
    for lane in range(LANES):
        total += lanes[lane]
    for k in range(full, values.shape[0]):
        total += values[k]
    return total


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _cross_wires(grad: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """out[q] = sum over row pairs of wire q and all columns of grad[r | b_q] y[r] - grad[r] y[r | b_q]."""
    dim, cols, n = y.shape[0], y.shape[1], out.shape[0]
    acc = np.empty(cols, y.dtype)  # per-column sums, then one lane sum: the row loop vectorizes
    for q in range(n):
        bit = 1 << (n - 1 - q)
        acc[:] = 0
        for base in range(0, dim, 2 * bit):
            for r in range(base, base + bit):
                g0, g1, y0, y1 = grad[r], grad[r + bit], y[r], y[r + bit]
                for j in range(cols):
                    acc[j] += g1[j] * y0[j] - g0[j] * y1[j]
        out[q] = _lane_sum(acc)


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _phase(source: np.ndarray, index: np.ndarray, cos: np.ndarray, sin: np.ndarray, out: np.ndarray,
           batch: int) -> None:
    """out[j] = source[index[j]] * (cos[j] + i sin[j]) on split rows [2**n, 2B]."""
    for j in range(out.shape[0]):
        src, dst = source[index[j]], out[j]
        c, s = cos[j], sin[j]
        for k in range(batch):
            re, im = src[k], src[batch + k]
            dst[k] = re * c - im * s
            dst[batch + k] = re * s + im * c


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _phase_back(x: np.ndarray, grad: np.ndarray, index: np.ndarray, cos: np.ndarray, sin: np.ndarray,
                out: np.ndarray, phase_grad: np.ndarray, batch: int) -> None:
    """Backward of `_phase` that made x: phase_grad[j] = sum Im(conj(x[j]) grad[j]), out[index[j]] = grad[j] conj(u)."""
    terms = np.empty(batch, x.dtype)
    for j in range(x.shape[0]):
        xr, gr, dst = x[j], grad[j], out[index[j]]
        c, s = cos[j], sin[j]
        for k in range(batch):
            g_re, g_im = gr[k], gr[batch + k]
            terms[k] = xr[k] * g_im - xr[batch + k] * g_re
            dst[k] = g_re * c + g_im * s
            dst[batch + k] = g_im * c - g_re * s
        phase_grad[j] = _lane_sum(terms)


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _forward(angles: np.ndarray, weights: np.ndarray, index: np.ndarray, signs: np.ndarray, reupload: bool,
             states: np.ndarray, out: np.ndarray) -> None:
    """Expectations out [B, m]; states [3L + 1, 2**n, 2B] receive, per layer, the states after RY(x), RZ(a) and
    the gather (the last slot is scratch)."""
    n_layers, n = weights.shape[0], weights.shape[1]
    batch, dim = angles.shape[0], states.shape[1]
    z, identity = _z_table(n, dim), np.arange(dim)
    cos_x, sin_x = np.empty((n, batch), states.dtype), np.empty((n, batch), states.dtype)
    for q in range(n):
        for j in range(batch):
            cos_x[q, j], sin_x[q, j] = np.cos(0.5 * angles[j, q]), np.sin(0.5 * angles[j, q])
    unit_cos, unit_sin = np.empty(dim, states.dtype), np.empty(dim, states.dtype)
    cos_b, sin_b = np.empty(n, states.dtype), np.empty(n, states.dtype)
    scratch = states[3 * n_layers]
    previous = scratch
    previous[:] = 0
    previous[0, :batch] = 1
    for layer in range(n_layers):
        rotated, phased, gathered = states[3 * layer], states[3 * layer + 1], states[3 * layer + 2]
        rotated[:] = previous
        if layer == 0 or reupload:
            _rotate_columns(rotated, cos_x, sin_x, batch)
        _phase_units(weights[layer, :, 0], z, identity, unit_cos, unit_sin)
        _phase(rotated, identity, unit_cos, unit_sin, phased, batch)
        scratch[:] = phased
        for q in range(n):
            cos_b[q], sin_b[q] = np.cos(0.5 * weights[layer, q, 1]), np.sin(0.5 * weights[layer, q, 1])
        _rotate_wires(scratch, cos_b, sin_b)
        if layer < n_layers - 1:
            _phase_units(weights[layer, :, 2], z, index, unit_cos, unit_sin)
        else:  # no Z expectation sees the last RZ(c)
            unit_cos[:] = 1
            unit_sin[:] = 0
        _phase(scratch, index, unit_cos, unit_sin, gathered, batch)
        previous = gathered
    expectations = np.zeros((signs.shape[1], batch), states.dtype)  # [m, B]: the column loop is contiguous
    probability = np.empty(batch, states.dtype)
    for r in range(dim):
        row = previous[r]
        for j in range(batch):
            probability[j] = row[j] * row[j] + row[batch + j] * row[batch + j]
        for k in range(signs.shape[1]):
            sign, acc = signs[r, k], expectations[k]
            for j in range(batch):
                acc[j] += sign * probability[j]
    out[:] = expectations.T


@numba.njit(fastmath=False, boundscheck=False, cache=True)  # IEEE order: same bits in every process
def _backward(grad: np.ndarray, angles: np.ndarray, weights: np.ndarray, index: np.ndarray, signs: np.ndarray,
              reupload: bool, states: np.ndarray, work: np.ndarray, grad_angles: np.ndarray,
              grad_weights: np.ndarray) -> None:
    """grad [B, m] of the expectations -> grad_angles [B, n], grad_weights [L, n, 3]; work [2, 2**n, 2B] scratch."""
    n_layers, n = weights.shape[0], weights.shape[1]
    batch, dim = angles.shape[0], states.shape[1]
    z, identity = _z_table(n, dim), np.arange(dim)
    cos_x, sin_x = np.empty((n, batch), states.dtype), np.empty((n, batch), states.dtype)
    for q in range(n):
        for j in range(batch):
            cos_x[q, j], sin_x[q, j] = np.cos(0.5 * angles[j, q]), -np.sin(0.5 * angles[j, q])  # RY(-x) = RY(x)^T
    unit_cos, unit_sin = np.empty(dim, states.dtype), np.empty(dim, states.dtype)
    cos_b, sin_b = np.empty(n, states.dtype), np.empty(n, states.dtype)
    phase_grad, wire_grad = np.empty(dim, states.dtype), np.empty(n, states.dtype)
    cross = np.zeros((n, batch), states.dtype)
    g, other = work[0], work[1]
    final = states[3 * n_layers - 1]
    grad_t = np.ascontiguousarray(grad.T)  # [m, B]
    scale = np.empty(batch, states.dtype)
    for r in range(dim):  # d/d psi of sum_k signs[r, k] |psi_r|^2 grad[:, k] = 2 psi_r (signs @ grad^T)[r]
        row, dst = final[r], g[r]
        scale[:] = 0
        for k in range(signs.shape[1]):
            sign, column = signs[r, k], grad_t[k]
            for j in range(batch):
                scale[j] += sign * column[j]
        for j in range(batch):
            dst[j], dst[batch + j] = 2 * scale[j] * row[j], 2 * scale[j] * row[batch + j]
    grad_weights[:] = 0
    for layer in range(n_layers - 1, -1, -1):
        rotated, phased, gathered = states[3 * layer], states[3 * layer + 1], states[3 * layer + 2]
        if layer < n_layers - 1:
            _phase_units(weights[layer, :, 2], z, index, unit_cos, unit_sin)
        else:
            unit_cos[:] = 1
            unit_sin[:] = 0
        _phase_back(gathered, g, index, unit_cos, unit_sin, other, phase_grad, batch)
        if layer < n_layers - 1:
            for q in range(n):
                acc = 0.0
                for j in range(dim):
                    acc += phase_grad[j] * z[index[j], q]
                grad_weights[layer, q, 2] = -0.5 * acc
        g, other = other, g
        for q in range(n):
            cos_b[q], sin_b[q] = np.cos(0.5 * weights[layer, q, 1]), -np.sin(0.5 * weights[layer, q, 1])
        _rotate_wires(g, cos_b, sin_b)  # RY(b)^T; the wires commute
        _cross_wires(g, phased, wire_grad)  # the gradient at RY(b)'s input, and that input
        for q in range(n):
            grad_weights[layer, q, 1] = 0.5 * wire_grad[q]
        _phase_units(weights[layer, :, 0], z, identity, unit_cos, unit_sin)
        _phase_back(phased, g, identity, unit_cos, unit_sin, other, phase_grad, batch)
        for q in range(n):
            acc = 0.0
            for j in range(dim):
                acc += phase_grad[j] * z[j, q]
            grad_weights[layer, q, 0] = -0.5 * acc
        g, other = other, g
        if layer == 0 or reupload:
            _cross_columns(g, rotated, cross, batch)
            if layer > 0:
                _rotate_columns(g, cos_x, sin_x, batch)
    for j in range(batch):
        for q in range(n):
            grad_angles[j, q] = 0.5 * cross[q, j]


class _CompiledLayers(torch.autograd.Function):
    """`_forward` / `_backward` as an autograd Function (CPU tensors, float32 or float64)."""

    @staticmethod
    def forward(ctx, angles, weights, index, signs, reupload, workspace, records):
        n_layers = weights.shape[0]
        dim, batch = signs.shape[0], angles.shape[0]
        states = workspace.take((3 * n_layers + 1, dim, 2 * batch), weights.dtype, weights.device)
        out = weights.new_empty(batch, signs.shape[1])
        args = (angles.detach().numpy(), weights.detach().numpy(), index.numpy(), signs.numpy(), reupload)
        _forward(*args, states.numpy(), out.numpy())
        ctx.args, ctx.states, ctx.workspace = args, states, workspace
        if not records:  # no backward will read the block
            workspace.give(states)
            ctx.states = None
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.states is None:
            raise CircuitError("apply_compiled_layers: its graph was already differentiated once (its workspace "
                               "block is reused); run the forward again instead of backward with retain_graph")
        angles, weights = ctx.args[0], ctx.args[1]
        states = ctx.states
        work = ctx.workspace.take((2,) + tuple(states.shape[1:]), states.dtype, states.device)
        grad_angles, grad_weights = torch.empty(angles.shape, dtype=states.dtype), torch.empty(weights.shape,
                                                                                               dtype=states.dtype)
        _backward(grad.to(states.dtype).contiguous().numpy(), *ctx.args, states.numpy(), work.numpy(),
                  grad_angles.numpy(), grad_weights.numpy())
        ctx.workspace.give(work)
        ctx.workspace.give(states)
        ctx.states = None
        return grad_angles, grad_weights, None, None, None, None, None


@torch.compiler.disable
def apply_compiled_layers(angles: torch.Tensor, weights: torch.Tensor, index: torch.Tensor, signs: torch.Tensor,
                          reupload: bool, workspace) -> torch.Tensor:
    """Z expectations [B, m] of the RY-encoded circuit (module docstring): angles [B, n], weights [L >= 1, n, 3],
    gather `index` [2**n] (int64), signs [2**n, m]; CPU tensors. Differentiable w.r.t. angles and weights.

    `workspace` (a `tables.Workspace`) lends the state blocks; a block is given back by the backward.
    """
    if weights.dim() != 3 or weights.shape[2] != 3 or weights.shape[0] < 1:
        raise CircuitError(f"apply_compiled_layers needs weights [L >= 1, n, 3], got {tuple(weights.shape)}")
    n = weights.shape[1]
    if angles.dim() != 2 or angles.shape[1] != n:
        raise CircuitError(f"apply_compiled_layers needs angles [B, {n}], got {tuple(angles.shape)}")
    if any(t.device.type != "cpu" for t in (angles, weights, index, signs)):
        raise CircuitError("apply_compiled_layers runs on CPU tensors only")
    dtype = weights.dtype
    records = torch.is_grad_enabled() and (angles.requires_grad or weights.requires_grad)
    return _CompiledLayers.apply(angles.to(dtype).contiguous(), weights.contiguous(), index.contiguous(),
                                 signs.to(dtype).contiguous(), bool(reupload), workspace, records)


__all__ = ["COMPILED_MAX_QUBITS", "apply_compiled_layers"]
