"""Reversible transform between grey-level images [N, H, W] and flat rows in [-1, 1] [N, H*W].

The image counterpart of `TableTransformer`: a fixed affine map from the pixel range
[low, high] (0..16 for scikit-learn's digits) to [-1, 1], the range diffusion models are
trained on; `inverse_transform` maps back and clips, since samples may leave the range.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qedm.errors import DataError


class ImageTransformer:
    """Images [N, H, W] in [low, high] <-> float32 rows [N, H*W] in [-1, 1]."""

    kind = "image"

    def __init__(self, low: float = 0.0, high: float = 16.0) -> None:
        if not float(high) > float(low):
            raise DataError(f"ImageTransformer needs high > low, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)
        self.shape: tuple[int, int] | None = None

    @property
    def output_dim(self) -> int:
        """Width of a transformed row (H*W); only known after fit."""
        return self._fitted_shape()[0] * self._fitted_shape()[1]

    def _fitted_shape(self) -> tuple[int, int]:
        if self.shape is None:
            raise DataError("ImageTransformer is not fitted; call fit(images) first")
        return self.shape

    def _check_images(self, images: Any) -> np.ndarray:
        arr = np.asarray(images, dtype=np.float64)
        if arr.ndim != 3:
            raise DataError(f"images must have shape [N, H, W], got {arr.shape}")
        if arr.shape[0] == 0:
            raise DataError("images is empty (N = 0)")
        if not np.isfinite(arr).all():
            raise DataError("images contain NaN or infinite pixels")
        return arr

    def fit(self, images: Any) -> "ImageTransformer":
        """Store the image shape; pixels outside [low, high] raise DataError."""
        arr = self._check_images(images)
        lo, hi = float(arr.min()), float(arr.max())
        if lo < self.low or hi > self.high:
            raise DataError(
                f"pixel values span [{lo}, {hi}], outside the declared range [low={self.low}, high={self.high}]"
            )
        self.shape = (int(arr.shape[1]), int(arr.shape[2]))
        return self

    def transform(self, images: Any) -> np.ndarray:
        """images [N, H, W] -> float32 [N, H*W] in [-1, 1]."""
        arr = self._check_images(images)
        if tuple(arr.shape[1:]) != self._fitted_shape():
            raise DataError(f"images have shape {arr.shape[1:]} per image, fitted on {self.shape}")
        scaled = 2.0 * (arr - self.low) / (self.high - self.low) - 1.0
        return scaled.reshape(len(arr), -1).astype(np.float32)

    def inverse_transform(self, rows: Any) -> np.ndarray:
        """rows [N, H*W] (any real values) -> float64 images [N, H, W] clipped to [low, high]."""
        h, w = self._fitted_shape()
        arr = np.asarray(rows.detach().cpu() if hasattr(rows, "detach") else rows, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != h * w:
            raise DataError(f"rows must have shape [N, {h * w}], got {arr.shape}")
        images = (arr + 1.0) / 2.0 * (self.high - self.low) + self.low
        return np.clip(images, self.low, self.high).reshape(len(arr), h, w)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description that `from_dict` rebuilds."""
        return {"kind": self.kind, "low": self.low, "high": self.high,
                "shape": list(self.shape) if self.shape is not None else None}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ImageTransformer":
        if values.get("kind", cls.kind) != cls.kind:
            raise DataError(f"not an image transform description: kind={values.get('kind')!r}")
        out = cls(low=values["low"], high=values["high"])
        shape = values.get("shape")
        out.shape = (int(shape[0]), int(shape[1])) if shape is not None else None
        return out
