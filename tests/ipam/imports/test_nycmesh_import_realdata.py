"""The whole real NYC Mesh map feed (../shared/data/nycmesh-network-map): import, again, serve."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import text

from ipam.imports.nycmesh_import import import_map
from ipam.maps import feed as mapfeed

pytestmark = pytest.mark.realdata

LINKS = 1392
SECTORS = 196
DANGLING = 111  # links.json rows with an end that nodes.json does not have
# Sectors MeshDB's map shows: not Inactive, on a node with an NN.
LIVE_SECTORS = """
    SELECT count(*) FROM sector s JOIN device d ON d.id = s.id JOIN node n ON n.id = d.node_id
    WHERE d.status <> 'Inactive' AND n.network_number IS NOT NULL
    """


@pytest.fixture()
def feed_dir(shared_data):
    """The real feed's folder."""
    return shared_data / "nycmesh-network-map"


def test_real_feed_imports_once(feed_dir, sessions, db, tmp_path):
    rows = json.loads((feed_dir / "nodes.json").read_bytes())
    install_rows = sum(1 for r in rows if r.get("status") != "NN assigned")

    report = import_map(sessions, feed_dir)
    problems = report.problem_counts()
    assert report.rows == len(rows) == 14806
    assert report.created["installs"] == report.created["members"] == install_rows == 14309
    assert "impossible coordinates" not in problems
    assert problems["dangling link"] == DANGLING
    # Every link is created or reported: dangling ends, or both ends on one node.
    assert report.created["links"] + problems["dangling link"] + problems["self link"] == LINKS
    assert report.created["sectors"] + problems["unplaced sector"] == SECTORS
    assert 1000 < report.created["nodes"] < 1500 and report.created["buildings"] > 10000
    assert 400 < problems["outside NYC"] < 600  # real mess, reported, imported as given
    with db.connect() as conn:
        last = conn.scalar(
            text(
                "SELECT pg_sequence_last_value("
                "pg_get_serial_sequence('install', 'install_number')::regclass)"
            )
        )
        assert last == max(r["id"] for r in rows if r.get("status") != "NN assigned")

    again = import_map(sessions, feed_dir)
    assert again.total_created == 0
    assert again.unchanged == report.created

    # The served feed has the real feed's keys, and importing it back creates only what
    # MeshDB's rules change: a Planned node's NN row has no status (MeshDB's views/map.py),
    # which the legacy feed means as a Request Received install numbered as that NN.
    keys = {k for r in rows for k in r}
    with db.connect() as conn:
        data = mapfeed.build(conn)
        live_sectors = conn.scalar(text(LIVE_SECTORS))
    served = json.loads(mapfeed.serialise(data, "nodes"))
    assert all(set(r) <= keys for r in served)
    assert len(served) > 14000 and len(data.sectors) == live_sectors
    installs = {r["id"] for r in rows if r.get("status") != "NN assigned"}
    planned_rows = {r["id"] for r in served if "status" not in r} - installs
    assert planned_rows  # the real feed has Planned nodes
    for name in ("nodes", "links", "sectors"):
        (tmp_path / f"{name}.json").write_bytes(mapfeed.serialise(data, name))
    _kml_files_parse(db, shown_installs=sum(1 for r in served if r["id"] in installs))
    back = import_map(sessions, tmp_path)
    created = {kind: n for kind, n in back.created.items() if n}
    assert created == {"installs": len(planned_rows), "members": len(planned_rows)}


def _kml_files_parse(db, shown_installs: int) -> None:
    """MeshDB's two KML files at NYC Mesh's size: KML 2.2, every style defined, every install."""
    ns = "{http://www.opengis.net/kml/2.2}"
    with db.connect() as conn:
        files = {name: build(conn) for name, build in mapfeed.DOCUMENTS.items()}
    for name, body in files.items():
        root = ET.fromstring(body)
        assert root.tag == f"{ns}kml", name
        styles = {s.get("id") for s in root.iter(f"{ns}Style")}
        marks = list(root.iter(f"{ns}Placemark"))
        assert all(m.findtext(f"{ns}styleUrl")[1:] in styles for m in marks), name
    whole = ET.fromstring(files["whole-mesh.kml"])
    points = [m for m in whole.iter(f"{ns}Placemark") if m.find(f"{ns}Point") is not None]
    # One placemark per install the nodes feed shows, plus one per NN they reach.
    assert shown_installs < len(points) < shown_installs + 2000
