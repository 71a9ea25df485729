"""A differentially private QEDM fit: every value saved with the model is derived under one budget.

Order of the releases (all composed by one RDP accountant, see `qedm.privacy.accounting`):
1. the table transform from two Gaussian releases of noisy counts (`qedm.privacy.transform`:
   bounds, then quantile knots), calibrated alone to TRANSFORM_SHARE of epsilon;
2. with dp_prior="gaussian" (the default): the DP mean and covariance of the transformed rows
   (`qedm.privacy.moments`), calibrated alone to MOMENT_SHARE of epsilon; the denoiser then
   learns the residual over that Gaussian's exact noise prediction
   (`qedm.models.gaussian_prior`), its read-out starting at zero (DP-SGD alone is
   noise-limited on small tables: BENCHMARKS.md, privacy section);
3. DP-SGD on the transformed rows (`qedm.privacy.dp`), its noise multiplier calibrated so
   that all releases together stay within (epsilon, delta - selection_delta).
No latent (PCA / autoencoder fitted on the rows would be a release of its own): a DP fit uses
latent='none'. The clip range of x0 predictions is the transform's public output range, not
the rows' min/max. The achieved (epsilon, delta) is stored in the model (`model.privacy`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from qedm.errors import ConfigError
from qedm.privacy.accounting import (
    MOMENT_SHARE,
    SELECTION_SHARE,
    TRANSFORM_SHARE,
    PrivacyGuarantee,
    calibrate,
    check_budget,
    rdp_epsilon,
)

OUTPUT_BOUND = 5.2  # |quantile-normal output| <= ndtri(1 - 1e-7) = 5.199; one-hot and flags are +-1


def check_private_config(cfg) -> None:
    """ConfigError for settings a DP fit cannot honour (named)."""
    check_budget(cfg.dp_epsilon, cfg.dp_delta)
    if not cfg.dp_max_grad_norm > 0:
        raise ConfigError(f"dp_max_grad_norm must be > 0, got {cfg.dp_max_grad_norm!r}")
    if cfg.latent not in ("auto", "none"):
        raise ConfigError(f"latent={cfg.latent!r} is fitted on the private rows outside the privacy budget; "
                          "DP fits use latent='none'")
    if cfg.condition_column is not None:
        raise ConfigError("condition_column is not supported with dp_epsilon yet (its class frequencies "
                          "would need their own noisy release)")
    if cfg.noise != "prng":
        raise ConfigError("DP fits need noise='prng' (the DP-SGD noise and sampling use seeded generators)")


def fit_private(model, data, *, run_dir=None, on_epoch=None):
    """Fit `model` (a QEDM with config.dp_epsilon set) on a DataFrame under (epsilon, delta)-DP.

    Runs in a forked, seeded torch RNG state, so the caller's global random state is untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(model.config.seed)
        return _fit_private(model, data, run_dir=run_dir, on_epoch=on_epoch)


def _fit_private(model, data, *, run_dir=None, on_epoch=None):
    from qedm.data.latent import IdentityLatent
    from qedm.diffusion.schedules import make_schedule
    from qedm.privacy.dp import sgd_history, train_denoiser_dp
    from qedm.privacy.transform import fit_private_transform
    from qedm.scaling import training_length
    from qedm.training import torch_threads

    cfg = model.config
    check_private_config(cfg)
    if not isinstance(data, pd.DataFrame):
        raise ConfigError("dp_epsilon is supported for tables (DataFrames), not images")
    epsilon, delta = float(cfg.dp_epsilon), float(cfg.dp_delta)
    rdp_delta, selection_delta = delta * (1 - SELECTION_SHARE), delta * SELECTION_SHARE
    n_rows = len(data)  # public (declared), so sizing training from it costs no budget
    model.epochs, model.batch_size = training_length(cfg.epochs, cfg.batch_size, n_rows)
    sample_rate = min(1.0, model.batch_size / n_rows)
    steps = model.epochs * max(1, math.ceil(n_rows / model.batch_size))

    z_transform = calibrate(lambda z: [(z, 1.0, 2)], TRANSFORM_SHARE * epsilon, rdp_delta)
    before = [(z_transform, 1.0, 2)]
    prior = cfg.dp_prior == "gaussian"
    z_moments = calibrate(lambda z: [(z, 1.0, 1)], MOMENT_SHARE * epsilon, rdp_delta) if prior else None
    if prior:
        before.append((z_moments, 1.0, 1))
    z_sgd = calibrate(lambda z: before + sgd_history(z, sample_rate, steps), epsilon, rdp_delta)

    model.columns = list(data.columns)
    rng = np.random.default_rng(cfg.seed + 15485863)
    model.transformer, public = fit_private_transform(
        data, z_transform, selection_delta, rng, column_kinds=cfg.column_kinds or None,
        public_categories=cfg.dp_public_categories, quantile_noise_multiplier=z_transform)
    matrix = model.transformer.transform(data)
    model.latent = IdentityLatent().fit(matrix)  # stores the width only
    rows = torch.as_tensor(matrix, dtype=torch.float32)
    model.data_low, model.data_high = _public_range(model.transformer)
    model.schedule = make_schedule(cfg.schedule, cfg.n_steps)
    model.denoiser = model.build_denoiser(rows.shape[1])
    if prior:
        from qedm.models.gaussian_prior import GaussianPriorDenoiser, zero_readout
        from qedm.privacy.moments import default_clip, private_moments

        mean, cov = private_moments(matrix, z_moments, default_clip(matrix.shape[1]), rng)
        zero_readout(model.denoiser)
        model.denoiser = GaussianPriorDenoiser(model.denoiser, torch.as_tensor(mean), torch.as_tensor(cov),
                                               model.schedule.alphas_cumprod)
    metrics = None
    if run_dir is not None:
        from pathlib import Path

        Path(run_dir).mkdir(parents=True, exist_ok=True)
        metrics = Path(run_dir) / "metrics.jsonl"
    with torch_threads(cfg.threads):
        state, taken = train_denoiser_dp(
            model.denoiser, rows, model.schedule, epochs=model.epochs, batch_size=model.batch_size, lr=cfg.lr,
            noise_multiplier=z_sgd, max_grad_norm=cfg.dp_max_grad_norm, history=before, delta=rdp_delta,
            weight_decay=cfg.weight_decay, seed=cfg.seed, metrics_path=metrics, on_epoch=on_epoch)
    achieved = rdp_epsilon(before + sgd_history(z_sgd, sample_rate, taken), rdp_delta)
    if achieved > epsilon:  # cannot happen after calibrate(); refuse to store a broken promise
        raise ConfigError(f"internal: achieved epsilon {achieved:.4f} exceeds the target {epsilon}")
    model.privacy = PrivacyGuarantee(
        epsilon=achieved, delta=delta, target_epsilon=epsilon, target_delta=delta, accountant="rdp (opacus)",
        noise_multiplier=z_sgd, max_grad_norm=float(cfg.dp_max_grad_norm), sample_rate=sample_rate,
        steps=taken, transform_noise_multiplier=z_transform, transform_releases=2,
        selection_delta=selection_delta, public=public)
    model.history = state.history
    model.fit_seconds = state.seconds
    return model


def _public_range(transformer) -> tuple[torch.Tensor, torch.Tensor]:
    """Per output column, the range the transform can produce: +-5.2 for values, +-1 otherwise."""
    bounds = np.ones(transformer.output_dim, dtype=np.float32)
    for block in transformer.output_info:
        if block.role == "value":
            bounds[block.start:block.stop] = OUTPUT_BOUND
    high = torch.as_tensor(bounds)
    return -high, high
