"""Retry, time-out and fall back: a backend wrapper that never loses a batch.

A cloud device call can fail or hang. `ResilientBackend(primary)` runs each call on a worker
thread (so `submit` returns at once and classical work overlaps the circuit batch), waits at most
`timeout_s`, retries `retries` times, and past that budget runs the batch on the exact simulator
(`fallback`, default the statevector backend): the run goes on with every row, and each fallback
is recorded in `fallbacks` (method, rows, reason) and logged as a warning.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from qedm.errors import ConfigError
from qedm.quantum.backends.base import BackendBase

log = logging.getLogger("qedm.quantum")


class ResilientBackend(BackendBase):
    """`primary` with retries, a per-call timeout and an exact-simulator fallback."""

    owns_estimate = True  # shots and mitigation live here, not in the VQC's estimator

    def __init__(self, primary, retries: int = 2, timeout_s: float | None = None, fallback=None) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"retries must be a non-negative integer, got {retries!r}")
        if timeout_s is not None and not timeout_s > 0:
            raise ConfigError(f"timeout_s must be positive or None, got {timeout_s!r}")
        super().__init__(primary.shots)
        from qedm.quantum.backends import make_backend

        self.primary, self.retries, self.timeout_s = primary, retries, timeout_s
        self.fallback = fallback if fallback is not None else make_backend("statevector", None)
        self.name = primary.name
        self.fallbacks: list[dict] = []
        self.failures = 0

    def _call(self, method: str, circuit, x, weights, *args):
        reason = ""
        for _attempt in range(self.retries + 1):
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qedm-device")  # a hung call blocks no retry
            future = pool.submit(getattr(self.primary, method), circuit, x, weights, *args)
            pool.shutdown(wait=False)
            try:
                return future.result(timeout=self.timeout_s)
            except FutureTimeout:
                future.cancel()
                reason = f"timed out after {self.timeout_s} s"
            except Exception as exc:  # a device error of any kind: retry, then fall back
                reason = f"{type(exc).__name__}: {exc}"
            self.failures += 1
        record = {"method": method, "rows": int(x.shape[0]), "reason": reason, "attempts": self.retries + 1,
                  "fallback": self.fallback.name}
        self.fallbacks.append(record)
        log.warning("device %s failed %d times (%s); ran %d rows on the exact %s simulator",
                    self.name, self.retries + 1, reason, record["rows"], self.fallback.name)
        return getattr(self.fallback, method)(circuit, x, weights, *args)

    def probabilities(self, circuit, x, weights, shift=None):
        return self._call("probabilities", circuit, x, weights, shift)

    def expectations(self, circuit, x, weights, shift=None):
        return self._call("expectations", circuit, x, weights, shift)

    def estimate(self, circuit, x, weights, shift=None, generator=None):
        return self._call("estimate", circuit, x, weights, shift, generator)

    def submit(self, circuit, x, weights, shift=None, generator=None) -> Future:
        """Start `estimate` in the background; the Future's result is [B, m] (fallback included)."""
        pool = ThreadPoolExecutor(max_workers=1)
        future = pool.submit(self.estimate, circuit, x, weights, shift, generator)
        pool.shutdown(wait=False)
        return future

    def describe(self) -> dict:
        return {**self.primary.describe(), "retries": self.retries, "timeout_s": self.timeout_s,
                "fallbacks": len(self.fallbacks)}

    def __repr__(self) -> str:
        return f"ResilientBackend({self.primary!r}, retries={self.retries}, timeout_s={self.timeout_s})"
