"""SDV's GaussianCopula, CTGAN and TVAE behind qedm's fit/sample protocol (extra `qedm[sdv]`)."""

from __future__ import annotations

import random
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from qedm.data.temporal import fit_temporal, from_seconds, temporal_kind, to_seconds
from qedm.errors import ConfigError, DataError, require

SDV_CLASSES = {
    "gaussian_copula": "GaussianCopulaSynthesizer",
    "ctgan": "CTGANSynthesizer",
    "tvae": "TVAESynthesizer",
}
TABLE_NAME = "table"


class SDVModel:
    """One SDV single-table synthesizer: `fit(df)`, then `sample(n, seed)`.

    `epochs`/`batch_size` apply to CTGAN and TVAE only (None: SDV's defaults, 300 epochs).
    Fitting is seeded by seeding torch/numpy/random around `fit` (SDV has no seed argument)
    and sampling through SDV's random-state hook, so the same seed gives the same rows.
    SDV models datetimes itself but rejects timedeltas: those go in as float seconds and
    come back as timedeltas rounded to the training resolution.
    """

    def __init__(self, kind: str, seed: int = 0, epochs: int | None = None,
                 batch_size: int | None = None) -> None:
        if kind not in SDV_CLASSES:
            raise ConfigError(f"SDV model {kind!r} is not one of: {', '.join(SDV_CLASSES)}")
        if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
            raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
        self.name = kind
        self.seed = seed
        self.epochs = epochs
        self.batch_size = batch_size
        self.history: list[dict] = []
        self._synth = None
        self._columns: list[str] = []
        self._timedeltas: dict[str, dict] = {}  # column -> spec for temporal.from_seconds

    def fit(self, data: pd.DataFrame) -> "SDVModel":
        """Detect the metadata from `data`, then fit the SDV synthesizer on it."""
        require("sdv", "sdv")
        if not isinstance(data, pd.DataFrame) or data.empty:
            raise DataError("SDV baselines need a non-empty pandas DataFrame to fit")
        import sdv.single_table

        frame = data.copy()
        frame.columns = [str(c) for c in frame.columns]
        self._columns = list(data.columns)
        self._timedeltas = {}
        for column in frame.columns:
            if temporal_kind(frame[column].dtype) == "timedelta":
                self._timedeltas[column] = {"kind": "timedelta", **fit_temporal(frame[column])}
                frame[column] = to_seconds(frame[column])
        metadata = _detect_metadata(frame)
        cls = getattr(sdv.single_table, SDV_CLASSES[self.name])
        with warnings.catch_warnings():  # metadata is re-detected from the data on every fit, never reused
            warnings.filterwarnings("ignore", message=".*saving the metadata.*", category=UserWarning)
            self._synth = cls(metadata, **self._model_kwargs(len(frame)))
        with _seeded(self.seed):
            self._synth.fit(_wrap(frame))
        self.history = _loss_history(self._synth)
        return self

    def _model_kwargs(self, n_rows: int) -> dict[str, Any]:
        if self.name == "gaussian_copula":
            return {}
        kwargs: dict[str, Any] = {"enable_gpu": False}
        if self.epochs is not None:
            kwargs["epochs"] = self.epochs
        # CTGAN needs batch_size divisible by pac (10) and even; both need it <= rows to train.
        batch = self.batch_size or 500
        batch = max(10, min(batch, n_rows) // 10 * 10)
        kwargs["batch_size"] = batch
        if self.name == "ctgan":
            kwargs["pac"] = 10
        return kwargs

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame:
        """Draw `n` rows with the training columns; same seed, same rows."""
        if self._synth is None:
            raise DataError(f"{self.name} is not fitted yet: call fit(data) first")
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n must be a positive integer, got {n!r}")
        self._synth.reset_sampling()
        if hasattr(self._synth, "_set_random_state"):
            self._synth._set_random_state(int(seed))
        with _seeded(seed):
            out = self._synth.sample(int(n))
        frame = out[TABLE_NAME] if isinstance(out, dict) else out
        frame = frame.reset_index(drop=True)
        for column, spec in self._timedeltas.items():
            seconds = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            frame[column] = from_seconds(seconds, spec)
        frame.columns = self._columns
        return frame

    def parameter_counts(self) -> dict[str, int]:
        """Trainable weights of the neural models (CTGAN: generator + critic; TVAE: both halves)."""
        model = getattr(self._synth, "_model", None)
        modules = [getattr(model, a, None) for a in ("_generator", "_discriminator", "encoder", "decoder")]
        modules = [m for m in modules if m is not None and hasattr(m, "parameters")]
        if not modules:
            return {}
        total = sum(p.numel() for m in modules for p in m.parameters())
        return {"classical": int(total), "quantum": 0, "total": int(total)}

    def resources(self) -> dict[str, Any]:
        return {}


def _detect_metadata(frame: pd.DataFrame):
    """SingleTableMetadata in SDV 1.x, Metadata (one table) in SDV 2.x; no keys inferred."""
    import sdv.metadata

    if hasattr(sdv.metadata, "SingleTableMetadata"):
        metadata = sdv.metadata.SingleTableMetadata()
        metadata.detect_from_dataframe(frame)
        if getattr(metadata, "primary_key", None):
            metadata.remove_primary_key()
        return metadata
    return sdv.metadata.Metadata.detect_from_dataframes({TABLE_NAME: frame}, infer_keys=None)


def _wrap(frame: pd.DataFrame):
    """SDV 2.x fits on {table_name: frame}; 1.x on the frame itself."""
    import sdv.metadata

    return frame if hasattr(sdv.metadata, "SingleTableMetadata") else {TABLE_NAME: frame}


def _loss_history(synth) -> list[dict]:
    """Per-epoch mean loss from CTGAN/TVAE's `loss_values` (CTGAN: generator loss)."""
    model = getattr(synth, "_model", None)
    values = getattr(model, "loss_values", None)
    if not isinstance(values, pd.DataFrame) or values.empty or "Epoch" not in values:
        return []
    column = "Generator Loss" if "Generator Loss" in values else "Loss"
    if column not in values:
        return []
    per_epoch = values.groupby("Epoch")[column].mean()
    return [{"epoch": int(e) + 1, "loss": float(v)} for e, v in per_epoch.items()]


@contextmanager
def _seeded(seed: int):
    """Seed the global RNGs SDV draws from, and restore them afterwards."""
    import torch

    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
