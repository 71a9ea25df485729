"""Molecules: do qedm's denoisers generate valid, novel molecules whose properties match held-out ones?

Training data: the bundled moses_small set (4000 MOSES train molecules of at most 30 SELFIES
tokens, one-hot per position: 780 dims). Per denoiser and seed a QEDM is fitted (hidden width
1024: a narrower trunk cannot carry the 780-dim noise to the read-out and the loss stays near 1),
1000 molecules are drawn and scored with qedm.science.chemistry.molecule_metrics against the
1000 held-out molecules (MOSES test). Reference measured in the same run: the shuffled-token
baseline (each training molecule's SELFIES tokens in a random order: the training atoms, their
arrangement destroyed), and the training-molecule baseline (1000 training molecules drawn at
random: novelty 0, and its property distances are the floor set by train-vs-held-out sampling).

    .venv/bin/python benchmarks/bench_molecules.py --seeds 1 --epochs 100
Each finished cell is appended to --out (JSONL), so a rerun resumes; --fresh starts over.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from qedm import QEDM
from qedm.science.chemistry import molecule_metrics
from qedm.science.molecules import load_moses_small, shuffled_tokens

MODEL_OPTIONS = {
    "classical": dict(denoiser="classical", hidden=1024),
    "hybrid": dict(denoiser="hybrid", hidden=1024),
}
N_SAMPLES = 1000


def run_cell(name: str, seed: int, epochs: int, train: list[str], heldout: list[str], fcd: bool) -> dict:
    """Generate N_SAMPLES molecules with `name` (or the baseline) and score them."""
    started = time.perf_counter()
    if name == "shuffled_tokens":
        generated = shuffled_tokens(train[:N_SAMPLES], seed)
        fit_seconds = 0.0
    elif name == "training_molecules":
        generated = random.Random(seed).sample(train, N_SAMPLES)
        fit_seconds = 0.0
    else:
        model = QEDM(**MODEL_OPTIONS[name], epochs=epochs, seed=seed,
                     column_kinds={"smiles": "smiles"}).fit(_frame(train))
        fit_seconds = model.fit_seconds
        generated = model.sample(N_SAMPLES, seed=seed + 100)["smiles"].tolist()
    metrics = molecule_metrics(generated, train, heldout, fcd=fcd, seed=seed)
    return {"model": name, "seed": seed, "epochs": epochs if name in MODEL_OPTIONS else None,
            "fit_seconds": round(fit_seconds, 1), "seconds": round(time.perf_counter() - started, 1), **metrics}


def _frame(smiles: list[str]):
    import pandas as pd

    return pd.DataFrame({"smiles": smiles})


TABLE = ("validity", "uniqueness", "novelty", "internal_diversity", "w1_qed", "w1_logp", "w1_mol_weight",
         "w1_rings", "ks_logp", "ks_mol_weight")


def markdown_table(path: Path) -> str:
    """Mean ± std over seeds of each model's metrics, as a markdown table."""
    import pandas as pd

    rows = pd.DataFrame([json.loads(line) for line in path.read_text().splitlines() if line])
    lines = ["| model | seeds | " + " | ".join(TABLE) + " |", "|---" * (len(TABLE) + 2) + "|"]
    for name, group in rows.groupby("model", sort=False):
        cells = [f"{group[c].mean():.3g} ± {group[c].std(ddof=0):.2g}" if len(group) > 1 else f"{group[c].mean():.3g}"
                 for c in TABLE]
        lines.append(f"| {name} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--models", default="shuffled_tokens,training_molecules,classical,hybrid")
    parser.add_argument("--fcd", action="store_true", help="also compute the FCD (fcd_torch; slow on a CPU)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/molecules.jsonl"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--table", action="store_true", help="print the markdown table of --out and stop")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.out))
        return
    if args.fresh and args.out.exists():
        args.out.unlink()
    done = set()
    if args.out.exists():
        done = {(r["model"], r["seed"]) for r in map(json.loads, args.out.read_text().splitlines()) if r}
    train = load_moses_small("train")["smiles"].tolist()
    heldout = load_moses_small("test")["smiles"].tolist()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in range(args.seeds):
        for name in args.models.split(","):
            if (name, seed) in done:
                continue
            row = run_cell(name, seed, args.epochs, train, heldout, args.fcd)
            with open(args.out, "a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)


if __name__ == "__main__":
    main()
