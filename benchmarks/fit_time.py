"""Default fit time against table size: rows-scaled training (qedm.scaling) vs the old fixed 300 x 128.

Tables: the bundled randhie (10 columns, 6 numeric and 4 categorical) subsampled to 5,000 rows,
and resampled with replacement to 100,000 rows. For each denoiser the default fit (epochs and
batch size scaled with the rows, one torch thread) is timed end to end; the old defaults
(300 epochs at batch 128) are timed for `--reference-epochs` epochs in the same process and
extrapolated to 300 (their per-epoch cost is constant), so the ratio is measured under the
same load. `ms_per_step` is the training loop's own time per optimizer step; fit_s is the whole
`fit` (transform, imports on first use, training).

    .venv/bin/python benchmarks/fit_time.py                      # 5,000 and 100,000 rows, both denoisers
    .venv/bin/python benchmarks/fit_time.py --rows 5000 --denoisers classical
    .venv/bin/python benchmarks/fit_time.py --rows 100000 --measure-epochs 2   # extrapolated from 2 epochs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qedm.data import load_dataset  # noqa: E402
from qedm.synthesizer import QEDM  # noqa: E402


def table_of(rows: int, seed: int = 0):
    base = load_dataset("randhie")
    return base.sample(n=rows, replace=rows > len(base), random_state=seed).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="5000,100000")
    parser.add_argument("--denoisers", default="classical,hybrid")
    parser.add_argument("--reference-epochs", type=int, default=2, help="0: skip the old-defaults reference")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every fit (config.threads)")
    parser.add_argument("--out", default=None, help="append each result line to this JSONL file")
    parser.add_argument("--measure-epochs", type=int, default=None,
                        help="time only this many epochs of the scaled fit too and extrapolate (large tables)")
    args = parser.parse_args()
    for rows in [int(r) for r in args.rows.split(",")]:
        table = table_of(rows)
        for denoiser in args.denoisers.split(","):
            from qedm.scaling import training_length

            epochs, batch = training_length(None, None, rows)
            started = time.perf_counter()
            model = QEDM(denoiser=denoiser, epochs=args.measure_epochs or epochs, batch_size=batch,
                         threads=args.threads).fit(table)
            scaled = (time.perf_counter() - started) * epochs / (args.measure_epochs or epochs)
            steps = len(model.history) * -(-rows // batch)
            result = {"rows": rows, "columns": table.shape[1], "denoiser": denoiser, "threads": args.threads,
                      "epochs": epochs, "batch_size": model.batch_size, "fit_s": round(scaled, 1),
                      "fit_extrapolated": args.measure_epochs is not None,
                      "ms_per_step": round(1000 * model.fit_seconds / steps, 2)}
            if args.reference_epochs > 0:
                started = time.perf_counter()
                QEDM(denoiser=denoiser, epochs=args.reference_epochs, batch_size=128, threads=args.threads).fit(table)
                old = 300 * (time.perf_counter() - started) / args.reference_epochs
                result.update({"old_defaults_s_extrapolated": round(old, 1), "speed-up": round(old / scaled, 1)})
            print(json.dumps(result), flush=True)
            if args.out:
                with open(args.out, "a") as handle:
                    handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
