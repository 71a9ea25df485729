"""Statevector kernels against PennyLane default.qubit and against each other."""

import numpy as np
import pytest
import torch

from qedm.errors import CircuitError
from qedm.quantum.gates import gate_matrix, kron_chain
from qedm.quantum.ir import Op, Param
from qedm.quantum.kernels import KronPlan, apply_kron_layers
from qedm.quantum.kernels.kron_layers import layer_angle_grads
from qedm.quantum.kernels.tables import bit_flips
from qedm.quantum.simulator import (
    amplitude_state,
    apply_gate,
    apply_local_product,
    cnot_permutation,
    expval_z,
    kron_groups,
    probabilities,
    product_state_ry,
    run_ops,
    z_signs,
)

qml = pytest.importorskip("pennylane")

PL = {"RX": qml.RX, "RY": qml.RY, "RZ": qml.RZ, "Rot": qml.Rot, "CRX": qml.CRX, "CRZ": qml.CRZ,
      "H": qml.Hadamard, "X": qml.PauliX, "Z": qml.PauliZ, "CNOT": qml.CNOT, "CZ": qml.CZ}
ONE = ["RX", "RY", "RZ", "Rot", "H", "X", "Z"]
TWO = ["CNOT", "CZ", "CRX", "CRZ"]


def random_ops(n, n_ops, rng, n_inputs):
    """Random Op list mixing weights, inputs and input products; returns (ops, n_weights)."""
    ops, n_w = [], 0
    for _ in range(n_ops):
        name = rng.choice(ONE + (TWO if n > 1 else []))
        wires = tuple(int(w) for w in rng.choice(n, size=2 if name in TWO else 1, replace=False))
        k = {"Rot": 3, "RX": 1, "RY": 1, "RZ": 1, "CRX": 1, "CRZ": 1}.get(name, 0)
        params = []
        for _ in range(k):
            kind = rng.choice(["weight", "input", "input_product"])
            if kind == "weight":
                params.append(Param("weight", (n_w,)))
                n_w += 1
            elif kind == "input":
                params.append(Param("input", (int(rng.integers(n_inputs)),), float(rng.uniform(0.5, 2))))
            else:
                params.append(Param("input_product", tuple(int(i) for i in rng.integers(n_inputs, size=2))))
        ops.append(Op(str(name), wires, tuple(params)))
    return ops, n_w


def pennylane_state(ops, n, x, w):
    """Reference: the same ops queued with qml gates, one QNode call per sample."""
    dev = qml.device("default.qubit", wires=n)

    def angle(p, xs):
        if p.kind == "weight":
            return w[p.index[0]]
        if p.kind == "input":
            return xs[p.index[0]] * p.scale
        return xs[p.index[0]] * xs[p.index[1]] * p.scale

    @qml.qnode(dev)
    def circuit(xs):
        for op in ops:
            PL[op.name](*[angle(p, xs) for p in op.params], wires=list(op.wires))
        return qml.state()

    return np.stack([circuit(xs) for xs in x])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_run_ops_matches_pennylane_state(n):
    rng = np.random.default_rng(n)
    ops, n_w = random_ops(n, 12, rng, n_inputs=3)
    x = rng.uniform(-2, 2, size=(3, 3))
    w = rng.uniform(-3, 3, size=n_w)
    ours = run_ops(ops, n, torch.tensor(x), torch.tensor(w), torch.complex128).numpy()
    np.testing.assert_allclose(ours, pennylane_state(ops, n, x, w), atol=1e-10)


def test_run_ops_shift_equals_shifted_weight():
    rng = np.random.default_rng(7)
    ops = [Op("RY", (0,), (Param("input", (0,)),)), Op("Rot", (1,), tuple(Param("weight", (i,)) for i in range(3))),
           Op("CNOT", (0, 1))]
    x, w = torch.tensor(rng.uniform(size=(2, 1))), torch.tensor(rng.uniform(size=3))
    shifted = run_ops(ops, 2, x, w, torch.complex128, shift=(1, 2, 0.4))
    w2 = w.clone()
    w2[2] += 0.4
    torch.testing.assert_close(shifted, run_ops(ops, 2, x, w2, torch.complex128))
    assert not torch.allclose(shifted, run_ops(ops, 2, x, w, torch.complex128))


def test_apply_gate_batched_matrix_and_reversed_wires():
    rng = np.random.default_rng(1)
    state = torch.tensor(rng.normal(size=(4, 8)) + 1j * rng.normal(size=(4, 8)))
    mats = gate_matrix("CRX", torch.tensor(rng.uniform(size=(4, 1))), torch.complex128)
    ours = apply_gate(state, mats, (2, 0), 3)
    for b in range(4):
        full = qml.matrix(qml.QubitUnitary(mats[b].numpy(), wires=[2, 0]), wire_order=[0, 1, 2])
        np.testing.assert_allclose(ours[b].numpy(), full @ state[b].numpy(), atol=1e-12)


def test_local_product_and_permutation_equal_gate_by_gate():
    n, rng = 7, np.random.default_rng(2)
    state = torch.tensor(rng.normal(size=(3, 2**n)) + 1j * rng.normal(size=(3, 2**n)))
    for mats in (gate_matrix("Rot", torch.tensor(rng.normal(size=(n, 3))), torch.complex128),
                 gate_matrix("RY", torch.tensor(rng.normal(size=(3, n, 1))), torch.complex128)):
        ref = state
        for q in range(n):
            ref = apply_gate(ref, mats[..., q, :, :], (q,), n)
        torch.testing.assert_close(apply_local_product(state, mats, n, max_group=3), ref)
    pairs = [(0, 3), (3, 6), (6, 0), (2, 1)]
    ref = state
    for pair in pairs:
        ref = apply_gate(ref, gate_matrix("CNOT", None, torch.complex128), pair, n)
    torch.testing.assert_close(state[:, cnot_permutation(pairs, n)], ref)


@pytest.fixture(params=[True, False], ids=["compiled-loops", "torch-ops"])
def loops(request):
    """Run a test with the layered kernel's compiled CPU loops and with their torch forms (the other devices' path)."""
    return request.param


@pytest.mark.parametrize("max_group", [2, 3, 7])
@pytest.mark.parametrize("signs", [False, True])
def test_kron_layers_equal_gate_by_gate_with_gradients(max_group, signs, loops):
    """Rot layers then the CNOT ring's gather, against Rot gates applied one by one (outputs and gradients)."""
    n, n_layers, rng = 7, 3, np.random.default_rng(5)
    state = torch.tensor(rng.normal(size=(2**n, 3)) + 1j * rng.normal(size=(2**n, 3)), requires_grad=True)
    weights = torch.tensor(rng.normal(size=(n_layers, n, 3)), requires_grad=True)
    index = cnot_permutation([(q, (q + 1) % n) for q in range(n)], n)
    sign_matrix = z_signs(n, [(q,) for q in range(n)], torch.float64) if signs else None
    plan = KronPlan(index, n, torch.float64, max_group=max_group, compiled_loops=loops)
    out = apply_kron_layers(state, weights, index, sign_matrix, plan=plan)
    ref = state.T
    for layer in range(n_layers):
        for q in range(n):
            ref = apply_gate(ref, gate_matrix("Rot", weights[layer, q], torch.complex128), (q,), n)
        ref = ref[:, index]
    ref = (ref.real**2 + ref.imag**2) @ sign_matrix if signs else ref.T
    torch.testing.assert_close(out, ref)
    cot = torch.tensor(rng.normal(size=tuple(ref.shape)) + (0j if signs else 1j * rng.normal(size=tuple(ref.shape))))
    grads = torch.autograd.grad((out * cot).real.sum(), (state, weights), retain_graph=True)
    refs = torch.autograd.grad((ref * cot).real.sum(), (state, weights))
    for got, want in zip(grads, refs):
        torch.testing.assert_close(got, want)
    if not signs:  # final_phase=False leaves out the last RZ(c): the same state up to a phase per row
        part = apply_kron_layers(state, weights, index, final_phase=False).detach()
        torch.testing.assert_close(part.abs(), out.detach().abs())
        assert not torch.allclose(part, out.detach())


@pytest.mark.parametrize("n", [1, 4, 5])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layer_angle_grads_equal_autograd_through_the_explicit_kron(n, dtype, loops):
    """Both ways of getting a layer's RY-angle gradients (numba cross sums, per-group Gram GEMMs) against autograd."""
    rng = np.random.default_rng(n)
    b = torch.tensor(rng.normal(size=n), dtype=dtype, requires_grad=True)
    x, cot = (torch.tensor(rng.normal(size=(2**n, 6)), dtype=dtype) for _ in range(2))
    kron = kron_chain(gate_matrix("RY", b[:, None], torch.complex128).real.to(dtype))  # [2**n, 2**n]
    (want,) = torch.autograd.grad((cot * (kron @ x)).sum(), b)
    mu = (kron.T @ cot).detach()  # the gradient at the layer's input
    got = torch.full((n,), float("nan"), dtype=dtype)  # every entry must be written
    groups = tuple(kron_groups(n, 2))
    flips = {size: bit_flips(size, dtype, x.device) for _, size in groups}
    layer_angle_grads(mu, x, n, groups, got, loops, flips)
    torch.testing.assert_close(got / 2, want)


@pytest.mark.parametrize("n", [5, 6])
@pytest.mark.parametrize("signs", [False, True])
def test_kron_layers_with_a_product_head_equal_the_explicit_state(n, signs, loops):
    """angles=x (layer 0 built inside as a product state): the outputs and gradients of the explicit RY(x) state."""
    n_layers, rng = 3, np.random.default_rng(8)
    x = torch.tensor(rng.uniform(-3, 3, size=(3, n)), requires_grad=True)
    weights = torch.tensor(rng.normal(size=(n_layers, n, 3)), requires_grad=True)
    index = cnot_permutation([(q, (q + 1) % n) for q in range(n)], n)
    sign_matrix = z_signs(n, [(q,) for q in range(n)], torch.float64) if signs else None
    plan = KronPlan(index, n, torch.float64, compiled_loops=loops)
    ours = apply_kron_layers(None, weights, index, sign_matrix, angles=x, plan=plan)
    ref = apply_kron_layers(product_state_ry(x, torch.complex128).T, weights, index, sign_matrix, plan=plan)
    torch.testing.assert_close(ours, ref)
    cot = torch.tensor(rng.normal(size=tuple(ref.shape)) + (0j if signs else 1j * rng.normal(size=tuple(ref.shape))))
    loss = lambda out: (out * cot).real.sum()  # noqa: E731
    grads = torch.autograd.grad(loss(ours), (x, weights))
    refs = torch.autograd.grad(loss(ref), (x, weights))
    for got, want in zip(grads, refs):
        torch.testing.assert_close(got, want)
    with pytest.raises(CircuitError, match=rf"angles \[C, {n}\]"):
        apply_kron_layers(None, weights, index, angles=x[:, :2])
    with pytest.raises(CircuitError, match="not both"):
        apply_kron_layers(ref if not signs else product_state_ry(x, torch.complex128).T, weights, index, angles=x)
    with pytest.raises(CircuitError, match="at least 2 layers"):
        apply_kron_layers(None, weights[:1], index, angles=x)
    with pytest.raises(CircuitError, match=r"weights \[L, n, 3\]"):
        apply_kron_layers(None, weights[..., :2], index, angles=x)


def test_product_state_and_amplitude_state_match_pennylane():
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, size=(2, 3))
    ops = [Op("RY", (q,), (Param("input", (q,)),)) for q in range(3)]
    np.testing.assert_allclose(product_state_ry(torch.tensor(x), torch.complex128).numpy(),
                               pennylane_state(ops, 3, x, []), atol=1e-12)
    feats = rng.normal(size=(2, 5))
    dev = qml.device("default.qubit", wires=3)

    @qml.qnode(dev)
    def amp(f):
        qml.AmplitudeEmbedding(f, wires=range(3), pad_with=0.0, normalize=True)
        return qml.state()

    ours = amplitude_state(torch.tensor(feats), 3, torch.complex128).numpy()
    np.testing.assert_allclose(ours, np.stack([amp(f) for f in feats]), atol=1e-12)


def test_expval_and_probabilities_match_pennylane():
    n, rng = 3, np.random.default_rng(4)
    ops, n_w = random_ops(n, 10, rng, n_inputs=2)
    x, w = rng.uniform(size=(1, 2)), rng.uniform(-3, 3, size=n_w)
    obs = [(0,), (2,), (0, 1), (0, 1, 2)]
    state = run_ops(ops, n, torch.tensor(x), torch.tensor(w), torch.complex128)
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev)
    def circuit():
        for op in ops:
            PL[op.name](*[w[p.index[0]] if p.kind == "weight" else
                          (x[0, p.index[0]] * p.scale if p.kind == "input" else x[0, p.index[0]] * x[0, p.index[1]])
                          for p in op.params], wires=list(op.wires))
        return [qml.expval(qml.prod(*[qml.PauliZ(q) for q in o])) for o in obs] + [qml.probs(wires=range(n))]

    *ref, ref_probs = circuit()
    np.testing.assert_allclose(expval_z(state, obs)[0].numpy(), np.array(ref), atol=1e-10)
    np.testing.assert_allclose(probabilities(state)[0].numpy(), ref_probs, atol=1e-10)
    assert expval_z(state.to(torch.complex64), obs).dtype == torch.float32


def test_errors():
    with pytest.raises(CircuitError, match="all-zero input rows \\[1\\]"):
        amplitude_state(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), 1, torch.complex64)
    with pytest.raises(CircuitError, match="at most 2\\*\\*1=2 features"):
        amplitude_state(torch.ones(1, 3), 1, torch.complex64)
    with pytest.raises(CircuitError, match="first op"):
        run_ops([Op("H", (0,)), Op("AmplitudeEmbedding", (0,), (Param("input", (0,)),))], 1, torch.ones(1, 1), None)
    with pytest.raises(CircuitError, match="outside 0..1"):
        run_ops([Op("H", (2,))], 2, None, None)


def test_workspace_blocks_come_back_explicitly_and_a_second_backward_is_refused():
    from qedm.quantum.kernels import Workspace

    n, rng = 5, np.random.default_rng(2)
    weights = torch.tensor(rng.normal(size=(3, n, 3)), requires_grad=True)
    x = torch.tensor(rng.uniform(-3, 3, size=(4, n)))
    index = cnot_permutation([(q, (q + 1) % n) for q in range(n)], n)
    plan, workspace = KronPlan(index, n, torch.float64), Workspace()
    with torch.no_grad():  # no graph: the block is back at once
        apply_kron_layers(None, weights, index, angles=x, plan=plan, workspace=workspace)
    assert len(workspace.free) == 1
    out = apply_kron_layers(None, weights, index, angles=x, plan=plan, workspace=workspace)
    assert len(workspace.free) == 0  # leased to the graph
    out.abs().sum().backward(retain_graph=True)
    assert len(workspace.free) == 2  # the block and the backward's scratch
    with pytest.raises(CircuitError, match="already differentiated once"):
        out.abs().sum().backward()


@pytest.mark.parametrize("n, n_layers", [(1, 1), (3, 3), (6, 2), (7, 3)])
@pytest.mark.parametrize("signs", [False, True])
def test_reupload_kernel_equals_gate_by_gate_with_gradients(n, n_layers, signs, loops):
    """The folded reupload kernel (numba loops and torch forms) against run_ops of the same Op list."""
    from qedm.quantum.circuits import VQC
    from qedm.quantum.kernels import apply_reupload_kernel

    vqc = VQC(n, n_layers, encoding="reupload", entangler="all", observables="both", init="uniform", seed=n,
              dtype=torch.complex128, backend="reference")
    x = torch.rand(4, n, dtype=torch.float64, generator=torch.Generator().manual_seed(n)).mul(3).requires_grad_(True)
    plan = KronPlan(vqc.entangler_index, n, torch.float64, compiled_loops=loops)
    out = apply_reupload_kernel(x, vqc.weights, vqc.entangler_index, vqc.signs if signs else None, plan)
    ref = vqc.exact_expectations(x) if signs else vqc.exact_state(x).T
    cot = torch.randn(ref.shape, dtype=ref.dtype, generator=torch.Generator().manual_seed(1))
    loss = lambda o: (o.real * cot.real + (o.imag * cot.imag if o.is_complex() else 0)).sum()  # noqa: E731
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=0)
    for got, want in zip(torch.autograd.grad(loss(out), (x, vqc.weights)),
                         torch.autograd.grad(loss(ref), (x, vqc.weights))):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)
