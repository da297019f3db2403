"""`kb match --fhir BUNDLE` and `--format fhir`: a FHIR Genomics Bundle in, FHIR out.

Kept apart from release.py so that the match command there only gains a flag and a branch.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from kb.cli import context as cli
from kb.matching.fhir import (
    citation_index,
    issues_as_json,
    load_fhir_bundle,
    patient_from_fhir,
    result_to_fhir,
)
from kb.matching.matcher import Matcher


def match_fhir(args: argparse.Namespace, out: TextIO, matcher: Matcher, verified: Any) -> int:
    """Match the patient of `--fhir BUNDLE`; answer as text, JSON or (`--format fhir`) FHIR.

    Observations that cannot be read are skipped and listed (on stderr with `--format fhir`,
    under `fhir_issues` with `--format json`, as lines with text).
    """
    if not args.fhir:
        raise cli.UsageError("kb match: --format fhir needs the patient as --fhir BUNDLE")
    if args.patient or args.maf:
        raise cli.UsageError("kb match: give one of --patient, --fhir or --maf")
    bundle = load_fhir_bundle(args.fhir)
    patient, issues = patient_from_fhir(bundle)
    result = matcher.match(patient)
    if args.format == "fhir":
        for issue in issues:
            sys.stderr.write(f"kb: {args.fhir}: {issue.text()}\n")
        answer = result_to_fhir(
            result,
            patient_bundle=bundle,
            release_version=verified.version,
            release_digest=verified.release_digest,
            citations=citation_index(verified.kb_json),
            possible=result.possible_therapies,
        )
        cli.emit(argparse.Namespace(format="json"), out, answer, str)
        return 0
    data = result.as_json()
    data["fhir_issues"] = issues_as_json(issues)

    def text() -> str:
        lines = [f"FHIR input: {issue.text()}" for issue in issues]
        return "\n".join([*lines, result.text()])

    cli.emit(args, out, data, text)
    return 0
