"""Retry, time-out and fall back, with chunks in flight at once: a backend wrapper that never loses a batch.

A cloud device call can fail or hang. `ResilientBackend(primary)` runs each call on a worker
thread, waits at most `timeout_s`, retries `retries` times, and past that budget runs the batch on
the exact simulator (`fallback`, default the statevector backend): the run goes on with every
row, and each fallback is recorded in `fallbacks` (method, rows, reason) and logged as a warning.
Asynchronous submission: with `chunk_rows`, a call's rows are split into chunks submitted at once
to `workers` threads (each chunk retried and fallen back on its own, rows reassembled in order),
so the chunks' device latencies overlap each other and the caller's work on finished chunks;
`submit` returns a Future at once, for callers with classical work that does not need the result.
Shot noise stays reproducible: each chunk gets its own generator, seeded in order from the call's.
Every worker thread runs in the caller's autograd mode (`torch.no_grad` is per thread): without
that, a sampler's no-grad call would record the emulator's whole graph on the workers, several
times the time and memory.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import torch

from qedm.errors import ConfigError
from qedm.quantum.backends.base import BackendBase

log = logging.getLogger("qedm.quantum")


def in_caller_grad_mode(fn):
    """`fn` wrapped to run in the calling thread's autograd mode, wherever it is later called."""
    enabled = torch.is_grad_enabled()

    def run(*args):
        with torch.set_grad_enabled(enabled):
            return fn(*args)

    return run


class ResilientBackend(BackendBase):
    """`primary` with retries, a per-call timeout and an exact-simulator fallback."""

    owns_estimate = True  # shots and mitigation live here, not in the VQC's estimator

    def __init__(self, primary, retries: int = 2, timeout_s: float | None = None, fallback=None,
                 chunk_rows: int | None = None, workers: int = 2) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"retries must be a non-negative integer, got {retries!r}")
        for name, value in (("chunk_rows", chunk_rows), ("workers", workers)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if timeout_s is not None and not timeout_s > 0:
            raise ConfigError(f"timeout_s must be positive or None, got {timeout_s!r}")
        super().__init__(primary.shots)
        from qedm.quantum.backends import make_backend

        self.primary, self.retries, self.timeout_s = primary, retries, timeout_s
        self.fallback = fallback if fallback is not None else make_backend("statevector", None)
        self.name = primary.name
        self.chunk_rows, self.workers = chunk_rows, workers
        self.fallbacks: list[dict] = []
        self.failures = 0
        self._lock = threading.Lock()  # fallbacks and failures are written from the chunk threads
        self._pool: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="qedm-batch")
        return self._pool

    def _call(self, method: str, circuit, x, weights, *args):
        reason = ""
        for _attempt in range(self.retries + 1):
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qedm-device")  # a hung call blocks no retry
            future = pool.submit(in_caller_grad_mode(getattr(self.primary, method)), circuit, x, weights, *args)
            pool.shutdown(wait=False)
            try:
                return future.result(timeout=self.timeout_s)
            except FutureTimeout:
                future.cancel()
                reason = f"timed out after {self.timeout_s} s"
            except Exception as exc:  # a device error of any kind: retry, then fall back
                reason = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.failures += 1
        record = {"method": method, "rows": int(x.shape[0]), "reason": reason, "attempts": self.retries + 1,
                  "fallback": self.fallback.name}
        with self._lock:
            self.fallbacks.append(record)
        log.warning("device %s failed %d times (%s); ran %d rows on the exact %s simulator",
                    self.name, self.retries + 1, reason, record["rows"], self.fallback.name)
        return getattr(self.fallback, method)(circuit, x, weights, *args)

    def _chunked(self, method: str, circuit, x, weights, shift, generator=None, seeded: bool = False):
        """`method` on x [B, k] as chunks of `chunk_rows` rows, all submitted at once; [B, ...] in row order."""
        rows = int(x.shape[0])
        if self.chunk_rows is None or rows <= self.chunk_rows:
            args = (shift, generator) if seeded else (shift,)
            return self._call(method, circuit, x, weights, *args)
        if seeded and generator is None and self.shots is not None:
            generator = torch.Generator().manual_seed(getattr(self.primary, "seed", 0))
        futures = []
        call = in_caller_grad_mode(self._call)
        for start in range(0, rows, self.chunk_rows):
            args = (shift,)
            if seeded:
                g = None if generator is None else torch.Generator().manual_seed(
                    int(torch.randint(0, 2**62, (1,), generator=generator)))
                args = (shift, g)
            futures.append(self._executor().submit(call, method, circuit, x[start:start + self.chunk_rows],
                                                   weights, *args))
        return torch.cat([f.result() for f in futures])

    def probabilities(self, circuit, x, weights, shift=None):
        return self._chunked("probabilities", circuit, x, weights, shift)

    def expectations(self, circuit, x, weights, shift=None):
        return self._chunked("expectations", circuit, x, weights, shift)

    def estimate(self, circuit, x, weights, shift=None, generator=None):
        return self._chunked("estimate", circuit, x, weights, shift, generator, seeded=True)

    def submit(self, circuit, x, weights, shift=None, generator=None) -> Future:
        """Start `estimate` in the background; the Future's result is [B, m] (fallback included)."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qedm-submit")  # not the chunk pool: no deadlock
        future = pool.submit(in_caller_grad_mode(self.estimate), circuit, x, weights, shift, generator)
        pool.shutdown(wait=False)
        return future

    def describe(self) -> dict:
        return {**self.primary.describe(), "retries": self.retries, "timeout_s": self.timeout_s,
                "chunk_rows": self.chunk_rows, "workers": self.workers, "fallbacks": len(self.fallbacks)}

    def __repr__(self) -> str:
        return f"ResilientBackend({self.primary!r}, retries={self.retries}, timeout_s={self.timeout_s})"
