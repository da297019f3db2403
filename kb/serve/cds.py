"""HL7 CDS Hooks 2.0 services over the current release: discovery, patient-view cards for the
actionable findings, and order-select / order-sign cards on draft MedicationRequests.

Everything here is plain functions from a loaded release and a patient to pydantic models, so
the rules for cards are tested without HTTP; `kb.serve.app` adds transport and security.

Order cards, per drug ordered (matched to the release's drugs by NCIt code, or by name in the
RxNorm display, the coding displays or the text):
- warning: a biomarker the patient has predicts resistance to it in this tumour type;
- info: the patient's biomarkers support it (a sensitivity assertion matches);
- otherwise, where the release has sensitivity assertions for the drug in this tumour type:
  warning that the indication needs a biomarker the patient lacks or was never tested for —
  with a suggestion to order the test (a draft ServiceRequest) for what was never tested;
- warning, with the same suggestion, when a resistance biomarker was never tested.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kb.matching.matcher import Explanation, MatchResult, Patient, TherapyMatch
from kb.serve.models import (
    Action,
    Card,
    CdsResponse,
    Discovery,
    Link,
    ServiceDescription,
    Source,
    Suggestion,
)
from kb.serve.releases import DrugRef, LoadedRelease

NCIT_SYSTEMS = ("http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", "http://ncit.nci.nih.gov")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
MAX_CARDS = 20

PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&category=laboratory",
}

SERVICES: dict[str, ServiceDescription] = {
    service.id: service
    for service in (
        ServiceDescription(
            hook="patient-view",
            id="kb-patient-view",
            title="Actionable genomic findings",
            description=(
                "Therapies and open trial arms the signed knowledge-base release offers for the "
                "patient's tumour biomarkers, each with its evidence level and citations."
            ),
            prefetch=PREFETCH,
        ),
        ServiceDescription(
            hook="order-select",
            id="kb-order-select",
            title="Biomarker check for a selected cancer drug",
            description=(
                "Whether the patient's biomarkers support the drug being ordered, predict "
                "resistance to it, or a test its indication needs is missing."
            ),
            prefetch=PREFETCH,
        ),
        ServiceDescription(
            hook="order-sign",
            id="kb-order-sign",
            title="Biomarker check before signing cancer drug orders",
            description=(
                "The order-select checks, on every draft medication order about to be signed."
            ),
            prefetch=PREFETCH,
        ),
    )
}


def discovery() -> Discovery:
    return Discovery(services=list(SERVICES.values()))


def _source(release: LoadedRelease, base_url: str) -> Source:
    return Source(
        label=f"KB Curator release {release.version} (#{release.release_sequence})",
        url=f"{base_url}/release",
    )


def _summary(text: str) -> str:
    return text if len(text) <= 140 else text[:139] + "…"


def citation_links(release: LoadedRelease, ids: Iterable[str]) -> list[Link]:
    """Links for the citations that have (or imply) an absolute URL."""
    links = []
    for cid in ids:
        fields = release.citations.get(cid) or {}
        url = fields.get("url")
        kind, identifier = fields.get("kind"), str(fields.get("identifier") or "")
        if not url and kind == "pmid" and identifier.isdigit():
            url = f"https://pubmed.ncbi.nlm.nih.gov/{identifier}/"
        if not url and kind == "nct" and re.fullmatch(r"NCT\d{8}", identifier):
            url = f"https://clinicaltrials.gov/study/{identifier}"
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            label = str(fields.get("title") or identifier or cid)
            links.append(Link(label=label[:200], url=url))
    return links


def citation_text(release: LoadedRelease, ids: Iterable[str]) -> str:
    """The citations as text lines for a card's detail (links carry only those with URLs)."""
    titles = []
    for cid in ids:
        fields = release.citations.get(cid) or {}
        titles.append(f"- {fields.get('title') or fields.get('identifier') or cid}")
    return ("\n\nSources:\n" + "\n".join(titles)) if titles else ""


def _lines(node: Explanation, indent: int = 0) -> list[str]:
    return [f"    {line}" for line in node.lines(indent)]


def _requirements(fields: Mapping[str, Any]) -> str:
    parts = [
        f"{label}: {fields[key]}"
        for key, label in (
            ("specimen", "specimen"),
            ("cdx", "companion diagnostic"),
            ("confirmatory_test", "confirmatory test"),
        )
        if fields.get(key)
    ]
    return ("\n\nRequires " + "; ".join(parts) + ".") if parts else ""


def patient_view(release: LoadedRelease, result: MatchResult, base_url: str) -> CdsResponse:
    """One card per matched assertion (resistance as a warning), one for open trial arms."""
    cards: list[Card] = []
    source = _source(release, base_url)
    for match in result.therapies[:MAX_CARDS]:
        cards.append(_therapy_card(release, match, source))
    if result.trials:
        arms = [f"- {t.trial_key} arm {t.arm_code}: {t.arm_name or t.title}" for t in result.trials]
        cards.append(
            Card(
                uuid=str(uuid.uuid4()),
                summary=_summary(f"{len(result.trials)} open trial arm(s) match the biomarkers"),
                detail="\n".join(arms[:50]),
                indicator="info",
                source=source,
                links=[
                    Link(label=t.nct_id, url=f"https://clinicaltrials.gov/study/{t.nct_id}")
                    for t in result.trials[:MAX_CARDS]
                    if re.fullmatch(r"NCT\d{8}", t.nct_id)
                ]
                or None,
            )
        )
    return CdsResponse(cards=cards)


def _therapy_card(release: LoadedRelease, match: TherapyMatch, source: Source) -> Card:
    name = match.therapy.name if match.therapy else match.implication_text
    resistant = match.implication == "resistant"
    verb = "predicts resistance to" if resistant else f"{match.implication_text}:"
    summary = f"{match.expression_text} {verb} {name} ({match.level_text})"
    detail = (
        f"{match.description}\n\nWhy (assertion {match.assertion_id}):\n"
        + "\n".join(_lines(match.tumour) + _lines(match.explanation))
        + _requirements(
            {
                "specimen": match.specimen,
                "cdx": match.cdx,
                "confirmatory_test": match.confirmatory_test,
            }
        )
        + citation_text(release, match.citations)
    )
    return Card(
        uuid=str(uuid.uuid4()),
        summary=_summary(summary),
        detail=detail,
        indicator="warning" if resistant else "info",
        source=source,
        links=citation_links(release, match.citations) or None,
    )


# --- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderedDrug:
    request_id: str | None
    drug: DrugRef
    named_as: str


def medication_requests(
    draft_orders: Mapping[str, Any], selections: Iterable[str] | None
) -> list[dict[str, Any]]:
    """The draft MedicationRequests of a `draftOrders` Bundle (only the selected ones when
    `selections` names any)."""
    entries = draft_orders.get("entry") or []
    if draft_orders.get("resourceType") != "Bundle" or not isinstance(entries, list):
        raise ValueError("draftOrders must be a FHIR Bundle with a list of entries")
    wanted = {s.split("/", 1)[1] for s in selections or () if s.startswith("MedicationRequest/")}
    out = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "MedicationRequest":
            continue
        if wanted and resource.get("id") not in wanted:
            continue
        out.append(resource)
    return out


def drugs_ordered(release: LoadedRelease, request: Mapping[str, Any]) -> list[OrderedDrug]:
    """The release's drugs a MedicationRequest names: by NCIt code, else by name."""
    concept = request.get("medicationCodeableConcept")
    if not isinstance(concept, dict):
        return []
    codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
    texts = [str(concept.get("text") or "")] + [str(c.get("display") or "") for c in codings]
    by_ncit = {d.ncit_code: d for d in release.drugs.values() if d.ncit_code}
    found: dict[str, OrderedDrug] = {}
    request_id = request.get("id") if isinstance(request.get("id"), str) else None
    for coding in codings:
        if coding.get("system") in NCIT_SYSTEMS and coding.get("code") in by_ncit:
            drug = by_ncit[coding["code"]]
            found[drug.id] = OrderedDrug(request_id, drug, f"NCIt {coding['code']}")
    haystack = " ".join(texts).lower()
    for drug in release.drugs.values():
        if drug.id in found or len(drug.name) < 3:
            continue
        if re.search(rf"(?<![a-z0-9]){re.escape(drug.name.lower())}(?![a-z0-9-])", haystack):
            found[drug.id] = OrderedDrug(request_id, drug, drug.name)
    # "trastuzumab deruxtecan" also contains "trastuzumab": keep only the longest names.
    names = [d.drug.name.lower() for d in found.values()]
    return [
        item
        for item in found.values()
        if not any(
            other != item.drug.name.lower() and item.drug.name.lower() in other for other in names
        )
    ]


def _leaves(node: Explanation, result: bool | None) -> list[str]:
    return [n.text for n in node.walk() if n.node == "biomarker" and n.result is result]


def order_cards(
    release: LoadedRelease,
    patient: Patient,
    requests: Iterable[Mapping[str, Any]],
    *,
    base_url: str,
    patient_reference: str,
) -> CdsResponse:
    source = _source(release, base_url)
    cards: list[Card] = []
    for request in requests:
        for ordered in drugs_ordered(release, request):
            cards.extend(_drug_cards(release, patient, ordered, source, patient_reference))
    return CdsResponse(cards=cards[:MAX_CARDS])


def _drug_cards(
    release: LoadedRelease,
    patient: Patient,
    ordered: OrderedDrug,
    source: Source,
    patient_reference: str,
) -> list[Card]:
    drug = ordered.drug.name
    matcher = release.matcher
    supported: list[tuple[str, Explanation]] = []
    resistant: list[tuple[str, Explanation]] = []
    lacking: list[tuple[str, Explanation]] = []
    untested: list[tuple[str, Explanation]] = []
    untested_resistance: list[tuple[str, Explanation]] = []
    for as_id in release.assertions_by_drug.get(ordered.drug.id, ()):
        fields = release.assertion_fields.get(as_id, {})
        implication = fields.get("implication")
        if implication not in ("sensitive", "resistant"):
            continue
        why = matcher.explain(patient, as_id)
        tumour, expression = why.args[0], why.args[-1]
        if tumour.result is not True:
            continue
        pair = (as_id, expression)
        if implication == "resistant":
            if expression.result is True:
                resistant.append(pair)
            elif expression.result is None:
                untested_resistance.append(pair)
        elif expression.result is True:
            supported.append(pair)
        elif expression.result is False:
            lacking.append(pair)
        else:
            untested.append(pair)
    cards = [
        _order_card(release, source, "warning", f"{e.text} predicts resistance to {drug}", (a, e))
        for a, e in resistant
    ]
    if supported:
        best = sorted(
            supported, key=lambda p: str(release.assertion_fields[p[0]].get("evidence_level"))
        )
        as_id, expression = best[0]
        level = release.assertion_fields[as_id].get("evidence_level")
        cards.append(
            _order_card(
                release,
                source,
                "info",
                f"{drug} is supported: {expression.text} (level {level})",
                (as_id, expression),
            )
        )
    elif untested or lacking:
        if untested:
            as_id, expression = untested[0]
            missing = _leaves(expression, None)
            summary = f"{drug} needs {', '.join(missing) or expression.text}: never tested"
            card = _order_card(release, source, "warning", summary, (as_id, expression))
            card.suggestions = _test_suggestions(release, as_id, missing, drug, patient_reference)
        else:
            as_id, expression = lacking[0]
            summary = f"{drug} needs {expression.text}, which the patient lacks"
            card = _order_card(release, source, "warning", summary, (as_id, expression))
        cards.append(card)
    if untested_resistance and not resistant:
        as_id, expression = untested_resistance[0]
        missing = _leaves(expression, None)
        summary = (
            f"{', '.join(missing) or expression.text} not tested: it predicts resistance to {drug}"
        )
        card = _order_card(release, source, "warning", summary, (as_id, expression))
        card.suggestions = _test_suggestions(release, as_id, missing, drug, patient_reference)
        cards.append(card)
    return cards


def _order_card(
    release: LoadedRelease,
    source: Source,
    indicator: str,
    summary: str,
    pair: tuple[str, Explanation],
) -> Card:
    as_id, expression = pair
    fields = release.assertion_fields.get(as_id, {})
    detail = (
        f"{fields.get('description') or ''}\n\nWhy (assertion {as_id}):\n"
        + "\n".join(_lines(expression))
        + _requirements(fields)
        + citation_text(release, fields.get("citations") or ())
    )
    return Card(
        uuid=str(uuid.uuid4()),
        summary=_summary(summary),
        detail=detail,
        indicator="warning" if indicator == "warning" else "info",
        source=source,
        links=citation_links(release, fields.get("citations") or ()) or None,
    )


def _test_suggestions(
    release: LoadedRelease, as_id: str, missing: list[str], drug: str, patient_reference: str
) -> list[Suggestion]:
    fields = release.assertion_fields.get(as_id, {})
    what = ", ".join(missing) or "the biomarker"
    test = str(fields.get("cdx") or f"{what} testing")
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": patient_reference},
        "code": {"text": f"{what} testing"},
        "reasonCode": [{"text": f"Decides whether {drug} is indicated ({as_id})"}],
    }
    if fields.get("specimen"):
        resource["note"] = [{"text": f"Specimen: {fields['specimen']}; test: {test}"}]
    return [
        Suggestion(
            label=_summary(f"Order {what} testing"),
            uuid=str(uuid.uuid4()),
            isRecommended=True,
            actions=[Action(type="create", description=f"Order {test}", resource=resource)],
        )
    ]
