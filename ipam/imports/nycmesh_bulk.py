"""Batched inserts with the history rows and outbox events `ipam.records.changes` would write.

`record_change` flushes one ORM object at a time, which is right for an API request and far
too slow for fifty thousand records. `BulkWriter` writes plain rows with PostgreSQL's COPY
on the session's own connection (so inside its transaction), keeps for each the snapshot
`ipam.records.changes.snapshot` would have taken (every column plus the many-to-many ids), and at
the end writes one history row and one `<kind>.created` event per record, also by COPY,
under the outbox lock taken once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import inspect, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ipam import models as m
from ipam.records.changes import EVENT_LOCK, KINDS, RecordKind, jsonable

BATCH = 2000


class _Json(str):
    """JSON text already serialised: COPY passes it through for jsonb to parse."""


def _jsonb(value: Any) -> Any:
    return value if isinstance(value, _Json) else Jsonb(value)


def _columns(model: type[m.Base]) -> list[tuple[str, Any]]:
    """(attribute key, one column) for every column attribute of a mapped class."""
    return [(attr.key, attr.columns[0]) for attr in inspect(model).column_attrs]


class BulkWriter:
    """Inserts rows of several kinds and then their history and events, all batched."""

    def __init__(self, session: Session, actor: str, now: datetime, progress: Any = None) -> None:
        self.session = session
        self.actor = actor
        self.now = now
        self.progress = progress
        self._created: list[tuple[RecordKind, str, Any, str]] = []

    def _tick(self, n: int) -> None:
        if self.progress is not None:
            self.progress.update(n)

    def full_row(self, model: type[m.Base], values: Mapping[str, Any]) -> dict[str, Any]:
        """Every column of `model` given a value: the ones passed, lists [], the rest None."""
        row: dict[str, Any] = {}
        for key, column in _columns(model):
            if key in values:
                row[key] = values[key]
            elif key in ("created", "updated"):
                row[key] = self.now
            elif isinstance(column.type, ARRAY):
                row[key] = []
            else:
                row[key] = None
        unknown = set(values) - set(row)
        if unknown:
            raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
        return row

    def _execute(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """COPY rows into one table on the session's own connection (same transaction)."""
        if not rows:
            return
        columns = [c for c in table.columns if c.name in rows[0]]
        wrap = [_jsonb if isinstance(c.type, JSONB) else None for c in columns]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
        )
        raw = self.session.connection().connection.driver_connection
        assert raw is not None  # a live psycopg connection inside the session's transaction
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for done, row in enumerate(rows, start=1):
                pairs = zip((row[c.name] for c in columns), wrap, strict=True)
                copy.write_row([v if w is None or v is None else w(v) for v, w in pairs])
                if done % BATCH == 0:
                    self._tick(BATCH)
        self._tick(len(rows) % BATCH)

    def create(
        self,
        resource: str,
        rows: list[dict[str, Any]],
        m2m: Mapping[uuid.UUID, Mapping[str, Iterable[uuid.UUID]]] | None = None,
    ) -> None:
        """Insert full rows of one kind (a subclass fills its parent table too); keep snapshots."""
        if not rows:
            return
        kind = KINDS[resource]
        # Parent tables first: a sector row needs its device row.
        for mapper in reversed(list(inspect(kind.model).iterate_to_root())):
            self._execute(mapper.local_table, rows)
        m2m = m2m or {}
        for row in rows:
            snap = dict(row)
            sides = m2m.get(row["id"], {})
            for name in kind.m2m:
                snap[name] = sorted(str(other) for other in sides.get(name, ()))
            # Serialised once; history and event carry the same text.
            nn = row.get("network_number")
            self._created.append((kind, str(row["id"]), nn, json.dumps(snap, default=jsonable)))

    def link(self, table: Any, pairs: list[dict[str, Any]]) -> None:
        """Insert many-to-many rows, skipping pairs already there."""
        if not pairs:
            return
        stmt = pg_insert(table).on_conflict_do_nothing()
        for start in range(0, len(pairs), BATCH):
            self.session.execute(stmt, pairs[start : start + BATCH])
            self._tick(len(pairs[start : start + BATCH]))

    @property
    def pending(self) -> int:
        """Records whose history and event are still to be written."""
        return len(self._created)

    def write_history_and_events(self) -> None:
        """One history row and one `<kind>.created` event per record created, batched."""
        history = []
        events = []
        for kind, record_id, nn, snap in self._created:
            history.append(
                {
                    "resource": kind.resource,
                    "record_id": record_id,
                    "action": "created",
                    "actor": self.actor,
                    "before": None,
                    "after": _Json(snap),
                }
            )
            events.append(
                {
                    "type": f"{kind.singular}.created",
                    "resource": kind.resource,
                    "subject_id": record_id,
                    "network_number": nn if isinstance(nn, int) else None,
                    "data": _Json('{"before": null, "after": ' + snap + "}"),
                }
            )
        self._execute(m.History.__table__, history)
        # Taken once, late: event ids become visible in commit order (see ipam.records.changes), and
        # other writers wait only for the tail of the import, not all of it.
        self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_LOCK})
        self._execute(m.Event.__table__, events)
        self._created.clear()
