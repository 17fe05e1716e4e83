"""How the API is served: one uvicorn configuration for `meshkeeper run`/`api` and the tests."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn

from api.http_guard import GuardedHttpProtocol
from ipam.settings import Settings

# After SIGTERM, requests in flight get this long (an open event stream or a stalled upload
# would otherwise hold the exit forever).
HTTP_GRACE_S = 3


def server_config(app: Any, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """uvicorn's Config for the app: the guarded protocol, and proxies trusted only if listed."""
    protocol = type(
        "MeshkeeperHttpProtocol",
        (GuardedHttpProtocol,),
        {"request_timeout_s": settings.request_timeout_s},
    )
    trusted = ",".join(settings.trusted_proxies)
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port if port is None else port,
        http=protocol,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: then any local
        # client (or a proxy that passes the header on) picks the address the join form's
        # rate limit counts. Only the operator's listed proxies are believed.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        # The access log (one line per request) follows MESHKEEPER_LOG_LEVEL: off above INFO.
        log_level=logging.getLevelName(settings.log_level.upper()),
        lifespan="off",
        timeout_graceful_shutdown=HTTP_GRACE_S,
    )
