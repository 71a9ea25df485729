"""Conditioning for denoisers (timestep features, class labels, the input stem) and argument checks."""

from __future__ import annotations

import math

import torch
from torch import nn

from qedm.choices import one_of, positive_int
from qedm.errors import ConfigError, DataError


class SinusoidalTimeEmbedding(nn.Module):
    """Fixed features of an integer timestep (Vaswani et al.; as in DDPM): t [B] -> [B, dim].

    Half cosines, half sines at frequencies max_period^(-k/half), k = 0..half-1; an odd dim
    gets a zero last column. No trainable parameters.
    """

    def __init__(self, dim: int, max_period: float = 10_000.0) -> None:
        super().__init__()
        check_int("time_dim", dim)
        self.dim, self.max_period = dim, float(max_period)
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / max(half, 1))
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        args = t.to(self.freqs.dtype)[:, None] * self.freqs[None, :]
        emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
        if self.dim % 2:
            emb = nn.functional.pad(emb, (0, 1))
        return emb


class LabelEmbedding(nn.Module):
    """A learned vector per class plus one "no class" vector (classifier-free guidance).

    y: LongTensor [B] with values in 0..n_classes-1, or -1 for "no class"; y=None means no
    class for every row. Returns [B, dim].
    """

    def __init__(self, n_classes: int, dim: int) -> None:
        super().__init__()
        check_int("n_classes", n_classes)
        self.n_classes = n_classes
        self.table = nn.Embedding(n_classes + 1, dim)

    def forward(self, y: torch.Tensor | None, batch: int) -> torch.Tensor:
        if y is None:
            y = torch.full((batch,), -1, dtype=torch.long, device=self.table.weight.device)
        y = y.long()
        if y.shape != (batch,) or bool(((y < -1) | (y >= self.n_classes)).any()):
            raise DataError(f"labels y must be [B={batch}] with values in -1..{self.n_classes - 1}, "
                            f"got shape {tuple(y.shape)}")
        return self.table(torch.where(y < 0, torch.full_like(y, self.n_classes), y))


class ValueEmbedding(nn.Module):
    """A continuous condition (e.g. a field h, standardised) as a vector, plus a "no value" vector.

    y: FloatTensor [B] of standardised values, NaN for "no value" (classifier-free guidance);
    y=None means no value for every row. The value is expanded into Fourier features
    [y, sin(2 pi f_k y), cos(2 pi f_k y)] with a few low, fixed frequencies f_k (smooth in y, so
    the model interpolates between training values), then a small MLP: [B] -> [B, dim].
    """

    def __init__(self, dim: int, n_frequencies: int = 4, max_frequency: float = 1.0) -> None:
        super().__init__()
        check_int("dim", dim)
        check_int("n_frequencies", n_frequencies)
        freqs = max_frequency * 2.0 ** (torch.arange(n_frequencies, dtype=torch.float32) - n_frequencies + 1)
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(1 + 2 * n_frequencies, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.null = nn.Parameter(torch.zeros(dim))

    def forward(self, y: torch.Tensor | None, batch: int) -> torch.Tensor:
        if y is None:
            return self.null.expand(batch, -1)
        if y.shape != (batch,) or not torch.is_floating_point(y):
            raise DataError(f"condition values y must be a float tensor [B={batch}], "
                            f"got {y.dtype} of shape {tuple(y.shape)}")
        missing = torch.isnan(y)
        v = torch.where(missing, torch.zeros_like(y), y).to(self.freqs.dtype)[:, None]
        angles = 2 * math.pi * v * self.freqs[None, :]
        emb = self.mlp(torch.cat([v, torch.sin(angles), torch.cos(angles)], dim=1))
        return torch.where(missing[:, None], self.null.expand(batch, -1).to(emb.dtype), emb)

    @staticmethod
    def count_parameters(dim: int, n_frequencies: int = 4) -> int:
        return (2 + 2 * n_frequencies) * dim + (dim + 1) * dim + dim


def make_condition_embedding(n_classes: int | None, continuous: bool, dim: int) -> nn.Module | None:
    """The condition's embedding: a class table, a value embedding, or None (unconditional)."""
    if continuous and n_classes:
        raise ConfigError("a denoiser is conditioned on classes (n_classes) or on a value (continuous), not both")
    if continuous:
        return ValueEmbedding(dim)
    return LabelEmbedding(n_classes, dim) if n_classes else None


class ConditionedInput(nn.Module):
    """The stem shared by MLP-style denoisers: x_t [B, d], t [B], y -> hidden [B, hidden].

    h = Linear(x_t) + MLP(sinusoidal(t)) (+ label or value vector), the TabDDPM recipe.
    `continuous=True` conditions on a float value y [B] (NaN = none) instead of a class.
    """

    def __init__(self, data_dim: int, hidden: int, time_dim: int, n_classes: int | None = None,
                 continuous: bool = False) -> None:
        super().__init__()
        self.time_embed = SinusoidalTimeEmbedding(time_dim)
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.in_proj = nn.Linear(data_dim, hidden)
        self.label_embed = make_condition_embedding(n_classes, continuous, hidden)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.in_proj(x) + self.time_mlp(self.time_embed(t))
        if self.label_embed is not None:
            h = h + self.label_embed(y, x.shape[0])
        elif y is not None:
            raise ConfigError("labels y were given but the denoiser was built without n_classes")
        return h

    @staticmethod
    def count_parameters(data_dim: int, hidden: int, time_dim: int, n_classes: int | None = None,
                         continuous: bool = False) -> int:
        """Trainable parameters of the stem, in closed form."""
        labels = (n_classes + 1) * hidden if n_classes else 0
        labels += ValueEmbedding.count_parameters(hidden) if continuous else 0
        return (data_dim + 1) * hidden + (time_dim + 1) * hidden + (hidden + 1) * hidden + labels


# The one validator of settings lives in qedm.choices; these are its names here.
check_int = positive_int
check_choice = one_of
