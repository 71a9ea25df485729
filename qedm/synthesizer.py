"""QEDM: fit a diffusion model (classical, hybrid or quantum denoiser) on a table, then sample it.

Glue only: the table transform, latent, schedule, denoiser, training loop and samplers each
live in their own module; this class wires them in order and saves what is needed to rebuild
them (weights plus JSON, no pickled code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from qedm import __version__
from qedm.atomic import atomic_torch_save, atomic_write_text
from qedm.config import QEDMConfig
from qedm.data.condition import ValueCondition, is_continuous, null_condition
from qedm.data.images import ImageTransformer
from qedm.data.latent import latent_from_dict, make_latent
from qedm.data.table import TableTransformer
from qedm.diffusion.clipping import clip_denoised
from qedm.diffusion.noise import make_noise_source
from qedm.diffusion.samplers import sample as run_sampler
from qedm.diffusion.schedules import make_schedule
from qedm.errors import ConfigError, DataError, QEDMError
from qedm.models.registry import build_denoiser
from qedm.training import torch_threads, train_denoiser

MODEL_FILES = ("config.json", "transform.json", "latent.json", "weights.pt", "meta.json")


class QEDM:
    """A quantum-enhanced diffusion model for tables: `fit(df)`, then `sample(n)`.

    >>> model = QEDM(denoiser="hybrid", n_qubits=6, epochs=100).fit(df)
    >>> synthetic = model.sample(500, seed=1)
    """

    def __init__(self, config: QEDMConfig | None = None, **overrides: Any) -> None:
        base = config or QEDMConfig()
        self.config = base.updated(**overrides) if overrides else base
        self.transformer: TableTransformer | None = None
        self.latent = None
        self.denoiser: torch.nn.Module | None = None
        self.schedule = None
        self.history: list[dict] = []
        self.fit_seconds: float = 0.0
        self.classes: list | None = None  # condition column's categories, in label order
        self.class_priors: list[float] | None = None
        self.class_dtype: str | None = None
        self.condition_name: str | None = None  # the condition column, or "label" for images
        self.value_condition: ValueCondition | None = None  # set when the condition is continuous
        self.columns: list[str] = []
        self.data_low: torch.Tensor | None = None  # per-feature range of the diffused data,
        self.data_high: torch.Tensor | None = None  # used to keep x0 predictions in range

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        data: pd.DataFrame | np.ndarray,
        *,
        labels=None,
        run_dir: str | Path | None = None,
        on_epoch=None,
    ) -> "QEDM":
        """Learn the distribution of a table (DataFrame) or of images (array [N, H, W]).

        Tables are conditioned on `config.condition_column`; images on `labels: [N]` if given.
        With `run_dir`, checkpoints go there and an interrupted fit resumes from them.
        """
        cfg = self.config
        torch.manual_seed(cfg.seed)
        if _is_images(data):
            features, label_values, self.condition_name = data, labels, "label"
            self.transformer = ImageTransformer().fit(data)
        else:
            features, label_values = self._split_condition(data)
            self.columns = list(data.columns)
            self.transformer = TableTransformer(column_kinds=cfg.column_kinds or None).fit(features)
        label_tensor = self._fit_labels(label_values)
        matrix = self.transformer.transform(features)
        self.latent = make_latent(cfg.resolved_latent, self._latent_dim(matrix.shape[1]), seed=cfg.seed)
        self.latent.fit(matrix)
        latent_rows = torch.as_tensor(self.latent.encode(matrix), dtype=torch.float32)
        self.data_low, self.data_high = latent_rows.min(0).values, latent_rows.max(0).values
        self.schedule = make_schedule(cfg.schedule, cfg.n_steps)
        self.denoiser = self.build_denoiser(latent_rows.shape[1])

        checkpoint = metrics = None
        if run_dir is not None:
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            checkpoint, metrics = run_dir / "checkpoint.pt", run_dir / "metrics.jsonl"
        with torch_threads(cfg.threads):
            state = train_denoiser(
                self.denoiser, latent_rows, self.schedule,
                epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                weight_decay=cfg.weight_decay, seed=cfg.seed, noise=cfg.noise, labels=label_tensor,
                checkpoint_path=checkpoint, checkpoint_every=cfg.checkpoint_every,
                metrics_path=metrics, on_epoch=on_epoch,
            )
        self.history = state.history
        self.fit_seconds = state.seconds
        return self

    @property
    def is_image_model(self) -> bool:
        return getattr(self.transformer, "kind", "table") == "image"

    def _latent_dim(self, width: int) -> int:
        cfg = self.config
        if cfg.resolved_latent == "none":
            return width
        dim = cfg.latent_dim or cfg.n_qubits
        if dim > width:
            raise ConfigError(f"latent_dim={dim} exceeds the transformed table width {width}")
        return dim

    def _split_condition(self, data: pd.DataFrame):
        """The table without its condition column, and that column's values (None if unset)."""
        column = self.config.condition_column
        if column is None:
            return data, None
        if not isinstance(data, pd.DataFrame) or column not in data.columns:
            raise DataError(f"condition_column {column!r} is not a column of the table")
        self.condition_name = column
        return data.drop(columns=[column]), data[column]

    def _fit_labels(self, values) -> torch.Tensor | None:
        """Class indices [N] of the condition values; remembers classes and their frequencies."""
        if values is None:
            return None
        if isinstance(values, pd.Series) and is_continuous(values, self.config.condition_kind):
            self.value_condition = ValueCondition.fit(self.condition_name, values)
            return self.value_condition.encode(values)
        values = pd.Series(np.asarray(values))
        if values.isna().any():
            raise DataError(f"condition {self.condition_name!r} has missing values; fill or drop them first")
        self.classes = sorted(values.unique().tolist(), key=str)
        lookup = {value: index for index, value in enumerate(self.classes)}
        labels = torch.tensor([lookup[v] for v in values], dtype=torch.long)
        self.class_priors = (torch.bincount(labels, minlength=len(self.classes)) / len(labels)).tolist()
        self.class_dtype = str(values.dtype)
        return labels

    def build_denoiser(self, data_dim: int) -> torch.nn.Module:
        """A fresh, untrained denoiser of this config for data of width `data_dim`."""
        cfg = self.config
        kwargs: dict[str, Any] = {"seed": cfg.seed}
        if cfg.denoiser == "quantum_dense":
            # Its own circuit (amplitude encoding, entangling blocks); the schedule preconditions it.
            kwargs.update(n_layers=cfg.resolved_n_layers, n_steps=cfg.n_steps, schedule=self.schedule)
        else:
            kwargs.update(hidden=cfg.hidden, time_dim=cfg.time_dim)
        if cfg.denoiser == "classical":
            kwargs["n_blocks"] = cfg.n_blocks
        elif cfg.denoiser in ("hybrid", "quantum"):
            kwargs.update(n_qubits=cfg.n_qubits, n_layers=cfg.resolved_n_layers,
                          encoding=cfg.resolved_encoding, entangler=cfg.entangler,
                          observables=cfg.observables, diff_method=cfg.diff_method,
                          shots=cfg.shots)
        if self.classes is not None:
            kwargs["n_classes"] = len(self.classes)
        if self.value_condition is not None:
            if cfg.denoiser == "quantum_dense":
                raise ConfigError("denoiser 'quantum_dense' takes class labels only, not the continuous "
                                  f"condition {self.condition_name!r}")
            kwargs["continuous_condition"] = True
        return build_denoiser(cfg.denoiser, data_dim, **kwargs)

    # --------------------------------------------------------------- sample
    def sample(
        self,
        n: int,
        *,
        sampler: str | None = None,
        steps: int | None = None,
        seed: int | None = None,
        conditions: dict[str, Any] | None = None,
        guidance_scale: float | None = None,
        progress=None,
        return_labels: bool = False,
    ) -> pd.DataFrame | np.ndarray:
        """Draw `n` synthetic rows (original columns and dtypes) or images [n, H, W].

        Same seed, same samples. `conditions={column: value}` asks for one class (for images
        the condition is called "label"); `return_labels=True` also returns the class of each.
        """
        self._require_fitted()
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n must be a positive integer, got {n!r}")
        cfg = self.config.updated(sampler=sampler, sample_steps=steps)
        seed = cfg.seed if seed is None else seed
        labels = self._condition_labels(n, conditions, seed)
        scale = cfg.guidance_scale if guidance_scale is None else guidance_scale
        eps_fn = clip_denoised(self._eps_fn(labels, scale), self.schedule, self.data_low, self.data_high)
        noise = make_noise_source(cfg.noise, seed)
        dim = self._data_dim()
        with torch.no_grad(), torch_threads(cfg.threads):
            rows = run_sampler(eps_fn, self.schedule, n, dim, sampler=cfg.sampler,
                               steps=cfg.sample_steps, generator=noise, progress=progress)
        matrix = self.latent.decode(rows.cpu().numpy())
        samples = self.transformer.inverse_transform(matrix)
        classes = None
        if labels is not None and self.value_condition is not None:
            classes = pd.Series(self.value_condition.decode(labels))
        elif labels is not None:
            classes = pd.Series([self.classes[i] for i in labels.tolist()]).astype(self.class_dtype)
        if classes is not None and not self.is_image_model:
            column = self.condition_name
            samples.insert(self.columns.index(column), column, classes)
        if return_labels:
            return samples, None if classes is None else classes.to_numpy()
        return samples

    def _condition_labels(self, n: int, conditions: dict[str, Any] | None, seed: int) -> torch.Tensor | None:
        """Class labels to generate: the requested class, or draws from the training frequencies."""
        if self.value_condition is not None:
            return self._condition_values(n, conditions, seed)
        column = self.condition_name if self.classes is not None else None
        if conditions:
            unknown = [c for c in conditions if c != column]
            if unknown:
                trained = f"conditioned on {column!r}" if column else "without a condition"
                raise ConfigError(
                    f"cannot condition on {', '.join(map(str, unknown))}: this model was trained {trained}"
                )
            value = _match_class(conditions[column], self.classes, column)
            return torch.full((n,), self.classes.index(value), dtype=torch.long)
        if self.classes is None:
            return None
        generator = torch.Generator().manual_seed(seed + 7919)
        priors = torch.tensor(self.class_priors, dtype=torch.float64)
        return torch.multinomial(priors, n, replacement=True, generator=generator)

    def _condition_values(self, n: int, conditions: dict[str, Any] | None, seed: int) -> torch.Tensor:
        """Standardised values [n] of a continuous condition: the requested one (any finite value,
        also one never trained on), or draws from the training values at their frequencies."""
        condition = self.value_condition
        if conditions:
            unknown = [c for c in conditions if c != condition.column]
            if unknown:
                raise ConfigError(f"cannot condition on {', '.join(map(str, unknown))}: "
                                  f"this model was trained conditioned on {condition.column!r}")
            return condition.encode(np.full(n, condition.parse(conditions[condition.column])))
        return condition.draw(n, torch.Generator().manual_seed(seed + 7919))

    def _eps_fn(self, labels: torch.Tensor | None, scale: float):
        """The noise prediction the samplers call; with labels, classifier-free guidance."""
        model = self.denoiser
        if labels is None:
            return lambda x, t: model(x, t)

        def guided(x, t):
            conditional = model(x, t, labels)
            if scale == 1.0:
                return conditional
            unconditional = model(x, t, null_condition(labels))
            return unconditional + scale * (conditional - unconditional)

        return guided

    def _data_dim(self) -> int:
        return int(self.latent.output_dim)

    # ------------------------------------------------------------ reporting
    def parameter_counts(self) -> dict[str, int]:
        self._require_fitted()
        return self.denoiser.parameter_counts()

    def resources(self, batch_size: int | None = None) -> dict[str, Any]:
        """Hybrid-efficiency figures of the circuit (empty for the classical denoiser)."""
        self._require_fitted()
        vqc = getattr(self.denoiser, "vqc", None)
        if vqc is None:
            return {}
        from qedm.quantum.resources import circuit_resources

        report = circuit_resources(vqc, batch_size=batch_size or self.config.batch_size)
        return report.to_dict()

    def reconstruction_error(self) -> float | None:
        """The latent's reconstruction MSE on the training matrix (None without a latent)."""
        return getattr(self.latent, "fitted_error", None)

    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> Path:
        """Write the model as JSON files plus one tensor file, each atomically."""
        self._require_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path / "config.json", self.config.dumps())
        transform = {"kind": getattr(self.transformer, "kind", "table"), **self.transformer.to_dict()}
        atomic_write_text(path / "transform.json", json.dumps(transform))
        atomic_write_text(path / "latent.json", json.dumps(self.latent.to_dict()))
        atomic_torch_save(self.denoiser.state_dict(), path / "weights.pt")
        meta = {"qedm_version": __version__, "data_dim": self._data_dim(), "history": self.history,
                "fit_seconds": self.fit_seconds, "classes": self.classes,
                "class_priors": self.class_priors, "class_dtype": self.class_dtype,
                "condition_name": self.condition_name, "columns": self.columns,
                "value_condition": None if self.value_condition is None else self.value_condition.to_dict(),
                "data_low": self.data_low.tolist(), "data_high": self.data_high.tolist()}
        atomic_write_text(path / "meta.json", json.dumps(meta, default=_json_default))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "QEDM":
        """Rebuild a saved model; errors name the missing or broken file."""
        path = Path(path)
        missing = [name for name in MODEL_FILES if not (path / name).is_file()]
        if missing:
            raise QEDMError(f"{path} is not a saved QEDM model: missing {', '.join(missing)}")
        model = cls(QEDMConfig.from_dict(json.loads((path / "config.json").read_text())))
        meta = json.loads((path / "meta.json").read_text())
        transform = json.loads((path / "transform.json").read_text())
        kind = transform.pop("kind", "table")
        model.transformer = (ImageTransformer if kind == "image" else TableTransformer).from_dict(transform)
        model.latent = latent_from_dict(json.loads((path / "latent.json").read_text()))
        model.classes = meta.get("classes")
        model.class_priors = meta.get("class_priors")
        model.class_dtype = meta.get("class_dtype")
        model.condition_name = meta.get("condition_name")
        if meta.get("value_condition") is not None:
            model.value_condition = ValueCondition.from_dict(meta["value_condition"])
        model.columns = meta.get("columns", [])
        model.data_low = torch.tensor(meta["data_low"])
        model.data_high = torch.tensor(meta["data_high"])
        model.history = meta.get("history", [])
        model.fit_seconds = meta.get("fit_seconds", 0.0)
        model.schedule = make_schedule(model.config.schedule, model.config.n_steps)
        model.denoiser = model.build_denoiser(meta["data_dim"])
        state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
        model.denoiser.load_state_dict(state)
        model.denoiser.eval()
        return model

    def _require_fitted(self) -> None:
        if self.denoiser is None:
            raise QEDMError("this QEDM is not fitted yet: call fit(data) or QEDM.load(path) first")


def _is_images(data) -> bool:
    """Images are arrays [N, H, W]; everything else is treated as a table."""
    return isinstance(data, np.ndarray) and data.ndim == 3


def _match_class(value: Any, classes: list, column: str) -> Any:
    """Find the class equal to `value`, comparing as text too (CLI values arrive as strings)."""
    for candidate in classes:
        if candidate == value or str(candidate) == str(value):
            return candidate
    raise ConfigError(f"{column}={value!r} is not a class of the condition column; classes: {classes}")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
