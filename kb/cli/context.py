"""What every `kb` command module shares: usage errors, opening the KB, signing in, output.

Command modules import this module; it imports none of them, and none of them imports the
entry point (`kb.cli.main`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kb.errors import KbError
from kb.storage.db import Kb, display_url, kb_exists, open_kb

if TYPE_CHECKING:
    from kb.review.users import Actor

Handler = Callable[[argparse.Namespace, TextIO], int]
"""A command: parsed arguments and standard output in, exit code out."""

AddFormat = Callable[[argparse.ArgumentParser], None]
"""Adds `--format text|json` to a command's parser."""


class UsageError(Exception):
    """A command line that does not parse: exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 itself; we keep control
        raise UsageError(f"{self.prog}: {message}")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "curator"


def open_from_args(args: argparse.Namespace, *, create: bool = False) -> Kb:
    """The KB named by --db (else KB_DATABASE_URL, else the user-data SQLite file). Only `kb
    init` (`create`) makes one: a mistyped --db is an error, not a new empty KB."""
    if not create and not kb_exists(args.db):
        raise KbError(
            f"there is no KB at {display_url(args.db)}; check --db, or create one with `kb init`"
        )
    return open_kb(args.db)


def password_from_env_or_prompt(
    prompt: str, *, confirm: bool = False, from_env: bool = True
) -> str:
    """KB_PASSWORD (your own password only), else a prompt on the terminal; never echoed,
    never logged."""
    env = os.environ.get("KB_PASSWORD") if from_env else None
    if env:
        return env
    if not sys.stdin.isatty():
        hint = "set KB_PASSWORD or run" if from_env else "use --password-stdin or run"
        raise KbError(f"{prompt}: {hint} in a terminal to be asked")
    first = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"{prompt} (again): ") != first:
        raise KbError("the two passwords differ")
    return first


def signed_in(args: argparse.Namespace, kb: Kb) -> Actor:
    """The acting user: --user (else the OS login), with KB_PASSWORD or a prompt on SQLite;
    on PostgreSQL the database login itself."""
    from kb.review.users import authenticate

    name = args.user or os_user()
    password = password_from_env_or_prompt(f"password for {name}") if kb.is_sqlite else None
    with kb.read() as session:
        return authenticate(session, name=name, password=password)


def private_keys(paths: list[Path]) -> list[Any]:
    """Trust-root or release private keys from encrypted files, each passphrase from
    KB_KEY_PASSPHRASE or a prompt."""
    from kb.release.signing import load_private_key, passphrase_from_env_or_prompt

    return [
        load_private_key(p, passphrase_from_env_or_prompt(f"Passphrase for {p}: ")) for p in paths
    ]


def signing_password(actor: Actor) -> str:
    """The password that unlocks the signer's own approval key: KB_PASSWORD, else asked for
    (an electronic signature is an act of its signer, entered at each signing)."""
    env = os.environ.get("KB_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        raise KbError(f"password to sign as {actor.name}: set KB_PASSWORD or run in a terminal")
    return getpass.getpass(f"password to sign as {actor.name}: ")


def emit(args: argparse.Namespace, out: TextIO, data: Any, text: Callable[[], str]) -> None:
    """Write `data` as JSON with --format json, else the text `text()` gives."""
    if getattr(args, "format", "text") == "json":
        json.dump(data, out, indent=2, ensure_ascii=False, sort_keys=True)
        out.write("\n")
    else:
        out.write(text().rstrip("\n") + "\n")
