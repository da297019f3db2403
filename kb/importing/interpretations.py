"""Interpretation sheets: a third party's one-row-per-statement table (gene, alteration, cancer
type, drugs, level, PMIDs) read as assertions through an ordinary TOML mapping profile.

An assertion refers to an expression, a therapy and citations, which such a sheet does not
hold as records. A profile mapping `record_type = "assertion"` may therefore map columns to
these building fields as well as to the assertion's own:

* ``gene`` and ``alteration`` (``BRAF`` + ``V600E``, ``EGFR`` + ``Exon 19 Deletion``, ``ERBB2``
  + ``Amplification``), or ``molecular_profile`` (``BRAF V600E``; AND / OR as CIViC writes
  them) -> the biomarker(s) and the expression, read by the CIViC adapter's rules
  (`kb.importing.civic.component_tree`), so both read alterations the same way;
* ``drugs`` -> one therapy: the drugs of a cell (split on the list separator and on ``+``) are
  one regimen, the KB's therapy with those drugs if it has one;
* ``pmids`` -> PubMed citations, added to ``citations``.

Names are the KB's: a gene must be an HGNC approved symbol (an alias or previous symbol is
reported with what it stands for), a drug one the KB has (unless the profile says
``new_drugs = true``), a tumour type an OncoTree code or an OncoTree name. What does not fit
is reported at its cell, with the value, so the curator maps it once in the profile's
``[value_maps]`` (the app offers ranked candidates, kb/importing/candidates.py) and a re-run
reads every row holding it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kb.importing.civic import (
    KbLookup,
    ProfileError,
    RecordBuilder,
    component_tree,
    parse_molecular_profile,
    profile_tree,
)
from kb.importing.model import ImportError_, Location, ProposedRecord, SourceRow
from kb.model.enums import SPECIAL_SCOPES, CitationKind, Origin, RecordType
from kb.model.records import SPECS, FieldSpec

__all__ = ["COMPOSITE_FIELDS", "compose_row", "guess_field", "provided_by"]

COMPOSITE_FIELDS: Mapping[RecordType, Mapping[str, FieldSpec]] = {
    RecordType.ASSERTION: {
        "gene": FieldSpec("gene", "str", help="the altered gene's symbol (with alteration)"),
        "alteration": FieldSpec(
            "alteration", "str", help="the alteration: V600E, Exon 19 Deletion, Amplification…"
        ),
        "molecular_profile": FieldSpec(
            "molecular_profile", "str", help="gene and alteration in one cell: BRAF V600E"
        ),
        "drugs": FieldSpec("drugs", "strings", help="the drugs of one regimen (A + B)"),
        "pmids": FieldSpec("pmids", "strings", help="PubMed ids, cited"),
    }
}
_PROVIDES = {
    "gene": "expression",
    "alteration": "expression",
    "molecular_profile": "expression",
    "drugs": "therapy",
    "pmids": "citations",
}
_PMID = re.compile(r"^(?:PMID:?\s*)?(\d{1,9})$", re.IGNORECASE)
_ASSERTION_SPECS = {spec.name: spec for spec in SPECS[RecordType.ASSERTION]}


def provided_by(name: str) -> set[str]:
    """The building fields that provide the record field `name` (expression <- gene, …)."""
    return {built for built, target in _PROVIDES.items() if target == name}


def compose_row(
    record: ProposedRecord,
    errors: tuple[ImportError_, ...],
    new_drugs: bool,
    lookup: KbLookup | None,
) -> SourceRow:
    """The row's assertion with its building fields turned into the records it refers to."""
    where = record.location
    columns = dict(record.columns)
    fields = dict(record.fields)
    builder = RecordBuilder(f"{where.sheet or 'rows'}!{where.row}", where, lookup)
    builder.errors.extend(errors)

    def at(name: str) -> Location:
        return Location(where.file, where.sheet, where.row, columns.get(name))

    def report(name: str, code: str, message: str, value: Any) -> None:
        builder.error(at(name), name, code, message, value)

    gene = _text(fields.pop("gene", None))
    alteration = _text(fields.pop("alteration", None))
    profile = _text(fields.pop("molecular_profile", None))
    drugs = [str(d).strip() for d in fields.pop("drugs", None) or [] if str(d).strip()]
    pmids = [str(p).strip() for p in fields.pop("pmids", None) or [] if str(p).strip()]

    tree = None
    if gene and lookup is not None:
        builder.gene(gene, at("gene"), "gene")  # reported at the gene's own cell
    try:
        if profile:
            tree = profile_tree(parse_molecular_profile(profile))
        elif gene or alteration:
            if not gene:
                raise ProfileError("the row names an alteration but no gene")
            tree = component_tree(gene, alteration)
    except ProfileError as exc:
        name = "molecular_profile" if profile else ("alteration" if gene else "gene")
        report(name, exc.code, exc.message, profile or alteration or gene)
    if tree is not None:
        name = "molecular_profile" if profile else "alteration"
        origin = Origin.GERMLINE if fields.get("origin") == "germline" else Origin.SOMATIC
        expression = builder.expression(tree, origin, at(name), name)
        if expression is not None:
            fields["expression"] = expression
            columns["expression"] = columns.get(name, "")

    if drugs:
        names = [part.strip() for drug in drugs for part in drug.split("+") if part.strip()]
        known = lookup.drugs if lookup is not None else {}
        unknown = [n for n in names if lookup is not None and n.lower() not in known]
        if unknown and not new_drugs:
            for name in unknown:
                report(
                    "drugs",
                    "unknown_drug",
                    f"{name} is not a drug in the KB; map it to one (or allow new drugs in "
                    "the profile: new_drugs = true)",
                    name,
                )
        else:
            fields["therapy"] = builder.therapy(list(dict.fromkeys(names)), at("drugs"))
            columns["therapy"] = columns.get("drugs", "")

    if pmids:
        cited = list(fields.get("citations") or [])
        for text in pmids:
            match = _PMID.match(text)
            if match is None:
                report("pmids", "invalid_value", "expected a PubMed id such as 25079552", text)
                continue
            cited.append(builder.citation(CitationKind.PMID, match[1], "", at("pmids")))
        fields["citations"] = cited
        columns["citations"] = columns.get("pmids", "")

    _check_codes(fields, lookup, report)
    _check_enums(fields, report)
    if builder.errors:
        return SourceRow(where, errors=tuple(builder.errors))
    assertion = ProposedRecord(
        record.rtype, record.key, fields, where, record.human_id, columns, record.update
    )
    return SourceRow(where, records=(*builder.records, assertion))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _check_codes(fields: dict[str, Any], lookup: KbLookup | None, report: Any) -> None:
    """Tumour types given as OncoTree names read as their codes; others are reported here, so
    one pass shows every unknown value of a row (the engine checks codes again)."""
    if lookup is None or not lookup.tumour_codes:
        return
    for name in ("tumour_types", "excluded_tumour_types"):
        values = fields.get(name)
        if not isinstance(values, list):
            continue
        codes = []
        for value in values:
            text = str(value).strip()
            named = lookup.tumour_names.get(" ".join(text.lower().split()))
            if text in lookup.tumour_codes or text in SPECIAL_SCOPES:
                codes.append(text)
            elif text.upper() in lookup.tumour_codes:
                codes.append(text.upper())
            elif named and len(named) == 1:
                codes.append(named[0])
            else:
                report(
                    name,
                    "unknown_code",
                    f"{text!r} is neither an OncoTree code nor an OncoTree name",
                    text,
                )
        fields[name] = codes


def _check_enums(fields: dict[str, Any], report: Any) -> None:
    for name, spec in _ASSERTION_SPECS.items():
        value = fields.get(name)
        if spec.kind != "enum" or spec.enum is None or not isinstance(value, str):
            continue
        allowed = {member.value for member in spec.enum}
        if value not in allowed:
            report(name, "invalid_value", f"{value!r} is not {spec.expected()}", value)


# Header words third-party interpretation sheets use for the fields, as header keys.
_GUESSES = {
    "gene": ("gene", "gene symbol", "hugo symbol", "symbol", "gene name"),
    "alteration": ("alteration", "variant", "protein change", "mutation", "hgvsp", "aa change"),
    "molecular_profile": ("molecular profile", "biomarker"),
    "tumour_types": ("cancer type", "tumour type", "tumor type", "disease", "oncotree code",
                     "indication", "cancer"),
    "drugs": ("drug(s)", "drugs", "drug", "therapy", "therapies", "treatment"),
    "evidence_level": ("level of evidence", "level", "evidence level", "oncokb level"),
    "pmids": ("pmids", "pmid", "pubmed", "pubmed ids", "references", "citations"),
    "implication": ("implication", "significance", "clinical significance"),
    "description": ("description", "summary", "comment", "interpretation"),
}  # fmt: skip


def guess_field(header_key: str, fields: Mapping[str, Any]) -> str | None:
    """The field a column with this header (as `profiles.header_key` folds it) most likely
    holds, among `fields`; None when nothing fits. A suggestion for the mapping page only."""
    name = header_key.replace(" ", "_")
    if name in fields:
        return name
    for target, words in _GUESSES.items():
        if target in fields and header_key in words:
            return target
    return None
