"""`meshkeeper user ...` as an admin runs it: a real process on the test database."""

from __future__ import annotations

import subprocess
import sys

from tests.daemon.helpers import meshkeeper_env


def _run(database_url, tmp_path, *argv, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "user", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=meshkeeper_env(database_url, tmp_path),
    )


def test_create_list_disable_and_set_password(db, database_url, tmp_path, api):
    made = _run(
        database_url,
        tmp_path,
        "create",
        "--username",
        "bob",
        "--role",
        "installer",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert made.returncode == 0, made.stderr
    listed = _run(database_url, tmp_path, "list")
    assert listed.stdout.split("\t")[:3] == ["bob", "installer", "active"]
    assert "password" not in listed.stdout
    login = {"username": "bob", "password": "a long enough password"}
    assert api.client.post("/ui/login", data=login, follow_redirects=False).status_code == 303
    changed = _run(
        database_url,
        tmp_path,
        "set-password",
        "bob",
        "--password-stdin",
        stdin="the new long password\n",
    )
    assert changed.returncode == 0, changed.stderr
    assert api.client.post("/ui/login", data=login).status_code == 401
    assert _run(database_url, tmp_path, "disable", "bob").returncode == 0
    assert "disabled" in _run(database_url, tmp_path, "list").stdout
    login["password"] = "the new long password"
    assert api.client.post("/ui/login", data=login).status_code == 401


def test_a_short_password_or_a_taken_name_is_a_clear_error(db, database_url, tmp_path):
    short = _run(
        database_url,
        tmp_path,
        "create",
        "--username",
        "cy",
        "--role",
        "admin",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 2 and "password: at least 10 characters" in short.stderr
    args = ("create", "--username", "cy", "--role", "admin", "--password-stdin")
    assert _run(database_url, tmp_path, *args, stdin="long enough pw\n").returncode == 0
    taken = _run(database_url, tmp_path, *args, stdin="long enough pw\n")
    assert taken.returncode == 2 and "username: 'cy' exists" in taken.stderr
