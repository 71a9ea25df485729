"""Shots, parameter-shift and SPSA against autograd through the exact simulator."""
import math

import pytest
import torch

from qedm.errors import CircuitError
from qedm.quantum.circuits import VQC
from qedm.quantum.gradients import estimate_expectations, parameter_shift_grad, spsa_grad
from qedm.quantum.ir import Op, Param
from qedm.quantum.simulator import expval_z, probabilities, run_ops


def _backprop_grads(vqc, x, coeff):
    """Reference: autograd through exact_expectations."""
    x = x.clone().requires_grad_(True)
    w = vqc.weights.detach().clone().requires_grad_(True)
    (vqc.exact_expectations(x, w) * coeff).sum().backward()
    return x.grad, w.grad


@pytest.mark.parametrize(
    "encoding,entangler,observables",
    [("angle", "ring", "both"), ("reupload", "all", "z"), ("iqp", "ring", "both"), ("iqp", "all", "zz")],
)
def test_parameter_shift_equals_backprop(encoding, entangler, observables):
    vqc = VQC(3, 2, encoding=encoding, entangler=entangler, observables=observables, init="uniform",
              dtype=torch.complex128, diff_method="parameter-shift", seed=4)
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(4, 3, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    coeff = torch.randn(4, vqc.n_outputs, generator=g, dtype=torch.float64)
    out = vqc(x)
    torch.testing.assert_close(out, vqc.exact_expectations(x), atol=1e-10, rtol=0)
    (out * coeff).sum().backward()
    gx, gw = _backprop_grads(vqc, x.detach(), coeff)
    torch.testing.assert_close(vqc.weights.grad, gw, atol=1e-5, rtol=0)
    torch.testing.assert_close(x.grad, gx, atol=1e-5, rtol=0)


def test_parameter_shift_amplitude_weights_only_and_input_error():
    vqc = VQC(3, 2, encoding="amplitude", init="uniform", dtype=torch.complex128,
              diff_method="parameter-shift", seed=1)
    x = torch.rand(3, 8, dtype=torch.float64) + 0.1
    vqc(x).sum().backward()
    _, gw = _backprop_grads(vqc, x, torch.ones(3, vqc.n_outputs, dtype=torch.float64))
    torch.testing.assert_close(vqc.weights.grad, gw, atol=1e-5, rtol=0)
    with pytest.raises(CircuitError, match="amplitude-encoded inputs"):
        vqc(x.clone().requires_grad_(True))


class OpCircuit(torch.nn.Module):
    """A VQC stand-in over a hand-written Op list (exercises CRX/CRZ and the four-term rule)."""

    def __init__(self, ops, n_qubits, n_weights, observables, shots=None, diff_method="parameter-shift"):
        super().__init__()
        self._ops, self.n_qubits, self.observable_list = ops, n_qubits, observables
        self.weights = torch.nn.Parameter(torch.rand(n_weights, dtype=torch.float64) * 6)
        self.shots, self.diff_method, self.seed, self.dtype = shots, diff_method, 0, torch.complex128

    def ops(self):
        return self._ops

    def exact_state(self, x, weights=None, shift=None):
        w = self.weights if weights is None else weights
        return run_ops(self._ops, self.n_qubits, x, w, torch.complex128, shift)

    def exact_probabilities(self, x, weights=None, shift=None):
        return probabilities(self.exact_state(x, weights, shift))

    def exact_expectations(self, x, weights=None, shift=None):
        return expval_z(self.exact_state(x, weights, shift), self.observable_list)


def _controlled_circuit():
    w = lambda i, s=1.0: Param("weight", (i,), s)  # noqa: E731
    ops = [Op("RY", (0,), (Param("input", (0,), 0.8),)), Op("H", (1,)), Op("RX", (2,), (Param("input", (1,)),)),
           Op("CRX", (0, 1), (w(0),)), Op("CRZ", (1, 2), (w(1, 0.5),)), Op("Rot", (2,), (w(2), w(3), w(4))),
           Op("CRZ", (2, 0), (Param("input_product", (0, 1), 1.3),)), Op("CRX", (1, 0), (w(5),)),
           Op("RZ", (1,), (w(0),)), Op("CZ", (0, 2)), Op("RX", (1,), (w(6),))]
    return OpCircuit(ops, 3, 7, [(0,), (1,), (2,), (0, 1), (0, 1, 2)])


def test_four_term_rule_for_controlled_rotations_and_input_products():
    circ = _controlled_circuit()
    x = torch.tensor([[0.3, -1.1], [1.7, 0.4]], dtype=torch.float64)
    coeff = torch.randn(2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    gx, gw = parameter_shift_grad(circ, x, circ.weights.detach(), coeff)
    rx, rw = _backprop_grads(circ, x, coeff)
    torch.testing.assert_close(gw, rw, atol=1e-8, rtol=0)
    torch.testing.assert_close(gx, rx, atol=1e-8, rtol=0)


def test_spsa_average_approaches_true_gradient():
    vqc = VQC(3, 2, init="uniform", dtype=torch.complex128, diff_method="spsa", seed=2)
    x = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    coeff = torch.ones(4, 3, dtype=torch.float64)
    rx, rw = _backprop_grads(vqc, x, coeff)
    gen = torch.Generator().manual_seed(0)
    gx, gw = spsa_grad(vqc, x, vqc.weights.detach(), coeff, generator=gen, samples=1000)
    cos_w = torch.nn.functional.cosine_similarity(gw.flatten(), rw.flatten(), dim=0)
    cos_x = torch.nn.functional.cosine_similarity(gx.flatten(), rx.flatten(), dim=0)
    assert cos_w > 0.9 and cos_x > 0.9
    # unbiased-ish: the averaged estimate's error is at the Monte-Carlo level, far below |g|
    assert (gw - rw).norm() < 0.3 * rw.norm()
    # one SPSA step through autograd: seeded, reproducible, and a descent direction on average
    a = VQC(3, 2, init="uniform", dtype=torch.complex128, diff_method="spsa", seed=2)
    b = VQC(3, 2, init="uniform", dtype=torch.complex128, diff_method="spsa", seed=2)
    a(x).sum().backward()
    b(x).sum().backward()
    assert torch.equal(a.weights.grad, b.weights.grad)
    # a single SPSA estimate is +-(same scalar) times the Rademacher signs
    assert torch.allclose(a.weights.grad.abs(), a.weights.grad.abs().flatten()[0].expand_as(a.weights.grad))


def test_shot_noise_shrinks_as_one_over_sqrt_shots():
    x = torch.tensor([[0.4, 1.2]]).repeat(400, 1)  # 400 independent repeats, one batch
    exact = VQC(2, 1, observables="both", seed=0)(x[:1]).detach()[0].double()
    ratios = []
    for shots in (100, 400, 1600, 6400):
        est = VQC(2, 1, observables="both", seed=0, shots=shots)(x).detach().double()
        predicted = torch.sqrt(1 - exact**2) / math.sqrt(shots)
        ratios.append(est.std(0) / predicted)
        assert (est.mean(0) - exact).abs().max() < 5 * predicted.max() / math.sqrt(400) + 1e-9
    ratios = torch.stack(ratios)
    assert ((ratios - 1).abs() < 0.2).all(), ratios


def test_shots_are_seeded_and_share_bitstrings():
    x = torch.rand(8, 3)
    a = VQC(3, 1, observables="both", shots=64, seed=11)(x)
    b = VQC(3, 1, observables="both", shots=64, seed=11)(x)
    assert torch.equal(a, b)
    # estimates are multiples of 2/shots, and Z0Z1 from the same shots as Z0, Z1 is consistent
    assert torch.allclose((a * 64 / 2).round(), a * 64 / 2, atol=1e-4)


def test_backprop_with_shots_is_straight_through():
    vqc = VQC(3, 2, init="uniform", shots=200, seed=6, dtype=torch.complex128)
    x = torch.rand(5, 3, dtype=torch.float64)
    out = vqc(x)
    exact = vqc.exact_expectations(x)
    assert not torch.allclose(out, exact) and (out - exact).abs().max() < 0.4
    out.sum().backward()
    _, rw = _backprop_grads(vqc, x, torch.ones_like(exact))
    torch.testing.assert_close(vqc.weights.grad, rw, atol=1e-10, rtol=0)


def test_parameter_shift_with_shots_is_unbiased():
    circ = _controlled_circuit()
    circ.shots = 2000
    x = torch.tensor([[0.3, -1.1]], dtype=torch.float64).repeat(100, 1)
    coeff = torch.ones(100, 5, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    _, gw = parameter_shift_grad(circ, x, circ.weights.detach(), coeff, need_x=False, generator=gen)
    circ.shots = None
    _, rw = _backprop_grads(circ, x, coeff)
    assert (gw - rw).norm() < 0.05 * rw.norm()


def test_estimate_expectations_matches_exact_without_shots():
    vqc = VQC(3, 2, diff_method="parameter-shift", seed=0)
    x = torch.rand(4, 3)
    torch.testing.assert_close(estimate_expectations(vqc, x), vqc.exact_expectations(x))
