"""Trials as CTML, the MatchMiner clinical trial markup, one document per trial.

A trial becomes one registration step whose arms carry `match` trees: the arm's biomarker
expression as `genomic` (and, for TMB, `clinical`) criteria, and-ed with its clinical criteria
(OncoTree diagnoses by name, `!` for an excluded one, age, gender) — the vocabulary MatchMiner's
match engine reads (`hugo_symbol`, `protein_change`, `variant_category`, `cnv_call`,
`fusion_partner_hugo_symbol`, `ms_status`, `mmr_status`, `tmb_numerical`,
`oncotree_primary_diagnosis`, `age_numerical`, `gender`).

NOT is pushed down to the leaves (De Morgan), where CTML negates a criterion with a `!` prefix
on one of its values. A biomarker CTML has no criterion for (an expression assay such as HER2
IHC, HRD, a TMB status without a threshold) becomes a node holding only its `display_name`; the
release's kb.json, not CTML, is the authoritative rule.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kb.errors import KbError
from kb.model.expression import Tree
from kb.model.protein import ProteinChangeError, parse_protein_change
from kb.release.tables import SnapshotNames

Node = dict[str, Any]
NCT_ID = re.compile(r"NCT[0-9]{8}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

_PHASES = {
    "EARLY_PHASE1": "Early I",
    "PHASE1": "I",
    "PHASE1_PHASE2": "I/II",
    "PHASE2": "II",
    "PHASE2_PHASE3": "II/III",
    "PHASE3": "III",
    "PHASE4": "IV",
    "NA": "NA",
}
# MatchMiner's trial statuses; only "open to accrual" is matched against.
_STATUSES = {
    "NOT_YET_RECRUITING": "new",
    "RECRUITING": "open to accrual",
    "ENROLLING_BY_INVITATION": "open to accrual",
    "ACTIVE_NOT_RECRUITING": "closed to accrual",
    "SUSPENDED": "suspended",
    "TERMINATED": "terminated",
    "COMPLETED": "closed to accrual",
    "WITHDRAWN": "terminated",
    "UNKNOWN": "unknown",
}
_CLASSIFICATIONS = {
    "missense": "Missense_Mutation",
    "inframe_deletion": "In_Frame_Del",
    "inframe_insertion": "In_Frame_Ins",
    "nonsense": "Nonsense_Mutation",
    "splice": "Splice_Site",
}
_CNV_CALLS = {"amplification": "High Amplification", "deletion": "Homozygous Deletion"}
_MS = {"high": "MSI-H", "low": "MSI-L", "stable": "MSS"}
_MMR = {"deficient": "MMR-Deficient", "proficient": "MMR-Proficient"}
_SPECIAL_DIAGNOSES = {"ALL_SOLID": "_SOLID_", "ALL_LIQUID": "_LIQUID_", "ALL_TUMOURS": None}
_NEGATED_OPERATOR = {">=": "<", ">": "<=", "<=": ">", "<": ">="}
_GENDERS = {"FEMALE": "Female", "MALE": "Male"}


def document_name(fields: Mapping[str, Any]) -> str:
    """The name a trial's document is filed under (a file name in the release): its NCT id, or
    ``protocol-<number>`` for a trial known only by its protocol number, characters other than
    letters, digits, ``.``, ``_`` and ``-`` replaced (with a digest of the number then, so that
    two numbers never share a name)."""
    nct = str(fields.get("nct_id") or "")
    if nct:
        return nct
    protocol = str(fields.get("protocol_no") or "")
    safe = _UNSAFE.sub("_", protocol).strip("._") or "_"
    if safe != protocol:
        safe += "-" + hashlib.sha256(protocol.encode()).hexdigest()[:8]
    return f"protocol-{safe}"


def ctml_documents(snapshot: Mapping[str, Any]) -> dict[str, Node]:
    """One CTML document per trial, keyed by NCT id, or by ``protocol-<number>`` for a trial
    that has none yet (sorted)."""
    names = SnapshotNames(snapshot)
    records: Mapping[str, Sequence[Mapping[str, Any]]] = snapshot.get("records") or {}
    arms_by_trial: dict[str, list[Mapping[str, Any]]] = {}
    for arm in sorted(records.get("trial_arm", ()), key=lambda entry: str(entry["id"])):
        arms_by_trial.setdefault(arm["fields"].get("trial") or "", []).append(arm)
    documents: dict[str, Node] = {}
    for trial in sorted(records.get("trial", ()), key=lambda entry: str(entry["id"])):
        fields = trial["fields"]
        nct = str(fields.get("nct_id") or "")
        if nct and not NCT_ID.fullmatch(nct):
            # The id becomes a file name in the release: refuse anything but NCT + 8 digits.
            raise KbError(f"{trial['id']}: nct_id {nct!r} is not an NCT id such as NCT01234567")
        if not nct and not fields.get("protocol_no"):
            raise KbError(f"{trial['id']}: a trial needs an NCT id or a protocol number")
        name = document_name(fields)
        if name in documents:
            raise KbError(f"{trial['id']}: another trial is filed as {name} already")
        documents[name] = _trial(trial, arms_by_trial.get(trial["id"], []), names)
    return dict(sorted(documents.items()))


def _trial(
    trial: Mapping[str, Any], arms: Sequence[Mapping[str, Any]], names: SnapshotNames
) -> Node:
    fields = trial["fields"]
    status = _STATUSES.get(str(fields.get("status")), "unknown")
    # MatchMiner names a trial by its protocol number; the NCT id stands in where the KB has
    # none. A trial without an NCT id, title or phase (known by its protocol number until the
    # registry sync finds it) leaves that key out, as MatchMiner's own documents may.
    document: Node = {"protocol_no": fields.get("protocol_no") or fields.get("nct_id")}
    if fields.get("nct_id"):
        document["nct_id"] = fields["nct_id"]
    if fields.get("title"):
        document["long_title"] = fields["title"]
    if fields.get("phase"):
        document["phase"] = _PHASES.get(str(fields["phase"]), str(fields["phase"]))
    return {
        **document,
        "status": status,
        "_summary": {"status": [{"value": status}]},
        "treatment_list": {
            "step": [
                {
                    "step_code": "1",
                    "step_type": "Registration",
                    "arm": [_arm(arm, names) for arm in arms],
                }
            ]
        },
        "kb_curator": {"trial_id": trial["id"], "overall_status": fields.get("status")},
    }


def _arm(arm: Mapping[str, Any], names: SnapshotNames) -> Node:
    fields = arm["fields"]
    parts: list[Node] = []
    expression = names.of("expression").get(fields.get("expression") or "")
    if expression is not None:
        parts.append(_tree(expression["tree"], names, negate=False))
    parts.extend(_clinical(fields, names))
    match = [] if not parts else [parts[0] if len(parts) == 1 else {"and": parts}]
    return {
        "arm_code": fields.get("code"),
        "arm_description": fields.get("name") or "",
        "arm_suspended": "Y" if fields.get("suspended") else "N",
        "match": match,
        "dose_level": [],
        "kb_curator": {
            "arm_id": arm["id"],
            "expression": names.expression(fields.get("expression")) or None,
            "therapy": names.name("therapy", fields.get("therapy")) or None,
        },
    }


def _clinical(fields: Mapping[str, Any], names: SnapshotNames) -> list[Node]:
    common: dict[str, str] = {}
    if fields.get("min_age") is not None:
        common["age_numerical"] = f">={fields['min_age']}"
    gender = _GENDERS.get(str(fields.get("sex")))
    if gender:
        common["gender"] = gender
    diagnoses: list[str] = []
    for code in fields.get("tumour_types") or ():
        name = _diagnosis(code, names)
        if name is None:  # ALL_TUMOURS: no restriction by diagnosis
            diagnoses = []
            break
        diagnoses.append(name)
    parts: list[Node] = []
    if diagnoses:
        nodes = [{"clinical": {"oncotree_primary_diagnosis": name, **common}} for name in diagnoses]
        parts.append(nodes[0] if len(nodes) == 1 else {"or": nodes})
    elif common:
        parts.append({"clinical": dict(common)})
    for code in fields.get("excluded_tumour_types") or ():
        name = _diagnosis(code, names)
        if name is not None:
            parts.append({"clinical": {"oncotree_primary_diagnosis": f"!{name}"}})
    if fields.get("max_age") is not None:
        parts.append({"clinical": {"age_numerical": f"<={fields['max_age']}"}})
    return parts


def _diagnosis(code: str, names: SnapshotNames) -> str | None:
    if code in _SPECIAL_DIAGNOSES:
        return _SPECIAL_DIAGNOSES[code]
    return names.tumour_names.get(code, code)


def _tree(tree: Tree, names: SnapshotNames, *, negate: bool) -> Node:
    if "op" not in tree:
        return _leaf(tree, names, negate=negate)
    op = tree["op"]
    if op == "NOT":
        return _tree(tree["args"][0], names, negate=not negate)
    # De Morgan: NOT (A AND B) is (NOT A) OR (NOT B), and the other way round.
    key = {"AND": "and", "OR": "or"}[op]
    if negate:
        key = "or" if key == "and" else "and"
    return {key: [_tree(arg, names, negate=negate) for arg in tree["args"]]}


def _leaf(leaf: Tree, names: SnapshotNames, *, negate: bool) -> Node:
    bm_id = leaf["biomarker"]
    display = names.leaf_text(leaf)
    fields = names.of("biomarker").get(bm_id) or {}
    threshold = names.of("threshold").get(leaf.get("threshold") or "")
    gene = names.genes.get(fields.get("gene") or "")
    kind = fields.get("kind")
    criterion: dict[str, Any] = {}
    negatable = "variant_category"
    match kind:
        case "sequence_variant":
            criterion = {"hugo_symbol": gene, "variant_category": "Mutation"}
            change = str(fields.get("protein_change") or "")
            with contextlib.suppress(ProteinChangeError):
                change = "p." + parse_protein_change(change).short
            if change:
                criterion["protein_change"] = change
        case "range" | "categorical" if _expressible(fields):
            criterion = {"hugo_symbol": gene, "variant_category": "Mutation"}
            if fields.get("exon") is not None:
                criterion["exon"] = fields["exon"]
            classification = _CLASSIFICATIONS.get(str(fields.get("consequence")))
            if classification:
                criterion["variant_classification"] = classification
        case "copy_number":
            criterion = {"hugo_symbol": gene, "variant_category": "Copy Number Variation"}
            call = _CNV_CALLS.get(str(fields.get("copy_number")))
            if call:
                criterion["cnv_call"] = call
        case "fusion":
            five = names.genes.get(fields.get("partner_5") or "")
            three = names.genes.get(fields.get("partner_3") or "")
            criterion = {"hugo_symbol": five or three, "variant_category": "Structural Variation"}
            if five and three:
                criterion["fusion_partner_hugo_symbol"] = three
        case "characteristic":
            characteristic, status = fields.get("characteristic"), str(fields.get("status"))
            if characteristic == "MSI" and status in _MS:
                criterion, negatable = {"ms_status": _MS[status]}, "ms_status"
            elif characteristic == "MMR" and status in _MMR:
                criterion, negatable = {"mmr_status": _MMR[status]}, "mmr_status"
            elif characteristic == "TMB" and threshold and threshold.get("operator") != "in":
                return _tmb(threshold, negate=negate)
    if not criterion or not all(criterion.values()):
        return {"genomic": {"display_name": f"NOT {display}" if negate else display}}
    if negate:
        criterion[negatable] = f"!{criterion[negatable]}"
    criterion["display_name"] = f"NOT {display}" if negate else display
    return {"genomic": criterion}


def _expressible(fields: Mapping[str, Any]) -> bool:
    """Whether CTML's mutation criteria say exactly what a range or category biomarker means.
    A codon span (MatchMiner's wildcard needs the reference residue, which the KB does not
    keep), a consequence with no single variant classification (frameshift, ITD …) or a
    category that needs oncogenicity would become "any mutation in the gene": a wider rule
    than the KB's, which could offer a trial to a patient it does not fit. Those are written as
    a display name only; the release's kb.json holds the rule."""
    if fields.get("codon_start") is not None or fields.get("codon_end") is not None:
        return False
    consequence = fields.get("consequence")
    if consequence and consequence != "any" and consequence not in _CLASSIFICATIONS:
        return False
    category = fields.get("category")
    return not category or category == "any_mutation"


def _tmb(threshold: Mapping[str, Any], *, negate: bool) -> Node:
    operator, value = str(threshold.get("operator")), str(threshold.get("value"))
    if negate:
        if operator in _NEGATED_OPERATOR:
            operator = _NEGATED_OPERATOR[operator]
        else:
            return {"clinical": {"tmb_numerical": f"!{operator}{value}"}}
    return {"clinical": {"tmb_numerical": f"{operator}{value}"}}
