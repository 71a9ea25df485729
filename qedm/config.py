"""The one configuration object of a QEDM run, validated in one place.

Everything a run needs to be rebuilt lives here as plain values, so a run directory's
`config.json` (or a user's YAML file) fully describes the model that was trained.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from qedm.choices import (
    CONDITION_KINDS,
    DENOISERS,
    DP_PRIORS,
    LATENTS,
    NOISE_SOURCES,
    SAMPLERS,
    SCHEDULES,
    one_of,
    positive_int,
)
from qedm.errors import ConfigError
from qedm.models.configs import DenoiserConfig, make_denoiser_config, setting_names

# Guidance scale when sampling a class of a table-model trained with condition_column (guidance_scale=None).
TABLE_CLASS_GUIDANCE = 2.0


@dataclass
class QEDMConfig:
    """Hyper-parameters of a QEDM: the denoiser and its own settings, latent, diffusion, training.

    Pipeline settings are flat fields. The denoiser's settings live in `denoiser_config`, one
    dataclass per denoiser (qedm.models.configs: HybridConfig, ClassicalConfig, ...) that holds
    only what that denoiser takes. Flat keys are routed there: `QEDMConfig(denoiser="hybrid",
    n_qubits=4)`, `from_dict`, `updated` and `QEDM(n_layers=2)` accept them, and reading
    `config.n_qubits` reads `config.denoiser_config.n_qubits`. A key the chosen denoiser does
    not take is a ConfigError naming it and listing what it takes.
    """

    denoiser: str = "hybrid"
    denoiser_config: DenoiserConfig | None = None  # None: the denoiser's defaults
    # Latent: "auto" compresses only for the quantum denoiser (to n_qubits dimensions).
    latent: str = "auto"
    latent_dim: int | None = None
    # Diffusion.
    schedule: str = "cosine"
    n_steps: int = 1000
    noise: str = "prng"
    # Training.
    # None: scaled with the table's rows (qedm.scaling; about 2,000 steps, at most 1,000 epochs of 128).
    epochs: int | None = None
    batch_size: int | None = None
    lr: float = 2e-3
    weight_decay: float = 0.0
    # Exponential moving average of the weights (0: off); the sampled model is the average.
    # 0.999 won on shape, pair-trend, C2ST and utility on fair and randhie (BENCHMARKS.md).
    ema_decay: float = 0.999
    checkpoint_every: int = 25
    seed: int = 0
    # Differential privacy (qedm.privacy): dp_epsilon set = DP-SGD with Opacus and a DP table
    # transform, all under one (dp_epsilon, dp_delta) budget; None = an ordinary fit.
    dp_epsilon: float | None = None
    dp_delta: float = 1e-5
    dp_max_grad_norm: float = 1.0
    dp_public_categories: bool = False  # category labels come from a codebook (public), counts stay private
    # "gaussian": the denoiser learns the residual over a DP Gaussian (copula) prior; "none": plain DP-SGD.
    dp_prior: str = "gaussian"
    # Sampling defaults.
    # Stochastic few-step DPM-Solver++(2M) SDE: at 20 steps it matched 1000-step DDPM on the
    # bundled table's fidelity and digits' FID (BENCHMARKS.md); deterministic samplers scored lower.
    sampler: str = "dpm_solver_sde"
    sample_steps: int | None = None  # None: the sampler's default (ddpm 200, ddim 50, dpm_solver(_sde) 20)
    # Conditional generation: a class column modelled with classifier-free guidance.
    condition_column: str | None = None
    # "continuous" embeds the value (sampling accepts unseen values); "auto": continuous for
    # float columns holding non-integer values, class otherwise.
    condition_kind: str = "auto"
    # None: TABLE_CLASS_GUIDANCE (2.0) for a class of a table, 1.0 for images and continuous
    # values. At 1.0 rows asked for with a rare class were read as that class less often than
    # real rows of it (fair, breast_cancer with 5 % malignant); at 2.0 as often or more (BENCHMARKS.md).
    guidance_scale: float | None = None
    # Data.
    column_kinds: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    threads: int | None = 1  # torch intra-op threads while fitting/sampling; None: torch's default

    def __post_init__(self) -> None:
        routed = self.__dict__.pop("_routed", {})
        one_of("denoiser", self.denoiser, DENOISERS)
        self.denoiser_config = make_denoiser_config(self.denoiser, self.denoiser_config, **routed)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first argument that is out of range."""
        one_of("denoiser", self.denoiser, DENOISERS)
        make_denoiser_config(self.denoiser, self.denoiser_config)  # validates its own fields
        one_of("latent", self.latent, LATENTS)
        one_of("schedule", self.schedule, SCHEDULES)
        one_of("noise", self.noise, NOISE_SOURCES)
        one_of("sampler", self.sampler, SAMPLERS)
        for name in ("n_steps", "checkpoint_every"):
            positive_int(name, getattr(self, name))
        for name in ("epochs", "batch_size"):  # None: scaled with the rows (qedm.scaling)
            if getattr(self, name) is not None:
                positive_int(name, getattr(self, name))
        one_of("condition_kind", self.condition_kind, CONDITION_KINDS)
        if self.threads is not None:
            positive_int("threads", self.threads)
        if self.latent_dim is not None:
            positive_int("latent_dim", self.latent_dim)
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must lie in [0, 1), got {self.ema_decay}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.sample_steps is not None:
            positive_int("sample_steps", self.sample_steps)
        if self.sample_steps is not None and self.sample_steps > self.n_steps:
            raise ConfigError(f"sample_steps={self.sample_steps} exceeds n_steps={self.n_steps}")
        if self.guidance_scale is not None and self.guidance_scale < 0:
            raise ConfigError(f"guidance_scale must be >= 0, got {self.guidance_scale}")
        if not isinstance(self.device, str) or not re.fullmatch(r"cpu|mps|cuda(:\d+)?", self.device):
            raise ConfigError(f"device={self.device!r} is not a torch device: cpu, cuda, cuda:N or mps")
        one_of("dp_prior", self.dp_prior, DP_PRIORS)
        if self.dp_epsilon is not None:
            from qedm.privacy.accounting import check_budget

            check_budget(self.dp_epsilon, self.dp_delta)
            if not self.dp_max_grad_norm > 0:
                raise ConfigError(f"dp_max_grad_norm must be > 0, got {self.dp_max_grad_norm!r}")

    def __getattr__(self, name: str) -> Any:
        """A denoiser setting read as if it were flat: config.n_qubits is config.denoiser_config.n_qubits."""
        nested = self.__dict__.get("denoiser_config")
        if name == "diff_method":  # the former name of a circuit's `gradient`
            name = "gradient"
        if name.startswith("_") or nested is None or name not in setting_names(self.denoiser):
            raise AttributeError(f"QEDMConfig has no setting {name!r}")
        return getattr(nested, name)

    @property
    def resolved_latent(self) -> str:
        if self.latent != "auto":
            return self.latent
        return "pca" if self.denoiser == "quantum" else "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "QEDMConfig":
        """A config from plain values (config.json, YAML): nested or flat denoiser settings."""
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> "QEDMConfig":
        """Read a YAML or JSON file of config values."""
        return cls.from_dict(read_config_file(path))

    def updated(self, **changes: Any) -> "QEDMConfig":
        """A copy with some values replaced (None values are ignored), validated.

        Denoiser settings may be given flat (n_qubits=4). Switching `denoiser` keeps the old
        denoiser's non-default settings that the new one also takes; the rest start at its defaults.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        values = self.to_dict()
        nested = values.pop("denoiser_config")
        denoiser = changes.get("denoiser", self.denoiser)
        if denoiser != self.denoiser:
            one_of("denoiser", denoiser, DENOISERS)
            defaults = asdict(type(self.denoiser_config)())
            takes = setting_names(denoiser)
            nested = {k: v for k, v in nested.items() if k in takes and v != defaults[k]}
        if "denoiser_config" in changes:
            nested = changes.pop("denoiser_config")
        values.update(changes)
        return QEDMConfig.from_dict({**values, "denoiser_config": nested})

    def dumps(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Load a mapping of config values from YAML or JSON; errors name the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML/JSON: {exc}") from exc
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return values


_FIELDS = frozenset(f.name for f in fields(QEDMConfig))
_dataclass_init = QEDMConfig.__init__


@functools.wraps(_dataclass_init)
def _init(self: QEDMConfig, *args: Any, **values: Any) -> None:
    """The dataclass __init__, plus flat denoiser settings routed into denoiser_config."""
    routed = {key: values.pop(key) for key in list(values) if key not in _FIELDS}
    self.__dict__["_routed"] = routed
    _dataclass_init(self, *args, **values)


QEDMConfig.__init__ = _init
