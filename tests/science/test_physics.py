"""Physics checks: estimators against exact values, error bars, TV floor, the nearest-field baseline."""

import numpy as np
import pandas as pd
import pytest

from qedm.errors import ConfigError
from qedm.science import TFIMChain, ground_state, nearest_field_baseline, physics_report, tfim_dataset
from qedm.science.physics import evaluate_tfim, total_variation


def test_exact_snapshots_agree_with_exact_values_within_error_bars():
    z = tfim_dataset(8, [0.6, 1.0, 1.4], 2000, "z", seed=1)
    x = tfim_dataset(8, [0.6, 1.0, 1.4], 2000, "x", seed=2)
    report = physics_report(z, other_basis=x)
    values = report[~report["observable"].str.startswith("tv_")]
    assert set(values["observable"]) == {"abs_mz", "zz", "x", "energy_per_site"}
    assert (values["z_score"] < 4.5).all()  # 12 estimates, each within 4.5 sigma
    assert (values["stderr"] > 0).all() and (values["stderr"] < 0.03).all()
    tv = report[report["observable"].str.startswith("tv_")]
    # samples of the exact state score TV near the finite-shot floor
    assert ((tv["estimate"] - tv["tv_floor"]).abs() < 5 * tv["stderr"] + 0.01).all()


def test_total_variation_is_zero_for_the_exact_histogram_and_one_for_disjoint_support():
    probs = np.zeros(4)
    probs[[0, 3]] = 0.5
    spins = np.array([[1, 1], [-1, -1]])
    assert total_variation(spins, probs) == pytest.approx(0.0)
    assert total_variation(np.array([[-1, 1]]), probs) == pytest.approx(1.0)


def test_wrong_field_snapshots_are_flagged():
    # Snapshots from h=0.5 labelled as h=1.2: |M_z| misses the exact value by many error bars.
    wrong = tfim_dataset(8, [0.5], 1000, "z", seed=0).assign(h=1.2)
    report = physics_report(wrong).set_index("observable")
    exact = ground_state(TFIMChain(8, 1.2)).observables()
    assert report.loc["abs_mz", "exact"] == pytest.approx(exact["abs_mz"])
    assert report.loc["abs_mz", "z_score"] > 10


def test_nearest_field_baseline_and_evaluate_tfim():
    train = tfim_dataset(8, [0.5, 0.8, 1.5], 300, "z", seed=0)
    base = nearest_field_baseline(train, [0.9, 1.4], shots=100, seed=0)
    assert len(base) == 200 and set(base["h"]) == {0.9, 1.4}
    generated = tfim_dataset(8, [0.9], 400, "z", seed=5)
    report = evaluate_tfim(train, generated)
    assert set(report["source"]) == {"synthetic", "nearest_field_baseline"}
    rows = report.set_index(["source", "observable"])
    assert rows.loc[("nearest_field_baseline", "abs_mz"), "shots"] == 400
    # exact samples at h=0.9 beat the h=0.8 stand-in on the magnetisation
    assert rows.loc[("synthetic", "abs_mz"), "abs_error"] < rows.loc[("nearest_field_baseline", "abs_mz"), "abs_error"]


def test_report_errors_name_the_problem():
    z = tfim_dataset(8, [1.0], 10, "z")
    with pytest.raises(ConfigError, match="other basis"):
        physics_report(z, other_basis=z)
    with pytest.raises(ConfigError, match="field column 'h'"):
        physics_report(z.drop(columns="h"))
    with pytest.raises(ConfigError, match="no x-basis snapshots at h=1"):
        physics_report(z, other_basis=tfim_dataset(8, [2.0], 10, "x"))
    with pytest.raises(ConfigError, match="different bases"):
        evaluate_tfim(z, tfim_dataset(8, [1.0], 10, "x"))
    with pytest.raises(ConfigError, match="field column"):
        nearest_field_baseline(pd.DataFrame({"z0": [0]}), [1.0])
