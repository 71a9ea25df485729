"""Device emulation speed: qedm's density-matrix engine vs Qiskit Aer's density-matrix method.

Both run the SAME transpiled program (a 6-qubit, 2-layer angle-encoded VQC transpiled for
fake_nairobi, with its routing SWAPs) with the SAME device noise (Aer's from_backend channels)
on B = 256 rows, exact noisy expectations (qedm: rho in the VQC default complex64, --dtype complex128
for double; Aer: complex128), in one process, interleaved, 1 thread each
(torch.set_num_threads(1), Aer max_parallel_threads=1). Transpilation and noise construction
happen once before the clock (they are cached per template). The Aer time includes binding the
256 circuits (qedm's includes computing the angles). Reported: medians over --runs and the ratio.

    .venv/bin/python benchmarks/bench_hardware.py --runs 3
    .venv/bin/python benchmarks/bench_hardware.py --study   # circuit-level error table, two devices

--study is a CIRCUIT-level table, not sample quality: the mean |<O>_device - <O>_ideal| of a
4-qubit VQC's outputs on 64 rows for each mitigation and shot count, with the estimated QPU time
of those 64 rows, on two devices of different quality.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--qubits", type=int, default=6)
    parser.add_argument("--device", default="fake_nairobi")
    parser.add_argument("--dtype", choices=("complex64", "complex128"), default="complex64",
                        help="the VQC's dtype (complex64 is its default); Aer always runs complex128")
    parser.add_argument("--study", action="store_true", help="the circuit-level error table instead")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.study:
        return study()

    import qiskit_aer

    from qedm.quantum import VQC
    from qedm.quantum.aer_engine import aer_circuits
    from qedm.quantum.backends.device import DeviceBackend
    from qedm.quantum.device_program import angles

    vqc = VQC(args.qubits, 2, encoding="angle", seed=1, init="uniform", dtype=getattr(torch, args.dtype))
    x = torch.rand(args.rows, args.qubits, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    dev = DeviceBackend(args.device)
    program, noise, emulator = dev.compiled(vqc)
    xx, w = vqc._resolve(x, None)
    sim = qiskit_aer.AerSimulator(method="density_matrix", noise_model=noise.aer_noise_model(),
                                  max_parallel_threads=1, max_parallel_experiments=1)
    print(f"{args.device}: {args.qubits} logical -> {program.n_active} device qubits, depth {program.depth}, "
          f"{program.count(2)} two-qubit gates, {len(program.instructions)} native gates, B={args.rows}, "
          f"qedm rho in {args.dtype}")

    def run_qedm():
        with torch.no_grad():
            theta = angles(vqc.ops(), xx, w, vqc.dtype)
            return emulator.probabilities(theta).double() @ vqc.signs.double()

    def run_aer():
        theta = angles(vqc.ops(), xx, w, vqc.dtype)
        result = sim.run(aer_circuits(program, theta, None, measure=False), shots=1).result()
        return [result.data(i)["probabilities"] for i in range(args.rows)]

    ours = run_qedm().double()
    ref = torch.as_tensor(np.asarray(run_aer()))
    from qedm.quantum.device_emulator import apply_local

    ref = apply_local(ref, {i: torch.as_tensor(noise.readout[q]) for i, q in enumerate(program.measured)},
                      args.qubits) @ vqc.signs.double()
    print(f"max |qedm - Aer| over the {args.rows} x {vqc.n_outputs} expectations: {(ours - ref).abs().max():.1e}")
    times = {"qedm": [], "aer": []}
    for _ in range(args.runs):
        for name, fn in (("qedm", run_qedm), ("aer", run_aer)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"qedm engine {med['qedm']:.3f} s, Aer density_matrix {med['aer']:.3f} s (medians of {args.runs}); "
          f"qedm is {med['aer'] / med['qedm']:.1f}x faster")


def study() -> None:
    from qedm.quantum import VQC, expectations
    from qedm.quantum.backends.device import DeviceBackend

    vqc = VQC(4, 2, encoding="angle", seed=3, init="small", observables="both", dtype=torch.complex128)
    x = torch.rand(64, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3
    ideal = vqc.exact_expectations(x)
    print("| device | mitigation | shots | mean abs error vs ideal | est. QPU s (64 rows) |")
    print("|---|---|---|---|---|")
    for device in ("fake_nairobi", "fake_lagos"):
        for mitigation in ("none", "readout", "zne", "readout+zne"):
            for shots in (None, 100, 1000, 10000):
                dev = DeviceBackend(device, shots, mitigation)
                err = (expectations(vqc, x, dev, seed=1).double() - ideal).abs().mean()
                print(f"| {device} | {mitigation} | {shots or 'exact'} | {err:.4f} | "
                      f"{dev.usage['qpu_seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
