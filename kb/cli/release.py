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
    match.add_argument("--maf", type=Path, help="a MAF file (with --clinical)")
    match.add_argument("--clinical", type=Path, help="clinical JSON for --maf")
    match.add_argument(
        "--state",
        type=Path,
        help="the last release accepted (as kb release verify keeps it): an older one is refused",
    )
    fmt(match)
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
        verified = verify_release(args.dir, trusted_root=root, state_file=args.state)
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
        },
        lambda: (
            f"verified release {verified.version} (#{verified.release_sequence}) of KB "
            f"{verified.kb_id}: {len(verified.signers)} trusted signature(s){note}"
        ),
    )
    return 0


def _cmd_match(args: argparse.Namespace, out: TextIO) -> int:
    from kb.matching.maf import read_maf
    from kb.matching.matcher import Matcher, load_patient_file
    from kb.release.folder import verify_release
    from kb.release.signing import VerificationError, read_json_file

    if args.maf and not args.clinical:
        raise cli.UsageError("kb match: --maf needs --clinical")
    if not args.maf and not args.patient:
        raise cli.UsageError("kb match: give --patient FILE, or --maf FILE --clinical FILE")
    root = read_json_file(args.root, "trust root")
    try:
        verified = verify_release(args.release, trusted_root=root, state_file=args.state)
    except VerificationError as exc:
        # Matching against a release older than the one accepted before is a rollback: a
        # patient would get yesterday's knowledge without a word.
        raise KbError(f"release NOT verified ({exc.reason_code.value}): {exc}") from None
    matcher = Matcher.from_snapshot(verified.kb_json)
    matcher.release_version = verified.version
    patient = read_maf(args.maf, args.clinical) if args.maf else load_patient_file(args.patient)
    result = matcher.match(patient)
    cli.emit(args, out, result.as_json(), result.text)
    return 0
