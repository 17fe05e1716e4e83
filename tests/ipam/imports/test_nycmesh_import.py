"""The NYC Mesh map importer on a small fixture in the real feed's shape (tests/fixtures)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from ipam import models as m
from ipam.errors import Invalid
from ipam.imports import nycmesh_records
from ipam.imports.nycmesh_feed import plan_feed, read_feed
from ipam.imports.nycmesh_import import ACTOR, import_map
from ipam.imports.nycmesh_words import date_to_ms, install_status, ms_to_date, node_type

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "nycmesh-map"

CREATED = {
    "members": 24,
    "buildings": 21,
    "installs": 24,
    "nodes": 9,
    "devices": 7,
    "links": 7,
    "sectors": 4,
}
PROBLEMS = {
    "impossible coordinates": 3,
    "outside NYC": 1,
    "unknown status": 1,
    "dangling link": 2,
    "self link": 1,
    "unplaced sector": 1,
    "impossible sector": 1,
}


# --- pure: words, dates, the plan ----------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "status"),
    [
        (None, "Request Received"),
        ("", "Request Received"),
        ("Installed", "Active"),
        ("Interested", "Pending"),
        ("Powered Off", "Inactive"),
        ("Abandoned", "Closed"),
        ("No Los", "Blocked"),
        ("No LoS", "Blocked"),
        ("Invalid", "Closed"),
        ("Dupe", "Closed"),
        ("No Reply", "Closed"),
        ("Not Interested", "Closed"),
        ("Scheduled", "Pending"),
        ("To be scheduled", "Pending"),
        ("Not Contacted Yet", "Request Received"),
        ("  installed ", "Active"),
        ("Weird status", None),
    ],
)
def test_install_words(word, status):
    assert install_status(word) == status


@pytest.mark.parametrize(
    ("name", "notes", "kind"),
    [
        ("Supernode 1", None, "Supernode"),
        ("Belmont Cove - SN22", "Supernode", "Supernode"),
        (None, "Supernode, Sector facing North", "Supernode"),
        ("111 8th DataCenter- POP10", "no antenna", "POP"),
        ("Lily Hub", None, "Hub"),
        (None, "hub Omni + sectors", "Hub"),
        ("PioneerWorks", "Potential Hub", "Standard"),
        ("East", "AP", "AP"),
        (None, "Omni", "Standard"),
        (None, "Lbe to SN1", "Standard"),
    ],
)
def test_node_type_from_words(name, notes, kind):
    assert node_type(name, notes) == kind


def test_dates_are_new_york_midnights():
    # 2021-07-25 00:00 EDT and 2015-01-01 00:00 EST: both directions agree.
    assert ms_to_date(1627185600000) == date(2021, 7, 25)
    assert date_to_ms(date(2021, 7, 25)) == 1627185600000
    assert date_to_ms(ms_to_date(1420088400000)) == 1420088400000
    assert ms_to_date("soon") is None


def test_plan_of_the_fixture():
    plan = plan_feed(read_feed(FIXTURE))
    assert len(plan.installs) == CREATED["installs"]
    assert len(plan.buildings) == CREATED["buildings"]
    nodes = {key: (n.status, n.type) for key, n in plan.nodes.items()}
    assert nodes == {
        ("nn", 2): ("Active", "Standard"),
        ("nn", 3): ("Active", "Supernode"),
        ("nn", 10): ("Active", "Hub"),
        ("nn", 21): ("Inactive", "Standard"),
        ("nn", 40): ("Active", "POP"),
        ("nn", 60): ("Planned", "Standard"),
        ("nn", 61): ("Active", "Standard"),  # no install, but an active link ends at it
        ("install", 9200): ("Active", "Standard"),  # id > 8000: a node with no NN
        ("install", 9500): ("Active", "AP"),
    }
    assert plan.install_node == {
        2: ("nn", 2),
        9002: ("nn", 2),
        9010: ("nn", 10),
        9011: ("nn", 10),
        3: ("nn", 3),
        40: ("nn", 40),
        21: ("nn", 21),
        9200: ("install", 9200),
        9500: ("install", 9500),
    }


def test_missing_nodes_file_is_an_error(tmp_path):
    with pytest.raises(Invalid, match="nodes.json"):
        read_feed(tmp_path)
    (tmp_path / "nodes.json").write_text('{"not": "a list"}')
    with pytest.raises(Invalid, match="JSON list"):
        read_feed(tmp_path)


def test_odd_rows_are_reported_not_fatal(tmp_path):
    good = {"id": 5, "coordinates": [-73.9, 40.7, 10], "requestDate": 1500000000000}
    rows = [
        good,
        dict(good),  # the same id again
        "not a row",
        {"id": "7", "coordinates": [-73.9, 40.7]},
        {"id": 8, "coordinates": "here"},
        {"id": 9, "coordinates": [-73.9]},
        {"id": 9000, "status": "NN assigned", "coordinates": [-73.9, 40.7]},  # NN > 8000
        {"id": 11, "coordinates": [-73.9, 40.7], "requestDate": "yesterday", "panoramas": 3},
    ]
    (tmp_path / "nodes.json").write_text(json.dumps(rows))
    (tmp_path / "links.json").write_text(json.dumps([{"from": 5}, {"from": 5, "to": 11}]))
    feed = read_feed(tmp_path)
    plan = plan_feed(feed)
    assert [r.id for r in feed.rows] == [5, 11]
    assert feed.rows[1].request_date is None and feed.rows[1].panoramas == ()
    assert Counter(p.kind for p in plan.problems) == {
        "duplicate id": 1,
        "unreadable row": 2,  # not an object; an id that is not an int
        "impossible coordinates": 2,  # not a list; one number
        "NN out of range": 1,
        "missing file": 1,  # sectors.json
        "unreadable link": 1,  # no "to"
        "unknown status": 1,  # a link with no status: taken as planned
    }
    assert feed.unplaced == {8, 9, 9000}
    assert len(plan.links) == 1 and plan.dot_keys == {5: ("nn", 5), 11: ("nn", 11)}


# --- against the database ------------------------------------------------------------------


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_counts_and_problems(sessions):
    report = import_map(sessions, FIXTURE)
    assert report.created == CREATED
    assert report.unchanged == dict.fromkeys(CREATED, 0)
    assert report.problem_counts() == PROBLEMS
    assert report.rows == 30 and report.links == 10 and report.sectors == 6
    # Every links.json row is accounted for: created, or reported and skipped.
    skipped = PROBLEMS["dangling link"] + PROBLEMS["self link"]
    assert report.created["links"] + skipped == report.links
    text_report = report.format()
    assert "dangling link: 2" in text_report and "7777 is not in nodes.json" in text_report
    assert "9300 could not be placed" in text_report


def test_records_say_what_the_feed_says(sessions):
    import_map(sessions, FIXTURE)
    with sessions() as s:
        installs = {i.install_number: i for i in s.scalars(select(m.Install))}
        nodes = {n.id: n for n in s.scalars(select(m.Node))}
        by_nn = {n.network_number: n for n in nodes.values() if n.network_number}
        status = {n: i.status for n, i in installs.items()}
        assert (
            status[2] == "Active"
            and status[9011] == "Inactive"
            and status[9003] == ("Request Received")
        )
        assert [status[n] for n in (20, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)] == [
            "Pending", "Closed", "Blocked", "Blocked", "Closed", "Closed",
            "Closed", "Closed", "Pending", "Pending", "Request Received", "Request Received",
        ]  # fmt: skip
        assert 10 not in installs and 60 not in installs  # "NN assigned" rows are nodes
        assert not {9300, 9301, 9302} & set(installs)  # impossible coordinates: not placed

        def nn_of(number):
            node = nodes.get(installs[number].node_id)
            return None if node is None else (node.network_number, node.status, node.type)

        assert nn_of(2) == nn_of(9002) == (2, "Active", "Standard")
        assert nn_of(9010) == nn_of(9011) == (10, "Active", "Hub")
        assert nn_of(9003) is None and nn_of(9012) is None and nn_of(20) is None
        assert nn_of(3) == (3, "Active", "Supernode") and nn_of(40) == (40, "Active", "POP")
        assert nn_of(9200) == (None, "Active", "Standard")
        assert nn_of(9500) == (None, "Active", "AP")
        assert by_nn[60].status == "Planned" and by_nn[61].status == "Active"
        assert by_nn[10].name == "Hub Place" and by_nn[10].notes == "Hub Omni"
        assert (by_nn[10].longitude, by_nn[10].latitude, by_nn[10].altitude) == (-73.96, 40.71, 41)

        # Dates: request instants exact, calendar dates as New York meant them.
        assert installs[2].request_date == datetime.fromtimestamp(1500000002, UTC)
        assert installs[2].install_date == date(2021, 7, 25)
        assert installs[2].roof_access is True and installs[40].notes == "no antenna"

        # Buildings: one per place, the two Closed rows at one place share one.
        assert installs[25].building_id == installs[26].building_id
        a = s.get(m.Building, installs[2].building_id)
        assert a.panoramas == ["2.jpg", "9002a.jpg"] and a.primary_node_id == by_nn[2].id
        assert s.get(m.Building, installs[9010].building_id).primary_node_id == by_nn[10].id
        pairs = set(s.execute(select(m.node_building.c.node_id, m.node_building.c.building_id)))
        assert (by_nn[10].id, installs[9010].building_id) in pairs

        devices = {d.name: d for d in s.scalars(select(m.Device).where(m.Device.kind == "device"))}
        assert set(devices) == {
            "nycmesh-2-map", "nycmesh-3-map", "nycmesh-10-map", "nycmesh-21-map",
            "nycmesh-40-map", "nycmesh-61-map", "install-9200-map",
        }  # fmt: skip
        assert devices["nycmesh-21-map"].status == "Inactive"
        ends = {d.id: d.name for d in devices.values()}
        links = sorted(
            (ends[link.from_device_id], ends[link.to_device_id], link.status, link.type)
            for link in s.scalars(select(m.Link))
        )
        assert links == [
            ("nycmesh-10-map", "nycmesh-2-map", "Active", "60 GHz"),
            ("nycmesh-10-map", "nycmesh-3-map", "Active", None),
            ("nycmesh-2-map", "nycmesh-21-map", "Planned", None),
            ("nycmesh-3-map", "nycmesh-10-map", "Active", None),
            ("nycmesh-3-map", "nycmesh-40-map", "Active", "Fiber"),
            ("nycmesh-40-map", "install-9200-map", "Active", "VPN"),
            ("nycmesh-61-map", "nycmesh-3-map", "Active", None),
        ]
        sectors = sorted(
            (nodes[x.node_id].network_number, x.name, x.azimuth, x.width, x.radius, x.status)
            for x in s.scalars(select(m.Sector))
        )
        assert sectors == [
            (3, "LAP-120", 0, 120, 1.0, "Active"),
            (3, "LAP-120", 120, 120, 1.0, "Active"),
            (10, "Omni", 0, 360, 0.75, "Inactive"),
            (60, "wAP60Gx3", 90, 60, 0.5, "Potential"),
        ]


def test_one_placeholder_member_per_install(sessions):
    import_map(sessions, FIXTURE)
    with sessions() as s:
        rows = s.execute(
            select(m.Install.install_number, m.Member.name, m.Member.primary_email_address).join(
                m.Member, m.Member.id == m.Install.member_id
            )
        ).all()
        assert len({name for _, name, _ in rows}) == len(rows) == CREATED["members"]
        assert all(name == f"Imported member (install {n})" for n, name, _ in rows)
        assert all(email is None for *_, email in rows)


def test_history_and_events_for_everything_created(sessions):
    report = import_map(sessions, FIXTURE)
    with sessions() as s:
        history = s.execute(
            text("SELECT resource, count(*) FROM history WHERE actor = :a GROUP BY resource"),
            {"a": ACTOR},
        ).all()
        assert dict(history) == {k: v for k, v in report.created.items() if v}
        types = dict(s.execute(text("SELECT type, count(*) FROM event GROUP BY type")).all())
        assert types == {f"{k[:-1]}.created": v for k, v in report.created.items() if v}
        # Snapshots are JSON objects shaped like ipam.records.changes.snapshot: columns + m2m ids.
        data = s.scalar(text("SELECT data FROM event WHERE type = 'node.created' LIMIT 1"))
        assert data["before"] is None and isinstance(data["after"]["buildings"], list)
        nn = s.execute(
            text("SELECT network_number, data->'after'->>'network_number' FROM event")
        ).all()
        assert all(str(a) == b for a, b in nn if a is not None)
        assert {b for a, b in nn if a is not None} == {"2", "3", "10", "21", "40", "60", "61"}
        after = s.scalar(text("SELECT after FROM history WHERE resource = 'installs' LIMIT 1"))
        assert {"install_number", "member_id", "additional_members", "created"} <= set(after)


def test_second_run_creates_nothing(sessions):
    first = import_map(sessions, FIXTURE)
    with sessions() as s:
        events = _count(s, m.Event)
    second = import_map(sessions, FIXTURE)
    assert second.total_created == 0
    assert second.unchanged == first.created
    with sessions() as s:
        assert _count(s, m.Event) == events
        assert _count(s, m.Install) == CREATED["installs"]
        assert _count(s, m.Link) == CREATED["links"]


def test_existing_records_are_matched_not_touched(sessions):
    with sessions() as s, s.begin():
        member = m.Member(name="Someone")
        building = m.Building(latitude=40.71, longitude=-73.96)
        node = m.Node(network_number=10, name="Operator's name", status="Active")
        s.add_all([member, building, node])
    report = import_map(sessions, FIXTURE)
    assert report.created["nodes"] == CREATED["nodes"] - 1 and report.unchanged["nodes"] == 1
    assert report.created["buildings"] == CREATED["buildings"] - 1
    with sessions() as s:
        node = s.scalar(select(m.Node).where(m.Node.network_number == 10))
        assert node.name == "Operator's name"  # the feed never overwrites
        joined = s.scalar(select(m.Install).where(m.Install.install_number == 9010))
        assert joined.node_id == node.id and joined.building_id == building.id


def test_install_numbers_kept_and_sequence_continues(api, sessions):
    import_map(sessions, FIXTURE)
    install = api.get("/api/v1/installs/9500/").json()
    assert install["install_number"] == 9500
    member = api.create("members", {"name": "New Person"})
    created = api.create(
        "installs", {"member": {"id": member["id"]}, "building": {"id": install["building"]["id"]}}
    )
    assert created["install_number"] == 9501


def test_all_or_nothing(sessions, monkeypatch):
    def boom(run):
        raise RuntimeError("disk full")

    monkeypatch.setattr(nycmesh_records, "create_sectors", boom)
    with pytest.raises(RuntimeError):
        import_map(sessions, FIXTURE)
    with sessions() as s:
        assert _count(s, m.Install) == _count(s, m.Node) == _count(s, m.Event) == 0


def test_the_cli_prints_the_report(db, database_url, capsys, tmp_path, monkeypatch):
    from cli import main as cli
    from ipam.settings import get_settings

    # As an operator runs it: settings from the environment; it opens (and migrates) itself.
    monkeypatch.setenv("MESHKEEPER_DATABASE_URL", database_url)
    monkeypatch.setenv("MESHKEEPER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert cli.main(["import", "nycmesh-map", str(FIXTURE)]) == 0
        out = capsys.readouterr().out
        assert "installs" in out and "24" in out and "problems" in out
        assert cli.main(["import", "nycmesh-map", str(tmp_path / "nowhere")]) == 2
        assert "nodes.json" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_progress_bar_and_missing_optional_files(sessions, tmp_path, capsys):
    shutil.copy(FIXTURE / "nodes.json", tmp_path / "nodes.json")
    (tmp_path / "sectors.json").write_text(json.dumps([]))
    report = import_map(sessions, tmp_path, progress=True)
    assert report.created["links"] == 0 and report.created["installs"] == CREATED["installs"]
    assert report.problem_counts()["missing file"] == 1
    assert "nycmesh-map" in capsys.readouterr().err
