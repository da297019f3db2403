"""`kb import` and `kb template`: spreadsheets and documents into change sets."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from kb.cli import context as cli
from kb.errors import KbError

Handler = Callable[[argparse.Namespace, TextIO], int]


def register(commands: Any, fmt: Callable[[argparse.ArgumentParser], None]) -> dict[str, Handler]:
    imp = commands.add_parser("import", help="import a spreadsheet or document (dry run first)")
    imp.add_argument(
        "file", type=Path, help="the file to import (ctml: a file, or a directory of CTML files)"
    )
    imp.add_argument(
        "--profile",
        default="template",
        help="template, civic-evidence, civic-assertion, ctml, or a mapping PATH.toml",
    )
    imp.add_argument("--dry-run", action="store_true", help="preview only; change nothing")
    imp.add_argument("--errors", type=Path, help="write the located errors to OUT.xlsx or OUT.csv")
    imp.add_argument(
        "--report",
        type=Path,
        help="write the errors grouped by reason, with counts and example rows, to "
        "OUT.xlsx, OUT.csv or OUT.json",
    )
    imp.add_argument(
        "--doid-map",
        type=Path,
        help='CIViC profiles: a TOML file whose [doid] entries ("DOID:3908" = ["NSCLC"]) '
        "map diseases to OncoTree codes, overriding the shipped table",
    )
    imp.add_argument(
        "--take-source",
        metavar="FIELDS",
        default="",
        help="comma-separated fields (e.g. evidence_level,citations) whose source values "
        "replace a curated record's when a row matches it; by default curated values stand",
    )
    imp.add_argument(
        "--nct-id",
        metavar="NCT",
        help="ctml: the NCT id of the file's only trial, when the document names none",
    )
    imp.add_argument(
        "--key-by-protocol",
        action="store_true",
        help="ctml: a trial with no NCT id is keyed by its protocol_no (kb trials sync later "
        "finds its NCT id); without this such a document is refused",
    )
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid rows; the skipped ones are recorded on the change set",
    )
    fmt(imp)
    template = commands.add_parser("template", help="write our empty import template")
    template.add_argument("--out", required=True, type=Path)
    template.add_argument("--with-kb", action="store_true", help="filled with the KB's records")
    trials = commands.add_parser("trials", help="clinical trials against the registry")
    tsub = trials.add_subparsers(dest="trials_command", required=True, parser_class=type(imp))
    sync = tsub.add_parser(
        "sync", help="check trials against ClinicalTrials.gov; differences become a draft"
    )
    sync.add_argument("--nct", action="append", default=[], help="only these trials")
    sync.add_argument("--base-url", help="the registry's address (default ClinicalTrials.gov)")
    fmt(sync)
    return {"import": _cmd_import, "template": _cmd_template, "trials": _cmd_trials}


def _cmd_trials(args: argparse.Namespace, out: TextIO) -> int:
    from kb.importing.trials_sync import (
        DEFAULT_BASE_URL,
        fetch_registry,
        stage_registry_check,
        trials_to_check,
    )
    from kb.review.users import Permission, require

    kb = cli.open_from_args(args)
    bar = _Bar()
    try:
        actor = cli.signed_in(args, kb)
        require(actor, Permission.EDIT)
        with kb.read() as session:
            ids = trials_to_check(session, args.nct)
        if not ids:
            out.write("no trials in the KB to check\n")
            return 0
        # No transaction stays open while the registry answers.
        try:
            answer = fetch_registry(ids, base_url=args.base_url or DEFAULT_BASE_URL, progress=bar)
        finally:
            bar.close()
        with kb.unit_of_work() as session:
            result = stage_registry_check(session, actor=actor, answer=answer)
    finally:
        kb.close()
    cli.emit(args, out, result.as_json(), lambda: "\n".join(result.lines()))
    return 0


class _Bar:
    """A progress bar on stderr for long imports (only on a terminal, at most 10 redraws/s)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done != total):
            return
        self.last = now
        if total:
            width = 30
            filled = int(width * done / total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows")
        else:
            sys.stderr.write(f"\rreading … {done}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _cmd_import(args: argparse.Namespace, out: TextIO) -> int:
    from kb.importing.engine import export_errors
    from kb.importing.report import format_groups, group_errors, write_error_report
    from kb.importing.service import import_file

    if not args.file.is_file() and not (args.file.is_dir() and args.profile == "ctml"):
        raise KbError(
            f"{args.file}: a directory; only --profile ctml reads a directory of files"
            if args.file.is_dir()
            else f"{args.file}: no such file"
        )
    options: dict[str, object] = {}
    if args.nct_id is not None:
        options["nct_id"] = args.nct_id
    if args.key_by_protocol:
        options["by_protocol"] = True
    if options and args.profile != "ctml":
        raise KbError("--nct-id and --key-by-protocol are options of --profile ctml")
    kb = cli.open_from_args(args)
    bar = _Bar()
    staged: str | None = None
    try:
        actor = None if args.dry_run else cli.signed_in(args, kb)
        # A dry run reads in a transaction that is never committed.
        with kb.read() if args.dry_run else kb.unit_of_work() as session:
            try:
                outcome = import_file(
                    session,
                    args.file,
                    profile=args.profile,
                    actor=actor,
                    dry_run=args.dry_run,
                    skip_invalid=args.skip_invalid,
                    progress=bar,
                    take=args.take_source.split(","),
                    doid_map=args.doid_map,
                    adapter_options=options,
                )
            finally:
                bar.close()
            if outcome.change_set_id:
                from kb.review.changes import get_change_set

                staged = get_change_set(session, outcome.change_set_id).human_id
    finally:
        kb.close()
    result = outcome.preview
    groups = group_errors(result.errors)
    if args.report:
        written = write_error_report(groups, args.report)
        print(f"kb: wrote {written} error group(s) to {args.report}", file=sys.stderr)
    if args.errors:
        written = export_errors(result, args.errors, source=args.file)
        print(f"kb: wrote {written} error(s) to {args.errors}", file=sys.stderr)
    data = {
        **result.as_json(),
        "change_set": staged,
        "sha256": outcome.sha256,
        "dry_run": args.dry_run,
    }

    def text() -> str:
        lines = [result.summary()]
        if result.errors:
            # Grouped by reason: thousands of errors have a handful of reasons.
            lines.append(f"{len(result.errors):,} error(s), {len(groups):,} reason(s):")
            lines += [f"  {line}" for line in format_groups(groups[:30])]
            if len(groups) > 30:
                lines.append(f"  … and {len(groups) - 30} more reason(s) (use --report OUT.xlsx)")
        if result.notes:
            # Rows that import, with something they do not do (an evidence item that supports
            # no assertion): grouped by reason, the reasons as the adapter gave them.
            reasons = Counter(note.message for note in result.notes)
            lines.append(f"{len(result.notes)} row(s) import with a note:")
            lines += [f"  {count} × {message}" for message, count in reasons.most_common(20)]
        if args.dry_run:
            lines.append("dry run: nothing was changed")
        elif staged:
            lines.append(f"staged as draft change set {staged}; submit it for review")
        else:
            lines.append("no changes: the KB already holds everything in this file")
        return "\n".join(lines)

    cli.emit(args, out, data, text)
    return 1 if result.fatal else 0


def _cmd_template(args: argparse.Namespace, out: TextIO) -> int:
    from kb.importing.template import export_template, write_template

    if args.with_kb:
        kb = cli.open_from_args(args)
        try:
            with kb.read() as session:
                export_template(session, args.out)
        finally:
            kb.close()
    else:
        write_template(args.out)
    out.write(f"wrote {args.out}\n")
    return 0
