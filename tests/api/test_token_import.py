"""`meshkeeper token import` (issue 12, point 7): a MeshDB token keeps working, hashed only."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from sqlalchemy import text

# A DRF token as MeshDB hands them out: 40 hexadecimal characters.
MESHDB_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MESHKEEPER_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "token", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_imported_meshdb_token_authenticates_with_its_role(api, database_url, db):
    done = _cli(
        database_url, "import", "--name", "meshdb-map", "--role", "read_only", "--key", MESHDB_KEY
    )
    assert done.returncode == 0, done.stderr
    # MeshDB's clients send "Authorization: Token <key>".
    headers = {"Authorization": f"Token {MESHDB_KEY}"}
    assert api.get("/api/v1/members/", role=None, headers=headers).status_code == 200
    assert (
        api.post("/api/v1/members/", role=None, headers=headers, json={"name": "x"}).status_code
        == 403
    )
    with db.connect() as conn:
        stored = conn.execute(
            text("SELECT key_hash FROM api_token WHERE name = 'meshdb-map'")
        ).scalar()
        assert stored == hashlib.sha256(MESHDB_KEY.encode()).hexdigest()
        assert (
            conn.execute(
                text("SELECT count(*) FROM api_token WHERE key_hash = :k OR key_prefix = :k"),
                {"k": MESHDB_KEY},
            ).scalar()
            == 0
        )  # the key itself is nowhere
    again = _cli(database_url, "import", "--name", "other", "--role", "admin", "--key", MESHDB_KEY)
    assert again.returncode != 0 and "already" in again.stderr
    short = _cli(database_url, "import", "--name", "short", "--role", "admin", "--key", "abc")
    assert short.returncode != 0 and "key" in short.stderr
