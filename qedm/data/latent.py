"""Compress the transformed table [N, d] to [N, k] latents for a denoiser with fewer inputs.

Every latent returns standardised codes (zero mean, unit variance per component on the training
data) because the diffusion prior is N(0, I): PCA is whitened, the autoencoder's bottleneck is
rescaled by its training mean and standard deviation. All state is JSON (`to_dict`), no pickle.
encode/decode accept numpy arrays or torch tensors and return the same kind (float32).
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from qedm.errors import ConfigError, DataError

LATENT_KINDS = ("none", "pca", "ae")
_FORMAT = "qedm.latent/1"
_TINY = 1e-8  # floor on a component's scale, so constant directions do not divide by zero


def _as_numpy(x) -> tuple[np.ndarray, bool]:
    """x as float64 numpy [N, d], and whether it came as a torch tensor."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().to(torch.float64).numpy(), True
    return np.asarray(x, dtype=np.float64), False


def _like(out: np.ndarray, as_torch: bool):
    out = out.astype(np.float32)
    return torch.from_numpy(out) if as_torch else out


@contextlib.contextmanager
def _torch_threads(n: int):
    """Run a block with n intra-op threads, then restore the caller's setting.

    A net this small gains nothing from threads, and on a shared CPU the thread hand-offs
    dominate its training step.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Latent:
    """Shared checks and helpers; subclasses implement _fit, _encode, _decode, _state."""

    kind = ""

    def __init__(self, n_components: int):
        if not isinstance(n_components, (int, np.integer)) or n_components < 1:
            raise ConfigError(f"n_components must be a positive integer, got {n_components!r}")
        self.n_components = int(n_components)
        self.input_dim: int | None = None
        self.fitted_error: float | None = None  # reconstruction MSE on the training matrix

    @property
    def output_dim(self) -> int:
        """Width k of the codes."""
        return self.n_components

    def _check_input(self, x: np.ndarray, width: int | None, what: str) -> None:
        if x.ndim != 2 or (width is not None and x.shape[1] != width):
            expect = f"[N, {width}]" if width is not None else "[N, d]"
            raise DataError(f"{what} must have shape {expect}, got {list(x.shape)}")
        if not np.all(np.isfinite(x)):
            raise DataError(f"{what} contains NaN or infinite values")

    def fit(self, X) -> "_Latent":
        """Learn the compression from X: [N, d]; also records fitted_error."""
        x, _ = _as_numpy(X)
        self._check_input(x, None, "X")
        if self.n_components > x.shape[1]:
            raise ConfigError(
                f"n_components={self.n_components} exceeds the data width {x.shape[1]}"
            )
        self.input_dim = x.shape[1]
        self._fit(x)
        self.fitted_error = self.reconstruction_error(x)
        return self

    def _require_fitted(self) -> None:
        if self.input_dim is None:
            raise DataError(f"the {self.kind} latent is not fitted: call fit(X) first")

    def encode(self, X):
        """X: [N, d] -> standardised codes [N, k]."""
        self._require_fitted()
        x, as_torch = _as_numpy(X)
        self._check_input(x, self.input_dim, "X")
        return _like(self._encode(x), as_torch)

    def decode(self, Z):
        """Codes Z: [N, k] -> reconstructed rows [N, d]."""
        self._require_fitted()
        z, as_torch = _as_numpy(Z)
        self._check_input(z, self.output_dim, "Z")
        return _like(self._decode(z), as_torch)

    def reconstruction_error(self, X) -> float:
        """Mean squared error of decode(encode(X)) against X, over all entries."""
        x, _ = _as_numpy(X)
        recon = self.decode(self.encode(x.astype(np.float32))).astype(np.float64)
        return float(np.mean((recon - x) ** 2))

    @classmethod
    def from_dict(cls, d: dict) -> "_Latent":
        """Rebuild a fitted latent saved by to_dict(); same as latent_from_dict."""
        return latent_from_dict(d)

    def to_dict(self) -> dict:
        """JSON-able state: kind, parameters and fitted arrays as lists."""
        self._require_fitted()
        return {"format": _FORMAT, "kind": self.kind, "input_dim": self.input_dim,
                "fitted_error": self.fitted_error, **self._state()}


class IdentityLatent(_Latent):
    """No compression (kind "none"): codes are the transformed rows themselves."""

    kind = "none"

    def __init__(self, n_components: int | None = None, **_ignored):
        self.n_components = 0
        self.input_dim = None
        self.fitted_error = None

    @property
    def output_dim(self) -> int:
        self._require_fitted()
        return self.input_dim

    def fit(self, X) -> "IdentityLatent":
        x, _ = _as_numpy(X)
        self._check_input(x, None, "X")
        self.input_dim = self.n_components = x.shape[1]
        return self

    def _encode(self, x):
        return x

    def _decode(self, z):
        return z

    def _state(self) -> dict:
        return {}

    def _load(self, d: dict) -> None:
        self.n_components = self.input_dim


class PCALatent(_Latent):
    """Whitened PCA by SVD: codes = (X - mean) V_k^T / sqrt(explained_variance_k)."""

    kind = "pca"

    def __init__(self, n_components: int, seed: int | None = None, **_ignored):
        super().__init__(n_components)
        self.mean_: np.ndarray | None = None
        self.components_: np.ndarray | None = None  # [k, d], rows orthonormal
        self.explained_variance_: np.ndarray | None = None  # [k], eigenvalues with ddof=1

    def _fit(self, x: np.ndarray) -> None:
        self.mean_ = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - self.mean_, full_matrices=False)
        # Fix each component's sign (largest entry positive) so fits are reproducible.
        signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
        vt *= np.where(signs == 0, 1.0, signs)[:, None]
        k = self.n_components
        self.components_ = vt[:k]
        self.explained_variance_ = s[:k] ** 2 / max(x.shape[0] - 1, 1)

    def _scale(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.explained_variance_, _TINY))

    def _encode(self, x):
        return (x - self.mean_) @ self.components_.T / self._scale()

    def _decode(self, z):
        return (z * self._scale()) @ self.components_ + self.mean_

    def _state(self) -> dict:
        return {"n_components": self.n_components, "mean": self.mean_.tolist(),
                "components": self.components_.tolist(),
                "explained_variance": self.explained_variance_.tolist()}

    def _load(self, d: dict) -> None:
        self.mean_ = np.asarray(d["mean"], dtype=np.float64)
        self.components_ = np.asarray(d["components"], dtype=np.float64).reshape(-1, self.input_dim)
        self.explained_variance_ = np.asarray(d["explained_variance"], dtype=np.float64)


class AutoencoderLatent(_Latent):
    """Small MLP autoencoder d -> hidden -> hidden -> k -> hidden -> hidden -> d, trained on MSE."""

    kind = "ae"

    def __init__(self, n_components: int, hidden: int = 64, epochs: int = 200, lr: float = 2e-3,
                 batch_size: int = 256, seed: int = 0, **_ignored):
        super().__init__(n_components)
        for name, value in (("hidden", hidden), ("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not lr > 0:
            raise ConfigError(f"lr must be > 0, got {lr!r}")
        self.hidden, self.epochs, self.lr = int(hidden), int(epochs), float(lr)
        self.batch_size, self.seed = int(batch_size), seed
        self.net: torch.nn.ModuleDict | None = None
        self.x_mean = self.x_std = self.z_mean = self.z_std = None

    def _build(self, d: int) -> torch.nn.ModuleDict:
        h, k = self.hidden, self.n_components
        act = torch.nn.SiLU
        return torch.nn.ModuleDict({
            "encoder": torch.nn.Sequential(torch.nn.Linear(d, h), act(), torch.nn.Linear(h, h), act(),
                                           torch.nn.Linear(h, k)),
            "decoder": torch.nn.Sequential(torch.nn.Linear(k, h), act(), torch.nn.Linear(h, h), act(),
                                           torch.nn.Linear(h, d)),
        })

    def _fit(self, x: np.ndarray) -> None:
        self.x_mean = x.mean(axis=0)
        self.x_std = np.maximum(x.std(axis=0), _TINY)
        xs = torch.from_numpy(((x - self.x_mean) / self.x_std).astype(np.float32))
        gen = torch.Generator().manual_seed(0 if self.seed is None else int(self.seed))
        # nn.Linear draws its initial weights from the global RNG; fork it so fitting neither
        # depends on nor disturbs the caller's random state.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0 if self.seed is None else int(self.seed))
            self.net = self._build(x.shape[1])
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs)
        with _torch_threads(1):
            self._train(xs, opt, sched, gen)
        with torch.no_grad():
            codes = self.net["encoder"](xs).double().numpy()
        self.z_mean = codes.mean(axis=0)
        self.z_std = np.maximum(codes.std(axis=0), _TINY)

    def _train(self, xs: torch.Tensor, opt, sched, gen: torch.Generator) -> None:
        """Mini-batch Adam on the reconstruction MSE of standardised rows xs: [N, d]."""
        n = xs.shape[0]
        for _ in range(self.epochs):
            for idx in torch.randperm(n, generator=gen).split(self.batch_size):
                batch = xs[idx]
                loss = torch.mean((self.net["decoder"](self.net["encoder"](batch)) - batch) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()

    def _encode(self, x):
        with torch.no_grad():
            xs = torch.from_numpy(((x - self.x_mean) / self.x_std).astype(np.float32))
            codes = self.net["encoder"](xs).double().numpy()
        return (codes - self.z_mean) / self.z_std

    def _decode(self, z):
        with torch.no_grad():
            zs = torch.from_numpy((z * self.z_std + self.z_mean).astype(np.float32))
            out = self.net["decoder"](zs).double().numpy()
        return out * self.x_std + self.x_mean

    def _state(self) -> dict:
        return {"n_components": self.n_components, "hidden": self.hidden, "epochs": self.epochs,
                "lr": self.lr, "batch_size": self.batch_size, "seed": self.seed,
                "x_mean": self.x_mean.tolist(), "x_std": self.x_std.tolist(),
                "z_mean": self.z_mean.tolist(), "z_std": self.z_std.tolist(),
                "weights": {k: v.tolist() for k, v in self.net.state_dict().items()}}

    def _load(self, d: dict) -> None:
        self.x_mean, self.x_std, self.z_mean, self.z_std = (
            np.asarray(d[key], dtype=np.float64) for key in ("x_mean", "x_std", "z_mean", "z_std"))
        self.net = self._build(self.input_dim)
        self.net.load_state_dict({k: torch.tensor(v, dtype=torch.float32)
                                  for k, v in d["weights"].items()})


_CLASSES = {"none": IdentityLatent, "pca": PCALatent, "ae": AutoencoderLatent}
_PARAMS = {"none": (), "pca": ("n_components",),
           "ae": ("n_components", "hidden", "epochs", "lr", "batch_size", "seed")}


def make_latent(kind: str, n_components: int | None = None, **kw) -> _Latent:
    """Build an unfitted latent: "pca", "ae" (kw: hidden, epochs, lr, batch_size, seed) or "none"."""
    if kind not in _CLASSES:
        raise ConfigError(f"latent kind {kind!r} is not one of {list(LATENT_KINDS)}")
    if kind != "none" and n_components is None:
        raise ConfigError(f"latent kind {kind!r} needs n_components")
    return _CLASSES[kind](n_components, **kw)


def latent_from_dict(d: dict) -> _Latent:
    """Rebuild a fitted latent from its to_dict() output (e.g. after json.loads)."""
    if not isinstance(d, dict) or d.get("format") != _FORMAT or d.get("kind") not in _CLASSES:
        raise DataError(f"not a saved latent (expected format '{_FORMAT}' and kind in {list(LATENT_KINDS)})")
    kind = d["kind"]
    obj = make_latent(kind, **{p: d[p] for p in _PARAMS[kind]})
    obj.input_dim = int(d["input_dim"])
    obj.fitted_error = d.get("fitted_error")
    obj._load(d)
    return obj
