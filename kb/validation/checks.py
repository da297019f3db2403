"""Validation of KB content: every problem names the record, the field, the value and what was
expected (DESIGN §2). Runs over plain record rows, so the same checks serve the main line, a
snapshot of an old version, or a change set's result.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.model import expression as exprs
from kb.model.enums import (
    CHARACTERISTIC_STATUSES,
    DIRECTIONS_FOR,
    EXPRESSION_STATUSES,
    LEVEL_SCHEME,
    LEVELLED,
    METHYLATION_STATUSES,
    SPECIAL_SCOPES,
    BiomarkerKind,
    Characteristic,
    EvidenceLevel,
    Implication,
    Operator,
    Origin,
    RecordType,
)
from kb.model.exons import ExonMapError, parse_exons
from kb.model.identity import identity_key
from kb.model.levels import LevelSchemeError, level_key, parse_entries, parse_levels
from kb.model.metrics import METRICS, Metric, ThresholdValueError, check_value
from kb.model.orm import PROTOCOL_NO_LENGTH, HgncGene, HgncSynonym
from kb.model.protein import ProteinChangeError, parse_protein_change
from kb.model.records import (
    SPECS,
    FieldError,
    RecordRow,
    coerce,
    list_records,
    marked_keys,
)
from kb.vocab.oncotree import TumourTree
from kb.vocab.releases import vocabulary_versions

_DNA_CHANGE = re.compile(r"^[cg]\.[-*]?\d[\w+\-*_>]*$")
_NCT = re.compile(r"^NCT\d{8}$")
_HGNC_ID = re.compile(r"^HGNC:\d+$")
_RESISTANCE_LEVELS = {EvidenceLevel.R1.value, EvidenceLevel.R2.value}


@dataclass(frozen=True, slots=True)
class Problem:
    record: str
    record_type: str
    field: str
    value: Any
    code: str
    message: str
    expected: str
    severity: str = "error"

    def __str__(self) -> str:
        value = "" if self.value is None else f" {self.value!r}"
        return (
            f"{self.record} ({self.record_type}) {self.field}:{value} {self.message}"
            f"; expected {self.expected}"
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Vocabularies:
    """What validation checks names against; empty parts mean "not loaded", not "all wrong"."""

    tumour_tree: TumourTree | None = None
    hgnc_symbols: dict[str, str] = field(default_factory=dict)
    hgnc_ids: dict[str, str] = field(default_factory=dict)
    hgnc_synonyms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_session(cls, session: Session) -> Vocabularies:
        tree = TumourTree.from_session(session)
        symbols = dict(session.execute(select(HgncGene.symbol, HgncGene.hgnc_id)).all())
        synonyms: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for synonym, symbol, kind in session.execute(
            select(HgncSynonym.synonym, HgncGene.symbol, HgncSynonym.kind).join(
                HgncGene, HgncGene.hgnc_id == HgncSynonym.hgnc_id
            )
        ):
            synonyms[synonym].append((symbol, kind))
        return cls(
            tumour_tree=tree if len(tree) else None,
            hgnc_symbols=symbols,
            hgnc_ids={hgnc_id: symbol for symbol, hgnc_id in symbols.items()},
            hgnc_synonyms=dict(synonyms),
            versions=vocabulary_versions(session),
        )


def validate_kb(session: Session) -> list[Problem]:
    """Validate the KB's main line against its loaded vocabularies, and check that its typed
    tables still hold what its current version says (drift is an error: they were written
    outside a merge)."""
    from kb.storage.drift import check_drift

    rows = [row for rtype in RecordType for row in list_records(session, rtype)]
    problems = validate_rows(rows, Vocabularies.from_session(session))
    drift = check_drift(session)
    problems += [
        Problem(
            d.human_id,
            d.record_type,
            d.field or "record",
            d.stored,
            "drift",
            "was written outside a merge" if d.field else d.problem,
            f"{d.versioned!r}, as version {drift.version} holds "
            "(`kb audit verify --deep` lists every difference)",
        )
        for d in drift.drifts
    ]
    return problems


def validate_rows(
    rows: Sequence[RecordRow], vocab: Vocabularies, *, context: Sequence[RecordRow] | None = None
) -> list[Problem]:
    """All problems in `rows`, sorted by record id then field.

    `context` is the whole KB the rows live in (default: the rows themselves): references and
    duplicates are checked against it, but only problems of `rows` are reported.
    """
    index: dict[RecordType, dict[str, RecordRow]] = defaultdict(dict)
    for row in context if context is not None else rows:
        index[row.type][row.human_id] = row
    for row in rows:
        index[row.type][row.human_id] = row
    checker = _Checker(index, vocab, {row.human_id for row in rows})
    problems = list(checker.run(rows))
    if vocab.tumour_tree is None:
        problems.append(
            Problem(
                "KB",
                "vocabulary",
                "oncotree",
                None,
                "vocabulary_missing",
                "no OncoTree release is loaded, so tumour types were not checked",
                "kb vocab load oncotree FILE",
                "warning",
            )
        )
    if not vocab.hgnc_symbols:
        problems.append(
            Problem(
                "KB",
                "vocabulary",
                "hgnc",
                None,
                "vocabulary_missing",
                "no HGNC gene list is loaded, so gene symbols were not checked",
                "kb vocab load hgnc FILE",
                "warning",
            )
        )
    return sorted(problems, key=lambda p: (p.severity != "error", p.record, p.field, p.code))


class _Checker:
    def __init__(
        self,
        index: Mapping[RecordType, Mapping[str, RecordRow]],
        vocab: Vocabularies,
        checked: set[str],
    ):
        self.index = index
        self.vocab = vocab
        self.checked = checked

    def run(self, rows: Iterable[RecordRow]) -> Iterator[Problem]:
        for row in rows:
            yield from self._fields(row)
            check: Callable[[RecordRow], Iterator[Problem]] | None = getattr(
                self, f"_check_{row.type.value}", None
            )
            if check is not None:
                yield from check(row)
        yield from self._duplicates()

    def problem(
        self,
        row: RecordRow,
        name: str,
        code: str,
        message: str,
        expected: str,
        *,
        value: Any = None,
        severity: str = "error",
    ) -> Problem:
        if value is None:
            value = row.fields.get(name)
        return Problem(row.human_id, row.type.value, name, value, code, message, expected, severity)

    # -- generic: types, required fields, references ----------------------------------------

    def _fields(self, row: RecordRow) -> Iterator[Problem]:
        for spec in SPECS[row.type]:
            value = row.fields.get(spec.name)
            try:
                coerce(row.type, spec, value, record=row.human_id)
            except FieldError as exc:
                yield self.problem(row, spec.name, "invalid_value", exc.problem, exc.expected)
                continue
            if spec.kind == "ref" and value:
                yield from self._reference(row, spec.name, spec.ref, [value])
            elif spec.kind == "refs" and value:
                yield from self._reference(row, spec.name, spec.ref, list(value))
            elif spec.kind == "codes":
                yield from self._codes(row, spec.name, value or [])
        for name in marked_keys(row.type, row.fields):
            yield self.problem(
                row,
                name,
                "clone_key",
                "is still a clone's placeholder (its source's value, marked as a copy)",
                f"a {name} of this record's own: no two {row.type.value.replace('_', ' ')}s "
                "share it",
            )

    def _reference(
        self, row: RecordRow, name: str, target: RecordType | None, values: list[str]
    ) -> Iterator[Problem]:
        assert target is not None
        for value in values:
            if value not in self.index.get(target, {}):
                yield self.problem(
                    row,
                    name,
                    "dangling_reference",
                    f"refers to a {target} that does not exist",
                    f"the id of an existing {target}",
                    value=value,
                )

    def _codes(self, row: RecordRow, name: str, codes: list[str]) -> Iterator[Problem]:
        tree = self.vocab.tumour_tree
        if tree is None:
            return
        release = self.vocab.versions.get("oncotree", "the loaded OncoTree")
        for code in codes:
            if code in SPECIAL_SCOPES or code in tree:
                continue
            replacement = tree.revoked.get(code)
            if replacement:
                yield self.problem(
                    row,
                    name,
                    "revoked_code",
                    f"OncoTree code {code} is revoked or renamed in {release}",
                    f"a current code (now {replacement})",
                    value=code,
                )
            else:
                yield self.problem(
                    row,
                    name,
                    "unknown_code",
                    f"OncoTree code {code} is not in {release}",
                    "an OncoTree code such as NSCLC or LUAD, or ALL_TUMOURS / ALL_SOLID / "
                    "ALL_LIQUID",
                    value=code,
                )

    # -- per type ---------------------------------------------------------------------------

    def _check_gene(self, row: RecordRow) -> Iterator[Problem]:
        symbol, hgnc_id = row.fields.get("symbol") or "", row.fields.get("hgnc_id") or ""
        if hgnc_id and not _HGNC_ID.match(hgnc_id):
            yield self.problem(row, "hgnc_id", "malformed_id", "is not an HGNC id", "HGNC:<number>")
        if not self.vocab.hgnc_symbols:
            return
        approved = self.vocab.hgnc_symbols.get(symbol)
        if approved is None:
            hits = self.vocab.hgnc_synonyms.get(symbol.upper(), [])
            if hits:
                suggestion, kind = hits[0]
                yield self.problem(
                    row,
                    "symbol",
                    "not_approved_symbol",
                    f"is a {kind} symbol, not the HGNC approved symbol",
                    f"the approved symbol {suggestion}",
                )
            else:
                yield self.problem(
                    row,
                    "symbol",
                    "unknown_gene",
                    "is not an HGNC symbol",
                    f"an approved symbol in HGNC {self.vocab.versions.get('hgnc', '')}".strip(),
                )
        elif hgnc_id and approved != hgnc_id:
            yield self.problem(
                row,
                "hgnc_id",
                "hgnc_id_mismatch",
                f"does not belong to {symbol}",
                f"{approved} (the HGNC id of {symbol})",
            )

    def _check_biomarker(self, row: RecordRow) -> Iterator[Problem]:
        f = row.fields
        kind = f.get("kind")
        needs: dict[str, tuple[str, ...]] = {
            BiomarkerKind.SEQUENCE_VARIANT: ("gene",),
            BiomarkerKind.RANGE: ("gene", "consequence"),
            BiomarkerKind.CATEGORICAL: ("category",),
            BiomarkerKind.COPY_NUMBER: ("gene", "copy_number"),
            BiomarkerKind.CHARACTERISTIC: ("characteristic", "status"),
            BiomarkerKind.EXPRESSION: ("gene",),
            BiomarkerKind.METHYLATION: ("gene", "status"),
            BiomarkerKind.WILD_TYPE: ("gene",),
        }
        for name in needs.get(kind or "", ()):
            if f.get(name) in (None, ""):
                yield self.problem(
                    row,
                    name,
                    "missing_field",
                    f"is required for a {kind} biomarker",
                    SPECS_BY_NAME[RecordType.BIOMARKER][name].expected(),
                )
        if kind == BiomarkerKind.SEQUENCE_VARIANT and not (
            f.get("protein_change") or f.get("dna_change") or f.get("dbsnp_id")
        ):
            yield self.problem(
                row,
                "protein_change",
                "missing_field",
                "a sequence variant needs a protein or a DNA change, or a dbSNP id",
                "an HGVS p. change (p.V600E), a c./g. change in dna_change, or an rs id in "
                "dbsnp_id",
            )
        if (
            kind == BiomarkerKind.RANGE
            and f.get("exon") is None
            and f.get("codon_start") is None
            and f.get("consequence") in (None, "any")
        ):
            yield self.problem(
                row,
                "exon",
                "missing_field",
                "a range biomarker of any consequence needs an exon or codons",
                "an exon number, or codon_start (and codon_end), or a named consequence",
            )
        dna = f.get("dna_change")
        if dna and not _DNA_CHANGE.match(str(dna)):
            yield self.problem(
                row,
                "dna_change",
                "malformed_hgvs",
                "is not an HGVS c. or g. change",
                "c.393T>C, c.2573T>G, c.-124C>T or g.1295228G>A",
            )
        if dna and kind != BiomarkerKind.SEQUENCE_VARIANT:
            yield self.problem(
                row,
                "dna_change",
                "field_not_applicable",
                f"does not apply to a {kind} biomarker",
                "no DNA change",
            )
        if f.get("dbsnp_id") and kind != BiomarkerKind.SEQUENCE_VARIANT:
            yield self.problem(
                row,
                "dbsnp_id",
                "field_not_applicable",
                f"does not apply to a {kind} biomarker",
                "no dbSNP id",
            )
        statuses: tuple[str, ...] | None = {
            BiomarkerKind.EXPRESSION.value: EXPRESSION_STATUSES,
            BiomarkerKind.METHYLATION.value: METHYLATION_STATUSES,
        }.get(str(kind))
        if statuses and f.get("status") and f["status"] not in statuses:
            yield self.problem(
                row,
                "status",
                "invalid_value",
                f"is not a status of a {kind} biomarker",
                "one of " + ", ".join(statuses),
            )
        if kind == BiomarkerKind.FUSION and not (f.get("partner_5") or f.get("partner_3")):
            yield self.problem(
                row,
                "partner_3",
                "missing_field",
                "a fusion needs at least one named partner",
                "a 5' or 3' partner gene",
            )
        if f.get("protein_change"):
            try:
                parse_protein_change(f["protein_change"])
            except ProteinChangeError as exc:
                yield self.problem(
                    row, "protein_change", "malformed_hgvs", exc.message, exc.expected
                )
            if kind != BiomarkerKind.SEQUENCE_VARIANT:
                yield self.problem(
                    row,
                    "protein_change",
                    "field_not_applicable",
                    f"does not apply to a {kind} biomarker",
                    "no protein change",
                )
        if kind == BiomarkerKind.CHARACTERISTIC and f.get("characteristic"):
            allowed = CHARACTERISTIC_STATUSES[Characteristic(f["characteristic"])]
            if f.get("status") and f["status"] not in allowed:
                yield self.problem(
                    row,
                    "status",
                    "invalid_value",
                    f"is not a status of {f['characteristic']}",
                    "one of " + ", ".join(allowed),
                )
        start, end = f.get("codon_start"), f.get("codon_end")
        if isinstance(start, int) and isinstance(end, int) and end < start:
            yield self.problem(
                row,
                "codon_end",
                "invalid_range",
                f"codon_end {end} is before codon_start {start}",
                "codon_end >= codon_start",
            )
        if kind == BiomarkerKind.RANGE and isinstance(f.get("exon"), int) and f.get("gene"):
            yield from self._exon_mapped(row, f["gene"], f["exon"])

    def _exon_mapped(self, row: RecordRow, gene: str, exon: int) -> Iterator[Problem]:
        """An exon biomarker the matcher can place a protein change in needs its gene's map."""
        maps = [
            m for m in self.index.get(RecordType.EXON_MAP, {}).values() if m.fields["gene"] == gene
        ]
        named = self.index.get(RecordType.GENE, {}).get(gene)
        symbol = named.fields.get("symbol", gene) if named else gene
        if not maps:
            message = (
                f"{symbol} has no exon map, so a patient's variant is placed in exon {exon} only "
                "when the report names the exon"
            )
        else:
            try:
                numbers = {e.number for e in parse_exons(maps[0].fields.get("exons") or [])}
            except ExonMapError:
                return  # the map's own problem is reported on the map
            if exon in numbers:
                return
            message = f"the exon map {maps[0].human_id} of {symbol} has no exon {exon}"
        yield self.problem(
            row,
            "exon",
            "exon_unmapped",
            message,
            f"an exon map of {symbol} holding exon {exon}",
            severity="warning",
        )

    def _check_threshold(self, row: RecordRow) -> Iterator[Problem]:
        f = row.fields
        try:
            metric = Metric(str(f.get("metric")))
            operator = Operator(str(f.get("operator")))
        except ValueError:
            return  # reported by the field check
        try:
            check_value(metric, operator, str(f.get("value") or ""), f.get("unit"))
        except ThresholdValueError as exc:
            name = "unit" if exc.message.startswith("unit") else "value"
            yield self.problem(row, name, "threshold_mismatch", exc.message, exc.expected)

    def _check_expression(self, row: RecordRow) -> Iterator[Problem]:
        tree = row.fields.get("tree")
        try:
            exprs.check_tree(tree)
        except exprs.TreeError:
            return  # reported by the field check
        biomarkers = self.index.get(RecordType.BIOMARKER, {})
        thresholds = self.index.get(RecordType.THRESHOLD, {})
        assert isinstance(tree, dict)
        for leaf in exprs.leaves(tree):
            for key, table, target in (
                ("biomarker", biomarkers, RecordType.BIOMARKER),
                ("threshold", thresholds, RecordType.THRESHOLD),
            ):
                ref = leaf.get(key)
                if ref and ref not in table:
                    yield self.problem(
                        row,
                        "tree",
                        "dangling_reference",
                        f"a leaf refers to a {target} that does not exist",
                        f"the id of an existing {target}",
                        value=ref,
                    )
            biomarker = biomarkers.get(leaf.get("biomarker") or "")
            threshold = thresholds.get(leaf.get("threshold") or "")
            if biomarker and threshold:
                problem = _metric_fits(biomarker, threshold, self.index)
                if problem:
                    yield self.problem(
                        row,
                        "tree",
                        "threshold_not_applicable",
                        problem,
                        f"a threshold whose metric measures {biomarker.title}",
                        value=f"{biomarker.human_id} {threshold.human_id}",
                    )

    def _check_assertion(self, row: RecordRow) -> Iterator[Problem]:
        f = row.fields
        implication, level = f.get("implication"), f.get("evidence_level")
        if implication == Implication.RESISTANT and level and level not in _RESISTANCE_LEVELS:
            yield self.problem(
                row,
                "evidence_level",
                "level_mismatch",
                "a resistance assertion needs level R1/R2",
                "R1 or R2",
            )
        if implication == Implication.SENSITIVE and level in _RESISTANCE_LEVELS:
            yield self.problem(
                row,
                "evidence_level",
                "level_mismatch",
                f"level {level} is for resistance",
                "1, 2, 3A, 3B or 4",
            )
        yield from self._assertion_level(row)
        yield from self._assertion_qualifiers(row)
        if implication in (Implication.SENSITIVE, Implication.RESISTANT) and not f.get("therapy"):
            yield self.problem(
                row,
                "therapy",
                "missing_field",
                f"a {implication} assertion needs a therapy",
                "a therapy id",
            )
        if not f.get("citations"):
            yield self.problem(
                row,
                "citations",
                "missing_citation",
                "an assertion needs at least one citation",
                "one or more citation ids",
            )
        yield from self._exclusions(row)

    def _assertion_level(self, row: RecordRow) -> Iterator[Problem]:
        f = row.fields
        implication = f.get("implication")
        if f.get("evidence_level") or implication not in LEVELLED:
            return
        source = " ".join(str(f.get(k) or "") for k in ("source_scheme", "source_level")).strip()
        if f.get("source_level"):
            yield self.problem(
                row,
                "evidence_level",
                "no_kb_level",
                f"the KB's scheme has no {implication} level for {source} (a crosswalk gap): "
                "set one before approval, or drop the assertion",
                f"a level of {f.get('level_scheme') or LEVEL_SCHEME}",
                severity="warning",
            )
        else:
            yield self.problem(
                row,
                "evidence_level",
                "missing_field",
                f"a {implication} assertion needs an evidence level",
                "one of " + ", ".join(level.value for level in EvidenceLevel),
            )

    def _assertion_qualifiers(self, row: RecordRow) -> Iterator[Problem]:
        f = row.fields
        implication = f.get("implication")
        direction = f.get("direction")
        allowed = DIRECTIONS_FOR.get(Implication(implication)) if implication else None
        if direction and (not allowed or direction not in allowed):
            yield self.problem(
                row,
                "direction",
                "direction_mismatch",
                f"a {implication} assertion has no direction {direction}"
                if allowed
                else "only diagnostic and prognostic assertions have a direction",
                " or ".join(sorted(allowed)) if allowed else "no direction",
            )
        elif allowed and not direction:
            yield self.problem(
                row,
                "direction",
                "missing_direction",
                f"a {implication} assertion should say which way it points",
                " or ".join(sorted(allowed)),
                severity="warning",
            )
        if implication != Implication.PREDISPOSING:
            for name in ("pathogenicity", "inheritance", "syndrome"):
                if f.get(name):
                    yield self.problem(
                        row,
                        name,
                        "germline_only",
                        f"{name} qualifies predisposing (germline) assertions only",
                        "no value, or implication predisposing",
                    )
            return
        if f.get("therapy"):
            yield self.problem(
                row,
                "therapy",
                "unexpected_therapy",
                "a predisposing assertion names no therapy",
                "no therapy",
            )
        somatic = [
            biomarker.human_id
            for biomarker in self._expression_biomarkers(f.get("expression"))
            if biomarker.fields.get("origin") in (None, Origin.SOMATIC)
        ]
        if somatic:
            yield self.problem(
                row,
                "expression",
                "somatic_predisposition",
                f"a predisposing assertion matches germline findings only, but "
                f"{', '.join(somatic)} {'is' if len(somatic) == 1 else 'are'} somatic",
                "biomarkers of origin germline or either",
                value=f.get("expression"),
            )

    def _expression_biomarkers(self, expression: Any) -> list[RecordRow]:
        found = self.index.get(RecordType.EXPRESSION, {}).get(expression or "")
        tree = found.fields.get("tree") if found else None
        if not isinstance(tree, dict):
            return []
        biomarkers = self.index.get(RecordType.BIOMARKER, {})
        return [
            biomarkers[leaf["biomarker"]]
            for leaf in exprs.leaves(tree)
            if leaf.get("biomarker") in biomarkers
        ]

    def _check_level_scheme(self, row: RecordRow) -> Iterator[Problem]:
        if row.fields.get("name") != LEVEL_SCHEME:
            return
        try:
            codes = {level.code for level in parse_levels(row.fields.get("levels") or [])}
        except LevelSchemeError:
            return  # reported by the field check
        ours = {level.value for level in EvidenceLevel}
        if codes != ours:
            yield self.problem(
                row,
                "levels",
                "kb_scheme_levels",
                f"the KB's own scheme ranks by {', '.join(sorted(ours))}; this record lists "
                f"{', '.join(sorted(codes)) or 'none'}",
                "exactly the KB's evidence levels",
            )

    def _check_level_crosswalk(self, row: RecordRow) -> Iterator[Problem]:
        f = row.fields
        schemes = self.index.get(RecordType.LEVEL_SCHEME, {})
        source, target = (
            schemes.get(f.get("source_scheme") or ""),
            schemes.get(f.get("target_scheme") or ""),
        )
        try:
            entries = parse_entries(f.get("entries") or [])
            source_levels = parse_levels(source.fields.get("levels") or []) if source else None
            target_levels = parse_levels(target.fields.get("levels") or []) if target else None
        except LevelSchemeError:
            return  # reported by the field check of this record or of the scheme
        keys = {level_key(code) for code in entries}
        if source_levels is not None:
            known = {level_key(level.code) for level in source_levels}
            for code in entries:
                if level_key(code) not in known:
                    yield self.problem(
                        row,
                        "entries",
                        "unknown_level",
                        f"{code} is not a level of {source.fields['name'] if source else '?'}",
                        "levels of the source scheme",
                        value=code,
                    )
            missing = [level.code for level in source_levels if level_key(level.code) not in keys]
            if missing:
                yield self.problem(
                    row,
                    "entries",
                    "crosswalk_incomplete",
                    f"no entry for {', '.join(missing)}: rows at those levels are reported as "
                    "unmapped at import",
                    'an entry per source level ("X -> " where the target has none)',
                    value=", ".join(missing),
                    severity="warning",
                )
        if target_levels is not None:
            known = {level_key(level.code) for level in target_levels}
            for code, mapped in entries.items():
                if mapped is not None and level_key(mapped) not in known:
                    yield self.problem(
                        row,
                        "entries",
                        "unknown_level",
                        f"{code} -> {mapped}: {mapped} is not a level of "
                        f"{target.fields['name'] if target else '?'}",
                        "levels of the target scheme",
                        value=mapped,
                    )
        if target is not None and target.fields.get("name") == LEVEL_SCHEME:
            resistant = f.get("implication") == Implication.RESISTANT
            ours = {level.value for level in EvidenceLevel}
            for code, mapped in entries.items():
                if mapped is None or mapped not in ours:
                    continue  # a gap, or an unknown level (reported above)
                if (mapped in _RESISTANCE_LEVELS) != resistant:
                    yield self.problem(
                        row,
                        "entries",
                        "level_mismatch",
                        f"{code} -> {mapped}: "
                        + ("R1/R2 are" if not resistant else "only R1/R2 are")
                        + f" levels for resistance, and this crosswalk is {f.get('implication')}",
                        "R1 or R2" if resistant else "1, 2, 3A, 3B or 4",
                        value=mapped,
                    )

    def _check_trial(self, row: RecordRow) -> Iterator[Problem]:
        nct = row.fields.get("nct_id") or ""
        protocol = row.fields.get("protocol_no") or ""
        if not nct and not protocol:
            yield self.problem(
                row,
                "nct_id",
                "required",
                "a trial needs an NCT id, or a protocol number until it has one",
                "NCT followed by 8 digits",
            )
        elif not nct:
            yield self.problem(
                row,
                "nct_id",
                "no_nct_id",
                f"is keyed by its protocol number {protocol} until the registry sync finds its "
                "NCT id (kb trials sync)",
                "NCT followed by 8 digits",
                severity="warning",
            )
        elif not _NCT.match(nct):
            yield self.problem(
                row, "nct_id", "malformed_id", "is not an NCT id", "NCT followed by 8 digits"
            )
        if len(protocol) > PROTOCOL_NO_LENGTH:
            yield self.problem(
                row,
                "protocol_no",
                "too_long",
                f"is longer than {PROTOCOL_NO_LENGTH} characters",
                f"a protocol number of at most {PROTOCOL_NO_LENGTH} characters",
            )

    def _check_trial_arm(self, row: RecordRow) -> Iterator[Problem]:
        low, high = row.fields.get("min_age"), row.fields.get("max_age")
        if isinstance(low, int) and isinstance(high, int) and high < low:
            yield self.problem(
                row,
                "max_age",
                "invalid_range",
                f"max_age {high} is below min_age {low}",
                "max_age >= min_age",
            )
        yield from self._exclusions(row)

    def _exclusions(self, row: RecordRow) -> Iterator[Problem]:
        tree = self.vocab.tumour_tree
        included = row.fields.get("tumour_types") or []
        if tree is None:
            return
        for code in row.fields.get("excluded_tumour_types") or []:
            if code in tree and not any(tree.is_within(code, scope) for scope in included):
                yield self.problem(
                    row,
                    "excluded_tumour_types",
                    "exclusion_outside_scope",
                    f"excludes {code}, which no included tumour type covers",
                    "an exclusion inside one of the included tumour types",
                    value=code,
                    severity="warning",
                )

    # -- duplicates -------------------------------------------------------------------------

    def _duplicates(self) -> Iterator[Problem]:
        checked_types = (
            {
                row.type
                for rows in self.index.values()
                for row in rows.values()
                if row.human_id in self.checked
            }
            if len(self.checked) < sum(len(rows) for rows in self.index.values())
            else set(RecordType)
        )
        for rtype in RecordType:
            if rtype not in checked_types:
                continue
            seen: dict[Any, str] = {}
            rows = self.index.get(rtype, {})
            for human_id in sorted(rows):
                first = seen.setdefault(identity_key(rtype, rows[human_id].fields), human_id)
                if first != human_id and (human_id in self.checked or first in self.checked):
                    yield self.problem(
                        rows[human_id],
                        "*",
                        "duplicate",
                        f"duplicates {first}",
                        f"one record per distinct {rtype}",
                        value=first,
                    )


SPECS_BY_NAME = {rtype: {spec.name: spec for spec in specs} for rtype, specs in SPECS.items()}


_METRIC_SUBJECT: dict[Metric, Callable[[Mapping[str, Any], str], bool]] = {
    Metric.TMB: lambda f, gene: f.get("characteristic") == Characteristic.TMB,
    Metric.HRD_SCORE: lambda f, gene: f.get("characteristic") == Characteristic.HRD,
    Metric.PDL1_TPS: lambda f, gene: gene == "CD274",
    Metric.PDL1_CPS: lambda f, gene: gene == "CD274",
    Metric.PDL1_IC: lambda f, gene: gene == "CD274",
    Metric.HER2_IHC: lambda f, gene: gene == "ERBB2" and f.get("assay") == "IHC",
    Metric.HER2_ISH_RATIO: lambda f, gene: gene == "ERBB2" and f.get("assay") == "ISH",
    Metric.COPY_NUMBER: lambda f, gene: f.get("kind") == BiomarkerKind.COPY_NUMBER,
    Metric.VAF: lambda f, gene: (
        f.get("kind")
        in (BiomarkerKind.SEQUENCE_VARIANT, BiomarkerKind.RANGE, BiomarkerKind.CATEGORICAL)
    ),
}


def _metric_fits(
    biomarker: RecordRow, threshold: RecordRow, index: Mapping[RecordType, Mapping[str, RecordRow]]
) -> str | None:
    try:
        metric = Metric(str(threshold.fields.get("metric")))
    except ValueError:
        return None
    gene_row = index.get(RecordType.GENE, {}).get(biomarker.fields.get("gene") or "")
    gene = str(gene_row.fields.get("symbol")) if gene_row else ""
    if _METRIC_SUBJECT[metric](biomarker.fields, gene):
        return None
    return f"{METRICS[metric].label} does not measure {biomarker.title}"
