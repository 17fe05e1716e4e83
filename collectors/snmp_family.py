"""What a vendor MIB family is to the collector, and the small readers every family shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors.snmp_mibs import as_int, as_text
from collectors.snmp_model import Reading
from collectors.snmp_session import OID, Fetched, VarBind, is_value, oid_of


@dataclass(frozen=True)
class Family:
    """How to detect, fetch and read one vendor MIB.

    singles are GETNEXTs read as their first row (per-radio tables of one-radio devices and
    scalars); tables are station tables, walked in full and sized from count; radio_tables are
    per-radio tables walked in full (a router has several radios), each only when its own probe
    (the table's OID, asked in round one) finds it, sized from radio_rows_hint.
    """

    name: str
    probe: OID
    singles: tuple[OID, ...]
    tables: tuple[OID, ...]
    parse: Callable[[Fetched], Reading]
    rows_hint: int = 4
    # A scalar or column whose first row counts the stations: asked in round one.
    count: OID | None = None
    radio_tables: tuple[tuple[OID, tuple[OID, ...]], ...] = ()
    radio_rows_hint: int = 4

    @property
    def probes(self) -> tuple[OID, ...]:
        """Round-one GETNEXTs that tell whether the family and each radio table exist."""
        return (self.probe, *(table for table, _ in self.radio_tables))


def columns_of(base: str, *subs: int) -> tuple[OID, ...]:
    """Sub-identifiers of one entry as full OIDs: columns_of("1.3.6.1", 2, 5)."""
    root = oid_of(base)
    return tuple((*root, sub) for sub in subs)


def join_rows(
    fetched: Fetched, columns: dict[str, OID], key: Callable[[OID], Any]
) -> dict[Any, dict[str, Any]]:
    """Join walked columns into rows keyed by key(index suffix), keeping agent order."""
    rows: dict[Any, dict[str, Any]] = {}
    for field_name, column in columns.items():
        for suffix, value in fetched.rows(column):
            index = key(suffix)
            if index is not None:
                rows.setdefault(index, {})[field_name] = value
    return rows


def if_index(suffix: OID) -> int | None:
    """Tables INDEXed by one integer (ifIndex or a radio number): that integer."""
    return suffix[0] if len(suffix) == 1 else None


def mac_key(offset: int) -> Callable[[OID], tuple[int, ...] | None]:
    """Key for tables INDEXed by a MacAddress after offset sub-identifiers."""

    # MacAddress in an INDEX is six sub-identifiers with no length prefix (fixed size).
    def key(suffix: OID) -> tuple[int, ...] | None:
        mac = suffix[offset : offset + 6]
        return (*suffix[:offset], *mac) if len(mac) == 6 and max(mac) < 256 else None

    return key


def strongest(*values: int | None) -> int | None:
    """The largest of the values given (the strongest chain); None when none is known."""
    found = [v for v in values if v is not None]
    return max(found) if found else None


def known(*values: Any) -> tuple[int, ...]:
    """The integer values that are present, in order (per-chain figures)."""
    return tuple(v for v in (as_int(value) for value in values) if v is not None)


def seconds(ticks: Any) -> float | None:
    """TimeTicks (hundredths) as seconds."""
    value = as_int(ticks)
    return value / 100 if value is not None else None


def as_float(value: Any) -> float | None:
    """An integer value as float."""
    number = as_int(value)
    return float(number) if number is not None else None


def kbps(value: Any) -> int | None:
    """A rate in kbit/s as bit/s; 0 and negatives are 'unknown'."""
    rate = as_int(value)
    return rate * 1000 if rate is not None and rate > 0 else None


def positive(value: Any) -> int | None:
    """The value, with 0 meaning 'not known' (as several vendor MIBs use it)."""
    number = as_int(value)
    return number if number else None


def text(value: Any) -> str | None:
    """Text, with the empty string as 'not known'."""
    return as_text(value) or None


def row_after(nexts: dict[OID, VarBind | None], asked: OID, row: OID) -> Any:
    """The value GETNEXT(asked) returned if it is exactly the instance row, else None."""
    got = nexts.get(asked)
    if got is None:
        return None
    oid, value = got
    return value if oid == row and is_value(value) else None
