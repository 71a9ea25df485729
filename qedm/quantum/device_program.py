"""A circuit template transpiled for one device: a flat list of native instructions on the used qubits.

Every gate angle of the Op list becomes one Qiskit `Parameter`, so the circuit is transpiled ONCE
per (template structure, device) to the device's basis gates and coupling map (layout and SWAP
routing by Qiskit), and each native gate's angle is an affine function of those parameters:
angle = const + coef . theta, with theta [B, P] the Op list's angles of B rows. The program keeps
only the physical qubits the circuit touches ("active", renumbered 0..k-1 in Qiskit order), so a
127-qubit device costs what the circuit needs. An AmplitudeEmbedding (first op) is not a gate: it
becomes the program's initial state, placed on the initial layout's qubits (noiseless, like Aer's
`set_density_matrix`). `fold(scale)` is global unitary folding C (C^dag C)^k for zero-noise
extrapolation; the inverse of every native gate is native (rz(-a), sx^dag = x.sx, x, cx, ecr, cz).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from qedm.errors import CircuitError, require
from qedm.quantum.ir import Op
from qedm.quantum.simulator import _param_value, prepare_inputs

SELF_INVERSE = ("x", "cx", "ecr", "cz", "id")
PARAMETRIC = ("rz", "rx")


@dataclass(frozen=True)
class Instruction:
    """One native gate on active qubits (Qiskit order); angle = const + coef . theta when parametric."""

    name: str
    qubits: tuple[int, ...]
    const: float = 0.0
    coef: tuple[tuple[int, float], ...] = ()  # sparse (parameter index, coefficient)


@dataclass(frozen=True)
class DeviceProgram:
    """The transpiled circuit of one template on one device.

    physical: active qubit j -> device qubit; measured: logical Qiskit qubit i -> active qubit;
    initial: logical qubit i -> active qubit it starts on (for the amplitude state);
    amplitude: the template's AmplitudeEmbedding op or None; n_angles: P.
    """

    device: str
    n_logical: int
    physical: tuple[int, ...]
    measured: tuple[int, ...]
    initial: tuple[int, ...]
    instructions: tuple[Instruction, ...]
    n_angles: int
    amplitude: Op | None = None
    scale: int = 1

    @property
    def n_active(self) -> int:
        return len(self.physical)

    @property
    def depth(self) -> int:
        """Circuit depth over the active qubits (ASAP layers, rz included)."""
        level = [0] * self.n_active
        for ins in self.instructions:
            d = max(level[q] for q in ins.qubits) + 1
            for q in ins.qubits:
                level[q] = d
        return max(level, default=0)

    def count(self, n_qubits: int) -> int:
        """Number of instructions acting on `n_qubits` qubits."""
        return sum(len(i.qubits) == n_qubits for i in self.instructions)

    def fold(self, scale: int) -> DeviceProgram:
        """Global unitary folding: C (C^dag C)^((scale-1)/2); scale must be an odd positive integer."""
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1 or scale % 2 == 0:
            raise CircuitError(f"a folding scale factor must be an odd positive integer, got {scale!r}")
        inverse = []
        for ins in reversed(self.instructions):
            if ins.name in PARAMETRIC:
                inverse.append(replace(ins, const=-ins.const, coef=tuple((i, -c) for i, c in ins.coef)))
            elif ins.name == "sx":  # sx^dag = sx^3 = x . sx (applied: sx first, then x)
                inverse += [Instruction("sx", ins.qubits), Instruction("x", ins.qubits)]
            elif ins.name in SELF_INVERSE:
                inverse.append(ins)
            else:
                raise CircuitError(f"no inverse known for native gate {ins.name!r}; cannot fold")
        body = list(self.instructions) + (inverse + list(self.instructions)) * ((scale - 1) // 2)
        return replace(self, instructions=tuple(body), scale=self.scale * scale)


def angle_ops(ops: Sequence[Op]) -> list[tuple[int, int]]:
    """(op index, param position) of every gate angle, in the order the Parameters are numbered."""
    return [(i, j) for i, op in enumerate(ops) if op.name != "AmplitudeEmbedding" for j in range(len(op.params))]


def angles(ops: Sequence[Op], x: torch.Tensor, weights: torch.Tensor, dtype: torch.dtype,
           shift: tuple[int, int, float] | None = None) -> torch.Tensor:
    """The Op list's angles for B rows: theta [B, P] real (float64); `shift` adds delta to one angle."""
    x, w, batch, _ = prepare_inputs(x, weights, dtype)
    cols = []
    for i, j in angle_ops(ops):
        v = _param_value(ops[i].params[j], x, w)
        if shift is not None and shift[0] == i and shift[1] == j:
            v = v + shift[2]
        cols.append(v.expand(batch) if v.dim() else v.expand(batch))
    if not cols:
        return torch.zeros(batch, 0, dtype=torch.float64, device=x.device)
    return torch.stack(cols, dim=1).double()


def parameterized_circuit(ops: Sequence[Op], n_qubits: int):
    """(QuantumCircuit with one Parameter per angle and measure_all, amplitude op or None)."""
    qiskit = require("qiskit", "hardware")
    from qiskit.circuit import ParameterVector

    positions = angle_ops(ops)
    theta = ParameterVector("t", len(positions))
    index = {pos: k for k, pos in enumerate(positions)}
    qc = qiskit.QuantumCircuit(n_qubits)
    amplitude = None

    def q(w: int) -> int:  # qedm wire 0 is the most significant bit, Qiskit qubit 0 the least
        return n_qubits - 1 - w

    for i, op in enumerate(ops):
        a = [theta[index[(i, j)]] for j in range(len(op.params))] if op.name != "AmplitudeEmbedding" else []
        qs = [q(w) for w in op.wires]
        if op.name == "AmplitudeEmbedding":
            if i != 0:
                raise CircuitError(f"AmplitudeEmbedding must be the first op, found at position {i}")
            amplitude = op
        elif op.name in ("H", "X", "Z"):
            getattr(qc, op.name.lower())(qs[0])
        elif op.name == "CNOT":
            qc.cx(*qs)
        elif op.name == "CZ":
            qc.cz(*qs)
        elif op.name in ("RX", "RY", "RZ"):
            getattr(qc, op.name.lower())(a[0], qs[0])
        elif op.name == "Rot":  # Rot(a, b, c) = RZ(c) RY(b) RZ(a)
            qc.rz(a[0], qs[0])
            qc.ry(a[1], qs[0])
            qc.rz(a[2], qs[0])
        elif op.name in ("CRX", "CRZ"):
            getattr(qc, op.name.lower())(a[0], *qs)
        else:
            raise CircuitError(f"gate {op.name!r} cannot be transpiled for a device")
    qc.measure_all()
    return qc, amplitude


def _affine(expr, n_angles: int) -> tuple[float, tuple[tuple[int, float], ...]]:
    """(const, sparse coef) of a gate angle; CircuitError if it is not affine in the Parameters."""
    if not hasattr(expr, "parameters"):
        return float(expr), ()
    coef = []
    for p in expr.parameters:
        g = expr.gradient(p)
        if hasattr(g, "parameters") and g.parameters:
            raise CircuitError(f"transpiled angle {expr} is not affine in the circuit's angles")
        coef.append((int(p.index), float(g)))
    const = expr.bind({p: 0.0 for p in expr.parameters})
    return float(const), tuple(sorted(coef))


def transpile_program(ops: Sequence[Op], n_qubits: int, backend, device: str, seed: int = 0) -> DeviceProgram:
    """Transpile an Op list for `backend` (optimization level 1, fixed seed) into a DeviceProgram."""
    qiskit = require("qiskit", "hardware")
    if n_qubits > backend.num_qubits:
        raise CircuitError(f"the circuit has {n_qubits} qubits but device {device!r} has {backend.num_qubits}")
    qc, amplitude = parameterized_circuit(ops, n_qubits)
    tqc = qiskit.transpile(qc, backend=backend, optimization_level=1, seed_transpiler=seed)
    n_angles = len(angle_ops(ops))
    initial_phys = tqc.layout.initial_index_layout()[:n_qubits] if tqc.layout is not None else list(range(n_qubits))
    used: list[int] = []
    raw = []
    measured_phys = [None] * n_qubits
    for item in tqc.data:
        qubits = [tqc.find_bit(b).index for b in item.qubits]
        name = item.operation.name
        if name == "barrier":
            continue
        if name == "measure":
            measured_phys[tqc.find_bit(item.clbits[0]).index] = qubits[0]
            continue
        raw.append((name, qubits, list(item.operation.params)))
        used += qubits
    if any(m is None for m in measured_phys):
        raise CircuitError("the transpiled circuit does not measure every qubit")
    physical = sorted(set(used) | set(measured_phys) | set(initial_phys))
    active = {p: j for j, p in enumerate(physical)}
    instructions = []
    for name, qubits, params in raw:
        qs = tuple(active[p] for p in qubits)
        if name in PARAMETRIC:
            const, coef = _affine(params[0], n_angles)
            instructions.append(Instruction(name, qs, const, coef))
        elif params:
            raise CircuitError(f"native gate {name!r} with parameters is not supported by the device emulator")
        elif name != "delay":
            instructions.append(Instruction(name, qs))
    return DeviceProgram(
        device=device, n_logical=n_qubits, physical=tuple(physical),
        measured=tuple(active[p] for p in measured_phys), initial=tuple(active[p] for p in initial_phys),
        instructions=tuple(instructions), n_angles=n_angles, amplitude=amplitude,
    )


def gate_angles(program: DeviceProgram, theta: torch.Tensor) -> list[torch.Tensor | None]:
    """Per instruction its angle [B] (parametric) or None: theta [B, P] float64."""
    out = []
    for ins in program.instructions:
        if ins.name not in PARAMETRIC:
            out.append(None)
            continue
        a = torch.full((theta.shape[0],), ins.const, dtype=torch.float64, device=theta.device)
        for i, c in ins.coef:
            a = a + c * theta[:, i]
        out.append(a)
    return out


def amplitude_state(program: DeviceProgram, x: torch.Tensor) -> torch.Tensor:
    """The amplitude-embedded state on the active qubits: x [B, k] -> [B, 2**n_active] complex128 (Qiskit order).

    qedm's state index equals Qiskit's logical index; logical bit i moves to active bit initial[i].
    """
    op = program.amplitude
    n, k = program.n_logical, program.n_active
    feats = torch.stack([x[:, p.index[0]].double() * p.scale for p in op.params], dim=1)
    vec = torch.zeros(x.shape[0], 2**n, dtype=torch.float64, device=x.device)
    vec[:, : feats.shape[1]] = feats
    norm = vec.norm(dim=1, keepdim=True)
    if bool((norm == 0).any()):
        raise CircuitError("amplitude embedding of an all-zero input row x is undefined")
    logical = np.arange(2**n)
    target = np.zeros(2**n, dtype=np.int64)
    for i in range(n):
        target |= ((logical >> i) & 1) << program.initial[i]
    psi = torch.zeros(x.shape[0], 2**k, dtype=torch.complex128, device=x.device)
    psi[:, torch.as_tensor(target, device=x.device)] = (vec / norm).to(torch.complex128)
    return psi


