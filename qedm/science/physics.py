"""Physics checks of TFIM snapshots (generated or measured) against the exact ground state.

For each field h in a snapshot table: the observables its basis measures, each with a
shot-noise error bar (the standard error of the per-snapshot estimator), the exact value at
that field, and the total-variation distance of the snapshot histogram to the exact Born
distribution next to the TV that `shots` perfect draws would have (the finite-shot floor).
Z basis: <|M_z|>, <Z_i Z_{i+1}>; X basis: <X>. The energy per site needs both bases.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from qedm.errors import ConfigError
from qedm.science.snapshots import FIELD_COLUMN, detect_basis, snapshot_spins
from qedm.science.tfim import TFIMChain, exact_observables, ground_state

TV_FLOOR_DRAWS = 20  # repetitions of the perfect-sampler TV estimate


def snapshot_observables(spins: np.ndarray, basis: str, chain: TFIMChain) -> dict[str, tuple[float, float]]:
    """Estimates (mean, standard error) from spins [shots, n] in {+-1} of one basis.

    "abs_mz" and "zz" from Z snapshots, "x" from X snapshots; the error bar is the standard
    deviation of the per-snapshot value over sqrt(shots).
    """
    per_shot: dict[str, np.ndarray] = {}
    if basis == "z":
        per_shot["abs_mz"] = np.abs(spins.mean(axis=1))
        per_shot["zz"] = np.mean([spins[:, i] * spins[:, j] for i, j in chain.bonds], axis=0)
    else:
        per_shot["x"] = spins.mean(axis=1)
    shots = spins.shape[0]
    return {k: (float(v.mean()), float(v.std(ddof=1) / np.sqrt(shots)) if shots > 1 else float("nan"))
            for k, v in per_shot.items()}


def total_variation(spins: np.ndarray, probs: np.ndarray) -> float:
    """TV distance between the histogram of spins [shots, n] and a distribution probs [2^n]."""
    bits = (1 - spins) // 2
    index = bits @ (1 << np.arange(spins.shape[1]))
    counts = np.bincount(index, minlength=probs.size) / spins.shape[0]
    return 0.5 * float(np.abs(counts - probs).sum())


def tv_floor(probs: np.ndarray, shots: int, seed: int = 0) -> tuple[float, float]:
    """Mean and std of the TV of `shots` exact draws from probs: what a perfect generator scores."""
    generator = torch.Generator().manual_seed(seed)
    p = torch.as_tensor(probs, dtype=torch.float64)
    tvs = []
    for _ in range(TV_FLOOR_DRAWS):
        index = torch.multinomial(p, shots, replacement=True, generator=generator).numpy()
        tvs.append(0.5 * np.abs(np.bincount(index, minlength=probs.size) / shots - probs).sum())
    return float(np.mean(tvs)), float(np.std(tvs))


def physics_report(
    snapshots: pd.DataFrame,
    *,
    J: float = 1.0,
    boundary: str = "periodic",
    other_basis: pd.DataFrame | None = None,
    fields: Sequence[float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (field, observable): estimate, stderr, exact, |error| / stderr; plus TV rows.

    `snapshots` is a table with bit columns of one basis and the field column `h`. With
    `other_basis` (the other basis' snapshots at the same fields) the energy per site is
    estimated too. `fields` restricts the report to some fields.
    """
    basis = detect_basis(snapshots)
    tables = {basis: snapshots}
    if other_basis is not None:
        second = detect_basis(other_basis)
        if second == basis:
            raise ConfigError(f"other_basis must be measured in the other basis, both are {basis!r}")
        tables[second] = other_basis
    for table in tables.values():
        if FIELD_COLUMN not in table.columns:
            raise ConfigError(f"a snapshot table needs the field column {FIELD_COLUMN!r}")
    chosen = sorted(set(snapshots[FIELD_COLUMN].astype(float))) if fields is None else [float(f) for f in fields]
    rows = []
    for h in chosen:
        estimates: dict[str, tuple[float, float]] = {}
        spins_of: dict[str, np.ndarray] = {}
        chain = None
        for b, table in tables.items():
            at_h = table[np.isclose(table[FIELD_COLUMN].astype(float), h)]
            if at_h.empty:
                raise ConfigError(f"no {b}-basis snapshots at h={h:g}")
            spins_of[b] = snapshot_spins(at_h, b)
            chain = TFIMChain(spins_of[b].shape[1], h, J, boundary)
            estimates.update(snapshot_observables(spins_of[b], b, chain))
        state = ground_state(chain)
        exact = exact_observables(state)
        if "zz" in estimates and "x" in estimates:
            nb, n = len(chain.bonds), chain.n
            zz, x = estimates["zz"], estimates["x"]
            energy = (-J * nb * zz[0] - h * n * x[0]) / n
            error = np.hypot(J * nb * zz[1], h * n * x[1]) / n
            estimates["energy_per_site"] = (float(energy), float(error))
        for name, (value, stderr) in estimates.items():
            rows.append(_row(h, name, value, stderr, exact[name], spins_of))
        for b, spins in spins_of.items():
            probs = state.born_z() if b == "z" else state.born_x()
            floor, floor_std = tv_floor(probs, spins.shape[0], seed)
            rows.append(_row(h, f"tv_{b}", total_variation(spins, probs), floor_std, 0.0, spins_of,
                             floor=floor))
    return pd.DataFrame(rows)


def _row(h, name, value, stderr, exact, spins_of, floor=None) -> dict:
    shots = min(len(s) for s in spins_of.values())
    z = abs(value - exact) / stderr if stderr and stderr > 0 and floor is None else float("nan")
    return {"h": h, "observable": name, "estimate": value, "stderr": stderr, "exact": exact,
            "abs_error": abs(value - exact), "z_score": z, "shots": shots,
            "tv_floor": floor if floor is not None else float("nan")}


def nearest_field_baseline(training: pd.DataFrame, fields: Sequence[float], shots: int | None = None,
                           seed: int = 0) -> pd.DataFrame:
    """The empirical baseline: for each requested field, the training snapshots of the nearest
    training field, relabelled with the requested field (resampled to `shots` rows if given)."""
    if FIELD_COLUMN not in training.columns:
        raise ConfigError(f"the training table needs the field column {FIELD_COLUMN!r}")
    trained = np.array(sorted(set(training[FIELD_COLUMN].astype(float))))
    rng = np.random.default_rng(seed)
    blocks = []
    for h in fields:
        nearest = trained[np.argmin(np.abs(trained - float(h)))]
        block = training[np.isclose(training[FIELD_COLUMN].astype(float), nearest)]
        if shots is not None:
            block = block.iloc[rng.integers(0, len(block), size=shots)]
        block = block.copy()
        block[FIELD_COLUMN] = float(h)
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True)


PHYSICS_CHECKS = ("tfim",)


def evaluate_tfim(
    training: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    J: float = 1.0,
    boundary: str = "periodic",
    other_basis: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """physics_report of `synthetic` and of the nearest-training-field baseline drawn from
    `training` (same basis, same shots per field), stacked with a "source" column."""
    if detect_basis(training) != detect_basis(synthetic):
        raise ConfigError("the training and synthetic snapshot tables are measured in different bases")
    if FIELD_COLUMN not in synthetic.columns:
        raise ConfigError(f"a snapshot table needs the field column {FIELD_COLUMN!r}")
    fields = sorted(set(synthetic[FIELD_COLUMN].astype(float)))
    model = physics_report(synthetic, J=J, boundary=boundary, other_basis=other_basis, seed=seed)
    shots = synthetic[FIELD_COLUMN].astype(float).round(12).value_counts()
    baseline = pd.concat([
        nearest_field_baseline(training, [h], shots=int(shots[round(h, 12)]), seed=seed) for h in fields
    ], ignore_index=True)
    base = physics_report(baseline, J=J, boundary=boundary, seed=seed)
    return pd.concat([model.assign(source="synthetic"), base.assign(source="nearest_field_baseline")],
                     ignore_index=True)
