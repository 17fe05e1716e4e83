"""The join form in the console: a volunteer files a request for someone (a call, a street fair).

The same schema, messages and service as `POST /api/v1/join/` (api/join.py): MeshDB's own
messages on top, each field's beside it; a geocoder's corrected address is shown to confirm.
No reCAPTCHA and no rate limit: the person is signed in and the history names them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.errors import STATUS
from api.join import JoinIn, file_request, geocoder_for, validated
from api.ui.auth import Viewer, allow, check_csrf
from api.ui.forms import by_field, fields_of, posted, problems, shown
from api.ui.records import Posted
from api.ui.render import page
from ipam.enums import TokenRole
from ipam.errors import DomainError

router = APIRouter(prefix="/ui", include_in_schema=False)

# The schema's own titles ("Ncl", "Trust Me Bro") say little to a volunteer on the phone.
LABELS = {
    "email_address": "Email",
    "zip_code": "ZIP code",
    "apartment": "Apartment or unit",
    "roof_access": "They have roof access",
    "referral": "How they heard of the mesh",
    "ncl": "They agree to the Network Commons License",
    "trust_me_bro": "Submit the address as it is (skip the address checks, accept a correction)",
    "bin": "BIN",
}
HINTS = {
    "phone_number": "any common format",
    "state": "a code such as NY, or the name",
    "bin": "NYC's building number, when known",
    "latitude": "only for a building the geocoder cannot place",
    "longitude": "only for a building the geocoder cannot place",
}
FIELDS = [
    replace(f, label=LABELS.get(f.name, f.label), hint=HINTS.get(f.name, f.hint))
    for f in fields_of(JoinIn)
]
# The form in three parts, in the schema's order within each.
GROUPS = (
    ("The person", ("first_name", "last_name", "email_address", "phone_number")),
    (
        "The address",
        (
            "street_address",
            "apartment",
            "city",
            "state",
            "zip_code",
            "bin",
            "latitude",
            "longitude",
        ),
    ),
    ("The request", ("roof_access", "referral", "ncl", "trust_me_bro")),
)
BY_NAME = {f.name: f for f in FIELDS}
FRESH = {"state": "NY"}  # NYC Mesh's members are in New York


def _page(
    request: Request, values: dict[str, Any], status_code: int = 200, **context: Any
) -> Response:
    context.setdefault("errors", [])
    return page(
        request,
        "join.html",
        status_code=status_code,
        groups=[(title, [BY_NAME[n] for n in names]) for title, names in GROUPS],
        values=values,
        labels={f.name: f.label for f in FIELDS},
        messages=by_field(context["errors"]),
        **context,
    )


@router.get("/join", response_class=HTMLResponse)
def join_form(request: Request, who: Viewer) -> Response:
    """MeshDB's join form, empty."""
    allow(who, TokenRole.INSTALLER)
    return _page(request, dict(FRESH), result=None)


@router.post("/join", response_class=HTMLResponse)
def join_post(request: Request, session: DbSession, who: Viewer, form: Posted) -> Response:
    """File the request as the API would; on a problem the form again with its messages."""
    allow(who, TokenRole.INSTALLER)
    check_csrf(who, str(form.get("csrf_token", "")))
    # An empty box is a field not sent, so the schema's defaults and "required" apply.
    values = {k: v for k, v in posted(form, FIELDS).items() if v is not None}
    try:
        result = file_request(session, validated(values), geocoder_for(request), who.username)
    except DomainError as exc:
        session.rollback()
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        return _page(
            request,
            shown(values, FIELDS),
            status_code=status,
            result=None,
            detail=exc.message,
            errors=problems(exc),
            changed=exc.extra.get("changed_info") or {},
        )
    return _page(request, dict(FRESH), result=result)
