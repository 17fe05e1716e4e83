"""Webhook subscriptions (admin only): create, list, read, delete, resume, delivery log."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select

from api.deps import Admin, DbSession
from api.resources import ERRORS
from api.schemas.common import Page
from ipam import models as m
from ipam.errors import NotFound
from ipam.records import events

MAX_URL_LENGTH = 2000
MAX_EVENT_TYPES = 50
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERRORS)


MAX_HEADERS = 20
# RFC 9110 section 5.1: a field name is a token.
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
# MeshDB's event names (drf-hooks, meshapi_hooks) that meshkeeper spells differently.
MESHDB_NAMES = {"access_point": "accesspoint"}


def meshdb_event_name(name: str) -> str:
    """An event type or prefix in meshkeeper's spelling (`access_point.created` too)."""
    head, dot, rest = name.partition(".")
    return MESHDB_NAMES.get(head, head) + dot + rest


class WebhookIn(BaseModel):
    """A subscription: POST these event types, signed with the secret, to this URL."""

    model_config = ConfigDict(extra="ignore")

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
    event_types: Annotated[list[str], Field(max_length=MAX_EVENT_TYPES)] = []
    secret: Annotated[str, Field(min_length=8, max_length=200)]
    # Sent with every delivery, e.g. {"Authorization": "Bearer ..."} (MeshDB's hooks' auth).
    headers: Annotated[dict[str, str], Field(max_length=MAX_HEADERS)] = {}

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name[:80]!r} is not a header name")
            if len(text) > 2000 or any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in text):
                raise ValueError(
                    f"the value of {name[:80]!r} is too long or has control characters"
                )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if any(ord(c) < 0x21 or c == "\x7f" for c in value):
            raise ValueError("may not contain spaces or control characters")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"not a valid URL ({exc})") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        if not parts.hostname:
            raise ValueError("must name a host")
        return value

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        value = [meshdb_event_name(item) for item in value]
        for item in value:
            if not events.valid_pattern(item):
                raise ValueError(
                    f"{item[:80]!r} is not an event type or prefix (e.g. node.created, node.)"
                )
        return list(dict.fromkeys(value))

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("may not contain NUL characters")
        return value


class WebhookOut(BaseModel):
    """A subscription as admins see it; the secret itself is never returned."""

    id: uuid.UUID
    url: str
    event_types: list[str]
    header_names: list[str]
    secret_set: bool
    paused: bool
    failures: int
    cursor: int
    backlog: int
    next_attempt_at: datetime | None
    created: datetime
    updated: datetime


class DeliveryOut(BaseModel):
    """One attempt to deliver one event."""

    id: int
    event_id: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float | None
    delivered: bool


def shape(hook: m.Webhook, backlog: int) -> dict[str, Any]:
    """A subscription as a response body."""
    return {
        "id": hook.id,
        "url": hook.url,
        "event_types": list(hook.event_types),
        "header_names": sorted(hook.headers),  # values may be credentials: never shown
        "secret_set": bool(hook.secret),
        "paused": hook.paused,
        "failures": hook.failures,
        "cursor": hook.cursor,
        "backlog": backlog,
        "next_attempt_at": hook.next_attempt_at,
        "created": hook.created,
        "updated": hook.updated,
    }


def _get(session: Any, webhook_id: uuid.UUID, *, lock: bool = False) -> m.Webhook:
    stmt = select(m.Webhook).where(m.Webhook.id == webhook_id)
    if lock:
        stmt = stmt.with_for_update()
    hook = session.scalars(stmt.execution_options(populate_existing=True)).first()
    if hook is None:
        raise NotFound(f"no webhook with id {webhook_id}", field="id")
    return hook


def _one(session: Any, hook: m.Webhook) -> dict[str, Any]:
    session.flush()
    session.refresh(hook)
    return shape(hook, events.backlogs(session, [hook.id]).get(hook.id, 0))


def _page_url(request: Request, page: int) -> str:
    return str(request.url.include_query_params(page=page))


PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]


def _page(request: Request, page: int, size: int, total: int, rows: list[Any]) -> dict[str, Any]:
    last = (total + size - 1) // size
    return {
        "count": total,
        "next": _page_url(request, page + 1) if page < last else None,
        "previous": _page_url(request, page - 1) if page > 1 and total else None,
        "results": rows,
    }


@router.post("/", status_code=201, response_model=WebhookOut, summary="Subscribe a URL")
def create_webhook(body: Annotated[WebhookIn, Body()], session: DbSession, caller: Admin) -> Any:
    """Create a subscription that receives events from now on.

    Its cursor starts at the newest event id at creation, so it gets only events that
    happen after it exists, never the history before it (read /api/v1/events/ for that).
    """
    hook = m.Webhook(
        url=body.url,
        event_types=body.event_types,
        secret=body.secret,
        headers=body.headers,
        cursor=events.latest_id(session),
        paused=False,
        failures=0,
    )
    session.add(hook)
    return _one(session, hook)


@router.get("/", response_model=Page[WebhookOut], summary="List subscriptions")
def list_webhooks(
    request: Request,
    session: DbSession,
    caller: Admin,
    page: PageNo = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Any:
    """Every subscription, oldest first, with its backlog."""
    total = session.scalar(select(func.count()).select_from(m.Webhook)) or 0
    hooks = session.scalars(
        select(m.Webhook)
        .order_by(m.Webhook.created, m.Webhook.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    counts = events.backlogs(session, [h.id for h in hooks])
    rows = [shape(h, counts.get(h.id, 0)) for h in hooks]
    return _page(request, page, page_size, total, rows)


@router.get("/{webhook_id}/", response_model=WebhookOut, summary="Get a subscription")
def get_webhook(webhook_id: uuid.UUID, session: DbSession, caller: Admin) -> Any:
    """One subscription, with its backlog."""
    hook = _get(session, webhook_id)
    return shape(hook, events.backlogs(session, [hook.id]).get(hook.id, 0))


@router.delete("/{webhook_id}/", status_code=204, summary="Delete a subscription")
def delete_webhook(webhook_id: uuid.UUID, session: DbSession, caller: Admin) -> Response:
    """Delete a subscription and its delivery log (waits for a delivery in progress)."""
    session.delete(_get(session, webhook_id, lock=True))
    return Response(status_code=204)


@router.post("/{webhook_id}/resume/", response_model=WebhookOut, summary="Unpause")
def resume_webhook(webhook_id: uuid.UUID, session: DbSession, caller: Admin) -> Any:
    """Clear the failure count and retry at once, from the event it stopped at."""
    hook = _get(session, webhook_id, lock=True)
    hook.paused = False
    hook.failures = 0
    hook.next_attempt_at = None
    return _one(session, hook)


@router.get(
    "/{webhook_id}/deliveries/",
    response_model=Page[DeliveryOut],
    summary="Delivery log, newest first",
)
def list_deliveries(
    request: Request,
    webhook_id: uuid.UUID,
    session: DbSession,
    caller: Admin,
    page: PageNo = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Any:
    """Every attempt (delivered or failed) to deliver events to this subscription."""
    _get(session, webhook_id)
    where = m.WebhookDelivery.webhook_id == webhook_id
    total = session.scalar(select(func.count()).where(where)) or 0
    rows = session.scalars(
        select(m.WebhookDelivery)
        .where(where)
        .order_by(m.WebhookDelivery.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    results = [DeliveryOut.model_validate(r, from_attributes=True) for r in rows]
    return _page(request, page, page_size, total, results)
