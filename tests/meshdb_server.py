"""A stand-in MeshDB on loopback: its list endpoints, DRF pagination and `Token` auth.

Records are built in the shapes of MeshDB's serializers (src/meshapi/serializers/
model_api.py: every model field, references as `{"id": ...}` plus the serializer's
additional keys, read-only reverse lists) and served as DRF's PageNumberPagination does:
`{"count", "next", "previous", "results"}`, `?page=` and `?page_size=`, 100 by default
(src/meshdb/settings.py). A request without `Authorization: Token <key>` gets DRF's 401.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

TOKEN = "0123456789abcdef0123456789abcdef01234567"  # MeshDB keys: 40 hex characters


def ref(record: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A NestedKeyObjectRelatedField value: the id and the named additional keys."""
    return {"id": record["id"], **{k: record[k] for k in keys}}


def member(name: str, email: str | None, **extra: Any) -> dict[str, Any]:
    """A MemberSerializer record."""
    row = {
        "id": str(uuid.uuid4()),
        "name": name,
        "primary_email_address": email,
        "stripe_email_address": None,
        "additional_email_addresses": [],
        "phone_number": None,
        "additional_phone_numbers": [],
        "slack_handle": None,
        "notes": None,
        "payment_preference": None,
        "installs": [],
    }
    row.update(extra)
    row["all_email_addresses"] = [e for e in [row["primary_email_address"]] if e] + list(
        row["additional_email_addresses"]
    )
    row["all_phone_numbers"] = [p for p in [row["phone_number"]] if p]
    return row


def node(nn: int | None, lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    """A NodeSerializer record."""
    row = {
        "id": str(uuid.uuid4()),
        "network_number": nn,
        "name": None,
        "status": "Active",
        "type": "Standard",
        "latitude": lat,
        "longitude": lon,
        "altitude": None,
        "install_date": None,
        "abandon_date": None,
        "placement": "rooftop",
        "notes": None,
        "buildings": [],
        "devices": [],
        "installs": [],
    }
    row.update(extra)
    return row


def building(lat: float, lon: float, nodes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A BuildingSerializer record; its first node is the primary one."""
    row = {
        "id": str(uuid.uuid4()),
        "installs": [],
        "bin": None,
        "street_address": None,
        "city": "New York",
        "state": "NY",
        "zip_code": None,
        "address_truth_sources": ["AddressTruthSource.NYCPlanningLabs"],
        "latitude": lat,
        "longitude": lon,
        "altitude": None,
        "notes": None,
        "panoramas": [],
        "primary_node": ref(nodes[0], "network_number") if nodes else None,
        "nodes": [ref(n, "network_number") for n in nodes],
    }
    row.update(extra)
    for n in nodes:
        n["buildings"].append({"id": row["id"]})
    return row


def install(
    number: int,
    owner: dict[str, Any],
    place: dict[str, Any],
    site: dict[str, Any] | None,
    **extra: Any,
) -> dict[str, Any]:
    """An InstallSerializer record, listed on its member, building and node."""
    row = {
        "id": str(uuid.uuid4()),
        "install_number": number,
        "install_fee_billing_datum": None,
        "request_date": "2022-02-27T13:05:00Z",
        "node": ref(site, "network_number") if site else None,
        "status": "Active" if site else "Request Received",
        "ticket_number": None,
        "stripe_subscription_id": None,
        "install_date": "2022-03-01" if site else None,
        "abandon_date": None,
        "unit": "4F",
        "roof_access": True,
        "referral": None,
        "notes": None,
        "diy": None,
        "building": ref(place),
        "member": ref(owner),
        "additional_members": [],
    }
    row.update(extra)
    for parent in (owner, place, site):
        if parent is not None:
            parent["installs"].append(ref(row, "install_number"))
    return row


def device(site: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    """A DeviceSerializer record (a SectorSerializer one with radius, azimuth, width)."""
    row = {
        "id": str(uuid.uuid4()),
        "node": ref(site, "network_number"),
        "latitude": site["latitude"],
        "longitude": site["longitude"],
        "altitude": site["altitude"],
        "links_from": [],
        "links_to": [],
        "name": name,
        "status": "Active",
        "install_date": None,
        "abandon_date": None,
        "notes": None,
        "uisp_id": None,
    }
    row.update(extra)
    site["devices"].append({"id": row["id"]})
    return row


def link(a: dict[str, Any], b: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A LinkSerializer record, listed on its two devices."""
    row = {
        "id": str(uuid.uuid4()),
        "from_device": ref(a),
        "to_device": ref(b),
        "status": "Active",
        "type": "5 GHz",
        "install_date": None,
        "abandon_date": None,
        "description": None,
        "notes": None,
        "uisp_id": None,
    }
    row.update(extra)
    a["links_from"].append({"id": row["id"]})
    b["links_to"].append({"id": row["id"]})
    return row


def los(a: dict[str, Any], b: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A LOSSerializer record."""
    row = {
        "id": str(uuid.uuid4()),
        "from_building": ref(a),
        "to_building": ref(b),
        "analysis_date": "2024-05-01",
        "source": "Human Annotated",
        "notes": None,
    }
    row.update(extra)
    return row


def dataset(installs: int) -> dict[str, list[dict[str, Any]]]:
    """A MeshDB of `installs` installs: a member each, a building per two, a node per four."""
    data: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "members",
            "nodes",
            "buildings",
            "installs",
            "devices",
            "sectors",
            "accesspoints",
            "links",
            "loses",
            "billing/install-fee-data",
        )
    }
    place = site = None
    previous_device = None
    for i in range(installs):
        number = i + 1
        if i % 2 == 0:
            lat, lon = 40.6 + (i % 997) * 1e-4, -73.95 - (i // 997) * 1e-4
            site = None
            if i % 4 == 0 and number <= 8000:
                site = node(number, lat, lon)
                data["nodes"].append(site)
                radio = device(site, f"nycmesh-{number}-dish")
                data["devices"].append(radio)
                if previous_device is not None:
                    data["links"].append(link(previous_device, radio))
                previous_device = radio
            place = building(lat, lon, [site] if site else [], street_address=f"{number} Main St")
            data["buildings"].append(place)
        owner = member(f"Member {number}", f"member{number}@example.org")
        data["members"].append(owner)
        assert place is not None
        data["installs"].append(install(number, owner, place, site))
    return data


class MeshdbServer:
    """The HTTP server; `data` may be edited between runs to play edits on MeshDB's side."""

    def __init__(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.data = data
        self.requests: list[str] = []
        self.url = ""


def _handler(server: MeshdbServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            server.requests.append(self.path)
            if self.headers.get("Authorization") != f"Token {TOKEN}":
                # DRF's NotAuthenticated / AuthenticationFailed answer.
                self._send(401, {"detail": "Authentication credentials were not provided."})
                return
            parts = urlsplit(self.path)
            resource = parts.path.removeprefix("/api/v1/").strip("/")
            if resource not in server.data:
                self._send(404, {"detail": "Not found."})
                return
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            size = int(query.get("page_size", 100))
            page = int(query.get("page", 1))
            rows = server.data[resource]
            start = (page - 1) * size
            if start and start >= len(rows):
                self._send(404, {"detail": "Invalid page."})
                return

            def at(n: int) -> str | None:
                if n < 1 or (n - 1) * size >= len(rows):
                    return None
                return f"{server.url}{resource}/?{urlencode({**query, 'page': n})}"

            self._send(
                200,
                {
                    "count": len(rows),
                    "next": at(page + 1),
                    "previous": at(page - 1),
                    "results": rows[start : start + size],
                },
            )

    return Handler


@contextmanager
def serve(data: dict[str, list[dict[str, Any]]]) -> Iterator[MeshdbServer]:
    """Serve `data` on 127.0.0.1 at a free port; `.url` is the API root."""
    state = MeshdbServer(data)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/v1/"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
