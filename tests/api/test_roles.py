"""Who may do what: every resource, every verb, every kind of caller.

read_only reads everything; installer also creates and edits; admin also deletes and reverts.
No token or a bad one is a 401, a role too weak a 403. Only the health check needs no token.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import builders as b

ANONYMOUS = "anonymous"
BAD_TOKEN = "bad_token"
CALLERS = (ANONYMOUS, BAD_TOKEN, "read_only", "installer", "admin")
RANK = {"read_only": 0, "installer": 1, "admin": 2}
NEEDS = {
    "list": "read_only",
    "lookup": "read_only",
    "get": "read_only",
    "history": "read_only",
    "create": "installer",
    "put": "installer",
    "patch": "installer",
    "delete": "admin",
    "revert": "admin",
}
SUCCESS = {"create": 201, "delete": 204}


@pytest.fixture(scope="module")
def env(engine, tmp_path_factory) -> Any:
    """One of every record, each record's full body (for PUT) and its first history row."""
    with b.shared_api(engine, tmp_path_factory.mktemp("roles")) as api:
        w = b.world(api)
        bodies = {r: api.get(f"/api/v1/{r}/{w[r]['id']}/").json() for r in b.RESOURCES}
        first = {r: api.get(f"/api/v1/{r}/{w[r]['id']}/history/").json()[0] for r in b.RESOURCES}
        yield {"api": api, "world": w, "bodies": bodies, "history": first}


def expected(caller: str, verb: str) -> int:
    """The status a caller gets for a verb."""
    if caller in (ANONYMOUS, BAD_TOKEN):
        return 401
    if RANK[caller] < RANK[NEEDS[verb]]:
        return 403
    return SUCCESS.get(verb, 200)


def send(env: dict[str, Any], resource: str, verb: str, caller: str) -> Any:
    """Do one verb on one resource as one caller; allowed deletes and reverts get a fresh record."""
    api, w = env["api"], env["world"]
    kwargs: dict[str, Any] = {"role": caller if caller in RANK else None}
    if caller == BAD_TOKEN:
        kwargs["headers"] = {"Authorization": "Bearer mk_not-a-real-token-at-all"}
    allowed = expected(caller, verb) < 400
    target = w[resource]["id"]
    base = f"/api/v1/{resource}/"
    if verb == "list":
        return api.get(base, **kwargs)
    if verb == "lookup":
        return api.get(f"{base}lookup/?{b.LOOKUP[resource]}", **kwargs)
    if verb == "get":
        return api.get(f"{base}{target}/", **kwargs)
    if verb == "history":
        return api.get(f"{base}{target}/history/", **kwargs)
    if verb == "create":
        return api.post(base, json=b.create_body(resource, w), **kwargs)
    if verb == "put":
        return api.put(f"{base}{target}/", json=env["bodies"][resource], **kwargs)
    if verb == "patch":
        return api.patch(f"{base}{target}/", json={"notes": f"patched by {caller}"}, **kwargs)
    if verb == "delete":
        if allowed:
            target = b.fresh(api, resource, w)["id"]
        return api.delete(f"{base}{target}/", **kwargs)
    assert verb == "revert"
    history_id = env["history"][resource]["id"]
    if allowed:
        fresh = b.fresh(api, resource, w)
        target = fresh["id"]
        api.patch(f"{base}{target}/", json={"notes": "changed"}).raise_for_status()
        history_id = api.get(f"{base}{target}/history/").json()[0]["id"]
    return api.post(f"{base}{target}/history/{history_id}/revert/", **kwargs)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("verb", list(NEEDS))
@pytest.mark.parametrize("resource", b.RESOURCES)
def test_role_matrix(env, resource, verb, caller):
    response = send(env, resource, verb, caller)
    want = expected(caller, verb)
    assert response.status_code == want, response.text
    if want >= 400:
        body = response.json()
        assert set(body) >= {"detail", "errors"}
        assert "results" not in body and "id" not in body


def test_health_check_needs_no_token(env):
    response = env["api"].get("/api/v1/", role=None)
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.parametrize(
    "header",
    ["Token {t}", "token {t}", "Bearer {t}", "bearer {t}", "Bearer   {t}  "],
)
def test_token_and_bearer_schemes_are_accepted(env, header):
    api = env["api"]
    secret = api.tokens["read_only"]
    response = api.get(
        "/api/v1/members/", role=None, headers={"Authorization": header.format(t=secret)}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "header",
    [
        "Basic {t}",
        "{t}",
        "Bearer",
        "Bearer ",
        "Token",
        "Bearer {t}x",
        "Bearer x{t}",
        "Bearer mk_",
        "Bearer " + "a" * 10_000,
        "Bearer \u00e9\u00e9\u00e9",
    ],
)
def test_malformed_or_wrong_credentials_are_401(env, header):
    api = env["api"]
    # Raw bytes: a header may carry any latin-1 octet, not only ASCII.
    value = header.format(t=api.tokens["admin"]).encode("latin-1")
    response = api.get("/api/v1/members/", role=None, headers={"Authorization": value})
    assert response.status_code == 401, response.text
    assert response.json()["errors"] == [] and response.json()["detail"]


def test_revoked_token_stops_working_at_once(env, engine):
    from ipam.db import make_sessionmaker, transaction
    from ipam.enums import TokenRole
    from ipam.records import tokens

    api = env["api"]
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        secret = tokens.create_token(session, "soon-revoked", TokenRole.ADMIN)
    auth = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/members/", role=None, headers=auth).status_code == 200
    with transaction(sessions) as session:
        tokens.revoke_token(session, "soon-revoked")
    assert api.get("/api/v1/members/", role=None, headers=auth).status_code == 401
    assert (
        api.post("/api/v1/members/", role=None, headers=auth, json={"name": "x"}).status_code == 401
    )


def test_refused_writes_change_nothing(env):
    api, w = env["api"], env["world"]
    member = w["members"]
    path = f"/api/v1/members/{member['id']}/"
    before = api.get(f"{path}history/").json()
    assert api.delete(path, role="installer").status_code == 403
    assert api.patch(path, role="read_only", json={"name": "Mallory"}).status_code == 403
    assert api.put(path, role=None, json={"name": "Mallory"}).status_code == 401
    assert api.get(path).json()["name"] == member["name"]
    assert api.get(f"{path}history/").json() == before


def test_actor_of_a_write_is_the_tokens_name(env):
    api = env["api"]
    made = api.create("members", {"name": "By installer"}, role="installer")
    rows = api.get(f"/api/v1/members/{made['id']}/history/", role="read_only").json()
    assert [(r["action"], r["actor"]) for r in rows] == [("created", "installer")]
