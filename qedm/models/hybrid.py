"""The hybrid denoiser: a classical trunk, a VQC bottleneck, and a residual path around it."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from qedm.choices import (
    ANGLE_ENCODINGS,
    BACKENDS,
    DEVICE_BACKENDS,
    DIFF_METHODS,
    ENCODINGS,
    ENTANGLERS,
    HYBRID_DESIGNS,
    OBSERVABLES,
    qubit_count,
)
from qedm.errors import ConfigError
from qedm.models.classical import ResidualBlock, seeded_init
from qedm.models.configs import HybridConfig
from qedm.models.embeddings import ConditionedInput, check_choice, check_int

_D = HybridConfig  # the defaults of the constructor below


def check_circuit_choices(n_qubits: int, encoding: str, entangler: str, observables: str,
                          gradient: str, backend: str) -> None:
    """Validate the circuit arguments the hybrid and quantum denoisers share (ConfigError names one)."""
    check_choice("encoding", encoding, ENCODINGS)
    check_choice("entangler", entangler, ENTANGLERS)
    check_choice("observables", observables, OBSERVABLES)
    check_choice("gradient", gradient, DIFF_METHODS)
    check_choice("backend", backend, BACKENDS + DEVICE_BACKENDS)
    qubit_count("n_qubits", n_qubits)


class HybridDenoiser(nn.Module):
    """eps(x_t, t[, y]): x_t [B, data_dim], t LongTensor [B] -> [B, data_dim].

    trunk:  h = stem(x_t, t, y) -> n_blocks residual blocks            [B, hidden]
    circuit inputs: pi * tanh(Linear(h)) for angle-type encodings       [B, n_inputs]
            (amplitude: Linear(h), which the VQC normalises)
    VQC:    q = <observables>                                           [B, n_outputs]
    c = Linear(q)                                                       [B, hidden]
    out:    Linear(SiLU(z)) with z by `design`                          [B, data_dim]
      "residual"   z = h + c: the trunk's h skips around the VQC, so a poorly trainable circuit
                   cannot make training start worse than the MLP -- and the model may learn to
                   ignore the circuit (see qedm.evaluate.ablation);
      "bottleneck" z = c: no bypass, everything the read-out sees passes through the circuit;
      "gated"      z = (1 - g) * h + g * c, g = sigmoid(a) per channel (a starts at 0);
      "film"       z = h * (1 + Linear'(q)) + c: the circuit modulates the trunk multiplicatively;
      "skip"       z = c + Linear''(x_t): only a linear read of the noisy input bypasses the circuit,
                   every non-linear feature of (x_t, t) reaches the read-out through it.
    """

    name = "hybrid"

    settings = HybridConfig  # its settings and their defaults, declared once

    def __init__(self, data_dim: int, n_qubits: int = _D.n_qubits, n_layers: int = _D.n_layers,
                 hidden: int = _D.hidden, n_blocks: int = _D.n_blocks, time_dim: int = _D.time_dim,
                 encoding: str = _D.encoding, entangler: str = _D.entangler, observables: str = _D.observables,
                 gradient: str = _D.gradient, shots: int | None = _D.shots, backend: str = _D.backend,
                 init: str = _D.init, dropout: float = _D.dropout, design: str = _D.design,
                 n_classes: int | None = None, seed: int | None = None,
                 continuous_condition: bool = False) -> None:
        super().__init__()
        from qedm.quantum.circuits import VQC  # lazy: classical-only users skip the quantum stack

        data_dim, n_qubits = check_int("data_dim", data_dim), check_int("n_qubits", n_qubits)
        n_layers, hidden = check_int("n_layers", n_layers), check_int("hidden", hidden)
        time_dim = check_int("time_dim", time_dim)
        n_blocks = check_int("n_blocks", n_blocks, minimum=0)
        n_classes = None if n_classes is None else check_int("n_classes", n_classes)
        shots = None if shots is None else check_int("shots", shots)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout!r}")
        check_circuit_choices(n_qubits, encoding, entangler, observables, gradient, backend)
        check_choice("design", design, HYBRID_DESIGNS)
        self.design = design
        self.data_dim, self.hidden, self.n_blocks, self.time_dim = data_dim, hidden, n_blocks, time_dim
        self.encoding = encoding
        self.config: dict[str, Any] = {
            "data_dim": data_dim, "n_qubits": n_qubits, "n_layers": n_layers, "hidden": hidden,
            "n_blocks": n_blocks, "time_dim": time_dim, "encoding": encoding, "entangler": entangler,
            "observables": observables, "gradient": gradient, "shots": shots, "backend": backend,
            "init": init, "dropout": dropout, "design": design, "n_classes": n_classes, "seed": seed,
            "continuous_condition": continuous_condition,
        }
        with seeded_init(seed):
            self.stem = ConditionedInput(data_dim, hidden, time_dim, n_classes, continuous_condition)
            self.blocks = nn.Sequential(*(ResidualBlock(hidden, dropout) for _ in range(n_blocks)))
            self.vqc = VQC(n_qubits, n_layers, encoding=encoding, entangler=entangler, observables=observables,
                           init=init, shots=shots, diff_method=gradient, seed=seed, backend=backend)
            self.to_circuit = nn.Linear(hidden, self.vqc.n_inputs)
            self.from_circuit = nn.Linear(self.vqc.n_outputs, hidden)
            self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, data_dim))
            self.gate = nn.Parameter(torch.zeros(hidden)) if design == "gated" else None
            self.modulation = nn.Linear(self.vqc.n_outputs, hidden) if design == "film" else None
            self.skip = nn.Linear(data_dim, hidden) if design == "skip" else None

    def circuit_inputs(self, h: torch.Tensor) -> torch.Tensor:
        """What the VQC reads: angles in (-pi, pi), or raw amplitudes: [B, n_inputs]."""
        z = self.to_circuit(h)
        return math.pi * torch.tanh(z) if self.encoding in ANGLE_ENCODINGS else z

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.stem(x_t, t, y))
        q = self.vqc(self.circuit_inputs(h)).to(h.dtype)
        c = self.from_circuit(q)
        if self.design == "bottleneck":
            z = c
        elif self.design == "gated":
            g = torch.sigmoid(self.gate)
            z = (1 - g) * h + g * c
        elif self.design == "film":
            z = h * (1 + self.modulation(q)) + c
        elif self.design == "skip":
            z = c + self.skip(x_t)
        else:
            z = h + c
        return self.out(z)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters: {"classical", "quantum" (the VQC's weights), "total"}."""
        total = sum(p.numel() for p in self.parameters() if p.requires_grad)
        quantum = sum(p.numel() for p in self.vqc.parameters() if p.requires_grad)
        return {"classical": total - quantum, "quantum": quantum, "total": total}
