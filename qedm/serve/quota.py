"""Per-key quotas (rows per UTC day, requests per minute) kept in SQLite, exact under concurrency.

Each admission is one `BEGIN IMMEDIATE` transaction: read the key's counters, refuse or add to
them, commit. SQLite serialises those transactions across threads and processes, so two
requests never both take the last rows, and a committed count survives a crash or restart.
Rows are charged when a request is admitted (before sampling) and refunded if sampling fails,
so a shutdown during sampling loses no counts.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qedm.serve.keys import KeySpec

_SCHEMA = """CREATE TABLE IF NOT EXISTS usage (
    key TEXT NOT NULL, kind TEXT NOT NULL, window TEXT NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (key, kind, window))"""


@dataclass(frozen=True)
class Admission:
    """The answer to one request: admitted, or refused with the limit hit and when to retry."""

    admitted: bool
    day: str  # the UTC day the rows were charged to (for a refund)
    limit: str | None = None  # "requests_per_minute" | "rows_per_day" when refused
    retry_after: int = 0  # seconds
    message: str = ""


class QuotaStore:
    """Usage counters of every key in one SQLite file (created if absent)."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path, self.clock = Path(path), clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one connection, used by one thread at a time
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed charge is on disk
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def admit(self, spec: KeySpec, rows: int) -> Admission:
        """Count one request of `rows` rows against the key, or refuse it without counting anything."""
        now = self.clock()
        minute, day = str(int(now // 60)), _utc_day(now)
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                requests = self._used(spec.name, "minute", minute)
                used_rows = self._used(spec.name, "day", day)
                if requests >= spec.requests_per_minute:
                    db.execute("ROLLBACK")
                    return Admission(False, day, "requests_per_minute", max(1, math.ceil(60 - now % 60)),
                                     f"rate limit of {spec.requests_per_minute} requests per minute reached")
                if used_rows + rows > spec.rows_per_day:
                    db.execute("ROLLBACK")
                    left = spec.rows_per_day - used_rows
                    return Admission(False, day, "rows_per_day", max(1, math.ceil(_seconds_to_midnight(now))),
                                     f"daily quota of {spec.rows_per_day} rows: {left} left today, {rows} asked")
                self._add(spec.name, "minute", minute, 1)
                self._add(spec.name, "day", day, rows)
                db.execute("DELETE FROM usage WHERE key = ? AND kind = 'minute' AND window != ?",
                           (spec.name, minute))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return Admission(True, day)

    def refund(self, spec: KeySpec, rows: int, day: str) -> None:
        """Give back the rows of an admitted request that produced none (sampling failed)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._add(spec.name, "day", day, -rows)
            self._db.execute("COMMIT")

    def usage(self, spec: KeySpec) -> dict[str, int]:
        """Rows used today and requests this minute, with what is left of each."""
        now = self.clock()
        with self._lock:
            rows = self._used(spec.name, "day", _utc_day(now))
            requests = self._used(spec.name, "minute", str(int(now // 60)))
        return {"rows_today": rows, "rows_left_today": max(0, spec.rows_per_day - rows),
                "requests_this_minute": requests,
                "requests_left_this_minute": max(0, spec.requests_per_minute - requests)}

    def _used(self, key: str, kind: str, window: str) -> int:
        row = self._db.execute("SELECT used FROM usage WHERE key = ? AND kind = ? AND window = ?",
                               (key, kind, window)).fetchone()
        return 0 if row is None else int(row[0])

    def _add(self, key: str, kind: str, window: str, amount: int) -> None:
        self._db.execute("INSERT INTO usage (key, kind, window, used) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (key, kind, window) DO UPDATE SET used = used + excluded.used",
                         (key, kind, window, amount))


def _utc_day(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")


def _seconds_to_midnight(now: float) -> float:
    return 86400 - now % 86400
