"""Fixtures shared by every test: the real-data folder and (below) a real PostgreSQL."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path | None:
    """../shared/data or MESHKEEPER_SHARED_DATA; None when absent and not asked for."""
    configured = os.environ.get("MESHKEEPER_SHARED_DATA")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    if path.is_dir():
        return path
    if configured:
        # CI names the folder: a missing folder there is a failure, not a skip.
        raise pytest.UsageError(f"MESHKEEPER_SHARED_DATA={configured} is not a directory")
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder; realdata tests skip on a clone without it."""
    path = _shared_data_dir()
    if path is None:
        pytest.skip("real data folder (../shared/data) not present")
    return path


# --- a real PostgreSQL: MESHKEEPER_TEST_DATABASE_URL's server, else an embedded one ---


@pytest.fixture(scope="session")
def database_url() -> str:
    """A fresh database migrated to head, on a server of its own or the one named."""
    from sqlalchemy import create_engine, text

    from ipam.db import ensure_database, make_engine, migrate, normalise_url, start_embedded

    configured = os.environ.get("MESHKEEPER_TEST_DATABASE_URL")
    if configured:
        admin_url = normalise_url(configured)
    else:
        # Not under pytest's tmp dirs: those are 0700, and as root the server runs as its own
        # user, which must be able to reach its data directory.
        parent = Path(tempfile.mkdtemp(prefix="meshkeeper-test-pg-"))
        parent.chmod(0o755)
        admin_url = start_embedded(parent / "data", delete_on_exit=True)
    name = f"meshkeeper_test_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    url = ensure_database(admin_url, name)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str):
    """One engine for the test session."""
    from ipam.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def db(engine):
    """The database, emptied after the test (tests commit for real, as the service does)."""
    from tests.dbutil import empty_tables

    yield engine
    empty_tables(engine)


@pytest.fixture()
def sessions(db):
    """A sessionmaker over the test database."""
    from ipam.db import make_sessionmaker

    return make_sessionmaker(db)


class ApiClient:
    """A TestClient that sends the token of the role asked for."""

    def __init__(self, client, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def request(self, method: str, path: str, *, role: str | None = "admin", **kwargs):
        """Send a request as `role` (None: anonymous)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if role is not None:
            headers.setdefault("Authorization", f"Bearer {self.tokens[role]}")
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def create(self, resource: str, body: dict, **kwargs) -> dict:
        """POST a record as admin and return it, failing loudly on anything but 201."""
        response = self.post(f"/api/v1/{resource}/", json=body, **kwargs)
        assert response.status_code == 201, (resource, response.status_code, response.text)
        return response.json()


@pytest.fixture()
def settings(tmp_path):
    """Settings for a test: data under tmp_path, probes only to loopback."""
    from ipam.settings import Settings

    return Settings(data_dir=tmp_path, probe_networks=["127.0.0.0/8"])


@pytest.fixture()
def api(db, sessions, settings):
    """The HTTP API over the test database, with one token per role."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ipam.db import transaction
    from ipam.enums import TokenRole
    from ipam.records import tokens

    with transaction(sessions) as session:
        secrets = {role.value: tokens.create_token(session, role.value, role) for role in TokenRole}
    with TestClient(create_app(settings, db)) as client:
        yield ApiClient(client, secrets)


@pytest.fixture()
def live_api(api, db, settings):
    """The same app served by a real uvicorn on a free loopback port (for concurrency)."""
    from api.app import create_app
    from tests.live import served

    with served(create_app(settings, db)) as url:
        yield url, api.tokens
