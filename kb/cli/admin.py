"""`kb admin` commands: setting a PostgreSQL KB up for a team (roles, grants, guards)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from kb.cli import context as cli
from kb.errors import KbError
from kb.model.enums import Role


def register(commands: Any, fmt: cli.AddFormat) -> dict[str, cli.Handler]:
    """Add this module's subcommands to the `kb` parser; returns their handlers."""
    admin = commands.add_parser("admin", help="database administration (PostgreSQL team mode)")
    sub = admin.add_subparsers(dest="admin_command", required=True, parser_class=type(admin))
    setup = sub.add_parser(
        "setup-postgres",
        help="create the KB's database roles, grants and guards (run by a superuser, again "
        "after every upgrade)",
    )
    setup.add_argument(
        "--prefix", default="kb", help="role names start with this (default: kb → kb_curator …)"
    )
    setup.add_argument(
        "--login",
        action="append",
        default=[],
        metavar="NAME=ROLE",
        help="grant an existing database login the group of a KB role (repeatable)",
    )
    fmt(setup)
    return {"admin": _admin}


def _admin(args: argparse.Namespace, out: TextIO) -> int:
    from kb.storage.pg_security import setup_postgres

    logins: dict[str, Role] = {}
    for item in args.login:
        name, sep, role = item.partition("=")
        if not sep or not name:
            raise cli.UsageError(f"kb admin setup-postgres: --login {item!r}: use NAME=ROLE")
        try:
            logins[name] = Role(role)
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise cli.UsageError(f"--login {item!r}: the role is one of {choices}") from None
    kb = cli.open_from_args(args)
    try:
        if kb.is_sqlite:
            raise KbError("setup-postgres is for PostgreSQL KBs (a SQLite KB has local accounts)")
        with kb.engine.begin() as connection:
            report = setup_postgres(connection, prefix=args.prefix, logins=logins)
    finally:
        kb.close()
    data = {
        "owner": report.owner,
        "groups": report.groups,
        "guarded_tables": report.guarded_tables,
        "logins": report.logins,
    }
    cli.emit(args, out, data, report.text)
    return 0
