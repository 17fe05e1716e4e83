"""MeshDB's bulk CSV layout, pure: columns, cell parsers and formatters, reading a file.

See ipam/csv_io.py for the import and export semantics.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ipam import models as m
from ipam.errors import BadRequest, Invalid

LIST_SEPARATOR = ";"
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
REPORT_ROWS = 1000  # rows with errors listed in one report; the count says how many in all
CHUNK = 500  # rows per streamed export chunk and per IN (...) lookup
KINDS_CSV = ("installs", "members")
CLI_ACTOR = "cli-import"


class CsvFormatError(BadRequest):
    """The file is not a CSV this import can read: encoding, header, size (400)."""


class ImportRejected(Invalid):
    """At least one row is invalid; nothing was written (422 with a report per row)."""


@dataclass(frozen=True)
class FieldError:
    """One problem in one row."""

    field: str
    message: str


# --- cell parsers (pure): each takes a non-empty cell and raises ValueError saying why ---

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TRUE = {"1", "true", "yes"}
FALSE = {"0", "false", "no"}


def parse_text(cell: str) -> str:
    """Text as given."""
    return cell


def parse_bool(cell: str) -> bool:
    """1/0, true/false, yes/no in any case."""
    word = cell.strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ValueError(f"{cell!r} is not a boolean (1/0, true/false, yes/no)")


def parse_date(cell: str) -> date:
    """MM/DD/YYYY or YYYY-MM-DD."""
    value = cell.strip()
    try:
        us = _US_DATE.match(value)
        if us:
            month, day, year = (int(g) for g in us.groups())
            return date(year, month, day)
        if _ISO_DATE.match(value):
            return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{cell!r} is not a real date") from None
    raise ValueError(f"{cell!r} is not a date (MM/DD/YYYY or YYYY-MM-DD)")


def parse_datetime(cell: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 timestamp (UTC when it has no offset)."""
    value = cell.strip()
    if _US_DATE.match(value) or _ISO_DATE.match(value):
        day = parse_date(value)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{cell!r} is not a date or timestamp (MM/DD/YYYY, YYYY-MM-DD or ISO 8601)"
        ) from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def parse_uuid(cell: str) -> uuid.UUID:
    """A UUID."""
    try:
        return uuid.UUID(cell.strip())
    except ValueError:
        raise ValueError(f"{cell!r} is not a UUID") from None


def parse_int(cell: str) -> int:
    """A whole number."""
    value = cell.strip()
    if value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    raise ValueError(f"{cell!r} is not a whole number")


def parse_node(cell: str) -> int | uuid.UUID:
    """A network number (resolved to its node later) or a node UUID."""
    value = cell.strip()
    if value.isascii() and value.isdigit():
        number = int(value) if len(value) < 10 else 0
        if not m.NN_MIN <= number <= m.NN_MAX:
            raise ValueError(f"{cell!r} is not a network number ({m.NN_MIN}-{m.NN_MAX})")
        return number
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{cell!r} is neither a network number nor a node UUID") from None


def parse_list(cell: str) -> list[str]:
    """Items separated by ';' or ',' (blank items dropped)."""
    return [item.strip() for item in re.split(r"[;,]", cell) if item.strip()]


@dataclass(frozen=True)
class Column:
    """One CSV column: how a cell becomes a value, and what an empty cell means."""

    name: str
    parse: Callable[[str], Any] = parse_text
    nullable: bool = True  # on update, an empty cell clears the field (else keeps it)
    strip: bool = True  # notes keep their spacing exactly, so a round trip changes nothing
    is_list: bool = False


@dataclass(frozen=True)
class Layout:
    """The columns of one kind's CSV."""

    kind: str
    columns: tuple[Column, ...]  # MeshDB's, in export order
    extras: tuple[Column, ...]  # ours: id (and install_number), exported last
    required: tuple[str, ...]

    @property
    def header(self) -> list[str]:
        """The export header."""
        return [c.name for c in (*self.columns, *self.extras)]

    def column(self, name: str) -> Column:
        """A column by name."""
        return next(c for c in (*self.columns, *self.extras) if c.name == name)


_ID = Column("id", parse_uuid)
LAYOUTS: dict[str, Layout] = {
    "installs": Layout(
        "installs",
        (
            Column("node", parse_node),
            Column("status", nullable=False),
            Column("request_date", parse_datetime, nullable=False),
            Column("install_date", parse_date),
            Column("abandon_date", parse_date),
            Column("building", parse_uuid, nullable=False),
            Column("unit"),
            Column("roof_access", parse_bool, nullable=False),
            Column("member", parse_uuid, nullable=False),
            Column("referral", strip=False),
            Column("notes", strip=False),
            Column("diy", parse_bool),
        ),
        (_ID, Column("install_number", parse_int)),
        ("building", "member"),
    ),
    "members": Layout(
        "members",
        (
            Column("name", nullable=False),
            Column("primary_email_address"),
            Column("stripe_email_address"),
            Column("additional_email_addresses", parse_list, is_list=True),
            Column("phone_number"),
            Column("additional_phone_numbers", parse_list, is_list=True),
            Column("slack_handle"),
            Column("notes", strip=False),
        ),
        (_ID,),
        ("name",),
    ),
}


def layout_of(kind: str) -> Layout:
    """The layout of installs or members."""
    if kind not in LAYOUTS:
        raise BadRequest(f"kind: {kind!r} is not one of {', '.join(KINDS_CSV)}", field="kind")
    return LAYOUTS[kind]


# --- reading a file (pure) ---


@dataclass(frozen=True)
class Row:
    """A data row: its 1-based number (the header is row 0), its cells, or why it is unreadable."""

    number: int
    cells: dict[str, str]
    error: str | None = None


def decode(data: bytes | str) -> str:
    """The file's text: UTF-8 (a leading byte-order mark, as Excel writes, is dropped)."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"encoding: the file is not UTF-8 (byte {exc.start} is "
            f"{data[exc.start : exc.start + 1]!r}); save it as CSV UTF-8",
            field="encoding",
        ) from None


def check_header(layout: Layout, header: list[str]) -> list[str]:
    """The header's column names, normalised; CsvFormatError naming what is wrong."""
    names = [name.strip().lower() for name in header]
    known = set(layout.header)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CsvFormatError(
            f"header: unknown column {', '.join(repr(u) for u in unknown)}; "
            f"{layout.kind} columns are {','.join(layout.header)}",
            field="header",
        )
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise CsvFormatError(f"header: column {', '.join(doubled)} appears twice", field="header")
    missing = [n for n in layout.required if n not in names]
    if missing:
        raise CsvFormatError(
            f"header: missing required column {', '.join(missing)}", field="header"
        )
    return names


def read_table(data: bytes | str, kind: str, *, max_rows: int = MAX_ROWS) -> list[Row]:
    """The file's data rows; blank rows are skipped, ragged ones carry an error."""
    layout = layout_of(kind)
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    rows: list[Row] = []
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise CsvFormatError("header: the file is empty; expected a header row", field="header")
        names = check_header(layout, header)
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_rows:
                raise CsvFormatError(
                    f"rows: more than {max_rows} data rows; split the file", field="rows"
                )
            if len(cells) != len(names):
                error = f"has {len(cells)} fields, the header has {len(names)}"
                rows.append(Row(number, {}, error))
            else:
                rows.append(Row(number, dict(zip(names, cells, strict=True))))
    except csv.Error as exc:
        raise CsvFormatError(f"csv: line {reader.line_num}: {exc}", field="csv") from None
    return rows


def convert_row(layout: Layout, cells: dict[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """Cells to values (an empty cell to None, or [] for a list); a FieldError per bad cell."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, cell in cells.items():
        column = layout.column(name)
        text = cell.strip() if column.strip else cell
        if not text.strip():
            values[name] = [] if column.is_list else None
            continue
        try:
            values[name] = column.parse(text)
        except ValueError as exc:
            errors.append(FieldError(name, str(exc)))
    return values, errors


# --- writing a file ---


def format_cell(value: Any) -> str:
    """A value as a CSV cell: ISO dates, 1/0 booleans, ';'-joined lists, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return str(value)
