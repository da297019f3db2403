"""`kb outcomes`: real-world outcomes in, the report out, evidence alerts and their decisions.

kb outcomes import FILE [--profile outcomes|PATH.toml] [--dry-run] [--errors OUT]
kb outcomes drain SPOOL_DIR       (also: kb outcomes import SPOOL_DIR)
kb outcomes report [--xlsx F] [--html F] [--format json]
kb outcomes alerts [--no-refresh] [--format json]
kb outcomes resolve ALERT --status resolved|dismissed|open --reason R
kb outcomes set-k K
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from kb.cli import context as cli
from kb.errors import KbError


def register(commands: Any, fmt: cli.AddFormat) -> dict[str, cli.Handler]:
    """Add `kb outcomes` and its subcommands; returns the handler."""
    outcomes = commands.add_parser("outcomes", help="real-world outcomes and evidence alerts")
    sub = outcomes.add_subparsers(
        dest="outcomes_command", required=True, parser_class=type(outcomes)
    )
    imp = sub.add_parser("import", help="import de-identified treatment episodes (CSV, xlsx)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--profile", default="outcomes", help="outcomes (built in) or PATH.toml")
    imp.add_argument("--dry-run", action="store_true", help="check only; store nothing")
    imp.add_argument("--errors", type=Path, help="write the located errors to OUT.csv")
    imp.add_argument(
        "--site", help="the reporting site, for a FHIR R4 Bundle (FILE.json): required there"
    )
    fmt(imp)
    drain = sub.add_parser(
        "drain", help="import what kb serve spooled from POST /outcomes (all or nothing per file)"
    )
    drain.add_argument("spool", type=Path, help="the service's outcomes_spool folder")
    fmt(drain)
    report = sub.add_parser("report", help="outcomes per assertion (small cells suppressed)")
    report.add_argument("--xlsx", type=Path, help="also write the report as a workbook")
    report.add_argument("--html", type=Path, help="also write a self-contained HTML page")
    fmt(report)
    alerts = sub.add_parser("alerts", help="evidence alerts (refreshed from the analysis)")
    alerts.add_argument(
        "--no-refresh", action="store_true", help="list the stored alerts without re-analysing"
    )
    fmt(alerts)
    resolve = sub.add_parser("resolve", help="record a decision on an alert, with a reason")
    resolve.add_argument("alert", help="the alert's id (or a unique prefix)")
    resolve.add_argument("--status", choices=("resolved", "dismissed", "open"), required=True)
    resolve.add_argument("--reason", required=True)
    fmt(resolve)
    setk = sub.add_parser("set-k", help="set the small-cell threshold k (admins)")
    setk.add_argument("k", type=int)
    return {"outcomes": _outcomes}


def _outcomes(args: argparse.Namespace, out: TextIO) -> int:
    handler = {
        "import": _import,
        "drain": _drain,
        "report": _report,
        "alerts": _alerts,
        "resolve": _resolve,
        "set-k": _set_k,
    }[args.outcomes_command]
    return handler(args, out)


def _import(args: argparse.Namespace, out: TextIO) -> int:
    from kb.outcomes.intake import import_outcomes

    if args.file.is_dir() and not args.dry_run:
        args.spool = args.file
        return _drain(args, out)
    if not args.file.is_file():
        raise KbError(f"{args.file}: no such file")
    kb = cli.open_from_args(args)
    try:
        actor = None if args.dry_run else cli.signed_in(args, kb)
        with kb.read() if args.dry_run else kb.unit_of_work() as session:
            if args.file.suffix.lower() == ".json":
                from kb.outcomes.fhir import import_fhir_bundle

                if not args.site:
                    raise cli.UsageError("a FHIR Bundle needs --site (the reporting site)")
                result = import_fhir_bundle(
                    session, args.file, site=args.site, actor=actor, dry_run=args.dry_run
                )
            else:
                result = import_outcomes(
                    session, args.file, actor=actor, profile=args.profile, dry_run=args.dry_run
                )
            if not result.ok and not args.dry_run:
                session.rollback()
    finally:
        kb.close()
    if args.errors and result.errors:
        _write_errors(result.errors, args.errors)
        print(f"kb: wrote {len(result.errors)} error(s) to {args.errors}", file=sys.stderr)

    def text() -> str:
        lines = [result.summary()]
        lines += [f"  {error}" for error in result.errors[:50]]
        if result.error_count > 50:
            lines.append(f"  … and {result.error_count - 50} more (use --errors OUT.csv)")
        if args.dry_run and result.ok:
            lines.append("dry run: nothing was stored")
        return "\n".join(lines)

    cli.emit(args, out, result.as_json(), text)
    return 0 if result.ok else 1


def _drain(args: argparse.Namespace, out: TextIO) -> int:
    """Import the spool files of `kb serve`'s POST /outcomes, each all or nothing."""
    from kb.outcomes.keys import find_key
    from kb.outcomes.spool import drain_spool
    from kb.storage.meta import get_meta

    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        with kb.read() as session:
            kb_id = get_meta(session, "kb_id") or "kb"
        done = drain_spool(kb, args.spool, actor=actor, key=find_key(kb_id, create=False))
    finally:
        kb.close()

    def text() -> str:
        lines = []
        for item in done:
            lines.append(f"{item.file}: {item.status.replace('_', ' ')}"
                         + (f", {item.episodes} episode(s)" if item.episodes else ""))  # fmt: skip
            lines += [f"  {error}" for error in item.errors[:20]]
        failed = sum(1 for item in done if item.status == "failed")
        lines.append(
            f"{len(done)} spool file(s): {len(done) - failed} taken in, {failed} failed"
            + (f" (moved to {args.spool / 'failed'}, with their errors)" if failed else "")
        )
        return "\n".join(lines)

    cli.emit(args, out, {"files": [item.as_json() for item in done]}, text)
    return 1 if any(item.status == "failed" for item in done) else 0


def _write_errors(errors: list[Any], path: Path) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "sheet", "row", "column", "field", "code", "message", "value"])
        for error in errors:
            data = error.as_json()
            writer.writerow(
                [data["file"], data["sheet"], data["row"], data["column"], data["field"],
                 data["code"], data["message"], _csv_safe(data["value"])]
            )  # fmt: skip


def _csv_safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from kb.outcomes.analysis import analyse
    from kb.outcomes.render import report_lines, write_html, write_xlsx

    kb = cli.open_from_args(args)
    try:
        with kb.read() as session:
            report = analyse(session)
    finally:
        kb.close()
    if args.xlsx:
        write_xlsx(report, args.xlsx)
        print(f"kb: wrote {args.xlsx}", file=sys.stderr)
    if args.html:
        write_html(report, args.html)
        print(f"kb: wrote {args.html}", file=sys.stderr)
    cli.emit(args, out, report.as_json(), lambda: "\n".join(report_lines(report)))
    return 0


def _alerts(args: argparse.Namespace, out: TextIO) -> int:
    from kb.outcomes.alerts import list_alerts, refresh_alerts

    kb = cli.open_from_args(args)
    try:
        note = ""
        if not args.no_refresh:
            actor = cli.signed_in(args, kb)
            with kb.unit_of_work() as session:
                done = refresh_alerts(session, actor=actor)
            note = f"analysis: {done.raised} raised, {done.updated} updated, {done.closed} closed"
        with kb.read() as session:
            rows = list_alerts(session)
    finally:
        kb.close()

    def text() -> str:
        lines = [note] if note else []
        lines += [row.line() for row in rows] or ["no alerts"]
        return "\n".join(lines)

    cli.emit(args, out, {"alerts": [row.as_json() for row in rows]}, text)
    return 0


def _resolve(args: argparse.Namespace, out: TextIO) -> int:
    from kb.model.enums import AlertStatus
    from kb.outcomes.alerts import resolve_alert

    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            row = resolve_alert(session, actor=actor, alert_id=args.alert,
                                status=AlertStatus(args.status), reason=args.reason)  # fmt: skip
    finally:
        kb.close()
    cli.emit(args, out, row.as_json(), row.line)
    return 0


def _set_k(args: argparse.Namespace, out: TextIO) -> int:
    from kb.outcomes.settings import set_k_threshold

    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        with kb.unit_of_work() as session:
            set_k_threshold(session, actor=actor, k=args.k)
    finally:
        kb.close()
    out.write(f"small-cell threshold k = {args.k}\n")
    return 0
