"""Export to PennyLane / Qiskit must reproduce the VQC exactly (independent simulators as reference)."""
import sys

import numpy as np
import pytest
import torch

from qedm.errors import CircuitError, MissingExtraError
from qedm.quantum.circuits import VQC
from qedm.quantum.export import to_pennylane, to_qiskit

qml = pytest.importorskip("pennylane")
pytest.importorskip("qiskit")
from qiskit.quantum_info import Statevector  # noqa: E402

CASES = [
    dict(encoding="angle", entangler="ring", observables="both"),
    dict(encoding="reupload", entangler="all", observables="both"),
    dict(encoding="amplitude", entangler="ring", observables="both"),
    dict(encoding="iqp", entangler="ring", observables="both"),
    dict(encoding="iqp", entangler="all", observables="zz", n_inputs=2),
    dict(encoding="amplitude", entangler="all", observables="z", n_inputs=5),
]


def _vqc(case, n=3, layers=2, seed=0):
    return VQC(n, layers, init="uniform", seed=seed, **case)


def _inputs(vqc, batch=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, vqc.n_inputs, generator=g) * 2 - 1


@pytest.mark.parametrize("case", CASES)
def test_pennylane_matches_vqc_batched_torch_and_numpy(case):
    vqc = _vqc(case)
    x = _inputs(vqc)
    expected = vqc(x).detach().double().numpy()
    f = to_pennylane(vqc)
    got_torch = torch.stack(list(f(x.double())), dim=-1).numpy()
    got_numpy = np.stack(f(x.double().numpy()), axis=-1)
    assert got_torch.shape == expected.shape
    np.testing.assert_allclose(got_torch, expected, atol=1e-5)
    np.testing.assert_allclose(got_numpy, expected, atol=1e-5)
    single = np.array(f(x[0].double().numpy()))
    np.testing.assert_allclose(single, expected[0], atol=1e-5)


def test_pennylane_other_device_and_gradient_flow():
    vqc = _vqc(CASES[0])
    x = _inputs(vqc, batch=2)
    expected = vqc(x).detach().double().numpy()
    f = to_pennylane(vqc, device="default.mixed")
    got = np.stack([np.array(f(row.double().numpy())) for row in x])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # torch gradients w.r.t. x through the default.qubit QNode equal the VQC's own.
    xg = x.double().clone().requires_grad_(True)
    torch.stack(list(to_pennylane(vqc)(xg)), -1).sum().backward()
    xv = x.clone().requires_grad_(True)
    vqc(xv).sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), xv.grad.double().numpy(), atol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_qiskit_matches_vqc_statevector_and_expectations(case):
    vqc = VQC(3, 2, init="uniform", seed=3, dtype=torch.complex128, **case)
    x = _inputs(vqc, batch=2)
    for row in x:
        qc, observables = to_qiskit(vqc, row)
        sv = Statevector(qc)
        got = np.array([sv.expectation_value(op).real for op in observables])
        np.testing.assert_allclose(got, vqc(row[None]).detach().numpy()[0], atol=1e-5)
        # Same amplitudes index by index (wire order mapped), global phase included.
        np.testing.assert_allclose(sv.data, vqc.exact_state(row[None]).detach().numpy()[0], atol=1e-5)


def test_qiskit_observable_labels_follow_wire_order():
    vqc = VQC(3, 1, observables="both")
    _, observables = to_qiskit(vqc, torch.zeros(3))
    labels = [op.paulis[0].to_label() for op in observables]
    assert labels == ["ZII", "IZI", "IIZ", "ZZI", "IZZ", "ZIZ"]


def test_qiskit_rejects_batches_and_wrong_width():
    vqc = VQC(3, 1)
    with pytest.raises(CircuitError, match="one input row"):
        to_qiskit(vqc, torch.zeros(2, 3))
    with pytest.raises(CircuitError, match="n_inputs=3"):
        to_qiskit(vqc, torch.zeros(4))


def test_missing_pennylane_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pennylane", None)
    with pytest.raises(MissingExtraError, match=r"qedm\[pennylane\]"):
        to_pennylane(VQC(2, 1))
