"""The quantum denoiser: the VQC does the work between a linear read-in and a linear read-out."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from qedm.errors import ConfigError
from qedm.models.classical import seeded_init
from qedm.models.configs import QuantumConfig
from qedm.models.embeddings import SinusoidalTimeEmbedding, check_int, make_condition_embedding
from qedm.models.hybrid import check_circuit_choices

_D = QuantumConfig  # the defaults of the constructor below


class QuantumDenoiser(nn.Module):
    """eps(x_t, t[, y]): x_t [B, data_dim], t LongTensor [B] -> [B, data_dim].

    z = Linear([x_t, sinusoidal(t)]) (+ a learned offset per class or value)   [B, n_inputs]
    q = VQC(z)                                                        [B, n_outputs]
    eps = Linear(q)                                                   [B, data_dim]
    Meant for a compressed latent (data_dim <= n_qubits); with angle-type encodings the read-in
    is left unbounded since rotation angles are periodic anyway.
    """

    name = "quantum"

    settings = QuantumConfig  # its settings and their defaults, declared once

    def __init__(self, data_dim: int, n_qubits: int = _D.n_qubits, n_layers: int = _D.n_layers,
                 time_dim: int = _D.time_dim, encoding: str = _D.encoding, entangler: str = _D.entangler,
                 observables: str = _D.observables, gradient: str = _D.gradient, shots: int | None = _D.shots,
                 backend: str = _D.backend, init: str = _D.init, n_classes: int | None = None,
                 seed: int | None = None, continuous_condition: bool = False) -> None:
        super().__init__()
        from qedm.quantum.circuits import VQC  # lazy: classical-only users skip the quantum stack

        data_dim, n_qubits = check_int("data_dim", data_dim), check_int("n_qubits", n_qubits)
        n_layers, time_dim = check_int("n_layers", n_layers), check_int("time_dim", time_dim)
        n_classes = None if n_classes is None else check_int("n_classes", n_classes)
        shots = None if shots is None else check_int("shots", shots)
        check_circuit_choices(n_qubits, encoding, entangler, observables, gradient, backend)
        self.data_dim, self.time_dim = data_dim, time_dim
        self.config: dict[str, Any] = {
            "data_dim": data_dim, "n_qubits": n_qubits, "n_layers": n_layers, "time_dim": time_dim,
            "encoding": encoding, "entangler": entangler, "observables": observables,
            "gradient": gradient, "shots": shots, "backend": backend, "init": init, "n_classes": n_classes,
            "seed": seed, "continuous_condition": continuous_condition,
        }
        with seeded_init(seed):
            self.time_embed = SinusoidalTimeEmbedding(time_dim)
            self.vqc = VQC(n_qubits, n_layers, encoding=encoding, entangler=entangler, observables=observables,
                           init=init, shots=shots, diff_method=gradient, seed=seed, backend=backend)
            self.read_in = nn.Linear(data_dim + time_dim, self.vqc.n_inputs)
            self.label_embed = make_condition_embedding(n_classes, continuous_condition, self.vqc.n_inputs)
            self.read_out = nn.Linear(self.vqc.n_outputs, data_dim)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        z = self.read_in(torch.cat([x_t, self.time_embed(t).to(x_t.dtype)], dim=1))
        if self.label_embed is not None:
            z = z + self.label_embed(y, x_t.shape[0])
        elif y is not None:
            raise ConfigError("labels y were given but the denoiser was built without n_classes")
        return self.read_out(self.vqc(z).to(z.dtype))

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters: {"classical", "quantum" (the VQC's weights), "total"}."""
        total = sum(p.numel() for p in self.parameters() if p.requires_grad)
        quantum = sum(p.numel() for p in self.vqc.parameters() if p.requires_grad)
        return {"classical": total - quantum, "quantum": quantum, "total": total}
