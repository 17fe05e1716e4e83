"""A big CSV import holds the outbox lock only for its last step (issue 11, finding 7).

Real PostgreSQL, real threads: an import of thousands of members runs in one transaction
while another writer edits and a reader reads; the edit waits at most 3 s (before the fix it
waited for the whole import), the read never waits, and the import stays all or nothing.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from api.schemas.people import MemberIn, MemberPatch
from ipam import models as m
from ipam.db import transaction
from ipam.imports import csv_io
from ipam.imports.csv_format import ImportRejected
from ipam.records import edits
from ipam.records.changes import KINDS

SCHEMAS = csv_io.Schemas(MemberIn, MemberPatch)
HEADER = "name,primary_email_address,phone_number\n"
ROWS = 6000  # long enough (several seconds here) to land edits in the middle of it
MAX_EDIT_WAIT_S = 3.0


def members_csv(rows: int, bad_last: bool = False) -> str:
    """`rows` members; the last one without its required name when asked."""
    lines = [f"Member {n},member{n}@example.org,+12125550{n % 1000:03d}" for n in range(rows)]
    if bad_last:
        lines[-1] = ",nobody@example.org,"
    return HEADER + "\n".join(lines) + "\n"


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_edits_and_reads_do_not_wait_for_a_big_import(sessions):
    data = members_csv(ROWS)
    finished: dict[str, float] = {}
    failed: list[BaseException] = []

    def run_import() -> None:
        try:
            with transaction(sessions) as session:
                csv_io.import_csv(session, "members", data, actor="importer", schemas=SCHEMAS)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failed.append(exc)
        finished["import"] = time.monotonic()

    started = time.monotonic()
    worker = threading.Thread(target=run_import)
    worker.start()
    time.sleep(1.5)  # the import is writing rows by now (validation takes well under that)
    waits = []
    edit_ids = []
    for n in range(3):
        t0 = time.monotonic()
        with transaction(sessions) as session:
            obj = edits.create(session, KINDS["members"], {"name": f"edit {n}"}, "volunteer")
            edit_ids.append(obj.id)
        waits.append(time.monotonic() - t0)
        t0 = time.monotonic()
        with sessions() as session:
            session.scalar(select(func.count()).select_from(m.Member))
            session.scalar(select(func.max(m.Event.id)))
        read_wait = time.monotonic() - t0
        assert read_wait < 1.0, read_wait
        time.sleep(0.5)
    edits_done = time.monotonic()
    worker.join(timeout=300)
    assert not failed, failed
    assert max(waits) < MAX_EDIT_WAIT_S, waits
    # The edits committed while the import was still running, not after it.
    assert edits_done < finished["import"], (edits_done - started, finished["import"] - started)

    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Member)) == ROWS + 3
        ids = list(session.scalars(select(m.Event.id).order_by(m.Event.id)))
        edit_events = list(
            session.scalars(
                select(m.Event.id).where(m.Event.subject_id.in_([str(i) for i in edit_ids]))
            )
        )
        imported = list(
            session.scalars(
                select(m.Event.subject_id).where(m.Event.id > ids[2]).order_by(m.Event.id)
            )
        )
        in_file_order = list(
            session.scalars(
                select(m.History.record_id)
                .where(m.History.actor == "importer")
                .order_by(m.History.id)
            )
        )
    # Every event is there once, in commit order: the import's after the edits', and the
    # import's own in the order of its rows.
    assert len(ids) == ROWS + 3
    assert sorted(edit_events) == ids[:3]
    assert imported == [str(i) for i in in_file_order]


def test_a_rejected_big_import_writes_nothing(sessions):
    with pytest.raises(ImportRejected), transaction(sessions) as session:
        csv_io.import_csv(
            session, "members", members_csv(500, bad_last=True), actor="x", schemas=SCHEMAS
        )
    assert _count(sessions, m.Member) == 0
    assert _count(sessions, m.Event) == 0
    assert _count(sessions, m.History) == 0
