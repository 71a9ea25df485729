"""Barren-plateau diagnostic: the variance of a circuit parameter's gradient over random initialisations.

For a circuit whose two halves around a parameter theta (generator P/2, P a Pauli) are each
a unitary 2-design, with a Pauli-string observable O on n qubits (d = 2**n) and a pure input
state, Var[d<O>/d theta] = d^2 / (2 (d^2 - 1) (d + 1)) ~ 2^-(n+1) (McClean et al. 2018; the
closed form follows from the Haar averages of U rho U^dag and V^dag O V, see
`haar_gradient_variance`). A deep enough hardware-efficient circuit with uniform random angles
approaches this; qedm's default small init (angles ~ N(0, 0.05^2)) starts near the identity
and does not.
"""

from __future__ import annotations

import math

import torch

from qedm.errors import ConfigError


def haar_gradient_variance(n_qubits: int) -> float:
    """The 2-design value of Var[d<O>/d theta] on n qubits: d^2 / (2 (d^2 - 1) (d + 1)), d = 2**n."""
    if n_qubits < 1:
        raise ConfigError(f"n_qubits must be >= 1, got {n_qubits!r}")
    d = 2.0**n_qubits
    return d * d / (2 * (d * d - 1) * (d + 1))


def gradient_variance(n_qubits: int, n_layers: int, *, encoding: str = "angle", init: str = "uniform",
                      samples: int = 100, seed: int = 0, layer: int | None = None, angle: int = 1) -> float:
    """Var over `samples` seeded initialisations of d<Z_0 Z_1>/d w[layer, 0, angle] (n_qubits >= 2).

    Each initialisation draws the VQC's weights by its `init` (seed + s) and one input row
    (angles uniform in [-pi, pi); amplitude encoding: a Gaussian vector), so the variance is
    over both, as a trained model would see. `layer` defaults to the middle layer; angle 1 is
    the RY of the Rot gate.
    """
    from qedm.quantum.circuits import VQC

    if n_qubits < 2:
        raise ConfigError(f"n_qubits must be >= 2 for <Z_0 Z_1>, got {n_qubits!r}")
    if samples < 2:
        raise ConfigError(f"samples must be >= 2, got {samples!r}")
    layer = n_layers // 2 if layer is None else layer
    generator = torch.Generator().manual_seed(seed)
    grads = []
    for s in range(samples):
        vqc = VQC(n_qubits, n_layers, encoding=encoding, observables="zz", init=init, seed=seed + s,
                  dtype=torch.complex128)
        if encoding == "amplitude":
            x = torch.randn(1, vqc.n_inputs, generator=generator, dtype=torch.float64)
        else:
            x = (torch.rand(1, vqc.n_inputs, generator=generator, dtype=torch.float64) * 2 - 1) * math.pi
        (grad,) = torch.autograd.grad(vqc(x)[0, 0], vqc.weights)
        grads.append(float(grad[layer, 0, angle]))
    return float(torch.tensor(grads, dtype=torch.float64).var())
