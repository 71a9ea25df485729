"""Shared checks of the data tests."""
import json

import numpy as np
import pandas as pd
import pytest

from qedm.data.table import TableTransformer


@pytest.fixture
def assert_json_round_trip():
    """Check that a fitted TableTransformer survives strict JSON and then transforms and inverts identically."""

    def check(transformer: TableTransformer, df: pd.DataFrame) -> None:
        text = json.dumps(transformer.to_dict(), allow_nan=False)
        restored = TableTransformer.from_dict(json.loads(text))
        assert restored.to_dict() == transformer.to_dict()
        x = transformer.transform(df)
        np.testing.assert_array_equal(restored.transform(df), x)
        pd.testing.assert_frame_equal(restored.inverse_transform(x), transformer.inverse_transform(x))

    return check
