"""Training length and batch size that scale with the table: what `epochs=None` / `batch_size=None` mean.

A fixed 300 epochs at batch 128 is 1,200 optimizer steps on a 400-row table but 235,000 on a
100,000-row one. Instead the batch grows with the rows (a power of two near rows / ROWS_PER_BATCH,
between MIN_BATCH and MAX_BATCH: larger batches cost far less per row on a CPU) and the epochs
are chosen so training takes about STEP_BUDGET optimizer steps, never more than MAX_EPOCHS and
never fewer than MIN_EPOCHS. Small tables train at batch 128 for up to MAX_EPOCHS = 1000 epochs
(about STEP_BUDGET steps down to ~260 rows): against the former cap of 300, on the suite's two
smallest tables (3 seeds) it lowered pair-trend error and C2ST for both denoisers (BENCHMARKS.md).
"""

from __future__ import annotations

import math

MIN_BATCH, MAX_BATCH, ROWS_PER_BATCH = 128, 4096, 16
STEP_BUDGET = 2000
MIN_EPOCHS, MAX_EPOCHS = 10, 1000


def scaled_batch_size(n_rows: int) -> int:
    """The power of two nearest n_rows / ROWS_PER_BATCH, within [MIN_BATCH, MAX_BATCH]."""
    if n_rows < 1:
        return MIN_BATCH
    power = 2 ** round(math.log2(max(n_rows / ROWS_PER_BATCH, 1.0)))
    return int(min(MAX_BATCH, max(MIN_BATCH, power)))


def scaled_epochs(n_rows: int, batch_size: int) -> int:
    """Epochs for about STEP_BUDGET steps of `batch_size` rows, within [MIN_EPOCHS, MAX_EPOCHS]."""
    steps_per_epoch = max(1, math.ceil(n_rows / max(1, min(batch_size, n_rows))))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, round(STEP_BUDGET / steps_per_epoch))))


def training_length(epochs: int | None, batch_size: int | None, n_rows: int) -> tuple[int, int]:
    """(epochs, batch_size) to train on `n_rows` rows: the given values, or the scaled ones for None."""
    batch = batch_size if batch_size is not None else scaled_batch_size(n_rows)
    return (epochs if epochs is not None else scaled_epochs(n_rows, batch)), batch
