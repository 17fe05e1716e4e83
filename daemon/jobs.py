"""The jobs the daemon runs, with their intervals from settings."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session, sessionmaker

from daemon.polling import poll_icmp
from daemon.rollups import roll_up_history
from daemon.scheduler import Job
from daemon.snmp_poll import poll_snmp
from daemon.uisp_sync import sync_uisp
from daemon.webhooks import deliver_once
from ipam.settings import Settings


async def deliver_webhooks(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Deliver what each subscription is owed, in order; the count delivered."""
    # No redirects: a webhook answer that moves is a failure the operator should see.
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        return await deliver_once(sessions, client, max_failures=settings.webhook_max_failures)


def default_jobs(settings: Settings) -> dict[str, tuple[Job, float]]:
    """Collector name -> (job, interval in seconds); an interval of 0 disables the job."""
    return {
        "icmp": (poll_icmp, settings.icmp_interval_s),
        "snmp": (poll_snmp, settings.snmp_interval_s),
        # UISP only when a server is configured: without one there is nothing to sync.
        "uisp": (sync_uisp, settings.uisp_interval_s if settings.uisp_url else 0),
        "webhooks": (deliver_webhooks, settings.webhook_interval_s),
        "history": (
            roll_up_history,
            settings.history_rollup_interval_s if settings.history_enabled else 0,
        ),
    }
