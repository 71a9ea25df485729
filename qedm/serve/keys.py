"""The API keys file (TOML): per key a name, the models it may read and its quota; only hashes stored.

A key is shown once, when `add_key` creates it; the file keeps `sha256(key)`, so a leaked file
does not leak keys. Keys are 256-bit random tokens, so one unsalted hash is enough to find them.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: the same parser, as a package (in the serve extra)
    import tomli as tomllib

from qedm.atomic import atomic_write_text
from qedm.errors import ConfigError

KEY_PREFIX = "qedm_"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ALL_MODELS = "*"


@dataclass(frozen=True)
class KeySpec:
    """One key as the server knows it: never the key itself."""

    name: str
    key_hash: str  # "sha256:<hex>"
    models: tuple[str, ...]  # model names it may read; ("*",) for all
    rows_per_day: int
    requests_per_minute: int

    def may_read(self, model: str) -> bool:
        return ALL_MODELS in self.models or model in self.models


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The keys of one keys file, looked up by the hash of a presented key."""

    def __init__(self, specs: list[KeySpec]) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self._by_hash = {spec.key_hash: spec for spec in specs}

    @classmethod
    def load(cls, path: str | Path) -> "KeyStore":
        """Read and validate a keys file; errors name the file and the key entry."""
        return cls(read_keys(path))

    def authenticate(self, key: str | None) -> KeySpec | None:
        """The key's spec, or None for a missing or unknown key."""
        if not key:
            return None
        return self._by_hash.get(hash_key(key))


def read_keys(path: str | Path) -> list[KeySpec]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"keys file not found: {path} (create one with `qedm keys add NAME --keys {path}`)")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"keys file {path} is not valid TOML: {exc}") from None
    entries = data.get("keys", {})
    if not isinstance(entries, dict):
        raise ConfigError(f"keys file {path}: [keys] must be a table of named keys")
    return [_spec(path, name, entry) for name, entry in entries.items()]


def _spec(path: Path, name: str, entry) -> KeySpec:
    where = f"keys file {path}, key {name!r}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a name must be 1-64 letters, digits, '_' or '-'")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table")
    key_hash = entry.get("hash")
    if not isinstance(key_hash, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", key_hash):
        raise ConfigError(f"{where}: hash must be 'sha256:' and 64 hex digits")
    models = entry.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise ConfigError(f"{where}: models must be a non-empty list of model names (or [\"*\"])")
    limits = {}
    for field in ("rows_per_day", "requests_per_minute"):
        value = entry.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: {field} must be a positive integer, got {value!r}")
        limits[field] = value
    return KeySpec(name, key_hash, tuple(models), **limits)


def add_key(path: str | Path, name: str, models: list[str], rows_per_day: int,
            requests_per_minute: int) -> str:
    """Create a key, store its hash in the keys file (created if absent) and return the key (once)."""
    if not _NAME.match(name):
        raise ConfigError(f"key name {name!r} must be 1-64 letters, digits, '_' or '-'")
    path = Path(path)
    specs = read_keys(path) if path.is_file() else []
    if any(spec.name == name for spec in specs):
        raise ConfigError(f"keys file {path} already has a key named {name!r}; remove it first")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    spec = _spec(path, name, {"hash": hash_key(key), "models": list(models), "rows_per_day": rows_per_day,
                              "requests_per_minute": requests_per_minute})
    write_keys(path, [*specs, spec])
    return key


def remove_key(path: str | Path, name: str) -> None:
    specs = read_keys(path)
    if not any(spec.name == name for spec in specs):
        raise ConfigError(f"keys file {path} has no key named {name!r}")
    write_keys(path, [spec for spec in specs if spec.name != name])


def write_keys(path: str | Path, specs: list[KeySpec]) -> Path:
    """Write the keys file atomically (JSON strings are valid TOML basic strings)."""
    lines = ["# qedm serve API keys: sha256 hashes only; create keys with `qedm keys add`.", ""]
    for spec in specs:
        lines += [f"[keys.{spec.name}]", f"hash = {json.dumps(spec.key_hash)}",
                  f"models = {json.dumps(list(spec.models))}", f"rows_per_day = {spec.rows_per_day}",
                  f"requests_per_minute = {spec.requests_per_minute}", ""]
    return atomic_write_text(path, "\n".join(lines))
