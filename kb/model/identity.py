"""What makes two records "the same" when they have no human id yet (imports, duplicates).

A record's identity key is built from the fields that define it — for a biomarker its kind and
defining attributes, for an assertion its expression, therapy, tumour scope and implication —
never from descriptive text. Validation reports two records with one key as duplicates, and an
import matches an incoming row to the existing record with its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from kb.model.enums import RecordType

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
        "direction",
        "line_of_therapy",
    ),
    RecordType.TRIAL: ("nct_id",),
    RecordType.TRIAL_ARM: ("trial", "code"),
    RecordType.EXON_MAP: ("gene",),
    RecordType.EVIDENCE_ITEM: ("source", "source_id"),
    RecordType.ONCOGENICITY: ("biomarker",),
    RecordType.LEVEL_SCHEME: ("name",),
    RecordType.LEVEL_CROSSWALK: ("source_scheme", "target_scheme", "implication"),
}
# Compared without regard to case or order.
_CASELESS = {(RecordType.DRUG, "name"), (RecordType.GENE, "symbol")}
_UNORDERED = {(RecordType.THERAPY, "drugs")}


def defining_fields(rtype: RecordType) -> tuple[str, ...]:
    return _DEFINING[rtype]


def identity_key(rtype: RecordType, fields: Mapping[str, Any]) -> bytes:
    """A hashable key: equal for two records that describe the same thing.

    The defining values serialised as JSON with sorted keys (orjson: validation keys every
    record of a 100k KB, an import every row), with "" and [] read as absent, case folded and
    order ignored where that carries no meaning.
    """
    caseless, unordered = _PLAN[rtype]
    get = fields.get
    parts = [get(name) for name in _DEFINING[rtype]]
    for index, value in enumerate(parts):
        if value in ("", []):
            parts[index] = None
    for index in caseless:
        text = parts[index]
        if isinstance(text, str):
            parts[index] = text.lower()
    for index in unordered:
        items = parts[index]
        if isinstance(items, list):
            parts[index] = sorted(items)
    return _dumps(parts)


# Per type: positions (in _DEFINING order) of the caseless and of the unordered fields.
_PLAN: dict[RecordType, tuple[tuple[int, ...], tuple[int, ...]]] = {
    rtype: (
        tuple(i for i, name in enumerate(names) if (rtype, name) in _CASELESS),
        tuple(i for i, name in enumerate(names) if (rtype, name) in _UNORDERED),
    )
    for rtype, names in _DEFINING.items()
}


def _dumps(parts: list[Any]) -> bytes:
    return orjson.dumps(parts, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def freeze(value: Any) -> Any:
    """A hashable, order-preserving copy of JSON-like data ("" and [] count as absent)."""
    if isinstance(value, Mapping):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value) or None
    if value == "":
        return None
    return value
