"""TFIM snapshots: can a field-conditioned QEDM generate ground-state measurements at a field it
never saw, better than reusing the nearest training field's snapshots?

Training data: the bundled tfim_z and tfim_x tables (8 periodic sites, J = 1, 500 snapshots at
each of h = 0.2, 0.4, ..., 2.0). Per denoiser and seed, one model per basis is fitted
conditioned on the continuous column h; each draws `--shots` snapshots at the seen fields
0.6, 1.0, 1.4 and the unseen fields 0.9, 1.1, 1.3 (inside the training range). Scored with
qedm.science.physics_report against the exact ground state: |<|M_z|> - exact|, |<ZZ> - exact|,
|<X> - exact|, |E/n - exact| and the TV distance to the Born distribution. References measured
in the same run: the nearest-training-field baseline (that field's training snapshots, ties to
the lower field) and fresh exact snapshots (what a perfect generator with the same shots scores).

    .venv/bin/python benchmarks/bench_tfim.py --seeds 3 --out runs/bench_tfim
Finished cells are kept in OUT/cells/, so a rerun resumes; --fresh starts over.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from qedm import QEDM
from qedm.atomic import atomic_write_csv, atomic_write_text
from qedm.data.datasets import load_dataset
from qedm.science import TFIMChain, ground_state, nearest_field_baseline, physics_report, tfim_dataset
from qedm.training import torch_threads

SEEN = (0.6, 1.0, 1.4)
UNSEEN = (0.9, 1.1, 1.3)
MODEL_OPTIONS = {  # qedm's defaults; the quantum denoiser's PCA latent of 8 dims is lossless here
    "classical": dict(denoiser="classical"),  # (each qubit's one-hot pair is +-1, -+1: rank 8 of 16)
    "hybrid": dict(denoiser="hybrid"),
    "quantum": dict(denoiser="quantum", n_qubits=8),
}
OBSERVABLES = ("abs_mz", "zz", "x", "energy_per_site", "tv_z", "tv_x")


def generate(name: str, seed: int, epochs: int, shots: int, train: dict[str, pd.DataFrame]):
    """Fit one model per basis and draw `shots` snapshots at every evaluation field."""
    fields = SEEN + UNSEEN
    out, seconds = {}, 0.0
    for basis, table in train.items():
        model = QEDM(**MODEL_OPTIONS[name], condition_column="h", epochs=epochs, seed=seed).fit(table)
        seconds += model.fit_seconds
        out[basis] = pd.concat([model.sample(shots, seed=seed + 100, conditions={"h": h}) for h in fields],
                               ignore_index=True)
    return out, seconds


def score(name: str, seed: int, tables: dict[str, pd.DataFrame], seconds: float) -> pd.DataFrame:
    report = physics_report(tables["z"], other_basis=tables["x"], seed=seed)
    report["model"], report["seed"], report["fit_seconds"] = name, seed, seconds
    report["split"] = np.where(np.isin(report["h"].round(9), np.round(UNSEEN, 9)), "unseen", "seen")
    return report


def run_cells(models, seeds, epochs, shots, out: Path, fresh: bool) -> pd.DataFrame:
    """Score every (model, seed) cell not yet in OUT/cells/ (one CSV per cell, so runs of
    different --models may go on side by side); returns all cells found there."""
    cell_dir = out / "cells"
    cell_dir.mkdir(parents=True, exist_ok=True)
    train = {"z": load_dataset("tfim_z"), "x": load_dataset("tfim_x")}
    fields = SEEN + UNSEEN
    for seed in seeds:
        for name in ["nearest_field_baseline", "exact_snapshots", *models]:
            path = cell_dir / f"{name}_seed{seed}.csv"
            if path.is_file() and not fresh:
                continue
            started = time.perf_counter()
            if name == "nearest_field_baseline":
                tables = {b: nearest_field_baseline(t, fields, shots=shots, seed=seed) for b, t in train.items()}
                seconds = 0.0
            elif name == "exact_snapshots":
                tables = {b: tfim_dataset(8, fields, shots, b, seed=1000 + seed) for b in train}
                seconds = 0.0
            else:
                tables, seconds = generate(name, seed, epochs, shots, train)
            atomic_write_csv(score(name, seed, tables, seconds), path)
            print(f"{name} seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    return pd.concat([pd.read_csv(p) for p in sorted(cell_dir.glob("*.csv"))], ignore_index=True)


def summarise(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of the per-field mean absolute error (TV: the distance itself)."""
    per_seed = cells.groupby(["model", "split", "observable", "seed"])["abs_error"].mean().reset_index()
    table = per_seed.groupby(["model", "split", "observable"])["abs_error"].agg(["mean", "std"]).reset_index()
    return table


def markdown(summary: pd.DataFrame, cells: pd.DataFrame, split: str) -> str:
    order = ["hybrid", "quantum", "classical", "nearest_field_baseline", "exact_snapshots"]
    models = [m for m in order if m in set(summary["model"])]
    lines = ["| observable | " + " | ".join(models) + " |", "|---" * (len(models) + 1) + "|"]
    for obs in OBSERVABLES:
        cells_text = []
        for m in models:
            row = summary[(summary.model == m) & (summary.split == split) & (summary.observable == obs)]
            cells_text.append(f"{row['mean'].iloc[0]:.3f} ± {row['std'].iloc[0]:.3f}" if len(row) else "")
        lines.append(f"| {obs} | " + " | ".join(cells_text) + " |")
    seconds = cells.groupby("model")["fit_seconds"].mean()
    lines.append("| fit seconds (both bases) | " + " | ".join(f"{seconds.get(m, 0):.0f}" for m in models) + " |")
    return "\n".join(lines)


def per_field_markdown(cells: pd.DataFrame, fields, observables=("abs_mz", "zz")) -> str:
    """|estimate - exact| at each field, mean ± std over seeds, models as columns."""
    order = ["hybrid", "quantum", "classical", "nearest_field_baseline", "exact_snapshots"]
    models = [m for m in order if m in set(cells["model"])]
    lines = ["| h | observable | exact | " + " | ".join(models) + " |", "|---" * (len(models) + 3) + "|"]
    for h in fields:
        for obs in observables:
            rows = cells[np.isclose(cells["h"], h) & (cells["observable"] == obs)]
            stats = rows.groupby("model")["abs_error"].agg(["mean", "std"])
            values = [f"{stats.loc[m, 'mean']:.3f} ± {stats.loc[m, 'std']:.3f}" if m in stats.index else ""
                      for m in models]
            lines.append(f"| {h:g} | {obs} | {rows['exact'].iloc[0]:.3f} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def plot(cells: pd.DataFrame, path: Path) -> None:
    """Generated vs exact observables across h: exact curves, per-model means ± std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0.1, 2.1, 81)
    exact = pd.DataFrame([ground_state(TFIMChain(8, h)).observables() for h in grid])
    names = {"abs_mz": "<|M_z|>", "zz": "<Z_i Z_i+1>", "x": "<X>", "energy_per_site": "E / n"}
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    markers = {"hybrid": "o", "quantum": "s", "classical": "^", "nearest_field_baseline": "x"}
    for ax, (obs, label) in zip(axes, names.items()):
        ax.plot(grid, exact[obs], "k-", lw=1, label="exact")
        for model, marker in markers.items():
            rows = cells[(cells.model == model) & (cells.observable == obs)]
            if rows.empty:
                continue
            stats = rows.groupby("h")["estimate"].agg(["mean", "std"])
            offset = 0.012 * (list(markers).index(model) - 1.5)
            ax.errorbar(stats.index + offset, stats["mean"], yerr=stats["std"], fmt=marker, ms=4, capsize=2,
                        label=model.replace("_", " "))
        for h in UNSEEN:
            ax.axvline(h, color="0.85", lw=6, zorder=0)
        ax.set_xlabel("h / J")
        ax.set_title(label)
    axes[0].legend(fontsize=7)
    fig.suptitle("TFIM, 8 periodic sites: generated vs exact (grey bands: fields never trained on)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="hybrid,quantum,classical")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed-list", default=None, help="comma-separated seeds to run instead of 0..SEEDS-1 "
                                                          "(to run seeds side by side)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--shots", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_tfim"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--summary-only", action="store_true", help="summarise the cells in OUT, fit nothing")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.summary_only:
        cells = pd.concat([pd.read_csv(p) for p in sorted((args.out / "cells").glob("*.csv"))], ignore_index=True)
    with torch_threads(1):
        seeds = [int(s) for s in args.seed_list.split(",")] if args.seed_list else range(args.seeds)
        if not args.summary_only:
            cells = run_cells([m for m in args.models.split(",") if m], seeds, args.epochs, args.shots,
                              args.out, args.fresh)
    summary = summarise(cells)
    atomic_write_csv(summary, args.out / "summary.csv")
    seeds_per_model = cells.groupby("model")["seed"].nunique().to_dict()
    text = (f"mean absolute error vs exact over fields (TV: the distance), mean ± std over seeds "
            f"{seeds_per_model}, {args.shots} shots per field, {args.epochs} epochs\n\n"
            f"unseen fields {UNSEEN}:\n\n{markdown(summary, cells, 'unseen')}\n\n"
            f"seen fields {SEEN}:\n\n{markdown(summary, cells, 'seen')}\n\n"
            f"per unseen field, |estimate - exact|:\n\n{per_field_markdown(cells, UNSEEN)}\n")
    atomic_write_text(args.out / "summary.md", text)
    plot(cells, args.out / "tfim_observables.png")
    print(text)


if __name__ == "__main__":
    main()
