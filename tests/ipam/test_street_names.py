"""Readable street names (MeshDB's pelias.py step), table-driven."""

from __future__ import annotations

import pytest

from ipam.geocoding.street_names import ordinal, readable_address, readable_street


@pytest.mark.parametrize(
    ("number", "word"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th"), (112, "112th")],
)  # fmt: skip
def test_ordinal(number, word):
    assert ordinal(number) == word


@pytest.mark.parametrize(
    ("street", "readable"),
    [
        ("EAST 13 STREET", "East 13th Street"),  # MeshDB's own example
        ("35 AVENUE", "35th Avenue"),  # the example
        ("BEACH 116 STREET", "Beach 116th Street"),
        ("ST MARK'S PLACE", "St Mark's Place"),
        ("WEST 13TH STREET", "West 13th Street"),
        ("AVENUE OF THE AMERICAS", "Avenue Of The Americas"),
        ("  BROOME   STREET ", "Broome Street"),
    ],
)
def test_readable_street(street, readable):
    assert readable_street(street) == readable


def test_readable_address_keeps_house_number_letters_upper():
    assert readable_address("215a", "WEST 23 STREET") == "215A West 23rd Street"
    assert readable_address("30-12", "35 AVENUE") == "30-12 35th Avenue"
