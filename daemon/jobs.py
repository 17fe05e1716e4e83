"""The jobs the daemon runs, with their intervals from settings."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session, sessionmaker

from daemon.notify import deliver_notifications
from daemon.polling import poll_icmp
from daemon.rollups import roll_up_history
from daemon.routing import poll_routing
from daemon.scheduler import Job
from daemon.snmp_poll import poll_snmp
from daemon.uisp_sync import sync_uisp
from daemon.webhooks import MAX_IN_FLIGHT, Deliverer, Render, webhook_route
from ipam.records.webhook_urls import networks
from ipam.settings import Settings


class WebhookJob:
    """The webhook job: each run starts deliveries that run on past it (see daemon.webhooks)."""

    def __init__(self, render: Render | None = None) -> None:
        self.render = render  # MeshDB-format bodies show the record as the API's GET does
        self.deliverer: Deliverer | None = None

    async def __call__(self, sessions: sessionmaker[Session], settings: Settings) -> int:
        """Start delivering to every due subscription not already being delivered to."""
        if self.deliverer is None:
            # One client for the process; no redirects: a webhook answer that moves is a
            # failure the operator should see.
            client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=MAX_IN_FLIGHT),
            )
            self.deliverer = Deliverer(
                sessions,
                client,
                max_failures=settings.webhook_max_failures,
                deny=networks(settings.webhook_deny_networks),
                route=webhook_route(self.render),
            )
        return await self.deliverer.start_round()

    async def aclose(self) -> None:
        """Cancel the deliveries in hand (each goes out again after its lease) and the client."""
        if self.deliverer is not None:
            await self.deliverer.close()
            await self.deliverer.client.aclose()
            self.deliverer = None


def default_jobs(settings: Settings, render: Render | None = None) -> dict[str, tuple[Job, float]]:
    """Collector name -> (job, interval in seconds); an interval of 0 disables the job.

    `render` shows a record as the API's GET does, for MeshDB-format webhooks (cli/ passes it).
    """
    return {
        "icmp": (poll_icmp, settings.icmp_interval_s),
        "snmp": (poll_snmp, settings.snmp_interval_s),
        # UISP only when a server is configured: without one there is nothing to sync.
        "uisp": (sync_uisp, settings.uisp_interval_s if settings.uisp_url else 0),
        # Routing only with sources: no source means no witness, never "nothing is visible".
        "routing": (poll_routing, settings.routing_interval_s if settings.routing_sources else 0),
        "webhooks": (WebhookJob(render), settings.webhook_interval_s),
        "notifications": (deliver_notifications, settings.notify_interval_s),
        "history": (
            roll_up_history,
            settings.history_rollup_interval_s if settings.history_enabled else 0,
        ),
    }
