"""Epochs and batch size scaled with the rows: batch 128 and at most 1000 epochs on small tables, else a step budget."""
import math

import pytest

from qedm.scaling import MAX_BATCH, MAX_EPOCHS, STEP_BUDGET, scaled_batch_size, scaled_epochs, training_length


@pytest.mark.parametrize("rows, epochs", [(20, 1000), (150, 1000), (309, 667), (398, 500), (640, 400)])
def test_small_tables_take_the_step_budget_up_to_the_epoch_cap(rows, epochs):
    # ceil(rows / 128) steps per epoch; epochs = round(2000 / that), capped at 1000.
    assert MAX_EPOCHS == 1000
    assert training_length(None, None, rows) == (epochs, 128)
    assert epochs == min(MAX_EPOCHS, round(STEP_BUDGET / math.ceil(rows / 128)))


@pytest.mark.parametrize("rows, batch", [(5000, 256), (14133, 1024), (100_000, MAX_BATCH), (10**7, MAX_BATCH)])
def test_large_tables_take_about_the_step_budget(rows, batch):
    epochs, got = training_length(None, None, rows)
    assert got == batch
    steps = epochs * math.ceil(rows / batch)
    assert steps == pytest.approx(STEP_BUDGET, rel=0.1) or epochs == 10


def test_given_values_win_and_the_scaled_batch_is_a_power_of_two():
    assert training_length(7, 64, 100_000) == (7, 64)
    assert training_length(None, 64, 6400) == (scaled_epochs(6400, 64), 64)
    for rows in (3000, 30_000, 70_000):
        assert math.log2(scaled_batch_size(rows)).is_integer()
