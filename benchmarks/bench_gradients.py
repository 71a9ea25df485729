"""Barren-plateau diagnostic: Var[d<Z_0 Z_1>/d theta] over random initialisations vs qubits and layers.

For each encoding and init of qedm's VQC, the variance (over `--samples` seeded weight draws and
random inputs) of the gradient of <Z_0 Z_1> with respect to the RY angle of qubit 0 in the
middle layer, at n = 2..14 qubits, for a shallow (3 layers) and a deep (3n layers) circuit.
Printed next to the 2-design value d^2 / (2 (d^2 - 1) (d + 1)) ~ 2^-(n+1) that a deep random
circuit approaches (qedm.quantum.barren_plateau), with the fitted slope of log2 Var against n
(-1: the exponential decay of a barren plateau).

    .venv/bin/python benchmarks/bench_gradients.py                      # every encoding and init
    .venv/bin/python benchmarks/bench_gradients.py --qubits 2,4,6,8 --samples 60 --encodings reupload
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qedm.quantum.barren_plateau import gradient_variance, haar_gradient_variance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", default="2,4,6,8,10,12,14")
    parser.add_argument("--layers", default="3,deep", help="comma list of layer counts; 'deep' = 3n")
    parser.add_argument("--encodings", default="angle,reupload,iqp,amplitude")
    parser.add_argument("--inits", default="uniform,small")
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    qubits = [int(n) for n in args.qubits.split(",")]
    print("| encoding | init | layers | " + " | ".join(f"n={n}" for n in qubits) + " | slope of log2 Var |")
    print("|---" * (len(qubits) + 4) + "|")
    print("| 2-design value | | | " + " | ".join(f"{haar_gradient_variance(n):.2g}" for n in qubits) + " | -1 |")
    for encoding in args.encodings.split(","):
        for init in args.inits.split(","):
            for layers in args.layers.split(","):
                started = time.perf_counter()
                values = [gradient_variance(n, 3 * n if layers == "deep" else int(layers), encoding=encoding,
                                            init=init, samples=args.samples) for n in qubits]
                logs = np.log2(np.maximum(values, 1e-300))
                slope = np.polyfit(qubits, logs, 1)[0] if len(qubits) > 1 else float("nan")
                label = "3n" if layers == "deep" else layers
                print(f"| {encoding} | {init} | {label} | " + " | ".join(f"{v:.2g}" for v in values)
                      + f" | {slope:+.2f} |", flush=True)
                print(f"  ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
