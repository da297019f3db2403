"""`kb init`, `info`, `vocab`, `validate`, `list`, `show` and `tumour-types`: the KB itself."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import platformdirs

from kb.cli.context import (
    AddFormat,
    Handler,
    Parser,
    UsageError,
    emit,
    open_from_args,
    os_user,
    password_from_env_or_prompt,
    signed_in,
)
from kb.errors import KbError
from kb.model.records import get_record, list_records, record_type_of
from kb.storage.db import resolve_url


def register(commands: Any, fmt: AddFormat) -> dict[str, Handler]:
    """Add this module's subcommands to the `kb` parser; returns their handlers."""
    init = commands.add_parser("init", help="create (and migrate) a KB")
    init.add_argument("--demo", action="store_true", help="fill it with the demo KB")
    init.add_argument("--name", default="KB", help="the KB's name")
    init.add_argument("--admin", help="name of the first admin (default: your OS login)")
    fmt(init)

    info = commands.add_parser("info", help="where the KB is, its version and vocabularies")
    fmt(info)

    vocab = commands.add_parser(
        "vocab", help="load or fetch OncoTree, HGNC and the Disease Ontology"
    )
    vocab_commands = vocab.add_subparsers(dest="vocab_command", required=True, parser_class=Parser)
    load = vocab_commands.add_parser(
        "load",
        help="load a release file (doid: the folder of HumanDO.tsv and allXREFinDO.tsv)",
    )
    load.add_argument("kind", choices=("oncotree", "hgnc", "doid"))
    load.add_argument("file", type=Path, nargs="?")
    load.add_argument(
        "--bundled", action="store_true", help="load the release shipped with KB Curator"
    )
    load.add_argument("--version", dest="vocab_version", help="release name (else from the file)")
    fmt(load)
    fetch = vocab_commands.add_parser("fetch", help="download the official release and load it")
    fetch.add_argument("kind", choices=("oncotree", "hgnc"))
    fetch.add_argument("--version", dest="vocab_version", help="release, e.g. oncotree_2025_10_03")
    fetch.add_argument("--url", help="download from this URL instead of the official one")
    fmt(fetch)

    validate = commands.add_parser("validate", help="check the KB; exit 1 if it has errors")
    fmt(validate)

    listing = commands.add_parser("list", help="list records of one type")
    listing.add_argument("type", help="gene, biomarker, threshold, expression, drug, therapy, …")
    listing.add_argument("--search", help="only records whose title contains this text")
    fmt(listing)

    show = commands.add_parser("show", help="show one record by id (e.g. AS-00001)")
    show.add_argument("id")
    fmt(show)

    tumour = commands.add_parser(
        "tumour-types", help="an OncoTree code's ancestors and descendants"
    )
    tumour.add_argument("code")
    fmt(tumour)
    return {
        "init": _cmd_init,
        "info": _cmd_info,
        "vocab": _cmd_vocab,
        "validate": _cmd_validate,
        "list": _cmd_list,
        "show": _cmd_show,
        "tumour-types": _cmd_tumour_types,
    }


def _cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    from kb.demo.loader import build_demo
    from kb.review.users import bootstrap_admin, list_users
    from kb.storage.meta import initialise, kb_info
    from kb.storage.revisions import current_version

    kb = open_from_args(args, create=True)
    try:
        accounts: dict[str, str] = {}
        with kb.unit_of_work() as session:
            kb_id = initialise(session, name=args.name)
            first_user = not list_users(session)
            if args.demo:
                if current_version(session) != 0:
                    print("kb: the KB already has content; the demo was not added", file=sys.stderr)
                elif not first_user:
                    print(
                        "kb: the KB already has users; the demo, built by its own team of "
                        "accounts, goes only into a new KB",
                        file=sys.stderr,
                    )
                else:
                    demo = build_demo(session)
                    accounts = {
                        user: f"demo password {secret}" for user, secret in demo.accounts.items()
                    }
            elif first_user:
                name = args.admin or args.user or os_user()
                password = (
                    None
                    if not kb.is_sqlite
                    else password_from_env_or_prompt(f"password for admin {name}")
                )
                bootstrap_admin(session, name=name, password=password)
                accounts = {name: "admin"}
        with kb.read() as session:
            info = kb_info(session)
    finally:
        kb.close()
    counts = ", ".join(f"{n} {t}" for t, n in info.counts.items() if n)
    emit(
        args,
        out,
        {
            "kb_id": kb_id,
            "url": _safe_url(kb.url),
            "version": info.version,
            "counts": info.counts,
            "accounts": sorted(accounts),
        },
        lambda: (
            f"KB {kb_id} at {_safe_url(kb.url)}\nversion {info.version}"
            + (f": {counts}" if counts else "")
            + "".join(f"\naccount {user}: {secret}" for user, secret in accounts.items())
        ),
    )
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    from kb.storage.meta import kb_info

    kb = open_from_args(args)
    try:
        with kb.read() as session:
            info = kb_info(session)
    finally:
        kb.close()
    data = {
        "url": _safe_url(resolve_url(args.db)),
        "kb_id": info.kb_id,
        "name": info.name,
        "version": info.version,
        "vocabularies": info.vocabularies,
        "counts": info.counts,
    }

    def text() -> str:
        lines = [f"{key}: {value}" for key, value in data.items() if not isinstance(value, dict)]
        lines += [f"vocabulary {k}: {v}" for k, v in info.vocabularies.items()]
        lines += [f"{k}: {v}" for k, v in info.counts.items()]
        return "\n".join(lines)

    emit(args, out, data, text)
    return 0


def _cmd_vocab(args: argparse.Namespace, out: TextIO) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from kb.model.orm import User
    from kb.review.vocabulary import load_vocabulary
    from kb.vocab import doid as vocab_doid
    from kb.vocab import fetch as vocab_fetch
    from kb.vocab import hgnc as vocab_hgnc
    from kb.vocab import oncotree as vocab_oncotree
    from kb.vocab.bundled import load_bundled
    from kb.vocab.releases import LoadResult

    if args.vocab_command == "load" and (args.file is None) == (not args.bundled):
        raise UsageError("give a release FILE or --bundled (not both)")
    if args.vocab_command == "fetch" and args.kind == "doid":
        raise UsageError("the Disease Ontology is loaded from its files: kb vocab load doid DIR")
    if args.vocab_command == "load" and not args.bundled:
        exists = args.file.is_dir() if args.kind == "doid" else args.file.is_file()
        if not exists and not args.file.is_file():
            raise KbError(f"{args.file}: no such file")

    def load(session: Session) -> LoadResult:
        if args.vocab_command == "load" and args.bundled:
            return load_bundled(session, args.kind)
        if args.vocab_command == "load":
            loader = {
                "oncotree": vocab_oncotree.load_oncotree,
                "hgnc": vocab_hgnc.load_hgnc,
                "doid": vocab_doid.load_doid,
            }[args.kind]
            return loader(session, args.file, version=args.vocab_version)
        cache = Path(platformdirs.user_cache_dir("kb-curator", appauthor=False))
        fetcher = vocab_fetch.fetch_oncotree if args.kind == "oncotree" else vocab_fetch.fetch_hgnc
        return fetcher(session, cache, version=args.vocab_version, url=args.url)

    kb = open_from_args(args)
    try:
        with kb.read() as session:
            has_users = bool(session.scalar(select(func.count()).select_from(User)))
        # Vocabularies are the KB's admins' to change; a KB with no accounts yet has no one to
        # sign in.
        actor = signed_in(args, kb) if has_users else None
        with kb.unit_of_work() as session:
            loaded = load_vocabulary(session, actor=actor, kind=args.kind, load=load)
    finally:
        kb.close()
    result = loaded.result
    emit(
        args,
        out,
        {
            "kind": result.kind.value,
            "version": result.version,
            "entries": result.entries,
            "sha256": result.sha256,
            "source": result.source,
            "kb_version": loaded.kb_version,
            "previous": loaded.previous,
        },
        loaded.text,
    )
    return 0


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from kb.validation.checks import validate_kb

    kb = open_from_args(args)
    try:
        with kb.read() as session:
            problems = validate_kb(session)
    finally:
        kb.close()
    errors = [p for p in problems if p.severity == "error"]
    emit(
        args,
        out,
        {
            "errors": len(errors),
            "warnings": len(problems) - len(errors),
            "problems": [p.as_json() for p in problems],
        },
        lambda: (
            "\n".join(f"{p.severity}: {p}" for p in problems)
            + f"\n{len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
        ),
    )
    return 1 if errors else 0


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    rtype = record_type_of(args.type)
    kb = open_from_args(args)
    try:
        with kb.read() as session:
            rows = list_records(session, rtype)
    finally:
        kb.close()
    if args.search:
        needle = args.search.lower()
        rows = [r for r in rows if needle in r.title.lower() or needle in r.human_id.lower()]
    emit(
        args,
        out,
        [row.as_json() for row in rows],
        lambda: (
            "\n".join(f"{row.human_id}  {row.title}" for row in rows)
            + f"\n{len(rows)} {rtype.value}(s)"
        ),
    )
    return 0


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from kb.model.enums import RecordType
    from kb.model.records import evidence_of

    kb = open_from_args(args)
    try:
        with kb.read() as session:
            row = get_record(session, args.id)
            evidence = (
                evidence_of(session, row.human_id) if row.type is RecordType.ASSERTION else []
            )
    finally:
        kb.close()

    def text() -> str:
        lines = [f"{row.human_id}  {row.type.value}  (KB version {row.kb_version})", row.title, ""]
        width = max(len(name) for name in row.fields)
        for name, value in row.fields.items():
            shown = (
                json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
            )
            lines.append(f"  {name:<{width}}  {'' if shown is None else shown}")
        if evidence:
            supporting = sum(item.fields["direction"] == "supports" for item in evidence)
            lines += [
                "",
                f"evidence: {supporting} supporting, {len(evidence) - supporting} not supporting",
            ]
            lines += [f"  {item.human_id}  {item.title}" for item in evidence]
        return "\n".join(lines)

    data = row.as_json()
    if row.type is RecordType.ASSERTION:
        data["evidence"] = [
            {"id": item.human_id, "title": item.title, "direction": item.fields["direction"]}
            for item in evidence
        ]
    emit(args, out, data, text)
    return 0


def _cmd_tumour_types(args: argparse.Namespace, out: TextIO) -> int:
    from kb.vocab.oncotree import TumourTree

    kb = open_from_args(args)
    try:
        with kb.read() as session:
            tree = TumourTree.from_session(session)
    finally:
        kb.close()
    code = args.code.upper()
    if code not in tree:
        hint = f" (revoked; now {tree.revoked[code]})" if code in tree.revoked else ""
        raise KbError(f"no OncoTree code {code} in this KB{hint}")
    data = {
        "code": code,
        "name": tree.name[code],
        "ancestors": tree.ancestors(code),
        "descendants": sorted(tree.descendants(code)),
    }
    emit(
        args,
        out,
        data,
        lambda: (
            f"{code}  {tree.name[code]}\nancestors: {' > '.join(data['ancestors'])}\n"
            f"descendants ({len(data['descendants'])}): {' '.join(data['descendants'])}"
        ),
    )
    return 0
