"""The console's one search box: every kind of record, phones in any format, an address's owner."""

from __future__ import annotations

import pytest

from ipam.records.search import phone_digits, search
from tests.api.builders import building, device, install, member, node, ref


@pytest.mark.parametrize(
    ("query", "digits"),
    [
        ("718-555-0142", "7185550142"),
        ("(718) 555 0142", "7185550142"),
        ("+1 718 555 0142", "7185550142"),
        ("+17185550142", "7185550142"),
        ("555-0142", "5550142"),
        ("4734", None),  # an NN or install number, not a phone
        ("ada@example.org", None),
        ("Schaefer Street", None),
    ],
)
def test_phone_digits(query, digits):
    assert phone_digits(query) == digits


def test_every_kind_is_found(api, sessions):
    ada = member(
        api,
        "Ada Lovelace",
        primary_email_address="ada@example.org",
        additional_phone_numbers=["(212) 555-0199"],
    )
    roof = building(api, "216 Schaefer Street", 3079532)
    hub = node(api, 4734, name="Schaefer Hub")
    inst = install(api, ada, roof, hub, unit="3R")
    device(api, hub, "nycmesh-4734-north", management_address="10.69.47.34")
    with sessions() as session:
        assert [x["name"] for x in search(session, "ADA@example").members] == ["Ada Lovelace"]
        assert [x["name"] for x in search(session, "212.555.0199").members] == ["Ada Lovelace"]
        assert [i["install_number"] for i in search(session, "ada").installs] == [
            inst["install_number"]
        ]
        assert search(session, "3079532").buildings[0]["address"] == "216 Schaefer Street"
        assert search(session, "4734").nodes[0]["name"] == "Schaefer Hub"
        assert search(session, "schaefer").nodes[0]["network_number"] == 4734
        assert search(session, "north").devices[0]["network_number"] == 4734
        assert search(session, "10.69.47.34").devices[0]["name"] == "nycmesh-4734-north"
        owner = search(session, "10.69.47.34").address
        assert owner == {"ip": "10.69.47.34", "network_number": 4734, "role": "router"}
        assert search(session, "  ").empty and search(session, "zzzz-nothing").empty


def test_a_percent_sign_is_a_character_not_a_wildcard(api, sessions):
    member(api, "Ada Lovelace")
    with sessions() as session:
        assert search(session, "%").members == []


def test_an_install_is_found_through_its_additional_member(api, sessions):
    owner, partner = member(api, "Owner"), member(api, "Partner", phone_number="+17185550142")
    inst = install(api, owner, building(api), additional_members=[ref(partner)])
    with sessions() as session:
        found = search(session, "718 555 0142")
    assert [x["name"] for x in found.members] == ["Partner"]
    assert found.installs == [
        {
            "id": inst["id"],
            "install_number": inst["install_number"],
            "status": "Active",
            "unit": None,
            "member": "Owner",
            "address": "1 Test Street",
            "additional": True,
        }
    ]


def test_a_phone_is_found_in_any_spelling_whoever_stored_it(api, sessions):
    # The records API stores E.164 (an extension after ";ext="); rows written before it, or
    # copied from MeshDB, keep their own spelling ("+1 212-555-0123"): both are found.
    from ipam import models as m

    kept = member(api, "Kept", phone_number="(646) 555-0100 x 12")
    assert kept["phone_number"] == "+16465550100;ext=12"
    with sessions.begin() as session:
        session.add(
            m.Member(name="Copied", phone_number="+1 212-555-0123", additional_phone_numbers=[])
        )
        session.add(
            m.Member(
                name="Legacy",
                phone_number=None,
                additional_phone_numbers=["917 555 0199 extension 4"],
            )
        )
    with sessions() as session:
        for query, name in [
            ("646-555-0100", "Kept"),
            ("+1 (646) 555 0100", "Kept"),
            ("2125550123", "Copied"),
            ("(212) 555-0123", "Copied"),
            ("+19175550199", "Legacy"),
        ]:
            assert [x["name"] for x in search(session, query).members] == [name], query
        assert search(session, "555-0100 12").members == []
