"""The epsilon-quality curve of DP fits, the canary membership audit, and watermark detection.

Three parts (each writes a CSV under --out and prints a markdown table for BENCHMARKS.md):
- curve: breast_cancer (569 rows) and fair (a seeded 600-row subsample of its 6366 rows, to fit
  the 2-core budget), hybrid and classical denoisers, epsilon in {1, 3, 10, inf} (inf = an
  ordinary fit), 3 seeds; a seeded 70/30 split per seed; fidelity (SDMetrics QualityReport vs
  the holdout), TSTR accuracy (mean of logistic regression and random forest) and qedm's
  membership-inference AUC (train vs holdout rows by distance to the nearest synthetic row);
- canary: NCANARY (--canaries) outlying rows (qedm.privacy.audit.plant_canaries) are added to the
  breast_cancer training rows, as many similar canaries are held out; MIA AUC of the canaries
  for a non-DP and an epsilon = 1 fit of the same denoiser on the same rows, over --seeds seeds;
- watermark: detection rate at a 1 % false-positive rate (key-exchange p-value < 0.01) over
  10 keys for 100 / 500 / 2000 marked rows, after deleting 50 % of the rows, after adding noise
  of 1 % of each numeric column's std, on unmarked real rows; fidelity of marked vs unmarked.

    .venv/bin/python benchmarks/bench_privacy.py --part curve --epochs 15
    .venv/bin/python benchmarks/bench_privacy.py --part canary --denoisers classical --epochs 60 --seeds 5
    .venv/bin/python benchmarks/bench_privacy.py --part watermark
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qedm.data.datasets import dataset_info, load_dataset  # noqa: E402
from qedm.evaluate import evaluate  # noqa: E402
from qedm.privacy.audit import canary_mia_auc, plant_canaries  # noqa: E402
from qedm.synthesizer import QEDM  # noqa: E402

EPSILONS = (1.0, 3.0, 10.0, float("inf"))
NCANARY = 40


def split(frame: pd.DataFrame, seed: int, test: float = 0.3):
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = int(len(frame) * (1 - test))
    return frame.iloc[order[:cut]].reset_index(drop=True), frame.iloc[order[cut:]].reset_index(drop=True)


def fit(denoiser: str, frame: pd.DataFrame, epsilon: float, seed: int, epochs: int) -> QEDM:
    options = {"denoiser": denoiser, "epochs": epochs, "seed": seed}
    if np.isfinite(epsilon):
        options.update(dp_epsilon=epsilon, dp_public_categories=True)
    return QEDM(**options).fit(frame)


def load(name: str) -> pd.DataFrame:
    frame = load_dataset(name)
    return frame.sample(600, random_state=0).reset_index(drop=True) if name == "fair" else frame


def read_cells(path: Path) -> list[dict]:
    """The finished cells of a resumable part (one JSON object per line)."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def append_cell(path: Path, row: dict) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(row) + "\n")
    print(row, flush=True)


def curve(args) -> pd.DataFrame:
    """The epsilon-quality cells, resumable: each finished cell is appended to args.cells (JSONL)."""
    rows = read_cells(args.cells)
    done = {(r["dataset"], r["denoiser"], r["epsilon"], r["seed"]) for r in rows}
    for name in args.datasets:
        frame, target = load(name), dataset_info(name).target
        for denoiser in args.denoisers:
            for epsilon in args.epsilons:
                for seed in range(args.seeds):
                    if (name, denoiser, epsilon, seed) in done:
                        continue
                    train, holdout = split(frame, seed)
                    started = time.perf_counter()
                    model = fit(denoiser, train, epsilon, seed, args.epochs)
                    seconds = time.perf_counter() - started
                    synthetic = model.sample(len(train), seed=seed + 100)
                    score = evaluate(holdout, synthetic, train=train, target=target, seed=seed,
                                     metrics=("fidelity", "utility", "privacy")).summary()
                    rows.append({"dataset": name, "denoiser": denoiser, "epsilon": epsilon, "seed": seed,
                                 "epsilon_achieved": model.privacy.epsilon if model.privacy else float("inf"),
                                 "fidelity": score["fidelity_overall"], "tstr_accuracy": score.get("tstr_accuracy"),
                                 "trtr_accuracy": score.get("trtr_accuracy"), "mia_auc": score["mia_auc"],
                                 "fit_seconds": seconds})
                    append_cell(args.cells, rows[-1])
    return pd.DataFrame(rows)


def canary(args) -> pd.DataFrame:
    """The canary cells, resumable like `curve` (args.canary_cells)."""
    rows = [r for r in read_cells(args.canary_cells) if r.get("canaries", NCANARY) == args.canaries]
    done = {(r["denoiser"], r["epsilon"], r["seed"]) for r in rows}
    frame = load_dataset("breast_cancer")
    for seed in range(args.seeds):
        train, _ = split(frame, seed)
        members = plant_canaries(train, args.canaries, seed=1000 + seed)
        others = plant_canaries(train, args.canaries, seed=2000 + seed)
        planted = pd.concat([train, members], ignore_index=True)
        for epsilon in (float("inf"), 1.0):
            if (args.denoisers[0], epsilon, seed) in done:
                continue
            model = fit(args.denoisers[0], planted, epsilon, seed, args.epochs)
            synthetic = model.sample(len(planted), seed=seed + 100)
            rows.append({"denoiser": args.denoisers[0], "epsilon": epsilon, "seed": seed, "canaries": args.canaries,
                         "canary_mia_auc": canary_mia_auc(members, others, synthetic, train)})
            append_cell(args.canary_cells, rows[-1])
    return pd.DataFrame(rows)


def watermark(args) -> pd.DataFrame:
    from qedm.privacy.watermark import CANDIDATES, detect, new_key, select_marked

    frame = load_dataset("breast_cancer")
    train, holdout = split(frame, 0)
    model = fit("classical", train, float("inf"), 0, args.epochs)
    numeric = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    rng = np.random.default_rng(0)
    rows = []
    keys = [new_key() for _ in range(args.keys)]
    pool = model.sample(CANDIDATES * 2000, seed=7)
    for n in (100, 500, 2000):
        hits = {"marked": 0, "marked, 50% rows deleted": 0, "marked, numeric noise 1% std": 0,
                "unmarked synthetic": 0, "unmarked real rows": 0}
        for key in keys:
            marked = select_marked(pool.iloc[: CANDIDATES * n], model.transformer, key, n)
            noisy = marked.copy()
            noisy[numeric] += rng.normal(0, 1, (n, len(numeric))) * frame[numeric].std().to_numpy() * 0.01
            real = frame.sample(min(n, len(frame)), random_state=int(rng.integers(1 << 30)))
            cases = {"marked": marked, "marked, 50% rows deleted": marked.sample(frac=0.5, random_state=0),
                     "marked, numeric noise 1% std": noisy, "unmarked synthetic": pool.iloc[-n:],
                     "unmarked real rows": real}
            for case, table in cases.items():
                hits[case] += detect(table, model.transformer, key)["p_value"] < 0.01
        for case, count in hits.items():
            rows.append({"rows": n, "case": case, "detection_rate": count / len(keys)})
        print(rows[-5:], flush=True)
    plain = model.sample(len(holdout), seed=11)
    marked = select_marked(model.sample(CANDIDATES * len(holdout), seed=11), model.transformer, keys[0], len(holdout))
    for case, table in (("fidelity unmarked", plain), ("fidelity marked", marked)):
        rows.append({"rows": len(holdout), "case": case,
                     "detection_rate": evaluate(holdout, table, metrics=("fidelity",)).summary()["fidelity_overall"]})
    return pd.DataFrame(rows)


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    x = {e: i for i, e in enumerate(EPSILONS)}
    for (name, denoiser), group in table.groupby(["dataset", "denoiser"]):
        stats = group.groupby("epsilon")[["fidelity", "tstr_accuracy", "mia_auc"]].mean()
        for ax, metric in zip(axes, stats.columns):
            ax.plot([x[e] for e in stats.index], stats[metric], marker="o", label=f"{name} {denoiser}")
            ax.set_title(metric)
            ax.set_xticks(range(len(EPSILONS)), [str(e) for e in EPSILONS])
            ax.set_xlabel("epsilon")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("curve", "canary", "watermark"), required=True)
    parser.add_argument("--datasets", default="breast_cancer,fair")
    parser.add_argument("--denoisers", default="hybrid,classical")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--canaries", type=int, default=NCANARY, help="planted (and as many held-out) canaries")
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--epsilons", default="1,3,10,inf", help="comma-separated; inf = no DP")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_privacy"))
    parser.add_argument("--cells", type=Path, default=Path("benchmarks/results/privacy_curve.jsonl"),
                        help="curve cells (JSONL), appended as they finish; cells already there are skipped")
    parser.add_argument("--canary-cells", type=Path, default=Path("benchmarks/results/privacy_canary.jsonl"),
                        help="canary cells (JSONL), resumable like --cells")
    args = parser.parse_args()
    args.datasets, args.denoisers = args.datasets.split(","), args.denoisers.split(",")
    args.epsilons = [float(e) for e in args.epsilons.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(1)
    table = {"curve": curve, "canary": canary, "watermark": watermark}[args.part](args)
    table.to_csv(args.out / f"{args.part}.csv", index=False)
    if args.part == "curve":
        plot(table, args.out / "curve.png")
        summary = table.groupby(["dataset", "denoiser", "epsilon"]).agg(["mean", "std"])
        print(summary[["epsilon_achieved", "fidelity", "tstr_accuracy", "mia_auc"]].round(3).to_string())
    elif args.part == "canary":
        print(table.groupby(["denoiser", "epsilon"])["canary_mia_auc"].agg(["mean", "std", "min", "max"])
              .round(3).to_string())
        print(table.to_string(index=False))
    else:
        print(table.pivot(index="case", columns="rows", values="detection_rate").round(3).to_string())


if __name__ == "__main__":
    main()
