"""Does the circuit matter? Ablations of a fitted denoiser's quantum circuit on held-out rows.

A hybrid model can learn to route around its circuit (a residual path, a large classical
trunk), so a tie with a classical model says nothing about the circuit by itself. Three
ablations answer it, each as a change in held-out denoising loss (and, for fitted QEDMs, in
the headline quality metric):
  (a) mean ablation: the circuit's outputs replaced by their mean over the batch, so only the
      part of the output that does not depend on the input is kept;
  (b) random circuit: the trained circuit weights replaced by uniform random angles, frozen,
      and the classical parts retrained for a few epochs; the reference is the trained model
      retrained the same way with its own circuit frozen, so the difference is the circuit's;
  (c) the matched classical model (same parameter count, no circuit): trained by the
      benchmark, compared there (`circuit_verdict` takes its held-out loss).
The held-out loss draws its timesteps and noise from a seeded generator, so every ablation
of one model sees the same noised rows.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from qedm.diffusion.process import diffusion_loss
from qedm.errors import ConfigError

# The smallest relative rise of held-out loss that counts as "measurable" (with a CI above 0).
MEASURABLE_SHARE = 0.01
# Epochs of the random-circuit ablation's retrain (and of its reference) in benchmarks and the demo.
ABLATION_RETRAIN_EPOCHS = 10


def circuit_of(denoiser: nn.Module) -> nn.Module | None:
    """The denoiser's variational circuit (its `vqc` module), or None for a classical one."""
    return getattr(denoiser, "vqc", None)


@contextmanager
def mean_ablated(circuit: nn.Module) -> Iterator[None]:
    """Within the block, `circuit(x)` [B, m] returns its mean over the batch, broadcast to [B, m]."""

    def hook(module, inputs, output):
        return output.mean(dim=0, keepdim=True).expand_as(output)

    handle = circuit.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def heldout_loss(denoiser: nn.Module, rows: torch.Tensor, schedule, *, labels: torch.Tensor | None = None,
                 seed: int = 0, draws: int = 4) -> float:
    """Mean eps-prediction MSE on `rows: [N, d]`, each noised `draws` times at seeded random timesteps.

    The same seed gives the same (t, eps) draws, so two models (or a model and its ablation)
    are compared on identical noised rows. Run in eval mode without gradients.
    """
    if draws < 1:
        raise ConfigError(f"draws must be a positive integer, got {draws!r}")
    generator = torch.Generator().manual_seed(seed)
    x0 = rows.repeat(draws, 1)
    y = None if labels is None else labels.repeat(draws)
    was_training = denoiser.training
    denoiser.eval()
    try:
        with torch.no_grad():
            return float(diffusion_loss(denoiser, x0, schedule, generator=generator, y=y))
    finally:
        denoiser.train(was_training)


def randomise_circuit(denoiser: nn.Module, seed: int) -> nn.Module:
    """A copy of `denoiser` whose circuit weights are uniform in [0, 2pi) (seeded) and frozen."""
    model = copy.deepcopy(denoiser)
    circuit = circuit_of(model)
    if circuit is None:
        raise ConfigError("randomise_circuit needs a denoiser with a circuit (a `vqc` module)")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in circuit.parameters():
            p.copy_(torch.rand(p.shape, generator=generator, dtype=torch.float64).to(p.dtype) * 2 * math.pi)
    return freeze_circuit(model)


def freeze_circuit(model: nn.Module) -> nn.Module:
    """Mark the circuit's parameters as not trainable (in place); returns the model."""
    for p in circuit_of(model).parameters():
        p.requires_grad_(False)
    return model


@dataclass
class AblationResult:
    """One model's ablations (one seed). Deltas are ablated minus reference: > 0 means worse."""

    heldout_loss: float
    mean_ablation_loss: float
    random_circuit_loss: float | None = None  # frozen random circuit, heads retrained
    retrained_loss: float | None = None  # the reference: trained circuit frozen, heads retrained the same way
    circuit_output_std: float = float("nan")  # std of the circuit outputs over held-out rows, mean over outputs
    heldout_quality: float | None = None  # the headline metric of the fitted model's samples
    mean_ablation_quality: float | None = None
    retrained_quality: float | None = None  # the reference of random_circuit_quality
    random_circuit_quality: float | None = None

    def columns(self) -> dict[str, float]:
        """Flat figures for a results table (NaN where not computed)."""
        nan = float("nan")

        def delta(a, b):
            return nan if a is None or b is None else a - b

        return {
            "heldout_loss": self.heldout_loss,
            "ablation_mean_loss_delta": self.mean_ablation_loss - self.heldout_loss,
            "ablation_random_loss_delta": delta(self.random_circuit_loss, self.retrained_loss),
            "ablation_mean_quality_delta": delta(self.mean_ablation_quality, self.heldout_quality),
            "ablation_random_quality_delta": delta(self.random_circuit_quality, self.retrained_quality),
            "circuit_output_std": self.circuit_output_std,
        }


def circuit_output_std(denoiser: nn.Module, rows: torch.Tensor, schedule, labels=None, seed: int = 0) -> float:
    """Std over held-out noised rows of each circuit output, averaged over outputs (0: constant circuit)."""
    captured: list[torch.Tensor] = []
    handle = circuit_of(denoiser).register_forward_hook(lambda m, i, o: captured.append(o.detach()))
    try:
        heldout_loss(denoiser, rows, schedule, labels=labels, seed=seed, draws=1)
    finally:
        handle.remove()
    out = torch.cat(captured).double()
    return float(out.std(dim=0).mean()) if out.shape[0] > 1 else 0.0


def ablate_denoiser(denoiser: nn.Module, heldout: torch.Tensor, schedule, *, labels: torch.Tensor | None = None,
                    retrain: Callable[[nn.Module], None] | None = None,
                    quality: Callable[[nn.Module], float | None] | None = None,
                    fitted_quality: float | None = None, seed: int = 0, draws: int = 4) -> AblationResult:
    """Mean ablation and (with `retrain`) the random-circuit ablation of a trained denoiser.

    heldout [N, d] (and labels [N]) are rows the model never trained on. `retrain(model)`
    trains a model's trainable (classical) parameters in place for a few epochs; it is applied
    to a frozen-random-circuit copy and, as the reference, to a frozen-trained-circuit copy.
    `quality(model)` samples a denoiser and scores the samples (higher is better); the fitted
    model's score may be passed as `fitted_quality` when it is already known.
    """
    circuit = circuit_of(denoiser)
    if circuit is None:
        raise ConfigError("ablations need a denoiser with a circuit (a `vqc` module); this one has none")
    full = heldout_loss(denoiser, heldout, schedule, labels=labels, seed=seed, draws=draws)
    with mean_ablated(circuit):
        mean = heldout_loss(denoiser, heldout, schedule, labels=labels, seed=seed, draws=draws)
        mean_quality = None if quality is None else quality(denoiser)
    result = AblationResult(full, mean, circuit_output_std=circuit_output_std(denoiser, heldout, schedule,
                                                                              labels, seed))
    if quality is not None:
        result.heldout_quality = quality(denoiser) if fitted_quality is None else fitted_quality
        result.mean_ablation_quality = mean_quality
    if retrain is not None:
        reference = freeze_circuit(copy.deepcopy(denoiser))
        random = randomise_circuit(denoiser, seed=seed + 104729)
        for model in (reference, random):
            retrain(model)
            model.eval()
        result.retrained_loss = heldout_loss(reference, heldout, schedule, labels=labels, seed=seed, draws=draws)
        result.random_circuit_loss = heldout_loss(random, heldout, schedule, labels=labels, seed=seed, draws=draws)
        if quality is not None:
            result.retrained_quality = quality(reference)
            result.random_circuit_quality = quality(random)
    return result


# ------------------------------------------------------------------- a fitted QEDM on tables
HEADLINE_METRIC = "fidelity_overall"


def ablate_fitted(model, train, holdout, *, seed: int = 0, retrain_epochs: int = 20, draws: int = 4,
                  quality: bool = True, fitted_quality: float | None = None) -> AblationResult:
    """All ablations of a fitted table QEDM (`qedm.QEDM`) with a circuit, on its held-out rows.

    train/holdout are DataFrames with the training columns. The random-circuit copy and the
    reference retrain `retrain_epochs` epochs with the model's batch size and learning rate.
    With `quality`, each model samples len(train) rows (seeded, as `model.sample`) scored by
    HEADLINE_METRIC against `holdout`; `fitted_quality` is the fitted model's score if known.
    """
    from qedm.scaling import training_length
    from qedm.training import torch_threads, train_denoiser

    cfg = model.config
    train_rows, train_labels = encode_rows(model, train)
    rows, labels = encode_rows(model, holdout)
    # The batch size the fit used (config's, or scaled with the rows when that is None).
    batch_size = model.batch_size or training_length(cfg.epochs, cfg.batch_size, len(train_rows))[1]

    def retrain(denoiser: nn.Module) -> None:
        train_denoiser(denoiser, train_rows, model.schedule, epochs=retrain_epochs, batch_size=batch_size,
                       lr=cfg.lr, weight_decay=cfg.weight_decay, seed=seed + 1, labels=train_labels)

    def score(denoiser: nn.Module) -> float | None:
        from qedm.evaluate import evaluate

        fitted, model.denoiser = model.denoiser, denoiser
        try:
            synthetic = model.sample(len(train), seed=seed)
        finally:
            model.denoiser = fitted
        value = evaluate(holdout, synthetic, train=train, seed=seed, metrics=("fidelity",)).summary()[HEADLINE_METRIC]
        return None if value is None else float(value)

    with torch_threads(cfg.threads):
        return ablate_denoiser(model.denoiser, rows, model.schedule, labels=labels,
                               retrain=retrain if retrain_epochs > 0 else None, quality=score if quality else None,
                               fitted_quality=fitted_quality, seed=seed, draws=draws)


def encode_rows(model, data) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A table (or images) in the diffused space of a fitted QEDM: rows [N, d] and labels [N] (or None)."""
    features, values = model._split_condition(data) if not model.is_image_model else (data, None)
    matrix = model.transformer.transform(features)
    rows = torch.as_tensor(model.latent.encode(matrix), dtype=torch.float32)
    if values is None or model.classes is None:
        return rows, None
    lookup = {str(c): i for i, c in enumerate(model.classes)}
    return rows, torch.tensor([lookup[str(v)] for v in values], dtype=torch.long)


# ------------------------------------------------------------------- statistics and verdict
def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t confidence interval of the mean (NaN bounds for < 2 values)."""
    from scipy import stats

    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if len(x) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def rises_measurably(deltas: Sequence[float], reference: float) -> bool:
    """True if the loss rise is >= MEASURABLE_SHARE of `reference` and (with >= 2 seeds) its 95% CI is above 0."""
    mean, low, _ = t_interval(deltas)
    if not np.isfinite(mean) or not np.isfinite(reference) or reference <= 0:
        return False
    big_enough = mean >= MEASURABLE_SHARE * reference
    return bool(big_enough and (np.isnan(low) or low > 0))


def circuit_verdict(mean_deltas: Sequence[float], random_deltas: Sequence[float], losses: Sequence[float],
                    classical_losses: Sequence[float] = ()) -> str:
    """The report's sentence: does the circuit contribute measurably, from the ablation deltas over seeds."""
    reference = float(np.nanmean(losses)) if len(losses) else float("nan")
    n = len([d for d in mean_deltas if np.isfinite(d)])
    used = rises_measurably(mean_deltas, reference)
    parts = [f"the circuit {'contributes' if used else 'does not contribute'} measurably"]
    mean, low, high = t_interval(mean_deltas)
    ci = f", 95% CI [{low:+.4f}, {high:+.4f}]" if np.isfinite(low) else " (one seed: no interval)"
    parts.append(f"mean ablation changes held-out loss by {mean:+.4f}{ci} on {reference:.4f}, over {n} seed(s)")
    if any(np.isfinite(d) for d in random_deltas):
        mean_r, low_r, high_r = t_interval(random_deltas)
        ci_r = f", 95% CI [{low_r:+.4f}, {high_r:+.4f}]" if np.isfinite(low_r) else ""
        better = "beats" if rises_measurably(random_deltas, reference) else "does not measurably beat"
        parts.append(f"the trained circuit {better} a frozen random one (retrained heads: {mean_r:+.4f}{ci_r})")
    if len(classical_losses):
        mean_c, low_c, high_c = t_interval(np.asarray(classical_losses, float) - np.asarray(losses, float))
        ci_c = f", 95% CI [{low_c:+.4f}, {high_c:+.4f}]" if np.isfinite(low_c) else ""
        parts.append(f"matched classical model minus hybrid held-out loss {mean_c:+.4f}{ci_c}")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
