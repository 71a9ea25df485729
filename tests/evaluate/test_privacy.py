"""Privacy: copies of training rows are found and flagged; fresh samples look like the holdout."""
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.neighbors import NearestNeighbors

from qedm.evaluate.features import encode_tables, prepare_tables
from qedm.evaluate.privacy import privacy_scores


@pytest.fixture(scope="module")
def split():
    frame = load_breast_cancer(as_frame=True).frame
    idx = np.random.default_rng(0).permutation(len(frame))
    third = len(frame) // 3
    # train / holdout / a fresh real sample standing in for an ideal generator
    return frame.iloc[idx[:third]], frame.iloc[idx[third:2 * third]], frame.iloc[idx[2 * third:]]


def test_copy_of_train_is_flagged(split):
    train, holdout, _ = split
    res = privacy_scores(train, holdout, train.copy())
    assert res.exact_copy_share == 1.0
    assert sorted(res.exact_copy_indices) == sorted(train.index)
    assert res.dcr_synthetic_median == 0.0
    assert res.mia_auc == 1.0
    assert res.flagged and len(res.reasons) == 3


def test_fresh_sample_is_not_flagged(split):
    train, holdout, fresh = split
    res = privacy_scores(train, holdout, fresh)
    assert res.exact_copy_share == 0.0 and res.exact_copy_indices == []
    assert 0.35 < res.mia_auc < 0.65
    assert 0.3 < res.share_closer_than_holdout_median < 0.7
    assert not res.flagged, res.reasons


def test_partial_copies_counted_exactly(split):
    train, holdout, fresh = split
    copied = train.iloc[:30]
    syn = pd.concat([copied, fresh.iloc[:70]], ignore_index=True)
    res = privacy_scores(train, holdout, syn)
    assert res.exact_copy_share == pytest.approx(0.3)
    assert res.exact_copy_indices == list(range(30))
    assert res.flagged


def test_dcr_matches_sklearn_nearest_neighbours(split):
    train, holdout, fresh = split
    res = privacy_scores(train, holdout, fresh)
    tables, kinds = prepare_tables({"train": train, "holdout": holdout, "synthetic": fresh})
    train_x, syn_x, hold_x = encode_tables(tables["train"], tables["synthetic"], tables["holdout"], kinds=kinds)
    nn = NearestNeighbors(n_neighbors=1).fit(train_x)
    dcr_syn = nn.kneighbors(syn_x)[0][:, 0]
    dcr_hold = nn.kneighbors(hold_x)[0][:, 0]
    assert res.dcr_synthetic_median == pytest.approx(np.median(dcr_syn), rel=1e-6)
    assert res.dcr_holdout_p5 == pytest.approx(np.percentile(dcr_hold, 5), rel=1e-6)
    assert res.share_closer_than_holdout_p5 == pytest.approx(np.mean(dcr_syn < np.percentile(dcr_hold, 5)))
