"""The classical denoiser: a TabDDPM-style residual MLP that predicts the noise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from qedm.errors import ConfigError
from qedm.models.configs import ClassicalConfig
from qedm.models.embeddings import ConditionedInput, check_int


class ResidualBlock(nn.Module):
    """h + Linear(Dropout(SiLU(Linear(SiLU(h))))): [B, hidden] -> [B, hidden]."""

    def __init__(self, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.net(h)

    @staticmethod
    def count_parameters(hidden: int) -> int:
        return 2 * (hidden * hidden + hidden)


class ClassicalDenoiser(nn.Module):
    """eps(x_t, t[, y]): x_t [B, data_dim], t LongTensor [B] -> [B, data_dim].

    h = Linear(x_t) + MLP(sinusoidal(t)) (+ class vector), then n_blocks residual blocks,
    then SiLU and a linear read-out.
    """

    name = "classical"

    settings = ClassicalConfig  # its settings and their defaults, declared once

    def __init__(self, data_dim: int, hidden: int = ClassicalConfig.hidden, n_blocks: int = ClassicalConfig.n_blocks,
                 time_dim: int = ClassicalConfig.time_dim, dropout: float = ClassicalConfig.dropout,
                 n_classes: int | None = None, seed: int | None = None,
                 continuous_condition: bool = False) -> None:
        super().__init__()
        data_dim = check_int("data_dim", data_dim)
        hidden = check_int("hidden", hidden)
        time_dim = check_int("time_dim", time_dim)
        n_blocks = check_int("n_blocks", n_blocks, minimum=0)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout!r}")
        n_classes = None if n_classes is None else check_int("n_classes", n_classes)
        self.data_dim, self.hidden, self.n_blocks, self.time_dim = data_dim, hidden, n_blocks, time_dim
        self.config: dict[str, Any] = {"data_dim": data_dim, "hidden": hidden, "n_blocks": n_blocks,
                                       "time_dim": time_dim, "dropout": dropout, "n_classes": n_classes,
                                       "seed": seed, "continuous_condition": continuous_condition}
        with seeded_init(seed):
            self.stem = ConditionedInput(data_dim, hidden, time_dim, n_classes, continuous_condition)
            self.blocks = nn.Sequential(*(ResidualBlock(hidden, dropout) for _ in range(n_blocks)))
            self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, data_dim))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.blocks(self.stem(x_t, t, y)))

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters: {"classical", "quantum" (0 here), "total"}."""
        total = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return {"classical": total, "quantum": 0, "total": total}

    @staticmethod
    def count_parameters(data_dim: int, hidden: int = ClassicalConfig.hidden, n_blocks: int = ClassicalConfig.n_blocks,
                         time_dim: int = ClassicalConfig.time_dim, n_classes: int | None = None,
                         continuous_condition: bool = False) -> int:
        """Closed form: (1 + 2 n_blocks) h^2 + (2 d + time_dim + 3 + 2 n_blocks) h + d (+ labels)."""
        return (ConditionedInput.count_parameters(data_dim, hidden, time_dim, n_classes, continuous_condition)
                + n_blocks * ResidualBlock.count_parameters(hidden) + hidden * data_dim + data_dim)


def matched_classical_hidden(data_dim: int, target_params: int, n_blocks: int = ClassicalConfig.n_blocks,
                             time_dim: int = ClassicalConfig.time_dim, n_classes: int | None = None,
                             continuous_condition: bool = False) -> int:
    """The ClassicalDenoiser width whose parameter count is closest to `target_params` (>= 1).

    The count is quadratic in the width, so the real root is computed and its neighbours
    compared (ties go to the smaller width).
    """
    target_params = check_int("target_params", target_params)
    data_dim = check_int("data_dim", data_dim)

    def count(h: int) -> int:
        return ClassicalDenoiser.count_parameters(data_dim, h, n_blocks, time_dim, n_classes, continuous_condition)

    a = 1 + 2 * n_blocks
    b = count(1) - count(0) - a  # the linear coefficient, read off the closed form
    c = count(0)
    root = (-b + (b * b - 4 * a * (c - target_params)) ** 0.5) / (2 * a) if target_params > c else 1.0
    candidates = {max(1, int(root) + k) for k in (-1, 0, 1, 2)}
    return min(sorted(candidates), key=lambda h: abs(count(h) - target_params))


@contextmanager
def seeded_init(seed: int | None) -> Iterator[None]:
    """Initialise layers from `seed` without touching the caller's random state (None: no-op)."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
