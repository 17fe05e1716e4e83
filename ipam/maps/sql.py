"""What every map query shares: binary fetches, epoch-ms dates computed in SQL, legacy numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ipam.imports.nycmesh_words import NEW_YORK


# Epoch ms computed by PostgreSQL: ten times faster than datetime.timestamp() per row, and a
# calendar date is 00:00 New York (see ipam.imports.nycmesh_words.date_to_ms, which this matches).
def ms(column: str) -> str:
    """SQL for a timestamp column as epoch milliseconds."""
    return f"(extract(epoch FROM {column}) * 1000)::bigint"


def day_ms(column: str) -> str:
    """SQL for a date column as epoch ms at 00:00 New York (MeshDB's JavascriptDateField)."""
    return f"(extract(epoch FROM {column}::timestamp AT TIME ZONE '{NEW_YORK.key}') * 1000)::bigint"


def fetch(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    """All rows of one query in the caller's transaction, in PostgreSQL's binary format."""
    # Binary decoding of the install query's floats, numbers and arrays costs half of text's.
    raw = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        cursor.execute(sql, params)
        return cursor.fetchall()


def number(value: float | None) -> float | int | None:
    """A float that is a whole number as an int, as the legacy feed writes it."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value
