"""`qedm serve`: trained models behind an HTTP API with API keys, quotas and Prometheus metrics.

Modules: keys.py (the keys file: hashes only), quota.py (per-key usage in SQLite), models.py
(loading run directories read-only, with their integrity checked), schemas.py (request
validation), metrics.py (Prometheus collectors), app.py (the FastAPI routes), server.py
(uvicorn, graceful shutdown). Only keys.py and quota.py import without the `serve` extra.
"""
