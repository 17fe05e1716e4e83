"""The jobs the daemon runs, with their intervals from settings."""

from __future__ import annotations

from daemon.polling import poll_icmp
from daemon.scheduler import Job
from daemon.uisp_sync import sync_uisp
from ipam.settings import Settings


def default_jobs(settings: Settings) -> dict[str, tuple[Job, float]]:
    """Collector name -> (job, interval in seconds); an interval of 0 disables the job."""
    return {
        "icmp": (poll_icmp, settings.icmp_interval_s),
        # UISP only when a server is configured: without one there is nothing to sync.
        "uisp": (sync_uisp, settings.uisp_interval_s if settings.uisp_url else 0),
    }
