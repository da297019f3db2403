"""`kb` commands for keys, trust roots, releases (create, verify, publish, list) and matching."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from kb.cli import context as cli
from kb.errors import KbError

Handler = Callable[[argparse.Namespace, TextIO], int]


def register(commands: Any, fmt: Callable[[argparse.ArgumentParser], None]) -> dict[str, Handler]:
    parser_class = cli.Parser

    keys = commands.add_parser("keys", help="release signing keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True, parser_class=parser_class)
    generate = ksub.add_parser("generate", help="write an Ed25519 key pair (encrypted)")
    generate.add_argument("--out", required=True, type=Path)
    generate.add_argument("--name", default="release-key")
    fmt(generate)
    certify = ksub.add_parser(
        "certify",
        help="pin approvers' keys: certify them with trust-root keys (admins; check each key "
        "id with its owner first)",
    )
    certify.add_argument("names", nargs="*", metavar="USER", help="default: every active user")
    certify.add_argument("--root", required=True, type=Path)
    certify.add_argument("--key", action="append", required=True, type=Path, help="root key")
    fmt(certify)
    klist = ksub.add_parser("list", help="approvers' keys and whether the trust root pins them")
    klist.add_argument("--root", type=Path)
    fmt(klist)

    trust = commands.add_parser("trust", help="trust roots consumers pin")
    tsub = trust.add_subparsers(dest="trust_command", required=True, parser_class=parser_class)
    init = tsub.add_parser("init", help="a new trust root")
    init.add_argument("--key", action="append", required=True, type=Path, help="public key")
    init.add_argument("--threshold", type=int, required=True)
    init.add_argument("--sign-with", action="append", required=True, type=Path)
    init.add_argument("--out", required=True, type=Path)
    init.add_argument("--expires", help="YYYY-MM-DD")
    fmt(init)
    rotate = tsub.add_parser("rotate", help="root N+1, signed by old and new keys")
    rotate.add_argument("--root", required=True, type=Path, help="the current root")
    rotate.add_argument("--key", action="append", required=True, type=Path)
    rotate.add_argument("--threshold", type=int, required=True)
    rotate.add_argument("--sign-with", action="append", required=True, type=Path)
    rotate.add_argument("--out", required=True, type=Path)
    rotate.add_argument("--expires")
    fmt(rotate)

    release = commands.add_parser("release", help="signed releases")
    rsub = release.add_subparsers(dest="release_command", required=True, parser_class=parser_class)
    create = rsub.add_parser("create", help="sign and write a release of an approved version")
    create.add_argument("--kb-version", type=int)
    create.add_argument("--version", dest="release_version", required=True)
    create.add_argument("--root", required=True, type=Path)
    create.add_argument("--key", action="append", required=True, type=Path)
    create.add_argument("--out", required=True, type=Path)
    create.add_argument("--reason", default="Release signed")
    fmt(create)
    verify = rsub.add_parser("verify", help="verify a release folder offline")
    verify.add_argument("dir", type=Path)
    verify.add_argument("--root", required=True, type=Path)
    verify.add_argument("--state", type=Path, help="remember the last accepted release here")
    verify.add_argument(
        "--min-approvals",
        type=int,
        default=1,
        help="signed approvals the release must carry, each checked with the trust root "
        "(default 1; `kb release create` always includes one)",
    )
    fmt(verify)
    publish = rsub.add_parser("publish", help="upload a release over HTTP")
    publish.add_argument("dir", type=Path)
    publish.add_argument("--url", required=True)
    publish.add_argument("--retries", type=int, default=3)
    publish.add_argument("--timeout", type=float, default=60.0)
    fmt(publish)
    fmt(rsub.add_parser("list", help="the releases this KB has cut"))

    match = commands.add_parser("match", help="match a patient against a verified release")
    match.add_argument("--release", required=True, type=Path)
    match.add_argument("--root", required=True, type=Path)
    match.add_argument("--patient", type=Path, help="patient JSON")
    match.add_argument("--clinical", type=Path, help="clinical JSON the data files add to")
    match.add_argument("--maf", type=Path, help="a MAF (one sample, or the clinical 'sample')")
    match.add_argument("--vcf", type=Path, action="append", help="a VEP- or SnpEff-annotated VCF")
    match.add_argument(
        "--cna", type=Path, help="copy number: a gene-level discrete table or CNVkit .cns/.cnr"
    )
    match.add_argument(
        "--fusions", type=Path, action="append", help="STAR-Fusion or Arriba fusion calls"
    )
    match.add_argument(
        "--patients", type=Path, help="batch: a folder of patient JSON files (JSON lines out)"
    )
    match.add_argument(
        "--clinical-table",
        type=Path,
        help="batch: one clinical row per sample (TSV or JSON list) for a multi-sample --maf "
        "and --cna (JSON lines out)",
    )
    match.add_argument(
        "--fhir", type=Path, help="a FHIR R4 Bundle of Genomics Reporting Observations"
    )
    match.add_argument(
        "--state",
        type=Path,
        help="the last release accepted (as kb release verify keeps it): an older one is refused",
    )
    match.add_argument(
        "--min-approvals",
        type=int,
        default=1,
        help="signed approvals the release must carry, each checked with the trust root "
        "(default 1; `kb release create` always includes one)",
    )
    fmt(match)
    for action in match._actions:  # --format fhir: the answer as a FHIR Bundle (kb match only)
        if action.dest == "format" and action.choices is not None:
            action.choices = (*action.choices, "fhir")
    return {"keys": _cmd_keys, "trust": _cmd_trust, "release": _cmd_release, "match": _cmd_match}


def _cmd_keys(args: argparse.Namespace, out: TextIO) -> int:
    from kb.release.signing import generate_keypair, passphrase_from_env_or_prompt

    if args.keys_command == "certify":
        return _certify(args, out)
    if args.keys_command == "list":
        return _list_keys(args, out)

    passphrase = passphrase_from_env_or_prompt("New key passphrase: ", confirm=True)
    files = generate_keypair(args.out, name=args.name, passphrase=passphrase)
    cli.emit(
        args,
        out,
        {
            "key_id": files.key_id,
            "private": str(files.private_path),
            "public": str(files.public_path),
        },
        lambda: (
            f"key {files.key_id}\nprivate (encrypted): {files.private_path}\n"
            f"public: {files.public_path}"
        ),
    )
    return 0


def _certify(args: argparse.Namespace, out: TextIO) -> int:
    from kb.release.signers import certify_signers
    from kb.release.signing import read_json_file

    root = read_json_file(args.root, "trust root")
    kb = cli.open_from_args(args)
    try:
        actor = cli.signed_in(args, kb)
        keys = cli.private_keys(args.key)
        with kb.unit_of_work() as session:
            done = certify_signers(
                session, actor=actor, root_envelope=root, signing_keys=keys, names=args.names
            )
    finally:
        kb.close()
    cli.emit(
        args,
        out,
        [{"user": user, "key_id": kid} for user, kid in done],
        lambda: (
            "\n".join(f"certified {user}'s key {kid}" for user, kid in done) or "no keys to certify"
        ),
    )
    return 0


def _list_keys(args: argparse.Namespace, out: TextIO) -> int:
    from kb.release.signers import list_signer_keys
    from kb.release.signing import read_json_file

    root = read_json_file(args.root, "trust root") if args.root else None
    kb = cli.open_from_args(args)
    try:
        with kb.read() as session:
            rows = list_signer_keys(session, root)
    finally:
        kb.close()

    def state(row: Any) -> str:
        if row.pinned is not None:
            return "pinned" if row.pinned else "NOT pinned by this root"
        return "certified" if row.certified else "not certified"

    cli.emit(
        args,
        out,
        [
            {
                "user": r.user,
                "key_id": r.key_id,
                "created_at": r.created_at,
                "retired": r.retired,
                "certified": r.certified,
                "pinned": r.pinned,
            }
            for r in rows
        ],
        lambda: (
            "\n".join(
                f"{r.user:<16} {r.key_id}  {r.created_at}  "
                f"{'retired' if r.retired else 'current'}  {state(r)}"
                for r in rows
            )
            or "no approval keys"
        ),
    )
    return 0


def _cmd_trust(args: argparse.Namespace, out: TextIO) -> int:
    from kb.release.signing import read_json_file, save_json_file, trust_init, trust_rotate

    keys = cli.private_keys(args.sign_with)
    if args.trust_command == "init":
        root = trust_init(args.key, args.threshold, keys, expires=args.expires)
    else:
        old = read_json_file(args.root, "trust root")
        root = trust_rotate(old, args.key, args.threshold, keys, expires=args.expires)
    save_json_file(root, args.out)
    cli.emit(
        args,
        out,
        {"root": str(args.out), "threshold": args.threshold},
        lambda: f"wrote trust root {args.out} (threshold {args.threshold} of {len(args.key)})",
    )
    return 0


def _cmd_release(args: argparse.Namespace, out: TextIO) -> int:
    command = args.release_command
    if command == "verify":
        return _verify(args, out)
    if command == "publish":
        from kb.release.folder import publish_release

        result = publish_release(args.dir, args.url, retries=args.retries, timeout=args.timeout)
        cli.emit(
            args,
            out,
            {
                "url": result.url,
                "sha256": result.sha256,
                "size": result.size,
                "attempts": result.attempts,
            },
            lambda: (
                f"published {args.dir.name} to {result.url}: {result.size} bytes, sha256 "
                f"{result.sha256} (confirmed by the server, attempt {result.attempts})"
            ),
        )
        return 0
    from kb.release.cutting import create_release, list_releases
    from kb.release.signing import read_json_file

    kb = cli.open_from_args(args)
    try:
        if command == "list":
            with kb.read() as session:
                rows = list_releases(session)
            cli.emit(
                args,
                out,
                [r.as_json() for r in rows],
                lambda: (
                    "\n".join(
                        f"#{r.sequence} {r.version}  KB v{r.kb_version}  {r.created_at}  "
                        f"{r.created_by}  {r.location}"
                        for r in rows
                    )
                    or "no releases"
                ),
            )
            return 0
        actor = cli.signed_in(args, kb)
        root = read_json_file(args.root, "trust root")
        keys = cli.private_keys(args.key)
        with kb.unit_of_work() as session:
            created = create_release(
                session,
                actor=actor,
                version=args.release_version,
                root_envelope=root,
                signing_keys=keys,
                out_dir=args.out,
                password=cli.signing_password(actor),
                kb_version=args.kb_version,
                reason=args.reason,
            )
    finally:
        kb.close()
    summary = ", ".join(f"{n} {c}" for c, n in created.summary.items() if n) or "first release"
    cli.emit(
        args,
        out,
        {
            "path": str(created.path),
            "version": created.version,
            "sequence": created.sequence,
            "kb_version": created.kb_version,
            "release_digest": created.release_digest,
            "summary": created.summary,
        },
        lambda: (
            f"release {created.version} (#{created.sequence}) of KB version "
            f"{created.kb_version}\n{created.path}\nrelease digest {created.release_digest}\n"
            f"changes: {summary}"
        ),
    )
    return 0


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    from kb.release.folder import verify_release
    from kb.release.signing import VerificationError, read_json_file

    root = read_json_file(args.root, "trust root")
    try:
        verified = verify_release(
            args.dir,
            trusted_root=root,
            state_file=args.state,
            min_signed_approvals=args.min_approvals,
        )
    except VerificationError as exc:
        if args.format == "json":
            json.dump({"ok": False, "reason": exc.reason_code.value, "message": str(exc)}, out)
            out.write("\n")
            return 1
        raise KbError(f"release NOT verified ({exc.reason_code.value}): {exc}") from None
    note = (
        "\ntrust root rotated: pin the release's trust/root.json" if verified.root_rotated else ""
    )
    cli.emit(
        args,
        out,
        {
            "ok": True,
            "kb_id": verified.kb_id,
            "version": verified.version,
            "release_sequence": verified.release_sequence,
            "release_digest": verified.release_digest,
            "signers": sorted(verified.signers),
            "root_rotated": verified.root_rotated,
            "approvals": [
                {
                    "printed_name": a.printed_name,
                    "user": a.user,
                    "role": a.role,
                    "meaning": a.meaning,
                    "at": a.at,
                    "signed": a.signed,
                    "key_id": a.key_id,
                }
                for a in verified.approvals
            ],
        },
        lambda: (
            f"verified release {verified.version} (#{verified.release_sequence}) of KB "
            f"{verified.kb_id}: {len(verified.signers)} trusted signature(s), "
            f"{len(verified.signed_approvals)} signed approval(s){note}\n"
            + "\n".join(f"  {a.text()}" for a in verified.approvals)
        ),
    )
    return 0


def _cmd_match(args: argparse.Namespace, out: TextIO) -> int:
    from dataclasses import replace

    from kb.matching.matcher import Matcher
    from kb.release.folder import verify_release
    from kb.release.signing import VerificationError, read_json_file

    batch = args.patients is not None or args.clinical_table is not None
    if args.fhir is not None and (batch or args.patient or args.clinical or args.maf):
        raise cli.UsageError("kb match: --fhir BUNDLE is the whole patient; give it alone")
    if args.patients is not None and args.clinical_table is not None:
        raise cli.UsageError("kb match: give --patients DIR or --clinical-table FILE, not both")
    if batch and (args.patient or args.clinical or args.vcf or args.fusions):
        raise cli.UsageError(
            "kb match: a batch takes --patients DIR, or --clinical-table FILE with --maf/--cna"
        )
    if args.clinical_table is not None and not (args.maf or args.cna):
        raise cli.UsageError("kb match: --clinical-table needs --maf and/or --cna")
    if not batch and args.fhir is None:
        if args.patient and args.clinical:
            raise cli.UsageError("kb match: give --patient or --clinical, not both")
        if args.maf and not (args.clinical or args.patient):
            raise cli.UsageError("kb match: --maf needs --clinical")
        if not (args.patient or args.clinical):
            raise cli.UsageError(
                "kb match: give --patient FILE, --fhir BUNDLE, or --clinical FILE with "
                "--maf/--vcf/--cna/--fusions, or --patients DIR for a batch"
            )
    root = read_json_file(args.root, "trust root")
    try:
        verified = verify_release(
            args.release,
            trusted_root=root,
            state_file=args.state,
            min_signed_approvals=args.min_approvals,
        )
    except VerificationError as exc:
        # Matching against a release older than the one accepted before is a rollback: a
        # patient would get yesterday's knowledge without a word.
        raise KbError(f"release NOT verified ({exc.reason_code.value}): {exc}") from None
    matcher = Matcher.from_snapshot(verified.kb_json)
    matcher.release_version = verified.version
    if args.fhir or args.format == "fhir":
        from kb.cli.match_fhir import match_fhir

        return match_fhir(args, out, matcher, verified)
    if batch:
        return _match_batch(args, matcher, out)
    patient, skipped = _one_patient(args)
    result = replace(matcher.match(patient), skipped=skipped)
    cli.emit(args, out, result.as_json(), result.text)
    return 0


def _clinical_json(path: Path) -> dict[str, Any]:
    from kb.matching.matcher import load_patient_file

    load_patient_file(path)  # size, encoding, JSON and schema errors, located
    data = json.loads(path.read_text("utf-8"))
    return data if isinstance(data, dict) else {}


def _one_patient(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    from kb.matching.copynumber import read_copy_number
    from kb.matching.fusions import read_fusions
    from kb.matching.inputs import assemble_patient
    from kb.matching.maf import read_maf_samples
    from kb.matching.vcf import read_vcf

    base: Path = args.patient or args.clinical
    clinical = _clinical_json(base)
    sample = clinical.get("sample")
    variants = [read_vcf(path, sample=sample) for path in args.vcf or ()]
    if args.maf:
        variants.insert(0, _maf_sample(read_maf_samples(args.maf), sample, str(args.maf)))
    copy_number = [read_copy_number(args.cna, sample=sample)] if args.cna else []
    fusions = [read_fusions(path) for path in args.fusions or ()]
    files = (base, args.maf, *(args.vcf or ()), args.cna, *(args.fusions or ()))
    sources = " + ".join(str(p) for p in files if p)
    return assemble_patient(
        clinical, source=sources, variants=variants, copy_number=copy_number, fusions=fusions
    )


def _maf_sample(samples: dict[str, Any], sample: str | None, source: str) -> Any:
    from kb.matching.lines import ReadResult
    from kb.matching.maf import MafError

    if sample is not None:
        if sample not in samples:
            raise MafError(source, None, "Tumor_Sample_Barcode", "no rows for the sample named")
        return samples[sample]
    if len(samples) > 1:
        raise MafError(
            source,
            None,
            "Tumor_Sample_Barcode",
            f"the file holds {len(samples)} samples; name one as 'sample' in the clinical JSON",
        )
    return next(iter(samples.values()), ReadResult())


def _match_batch(args: argparse.Namespace, matcher: Any, out: TextIO) -> int:
    """JSON lines, one per patient; a patient that fails is an error line, never the end."""
    import sys

    from kb.matching.inputs import match_many

    failed = total = 0
    for entry in match_many(matcher, _batch_sources(args)):
        total += 1
        failed += not entry["ok"]
        out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
    # Counts only: patient and sample ids stay out of the log.
    sys.stderr.write(f"kb match: {total - failed} of {total} patients matched, {failed} failed\n")
    return 1 if failed else 0


def _batch_sources(args: argparse.Namespace) -> Any:
    from kb.matching.copynumber import read_copy_number_samples
    from kb.matching.inputs import assemble_patient, read_clinical_table
    from kb.matching.lines import ReadResult
    from kb.matching.maf import read_maf_samples
    from kb.matching.matcher import load_patient_file

    if args.patients is not None:
        if not args.patients.is_dir():
            raise KbError(f"{args.patients}: not a folder of patient JSON files")
        for path in sorted(args.patients.glob("*.json")):
            yield path.name, (lambda path=path: (load_patient_file(path), []))
        return
    rows = read_clinical_table(args.clinical_table)
    maf = read_maf_samples(args.maf) if args.maf else None
    cna = read_copy_number_samples(args.cna) if args.cna else None
    for index, row in enumerate(rows, start=1):
        label = f"{args.clinical_table.name} row {index}"

        def read(row: dict[str, Any] = row, label: str = label) -> tuple[Any, list[Any]]:
            sample = row.get("sample")
            variants = [maf.get(sample or "", ReadResult())] if maf is not None else []
            copy_number = []
            if cna is not None:
                found = cna.get(sample or "") or cna.get("")
                if found is None:
                    raise KbError(f"{label}: no copy-number column for the row's sample")
                copy_number.append(found)
            # A sample absent from the MAF may be unmutated or misspelt: refuse to guess.
            if maf is not None and (sample or "") not in maf:
                raise KbError(f"{label}: no MAF rows for the row's sample")
            return assemble_patient(row, source=label, variants=variants, copy_number=copy_number)

        yield label, read
