"""Device backends: calibration summaries, transpilation, qedm engine vs Qiskit Aer, mitigation, bad input."""

import math
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_ibm_runtime")
pytest.importorskip("mitiq")

from qedm.errors import CircuitError, MissingExtraError  # noqa: E402
from qedm.quantum import VQC, expectations  # noqa: E402
from qedm.quantum.backends.device import DeviceBackend  # noqa: E402
from qedm.quantum.devices import device_summary, load_device, validate_calibration  # noqa: E402
from qedm.quantum.mitigation import extrapolate  # noqa: E402

ENCODINGS = ("angle", "reupload", "amplitude", "iqp")


_BACKENDS = {}


def _dev(device="fake_nairobi", engine="qedm", shots=None, mitigation="none", seed=0):
    """Device backends shared by the tests (each transpiles a template once)."""
    key = (device, engine, shots, mitigation, seed)
    if key not in _BACKENDS:
        _BACKENDS[key] = DeviceBackend(device, shots, mitigation, engine, seed=seed)
    return _BACKENDS[key]


def run(vqc, x, device="fake_nairobi", engine="qedm", shots=None, mitigation="none", seed=0):
    return expectations(vqc, x, _dev(device, engine, shots, mitigation, seed), seed=seed)


def _inputs(vqc, rows, seed=0):
    return torch.rand(rows, vqc.n_inputs, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 + 0.1


def _vqc(n, encoding, layers=1, seed=1):
    return VQC(n, layers, encoding=encoding, seed=seed, init="uniform", observables="both", dtype=torch.complex128)


def test_summary_is_the_median_of_the_target():
    backend = load_device("fake_lagos")
    s = device_summary("fake_lagos")
    t1 = [backend.qubit_properties(q).t1 for q in range(backend.num_qubits)]
    cx = [p.error for p in backend.target["cx"].values()]
    ro = [p.error for p in backend.target["measure"].values()]
    assert s.n_qubits == 7 and s.two_qubit_gate == "cx"
    assert s.t1_us == pytest.approx(np.median(t1) * 1e6)
    assert s.error_2q == pytest.approx(np.median(cx)) and s.readout_error == pytest.approx(np.median(ro))
    assert s.calibration_date.startswith("20")


def test_calibration_validation_names_the_qubit():
    class Props:
        t1, t2 = 50e-6, 120e-6

    class Stub:
        num_qubits = 1
        target = type("T", (), {"operation_names": []})()

        def qubit_properties(self, q):
            return Props()

    problems = validate_calibration(Stub())
    assert problems == ["qubit 0: T2=120.0 us > 2*T1=100.0 us (unphysical; clipped to 2*T1)"]
    # a shipped snapshot that violates it (FakeBrisbane)
    assert any("T2=" in p for p in device_summary("fake_brisbane").problems)


def test_transpiled_program_respects_the_device():
    vqc = _vqc(5, "angle", layers=2)
    dev = DeviceBackend("fake_nairobi")
    program = dev.program(vqc)
    coupling = {tuple(e) for e in dev.device.coupling_map.get_edges()}
    basis = set(dev.device.target.operation_names)
    for ins in program.instructions:
        assert ins.name in basis
        if len(ins.qubits) == 2:
            assert tuple(program.physical[q] for q in ins.qubits) in coupling
    assert program.count(2) >= 5  # the ring's 5 CNOTs per layer need routing on nairobi's H shape
    assert program.depth > 0 and len(program.measured) == 5


@pytest.mark.parametrize(("encoding", "n"), [(e, 2) for e in ENCODINGS] + [("iqp", 3)])
def test_qedm_engine_equals_aer_density_matrix(encoding, n):
    vqc = _vqc(n, encoding)
    x = _inputs(vqc, 3)
    ours = run(vqc, x, "fake_nairobi")
    aer = run(vqc, x, "fake_nairobi", engine="aer")
    ideal = vqc.exact_expectations(x)
    assert torch.allclose(ours, aer, atol=1e-5)
    assert (ours - ideal).abs().max() > 1e-3  # the noise is there


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("n", [3, 4, 5, 6, 7])
def test_qedm_engine_equals_aer_density_matrix_large(encoding, n):
    vqc = _vqc(n, encoding, layers=2)
    x = _inputs(vqc, 2)
    for device in ("fake_nairobi", "fake_brisbane"):
        if _dev(device).program(vqc).n_active > 10:  # routed through ancillas past the density engine's limit
            with pytest.raises(CircuitError, match="device qubits; the density-matrix engine supports at most 10"):
                run(vqc, x, device)
            continue
        ours = run(vqc, x, device)
        aer = run(vqc, x, device, engine="aer")
        assert torch.allclose(ours, aer, atol=1e-5), (device, encoding, n)


def _within_3se(estimate, exact, shots):
    """Every shot estimate within 3 standard errors sqrt((1 - <O>^2) / shots) of the exact value."""
    se = torch.sqrt((1 - exact.clamp(-1, 1) ** 2) / shots).clamp_min(1 / shots)
    return bool(((estimate - exact).abs() <= 3 * se).all())


@pytest.mark.parametrize("encoding", ["amplitude"])
def test_shot_estimates_agree_with_aer_within_3_se(encoding):
    vqc = _vqc(3, encoding)
    x = _inputs(vqc, 3)
    ours = run(vqc, x, "fake_nairobi", shots=20_000, seed=1)
    aer = run(vqc, x, "fake_nairobi", shots=20_000, engine="aer", seed=1)
    exact = run(vqc, x, "fake_nairobi")  # equals Aer's density matrix (tested above)
    # each engine's shots against the other engine's exact value
    assert _within_3se(ours, run(vqc, x, "fake_nairobi", engine="aer"), 20_000)
    assert _within_3se(aer, exact, 20_000)
    assert not torch.equal(ours, exact)  # shot noise is there


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("n", [2, 3, 4, 6, 7])
def test_shot_estimates_agree_with_aer_within_3_se_large(encoding, n):
    vqc = _vqc(n, encoding)
    x = _inputs(vqc, 2)
    ours = run(vqc, x, "fake_nairobi", shots=20_000, seed=1)
    aer = run(vqc, x, "fake_nairobi", shots=20_000, engine="aer", seed=1)
    assert _within_3se(ours, run(vqc, x, "fake_nairobi", engine="aer"), 20_000)
    assert _within_3se(aer, run(vqc, x, "fake_nairobi"), 20_000)


def test_mitigation_removes_at_least_half_the_noise_induced_error():
    vqc = VQC(3, 2, encoding="angle", seed=3, init="small", observables="z", dtype=torch.complex128)
    x = _inputs(vqc, 4) * 0.5
    ideal = vqc.exact_expectations(x)
    raw = (run(vqc, x, "fake_lagos") - ideal).abs().mean()
    for mitigation in ("readout", "zne", "readout+zne"):
        err = (run(vqc, x, "fake_lagos", mitigation=mitigation) - ideal).abs().mean()
        if mitigation == "zne":
            assert err < raw  # ZNE alone cannot undo readout error, which lagos has plenty of
        else:
            assert err <= 0.5 * raw, (mitigation, float(err), float(raw))
    # with readout error removed, ZNE then removes at least half of the gate-noise error
    readout_only = (run(vqc, x, "fake_lagos", mitigation="readout") - ideal).abs().mean()
    both = (run(vqc, x, "fake_lagos", mitigation="readout+zne") - ideal).abs().mean()
    assert both <= 0.5 * readout_only


def test_exponential_extrapolation_matches_mitiq():
    from mitiq.zne.inference import ExpFactory, LinearFactory, RichardsonFactory

    gen = torch.Generator().manual_seed(0)
    true = torch.rand(4, 2, generator=gen, dtype=torch.float64) * 1.6 - 0.8
    scales = (1, 3, 5)
    values = torch.stack([true * math.exp(-0.07 * s) + 0.002 * torch.randn(4, 2, generator=gen,
                                                                            dtype=torch.float64)
                          for s in scales])
    for factory, cls in (("exponential", ExpFactory), ("richardson", RichardsonFactory), ("linear", LinearFactory)):
        ours = extrapolate(values, scales, factory)
        for b in range(4):
            for m in range(2):
                kw = {"asymptote": 0.0} if factory == "exponential" else {}
                ref = cls.extrapolate(list(map(float, scales)), values[:, b, m].tolist(), **kw)
                assert float(ours[b, m]) == pytest.approx(ref, abs=1e-6), factory


def test_qedm_engine_is_differentiable():
    vqc = _vqc(2, "angle")
    x = _inputs(vqc, 2)
    dev = DeviceBackend("fake_nairobi")
    xx, w = vqc._resolve(x, None)
    w = w.detach().clone().requires_grad_(True)
    dev.expectations(vqc, xx, w).sum().backward()
    eps = 1e-6
    wp, wm = w.detach().clone(), w.detach().clone()
    wp[0, 0, 1] += eps
    wm[0, 0, 1] -= eps
    fd = (dev.expectations(vqc, xx, wp).sum() - dev.expectations(vqc, xx, wm).sum()) / (2 * eps)
    assert float(w.grad[0, 0, 1]) == pytest.approx(float(fd), abs=1e-6)


def test_bad_input_is_one_clear_error():
    vqc = _vqc(2, "angle")
    x = _inputs(vqc, 2)
    with pytest.raises(CircuitError, match="unknown device 'fake_mars'"):
        expectations(vqc, x, "fake_mars")
    with pytest.raises(CircuitError, match="shots must be a positive integer"):
        expectations(vqc, x, "fake_nairobi", shots=0)
    with pytest.raises(CircuitError, match="unknown mitigation 'magic'"):
        expectations(vqc, x, "fake_nairobi", mitigation="magic")
    with pytest.raises(CircuitError, match="unknown engine"):
        expectations(vqc, x, "fake_nairobi", engine="gpu")
    big = _vqc(8, "angle")
    with pytest.raises(CircuitError, match="8 qubits but device 'fake_nairobi' has 7"):
        expectations(big, _inputs(big, 1), "fake_nairobi")


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "qiskit_ibm_runtime.fake_provider", None)
    with pytest.raises(MissingExtraError, match=r"qedm\[hardware\]"):
        load_device("fake_nairobi")


class FaultyBackend(DeviceBackend):
    """Fails (or hangs) on the calls listed in `faults` (call number -> 'error' | 'hang')."""

    def __init__(self, faults, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults, self.calls = faults, 0

    def estimate(self, circuit, x, weights, shift=None, generator=None):
        self.calls += 1
        fault = self.faults.get(self.calls)
        if fault == "error":
            raise RuntimeError(f"device busy (call {self.calls})")
        if fault == "hang":
            import time

            time.sleep(2.0)
        return super().estimate(circuit, x, weights, shift, generator)


def test_fallback_loses_no_rows_and_records_each_fallback(caplog):
    from qedm.quantum.backends.resilient import ResilientBackend
    from qedm.quantum.provenance import device_provenance

    vqc = _vqc(2, "angle")
    # batch 1 fails once then succeeds on retry; batch 2 fails twice (falls back); batch 3 hangs past the timeout
    faulty = FaultyBackend({2: "error", 4: "error", 5: "error", 6: "hang", 7: "hang"}, "fake_nairobi", shots=100)
    faulty.program(vqc)  # transpile before the clock starts
    backend = ResilientBackend(faulty, retries=1, timeout_s=1.0)
    batches = [_inputs(vqc, 5, seed=s) for s in range(4)]
    outs = []
    with caplog.at_level("WARNING", logger="qedm.quantum"):
        for x in batches:
            xx, w = vqc._resolve(x, None)
            outs.append(backend.submit(vqc, xx, w).result())
    assert [o.shape for o in outs] == [(5, 3)] * 4 and all(bool(torch.isfinite(o).all()) for o in outs)
    assert [f["rows"] for f in backend.fallbacks] == [5, 5]
    assert "RuntimeError: device busy" in backend.fallbacks[0]["reason"]
    assert "timed out" in backend.fallbacks[1]["reason"]
    assert torch.allclose(outs[2], vqc.exact_expectations(batches[2]).to(outs[2].dtype))  # exact simulator rows
    assert sum("exact statevector simulator" in r.message for r in caplog.records) == 2
    prov = device_provenance(backend, vqc)
    assert len(prov["fallbacks"]) == 2 and prov["shots"] == 100
    assert prov["two_qubit_gates"] >= 1 and prov["estimated_qpu_seconds"] > 0


def test_parameter_shift_on_the_device_equals_backprop_through_the_engine():
    x = torch.rand(3, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    grads = []
    for method in ("parameter-shift", "backprop"):
        vqc = VQC(2, 1, seed=1, backend="fake_nairobi", diff_method=method, dtype=torch.complex128)
        vqc(x).sum().backward()
        grads.append(vqc.weights.grad)
    assert grads[0].abs().max() > 1e-3
    assert torch.allclose(grads[0], grads[1], atol=1e-10)


class SlowBackend(DeviceBackend):
    """A device with 0.4 s of latency per call that counts calls in flight; chunks listed in `faults` fail.

    faults: first row's x[0] (rounded) -> how many attempts fail ("always" = every one).
    """

    def __init__(self, faults, *args, **kwargs):
        import threading

        super().__init__(*args, **kwargs)
        self.faults, self.in_flight, self.max_in_flight = dict(faults), 0, 0
        self._count = threading.Lock()

    def estimate(self, circuit, x, weights, shift=None, generator=None):
        import time

        key = round(float(x[0, 0]), 6)
        with self._count:
            left = self.faults.get(key, 0)
            if left:
                self.faults[key] = left if left == "always" else left - 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if left:
                raise RuntimeError("device busy")
            time.sleep(0.4)  # queue and network latency: the GIL is free, other chunks run
            return super().estimate(circuit, x, weights, shift, generator)
        finally:
            with self._count:
                self.in_flight -= 1


def test_chunks_are_in_flight_at_once_and_lose_no_rows():
    import time

    from qedm.quantum.backends.resilient import ResilientBackend

    vqc = _vqc(2, "angle")
    x = _inputs(vqc, 16, seed=7)
    xx, w = vqc._resolve(x, None)
    # chunk 2 (rows 4-7) fails once then succeeds on retry; chunk 3 (rows 8-11) always fails: fallback
    slow = SlowBackend({round(float(x[4, 0]), 6): 1, round(float(x[8, 0]), 6): "always"}, "fake_nairobi")
    slow.program(vqc)
    backend = ResilientBackend(slow, retries=1, chunk_rows=4, workers=4)
    start = time.perf_counter()
    future = backend.submit(vqc, xx, w)  # returns at once: classical work overlaps the device
    assert not future.done()
    out = future.result()
    wall = time.perf_counter() - start
    assert slow.max_in_flight >= 2  # chunks overlapped (serially: 5 device calls, 1.6 s of latency)
    assert wall < 1.4, wall
    assert out.shape == (16, 3)
    noisy = DeviceBackend("fake_nairobi").expectations(vqc, xx, w)
    keep = torch.ones(16, dtype=torch.bool)
    keep[8:12] = False
    assert torch.allclose(out[keep], noisy[keep].to(out.dtype), atol=1e-12)  # every row, in order
    assert torch.allclose(out[8:12], vqc.exact_expectations(x[8:12]).to(out.dtype))  # the fallen-back chunk
    assert [(f["rows"], f["attempts"]) for f in backend.fallbacks] == [(4, 2)]
    assert backend.failures == 3  # one retried failure, two on the fallen-back chunk
    assert slow.usage["circuit_executions"] == 12


def test_chunked_shots_are_reproducible():
    from qedm.quantum.backends.resilient import ResilientBackend

    vqc = _vqc(2, "angle")
    x = _inputs(vqc, 10, seed=2)
    xx, w = vqc._resolve(x, None)
    runs = [ResilientBackend(DeviceBackend("fake_nairobi", shots=200, seed=4), chunk_rows=3, workers=3)
            .estimate(vqc, xx, w) for _ in range(2)]
    assert torch.equal(runs[0], runs[1]) and runs[0].shape == (10, 3)


@pytest.mark.parametrize("chunk_rows", [None, 3])
def test_device_threads_run_in_the_callers_grad_mode(chunk_rows):
    """torch.no_grad is per thread: a sampler's no-grad call must not build a graph on the workers."""
    from qedm.quantum.backends.resilient import ResilientBackend

    vqc = _vqc(2, "angle")
    x = _inputs(vqc, 8, seed=3)
    backend = ResilientBackend(DeviceBackend("fake_nairobi", shots=100), chunk_rows=chunk_rows, workers=2)
    with torch.no_grad():
        out = backend.estimate(vqc, *vqc._resolve(x, None))
        late = backend.submit(vqc, *vqc._resolve(x, None)).result()
    assert out.grad_fn is None and not out.requires_grad
    assert late.grad_fn is None
    graded = backend.estimate(vqc, *vqc._resolve(x, None))  # with grad: the straight-through graph is kept
    assert graded.requires_grad
