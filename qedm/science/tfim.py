"""Exact ground states of the transverse-field Ising chain H = -J sum Z_i Z_{i+1} - h sum X_i.

Sparse diagonalisation (scipy's Lanczos, `eigsh`) in the even sector of the spin-flip parity
P = prod X_i. H commutes with P, and for h > 0 the finite chain's ground state is the unique
even state (for h -> 0 the even and odd lowest states become degenerate: restricting to the
even sector picks the symmetric cat state instead of an arbitrary mixture of the two).
Basis convention: bit i of a basis index is qubit i, bit 0 = Z eigenvalue +1, bit 1 = -1.
Everything here is exact for the finite chain; snapshots.py draws measurements from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import eigsh

from qedm.errors import ConfigError

BOUNDARIES = ("open", "periodic")
MAX_SITES = 20  # the dense ground-state vector is 2^n complex numbers


@dataclass(frozen=True)
class TFIMChain:
    """A transverse-field Ising chain: n sites, coupling J, field h, open or periodic ends."""

    n: int
    h: float
    J: float = 1.0
    boundary: str = "periodic"

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or not 2 <= self.n <= MAX_SITES:
            raise ConfigError(f"n (sites) must be an integer in 2..{MAX_SITES}, got {self.n!r}")
        if self.boundary not in BOUNDARIES:
            raise ConfigError(f"boundary={self.boundary!r} is not one of: {', '.join(BOUNDARIES)}")
        for name in ("h", "J"):
            if not np.isfinite(getattr(self, name)):
                raise ConfigError(f"{name} must be a finite number, got {getattr(self, name)!r}")
        if self.J < 0 and self.boundary == "periodic" and self.n % 2:
            # Frustrated ring: its ground state may lie in the odd sector, which ground_state skips.
            raise ConfigError(f"J={self.J} < 0 needs an even n or open ends (a frustrated ring of n={self.n})")

    @property
    def bonds(self) -> list[tuple[int, int]]:
        """Nearest-neighbour pairs (i, i+1); periodic chains add (n-1, 0)."""
        last = self.n if self.boundary == "periodic" else self.n - 1
        return [(i, (i + 1) % self.n) for i in range(last)]


def _spins(n: int) -> np.ndarray:
    """Z eigenvalues of every basis state: [2^n, n] in {+1, -1}."""
    index = np.arange(2 ** n)[:, None]
    return 1 - 2 * ((index >> np.arange(n)[None, :]) & 1)


def hamiltonian(chain: TFIMChain) -> csr_matrix:
    """The full 2^n x 2^n Hamiltonian as a sparse real matrix (both parity sectors)."""
    dim = 2 ** chain.n
    spins = _spins(chain.n)
    diagonal = -chain.J * sum(spins[:, i] * spins[:, j] for i, j in chain.bonds)
    rows = [np.arange(dim)]
    cols = [np.arange(dim)]
    values = [diagonal.astype(float)]
    for i in range(chain.n):  # X_i flips bit i
        rows.append(np.arange(dim))
        cols.append(np.arange(dim) ^ (1 << i))
        values.append(np.full(dim, -chain.h))
    return csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(dim, dim))


def _even_sector_hamiltonian(chain: TFIMChain) -> csr_matrix:
    """H on the even states (|s> + |~s>)/sqrt(2), s with its top bit 0: [2^(n-1), 2^(n-1)].

    X_i maps the pair of s to the pair of s ^ (1 << i); when that flips the top bit, the pair is
    labelled by the complement, which has the top bit 0 again. Coefficients stay -h (even sector).
    """
    half = 2 ** (chain.n - 1)
    full = (1 << chain.n) - 1
    index = np.arange(half)
    spins = _spins(chain.n)[:half]
    diagonal = -chain.J * sum(spins[:, i] * spins[:, j] for i, j in chain.bonds)
    rows, cols, values = [index], [index], [diagonal.astype(float)]
    for i in range(chain.n):
        target = index ^ (1 << i)
        target = np.where(target >= half, target ^ full, target)
        rows.append(index)
        cols.append(target)
        values.append(np.full(half, -chain.h))
    return csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(half, half))


@dataclass(frozen=True)
class GroundState:
    """The exact ground state of a chain: its energy and real amplitudes psi: [2^n] (norm 1)."""

    chain: TFIMChain
    energy: float
    psi: np.ndarray

    def born_z(self) -> np.ndarray:
        """Probabilities of the 2^n bitstrings measured in the Z basis: [2^n]."""
        return self.psi ** 2

    def born_x(self) -> np.ndarray:
        """Probabilities in the X basis (bit 0 = X eigenvalue +1): |H^{(x)n} psi|^2, [2^n]."""
        return walsh_hadamard(self.psi) ** 2

    def observables(self) -> dict[str, float]:
        """Exact <|M_z|>, <Z_i Z_{i+1}> (bond average), <X> (site average) and energy per site."""
        return exact_observables(self)


def ground_state(chain: TFIMChain) -> GroundState:
    """Exact ground state in the even parity sector by sparse Lanczos (dense solve below 2^7 states)."""
    return _cached_ground_state(chain)


@lru_cache(maxsize=64)
def _cached_ground_state(chain: TFIMChain) -> GroundState:
    h_even = _even_sector_hamiltonian(chain)
    if h_even.shape[0] <= 64:
        values, vectors = np.linalg.eigh(h_even.toarray())
    else:
        start = np.ones(h_even.shape[0])  # overlaps the ground state (its amplitudes share one sign for J >= 0)
        values, vectors = eigsh(h_even, k=1, which="SA", v0=start, tol=1e-12, maxiter=10_000)
    v = vectors[:, 0]
    half = len(v)
    psi = np.empty(2 * half)
    psi[:half] = v / np.sqrt(2.0)
    full = (1 << chain.n) - 1
    psi[full ^ np.arange(half)] = v / np.sqrt(2.0)  # the complement of each s carries the same amplitude
    psi /= np.linalg.norm(psi)
    if psi.sum() < 0:  # fix the global sign for reproducible output
        psi = -psi
    psi.setflags(write=False)
    return GroundState(chain, float(values[0]), psi)


def walsh_hadamard(psi: np.ndarray) -> np.ndarray:
    """Apply H on every qubit: [2^n] -> [2^n] (fast Walsh-Hadamard transform, normalised)."""
    out = np.array(psi, dtype=float)
    n = int(np.log2(out.size))
    for i in range(n):
        shaped = out.reshape(-1, 2, 2 ** i)
        a, b = shaped[:, 0, :].copy(), shaped[:, 1, :].copy()
        shaped[:, 0, :], shaped[:, 1, :] = (a + b) / np.sqrt(2.0), (a - b) / np.sqrt(2.0)
    return out


def exact_observables(state: GroundState) -> dict[str, float]:
    """Expectation values in the ground state, per site or per bond (see GroundState.observables)."""
    chain = state.chain
    spins = _spins(chain.n)
    p_z = state.born_z()
    magnetisation = np.abs(spins.mean(axis=1)) @ p_z
    zz = np.mean([(spins[:, i] * spins[:, j]) @ p_z for i, j in chain.bonds])
    x = spins.mean(axis=1) @ state.born_x()  # X-basis outcomes use the same +-1 bit convention
    n_bonds = len(chain.bonds)
    energy = (-chain.J * n_bonds * zz - chain.h * chain.n * x) / chain.n
    return {"abs_mz": float(magnetisation), "zz": float(zz), "x": float(x), "energy_per_site": float(energy)}


def free_fermion_energy(n: int, h: float, J: float = 1.0) -> float:
    """Closed-form ground-state energy of the periodic chain (Jordan-Wigner; Pfeuty 1970).

    The even parity sector maps to fermions with antiperiodic boundary conditions, momenta
    k = (2m + 1) pi / n, m = 0..n-1, single-particle energies 2 sqrt(J^2 + h^2 - 2 J h cos k):
    E0 = -sum_k sqrt(J^2 + h^2 - 2 J h cos k). Valid for J, h >= 0 (the even-sector ground state).
    """
    k = (2 * np.arange(n) + 1) * np.pi / n
    return float(-np.sqrt(J ** 2 + h ** 2 - 2 * J * h * np.cos(k)).sum())
