"""MeshDB's join form over HTTP: `POST /api/v1/join/`, no token, rate-limited per client.

The limit is `settings.join_rate_limit` requests per `settings.join_rate_window_s` seconds per
client address, kept in memory by each app instance (several API processes each keep their
own count, so the effective limit is per process). The address is the TCP peer's: behind a
reverse proxy every request comes from the proxy, and all clients share one budget, unless
the proxy is listed in `MESHKEEPER_TRUSTED_PROXIES` (and sets X-Forwarded-For), so that
uvicorn puts the real client address in its place (api/serving.py); from anyone else the
header is ignored, so a client cannot rotate it for a fresh budget.

The geocoder is `MESHKEEPER_GEOCODER` (`none`: a request for a new building must carry latitude
and longitude; `nyc`: MeshDB's New York services), or any `ipam.records.join.Geocoder` set as
`app.state.geocoder`. The form answers as MeshDB's `meshapi/views/forms.py` does: its 400
messages, 401 when reCAPTCHA fails (api/recaptcha.py), 409 "Please confirm a few details."
with `changed_info` when geocoding corrected the street or city.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, EmailStr, Field, StringConstraints, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from api import recaptcha
from api.deps import DbSession
from api.errors import validation_items
from api.resources import ERRORS
from api.schemas.common import (
    Address,
    ErrorBody,
    Latitude,
    Longitude,
    Notes,
    OptionalPhoneNumber,
    RecordIn,
    Short,
)
from ipam.errors import BadRequest, Invalid
from ipam.geocoding.messages import INVALID_ADDRESS
from ipam.geocoding.nyc import NycGeocoder
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
    phone_number: OptionalPhoneNumber = None
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
    changed_info: dict[str, str]


# MeshDB's answers (meshapi/views/forms.py), word for word: meshforms shows them to the member.
FILED = "Thanks! A volunteer will email you shortly"
INCOMPLETE = "Got incomplete form request"
REQUIRED = tuple(name for name, field in JoinIn.model_fields.items() if field.is_required())
ADDRESS_FIELDS = ("street_address", "city", "zip_code")


def _meshdb_message(payload: dict[str, Any], fields: set[str]) -> str | None:
    """MeshDB's message for the first field it checks that failed, in its order."""
    if "ncl" in fields:
        return "You must agree to the Network Commons License!"
    if "email_address" in fields:
        email = payload.get("email_address")
        return f"{email} is not a valid email" if email else "Must provide an email"
    if "phone_number" in fields:
        return f"{payload.get('phone_number')} is not a valid phone number"
    return None


def validated(payload: dict[str, Any]) -> JoinIn:
    """The body as a JoinIn, or a 400 with MeshDB's message (its form answers 400, not 422)."""
    try:
        return JoinIn.model_validate(payload)
    except ValidationError as exc:
        items = validation_items(exc.errors())
        message = _meshdb_message(payload, {item["field"] for item in items})
        summary = "; ".join(f"{i['field']}: {i['message']}" for i in items[:5])
        raise BadRequest(message or f"invalid request: {summary}", errors=items) from exc


def geocoder_for(request: Request) -> join.Geocoder | None:
    """The app's geocoder: one set on app.state, else the one MESHKEEPER_GEOCODER names."""
    state = request.app.state
    geocoder = getattr(state, "geocoder", None)
    if geocoder is None and state.settings.geocoder == "nyc":
        with _CREATE_LOCK:
            geocoder = getattr(state, "geocoder", None) or NycGeocoder(
                state.settings.nyc_geosearch_url, state.settings.nyc_open_data_url
            )
            state.geocoder = geocoder
    return geocoder


_JOIN_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": JoinIn.model_json_schema()}},
    }
}


router = APIRouter(prefix="/api/v1", tags=["join"], responses=ERRORS)


@router.post(
    "/join/",
    status_code=201,
    response_model=JoinOut,
    summary="MeshDB's join form (no auth, rate-limited per client address)",
    dependencies=[Depends(rate_limited)],
    openapi_extra=_JOIN_SCHEMA,
    responses={
        200: {"model": JoinOut, "description": "the same request is already filed"},
        401: {"model": ErrorBody, "description": "reCAPTCHA failed (only when a secret is set)"},
        409: {"model": ErrorBody, "description": "geocoding changed the address: confirm it"},
        429: {"model": ErrorBody, "description": "too many join requests (see Retry-After)"},
        503: {"model": ErrorBody, "description": "the geocoder's services did not answer"},
    },
)
def submit_join(payload: Annotated[Any, Body()], request: Request, session: DbSession) -> Any:
    """201 with a new install, or 200 with the one already open for this member and unit."""
    if not isinstance(payload, dict) or any(name not in payload for name in REQUIRED):
        raise BadRequest(INCOMPLETE, field="body")
    recaptcha.check(request)  # MeshDB checks the captcha before it reads the fields
    result = file_request(session, validated(payload), geocoder_for(request), join.ACTOR)
    answer = {"detail": FILED, **result.as_json()}
    return JSONResponse(answer, status_code=201 if result.created else 200)


def file_request(
    session: Session, body: JoinIn, geocoder: join.Geocoder | None, actor: str
) -> join.JoinResult:
    """File a validated join request (the API's and the console's form); MeshDB's address 400."""
    try:
        return join.submit(
            session, join.JoinRequest(**body.model_dump()), geocoder=geocoder, actor=actor
        )
    except Invalid as exc:
        if exc.field not in ADDRESS_FIELDS:
            raise
        # MeshDB answers every address it cannot place with one 400 (meshforms shows it).
        raise BadRequest(INVALID_ADDRESS, field=exc.field, errors=_items(exc)) from exc


def _items(exc: Invalid) -> list[dict[str, Any]]:
    """The field errors an Invalid carries (or one naming its field)."""
    errors: list[dict[str, Any]] = exc.extra.get("errors") or [
        {"field": exc.field, "rule": "Invalid", "message": exc.message}
    ]
    return errors
