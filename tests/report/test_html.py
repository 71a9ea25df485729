"""The HTML report: self-contained, plots decode as PNG, tables present, no advantage claimed."""

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from qedm.report.html import render_html
from qedm.report.summary import compare_to_hybrid, comparison_sentences, summarise

CHROMIUM = "/usr/bin/chromium"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ReportParser(HTMLParser):
    """Collects img sources, table ids with their body row counts, and the visible text."""

    def __init__(self):
        super().__init__()
        self.images, self.tables, self.text, self.tags = [], {}, [], []
        self._table, self._in_body = None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "table":
            self._table = attrs.get("id", f"table{len(self.tables)}")
            self.tables[self._table] = 0
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[self._table] += 1

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        self.text.append(data)


def decode_png(src: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    raw = base64.b64decode(src[len(prefix):], validate=True)
    assert raw.startswith(PNG_MAGIC)
    return mpimg.imread(io.BytesIO(raw), format="png")


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80),
                         "kind": rng.choice(["x", "y"], 80)})
    real["b"] += real["a"]
    synthetic = {"hybrid": real.sample(80, replace=True, random_state=1).reset_index(drop=True),
                 "gaussian_copula": real.sample(80, replace=True, random_state=2).reset_index(drop=True)}
    rows = []
    for seed in (0, 1):
        rows.append({"model": "hybrid", "seed": seed, "status": "ok", "error": "", "params_classical": 900,
                     "params_quantum": 54, "params_total": 954, "qubits": 6, "circuit_depth": 12,
                     "circuit_evals_per_step": 64, "fit_seconds": 3.0 + seed, "c2st_auc": 0.7 + 0.01 * seed})
        rows.append({"model": "gaussian_copula", "seed": seed, "status": "ok", "error": "",
                     "fit_seconds": 0.1, "c2st_auc": 0.6})
        rows.append({"model": "ctgan", "seed": seed, "status": "failed", "error": "ValueError: <script>x</script>"})
    results = pd.DataFrame(rows)
    summary = summarise(results, ["hybrid", "gaussian_copula", "ctgan"])
    histories = {"hybrid": {0: [{"epoch": e, "loss": 1.0 / e} for e in range(1, 6)]}}
    config = {"data": "toy", "seeds": [0, 1], "test_size": 0.3, "epochs": 5, "target": "kind", "n_rows": 80}
    comparison = compare_to_hybrid(summary)
    html = render_html(results, summary, comparison, comparison_sentences(comparison, summary), config, real,
                       synthetic, histories)
    parser = ReportParser()
    parser.feed(html)
    return html, parser


def test_report_is_self_contained_with_decodable_plots(report):
    html, parser = report
    assert len(parser.images) == 3  # marginals, correlations, loss curves
    for src in parser.images:
        pixels = decode_png(src)
        assert pixels.shape[0] > 50 and pixels.shape[1] > 50 and pixels.std() > 0.01  # not blank
    assert not re.search(r"(src|href)=['\"](?!data:)", html)  # nothing outside the file
    assert "script" not in parser.tags  # the error text with <script> was escaped


def test_report_tables_and_honest_wording(report):
    html, parser = report
    assert parser.tables == {"metrics-table": 2, "efficiency-table": 3, "verdict-table": 2,
                           "results-table": 6}
    text = " ".join(parser.text)
    assert "classical statevector simulator" in text
    assert "0.705 ± 0.0071" in text  # hybrid c2st_auc over seeds 0.70, 0.71 (std ddof=1)
    # 0.705 vs 0.6, lower is better: Welch's t = 21 on 1 df, p = 0.03: a measured loss
    assert "loss vs gaussian_copula (0.6 ± 0; diff 95% CI [+0.0415, +0.169], Welch p=0.03)" in text
    # 3.5 +- 0.71 vs 0.1 over 2 seeds: t = 6.8 on 1 df, p = 0.09, not significant at 0.05: a tie
    assert ("fit_seconds (lower is better): hybrid 3.5 ± 0.71 [95% CI -2.853, 9.853]; tie vs gaussian_copula "
            "(0.1 ± 0; diff 95% CI [-2.95, +9.75], Welch p=0.093).") in text
    assert all(m.group(1) == "no " for m in re.finditer(r"(\w+ )?quantum advantage", text))
    assert "ctgan seed 0: ValueError: <script>x</script>" in text


def run_chromium(args, tmp_path, timeout=90):
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
                    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    html, _ = report
    # A probe script records each image's decoded width once the page has loaded.
    probe = ("<script>window.addEventListener('load', () => document.body.setAttribute('data-widths',"
             " Array.from(document.images).map(i => i.naturalWidth).join(',')));</script></body>")
    page = tmp_path / "report.html"
    page.write_text(html.replace("</body>", probe))
    done = run_chromium(["--virtual-time-budget=5000", "--dump-dom", page.as_uri()], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = ReportParser()
    dom.feed(done.stdout)
    assert dom.tables == {"metrics-table": 2, "efficiency-table": 3, "verdict-table": 2,
                           "results-table": 6}
    assert len(dom.images) == 3 and all(decode_png(src).size for src in dom.images)
    widths = re.search(r'data-widths="([\d,]*)"', done.stdout)
    assert widths, "the page's load event did not fire"
    assert all(int(w) > 50 for w in widths.group(1).split(","))  # the browser decoded every PNG

    shot = tmp_path / "shot.png"
    done = run_chromium([f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()], tmp_path)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert mpimg.imread(shot).std() > 0.01  # something was drawn
