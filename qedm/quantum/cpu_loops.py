"""CPU loops compiled with numba, for the one reduction torch has no single op for.

Only this one: loops over complex rows measured no faster than torch's separate passes, as
they do not vectorise as well (n=8, B=256: the head's gathered and phased product state 87 vs
~45 us, its gradient 147 vs ~60 us, phase gradient + phase + gather backward 100 vs ~92 us).

`rotation_cross_sums(mu, x, n)` gives, for every wire q of a basis-first real state [2**n, C],
sum over rows r with bit q clear of mu[r | b_q] . x[r] - mu[r] . x[r | b_q] (b_q = that bit),
i.e. mu^T J_q x with J_q = [[0, -1], [1, 0]] on wire q. This is how the layered kernel gets
the gradient of every RY angle of a layer from the layer's input and its gradient:
d/dt RY(t) = 1/2 RY(t) J, so dL/dt_q = 1/2 mu^T J_q x (kernels.py). In torch the same numbers
come from one Gram matrix GEMM per wire group (16 multiply-adds per entry for a group of 4
wires, against 2 per wire here); measured per layer (1 thread, B=256): n=8 49 vs ~160 us,
n=10 251 vs ~900 us (BENCHMARKS.md).
"""

from __future__ import annotations

import numba
import numpy as np
import torch


@numba.njit(fastmath=True, boundscheck=False, cache=True)
def _cross_sums(mu: np.ndarray, x: np.ndarray, n_qubits: int, cols: int, out: np.ndarray) -> None:
    """out[q] = the cross sum of wire q; mu and x flat [2**n * cols] (row-major [2**n, cols]).

    Wires go in adjacent pairs (q, q + 1): the four rows with those two bits r, r | b2, r | b1,
    r | b1 | b2 serve both wires' sums, one load per multiply-add instead of two (measured 2x
    faster than one wire at a time). Row slices are contiguous, so the inner loops vectorise.
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
    """mu^T J_q x for every wire q into out [n]: mu, x contiguous real CPU tensors [2**n, C] (no autograd)."""
    _cross_sums(mu.detach().reshape(-1).numpy(), x.detach().reshape(-1).numpy(), n_qubits, x.shape[-1],
                out.detach().numpy())
