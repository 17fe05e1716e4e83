"""The join form: normalise a request, find or make its member and building, file the install.

MeshDB's `POST /api/v1/join/` in domain terms. Everything here is plain values and a
session; the HTTP side (body schema, rate limit) lives in `api/join.py`.

Matching rules (so one person filling the form twice never makes two of anything):

- member: the oldest member whose primary email equals the submitted one, ignoring case.
  Nothing on an existing member changes except that a phone number it does not have yet is
  appended to `additional_phone_numbers`, while it holds fewer than `JOIN_PHONE_CAP` (anyone
  who knows an email can send the form: it may not grow a member without end).
- building: one with the submitted BIN and the same street address (compared as
  `street_key`), else one with the same street key and ZIP (first five digits).
- install: the same member, building and unit still in Request Received is answered with
  that install instead of a duplicate.
"""

from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass, replace
from typing import Any, Protocol

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.enums import InstallStatus
from ipam.errors import Conflict, DomainError, Invalid
from ipam.records import edits
from ipam.records.changes import KINDS
from ipam.records.phones import normalise_phone, same_phone

log = logging.getLogger(__name__)

ACTOR = "join-form"
# Join submissions are rare and rate-limited: one transaction-scoped lock serialises them, so
# two submissions racing with the same email can never both create a member.
JOIN_LOCK = 0x6D6B_0020
# MeshDB's AddressTruthSource for an address a person typed in (meshapi/models/building.py).
TRUTH_SOURCE = "HumanEntry"

# USPS two-letter codes of the states, DC and the inhabited territories.
# fmt: off
STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
}
# fmt: on
_STATE_NAMES = {re.sub(r"[^a-z]", "", name.lower()): code for code, name in STATES.items()}
_STATE_NAMES.update({"washingtondc": "DC", "virginislands": "VI", "usvirginislands": "VI"})

# Street words written two ways; each maps to the USPS abbreviation (Publication 28, C1/C2).
# fmt: off
STREET_WORDS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "aven": "ave", "boulevard": "blvd",
    "blv": "blvd", "road": "rd", "place": "pl", "drive": "dr", "lane": "ln", "court": "ct",
    "parkway": "pkwy", "pky": "pkwy", "terrace": "ter", "highway": "hwy", "square": "sq",
    "plaza": "plz", "expressway": "expy", "turnpike": "tpke", "broadway": "bway", "north": "n",
    "south": "s", "east": "e", "west": "w", "apartment": "apt",
}
# fmt: on
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
_HOUSE_NUMBER = re.compile(r"^\d[\dA-Za-z]*(?:[-/]\d+[A-Za-z]?)?\s+\S")
_ZIP = re.compile(r"^\d{5}(?:-\d{4})?$")


@dataclass(frozen=True)
class Location:
    """What a geocoder found for an address."""

    latitude: float
    longitude: float
    altitude: float | None = None
    bin: int | None = None
    source: str | None = None
    # The address as the geocoder's source writes it, when it has one (MeshDB's NYC geocoder
    # corrects "35 ave" to "35th Avenue"; a change is confirmed with the member first).
    street_address: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None


class Geocoder(Protocol):
    """Turns a postal address into coordinates (and a BIN when it knows one)."""

    def locate(self, street_address: str, city: str, state: str, zip_code: str) -> Location | None:
        """The address's location, or None when it cannot say."""
        ...


class NoGeocoder:
    """The default: finds nothing and calls nothing (meshkeeper makes no network calls)."""

    def locate(self, street_address: str, city: str, state: str, zip_code: str) -> Location | None:
        """Always None: the client must send latitude and longitude for a new building."""
        return None


@dataclass(frozen=True)
class JoinRequest:
    """MeshDB's join form body as plain values."""

    first_name: str
    last_name: str
    email_address: str
    phone_number: str | None
    street_address: str
    city: str
    state: str
    zip_code: str
    apartment: str | None = None
    roof_access: bool = False
    referral: str | None = None
    ncl: bool = False
    trust_me_bro: bool = False
    latitude: float | None = None
    longitude: float | None = None
    bin: int | None = None


@dataclass(frozen=True)
class JoinResult:
    """What the join form answers: the records used and whether anything was filed."""

    building_id: str
    member_id: str
    install_id: str
    install_number: int
    member_exists: bool
    created: bool

    def as_json(self) -> dict[str, Any]:
        """MeshDB's join response body."""
        return {
            "building_id": self.building_id,
            "member_id": self.member_id,
            "install_id": self.install_id,
            "install_number": self.install_number,
            "member_exists": self.member_exists,
            # MeshDB's key: what geocoding changed (always empty once an install is filed).
            "changed_info": {},
        }


# --- normalisation (pure) ---


def collapse(value: str | None) -> str:
    """Trim and collapse runs of whitespace to one space."""
    return " ".join((value or "").split())


def normalise_email(raw: str) -> str:
    """An email address as email-validator normalises it; Invalid naming email_address."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Invalid(f"email_address: {exc}", field="email_address") from exc


def normalise_state(raw: str) -> str:
    """A US state or territory, given as code or name, as its two-letter code."""
    letters = re.sub(r"[^a-z]", "", raw.lower())
    if letters.upper() in STATES:
        return letters.upper()
    if letters in _STATE_NAMES:
        return _STATE_NAMES[letters]
    raise Invalid(
        f"state: {raw!r} is not a US state or territory (a two-letter code such as NY, or a name)",
        field="state",
    )


def street_key(street_address: str | None) -> str:
    """The street address as compared for matching: case, spacing, punctuation, suffixes."""
    lowered = (street_address or "").lower()
    # Apostrophes and periods vanish ("St. Mark's" -> "st marks"); other punctuation separates.
    lowered = re.sub(r"['’.]", "", lowered)
    kept = "".join(c if c.isalnum() or c == "-" else " " for c in lowered)
    words = []
    for word in kept.split():
        word = word.strip("-")
        if not word:
            continue
        ordinal = _ORDINAL.match(word)
        if ordinal:
            word = ordinal.group(1)
        words.append(STREET_WORDS.get(word, word))
    return " ".join(words)


def zip_key(zip_code: str | None) -> str:
    """A ZIP as compared for matching: its first five digits (ZIP+4 or not)."""
    value = collapse(zip_code).upper()
    return value[:5] if re.match(r"^\d{5}", value) else value


def unit_key(unit: str | None) -> str:
    """A unit as compared for duplicate requests: case, spacing and punctuation ignored."""
    value = (unit or "").lower()
    value = "".join(c for c in value if c not in string.punctuation and not c.isspace())
    for prefix in ("apartment", "apt", "unit"):
        if value.startswith(prefix) and len(value) > len(prefix):
            return value.removeprefix(prefix)
    return value


def address_problems(street_address: str, city: str, zip_code: str) -> list[tuple[str, str]]:
    """Syntactic checks of an address: (field, message) for each one it fails."""
    problems = []
    if not _HOUSE_NUMBER.match(collapse(street_address)):
        problems.append(
            ("street_address", "should start with a house number and a street ('123 Main St')")
        )
    if not any(c.isalpha() for c in city):
        problems.append(("city", "should name a city"))
    if not _ZIP.match(collapse(zip_code)):
        problems.append(("zip_code", "should be a five-digit ZIP code (or ZIP+4)"))
    return problems


# --- the form ---


@dataclass(frozen=True)
class _Clean:
    """A request after validation and normalisation."""

    name: str
    email: str
    phone: str | None
    street_address: str
    city: str
    state: str
    zip_code: str
    unit: str | None
    referral: str | None


def _clean(req: JoinRequest) -> _Clean:
    if not req.ncl:
        raise Invalid("ncl: the Network Commons License must be agreed to (ncl: true)", field="ncl")
    email = normalise_email(req.email_address)
    phone = (
        normalise_phone(req.phone_number) if req.phone_number and req.phone_number.strip() else None
    )
    state = normalise_state(req.state)
    street, city, zip_code = (
        collapse(req.street_address),
        collapse(req.city),
        collapse(req.zip_code),
    )
    problems = address_problems(street, city, zip_code)
    if problems and not req.trust_me_bro:
        summary = "; ".join(f"{f}: {msg}" for f, msg in problems)
        raise Invalid(
            f"{summary} (send trust_me_bro: true to submit this address as it is)",
            field=problems[0][0],
            errors=[{"field": f, "rule": "Invalid", "message": msg} for f, msg in problems],
        )
    if not street:
        raise Invalid("street_address: may not be empty", field="street_address")
    if (req.latitude is None) != (req.longitude is None):
        missing = "longitude" if req.longitude is None else "latitude"
        raise Invalid(f"{missing}: latitude and longitude come together", field=missing)
    return _Clean(
        name=collapse(f"{req.first_name} {req.last_name}"),
        email=email,
        phone=phone,
        street_address=street,
        city=city,
        state=state,
        zip_code=zip_code,
        unit=collapse(req.apartment) or None,
        referral=(req.referral or "").strip() or None,
    )


def _locate(req: JoinRequest, clean: _Clean, geocoder: Geocoder) -> Location | None:
    """The client's coordinates when given, else the geocoder's (a failing geocoder is None)."""
    if req.latitude is not None and req.longitude is not None:
        return Location(req.latitude, req.longitude, bin=req.bin)
    try:
        found = geocoder.locate(clean.street_address, clean.city, clean.state, clean.zip_code)
    except DomainError:
        raise  # the geocoder's own answer to the client (MeshDB's invalid or non-NYC address)
    except Exception:  # noqa: BLE001 - a plugged-in geocoder's failure must not become a 500
        log.warning("geocoder failed for %r", clean.street_address, exc_info=True)
        return None
    return found


def find_member(session: Session, email: str) -> m.Member | None:
    """The oldest member whose primary email is this one, ignoring case."""
    stmt = (
        select(m.Member)
        .where(func.lower(m.Member.primary_email_address) == email.lower())
        .order_by(m.Member.created, m.Member.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def find_building(
    session: Session, street_address: str, zip_code: str, bin_: int | None
) -> m.Building | None:
    """A building with this BIN and street, else one with this street and ZIP."""
    key = street_key(street_address)
    order = (m.Building.created, m.Building.id)
    columns = (m.Building.id, m.Building.street_address, m.Building.zip_code)
    if bin_ is not None:
        for row in session.execute(select(*columns).where(m.Building.bin == bin_).order_by(*order)):
            if street_key(row.street_address) == key:
                return session.get_one(m.Building, row.id)
    wanted_zip = zip_key(zip_code)
    near = select(*columns).where(func.left(func.btrim(m.Building.zip_code), 5) == wanted_zip[:5])
    for row in session.execute(near.order_by(*order)):
        if zip_key(row.zip_code) == wanted_zip and street_key(row.street_address) == key:
            return session.get_one(m.Building, row.id)
    return None


def _open_request(
    session: Session, member: m.Member, building: m.Building, unit: str | None
) -> m.Install | None:
    """The newest install of this member, building and unit still in Request Received."""
    stmt = (
        select(m.Install)
        .where(
            m.Install.member_id == member.id,
            m.Install.building_id == building.id,
            m.Install.status == InstallStatus.REQUEST_RECEIVED,
        )
        .order_by(m.Install.install_number.desc())
    )
    wanted = unit_key(unit)
    return next((i for i in session.scalars(stmt) if unit_key(i.unit) == wanted), None)


# Additional phone numbers a join may grow a member to. Far below the 50 the API accepts on
# a member (api/schemas/people.py), so an admin's GET-then-PUT of it always stays valid.
JOIN_PHONE_CAP = 5


def _member(session: Session, clean: _Clean, actor: str) -> tuple[m.Member, bool]:
    member = find_member(session, clean.email)
    if member is None:
        values = {
            "name": clean.name,
            "primary_email_address": clean.email,
            "phone_number": clean.phone,
        }
        return edits.create(session, KINDS["members"], values, actor), False
    phone = clean.phone
    known = [member.phone_number, *member.additional_phone_numbers]
    if phone and not any(same_phone(p, phone) for p in known):
        if len(member.additional_phone_numbers) >= JOIN_PHONE_CAP:
            # No number in the log: it is a member's personal data.
            log.info(
                "join: member %s has %d more phone numbers; not adding another",
                member.id,
                JOIN_PHONE_CAP,
            )
            return member, True
        # The only change a join form makes to a known member: its own fields stay its own.
        change = {"additional_phone_numbers": [*member.additional_phone_numbers, phone]}
        member = edits.update(session, KINDS["members"], member.id, change, actor)
    return member, True


def _building(
    session: Session, clean: _Clean, where: Location | None, bin_: int | None, actor: str
) -> m.Building:
    found = find_building(session, clean.street_address, clean.zip_code, bin_)
    if found is not None:
        return found
    if where is None:
        raise Invalid(
            "latitude, longitude: a new building needs coordinates and no geocoder found "
            "this address; send latitude and longitude",
            field="latitude",
            errors=[
                {"field": name, "rule": "missing", "message": "required for a new building"}
                for name in ("latitude", "longitude")
            ],
        )
    if where.street_address and where.source:
        sources = [where.source]  # the address is the source's own, as MeshDB files it
    else:
        sources = [TRUTH_SOURCE, *([where.source] if where.source else [])]
    values = {
        "bin": bin_,
        "street_address": clean.street_address,
        "city": clean.city,
        "state": clean.state,
        "zip_code": clean.zip_code,
        "latitude": where.latitude,
        "longitude": where.longitude,
        "altitude": where.altitude,
        "address_truth_sources": sources,
    }
    return edits.create(session, KINDS["buildings"], values, actor)


def changed_info(clean: _Clean, where: Location) -> dict[str, str]:
    """The street and city the geocoder wrote differently (MeshDB's `changed_info`)."""
    changed = {}
    if where.street_address and where.street_address != clean.street_address:
        changed["street_address"] = where.street_address
    if where.city and where.city != clean.city:
        changed["city"] = where.city
    return changed


def _geocoded(clean: _Clean, where: Location, trust_me_bro: bool) -> _Clean:
    """The request with the geocoder's address; a 409 first if that changed what was typed.

    MeshDB (`meshapi/views/forms.py`) asks the member to confirm a corrected street or city
    ("Please confirm a few details.") unless `trust_me_bro` is set; either way the building is
    filed under the geocoder's address.
    """
    changed = changed_info(clean, where)
    if changed and not trust_me_bro:
        raise Conflict(
            "Please confirm a few details.",
            field=next(iter(changed)),
            building_id=None,
            member_id=None,
            install_id=None,
            install_number=None,
            member_exists=None,
            changed_info=changed,
        )
    return replace(
        clean,
        street_address=where.street_address or clean.street_address,
        city=where.city or clean.city,
        state=where.state or clean.state,
        zip_code=where.zip_code or clean.zip_code,
    )


def submit(
    session: Session,
    req: JoinRequest,
    *,
    geocoder: Geocoder | None = None,
    actor: str = ACTOR,
) -> JoinResult:
    """File a join request: reuse or create member and building, then the install.

    Coordinates: a building row needs latitude and longitude (the map, line-of-sight and NN
    work all start from them). MeshDB geocodes every address through NYC's services; meshkeeper
    makes no network calls, so the geocoder is pluggable and does nothing by default. When the
    request matches an existing building none are needed; when a new building must be made
    and neither the client nor the geocoder gave coordinates, the answer is a 422 naming
    latitude and longitude rather than a building placed at a made-up point.
    """
    clean = _clean(req)
    where = _locate(req, clean, geocoder or NoGeocoder())
    if where is not None and where.street_address:
        clean = _geocoded(clean, where, req.trust_me_bro)
    bin_ = req.bin if req.bin is not None else (where.bin if where else None)
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": JOIN_LOCK})
    member, member_exists = _member(session, clean, actor)
    building = _building(session, clean, where, bin_, actor)
    existing = _open_request(session, member, building, clean.unit)
    if existing is not None:
        install, created = existing, False
    else:
        values = {
            "status": InstallStatus.REQUEST_RECEIVED,
            "member": member.id,
            "building": building.id,
            "unit": clean.unit,
            "roof_access": req.roof_access,
            "referral": clean.referral,
        }
        install, created = edits.create(session, KINDS["installs"], values, actor), True
    return JoinResult(
        building_id=str(building.id),
        member_id=str(member.id),
        install_id=str(install.id),
        install_number=install.install_number,
        member_exists=member_exists,
        created=created,
    )
