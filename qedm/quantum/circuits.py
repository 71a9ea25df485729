"""The variational quantum circuit (VQC): an encoding, `n_layers` trainable blocks, Z observables.

Circuit (PennyLane conventions, wire 0 = most significant bit):
- encoding "angle": RY(x_i) on qubit i; "reupload": the same before every layer;
  "amplitude": x normalised and zero-padded to 2**n as the amplitudes (all-zero rows raise
  CircuitError); "iqp": H on all, RZ(x_i) on qubit i, then for each entangler pair (i, j)
  (ring: (q, q+1 mod n), a single (0, 1) for n=2; all: every i<j) ZZ(x_i x_j) =
  CNOT(i, j) RZ_j(x_i * x_j) CNOT(i, j), i.e. PennyLane's IsingZZ(x_i x_j).
- layer l: Rot(w[l,q,0], w[l,q,1], w[l,q,2]) on every qubit, then the entangler:
  ring = CNOT(q, q+1 mod n) for q = 0..n-1 (one CNOT(0, 1) for n=2, none for n=1),
  all = CNOT(i, j) for all i < j in lexicographic order.
- observables "z": <Z_i> each qubit; "zz": <Z_i Z_{i+1}> for ring neighbours; "both": z then zz.

Execution (exact path). States are kept basis-first, [2**n, B], so that gates are row
operations. A layer is Rot(a, b, c) = RZ(c) RY(b) RZ(a) on every wire, then CNOTs: the RZs of
a layer are one diagonal phase vector, the RYs a REAL kron applied as one real GEMM per group
of <= 4 wires (on the complex state viewed as real, so a quarter of the flops of complex
arithmetic), the CNOTs one row gather; RZ(c) of a layer and RZ(a) of the next merge into one
phase multiply, and the last RZ(c) is dropped when only Z expectations are needed (so is the
last CNOT gather: it permutes the Z signs instead). All layers run inside one autograd
Function with a hand-written backward (`apply_kron_layers`): one GEMM per group for the state
gradient, and every RY angle gradient of a layer from the layer's input and its gradient in
one compiled pass on the CPU (`cpu_loops`; a Gram GEMM per group elsewhere). States are real
[2**n, 2B] with each row's real parts, then its imaginary parts, so that the phase steps (a
gather with its phase multiply, and their backward) also run as one compiled pass each on
the CPU. Only the layer inputs are kept, in a workspace reused across steps, no
full-size temporaries (a fresh multi-megabyte tensor page-faults). With the angle encoding,
layer 0 (less its RZ(c), which joins the next phase row) leaves a product state: the kernel
builds it from x as two halves (`kernels.HeadPlan`) and differentiates it by hand. The
trainable blocks do not depend on x, so a run of them can
instead be fused into one 2**n x 2**n unitary U (`apply_fused_layers`: the Rot krons of all
layers at once, Lb - 1 compositions, one GEMM on the states; for the angle encoding the RY
product state and its input gradient are built inside the same Function). Fusing pays when
the cost is kernel calls rather than flops, i.e. small registers.
Cost model (`choose_execution`), in real MACs for a run of Lb layers (forward + backward),
with a KERNEL_COST per kernel call (Python/dispatch overhead; the ~100 calls both paths share
cancel out):
    layers = Lb * 2B * 2**n * (2 * sum over wire groups of 2**group + n) + 17 * Lb * KERNEL_COST
    fused  = 4 * (4 * Lb - 3) * 8**n + 6 * B * 4**n                    +  9 * Lb * KERNEL_COST
(layers: a GEMM per group forward and one backward, n MACs per real entry for the angle
gradients; fused: a complex MAC is 4 real MACs, Lb - 1 compositions forward, 2 (Lb - 1) in
the chain rule and Lb for the angle gradients; the per-layer call counts are fitted to the
timings below, the layered one lowered from 28 to 17 as its backward lost calls).
Measured on the 2-core CPU (1 thread, CPU-time clock, forward + backward, L=4, B=256) fused
vs layers: 1.05 vs 1.85 ms at n=5, 1.83 vs 2.29 ms at n=6, 6.3 vs
3.1 ms at n=7, 29 vs 5.1 ms at n=8; at B=32: 1.45 vs 1.61 ms at n=6, 4.5 vs 1.9 ms at n=7;
at n=6, B=256: 1.39 vs 1.67 ms for L=2, 2.53 vs 3.39 ms for L=8. The model picks the faster path
in each of these cases. With the leaner fused backward (no partial traces; 09:55 UTC) fused
is faster still where it was chosen and still slower where it was not: n=6 1.25 vs 2.2 ms,
B=32 1.00 vs 1.64 ms, L=2 1.04 vs 1.67 ms, L=8 1.87 vs 3.49 ms; n=7 4.6 vs 3.1 ms; n=8 23 vs 5.5 ms.
With both kernels' current versions (FusedPlan, HeadPlan; 12:55 UTC): n=5 0.62 vs 1.56 ms,
n=6 1.13 vs 1.96, n=7 4.1 vs 2.6, n=8 21 vs 3.8; B=32: n=6 0.82 vs 1.30, n=7 3.0 vs 1.4;
n=6 L=2 0.80 vs 1.24, L=8 1.67 vs 2.45: still the faster path every time. With the compiled
angle gradients (13:30 UTC): n=5 0.67 vs 1.52, n=6 1.25 vs 2.02, n=7 4.8 vs 3.7, n=8 21 vs 3.7;
B=32: n=6 0.88 vs 1.23, n=7 2.8 vs 1.45; n=6 L=2 0.90 vs 1.15, L=8 1.58 vs 2.41; n=7 L=2 2.1 vs
1.6, n=7 L=8 B=64 7.1 vs 2.4: the faster path in all ten. With the compiled phase steps and
head (15:05 UTC) the layered path became the faster one at n=6 up to L=8: n=6 L=4 1.12 vs 1.00,
B=32 0.85 vs 0.76, B=8 0.80 vs 0.66, L=2 0.82 vs 0.69, L=8 1.49 vs 1.48, L=16 2.37 vs 2.62;
n=5 L=4 0.63 vs 0.92, B=32 0.52 vs 0.71, L=2 0.54 vs 0.65, L=8 0.72 vs 1.15; n=7 L=4 3.8 vs 1.7.
With the layered call count refitted to 17 the model picks the faster path in all of these
(and in the n=7, n=8 cases above; n=6 L=8 is a tie).
Product-state encodings are built directly: angle = kron of [cos(x/2), sin(x/2)] vectors,
iqp = uniform amplitudes times exp(-i/2 * sum_t theta_t z_t), one matmul with a sign matrix;
reupload runs as per-row layers (`kernels.apply_reupload_layers`): each layer's RY(x) and Rot
merged into one matrix per row and wire group, applied with two batched GEMMs.
`execution="gates"` runs the Op list gate by gate (`run_ops`), the reference.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from qedm.choices import DIFF_METHODS, ENCODINGS, ENTANGLERS, INITS, OBSERVABLES
from qedm.errors import CircuitError
from qedm.quantum.gates import gate_matrix, real_dtype
from qedm.quantum.ir import Observable, Op, Param
from qedm.quantum.kernels import (
    LAYER_GROUP,
    FusedPlan,
    KronPlan,
    Workspace,
    apply_fused_layers,
    apply_kron_layers,
    apply_reupload_layers,
)
from qedm.quantum.simulator import (
    amplitude_state,
    cnot_permutation,
    kron_groups,
    permute_rows,
    product_state_ry,
    product_state_rows,
    ry_vectors,
    run_ops,
    z_signs,
)

EXECUTIONS = ("auto", "fused", "layers", "gates")
KERNEL_COST = 400_000  # real MACs one kernel call costs in overhead (~10 us at ~40 GMAC/s)
SMALL_INIT_STD = 0.05


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise CircuitError(f"unknown {name} {value!r}; expected one of {list(allowed)}")
    return value


def entangler_pairs(n_qubits: int, entangler: str) -> list[tuple[int, int]]:
    """(control, target) CNOT pairs of an entangler, in application order."""
    if entangler == "all":
        return [(i, j) for i in range(n_qubits) for j in range(i + 1, n_qubits)]
    if n_qubits == 1:
        return []
    if n_qubits == 2:
        return [(0, 1)]
    return [(q, (q + 1) % n_qubits) for q in range(n_qubits)]


def observable_list(n_qubits: int, observables: str) -> list[Observable]:
    """The Z-products measured: 'z' singles, 'zz' ring neighbours, 'both' z then zz."""
    singles = [(q,) for q in range(n_qubits)]
    pairs = [tuple(sorted(p)) for p in entangler_pairs(n_qubits, "ring")]
    return {"z": singles, "zz": pairs, "both": singles + pairs}[observables]


def choose_execution(n_qubits: int, layers_per_run: int, batch: int) -> str:
    """'fused' or 'layers' for a run of data-independent layers, by the cost model above."""
    dim, lb = 2**n_qubits, layers_per_run
    group_macs = sum(2**size for _, size in kron_groups(n_qubits, LAYER_GROUP))
    layered = lb * 2 * batch * dim * (2 * group_macs + n_qubits) + 17 * lb * KERNEL_COST
    fused = 4 * (4 * lb - 3) * dim**3 + 6 * batch * dim**2 + 9 * lb * KERNEL_COST
    return "fused" if fused < layered else "layers"


class VQC(nn.Module):
    """Variational circuit with exact, differentiable expectations: x [B, k] -> [B, m] real.

    Default init="small" draws every Rot angle from N(0, 0.05^2): each block starts close to
    the identity, so gradients at initialisation do not vanish with n as they do for random
    (2-design-like) circuits -- the barren-plateau problem. init="identity" sets every angle
    to 0, so every Rot block is exactly the identity and the circuit starts as the encoding
    followed by the fixed CNOT permutations (pairs of layers that undo each other are not
    possible here: a Rot layer cannot undo the CNOTs between them). init="uniform" draws
    angles uniformly in [0, 2pi) (expect barren plateaus for many qubits).
    """

    def __init__(
        self,
        n_qubits: int,
        n_layers: int,
        encoding: str = "angle",
        entangler: str = "ring",
        observables: str = "z",
        n_inputs: int | None = None,
        init: str = "small",
        dtype: torch.dtype = torch.complex64,
        shots: int | None = None,
        diff_method: str = "backprop",
        seed: int | None = None,
        execution: str = "auto",
    ) -> None:
        super().__init__()
        if not isinstance(n_qubits, int) or n_qubits < 1:
            raise CircuitError(f"n_qubits must be a positive integer, got {n_qubits!r}")
        if not isinstance(n_layers, int) or n_layers < 0:
            raise CircuitError(f"n_layers must be a non-negative integer, got {n_layers!r}")
        self.n_qubits, self.n_layers = n_qubits, n_layers
        self.encoding = _choice("encoding", encoding, ENCODINGS)
        self.entangler = _choice("entangler", entangler, ENTANGLERS)
        self.observables = _choice("observables", observables, OBSERVABLES)
        self.init = _choice("init", init, INITS)
        self.diff_method = _choice("diff_method", diff_method, DIFF_METHODS)
        self.execution = _choice("execution", execution, EXECUTIONS)
        self.dtype, self.real_dtype = dtype, real_dtype(dtype)
        if shots is not None and (not isinstance(shots, int) or shots < 1):
            raise CircuitError(f"shots must be a positive integer or None, got {shots!r}")
        self.shots, self.seed = shots, seed
        max_inputs = 2**n_qubits if encoding == "amplitude" else n_qubits
        self.n_inputs = max_inputs if n_inputs is None else n_inputs
        if not 1 <= self.n_inputs <= max_inputs:
            raise CircuitError(
                f"n_inputs={n_inputs} does not fit encoding {encoding!r} on {n_qubits} qubits (1..{max_inputs})"
            )
        self.observable_list: list[Observable] = observable_list(n_qubits, self.observables)
        self.n_outputs = len(self.observable_list)
        self.weights = nn.Parameter(self._initial_weights())
        self.register_buffer("signs", z_signs(n_qubits, self.observable_list, self.real_dtype), persistent=False)
        pairs = entangler_pairs(n_qubits, self.entangler)
        index = cnot_permutation(pairs, n_qubits)
        self.register_buffer("entangler_index", index, persistent=False)
        self.fused_tables: dict[torch.device, tuple] = {}  # per device: a [1, 1] self.dtype probe and the FusedPlan
        self.kron_plans: dict[torch.device, KronPlan] = {}  # per device: the layered kernel's tables
        self.workspace = Workspace()  # scratch reused across forward/backward calls (a cache, not state)
        self.iqp_terms = self._iqp_terms()
        self.register_buffer("iqp_signs", z_signs(n_qubits, self.iqp_terms, self.real_dtype), persistent=False)

    def _initial_weights(self) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        shape = (self.n_layers, self.n_qubits, 3)
        if self.init == "small":
            w = torch.randn(shape, generator=gen, dtype=torch.float64) * SMALL_INIT_STD
        elif self.init == "uniform":
            w = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 * math.pi
        else:
            w = torch.zeros(shape, dtype=torch.float64)
        return w.to(self.real_dtype)

    def _iqp_terms(self) -> list[Observable]:
        """IQP phase terms: single wires then entangler pairs (both wires must carry inputs)."""
        k = min(self.n_inputs, self.n_qubits)
        singles = [(q,) for q in range(k)]
        pairs = [(i, j) for i, j in entangler_pairs(self.n_qubits, self.entangler) if i < k and j < k]
        return singles + pairs

    # ----- the circuit as an Op list -----------------------------------------------------
    def encoding_ops(self) -> list[Op]:
        """The encoding block (before the first layer)."""
        k = self.n_inputs
        if self.encoding == "amplitude":
            params = tuple(Param("input", (i,)) for i in range(k))
            return [Op("AmplitudeEmbedding", tuple(range(self.n_qubits)), params)]
        if self.encoding in ("angle", "reupload"):
            return [Op("RY", (q,), (Param("input", (q,)),)) for q in range(k)]
        ops = [Op("H", (q,)) for q in range(self.n_qubits)]
        ops += [Op("RZ", (q,), (Param("input", (q,)),)) for q in range(k)]
        for i, j in [t for t in self.iqp_terms if len(t) == 2]:
            ops += [Op("CNOT", (i, j)), Op("RZ", (j,), (Param("input_product", (i, j)),)), Op("CNOT", (i, j))]
        return ops

    def layer_ops(self, layer: int) -> list[Op]:
        """Rot on every qubit (weights[layer, q, :]) then the entangler's CNOTs."""
        base = layer * self.n_qubits * 3
        ops = [
            Op("Rot", (q,), tuple(Param("weight", (base + 3 * q + p,)) for p in range(3)))
            for q in range(self.n_qubits)
        ]
        return ops + [Op("CNOT", pair) for pair in entangler_pairs(self.n_qubits, self.entangler)]

    def ops(self) -> list[Op]:
        """The full circuit: encoding, then layers (encoding repeated before each for reupload)."""
        ops = []
        for layer in range(self.n_layers):
            if layer == 0 or self.encoding == "reupload":
                ops += self.encoding_ops()
            ops += self.layer_ops(layer)
        return ops if self.n_layers else self.encoding_ops()

    # ----- exact execution -----------------------------------------------------------------
    def _check_inputs(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(x)
        if x.dim() != 2 or x.shape[1] != self.n_inputs:
            raise CircuitError(
                f"VQC expects x of shape [B, {self.n_inputs}] (n_inputs for encoding {self.encoding!r}), "
                f"got {tuple(x.shape)}"
            )
        return x.to(device=self.weights.device, dtype=self.real_dtype)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        """The encoded state before the first layer: [B, 2**n]."""
        n, k = self.n_qubits, self.n_inputs
        if self.encoding == "amplitude":
            return amplitude_state(x, n, self.dtype)
        if self.encoding == "iqp":
            pairs = [t for t in self.iqp_terms if len(t) == 2]
            products = [x[:, i] * x[:, j] for i, j in pairs]
            thetas = torch.cat([x[:, :k]] + ([torch.stack(products, 1)] if products else []), 1)
            phase = -0.5 * (thetas @ self.iqp_signs.T)
            return (torch.complex(torch.cos(phase), torch.sin(phase)) * 2 ** (-n / 2)).to(self.dtype)
        return product_state_ry(torch.nn.functional.pad(x, (0, n - k)) if k < n else x, self.dtype)

    def _kron_plan(self, device: torch.device) -> KronPlan:
        """The layered kernel's KronPlan on this device (built once)."""
        plan = self.kron_plans.get(device)
        if plan is None:
            plan = self.kron_plans.setdefault(device, KronPlan(self.entangler_index.to(device), self.n_qubits,
                                                               self.real_dtype))
        return plan

    def fused_unitary(self, weights: torch.Tensor) -> torch.Tensor:
        """The layers weights [Lb, n, 3] as one matrix U [2**n, 2**n] (final state = U @ state).

        Per layer the kron of its Rot matrices with rows permuted by the CNOTs, composed by
        Lb - 1 matmuls (`apply_fused_layers` on the identity): independent of the batch.
        """
        eye = torch.eye(2**self.n_qubits, dtype=self.dtype, device=weights.device)
        return apply_fused_layers(eye, weights, self.entangler_index, plan=self._fused_tables(weights.device)[1])

    def _fused_tables(self, device: torch.device) -> tuple[torch.Tensor, FusedPlan]:
        """The fused kernel's dtype probe [1, 1] and its FusedPlan on this device (built once)."""
        tables = self.fused_tables.get(device)
        if tables is None:
            probe = torch.zeros(1, 1, dtype=self.dtype, device=device)
            plan = FusedPlan(self.entangler_index.to(device), self.n_qubits, self.real_dtype)
            tables = self.fused_tables.setdefault(device, (probe, plan))
        return tables

    def _layers(self, state: torch.Tensor, weights: torch.Tensor, mode: str, final_phase: bool,
                signs: torch.Tensor | None) -> torch.Tensor:
        """Layers on a basis-first state [2**n, B] -> [2**n, B] (or <signs> [B, m]): directly or fused."""
        if mode != "fused":
            return apply_kron_layers(state, weights, self.entangler_index, signs, plan=self._kron_plan(state.device),
                                     workspace=self.workspace, final_phase=final_phase)
        return apply_fused_layers(state, weights, self.entangler_index, signs, plan=self._fused_tables(state.device)[1])

    def _final_state(self, x: torch.Tensor, weights: torch.Tensor, final_phase: bool,
                     signs: torch.Tensor | None = None) -> torch.Tensor:
        """Fast exact path: basis-first final state [2**n, B] (global phases exact iff final_phase).

        With `signs` [2**n, m] it returns the expectations [B, m] instead.
        """
        batch, n = x.shape[0], self.n_qubits
        padded = self.encoding in ("angle", "reupload") and self.n_inputs < n
        angles = torch.nn.functional.pad(x, (0, n - self.n_inputs)) if padded else x
        if self.encoding == "reupload" and self.n_layers > 0:  # per-row gates: Rot(w) RY(x) merged per wire
            out = apply_reupload_layers(gate_matrix("Rot", weights, self.dtype), angles, self.entangler_index, signs)
            return out if signs is not None else out.T
        mode = self.execution if self.execution != "auto" else choose_execution(n, self.n_layers, batch)
        if self.encoding == "angle" and self.n_layers > 0:
            if mode == "fused":  # the whole circuit in one kernel
                probe, plan = self._fused_tables(x.device)
                return apply_fused_layers(probe, weights, self.entangler_index, signs, angles, plan)
            if self.n_layers > 1:  # layer 0 leaves a product state: the kernel builds it (HeadPlan)
                return apply_kron_layers(None, weights, self.entangler_index, signs, angles=angles,
                                         plan=self._kron_plan(x.device), workspace=self.workspace,
                                         final_phase=final_phase)
            rot = gate_matrix("Rot", weights[0], self.dtype)  # one layer: Rot RY(x) on each wire, then the CNOTs
            vectors = rot @ ry_vectors(angles).to(self.dtype).permute(1, 2, 0)  # [n, 2, B]
            state = permute_rows(product_state_rows(vectors), self.entangler_index)
        else:
            state = self._encode(x).T.contiguous()
            if weights.shape[0]:
                return self._layers(state, weights, mode, final_phase, signs)
        return state if signs is None else (state.real**2 + state.imag**2).T @ signs

    def _resolve(self, x: torch.Tensor, weights: torch.Tensor | None, shift) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """Checked inputs, [L, n, 3] weights with a weight shift applied, and whether to run gate by gate."""
        x = self._check_inputs(x)
        weights = self.weights if weights is None else torch.as_tensor(weights)
        if weights.numel() != self.weights.numel():
            raise CircuitError(
                f"weights must have {self.weights.numel()} entries (shape {tuple(self.weights.shape)}), "
                f"got shape {tuple(weights.shape)}"
            )
        weights = weights.to(device=x.device, dtype=self.real_dtype)
        if weights.shape != self.weights.shape:  # the module's own weights: no reshape node in the graph
            weights = weights.reshape(self.weights.shape)
        if shift is None:
            return x, weights, self.execution == "gates"
        param = self.ops()[shift[0]].params[shift[1]]
        if param.kind != "weight" or self.execution == "gates":
            return x, weights, True
        bump = torch.zeros(weights.numel(), dtype=weights.dtype, device=weights.device)
        bump[param.index[0]] = shift[2] * param.scale
        return x, weights + bump.reshape(weights.shape), False

    def exact_state(self, x: torch.Tensor, weights: torch.Tensor | None = None, shift=None) -> torch.Tensor:
        """Exact final state: x [B, k], weights [L, n, 3] (default self.weights) -> [B, 2**n] complex."""
        x, w, gate_by_gate = self._resolve(x, weights, shift)
        if gate_by_gate:
            return run_ops(self.ops(), self.n_qubits, x, w, self.dtype, shift)
        return self._final_state(x, w, final_phase=True).T.contiguous()

    def exact_expectations(self, x: torch.Tensor, weights: torch.Tensor | None = None, shift=None) -> torch.Tensor:
        """Exact <observables>: x [B, k] -> [B, m], float32 (complex64) or float64 (complex128)."""
        x, w, gate_by_gate = self._resolve(x, weights, shift)
        if gate_by_gate:
            state = run_ops(self.ops(), self.n_qubits, x, w, self.dtype, shift)
            return (state.real**2 + state.imag**2) @ self.signs
        return self._final_state(x, w, final_phase=False, signs=self.signs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, k] -> [B, m]: exact with backprop, else the hardware-faithful estimator.

        x is moved to the device of the weights (move the module with `.to(device)`).
        """
        if self.diff_method == "backprop" and self.shots is None:
            return self.exact_expectations(x)
        from qedm.quantum.gradients import estimate_expectations

        return estimate_expectations(self, x)

    # ----- delegation to export / resources -----------------------------------------------
    def to_pennylane(self, device: str = "default.qubit"):
        """A PennyLane QNode for this circuit (see qedm.quantum.export.to_pennylane)."""
        from qedm.quantum.export import to_pennylane

        return to_pennylane(self, device)

    def to_qiskit(self, x):
        """A bound Qiskit circuit for one input row (see qedm.quantum.export.to_qiskit)."""
        from qedm.quantum.export import to_qiskit

        return to_qiskit(self, x)

    def resources(self):
        """Gate counts, depth and qubits (see qedm.quantum.resources.circuit_resources)."""
        from qedm.quantum.resources import circuit_resources

        return circuit_resources(self)

    def extra_repr(self) -> str:
        return (
            f"n_qubits={self.n_qubits}, n_layers={self.n_layers}, encoding={self.encoding!r}, "
            f"entangler={self.entangler!r}, observables={self.observables!r}, n_outputs={self.n_outputs}"
        )
