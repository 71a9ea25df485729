"""The keys file (hashes only) and the SQLite quota counters, without a server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from qedm.errors import ConfigError
from qedm.serve.keys import KeyStore, add_key, hash_key, read_keys, remove_key
from qedm.serve.quota import QuotaStore


def test_add_key_stores_only_its_hash(tmp_path):
    path = tmp_path / "keys.toml"
    key = add_key(path, "alice", ["iris", "wine"], rows_per_day=1000, requests_per_minute=10)
    text = path.read_text()
    assert key not in text and key[5:] not in text
    assert hash_key(key).split(":")[1] in text
    import hashlib

    assert hash_key(key) == "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    store = KeyStore.load(path)
    spec = store.authenticate(key)
    assert spec.name == "alice" and spec.models == ("iris", "wine") and spec.rows_per_day == 1000
    assert spec.may_read("iris") and not spec.may_read("other")
    assert store.authenticate(key + "x") is None and store.authenticate(None) is None
    second = add_key(path, "bob", ["*"], rows_per_day=5, requests_per_minute=1)
    assert second != key and KeyStore.load(path).authenticate(second).may_read("anything")
    with pytest.raises(ConfigError, match="already has a key named 'alice'"):
        add_key(path, "alice", ["iris"], 1, 1)
    remove_key(path, "alice")
    assert [s.name for s in read_keys(path)] == ["bob"]


@pytest.mark.parametrize("entry, message", [
    ('hash = "sha256:abc"\nmodels = ["a"]\nrows_per_day = 1\nrequests_per_minute = 1', "hash must be"),
    (f'hash = "sha256:{"0" * 64}"\nmodels = []\nrows_per_day = 1\nrequests_per_minute = 1', "models must be"),
    (f'hash = "sha256:{"0" * 64}"\nmodels = ["a"]\nrows_per_day = 0\nrequests_per_minute = 1', "rows_per_day"),
    (f'hash = "sha256:{"0" * 64}"\nmodels = ["a"]\nrows_per_day = 1', "requests_per_minute"),
])
def test_bad_keys_file_names_the_key_and_field(tmp_path, entry, message):
    path = tmp_path / "keys.toml"
    path.write_text(f"[keys.k1]\n{entry}\n")
    with pytest.raises(ConfigError, match=f"key 'k1'.*{message}"):
        read_keys(path)


def test_missing_keys_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="qedm keys add"):
        read_keys(tmp_path / "none.toml")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _spec(tmp_path, rows=100, rpm=3):
    path = tmp_path / "keys.toml"
    add_key(path, "k", ["*"], rows_per_day=rows, requests_per_minute=rpm)
    return read_keys(path)[0]


def test_rate_limit_window_and_retry_after(tmp_path):
    spec = _spec(tmp_path, rows=1000, rpm=3)
    clock = Clock(1_000_000 * 60 + 15.5)  # 15.5 s into a minute
    quota = QuotaStore(tmp_path / "q.sqlite", clock=clock)
    assert all(quota.admit(spec, 1).admitted for _ in range(3))
    refused = quota.admit(spec, 1)
    assert not refused.admitted and refused.limit == "requests_per_minute" and refused.retry_after == 45
    clock.now += 45
    assert quota.admit(spec, 1).admitted
    assert quota.usage(spec) == {"rows_today": 4, "rows_left_today": 996, "requests_this_minute": 1,
                                 "requests_left_this_minute": 2}


def test_daily_rows_retry_after_is_next_utc_midnight_and_refused_requests_count_nothing(tmp_path):
    spec = _spec(tmp_path, rows=100, rpm=1000)
    day = 20_000 * 86400
    clock = Clock(day + 86400 - 100)  # 100 s before midnight UTC
    quota = QuotaStore(tmp_path / "q.sqlite", clock=clock)
    assert quota.admit(spec, 60).admitted
    refused = quota.admit(spec, 41)
    assert not refused.admitted and refused.limit == "rows_per_day" and refused.retry_after == 100
    assert "40 left today, 41 asked" in refused.message
    assert quota.usage(spec)["rows_today"] == 60 and quota.usage(spec)["requests_this_minute"] == 1
    assert quota.admit(spec, 40).admitted
    clock.now += 100  # a new UTC day
    assert quota.usage(spec)["rows_today"] == 0 and quota.admit(spec, 100).admitted


def test_quota_exact_under_threads_and_survives_reopen(tmp_path):
    spec = _spec(tmp_path, rows=500, rpm=10_000)
    quota = QuotaStore(tmp_path / "q.sqlite")
    barrier = threading.Barrier(32)

    def one(_):
        barrier.wait(timeout=30)
        return quota.admit(spec, 30).admitted

    with ThreadPoolExecutor(32) as pool:
        admitted = list(pool.map(one, range(32)))
    assert sum(admitted) == 500 // 30  # 16 requests of 30 rows fit in 500, never a 17th
    day = quota.admit(spec, 1).day
    quota.refund(spec, 1, day)
    quota.close()
    reopened = QuotaStore(tmp_path / "q.sqlite")
    assert reopened.usage(spec)["rows_today"] == 16 * 30
    reopened.close()


def test_two_stores_on_one_file_share_the_counts(tmp_path):
    """Two server processes on one quota file: SQLite's write lock keeps the sum exact."""
    spec = _spec(tmp_path, rows=100, rpm=10_000)
    first, second = QuotaStore(tmp_path / "q.sqlite"), QuotaStore(tmp_path / "q.sqlite")
    results = [store.admit(spec, 30).admitted for store in (first, second, first, second)]
    assert results == [True, True, True, False]


def test_keys_cli_prints_a_key_once_and_never_lists_it(tmp_path):
    from typer.testing import CliRunner

    from qedm.cli import app

    path = tmp_path / "keys.toml"
    runner = CliRunner()
    added = runner.invoke(app, ["keys", "add", "ana", "--models", "iris,wine", "--rows-per-day", "500",
                                "--rpm", "30", "--keys", str(path)])
    assert added.exit_code == 0, added.output
    key = added.output.strip().splitlines()[-1]
    assert key.startswith("qedm_") and KeyStore.load(path).authenticate(key).name == "ana"
    listed = runner.invoke(app, ["keys", "list", "--keys", str(path)])
    assert "ana: models iris,wine; 500 rows/day, 30 requests/min" in listed.output and key not in listed.output
    bad = runner.invoke(app, ["keys", "add", "a b", "--models", "x", "--rows-per-day", "1", "--rpm", "1",
                              "--keys", str(path)])
    assert bad.exit_code == 1 and "key name 'a b'" in bad.output
