"""Per-sample gradients of the VQC's weights, as an Opacus grad sampler.

Opacus clips every row's gradient, so it needs d loss_i / d weights for each row i, not only
their sum. The VQC's fast kernels are custom autograd Functions that vmap cannot see through,
so the grad sampler recomputes the circuit gate by gate with one copy of the weights per row
(`weights: [B, L, n, 3]`): row b's expectations then depend only on copy b, and one backward
pass of sum_b <backprops_b, f(x_b, w_b)> leaves row b's weight gradient in copy b. It is exact
(the same circuit in the same dtype as the forward pass; tested against a loop of single-row
backward passes) and vectorised over the batch.
"""

from __future__ import annotations

import torch

from qedm.quantum.gates import gate_matrix
from qedm.quantum.simulator import amplitude_state, apply_gate, zero_state


def per_row_expectations(vqc, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """<observables> of the VQC with one weight copy per row: x [B, k], weights [B, L, n, 3] -> [B, m].

    Gate by gate over `vqc.ops()`; weight angles are read per row ([B]) instead of as scalars.
    """
    batch, n = x.shape[0], vqc.n_qubits
    x = x.to(vqc.real_dtype)
    flat = weights.reshape(batch, -1).to(vqc.real_dtype)
    state = None
    for op in vqc.ops():
        values = [_angle(p, x, flat) for p in op.params]
        if op.name == "AmplitudeEmbedding":
            state = amplitude_state(torch.stack(values, dim=-1), n, vqc.dtype)
            continue
        if state is None:
            state = zero_state(batch, n, vqc.dtype, x.device)
        angles = torch.stack(values, dim=-1) if values else None
        state = apply_gate(state, gate_matrix(op.name, angles, vqc.dtype), op.wires, n)
    if state is None:
        state = zero_state(batch, n, vqc.dtype, x.device)
    return (state.real**2 + state.imag**2) @ vqc.signs


def _angle(param, x: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    """One angle per row [B]: a weight copy, an input feature or a product of two features."""
    if param.kind == "weight":
        return flat[:, param.index[0]] * param.scale
    if param.kind == "input":
        return x[:, param.index[0]] * param.scale
    return x[:, param.index[0]] * x[:, param.index[1]] * param.scale


def vqc_weight_grad_sample(vqc, x: torch.Tensor, backprops: torch.Tensor) -> torch.Tensor:
    """Per-row gradients of sum_b <backprops_b, vqc(x_b)> w.r.t. the weights: [B, L, n, 3].

    x: the VQC's input [B, k]; backprops: d loss / d output [B, m] (as Opacus hands them over).
    """
    batch = x.shape[0]
    copies = vqc.weights.detach().unsqueeze(0).expand(batch, *vqc.weights.shape).clone().requires_grad_(True)
    with torch.enable_grad():
        out = per_row_expectations(vqc, x.detach(), copies)
        (grad,) = torch.autograd.grad((out * backprops.to(out.dtype)).sum(), copies)
    return grad.to(vqc.weights.dtype)


def register_vqc_grad_sampler() -> None:
    """Tell Opacus how to compute the VQC's per-sample gradients (idempotent)."""
    from opacus.grad_sample import register_grad_sampler
    from opacus.grad_sample.grad_sample_module import GradSampleModule

    from qedm.quantum.circuits import VQC

    if VQC in GradSampleModule.GRAD_SAMPLERS:
        return

    @register_grad_sampler(VQC)
    def _vqc_grad_sampler(layer, activations, backprops):
        return {layer.weights: vqc_weight_grad_sample(layer, activations[0], backprops)}
