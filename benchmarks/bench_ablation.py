"""Does the circuit matter? Hybrid designs x ablations x matched classical, on breast_cancer and digits.

For each hybrid design (qedm.models.hybrid.DESIGNS) and seed: fit the hybrid, then on held-out
rows noised at seeded random timesteps measure (a) the mean ablation, (b) the frozen random
circuit with retrained heads (against the trained circuit retrained the same way), and fit
(c) the classical denoiser matched to that hybrid's parameter count on the same split.
Quality: breast_cancer's SDMetrics fidelity (higher is better), digits' FID in the protocol
classifier's feature space (qedm.evaluate.images; lower is better).

    .venv/bin/python benchmarks/bench_ablation.py --seeds 3 --out runs/ablation.jsonl
    .venv/bin/python benchmarks/bench_ablation.py --summary runs/ablation.jsonl   # tables only
    .venv/bin/python benchmarks/bench_ablation.py --n-qubits 8 --observables zz   # a circuit variant

A circuit variant (--n-qubits, --observables; default: HybridConfig's) is a row of its own,
labelled e.g. "bottleneck 8q/zz"; rows without the flags are the default circuit.

Each finished cell is appended to the JSONL file at once; a rerun skips cells already there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qedm.evaluate.ablation import ablate_denoiser, ablate_fitted, heldout_loss, t_interval  # noqa: E402

TABLE = "breast_cancer"


def circuit_label(circuit: dict) -> str:
    """'' for the default circuit, else ' 8q/both': the row label's suffix of a circuit variant."""
    from qedm.models.configs import HybridConfig

    n_qubits = circuit.get("n_qubits") or HybridConfig.n_qubits
    observables = circuit.get("observables") or HybridConfig.observables
    default = (n_qubits, observables) == (HybridConfig.n_qubits, HybridConfig.observables)
    return "" if default else f" {n_qubits}q/{observables}"


def table_cells(design: str, seed: int, epochs: int, retrain_epochs: int, circuit: dict) -> list[dict]:
    """The hybrid of `design` and its matched classical model on breast_cancer, one seed."""
    from qedm.baselines.protocol import matched_classical_hidden_for
    from qedm.benchmark import split_table
    from qedm.data.datasets import dataset_info, load_dataset
    from qedm.evaluate import evaluate
    from qedm.evaluate.ablation import encode_rows
    from qedm.synthesizer import QEDM

    frame = load_dataset(TABLE)
    train, holdout = split_table(frame, dataset_info(TABLE).target, 0.3, seed)

    def fidelity(model) -> float:
        synthetic = model.sample(len(train), seed=seed)
        return float(evaluate(holdout, synthetic, train=train, seed=seed, metrics=("fidelity",))
                     .summary()["fidelity_overall"])

    started = time.perf_counter()
    hybrid = QEDM(denoiser="hybrid", design=design, epochs=epochs, seed=seed, **circuit).fit(train)
    fit_s = time.perf_counter() - started
    quality = fidelity(hybrid)
    ablation = ablate_fitted(hybrid, train, holdout, seed=seed, retrain_epochs=retrain_epochs,
                             fitted_quality=quality)
    hidden, _ = matched_classical_hidden_for(train, seed=seed, design=design, **circuit)
    classical = QEDM(denoiser="classical", hidden=hidden, epochs=epochs, seed=seed).fit(train)
    rows, labels = encode_rows(classical, holdout)
    c_loss = heldout_loss(classical.denoiser, rows, classical.schedule, labels=labels, seed=seed)
    base = {"data": TABLE, "design": design + circuit_label(circuit), "seed": seed, "epochs": epochs,
            "quality": "fidelity_overall", **circuit}
    return [{**base, "model": "hybrid", "params": hybrid.parameter_counts()["total"], "fit_s": round(fit_s, 1),
             "quality_value": quality, **ablation.columns()},
            {**base, "model": "classical", "params": classical.parameter_counts()["total"], "hidden": hidden,
             "heldout_loss": c_loss, "quality_value": fidelity(classical)}]


_DIGITS: dict = {}


def digits_cells(design: str, seed: int, epochs: int, retrain_epochs: int, circuit: dict) -> list[dict]:
    """The hybrid of `design` (QEDM's default sizes) and its matched classical model on 8x8 digits."""
    from qedm.data.images import ImageTransformer
    from qedm.diffusion.samplers import ddim_sample
    from qedm.diffusion.schedules import make_schedule
    from qedm.evaluate.images import load_digits_split, protocol_feature_net, score_images
    from qedm.models.classical import ClassicalDenoiser, matched_classical_hidden
    from qedm.models.hybrid import HybridDenoiser
    from qedm.training import train_denoiser

    if not _DIGITS:
        x_tr, _, x_te, _ = load_digits_split()
        tf = ImageTransformer().fit(x_tr)
        _DIGITS.update(tf=tf, train=torch.as_tensor(tf.transform(x_tr), dtype=torch.float32),
                       test=torch.as_tensor(tf.transform(x_te), dtype=torch.float32), net=protocol_feature_net())
    tf, train, test, net = _DIGITS["tf"], _DIGITS["train"], _DIGITS["test"], _DIGITS["net"]
    schedule = make_schedule("cosine", 1000)

    def fit(model, epochs_):
        train_denoiser(model, train, schedule, epochs=epochs_, batch_size=128, lr=2e-3, seed=seed)
        model.eval()

    def fid(model) -> float:
        x = ddim_sample(model, schedule, (500, 64), noise=1000 + seed, steps=50)
        return float(score_images(tf.inverse_transform(x.numpy()), feature_net=net).fid)

    started = time.perf_counter()
    hybrid = HybridDenoiser(64, hidden=128, n_blocks=2, time_dim=32, design=design, seed=seed, **circuit)
    fit(hybrid, epochs)
    fit_s = time.perf_counter() - started
    quality = fid(hybrid)
    ablation = ablate_denoiser(hybrid, test, schedule, retrain=lambda m: fit(m, retrain_epochs), quality=fid,
                               fitted_quality=quality, seed=seed)
    total = hybrid.parameter_counts()["total"]
    hidden = matched_classical_hidden(64, total, n_blocks=2, time_dim=32)
    classical = ClassicalDenoiser(64, hidden=hidden, n_blocks=2, time_dim=32, seed=seed)
    fit(classical, epochs)
    base = {"data": "digits", "design": design + circuit_label(circuit), "seed": seed, "epochs": epochs,
            "quality": "fid", **circuit}
    return [{**base, "model": "hybrid", "params": total, "fit_s": round(fit_s, 1), "quality_value": quality,
             **ablation.columns()},
            {**base, "model": "classical", "params": classical.parameter_counts()["total"], "hidden": hidden,
             "heldout_loss": heldout_loss(classical, test, schedule, seed=seed), "quality_value": fid(classical)}]


def ci(values) -> str:
    mean, low, high = t_interval(values)
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]" if np.isfinite(low) else f"{mean:+.4f}"


def summary(records: list[dict]) -> str:
    """Markdown: per data set and design, the ablation deltas and hybrid-vs-classical, mean and 95% CI."""
    from scipy import stats

    lines = ["| data | design | seeds | hybrid loss | mean-abl. dloss | random-circ. dloss | classical - hybrid loss "
             "| quality: hybrid / classical | mean-abl. dquality | random-circ. dquality | Welch p (quality) |",
             "|---" * 11 + "|"]
    keys = sorted({(r["data"], r["design"]) for r in records}, key=lambda k: (k[0], k[1]))
    for data, design in keys:
        cells = [r for r in records if r["data"] == data and r["design"] == design]
        hyb = {r["seed"]: r for r in cells if r["model"] == "hybrid"}
        cla = {r["seed"]: r for r in cells if r["model"] == "classical"}
        seeds = sorted(set(hyb) & set(cla))
        if not seeds:
            continue
        h_loss = [hyb[s]["heldout_loss"] for s in seeds]
        gap = [cla[s]["heldout_loss"] - hyb[s]["heldout_loss"] for s in seeds]
        hq, cq = [hyb[s]["quality_value"] for s in seeds], [cla[s]["quality_value"] for s in seeds]
        p = stats.ttest_ind(hq, cq, equal_var=False).pvalue if len(seeds) > 1 else float("nan")
        lines.append(
            f"| {data} | {design} | {len(seeds)} | {np.mean(h_loss):.4f} "
            f"| {ci([hyb[s]['ablation_mean_loss_delta'] for s in seeds])} "
            f"| {ci([hyb[s]['ablation_random_loss_delta'] for s in seeds])} | {ci(gap)} "
            f"| {np.mean(hq):.4f} / {np.mean(cq):.4f} ({hyb[seeds[0]]['quality']}) "
            f"| {ci([hyb[s]['ablation_mean_quality_delta'] for s in seeds])} "
            f"| {ci([hyb[s]['ablation_random_quality_delta'] for s in seeds])} | {p:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="breast_cancer,digits")
    parser.add_argument("--designs", default="residual,bottleneck,gated,film,skip")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100, help="breast_cancer epochs (digits: a fifth)")
    parser.add_argument("--retrain-epochs", type=int, default=10)
    parser.add_argument("--n-qubits", type=int, help="the circuit's qubits (default: HybridConfig's)")
    parser.add_argument("--observables", help="z, zz or both (default: HybridConfig's)")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation.jsonl"))
    parser.add_argument("--summary", type=Path, help="only print the tables of this JSONL file")
    args = parser.parse_args()
    if args.summary:
        print(summary([json.loads(line) for line in args.summary.read_text().splitlines() if line.strip()]))
        return
    torch.set_num_threads(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    circuit = {k: v for k, v in (("n_qubits", args.n_qubits), ("observables", args.observables)) if v is not None}
    suffix = circuit_label(circuit)
    done = set()
    if args.out.is_file():
        done = {(r["data"], r["design"], r["seed"]) for r in map(json.loads, args.out.read_text().splitlines())}
    for seed in range(args.seeds):
        for data in args.data.split(","):
            for design in args.designs.split(","):
                if (data, design + suffix, seed) in done:
                    continue
                started = time.perf_counter()
                if data == "digits":
                    cells = digits_cells(design, seed, max(1, args.epochs // 5), args.retrain_epochs // 2 or 1,
                                         circuit)
                else:
                    cells = table_cells(design, seed, args.epochs, args.retrain_epochs, circuit)
                with open(args.out, "a") as handle:
                    for cell in cells:
                        handle.write(json.dumps(cell, default=float) + "\n")
                print(f"{data} {design}{suffix} seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
    records = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
    print(summary(records))


if __name__ == "__main__":
    main()
