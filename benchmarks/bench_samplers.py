"""Few-step sampling: DPM-Solver++(2M) and its SDE variant next to DDPM and DDIM, quality against NFE.

(a) breast cancer: one classical QEDM (cosine schedule, T=1000) trained once; 569 rows drawn
    per setting with 3 sampling seeds; fidelity = SDMetrics quality score (qedm.evaluate,
    metrics=("fidelity",)) against the 569 real rows, averaged over the seeds.
(b) digits: qedm's quantum dense denoiser (about 1,000 parameters, as in bench_digits.py)
    trained once on the 1347-image train split; 1000 images per setting; FID under the
    protocol of qedm.evaluate.images (vs the 450 held-out images).
Steps 5, 10, 20, 50, 1000 per sampler; NFE (the number of denoiser evaluations) is counted.
The check: DPM-Solver++(2M) and DPM-Solver++(2M) SDE at 20 steps are each not more than 5 %
worse than 1000-step DDPM on fidelity (a) and on FID (b).

    .venv/bin/python benchmarks/bench_samplers.py           # about 8 min on 2 cores
    .venv/bin/python benchmarks/bench_samplers.py --quick   # about 2 min
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qedm.data.datasets import load_dataset  # noqa: E402
from qedm.data.images import ImageTransformer  # noqa: E402
from qedm.diffusion.samplers import sample as run_sampler  # noqa: E402
from qedm.diffusion.schedules import make_schedule  # noqa: E402
from qedm.evaluate import evaluate  # noqa: E402
from qedm.evaluate.images import load_digits_split, score_images  # noqa: E402
from qedm.models.quantum_dense import QuantumDenseDenoiser  # noqa: E402
from qedm.synthesizer import QEDM  # noqa: E402
from qedm.training import train_denoiser  # noqa: E402

SAMPLERS = ("ddpm", "ddim", "dpm_solver", "dpm_solver_sde")
STEPS = (5, 10, 20, 50, 1000)


def counted(fn):
    """Wrap eps_fn so that calls are counted: returns (wrapped, counter list)."""
    calls = [0]

    def wrapped(x, t):
        calls[0] += 1
        return fn(x, t)

    return wrapped, calls


def table_part(epochs: int, seeds: int, steps: tuple[int, ...]) -> list[dict]:
    df = load_dataset("breast_cancer")
    model = QEDM(denoiser="classical", epochs=epochs, seed=0).fit(df)
    rows = []
    for sampler in SAMPLERS:
        for n_steps in steps:
            scores, nfe = [], 0
            for seed in range(seeds):
                calls = [0]
                synthetic = model.sample(len(df), sampler=sampler, steps=n_steps, seed=100 + seed,
                                         progress=lambda i, total: calls.__setitem__(0, calls[0] + 1))
                nfe = calls[0]
                scores.append(evaluate(df, synthetic, metrics=("fidelity",)).fidelity.overall)
            rows.append({"part": "breast_cancer", "sampler": sampler, "steps": n_steps, "nfe": nfe,
                         "metric": "fidelity", "value": statistics.mean(scores),
                         "std": statistics.stdev(scores) if len(scores) > 1 else 0.0})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def digits_part(epochs: int, steps: tuple[int, ...]) -> list[dict]:
    x_tr, _, _, _ = load_digits_split()
    tf = ImageTransformer(0.0, 16.0).fit(x_tr)
    data = torch.as_tensor(tf.transform(x_tr))
    schedule = make_schedule("cosine", 1000)
    model = QuantumDenseDenoiser(64, n_layers=20, n_blocks=3, time_phases=True, readout="both", init_std=0.02,
                                 schedule=schedule, seed=0)
    train_denoiser(model, data, schedule, epochs=epochs, batch_size=128, lr=1e-2, seed=0)
    rows = []
    for sampler in SAMPLERS:
        for n_steps in steps:
            eps_fn, calls = counted(lambda x, t: model(x, t))
            x = run_sampler(eps_fn, schedule, 1000, 64, sampler=sampler, steps=n_steps, generator=7)
            fid = score_images(tf.inverse_transform(x.numpy())).fid
            rows.append({"part": "digits", "sampler": sampler, "steps": n_steps, "nfe": calls[0],
                         "metric": "FID", "value": fid, "std": 0.0})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def check(rows: list[dict], part: str, sampler: str = "dpm_solver") -> str:
    """`sampler` (a DPM-Solver++) at 20 steps vs 1000-step DDPM: PASS unless it is more than 5 % worse.

    "Worse" follows the metric's direction: fidelity higher is better, FID lower is better.
    """
    sub = [r for r in rows if r["part"] == part]
    get = {(r["sampler"], r["steps"]): r["value"] for r in sub}
    if (sampler, 20) not in get or ("ddpm", 1000) not in get:
        return f"{part}: check not run (needs {sampler}@20 and ddpm@1000)"
    dpm, ddpm = get[(sampler, 20)], get[("ddpm", 1000)]
    higher_better = sub[0]["metric"] == "fidelity"
    worse_by = (ddpm - dpm) / abs(ddpm) if higher_better else (dpm - ddpm) / abs(ddpm)
    verdict = "PASS" if worse_by <= 0.05 else "FAIL"
    how = f"{100 * abs(worse_by):.1f} % {'worse' if worse_by > 0 else 'better'}"
    name = {"dpm_solver": "DPM-Solver++(2M)", "dpm_solver_sde": "DPM-Solver++(2M) SDE"}.get(sampler, sampler)
    return (f"{part}: {name} 20 steps {dpm:.4f} vs DDPM 1000 steps {ddpm:.4f}: {how} "
            f"-> {verdict} (passes unless more than 5 % worse)")


def markdown(rows: list[dict]) -> list[str]:
    lines = []
    for part in ("breast_cancer", "digits"):
        sub = [r for r in rows if r["part"] == part]
        if not sub:
            continue
        metric = sub[0]["metric"]
        steps = sorted({r["steps"] for r in sub})
        lines += [f"\n{part} ({metric}{', higher is better' if metric == 'fidelity' else ', lower is better'}; "
                  "cell = value [NFE])", "| sampler | " + " | ".join(f"{s} steps" for s in steps) + " |",
                  "|---|" + "---|" * len(steps)]
        for sampler in SAMPLERS:
            cells = {r["steps"]: f"{r['value']:.4f} [{r['nfe']}]" if metric == "fidelity"
                     else f"{r['value']:.2f} [{r['nfe']}]" for r in sub if r["sampler"] == sampler}
            lines.append(f"| {sampler} | " + " | ".join(cells.get(s, "-") for s in steps) + " |")
        lines += [check(rows, part, s) for s in ("dpm_solver", "dpm_solver_sde")]
    return lines


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from qedm.atomic import atomic_write

    parts = [p for p in ("breast_cancer", "digits") if any(r["part"] == p for r in rows)]
    fig, axes = plt.subplots(1, len(parts), figsize=(5 * len(parts), 3.6), squeeze=False)
    for ax, part in zip(axes[0], parts):
        for sampler in SAMPLERS:
            sub = sorted((r for r in rows if r["part"] == part and r["sampler"] == sampler), key=lambda r: r["nfe"])
            ax.plot([r["nfe"] for r in sub], [r["value"] for r in sub], marker="o", label=sampler)
        ax.set_xscale("log")
        ax.set_xlabel("denoiser evaluations (NFE)")
        ax.set_ylabel(sub[0]["metric"] if sub else "")
        ax.set_title(part)
        ax.legend()
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    finally:
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and seeds (about 2 minutes)")
    parser.add_argument("--part", choices=("both", "table", "digits"), default="both")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="runs/bench_samplers")
    parser.add_argument("--render", nargs="+", default=None, metavar="RESULTS_JSON",
                        help="print the tables and plot from earlier results.json files, without running")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    steps = (5, 20, 1000) if args.quick else STEPS
    rows: list[dict] = []
    if args.render:
        rows = [r for path in args.render for r in json.loads(Path(path).read_text())["rows"]]
        print("\n".join(markdown(rows)))
        plot(rows, out / "samplers.png")
        return
    if args.part in ("both", "table"):
        rows += table_part(epochs=30 if args.quick else 300, seeds=1 if args.quick else 3, steps=steps)
    if args.part in ("both", "digits"):
        rows += digits_part(epochs=5 if args.quick else 30, steps=steps)
    lines = markdown(rows)
    lines.append(f"\nTotal wall time {time.perf_counter() - started:.0f} s, torch threads {args.threads}.")
    print("\n".join(lines))
    plot(rows, out / "samplers.png")
    (out / "results.json").write_text(json.dumps({"rows": rows, "table": lines}, indent=1))


if __name__ == "__main__":
    main()
