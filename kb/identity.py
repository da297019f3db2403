"""What makes two records "the same" when they have no human id yet (imports, duplicates).

A record's identity key is built from the fields that define it — for a biomarker its kind and
defining attributes, for an assertion its expression, therapy, tumour scope and implication —
never from descriptive text. Validation reports two records with one key as duplicates, and an
import matches an incoming row to the existing record with its key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kb.enums import RecordType

_DEFINING: dict[RecordType, tuple[str, ...]] = {
    RecordType.GENE: ("symbol",),
    RecordType.BIOMARKER: (
        "kind",
        "gene",
        "origin",
        "protein_change",
        "exon",
        "codon_start",
        "codon_end",
        "consequence",
        "category",
        "exclusions",
        "copy_number",
        "partner_5",
        "partner_3",
        "characteristic",
        "status",
        "assay",
    ),
    RecordType.THRESHOLD: ("metric", "operator", "value", "unit", "assay", "specimen"),
    RecordType.EXPRESSION: ("tree",),
    RecordType.DRUG: ("name",),
    RecordType.THERAPY: ("drugs",),
    RecordType.CITATION: ("kind", "identifier"),
    RecordType.APPROVAL: ("therapy", "agency", "date", "indication"),
    RecordType.ASSERTION: (
        "expression",
        "therapy",
        "tumour_types",
        "excluded_tumour_types",
        "implication",
        "line_of_therapy",
    ),
    RecordType.TRIAL: ("nct_id",),
    RecordType.TRIAL_ARM: ("trial", "code"),
}
# Compared without regard to case or order.
_CASELESS = {(RecordType.DRUG, "name"), (RecordType.GENE, "symbol")}
_UNORDERED = {(RecordType.THERAPY, "drugs")}


def defining_fields(rtype: RecordType) -> tuple[str, ...]:
    return _DEFINING[rtype]


def identity_key(rtype: RecordType, fields: Mapping[str, Any]) -> str:
    """A hashable key: equal for two records that describe the same thing.

    Serialised with json.dumps (C speed: validation keys every record of a 100k KB), with
    "" and [] read as absent, case folded and order ignored where that carries no meaning.
    """
    parts: list[Any] = []
    for name in _DEFINING[rtype]:
        value = fields.get(name)
        if value in ("", []):
            value = None
        elif (rtype, name) in _CASELESS and isinstance(value, str):
            value = value.lower()
        elif (rtype, name) in _UNORDERED and isinstance(value, list):
            value = sorted(value)
        parts.append(value)
    return _dumps(parts)


_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def freeze(value: Any) -> Any:
    """A hashable, order-preserving copy of JSON-like data ("" and [] count as absent)."""
    if isinstance(value, Mapping):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value) or None
    if value == "":
        return None
    return value
