"""What makes two records "the same" when they have no human id yet (imports, duplicates).

A record's identity key is built from the fields that define it — for a biomarker its kind and
defining attributes, for an assertion its expression, therapy, tumour scope and implication —
never from descriptive text. Validation reports two records with one key as duplicates, and an
import matches an incoming row to the existing record with its key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
        "dna_change",
        "dbsnp_id",
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


def identity_key(rtype: RecordType, fields: Mapping[str, Any]) -> tuple[Any, ...]:
    """A hashable key: equal for two records that describe the same thing.

    The defining values, with "" and [] read as absent, case folded and order ignored where
    that carries no meaning. Text, whole numbers and None stand as themselves; any other value
    (a list, a tree, a float, a bool) as its JSON with sorted keys, so that two keys are equal
    exactly when the defining values' JSON is. A tuple, not the JSON of the whole: validation
    keys every record of a 100k KB and an import every row, and most values are plain text.
    """
    if rtype is RecordType.TRIAL and not fields.get("nct_id") and fields.get("protocol_no"):
        # Keyed by its protocol number until it has an NCT id (never equal to an NCT id key).
        return ("protocol_no", " ".join(str(fields["protocol_no"]).upper().split()))
    caseless, unordered = _PLAN[rtype]
    get = fields.get
    # Only an empty value other than None is compared with "" and []: most are text or None,
    # and a literal ("", []) would build a list and a tuple per value.
    parts = [
        None
        if not (value := get(name)) and value is not None and (value == "" or value == [])  # noqa: PLR1714
        else value
        for name in _DEFINING[rtype]
    ]
    for index in caseless:
        text = parts[index]
        if isinstance(text, str):
            parts[index] = text.lower()
    for index in unordered:
        items = parts[index]
        if isinstance(items, list):
            parts[index] = sorted(items)
    if not _PLAIN.issuperset(map(type, parts)):
        parts = [_part(value) for value in parts]
    return tuple(parts)


def identity_keys(
    rtype: RecordType, column: Callable[[str], Sequence[Any]], count: int
) -> list[tuple[Any, ...]]:
    """`identity_key` of `count` records at once, given column by column: `column(name)` is the
    value of field `name` in each record, in order. The same keys, in a handful of passes over
    each column instead of a loop per record (an import keys every row of a 100,000-row sheet).
    Not for trials, whose key depends on which fields are set.
    """
    if rtype is RecordType.TRIAL:
        raise ValueError("a trial's identity depends on its fields: key trials one by one")
    caseless, unordered = _PLAN[rtype]
    columns: list[Sequence[Any]] = []
    for at, name in enumerate(_DEFINING[rtype]):
        values = column(name)
        if len(values) != count:
            raise ValueError(f"{name}: {len(values)} values for {count} records")
        types = set(map(type, values))
        if not types <= _PLAIN or (str in types and "" in values):
            # "" and [] read as absent, as in identity_key (text, whole numbers and None need
            # no look unless there is an empty text).
            values = [
                None
                if not value and value is not None and (value == "" or value == [])  # noqa: PLR1714
                else value
                for value in values
            ]
        if at in caseless:
            values = [value.lower() if isinstance(value, str) else value for value in values]
        if at in unordered:
            values = [sorted(value) if isinstance(value, list) else value for value in values]
        if not _PLAIN.issuperset(map(type, values)):
            values = [_part(value) for value in values]  # the same on a plain value
        columns.append(values)
    return list(zip(*columns, strict=True)) if columns else [()] * count


# Values that stand for themselves in a key: as JSON, two of them are equal exactly when they
# are. (True == 1 == 1.0 in Python, not in JSON: bools and floats go as JSON.)
_PLAIN = frozenset({str, int, type(None)})


def _part(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, str):  # an enum member: JSON has its text
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    # Bytes never equal text, a number or None, so JSON cannot collide with a plain value.
    return _dumps(value)


# Per type: positions (in _DEFINING order) of the caseless and of the unordered fields.
_PLAN: dict[RecordType, tuple[tuple[int, ...], tuple[int, ...]]] = {
    rtype: (
        tuple(i for i, name in enumerate(names) if (rtype, name) in _CASELESS),
        tuple(i for i, name in enumerate(names) if (rtype, name) in _UNORDERED),
    )
    for rtype, names in _DEFINING.items()
}


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def freeze(value: Any) -> Any:
    """A hashable, order-preserving copy of JSON-like data ("" and [] count as absent)."""
    if isinstance(value, Mapping):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value) or None
    if value == "":
        return None
    return value
