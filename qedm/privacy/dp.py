"""DP-SGD training of a denoiser with Opacus: Poisson batches, per-sample clipping, Gaussian noise.

What Opacus's RDP accounting assumes, and how this loop keeps to it (checked against
Opacus 1.6 and its issue #819):
- each step's batch is a Poisson sample (every row in independently with probability q):
  drawn here from a seeded generator, q = batch_size / N; an empty batch still counts as a step;
- one noisy step per batch (no gradient accumulation, no second pass over a batch); the
  per-sample loss depends on its own row only (t and eps are drawn per row), and there is no
  batch norm or other cross-row layer in any denoiser;
- the noisy sum is divided by a constant that does not depend on the data. Opacus divides by
  `expected_batch_size`, which `make_private` derives from len(dataset) (floor(N q)); issue
  #819 shows that a normaliser that differs between neighbouring datasets breaks the SGM
  analysis. Here the optimizer is built directly with expected_batch_size = the configured
  batch_size, a public constant, so the released update is exactly (sum of clipped
  gradients + N(0, sigma^2 C^2 I)) / batch_size, the mechanism the accountant analyses;
- augmentation multiplicity (Dockhorn et al., DPDM 2022): each row's loss is averaged over
  `multiplicity` draws of (t, eps) BEFORE its gradient is clipped (the K copies' per-sample
  gradients are averaged back into one per row), so each row still contributes one clipped
  gradient of norm <= C and the sensitivity is unchanged; it lowers the variance of the
  diffusion loss's gradient, which under DP noise is what limits quality;
- the training loss computed on the private rows is never released: the history records the
  epsilon spent so far instead. Noise comes from torch's generator (Opacus secure_mode off), so
  floating-point and RNG attacks on the noise are out of scope, as in Opacus's default.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from qedm.diffusion.process import diffusion_loss
from qedm.errors import ConfigError, require
from qedm.privacy.accounting import rdp_epsilon
from qedm.training import TrainState


def sgd_history(noise_multiplier: float, sample_rate: float, steps: int) -> list[tuple[float, float, int]]:
    return [(noise_multiplier, sample_rate, steps)]


def _average_copies(module: torch.nn.Module, rows: int, multiplicity: int) -> None:
    """Per-sample gradients [rows * K, ...] of the K copies of each row -> their mean [rows, ...]."""
    for p in module.parameters():
        sample = getattr(p, "grad_sample", None)
        if sample is None:
            continue
        if isinstance(sample, list):
            sample = torch.cat(sample, dim=0)
        p.grad_sample = sample.reshape(rows, multiplicity, *sample.shape[1:]).mean(dim=1)


def check_dp_denoiser(model: torch.nn.Module) -> None:
    """ConfigError unless every trainable layer has per-sample gradients Opacus can clip."""
    model = getattr(model, "net", model)  # a GaussianPriorDenoiser: its buffers are the fixed prior
    vqc = getattr(model, "vqc", None)
    if getattr(model, "name", None) == "quantum_dense":
        raise ConfigError("denoiser='quantum_dense' has no per-sample gradients for DP-SGD; use classical, "
                          "hybrid or quantum")
    if vqc is not None and (vqc.diff_method != "backprop" or vqc.shots is not None):
        raise ConfigError("DP-SGD needs exact circuit gradients: use gradient='backprop' and shots=None")
    from qedm.quantum.circuits import VQC

    # Opacus refuses trainable layers with buffers (batch-norm statistics would leak); the VQC's
    # buffers are fixed tables (Z signs, the CNOT permutation) computed from the circuit alone.
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False) if p.requires_grad]
        if own and list(module.buffers(recurse=False)) and not isinstance(module, VQC):
            raise ConfigError(f"layer {name!r} ({type(module).__name__}) holds buffers; DP-SGD cannot train it")


def train_denoiser_dp(
    model: torch.nn.Module,
    data: torch.Tensor,
    schedule,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    noise_multiplier: float,
    max_grad_norm: float,
    history: list[tuple[float, float, int]],
    delta: float,
    weight_decay: float = 0.0,
    seed: int = 0,
    labels: torch.Tensor | None = None,
    multiplicity: int = 4,
    metrics_path: str | Path | None = None,
    on_epoch=None,
) -> tuple[TrainState, int]:
    """DP-SGD (Adam on the privatised gradient) of `model` on data [N, d]; returns (state, steps).

    `history` holds the releases made before training (the transform's noisy counts); the
    epsilon in each epoch record composes them with the steps taken so far.
    """
    require("opacus", "privacy")
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    from qedm.privacy.grad_sample import register_vqc_grad_sampler

    check_dp_denoiser(model)
    register_vqc_grad_sampler()
    generator = torch.Generator().manual_seed(seed)
    noise_generator = torch.Generator().manual_seed(seed + 104729)
    n_rows = data.shape[0]
    sample_rate = min(1.0, batch_size / n_rows)
    steps_per_epoch = max(1, math.ceil(n_rows / batch_size))
    private = GradSampleModule(model, loss_reduction="mean", strict=False)  # buffers checked above
    optimizer = DPOptimizer(
        torch.optim.Adam(private.parameters(), lr=lr, weight_decay=weight_decay),
        noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
        expected_batch_size=batch_size, loss_reduction="mean", generator=noise_generator,
    )
    if metrics_path is not None:
        Path(metrics_path).write_text("")
    state, steps = TrainState(history=[]), 0
    private.train()
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        for _ in range(steps_per_epoch):
            index = torch.nonzero(torch.rand(n_rows, generator=generator) < sample_rate).flatten()
            steps += 1
            optimizer.zero_grad(set_to_none=True)
            if index.numel() == 0:
                continue  # the step still counts; its update would be noise only
            rows = data[index].repeat_interleave(multiplicity, dim=0)  # row b's copies are adjacent
            y = None if labels is None else labels[index].repeat_interleave(multiplicity)
            loss = diffusion_loss(private, rows, schedule, generator=generator, y=y)
            loss.backward()
            _average_copies(private, index.numel(), multiplicity)
            optimizer.step()
        seconds = time.perf_counter() - started
        state.seconds += seconds
        spent = rdp_epsilon(history + sgd_history(noise_multiplier, sample_rate, steps), delta)
        record = {"epoch": epoch, "epsilon": round(spent, 4), "seconds": round(seconds, 4)}
        state.history.append(record)
        state.epoch = epoch
        if metrics_path is not None:
            with open(metrics_path, "a") as handle:
                handle.write(json.dumps(record) + "\n")
        if on_epoch is not None:
            on_epoch(record)
    optimizer.zero_grad(set_to_none=True)
    private._close()
    model.eval()
    return state, steps
