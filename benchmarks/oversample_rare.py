"""Oversampling a rare class with a class-conditional QEDM, against no augmentation and SMOTE.

Data: the bundled "fair" table (Fair's 1974 affairs survey, 6366 rows, via statsmodels), a real
table with a real rare class: rate_marriage = 1 ("very poor") is 99 rows (1.6 %). The task:
predict whether rate_marriage == 1 from the other 8 columns. A stratified 70/30 split (seed
per repeat); only the training part is augmented.
- none: the training rows as they are.
- SMOTE: imbalanced-learn's SMOTE(k_neighbors=5) on the numeric columns, up to a 1:1 balance.
- QEDM: QEDM(condition_column="rate_marriage", denoiser=...) fitted on the training rows (all
  five classes), then `sample(n, conditions={"rate_marriage": 1})` adds as many synthetic
  minority rows as SMOTE does (so both reach 1:1).
Downstream classifiers: logistic regression (standardised inputs) and a random forest (200
trees); scores on the untouched test part: minority recall, precision, F1, and PR-AUC.

    .venv/bin/python benchmarks/oversample_rare.py            # 3 repeats, about 6 min on 2 cores
    .venv/bin/python benchmarks/oversample_rare.py --quick    # 1 repeat, about 1.5 min
"""

from __future__ import annotations

import argparse
import json
import statistics
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
    """How often a reader trained on real rows calls rows of the minority class minority.

    The reader is a class-balanced random forest on the real training rows (minority vs rest);
    it is applied to the real held-out minority rows (the reference rate) and to the synthetic
    rows asked for with the minority class. Conditional generation is faithful when the two
    rates are about equal.
    """
    from sklearn.ensemble import RandomForestClassifier

    reader = RandomForestClassifier(n_estimators=200, class_weight="balanced_subsample", min_samples_leaf=5,
                                    random_state=seed, n_jobs=1)
    reader.fit(train.drop(columns=[TARGET]).to_numpy(float), (train[TARGET] == MINORITY).to_numpy())
    real = test[test[TARGET] == MINORITY].drop(columns=[TARGET]).to_numpy(float)
    fake = synthetic.drop(columns=[TARGET]).to_numpy(float)
    return {"read_as_real": float(reader.predict(real).mean()), "read_as_synthetic": float(reader.predict(fake).mean())}


def smote_rows(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """SMOTE's new minority rows (1:1 against the rest), with the original target value."""
    from imblearn.over_sampling import SMOTE

    x, y = train.drop(columns=[TARGET]), (train[TARGET] == MINORITY).astype(int)
    x_res, y_res = SMOTE(k_neighbors=5, random_state=seed).fit_resample(x, y)
    new = x_res.iloc[len(x):].copy()
    new.insert(list(train.columns).index(TARGET), TARGET, MINORITY)
    return new


def qedm_rows(train: pd.DataFrame, n: int, seed: int, args) -> tuple[pd.DataFrame, float]:
    model = QEDM(condition_column=TARGET, denoiser=args.denoiser, epochs=args.epochs, seed=seed,
                 guidance_scale=args.guidance, ema_decay=args.ema_decay)
    started = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - started
    synthetic = model.sample(n, conditions={TARGET: MINORITY}, seed=seed + 1)
    return synthetic[train.columns], fit_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--denoiser", default="classical", choices=("classical", "hybrid", "quantum"))
    parser.add_argument("--epochs", type=int, default=None, help="QEDM epochs (default 150; quick 30)")
    parser.add_argument("--ema-decay", type=float, default=0.0, help="EMA of the weights (0: off)")
    parser.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance scale")
    parser.add_argument("--out", default="runs/oversample_rare")
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split

    args.epochs = args.epochs or (30 if args.quick else 150)
    repeats = 1 if args.quick else args.repeats
    df = load_dataset("fair")
    started = time.perf_counter()
    results: list[dict] = []
    for seed in range(repeats):
        train, test = train_test_split(df, test_size=0.3, stratify=df[TARGET], random_state=seed)
        extra_smote = smote_rows(train, seed)
        extra_qedm, fit_s = qedm_rows(train, len(extra_smote), seed, args)
        reads = {"smote": read_as_minority(train, test, extra_smote, seed),
                 f"qedm-{args.denoiser}": read_as_minority(train, test, extra_qedm, seed)}
        for method, extra in (("none", None), ("smote", extra_smote), (f"qedm-{args.denoiser}", extra_qedm)):
            augmented = train if extra is None else pd.concat([train, extra], ignore_index=True)
            for clf, scores in score(augmented, test, seed).items():
                results.append({"seed": seed, "method": method, "classifier": clf, "n_added": 0 if extra is None
                                else len(extra), "qedm_fit_s": round(fit_s, 1), **scores,
                                **reads.get(method, {"read_as_real": float("nan"), "read_as_synthetic": float("nan")})})
                print(json.dumps(results[-1]), flush=True)
    lines = [f"Minority = {TARGET} == {MINORITY}: {int((df[TARGET] == MINORITY).sum())} of {len(df)} rows; "
             f"{repeats} split(s); QEDM denoiser={args.denoiser}, epochs={args.epochs}, guidance={args.guidance}, "
             f"ema_decay={args.ema_decay}.",
             "| classifier | augmentation | rows added | minority recall | precision | F1 | PR-AUC | "
             "read as minority: added rows (real held-out minority rows) |",
             "|---|---|---|---|---|---|---|---|"]
    for clf in ("logreg", "forest"):
        for method in dict.fromkeys(r["method"] for r in results):
            group = [r for r in results if r["classifier"] == clf and r["method"] == method]

            def ms(key: str) -> str:
                vals = [r[key] for r in group]
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                return f"{statistics.mean(vals):.3f} ± {sd:.3f}"

            lines.append(f"| {clf} | {method} | {int(np.mean([r['n_added'] for r in group]))} | {ms('recall')} | "
                         f"{ms('precision')} | {ms('f1')} | {ms('pr_auc')} | "
                         f"{ms('read_as_synthetic')} ({ms('read_as_real')}) |")
    lines.append(f"\nTotal wall time {time.perf_counter() - started:.0f} s.")
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"rows": results, "table": lines}, indent=1))


if __name__ == "__main__":
    main()
