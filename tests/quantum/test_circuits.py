"""VQC outputs and gradients against PennyLane circuits (the `pennylane_vqc` fixture of conftest.py)."""

import math

import numpy as np
import pytest
import torch

from qedm.errors import CircuitError
from qedm.quantum.backends.statevector import choose_execution
from qedm.quantum.circuits import VQC

qml = pytest.importorskip("pennylane")


def random_config(seed):
    rng = np.random.default_rng(seed)
    encoding = ("angle", "reupload", "amplitude", "iqp")[seed % 4]
    n = int(rng.integers(1, 7)) if seed >= 4 else 1 + seed % 2
    return dict(
        n_qubits=n, n_layers=int(rng.integers(0, 4)), encoding=encoding,
        entangler=str(rng.choice(["ring", "all"])), observables=str(rng.choice(["z", "zz", "both"])),
    ), int(rng.integers(1, 6)), rng


@pytest.mark.parametrize("execution", ["fused", "layers"])
@pytest.mark.parametrize("seed", range(20))
def test_outputs_and_gradients_match_pennylane(seed, execution, pennylane_vqc):
    cfg, batch, rng = random_config(seed)
    if cfg["observables"] == "zz" and cfg["n_qubits"] == 1:
        cfg["observables"] = "z"
    vqc = VQC(**cfg, init="uniform", seed=seed, execution=execution)
    x = torch.tensor(rng.uniform(-1.5, 1.5, size=(batch, vqc.n_inputs)), dtype=torch.float32, requires_grad=True)
    out = vqc(x)
    assert out.shape == (batch, vqc.n_outputs) and out.dtype == torch.float32
    cot = torch.tensor(rng.normal(size=out.shape), dtype=torch.float32)
    gx, gw = torch.autograd.grad((out * cot).sum(), (x, vqc.weights), allow_unused=True)
    gw = torch.zeros_like(vqc.weights) if gw is None else gw

    x64 = x.detach().double().requires_grad_(True)
    w64 = vqc.weights.detach().double().requires_grad_(True)
    ref = torch.stack([r.reshape(-1).expand(batch) for r in pennylane_vqc(**cfg)(x64, w64)], dim=1)
    rx, rw = torch.autograd.grad((ref * cot.double()).sum(), (x64, w64), allow_unused=True)
    rw = torch.zeros_like(w64) if rw is None else rw
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(gw.numpy(), rw.numpy(), atol=1e-5)
    np.testing.assert_allclose(gx.numpy(), rx.numpy(), atol=1e-5)


@pytest.mark.parametrize("encoding", ["angle", "reupload", "amplitude", "iqp"])
def test_fused_layers_and_gate_by_gate_agree_in_complex128(encoding):
    vqc = VQC(4, 3, encoding=encoding, entangler="all", observables="both", init="uniform", seed=3,
              dtype=torch.complex128)
    assert vqc.weights.dtype == torch.float64
    x = torch.rand(6, vqc.n_inputs, dtype=torch.float64) + 0.1
    results = {}
    for execution in ("gates", "layers", "fused"):
        vqc.execution = execution
        results[execution] = vqc.exact_state(x)
    assert results["gates"].dtype == torch.complex128
    torch.testing.assert_close(results["layers"], results["gates"], atol=1e-12, rtol=0)
    torch.testing.assert_close(results["fused"], results["gates"], atol=1e-12, rtol=0)
    assert vqc(x).dtype == torch.float64


def test_shift_moves_exactly_one_angle():
    vqc = VQC(3, 2, encoding="reupload", observables="z", init="uniform", seed=1)
    x = torch.rand(4, 3)
    ops = vqc.ops()
    weight_slot = next(i for i, op in enumerate(ops) if op.name == "Rot" and op.wires == (1,))
    input_slot = next(i for i, op in enumerate(ops) if op.name == "RY")
    for i, pos in ((weight_slot, 1), (input_slot, 0)):
        vqc.execution = "auto"
        fast = vqc.exact_expectations(x, shift=(i, pos, np.pi / 2))
        vqc.execution = "gates"
        ref = vqc.exact_expectations(x, shift=(i, pos, np.pi / 2))
        torch.testing.assert_close(fast, ref, atol=1e-6, rtol=0)
        assert not torch.allclose(fast, vqc.exact_expectations(x), atol=1e-3)


def test_ops_index_weights_flatten_and_inputs():
    vqc = VQC(3, 2, encoding="iqp", entangler="ring")
    weight_idx = [p.index[0] for op in vqc.ops() for p in op.params if p.kind == "weight"]
    assert weight_idx == list(range(vqc.weights.numel()))
    products = [p.index for op in vqc.ops() for p in op.params if p.kind == "input_product"]
    assert products == [(0, 1), (1, 2), (2, 0)]


def test_inits():
    small = VQC(4, 3, seed=0).weights
    assert 0.01 < float(small.detach().std()) < 0.1
    assert torch.equal(VQC(4, 3, seed=0).weights, small)  # seeded
    assert float(VQC(2, 2, init="identity").weights.detach().abs().max()) == 0.0
    x = torch.rand(3, 2)
    # zero angles: every Rot is the identity, so only the CNOT(0, 1) of each layer remains
    ident = VQC(2, 1, init="identity", observables="both")
    c0, c1 = torch.cos(x[:, 0]), torch.cos(x[:, 1])
    torch.testing.assert_close(ident(x).detach(), torch.stack([c0, c0 * c1, c1], 1))


def test_cost_model_prefers_fused_only_for_small_registers():
    # measured crossovers (see the circuits module docstring): fused wins up to n=5, and at n=6 for
    # deep circuits only; layers from n=7
    assert choose_execution(4, 4, 256) == "fused"
    assert choose_execution(5, 8, 256) == "fused"
    assert choose_execution(6, 16, 256) == "fused"
    assert choose_execution(6, 4, 256) == "layers"
    assert choose_execution(6, 4, 8) == "layers"
    assert choose_execution(7, 4, 256) == "layers"
    assert choose_execution(12, 6, 128) == "layers"


@pytest.mark.parametrize("n_qubits, execution", [(7, "layers"), (5, "fused"), (6, "fused")])
def test_scratch_is_not_reused_while_a_graph_can_read_it(n_qubits, execution):
    """Live graphs of equal and of different batch sizes: reused scratch buffers must not leak between them."""
    vqc = VQC(n_qubits, 3, init="uniform", seed=2, execution=execution)
    xs = [torch.rand(batch, n_qubits, requires_grad=True) for batch in (5, 5, 3)]
    outs = [vqc(x) for x in xs]  # each graph must keep its own saved states
    grads = [torch.autograd.grad(out.sum(), (x, vqc.weights)) for out, x in zip(outs, xs)]
    vqc.execution = "gates"
    for x, got in zip(xs, grads):
        ref = torch.autograd.grad(vqc(x).sum(), (x, vqc.weights))
        for g, r in zip(got, ref):
            torch.testing.assert_close(g, r, atol=1e-5, rtol=0)


def test_errors_name_shapes_and_choices():
    vqc = VQC(3, 1)
    with pytest.raises(CircuitError, match=r"shape \[B, 3\].*got \(4, 2\)"):
        vqc(torch.rand(4, 2))
    with pytest.raises(CircuitError, match="encoding='dense' is not one of"):
        VQC(3, 1, encoding="dense")
    with pytest.raises(CircuitError, match="entangler='star' is not one of"):
        VQC(3, 1, entangler="star")
    with pytest.raises(CircuitError, match="n_inputs=5"):
        VQC(3, 1, n_inputs=5)
    with pytest.raises(CircuitError, match=r"weights must have 9 entries.*got shape \(2, 3\)"):
        vqc.exact_expectations(torch.rand(4, 3), torch.rand(2, 3))
    with pytest.raises(CircuitError, match="all-zero input rows"):
        VQC(2, 1, encoding="amplitude")(torch.zeros(2, 4))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    vqc = VQC(5, 2, encoding="reupload", observables="both", init="uniform", seed=0)
    x = torch.rand(8, 5)
    cpu = vqc(x)
    gpu = vqc.to("cuda")(x.cuda())
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=0)


@pytest.mark.parametrize("encoding", ["reupload", "iqp"])
def test_complex128_matches_pennylane_to_1e9(encoding, pennylane_vqc):
    cfg = dict(n_qubits=4, n_layers=3, encoding=encoding, entangler="ring", observables="both")
    vqc = VQC(**cfg, init="uniform", seed=5, dtype=torch.complex128)
    x = torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    out = vqc(x)
    assert out.dtype == torch.float64
    ref = torch.stack(pennylane_vqc(**cfg)(x, vqc.weights.detach()), dim=1)
    np.testing.assert_allclose(out.detach().numpy(), ref.numpy(), atol=1e-9)


@pytest.mark.parametrize("n_layers", [1, 3])
def test_reupload_kernel_matches_gate_by_gate_with_padding_and_odd_n(n_layers):
    """The per-row reupload kernel (odd n: unequal wire groups; n_inputs < n: RY(0) wires) vs run_ops."""
    vqc = VQC(7, n_layers, encoding="reupload", entangler="all", observables="both", n_inputs=5, init="uniform",
              seed=2, dtype=torch.complex128)
    x = torch.rand(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
    cot = torch.randn(5, vqc.n_outputs, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    grads = {}
    for execution in ("gates", "auto"):
        vqc.execution = execution
        out = vqc(x)
        grads[execution] = (out, *torch.autograd.grad((out * cot).sum(), (x, vqc.weights)))
        grads[execution + "_state"] = vqc.exact_state(x.detach())
    for got, want in zip(grads["auto"], grads["gates"]):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)
    torch.testing.assert_close(grads["auto_state"], grads["gates_state"], atol=1e-10, rtol=0)


@pytest.mark.parametrize("encoding", ["angle", "amplitude"])
def test_fused_gradients_match_gate_by_gate_at_singular_angles(encoding):
    """Fused kernel vs run_ops (complex128) with b = pi and x = pi (cos(angle / 2) = 0) in the mix.

    angle: the Z-expectation path (input gradient in closed form); amplitude: the state-output
    path (gradient w.r.t. an input state), through a loss reading real and imaginary parts.
    """
    vqc = VQC(6, 3, encoding=encoding, init="uniform", seed=5, dtype=torch.complex128, execution="fused")
    with torch.no_grad():
        vqc.weights[0, :, 1] = math.pi
        vqc.weights[1, 2] = torch.tensor([math.pi, 0.0, -math.pi])
    x = torch.rand(4, vqc.n_inputs, dtype=torch.float64, generator=torch.Generator().manual_seed(6)) + 0.1
    x[0, :3] = math.pi
    x.requires_grad_(True)
    cot = torch.randn(4, 2 ** 6, dtype=torch.complex128, generator=torch.Generator().manual_seed(7))
    results = {}
    for execution in ("gates", "fused"):
        vqc.execution = execution
        if encoding == "angle":
            out = vqc(x)
            loss = (out * cot.real[:, : out.shape[1]]).sum()
        else:
            out = vqc.exact_state(x)
            loss = (out.real * cot.real + out.imag * cot.imag).sum()
        results[execution] = (out, *torch.autograd.grad(loss, (x, vqc.weights)))
    for got, want in zip(results["fused"], results["gates"]):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)
