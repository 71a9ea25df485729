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
from qedm.choices import positive_int
from qedm.conditions import Condition, as_conditions, rejection_sample
from qedm.config import TABLE_CLASS_GUIDANCE, QEDMConfig
from qedm.data.condition import ValueCondition, is_continuous, null_condition
from qedm.data.images import ImageTransformer
from qedm.data.latent import latent_from_dict, make_latent
from qedm.data.table import TableTransformer
from qedm.diffusion.noise import make_noise_source
from qedm.diffusion.samplers import sample as run_sampler
from qedm.diffusion.schedules import make_schedule
from qedm.errors import ConfigError, DataError, QEDMError
from qedm.integrity import write_manifest
from qedm.models.registry import build_denoiser
from qedm.scaling import scaled_batch_size, training_length
from qedm.training import torch_threads, train_denoiser

DEFAULT_LATENT_DIM = 6  # a latent's width when neither latent_dim nor a circuit's n_qubits sets it
MODEL_FILES = ("config.json", "transform.json", "latent.json", "weights.pt", "meta.json")


class QEDM:
    """A quantum-enhanced diffusion model for tables: `fit(df)`, then `sample(n)`.

    >>> model = QEDM(denoiser="hybrid", n_qubits=6, epochs=100).fit(df)
    >>> synthetic = model.sample(500, seed=1)
    """

    def __init__(self, config: QEDMConfig | None = None, **overrides: Any) -> None:
        base = config or QEDMConfig()
        self.config = base.updated(**overrides) if overrides else base
        self._reset_fitted()

    def _reset_fitted(self) -> None:
        """Forget everything `fit` learns (scikit-learn's rule: each fit starts from scratch)."""
        self.transformer: TableTransformer | ImageTransformer | None = None
        self.latent = None
        self.denoiser: torch.nn.Module | None = None
        self.schedule = None
        self.history: list[dict] = []
        self.fit_seconds: float = 0.0
        self.epochs: int | None = None  # the epochs and batch size fit used (config's, or scaled with rows)
        self.batch_size: int | None = None
        self.classes: list | None = None  # condition column's categories, in label order
        self.class_priors: list[float] | None = None
        self.class_dtype: str | None = None
        self.condition_name: str | None = None  # the condition column, or "label" for images
        self.value_condition: ValueCondition | None = None  # set when the condition is continuous
        self.columns: list[str] = []
        self.data_low: torch.Tensor | None = None  # per-feature range of the diffused data,
        self.data_high: torch.Tensor | None = None  # used to keep x0 predictions in range
        self.last_rejection = None  # RejectionStats of the last sample() that rejection-sampled
        self.privacy = None  # qedm.privacy.accounting.PrivacyGuarantee of a DP fit, else None

    @property
    def device(self) -> torch.device:
        """Where the denoiser's weights live and sampling runs (config.device)."""
        return torch.device(self.config.device)

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
        self._reset_fitted()
        if cfg.dp_epsilon is not None:  # DP-SGD and a DP transform, under one budget
            from qedm.privacy.fit import fit_private

            return fit_private(self, data, run_dir=run_dir, on_epoch=on_epoch)
        device = resolve_device(cfg.device)
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
        self.denoiser = self.build_denoiser(latent_rows.shape[1]).to(device)
        self.epochs, self.batch_size = training_length(cfg.epochs, cfg.batch_size, len(latent_rows))
        latent_rows = latent_rows.to(device)
        label_tensor = None if label_tensor is None else label_tensor.to(device)

        checkpoint = metrics = None
        if run_dir is not None:
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            checkpoint, metrics = run_dir / "checkpoint.pt", run_dir / "metrics.jsonl"
        with torch_threads(cfg.threads):
            state = train_denoiser(
                self.denoiser, latent_rows, self.schedule,
                epochs=self.epochs, batch_size=self.batch_size, lr=cfg.lr,
                weight_decay=cfg.weight_decay, ema_decay=cfg.ema_decay,
                seed=cfg.seed, noise=cfg.noise, labels=label_tensor,
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
        dim = cfg.latent_dim or getattr(cfg.denoiser_config, "n_qubits", DEFAULT_LATENT_DIM)
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
        supplied: dict[str, Any] = {"seed": cfg.seed}
        if cfg.denoiser == "quantum_dense":
            # Its own circuit (amplitude encoding, entangling blocks); the schedule preconditions it.
            supplied.update(n_steps=cfg.n_steps, schedule=self.schedule)
        if self.classes is not None:
            supplied["n_classes"] = len(self.classes)
        if self.value_condition is not None:
            if cfg.denoiser == "quantum_dense":
                raise ConfigError("denoiser 'quantum_dense' takes class labels only, not the continuous "
                                  f"condition {self.condition_name!r}")
            supplied["continuous_condition"] = True
        return build_denoiser(cfg.denoiser, data_dim, cfg.denoiser_config, **supplied)

    # --------------------------------------------------------------- sample
    def sample(
        self,
        n: int,
        *,
        sampler: str | None = None,
        steps: int | None = None,
        seed: int | None = None,
        conditions: dict[str, Any] | list | None = None,
        guidance_scale: float | None = None,
        progress=None,
        return_labels: bool = False,
        max_tries: int = 100,
    ) -> pd.DataFrame | np.ndarray:
        """Draw `n` synthetic rows (original columns and dtypes) or images [n, H, W].

        Same seed, same samples. `conditions` is {column: value} or a list such as
        ["age>=60", "smoker=yes"] (also <=, >, <, ==, !=). A class of the column the model was
        fitted for (`condition_column`; "label" for images) is generated directly by guidance;
        any other condition on a table is met by rejection sampling: candidate rows are drawn
        until `n` satisfy every condition, at most `max_tries * n` of them, and
        `last_rejection` (RejectionStats: drawn, accepted, acceptance_rate) tells how it went
        (None when nothing was rejection-sampled). `return_labels=True` also returns the class of each.
        """
        self._require_fitted()
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n must be a positive integer, got {n!r}")
        positive_int("max_tries", max_tries)
        cfg = self.config.updated(sampler=sampler, sample_steps=steps)
        seed = cfg.seed if seed is None else seed
        guided, rejected = self._split_conditions(as_conditions(conditions))
        self.last_rejection = None
        if not rejected:
            return self._draw(n, cfg, seed, guided, guidance_scale, progress, return_labels)

        def draw(size: int, round_index: int) -> pd.DataFrame:
            return self._draw(size, cfg, seed + 104_729 * round_index, guided, guidance_scale, progress, False)

        samples, self.last_rejection = rejection_sample(draw, int(n), rejected, max_candidates=max_tries * int(n))
        if return_labels:
            conditioned = self.classes is not None or self.value_condition is not None
            labels = samples[self.condition_name].to_numpy() if conditioned else None
            return samples, labels
        return samples

    def _split_conditions(self, conditions: list[Condition]) -> tuple[Any, list[Condition]]:
        """(the class or continuous value to guide towards, or None; the conditions left to rejection sampling)."""
        guided, rejected = None, []
        trained = self.condition_name if self.classes is not None or self.value_condition is not None else None
        for condition in conditions:
            if condition.column == trained and condition.is_equality and guided is None:
                if self.value_condition is not None:  # any finite value, also one never trained on
                    guided = self.value_condition.parse(condition.value)
                else:
                    guided = _match_class(condition.value, self.classes, trained)
            elif self.is_image_model:
                what = f"conditioned on {trained!r}" if trained else "without a condition"
                raise ConfigError(f"cannot condition on {condition}: this image model was trained {what}; "
                                  "images can only be conditioned on their class label")
            elif condition.column not in self.columns:
                raise ConfigError(f"cannot condition on {condition}: {condition.column!r} is not a column; "
                                  f"columns: {', '.join(map(str, self.columns))}")
            else:
                rejected.append(condition)
        return guided, rejected

    def _draw(self, n: int, cfg: QEDMConfig, seed: int, guided: Any, guidance_scale: float | None,
              progress, return_labels: bool):
        """n rows (or images) from the model, of class `guided` if not None: the sampler run itself."""
        labels = self._condition_labels(n, guided, seed)
        scale = guidance_scale if guidance_scale is not None else self._default_guidance(cfg)
        eps_fn = self._eps_fn(labels, scale)
        noise = make_noise_source(cfg.noise, seed)
        dim = self._data_dim()
        with torch.no_grad(), torch_threads(cfg.threads):
            rows = run_sampler(eps_fn, self.schedule, n, dim, sampler=cfg.sampler,
                               steps=cfg.sample_steps, generator=noise, progress=progress,
                               device=self.device, clip=(self.data_low, self.data_high))
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

    def _condition_labels(self, n: int, value: Any, seed: int) -> torch.Tensor | None:
        """Labels to generate [n]: the class (or continuous value) `value` if not None, else draws
        from the training frequencies (classes) or the training values (continuous)."""
        if self.value_condition is not None:
            condition, generator = self.value_condition, torch.Generator().manual_seed(seed + 7919)
            values = condition.draw(n, generator) if value is None else condition.encode(np.full(n, value))
            return values.to(self.device)
        if value is not None:
            return torch.full((n,), self.classes.index(value), dtype=torch.long, device=self.device)
        if self.classes is None:
            return None
        generator = torch.Generator().manual_seed(seed + 7919)
        priors = torch.tensor(self.class_priors, dtype=torch.float64)
        return torch.multinomial(priors, n, replacement=True, generator=generator).to(self.device)

    def _default_guidance(self, cfg: QEDMConfig) -> float:
        """The config's guidance scale, or (None) TABLE_CLASS_GUIDANCE for a table's class, else 1.0."""
        if cfg.guidance_scale is not None:
            return cfg.guidance_scale
        class_of_table = self.classes is not None and not self.is_image_model
        return TABLE_CLASS_GUIDANCE if class_of_table else 1.0

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

        report = circuit_resources(vqc, batch_size=batch_size or self.batch_size or self.config.batch_size
                                   or scaled_batch_size(0))
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
        # Weights are saved from the CPU, so a model fitted on a GPU loads on any machine.
        weights = {name: tensor.detach().cpu() for name, tensor in self.denoiser.state_dict().items()}
        atomic_torch_save(weights, path / "weights.pt")
        meta = {"qedm_version": __version__, "data_dim": self._data_dim(), "history": self.history,
                "fit_seconds": self.fit_seconds, "epochs": self.epochs, "batch_size": self.batch_size,
                "classes": self.classes,
                "class_priors": self.class_priors, "class_dtype": self.class_dtype,
                "condition_name": self.condition_name, "columns": self.columns,
                "value_condition": None if self.value_condition is None else self.value_condition.to_dict(),
                "data_low": self.data_low.cpu().tolist(), "data_high": self.data_high.cpu().tolist(),
                "privacy": None if self.privacy is None else self.privacy.to_dict(),
                "gaussian_prior": hasattr(self.denoiser, "gaussian_eps")}
        atomic_write_text(path / "meta.json", json.dumps(meta, default=_json_default))
        write_manifest(path, MODEL_FILES)  # sha256 of each file: `verify_manifest` refuses a changed one
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> "QEDM":
        """Rebuild a saved model; errors name the missing or broken file.

        `device=None` puts it where it was fitted when that device exists here, else on the
        CPU (a model fitted on a GPU loads on a CPU-only machine); a named device must exist.
        The saved `qedm_version` must match this qedm's major.minor version.
        """
        path = Path(path)
        missing = [name for name in MODEL_FILES if not (path / name).is_file()]
        if missing:
            raise QEDMError(f"{path} is not a saved QEDM model: missing {', '.join(missing)}")
        meta = json.loads((path / "meta.json").read_text())
        check_saved_version(meta.get("qedm_version"), path)
        config = QEDMConfig.from_dict(json.loads((path / "config.json").read_text()))
        if device is None:
            device = config.device if device_available(config.device) else "cpu"
        resolve_device(device)
        model = cls(config.updated(device=device))
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
        model.epochs, model.batch_size = meta.get("epochs"), meta.get("batch_size")
        if meta.get("privacy") is not None:
            from qedm.privacy.accounting import guarantee_from_dict

            model.privacy = guarantee_from_dict(meta["privacy"])
        model.schedule = make_schedule(model.config.schedule, model.config.n_steps)
        model.denoiser = model.build_denoiser(meta["data_dim"])
        if meta.get("gaussian_prior"):  # its mean, covariance and schedule come back with the weights
            from qedm.models.gaussian_prior import GaussianPriorDenoiser

            dim = meta["data_dim"]
            model.denoiser = GaussianPriorDenoiser(model.denoiser, torch.zeros(dim), torch.eye(dim),
                                                   model.schedule.alphas_cumprod)
        state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
        model.denoiser.load_state_dict(state)
        model.denoiser.to(model.device).eval()
        return model

    def _require_fitted(self) -> None:
        if self.denoiser is None:
            raise QEDMError("this QEDM is not fitted yet: call fit(data) or QEDM.load(path) first")


def device_available(device: str) -> bool:
    """Whether the torch device named `device` ("cpu", "cuda", "cuda:1", "mps") exists here."""
    kind = torch.device(device)
    if kind.type == "cuda":
        return torch.cuda.is_available() and (kind.index or 0) < torch.cuda.device_count()
    if kind.type == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return True


def resolve_device(device: str) -> torch.device:
    """The torch.device to fit or sample on; ConfigError naming `device` if this machine lacks it."""
    if not device_available(device):
        raise ConfigError(f"device={device!r} is not available on this machine "
                          "(torch sees no such device); use device='cpu'")
    return torch.device(device)


def check_saved_version(saved: str | None, path: Path) -> None:
    """Refuse a model saved by another major.minor version of qedm, saying what to do."""
    def release(version: str) -> tuple[str, ...]:
        return tuple(version.split(".")[:2])

    if saved is None or release(str(saved)) != release(__version__):
        raise QEDMError(
            f"{path} was saved with qedm {saved or 'of unknown version'}; this is qedm {__version__}, "
            f"whose saved format may differ: load it with that version (pip install 'qedm=={saved}') "
            "or fit and save the model again with this one"
        )


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
