"""`meshkeeper user create | list | disable | set-password`: who signs in to the console."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from ipam.db import make_sessionmaker, transaction
from ipam.enums import TokenRole
from ipam.records import people
from ipam.settings import Settings


def _password(args: argparse.Namespace) -> str:
    """From standard input with --password-stdin (for scripts), else asked twice at a prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("error: password: the two entries differ")
    return first


def cmd_user(
    settings: Settings, args: argparse.Namespace, open_database: Callable[..., Any]
) -> int:
    """Create, list, disable people, or set a password."""
    engine = open_database(settings)
    with transaction(make_sessionmaker(engine)) as session:
        if args.user_command == "create":
            people.create_person(session, args.username, TokenRole(args.role), _password(args))
            print(f"created {args.username!r} with role {args.role}")
        elif args.user_command == "list":
            for person in people.list_people(session):
                state = "disabled" if person.disabled_at else "active"
                print(f"{person.username}\t{person.role}\t{state}\t{person.created.isoformat()}")
        elif args.user_command == "disable":
            people.disable_person(session, args.username)
            print(f"disabled {args.username!r}; their sessions ended")
        else:
            people.set_password(session, args.username, _password(args))
            print(f"password of {args.username!r} changed; their sessions ended")
    return 0


def add_parser(sub: Any, open_database: Callable[..., Any]) -> None:
    """The `user` subcommands."""
    user = sub.add_parser("user", help="manage the people who sign in to the console")
    user.set_defaults(func=lambda settings, args: cmd_user(settings, args, open_database))
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create an account")
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in TokenRole])
    create.add_argument("--password-stdin", action="store_true", help="read the password")
    user_sub.add_parser("list", help="list accounts (never their passwords)")
    disable = user_sub.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("username")
    reset = user_sub.add_parser("set-password", help="set a password and end its sessions")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password")
