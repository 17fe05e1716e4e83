"""Members' phone numbers as the records keep them: E.164, checked with libphonenumber.

One rule for every way a number comes in (the join form, the records API, its CSV import).
MeshDB checks a number with `phonenumbers.is_possible_number` and stores it in the
international format (`meshapi/validation.py`, `normalize_phone_number`, called from
`Member.save`); meshkeeper asks for a *valid* number and stores E.164, so one number has one
spelling and lookups and duplicate checks are exact. An extension is kept after the number in
RFC 3966's form (`+12125550123;ext=45`), not dropped.
"""

from __future__ import annotations

import phonenumbers

from ipam.errors import Invalid

DEFAULT_REGION = "US"  # MeshDB parses every number with region "US" (meshapi/validation.py)
EXTENSION = ";ext="  # RFC 3966 section 5.1.5


def normalise_phone(raw: str, field: str = "phone_number", region: str = DEFAULT_REGION) -> str:
    """A phone number in E.164 (+12125550123); Invalid naming `field` otherwise."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(f"{field}: {raw!r} is not a phone number", field=field) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(
            f"{field}: {raw!r} is not a valid phone number (default region {region})",
            field=field,
        )
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return f"{number}{EXTENSION}{parsed.extension}" if parsed.extension else number


def same_phone(stored: str | None, phone: str) -> bool:
    """True when a stored number (in whatever spelling it was kept) is the E.164 `phone`."""
    if not stored:
        return False
    try:
        return normalise_phone(stored) == phone
    except Invalid:
        return stored.strip() == phone
