"""Run directories: what `qedm fit` writes and `qedm sample` reads.

A run directory holds `config.json` (the resolved config), `metrics.jsonl` (one line per
epoch), `checkpoint.pt` (for resuming), `model/` (the saved QEDM) and `samples.csv`.
Every file is written atomically; a run that fails on bad input leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from qedm.atomic import atomic_write, atomic_write_csv, atomic_write_text
from qedm.conditions import Condition, RejectionStats, parse_condition
from qedm.config import QEDMConfig, read_config_file
from qedm.distributed import is_main_process
from qedm.errors import ConfigError, DataError, QEDMError
from qedm.gradient_health import gradient_warning
from qedm.synthesizer import QEDM

RUN_FILES = ("config.json", "metrics.jsonl", "checkpoint.pt", "samples.csv", "samples.npy", "card.json", "card.md")


@dataclass
class TrainingData:
    """A table (DataFrame) or images ([N, H, W] with optional labels [N]), and where it came from."""

    data: pd.DataFrame | np.ndarray
    labels: np.ndarray | None
    source: str
    column_kinds: dict[str, str] = field(default_factory=dict)  # a bundled dataset's kinds (smiles)
    fit_defaults: dict[str, Any] = field(default_factory=dict)  # a bundled dataset's config values (moses: hidden)

    @property
    def shape_text(self) -> str:
        if isinstance(self.data, pd.DataFrame):
            return f"{len(self.data)} rows x {self.data.shape[1]} columns"
        return f"{len(self.data)} images of {self.data.shape[1]}x{self.data.shape[2]}"


def load_training_data(path: Path | None, dataset: str | None) -> TrainingData:
    """What to fit: a table file or a bundled dataset (exactly one); image datasets come with labels."""
    if (path is None) == (dataset is None):
        raise ConfigError("give either a DATA file or --dataset NAME (see `qedm datasets`), not both")
    if dataset is not None:
        from qedm.data.datasets import dataset_info, load_dataset, load_digits_images

        if dataset_info(dataset).kind == "image":
            images, labels = load_digits_images()
            return TrainingData(images, labels, f"dataset {dataset}")
        info = dataset_info(dataset)
        return TrainingData(load_dataset(dataset), None, f"dataset {dataset}", dict(info.column_kinds),
                            dict(info.fit_defaults))
    from qedm.data.io import read_table
    from qedm.data.validation import validate_table

    # Validate before anything is printed or written; fit validates again (cheap) for API users.
    return TrainingData(validate_table(read_table(path)), None, str(path))


def resolve_config(config_file: Path | None, defaults: dict[str, Any] | None = None, **overrides: Any) -> QEDMConfig:
    """QEDMConfig's defaults, then `defaults` (a dataset's), the config file, command-line values (None = not given).

    The file's values and the command line's are merged before the config is built, so the
    file's denoiser settings apply to the denoiser the command line names.
    """
    values = dict(defaults or {})
    values.update(read_config_file(config_file) if config_file is not None else {})
    values.update({key: value for key, value in overrides.items() if value is not None})
    return QEDMConfig.from_dict(values)


def fit_run(
    training: TrainingData,
    config: QEDMConfig,
    run_dir: str | Path,
    *,
    on_epoch=None,
    fresh: bool = False,
) -> dict[str, Any]:
    """Fit (or resume) a run in `run_dir`, then save the model and one set of samples."""
    run_dir = Path(run_dir)
    if training.column_kinds:  # the dataset's kinds (a SMILES column), unless the config overrides them
        config = config.updated(column_kinds={**training.column_kinds, **config.column_kinds})
    existed = run_dir.exists() and any(run_dir.iterdir())
    if existed and fresh:
        _clear_run(run_dir)
        existed = False
    elif existed:
        _check_same_config(run_dir, config)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", json.dumps(
            {**config.to_dict(), "source": training.source}, indent=2, sort_keys=True))
        model = QEDM(config).fit(training.data, labels=training.labels, run_dir=run_dir,
                                 on_epoch=on_epoch)
    except QEDMError:
        if not existed:
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing half-written on bad input
        raise
    summary = {"fit_seconds": model.fit_seconds, "parameters": model.parameter_counts(),
               "epochs": len(model.history), "latent": config.resolved_latent,
               "reconstruction_error": model.reconstruction_error(),
               "gradient_warning": gradient_warning(model.history),
               "privacy": None if model.privacy is None else model.privacy.text()}
    if not is_main_process():  # data-parallel training: rank 0 writes the model and samples
        return summary
    model.save(run_dir / "model")
    from qedm.privacy.card import build_card, write_card

    write_card(build_card(model, training.data, source=training.source, run_dir=run_dir), run_dir)
    samples = model.sample(len(training.data), seed=config.seed)
    if model.is_image_model:
        atomic_write(run_dir / "samples.npy", lambda tmp: _save_npy(tmp, samples))
    else:
        atomic_write_csv(samples, run_dir / "samples.csv")
    _write_device_provenance(model, run_dir / "provenance.json")
    return summary


def _check_same_config(run_dir: Path, config: QEDMConfig) -> None:
    path = run_dir / "config.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir} exists and is not a qedm run directory; choose another --out")
    saved = json.loads(path.read_text())
    saved.pop("source", None)
    defaults = QEDMConfig().to_dict()  # keys a config written before them lacks held their defaults
    changed = {k: (saved.get(k, defaults.get(k)), v) for k, v in config.to_dict().items()
               if saved.get(k, defaults.get(k)) != v and k not in ("epochs", "checkpoint_every")}
    if changed:
        listed = ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items()))
        raise ConfigError(f"{run_dir} holds a run with another config ({listed}); "
                          "pass --fresh to start over or choose another --out")


def _clear_run(run_dir: Path) -> None:
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "model", ignore_errors=True)


def load_run_model(run_dir: str | Path) -> QEDM:
    """The model of a run directory (or a model directory itself)."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise QEDMError(f"run directory not found: {run_dir}")
    model_dir = run_dir / "model" if (run_dir / "model").is_dir() else run_dir
    return QEDM.load(model_dir)


def parse_conditions(items: list[str]) -> list[Condition]:
    """Turn ["target=1", "age>=60", ...] into Conditions; errors name the bad item."""
    return [parse_condition(item) for item in items]


def sample_run(
    run_dir: str | Path,
    n: int,
    output: str | Path,
    *,
    sampler: str | None = None,
    steps: int | None = None,
    seed: int | None = None,
    conditions: dict[str, str] | list | None = None,
    grid: str | Path | None = None,
    progress=None,
    max_tries: int = 100,
    on_rejection: Callable[[RejectionStats], None] | None = None,
    watermark_key: str | None = None,
    device: str | None = None,
    shots: int | None = None,
    mitigation: str = "none",
) -> list[Path]:
    """Sample `n` rows (or images) from a run and write them; returns the paths written.

    Tables go to .csv/.tsv/.parquet; images to .npy ([n, H, W] on the input's scale) and,
    with `grid`, a PNG grid of them. Conditions the model was not fitted for are met by
    rejection sampling (at most max_tries * n candidates); `on_rejection` then gets its stats.
    With `device` (e.g. "fake_nairobi") every circuit runs on that device backend with `shots`
    and `mitigation`; its provenance goes to OUTPUT.provenance.json.
    """
    output = Path(output)
    model = load_run_model(run_dir)
    attached = None
    if device is not None:
        from qedm.quantum.device_run import attach_device

        attached = attach_device(model.denoiser, device, shots, mitigation, seed=0 if seed is None else seed)
    elif shots is not None or mitigation != "none":
        raise ConfigError("--shots and --mitigation need --backend DEVICE")
    if model.is_image_model:
        if output.suffix.lower() != ".npy":
            raise DataError(f"cannot write images to {output}: use a .npy file name")
    else:
        if grid is not None:
            raise ConfigError("--grid is for image runs; this run holds a table model")
        writer = _table_writer(output)
    if watermark_key is not None:
        from qedm.privacy.watermark import CANDIDATES, check_key, select_marked

        check_key(watermark_key)
        if model.is_image_model:
            raise ConfigError("--watermark-key is for table runs; this run holds an image model")
    draw = n if watermark_key is None else CANDIDATES * n
    samples, labels = model.sample(draw, sampler=sampler, steps=steps, seed=seed, conditions=conditions,
                                   progress=progress, return_labels=True, max_tries=max_tries)
    if model.last_rejection is not None and on_rejection is not None:
        on_rejection(model.last_rejection)
    if watermark_key is not None:
        samples = select_marked(samples, model.transformer, watermark_key, n)
    if not model.is_image_model:
        atomic_write(output, lambda tmp: writer(samples, tmp))
        if attached is not None:
            from qedm.quantum.device_run import attached_provenance
            from qedm.quantum.provenance import write_provenance

            return [output, write_provenance(Path(f"{output}.provenance.json"), attached_provenance(attached))]
        return [output]
    atomic_write(output, lambda tmp: _save_npy(tmp, samples))
    written = [output]
    if grid is not None:
        from qedm.report.image_grid import save_image_grid

        save_image_grid(samples, grid, labels=labels)
        written.append(Path(grid))
    return written


def _write_device_provenance(model, path: Path) -> None:
    """Noise-aware training: the device provenance of every circuit (nothing for simulator backends)."""
    from qedm.quantum.backends.device import DeviceBackend
    from qedm.quantum.circuits import VQC

    if model.denoiser is None:
        return
    attached = [(m, m.backend) for m in model.denoiser.modules()
                if isinstance(m, VQC) and isinstance(m.backend, DeviceBackend)]
    if attached:
        from qedm.quantum.device_run import attached_provenance
        from qedm.quantum.provenance import write_provenance

        write_provenance(path, attached_provenance(attached))


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.asarray(array, dtype=np.float32))


def _table_writer(output: Path):
    suffix = output.suffix.lower()
    if suffix == ".csv":
        return lambda frame, tmp: frame.to_csv(tmp, index=False)
    if suffix == ".tsv":
        return lambda frame, tmp: frame.to_csv(tmp, index=False, sep="\t")
    if suffix == ".parquet":
        return lambda frame, tmp: frame.to_parquet(tmp, index=False)
    raise DataError(f"cannot write {output}: use a .csv, .tsv or .parquet file name")
