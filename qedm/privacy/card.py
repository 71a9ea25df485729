"""The model card of a run: `card.json` (flat, for machines) and `card.md` (for an auditor).

card.json is one flat object: every value is a string, number, boolean, null or a list of
those, and its keys are documented in CARD_FIELDS (config values appear as "config.<name>",
evaluation scores as "evaluation.<metric>"). It describes the data by a fingerprint only
(SHA-256 of the rows' pandas hashes, row and column counts, names and kinds), never by rows.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qedm.atomic import atomic_write_text
from qedm.errors import QEDMError

CARD_FORMAT = "qedm.card/1"
PACKAGES = ("qedm", "torch", "numpy", "pandas", "scikit-learn", "sdmetrics", "opacus", "fairlearn")
INTENDED_USE = ("Synthetic rows that follow the distribution of the training table, for method development, "
                "testing and sharing where the real rows cannot be shared. Check fidelity, utility and privacy "
                "(qedm evaluate) on held-out rows before any use.")
LIMITATIONS = (
    "Synthetic rows are not real records: do not use them for decisions about individuals.",
    "Without a differential-privacy guarantee, rare or outlying training rows can be memorised; "
    "the DCR and membership-inference figures are empirical checks, not guarantees.",
    "Quantum circuits run on a classical statevector simulator; no quantum advantage is claimed "
    "unless measured against a matched classical baseline.",
    "Subgroups that are rare in the training table may be served worse (see qedm evaluate --sensitive).",
)
CARD_FIELDS = {
    "format": "card format version",
    "created_utc": "when the card was written (ISO 8601, UTC)",
    "run": "the run directory",
    "data.source": "the file or bundled dataset fitted",
    "data.sha256": "SHA-256 of the rows' pandas hashes (changes when any value, row or column order changes)",
    "data.rows": "number of training rows",
    "data.columns": "number of columns",
    "data.column_names": "column names, in order",
    "data.column_kinds": "the kind each column was modelled as, same order",
    "model.denoiser": "classical | hybrid | quantum | quantum_dense",
    "model.parameters_total / _classical / _quantum": "trainable parameters",
    "model.fit_seconds": "training time",
    "config.<name>": "every QEDMConfig value (dicts as JSON text)",
    "seed": "the seed of the fit",
    "packages.<name>": "installed versions of the packages the fit used",
    "python": "Python version",
    "backend": "where the denoiser ran (the circuits' simulator for hybrid/quantum)",
    "privacy.guarantee": "'none', or the (epsilon, delta)-DP statement of a DP fit",
    "privacy.epsilon / privacy.delta": "achieved epsilon and delta (null without DP)",
    "privacy.public": "what a DP fit declared public instead of learning privately",
    "evaluation.<metric>": "the summary of `qedm evaluate --run` (absent until one ran)",
    "intended_use": "what the synthetic data is for",
    "limitations": "known limitations",
}


def data_fingerprint(data: pd.DataFrame | np.ndarray) -> dict[str, Any]:
    """Hash, shape, names and kinds of the training data: [N, columns] -> flat dict (no rows)."""
    if isinstance(data, pd.DataFrame):
        hashed = pd.util.hash_pandas_object(data, index=False).to_numpy()
        digest = hashlib.sha256(hashed.tobytes() + "\x1f".join(map(str, data.columns)).encode()).hexdigest()
        return {"data.sha256": digest, "data.rows": len(data), "data.columns": data.shape[1],
                "data.column_names": [str(c) for c in data.columns]}
    array = np.ascontiguousarray(data)
    return {"data.sha256": hashlib.sha256(array.tobytes()).hexdigest(), "data.rows": int(array.shape[0]),
            "data.columns": int(np.prod(array.shape[1:])), "data.column_names": []}


def _versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[f"packages.{name}"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[f"packages.{name}"] = None
    return out


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, np.generic):
        return value.item()
    return value


def build_card(model, data, *, source: str, run_dir: str | Path) -> dict[str, Any]:
    """The card of a fitted QEDM as a flat dict (see CARD_FIELDS)."""
    cfg = model.config
    card: dict[str, Any] = {"format": CARD_FORMAT,
                            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            "run": str(run_dir), "data.source": source}
    card.update(data_fingerprint(data))
    specs = getattr(model.transformer, "columns_", None) or []
    card["data.column_kinds"] = [spec["kind"] for spec in specs]
    counts = model.parameter_counts()
    card.update({"model.denoiser": cfg.denoiser, "model.parameters_total": counts["total"],
                 "model.parameters_classical": counts["classical"], "model.parameters_quantum": counts["quantum"],
                 "model.fit_seconds": round(float(model.fit_seconds), 3)})
    card.update({f"config.{k}": _flat(v) for k, v in sorted(cfg.to_dict().items())})
    card["seed"] = cfg.seed
    card.update(_versions())
    card["python"] = platform.python_version()
    simulated = "qedm statevector simulator" if cfg.denoiser != "classical" else "no circuit"
    card["backend"] = f"torch on {cfg.device} ({simulated})"
    guarantee = getattr(model, "privacy", None)
    card["privacy.guarantee"] = "none" if guarantee is None else guarantee.text()
    card["privacy.epsilon"] = None if guarantee is None else guarantee.epsilon
    card["privacy.delta"] = None if guarantee is None else guarantee.delta
    card["privacy.public"] = [] if guarantee is None else list(guarantee.public)
    card["intended_use"] = INTENDED_USE
    card["limitations"] = list(LIMITATIONS)
    return card


def card_markdown(card: dict[str, Any]) -> str:
    """card.md: the same facts as card.json, grouped for a human reader."""
    lines = [f"# Model card: {card.get('run')}", "", f"Written {card.get('created_utc')} ({card.get('format')}).", ""]
    groups = [("Data (fingerprint only)", "data."), ("Model", "model."), ("Privacy", "privacy."),
              ("Evaluation", "evaluation."), ("Software", "packages."), ("Configuration", "config.")]
    for title, prefix in groups:
        keys = [k for k in card if k.startswith(prefix)]
        if not keys:
            continue
        lines += [f"## {title}", ""]
        lines += [f"- {k[len(prefix):]}: {_show(card[k])}" for k in keys]
        if title == "Model":
            lines += [f"- seed: {card.get('seed')}", f"- backend: {card.get('backend')}",
                      f"- python: {card.get('python')}"]
        lines.append("")
    if not any(k.startswith("evaluation.") for k in card):
        lines += ["## Evaluation", "", "none run yet (`qedm evaluate REAL SYNTHETIC --run RUN` adds it)", ""]
    lines += ["## Intended use", "", str(card.get("intended_use")), "", "## Limitations", ""]
    lines += [f"- {item}" for item in card.get("limitations", [])]
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "(none)"
    return "null" if value is None else str(value)


def write_card(card: dict[str, Any], run_dir: str | Path) -> list[Path]:
    """Write card.json and card.md atomically into run_dir."""
    run_dir = Path(run_dir)
    atomic_write_text(run_dir / "card.json", json.dumps(card, indent=2, allow_nan=False))
    atomic_write_text(run_dir / "card.md", card_markdown(card))
    return [run_dir / "card.json", run_dir / "card.md"]


def read_card(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "card.json"
    if not path.is_file():
        raise QEDMError(f"{run_dir} has no card.json: is it a run directory written by `qedm fit`?")
    return json.loads(path.read_text())


def add_evaluation(run_dir: str | Path, summary: dict[str, float | None]) -> list[Path]:
    """Put an evaluation summary into a run's card (replacing an earlier one) and rewrite both files."""
    card = {k: v for k, v in read_card(run_dir).items() if not k.startswith("evaluation.")}
    card.update({f"evaluation.{k}": v for k, v in summary.items()})
    return write_card(card, run_dir)
