"""Where benchmark cells run: one after another in this process, or as Ray tasks (local or a cluster).

A cell is one (model, seed) fit-sample-evaluate of `qedm.benchmark`. Each executor yields
finished cells as they finish, so the benchmark writes results.csv after every one and an
interrupted run resumes. A cell's result depends only on its seed (explicit seeds, one torch
thread), so the Ray executor gives the same rows as the sequential one.
On a cluster, the benchmark's out_dir must be on a filesystem every node sees (samples and
histories are written by the task that made them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from qedm.errors import ConfigError, require

EXECUTORS = ("sequential", "ray")


@dataclass
class Cell:
    """One benchmark cell: a model name, a seed and that seed's split."""

    name: str
    seed: int
    train: pd.DataFrame
    holdout: pd.DataFrame
    epochs: int | None = None  # for the progress bar only


CellFn = Callable[[Cell, Any], dict]  # (cell, progress) -> the cell's results row


class SequentialExecutor:
    """Cells in order, in this process, with a progress bar of each model's epochs."""

    def map(self, fn: CellFn, cells: Sequence[Cell], progress) -> Iterator[tuple[Cell, dict]]:
        for cell in cells:
            progress.start(f"{cell.name} seed {cell.seed}", cell.epochs)
            yield cell, fn(cell, progress)


class RayExecutor:
    """Each cell a Ray task of one CPU: on a local Ray instance (default) or the cluster at `address`."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.address, self.num_cpus = address, num_cpus

    def map(self, fn: CellFn, cells: Sequence[Cell], progress) -> Iterator[tuple[Cell, dict]]:
        ray = require("ray", "scale")
        started_here = not ray.is_initialized()
        if started_here:
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address is None:
                options["num_cpus"] = self.num_cpus
            ray.init(address=self.address, **options)
        try:
            task = ray.remote(num_cpus=1, max_retries=0)(_run_in_worker)
            pending = {task.remote(fn, cell): cell for cell in cells}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                cell = pending.pop(done[0])
                yield cell, ray.get(done[0])
        finally:
            if started_here:
                ray.shutdown()


def _run_in_worker(fn: CellFn, cell: Cell) -> dict:
    import torch

    torch.set_num_threads(1)  # as the sequential benchmark runs: same arithmetic, same results
    return fn(cell, _NoProgress())


class _NoProgress:
    def epoch(self, record: dict) -> None:
        pass


def make_executor(executor: str | Any = "sequential", address: str | None = None):
    """An executor by name ("sequential" | "ray"), or an object with `.map` as given."""
    if not isinstance(executor, str):
        return executor
    if executor == "sequential":
        if address is not None:
            raise ConfigError("--address is for --executor ray")
        return SequentialExecutor()
    if executor == "ray":
        return RayExecutor(address=address)
    raise ConfigError(f"executor={executor!r} is not one of: {', '.join(EXECUTORS)}")
