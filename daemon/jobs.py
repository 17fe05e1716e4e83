"""The jobs the daemon runs, with their intervals from settings."""

from __future__ import annotations

from functools import partial

import httpx
from sqlalchemy.orm import Session, sessionmaker

from daemon.polling import poll_icmp
from daemon.scheduler import Job
from daemon.snmp_poll import poll_snmp
from daemon.uisp_sync import sync_uisp
from daemon.webhooks import Render, deliver_once
from ipam.settings import Settings


async def deliver_webhooks(
    sessions: sessionmaker[Session], settings: Settings, render: Render | None = None
) -> int:
    """Deliver what each subscription is owed, in order; the count delivered."""
    # No redirects: a webhook answer that moves is a failure the operator should see.
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        return await deliver_once(
            sessions, client, max_failures=settings.webhook_max_failures, render=render
        )


def default_jobs(settings: Settings, render: Render | None = None) -> dict[str, tuple[Job, float]]:
    """Collector name -> (job, interval in seconds); an interval of 0 disables the job.

    `render` shows a record as the API's GET does, for MeshDB-format webhooks (cli/ passes it).
    """
    return {
        "icmp": (poll_icmp, settings.icmp_interval_s),
        "snmp": (poll_snmp, settings.snmp_interval_s),
        # UISP only when a server is configured: without one there is nothing to sync.
        "uisp": (sync_uisp, settings.uisp_interval_s if settings.uisp_url else 0),
        "webhooks": (partial(deliver_webhooks, render=render), settings.webhook_interval_s),
    }
