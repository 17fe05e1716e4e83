"""MeshDB's join form over HTTP: `POST /api/v1/join/`, no token, rate-limited per client.

The limit is `settings.join_rate_limit` requests per `settings.join_rate_window_s` seconds per
client address, kept in memory by each app instance (several API processes each keep their
own count, so the effective limit is per process). The address is the TCP peer's: behind a
reverse proxy every request comes from the proxy, and all clients share one budget, unless
the operator runs uvicorn with `--forwarded-allow-ips=<proxy address>` (and the proxy sets
X-Forwarded-For), so that uvicorn puts the real client address in its place.

A geocoder may be plugged in by setting `app.state.geocoder` to an `ipam.records.join.Geocoder`;
without one, a request for a new building must carry latitude and longitude.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, EmailStr, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from api.deps import DbSession
from api.resources import ERRORS
from api.schemas.common import (
    Address,
    ErrorBody,
    Latitude,
    Longitude,
    Notes,
    RecordIn,
    Short,
)
from ipam.errors import Invalid
from ipam.records import join

MAX_CLIENTS = 10_000
_CREATE_LOCK = threading.Lock()


class RateLimiter:
    """A sliding-window count of requests per key, bounded in memory and thread-safe."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request; None when allowed, else the seconds until one would be."""
        if self.limit <= 0:
            return None  # a limit of 0 (or less) turns limiting off
        now = self.clock()
        start = now - self.window_s
        with self._lock:
            times = self._hits.pop(key, None) or deque(maxlen=self.limit)
            # Re-inserted last: the dict's order is least recently seen first.
            self._hits[key] = times
            while times and times[0] <= start:
                times.popleft()
            if len(times) >= self.limit:
                return max(times[0] + self.window_s - now, 0.0)
            times.append(now)
            if len(self._hits) > self.max_clients:
                self._forget(start)
            return None

    def _forget(self, start: float) -> None:
        """Drop clients with no request in the window, then the least recently seen ones."""
        for key in [k for k, t in self._hits.items() if not t or t[-1] <= start]:
            del self._hits[key]
        while len(self._hits) > self.max_clients:
            del self._hits[next(iter(self._hits))]

    def __len__(self) -> int:
        return len(self._hits)


def attach_limiter(app: FastAPI, limit: int | None = None, window_s: float | None = None) -> None:
    """Give the app its own join rate limiter (from its settings unless told otherwise)."""
    settings = app.state.settings
    app.state.join_limiter = RateLimiter(
        settings.join_rate_limit if limit is None else limit,
        settings.join_rate_window_s if window_s is None else window_s,
    )


def limiter_for(app: FastAPI) -> RateLimiter:
    """The app's limiter, made on first use when create_app did not attach one."""
    limiter = getattr(app.state, "join_limiter", None)
    if limiter is None:
        with _CREATE_LOCK:
            limiter = getattr(app.state, "join_limiter", None)
            if limiter is None:
                attach_limiter(app)
                limiter = app.state.join_limiter
    return limiter


def client_address(request: Request) -> str:
    """The address requests are counted against (see the module docstring about proxies)."""
    return request.client.host if request.client else "unknown"


def rate_limited(request: Request) -> None:
    """429 with Retry-After once a client has used up its join requests for the window."""
    wait = limiter_for(request.app).hit(client_address(request))
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429,
            f"too many join requests from this address; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def _custom(exc: Invalid) -> PydanticCustomError:
    message = exc.message.partition(": ")[2] or exc.message
    # The message goes in as context: user text in a template could hold "{...}".
    return PydanticCustomError(f"{exc.field}_invalid", "{reason}", {"reason": message})


class JoinIn(RecordIn):
    """MeshDB's join form body."""

    first_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    email_address: Annotated[EmailStr, Field(max_length=254)]
    phone_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    street_address: Annotated[Address, StringConstraints(min_length=1)]
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    state: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    zip_code: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    apartment: Short | None = None
    roof_access: bool = False
    referral: Notes | None = None
    ncl: bool
    trust_me_bro: bool = False
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    bin: int | None = Field(default=None, ge=0, le=99_999_999)

    @field_validator("zip_code", mode="before")
    @classmethod
    def _zip_as_text(cls, value: Any) -> Any:
        """Forms often send the ZIP as a number."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("phone_number")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        """E.164, default region US; an empty string means no phone."""
        if value is None or not value.strip():
            return None
        try:
            return join.normalise_phone(value)
        except Invalid as exc:
            raise _custom(exc) from exc

    @field_validator("state")
    @classmethod
    def _state(cls, value: str) -> str:
        """A US state or territory, as its two-letter code."""
        try:
            return join.normalise_state(value)
        except Invalid as exc:
            raise _custom(exc) from exc

    @field_validator("ncl")
    @classmethod
    def _ncl(cls, value: bool) -> bool:
        """The Network Commons License must be agreed to."""
        if not value:
            raise PydanticCustomError(
                "ncl_required", "the Network Commons License must be agreed to (ncl: true)"
            )
        return value


class JoinOut(BaseModel):
    """The records the request was filed under."""

    detail: str
    building_id: str
    member_id: str
    install_id: str
    install_number: int
    member_exists: bool


router = APIRouter(prefix="/api/v1", tags=["join"], responses=ERRORS)


@router.post(
    "/join/",
    status_code=201,
    response_model=JoinOut,
    summary="MeshDB's join form (no auth, rate-limited per client address)",
    dependencies=[Depends(rate_limited)],
    responses={
        200: {"model": JoinOut, "description": "the same request is already filed"},
        429: {"model": ErrorBody, "description": "too many join requests (see Retry-After)"},
    },
)
def submit_join(body: JoinIn, request: Request, session: DbSession) -> Any:
    """201 with a new install, or 200 with the one already open for this member and unit."""
    geocoder = getattr(request.app.state, "geocoder", None)
    req = join.JoinRequest(**body.model_dump())
    result = join.submit(session, req, geocoder=geocoder, actor=join.ACTOR)
    detail = (
        f"install {result.install_number} filed"
        if result.created
        else f"install {result.install_number} already filed for this request"
    )
    answer = {"detail": detail, **result.as_json()}
    return JSONResponse(answer, status_code=201 if result.created else 200)
