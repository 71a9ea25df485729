"""A PNG grid of small grey-level images (generated digits next to real ones), written atomically."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qedm.atomic import atomic_write
from qedm.errors import DataError


def save_image_grid(
    images,
    path: str | Path,
    ncols: int = 10,
    labels: Sequence | None = None,
    title: str | None = None,
    cmap: str = "gray_r",
) -> Path:
    """Save images [N, H, W] as one PNG grid with `ncols` columns; `labels` [N] become panel titles.

    Each panel uses the common grey range of the whole set, so brightness is comparable.
    """
    arr = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise DataError(f"images must have shape [N, H, W] with N >= 1, got {arr.shape}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise DataError(f"ncols must be a positive integer, got {ncols!r}")
    if labels is not None and len(labels) != len(arr):
        raise DataError(f"labels has {len(labels)} entries for {len(arr)} images")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(arr)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    vmin, vmax = float(arr.min()), float(arr.max())
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.8, nrows * (0.95 if labels is not None else 0.8)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(arr[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=7, pad=1)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(pad=0.2)
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=80))
    finally:
        plt.close(fig)
