"""A continuous condition column (e.g. a physical field h): standardised values for the denoiser.

Class conditions become indices into a label table; a continuous one stays a number, so a
model can be asked for a value it never saw in training (between or near the trained ones).
The fitted state (mean, scale, the distinct training values and their frequencies) is JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from qedm.errors import ConfigError, DataError


def is_continuous(values: pd.Series, kind: str) -> bool:
    """Whether a condition column is modelled as a value: kind "continuous", or "auto" and the
    column is float with at least one non-integer value ("class" and other dtypes: classes)."""
    if kind != "auto":
        return kind == "continuous"
    if not pd.api.types.is_float_dtype(values):
        return False
    finite = values.dropna().to_numpy(dtype=float)
    return bool(np.any(finite != np.round(finite)))


@dataclass
class ValueCondition:
    """Standardisation of a continuous condition, and the training values to draw from."""

    column: str
    mean: float
    scale: float
    values: list[float]  # distinct training values, sorted
    frequencies: list[float]  # their share of the training rows

    @classmethod
    def fit(cls, column: str, values: pd.Series) -> "ValueCondition":
        try:
            numbers = pd.to_numeric(values).to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"continuous condition {column!r} must hold numbers") from None
        if not np.isfinite(numbers).all():
            raise DataError(f"condition {column!r} has missing or infinite values; fill or drop them first")
        distinct, counts = np.unique(numbers, return_counts=True)
        scale = float(numbers.std()) or 1.0
        return cls(column, float(numbers.mean()), scale, distinct.tolist(), (counts / counts.sum()).tolist())

    def encode(self, values) -> torch.Tensor:
        """Standardised float64 tensor [N] of raw values (float64, so decode gives them back exactly)."""
        return torch.as_tensor((np.asarray(values, dtype=float) - self.mean) / self.scale, dtype=torch.float64)

    def decode(self, encoded: torch.Tensor) -> np.ndarray:
        """Raw values [N] of standardised ones (rounded to 12 decimals: undoes the float64 round trip)."""
        return np.round(encoded.double().numpy() * self.scale + self.mean, 12)

    def parse(self, value: Any) -> float:
        """A requested value (CLI values arrive as text) as a finite float; errors name the column."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{self.column}={value!r} is not a number (the condition is continuous)") from None
        if not math.isfinite(number):
            raise ConfigError(f"{self.column}={value!r} must be a finite number")
        return number

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n standardised values drawn from the training values at their frequencies: [n]."""
        index = torch.multinomial(torch.tensor(self.frequencies, dtype=torch.float64), n, replacement=True,
                                  generator=generator)
        return self.encode(np.asarray(self.values)[index.numpy()])

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "mean": self.mean, "scale": self.scale, "values": self.values,
                "frequencies": self.frequencies}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ValueCondition":
        return cls(**values)


def null_condition(labels: torch.Tensor) -> torch.Tensor:
    """The "no condition" input of the same shape: -1 for class labels, NaN for values."""
    return torch.full_like(labels, float("nan") if torch.is_floating_point(labels) else -1)
