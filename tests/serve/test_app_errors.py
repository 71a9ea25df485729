"""A sampling failure is a 500 with an id: the traceback goes to the log, never to the client."""

from __future__ import annotations

import asyncio
import logging
import queue

import httpx

from qedm.serve.app import ServeState, create_app
from qedm.serve.keys import KeyStore, add_key
from qedm.serve.models import ServedModel
from qedm.serve.quota import QuotaStore


class BrokenModel:
    def sample(self, n, **kwargs):
        raise RuntimeError("secret internals of the sampler")


def test_sampling_failure_is_500_with_id_logged_and_rows_refunded(tmp_path, caplog):
    keys_path = tmp_path / "keys.toml"
    key = add_key(keys_path, "k", ["broken"], rows_per_day=100, requests_per_minute=100)
    replicas = queue.Queue()
    replicas.put(BrokenModel())
    model = ServedModel("broken", tmp_path, {"columns": ["a"], "kinds": {"a": "numeric"}}, replicas=replicas)
    keys = KeyStore.load(keys_path)
    state = ServeState({"broken": model}, keys, QuotaStore(tmp_path / "q.sqlite"), workers=1)
    app = create_app(state)

    async def call():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/v1/models/broken/samples", json={"n": 10},
                                     headers={"Authorization": f"Bearer {key}"})

    with caplog.at_level(logging.ERROR, logger="qedm.serve"):
        response = asyncio.run(call())
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"detail", "error_id"} and len(body["error_id"]) == 12
    assert "secret internals" not in response.text and "Traceback" not in response.text
    record = next(r for r in caplog.records if body["error_id"] in r.getMessage())
    assert "secret internals" in str(record.exc_info[1])
    assert key not in caplog.text
    assert state.quota.usage(keys.specs["k"])["rows_today"] == 0  # failed requests cost no rows
    assert replicas.qsize() == 1  # the replica came back
