"""Oversampling a rare class with a class-conditional QEDM, against no augmentation and SMOTE.

Two tables (`--table`):
- fair (default): Fair's 1974 affairs survey (6366 rows, via statsmodels), a real rare class:
  rate_marriage = 1 ("very poor") is 99 rows (1.6 %), predicted from the other 8 columns. The
  class is nearly unpredictable (PR-AUC about 0.05 for every method).
- breast_cancer: scikit-learn's Wisconsin table, a predictable class with an induced imbalance
  (the standard protocol): after the split, the training part's malignant rows are cut to
  `--share` (default 5 %) of the training rows by `qedm.data.induce_imbalance`; the held-out part
  keeps its natural balance (37 % malignant), so the real rare rows can be scored.
A stratified 70/30 split (seed per repeat); only the training part is augmented.
- none: the training rows as they are.
- SMOTE: imbalanced-learn's SMOTE(k_neighbors=5) on the numeric columns, up to a 1:1 balance.
- QEDM: QEDM(condition_column=target, denoiser=..., **variant) fitted on the training rows (all
  classes), then `sample(n, conditions={target: minority}, guidance_scale=g)` adds `fraction`
  times as many synthetic minority rows as SMOTE does (1: both reach 1:1); each variant is
  fitted once per split and sampled at every guidance scale and fraction asked for.
Downstream classifiers: logistic regression (standardised inputs) and a random forest (200
trees); scores on the untouched test part: minority recall, precision, F1, and PR-AUC.

    .venv/bin/python benchmarks/oversample_rare.py            # fair, 3 repeats, library defaults
    .venv/bin/python benchmarks/oversample_rare.py --table breast_cancer --guidance 1,2 --fractions 0.25,1
    .venv/bin/python benchmarks/oversample_rare.py --variants default,epochs=300 --guidance 1,2,3
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

from qedm.data import induce_imbalance, load_dataset  # noqa: E402
from qedm.synthesizer import QEDM  # noqa: E402

# table -> (target column, minority class, training share of the minority: None keeps the real one)
TASKS = {"fair": ("rate_marriage", 1, None), "breast_cancer": ("target", "malignant", 0.05)}
TARGET, MINORITY = TASKS["fair"][:2]  # set by main() from --table


def classifiers(seed: int) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {"logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
            "forest": RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)}


def score(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> dict[str, dict[str, float]]:
    """Minority recall / precision / F1 / PR-AUC of each classifier trained on `train`."""
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

    x_tr, y_tr = train.drop(columns=[TARGET]).to_numpy(float), (train[TARGET] == MINORITY).to_numpy()
    x_te, y_te = test.drop(columns=[TARGET]).to_numpy(float), (test[TARGET] == MINORITY).to_numpy()
    out = {}
    for name, clf in classifiers(seed).items():
        clf.fit(x_tr, y_tr)
        pred, proba = clf.predict(x_te), clf.predict_proba(x_te)[:, 1]
        out[name] = {"recall": recall_score(y_te, pred, zero_division=0),
                     "precision": precision_score(y_te, pred, zero_division=0),
                     "f1": f1_score(y_te, pred, zero_division=0),
                     "pr_auc": average_precision_score(y_te, proba)}
    return out


def read_as_minority(train: pd.DataFrame, test: pd.DataFrame, synthetic: pd.DataFrame, seed: int) -> dict:
    """How often readers trained on real rows call rows of the minority class minority.

    Two class-balanced readers fitted on the real training rows (minority vs rest): a random
    forest and a logistic regression. Each is applied to the real held-out minority rows (the
    reference rate) and to the synthetic rows asked for with the minority class. Conditional
    generation is faithful when the two rates are about equal.
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    readers = {"": RandomForestClassifier(n_estimators=200, class_weight="balanced_subsample", min_samples_leaf=5,
                                          random_state=seed, n_jobs=1),
               "_logreg": make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000))}
    real = test[test[TARGET] == MINORITY].drop(columns=[TARGET]).to_numpy(float)
    fake = synthetic.drop(columns=[TARGET]).to_numpy(float)
    out = {}
    for suffix, reader in readers.items():
        reader.fit(train.drop(columns=[TARGET]).to_numpy(float), (train[TARGET] == MINORITY).to_numpy())
        out[f"read_as_real{suffix}"] = float(reader.predict(real).mean())
        out[f"read_as_synthetic{suffix}"] = float(reader.predict(fake).mean())
    return out


def smote_rows(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SMOTE's new minority rows (1:1 against the rest), with the original target value."""
    from imblearn.over_sampling import SMOTE

    x, y = train.drop(columns=[TARGET]), (train[TARGET] == MINORITY).astype(int)
    x_res, y_res = SMOTE(k_neighbors=5, random_state=seed).fit_resample(x, y)
    new = x_res.iloc[len(x):].copy()
    new.insert(list(train.columns).index(TARGET), TARGET, MINORITY)
    return new.reset_index(drop=True)


def fraction_label(fraction: float) -> str:
    return "" if fraction == 1 else f" x{fraction:g}"


def parse_variant(text: str) -> dict:
    """QEDM settings of a variant: "default" (the library's) or "key=value+key=value"."""
    if text == "default":
        return {}
    settings = {}
    for item in text.split("+"):
        key, value = item.split("=", 1)
        settings[key] = int(value) if value.lstrip("-").isdigit() else float(value)
    return settings


def qedm_fit(train: pd.DataFrame, seed: int, denoiser: str, variant: str) -> tuple[QEDM, float]:
    """A class-conditional QEDM on the training rows (all classes), and its fit seconds."""
    model = QEDM(condition_column=TARGET, denoiser=denoiser, seed=seed, **parse_variant(variant))
    started = time.perf_counter()
    model.fit(train)
    return model, time.perf_counter() - started


def cell_key(row: dict) -> tuple:
    return row["seed"], row["method"], row["classifier"]


def summary_table(results: list[dict]) -> list[str]:
    """Mean ± sd over seeds per classifier and augmentation, as Markdown rows."""
    lines = ["| classifier | augmentation | rows added | minority recall | precision | F1 | PR-AUC | "
             "PR-AUC minus none's (same split) | "
             "read as minority, forest / logreg reader: added rows (real held-out minority rows) |",
             "|---|---|---|---|---|---|---|---|---|"]
    none_ap = {(r["seed"], r["classifier"]): r["pr_auc"] for r in results if r["method"] == "none"}
    for clf in ("logreg", "forest"):
        for method in dict.fromkeys(r["method"] for r in results):
            group = [{**r, "pr_auc_gain": r["pr_auc"] - none_ap.get((r["seed"], clf), float("nan"))}
                     for r in results if r["classifier"] == clf and r["method"] == method]

            def ms(key: str) -> str:
                vals = np.array([r[key] for r in group], dtype=float)
                if np.isnan(vals).all():  # no added rows to read ("none")
                    return "-"
                sd = float(np.nanstd(vals, ddof=1)) if len(vals) > 1 else 0.0
                return f"{float(np.nanmean(vals)):.3f} ± {sd:.3f}"

            lines.append(f"| {clf} | {method} | {int(np.mean([r['n_added'] for r in group]))} | {ms('recall')} | "
                         f"{ms('precision')} | {ms('f1')} | {ms('pr_auc')} | {ms('pr_auc_gain')} | "
                         f"{ms('read_as_synthetic')} ({ms('read_as_real')}) / "
                         f"{ms('read_as_synthetic_logreg')} ({ms('read_as_real_logreg')}) |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--denoiser", default="classical", choices=("classical", "hybrid", "quantum"))
    parser.add_argument("--variants", default="default",
                        help='comma-separated QEDM settings to compare: "default" or "key=value+key=value"')
    parser.add_argument("--guidance", default="1", help="comma-separated guidance scales, each sampled from one fit")
    parser.add_argument("--table", default="fair", choices=tuple(TASKS))
    parser.add_argument("--share", type=float, default=None,
                        help="training share of the minority after the induced imbalance (breast_cancer: 0.05)")
    parser.add_argument("--fractions", default="1",
                        help="comma-separated: rows added as a fraction of SMOTE's 1:1 count, each from one fit")
    parser.add_argument("--out", default=None, help="default: runs/oversample_rare[_TABLE]")
    args = parser.parse_args()
    global TARGET, MINORITY
    TARGET, MINORITY, share = TASKS[args.table]
    share = args.share if args.share is not None else share
    from sklearn.model_selection import train_test_split

    repeats = 1 if args.quick else args.repeats
    scales = [float(g) for g in args.guidance.split(",")]
    fractions = [float(f) for f in args.fractions.split(",")]
    df = load_dataset(args.table)
    out = Path(args.out or ("runs/oversample_rare" if args.table == "fair" else f"runs/oversample_rare_{args.table}"))
    out.mkdir(parents=True, exist_ok=True)
    cells = out / "cells.jsonl"  # one line per finished cell: an interrupted run resumes
    results = [json.loads(line) for line in cells.read_text().splitlines()] if cells.is_file() else []
    done = {cell_key(r) for r in results}

    def record(rows: list[dict]) -> None:
        with open(cells, "a") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
        results.extend(rows)
        done.update(cell_key(r) for r in rows)

    def evaluate(seed, method, train, test, extra, reads, fit_s=0.0) -> None:
        augmented = train if extra is None else pd.concat([train, extra], ignore_index=True)
        nan = {f"read_as_{kind}{suffix}": float("nan") for kind in ("real", "synthetic") for suffix in ("", "_logreg")}
        record([{"seed": seed, "method": method, "classifier": clf, "n_added": 0 if extra is None else len(extra),
                 "qedm_fit_s": round(fit_s, 1), **scores, **(reads or nan)}
                for clf, scores in score(augmented, test, seed).items()])

    started = time.perf_counter()
    for seed in range(repeats):
        train, test = train_test_split(df, test_size=0.3, stratify=df[TARGET], random_state=seed)
        if share is not None:  # induced imbalance: the training part only
            train = induce_imbalance(train, TARGET, MINORITY, share, seed).reset_index(drop=True)
        extra_smote = smote_rows(train, seed)
        if (seed, "none", "logreg") not in done:
            evaluate(seed, "none", train, test, None, None)
        for fraction in fractions:
            name = "smote" + fraction_label(fraction)
            if (seed, name, "logreg") not in done:
                extra = extra_smote.sample(n=max(1, round(fraction * len(extra_smote))), random_state=seed)
                evaluate(seed, name, train, test, extra, read_as_minority(train, test, extra, seed))
        for variant in args.variants.split(","):
            names = {(g, f): f"qedm-{args.denoiser}[{variant}] g={g:g}{fraction_label(f)}"
                     for g in scales for f in fractions}
            if all((seed, name, "logreg") in done for name in names.values()):
                continue
            model, fit_s = qedm_fit(train, seed, args.denoiser, variant)
            for (g, fraction), name in names.items():
                if (seed, name, "logreg") in done:
                    continue
                n_rows = max(1, round(fraction * len(extra_smote)))
                extra = model.sample(n_rows, conditions={TARGET: MINORITY}, seed=seed + 1,
                                     guidance_scale=g)[train.columns]
                evaluate(seed, name, train, test, extra, read_as_minority(train, test, extra, seed), fit_s)
    induced = f"; induced training share {share:g}" if share is not None else ""
    lines = [f"Minority = {TARGET} == {MINORITY}: {int((df[TARGET] == MINORITY).sum())} of {len(df)} rows{induced}; "
             f"seeds {sorted({r['seed'] for r in results})}; QEDM denoiser={args.denoiser}.", *summary_table(results),
             f"\nWall time of this run {time.perf_counter() - started:.0f} s."]
    print("\n".join(lines))
    (out / "results.json").write_text(json.dumps({"rows": results, "table": lines}, indent=1))


if __name__ == "__main__":
    main()
