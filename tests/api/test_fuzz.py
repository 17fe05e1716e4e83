"""Fuzz the whole OpenAPI schema against a real server: no 5xx, every answer as declared.

Schemathesis generates requests (valid and invalid) from the app's own OpenAPI schema and
sends them with an admin token to a real uvicorn over the test database; every response
must have a declared status code and content type, and a body matching its schema.

This bounded run (a few examples per operation) is part of `make test`; `tests/fuzz_long.py`
is the long run (`make fuzz`). MESHKEEPER_FUZZ_EXAMPLES sets the examples per operation of
either.

One module-scoped server serves every operation (a server per operation would cost more
than the fuzzing); the database is emptied when the module ends, as `shared_api` does.
schemathesis.pytest.from_fixture would load the schema from the live server instead, but
it does not work with pytest 9 (it sets Node._nodeid, which pytest 9 no longer has).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api import builders as b

# The SSE stream never ends: a request to it would only stop at the client's timeout.
EXCLUDED_PATHS = ["/api/v1/events/stream/"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TIMEOUT_S = 30


def examples(default: int) -> int:
    """Examples per operation: MESHKEEPER_FUZZ_EXAMPLES, else the run's default."""
    return int(os.environ.get("MESHKEEPER_FUZZ_EXAMPLES", default))


def openapi_document() -> dict[str, Any]:
    """The schema the app serves at /openapi.json (building it connects to nothing)."""
    from sqlalchemy import create_engine

    from api.app import create_app
    from ipam.settings import Settings

    return create_app(Settings(), create_engine("postgresql+psycopg://")).openapi()


def load_schema(*, coverage: bool) -> Any:
    """The app's schema for schemathesis, without the operations that cannot be fuzzed."""
    config = SchemathesisConfig.from_dict(
        {
            "request-timeout": TIMEOUT_S,
            "phases": {"coverage": {"enabled": coverage}, "stateful": {"enabled": False}},
        }
    )
    loaded = schemathesis.openapi.from_dict(openapi_document(), config=config)
    return loaded.exclude(path=EXCLUDED_PATHS)


def fuzz_settings(max_examples: int, *, derandomize: bool) -> settings:
    """Hypothesis settings for requests to a real server and database."""
    return settings(
        max_examples=max_examples,
        derandomize=derandomize,
        deadline=None,
        database=None,  # nothing written under .hypothesis/
        # No shrinking: each step is an HTTP request; the report shows the failing one.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


class _Live:
    """Just enough of tests.conftest.ApiClient for tests.api.builders over a live server."""

    def __init__(self, session: requests.Session, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a record and return it, failing loudly on anything but 201."""
        response = self.session.post(f"{self.base_url}/api/v1/{resource}/", json=body)
        assert response.status_code == 201, (resource, response.status_code, response.text)
        return response.json()


def seed_world(live: _Live) -> dict[str, Any]:
    """One record of every kind (and a prefix, an allocation, a webhook) for requests to hit."""
    world: dict[str, Any] = b.world(live)
    world["prefixes"] = live.create("prefixes", {"cidr": "192.0.2.0/24", "role": "fuzz"})
    world["ip-allocations"] = live.create(
        "ip-allocations",
        {"prefix": world["prefixes"]["id"], "address": "192.0.2.5", "link": world["links"]["id"]},
    )
    hook = {"url": "http://127.0.0.1:9/hook", "secret": "fuzz-secret"}
    response = live.session.post(f"{live.base_url}/api/v1/webhooks/", json=hook)
    assert response.status_code == 201, response.text
    world["webhooks"] = response.json()
    return world


@pytest.fixture(scope="module")
def fuzz_server(engine, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A real uvicorn over the test database with an admin token and a seeded world.

    Module-scoped (a server per operation would cost more than the fuzzing itself); the
    database is emptied at the end, as tests.api.builders.shared_api does.
    """
    import uvicorn

    from api.app import create_app
    from ipam.db import make_sessionmaker, transaction
    from ipam.enums import TokenRole
    from ipam.records import tokens
    from ipam.settings import Settings
    from tests.dbutil import empty_tables

    empty_tables(engine)
    with transaction(make_sessionmaker(engine)) as session:
        token = tokens.create_token(session, "fuzzer", TokenRole.ADMIN)
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("fuzz"), probe_networks=["127.0.0.0/8"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings_, engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            world = seed_world(_Live(session, base_url))
            yield {"base_url": base_url, "session": session, "world": world}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        empty_tables(engine)


# Which seeded record a reference field (in a body or a lookup) or a path id points at.
REFERENCES = {
    "member": "members",
    "additional_members": "members",
    "building": "buildings",
    "buildings": "buildings",
    "from_building": "buildings",
    "to_building": "other_building",
    "node": "nodes",
    "nodes": "nodes",
    "primary_node": "nodes",
    "device": "devices",
    "from_device": "devices",
    "to_device": "accesspoints",
    "link": "links",
    "prefix": "prefixes",
    "device_id": "devices",
    "prefix_id": "prefixes",
    "webhook_id": "webhooks",
}


def _seeded(world: dict[str, Any], name: str, value: Any) -> Any:
    """The seeded value for a field, in the shape the generated value had."""
    if name in ("network_number", "nn"):
        return world["nodes"]["network_number"]
    if name == "install_number":
        return world["installs"]["install_number"]
    record_id = world[REFERENCES[name]]["id"]
    if isinstance(value, list):
        return [record_id]
    return {"id": record_id} if isinstance(value, dict) else record_id


def aim_at_world(case: Any, world: dict[str, Any]) -> None:
    """Point a generated request's ids at seeded records, so it reaches past the 404s.

    The rest of the request stays as generated: this is how fuzzed PUT and PATCH bodies
    reach real records, and fuzzed references reach real rows.
    """
    known = {*REFERENCES, "network_number", "nn", "install_number"}
    path = case.path_parameters or {}
    for name in list(path):
        if name == "key":
            resource = case.path.split("/")[3]
            if resource in world:
                path[name] = world[resource]["id"]
        elif name in known:
            path[name] = _seeded(world, name, path[name])
    for part in (case.query, case.body):
        if isinstance(part, dict):
            for name in [n for n in part if n in known]:
                part[name] = _seeded(world, name, part[name])


def call_and_check(case: Any, server: dict[str, Any], use_world: bool) -> None:
    """Send one generated request to the live server and run every check on the answer."""
    if use_world:
        aim_at_world(case, server["world"])
    case.call_and_validate(base_url=server["base_url"], session=server["session"], checks=CHECKS)


schema = load_schema(coverage=False)


def test_the_served_schema_is_the_one_fuzzed(fuzz_server):
    served = fuzz_server["session"].get(f"{fuzz_server['base_url']}/openapi.json").json()
    assert served == openapi_document()


# The same cases every run: `make test` stays a regression test; `make fuzz` explores.
@schema.parametrize()
@schema.given(use_world=st.booleans())
@fuzz_settings(examples(4), derandomize=True)
def test_every_operation_answers_as_declared(case, use_world, fuzz_server):
    call_and_check(case, fuzz_server, use_world)
