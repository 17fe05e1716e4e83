"""GET /metrics for Prometheus: observed device state, collectors, webhooks, API traffic.

Every app has its own CollectorRegistry (never prometheus_client's global one), so tests
and several apps in one process do not collide. Device, collector, webhook and event
figures are read from the database at scrape time (the per-poll history lives in
Prometheus, not in our rows); request counts and latencies are counted in this process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics_snmp import snmp_families
from ipam import models as m
from ipam.enums import ObservedStatus
from ipam.records import events

log = logging.getLogger(__name__)

UNMATCHED = "<unmatched>"  # one label for every path no route knows: bounded cardinality
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

router = APIRouter(tags=["metrics"])


def _device_rows(session: Any) -> list[Any]:
    # Plain tables, not the polymorphic Device entity: one query, no sector/AP joins.
    obs = m.DeviceObservation.__table__
    dev = m.Device.__table__
    node = m.Node.__table__
    stmt = (
        select(
            dev.c.id,
            dev.c.name,
            node.c.network_number,
            obs.c.status,
            obs.c.rtt_avg_ms,
            obs.c.packet_loss,
            obs.c.uptime_s,
            obs.c.radio,
        )
        .select_from(
            obs.join(dev, dev.c.id == obs.c.device_id).join(node, node.c.id == dev.c.node_id)
        )
        .order_by(dev.c.id)
    )
    return list(session.execute(stmt))


class StateCollector(Collector):
    """Reads observed state, collector runs, webhooks and the outbox at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: registering must not query the database."""
        return []

    def collect(self) -> Iterable[Metric]:
        """Every database-backed family; a database outage gives database_up 0 instead."""
        database_up = GaugeMetricFamily(
            "meshkeeper_metrics_database_up",
            "1 when this scrape could read the database, else 0",
        )
        try:
            with self.app.state.sessions() as session:
                devices = _device_rows(session)
                collectors = session.scalars(
                    select(m.CollectorState).order_by(m.CollectorState.name)
                ).all()
                hooks = session.execute(
                    select(m.Webhook.id, m.Webhook.paused).order_by(m.Webhook.id)
                ).all()
                backlogs = events.backlogs(session)
                latest = events.latest_id(session)
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", str(exc).splitlines()[0])
            database_up.add_metric([], 0)
            yield database_up
            return
        database_up.add_metric([], 1)
        yield database_up
        yield from _device_families(devices)
        yield from _collector_families(collectors)
        yield from _webhook_families(hooks, backlogs)
        latest_family = GaugeMetricFamily(
            "meshkeeper_events_latest_id", "The newest event id (the cursor's head)"
        )
        latest_family.add_metric([], latest)
        yield latest_family


def _device_families(rows: list[Any]) -> Iterable[Metric]:
    labels = ["device_id", "name", "network_number"]
    up = GaugeMetricFamily(
        "meshkeeper_device_up", "1 when polling last saw the device up, else 0", labels=labels
    )
    rtt = GaugeMetricFamily(
        "meshkeeper_device_rtt_ms", "Average ICMP round-trip time, milliseconds", labels=labels
    )
    loss = GaugeMetricFamily(
        "meshkeeper_device_packet_loss", "ICMP packet loss of the last poll, 0..1", labels=labels
    )
    uptime = GaugeMetricFamily(
        "meshkeeper_device_uptime_seconds", "Uptime the device reported", labels=labels
    )
    for row in rows:
        values = _device_labels(row)
        up.add_metric(values, 1 if row.status == ObservedStatus.UP else 0)
        if row.rtt_avg_ms is not None:
            rtt.add_metric(values, row.rtt_avg_ms)
        if row.packet_loss is not None:
            loss.add_metric(values, row.packet_loss)
        if row.uptime_s is not None:
            uptime.add_metric(values, row.uptime_s)
    return (up, rtt, loss, uptime, *snmp_families((_device_labels(row), row.radio) for row in rows))


def _device_labels(row: Any) -> list[str]:
    return [
        str(row.id),
        row.name or "",
        "" if row.network_number is None else str(row.network_number),
    ]


def _collector_families(rows: list[m.CollectorState]) -> Iterable[Metric]:
    duration = GaugeMetricFamily(
        "meshkeeper_collector_duration_seconds",
        "How long the collector's last run took",
        labels=["collector"],
    )
    errors = CounterMetricFamily(
        "meshkeeper_collector_errors", "Failed runs of the collector", labels=["collector"]
    )
    success = GaugeMetricFamily(
        "meshkeeper_collector_last_success_timestamp_seconds",
        "When the collector last finished a run without error (Unix time)",
        labels=["collector"],
    )
    for row in rows:
        if row.duration_s is not None:
            duration.add_metric([row.name], row.duration_s)
        errors.add_metric([row.name], row.errors_total or 0)
        if row.last_success is not None:
            success.add_metric([row.name], row.last_success.timestamp())
    return (duration, errors, success)


def _webhook_families(hooks: list[Any], backlogs: dict[Any, int]) -> Iterable[Metric]:
    backlog = GaugeMetricFamily(
        "meshkeeper_webhook_backlog",
        "Events after the subscription's cursor that it has still to receive",
        labels=["webhook_id"],
    )
    paused = GaugeMetricFamily(
        "meshkeeper_webhook_paused",
        "1 when delivery stopped after too many failures in a row",
        labels=["webhook_id"],
    )
    for hook_id, is_paused in hooks:
        backlog.add_metric([str(hook_id)], backlogs.get(hook_id, 0))
        paused.add_metric([str(hook_id)], 1 if is_paused else 0)
    return (backlog, paused)


class RequestMetrics:
    """ASGI middleware: count requests and time them by method and route template."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        # The matched route's template (e.g. /api/v1/nodes/{key}/), never the raw path.
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        label = template or UNMATCHED
        method = scope.get("method", "")
        self.requests.labels(method, label, str(status)).inc()
        self.latency.labels(method, label).observe(time.perf_counter() - started)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time until the response starts (for streams, not the whole stream)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen = False

        async def send_wrapper(message: Message) -> None:
            nonlocal seen
            if message["type"] == "http.response.start" and not seen:
                seen = True
                self._observe(scope, message["status"], started)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            if not seen:
                self._observe(scope, 500, started)
            raise


def build_registry(app: FastAPI) -> CollectorRegistry:
    """A registry of this app's own: the database-backed collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(app))
    return registry


def install(app: FastAPI) -> None:
    """Add the request-counting middleware and the /metrics route to an app."""
    registry = build_registry(app)
    requests = Counter(
        "meshkeeper_http_requests",
        "API requests by method, route template and status",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "meshkeeper_http_request_duration_seconds",
        "API latency until the response starts, by method and route template",
        ["method", "route"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    app.state.metrics_registry = registry
    app.add_middleware(RequestMetrics, requests=requests, latency=latency)
    if not any(getattr(r, "path", None) == "/metrics" for r in app.routes):
        app.include_router(router)


def _registry(app: FastAPI) -> CollectorRegistry:
    registry = getattr(app.state, "metrics_registry", None)
    if registry is None:
        # The router included without install(): database figures only, no request counts.
        registry = app.state.metrics_registry = build_registry(app)
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format (no auth: scrapers rarely carry tokens)."""
    body = generate_latest(_registry(request.app))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
