"""The HTML report's privacy section: qedm's DCR / MIA next to SDMetrics' protection scores."""

import numpy as np
import pandas as pd

from qedm.report.html import render_html
from qedm.report.summary import compare_to_hybrid, comparison_sentences, summarise


def test_report_has_a_privacy_section_with_every_privacy_score():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(size=40), "kind": rng.choice(["x", "y"], 40)})
    rows = [{"model": model, "seed": seed, "status": "ok", "error": "", "mia_auc": 0.5 + 0.02 * seed + shift,
             "sdm_dcr_overfitting_protection": 0.9, "sdm_disclosure_protection": 0.75, "fit_seconds": 1.0}
            for model, shift in (("hybrid", 0.0), ("classical", 0.1)) for seed in (0, 1)]
    results = pd.DataFrame(rows)
    summary = summarise(results, ["hybrid", "classical"])
    comparison = compare_to_hybrid(summary)
    config = {"data": "toy", "seeds": [0, 1], "test_size": 0.3, "epochs": 1, "target": "kind", "n_rows": 40}
    html = render_html(results, summary, comparison, comparison_sentences(comparison, summary), config, real, {}, {})
    section = html[html.index("<h2 id='privacy'>"):]
    table = section[section.index("<table id='privacy-table'>"):section.index("</table>")]
    assert table.count("<tr>") == 3  # header + two models
    assert "sdm_disclosure_protection" in table and "0.75 ± 0" in table
    assert "0.51 ± 0.014" in table  # hybrid mia_auc over seeds 0.50, 0.52
