"""The HTTP API: routes over loaded models, a keys store, quota counters and a bounded worker pool.

Order of checks for a sampling request: key (401), model (404), key's models (403), body (422),
quota (429 with Retry-After), free worker slot (503), then sampling in the pool (500 with an
error id on failure; the traceback goes to the log only). Keys never appear in responses or logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from qedm.serve.keys import KeySpec, KeyStore
from qedm.serve.metrics import ServeMetrics
from qedm.serve.models import ServedModel
from qedm.serve.quota import QuotaStore
from qedm.serve.schemas import RequestInvalid, SampleRequest, parse_sample_request

log = logging.getLogger("qedm.serve")


@dataclass
class ServeState:
    """Everything the routes use; built once at start by `server.build_state`."""

    models: dict[str, ServedModel]
    keys: KeyStore
    quota: QuotaStore
    workers: int = 2
    max_rows: int = 10_000
    max_pending: int = 256  # admitted requests waiting for or holding a worker
    metrics: ServeMetrics = field(default_factory=ServeMetrics)


def create_app(state: ServeState) -> FastAPI:
    pool = ThreadPoolExecutor(max_workers=state.workers, thread_name_prefix="qedm-sample")
    slots = asyncio.Semaphore(state.max_pending)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        pool.shutdown(wait=True)  # uvicorn has already let in-flight requests finish
        state.quota.close()

    app = FastAPI(title="qedm serve", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    metrics = state.metrics

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(exc, request.url.path)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "models": len(state.models)}

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/v1/models")
    async def list_models(request: Request):
        spec = state.keys.authenticate(_presented_key(request))
        if spec is None:
            return _unauthorized()
        readable = [m for m in state.models.values() if spec.may_read(m.name)]
        return {"models": [{"name": m.name, **m.info} for m in readable]}

    @app.get("/v1/usage")
    async def usage(request: Request):
        spec = state.keys.authenticate(_presented_key(request))
        if spec is None:
            return _unauthorized()
        counts = await asyncio.to_thread(state.quota.usage, spec)
        return {"key": spec.name, "rows_per_day": spec.rows_per_day,
                "requests_per_minute": spec.requests_per_minute, **counts}

    @app.post("/v1/models/{name}/samples")
    async def samples(name: str, request: Request):
        label = name if name in state.models else "unknown"
        spec = state.keys.authenticate(_presented_key(request))
        if spec is None:
            metrics.requests.labels(label, "401").inc()
            return _unauthorized()
        if name not in state.models:
            metrics.requests.labels(label, "404").inc()
            return _problem(404, f"no model named {name!r}", "name")
        if not spec.may_read(name):
            metrics.requests.labels(name, "403").inc()
            return _problem(403, f"this key may not read model {name!r}", "name")
        served = state.models[name]
        try:
            body = json.loads(await request.body() or b"null")
            parsed, conditions = parse_sample_request(body, max_rows=state.max_rows, condition=served.condition,
                                                      classes=served.classes)
        except ValueError:
            metrics.requests.labels(name, "422").inc()
            return _problem(422, "body: not valid JSON", "body")
        except RequestInvalid as exc:
            metrics.requests.labels(name, "422").inc()
            return _problem(422, str(exc), exc.field)
        admission = await asyncio.to_thread(state.quota.admit, spec, parsed.n)
        if not admission.admitted:
            metrics.requests.labels(name, "429").inc()
            metrics.rejections.labels(name, admission.limit).inc()
            return JSONResponse({"detail": admission.message, "limit": admission.limit},
                                status_code=429, headers={"Retry-After": str(admission.retry_after)})
        if slots.locked():
            await asyncio.to_thread(state.quota.refund, spec, parsed.n, admission.day)
            metrics.requests.labels(name, "503").inc()
            return JSONResponse({"detail": "server busy: too many requests waiting"}, status_code=503,
                                headers={"Retry-After": "1"})
        seed = parsed.seed if parsed.seed is not None else secrets.randbelow(2**62)
        started = time.perf_counter()
        async with slots:
            try:
                body_bytes = await asyncio.get_running_loop().run_in_executor(
                    pool, _sample_body, served, parsed, seed, conditions)
            except Exception as exc:  # noqa: BLE001 - any sampling failure is a 500 with an id
                await asyncio.to_thread(state.quota.refund, spec, parsed.n, admission.day)
                metrics.errors.labels(name).inc()
                metrics.requests.labels(name, "500").inc()
                return _internal_error(exc, f"model {name}")
        metrics.latency.labels(name).observe(time.perf_counter() - started)
        metrics.requests.labels(name, "200").inc()
        metrics.rows.labels(name).inc(parsed.n)
        media = "text/csv" if parsed.format == "csv" else "application/json"
        return Response(body_bytes, media_type=media, headers={"X-QEDM-Seed": str(seed)})

    return app


def _sample_body(served: ServedModel, request: SampleRequest, seed: int, conditions) -> bytes:
    """Sample in a worker thread and serialise there too (both are CPU work)."""
    with served.replica() as model:
        frame = model.sample(request.n, seed=seed, conditions=conditions)
    if request.format == "csv":
        return frame.to_csv(index=False).encode()
    rows = frame.to_json(orient="records", double_precision=15)
    head = json.dumps({"model": served.name, "n": request.n, "seed": seed, "columns": list(frame.columns)})
    return (head[:-1] + ', "rows": ' + rows + "}").encode()


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def _unauthorized() -> JSONResponse:
    return JSONResponse({"detail": "missing or unknown API key (send Authorization: Bearer KEY)"},
                        status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _problem(status: int, detail: str, field_name: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field_name}, status_code=status)


def _internal_error(exc: BaseException, where: str) -> JSONResponse:
    error_id = secrets.token_hex(6)
    log.error("internal error %s in %s", error_id, where, exc_info=exc)
    return JSONResponse({"detail": "internal error; quote this id to the operator", "error_id": error_id},
                        status_code=500)


__all__ = ["KeySpec", "ServeState", "create_app"]
