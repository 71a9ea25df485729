"""Exact TFIM ground states against Qiskit's Pauli matrices, the free-fermion closed form and known limits."""

import numpy as np
import pytest
from scipy.sparse.linalg import eigsh

from qedm.errors import ConfigError
from qedm.science.tfim import (
    TFIMChain,
    free_fermion_energy,
    ground_state,
    hamiltonian,
    walsh_hadamard,
)


def qiskit_hamiltonian(chain: TFIMChain):
    """The same H from Qiskit's SparsePauliOp (Qiskit labels read qubit 0 at the right end)."""
    SparsePauliOp = pytest.importorskip("qiskit.quantum_info").SparsePauliOp
    terms = [("ZZ", [i, j], -chain.J) for i, j in chain.bonds] + [("X", [i], -chain.h) for i in range(chain.n)]
    return SparsePauliOp.from_sparse_list(terms, num_qubits=chain.n).to_matrix(sparse=True)


@pytest.mark.parametrize("n", [8, 10, 12])
@pytest.mark.parametrize("boundary", ["open", "periodic"])
@pytest.mark.parametrize("h", [0.3, 1.0, 1.7])
def test_ground_energy_matches_qiskit_full_spectrum(n, boundary, h):
    chain = TFIMChain(n, h, 1.0, boundary)
    reference = qiskit_hamiltonian(chain)
    assert abs(reference - hamiltonian(chain)).max() < 1e-12  # the same matrix, entry by entry
    e_ref = eigsh(reference.real.astype(float), k=1, which="SA", tol=1e-12)[0][0]
    state = ground_state(chain)
    assert abs(state.energy - e_ref) < 1e-8
    # psi is a normalised eigenvector of the reference matrix
    assert abs(np.linalg.norm(state.psi) - 1) < 1e-12
    assert np.abs(reference @ state.psi - e_ref * state.psi).max() < 1e-7


@pytest.mark.parametrize("n", [8, 9, 12])
@pytest.mark.parametrize("h", [0.0, 0.5, 1.0, 2.5])
def test_periodic_energy_matches_free_fermions(n, h):
    state = ground_state(TFIMChain(n, h, 1.0, "periodic"))
    assert abs(state.energy - free_fermion_energy(n, h)) < 1e-8


def test_free_fermion_uses_the_antiperiodic_sector():
    # The periodic momenta k = 2 pi m / n give a different number: the sector matters.
    n, h = 8, 0.7
    k = 2 * np.pi * np.arange(n) / n
    periodic_k = -np.sqrt(1 + h ** 2 - 2 * h * np.cos(k)).sum()
    assert abs(free_fermion_energy(n, h) - periodic_k) > 1e-3


def test_ordered_limit_is_a_cat_state():
    obs = ground_state(TFIMChain(8, 1e-4)).observables()
    assert obs["abs_mz"] > 0.9999 and obs["zz"] > 0.9999 and abs(obs["x"]) < 1e-3
    psi = ground_state(TFIMChain(8, 0.0)).psi
    assert abs(psi[0] ** 2 - 0.5) < 1e-12 and abs(psi[-1] ** 2 - 0.5) < 1e-12  # (|0..0> + |1..1>)/sqrt 2


@pytest.mark.parametrize("boundary", ["open", "periodic"])
def test_paramagnet_limit_matches_perturbation_theory(boundary):
    J, h = 1.0, 50.0
    obs = ground_state(TFIMChain(8, h, J, boundary)).observables()
    assert obs["x"] > 1 - (J / h) ** 2
    # first order in J/h: each bond's ZZ admixes |--> at cost 4h, so <Z_i Z_i+1> = J / (2h)
    assert abs(obs["zz"] - J / (2 * h)) < (J / h) ** 2
    assert abs(obs["energy_per_site"] + h) < J


def test_born_distributions_are_normalised_and_x_basis_is_the_hadamard_transform():
    state = ground_state(TFIMChain(8, 0.8, 1.0, "open"))
    assert abs(state.born_z().sum() - 1) < 1e-12 and abs(state.born_x().sum() - 1) < 1e-12
    H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    full = H
    for _ in range(7):
        full = np.kron(full, H)
    assert np.abs(walsh_hadamard(state.psi) - full @ state.psi).max() < 1e-12
    # <X> from the X-basis Born distribution equals <psi| X_0 |psi>
    x0 = state.psi @ state.psi[np.arange(256) ^ 1]
    bit0 = 1 - 2 * (np.arange(256) & 1)
    assert abs(bit0 @ state.born_x() - x0) < 1e-12


def test_chain_arguments_are_checked():
    with pytest.raises(ConfigError, match="boundary"):
        TFIMChain(8, 1.0, boundary="twisted")
    with pytest.raises(ConfigError, match="n \\(sites\\)"):
        TFIMChain(1, 1.0)
    with pytest.raises(ConfigError, match="h must be"):
        TFIMChain(8, float("nan"))


def test_antiferromagnet_maps_to_the_ferromagnet_and_frustrated_rings_are_refused():
    # Flipping every other spin maps J -> -J on an even ring: same spectrum, same ground energy.
    assert abs(ground_state(TFIMChain(8, 0.7, -1.0)).energy - ground_state(TFIMChain(8, 0.7, 1.0)).energy) < 1e-9
    with pytest.raises(ConfigError, match="frustrated"):
        TFIMChain(9, 0.7, -1.0, "periodic")
