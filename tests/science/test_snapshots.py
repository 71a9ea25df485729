"""TFIM snapshot tables: seeded, shaped as documented, distributed as the Born rule says."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import chisquare

from qedm.data.datasets import load_dataset
from qedm.errors import ConfigError
from qedm.science import TFIMChain, ground_state, sample_snapshots, tfim_dataset
from qedm.science.snapshots import BUNDLED_FIELDS, detect_basis, snapshot_spins


def test_dataset_is_seeded_and_shaped():
    a = tfim_dataset(8, [0.5, 1.5], 100, "z", seed=3)
    b = tfim_dataset(8, [0.5, 1.5], 100, "z", seed=3)
    c = tfim_dataset(8, [0.5, 1.5], 100, "z", seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert list(a.columns) == [f"z{i}" for i in range(8)] + ["h"]
    assert len(a) == 200 and set(a["h"]) == {0.5, 1.5}
    assert set(np.unique(a.iloc[:, :8])) <= {0, 1}


@pytest.mark.parametrize("basis", ["z", "x"])
def test_snapshot_histogram_follows_the_born_distribution(basis):
    chain = TFIMChain(4, 0.9, 1.0, "open")  # 16 outcomes: a chi-square test has power
    state = ground_state(chain)
    probs = state.born_z() if basis == "z" else state.born_x()
    bits = sample_snapshots(chain, 20_000, basis, torch.Generator().manual_seed(0))
    index = bits.astype(np.int64) @ (1 << np.arange(4))
    observed = np.bincount(index, minlength=16)
    keep = probs > 1e-9
    assert observed[~keep].sum() == 0  # outcomes with zero amplitude never appear
    assert chisquare(observed[keep], 20_000 * probs[keep] / probs[keep].sum()).pvalue > 1e-3


def test_ordered_snapshots_are_all_aligned_and_paramagnet_x_snapshots_all_plus():
    z = sample_snapshots(TFIMChain(8, 0.0), 50, "z", torch.Generator().manual_seed(0))
    assert set(z.sum(axis=1)) <= {0, 8}
    x = sample_snapshots(TFIMChain(8, 1e6), 50, "x", torch.Generator().manual_seed(0))
    assert x.sum() == 0


def test_bundled_datasets_load_offline_with_the_field_column():
    z = load_dataset("tfim_z")
    x = load_dataset("tfim_x")
    assert len(z) == len(x) == 5000 and z.shape[1] == x.shape[1] == 9
    assert sorted(set(z["h"])) == list(BUNDLED_FIELDS)
    assert detect_basis(z) == "z" and detect_basis(x) == "x"
    pd.testing.assert_frame_equal(z, load_dataset("tfim_z"))


def test_bad_arguments_and_tables_raise_naming_them():
    with pytest.raises(ConfigError, match="basis='y'"):
        tfim_dataset(8, [1.0], 10, "y")
    with pytest.raises(ConfigError, match="shots"):
        tfim_dataset(8, [1.0], 0, "z")
    with pytest.raises(ConfigError, match="fields"):
        tfim_dataset(8, [], 10, "z")
    frame = pd.DataFrame({"z0": [0, 2], "z1": [1, 0], "h": [1.0, 1.0]})
    with pytest.raises(ConfigError, match="bit column 'z0'"):
        snapshot_spins(frame, "z")
    with pytest.raises(ConfigError, match="basis"):
        detect_basis(pd.DataFrame({"a": [1]}))
