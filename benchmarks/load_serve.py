"""Load test of `qedm serve`: many concurrent clients drawing 100-row batches from a 30-column hybrid model.

Starts the real server (a subprocess on a free loopback port), drives `--clients` concurrent
clients for `--seconds` (each paced to share `--rate` requests/s in total; `--rate 0` sends
back to back), and reports throughput, p50/p99 latency of answered requests, every status code,
and checks that every 429 the clients saw is counted by the server's /metrics. The reference,
measured in the same run, is the model's in-process `sample(100)` throughput on one thread.

    python benchmarks/load_serve.py --seconds 60 --clients 50 --rate 3 --out load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def build_model(path: Path, epochs: int) -> None:
    """A hybrid QEDM on breast_cancer's 30 numeric columns (quality is not what is measured)."""
    from qedm import QEDM
    from qedm.data import load_dataset

    table = load_dataset("breast_cancer").drop(columns=["target"])
    assert table.shape[1] == 30
    QEDM(denoiser="hybrid", epochs=epochs).fit(table).save(path)


def reference_rows_per_second(path: Path, repeats: int = 10) -> float:
    import torch

    from qedm import QEDM

    torch.set_num_threads(1)
    model = QEDM.load(path)
    model.sample(100, seed=0)
    started = time.perf_counter()
    for seed in range(repeats):
        model.sample(100, seed=seed)
    return 100 * repeats / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def client(http, key: str, interval: float, stop_at: float, budget: list[int], records: list, offset: float):
    """One client: a request every `interval` s (from its schedule, not from the last answer)."""
    next_at = time.monotonic() + offset
    seed = 0
    while budget[0] > 0:
        now = time.monotonic()
        if next_at > now:
            await asyncio.sleep(min(next_at, stop_at) - now)
        if time.monotonic() >= stop_at:
            return
        budget[0] -= 1
        seed += 1
        started = time.monotonic()
        try:
            response = await http.post("/v1/models/bc30/samples", json={"n": 100, "seed": seed},
                                       headers={"Authorization": f"Bearer {key}"})
            status, retry = response.status_code, response.headers.get("retry-after")
            rows = len(response.json()["rows"]) if status == 200 else 0
        except Exception as exc:  # noqa: BLE001 - a transport failure is a result too
            status, retry, rows = f"error:{type(exc).__name__}", None, 0
        records.append((status, time.monotonic() - started, rows, retry))
        next_at += interval
        if status == 429 and retry:  # a polite client waits as told
            next_at = max(next_at, time.monotonic() + int(retry))


async def drive(url: str, keys: list[str], clients: int, rate: float, seconds: float, max_requests: int):
    import httpx

    records: list = []
    budget = [max_requests]
    interval = clients / rate if rate > 0 else 0.0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(client(http, keys[i % len(keys)], interval, stop_at, budget, records,
                                      interval * i / clients) for i in range(clients)))
        elapsed = time.monotonic() - started
    return records, elapsed


def server_counts(url: str) -> dict:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    counts = {"requests": {}, "rejections": 0.0}
    for family in text_string_to_metric_families(httpx.get(url + "/metrics").text):
        for sample in family.samples:
            if sample.name == "qedm_requests_total":
                counts["requests"][sample.labels["code"]] = sample.value
            elif sample.name == "qedm_quota_rejections_total":
                counts["rejections"] += sample.value
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=4.0, help="requests/s offered in total (0: back to back)")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--limited-rpm", type=int, default=5,
                        help="one client in ten uses a key with this rate limit, so 429s occur and are checked")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not 1 <= args.clients <= 1000 or not 0 < args.seconds <= 600:
        parser.error("--clients must be 1..1000 and --seconds 0..600")

    from qedm.serve.keys import add_key

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_model(tmp / "bc30", args.epochs)
        reference = reference_rows_per_second(tmp / "bc30")
        keys_path = tmp / "keys.toml"
        open_key = add_key(keys_path, "load", ["bc30"], rows_per_day=10**9, requests_per_minute=10**6)
        limited_key = add_key(keys_path, "limited", ["bc30"], rows_per_day=10**9,
                              requests_per_minute=args.limited_rpm)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        log = open(tmp / "server.log", "wb")
        server = subprocess.Popen([sys.executable, "-m", "qedm.cli", "serve", f"bc30={tmp / 'bc30'}", "--keys",
                                   str(keys_path), "--port", str(port), "--workers", str(args.workers)],
                                  stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            import httpx

            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"server did not start:\n{(tmp / 'server.log').read_text()}") from None
                    time.sleep(0.3)
            load_before = os.getloadavg()
            keys = [limited_key if i % 10 == 0 else open_key for i in range(10)]
            records, elapsed = asyncio.run(drive(url, keys, args.clients, args.rate, args.seconds,
                                                 args.max_requests))
            load_after = os.getloadavg()
            counts = server_counts(url)
        finally:
            server.terminate()
            server.wait(60)
            log.close()

    statuses: dict[str, int] = {}
    for status, *_ in records:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    ok = [latency for status, latency, *_ in records if status == 200]
    rows = sum(r[2] for r in records)
    too_many = [r for r in records if r[0] == 429]
    result = {
        "clients": args.clients, "offered_rate_rps": args.rate, "seconds": round(elapsed, 1),
        "workers": args.workers, "requests": len(records), "statuses": statuses,
        "rows_per_second": round(rows / elapsed, 1),
        "p50_seconds": round(float(np.percentile(ok, 50)), 3) if ok else None,
        "p99_seconds": round(float(np.percentile(ok, 99)), 3) if ok else None,
        "server_5xx": sum(v for k, v in statuses.items() if k.startswith("5") or k.startswith("error")),
        "all_429_with_retry_after": all(r[3] and int(r[3]) >= 1 for r in too_many),
        "429_client_vs_server": [len(too_many), counts["rejections"]],
        "200_client_vs_server": [len(ok), counts["requests"].get("200", 0.0)],
        "reference_in_process_rows_per_second": round(reference, 1),
        "ratio_to_in_process": round(rows / elapsed / reference, 2),
        "loadavg_1min_before_after": [round(load_before[0], 1), round(load_after[0], 1)],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
