"""The demo end to end (the README's `make demo`), at 2 epochs: both models, scores and ablations."""

import json

from qedm.demo import run_demo


def test_demo_writes_both_models_scores_and_the_ablations(tmp_path):
    result = run_demo(tmp_path / "demo", epochs=2, seed=0)
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert set(summary["models"]) == {"hybrid", "classical"}
    for name in ("hybrid", "classical"):
        assert 0.0 <= summary["models"][name]["fidelity"] <= 1.0
        assert (tmp_path / "demo" / name).is_dir()
    # The default config scales batch size with the rows (None in the config): the ablation's
    # retraining must use the batch size the fit used.
    assert summary["configs"]["hybrid"]["batch_size"] is None
    assert "ablation_mean_loss_delta" in summary["models"]["hybrid"]
    assert "circuit" in result.verdict()
