"""The hybrid denoiser: a classical trunk, a VQC bottleneck, and a residual path around it."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from qedm.errors import ConfigError
from qedm.models.classical import ResidualBlock, seeded_init
from qedm.models.embeddings import ConditionedInput, check_choice, check_int

ANGLE_ENCODINGS = ("angle", "reupload", "iqp")
ENCODINGS = ANGLE_ENCODINGS + ("amplitude",)
ENTANGLERS = ("ring", "all")
OBSERVABLES = ("z", "zz", "both")
DIFF_METHODS = ("backprop", "parameter-shift", "spsa")



def check_circuit_choices(n_qubits: int, encoding: str, entangler: str, observables: str,
                          diff_method: str) -> None:
    """Validate the circuit arguments the hybrid and quantum denoisers share (ConfigError names one)."""
    check_choice("encoding", encoding, ENCODINGS)
    check_choice("entangler", entangler, ENTANGLERS)
    check_choice("observables", observables, OBSERVABLES)
    check_choice("diff_method", diff_method, DIFF_METHODS)
    if n_qubits > 20:
        raise ConfigError(f"n_qubits={n_qubits} is too large for a statevector simulator (max 20)")

class HybridDenoiser(nn.Module):
    """eps(x_t, t[, y]): x_t [B, data_dim], t LongTensor [B] -> [B, data_dim].

    trunk:  h = stem(x_t, t, y) -> n_blocks residual blocks            [B, hidden]
    circuit inputs: pi * tanh(Linear(h)) for angle-type encodings       [B, n_inputs]
            (amplitude: Linear(h), which the VQC normalises)
    VQC:    q = <observables>                                           [B, n_outputs]
    out:    Linear(SiLU(h + Linear(q)))                                 [B, data_dim]
    The trunk's h skips around the VQC: the model always contains a small MLP (stem, blocks,
    read-out) and the circuit adds to it instead of gating it, so a poorly trainable circuit
    cannot make training start worse than that MLP.
    """

    name = "hybrid"

    def __init__(self, data_dim: int, n_qubits: int = 6, n_layers: int = 3, hidden: int = 64,
                 n_blocks: int = 1, time_dim: int = 32, encoding: str = "reupload", entangler: str = "ring",
                 observables: str = "both", diff_method: str = "backprop", shots: int | None = None,
                 init: str = "small", dropout: float = 0.0, n_classes: int | None = None,
                 seed: int | None = None, continuous_condition: bool = False) -> None:
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
        check_circuit_choices(n_qubits, encoding, entangler, observables, diff_method)
        self.data_dim, self.hidden, self.n_blocks, self.time_dim = data_dim, hidden, n_blocks, time_dim
        self.encoding = encoding
        self.config: dict[str, Any] = {
            "data_dim": data_dim, "n_qubits": n_qubits, "n_layers": n_layers, "hidden": hidden,
            "n_blocks": n_blocks, "time_dim": time_dim, "encoding": encoding, "entangler": entangler,
            "observables": observables, "diff_method": diff_method, "shots": shots, "init": init,
            "dropout": dropout, "n_classes": n_classes, "seed": seed, "continuous_condition": continuous_condition,
        }
        with seeded_init(seed):
            self.stem = ConditionedInput(data_dim, hidden, time_dim, n_classes, continuous_condition)
            self.blocks = nn.Sequential(*(ResidualBlock(hidden, dropout) for _ in range(n_blocks)))
            self.vqc = VQC(n_qubits, n_layers, encoding=encoding, entangler=entangler, observables=observables,
                           init=init, shots=shots, diff_method=diff_method, seed=seed)
            self.to_circuit = nn.Linear(hidden, self.vqc.n_inputs)
            self.from_circuit = nn.Linear(self.vqc.n_outputs, hidden)
            self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, data_dim))

    def circuit_inputs(self, h: torch.Tensor) -> torch.Tensor:
        """What the VQC reads: angles in (-pi, pi), or raw amplitudes: [B, n_inputs]."""
        z = self.to_circuit(h)
        return math.pi * torch.tanh(z) if self.encoding in ANGLE_ENCODINGS else z

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.stem(x_t, t, y))
        q = self.vqc(self.circuit_inputs(h)).to(h.dtype)
        return self.out(h + self.from_circuit(q))

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters: {"classical", "quantum" (the VQC's weights), "total"}."""
        total = sum(p.numel() for p in self.parameters() if p.requires_grad)
        quantum = sum(p.numel() for p in self.vqc.parameters() if p.requires_grad)
        return {"classical": total - quantum, "quantum": quantum, "total": total}
