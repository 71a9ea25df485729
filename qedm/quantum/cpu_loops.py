"""CPU loops compiled with numba, where torch needs several passes over the state for one step.

States are real [2**n, 2C] in the layered kernel's split layout (each row: C real parts, then
C imaginary parts), so every inner loop runs over contiguous floats and vectorises; the same
loops over interleaved (re, im) pairs did not vectorise and lose to torch's separate passes.

- `gather_phase`: a row gather and a phase per row in one pass (torch: gather, then a complex
  multiply).
- `phase_back`: its backward, phase gradient + conjugate phase + scatter in one pass (torch:
  five passes).
- `product_rows` / `product_grads`: the angle encoding's product state lead (x) tail, gathered
  and phased, and its gradient, each in one pass.
- `head_forward` / `head_backward`: the two halves of that product state from the inputs and
  layer 0's angles (`kernels.HeadPlan`), and their gradients: per-sample work on 2**ceil(n/2)
  rows, where torch's ~50 small ops cost more than the arithmetic.

`rotation_cross_sums(mu, x, n)` gives, for every wire q of a basis-first real state [2**n, C],
sum over rows r with bit q clear of mu[r | b_q] . x[r] - mu[r] . x[r | b_q] (b_q = that bit),
i.e. mu^T J_q x with J_q = [[0, -1], [1, 0]] on wire q. This is how the layered kernel gets
the gradient of every RY angle of a layer from the layer's input and its gradient:
d/dt RY(t) = 1/2 RY(t) J, so dL/dt_q = 1/2 mu^T J_q x (kernels.py). In torch the same numbers
come from one Gram matrix GEMM per wire group (16 multiply-adds per entry for a group of 4
wires, against 2 per wire here). numba is a dependency for these loops; `benchmarks/bench_quantum.py`
times the kernel that uses them.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _cross_sums(mu: np.ndarray, x: np.ndarray, n_qubits: int, cols: int, out: np.ndarray) -> None:
    """out[q] = the cross sum of wire q; mu and x flat [2**n * cols] (row-major [2**n, cols]).

    Wires go in adjacent pairs (q, q + 1): the four rows with those two bits r, r | b2, r | b1,
    r | b1 | b2 serve both wires' sums, one load per multiply-add instead of two. Row slices are
    contiguous, so the inner loops vectorise.
    """
    dim = mu.shape[0] // cols
    out[:] = 0
    for q in range(0, n_qubits - 1, 2):
        b1 = 1 << (n_qubits - 1 - q)
        b2 = b1 >> 1
        acc1, acc2 = out[q], out[q + 1]
        for high in range(0, dim, 2 * b1):
            for r in range(high, high + b2):  # both bits clear
                o0, o1, o2, o3 = r * cols, (r + b1) * cols, (r + b2) * cols, (r + b1 + b2) * cols
                m0, m1, m2, m3 = mu[o0:o0 + cols], mu[o1:o1 + cols], mu[o2:o2 + cols], mu[o3:o3 + cols]
                x0, x1, x2, x3 = x[o0:o0 + cols], x[o1:o1 + cols], x[o2:o2 + cols], x[o3:o3 + cols]
                for i in range(cols):
                    acc1 += m1[i] * x0[i] - m0[i] * x1[i] + m3[i] * x2[i] - m2[i] * x3[i]
                    acc2 += m2[i] * x0[i] - m0[i] * x2[i] + m3[i] * x1[i] - m1[i] * x3[i]
        out[q], out[q + 1] = acc1, acc2
    if n_qubits % 2:  # the last wire of an odd register on its own
        acc = out[n_qubits - 1]
        for r in range(0, dim, 2):
            lo, hi = r * cols, (r + 1) * cols
            m0, m1, x0, x1 = mu[lo:lo + cols], mu[hi:hi + cols], x[lo:lo + cols], x[hi:hi + cols]
            for i in range(cols):
                acc += m1[i] * x0[i] - m0[i] * x1[i]
        out[n_qubits - 1] = acc


def rotation_cross_sums(mu: torch.Tensor, x: torch.Tensor, n_qubits: int, out: torch.Tensor) -> None:
    """mu^T J_q x for every wire q into out [n]: mu, x contiguous real CPU tensors [2**n, C] (none requires grad)."""
    _cross_sums(mu.reshape(-1).numpy(), x.reshape(-1).numpy(), n_qubits, x.shape[-1], out.numpy())


def _rows(tensor: torch.Tensor) -> np.ndarray:
    """A split-layout state [rows, 2C] as a numpy [rows, 2, C] view (the kernels' tensors never require grad)."""
    return tensor.view(tensor.shape[0], 2, -1).numpy()


def _index(index: torch.Tensor | None, rows: int) -> np.ndarray:
    return np.arange(rows) if index is None else index.numpy()


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _gather_phase(source: np.ndarray, index: np.ndarray, unit: np.ndarray, out: np.ndarray) -> None:
    """out[j] = source[index[j]] * (unit[j, 0] + i unit[j, 1]) on [rows, 2, C] (real block, imaginary block)."""
    for j in range(out.shape[0]):
        src, dst = source[index[j]], out[j]
        cos, sin = unit[j, 0], unit[j, 1]
        src_re, src_im, dst_re, dst_im = src[0], src[1], dst[0], dst[1]
        for b in range(out.shape[2]):
            dst_re[b] = src_re[b] * cos - src_im[b] * sin
            dst_im[b] = src_re[b] * sin + src_im[b] * cos


def gather_phase(source: torch.Tensor, index: torch.Tensor | None, unit: torch.Tensor, out: torch.Tensor) -> None:
    """out = source[index] * unit row by row: split-layout CPU states [2**n, 2C], unit [2**n] complex."""
    _gather_phase(_rows(source), _index(index, out.shape[0]), torch.view_as_real(unit).numpy(), _rows(out))


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _phase_back(x: np.ndarray, grad: np.ndarray, unit: np.ndarray, index: np.ndarray, out: np.ndarray,
                phase_grad: np.ndarray) -> None:
    """phase_grad[r] = sum_b Im(conj(x[r, b]) grad[r, b]); out[index[r]] = grad[r] * conj(unit[r]) ([rows, 2, C])."""
    for r in range(x.shape[0]):
        x_re, x_im, g_re, g_im = x[r, 0], x[r, 1], grad[r, 0], grad[r, 1]
        dst = out[index[r]]
        dst_re, dst_im = dst[0], dst[1]
        cos, sin = unit[r, 0], unit[r, 1]
        acc = phase_grad[r]  # 0, in the arrays' float type
        for b in range(x.shape[2]):
            acc += x_re[b] * g_im[b] - x_im[b] * g_re[b]
            dst_re[b] = g_re[b] * cos + g_im[b] * sin
            dst_im[b] = g_im[b] * cos - g_re[b] * sin
        phase_grad[r] = acc


def phase_back(x: torch.Tensor, grad: torch.Tensor, unit: torch.Tensor, index: torch.Tensor | None,
               out: torch.Tensor, phase_grad: torch.Tensor) -> None:
    """The backward of `gather_phase` that made x: phase gradient into phase_grad [2**n] (zeros on entry), and
    out[index[r]] = grad[r] conj(unit[r]) (split-layout CPU states [2**n, 2C])."""
    _phase_back(_rows(x), _rows(grad), torch.view_as_real(unit).numpy(), _index(index, x.shape[0]), _rows(out),
                phase_grad.numpy())


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _product_rows(lead: np.ndarray, tail: np.ndarray, index: np.ndarray, unit: np.ndarray, out: np.ndarray) -> None:
    """out[j] = lead[index[j] // T] tail[index[j] % T] unit[j] ([rows, 2, C]; T = tail rows)."""
    n_tail = tail.shape[0]
    for j in range(out.shape[0]):
        a, t, dst = lead[index[j] // n_tail], tail[index[j] % n_tail], out[j]
        cos, sin = unit[j, 0], unit[j, 1]
        a_re, a_im, t_re, t_im, dst_re, dst_im = a[0], a[1], t[0], t[1], dst[0], dst[1]
        for b in range(out.shape[2]):
            p_re = a_re[b] * t_re[b] - a_im[b] * t_im[b]
            p_im = a_re[b] * t_im[b] + a_im[b] * t_re[b]
            dst_re[b] = p_re * cos - p_im * sin
            dst_im[b] = p_re * sin + p_im * cos


def product_rows(lead: torch.Tensor, tail: torch.Tensor, index: torch.Tensor, unit: torch.Tensor,
                 out: torch.Tensor) -> None:
    """out = (lead (x) tail)[index] * unit row by row: lead, tail split [rows, 2, C], out [2**n, 2C], unit complex."""
    _product_rows(lead.numpy(), tail.numpy(), index.numpy(), torch.view_as_real(unit).numpy(), _rows(out))


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _product_grads(grad: np.ndarray, lead: np.ndarray, tail: np.ndarray, grad_lead: np.ndarray,
                   grad_tail: np.ndarray) -> None:
    """psi[i T + k] = lead[i] tail[k]: grad_lead[i] = sum_k grad[i T + k] conj(tail[k]), grad_tail alike.

    Two loop nests, each writing one output row at a time: one nest updating both outputs does
    not vectorise.
    """
    n_tail = tail.shape[0]
    for i in range(lead.shape[0]):
        ga_re, ga_im = grad_lead[i, 0], grad_lead[i, 1]
        for k in range(n_tail):
            g_re, g_im, t_re, t_im = grad[i * n_tail + k, 0], grad[i * n_tail + k, 1], tail[k, 0], tail[k, 1]
            for b in range(grad.shape[2]):
                ga_re[b] += g_re[b] * t_re[b] + g_im[b] * t_im[b]
                ga_im[b] += g_im[b] * t_re[b] - g_re[b] * t_im[b]
    for k in range(n_tail):
        gt_re, gt_im = grad_tail[k, 0], grad_tail[k, 1]
        for i in range(lead.shape[0]):
            g_re, g_im, a_re, a_im = grad[i * n_tail + k, 0], grad[i * n_tail + k, 1], lead[i, 0], lead[i, 1]
            for b in range(grad.shape[2]):
                gt_re[b] += g_re[b] * a_re[b] + g_im[b] * a_im[b]
                gt_im[b] += g_im[b] * a_re[b] - g_re[b] * a_im[b]


def product_grads(grad: torch.Tensor, lead: torch.Tensor, tail: torch.Tensor, grad_lead: torch.Tensor,
                  grad_tail: torch.Tensor) -> None:
    """Add the gradients of lead and tail (split [rows, 2, C], zeros on entry) from that of psi [2**n, 2C]."""
    _product_grads(_rows(grad), lead.numpy(), tail.numpy(), grad_lead.numpy(), grad_tail.numpy())


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _half_phase(a: np.ndarray, first: int, h: int, r: int) -> float:
    """theta of row r of a half: RZ(a) on its wires first..first+h-1 is exp(i theta), theta = -1/2 sum_j a_j z_j(r)."""
    theta = 0.0
    for j in range(h):
        theta -= 0.5 * a[first + j] * (1 - 2 * ((r >> (h - 1 - j)) & 1))
    return theta


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _matmul_rows(weights: np.ndarray, source: np.ndarray, out: np.ndarray) -> None:
    """out[r] = sum_s weights[r, s] source[s] for split-layout rows [rows, 2, C] (a small real matrix)."""
    for r in range(out.shape[0]):
        out_re, out_im = out[r, 0], out[r, 1]
        out_re[:] = 0
        out_im[:] = 0
        for s in range(source.shape[0]):
            weight, src_re, src_im = weights[r, s], source[s, 0], source[s, 1]
            for col in range(out.shape[2]):
                out_re[col] += weight * src_re[col]
                out_im[col] += weight * src_im[col]


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _head_forward(cos_x: np.ndarray, sin_x: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray,
                  real: np.ndarray, pre: np.ndarray, ry: np.ndarray) -> None:
    """Both halves k of RY(b) RZ(a) RY(x)|0> on their h wires: out [2, 2**h, 2, C] (split), keeping real
    [2, 2**h, C] (the RY(x) product), pre [2, 2**h, 2, C] (with its phases) and ry [2, 2**h, 2**h] (RY(b) kron)."""
    h, dim, batch = a.shape[0] // 2, out.shape[1], out.shape[3]
    for k in range(2):
        for r in range(dim):
            for c in range(dim):
                value = 1.0
                for j in range(h):
                    shift, half_b = h - 1 - j, 0.5 * b[k * h + j]
                    row_bit, col_bit = (r >> shift) & 1, (c >> shift) & 1
                    sin_b = math.sin(half_b) if row_bit else -math.sin(half_b)
                    value *= math.cos(half_b) if row_bit == col_bit else sin_b
                ry[k, r, c] = value
        for r in range(dim):
            product = real[k, r]
            product[:] = 1
            for j in range(h):
                factor = sin_x[k * h + j] if (r >> (h - 1 - j)) & 1 else cos_x[k * h + j]
                for col in range(batch):
                    product[col] *= factor[col]
            theta = _half_phase(a, k * h, h, r)
            cos_t, sin_t = math.cos(theta), math.sin(theta)
            pre_re, pre_im = pre[k, r, 0], pre[k, r, 1]
            for col in range(batch):
                pre_re[col] = product[col] * cos_t
                pre_im[col] = product[col] * sin_t
        _matmul_rows(ry[k], pre[k], out[k])


def head_forward(cos_x: torch.Tensor, sin_x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor,
                 real: torch.Tensor, pre: torch.Tensor, ry: torch.Tensor) -> None:
    """See `_head_forward`; cos_x, sin_x [2h, C]: cos and sin of half the (padded) input angles; a, b [2h]."""
    _head_forward(cos_x.numpy(), sin_x.numpy(), a.numpy(), b.numpy(), out.numpy(), real.numpy(), pre.numpy(),
                  ry.numpy())


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _head_backward(grad: np.ndarray, real: np.ndarray, pre: np.ndarray, ry: np.ndarray, a: np.ndarray,
                   grad_pre: np.ndarray, grad_x: np.ndarray, grad_a: np.ndarray, grad_b: np.ndarray) -> None:
    """From grad [2, 2**h, 2, C] of `_head_forward`'s out: grad_x [2h, C], grad_a [2h], grad_b [2h].

    grad_pre is scratch.
    """
    h, dim, batch = a.shape[0] // 2, grad.shape[1], grad.shape[3]
    for k in range(2):
        _matmul_rows(ry[k].T, grad[k], grad_pre[k])  # RY(b) is orthogonal: its transpose carries the gradient back
        for j in range(h):  # d/db = 1/2 grad_pre^T J_j pre, as in `_cross_sums`
            bit, acc = 1 << (h - 1 - j), 0.0
            for r in range(dim):
                if r & bit:
                    continue
                for part in range(2):
                    m_lo, m_hi = grad_pre[k, r, part], grad_pre[k, r | bit, part]
                    x_lo, x_hi = pre[k, r, part], pre[k, r | bit, part]
                    for col in range(batch):
                        acc += m_hi[col] * x_lo[col] - m_lo[col] * x_hi[col]
            grad_b[k * h + j] = 0.5 * acc
        for r in range(dim):  # undo the phase: its imaginary part gives d/da, its real part d/d(RY(x) product)
            theta = _half_phase(a, k * h, h, r)
            cos_t, sin_t = math.cos(theta), math.sin(theta)
            gp_re, gp_im, product = grad_pre[k, r, 0], grad_pre[k, r, 1], real[k, r]
            acc = 0.0
            for col in range(batch):
                unphased_re = gp_re[col] * cos_t + gp_im[col] * sin_t
                acc += product[col] * (gp_im[col] * cos_t - gp_re[col] * sin_t)
                gp_re[col] = unphased_re
            for j in range(h):
                grad_a[k * h + j] -= 0.5 * acc * (1 - 2 * ((r >> (h - 1 - j)) & 1))
        for j in range(h):  # d product[r] / dx_j = +-1/2 product[r ^ bit_j] (- where r has the bit clear)
            bit, gx = 1 << (h - 1 - j), grad_x[k * h + j]
            gx[:] = 0
            for r in range(dim):
                sign, g_re, flipped = (0.5 if r & bit else -0.5), grad_pre[k, r, 0], real[k, r ^ bit]
                for col in range(batch):
                    gx[col] += sign * g_re[col] * flipped[col]


def head_backward(grad: torch.Tensor, real: torch.Tensor, pre: torch.Tensor, ry: torch.Tensor, a: torch.Tensor,
                  grad_pre: torch.Tensor, grad_x: torch.Tensor, grad_a: torch.Tensor, grad_b: torch.Tensor) -> None:
    """See `_head_backward`; grad_a must hold zeros on entry."""
    _head_backward(grad.numpy(), real.numpy(), pre.numpy(), ry.numpy(), a.numpy(), grad_pre.numpy(), grad_x.numpy(),
                   grad_a.numpy(), grad_b.numpy())


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _rotate_rows(state: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> None:
    """In place, wire by wire: rows (r, r + b_q) of state [2**n, C] times [[cos, -sin], [sin, cos]] per column.

    The pairs are enumerated directly (blocks of 2 b_q rows, the first half of each), so the
    column loop vectorises.
    """
    dim, cols, n = state.shape[0], state.shape[1], cos.shape[0]
    for q in range(n):
        bit = 1 << (n - 1 - q)
        c, s = cos[q], sin[q]
        for base in range(0, dim, 2 * bit):
            for r in range(base, base + bit):
                lo, hi = state[r], state[r + bit]
                for j in range(cols):
                    a, b = lo[j], hi[j]
                    lo[j] = c[j] * a - s[j] * b
                    hi[j] = s[j] * a + c[j] * b


def rotate_rows(state: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> None:
    """RY per column on every wire, in place: state [2**n, C], cos/sin [n, C] of the half angles (CPU, no grad)."""
    _rotate_rows(state.numpy(), cos.numpy(), sin.numpy())


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _column_cross_sums(grad: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """out[q, j] += sum over rows r with bit q clear of grad[r + b_q, j] x[r, j] - grad[r, j] x[r + b_q, j].

    Wires in adjacent pairs as in `_rotate_rows`: the four rows serve both wires' sums.
    """
    dim, cols, n = x.shape[0], x.shape[1], out.shape[0]
    for q in range(0, n - 1, 2):
        b1 = 1 << (n - 1 - q)
        b2 = b1 >> 1
        acc1, acc2 = out[q], out[q + 1]
        for base in range(0, dim, 2 * b1):
            for r in range(base, base + b2):
                g0, g1, g2, g3 = grad[r], grad[r + b2], grad[r + b1], grad[r + b1 + b2]
                x0, x1, x2, x3 = x[r], x[r + b2], x[r + b1], x[r + b1 + b2]
                for j in range(cols):
                    acc1[j] += g2[j] * x0[j] - g0[j] * x2[j] + g3[j] * x1[j] - g1[j] * x3[j]
                    acc2[j] += g1[j] * x0[j] - g0[j] * x1[j] + g3[j] * x2[j] - g2[j] * x3[j]
    if n % 2:
        acc = out[n - 1]
        for r in range(0, dim, 2):
            g0, g1, x0, x1 = grad[r], grad[r + 1], x[r], x[r + 1]
            for j in range(cols):
                acc[j] += g1[j] * x0[j] - g0[j] * x1[j]


def column_cross_sums(grad: torch.Tensor, x: torch.Tensor, out: torch.Tensor) -> None:
    """grad^T J_q x per column for every wire q into out [n, C] (zeros on entry): grad, x [2**n, C] (CPU, no grad)."""
    _column_cross_sums(grad.numpy(), x.numpy(), out.numpy())
