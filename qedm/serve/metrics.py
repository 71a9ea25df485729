"""Prometheus collectors of one server, in their own registry (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServeMetrics:
    """Requests (by model and status code), rows, latency, errors and quota rejections, per model."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("qedm_requests", "sampling requests answered", ["model", "code"],
                                registry=self.registry)
        self.rows = Counter("qedm_rows", "synthetic rows returned", ["model"], registry=self.registry)
        self.latency = Histogram("qedm_request_seconds", "time to answer an admitted sampling request",
                                 ["model"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("qedm_errors", "sampling failures (500)", ["model"], registry=self.registry)
        self.rejections = Counter("qedm_quota_rejections", "requests refused by a quota (429)",
                                  ["model", "limit"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
