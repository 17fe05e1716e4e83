"""People who sign in: Argon2id hashes, sessions that end on disable and on a new password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ipam import models as m
from ipam.db import transaction
from ipam.enums import TokenRole
from ipam.errors import Conflict, Invalid, NotFound
from ipam.records import people

PASSWORD = "correct horse battery staple"
DAY = timedelta(days=1)


@pytest.fixture()
def alice(sessions):
    with transaction(sessions) as session:
        people.create_person(session, "alice", TokenRole.INSTALLER, PASSWORD)
    return "alice"


def test_only_an_argon2id_hash_is_stored(sessions, alice):
    with transaction(sessions) as session:
        stored = session.scalar(select(m.Person.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("username", "password", "error"),
    [
        ("bob", "short", Invalid),
        ("", PASSWORD, Invalid),
        ("tab\tname", PASSWORD, Invalid),
        ("alice", PASSWORD, Conflict),
    ],
)
def test_bad_accounts_are_refused_with_the_field(sessions, alice, username, password, error):
    with transaction(sessions) as session, pytest.raises(error) as raised:
        people.create_person(session, username, TokenRole.ADMIN, password)
    assert raised.value.field in ("username", "password")


def test_sign_in_gives_a_session_with_role_and_csrf(sessions, alice):
    with transaction(sessions) as session:
        key = people.sign_in(session, "alice", PASSWORD, DAY)
        assert people.sign_in(session, "alice", "wrong password", DAY) is None
        assert people.sign_in(session, "mallory", PASSWORD, DAY) is None
    with transaction(sessions) as session:
        who = people.signed_in(session, key)
        assert who.username == "alice" and who.role == TokenRole.INSTALLER
        assert len(who.csrf_token) >= 32
        assert people.signed_in(session, key + "x") is None
        stored = session.scalar(select(m.ConsoleSession.key_hash))
    assert key not in stored  # only its SHA-256


def test_an_expired_session_is_no_session(sessions, alice):
    with transaction(sessions) as session:
        key = people.sign_in(session, "alice", PASSWORD, DAY)
        session.execute(update(m.ConsoleSession).values(expires_at=m.ConsoleSession.created))
    with transaction(sessions) as session:
        assert people.signed_in(session, key) is None


def test_disabling_and_a_new_password_end_every_session(sessions, alice):
    with transaction(sessions) as session:
        key = people.sign_in(session, "alice", PASSWORD, DAY)
        people.set_password(session, "alice", "another long password")
        assert people.signed_in(session, key) is None
        assert people.sign_in(session, "alice", PASSWORD, DAY) is None
        key = people.sign_in(session, "alice", "another long password", DAY)
        people.disable_person(session, "alice")
        assert people.signed_in(session, key) is None
        assert people.sign_in(session, "alice", "another long password", DAY) is None
        with pytest.raises(NotFound):
            people.disable_person(session, "nobody")
