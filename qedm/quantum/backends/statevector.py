"""The fast exact backend: a VQC template run by the layer kernels (`qedm.quantum.kernels`), CPU or CUDA.

States are basis-first [2**n, B]. The encoding is built directly (angle: a kron of
[cos(x/2), sin(x/2)] vectors; iqp: uniform amplitudes times exp(-i/2 sum_t theta_t z_t), one
matmul with a sign matrix; amplitude: the normalised rows), then the data-independent Rot
layers run either layer by layer (`apply_kron_layers`: a phase vector, a real RY kron per wire
group as one GEMM, a CNOT row gather) or fused into one 2**n x 2**n unitary
(`apply_fused_layers`), whichever the cost model `choose_execution` predicts is cheaper.
The reupload encoding runs on `apply_reupload_kernel`: the same layer steps with the per-row
RY(x) folded in as a real rotation of row pairs (no second, autograd-only path). On the CPU,
small registers of both RY encodings run their expectations on `apply_compiled_layers`
(execution "compiled"; "auto" up to `COMPILED_MAX_QUBITS`): the same steps with every layer,
forward and backward, in one compiled call, as per-call overhead dominates there.

Cost model, in real MACs for a run of Lb layers (forward + backward), with KERNEL_COST per
kernel call (Python/dispatch overhead):
    layers = Lb * 2B * 2**n * (2 * sum over wire groups of 2**group + n) + 17 * Lb * KERNEL_COST
    fused  = 4 * (4 * Lb - 3) * 8**n + 6 * B * 4**n                    +  9 * Lb * KERNEL_COST
(layers: a GEMM per group forward and one backward, n MACs per real entry for the angle
gradients; fused: a complex MAC is 4 real MACs, Lb - 1 compositions forward, 2 (Lb - 1) in the
chain rule and Lb for the angle gradients; the per-layer call counts are fitted to timings of
`benchmarks/bench_quantum.py --compare-executions`). Fused pays for small registers only.

Shifts of a weight angle are applied to the weights; shifts of an input angle run the
template gate by gate (`run_ops`), as the reference does.
"""

from __future__ import annotations

import torch

from qedm.choices import one_of
from qedm.errors import CircuitError
from qedm.quantum.backends.base import BackendBase
from qedm.quantum.gates import gate_matrix
from qedm.quantum.kernels import (
    LAYER_GROUP,
    FusedPlan,
    KronPlan,
    Workspace,
    apply_fused_layers,
    apply_kron_layers,
    apply_reupload_kernel,
)
from qedm.quantum.kernels.compiled_layers import COMPILED_MAX_QUBITS, apply_compiled_layers
from qedm.quantum.simulator import (
    amplitude_state,
    kron_groups,
    permute_rows,
    probabilities,
    product_state_rows,
    product_state_ry,
    run_ops,
    ry_vectors,
)

EXECUTIONS = ("auto", "compiled", "fused", "layers")
KERNEL_COST = 400_000  # real MACs one kernel call costs in overhead (~10 us at ~40 GMAC/s)


def choose_execution(n_qubits: int, layers_per_run: int, batch: int) -> str:
    """'fused' or 'layers' for a run of data-independent layers, by the cost model above."""
    dim, lb = 2**n_qubits, layers_per_run
    group_macs = sum(2**size for _, size in kron_groups(n_qubits, LAYER_GROUP))
    layered = lb * 2 * batch * dim * (2 * group_macs + n_qubits) + 17 * lb * KERNEL_COST
    fused = 4 * (4 * lb - 3) * dim**3 + 6 * batch * dim**2 + 9 * lb * KERNEL_COST
    return "fused" if fused < layered else "layers"


class StatevectorBackend(BackendBase):
    """Exact statevector execution of a `VQC` template on its fast kernels.

    One instance serves one circuit: it keeps the kernels' tables per device and a scratch
    workspace (caches, not state: dropping them changes no result).
    """

    name = "statevector"

    def __init__(self, shots: int | None = None, execution: str = "auto") -> None:
        super().__init__(shots)
        self.execution = one_of("execution", execution, EXECUTIONS, CircuitError)
        self.kron_plans: dict[torch.device, KronPlan] = {}
        self.fused_plans: dict[torch.device, tuple[torch.Tensor, FusedPlan]] = {}
        self.workspace = Workspace()

    # ----- protocol -------------------------------------------------------------------------
    def state(self, circuit, x: torch.Tensor, weights: torch.Tensor, shift=None) -> torch.Tensor:
        """Final state [B, 2**n] complex (global phase exact)."""
        weights, gate_by_gate = self._shifted(circuit, weights, shift)
        if gate_by_gate:
            return run_ops(circuit.ops(), circuit.n_qubits, x, weights, circuit.dtype, shift)
        return self._final_state(circuit, x, weights, final_phase=True).T.contiguous()

    def probabilities(self, circuit, x, weights, shift=None) -> torch.Tensor:
        return probabilities(self.state(circuit, x, weights, shift))

    def expectations(self, circuit, x, weights, shift=None) -> torch.Tensor:
        weights, gate_by_gate = self._shifted(circuit, weights, shift)
        if gate_by_gate:
            return probabilities(run_ops(circuit.ops(), circuit.n_qubits, x, weights, circuit.dtype, shift)) \
                @ circuit.signs
        return self._final_state(circuit, x, weights, final_phase=False, signs=circuit.signs)

    def describe(self) -> dict:
        return {**super().describe(), "execution": self.execution}

    # ----- execution ------------------------------------------------------------------------
    @staticmethod
    def _shifted(circuit, weights: torch.Tensor, shift) -> tuple[torch.Tensor, bool]:
        """Weights with a weight-angle shift applied, and whether the shift needs the gate-by-gate path."""
        if shift is None:
            return weights, False
        param = circuit.ops()[shift[0]].params[shift[1]]
        if param.kind != "weight":
            return weights, True
        bump = torch.zeros(weights.numel(), dtype=weights.dtype, device=weights.device)
        bump[param.index[0]] = shift[2] * param.scale
        return weights + bump.reshape(weights.shape), False

    def _kron_plan(self, circuit, device: torch.device) -> KronPlan:
        plan = self.kron_plans.get(device)
        if plan is None:
            plan = KronPlan(circuit.entangler_index.to(device), circuit.n_qubits, circuit.real_dtype)
            self.kron_plans[device] = plan
        return plan

    def _fused_plan(self, circuit, device: torch.device) -> tuple[torch.Tensor, FusedPlan]:
        """The fused kernel's dtype probe [1, 1] and its FusedPlan on this device."""
        tables = self.fused_plans.get(device)
        if tables is None:
            probe = torch.zeros(1, 1, dtype=circuit.dtype, device=device)
            tables = (probe, FusedPlan(circuit.entangler_index.to(device), circuit.n_qubits, circuit.real_dtype))
            self.fused_plans[device] = tables
        return tables

    def _encode(self, circuit, x: torch.Tensor) -> torch.Tensor:
        """The encoded state before the first layer: [B, 2**n]."""
        n, k = circuit.n_qubits, circuit.n_inputs
        if circuit.encoding == "amplitude":
            return amplitude_state(x, n, circuit.dtype)
        if circuit.encoding == "iqp":
            pairs = [t for t in circuit.iqp_terms if len(t) == 2]
            products = [x[:, i] * x[:, j] for i, j in pairs]
            thetas = torch.cat([x[:, :k]] + ([torch.stack(products, 1)] if products else []), 1)
            phase = -0.5 * (thetas @ circuit.iqp_signs.T)
            return (torch.complex(torch.cos(phase), torch.sin(phase)) * 2 ** (-n / 2)).to(circuit.dtype)
        return product_state_ry(torch.nn.functional.pad(x, (0, n - k)) if k < n else x, circuit.dtype)

    def _final_state(self, circuit, x: torch.Tensor, weights: torch.Tensor, final_phase: bool,
                     signs: torch.Tensor | None = None) -> torch.Tensor:
        """Basis-first final state [2**n, B] (global phases exact iff final_phase), or with `signs` [B, m]."""
        batch, n, index = x.shape[0], circuit.n_qubits, circuit.entangler_index
        padded = circuit.encoding in ("angle", "reupload") and circuit.n_inputs < n
        angles = torch.nn.functional.pad(x, (0, n - circuit.n_inputs)) if padded else x
        n_layers = weights.shape[0]
        small = n <= COMPILED_MAX_QUBITS.get(circuit.encoding, 0)
        compiled = signs is not None and n_layers > 0 and circuit.encoding in ("angle", "reupload") \
            and x.device.type == "cpu" and (self.execution == "compiled" or (self.execution == "auto" and small))
        if compiled:  # the whole circuit's expectations in one compiled call (`compiled_layers`)
            return apply_compiled_layers(angles, weights, index, signs, circuit.encoding == "reupload", self.workspace)
        if circuit.encoding == "reupload" and n_layers > 0:  # RY(x) per row folded into the layer steps
            return apply_reupload_kernel(angles, weights, index, signs, plan=self._kron_plan(circuit, x.device),
                                         final_phase=final_phase, workspace=self.workspace)
        mode = self.execution if self.execution in ("fused", "layers") else choose_execution(n, n_layers, batch)
        if circuit.encoding == "angle" and n_layers > 0:
            if mode == "fused":  # the whole circuit in one kernel
                probe, plan = self._fused_plan(circuit, x.device)
                return apply_fused_layers(probe, weights, index, signs, angles, plan)
            if n_layers > 1:  # layer 0 leaves a product state: the kernel builds it (HeadPlan)
                return apply_kron_layers(None, weights, index, signs, angles=angles,
                                         plan=self._kron_plan(circuit, x.device), workspace=self.workspace,
                                         final_phase=final_phase)
            rot = gate_matrix("Rot", weights[0], circuit.dtype)  # one layer: Rot RY(x) on each wire, then CNOTs
            vectors = rot @ ry_vectors(angles).to(circuit.dtype).permute(1, 2, 0)  # [n, 2, B]
            state = permute_rows(product_state_rows(vectors), index)
        else:
            state = self._encode(circuit, x).T.contiguous()
            if n_layers:
                if mode == "fused":
                    return apply_fused_layers(state, weights, index, signs, plan=self._fused_plan(circuit,
                                                                                               state.device)[1])
                return apply_kron_layers(state, weights, index, signs, plan=self._kron_plan(circuit, state.device),
                                         workspace=self.workspace, final_phase=final_phase)
        return state if signs is None else (state.real**2 + state.imag**2).T @ signs
