"""Start the service: load and check every model, open the keys and quota files, run uvicorn.

uvicorn handles SIGTERM/SIGINT by refusing new connections and waiting for requests in
flight (up to `grace_seconds`); only then does the app's shutdown close the worker pool and the
quota database, so every admitted request is answered and its rows stay counted.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from qedm.errors import ConfigError, require

log = logging.getLogger("qedm.serve")


@dataclass
class ServeOptions:
    """How to serve: address, keys and quota files, worker pool, request bounds."""

    host: str = "127.0.0.1"
    port: int = 8000
    keys: Path = Path("keys.toml")
    quota_db: Path | None = None  # None: beside the keys file, <keys>.quota.sqlite
    workers: int = 2
    max_rows: int = 10_000
    max_pending: int = 256
    grace_seconds: int = 60
    log_level: str = "info"

    def validate(self) -> None:
        for name in ("workers", "max_rows", "max_pending", "grace_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, got {self.port}")

    @property
    def resolved_quota_db(self) -> Path:
        return self.quota_db or self.keys.with_suffix(".quota.sqlite")


def build_state(run_dirs: list[str], options: ServeOptions):
    """Load everything the app needs; any bad model, key file or option fails here, before binding."""
    require("fastapi", "serve")
    require("uvicorn", "serve")
    require("prometheus_client", "serve")
    import torch

    from qedm.serve.app import ServeState
    from qedm.serve.keys import KeyStore
    from qedm.serve.models import load_served_model, parse_model_args
    from qedm.serve.quota import QuotaStore

    options.validate()
    torch.set_num_threads(1)  # one intra-op thread per worker: the workers are the parallelism
    keys = KeyStore.load(options.keys)
    named = parse_model_args(run_dirs)
    models = {name: load_served_model(name, path, replicas=options.workers) for name, path in named.items()}
    for name, spec in keys.specs.items():
        unknown = [m for m in spec.models if m != "*" and m not in models]
        if unknown:
            log.warning("key %r lists models that are not served: %s", name, ", ".join(unknown))
    return ServeState(models, keys, QuotaStore(options.resolved_quota_db), workers=options.workers,
                      max_rows=options.max_rows, max_pending=options.max_pending)


def serve(run_dirs: list[str], options: ServeOptions) -> None:
    """Serve the models until SIGTERM/SIGINT (blocks)."""
    _configure_logging(options.log_level)
    state = build_state(run_dirs, options)
    import uvicorn

    from qedm.serve.app import create_app

    if not _is_loopback(options.host):
        log.warning("binding to %s: the service is reachable from other machines", options.host)
    log.info("serving %s on http://%s:%d", ", ".join(state.models), options.host, options.port)
    config = uvicorn.Config(create_app(state), host=options.host, port=options.port,
                            log_level=options.log_level, timeout_graceful_shutdown=options.grace_seconds,
                            server_header=False, proxy_headers=False)
    uvicorn.Server(config).run()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _configure_logging(level: str) -> None:
    logger = logging.getLogger("qedm.serve")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())
