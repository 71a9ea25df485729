"""ImageTransformer: round trip on the real digits, range and shape checks, JSON state."""

import json

import numpy as np
import pytest

from qedm.data.datasets import load_digits_images
from qedm.data.images import ImageTransformer
from qedm.errors import DataError


def test_round_trip_on_digits_is_exact_and_in_range():
    images, _ = load_digits_images()
    tf = ImageTransformer(0.0, 16.0).fit(images)
    rows = tf.transform(images)
    assert rows.dtype == np.float32 and rows.shape == (len(images), 64)
    assert rows.min() == -1.0 and rows.max() == 1.0
    # Closed form: 0 -> -1, 8 -> 0, 16 -> 1.
    np.testing.assert_allclose(rows, images.reshape(len(images), 64) / 8.0 - 1.0, atol=1e-6)
    np.testing.assert_allclose(tf.inverse_transform(rows), images, atol=1e-5)
    assert tf.output_dim == 64 and tf.kind == "image"


def test_inverse_clips_to_the_declared_range():
    tf = ImageTransformer(0.0, 16.0).fit(np.zeros((1, 2, 2)))
    out = tf.inverse_transform(np.array([[-3.0, -1.0, 0.0, 2.5]]))
    np.testing.assert_allclose(out, [[[0.0, 0.0], [8.0, 16.0]]])


def test_json_state_rebuilds_the_same_transform():
    images = np.random.default_rng(0).uniform(0, 16, size=(5, 3, 4))
    tf = ImageTransformer(0.0, 16.0).fit(images)
    again = ImageTransformer.from_dict(json.loads(json.dumps(tf.to_dict())))
    assert again.shape == (3, 4)
    np.testing.assert_array_equal(again.transform(images), tf.transform(images))


def test_errors_name_the_problem():
    tf = ImageTransformer(0.0, 16.0)
    with pytest.raises(DataError, match="not fitted"):
        tf.transform(np.zeros((1, 8, 8)))
    with pytest.raises(DataError, match=r"\[N, H, W\]"):
        tf.fit(np.zeros((4, 64)))
    with pytest.raises(DataError, match="outside the declared range"):
        tf.fit(np.full((1, 2, 2), 17.0))
    tf.fit(np.zeros((1, 8, 8)))
    with pytest.raises(DataError, match=r"\[N, 64\]"):
        tf.inverse_transform(np.zeros((2, 63)))
    with pytest.raises(DataError, match="high > low"):
        ImageTransformer(1.0, 1.0)
