"""Data-parallel training: K ranks with one shard of every batch reach the one-process weights."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from qedm import distributed
from qedm.diffusion.schedules import make_schedule
from qedm.models.registry import build_denoiser
from qedm.training import train_denoiser


def _train(rows: torch.Tensor, labels: torch.Tensor) -> dict:
    model = build_denoiser("classical", rows.shape[1], hidden=16, time_dim=8, n_blocks=1, seed=3, n_classes=2)
    train_denoiser(model, rows, make_schedule("cosine", 100), epochs=2, batch_size=16, lr=1e-2, seed=5,
                   labels=labels)
    return model.state_dict()


def test_sharded_path_in_a_one_rank_group_matches_plain_training(tmp_path):
    """The gather/scale autograd and DDP wrapper change nothing when the group has one rank."""
    rows = torch.randn(37, 3, generator=torch.Generator().manual_seed(0))  # 37: a short last batch
    labels = (rows[:, 0] > 0).long()
    plain = _train(rows, labels)
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert distributed.is_distributed() and distributed.is_main_process()
        sharded = _train(rows, labels)
    finally:
        distributed.shutdown()
    assert sorted(sharded) == sorted(plain)  # plain keys: the checkpoint does not see the wrapper
    for name in plain:
        torch.testing.assert_close(sharded[name], plain[name], rtol=0, atol=1e-7)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_reach_the_one_process_weights(tmp_path):
    args = ["fit", "--dataset", "iris", "--denoiser", "classical", "--epochs", "3", "--condition-column", "target"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "qedm", *args, "--out", str(tmp_path / "one")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    two = subprocess.run([torchrun, "--nproc-per-node", "2", "--master-port", str(_free_port()), "-m", "qedm",
                          *args, "--out", str(tmp_path / "two")], env=env, capture_output=True, text=True,
                         timeout=300)
    assert two.returncode == 0, two.stderr
    a = torch.load(tmp_path / "one" / "model" / "weights.pt", weights_only=True)
    b = torch.load(tmp_path / "two" / "model" / "weights.pt", weights_only=True)
    assert sorted(a) == sorted(b)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5)
    losses = [[json.loads(line)["loss"] for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
              for run in ("one", "two")]
    assert losses[1] == pytest.approx(losses[0], rel=1e-6)
    assert (tmp_path / "two" / "samples.csv").is_file()
