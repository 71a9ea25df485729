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

Execution lives in the backends (`qedm.quantum.backends`: "statevector" the fast kernels,
"reference" gate by gate, "density" with noise channels); the VQC is the description (`ops()`,
`shape()`, the observable and entangler tables) plus its weights, and hands both to its backend.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from qedm.choices import DIFF_METHODS, ENCODINGS, ENTANGLERS, EXECUTIONS, INITS, MAX_QUBITS, OBSERVABLES, one_of
from qedm.errors import CircuitError
from qedm.quantum.backends import BackendBase, check_backend, make_backend
from qedm.quantum.gates import real_dtype
from qedm.quantum.ir import Observable, Op, Param
from qedm.quantum.simulator import cnot_permutation, z_signs

SMALL_INIT_STD = 0.05


def check_circuit(n_qubits: int, n_layers: int, encoding: str, entangler: str, observables: str,
                  init: str = "small", diff_method: str = "backprop", backend: str = "statevector") -> None:
    """Validate the choices of a VQC in one place (CircuitError names the argument)."""
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 1:
        raise CircuitError(f"n_qubits must be a positive integer, got {n_qubits!r}")
    if n_qubits > MAX_QUBITS:
        raise CircuitError(f"n_qubits={n_qubits} is too large for a statevector simulator (max {MAX_QUBITS})")
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 0:
        raise CircuitError(f"n_layers must be a non-negative integer, got {n_layers!r}")
    one_of("encoding", encoding, ENCODINGS, CircuitError)
    one_of("entangler", entangler, ENTANGLERS, CircuitError)
    one_of("observables", observables, OBSERVABLES, CircuitError)
    one_of("init", init, INITS, CircuitError)
    one_of("diff_method", diff_method, DIFF_METHODS, CircuitError)
    if not isinstance(backend, BackendBase):
        check_backend(backend)


def entangler_pairs(n_qubits: int, entangler: str, layer: int = 0) -> list[tuple[int, int]]:
    """(control, target) CNOT pairs of an entangler, in application order.

    "ring" and "all" are the VQC's; "strong" is layer `layer` of PennyLane's
    StronglyEntanglingLayers (default ranges): (q, q + r mod n) with r = layer mod (n - 1) + 1,
    which the quantum-dense denoiser uses.
    """
    if entangler == "strong":
        if n_qubits == 1:
            return []
        r = layer % (n_qubits - 1) + 1
        return [(q, (q + r) % n_qubits) for q in range(n_qubits)]
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


class VQC(nn.Module):
    """Variational circuit with differentiable expectations: x [B, k] -> [B, m] real.

    A template: `ops()` is the circuit, `shape()` the weights' shape; `backend` (a name from
    `qedm.quantum.backends.BACKENDS`, or a backend instance) runs it, with `shots` sampled
    bitstrings per row or exact expectations (None), and `diff_method` the gradient method
    ("backprop" through the simulator, or the hardware-faithful "parameter-shift" / "spsa").
    `noise` (a `NoiseModel`) needs backend="density".

    Default init="small" draws every Rot angle from N(0, 0.05^2): each block starts close to
    the identity, so gradients at initialisation do not vanish with n as they do for random
    (2-design-like) circuits -- the barren-plateau problem. init="identity" sets every angle
    to 0, so every Rot block is exactly the identity and the circuit starts as the encoding
    followed by the fixed CNOT permutations. init="uniform" draws angles uniformly in [0, 2pi)
    (expect barren plateaus for many qubits).
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
        backend: str | BackendBase = "statevector",
        noise=None,
    ) -> None:
        super().__init__()
        check_circuit(n_qubits, n_layers, encoding, entangler, observables, init, diff_method)
        self.n_qubits, self.n_layers = n_qubits, n_layers
        self.encoding, self.entangler, self.observables = encoding, entangler, observables
        self.init, self.diff_method = init, diff_method
        self.dtype, self.real_dtype = dtype, real_dtype(dtype)
        self.seed = seed
        max_inputs = 2**n_qubits if encoding == "amplitude" else n_qubits
        self.n_inputs = max_inputs if n_inputs is None else n_inputs
        if not 1 <= self.n_inputs <= max_inputs:
            raise CircuitError(
                f"n_inputs={n_inputs} does not fit encoding {encoding!r} on {n_qubits} qubits (1..{max_inputs})"
            )
        if isinstance(backend, BackendBase):
            if shots is not None or noise is not None:
                raise CircuitError("pass shots and noise to the backend instance, not to VQC")
            self.backend = backend
        else:
            one_of("execution", execution, EXECUTIONS, CircuitError)
            if execution == "gates":  # the reference backend under its old name
                backend, execution = "reference", "auto"
            self.backend = make_backend(check_backend(backend), shots, noise=noise, execution=execution)
        self.observable_list: list[Observable] = observable_list(n_qubits, self.observables)
        self.n_outputs = len(self.observable_list)
        self.weights = nn.Parameter(self._initial_weights())
        self.register_buffer("signs", z_signs(n_qubits, self.observable_list, self.real_dtype), persistent=False)
        index = cnot_permutation(entangler_pairs(n_qubits, self.entangler), n_qubits)
        self.register_buffer("entangler_index", index, persistent=False)
        self.iqp_terms = self._iqp_terms()
        self.register_buffer("iqp_signs", z_signs(n_qubits, self.iqp_terms, self.real_dtype), persistent=False)

    @staticmethod
    def shape(n_qubits: int, n_layers: int) -> tuple[int, int, int]:
        """Shape of the weights: one Rot (3 angles) per qubit and layer."""
        return (n_layers, n_qubits, 3)

    @property
    def shots(self) -> int | None:
        """Shots per circuit evaluation of the backend (None: exact expectations)."""
        return self.backend.shots

    @shots.setter
    def shots(self, value: int | None) -> None:
        from qedm.quantum.backends import check_shots

        self.backend.shots = check_shots(value)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def execution(self) -> str:
        """The statevector kernels' choice ("auto", "compiled", "fused", "layers"), or "gates" (the reference)."""
        if self.backend.name == "reference":
            return "gates"
        return getattr(self.backend, "execution", "auto")

    @execution.setter
    def execution(self, value: str) -> None:
        one_of("execution", value, EXECUTIONS, CircuitError)
        if self.backend.name == "density":
            raise CircuitError("execution applies to the statevector and reference backends, not 'density'")
        name = "reference" if value == "gates" else "statevector"
        self.backend = make_backend(name, self.shots, execution="auto" if value == "gates" else value)

    def _initial_weights(self) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        shape = self.shape(self.n_qubits, self.n_layers)
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

    # ----- running it on the backend -------------------------------------------------------
    def _check_inputs(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(x)
        if x.dim() != 2 or x.shape[1] != self.n_inputs:
            raise CircuitError(
                f"VQC expects x of shape [B, {self.n_inputs}] (n_inputs for encoding {self.encoding!r}), "
                f"got {tuple(x.shape)}"
            )
        return x.to(device=self.weights.device, dtype=self.real_dtype)

    def _resolve(self, x: torch.Tensor, weights: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked inputs and [L, n, 3] weights (default self.weights) on the weights' device and dtype."""
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
        return x, weights

    def exact_state(self, x: torch.Tensor, weights: torch.Tensor | None = None, shift=None) -> torch.Tensor:
        """Exact final state: x [B, k], weights [L, n, 3] (default self.weights) -> [B, 2**n] complex.

        Only for pure-state backends ("statevector", "reference").
        """
        if not hasattr(self.backend, "state"):
            raise CircuitError(f"backend {self.backend.name!r} has no pure state; use exact_probabilities")
        x, w = self._resolve(x, weights)
        return self.backend.state(self, x, w, shift)

    def exact_probabilities(self, x: torch.Tensor, weights: torch.Tensor | None = None, shift=None) -> torch.Tensor:
        """Measurement distribution on the backend: x [B, k] -> [B, 2**n] real."""
        x, w = self._resolve(x, weights)
        return self.backend.probabilities(self, x, w, shift)

    def exact_expectations(self, x: torch.Tensor, weights: torch.Tensor | None = None, shift=None) -> torch.Tensor:
        """Exact <observables> on the backend: x [B, k] -> [B, m], float32 (complex64) or float64 (complex128)."""
        x, w = self._resolve(x, weights)
        return self.backend.expectations(self, x, w, shift)

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
            f"entangler={self.entangler!r}, observables={self.observables!r}, n_outputs={self.n_outputs}, "
            f"backend={self.backend!r}"
        )
