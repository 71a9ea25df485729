"""qedm's device engine: a batched density-matrix emulator of a transpiled `DeviceProgram` with its noise.

rho is [B, 2**k, 2**k] over the program's k active qubits; active qubit j is emulator wire k-1-j,
so a state index is Qiskit's little-endian integer. Every native gate is followed by its device
error (Kraus operators from `device_noise`), as in Aer. Runs of one-qubit gates (with their
errors) on a qubit are composed into ONE batched [B, 4, 4] superoperator before they touch rho,
and consecutive gates on one qubit pair (a SWAP's three CNOTs, the one-qubit gates between
them) are composed into one [B, 16, 16] block: rho is visited about once per pair block plus
once per qubit, not once per native gate. All of it is torch, so
exact expectations are differentiable w.r.t. the angles (and so x and the weights).
Returns the measured logical bits' distribution [B, 2**n] in qedm's order (wire 0 = MSB), with
the device's readout error applied.
"""

from __future__ import annotations

import torch

from qedm.errors import CircuitError
from qedm.quantum.device_noise import ProgramNoise
from qedm.quantum.device_program import DeviceProgram, amplitude_state, gate_angles
from qedm.quantum.noise import MAX_DENSITY_QUBITS, apply_superoperator, superoperator

_FIXED = {}


def fixed_matrix(name: str) -> torch.Tensor:
    """Unitary of a fixed native gate (Qiskit's definition, little-endian): [2**k, 2**k] complex128."""
    if name not in _FIXED:
        from qiskit.circuit.library import get_standard_gate_name_mapping

        gate = get_standard_gate_name_mapping().get(name)
        if gate is None:
            raise CircuitError(f"unknown native gate {name!r}")
        _FIXED[name] = torch.tensor(gate.to_matrix().copy(), dtype=torch.complex128)
    return _FIXED[name]


def rotation_matrices(name: str, angle: torch.Tensor) -> torch.Tensor:
    """Batched rz/rx: angle [B] -> [B, 2, 2] complex128."""
    half = angle.to(torch.float64) / 2
    c, s = torch.cos(half).to(torch.complex128), torch.sin(half).to(torch.complex128)
    zero = torch.zeros_like(c)
    if name == "rz":
        e = torch.polar(torch.ones_like(half), -half)
        return torch.stack([torch.stack([e, zero], -1), torch.stack([zero, e.conj()], -1)], -2)
    if name == "rx":
        return torch.stack([torch.stack([c, -1j * s], -1), torch.stack([-1j * s, c], -1)], -2)
    raise CircuitError(f"unknown parametric native gate {name!r}")


class DeviceEmulator:
    """Compiled superoperators of one (program, noise); `probabilities(theta, x)` runs B rows."""

    def __init__(self, program: DeviceProgram, noise: ProgramNoise, dtype: torch.dtype = torch.complex128) -> None:
        if program.n_active > MAX_DENSITY_QUBITS:
            raise CircuitError(
                f"the transpiled circuit uses {program.n_active} device qubits; the density-matrix engine "
                f"supports at most {MAX_DENSITY_QUBITS}"
            )
        self.program, self.noise, self.dtype = program, noise, dtype  # rho's dtype; operators compose in complex128
        self.k = program.n_active
        self.noise_sop = {key: superoperator([torch.as_tensor(m) for m in kraus]) for key, kraus in noise.gate.items()}
        self.two_qubit = {}
        for ins in program.instructions:
            if len(ins.qubits) == 2 and (ins.name, ins.qubits) not in self.two_qubit:
                sop = superoperator([fixed_matrix(ins.name)])
                err = self.noise_sop.get((ins.name, ins.qubits))
                self.two_qubit[(ins.name, ins.qubits)] = sop if err is None else err @ sop
            elif len(ins.qubits) > 2:
                raise CircuitError(f"native gate {ins.name!r} on {len(ins.qubits)} qubits is not supported")
        self.readout = [torch.as_tensor(m) for m in noise.readout]

    def _wire(self, q: int) -> int:
        return self.k - 1 - q

    def _one_qubit_sop(self, name: str, q: int, angle: torch.Tensor | None) -> torch.Tensor:
        mat = fixed_matrix(name) if angle is None else rotation_matrices(name, angle)
        sop = superoperator([mat])
        err = self.noise_sop.get((name, (q,)))
        return sop if err is None else err @ sop

    def density_matrix(self, theta: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Final rho [B, 2**k, 2**k] (self.dtype) for angles theta [B, P] (x: the amplitude features)."""
        batch, k, dim = theta.shape[0], self.k, 2**self.k
        if self.program.amplitude is not None:
            psi = amplitude_state(self.program, x)
            rho = (psi[:, :, None] * psi.conj()[:, None, :]).to(self.dtype)
        else:
            rho = torch.zeros(batch, dim, dim, dtype=self.dtype, device=theta.device)
            rho[:, 0, 0] = 1
        pending: dict[int, torch.Tensor] = {}  # qubit -> composed one-qubit superoperator [(B,) 4, 4]
        blocks: dict[tuple[int, int], torch.Tensor] = {}  # (hi, lo) -> composed two-qubit block [(B,) 16, 16]
        owner: dict[int, tuple[int, int]] = {}  # qubit -> the open block holding it

        def flush_block(pair: tuple[int, int]) -> None:
            nonlocal rho
            sop = blocks.pop(pair)
            for q in pair:
                owner.pop(q)
            rho = apply_superoperator(rho, sop, [self._wire(pair[0]), self._wire(pair[1])], k)

        def flush_one(q: int) -> None:
            nonlocal rho
            sop = pending.pop(q, None)
            if sop is not None:
                rho = apply_superoperator(rho, sop, [self._wire(q)], k)

        for ins, angle in zip(self.program.instructions, gate_angles(self.program, theta)):
            if len(ins.qubits) == 1:
                q = ins.qubits[0]
                sop = self._one_qubit_sop(ins.name, q, angle)
                if q in owner:  # absorbed into the open block on q
                    pair = owner[q]
                    blocks[pair] = lift(sop, pair.index(q)) @ blocks[pair]
                else:
                    pending[q] = sop if q not in pending else sop @ pending[q]
                continue
            a, b = ins.qubits
            gate = self.two_qubit[(ins.name, ins.qubits)]  # matrix order (b, a): b is the MSB
            pair = owner.get(a)
            if pair is not None and owner.get(b) == pair:
                blocks[pair] = (gate if pair == (b, a) else swap_qubits(gate)) @ blocks[pair]
                continue
            for q in (a, b):
                if q in owner:
                    flush_block(owner[q])
            block = gate
            for q in (b, a):
                if q in pending:
                    block = block @ lift(pending.pop(q), (b, a).index(q))
            blocks[(b, a)] = block
            owner[a] = owner[b] = (b, a)
        for pair in list(blocks):
            flush_block(pair)
        for q in list(pending):
            flush_one(q)
        for q in self.program.measured:  # relaxation during measurement, where the device reports it
            err = self.noise_sop.get(("measure", (q,)))
            if err is not None:
                rho = apply_superoperator(rho, err, [self._wire(q)], k)
        return rho

    def active_probabilities(self, theta: torch.Tensor, x: torch.Tensor | None = None,
                             readout: bool = True) -> torch.Tensor:
        """Distribution over the k active qubits [B, 2**k] (Qiskit order), readout error applied if asked."""
        rho = self.density_matrix(theta, x)
        probs = torch.diagonal(rho, dim1=-2, dim2=-1).real
        if not readout:
            return probs
        return apply_local(probs, {q: self.readout[q] for q in self.program.measured}, self.k)

    def probabilities(self, theta: torch.Tensor, x: torch.Tensor | None = None, readout: bool = True) -> torch.Tensor:
        """Distribution of the n measured logical bits [B, 2**n] in qedm order (wire 0 = MSB)."""
        return logical_marginal(self.active_probabilities(theta, x, readout), self.program)


def lift(sop: torch.Tensor, position: int) -> torch.Tensor:
    """A one-qubit superoperator [(B,) 4, 4] as a two-qubit one [(B,) 16, 16] on qubit 0 (MSB) or 1 of the pair."""
    eye = torch.eye(2, dtype=sop.dtype, device=sop.device)
    s = sop.reshape(*sop.shape[:-2], 2, 2, 2, 2)  # (r, c, r', c')
    if position == 0:
        out = torch.einsum("...acAC,bB,dD->...abcdABCD", s, eye, eye)
    else:
        out = torch.einsum("...bdBD,aA,cC->...abcdABCD", s, eye, eye)
    return out.reshape(*sop.shape[:-2], 16, 16)


def swap_qubits(sop: torch.Tensor) -> torch.Tensor:
    """A two-qubit superoperator [(B,) 16, 16] with the roles of its two qubits exchanged."""
    lead = sop.shape[:-2]
    s = sop.reshape(*lead, *(2,) * 8)
    n = len(lead)
    perm = list(range(n)) + [n + i for i in (1, 0, 3, 2, 5, 4, 7, 6)]
    return s.permute(perm).reshape(*lead, 16, 16)


def apply_local(probs: torch.Tensor, matrices: dict, n_bits: int) -> torch.Tensor:
    """Apply per-bit 2x2 maps new[m] = sum_p M[p, m] old[p]: probs [B, 2**n] (bit j = Qiskit qubit j)."""
    batch = probs.shape[0]
    p = probs.reshape((batch,) + (2,) * n_bits)
    for q, m in matrices.items():
        axis = 1 + (n_bits - 1 - q)
        p = torch.movedim(torch.tensordot(p, m.to(p.dtype).to(p.device), dims=([axis], [0])), -1, axis)
    return p.reshape(batch, -1)


def logical_marginal(active: torch.Tensor, program: DeviceProgram) -> torch.Tensor:
    """[B, 2**k] over active qubits -> [B, 2**n] over logical bits, qedm order (bit of wire w = Qiskit n-1-w)."""
    k, n, batch = program.n_active, program.n_logical, active.shape[0]
    p = active.reshape((batch,) + (2,) * k)  # axis 1 + (k-1-j) is active qubit j
    order = [1 + (k - 1 - program.measured[i]) for i in reversed(range(n))]  # logical MSB first
    rest = [a for a in range(1, k + 1) if a not in order]
    p = p.permute([0] + order + rest).reshape(batch, 2**n, -1).sum(-1)
    return p
