"""A/B of QEDM training settings on the table suite: same splits, same metrics, one denoiser.

Each variant is a set of QEDMConfig values; every variant runs `qedm.suite.run_suite` with the
same tables, row cap and seeds (its own out directory under --out, so a rerun resumes), and the
script prints the TabSyn-style metrics per table and variant (mean over seeds) and the mean
rank of each variant over tables and metrics.

    .venv/bin/python benchmarks/tabular_ab.py --variants old,scaled,scaled_ema --tables fair,randhie \
        --max-rows 6000 --seeds 1 --out runs/ab
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qedm.suite import SHOWN, SUITES, rank_models, run_suite  # noqa: E402
from qedm.training import torch_threads  # noqa: E402

VARIANTS = {
    "old": {"epochs": 300, "batch_size": 128, "ema_decay": 0.0},  # the defaults before this change
    "old_ema": {"epochs": 300, "batch_size": 128, "ema_decay": 0.999},
    "scaled": {"ema_decay": 0.0},  # epochs and batch size scaled with the rows (qedm.scaling)
    "scaled_ema": {"ema_decay": 0.999},  # the current defaults
    "scaled_ema995": {"ema_decay": 0.995},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="old,scaled,scaled_ema")
    parser.add_argument("--denoiser", default="classical")
    parser.add_argument("--tables", default=",".join(SUITES["tables"]))
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--seeds", default="1", help="a count or a comma-separated list")
    parser.add_argument("--out", default="runs/ab")
    args = parser.parse_args()
    seeds = int(args.seeds) if "," not in args.seeds else [int(s) for s in args.seeds.split(",")]
    frames = []
    for name in args.variants.split(","):
        options = dict(VARIANTS[name])
        epochs = options.pop("epochs", None)  # the benchmark passes epochs on its own
        with torch_threads(1):
            result = run_suite("tables", [args.denoiser], seeds, Path(args.out) / name,
                               tables=args.tables.split(","), max_rows=args.max_rows, epochs=epochs,
                               qedm_options=options or None, progress=False)
        frames.append(result.summary.assign(model=name))
    summary = pd.concat(frames, ignore_index=True)
    shown = [f"{m}_mean" for m in SHOWN if f"{m}_mean" in summary]
    pd.set_option("display.width", 250)
    print(summary[["table", "model", *shown]].round(4).to_string(index=False))
    print()
    print(rank_models(summary).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
