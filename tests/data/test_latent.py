"""Latents: PCA against sklearn and the closed-form error, AE against a mean predictor, JSON state."""
import json

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from qedm.data.latent import AutoencoderLatent, PCALatent, latent_from_dict, make_latent
from qedm.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def matrix() -> np.ndarray:
    """Correlated rows [400, 12]: a 3-dim signal mixed into 12 dims plus small noise."""
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 3)) * np.array([3.0, 2.0, 1.0])
    mix = rng.normal(size=(3, 12))
    return (signal @ mix + 0.3 * rng.normal(size=(400, 12)) + 1.5).astype(np.float32)


def test_pca_matches_sklearn(matrix):
    k = 4
    lat = PCALatent(k).fit(matrix)
    ref = PCA(n_components=k, whiten=True, svd_solver="full").fit(matrix.astype(np.float64))
    np.testing.assert_allclose(lat.explained_variance_, ref.explained_variance_, rtol=1e-5)
    z, z_ref = lat.encode(matrix), ref.transform(matrix.astype(np.float64))
    signs = np.sign(np.sum(z * z_ref, axis=0))  # components are defined up to sign
    np.testing.assert_allclose(z * signs, z_ref, atol=1e-4)


def test_pca_reconstruction_error_closed_form(matrix):
    n, d = matrix.shape
    eig = PCA(svd_solver="full").fit(matrix.astype(np.float64)).explained_variance_
    for k in (1, 3, 6):
        expected = eig[k:].sum() * (n - 1) / (n * d)  # mean squared residual of the dropped directions
        assert PCALatent(k).fit(matrix).reconstruction_error(matrix) == pytest.approx(expected, rel=1e-4)
    assert PCALatent(d).fit(matrix).reconstruction_error(matrix) < 1e-10


@pytest.mark.parametrize("kind", ["pca", "ae"])
def test_codes_are_standardised(matrix, kind):
    lat = make_latent(kind, 3, epochs=30, seed=0).fit(matrix)
    z = lat.encode(matrix)
    assert z.shape == (400, 3) and z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-2)


def test_autoencoder_beats_mean_predictor(matrix):
    lat = AutoencoderLatent(3, hidden=32, epochs=60, seed=0).fit(matrix)
    mean_error = float(np.mean((matrix - matrix.mean(axis=0)) ** 2))
    assert lat.fitted_error == pytest.approx(lat.reconstruction_error(matrix))
    assert lat.fitted_error < 0.2 * mean_error


def test_autoencoder_seed_makes_fit_reproducible(matrix):
    torch.manual_seed(123)
    before = torch.rand(1)
    a = AutoencoderLatent(2, hidden=16, epochs=5, seed=7).fit(matrix)
    b = AutoencoderLatent(2, hidden=16, epochs=5, seed=7).fit(matrix)
    np.testing.assert_array_equal(a.encode(matrix), b.encode(matrix))
    torch.manual_seed(123)
    assert torch.equal(torch.rand(1), before)  # the caller's global RNG was left alone


@pytest.mark.parametrize("kind", ["none", "pca", "ae"])
def test_json_round_trip_restores_the_same_maps(matrix, kind):
    lat = make_latent(kind, 3, epochs=5, seed=0).fit(matrix)
    restored = latent_from_dict(json.loads(json.dumps(lat.to_dict(), allow_nan=False)))
    assert restored.kind == kind and restored.output_dim == lat.output_dim
    np.testing.assert_array_equal(restored.encode(matrix), lat.encode(matrix))
    z = np.random.default_rng(1).normal(size=(5, lat.output_dim)).astype(np.float32)
    np.testing.assert_array_equal(restored.decode(z), lat.decode(z))
    assert restored.fitted_error == lat.fitted_error


def test_identity_latent_passes_rows_through(matrix):
    lat = make_latent("none", None).fit(matrix)
    assert lat.output_dim == 12 and lat.fitted_error is None
    np.testing.assert_array_equal(lat.decode(lat.encode(matrix)), matrix)


def test_torch_in_torch_out(matrix):
    lat = PCALatent(3).fit(torch.from_numpy(matrix))
    z = lat.encode(torch.from_numpy(matrix))
    assert isinstance(z, torch.Tensor) and z.dtype == torch.float32 and z.shape == (400, 3)
    assert isinstance(lat.decode(z), torch.Tensor)
    np.testing.assert_allclose(z.numpy(), lat.encode(matrix), atol=1e-6)


def test_errors_name_the_problem(matrix):
    with pytest.raises(ConfigError, match="latent kind 'umap'"):
        make_latent("umap", 2)
    with pytest.raises(ConfigError, match="n_components must be a positive integer"):
        make_latent("pca", 0)
    with pytest.raises(ConfigError, match="needs n_components"):
        make_latent("ae", None)
    with pytest.raises(ConfigError, match="n_components=20 exceeds the data width 12"):
        PCALatent(20).fit(matrix)
    with pytest.raises(ConfigError, match="epochs must be a positive integer"):
        AutoencoderLatent(2, epochs=0)
    with pytest.raises(DataError, match="not fitted"):
        PCALatent(2).encode(matrix)
    lat = PCALatent(2).fit(matrix)
    with pytest.raises(DataError, match=r"Z must have shape \[N, 2\], got \[4, 3\]"):
        lat.decode(np.zeros((4, 3)))
    with pytest.raises(DataError, match="NaN"):
        lat.encode(np.full((2, 12), np.nan))
    with pytest.raises(DataError, match="not a saved latent"):
        latent_from_dict({"kind": "pca"})
