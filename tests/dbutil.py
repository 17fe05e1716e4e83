"""Putting the test database back as a new one is: empty, with the migrations' seed data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, text


def empty_tables(engine: Any) -> None:
    """Empty every table, restart identities, and re-seed the static prefixes."""
    from ipam.models import Base, Prefix
    from ipam.numbering.allocations import seed_rows

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # The static prefixes are data migration 0002 seeds: a new database has them.
        conn.execute(insert(Prefix), seed_rows())
        conn.execute(text("INSERT INTO observed_version (id, version) VALUES (1, 0)"))
