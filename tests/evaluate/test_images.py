"""Image metrics: FID against an eigenvalue reference, zero on identical sets, monotone in noise;
the feature net classifies held-out digits; the PNG grid is written."""

import numpy as np
import pytest

from qedm.errors import DataError
from qedm.evaluate.images import (
    fid_from_features,
    frechet_distance,
    load_digits_split,
    protocol_feature_net,
    score_images,
)
from qedm.report.image_grid import save_image_grid


def _reference_fid(a: np.ndarray, b: np.ndarray) -> float:
    """tr sqrt(C1 C2) via the symmetric form C1^1/2 C2 C1^1/2 (eigendecomposition only)."""
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(c1)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    eig = np.clip(np.linalg.eigvalsh(half @ c2 @ half), 0, None)
    return float((m1 - m2) @ (m1 - m2) + np.trace(c1) + np.trace(c2) - 2 * np.sqrt(eig).sum())


def test_frechet_distance_matches_closed_forms():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 5)), rng.normal(loc=0.5, scale=2.0, size=(300, 5))
    assert fid_from_features(a, b) == pytest.approx(_reference_fid(a, b), rel=1e-8)
    # 1-D Gaussians: (m1 - m2)^2 + (s1 - s2)^2.
    value = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([-1.0]), np.array([[9.0]]))
    assert value == pytest.approx(4.0 + 1.0)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def test_feature_net_classifies_held_out_digits(digits):
    _, _, x_te, y_te = digits
    assert len(x_te) == 450
    assert protocol_feature_net().accuracy(x_te, y_te) > 0.9


def test_fid_zero_for_identical_sets_and_monotone_in_noise(digits):
    _, _, x_te, _ = digits
    net = protocol_feature_net()
    real = net.features(x_te)
    assert fid_from_features(real, real) == pytest.approx(0.0, abs=1e-6)
    z = np.random.default_rng(1).normal(size=x_te.shape)
    fids = [fid_from_features(real, net.features(x_te + s * z)) for s in (0.5, 1.0, 2.0, 4.0, 8.0)]
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    assert fids[0] > 0
    noisy = net.features(x_te + 4.0 * z)
    assert fids[3] == pytest.approx(_reference_fid(real, noisy), rel=1e-6, abs=1e-9)


def test_score_images_on_real_train_digits(digits):
    x_tr, y_tr, _, _ = digits
    scores = score_images(x_tr[:500], labels=y_tr[:500])
    assert scores.class_accuracy > 0.95  # the net saw these images
    assert 0.8 < scores.precision <= 1.0 and 0.8 < scores.recall <= 1.0
    shuffled = np.random.default_rng(0).permutation(64)
    scrambled = x_tr[:500].reshape(500, 64)[:, shuffled].reshape(500, 8, 8)
    assert score_images(scrambled).fid > 10 * scores.fid
    with pytest.raises(DataError, match=r"\[N, 8, 8\]"):
        score_images(np.zeros((10, 7, 7)))
    with pytest.raises(DataError, match="labels has 3 entries"):
        score_images(x_tr[:10], labels=[1, 2, 3])


def test_save_image_grid_writes_a_png(tmp_path, digits):
    x_tr, y_tr, _, _ = digits
    path = save_image_grid(x_tr[:12], tmp_path / "grid.png", ncols=6, labels=list(y_tr[:12]))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # no temp file left behind
    with pytest.raises(DataError, match="labels"):
        save_image_grid(x_tr[:3], tmp_path / "bad.png", labels=[1])
