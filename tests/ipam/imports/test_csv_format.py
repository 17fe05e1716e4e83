"""The pure parts of CSV import/export: cells, headers, rows (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ipam.imports import csv_format, csv_io
from ipam.imports.csv_format import CsvFormatError, FieldError

U = "5b9c3cde-bbec-4b1a-8267-f1783c78b8c3"
INSTALLS = csv_io.LAYOUTS["installs"]
MEMBERS = csv_io.LAYOUTS["members"]


@pytest.mark.parametrize(
    ("cell", "value"),
    [("1", True), ("0", False), ("TRUE", True), ("false", False), (" Yes ", True), ("no", False)],
)
def test_parse_bool(cell, value):
    assert csv_format.parse_bool(cell) is value


@pytest.mark.parametrize(
    ("parse", "cell"),
    [
        (csv_format.parse_bool, "2"),
        (csv_format.parse_bool, "maybe"),
        (csv_format.parse_date, "13/01/2024"),
        (csv_format.parse_date, "02/30/2024"),
        (csv_format.parse_date, "2024/07/19"),
        (csv_format.parse_date, "19.07.2024"),
        (csv_format.parse_date, "2024-7-19"),
        (csv_format.parse_datetime, "yesterday"),
        (csv_format.parse_uuid, "5b9c3cde"),
        (csv_format.parse_node, "0"),
        (csv_format.parse_node, "8001"),
        (csv_format.parse_node, "99999999999999999999"),
        (csv_format.parse_node, "NN123"),
        (csv_format.parse_node, "١٢٣"),  # digits, but not ASCII ones
        (csv_format.parse_int, "-1"),
        (csv_format.parse_int, "1.5"),
    ],
)
def test_parsers_refuse_with_a_reason(parse, cell):
    with pytest.raises(ValueError, match=repr(cell).replace("\\", "\\\\").replace(".", r"\.")):
        parse(cell)


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("07/19/2024", date(2024, 7, 19)),
        ("7/9/2024", date(2024, 7, 9)),
        ("2024-07-19", date(2024, 7, 19)),
        ("02/29/2024", date(2024, 2, 29)),
    ],
)
def test_parse_date(cell, value):
    assert csv_format.parse_date(cell) == value


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("07/19/2024", datetime(2024, 7, 19, tzinfo=UTC)),
        ("2024-07-19", datetime(2024, 7, 19, tzinfo=UTC)),
        ("2024-07-19T14:03:05+00:00", datetime(2024, 7, 19, 14, 3, 5, tzinfo=UTC)),
        ("2024-07-19 14:03:05", datetime(2024, 7, 19, 14, 3, 5, tzinfo=UTC)),
        (
            "2024-07-19T10:03:05-04:00",
            datetime(2024, 7, 19, 10, 3, 5, tzinfo=timezone(timedelta(hours=-4))),
        ),
    ],
)
def test_parse_datetime(cell, value):
    parsed = csv_format.parse_datetime(cell)
    assert parsed == value
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("cell", "value"),
    [("123", 123), ("1", 1), ("8000", 8000), (U, uuid.UUID(U)), (U.upper(), uuid.UUID(U))],
)
def test_parse_node(cell, value):
    assert csv_format.parse_node(cell) == value


@pytest.mark.parametrize(
    ("cell", "items"),
    [
        ("a@x.org", ["a@x.org"]),
        ("a@x.org;b@x.org", ["a@x.org", "b@x.org"]),
        ("a@x.org, b@x.org", ["a@x.org", "b@x.org"]),
        (" a ; ; b ;", ["a", "b"]),
        ("+1 212 555 0123,+1 718 555 1234", ["+1 212 555 0123", "+1 718 555 1234"]),
    ],
)
def test_parse_list(cell, items):
    assert csv_format.parse_list(cell) == items


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "1"),
        (False, "0"),
        (date(2024, 7, 19), "2024-07-19"),
        (datetime(2024, 7, 19, 14, 3, tzinfo=UTC), "2024-07-19T14:03:00+00:00"),
        (["a@x.org", "b@x.org"], "a@x.org;b@x.org"),
        ([], ""),
        (uuid.UUID(U), U),
        (123, "123"),
        ("Pending", "Pending"),
    ],
)
def test_format_cell(value, cell):
    assert csv_format.format_cell(value) == cell


@pytest.mark.parametrize("value", [True, date(2024, 7, 19), ["a", "b"], 42])
def test_format_then_parse_round_trips(value):
    parse = {
        bool: csv_format.parse_bool,
        date: csv_format.parse_date,
        list: csv_format.parse_list,
        int: csv_format.parse_int,
    }[type(value)]
    assert parse(csv_format.format_cell(value)) == value


def test_export_cells_show_a_node_by_its_network_number_else_its_id():
    node_id = uuid.UUID(U)
    tail = ["Active", None, None, None, U, "1A", True, U, None, "n", None, U, 7]
    assert csv_io.export_cells("installs", [123, node_id, *tail])[0] == "123"
    assert csv_io.export_cells("installs", [None, node_id, *tail])[0] == U
    assert csv_io.export_cells("installs", [None, None, *tail])[:2] == ["", "Active"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["node", "status"], "missing required column building, member"),
        (["building", "member", "colour"], "unknown column 'colour'"),
        (["building", "member", "Building"], "column building appears twice"),
        (["id", "name"], "unknown column 'name'"),
    ],
)
def test_check_header_refuses(header, message):
    with pytest.raises(CsvFormatError, match=message):
        csv_format.check_header(INSTALLS, header)


def test_check_header_ignores_case_spacing_and_order():
    header = [" Member ", "BUILDING", "diy", "install_number", "id"]
    assert csv_format.check_header(INSTALLS, header) == [
        "member",
        "building",
        "diy",
        "install_number",
        "id",
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # A byte-order mark (Excel's "CSV UTF-8") and CRLF line ends.
        (b"\xef\xbb\xbfname\r\nAda\r\n", [(1, {"name": "Ada"}, None)]),
        # Blank and all-empty rows are skipped but still counted.
        ("name\n\nAda\n,\n", [(2, {"name": "Ada"}, None)]),
        # A quoted cell may hold commas, quotes and line breaks.
        ('name,notes\nAda,"a, ""b""\nc"\n', [(1, {"name": "Ada", "notes": 'a, "b"\nc'}, None)]),
        # Too few and too many fields.
        (
            "name,notes\nAda\nBea,x,y\n",
            [(1, {}, "has 1 fields, the header has 2"), (2, {}, "has 3 fields, the header has 2")],
        ),
    ],
)
def test_read_table(data, expected):
    rows = csv_format.read_table(data, "members")
    assert [(r.number, r.cells, r.error) for r in rows] == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"name\nAd\xe9\n", "not UTF-8"),
        (b"\xff\xfen\x00a\x00", "not UTF-8"),
        ("name\n" + "x" * 200_000 + "\n", "field larger than field limit"),
    ],
)
def test_read_table_refuses_unreadable_files(data, message):
    with pytest.raises(CsvFormatError, match=message):
        csv_format.read_table(data, "members")


def test_read_table_limits_rows():
    data = "name\n" + "Ada\n" * 11
    assert len(csv_format.read_table(data, "members", max_rows=11)) == 11
    with pytest.raises(CsvFormatError, match="more than 10 data rows"):
        csv_format.read_table(data, "members", max_rows=10)


def test_read_table_refuses_an_unknown_kind():
    with pytest.raises(csv_format.BadRequest, match="kind"):
        csv_format.read_table("name\n", "nodes")


@pytest.mark.parametrize(
    ("layout", "cells", "values", "errors"),
    [
        (
            INSTALLS,
            {"node": "12", "status": "Pending", "roof_access": "1", "diy": "", "unit": " 2A "},
            {"node": 12, "status": "Pending", "roof_access": True, "diy": None, "unit": "2A"},
            [],
        ),
        (
            INSTALLS,
            {"request_date": "07/19/2024", "install_date": "2024-08-01", "abandon_date": " "},
            {
                "request_date": datetime(2024, 7, 19, tzinfo=UTC),
                "install_date": date(2024, 8, 1),
                "abandon_date": None,
            },
            [],
        ),
        (
            INSTALLS,
            {"building": "nope", "member": U, "diy": "sometimes", "notes": "  keep  me "},
            {"member": uuid.UUID(U), "notes": "  keep  me "},
            [
                FieldError("building", "'nope' is not a UUID"),
                FieldError("diy", "'sometimes' is not a boolean (1/0, true/false, yes/no)"),
            ],
        ),
        (
            MEMBERS,
            {"name": "Ada", "additional_email_addresses": "", "additional_phone_numbers": "1;2"},
            {
                "name": "Ada",
                "additional_email_addresses": [],
                "additional_phone_numbers": ["1", "2"],
            },
            [],
        ),
        (MEMBERS, {"id": U, "slack_handle": ""}, {"id": uuid.UUID(U), "slack_handle": None}, []),
    ],
)
def test_convert_row(layout, cells, values, errors):
    assert csv_format.convert_row(layout, cells) == (values, errors)


INSTALL_TEMPLATE = (
    "node,status,request_date,install_date,abandon_date,building,unit,roof_access,member,"
    "referral,notes,diy"
)
MEMBER_TEMPLATE = (
    "name,primary_email_address,stripe_email_address,additional_email_addresses,"
    "phone_number,additional_phone_numbers,slack_handle,notes"
)


def test_every_layout_matches_meshdb_templates_then_our_extras():
    assert ",".join(INSTALLS.header) == INSTALL_TEMPLATE + ",id,install_number"
    assert ",".join(MEMBERS.header) == MEMBER_TEMPLATE + ",id"
