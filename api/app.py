"""The FastAPI application: every router, the error handlers and the health check."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine, text

from api import (
    bulk,
    errors,
    events,
    health,
    incidents,
    join,
    mapdata,
    metrics,
    notifications,
    numbers,
    pollers,
    prefixes,
    query,
    resources,
    routing,
    series,
    topology,
    ui,
    webhooks,
)
from api.body_first import ReadBodyFirst
from api.body_limit import BodyLimit
from api.browser import BrowserClients
from api.cache import ObservedSnapshots, ResponseCache
from api.limits import InFlightLimit
from api.retry import RetryReads
from api.stream_hub import StreamHub
from ipam.db import make_sessionmaker
from ipam.settings import Settings


def _version() -> str:
    try:
        return version("meshkeeper")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """Build the app over an engine the caller owns (the CLI, or a test)."""
    # The docs' scripts and styles are served from the package, not a CDN: the docs work on
    # a mesh with no way out to the internet.
    app = FastAPIOffline(
        title="meshkeeper",
        version=_version(),
        description="Source of truth and live watch for a community mesh network.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.response_cache = ResponseCache()
    app.state.stream_hub = StreamHub(app.state.sessions, settings)
    app.state.observed_snapshots = ObservedSnapshots()
    errors.install(app)
    app.add_middleware(RetryReads)
    app.add_middleware(InFlightLimit)
    app.add_middleware(ReadBodyFirst)  # outside the limit: a slow body holds no slot
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(BrowserClients, origins=settings.cors_origins)
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
        incidents.router,
        notifications.router,
        series.router,
        events.router,
        webhooks.router,
        mapdata.router,
        routing.router,
        query.router,
        pollers.router,
    ):
        app.include_router(router)

    # HEAD too: uptime monitors ask with it (RFC 9110, 9.3.2: a GET resource should answer it).
    @app.api_route(
        "/api/v1/", methods=["GET", "HEAD"], tags=["health"], summary="Health check (no auth)"
    )
    def health_check(request: Request) -> Any:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # noqa: BLE001 - any failure means "not reachable" here
            database = "unavailable"
        body = {"name": "meshkeeper", "version": app.version, "database": database}
        return JSONResponse(body, status_code=200 if database == "ok" else 503)

    ui.install(app)
    return app
