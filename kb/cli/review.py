"""`kb` commands for users, editing through change sets, review, versions, history and audit."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kb.cli import context as cli
from kb.errors import KbError
from kb.model.enums import ApprovalMeaning, ChangeSetStatus, Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kb.review.changes import DraftEditor
    from kb.review.users import Actor

Handler = Callable[[argparse.Namespace, TextIO], int]


def register(commands: Any, fmt: Callable[[argparse.ArgumentParser], None]) -> dict[str, Handler]:
    """Add this module's subcommands to the `kb` parser; returns their handlers."""
    user = commands.add_parser("user", help="manage users (admins)")
    users = user.add_subparsers(dest="user_command", required=True, parser_class=type(user))
    add = users.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--display-name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the new user's password from stdin"
    )
    add.add_argument(
        "--no-password", action="store_true", help="PostgreSQL: sign in by database login only"
    )
    fmt(add)
    passwd = users.add_parser("passwd", help="change a password (yours, or any as admin)")
    passwd.add_argument("name", nargs="?")
    passwd.add_argument("--password-stdin", action="store_true")
    disable = users.add_parser("disable", help="disable a user")
    disable.add_argument("name")
    role = users.add_parser("role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=[r.value for r in Role])
    fmt(users.add_parser("list", help="list users"))

    new = commands.add_parser("new", help="stage a new record in your draft change set")
    new.add_argument("type")
    new.add_argument("assignments", nargs="*", metavar="FIELD=VALUE")
    new.add_argument("--change-set", help="stage into this draft (default: your open draft)")
    fmt(new)
    edit = commands.add_parser(
        "edit",
        help="stage new field values for a record, or for many in one step (all or none)",
    )
    edit.add_argument(
        "id",
        metavar="ID[,ID...]",
        help="a record id, several separated by commas, or - to read ids from standard input "
        "(one a line, or separated by commas or spaces)",
    )
    edit.add_argument("assignments", nargs="+", metavar="FIELD=VALUE")
    edit.add_argument("--change-set")
    fmt(edit)
    clone = commands.add_parser(
        "clone", help="stage a copy of a record under a new id (prints the new id)"
    )
    clone.add_argument("id")
    clone.add_argument("--change-set")
    fmt(clone)
    delete = commands.add_parser("delete", help="stage the removal of a record")
    delete.add_argument("id")
    delete.add_argument("--change-set")
    fmt(delete)

    changes = commands.add_parser("changes", help="change sets: list, show, submit, review …")
    sub = changes.add_subparsers(dest="changes_command", required=True, parser_class=type(user))
    listing = sub.add_parser("list")
    listing.add_argument("--status", choices=[s.value for s in ChangeSetStatus])
    listing.add_argument("--mine", action="store_true")
    fmt(listing)
    show = sub.add_parser("show")
    show.add_argument("id")
    fmt(show)
    create = sub.add_parser("create")
    create.add_argument("--title", default="")
    fmt(create)
    for name in ("submit", "withdraw", "rebase", "validate"):
        command = sub.add_parser(name)
        command.add_argument("id")
        fmt(command)
    approve = sub.add_parser(
        "approve", help="merge a submitted change set (or, with --reject-change, a part of it)"
    )
    approve.add_argument("id")
    approve.add_argument("--reason", default="", help="kept with the decision")
    approve.add_argument(
        "--reject-change",
        action="append",
        default=[],
        metavar="RECORD[=REASON]",
        help="turn down this record's change: it goes back to the author in a new draft with "
        "the reason (default: --reason); repeatable",
    )
    fmt(approve)
    reject = sub.add_parser("reject")
    reject.add_argument("id")
    reject.add_argument("--reason", required=True)
    fmt(reject)
    drop = sub.add_parser("drop", help="take one record's change out of your draft")
    drop.add_argument("id")
    drop.add_argument("record", help="the record whose staged change to drop, e.g. AS-00012")
    fmt(drop)
    discard = sub.add_parser("discard", help="give up your draft for good (kept on record)")
    discard.add_argument("id")
    discard.add_argument("--reason", default="")
    fmt(discard)
    comment = sub.add_parser("comment", help="add to a change set's review thread")
    comment.add_argument("id")
    comment.add_argument("text")
    comment.add_argument("--record", help="on this record's change rather than the whole set")
    fmt(comment)

    versions = commands.add_parser("versions", help="KB versions and their approvals")
    vsub = versions.add_subparsers(dest="versions_command", required=True, parser_class=type(user))
    fmt(vsub.add_parser("list"))
    vapprove = vsub.add_parser("approve", help="sign off a version")
    vapprove.add_argument("number", type=int)
    vapprove.add_argument("--meaning", required=True, choices=[m.value for m in ApprovalMeaning])
    vapprove.add_argument("--reason", required=True)
    vapprove.add_argument("--printed-name")
    fmt(vapprove)

    diff = commands.add_parser("diff", help="what changed between two KB versions")
    diff.add_argument("old", type=int)
    diff.add_argument("new", type=int)
    fmt(diff)
    history = commands.add_parser("history", help="every version of one record")
    history.add_argument("id")
    fmt(history)
    audit = commands.add_parser("audit", help="the audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True, parser_class=type(user))
    averify = asub.add_parser(
        "verify",
        help="check the hash chain, every approval's signature and, with --against, that the "
        "chain still holds the heads of checkpoints and releases",
    )
    averify.add_argument(
        "--root",
        type=Path,
        help="trust root: check each approver's key certificate and each anchor's signature",
    )
    averify.add_argument(
        "--against",
        action="append",
        type=Path,
        default=[],
        metavar="FILE_OR_RELEASE",
        help="a checkpoint file or release folder kept outside the KB (repeatable; needs --root)",
    )
    averify.add_argument(
        "--deep",
        action="store_true",
        help="also compare every typed record with the current version's revisions (drift)",
    )
    fmt(averify)
    checkpoint = asub.add_parser(
        "checkpoint", help="write the chain head, signed with trust-root keys, to a file"
    )
    checkpoint.add_argument("--root", required=True, type=Path)
    checkpoint.add_argument("--key", action="append", required=True, type=Path)
    checkpoint.add_argument("--out", required=True, type=Path)
    fmt(checkpoint)
    repair = asub.add_parser(
        "repair",
        help="admin: rewrite the typed tables from the current version (audited)",
    )
    repair.add_argument("--reason", required=True, help="why (recorded in the audit trail)")
    fmt(repair)
    alist = asub.add_parser("list", help="newest events first")
    alist.add_argument("--limit", type=int, default=50)
    alist.add_argument("--subject")
    fmt(alist)
    return {
        "user": _cmd_user,
        "new": _cmd_stage,
        "edit": _cmd_edit,
        "clone": _cmd_clone,
        "delete": _cmd_stage,
        "changes": _cmd_changes,
        "versions": _cmd_versions,
        "diff": _cmd_diff,
        "history": _cmd_history,
        "audit": _cmd_audit,
    }


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """FIELD=VALUE pairs. A value starting with [ or { is JSON (lists, expression trees);
    list fields also take comma-separated text; an empty value clears the field."""
    fields: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise KbError(f"expected FIELD=VALUE, got {item!r}")
        text = value.strip()
        if text[:1] in "[{":
            try:
                fields[name.strip()] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise KbError(f"{name}: the value looks like JSON but is not: {exc.msg}") from None
        else:
            fields[name.strip()] = text if text else None
    return fields


def _read_stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise KbError("no password on standard input")
    return password


def _cmd_user(args: argparse.Namespace, out: TextIO) -> int:
    from kb.review import users

    kb = cli.open_from_args(args)
    try:
        if args.user_command == "list":
            with kb.read() as session:
                rows = users.list_users(session)
            cli.emit(
                args,
                out,
                [
                    {
                        "name": r.name,
                        "display_name": r.display_name,
                        "role": r.role.value,
                        "active": r.active,
                    }
                    for r in rows
                ],
                lambda: "\n".join(
                    f"{r.name:<20} {r.role.value:<16} {'active' if r.active else 'disabled'}"
                    for r in rows
                ),
            )
            return 0
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            if args.user_command == "add":
                users.require(actor, users.Permission.ADMIN)  # before asking for anything
                if args.no_password:
                    password = None
                elif args.password_stdin:
                    password = _read_stdin_password()
                else:
                    password = cli.password_from_env_or_prompt(
                        f"password for new user {args.name}", confirm=True, from_env=False
                    )
                users.add_user(
                    session,
                    actor=actor,
                    name=args.name,
                    role=Role(args.role),
                    password=password,
                    display_name=args.display_name,
                )
                message = f"added {args.name} as {args.role}"
            elif args.user_command == "passwd":
                name = args.name or actor.name
                if args.password_stdin:
                    password = _read_stdin_password()
                else:
                    import getpass

                    password = getpass.getpass(f"new password for {name}: ")
                users.set_password(session, actor=actor, name=name, password=password)
                message = f"password changed for {name}"
            elif args.user_command == "disable":
                users.disable_user(session, actor=actor, name=args.name)
                message = f"disabled {args.name}"
            else:
                users.set_role(session, actor=actor, name=args.name, role=Role(args.role))
                message = f"{args.name} is now {args.role}"
    finally:
        kb.close()
    out.write(message + "\n")
    return 0


def _draft_editor(session: Session, actor: Actor, change_set: str | None) -> DraftEditor:
    """The draft a staging command writes into: --change-set, else the actor's newest draft,
    else a new one."""
    from kb.review.changes import current_draft, open_draft

    if change_set is None:
        draft = current_draft(session, actor)
        change_set = draft.id if draft else None
    return open_draft(
        session, actor=actor, title="Edits from the command line", change_set_id=change_set
    )


def _cmd_stage(args: argparse.Namespace, out: TextIO) -> int:
    from kb.model.records import record_type_of

    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            editor = _draft_editor(session, actor, args.change_set)
            if args.command == "new":
                record = editor.create(
                    record_type_of(args.type), parse_assignments(args.assignments)
                )
                verb = "staged new"
            else:
                record = args.id.upper()
                editor.delete(record)
                verb = "staged deletion of"
            editor.flush()
            cs = editor.human_id
    finally:
        kb.close()
    cli.emit(args, out, {"change_set": cs, "record": record}, lambda: f"{verb} {record} in {cs}")
    return 0


def record_ids(text: str, stdin: TextIO) -> list[str]:
    """The ids `kb edit` names: comma-separated, or with "-" read from `stdin` (one a line, or
    separated by commas or spaces); upper-cased, each once, in order."""
    piped = text.strip() == "-"
    if piped:
        text = stdin.read()
    ids = [part.strip().upper() for part in text.replace(",", " ").split()]
    if not ids:
        raise KbError("no record ids given" + (" on standard input" if piped else ""))
    return list(dict.fromkeys(ids))


def _cmd_edit(args: argparse.Namespace, out: TextIO) -> int:
    from kb.model.records import type_of_human_id
    from kb.review.bulk import stage_values

    ids = record_ids(args.id, sys.stdin)
    for human_id in ids:
        type_of_human_id(human_id)  # a word that is no record id at all: said before signing in
    fields = parse_assignments(args.assignments)
    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            editor = _draft_editor(session, actor, args.change_set)
            try:
                unchanged = stage_values(editor, dict.fromkeys(ids, fields)).unchanged
            except KbError as exc:
                if len(ids) == 1:
                    raise
                # One bad record stops all of them: say so, since the error names only one.
                raise KbError(f"{exc}; none of the {len(ids)} records was changed") from exc
            cs = editor.human_id
    finally:
        kb.close()
    changed = [human_id for human_id in ids if human_id not in unchanged]

    def listed(names: list[str]) -> str:
        return ", ".join(names[:5]) + (f" … (+{len(names) - 5})" if len(names) > 5 else "")

    data: dict[str, Any] = {"change_set": cs, "records": ids, "unchanged": list(unchanged)}
    if len(ids) == 1:
        data["record"] = ids[0]
    if not changed:
        which = ids[0] if len(ids) == 1 else f"all {len(ids)} records"
        text = f"nothing to stage: {which} already had these values"
    elif len(changed) == 1 and len(ids) == 1:
        text = f"staged changes to {ids[0]} in {cs}"
    else:
        noun = "record" if len(changed) == 1 else "records"
        text = f"staged changes to {len(changed)} {noun} in {cs}: {listed(changed)}"
        if unchanged:
            text += f"; {len(unchanged)} already had these values: {listed(list(unchanged))}"
    cli.emit(args, out, data, lambda: text)
    return 0


def _cmd_clone(args: argparse.Namespace, out: TextIO) -> int:
    from kb.model.records import marked_keys, type_of_human_id
    from kb.review.bulk import effective_fields, stage_clone

    source = args.id.strip().upper()
    rtype = type_of_human_id(source)
    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            editor = _draft_editor(session, actor, args.change_set)
            record = stage_clone(editor, source)
            marked = marked_keys(rtype, effective_fields(editor, [record])[record])
            cs = editor.human_id
    finally:
        kb.close()

    def text() -> str:
        lines = [f"staged new {record}, a copy of {source}, in {cs}"]
        if marked:
            names = " and ".join(marked)
            sets = " ".join(f"{name}=…" for name in marked)
            lines.append(
                f"no two {rtype.value.replace('_', ' ')}s may share a {names}: the copy's "
                f"{'are' if len(marked) > 1 else 'is'} marked '(copy)' until you give it its "
                f"own: kb edit {record} {sets}"
            )
        return "\n".join(lines)

    cli.emit(
        args,
        out,
        {"change_set": cs, "record": record, "source": source, "to_replace": marked},
        text,
    )
    return 0


def _change_set_text(row: Any, thread: Sequence[Any] = ()) -> str:
    lines = [
        f"{row.human_id}  {row.status.value}  {row.title}",
        f"author {row.author}, based on version {row.base_version}"
        + (f", merged as version {row.merged_version}" if row.merged_version else "")
        + (f", decided by {row.decided_by}" if row.decided_by else ""),
    ]
    if row.reason:
        lines.append(f"reason: {row.reason}")
    if row.source_sha256:
        lines.append(f"source {row.source_name} sha256 {row.source_sha256}")
    for change in row.changes:
        lines.append(f"  {change.op.value:<6} {change.human_id} ({change.record_type.value})")
        if change.op.value == "update":
            for name, value in change.fields.items():
                lines.append(f"      {name}: {change.before.get(name)!r} -> {value!r}")
        elif change.op.value == "create":
            for name, value in change.fields.items():
                if value not in (None, [], ""):
                    lines.append(f"      {name}: {value!r}")
    if row.skipped:
        lines.append(f"  {len(row.skipped)} import row(s) skipped as invalid")
    if thread:
        lines.append("comments:")
        lines.extend(_comment_text(note, indent="  ") for note in thread)
    return "\n".join(lines)


def _comment_text(note: Any, *, indent: str) -> str:
    on = f" on {note.record}" if note.record else ""
    kind = "" if note.kind.value == "comment" else f" [{note.kind.value}]"
    body = note.body.replace("\n", "\n" + indent + "    ")  # a multi-line remark stays indented
    return f"{indent}{note.at} {note.author}{on}{kind}: {body}"


def _cmd_changes(args: argparse.Namespace, out: TextIO) -> int:
    from kb.review import changes

    kb = cli.open_from_args(args)
    command = args.changes_command
    try:
        if command in ("list", "show", "validate"):
            with kb.read() as session:
                if command == "list":
                    status = ChangeSetStatus(args.status) if args.status else None
                    author = cli.signed_in(args, kb).name if args.mine else None
                    rows = changes.list_change_sets(session, status=status, author=author)
                    cli.emit(
                        args,
                        out,
                        [r.as_json() for r in rows],
                        lambda: (
                            "\n".join(
                                f"{r.human_id}  {r.status.value:<9} {r.author:<12} "
                                f"{len(r.changes):>5} change(s)  {r.title}"
                                for r in rows
                            )
                            or "no change sets"
                        ),
                    )
                elif command == "show":
                    from kb.review.comments import list_comments

                    row = changes.get_change_set(session, args.id)
                    thread = list_comments(session, row.id)
                    cli.emit(
                        args,
                        out,
                        {**row.as_json(), "comments": [c.as_json() for c in thread]},
                        lambda: _change_set_text(row, thread),
                    )
                else:
                    problems = changes.validate_change_set(session, args.id)
                    cli.emit(
                        args,
                        out,
                        [p.as_json() for p in problems],
                        lambda: "\n".join(str(p) for p in problems) or "no problems",
                    )
                    return 1 if problems else 0
            return 0
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            if command == "create":
                editor = changes.open_draft(session, actor=actor, title=args.title)
                result: dict[str, Any] = {"change_set": editor.human_id}
                text = f"created draft {editor.human_id}"
            elif command == "submit":
                row = changes.submit_change_set(session, actor=actor, change_set_id=args.id)
                result, text = row.as_json(), f"submitted {row.human_id} for review"
            elif command == "withdraw":
                row = changes.withdraw_change_set(session, actor=actor, change_set_id=args.id)
                result, text = row.as_json(), f"{row.human_id} is a draft again"
            elif command == "reject":
                row = changes.reject_change_set(
                    session, actor=actor, change_set_id=args.id, reason=args.reason
                )
                result, text = row.as_json(), f"rejected {row.human_id}: {row.reason}"
            elif command == "approve":
                returned = {}
                for item in args.reject_change:
                    record, _sep, why = item.partition("=")
                    returned[record.strip()] = why.strip() or args.reason
                merged = changes.approve_change_set(
                    session,
                    actor=actor,
                    change_set_id=args.id,
                    reason=args.reason,
                    returned=returned,
                )
                result = {
                    "change_set": merged.change_set,
                    "version": merged.version,
                    "created": merged.created,
                    "updated": merged.updated,
                    "deleted": merged.deleted,
                    "returned_to": merged.returned,
                }
                text = (
                    f"approved {merged.change_set}: KB version {merged.version} "
                    f"({merged.created} created, {merged.updated} updated, "
                    f"{merged.deleted} deleted)"
                )
                if merged.returned:
                    text += (
                        f"\n{len(returned)} change(s) turned down went back to the author as "
                        f"draft {merged.returned}"
                    )
            elif command == "drop":
                row = changes.drop_change(
                    session, actor=actor, change_set_id=args.id, record=args.record
                )
                result = row.as_json()
                text = (
                    f"dropped the change of {args.record.upper()} from {row.human_id} "
                    f"({len(row.changes)} change(s) left)"
                )
            elif command == "discard":
                row = changes.discard_change_set(
                    session, actor=actor, change_set_id=args.id, reason=args.reason
                )
                result, text = row.as_json(), f"discarded {row.human_id} (kept on record)"
            elif command == "comment":
                from kb.review.comments import add_comment

                note = add_comment(
                    session, actor=actor, change_set_id=args.id, body=args.text, record=args.record
                )
                result = note.as_json()
                text = f"commented on {note.change_set}" + (
                    f" ({note.record})" if note.record else ""
                )
            else:
                rebased = changes.rebase_change_set(session, actor=actor, change_set_id=args.id)
                result = {
                    "change_set": rebased.change_set,
                    "from": rebased.old_base,
                    "to": rebased.new_base,
                    "conflicts": [c.as_json() for c in rebased.conflicts],
                    "linked": rebased.linked,
                }
                text = (
                    f"rebased {rebased.change_set} from version {rebased.old_base} to "
                    f"{rebased.new_base}"
                    + "".join(
                        f"\nconflict (dropped from the draft): {c}" for c in rebased.conflicts
                    )
                    + "".join(
                        f"\n{ours} is already in the KB as {theirs}: linked to it"
                        for ours, theirs in rebased.linked.items()
                    )
                )
    finally:
        kb.close()
    cli.emit(args, out, result, lambda: text)
    return 0


def _cmd_versions(args: argparse.Namespace, out: TextIO) -> int:
    from kb.review import versions

    kb = cli.open_from_args(args)
    try:
        if args.versions_command == "list":
            with kb.read() as session:
                rows = versions.list_versions(session)

            def text() -> str:
                lines = []
                for row in rows:
                    lines.append(
                        f"v{row.number}  {row.created_at}  {row.created_by:<12} "
                        f"{row.change_set or '':<9} {row.note}"
                    )
                    for a in row.approvals:
                        state = "VOID" if a.void else "valid" if a.signed else a.signature
                        lines.append(
                            f"      {a.meaning} by {a.printed_name} ({a.role}) {a.at} [{state}]"
                            f" — {a.reason}"
                        )
                return "\n".join(lines) or "no versions"

            cli.emit(args, out, [r.as_json() for r in rows], text)
            return 0
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            approval = versions.approve_version(
                session,
                actor=actor,
                version=args.number,
                meaning=ApprovalMeaning(args.meaning),
                reason=args.reason,
                password=cli.signing_password(actor),
                printed_name=args.printed_name,
            )
    finally:
        kb.close()
    cli.emit(
        args,
        out,
        approval.as_json(),
        lambda: (
            f"v{approval.version} {approval.meaning} by {approval.printed_name} "
            f"(sha256 {approval.digest})"
        ),
    )
    return 0


def _cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from kb.review.versions import diff_versions

    kb = cli.open_from_args(args)
    try:
        with kb.read() as session:
            diff = diff_versions(session, args.old, args.new)
    finally:
        kb.close()
    cli.emit(args, out, diff.as_json(), lambda: diff.text() or "no differences")
    return 0


def _cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    from kb.review.comments import record_threads
    from kb.review.versions import record_history

    kb = cli.open_from_args(args)
    try:
        with kb.read() as session:
            entries = record_history(session, args.id)
            threads = record_threads(session, args.id)
    finally:
        kb.close()
    by_set = {t.change_set: t for t in threads}
    versioned = {e.change_set for e in entries}
    # Comments on change sets not (yet) in a version: drafts, submitted, rejected.
    pending = [t for t in threads if t.change_set not in versioned]

    def comment_lines(change_set: str | None) -> list[str]:
        thread = by_set.get(change_set or "")
        return [_comment_text(note, indent="    ") for note in thread.comments] if thread else []

    def text() -> str:
        lines = []
        for e in entries:
            lines.append(f"v{e.version}  {e.at}  {e.by}  {e.change_set or ''}  {e.op}")
            for name, change in e.changes.items():
                lines.append(f"    {name}: {change['old']!r} -> {change['new']!r}")
            lines.extend(comment_lines(e.change_set))
        for thread in pending:
            lines.append(f"--  {thread.change_set} ({thread.status.value}, in no version)")
            lines.extend(comment_lines(thread.change_set))
        return "\n".join(lines)

    data = [
        {**e.as_json(), "comments": [c.as_json() for c in by_set[e.change_set].comments]}
        if e.change_set in by_set
        else {**e.as_json(), "comments": []}
        for e in entries
    ] + [
        {
            "version": None,
            "change_set": t.change_set,
            "status": t.status.value,
            "op": None,
            "changes": {},
            "comments": [c.as_json() for c in t.comments],
        }
        for t in pending
    ]
    cli.emit(args, out, data, text)
    return 0


def _audit_repair(args: argparse.Namespace, out: TextIO) -> int:
    from kb.review.integrity import repair_drift

    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            result = repair_drift(session, actor=actor, reason=args.reason)
    finally:
        kb.close()
    cli.emit(
        args,
        out,
        {
            "restored": list(result.restored),
            "removed": list(result.removed),
            "recreated": list(result.recreated),
        },
        result.text,
    )
    return 0


def _cmd_audit(args: argparse.Namespace, out: TextIO) -> int:
    from kb.review.audit import list_events

    if args.audit_command == "verify":
        return _audit_verify(args, out)
    if args.audit_command == "checkpoint":
        return _audit_checkpoint(args, out)
    if args.audit_command == "repair":
        return _audit_repair(args, out)
    kb = cli.open_from_args(args)
    try:
        with kb.read() as session:
            events = list_events(session, limit=args.limit, subject=args.subject)
    finally:
        kb.close()
    cli.emit(
        args,
        out,
        [e.as_json() for e in events],
        lambda: "\n".join(
            f"{e.seq:>6} {e.at} {e.actor:<12} {e.action:<20} {e.subject or ''}" for e in events
        ),
    )
    return 0


def _audit_verify(args: argparse.Namespace, out: TextIO) -> int:
    from kb.release.anchors import verify_against
    from kb.release.signers import check_pinned_approvals
    from kb.release.signing import read_json_file
    from kb.review.esign import ApprovalSignature, check_approvals
    from kb.review.integrity import check_integrity

    if args.against and args.root is None:
        raise cli.UsageError("kb audit verify: --against needs --root (to verify the anchors)")
    root = read_json_file(args.root, "trust root") if args.root else None
    kb = cli.open_from_args(args)
    try:
        with kb.read() as session:
            integrity = check_integrity(session, deep=args.deep)
            report = integrity.chain
            if root is not None:
                pinned = check_pinned_approvals(session, root)
                approvals = [
                    (c.approval, c.ok or c.approval.status is ApprovalSignature.UNSIGNED, c.text())
                    for c in pinned
                ]
            else:
                approvals = [(c, not c.forged, c.text()) for c in check_approvals(session)]
            anchors = verify_against(session, args.against, root_envelope=root) if root else []
    finally:
        kb.close()
    ok = integrity.ok and all(good for _, good, _ in approvals) and all(a.ok for a in anchors)
    unsigned = [c for c, _, _ in approvals if c.status is ApprovalSignature.UNSIGNED]
    bad = [text for _, good, text in approvals if not good]
    signed = sum(c.ok for c, good, _ in approvals if good)

    def text() -> str:
        lines = [integrity.text()]
        lines += [f"FAILED: {line}" for line in bad]
        lines += [f"note: {c.text()}; it does not count towards a release" for c in unsigned]
        lines.append(
            f"{signed} approval signature(s) verified"
            + (
                " against keys the trust root pins"
                if root is not None
                else " against the keys the KB registers (give --root to check they are pinned)"
            )
        )
        lines += [("" if a.ok else "FAILED: ") + a.text() for a in anchors]
        lines.append("audit verified" if ok else "audit NOT verified")
        return "\n".join(lines)

    cli.emit(
        args,
        out,
        {
            "ok": ok,
            "events": report.events,
            "first_bad_event": report.first_bad_seq,
            "problem": report.problem,
            "approvals": [
                {
                    "approval": c.approval_id,
                    "version": c.version,
                    "user": c.user,
                    "meaning": c.meaning,
                    "signature": c.status.value,
                    "ok": good,
                    "text": line,
                }
                for c, good, line in approvals
            ],
            "anchors": [a.as_json() for a in anchors],
            **({"drift": integrity.drift.as_json()} if integrity.drift is not None else {}),
        },
        text,
    )
    return 0 if ok else 1


def _audit_checkpoint(args: argparse.Namespace, out: TextIO) -> int:
    from kb.release.anchors import write_checkpoint
    from kb.release.signing import read_json_file

    root = read_json_file(args.root, "trust root")
    keys = cli.private_keys(args.key)
    kb = cli.open_from_args(args)
    try:
        with kb.read() as session:
            head = write_checkpoint(session, root_envelope=root, signing_keys=keys, out=args.out)
    finally:
        kb.close()
    cli.emit(
        args,
        out,
        {"checkpoint": str(args.out), **head.as_json()},
        lambda: (
            f"checkpoint {args.out}: audit chain head at event {head.seq} ({head.hash}); keep "
            "a copy away from the KB and check it with `kb audit verify --against`"
        ),
    )
    return 0
