"""The models a server offers: run directories checked against their manifest, loaded once, read-only.

A served model holds one replica per sampling worker (the simulator keeps scratch buffers per
circuit, so two threads never share one); a worker takes a replica, samples, gives it back.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qedm.errors import ConfigError, QEDMError
from qedm.integrity import verify_manifest
from qedm.synthesizer import MODEL_FILES, QEDM

CARD_FILE = "card.json"
_SUMMARY_KEYS = ("denoiser", "n_qubits", "n_layers", "latent", "epochs", "sampler", "seed")


@dataclass
class ServedModel:
    """One named model: its description for clients and a pool of replicas for the workers."""

    name: str
    model_dir: Path
    info: dict[str, Any]  # what GET /v1/models says about it
    condition: str | None = None
    classes: list | None = None
    replicas: queue.Queue = field(default_factory=queue.Queue)

    @contextmanager
    def replica(self) -> Iterator[QEDM]:
        model = self.replicas.get()
        try:
            yield model
        finally:
            self.replicas.put(model)


def parse_model_args(items: list[str]) -> dict[str, Path]:
    """["bc=runs/bc", "runs/wine"] -> {"bc": runs/bc, "wine": runs/wine}; names must be unique."""
    named: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        path = Path(path if sep else item)
        if not sep:
            name = (path.parent if path.name == "model" else path).resolve().name
        if not name or "/" in name:
            raise ConfigError(f"model argument {item!r}: give RUN_DIR or NAME=RUN_DIR")
        if name in named:
            raise ConfigError(f"two models are named {name!r}; name them with NAME=RUN_DIR")
        named[name] = path
    if not named:
        raise ConfigError("give at least one RUN_DIR to serve")
    return named


def load_served_model(name: str, run_dir: str | Path, replicas: int = 1) -> ServedModel:
    """Check the model files against their manifest, load `replicas` copies and warm each one up."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise QEDMError(f"model {name!r}: run directory not found: {run_dir}")
    model_dir = run_dir / "model" if (run_dir / "model").is_dir() else run_dir
    verify_manifest(model_dir, MODEL_FILES)
    copies = [QEDM.load(model_dir) for _ in range(max(1, replicas))]
    first = copies[0]
    if first.is_image_model:
        raise ConfigError(f"model {name!r} is an image model; qedm serve serves table models only")
    served = ServedModel(name, model_dir, describe(first, run_dir, model_dir), first.condition_name, first.classes)
    for copy in copies:
        copy.sample(2, seed=0)  # compiles the kernels and fills the caches before the first request
        served.replicas.put(copy)
    return served


def describe(model: QEDM, run_dir: Path, model_dir: Path) -> dict[str, Any]:
    """Columns, their kinds, the condition and a card summary (card.json if present, else the config)."""
    kinds = {spec["name"]: spec["kind"] for spec in model.transformer.columns_}
    if model.condition_name is not None:
        kinds[model.condition_name] = "condition"
    columns = model.columns or list(kinds)
    info: dict[str, Any] = {
        "columns": columns, "kinds": {c: kinds.get(c, "unknown") for c in columns},
        "condition": None if model.condition_name is None else {
            "column": model.condition_name, "classes": model.classes},
    }
    card = _read_card(run_dir, model_dir)
    if card is not None:
        info["card"] = {"source": CARD_FILE, **card}
    else:
        config = model.config.to_dict()
        info["card"] = {"source": "config.json", **{k: config[k] for k in _SUMMARY_KEYS if k in config},
                        "n_columns": len(columns)}
    return info


def _read_card(run_dir: Path, model_dir: Path) -> dict[str, Any] | None:
    """The card's scalar fields (nested sections are left to the card's own renderers)."""
    for folder in (model_dir, run_dir):
        path = folder / CARD_FILE
        if path.is_file():
            try:
                card = json.loads(path.read_text())
            except ValueError as exc:
                raise QEDMError(f"{path} is not valid JSON: {exc}") from None
            if not isinstance(card, dict):
                raise QEDMError(f"{path} must hold a JSON object")
            return {k: v for k, v in card.items() if isinstance(v, (str, int, float, bool)) or v is None}
    return None
