"""Every backend against the reference backend and PennyLane default.qubit; density vs statevector; shots."""

import itertools
import math

import numpy as np
import pytest
import torch

from qedm.errors import CircuitError
from qedm.quantum.backends import BACKENDS, Backend, make_backend
from qedm.quantum.backends.density import DensityBackend
from qedm.quantum.circuits import VQC
from qedm.quantum.noise import NoiseModel

ENCODINGS = ("angle", "reupload", "amplitude", "iqp")
ENTANGLERS = ("ring", "all")
# (backend, execution): the statevector kernels every way, the reference, the density matrices
RUNS = [("statevector", "layers"), ("statevector", "fused"), ("statevector", "compiled"), ("statevector", "auto"),
        ("reference", "auto"), ("density", "auto")]


def _circuit(encoding, entangler, backend, execution, seed, dtype=torch.complex64):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    cfg = dict(n_qubits=n, n_layers=int(rng.integers(1, 4)), encoding=encoding, entangler=entangler,
               observables=str(rng.choice(["z", "zz", "both"])))
    vqc = VQC(**cfg, init="uniform", seed=seed, dtype=dtype, backend=backend, execution=execution)
    x = torch.tensor(rng.uniform(-1.5, 1.5, size=(int(rng.integers(1, 5)), vqc.n_inputs)))
    return vqc, cfg, x, rng


@pytest.mark.parametrize("backend, execution", RUNS)
@pytest.mark.parametrize("encoding, entangler", list(itertools.product(ENCODINGS, ENTANGLERS)))
def test_backend_matches_reference_and_pennylane(encoding, entangler, backend, execution, pennylane_vqc):
    """Outputs and gradients w.r.t. weights and inputs at 1e-5, on random circuits of every encoding x entangler."""
    for seed in (0, 1):
        vqc, cfg, x, rng = _circuit(encoding, entangler, backend, execution, seed)
        x = x.float().requires_grad_(True)
        out = vqc(x)
        cot = torch.tensor(rng.normal(size=out.shape), dtype=torch.float32)
        gx, gw = torch.autograd.grad((out * cot).sum(), (x, vqc.weights))

        ref_vqc = VQC(**cfg, init="uniform", seed=seed, backend="reference", dtype=torch.complex128)
        x64 = x.detach().double().requires_grad_(True)
        ref = ref_vqc(x64)
        rx, rw = torch.autograd.grad((ref * cot.double()).sum(), (x64, ref_vqc.weights))
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(gw.numpy(), rw.numpy(), atol=1e-5)
        np.testing.assert_allclose(gx.numpy(), rx.numpy(), atol=1e-5)

        x64 = x.detach().double().requires_grad_(True)
        w64 = vqc.weights.detach().double().requires_grad_(True)
        pl = torch.stack([r.reshape(-1).expand(x.shape[0]) for r in pennylane_vqc(**cfg)(x64, w64)], dim=1)
        px, pw = torch.autograd.grad((pl * cot.double()).sum(), (x64, w64))
        np.testing.assert_allclose(out.detach().numpy(), pl.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(gw.numpy(), pw.numpy(), atol=1e-5)
        np.testing.assert_allclose(gx.numpy(), px.numpy(), atol=1e-5)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_density_without_noise_equals_statevector(encoding):
    vqc, cfg, x, _ = _circuit(encoding, "all", "statevector", "auto", seed=3, dtype=torch.complex128)
    psi = vqc.exact_state(x)
    rho = DensityBackend().density_matrix(vqc, x, vqc.weights)
    torch.testing.assert_close(rho, psi[:, :, None] * psi.conj()[:, None, :], atol=1e-12, rtol=0)
    dense = VQC(**cfg, init="uniform", seed=3, dtype=torch.complex128, backend="density")
    torch.testing.assert_close(dense(x), vqc(x), atol=1e-12, rtol=0)


def test_density_noise_changes_outputs_and_shifts_match_backprop():
    """Noise is not a no-op, and parameter-shift on the noisy backend equals autograd through it."""
    noise = NoiseModel(depolarizing_1q=0.05, depolarizing_2q=0.1)
    kwargs = dict(encoding="reupload", observables="both", init="uniform", seed=2, dtype=torch.complex128)
    clean = VQC(3, 2, **kwargs, backend="density")
    noisy = VQC(3, 2, **kwargs, backend="density", noise=noise)
    shift = VQC(3, 2, **kwargs, backend="density", noise=noise, diff_method="parameter-shift")
    x = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert (clean(x) - noisy(x)).abs().max() > 1e-3
    assert noisy(x).abs().max() < clean(x).abs().max()  # depolarizing shrinks every <Z>
    (noisy(x).sum()).backward()
    (shift(x).sum()).backward()
    torch.testing.assert_close(shift.weights.grad, noisy.weights.grad, atol=1e-8, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shot_estimates_converge_as_one_over_sqrt_shots(backend):
    """RMS error over 256 rows against sqrt(sum (1 - <O>^2) / N), and its slope in log N.

    Statistical: it fails if the estimates are biased or their error does not fall as 1/sqrt(N)
    (seeded, so it is reproducible).
    """
    vqc = VQC(3, 2, encoding="reupload", observables="both", init="uniform", seed=4, backend=backend,
              dtype=torch.complex128)
    assert isinstance(vqc.backend, Backend)
    x = torch.rand(256, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    exact = vqc(x).detach()
    gen = torch.Generator().manual_seed(7)
    counts, errors = (64, 256, 1024, 4096), []
    for shots in counts:
        vqc.shots = shots
        est = vqc.backend.estimate(vqc, x, vqc.weights, generator=gen).detach()
        rms = float(((est - exact) ** 2).mean().sqrt())
        predicted = math.sqrt(float((1 - exact**2).mean()) / shots)
        assert 0.8 < rms / predicted < 1.2, (shots, rms, predicted)
        errors.append(rms)
    slope = np.polyfit(np.log(counts), np.log(errors), 1)[0]
    assert -0.6 < slope < -0.4


def test_shots_forward_is_an_estimate_with_the_exact_gradient():
    vqc = VQC(3, 2, observables="z", init="uniform", seed=1, shots=100, dtype=torch.complex128)
    exact = VQC(3, 2, observables="z", init="uniform", seed=1, dtype=torch.complex128)
    x = torch.rand(5, 3, dtype=torch.float64)
    out = vqc(x)
    assert not torch.allclose(out, exact(x), atol=1e-4)
    assert torch.allclose(out * 100, (out * 100).round(), atol=1e-6)  # z in {-1, 1}: multiples of 2/100
    out.sum().backward()
    exact(x).sum().backward()
    torch.testing.assert_close(vqc.weights.grad, exact.weights.grad)


def test_backend_choices_are_checked_by_name():
    with pytest.raises(CircuitError, match="unknown backend 'qpu'"):
        VQC(2, 1, backend="qpu")
    with pytest.raises(CircuitError, match="needs backend='density'"):
        make_backend("statevector", noise=NoiseModel(readout=0.1))
    with pytest.raises(CircuitError, match="shots must be a positive integer"):
        VQC(2, 1, backend="reference", shots=0)
    with pytest.raises(CircuitError, match="no pure state"):
        VQC(2, 1, backend="density").exact_state(torch.rand(1, 2))
    assert VQC(2, 1, execution="gates").backend.name == "reference"
    assert VQC.shape(5, 3) == (3, 5, 3) == tuple(VQC(5, 3).weights.shape)


@pytest.mark.parametrize("encoding", ["angle", "reupload"])
def test_compiled_kernel_matches_reference_at_the_hybrid_size(encoding):
    """execution='compiled' (one compiled call forward, one backward) vs the reference at 6 qubits, z+zz, float64."""
    kwargs = dict(encoding=encoding, observables="both", init="uniform", seed=3, dtype=torch.complex128)
    fast, ref = VQC(6, 3, execution="compiled", **kwargs), VQC(6, 3, backend="reference", **kwargs)
    x = torch.rand(7, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3 - 1.5
    results = []
    for vqc in (fast, ref):
        xi = x.clone().requires_grad_(True)
        out = vqc(xi)
        results.append((out.detach(), *torch.autograd.grad((out * torch.arange(out.shape[1])).sum(),
                                                           (xi, vqc.weights))))
    for got, want in zip(*results):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10)
    out = fast(x.clone().requires_grad_(True)).sum()
    out.backward(retain_graph=True)
    with pytest.raises(CircuitError, match="already differentiated"):
        out.backward()
