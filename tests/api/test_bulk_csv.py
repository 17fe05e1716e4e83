"""CSV export and import of installs and members over HTTP (and the CLI entry points)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from api import bulk
from cli.csv_files import cli_export, cli_import
from tests.api.builders import building, install, member, node, ref

INSTALL_HEADER = (
    "node,status,request_date,install_date,abandon_date,building,unit,roof_access,member,"
    "referral,notes,diy"
)
MEMBER_HEADER = (
    "name,primary_email_address,stripe_email_address,additional_email_addresses,"
    "phone_number,additional_phone_numbers,slack_handle,notes"
)
# MeshDB's bulk-install template ("How to bulk create installs"), building and member blank.
TEMPLATE_UNITS = ["2A", "2B", "2C", "3A", "3B", "3C", "4A", "4B", "4C", "5A", "5B", "5C"]
TEMPLATE_UNITS += ["6A", "6B"]
TEMPLATE = "\n".join(
    [INSTALL_HEADER]
    + [
        f",Pending,07/19/2024,,,,{unit},1,,Large Buidling Install,Building Name,0"
        for unit in TEMPLATE_UNITS
    ]
)
# MeshDB's members template, with real-looking numbers: its "+1 555 555 5555" is a possible
# number but not a valid one (no area code 555), which the records refuse (ipam/records/phones.py).
MEMBERS_TEMPLATE = f"""{MEMBER_HEADER}
Tami Gibson,tamigibson@gmail.com,,,+1 212 555 0101,,,
Jean Williams,jeanwilliams@gmail.com,,,+1 212 555 0102,,,
Shari Martinez,sharimartinez@gmail.com,,,+1 212 555 0103,,,
Melinda Martin,melindamartin@gmail.com,,,+1 212 555 0104,,,
"""


def _mount_first(app: Any) -> None:
    """Put the CSV routes before the generic /<resource>/{key}/ ones (as app.py will)."""
    paths = {getattr(r, "path", None) for r in bulk.router.routes}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in paths]
    app.router.routes[0:0] = list(bulk.router.routes)


@pytest.fixture()
def csvapi(api):
    """The API with the CSV routes mounted first."""
    _mount_first(api.client.app)
    return api


def fill_template(building_id: str, member_id: str) -> str:
    """The template with the building and member columns filled in, as the guide says."""
    rows = list(csv.reader(io.StringIO(TEMPLATE)))
    for row in rows[1:]:
        row[5], row[8] = building_id, member_id
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def post_csv(api, kind: str, text: str | bytes, *, role: str = "admin", query: str = "") -> Any:
    data = text.encode() if isinstance(text, str) else text
    return api.post(
        f"/api/v1/{kind}/import.csv{query}",
        role=role,
        content=data,
        headers={"Content-Type": "text/csv"},
    )


def export(api, kind: str) -> list[dict[str, str]]:
    response = api.get(f"/api/v1/{kind}/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def count(api, kind: str) -> int:
    return api.get(f"/api/v1/{kind}/").json()["count"]


@pytest.fixture()
def place(csvapi):
    """A member and a building to file installs under."""
    return member(csvapi, primary_email_address="bldg@example.org"), building(csvapi)


def test_template_rows_create_installs_with_sequential_numbers(csvapi, place):
    owner, site = place
    response = post_csv(csvapi, "installs", fill_template(ref(site), ref(owner)))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["created"], answer["updated"]) == (14, 0)
    numbers = answer["install_numbers"]
    assert numbers == list(range(numbers[0], numbers[0] + 14))
    first = csvapi.get(f"/api/v1/installs/{numbers[0]}/").json()
    assert first["status"] == "Pending"
    assert first["unit"] == "2A"
    assert first["request_date"].startswith("2024-07-19")
    assert (first["roof_access"], first["diy"]) == (True, False)
    assert (first["referral"], first["notes"]) == ("Large Buidling Install", "Building Name")
    history = csvapi.get(f"/api/v1/installs/{numbers[0]}/history/").json()
    assert [h["actor"] for h in history] == ["admin"]


def test_export_then_reimport_updates_and_duplicates_nothing(csvapi, place):
    owner, site = place
    nn = node(csvapi, 123)
    install(csvapi, owner, site, nn, unit="1A", notes="line one\nline two, with comma")
    install(csvapi, owner, site, None, status="Pending", install_date="2024-01-02")
    rows = export(csvapi, "installs")
    assert [r["node"] for r in rows] == ["123", ""]
    assert rows[1]["install_date"] == "2024-01-02"
    assert list(rows[0]) == [*INSTALL_HEADER.split(","), "id", "install_number"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    response = post_csv(csvapi, "installs", out.getvalue())
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["updated"]) == (0, 2)
    assert count(csvapi, "installs") == 2
    assert export(csvapi, "installs") == rows  # nothing changed, so no history either
    history = csvapi.get(f"/api/v1/installs/{rows[0]['id']}/history/").json()
    assert [h["action"] for h in history] == ["created"]
    # A changed cell is an update of that record, with its history.
    rows[1]["status"] = "Active"
    rows[1]["node"] = "123"
    writer = csv.DictWriter(out := io.StringIO(), fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    assert post_csv(csvapi, "installs", out.getvalue()).status_code == 200
    changed = csvapi.get(f"/api/v1/installs/{rows[1]['install_number']}/").json()
    assert (changed["status"], changed["node"]["network_number"]) == ("Active", 123)
    assert count(csvapi, "installs") == 2


def test_one_bad_row_among_fifty_writes_nothing(csvapi, place):
    owner, site = place
    lines = [INSTALL_HEADER]
    for n in range(1, 51):
        status = "Pendng" if n == 37 else "Pending"
        date = "13/45/2024" if n == 12 else "07/19/2024"
        lines.append(f",{status},{date},,,{ref(site)},{n},1,{ref(owner)},,,0")
    response = post_csv(csvapi, "installs", "\n".join(lines))
    assert response.status_code == 422, response.text
    report = response.json()
    assert (report["created"], report["updated"]) == (0, 0)
    assert [r["row"] for r in report["rows"]] == [12, 37]
    assert report["rows"][0]["errors"][0]["field"] == "request_date"
    assert report["rows"][1]["errors"][0]["field"] == "status"
    assert "row 12" in report["detail"]
    assert count(csvapi, "installs") == 0


def test_unknown_references_are_reported_per_row(csvapi, place):
    owner, site = place
    missing = "00000000-0000-0000-0000-000000000001"
    text = "\n".join(
        [
            INSTALL_HEADER,
            f"999,Pending,2024-07-19,,,{ref(site)},1,1,{ref(owner)},,,",
            f",Pending,2024-07-19,,,{missing},2,1,{ref(owner)},,,",
            f"abc,Pending,2024-07-19,,,{ref(site)},3,yes please,{ref(owner)},,,",
        ]
    )
    report = post_csv(csvapi, "installs", text).json()
    fields = {r["row"]: sorted(e["field"] for e in r["errors"]) for r in report["rows"]}
    assert fields == {1: ["node"], 2: ["building"], 3: ["node", "roof_access"]}


def test_dry_run_validates_and_writes_nothing(csvapi, place):
    owner, site = place
    text = fill_template(ref(site), ref(owner))
    response = post_csv(csvapi, "installs", text, query="?dry_run=true")
    assert response.status_code == 200, response.text
    assert response.json()["dry_run"] is True
    assert response.json()["created"] == 14
    assert count(csvapi, "installs") == 0
    # The real import then gets the first install numbers: a dry run burns none.
    numbers = post_csv(csvapi, "installs", text).json()["install_numbers"]
    assert numbers[0] == 1


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ("nodes,status,building,member\n", 400, "unknown column 'nodes'"),
        ("node,status,member\n", 400, "missing required column building"),
        ("building,member,member\n", 400, "appears twice"),
        ("", 400, "empty"),
        ("building,member\n\xff\xfe".encode("latin-1"), 400, "not UTF-8"),
        (INSTALL_HEADER.encode("utf-16"), 400, "not UTF-8"),
        ('building,member\n"unterminated,x\n', 422, "row"),
        ("building,member\na,b,c\n", 422, "has 3 fields"),
    ],
)
def test_unreadable_files_are_4xx_naming_the_problem(csvapi, body, status, words):
    response = post_csv(csvapi, "installs", body)
    assert response.status_code == status, response.text
    assert words in response.text


def test_roles(csvapi, place):
    for role in ("installer", "read_only"):
        assert csvapi.get("/api/v1/installs/export.csv", role=role).status_code == 403
        assert post_csv(csvapi, "members", MEMBERS_TEMPLATE, role=role).status_code == 403
    assert csvapi.get("/api/v1/members/export.csv", role=None).status_code == 401
    assert count(csvapi, "members") == 1


def test_members_with_list_columns(csvapi):
    text = MEMBERS_TEMPLATE + (
        'Ada Lovelace,ada@example.org,,"ada@work.example;ada@home.example",+1 212 555 0123,'
        '"+1 718 555 1234, +1 917 555 0199",ada,"notes, with a comma"\n'
    )
    response = post_csv(csvapi, "members", text)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 5
    ada_id = response.json()["created_ids"][-1]
    ada = csvapi.get(f"/api/v1/members/{ada_id}/").json()
    assert ada["additional_email_addresses"] == ["ada@work.example", "ada@home.example"]
    # Normalised to E.164 as the records API and the join form do.
    assert ada["phone_number"] == "+12125550123"
    assert ada["additional_phone_numbers"] == ["+17185551234", "+19175550199"]
    assert ada["notes"] == "notes, with a comma"
    rows = {r["name"]: r for r in export(csvapi, "members")}
    assert rows["Ada Lovelace"]["additional_email_addresses"] == (
        "ada@work.example;ada@home.example"
    )
    assert rows["Ada Lovelace"]["id"] == ada_id
    # E.164 leaves as it is (a spreadsheet reads no formula in it).
    assert rows["Tami Gibson"]["phone_number"] == "+12125550101"
    # An id updates; an empty list cell clears the list; a bad email or phone names row and field.
    update = (
        f"{MEMBER_HEADER},id\n"
        f"Ada King,ada@example.org,,,,,,,{ada_id}\n"
        "Bad Row,not-an-email,,,,,,,\n"
        "Template Row,t@example.org,,,+1 555 555 5555,,,,\n"
    )
    report = post_csv(csvapi, "members", update)
    assert report.status_code == 422
    rows_report = report.json()["rows"]
    assert [(r["row"], [e["field"] for e in r["errors"]]) for r in rows_report] == [
        (2, ["primary_email_address"]),
        (3, ["phone_number"]),
    ]
    assert csvapi.get(f"/api/v1/members/{ada_id}/").json()["name"] == "Ada Lovelace"
    good = "\n".join(update.splitlines()[:2])
    assert post_csv(csvapi, "members", good).json()["updated"] == 1
    ada = csvapi.get(f"/api/v1/members/{ada_id}/").json()
    assert ada["name"] == "Ada King"
    assert ada["additional_email_addresses"] == []
    assert ada["phone_number"] is None
    assert count(csvapi, "members") == 5


def test_trailing_slash_spelling_reaches_the_csv_routes(csvapi):
    member(csvapi, primary_email_address="x@example.org")
    response = csvapi.get("/api/v1/members/export.csv/")
    assert response.status_code == 200
    assert response.text.startswith(MEMBER_HEADER + ",id")


def test_cli_export_and_import(csvapi, sessions, place):
    owner, site = place
    text = fill_template(ref(site), ref(owner))
    out, err = io.StringIO(), io.StringIO()
    code = cli_import(
        sessions, "installs", io.BytesIO(text.encode()), dry_run=True, out=out, err=err
    )
    assert code == 0, err.getvalue()
    assert "would create 14" in out.getvalue()
    assert count(csvapi, "installs") == 0
    assert cli_import(sessions, "installs", io.StringIO(text), dry_run=False, out=out) == 0
    assert count(csvapi, "installs") == 14
    bad = text.replace("Pending", "Nope", 1)
    err = io.StringIO()
    assert cli_import(sessions, "installs", io.StringIO(bad), dry_run=False, err=err) == 1
    assert "row 1: status" in err.getvalue()
    assert cli_import(sessions, "installs", io.BytesIO(b"\xff"), dry_run=False, err=err) == 2
    exported = io.StringIO()
    cli_export(sessions, "installs", exported)
    assert len(exported.getvalue().splitlines()) == 15
    history = csvapi.get("/api/v1/installs/1/history/").json()
    assert history[0]["actor"] == "cli-import"
