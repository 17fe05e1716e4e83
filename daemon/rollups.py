"""The history job: fold new samples into 5-minute and hourly rollups, then drop what expired."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from ipam.db import transaction
from ipam.observed.history import maintain, tiers
from ipam.settings import Settings


async def roll_up_history(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> dict[str, int] | None:
    """One rollup and retention pass in one transaction (None: another daemon holds it)."""
    at = now or datetime.now(UTC)

    def run() -> dict[str, int] | None:
        with transaction(sessions) as session:
            return maintain(session, at, tiers(settings))

    return await asyncio.to_thread(run)
