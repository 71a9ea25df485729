"""Induced imbalance: a table with one class cut down to a small share of the rows.

The standard protocol for studying rare-class oversampling on a table whose class is
predictable: keep every row of the other classes and a seeded random subset of the chosen
class, so that it makes up `share` of the result. Apply it to the training part of a split
only; the held-out part keeps its natural class balance, so the rare class's real rows can
still be scored (recall, average precision, how a classifier reads them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qedm.errors import DataError


def minority_rows_for_share(n_rest: int, share: float) -> int:
    """How many rows of the class to keep so that they are `share` of n_rest + kept (at least 1)."""
    return max(1, int(round(share * n_rest / (1.0 - share))))


def induce_imbalance(frame: pd.DataFrame, column: str, value: Any, share: float, seed: int) -> pd.DataFrame:
    """`frame` with the rows where `column == value` subsampled to `share` of the result.

    The other rows are kept as they are and in their order; the kept rows of the class are a
    seeded random subset (same seed, same rows), placed where they stood. Raises DataError when
    the column is missing, the class is absent, `share` is not in (0, 1), or the class already
    makes up no more than `share` (nothing to cut).
    """
    if column not in frame.columns:
        raise DataError(f"induce_imbalance: column {column!r} is not in the table; columns: "
                        f"{', '.join(map(str, frame.columns))}")
    if not 0.0 < share < 1.0:
        raise DataError(f"induce_imbalance: share must lie in (0, 1), got {share!r}")
    is_class = (frame[column] == value).to_numpy()
    n_class, n_rest = int(is_class.sum()), int((~is_class).sum())
    if n_class == 0:
        raise DataError(f"induce_imbalance: column {column!r} has no rows of class {value!r}")
    keep = minority_rows_for_share(n_rest, share)
    if keep >= n_class:
        raise DataError(f"induce_imbalance: class {value!r} of {column!r} is already {n_class} of "
                        f"{len(frame)} rows, not above share={share}")
    chosen = np.random.default_rng(seed).choice(np.flatnonzero(is_class), size=keep, replace=False)
    mask = ~is_class
    mask[chosen] = True
    return frame[mask]
