"""The real `qedm serve` process on loopback, driven over HTTP with httpx."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import signal
import socket
import threading
import time

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from qedm import QEDM
from qedm.serve.keys import add_key

from .conftest import ServerProcess

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)", "target"]


@pytest.fixture(scope="module")
def served(tmp_path_factory, iris_model_dir):
    """A run directory with a card, five keys, and the server over it (stopped at the end)."""
    root = tmp_path_factory.mktemp("serve")
    run_dir = root / "runs" / "iris-run"
    shutil.copytree(iris_model_dir, run_dir / "model")
    (run_dir / "card.json").write_text(json.dumps({"title": "Iris test model", "intended_use": "tests",
                                                   "metrics": {"nested": 1}}))
    keys_path = root / "keys.toml"
    keys = {name: add_key(keys_path, name, models, rows_per_day=rows, requests_per_minute=rpm)
            for name, models, rows, rpm in [("full", ["iris"], 10**7, 10**6), ("other", ["wine"], 100, 100),
                                            ("tight", ["iris"], 500, 10**6), ("slow", ["*"], 10**6, 3)]}
    server = ServerProcess([f"iris={run_dir}", "--keys", str(keys_path), "--quota-db", str(root / "q.sqlite"),
                            "--workers", "2", "--max-rows", "40000"], root / "server.log")
    state = {"server": server}
    yield server, keys, run_dir, state
    state["server"].terminate()


def _auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def _post(server, key, body, **kwargs):
    content = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(f"{server.url}/v1/models/iris/samples", content=content, headers=_auth(key),
                      timeout=60, **kwargs)


def test_health_and_model_listing_with_card(served):
    server, keys, *_ = served
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok", "models": 1}
    assert httpx.get(server.url + "/v1/models").status_code == 401
    listing = httpx.get(server.url + "/v1/models", headers=_auth(keys["full"])).json()["models"]
    assert [m["name"] for m in listing] == ["iris"]
    iris = listing[0]
    assert iris["columns"] == COLUMNS
    assert iris["kinds"] == {**{c: "numeric" for c in COLUMNS[:4]}, "target": "condition"}
    assert iris["condition"] == {"column": "target", "classes": ["setosa", "versicolor", "virginica"]}
    assert iris["card"] == {"source": "card.json", "title": "Iris test model", "intended_use": "tests"}
    assert httpx.get(server.url + "/v1/models", headers=_auth(keys["other"])).json() == {"models": []}


def test_binds_to_loopback_only_by_default(served):
    server, *_ = served
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing address
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{address}:{server.port}/healthz", timeout=5)


def test_missing_wrong_and_foreign_keys(served):
    server, keys, *_ = served
    url = f"{server.url}/v1/models/iris/samples"
    missing = httpx.post(url, json={"n": 3})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert httpx.post(url, json={"n": 3}, headers=_auth(keys["full"] + "x")).status_code == 401
    assert httpx.post(url, json={"n": 3}, headers={"X-API-Key": keys["full"]}).status_code == 200
    forbidden = httpx.post(url, json={"n": 3}, headers=_auth(keys["other"]))
    assert forbidden.status_code == 403 and "may not read model 'iris'" in forbidden.json()["detail"]
    unknown = httpx.post(f"{server.url}/v1/models/nope/samples", json={"n": 3}, headers=_auth(keys["full"]))
    assert unknown.status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"n": 0}, "n"), ({"n": 40001}, "n"), ({"n": "5"}, "n"), ({}, "n"), ({"n": True}, "n"),
    ({"n": 5, "seed": -1}, "seed"), ({"n": 5, "seed": 1.5}, "seed"), ({"n": 5, "seed": 2**62}, "seed"),
    ({"n": 5, "extra": 1}, "extra"), ({"n": 5, "format": "xml"}, "format"),
    ({"n": 5, "conditions": {"colour": "red"}}, "conditions.colour"),
    ({"n": 5, "conditions": {"target": "daisy"}}, "conditions.target"),
    ("not json", "body"), ([1, 2], "body"),
])
def test_invalid_requests_are_422_naming_the_field(served, body, field):
    server, keys, *_ = served
    response = _post(server, keys["full"], body)
    assert response.status_code == 422
    assert response.json()["field"] == field and response.json()["detail"].startswith(field)


def test_same_seed_same_rows_as_the_library(served):
    server, keys, run_dir, _ = served
    first = _post(server, keys["full"], {"n": 20, "seed": 7})
    second = _post(server, keys["full"], {"n": 20, "seed": 7})
    assert first.status_code == 200 and first.content == second.content
    payload = first.json()
    assert payload["seed"] == 7 and payload["columns"] == COLUMNS and len(payload["rows"]) == 20
    served_rows = pd.DataFrame(payload["rows"], columns=COLUMNS)
    expected = QEDM.load(run_dir / "model").sample(20, seed=7)
    pd.testing.assert_frame_equal(served_rows, expected, check_dtype=False, rtol=1e-12)
    csv = _post(server, keys["full"], {"n": 20, "seed": 7, "format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(csv.text)), expected, check_dtype=False, rtol=1e-12)
    other = _post(server, keys["full"], {"n": 20, "seed": 8}).json()
    assert other["rows"] != payload["rows"]
    # Without a seed the server draws one and says which: asking for it again gives the same rows.
    unseeded = _post(server, keys["full"], {"n": 5})
    seed = int(unseeded.headers["x-qedm-seed"])
    assert _post(server, keys["full"], {"n": 5, "seed": seed}).content == unseeded.content
    setosa = _post(server, keys["full"], {"n": 30, "seed": 1, "conditions": {"target": "setosa"}}).json()
    assert {row["target"] for row in setosa["rows"]} == {"setosa"}


def test_daily_quota_exact_under_concurrency(served):
    server, keys, *_ = served

    async def burst():
        async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=_auth(keys["tight"])) as client:
            return await asyncio.gather(*(client.post("/v1/models/iris/samples", json={"n": 30, "seed": i})
                                          for i in range(25)))

    responses = asyncio.run(burst())
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 16 + [429] * 9  # 16 x 30 = 480 rows fit in 500; never a 17th
    refused = [r for r in responses if r.status_code == 429]
    assert all(r.json()["limit"] == "rows_per_day" and int(r.headers["retry-after"]) >= 1 for r in refused)
    usage = httpx.get(server.url + "/v1/usage", headers=_auth(keys["tight"])).json()
    assert usage["rows_today"] == 480 and usage["rows_left_today"] == 20 and "hash" not in json.dumps(usage)


def test_rate_limit_is_429_with_retry_after(served):
    server, keys, *_ = served
    for _ in range(3):  # a minute boundary between the requests would split them over two windows
        minute = int(time.time() // 60)
        responses = [_post(server, keys["slow"], {"n": 1}) for _ in range(5)]
        if int(time.time() // 60) == minute:
            break
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in responses[3:])
    assert responses[3].json()["limit"] == "requests_per_minute"


def _metric(server, name: str, **labels) -> float:
    text = httpx.get(server.url + "/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_requests_rows_latency_and_rejections(served):
    server, keys, *_ = served
    before = {"ok": _metric(server, "qedm_requests_total", model="iris", code="200"),
              "rows": _metric(server, "qedm_rows_total", model="iris"),
              "seen": _metric(server, "qedm_request_seconds_count", model="iris"),
              "bad": _metric(server, "qedm_requests_total", model="iris", code="422")}
    for n in (3, 4, 5):
        assert _post(server, keys["full"], {"n": n}).status_code == 200
    assert _post(server, keys["full"], {"n": 0}).status_code == 422
    assert _metric(server, "qedm_requests_total", model="iris", code="200") == before["ok"] + 3
    assert _metric(server, "qedm_rows_total", model="iris") == before["rows"] + 12
    assert _metric(server, "qedm_request_seconds_count", model="iris") == before["seen"] + 3
    assert _metric(server, "qedm_requests_total", model="iris", code="422") == before["bad"] + 1
    rejected = _metric(server, "qedm_quota_rejections_total", model="iris", limit="rows_per_day")
    assert rejected >= 9  # the concurrency test's refusals (that test ran first)


def test_one_large_request_does_not_stall_small_ones(served):
    server, keys, *_ = served
    finished: dict[str, float] = {}

    def large():
        assert _post(server, keys["full"], {"n": 40000, "seed": 1}).status_code == 200
        finished["large"] = time.monotonic()

    started = time.monotonic()
    thread = threading.Thread(target=large)
    thread.start()
    time.sleep(0.1)
    small = []
    for i in range(3):
        begin = time.monotonic()
        assert _post(server, keys["full"], {"n": 5, "seed": i}).status_code == 200
        small.append(time.monotonic() - begin)
    thread.join(120)
    # Each small request is answered in a fraction of the large one's time (the other worker serves it).
    assert max(small) < 0.5 * (finished["large"] - started)


def test_keys_never_in_the_log(served):
    server, keys, *_ = served
    log = server.log()
    assert "POST /v1/models/iris/samples" in log  # the access log is on
    assert not any(key in log for key in keys.values())


def _usage(server, key: str) -> dict:
    return httpx.get(server.url + "/v1/usage", headers=_auth(key), timeout=30).json()


def test_sigterm_finishes_in_flight_requests_and_counts_survive_restart(served):
    """The module's last test: it stops the server with SIGTERM mid-request, then restarts it."""
    server, keys, _, state = served
    before = _usage(server, keys["full"])["rows_today"]
    result = {}
    thread = threading.Thread(target=lambda: result.update(r=_post(server, keys["full"], {"n": 30000, "seed": 3})))
    thread.start()
    deadline = time.monotonic() + 30
    while _usage(server, keys["full"])["rows_today"] != before + 30000:  # admitted, now sampling
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    thread.join(120)
    response = result["r"]
    assert response.status_code == 200 and len(response.json()["rows"]) == 30000
    # uvicorn re-raises the signal after its graceful shutdown, so the status says "ended by SIGTERM".
    assert server.terminate() in (0, -signal.SIGTERM)
    log = server.log()
    assert "Waiting for connections to close" in log  # the request was still in flight at SIGTERM
    assert "Application shutdown complete" in log and "Finished server process" in log
    restarted = state["server"] = server.restart()
    assert _usage(restarted, keys["full"])["rows_today"] == before + 30000
    assert _usage(restarted, keys["tight"])["rows_today"] == 480  # the concurrency test's rows
    assert _post(restarted, keys["tight"], {"n": 21}).status_code == 429
    assert not any(key in restarted.log() for key in keys.values())
