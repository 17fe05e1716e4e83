"""A device's measurement history: GET /api/v1/devices/<id>/series/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter

from api.cache import cached_json
from api.deps import DbSession, Reader
from api.resources import ERRORS
from ipam.errors import Invalid
from ipam.observed.history import tiers
from ipam.observed.series import device_series
from ipam.observed.series_rules import METRICS, StepError, parse_step

router = APIRouter(prefix="/api/v1", tags=["health"], responses=ERRORS)
ANSWER: TypeAdapter[Any] = TypeAdapter(dict[str, Any])


@router.get("/devices/{device_id}/series/", summary="One metric of a device over time")
def series(
    device_id: uuid.UUID,
    request: Request,
    session: DbSession,
    caller: Reader,
    metric: Annotated[str, Query(max_length=40, description=", ".join(METRICS))],
    since: datetime | None = None,
    until: datetime | None = None,
    step: Annotated[str | None, Query(max_length=20, description="seconds, or 5m / 1h")] = None,
) -> Any:
    """Raw points (no step), or min/avg/max per step from raw or rollup rows, whichever fits."""
    try:
        step_s = None if step is None else parse_step(step)
    except StepError as exc:
        raise Invalid(str(exc), field="step") from exc
    # Samples only come with a poll, which bumps the observed version: the answer follows it
    # (and the events, as a device's deletion is one); the bytes come from pydantic-core.
    return cached_json(
        request,
        session,
        ANSWER,
        lambda: device_series(
            session,
            device_id,
            metric,
            since=since,
            until=until,
            step_s=step_s,
            now=datetime.now(UTC),
            kept=tiers(request.app.state.settings),
        ),
        follows="observed",
    )
