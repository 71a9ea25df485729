"""The training loop of a denoiser: Adam on the epsilon-prediction loss, with resumable checkpoints.

Read top to bottom: shuffle, batch, loss, step; every `checkpoint_every` epochs the model,
optimizer, random state and history are written atomically, so an interrupted run resumes
from its last checkpoint and ends with the same weights it would have had uninterrupted.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from qedm.atomic import atomic_torch_save
from qedm.diffusion.noise import PRNGNoise, make_noise_source
from qedm.diffusion.process import diffusion_loss
from qedm.distributed import is_main_process, shard_if_distributed
from qedm.gradient_health import GradientMonitor

EpochCallback = Callable[[dict], None]


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` intra-op threads (None: leave torch's setting), then restore it.

    qedm's denoisers are small: their kernels finish in microseconds, so extra threads
    mostly add synchronisation, and on a busy machine they oversubscribe the cores.
    """
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class TrainState:
    """What a checkpoint holds besides the weights: where we are and how it went."""

    epoch: int = 0
    history: list[dict] | None = None
    seconds: float = 0.0


def _in_forked_rng(train: Callable[..., TrainState]) -> Callable[..., TrainState]:
    """Run `train` with torch's global generator seeded from its `seed`, restored afterwards.

    Everything qedm draws itself comes from an explicit generator; nn.Dropout takes none and
    draws from the global one, so training runs in a forked random state seeded from `seed`:
    reproducible, and the caller's random state is the same after `fit` as before.
    """

    @functools.wraps(train)
    def wrapper(model: torch.nn.Module, data: torch.Tensor, schedule, **kwargs) -> TrainState:
        devices = [data.device] if data.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(kwargs.get("seed", 0))
            return train(model, data, schedule, **kwargs)

    return wrapper


@_in_forked_rng
def train_denoiser(
    model: torch.nn.Module,
    data: torch.Tensor,
    schedule,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float = 0.0,
    seed: int = 0,
    noise: str = "prng",
    labels: torch.Tensor | None = None,
    label_dropout: float = 0.1,
    ema_decay: float = 0.0,
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int = 25,
    metrics_path: str | Path | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainState:
    """Train `model(x_t, t[, y])` to predict the noise added to rows of `data: [N, d]`.

    `labels: [N]` (class indices, or float values of a continuous condition) turns on
    classifier-free guidance training: each label is replaced by the null class (-1, or NaN for
    values) with probability `label_dropout`.
    `noise` names the engine of the forward-process noise ("prng" or "qrng"); with "prng"
    one seeded generator drives shuffling and noise, so a resumed run matches an unbroken one.
    `ema_decay` > 0 keeps an exponential moving average of the weights (decay warmed up as
    min(ema_decay, (1 + k) / (10 + k)) at step k, so short runs are not averaged with their
    random start) and leaves the model holding the average at the end.
    """
    model = shard_if_distributed(model)  # under torchrun: DDP, one shard of every batch per rank
    generator = torch.Generator().manual_seed(seed)
    source = PRNGNoise(generator=generator) if noise == "prng" else make_noise_source(noise, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    state = TrainState(history=[])
    ema = _EMA(model, ema_decay) if ema_decay > 0 else None
    if checkpoint_path is not None and Path(checkpoint_path).is_file():
        state = _resume(checkpoint_path, model, optimizer, generator, ema)
    if not is_main_process():  # the other ranks resumed from the same checkpoint; rank 0 writes
        checkpoint_path = metrics_path = None
    if metrics_path is not None:
        # After a resume, epochs run past the last checkpoint are run again: keep the file in step.
        lines = "".join(json.dumps(record) + "\n" for record in state.history)
        Path(metrics_path).write_text(lines)

    n_rows = data.shape[0]
    batch_size = min(batch_size, n_rows)
    monitor = GradientMonitor.attach(model)  # circuit gradient norms per epoch (None without a circuit)
    model.train()
    for epoch in range(state.epoch + 1, epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(n_rows, generator=generator)
        total, count = 0.0, 0
        for start in range(0, n_rows, batch_size):
            index = order[start:start + batch_size]
            y = None if labels is None else _drop_labels(labels[index], label_dropout, generator)
            loss = diffusion_loss(model, data[index], schedule, generator=source, y=y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if monitor is not None:
                monitor.after_backward()
            optimizer.step()
            if ema is not None:
                ema.update(model)
            total += loss.item() * len(index)
            count += len(index)
        seconds = time.perf_counter() - started
        state.seconds += seconds
        record = {"epoch": epoch, "loss": total / count, "seconds": round(seconds, 4)}
        if monitor is not None:
            record.update(monitor.epoch_record())
        state.history.append(record)
        state.epoch = epoch
        if metrics_path is not None:
            with open(metrics_path, "a") as handle:
                handle.write(json.dumps(record) + "\n")
        if on_epoch is not None:
            on_epoch(record)
        if checkpoint_path is not None and (epoch % checkpoint_every == 0 or epoch == epochs):
            _save_checkpoint(checkpoint_path, model, optimizer, generator, state, ema)
    if monitor is not None:
        monitor.close()
    if ema is not None:
        ema.copy_to(model)
    model.eval()
    return state


class _EMA:
    """Shadow copies of a model's float parameters, moved toward them after each optimizer step."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1), got {decay}")
        self.decay, self.steps = decay, 0
        self.shadow = [p.detach().clone() for p in model.parameters()]

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.steps += 1
        decay = min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        torch._foreach_lerp_(self.shadow, [p.detach() for p in model.parameters()], 1.0 - decay)

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        for target, value in zip(model.parameters(), self.shadow):
            target.copy_(value)

    def state_dict(self) -> dict:
        return {"steps": self.steps, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        for target, value in zip(self.shadow, state["shadow"]):
            target.copy_(value)


def _drop_labels(y: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Replace labels by the null class (-1; NaN for continuous values) with probability p."""
    null = y.new_full(y.shape, float("nan") if torch.is_floating_point(y) else -1)
    drop = (torch.rand(y.shape, generator=generator) < p).to(y.device)
    return torch.where(drop, null, y)


def _save_checkpoint(path, model, optimizer, generator, state: TrainState, ema: "_EMA | None" = None) -> None:
    atomic_torch_save(
        {
            "ema": None if ema is None else ema.state_dict(),
            "epoch": state.epoch,
            "history": state.history,
            "seconds": state.seconds,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": generator.get_state(),
        },
        path,
    )


def _resume(path, model, optimizer, generator, ema: "_EMA | None" = None) -> TrainState:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    if ema is not None and checkpoint.get("ema") is not None:
        ema.load_state_dict(checkpoint["ema"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    generator.set_state(checkpoint["rng"])
    return TrainState(epoch=checkpoint["epoch"], history=list(checkpoint["history"]),
                      seconds=checkpoint["seconds"])
