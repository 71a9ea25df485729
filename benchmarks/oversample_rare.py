"""Oversampling a rare class with a class-conditional QEDM, against no augmentation and SMOTE.

Data: the bundled "fair" table (Fair's 1974 affairs survey, 6366 rows, via statsmodels), a real
table with a real rare class: rate_marriage = 1 ("very poor") is 99 rows (1.6 %). The task:
predict whether rate_marriage == 1 from the other 8 columns. A stratified 70/30 split (seed
per repeat); only the training part is augmented.
- none: the training rows as they are.
- SMOTE: imbalanced-learn's SMOTE(k_neighbors=5) on the numeric columns, up to a 1:1 balance.
- QEDM: QEDM(condition_column="rate_marriage", denoiser=..., **variant) fitted on the training
  rows (all five classes), then `sample(n, conditions={"rate_marriage": 1}, guidance_scale=g)`
  adds as many synthetic minority rows as SMOTE does (so both reach 1:1); each variant is
  fitted once per split and sampled at every guidance scale asked for.
Downstream classifiers: logistic regression (standardised inputs) and a random forest (200
trees); scores on the untouched test part: minority recall, precision, F1, and PR-AUC.

    .venv/bin/python benchmarks/oversample_rare.py            # 3 repeats, library defaults
    .venv/bin/python benchmarks/oversample_rare.py --quick    # 1 repeat
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

from qedm.data.datasets import load_dataset  # noqa: E402
from qedm.synthesizer import QEDM  # noqa: E402

TARGET, MINORITY = "rate_marriage", 1


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
    return new


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
    """A class-conditional QEDM on the training rows (all five classes), and its fit seconds."""
    model = QEDM(condition_column=TARGET, denoiser=denoiser, seed=seed, **parse_variant(variant))
    started = time.perf_counter()
    model.fit(train)
    return model, time.perf_counter() - started


def cell_key(row: dict) -> tuple:
    return row["seed"], row["method"], row["classifier"]


def summary_table(results: list[dict]) -> list[str]:
    """Mean ± sd over seeds per classifier and augmentation, as Markdown rows."""
    lines = ["| classifier | augmentation | rows added | minority recall | precision | F1 | PR-AUC | "
             "read as minority, forest / logreg reader: added rows (real held-out minority rows) |",
             "|---|---|---|---|---|---|---|---|"]
    for clf in ("logreg", "forest"):
        for method in dict.fromkeys(r["method"] for r in results):
            group = [r for r in results if r["classifier"] == clf and r["method"] == method]

            def ms(key: str) -> str:
                vals = np.array([r[key] for r in group], dtype=float)
                if np.isnan(vals).all():  # no added rows to read ("none")
                    return "-"
                sd = float(np.nanstd(vals, ddof=1)) if len(vals) > 1 else 0.0
                return f"{float(np.nanmean(vals)):.3f} ± {sd:.3f}"

            lines.append(f"| {clf} | {method} | {int(np.mean([r['n_added'] for r in group]))} | {ms('recall')} | "
                         f"{ms('precision')} | {ms('f1')} | {ms('pr_auc')} | "
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
    parser.add_argument("--out", default="runs/oversample_rare")
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split

    repeats = 1 if args.quick else args.repeats
    scales = [float(g) for g in args.guidance.split(",")]
    df = load_dataset("fair")
    out = Path(args.out)
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
        extra_smote = smote_rows(train, seed)
        if (seed, "none", "logreg") not in done:
            evaluate(seed, "none", train, test, None, None)
        if (seed, "smote", "logreg") not in done:
            evaluate(seed, "smote", train, test, extra_smote, read_as_minority(train, test, extra_smote, seed))
        for variant in args.variants.split(","):
            names = {g: f"qedm-{args.denoiser}[{variant}] g={g:g}" for g in scales}
            if all((seed, name, "logreg") in done for name in names.values()):
                continue
            model, fit_s = qedm_fit(train, seed, args.denoiser, variant)
            for g, name in names.items():
                if (seed, name, "logreg") in done:
                    continue
                extra = model.sample(len(extra_smote), conditions={TARGET: MINORITY}, seed=seed + 1,
                                     guidance_scale=g)[train.columns]
                evaluate(seed, name, train, test, extra, read_as_minority(train, test, extra, seed), fit_s)
    lines = [f"Minority = {TARGET} == {MINORITY}: {int((df[TARGET] == MINORITY).sum())} of {len(df)} rows; "
             f"seeds {sorted({r['seed'] for r in results})}; QEDM denoiser={args.denoiser}.", *summary_table(results),
             f"\nWall time of this run {time.perf_counter() - started:.0f} s."]
    print("\n".join(lines))
    (out / "results.json").write_text(json.dumps({"rows": results, "table": lines}, indent=1))


if __name__ == "__main__":
    main()
