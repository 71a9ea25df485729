"""Benchmark cells on Ray: the same rows as the sequential executor, resumable as before."""

from __future__ import annotations

import pandas as pd
import pytest

from qedm.benchmark import run_benchmark
from qedm.errors import ConfigError
from qedm.executors import SequentialExecutor, make_executor

TIMING = ("fit_seconds", "sample_seconds")


class Recording(SequentialExecutor):
    """The sequential executor, remembering which cells it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def map(self, fn, cells, progress):
        self.seen += [(cell.name, cell.seed) for cell in cells]
        yield from super().map(fn, cells, progress)


def test_unknown_executor_and_stray_address_are_refused():
    with pytest.raises(ConfigError, match="executor='dask' is not one of: sequential, ray"):
        make_executor("dask")
    with pytest.raises(ConfigError, match="--address is for --executor ray"):
        make_executor("sequential", address="ray://x:10001")


@pytest.mark.slow
def test_ray_cells_equal_sequential_cells_and_resume(tmp_path):
    pytest.importorskip("ray")
    from qedm.data import load_dataset

    table = load_dataset("iris")
    common = dict(models=["hybrid", "classical"], seeds=[0], target="target", epochs=2, progress=False,
                  metrics=["fidelity", "mmd"], qedm_options={"n_qubits": 4, "hidden": 32})
    sequential = run_benchmark(table, out_dir=tmp_path / "seq", **common)
    on_ray = run_benchmark(table, out_dir=tmp_path / "ray", executor="ray", **common)
    drop = [c for c in TIMING if c in sequential.results]
    assert (on_ray.results["status"] == "ok").all()
    pd.testing.assert_frame_equal(sequential.results.drop(columns=drop), on_ray.results.drop(columns=drop))
    for name in ("hybrid_seed0.csv", "classical_seed0.csv"):
        assert (tmp_path / "seq" / "samples" / name).read_text() == (tmp_path / "ray" / "samples" / name).read_text()
    again = Recording()
    resumed = run_benchmark(table, out_dir=tmp_path / "ray", executor=again, **common)
    assert again.seen == []  # every cell the Ray run finished is reused
    pd.testing.assert_frame_equal(resumed.results, on_ray.results)
