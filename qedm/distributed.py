"""Data-parallel training with torch.distributed (DDP): every rank a shard of every batch.

Run under torchrun (`torchrun --nproc-per-node K -m qedm fit ...`): `init_from_env` joins the
process group (gloo on CPU, nccl on GPU). Every rank draws the same shuffling, timesteps and
noise from the same seeded generator, so all agree on the global batch; `ShardedDenoiser` runs
the denoiser on this rank's shard of it only, gathers the predictions of all shards, and the
loss is then the one-process loss of the global batch. Gradients are exact too: each rank's
gathered-output gradient is identical, so a shard's gradient is K times its share, and DDP's
mean over the K ranks gives the one-process gradient. Rank 0 writes checkpoints and files.
"""

from __future__ import annotations

import math
import os

import torch
from torch import nn


def is_distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def rank() -> int:
    return torch.distributed.get_rank() if is_distributed() else 0


def is_main_process() -> bool:
    """True on rank 0 (and without torch.distributed): the one process that writes files."""
    return rank() == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(backend: str | None = None) -> None:
    """Join the process group torchrun describes in the environment (RANK, WORLD_SIZE, MASTER_ADDR...)."""
    if is_distributed():
        return
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    torch.distributed.init_process_group(backend=backend)


def shutdown() -> None:
    if is_distributed():
        torch.distributed.destroy_process_group()


class _GatherRows(torch.autograd.Function):
    """All ranks' [m, d] blocks as one [K*m, d]; backward keeps this rank's block, times K.

    The ranks compute one identical loss of the gathered tensor, so the gradient reaching each
    block is the same on every rank; the sum a reduce-scatter would form is K times the local one.
    """

    @staticmethod
    def forward(ctx, block: torch.Tensor) -> torch.Tensor:
        world = torch.distributed.get_world_size()
        blocks = [torch.empty_like(block) for _ in range(world)]
        torch.distributed.all_gather(blocks, block.contiguous())
        ctx.rank, ctx.world, ctx.rows = torch.distributed.get_rank(), world, block.shape[0]
        return torch.cat(blocks)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        start = ctx.rank * ctx.rows
        return grad[start:start + ctx.rows] * ctx.world


class ShardedDenoiser(nn.Module):
    """`denoiser(x_t, t[, y])` on the global batch, computed as one shard per rank under DDP.

    Rank r evaluates rows r*m .. r*m+m-1 (m = ceil(B / K); rows past B repeat the last row and
    are cut away), so every rank runs the model once per step as DDP requires.
    state_dict() and load_state_dict() are the inner denoiser's, so checkpoints stay plain.
    """

    def __init__(self, denoiser: nn.Module) -> None:
        super().__init__()
        self.denoiser = denoiser
        ids = None if next(denoiser.parameters()).device.type == "cpu" else [torch.cuda.current_device()]
        self.ddp = nn.parallel.DistributedDataParallel(denoiser, device_ids=ids)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        total, world = x.shape[0], torch.distributed.get_world_size()
        rows = math.ceil(total / world)
        index = (rank() * rows + torch.arange(rows, device=x.device)).clamp(max=total - 1)
        args = (x[index], t[index]) if y is None else (x[index], t[index], y[index])
        return _GatherRows.apply(self.ddp(*args))[:total]

    def state_dict(self, *args, **kwargs):
        return self.denoiser.state_dict(*args, **kwargs)

    def load_state_dict(self, state, strict: bool = True, assign: bool = False):
        return self.denoiser.load_state_dict(state, strict=strict, assign=assign)

    def parameter_counts(self) -> dict[str, int]:
        return self.denoiser.parameter_counts()


def shard_if_distributed(model: nn.Module) -> nn.Module:
    """The model itself, or its ShardedDenoiser when a process group is running."""
    return ShardedDenoiser(model) if is_distributed() and not isinstance(model, ShardedDenoiser) else model
