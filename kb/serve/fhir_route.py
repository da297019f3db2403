"""`POST /fhir/match`: a FHIR R4 Bundle of Genomics Reporting Observations in, a Bundle of
therapeutic-implication Observations out (kb.matching.fhir), against the current release.

The same reader and writer as `kb match --fhir`, so the service and the command line answer
alike. Entries the reader skipped are not dropped in silence: they come back in the answer as
one OperationOutcome (severity warning, the entry's JSON path and the reason each), and their
count in the `X-KB-FHIR-Skipped` header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Request, Response
from fhir.resources.R4B.operationoutcome import OperationOutcome

from kb.matching.fhir import FhirIssue, patient_from_fhir, result_to_fhir

if TYPE_CHECKING:
    from kb.serve.context import ServeContext

FHIR_JSON = "application/fhir+json"


def fhir_router(context: ServeContext) -> APIRouter:
    router = APIRouter()

    @router.post("/fhir/match")
    async def fhir_match(request: Request) -> Response:
        context.require_token(request)
        bundle = await context.json_body(request)
        # Anything but a Bundle is refused by the reader with a located PatientError (422).
        patient, issues = patient_from_fhir(bundle)
        release = context.holder.current  # one release for the whole answer, even across a swap
        result = release.matcher.match(patient)
        answer = result_to_fhir(
            result,
            patient_bundle=bundle,
            release_version=release.version,
            release_digest=release.release_digest,
            citations=release.citations,
            possible=result.possible_therapies,
        )
        if issues:
            answer.setdefault("entry", []).append({"resource": _outcome(issues)})
        headers = {
            "X-KB-Release-Version": release.version,
            "X-KB-Release-Digest": release.release_digest,
            "X-KB-FHIR-Skipped": str(sum(1 for issue in issues if issue.skipped)),
        }
        return Response(orjson.dumps(answer), media_type=FHIR_JSON, headers=headers)

    return router


def _outcome(issues: list[FhirIssue]) -> dict[str, Any]:
    outcome = OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "warning",
                    "code": "not-supported" if issue.skipped else "incomplete",
                    "diagnostics": issue.reason,
                    "expression": [_fhirpath(issue.path)],
                }
                for issue in issues
            ],
        }
    )
    data: dict[str, Any] = orjson.loads(outcome.model_dump_json(exclude_none=True))
    return data


def _fhirpath(json_path: str) -> str:
    """`$.entry[3].resource.component[1]` as FHIRPath: `Bundle.entry[3].resource.component[1]`."""
    return "Bundle" + json_path[1:] if json_path.startswith("$") else json_path
