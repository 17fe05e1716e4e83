"""The FastAPI application: every router, the error handlers and the health check."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from api import (
    bulk,
    errors,
    events,
    health,
    join,
    mapdata,
    metrics,
    numbers,
    pollers,
    prefixes,
    resources,
    topology,
    webhooks,
)
from api.body_limit import BodyLimit
from api.cache import ObservedSnapshots, ResponseCache
from api.limits import InFlightLimit
from api.retry import RetryReads
from ipam.db import make_sessionmaker
from ipam.settings import Settings


def _version() -> str:
    try:
        return version("meshkeeper")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """Build the app over an engine the caller owns (the CLI, or a test)."""
    app = FastAPI(
        title="meshkeeper",
        version=_version(),
        description="Source of truth and live watch for a community mesh network.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.response_cache = ResponseCache()
    app.state.observed_snapshots = ObservedSnapshots()
    errors.install(app)
    app.add_middleware(RetryReads)
    app.add_middleware(InFlightLimit)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    metrics.install(app)
    # The record resources first: they carry most requests, and routes are tried in order.
    # No fixed path of the other routers fits a resource's /<key>/ patterns
    # (tests/api/test_routes.py), so the order decides nothing else.
    for router in resources.routers():
        app.include_router(router)
    for router in (
        numbers.router,
        prefixes.router,
        bulk.router,
        join.router,
        topology.router,
        health.router,
        events.router,
        webhooks.router,
        mapdata.router,
        pollers.router,
    ):
        app.include_router(router)

    @app.get("/api/v1/", tags=["health"], summary="Health check (no auth)")
    def health_check(request: Request) -> Any:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # noqa: BLE001 - any failure means "not reachable" here
            database = "unavailable"
        body = {"name": "meshkeeper", "version": app.version, "database": database}
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    return app
