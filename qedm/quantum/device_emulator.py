"""qedm's device engine: a batched Pauli-transfer emulator of a transpiled `DeviceProgram` with its noise.

The state of B rows is rho in the Pauli basis, r_P = Tr(P rho) for every Pauli string P over the
program's k active qubits: a REAL tensor [B, 4, ..., 4] (one axis per qubit, I X Y Z), so every
channel is a real Pauli transfer matrix (PTM) and applying one costs a quarter of the complex
superoperator's flops on half the memory. Every native gate is followed by its device error (the
Kraus operators of `device_noise`), as in Aer; gate and error are one fixed or per-row PTM. Runs of
one-qubit gates on a qubit are composed into ONE [B, 4, 4] PTM, and consecutive gates on one qubit
pair (a SWAP's three CNOTs, the one-qubit gates between and around them, the measurement
relaxation at the end) into one [B, 16, 16] block: the state is visited about once per pair block.
Each visit is one copy that moves the block's axes last and one batched matmul; the axis order is
tracked instead of restored. All of it is torch, so exact expectations are differentiable w.r.t.
the angles (and so x and the weights). Returns the measured logical bits' distribution [B, 2**n]
in qedm's order (wire 0 = MSB), with the device's readout error applied.
"""

from __future__ import annotations

import itertools

import torch

from qedm.errors import CircuitError
from qedm.quantum.device_noise import ProgramNoise
from qedm.quantum.device_program import DeviceProgram, amplitude_state, gate_angles
from qedm.quantum.noise import MAX_DENSITY_QUBITS, superoperator

_FIXED = {}
_PAULI = torch.tensor([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
                      dtype=torch.complex128)
_BASIS: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}


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


def _pauli_basis(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, T^-1) [4**k, 4**k] complex128: r = T vec(rho), vec row-major, Pauli index of the MSB qubit first."""
    if k not in _BASIS:
        rows = []
        for letters in itertools.product(range(4), repeat=k):
            p = torch.ones(1, 1, dtype=torch.complex128)
            for a in letters:
                p = torch.kron(p, _PAULI[a])
            rows.append(p.T.reshape(-1))  # r_P = sum_rc P[c, r] rho[r, c]
        t = torch.stack(rows)
        _BASIS[k] = t, t.conj().T / 2**k
    return _BASIS[k]


def pauli_transfer(sop: torch.Tensor) -> torch.Tensor:
    """A superoperator [(B,) 4**k, 4**k] (vec row-major, as `noise.superoperator`) as a real PTM, float64."""
    k = {4: 1, 16: 2}.get(sop.shape[-1])
    t, t_inv = _pauli_basis(k)
    return (t @ sop.to(torch.complex128) @ t_inv).real


class DeviceEmulator:
    """Compiled transfer matrices of one (program, noise); `probabilities(theta, x)` runs B rows."""

    def __init__(self, program: DeviceProgram, noise: ProgramNoise, dtype: torch.dtype = torch.complex128) -> None:
        if program.n_active > MAX_DENSITY_QUBITS:
            raise CircuitError(
                f"the transpiled circuit uses {program.n_active} device qubits; the density-matrix engine "
                f"supports at most {MAX_DENSITY_QUBITS}"
            )
        self.program, self.noise, self.dtype = program, noise, dtype
        # the state is real in the matching precision; PTMs compose in float64
        self.real_dtype = torch.float32 if dtype == torch.complex64 else torch.float64
        self.k = program.n_active
        self.noise_ptm = {key: pauli_transfer(superoperator([torch.as_tensor(m) for m in kraus]))
                          for key, kraus in noise.gate.items()}
        self.fixed = {}  # (name, qubits) -> gate then its error, one PTM
        for ins in program.instructions:
            if len(ins.qubits) > 2:
                raise CircuitError(f"native gate {ins.name!r} on {len(ins.qubits)} qubits is not supported")
            if ins.name not in ("rz", "rx") and (ins.name, ins.qubits) not in self.fixed:
                self.fixed[(ins.name, ins.qubits)] = self._with_error(
                    pauli_transfer(superoperator([fixed_matrix(ins.name)])), ins.name, ins.qubits)
        self.readout = [torch.as_tensor(m) for m in noise.readout]
        self._final: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] = {}

    def _with_error(self, ptm: torch.Tensor, name: str, qubits: tuple[int, ...]) -> torch.Tensor:
        err = self.noise_ptm.get((name, qubits))
        return ptm if err is None else err @ ptm

    def _one_qubit(self, name: str, q: int, angle: torch.Tensor | None) -> torch.Tensor:
        """Gate and its error on qubit q: [4, 4] (fixed) or [B, 4, 4] (rotation) float64."""
        if angle is None:
            return self.fixed[(name, (q,))]
        return self._with_error(pauli_transfer(superoperator([rotation_matrices(name, angle)])), name, (q,))

    def initial_state(self, batch: int, x: torch.Tensor | None, device) -> torch.Tensor:
        """Pauli vector of the initial state [B, 4**k]: |0..0> or the amplitude-embedded state of x."""
        k = self.k
        if self.program.amplitude is None:
            zero = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=self.real_dtype, device=device)  # |0><0| = (I + Z)/2
            state = zero
            for _ in range(k - 1):
                state = torch.outer(state, zero).reshape(-1)
            return state.expand(batch, -1).clone()
        psi = amplitude_state(self.program, x)  # [B, 2**k]
        rho = (psi[:, :, None] * psi.conj()[:, None, :]).reshape((batch,) + (2,) * (2 * k))
        t1 = _PAULI.transpose(-1, -2).to(psi.device)  # [P, r, c] = P[c, r]
        for q in range(k):  # contract qubit (row axis 1+q, col axis 1+k) into one Pauli axis, moved last
            rho = torch.tensordot(rho, t1, dims=([1, 1 + k - q], [1, 2]))
        return rho.real.reshape(batch, -1).to(self.real_dtype)

    def pauli_state(self, theta: torch.Tensor, x: torch.Tensor | None = None) -> tuple[torch.Tensor, list[int]]:
        """Final Pauli vector [B, 4, ..., 4] (real) and its axis order (active qubit of each axis after B)."""
        batch, k = theta.shape[0], self.k
        state = self.initial_state(batch, x, theta.device).reshape((batch,) + (4,) * k)
        order = [k - 1 - w for w in range(k)]  # axis 1 + w holds active qubit k-1-w (the MSB first)
        pending: dict[int, torch.Tensor] = {}  # qubit -> composed one-qubit PTM [(B,) 4, 4]
        blocks: dict[tuple[int, int], torch.Tensor] = {}  # (hi, lo) -> composed two-qubit PTM [(B,) 16, 16]
        owner: dict[int, tuple[int, int]] = {}  # qubit -> the open block holding it

        def apply(ptm: torch.Tensor, qubits: tuple[int, ...]) -> None:
            nonlocal state, order
            rest = [q for q in order if q not in qubits]
            new = rest + list(qubits)
            if new != order:
                state = state.permute([0] + [1 + order.index(q) for q in new])
            flat = state.reshape(batch, -1, 4 ** len(qubits))
            state = torch.matmul(flat, ptm.to(dtype=self.real_dtype, device=flat.device).transpose(-1, -2))
            state, order = state.reshape((batch,) + (4,) * k), new

        def flush_block(pair: tuple[int, int]) -> None:
            ptm = blocks.pop(pair)
            for q in pair:
                owner.pop(q)
            apply(ptm, pair)

        def one_qubit(q: int, ptm: torch.Tensor) -> None:
            if q in owner:  # absorbed into the open block on q
                pair = owner[q]
                blocks[pair] = lift(ptm, pair.index(q)) @ blocks[pair]
            else:
                pending[q] = ptm if q not in pending else ptm @ pending[q]

        for ins, angle in zip(self.program.instructions, gate_angles(self.program, theta)):
            if len(ins.qubits) == 1:
                one_qubit(ins.qubits[0], self._one_qubit(ins.name, ins.qubits[0], angle))
                continue
            a, b = ins.qubits
            gate = self.fixed[(ins.name, ins.qubits)]  # matrix order (b, a): b is the MSB
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
        for q in self.program.measured:  # relaxation during measurement, where the device reports it
            err = self.noise_ptm.get(("measure", (q,)))
            if err is not None:
                one_qubit(q, err)
        for pair in list(blocks):
            flush_block(pair)
        for q in list(pending):
            apply(pending.pop(q), (q,))
        return state, order

    def _final_maps(self, order: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        """(flat indices of the I/Z strings [2**k], Walsh map [2**k, 2**k] to Qiskit-ordered probabilities)."""
        if order not in self._final:
            k = self.k
            idx = torch.zeros(2**k, dtype=torch.long)
            bits = torch.tensor(list(itertools.product((0, 1), repeat=k)))  # [S, axis]: Z on that axis or I
            for axis in range(k):
                idx = idx * 4 + bits[:, axis] * 3
            qiskit = torch.arange(2**k)
            b = torch.stack([(qiskit >> order[axis]) & 1 for axis in range(k)], 1)  # [b, axis]
            walsh = (1 - 2 * ((b @ bits.T) % 2)).to(torch.float64) / 2**k  # [b, S]
            self._final[order] = idx, walsh
        return self._final[order]

    def active_probabilities(self, theta: torch.Tensor, x: torch.Tensor | None = None,
                             readout: bool = True) -> torch.Tensor:
        """Distribution over the k active qubits [B, 2**k] (Qiskit order), readout error applied if asked."""
        state, order = self.pauli_state(theta, x)
        idx, walsh = self._final_maps(tuple(order))
        z = state.reshape(state.shape[0], -1)[:, idx.to(state.device)]
        probs = z @ walsh.to(dtype=z.dtype, device=z.device).T
        if not readout:
            return probs
        return apply_local(probs, {q: self.readout[q] for q in self.program.measured}, self.k)

    def probabilities(self, theta: torch.Tensor, x: torch.Tensor | None = None, readout: bool = True) -> torch.Tensor:
        """Distribution of the n measured logical bits [B, 2**n] in qedm order (wire 0 = MSB)."""
        return logical_marginal(self.active_probabilities(theta, x, readout), self.program)


def lift(ptm: torch.Tensor, position: int) -> torch.Tensor:
    """A one-qubit PTM [(B,) 4, 4] as a two-qubit one [(B,) 16, 16] on qubit 0 (MSB) or 1 of the pair."""
    eye = torch.eye(4, dtype=ptm.dtype, device=ptm.device)
    lead = ptm.shape[:-2]
    if position == 0:
        out = ptm[..., :, None, :, None] * eye[:, None, :]
    else:
        out = eye[:, None, :, None] * ptm[..., None, :, None, :]
    return out.reshape(*lead, 16, 16)


def swap_qubits(ptm: torch.Tensor) -> torch.Tensor:
    """A two-qubit PTM [(B,) 16, 16] with the roles of its two qubits exchanged."""
    lead = ptm.shape[:-2]
    n = len(lead)
    perm = list(range(n)) + [n + i for i in (1, 0, 3, 2)]
    return ptm.reshape(*lead, 4, 4, 4, 4).permute(perm).reshape(*lead, 16, 16)


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
