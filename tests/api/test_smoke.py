"""First contact: health, a create and a read."""


def test_health_needs_no_token(api):
    response = api.get("/api/v1/", role=None)
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_member_round_trip(api):
    member = api.create("members", {"name": "Ada", "primary_email_address": "ada@example.org"})
    got = api.get(f"/api/v1/members/{member['id']}/", role="read_only").json()
    assert got["name"] == "Ada"
    assert got["all_email_addresses"] == ["ada@example.org"]
