"""The `kb` command line (DESIGN §7): the entry point, which assembles every command module.

Each command module has `register(commands, add_format)`, which adds its subcommands and returns
their handlers. This module imports them; they never import it.

Exit codes: 0 success, 1 a user-facing failure (one line on stderr), 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError

from kb import __version__
from kb.cli import admin, importing, knowledge, outcomes, release, review, serve
from kb.cli.context import Handler, Parser, UsageError
from kb.errors import KbError

COMMAND_MODULES = (knowledge, review, importing, outcomes, release, admin, serve)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The `kb` parser and the handler of each of its commands."""
    parser = Parser(prog="kb", description="Curate a precision-oncology knowledge base.")
    parser.add_argument("--version", action="version", version=f"kb {__version__}")
    parser.add_argument("--db", help="database URL or SQLite file (else $KB_DATABASE_URL)")
    parser.add_argument("--user", default=None, help="who you are (default: your OS login)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def add_format(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--format", choices=("text", "json"), default="text")

    handlers: dict[str, Handler] = {}
    for module in COMMAND_MODULES:
        handlers.update(module.register(commands, add_format))
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `kb` command; returns the exit code."""
    parser, handlers = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    handler = handlers[args.command]
    try:
        return handler(args, sys.stdout)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KbError as exc:
        print(f"kb: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kb: interrupted; nothing was changed", file=sys.stderr)
        return 1
    except RecursionError:
        # json and YAML parsers recurse once per nesting level: a hostile file nests deeper
        # than any real patient, state or manifest file ever does.
        print(
            "kb: an input file is nested too deeply to be a real KB, patient, state or "
            "release file; nothing was changed",
            file=sys.stderr,
        )
        return 1
    except DBAPIError as exc:
        # One line, not a driver traceback: a missing privilege, a lost connection …
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"kb: the database refused: {reason}; nothing was changed", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
