"""Forward+backward time of qedm's VQC vs PennyLane default.qubit (backprop, broadcasting).

Circuit per row (n, L, B): RY(x_i) angle encoding of x [B, n], L layers of Rot on every qubit
+ CNOT ring, <Z_i> on every qubit. Times are medians of repeats after warm-up, measured in one
process so the ratio PennyLane/qedm is comparable even on a busy machine.
Run: .venv/bin/python benchmarks/bench_quantum.py [--device cuda] [--threads 1] [--torchquantum]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import torch

from qedm.quantum.circuits import VQC, choose_execution
from qedm.quantum.simulator import kron_groups

CPU_ROWS = [(6, 4, 256), (8, 4, 256), (10, 6, 256), (12, 6, 128)]
CUDA_ROWS = [(16, 4, 64), (18, 4, 32), (20, 4, 16)]


def timed(fn, device: str, repeats: int, warmup: int = 2) -> float:
    """Median seconds of fn() after warm-up."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def qedm_step(n: int, layers: int, batch: int, device: str):
    """A closure running forward+backward of one batch through qedm's VQC."""
    vqc = VQC(n, layers, encoding="angle", entangler="ring", observables="z", init="uniform", seed=0).to(device)
    x = torch.rand(batch, n, device=device, requires_grad=True)

    def step():
        vqc.zero_grad(set_to_none=True)
        vqc(x).sum().backward()

    return step


def qedm_macs(n: int, layers: int, batch: int) -> float:
    """Complex MACs of qedm's forward path (encoding, layers, expectation); backward ~2x more."""
    dim, mode = 2**n, choose_execution(n, layers, batch)
    per_row = dim * (sum(2**s for _, s in kron_groups(n)))
    layer_macs = layers * (dim if mode == "fused" else batch) * per_row
    apply = batch * dim * dim if mode == "fused" else 0
    return layer_macs + apply + batch * dim * n / 2  # expectation: real MACs counted as half


def pennylane_step(n: int, layers: int, batch: int, device: str):
    """The same circuit as a PennyLane QNode (torch interface, backprop, broadcast over the batch)."""
    import pennylane as qml

    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(x, w):
        for q in range(n):
            qml.RY(x[:, q], wires=q)
        for layer in range(layers):
            for q in range(n):
                qml.Rot(w[layer, q, 0], w[layer, q, 1], w[layer, q, 2], wires=q)
            for q in range(n if n > 2 else 1):
                qml.CNOT(wires=[q, (q + 1) % n])
        return [qml.expval(qml.PauliZ(q)) for q in range(n)]

    w = (torch.rand(layers, n, 3, dtype=torch.float64, device=device) * 2 * math.pi).requires_grad_(True)
    x = torch.rand(batch, n, dtype=torch.float64, device=device, requires_grad=True)

    def step():
        torch.stack(circuit(x, w)).sum().backward()

    return step


def torchquantum_step(n: int, layers: int, batch: int, device: str):
    """Optional: the same circuit in torchquantum (only when it imports)."""
    import torchquantum as tq

    qdev = tq.QuantumDevice(n_wires=n, bsz=batch, device=device)
    w = (torch.rand(layers, n, 3, device=device) * 2 * math.pi).requires_grad_(True)
    x = torch.rand(batch, n, device=device, requires_grad=True)

    def step():
        qdev.reset_states(batch)
        for q in range(n):
            tq.functional.ry(qdev, wires=q, params=x[:, q])
        for layer in range(layers):
            for q in range(n):
                tq.functional.rot(qdev, wires=q, params=w[layer, q].expand(batch, 3))
            for q in range(n if n > 2 else 1):
                tq.functional.cnot(qdev, wires=[q, (q + 1) % n])
        tq.measurements.expval_joint_analytical  # noqa: B018 (exists check)
        probs = qdev.get_states_1d().abs() ** 2
        probs.sum().backward()

    return step


def matmul_ceiling(device: str, size: int = 1024) -> float:
    """GFLOP/s of a plain complex64 matmul (the reference ceiling; 8 real flops per complex MAC)."""
    a = torch.randn(size, size, dtype=torch.complex64, device=device)
    b = torch.randn(size, size, dtype=torch.complex64, device=device)
    seconds = timed(lambda: a @ b, device, repeats=5, warmup=1)
    return 8 * size**3 / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torchquantum", action="store_true", help="add a torchquantum column if it imports")
    parser.add_argument("--skip-pennylane", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device available")
    tq_ok = False
    if args.torchquantum:
        try:
            import torchquantum  # noqa: F401

            tq_ok = True
        except ImportError:
            print("torchquantum does not import: column skipped")
    rows = CPU_ROWS + (CUDA_ROWS if device == "cuda" else [])
    ceiling = matmul_ceiling(device)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {device}")
    print(f"# complex64 1024^3 matmul ceiling: {ceiling:.1f} GFLOP/s")
    header = "| n | L | B | path | qedm ms | GFLOP/s | % ceiling | PennyLane ms | PL/qedm |"
    print(header + (" torchquantum ms |" if tq_ok else ""))
    print("|" + "---|" * (9 + tq_ok))
    for n, layers, batch in rows:
        ours = timed(qedm_step(n, layers, batch, device), device, args.repeats)
        gflops = 3 * 8 * qedm_macs(n, layers, batch) / ours / 1e9  # backward ~2x forward
        pl = float("nan")
        if not args.skip_pennylane and n <= 14:
            pl = timed(pennylane_step(n, layers, batch, device), device, max(3, args.repeats // 2), warmup=1)
        line = (f"| {n} | {layers} | {batch} | {choose_execution(n, layers, batch)} | {ours * 1e3:.2f} | "
                f"{gflops:.1f} | {100 * gflops / ceiling:.0f}% | {pl * 1e3:.1f} | {pl / ours:.1f}x |")
        if tq_ok:
            line += f" {timed(torchquantum_step(n, layers, batch, device), device, args.repeats) * 1e3:.2f} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
