"""Signing a person in to the console in tests: an account, and a client holding its cookie."""

from __future__ import annotations

import re
from typing import Any

from ipam.db import transaction
from ipam.enums import TokenRole
from ipam.records import people

PASSWORD = "correct horse battery staple"


def make_person(sessions: Any, username: str, role: TokenRole | str) -> None:
    """An account with the test password."""
    with transaction(sessions) as session:
        people.create_person(session, username, TokenRole(role), PASSWORD)


def sign_in(client: Any, username: str, password: str = PASSWORD) -> str:
    """Sign a TestClient in; returns the CSRF token the console's forms carry."""
    answer = client.post(
        "/ui/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/ui/nn-assign").text)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)
