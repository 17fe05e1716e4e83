"""ETags on records and If-Match on PUT/PATCH: a stale copy is a 412 (issue 11, finding 9)."""

from __future__ import annotations

from tests.api import builders as b

M = "/api/v1/members/"


def test_get_answers_a_strong_etag_that_stays_until_a_change(api):
    ada = b.member(api)
    first = api.get(f"{M}{ada['id']}/")
    tag = first.headers["etag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert api.get(f"{M}{ada['id']}/").headers["etag"] == tag  # the cached answer too
    assert api.get(f"{M}{ada['id']}/", role="read_only").headers["etag"] == tag


def test_a_stale_copy_is_refused_and_nothing_is_lost(api):
    ada = b.member(api, phone_number="+12125550100")
    path = f"{M}{ada['id']}/"
    copy_a = api.get(path)
    copy_b = api.get(path)
    # Volunteer A writes first, with their copy's tag: accepted, and a new tag comes back.
    a_body = {**copy_a.json(), "notes": "moved to 4F"}
    written = api.put(path, json=a_body, headers={"If-Match": copy_a.headers["etag"]})
    assert written.status_code == 200, written.text
    new_tag = written.headers["etag"]
    assert new_tag != copy_a.headers["etag"]
    assert api.get(path).headers["etag"] == new_tag
    # Volunteer B writes back a stale copy: 412, and A's edit stands.
    b_body = {**copy_b.json(), "slack_handle": "ada"}
    stale = api.put(path, json=b_body, headers={"If-Match": copy_b.headers["etag"]})
    assert stale.status_code == 412, stale.text
    assert stale.json()["errors"][0]["field"] == "If-Match"
    assert (
        api.patch(
            path, json={"notes": "x"}, headers={"If-Match": copy_b.headers["etag"]}
        ).status_code
        == 412
    )
    now = api.get(path).json()
    assert (now["notes"], now["slack_handle"]) == ("moved to 4F", None)
    # With the current tag B's change goes through.
    fresh = api.patch(path, json={"slack_handle": "ada"}, headers={"If-Match": new_tag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != new_tag


def test_without_if_match_writes_behave_as_before(api):
    ada = b.member(api)
    path = f"{M}{ada['id']}/"
    answer = api.patch(path, json={"notes": "one"})
    assert answer.status_code == 200 and answer.headers["etag"]
    assert api.put(path, json={"name": "Ada L"}).status_code == 200


def test_if_match_forms(api):
    ada = b.member(api)
    path = f"{M}{ada['id']}/"
    tag = api.get(path).headers["etag"]
    assert api.patch(path, json={"notes": "a"}, headers={"If-Match": "*"}).status_code == 200
    tag = api.get(path).headers["etag"]
    # A weak tag never matches (RFC 9110 13.1.1); a list matches when one of them does.
    assert api.patch(path, json={"notes": "b"}, headers={"If-Match": f"W/{tag}"}).status_code == 412
    listed = f'"nope", {tag}'
    assert api.patch(path, json={"notes": "b"}, headers={"If-Match": listed}).status_code == 200
    unknown = f"{M}00000000-0000-0000-0000-000000000000/"
    assert api.patch(unknown, json={"notes": "c"}, headers={"If-Match": "*"}).status_code == 404


def test_the_etag_changes_with_any_change_to_the_record(api):
    one = b.building(api, "1 First Street")
    two = b.building(api, "2 Second Street")
    node = b.node(api, 101, buildings=[one["id"]])
    path = f"/api/v1/nodes/{node['id']}/"
    tags = [api.get(path).headers["etag"]]
    # A many-to-many change, an ordinary field, and a history revert each make a new tag.
    assert api.patch(path, json={"buildings": [one["id"], two["id"]]}).status_code == 200
    tags.append(api.get(path).headers["etag"])
    assert api.patch(path, json={"notes": "roof"}).status_code == 200
    tags.append(api.get(path).headers["etag"])
    first_change = api.get(f"{path}history/").json()[1]["id"]
    assert api.post(f"{path}history/{first_change}/revert/").status_code == 200
    tags.append(api.get("/api/v1/nodes/101/").headers["etag"])  # by number: the same record
    assert len(set(tags)) == 4, tags
    assert api.patch(path, json={"notes": "x"}, headers={"If-Match": tags[0]}).status_code == 412
