"""`kb serve` driven over real HTTP on 127.0.0.1: /match (the same answer as `kb match`),
/release, /healthz, /metrics, CDS Hooks discovery and cards with JWTs signed by a test key (JWKS
served by a real HTTP server), the no-prefetch path against a FHIR server stand-in, and the
hostile-request suite (4xx with a reason, never a 500)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from kb.serve.config import token_digest
from tests.serve_support import (
    ISSUER,
    REPO,
    TOKEN,
    Service,
    Signer,
    demo_release,
    static_server,
    write_config,
)

PATIENT_ID = "Patient-7f3c-secret"  # must never reach the service's log
MRN = "MRN-99887766"


@pytest.fixture(scope="module")
def world(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("serve")
    release = demo_release(demo_template, tmp)
    signer = Signer()
    with (
        static_server() as (jwks_url, jwks_routes, _),
        static_server() as (fhir, fhir_routes, seen),
    ):
        jwks_routes["/jwks.json"] = (200, signer.jwks(), "application/json")
        config = write_config(
            tmp / "serve.toml",
            release=str(release),
            root=str(tmp / "root.json"),
            state=str(tmp / "state.json"),
            match_token_sha256=[token_digest(TOKEN)],
            max_body_bytes=256 * 1024,
            cds_clients=[{"iss": ISSUER, "jwks_url": f"{jwks_url}/jwks.json"}],
        )
        service = Service(config, tmp)
        try:
            yield {
                "tmp": tmp,
                "release": release,
                "root": tmp / "root.json",
                "service": service,
                "url": service.url,
                "signer": signer,
                "fhir": fhir,
                "fhir_routes": fhir_routes,
                "fhir_seen": seen,
            }
        finally:
            service.stop()


def match(world: dict[str, Any], body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{world['url']}/match",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **headers},
    )


# --- FHIR resources ------------------------------------------------------------------------

LOINC = "http://loinc.org"


def condition(code: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": "http://oncotree.mskcc.org", "code": code}]},
    }


def variant(gene: str, protein: str, source: str = "LA6684-0") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": {"coding": [{"system": LOINC, "code": "69548-6"}]},
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9633-4"}]},
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://www.genenames.org/geneid", "display": gene}]
                },
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "48005-3"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://varnomen.hgvs.org", "code": f"NP_0:{protein}"}]
                },
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "48002-0"}]},
                "valueCodeableConcept": {"coding": [{"system": LOINC, "code": source}]},
            },
        ],
    }


def no_variant_found() -> dict[str, Any]:
    found = variant("EGFR", "p.L858R")
    found["valueCodeableConcept"] = {"coding": [{"system": LOINC, "code": "LA9634-2"}]}
    return found


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def prefetch(tumour: str, *observations: dict[str, Any]) -> dict[str, Any]:
    return {
        "patient": {
            "resourceType": "Patient",
            "id": PATIENT_ID,
            "identifier": [{"value": MRN}],
            "gender": "male",
            "birthDate": "1960-05-01",
        },
        "conditions": bundle(condition(tumour)),
        "observations": bundle(*observations),
    }


def medication(name: str, ncit: str | None = None, rxnorm: str | None = None) -> dict[str, Any]:
    codings = []
    if ncit:
        codings.append(
            {"system": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", "code": ncit}
        )
    if rxnorm:
        codings.append(
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": rxnorm,
                "display": f"{name} 5 MG/ML Injectable Solution",
            }
        )
    return {
        "resourceType": "MedicationRequest",
        "id": f"mr-{name.replace(' ', '-')}",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": {"coding": codings, "text": name},
    }


def hook_body(hook: str, pre: dict[str, Any] | None, *orders: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": PATIENT_ID}
    if hook != "patient-view":
        context["draftOrders"] = bundle(*orders)
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{o['id']}" for o in orders]
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
    }
    if pre is not None:
        body["prefetch"] = pre
    return body


SERVICE_OF = {
    "patient-view": "kb-patient-view",
    "order-select": "kb-order-select",
    "order-sign": "kb-order-sign",
}


def call(
    world: dict[str, Any], body: dict[str, Any], *, token: str | None = None, service: str = ""
) -> httpx.Response:
    service = service or SERVICE_OF[body["hook"]]
    endpoint = f"{world['url']}/cds-services/{service}"
    token = token if token is not None else world["signer"].token(endpoint)
    return httpx.post(
        endpoint,
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )


# --- the service ---------------------------------------------------------------------------


def test_match_gives_the_same_answer_as_kb_match(world: dict[str, Any]) -> None:
    patient_file = REPO / "resources" / "patients" / "02-crc-kras-g12c.json"
    response = match(world, json.loads(patient_file.read_text()))
    assert response.status_code == 200, response.text
    command = [
        sys.executable,
        "-m",
        "kb",
        "match",
        "--release",
        str(world["release"]),
        "--root",
        str(world["root"]),
        "--patient",
        str(patient_file),
        "--format",
        "json",
        "--min-approvals",
        "0",  # as the service here: a release built from a snapshot carries no signed approval
    ]
    expected = json.loads(
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO).stdout
    )
    assert response.json() == expected
    assert expected["therapies"] and expected["therapies"][0]["explanation"]
    assert response.headers["X-KB-Release-Version"] == "2026.11.0"
    text = httpx.post(
        f"{world['url']}/match?format=text",
        content=patient_file.read_bytes(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert text.status_code == 200 and "Therapies (" in text.text


def test_release_health_and_metrics(world: dict[str, Any]) -> None:
    release = httpx.get(f"{world['url']}/release").json()
    assert release["version"] == "2026.11.0" and release["release_sequence"] == 1
    assert len(release["release_digest"]) == 64 and release["verified_at"].endswith("Z")
    assert httpx.get(f"{world['url']}/healthz").json()["status"] == "ok"
    metrics = httpx.get(f"{world['url']}/metrics").text
    assert "kb_serve_requests_total" in metrics and "kb_serve_release_sequence 1.0" in metrics


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing Authorization"),
        ("Bearer not-the-token", "not accepted"),
        (f"Basic {TOKEN}", "Bearer"),
    ],
)
def test_match_needs_the_bearer_token(
    world: dict[str, Any], authorization: str | None, reason: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    response = httpx.post(f"{world['url']}/match", content=b'{"id": "x"}', headers=headers)
    assert response.status_code == 401 and reason in response.json()["error"]


def test_discovery_lists_the_services_with_prefetch(world: dict[str, Any]) -> None:
    services = httpx.get(f"{world['url']}/cds-services").json()["services"]
    assert {s["hook"] for s in services} == {"patient-view", "order-select", "order-sign"}
    for service in services:
        assert service["prefetch"]["observations"].startswith("Observation?patient=")
        assert service["prefetch"]["conditions"] == "Condition?patient={{context.patientId}}"


def test_patient_view_cards_cite_the_release(world: dict[str, Any]) -> None:
    pre = prefetch("COADREAD", variant("KRAS", "p.Gly12Asp"))
    response = call(world, hook_body("patient-view", pre))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert cards
    resistant = [c for c in cards if c["indicator"] == "warning"]
    assert any("cetuximab" in c["summary"].lower() for c in resistant)
    for card in cards:
        assert card["source"]["label"].startswith("KB Curator release 2026.11.0")
        assert card["source"]["url"] == f"{world['url']}/release"
        assert len(card["summary"]) <= 140
    nsclc = call(world, hook_body("patient-view", prefetch("NSCLC", variant("EGFR", "p.L858R"))))
    links = [link for card in nsclc.json()["cards"] for link in card.get("links", [])]
    assert "https://pubmed.ncbi.nlm.nih.gov/29151359/" in {link["url"] for link in links}


def test_order_select_warns_of_resistance_kras_crc_cetuximab(world: dict[str, Any]) -> None:
    pre = prefetch("COADREAD", variant("KRAS", "p.Gly12Asp"))
    body = hook_body("order-select", pre, medication("cetuximab", ncit="C1723"))
    cards = call(world, body).json()["cards"]
    warnings = [c for c in cards if c["indicator"] == "warning"]
    assert warnings and "predicts resistance to cetuximab" in warnings[0]["summary"]
    assert "restricted to RAS wild-type" in warnings[0]["detail"]
    assert "ERBITUX (cetuximab) US prescribing information" in warnings[0]["detail"]


def test_order_sign_suggests_the_test_never_done(world: dict[str, Any]) -> None:
    pre = prefetch("COADREAD")  # no variant Observation at all: never sequenced
    body = hook_body("order-sign", pre, medication("cetuximab", rxnorm="318341"))
    cards = call(world, body).json()["cards"]
    untested = [c for c in cards if "not tested" in c["summary"]]
    assert untested and untested[0]["indicator"] == "warning"
    action = untested[0]["suggestions"][0]["actions"][0]
    assert action["type"] == "create"
    assert action["resource"]["resourceType"] == "ServiceRequest"
    assert action["resource"]["subject"]["reference"] == f"Patient/{PATIENT_ID}"


def test_order_select_info_when_biomarkers_support_the_drug(world: dict[str, Any]) -> None:
    pre = prefetch("NSCLC", variant("EGFR", "p.Leu858Arg"))
    body = hook_body("order-select", pre, medication("osimertinib"))
    cards = call(world, body).json()["cards"]
    assert [c["indicator"] for c in cards] == ["info"]
    assert "osimertinib is supported" in cards[0]["summary"]


def test_order_select_warns_when_the_biomarker_is_lacking(world: dict[str, Any]) -> None:
    pre = prefetch("NSCLC", no_variant_found())  # sequenced, nothing found
    body = hook_body("order-select", pre, medication("osimertinib"))
    cards = call(world, body).json()["cards"]
    assert cards and cards[0]["indicator"] == "warning"
    assert "which the patient lacks" in cards[0]["summary"]


def test_without_prefetch_the_service_reads_the_fhir_server(world: dict[str, Any]) -> None:
    routes, seen = world["fhir_routes"], world["fhir_seen"]
    pre = prefetch("COADREAD", variant("KRAS", "p.Gly12Asp"))
    routes[f"/fhir/Patient/{PATIENT_ID}"] = (
        200,
        json.dumps(pre["patient"]).encode(),
        "application/fhir+json",
    )
    routes[f"/fhir/Condition?patient={PATIENT_ID}"] = (
        200,
        json.dumps(pre["conditions"]).encode(),
        "application/fhir+json",
    )
    routes[f"/fhir/Observation?patient={PATIENT_ID}&category=laboratory"] = (
        200,
        json.dumps(pre["observations"]).encode(),
        "application/fhir+json",
    )
    body = hook_body("order-select", None, medication("cetuximab"))
    body["fhirServer"] = f"{world['fhir']}/fhir"
    body["fhirAuthorization"] = {
        "access_token": "ehr-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/Observation.read patient/Condition.read",
        "subject": "kb-cds",
    }
    response = call(world, body)
    assert response.status_code == 200, response.text
    assert any("predicts resistance" in c["summary"] for c in response.json()["cards"])
    assert {auth for _path, auth in seen} == {"Bearer ehr-access-token"}
    assert len(seen) == 3


def test_without_prefetch_or_fhir_server_is_refused(world: dict[str, Any]) -> None:
    response = call(world, hook_body("patient-view", None))
    assert response.status_code == 412 and "fhirServer" in response.json()["error"]


# --- hostile requests ----------------------------------------------------------------------


def _endpoint(world: dict[str, Any]) -> str:
    return f"{world['url']}/cds-services/kb-patient-view"


HS_TOKEN = jwt.encode(
    {"iss": ISSUER, "jti": "x"}, "a-shared-secret-of-thirty-two-bytes!", algorithm="HS256"
)


def hostile_cases(world: dict[str, Any]) -> list[tuple[str, int, str, httpx.Response]]:
    url, signer = world["url"], world["signer"]
    endpoint = _endpoint(world)
    body = json.dumps(hook_body("patient-view", prefetch("COADREAD"))).encode()
    json_headers = {"Content-Type": "application/json"}

    def cds(token: str, content: bytes = body, **headers: str) -> httpx.Response:
        return httpx.post(
            endpoint,
            content=content,
            headers={"Authorization": f"Bearer {token}", **json_headers, **headers},
        )

    now = int(time.time())
    replayed = signer.token(endpoint)
    cds(replayed)
    unsigned = jwt.encode(
        {"iss": ISSUER, "aud": endpoint, "exp": now + 60, "iat": now, "jti": "n1"},
        key=None,
        algorithm="none",
        headers={"kid": signer.kid},
    )
    malformed_fhir = hook_body("patient-view", prefetch("COADREAD"))
    malformed_fhir["prefetch"]["observations"]["entry"].append(
        {"resource": {"resourceType": "Observation", "status": "final"}}
    )
    bad_component = hook_body("patient-view", prefetch("COADREAD", variant("KRAS", "p.G12D")))
    bad_component["prefetch"]["observations"]["entry"][0]["resource"]["component"] = "oops"
    return [
        (
            "oversized body",
            413,
            "over",
            httpx.post(
                f"{url}/match",
                content=b" " * (300 * 1024),
                headers={"Authorization": f"Bearer {TOKEN}", **json_headers},
            ),
        ),
        ("oversized CDS body", 413, "over", cds(signer.token(endpoint), b"[" + b" " * 300_000)),
        (
            "wrong content type",
            415,
            "Content-Type",
            httpx.post(
                f"{url}/match",
                content=b"id=x",
                headers={
                    "Authorization": f"Bearer {TOKEN}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            ),
        ),
        (
            "not JSON",
            400,
            "not JSON",
            httpx.post(
                f"{url}/match",
                content=b"{nope",
                headers={"Authorization": f"Bearer {TOKEN}", **json_headers},
            ),
        ),
        ("patient outside the schema", 422, "patient", match(world, {"id": "x", "tmb": "high"})),
        (
            "nested too deeply",
            400,
            "JSON",
            httpx.post(
                f"{url}/match",
                content=b"[" * 5000 + b"]" * 5000,
                headers={"Authorization": f"Bearer {TOKEN}", **json_headers},
            ),
        ),
        (
            "malformed FHIR",
            422,
            "Observation has no code",
            cds(signer.token(endpoint), json.dumps(malformed_fhir).encode()),
        ),
        (
            "malformed FHIR component",
            422,
            "component",
            cds(signer.token(endpoint), json.dumps(bad_component).encode()),
        ),
        (
            "CDS request outside the model",
            422,
            "context",
            cds(signer.token(endpoint), b'{"hook": "patient-view", "hookInstance": "x"}'),
        ),
        (
            "wrong hook for the service",
            400,
            "answers patient-view",
            cds(signer.token(endpoint), json.dumps(hook_body("order-sign", None)).encode()),
        ),
        ("expired JWT", 401, "expired", cds(signer.token(endpoint, iat=now - 600, exp=now - 300))),
        ("wrong audience", 401, "audience", cds(signer.token(f"{url}/cds-services/other"))),
        ("wrong issuer", 403, "issuer", cds(signer.token(endpoint, iss="https://evil.example"))),
        ("unsigned JWT (alg none)", 401, "algorithm", cds(unsigned)),
        ("HMAC JWT", 401, "algorithm", cds(HS_TOKEN)),
        ("wrong key", 401, "signature", cds(Signer().token(endpoint))),
        ("unknown kid", 401, "kid", cds(Signer(kid="other").token(endpoint))),
        ("replayed JWT", 401, "replayed", cds(replayed)),
        ("no jti", 401, "jti", cds(signer.token(endpoint, jti=None))),
        ("long-lived JWT", 401, "longer", cds(signer.token(endpoint, exp=now + 86_400))),
        ("not a JWT", 401, "not a JWT", cds("abc.def")),
        (
            "no Authorization",
            401,
            "missing",
            httpx.post(endpoint, content=body, headers=json_headers),
        ),
        (
            "unknown service",
            404,
            "no CDS service",
            httpx.post(f"{url}/cds-services/nope", content=body, headers=json_headers),
        ),
    ]


def test_hostile_requests_get_4xx_with_a_reason(world: dict[str, Any]) -> None:
    failures = []
    for name, status, reason, response in hostile_cases(world):
        try:
            error = response.json()["error"]
        except ValueError:
            error = response.text
        if response.status_code != status or reason not in error:
            failures.append(f"{name}: {response.status_code} {error!r}")
    assert not failures, failures
    assert "kb_serve_requests_total" in httpx.get(f"{world['url']}/metrics").text
    metrics = httpx.get(f"{world['url']}/metrics").text
    assert 'status="500"' not in metrics


def test_no_patient_identifier_in_the_log(world: dict[str, Any]) -> None:
    # Runs last in this module: every request above carried the identifiers.
    log = world["service"].log.read_text()
    assert "serving release 2026.11.0" in log
    assert PATIENT_ID not in log and MRN not in log and "Colorectal, KRAS" not in log


# --- FHIR ----------------------------------------------------------------------------------------


def test_fhir_match_answers_with_therapeutic_implications(world: dict[str, Any]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    sample = json.loads(
        (Path(__file__).parent.parent / "resources/fhir/nsclc-egfr-l858r.bundle.json").read_text()
    )
    # One entry the reader cannot use: it comes back as a warning, never dropped in silence.
    broken = variant("EGFR", "p.Leu858Xyz")
    broken["id"] = "broken"
    sample["entry"].append({"fullUrl": "urn:uuid:broken", "resource": broken})
    response = httpx.post(
        f"{world['url']}/fhir/match",
        content=json.dumps(sample),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["X-KB-Release-Version"] == "2026.11.0"
    assert response.headers["X-KB-FHIR-Skipped"] == "1"
    answer = response.json()
    Bundle.model_validate(answer)  # the whole answer is valid FHIR
    resources = [entry["resource"] for entry in answer["entry"]]
    implications = [r for r in resources if r["resourceType"] == "Observation"]
    assessed = {
        coding.get("display")
        for r in implications
        for component in r.get("component", [])
        for coding in component.get("valueCodeableConcept", {}).get("coding", [])
    }
    assert "osimertinib" in assessed
    (outcome,) = [r for r in resources if r["resourceType"] == "OperationOutcome"]
    assert outcome["issue"][0]["expression"][0].startswith("Bundle.entry[")
    # The same release answers the CLI: a token is needed, and a non-Bundle is refused with 4xx.
    assert httpx.post(f"{world['url']}/fhir/match", json=sample).status_code == 401
    refused = httpx.post(
        f"{world['url']}/fhir/match",
        content=json.dumps({"resourceType": "Patient"}),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"},
    )
    assert refused.status_code == 422 and "Bundle" in refused.text


def test_fhir_match_refuses_a_body_that_is_no_bundle(world: dict[str, Any]) -> None:
    for body in ([1, 2], "text", {"resourceType": "Bundle", "type": 7}):
        refused = httpx.post(
            f"{world['url']}/fhir/match",
            content=json.dumps(body),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"},
        )
        assert 400 <= refused.status_code < 500, (body, refused.text)
