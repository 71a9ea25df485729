"""The fit/sample protocol every benchmarked model follows, and `make_model(name, ...)`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from qedm.errors import ConfigError, QEDMError

QEDM_MODELS = ("hybrid", "quantum", "classical")
SDV_MODELS = ("gaussian_copula", "ctgan", "tvae")
MODEL_NAMES = QEDM_MODELS + SDV_MODELS


@runtime_checkable
class Synthesizer(Protocol):
    """A table generator: `fit(df)` learns, `sample(n, seed)` draws rows with df's columns."""

    name: str

    def fit(self, data: pd.DataFrame) -> "Synthesizer": ...

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame: ...


class QEDMModel:
    """A QEDM (hybrid, quantum or classical denoiser) behind the protocol.

    With `match_hybrid=True` (classical only) the hidden width is chosen at fit time so the
    denoiser's parameter count matches a hybrid denoiser of the same config on the same table;
    epochs, batch size and diffusion steps stay the same as the hybrid's.
    """

    def __init__(self, name: str, seed: int = 0, epochs: int | None = None,
                 batch_size: int | None = None, match_hybrid: bool = False,
                 on_epoch: Callable[[dict], None] | None = None, **overrides: Any) -> None:
        if name not in QEDM_MODELS:
            raise ConfigError(f"QEDM denoiser {name!r} is not one of: {', '.join(QEDM_MODELS)}")
        if match_hybrid and name != "classical":
            raise ConfigError("match_hybrid applies to the 'classical' denoiser only")
        self.name = name
        self.seed = seed
        self.match_hybrid = match_hybrid
        self.on_epoch = on_epoch
        self.overrides = {k: v for k, v in dict(overrides, epochs=epochs, batch_size=batch_size).items()
                          if v is not None}
        self.matched: dict[str, int] = {}
        self.model = None
        self._n_rows: int | None = None

    def fit(self, data: pd.DataFrame) -> "QEDMModel":
        """Build the QEDM (matching the hybrid's budget if asked) and train it on `data`."""
        from qedm.synthesizer import QEDM

        overrides = dict(self.overrides)
        if self.match_hybrid:
            hidden, target = matched_classical_hidden_for(data, seed=self.seed, **overrides)
            overrides = settings_for("classical", overrides)  # circuit settings shaped the hybrid only
            overrides["hidden"] = hidden
            self.matched = {"hidden": hidden, "target_params": target}
        self.model = QEDM(denoiser=self.name, seed=self.seed, **overrides)
        fit_kwargs = {}
        if self.on_epoch is not None and "on_epoch" in inspect.signature(self.model.fit).parameters:
            fit_kwargs["on_epoch"] = self.on_epoch
        self.model.fit(data, **fit_kwargs)
        self._n_rows = len(data)
        return self

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame:
        if self.model is None:
            raise QEDMError(f"{self.name} is not fitted yet: call fit(data) first")
        return self.model.sample(n, seed=seed)

    def parameter_counts(self) -> dict[str, int]:
        return dict(self.model.parameter_counts())

    def resources(self) -> dict[str, Any]:
        """Circuit costs per training step at the batch size training really used (<= rows).

        Adds `diff_method`, the gradient method training used (which evaluation count applies).
        """
        config = self.model.config
        used = self.model.batch_size or config.batch_size
        report = dict(self.model.resources(batch_size=min(used, self._n_rows or used)))
        if report:
            report["diff_method"] = config.diff_method
        return report

    def ablations(self, train: pd.DataFrame, holdout: pd.DataFrame, seed: int = 0,
                  fitted_quality: float | None = None) -> dict[str, float]:
        """Held-out denoising loss, and for a model with a circuit its ablations and gradient health."""
        from qedm.evaluate.ablation import ABLATION_RETRAIN_EPOCHS, ablate_fitted, circuit_of, encode_rows, heldout_loss

        if circuit_of(self.model.denoiser) is None:
            rows, labels = encode_rows(self.model, holdout)
            return {"heldout_loss": heldout_loss(self.model.denoiser, rows, self.model.schedule, labels=labels,
                                                 seed=seed)}
        from qedm.gradient_health import gradient_flags

        retrain_epochs = min(ABLATION_RETRAIN_EPOCHS, self.model.epochs or ABLATION_RETRAIN_EPOCHS)
        result = ablate_fitted(self.model, train, holdout, seed=seed, fitted_quality=fitted_quality,
                               retrain_epochs=retrain_epochs)
        return {**result.columns(), **gradient_flags(self.history)}

    @property
    def history(self) -> list[dict]:
        return list(getattr(self.model, "history", []) or [])


def make_model(name: str, seed: int = 0, epochs: int | None = None, batch_size: int | None = None,
               sdv_epochs: int | None = None, on_epoch: Callable[[dict], None] | None = None,
               **qedm_overrides: Any) -> Synthesizer:
    """Build a benchmark model by name; "classical" is matched to the hybrid's parameter budget.

    `epochs`/`batch_size` go to every QEDM denoiser alike; `sdv_epochs` (default: `epochs`)
    to CTGAN and TVAE. Extra keyword arguments are QEDMConfig values (n_qubits, n_layers, ...).
    """
    if name in QEDM_MODELS:
        return QEDMModel(name, seed=seed, epochs=epochs, batch_size=batch_size,
                         match_hybrid=(name == "classical"), on_epoch=on_epoch, **qedm_overrides)
    if name in SDV_MODELS:
        from qedm.baselines.sdv_models import SDVModel

        return SDVModel(name, seed=seed, epochs=sdv_epochs if sdv_epochs is not None else epochs,
                        batch_size=batch_size)
    raise ConfigError(f"model {name!r} is not one of: {', '.join(MODEL_NAMES)}")


def settings_for(denoiser: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides a QEDM with `denoiser` takes: pipeline settings and that denoiser's own."""
    from dataclasses import fields

    from qedm.config import QEDMConfig
    from qedm.models.configs import setting_names

    takes = {f.name for f in fields(QEDMConfig)} | set(setting_names(denoiser))
    return {key: value for key, value in overrides.items() if key in takes}


def matched_classical_hidden_for(data: pd.DataFrame, seed: int = 0, **overrides: Any) -> tuple[int, int]:
    """(hidden width, hybrid parameter total) so a classical denoiser matches the hybrid's size.

    Both denoisers see the same transformed width (neither uses a latent by default), so the
    hybrid is built untrained on that width, exactly as QEDM.fit would build it, and counted.
    """
    from qedm.data.table import TableTransformer
    from qedm.models.registry import matched_classical_hidden
    from qedm.synthesizer import QEDM

    hybrid = QEDM(denoiser="hybrid", seed=seed, **settings_for("hybrid", overrides))
    classical = QEDM(denoiser="classical", seed=seed, **settings_for("classical", overrides)).config
    if hybrid.config.resolved_latent != "none" or classical.resolved_latent != "none":
        raise ConfigError("budget matching needs latent='none' (or 'auto') for hybrid and classical")
    kinds = hybrid.config.column_kinds or None
    width = TableTransformer(column_kinds=kinds).fit(data).transform(data).shape[1]
    target = int(hybrid.build_denoiser(width).parameter_counts()["total"])
    hidden = matched_classical_hidden(width, target, n_blocks=classical.n_blocks, time_dim=classical.time_dim)
    return int(hidden), target
