"""k-NN precision/recall/density/coverage against a loop-by-loop reading of the two papers."""
import numpy as np
import pandas as pd
import pytest

from qedm.errors import DataError
from qedm.evaluate.diversity import diversity_scores, prdc


def reference_prdc(real, fake, k):
    """Definitions written out point by point (Kynkaanniemi 2019, Naeem 2020)."""
    def radius(points, i):
        d = sorted(np.linalg.norm(points - points[i], axis=1))
        return d[k]  # d[0] is the point itself
    r_real = [radius(real, i) for i in range(len(real))]
    r_fake = [radius(fake, j) for j in range(len(fake))]
    dist = lambda a, b: np.linalg.norm(a - b)  # noqa: E731
    precision = np.mean([any(dist(f, r) <= r_real[i] for i, r in enumerate(real)) for f in fake])
    recall = np.mean([any(dist(r, f) <= r_fake[j] for j, f in enumerate(fake)) for r in real])
    density = np.mean([sum(dist(f, r) <= r_real[i] for i, r in enumerate(real)) for f in fake]) / k
    coverage = np.mean([min(dist(r, f) for f in fake) <= r_real[i] for i, r in enumerate(real)])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_matches_reference_definitions():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 3))
    fake = rng.normal(0.5, 1.3, size=(30, 3))
    got = prdc(real, fake, k=3)
    want = reference_prdc(real, fake, k=3)
    for key in want:
        assert got[key] == pytest.approx(want[key]), key


def test_identical_sets_score_one():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200), "c": rng.choice(list("ab"), 200)})
    res = diversity_scores(frame, frame)
    assert res.precision == 1.0 and res.recall == 1.0 and res.coverage == 1.0
    assert res.density >= 1.0  # every copy sits in its own ball plus possibly neighbours'


def test_disjoint_sets_score_zero():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200)})
    far = real + 100.0
    res = diversity_scores(real, far)
    assert (res.precision, res.recall, res.density, res.coverage) == (0.0, 0.0, 0.0, 0.0)


def test_independent_sample_and_mode_collapse():
    rng = np.random.default_rng(1)
    real = pd.DataFrame(rng.normal(size=(500, 4)), columns=list("abcd"))
    same = diversity_scores(real, pd.DataFrame(rng.normal(size=(500, 4)), columns=list("abcd")))
    assert same.precision > 0.8 and same.recall > 0.8 and same.coverage > 0.85
    assert 0.8 < same.density < 1.2
    collapsed = diversity_scores(real, pd.DataFrame(0.1 * rng.normal(size=(500, 4)), columns=list("abcd")))
    assert collapsed.precision > 0.9 and collapsed.recall < 0.3 and collapsed.coverage < 0.5


def test_subsampling_caps_rows_and_k_check():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"x": rng.normal(size=300)})
    res = diversity_scores(real, real, max_rows=100)
    assert res.n_real == 100 and res.n_synthetic == 100
    with pytest.raises(DataError, match="k=5"):
        diversity_scores(real.iloc[:4], real)
