"""UISP collector: one GET /devices and one GET /data-links per cycle, parsed into frozen facts.

Pure fetch + parse: nothing here touches the database. Every failure of a cycle (guard, login,
network, HTTP status, JSON, shape) becomes one ``CollectorError`` naming the endpoint and the
reason; a cycle yields a whole ``UispSnapshot`` or nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from collectors.errors import CollectorError
from collectors.guard import ProbeGuard, refusal

COLLECTOR = "uisp"
API_ROOT = "/nms/api/v2.1"
DEVICES_PATH = f"{API_ROOT}/devices"
LINKS_PATH = f"{API_ROOT}/data-links"
LOGIN_PATH = f"{API_ROOT}/user/login"
TOKEN_HEADER = "x-auth-token"  # the Swagger spec's UserSecurity apiKey header

NAME_PREFIX = "nycmesh"
NN_MIN = 1
NN_MAX = 8000
# NYC Mesh's supernodes go by names, not numbers (MeshDB: DEVICE_NAME_NETWORK_NUMBER_SUBSTITUTIONS).
NYCMESH_ALIASES: Mapping[str, int] = {"sn1": 227, "supernode1": 227, "375p": 227, "sn3": 713}


@dataclass(frozen=True, slots=True, kw_only=True)
class UispDevice:
    """One UISP device as /devices reported it; every field but id may be None."""

    id: str
    name: str | None = None
    network_number: int | None = None  # from the name, see nn_from_name
    model: str | None = None
    type: str | None = None  # airMax, airFiber, wave, ...
    category: str | None = None  # wireless, wired, optical, accessories
    role: str | None = None
    site_id: str | None = None
    site_name: str | None = None
    status: str | None = None  # overview.status: active, disconnected, ...
    last_seen: datetime | None = None
    created_at: datetime | None = None
    uptime_s: int | None = None
    signal_dbm: float | None = None
    frequency_mhz: float | None = None
    wireless_mode: str | None = None  # ap-ptp, ap-ptmp, ap-ptmp-airmax-mixed, ...
    ip_address: str | None = None  # without the /prefix
    firmware_version: str | None = None
    mac: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UispLink:
    """One UISP data-link; an end is None when UISP does not manage the device there."""

    id: str
    from_device_id: str | None = None
    to_device_id: str | None = None
    state: str | None = None  # active, disabled, disconnected, proposed
    type: str | None = None  # wireless, ethernet, pon
    frequency_mhz: float | None = None
    signal_dbm: float | None = None


@dataclass(frozen=True, slots=True)
class UispSnapshot:
    """Everything one cycle saw: all devices and all data-links, and when."""

    devices: tuple[UispDevice, ...]
    links: tuple[UispLink, ...]
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class UispRaw:
    """The two answers as bytes, before any parsing (the fetch stage's output)."""

    devices: bytes
    links: bytes
    fetched_at: datetime


def nn_from_name(
    name: str | None, aliases: Mapping[str, int] | None = None, *, prefix: str = NAME_PREFIX
) -> int | None:
    """The NN in a device name such as nycmesh-1234-omni or nycmesh-lbe-1234, else None."""
    return _nn(name, _fold(aliases), prefix)


def _fold(aliases: Mapping[str, int] | None) -> dict[str, int]:
    return {k.strip().lower(): v for k, v in (aliases or {}).items()}


def _nn(name: str | None, aliases: Mapping[str, int], prefix: str) -> int | None:
    if not name:
        return None
    # Real names carry stray spaces and notes (" nycmesh-5916-gbep1-roof (Rob's Test GBE+)").
    parts = [part.strip() for part in name.strip().lower().split("-")]
    if parts[0] != prefix:
        return None
    # The first number names the device's own node; a later one is the far end of its link
    # (nycmesh-1340-gbelr-5014 sits on 1340), so the first NN-like part wins.
    for part in parts[1:]:
        if part in aliases:
            return aliases[part]
        if part.isascii() and part.isdigit() and NN_MIN <= int(part) <= NN_MAX:
            return int(part)
    return None


async def collect(
    base_url: str,
    *,
    guard: ProbeGuard,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 10.0,
    aliases: Mapping[str, int] | None = None,
    verify_tls: bool | str = True,
) -> UispSnapshot:
    """Fetch /devices and /data-links once each and parse them into one UispSnapshot."""
    raw = await fetch(
        base_url,
        guard=guard,
        token=token,
        username=username,
        password=password,
        timeout=timeout,
        verify_tls=verify_tls,
    )
    return parse(raw, aliases=aliases)


async def fetch(
    base_url: str,
    *,
    guard: ProbeGuard,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 10.0,
    verify_tls: bool | str = True,
) -> UispRaw:
    """Check the guard, log in if needed, then GET both lists concurrently as raw bytes."""
    root = await _checked_root(base_url, guard)
    if token is None and not (username and password):
        raise CollectorError(COLLECTOR, "no credentials: give a token or a username and password")
    async with httpx.AsyncClient(
        base_url=root,
        timeout=httpx.Timeout(timeout),
        verify=_tls(verify_tls),
        # Redirects and environment proxies would send the request past the guard.
        follow_redirects=False,
        trust_env=False,
        headers={"accept": "application/json"},
    ) as client:
        if token is None:
            token = await _login(client, str(username), str(password), timeout)
        headers = {TOKEN_HEADER: token}
        tasks = [
            asyncio.create_task(_request(client, "GET", path, timeout, headers=headers))
            for path in (DEVICES_PATH, LINKS_PATH)
        ]
        try:
            devices, links = await asyncio.gather(*tasks)
        finally:
            # One failure ends the cycle: stop the other request and collect its outcome so
            # no task is left running (or unretrieved) behind the one error we raise.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return UispRaw(devices.content, links.content, datetime.now(UTC))


def _tls(verify_tls: bool | str) -> bool | ssl.SSLContext:
    if not isinstance(verify_tls, str):
        return verify_tls
    # A string is a CA bundle: UISP servers often run a private certificate.
    try:
        return ssl.create_default_context(cafile=verify_tls)
    except (OSError, ssl.SSLError) as exc:
        raise CollectorError(COLLECTOR, f"CA bundle {verify_tls}: {exc}") from None


async def _checked_root(base_url: str, guard: ProbeGuard) -> str:
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - reading the port is what checks it
    except ValueError as exc:
        raise CollectorError(COLLECTOR, f"base URL {base_url!r} is not valid: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CollectorError(COLLECTOR, f"base URL {base_url!r} is not an http(s) URL")
    refused = await refusal(parts.hostname, guard)
    if refused:
        raise CollectorError(COLLECTOR, refused)
    path = parts.path.rstrip("/")
    if path.endswith(API_ROOT):
        path = path[: -len(API_ROOT)]
    return f"{parts.scheme}://{parts.netloc}{path}"


async def _login(client: httpx.AsyncClient, username: str, password: str, timeout: float) -> str:
    response = await _request(
        client, "POST", LOGIN_PATH, timeout, json={"username": username, "password": password}
    )
    token = response.headers.get(TOKEN_HEADER)
    if not token:
        raise CollectorError(
            COLLECTOR, f"POST {LOGIN_PATH}: no {TOKEN_HEADER} header in the answer"
        )
    return token


async def _request(
    client: httpx.AsyncClient, method: str, path: str, timeout: float, **kwargs: Any
) -> httpx.Response:
    label = f"{method} {path}"
    try:
        # httpx's timeout bounds each read; this bounds the whole answer, so a server that
        # trickles bytes cannot hold a cycle open forever.
        async with asyncio.timeout(timeout):
            response = await client.request(method, path, **kwargs)
    except (TimeoutError, httpx.TimeoutException):
        raise CollectorError(
            COLLECTOR, f"{label}: no complete answer within {timeout:g} s"
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise CollectorError(COLLECTOR, f"{label}: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise CollectorError(COLLECTOR, f"{label}: HTTP {response.status_code}{_why(response)}")
    return response


def _why(response: httpx.Response) -> str:
    # UISP's Error schema carries "error" and "message"; show them, never our request headers.
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return ""
    if isinstance(body, dict):
        text = body.get("message") or body.get("error")
        if isinstance(text, str) and text:
            return f" ({text[:200]})"
    return ""


def parse(raw: UispRaw, *, aliases: Mapping[str, int] | None = None) -> UispSnapshot:
    """Decode and check both answers; any bad document or missing required field raises."""
    folded = _fold(aliases)
    devices_doc = _decode(raw.devices, DEVICES_PATH)
    links_doc = _decode(raw.links, LINKS_PATH)
    devices = tuple(_device(item, i, folded) for i, item in enumerate(devices_doc))
    links = tuple(_link(item, i) for i, item in enumerate(links_doc))
    _unique(devices, DEVICES_PATH, "identification.id")
    _unique(links, LINKS_PATH, "id")
    return UispSnapshot(devices, links, raw.fetched_at)


def _decode(body: bytes, path: str) -> list[Any]:
    if not body.strip():
        raise CollectorError(COLLECTOR, f"GET {path}: empty answer, expected a JSON list")
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        # An error in the last few characters (a literal, a \uXXXX escape) or a string that
        # never closes means the document stopped early: say so, it points at the transport.
        near_end = exc.pos > 0 and exc.pos >= len(exc.doc.rstrip()) - 8
        ends_early = near_end or exc.msg.startswith("Unterminated")
        hint = f"document ends early after {len(body)} bytes (truncated?): " if ends_early else ""
        raise CollectorError(COLLECTOR, f"GET {path}: invalid JSON: {hint}{exc}") from None
    except (ValueError, RecursionError) as exc:
        raise CollectorError(COLLECTOR, f"GET {path}: invalid JSON ({exc})") from None
    if not isinstance(doc, list):
        raise CollectorError(
            COLLECTOR, f"GET {path}: expected a JSON list, got {type(doc).__name__}"
        )
    return doc


def _unique(items: tuple[UispDevice | UispLink, ...], path: str, field: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise CollectorError(COLLECTOR, f"GET {path}: item {i}: duplicate {field} {item.id!r}")
        seen.add(item.id)


class _Item:
    """Where a field came from, so an error can say which item and which field."""

    __slots__ = ("path", "index", "id")

    def __init__(self, path: str, index: int) -> None:
        self.path, self.index, self.id = path, index, ""

    def error(self, field: str, problem: str) -> CollectorError:
        ident = f" (id {self.id})" if self.id else ""
        return CollectorError(
            COLLECTOR, f"GET {self.path}: item {self.index}{ident}: {field} {problem}"
        )

    def obj(self, parent: dict[str, Any], key: str, field: str) -> dict[str, Any]:
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(field, f"is {type(value).__name__}, not an object")
        return value

    def text(self, parent: dict[str, Any], key: str, field: str) -> str | None:
        value = parent.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.error(field, f"is {type(value).__name__}, not a string")

    def number(self, parent: dict[str, Any], key: str, field: str) -> float | None:
        value = parent.get(key)
        if value is None:
            return None
        # bool is an int in Python; true is no frequency.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(field, f"is {type(value).__name__}, not a number")
        return value

    def time(self, parent: dict[str, Any], key: str, field: str) -> datetime | None:
        value = self.text(parent, key, field)
        if not value:
            return None
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            raise self.error(field, f"{value!r} is not an ISO 8601 time") from None
        # UISP writes UTC with a Z; a stamp without an offset is taken as UTC too.
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)

    def required_id(self, parent: dict[str, Any], key: str, field: str) -> str:
        value = parent.get(key)
        if value is None or value == "":
            raise self.error(field, "is missing")
        if not isinstance(value, str):
            raise self.error(field, f"is {type(value).__name__}, not a string")
        return value


def _device(item: object, index: int, aliases: Mapping[str, int]) -> UispDevice:
    at = _Item(DEVICES_PATH, index)
    if not isinstance(item, dict):
        raise at.error("device", f"is {type(item).__name__}, not an object")
    ident = at.obj(item, "identification", "identification")
    at.id = at.required_id(ident, "id", "identification.id")
    site = at.obj(ident, "site", "identification.site")
    overview = at.obj(item, "overview", "overview")
    firmware = at.obj(item, "firmware", "firmware")
    name = at.text(ident, "name", "identification.name")
    uptime = at.number(overview, "uptime", "overview.uptime")
    return UispDevice(
        id=at.id,
        name=name,
        network_number=_nn(name, aliases, NAME_PREFIX),
        model=at.text(ident, "model", "identification.model"),
        type=at.text(ident, "type", "identification.type"),
        category=at.text(ident, "category", "identification.category"),
        role=at.text(ident, "role", "identification.role"),
        site_id=at.text(site, "id", "identification.site.id"),
        site_name=at.text(site, "name", "identification.site.name"),
        status=at.text(overview, "status", "overview.status"),
        last_seen=at.time(overview, "lastSeen", "overview.lastSeen"),
        created_at=at.time(overview, "createdAt", "overview.createdAt"),
        uptime_s=None if uptime is None else int(uptime),
        signal_dbm=at.number(overview, "signal", "overview.signal"),
        frequency_mhz=at.number(overview, "frequency", "overview.frequency"),
        wireless_mode=at.text(overview, "wirelessMode", "overview.wirelessMode"),
        ip_address=_address(at, at.text(item, "ipAddress", "ipAddress")),
        firmware_version=at.text(ident, "firmwareVersion", "identification.firmwareVersion")
        or at.text(firmware, "current", "firmware.current"),
        mac=at.text(ident, "mac", "identification.mac"),
    )


def _address(at: _Item, value: str | None) -> str | None:
    if not value:
        return None
    # UISP writes the interface form ("10.96.127.246/26"); the address is what we compare.
    # One ip_address() parse: ip_interface() would parse it again for the network.
    address, _, prefix = value.strip().partition("/")
    try:
        if prefix and not (prefix.isascii() and prefix.isdigit() and int(prefix) <= 128):
            raise ValueError(prefix)
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise at.error("ipAddress", f"{value!r} is not an IP address") from None


def _link(item: object, index: int) -> UispLink:
    at = _Item(LINKS_PATH, index)
    if not isinstance(item, dict):
        raise at.error("data-link", f"is {type(item).__name__}, not an object")
    at.id = at.required_id(item, "id", "id")
    return UispLink(
        id=at.id,
        from_device_id=_end(at, item, "from"),
        to_device_id=_end(at, item, "to"),
        state=at.text(item, "state", "state"),
        type=at.text(item, "type", "type"),
        frequency_mhz=at.number(item, "frequency", "frequency"),
        signal_dbm=at.number(item, "signal", "signal"),
    )


def _end(at: _Item, item: dict[str, Any], side: str) -> str | None:
    # An end with device null is a link to something UISP does not manage: a fact, not an
    # error. An end that names a device but no device id is a broken answer.
    device = at.obj(at.obj(item, side, side), "device", f"{side}.device")
    if not device:
        return None
    ident = at.obj(device, "identification", f"{side}.device.identification")
    return at.required_id(ident, "id", f"{side}.device.identification.id")
