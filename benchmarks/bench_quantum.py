"""Forward+backward time of qedm's VQC vs PennyLane default.qubit (backprop, broadcasting), both encodings.

Circuit per row (n, L, B): RY(x_i) encoding of x [B, n] ("angle": once; "reupload": before
every layer, the hybrid denoiser's default), L layers of Rot on every qubit + CNOT ring, <Z_i>
on every qubit. Both encodings and both simulators are timed in one process, interleaved, so
the ratio PennyLane/qedm is comparable even on a busy machine; glibc is told to keep freed
memory (see `keep_freed_memory`; --malloc default to leave it alone). `--runs R` repeats the
whole table R times (the issue's target is met only if every run meets it).
Then one training step (forward, backward, Adam) of the default hybrid denoiser against the
classical denoiser matched to its parameter count, interleaved the same way.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_quantum.py --threads 1 --clock cpu
"""

from __future__ import annotations

import argparse
import ctypes
import math
import platform
import statistics
import time

import torch

from qedm.models.classical import ClassicalDenoiser, matched_classical_hidden
from qedm.models.hybrid import HybridDenoiser
from qedm.quantum.backends.statevector import choose_execution
from qedm.quantum.circuits import VQC
from qedm.quantum.kernels import LAYER_GROUP
from qedm.quantum.kernels.compiled_layers import COMPILED_MAX_QUBITS
from qedm.quantum.simulator import kron_groups, z_signs

CPU_ROWS = [(6, 4, 256), (8, 4, 256), (10, 6, 256), (12, 6, 128)]
CUDA_ROWS = [(16, 4, 64), (18, 4, 32), (20, 4, 16)]


def timed(fn, device: str, repeats: int, warmup: int = 2, clock=time.perf_counter) -> float:
    """Median seconds of fn() after warm-up, on `clock`."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = clock()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(clock() - start)
    return statistics.median(times)


def interleaved(fns: dict, device: str, repeats: int, clock, inner: int = 4) -> dict:
    """Median seconds of each closure, timed round-robin so all see the same machine load.

    Each round runs a short closure 1 + `inner` times back to back (PennyLane, whose steps
    are long, once). The first of them runs on caches the previous closure evicted; it is
    kept apart as "<name>:cold", and the median of the others is the steady-state step time
    a training loop sees, which the ratio uses.
    """
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if name.startswith(("pl", "peer")):
                times[name].append(timed(fn, device, repeats=1, warmup=0, clock=clock))
                continue
            times.setdefault(f"{name}:cold", []).append(timed(fn, device, repeats=1, warmup=0, clock=clock))
            times[name] += [timed(fn, device, repeats=1, warmup=0, clock=clock) for _ in range(inner)]
    return {name: statistics.median(ts) for name, ts in times.items()}


def qedm_step(n: int, layers: int, batch: int, device: str, execution: str = "auto", encoding: str = "angle"):
    """A closure running forward+backward of one batch through qedm's VQC."""
    vqc = VQC(n, layers, encoding=encoding, entangler="ring", observables="z", init="uniform", seed=0,
              execution=execution).to(device)
    x = torch.rand(batch, n, device=device, requires_grad=True)

    def step():
        vqc.zero_grad(set_to_none=True)
        vqc(x).sum().backward()

    return step


def qedm_real_macs(n: int, layers: int, batch: int) -> float:
    """Real multiply-adds of qedm's GEMMs for forward + backward (the cost model's flop terms).

    layers: per layer after the product-state first one, one real GEMM per wire group on the
    re/im parts, x2 for the state gradient, plus n per real entry for the RY angle gradients
    (the compiled cross sums on the CPU); fused: 4 * (4L - 3) complex-as-real
    compositions of 2**n x 2**n matrices plus the stacked real GEMM on the states, x3.
    """
    dim, mode = 2**n, choose_execution(n, layers, batch)
    if mode == "fused":
        return 4 * (4 * layers - 3) * dim**3 + 6 * batch * dim**2
    return (layers - 1) * 2 * batch * dim * (2 * sum(2**s for _, s in kron_groups(n, LAYER_GROUP)) + n)


def pennylane_step(n: int, layers: int, batch: int, device: str, encoding: str = "angle"):
    """The same circuit as a PennyLane QNode (torch interface, backprop, broadcast over the batch)."""
    import pennylane as qml

    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(x, w):
        for layer in range(layers):
            if layer == 0 or encoding == "reupload":
                for q in range(n):
                    qml.RY(x[:, q], wires=q)
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

    w = (torch.rand(layers, n, 3, device=device) * 2 * math.pi).requires_grad_(True)
    x = torch.rand(batch, n, device=device, requires_grad=True)

    def step():
        qdev = tq.QuantumDevice(n_wires=n, bsz=batch, device=device)
        for q in range(n):
            tq.functional.ry(qdev, wires=q, params=x[:, q])
        for layer in range(layers):
            for q in range(n):
                tq.functional.rot(qdev, wires=q, params=w[layer, q].expand(batch, 3))
            for q in range(n if n > 2 else 1):
                tq.functional.cnot(qdev, wires=[q, (q + 1) % n])
        (qdev.get_states_1d().abs() ** 2).sum().backward()

    return step


def tensorcircuit_step(n: int, layers: int, batch: int, encoding: str = "angle"):
    """The same circuit in TensorCircuit-NG (JAX backend, jit of value_and_grad over a vmap of the rows).

    Returns (compile seconds: the first call, which traces and compiles; the steady-step closure).
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    import tensorcircuit as tc

    tc.set_backend("jax")
    tc.set_dtype("complex64")

    def row(x, w):
        c = tc.Circuit(n)
        for layer in range(layers):
            if layer == 0 or encoding == "reupload":
                for q in range(n):
                    c.ry(q, theta=x[q])
            for q in range(n):  # Rot(a, b, c) = RZ(c) RY(b) RZ(a)
                c.rz(q, theta=w[layer, q, 0])
                c.ry(q, theta=w[layer, q, 1])
                c.rz(q, theta=w[layer, q, 2])
            for q in range(n if n > 2 else 1):
                c.cnot(q, (q + 1) % n)
        return jnp.stack([jnp.real(c.expectation_ps(z=[q])) for q in range(n)])

    loss = jax.jit(jax.value_and_grad(lambda x, w: jnp.sum(jax.vmap(row, in_axes=(0, None))(x, w)), argnums=(0, 1)))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(0, 1, (batch, n)), dtype=jnp.float32)
    w = jnp.asarray(rng.uniform(0, 2 * np.pi, (layers, n, 3)), dtype=jnp.float32)
    start = time.perf_counter()
    jax.block_until_ready(loss(x, w))
    compile_seconds = time.perf_counter() - start

    def step():
        jax.block_until_ready(loss(x, w))

    return compile_seconds, step


def qandle_step(n: int, layers: int, batch: int, encoding: str = "angle"):
    """The same circuit in Qandle (torch; RY inputs as named gates, fed per row), <Z_q> from its probabilities."""
    import qandle

    def same(t):
        return t

    gates = []
    for layer in range(layers):
        if layer == 0 or encoding == "reupload":
            gates += [qandle.RY(q, name=f"x{q}", remapping=same) for q in range(n)]
        for q in range(n):
            gates += [qandle.RZ(q, remapping=same), qandle.RY(q, remapping=same), qandle.RZ(q, remapping=same)]
        gates += [qandle.CNOT(q, (q + 1) % n) for q in range(n if n > 2 else 1)]
    circuit = qandle.Circuit(gates + [qandle.MeasureAllAbsolute()], num_qubits=n)
    x = torch.rand(batch, n, requires_grad=True)
    zero = torch.zeros(batch, 1, 2**n, dtype=torch.cfloat)  # its named inputs batch only with a batched state
    zero[..., 0] = 1

    def step():
        circuit.zero_grad(set_to_none=True)
        probs = circuit(zero, **{f"x{q}": x[:, q, None, None] for q in range(n)})[:, 0]  # [B, 2**n]
        (probs @ signs).sum().backward()

    signs = z_signs(n, [(q,) for q in range(n)])
    return step


def training_steps(data_dim: int = 30, batch: int = 128, seed: int = 0) -> dict:
    """Closures of one training step (forward, MSE backward, Adam) of the default hybrid and its matched classical.

    The hybrid is `QEDM(denoiser="hybrid")`'s denoiser (hidden 128, 2 blocks, time_dim 32, 6 qubits,
    3 layers, reupload, ring, z+zz); the classical one has the same blocks and time embedding and
    the width whose parameter count is closest to the hybrid's.
    """
    hybrid = HybridDenoiser(data_dim, n_qubits=6, n_layers=3, hidden=128, n_blocks=2, time_dim=32, seed=seed)
    target = sum(p.numel() for p in hybrid.parameters())
    width = matched_classical_hidden(data_dim, target, n_blocks=2, time_dim=32)
    classical = ClassicalDenoiser(data_dim, hidden=width, n_blocks=2, time_dim=32, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    x, noise = torch.randn(batch, data_dim, generator=gen), torch.randn(batch, data_dim, generator=gen)
    t = torch.randint(0, 1000, (batch,), generator=gen)

    def step_of(model):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x, t), noise).backward()
            opt.step()

        return step

    return {"hybrid": step_of(hybrid), "classical": step_of(classical),
            "params": (target, sum(p.numel() for p in classical.parameters()), width)}


def keep_freed_memory() -> bool:
    """Tell glibc malloc to keep freed memory instead of handing it back to the OS (Linux/glibc only).

    Both sides run in one process. By default glibc returns the top of the heap to the OS
    inside some later free() call and page-faults fresh blocks back in: PennyLane's step
    frees hundreds of MB, and the trim then lands in a qedm step (measured at n=10: ~50 ms
    instead of 14, 35 ms of it system time), while PennyLane pays page faults on its own
    large temporaries (its n=8 step 83-124 ms by default, 75 ms with this). The values are
    those of MALLOC_MMAP_THRESHOLD_=32 MiB, MALLOC_TRIM_THRESHOLD_=1 GiB, MALLOC_TOP_PAD_=256 MiB.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3  # glibc's mallopt parameter numbers
    return all(libc.mallopt(param, value) == 1 for param, value in
               ((m_mmap_threshold, 32 << 20), (m_trim_threshold, 1 << 30), (m_top_pad, 256 << 20)))


def matmul_ceiling(device: str, dtype: torch.dtype, clock, size: int = 1024) -> float:
    """GFLOP/s of a plain large matmul (the reference ceiling; a complex MAC is 8 real flops)."""
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    seconds = timed(lambda: a @ b, device, repeats=5, warmup=1, clock=clock)
    return (8 if dtype.is_complex else 2) * size**3 / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torchquantum", action="store_true", help="add a torchquantum column if it imports")
    parser.add_argument("--skip-pennylane", action="store_true")
    parser.add_argument("--peers", default="", help="comma-separated: tensorcircuit (JAX, jit + vmap), qandle; "
                        "each times the same rows, and is skipped with one line if it does not import")
    parser.add_argument("--qubits", default=None, help="only these rows, by n: e.g. 6,8")
    parser.add_argument("--encodings", default="angle,reupload", help="comma-separated: angle, reupload")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole table this many times")
    parser.add_argument("--skip-training", action="store_true", help="skip the hybrid vs classical training step")
    parser.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                        help="cpu: process CPU time (with --threads 1 this is the wall time an idle "
                             "machine would show; robust when other processes share the cores)")
    parser.add_argument("--compare-executions", action="store_true",
                        help="also time execution='fused' and 'layers' (the cost-model crossover)")
    parser.add_argument("--malloc", default="keep", choices=["keep", "default"],
                        help="keep (default): glibc keeps freed memory, so neither side pays the other's "
                             "heap trims and PennyLane runs at its fastest; default: glibc's own settings")
    args = parser.parse_args()
    malloc = "glibc keeps freed memory" if args.malloc == "keep" and keep_freed_memory() else "default malloc"
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
    peers = {}
    for peer, build in (("tensorcircuit", tensorcircuit_step), ("qandle", qandle_step)):
        if peer in args.peers.split(","):
            try:
                __import__(peer)
                peers[peer] = build
            except ImportError as err:
                print(f"# {peer} skipped: it does not import ({err})")
    rows = CPU_ROWS + (CUDA_ROWS if device == "cuda" else [])
    if args.qubits:
        wanted = {int(q) for q in args.qubits.split(",")}
        rows = [row for row in rows if row[0] in wanted]
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.clock == "cpu" and (device == "cuda" or torch.get_num_threads() != 1):
        raise SystemExit("--clock cpu needs --device cpu and --threads 1")
    ceiling = matmul_ceiling(device, torch.complex64, clock)
    real_ceiling = matmul_ceiling(device, torch.float32, clock)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {device}, "
          f"{args.clock} clock, median of {args.repeats} interleaved repeats, {malloc}")
    print(f"# 1024^3 matmul ceiling: complex64 {ceiling:.1f} GFLOP/s, float32 {real_ceiling:.1f} GFLOP/s "
          "(% ceiling: qedm's GEMM flops per second over the float32 ceiling)")
    print("# qedm ms: steady state (median of the steps after the first in each round); first step: the one right "
          "after a PennyLane step (cold caches)")
    encodings = args.encodings.split(",")
    print("| run | n | L | B | encoding | path | qedm ms | GFLOP/s | % ceiling | PennyLane ms | PL/qedm "
          "| qedm first step ms | PL/qedm first step |" + (" torchquantum ms |" if tq_ok else ""))
    print("|" + "---|" * (13 + tq_ok))
    worst: dict = {}
    for run in range(1, args.runs + 1):
        for n, layers, batch in rows:
            fns = {}
            for enc in encodings:
                fns[enc] = qedm_step(n, layers, batch, device, encoding=enc)
                if not args.skip_pennylane and n <= 14:
                    fns[f"pl_{enc}"] = pennylane_step(n, layers, batch, device, enc)
            if args.compare_executions:
                modes = ("fused", "layers") if n <= 10 else ("layers",)  # fused at n=12: minutes per step
                fns.update({m: qedm_step(n, layers, batch, device, m) for m in modes})
            if tq_ok:
                fns["tq"] = torchquantum_step(n, layers, batch, device)
            compiles = {}
            for peer, build in peers.items():
                for enc in encodings:
                    made = build(n, layers, batch, enc)
                    if isinstance(made, tuple):
                        compiles[(peer, enc)], made = made
                    fns[f"peer_{peer}_{enc}"] = made
            t = interleaved(fns, device, args.repeats, clock)
            for enc in encodings:
                ours, pl, cold = t[enc], t.get(f"pl_{enc}", float("nan")), t[f"{enc}:cold"]
                reupload = enc == "reupload"
                gflops = float("nan") if reupload else 2 * qedm_real_macs(n, layers, batch) / ours / 1e9
                path = "reupload" if reupload else choose_execution(n, layers, batch)
                if device == "cpu" and n <= COMPILED_MAX_QUBITS[enc]:
                    path, gflops = "compiled", float("nan")  # per-wire passes, not GEMMs: no flop model
                line = (f"| {run} | {n} | {layers} | {batch} | {enc} | {path} | {ours * 1e3:.2f} | "
                        f"{gflops:.1f} | {100 * gflops / real_ceiling:.0f}% | {pl * 1e3:.1f} | {pl / ours:.1f}x | "
                        f"{cold * 1e3:.2f} | {pl / cold:.1f}x |")
                if tq_ok:
                    line += f" {t['tq'] * 1e3:.2f} |"
                if args.compare_executions:
                    line += " " + ", ".join(f"{m} {t[m] * 1e3:.2f} ms" for m in ("fused", "layers") if m in t)
                print(line, flush=True)
                key = (n, enc)
                worst[key] = min(worst.get(key, float("inf")), pl / ours)
                for peer in peers:
                    step = t[f"peer_{peer}_{enc}"]
                    compiled = f", compile {compiles[(peer, enc)]:.1f} s" if (peer, enc) in compiles else ""
                    print(f"#   {peer} n={n} {enc}: step {step * 1e3:.2f} ms ({step / ours:.1f}x qedm){compiled}")
    if args.runs > 1:
        print("# worst PL/qedm over the runs: " + ", ".join(f"n={n} {enc} {r:.1f}x" for (n, enc), r in worst.items()))
    if not args.skip_training:
        steps = training_steps()
        hybrid_params, classical_params, width = steps.pop("params")
        t = interleaved(steps, device, args.repeats, clock)
        print(f"# training step (forward, backward, Adam; B=128, data_dim=30): hybrid {t['hybrid'] * 1e3:.2f} ms "
              f"({hybrid_params} parameters), matched classical {t['classical'] * 1e3:.2f} ms (hidden {width}, "
              f"{classical_params} parameters): hybrid/classical {t['hybrid'] / t['classical']:.2f}x")


if __name__ == "__main__":
    main()
