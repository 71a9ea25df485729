"""Image metrics for 8x8 digits: FID in a small classifier's feature space, class accuracy, k-NN P/R.

Inception-v3 features (the usual FID) do not fit 8x8 grey images, so qedm scores digits in the
feature space of a small classifier trained on real digits. The protocol is fixed:

- Data: scikit-learn's 1797 digits (pixels 0..16), split once with
  `train_test_split(test_size=0.25, stratify=y, random_state=0)`: 1347 train / 450 held-out.
  Generators train on the train split only; the held-out split is the FID reference.
- Feature net: `sklearn.neural_network.MLPClassifier(hidden_layer_sizes=(128, 64),
  activation="relu", alpha=1e-3, max_iter=80, random_state=0)` (Adam, batches of 200) on
  train pixels / 16 (about 5 s of CPU, deterministic; 0.976 accuracy on the held-out split). Features are the 64 ReLU
  activations of its second hidden layer (the penultimate layer).
- FID: Frechet distance between Gaussians fitted to the features of N_GENERATED = 1000
  generated images and of the 450 held-out real images (scipy.linalg.sqrtm; a tiny imaginary
  part from round-off is dropped). FID has a small-sample bias, so every table also reports
  the floor `real_fid_floor()`: 1000 bootstrap-resampled train images vs held-out (same sizes).
- Class accuracy: the feature net's accuracy on class-conditional samples (requested label vs
  predicted). k-NN precision/recall/density/coverage: `qedm.evaluate.diversity.prdc` (k=5)
  on the same features.
The values are comparable within qedm only; they are not on the scale of published FIDs.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import linalg

from qedm.errors import DataError
from qedm.evaluate.diversity import prdc

N_GENERATED = 1000
TEST_SIZE = 0.25
SPLIT_SEED = 0
FEATURE_SEED = 0
PIXEL_MAX = 16.0


def load_digits_split(seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The protocol's split: X_train [1347, 8, 8], y_train, X_test [450, 8, 8], y_test (pixels 0..16)."""
    from sklearn.model_selection import train_test_split

    from qedm.data.datasets import load_digits_images

    images, labels = load_digits_images()
    x_tr, x_te, y_tr, y_te = train_test_split(images, labels, test_size=TEST_SIZE, stratify=labels,
                                              random_state=seed)
    return x_tr, y_tr, x_te, y_te


def _flat(images) -> np.ndarray:
    arr = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr.reshape(len(arr), -1)
    if arr.ndim != 2 or arr.shape[1] != 64:
        raise DataError(f"digit images must have shape [N, 8, 8] or [N, 64] (pixels 0..16), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError("images contain NaN or infinite pixels")
    return arr / PIXEL_MAX


class DigitFeatureNet:
    """A 64-128-64-10 ReLU MLP classifier of digits; its 64 penultimate activations are the features."""

    def __init__(self, seed: int = FEATURE_SEED, hidden: tuple[int, int] = (128, 64), max_iter: int = 80) -> None:
        self.seed, self.hidden, self.max_iter = seed, hidden, max_iter
        self.model = None

    def fit(self, images, labels) -> "DigitFeatureNet":
        """Train on images [N, 8, 8] (0..16) and labels [N]; deterministic for a given seed."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        from threadpoolctl import threadpool_limits

        self.model = MLPClassifier(hidden_layer_sizes=self.hidden, activation="relu", alpha=1e-3,
                                   max_iter=self.max_iter, random_state=self.seed)
        # One BLAS thread: small matrices, and a shared machine makes more threads slower.
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model.fit(_flat(images), np.asarray(labels))
        return self

    def _fitted(self):
        if self.model is None:
            raise DataError("DigitFeatureNet is not fitted; call fit(images, labels) first")
        return self.model

    def features(self, images) -> np.ndarray:
        """Penultimate-layer activations: images [N, 8, 8] -> [N, 64]."""
        model = self._fitted()
        h = _flat(images)
        for w, b in zip(model.coefs_[:-1], model.intercepts_[:-1]):
            h = np.maximum(h @ w + b, 0.0)
        return h

    def predict(self, images) -> np.ndarray:
        """Predicted class of each image: [N]."""
        return self._fitted().predict(_flat(images))

    def accuracy(self, images, labels) -> float:
        """Fraction of images whose predicted class equals `labels`."""
        return float((self.predict(images) == np.asarray(labels)).mean())


@lru_cache(maxsize=4)
def protocol_feature_net(seed: int = FEATURE_SEED) -> DigitFeatureNet:
    """The protocol's feature net, trained on the train split (cached per process)."""
    x_tr, y_tr, _, _ = load_digits_split()
    return DigitFeatureNet(seed=seed).fit(x_tr, y_tr)


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and covariance [D, D] (unbiased) of features [N, D]."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise DataError(f"need features of shape [N >= 2, D], got {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1 C2)^(1/2)) between two Gaussians."""
    with warnings.catch_warnings():
        # Dead ReLU units make the covariances singular; sqrtm still returns the right root.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov1 @ cov2)
        if not np.isfinite(covmean).all():
            # Near-singular product: regularise both covariances slightly (as pytorch-fid does).
            offset = np.eye(len(cov1)) * 1e-6
            covmean = linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real  # imaginary parts come from round-off on a PSD product
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature sets [N, D] and [M, D]."""
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))


@dataclass
class ImageScores:
    """FID, k-NN precision/recall/density/coverage and (for labelled samples) class accuracy."""

    fid: float
    precision: float
    recall: float
    density: float
    coverage: float
    class_accuracy: float | None
    n_generated: int
    n_real: int

    def summary(self) -> dict:
        return asdict(self)


def score_images(generated, labels=None, real=None, feature_net: DigitFeatureNet | None = None,
                 k: int = 5) -> ImageScores:
    """Score generated digits [N, 8, 8] (0..16) against `real` (default: the held-out split).

    `labels` [N]: the classes the samples were conditioned on (adds class_accuracy).
    """
    net = feature_net or protocol_feature_net()
    if real is None:
        real = load_digits_split()[2]
    real_f, fake_f = net.features(real), net.features(generated)
    if labels is not None and len(labels) != len(fake_f):
        raise DataError(f"labels has {len(labels)} entries for {len(fake_f)} generated images")
    nn_scores = prdc(real_f, fake_f, k=k)
    acc = None if labels is None else net.accuracy(generated, labels)
    return ImageScores(fid=fid_from_features(real_f, fake_f), class_accuracy=acc,
                       n_generated=len(fake_f), n_real=len(real_f), **nn_scores)


def real_fid_floor(n: int = N_GENERATED, seed: int = 0) -> float:
    """FID of n train images drawn with replacement vs the held-out split: the protocol's floor."""
    x_tr, _, x_te, _ = load_digits_split()
    index = np.random.default_rng(seed).integers(0, len(x_tr), size=n)
    net = protocol_feature_net()
    return fid_from_features(net.features(x_te), net.features(x_tr[index]))
