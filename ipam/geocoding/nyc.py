"""New York City's address services, as MeshDB's join form uses them (`MESHKEEPER_GEOCODER=nyc`).

MeshDB's `meshapi/validation.py` (`NYCAddressInfo`): NYC Planning Labs geosearch (a Pelias
server over the city's Property Address Directory) gives the canonical address, the BIN and
the coordinates; when it answers a placeholder BIN, the DOB New Buildings dataset on NYC Open
Data gives it instead; the Building Footprints dataset gives the roof's height above sea level.
Geosearch is asked through geopy's Pelias geocoder; the two Socrata datasets through httpx.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from geopy.exc import GeopyError
from geopy.geocoders import Pelias

from ipam.errors import BadRequest, Unavailable
from ipam.geocoding.messages import INVALID_ADDRESS, LOOKUP_FAILED, UNSUPPORTED_ADDRESS
from ipam.geocoding.street_names import readable_address
from ipam.records.join import Location

log = logging.getLogger(__name__)

# Placeholder BINs in the PAD: 0 and "million" BINs mean "no building number assigned"
# (MeshDB's INVALID_BIN_NUMBERS).
PLACEHOLDER_BINS = frozenset({-2, -1, 0, 1_000_000, 2_000_000, 3_000_000, 4_000_000})
# The five boroughs' ZIP codes all start with these (USPS sectional centres 100-104 Manhattan,
# Staten Island, Bronx; 110-114 and 116 Queens and Brooklyn). MeshDB keeps a full list
# (`meshapi/zips.py`); a prefix lets through a few Long Island ZIPs, which geosearch's own
# ZIP check below then refuses as invalid.
NYC_ZIP_PREFIXES = ("100", "101", "102", "103", "104", "110", "111", "112", "113", "114", "116")
FEET_PER_METRE = 3.28084
FOOTPRINTS = "/resource/5zhs-2jue.json"  # Building Footprints
NEW_BUILDINGS = "/resource/6xbh-bxki.json"  # DOB NYC New Buildings
TRUTH_SOURCE = "NYCPlanningLabs"


def address_refused(message: str, field: str = "street_address") -> BadRequest:
    """A 400 carrying one of MeshDB's address answers."""
    return BadRequest(message, field=field)


class _Geosearch(Pelias):  # type: ignore[misc]
    """geopy's Pelias geocoder at geosearch's whole URL (its path is /v2/search, not /v1)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        super().__init__(
            parts.netloc, scheme=parts.scheme, timeout=timeout, user_agent="meshkeeper"
        )
        self.geocode_api = f"{parts.scheme}://{parts.netloc}{parts.path}"


class NycGeocoder:
    """Locates New York City addresses with the city's public services."""

    def __init__(
        self,
        geosearch_url: str,
        open_data_url: str,
        *,
        timeout_s: float = 5.0,
    ) -> None:
        self.geosearch = _Geosearch(geosearch_url, timeout_s)
        self.open_data = open_data_url.rstrip("/")
        self.timeout_s = timeout_s

    def locate(self, street_address: str, city: str, state: str, zip_code: str) -> Location:
        """The canonical address, BIN, coordinates and altitude, or a 400 / 503 as MeshDB says."""
        if state not in ("NY", "New York"):
            raise address_refused(UNSUPPORTED_ADDRESS, "state")
        zip5 = zip_code.strip()[:5]
        if not (zip5.isdigit() and len(zip5) == 5 and zip5.startswith(NYC_ZIP_PREFIXES)):
            raise address_refused(UNSUPPORTED_ADDRESS, "zip_code")
        feature = self._search(f"{street_address}, {city}, {state} {zip_code}")
        props = feature["properties"]
        if str(props.get("postalcode")) != zip_code.strip():
            # Geosearch answers its closest match anywhere in the city; a different ZIP means
            # the address typed is not the one it found.
            raise address_refused(INVALID_ADDRESS)
        bin_ = _int(props.get("addendum", {}).get("pad", {}).get("bin"))
        if bin_ is None or bin_ in PLACEHOLDER_BINS:
            bin_ = self._new_building_bin(props)
        longitude, latitude = feature["geometry"]["coordinates"][:2]
        return Location(
            latitude=float(latitude),
            longitude=float(longitude),
            altitude=self._altitude(bin_),
            bin=bin_,
            source=TRUTH_SOURCE,
            street_address=readable_address(str(props["housenumber"]), str(props["street"])),
            city=_city(props),
            state=str(props.get("region_a") or "NY"),
            zip_code=str(props["postalcode"]),
        )

    def _search(self, text: str) -> dict[str, Any]:
        try:
            found = self.geosearch.geocode(text, exactly_one=True)
        except GeopyError as exc:
            log.warning("geosearch failed: %s", exc)
            raise Unavailable(LOOKUP_FAILED, field="street_address") from exc
        if found is None:
            raise address_refused(INVALID_ADDRESS)
        raw: dict[str, Any] = found.raw
        return raw

    def _get(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.open_data}{path}", params=params, timeout=self.timeout_s)
        answer.raise_for_status()
        rows = answer.json()
        return rows if isinstance(rows, list) else []

    def _new_building_bin(self, props: dict[str, Any]) -> int:
        """The BIN from DOB's New Buildings permits (geosearch had only a placeholder)."""
        params = {
            "street_name": str(props["street"]),
            "house__": str(props["housenumber"]),
            "borough": str(props["borough"]).upper(),
            "zip_code": str(props["postalcode"]),
        }
        try:
            rows = self._get(NEW_BUILDINGS, params)
        except (httpx.HTTPError, ValueError):
            log.warning("NYC Open Data New Buildings failed", exc_info=True)
            rows = []
        bins = {_int(row.get("bin__")) for row in rows} - {None}
        if not bins:
            raise address_refused(INVALID_ADDRESS)
        if len(bins) > 1:
            # MeshDB refuses to guess between BINs (an AddressAPIError, its 500).
            raise Unavailable(LOOKUP_FAILED, field="street_address")
        (bin_,) = bins
        assert bin_ is not None
        return bin_

    def _altitude(self, bin_: int) -> float | None:
        """Roof height above sea level in metres to 0.1 m (footprint height + ground, in feet)."""
        params = {"$where": f"bin={bin_}", "$select": "height_roof,ground_elevation", "$limit": "1"}
        try:
            rows = self._get(FOOTPRINTS, params)
            if not rows:
                return None
            feet = float(rows[0]["height_roof"]) + float(rows[0]["ground_elevation"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            # MeshDB too leaves the altitude unknown rather than refusing the member.
            log.warning("NYC Open Data Building Footprints failed for BIN %s", bin_, exc_info=True)
            return None
        return round(feet / FEET_PER_METRE, 1)


def _city(props: dict[str, Any]) -> str:
    """The postal city: Manhattan's is "New York", Queens' is the neighbourhood (MeshDB's rule)."""
    borough = str(props.get("borough", ""))
    if borough == "Queens":
        return str(props.get("neighbourhood") or "Queens")
    return borough.replace("Manhattan", "New York")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
