"""`qedm demo`: a hybrid and a classical QEDM on the breast-cancer records, side by side.

Both models get the same train split, seed, epochs, batch size, learning rate and a matched
parameter budget (the classical MLP's width is chosen so its parameter count matches the
hybrid's total). Each is scored on the same held-out real rows.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from qedm.atomic import atomic_write_csv, atomic_write_text
from qedm.config import QEDMConfig
from qedm.synthesizer import QEDM

DEMO_MODELS = ("hybrid", "classical")
DEMO_DATASET = "breast_cancer"
DEMO_EPOCHS = 300
HOLDOUT_SHARE = 0.3

UpdateFn = Callable[[str, str, int, int], None]


@dataclass
class DemoResult:
    """Per-model figures of the demo and the formatting of its side-by-side table."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    trtr_accuracy: float = float("nan")
    circuit_sentence: str = ""  # qedm.evaluate.ablation.circuit_verdict of the hybrid (one seed)

    def table(self):
        from rich.table import Table

        table = Table(title=f"qedm demo: {DEMO_DATASET}, same split, seed and budget")
        table.add_column("figure")
        for name in self.rows:
            table.add_column(name, justify="right")
        for label, key, fmt in _FIGURES:
            table.add_row(label, *(fmt(row.get(key)) for row in self.rows.values()))
        table.add_row("accuracy, trained on real rows", *(f"{self.trtr_accuracy:.3f}" for _ in self.rows))
        return table

    def verdict(self) -> str:
        hybrid, classical = self.rows.get("hybrid"), self.rows.get("classical")
        if not hybrid or not classical:
            return ""
        gap = hybrid["fidelity"] - classical["fidelity"]
        utility_gap = hybrid["tstr_accuracy"] - self.trtr_accuracy
        return (
            f"Fidelity: hybrid {hybrid['fidelity']:.3f} vs classical {classical['fidelity']:.3f} "
            f"({gap:+.3f}). Downstream accuracy trained on hybrid samples is {utility_gap:+.3f} from "
            "training on real rows. " + (self.circuit_sentence + " " if self.circuit_sentence else "")
            + "One split and one seed: run `qedm benchmark` for mean ± std over "
            "seeds. The circuit ran on qedm's classical statevector simulator; this is no claim of a "
            "quantum advantage."
        )

    def markdown(self) -> str:
        names = list(self.rows)
        lines = ["| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for label, key, fmt in _FIGURES:
            lines.append(f"| {label} | " + " | ".join(fmt(self.rows[n].get(key)) for n in names) + " |")
        lines.append("| accuracy, trained on real rows | "
                     + " | ".join(f"{self.trtr_accuracy:.3f}" for _ in names) + " |")
        return "\n".join(lines) + "\n\n" + self.verdict() + "\n"


def _num(fmt: str):
    return lambda value: "-" if value is None else format(value, fmt)


_FIGURES = (
    ("parameters, classical", "classical_params", _num("d")),
    ("parameters, quantum", "quantum_params", _num("d")),
    ("qubits / circuit depth", "circuit", lambda v: v or "-"),
    ("training time (s)", "fit_seconds", _num(".1f")),
    ("sampling time (s)", "sample_seconds", _num(".2f")),
    ("fidelity (SDMetrics quality)", "fidelity", _num(".3f")),
    ("  column shapes", "column_shapes", _num(".3f")),
    ("  column pair trends", "column_pair_trends", _num(".3f")),
    ("accuracy, trained on synthetic", "tstr_accuracy", _num(".3f")),
    ("held-out denoising loss", "heldout_loss", _num(".4f")),
    ("  Δ, circuit mean-ablated", "ablation_mean_loss_delta", _num("+.4f")),
    ("  Δ, frozen random circuit", "ablation_random_loss_delta", _num("+.4f")),
    ("Δ fidelity, circuit mean-ablated", "ablation_mean_quality_delta", _num("+.4f")),
    ("Δ fidelity, frozen random circuit", "ablation_random_quality_delta", _num("+.4f")),
)


def _ablations(model, train, holdout, seed, fidelity, update, name, epochs) -> dict[str, Any]:
    """Held-out loss; for the hybrid also its ablations (qedm.evaluate.ablation) and gradient health."""
    from qedm.evaluate.ablation import ABLATION_RETRAIN_EPOCHS, ablate_fitted, circuit_of, encode_rows, heldout_loss
    from qedm.gradient_health import gradient_flags

    if circuit_of(model.denoiser) is None:
        rows, labels = encode_rows(model, holdout)
        return {"heldout_loss": heldout_loss(model.denoiser, rows, model.schedule, labels=labels, seed=seed)}
    update(name, "ablations", epochs, epochs)
    result = ablate_fitted(model, train, holdout, seed=seed, retrain_epochs=ABLATION_RETRAIN_EPOCHS,
                           fitted_quality=fidelity)
    return {**result.columns(), **gradient_flags(model.history)}


def demo_configs(train, epochs: int, seed: int) -> dict[str, QEDMConfig]:
    """The hybrid config and a classical one whose width matches the hybrid's parameter count."""
    from qedm.baselines.protocol import matched_classical_hidden_for

    circuit = {"n_qubits": 6, "n_layers": 3}
    hybrid = QEDMConfig(denoiser="hybrid", epochs=epochs, seed=seed, **circuit)
    hidden, _ = matched_classical_hidden_for(train, seed=seed, **circuit)
    # The classical denoiser takes its own defaults (n_blocks 2) and the matched width.
    return {"hybrid": hybrid, "classical": hybrid.updated(denoiser="classical", hidden=hidden)}


def run_demo(out: str | Path, *, epochs: int | None = None, seed: int = 0,
             on_update: UpdateFn | None = None) -> DemoResult:
    """Train, sample and score both demo models; write everything under `out`."""
    from sklearn.model_selection import train_test_split

    from qedm.data.datasets import dataset_info, load_dataset
    from qedm.evaluate import evaluate

    out = Path(out)
    update = on_update or (lambda *args: None)
    frame = load_dataset(DEMO_DATASET)
    target = dataset_info(DEMO_DATASET).target
    train, holdout = train_test_split(frame, test_size=HOLDOUT_SHARE, random_state=seed,
                                      stratify=frame[target])
    train, holdout = train.reset_index(drop=True), holdout.reset_index(drop=True)
    configs = demo_configs(train, epochs or DEMO_EPOCHS, seed)

    result = DemoResult()
    for name, config in configs.items():
        run_dir = out / name

        def on_epoch(record, name=name, total=config.epochs):
            update(name, f"training, loss {record['loss']:.3f}", record["epoch"], total)

        model = QEDM(config).fit(train, run_dir=run_dir, on_epoch=on_epoch)
        model.save(run_dir / "model")
        update(name, "sampling", config.epochs, config.epochs)
        started = time.perf_counter()
        synthetic = model.sample(len(train), seed=seed)
        sample_seconds = time.perf_counter() - started
        atomic_write_csv(synthetic, run_dir / "samples.csv")
        update(name, "scoring", config.epochs, config.epochs)
        scores = evaluate(holdout, synthetic, train=train, target=target, seed=seed,
                          metrics=("fidelity", "utility")).summary()
        counts = model.parameter_counts()
        resources = model.resources()
        result.rows[name] = {
            "classical_params": counts["classical"],
            "quantum_params": counts["quantum"],
            "circuit": f"{resources['qubits']} / {resources['depth']}" if resources else None,
            "fit_seconds": model.fit_seconds,
            "sample_seconds": sample_seconds,
            "fidelity": scores["fidelity_overall"],
            "column_shapes": scores["column_shapes"],
            "column_pair_trends": scores["column_pair_trends"],
            "tstr_accuracy": scores["tstr_accuracy"],
            **_ablations(model, train, holdout, seed, scores["fidelity_overall"], update, name, config.epochs),
        }
        result.trtr_accuracy = scores["trtr_accuracy"]
        update(name, "done", config.epochs, config.epochs)

    hybrid, classical = result.rows.get("hybrid"), result.rows.get("classical")
    if hybrid and "ablation_mean_loss_delta" in hybrid:
        from qedm.evaluate.ablation import circuit_verdict

        result.circuit_sentence = circuit_verdict(
            [hybrid["ablation_mean_loss_delta"]], [hybrid["ablation_random_loss_delta"]], [hybrid["heldout_loss"]],
            [classical["heldout_loss"]] if classical else ())
    summary = {"dataset": DEMO_DATASET, "seed": seed, "train_rows": len(train),
               "holdout_rows": len(holdout), "trtr_accuracy": result.trtr_accuracy,
               "models": result.rows, "configs": {k: c.to_dict() for k, c in configs.items()}}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    atomic_write_text(out / "summary.md", result.markdown())
    return result
