"""DP mean and covariance of the transformed rows: one Gaussian release of clipped second moments.

Each row x [d] is scaled down to L2 norm <= clip (x * min(1, clip / |x|)) and extended to
[x, 1]; the sum over rows of [x, 1][x, 1]^T (a symmetric [d + 1, d + 1] matrix holding the sum of
outer products, the sum of rows and the row count) changes by at most clip^2 + 1 in Frobenius
norm when one row is added or removed, so one Gaussian release with noise std
noise_multiplier * (clip^2 + 1) on its upper triangle (mirrored) is a Gaussian mechanism of
that noise multiplier. Mean and covariance are post-processing of the release: the row count
is public, the covariance's eigenvalues are floored so it stays positive definite.
"""

from __future__ import annotations

import numpy as np

EIGEN_FLOOR = 0.05  # smallest eigenvalue kept in the released covariance (the rows are ~unit scale)


def default_clip(width: int) -> float:
    """Public row-norm clip for `width` transformed columns of about unit scale: sqrt(width)."""
    return float(np.sqrt(width))


def private_moments(matrix: np.ndarray, noise_multiplier: float, clip: float,
                    generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(mean [d], covariance [d, d]) of matrix [N, d] from one Gaussian release (see the module)."""
    x = np.asarray(matrix, dtype=np.float64)
    n, d = x.shape
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x * np.minimum(1.0, clip / np.maximum(norms, 1e-12))
    ext = np.hstack([x, np.ones((n, 1))])
    noise = generator.normal(0.0, noise_multiplier * (clip**2 + 1.0), size=(d + 1, d + 1))
    noise = np.triu(noise) + np.triu(noise, 1).T
    released = ext.T @ ext + noise
    mean = released[:d, d] / n
    second = released[:d, :d] / n
    cov = second - np.outer(mean, mean)
    cov = (cov + cov.T) / 2
    values, vectors = np.linalg.eigh(cov)
    cov = (vectors * np.maximum(values, EIGEN_FLOOR)) @ vectors.T
    return mean, cov
