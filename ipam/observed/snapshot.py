"""Every observation at one observed version, read once, spliced into cached record answers.

A polling cycle changes every device's measurements, but no record. Answers are therefore
cached in two parts (api/cache.py): the record part, kept while no event is written, carries
a marker where observed state belongs; the observed part comes from one snapshot of all
observation rows, read in one round trip per observed version (ipam/records/versions.py) and
shared by every answer. A cycle then costs one query, not the recomputation of every answer.

Markers are JSON the record part holds in place of the observed values:
`{"$observed":"node:<id>"}` stands for a whole observed block (records carry one), and the
member `"$fields":"device:<id>"` for the flat observed fields of a health answer.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ipam.enums import ObservedStatus
from ipam.observed.snmp_fields import models, snmp_details
from ipam.records.changes import jsonable

_MARKER = re.compile(
    rb'\{"\$observed":"(node|device):([0-9a-f-]{36})"\}'
    rb'|"\$fields":"(node|device|link):([0-9a-f-]{36})"'
)
_PENDING = ObservedStatus.PENDING.value
# One round trip for the three tables: each row is (kind, id, columns as JSON), so PostgreSQL
# does the formatting and Python builds no ORM object.
_READ = text(
    "SELECT 'node', node_id, to_jsonb(o) FROM node_observation o "
    "UNION ALL SELECT 'device', device_id, to_jsonb(o) FROM device_observation o "
    "UNION ALL SELECT 'link', link_id, jsonb_build_object('status', status) FROM link_observation"
)
_READ_SOME = text(
    "SELECT 'node', node_id, to_jsonb(o) FROM node_observation o WHERE node_id = ANY(:ids) "
    "UNION ALL SELECT 'device', device_id, to_jsonb(o) FROM device_observation o "
    "WHERE device_id = ANY(:ids) UNION ALL SELECT 'link', link_id, "
    "jsonb_build_object('status', status) FROM link_observation WHERE link_id = ANY(:ids)"
)


def observed_marker(kind: str, record_id: uuid.UUID) -> dict[str, str]:
    """What a record's `observed` holds until the snapshot fills it."""
    return {"$observed": f"{kind}:{record_id}"}


def fields_marker(kind: str, record_id: uuid.UUID) -> dict[str, str]:
    """The member standing for a health answer's flat observed fields."""
    return {"$fields": f"{kind}:{record_id}"}


def _rtt(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "min": row.get("rtt_min_ms"),
        "avg": row.get("rtt_avg_ms"),
        "max": row.get("rtt_max_ms"),
    }


def _address(value: str | None) -> str | None:
    # to_jsonb writes an inet with its prefix length ("127.1.0.1/32"); records show the address.
    return None if value is None else value.split("/")[0]


def observed_block(kind: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """The observed state as records carry it (MeshDB-shaped clients see it without a call)."""
    if row is None:
        return {"status": _PENDING, "since": None, "last_seen": None}
    block: dict[str, Any] = {
        "status": row["status"],
        "since": row.get("since"),
        "first_seen": row.get("first_seen"),
        "last_seen": row.get("last_seen"),
        "rtt_ms": _rtt(row),
        "packet_loss": row.get("packet_loss"),
    }
    if kind == "device":
        block.update(
            address=_address(row.get("address")),
            uptime_s=row.get("uptime_s"),
            last_error=row.get("last_error"),
            **models(row),
        )
    return block


def health_fields(kind: str, row: dict[str, Any] | None) -> dict[str, Any]:
    """The flat observed fields of a health answer (ipam/observed/health.py), in its order."""
    if kind == "link":
        return {"observed_status": row["status"] if row else _PENDING}
    get = (row or {}).get
    out: dict[str, Any] = {"observed_status": get("status", _PENDING), "since": get("since")}
    if kind == "device":
        out["address"] = _address(get("address"))
    out.update(
        last_seen=get("last_seen"),
        first_seen=get("first_seen"),
        rtt_ms=_rtt(row),
        packet_loss=get("packet_loss"),
    )
    if kind == "device":
        out.update(
            uptime_s=get("uptime_s"),
            **models(row),
            **snmp_details(row),
            last_error=get("last_error"),
        )
    return out


@dataclass
class Snapshot:
    """Observation rows by (kind, id string), and their JSON made on first use."""

    version: int
    rows: dict[tuple[str, str], dict[str, Any]]
    _made: dict[bytes, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _piece(self, match: re.Match[bytes]) -> bytes:
        marker = match.group(0)
        found = self._made.get(marker)
        if found is not None:
            return found
        if match.group(1):
            kind, key = match.group(1).decode(), match.group(2).decode()
            made = _dump(observed_block(kind, self.rows.get((kind, key))))
        else:
            kind, key = match.group(3).decode(), match.group(4).decode()
            made = _dump(health_fields(kind, self.rows.get((kind, key))))[1:-1]  # members only
        with self._lock:
            self._made[marker] = made
        return made

    def fill(self, body: bytes) -> bytes:
        """The answer with every marker replaced by what this snapshot holds."""
        return _MARKER.sub(self._piece, body)


def _dump(value: dict[str, Any]) -> bytes:
    # Compact, as pydantic writes the record part around it.
    return json.dumps(jsonable(value), separators=(",", ":")).encode()


def has_markers(body: bytes) -> bool:
    """Whether an answer holds anything a snapshot fills."""
    return b'"$' in body and _MARKER.search(body) is not None


def read(session: Session, version: int) -> Snapshot:
    """Every observation row, in one round trip, as the snapshot of `version`."""
    rows = {(kind, str(key)): data for kind, key, data in session.execute(_READ)}
    return Snapshot(version, rows)


def read_for(session: Session, body: bytes) -> Snapshot:
    """The observation rows of just the records an answer marks (an answer made once)."""
    ids = {
        uuid.UUID((found.group(2) or found.group(4)).decode()) for found in _MARKER.finditer(body)
    }
    rows = {}
    if ids:
        found = session.execute(_READ_SOME, {"ids": list(ids)})
        rows = {(kind, str(key)): data for kind, key, data in found}
    return Snapshot(-1, rows)


def filled(session: Session, value: Any) -> Any:
    """A value holding markers (a record or health answer) with its observed parts read now."""
    body = json.dumps(value, separators=(",", ":"), default=jsonable).encode()
    return json.loads(read_for(session, body).fill(body)) if has_markers(body) else value
