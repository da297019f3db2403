"""Table rows for list views, read with SQLAlchemy Core: one query per table, plain tuples out.

`kb.model.records.list_records` builds a full `RecordRow` per record through the ORM (every field,
every collection); a table needs only the columns a curator scans, for up to 100,000 rows, in
well under a second. These functions are read-only and Qt-free; they run on a worker thread and
return frozen plain data.

Cells are `str`, `int` or `None`, already in the words the table shows (enum values with spaces),
so the search text and the screen never disagree.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from kb.errors import NotFoundError
from kb.model.enums import RecordType
from kb.model.orm import (
    RECORD_CLASSES,
    Approval,
    ArmTumourType,
    Assertion,
    AssertionTumourType,
    Biomarker,
    Citation,
    Drug,
    EvidenceItem,
    EvidenceItemAssertion,
    ExonMap,
    Expression,
    Gene,
    LevelCrosswalk,
    LevelScheme,
    OncogenicityRecord,
    Therapy,
    TherapyDrug,
    Threshold,
    Trial,
    TrialArm,
    TumourType,
)
from kb.model.records import (
    biomarker_name,
    implication_words,
    level_words,
    phase_words,
    threshold_text,
    type_of_human_id,
)
from kb.storage.revisions import current_version
from kb.vocab.releases import vocabulary_versions

Cell = str | int | None


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    numeric: bool = False
    # The column that takes the spare width (titles, texts); others fit their contents.
    stretch: bool = False


@dataclass(frozen=True, slots=True)
class TableData:
    """One record type's rows as the table shows them; cell 0 of every row is the human id."""

    rtype: RecordType
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    titles: tuple[str, ...]
    kb_version: int
    # False for a first page shown while all rows load.
    complete: bool = True
    # Each row's cells joined and lower-cased: the search index, built on the worker thread.
    search_text: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.rows)


def shown(value: Any) -> Cell:
    """A stored value in the words the table shows."""
    if value is None:
        return None
    if isinstance(value, StrEnum):
        return value.value.replace("_", " ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _where(cls: Any, only: Sequence[str] | None) -> list[ColumnElement[bool]]:
    return [] if only is None else [cls.human_id.in_(list(only))]


_ID = Column("id", "ID")
_VERSION = Column("version", "Version", numeric=True)

Loaded = tuple[list[tuple[Cell, ...]], list[str]]


def _genes(session: Session, only: Sequence[str] | None) -> Loaded:
    query = select(
        Gene.human_id, Gene.symbol, Gene.hgnc_id, Gene.name, Gene.role, Gene.aliases,
        Gene.kb_version,
    ).where(*_where(Gene, only)).order_by(Gene.human_id)  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, symbol, hgnc, name, role, aliases, version in session.execute(query):
        rows.append((hid, symbol, hgnc, name or "", shown(role), shown(aliases or []), version))
        titles.append(symbol)
    return rows, titles


def _gene_symbols(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Gene.human_id, Gene.symbol)).all())


def _biomarkers(session: Session, only: Sequence[str] | None) -> Loaded:
    gene = aliased(Gene)
    five = aliased(Gene)
    three = aliased(Gene)
    query = (
        select(
            Biomarker.human_id, Biomarker.kind, gene.human_id, five.human_id, three.human_id,
            Biomarker.origin, Biomarker.label, Biomarker.protein_change, Biomarker.exon,
            Biomarker.codon_start, Biomarker.codon_end, Biomarker.consequence,
            Biomarker.category, Biomarker.copy_number, Biomarker.characteristic,
            Biomarker.status, Biomarker.assay, Biomarker.dna_change, Biomarker.dbsnp_id,
            Biomarker.kb_version,
        )
        .outerjoin(gene, Biomarker.gene_id == gene.id)
        .outerjoin(five, Biomarker.partner_5_id == five.id)
        .outerjoin(three, Biomarker.partner_3_id == three.id)
        .where(*_where(Biomarker, only))
        .order_by(Biomarker.human_id)
    )  # fmt: skip
    symbols = _gene_symbols(session)
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for row in session.execute(query):
        (
            hid,
            kind,
            gene_id,
            five_id,
            three_id,
            origin,
            label,
            protein,
            exon,
            start,
            end,
            consequence,
            category,
            copy_number,
            characteristic,
            status,
            assay,
            dna,
            rs_id,
            version,
        ) = row
        fields = {
            "kind": kind.value, "gene": gene_id, "partner_5": five_id, "partner_3": three_id,
            "origin": origin.value, "protein_change": protein, "exon": exon,
            "codon_start": start, "codon_end": end,
            "consequence": consequence.value if consequence else None,
            "category": category.value if category else None,
            "copy_number": copy_number.value if copy_number else None,
            "characteristic": characteristic.value if characteristic else None,
            "status": status, "assay": assay.value if assay else None,
            "dna_change": dna, "dbsnp_id": rs_id,
        }  # fmt: skip
        name = label or biomarker_name(fields, symbols)
        genes = symbols.get(gene_id or "") or " / ".join(
            symbols[g] for g in (five_id, three_id) if g and g in symbols
        )
        rows.append((hid, name, shown(kind), genes, shown(origin), version))
        titles.append(name)
    return rows, titles


def _thresholds(session: Session, only: Sequence[str] | None) -> Loaded:
    query = select(
        Threshold.human_id, Threshold.metric, Threshold.operator, Threshold.value,
        Threshold.unit, Threshold.assay, Threshold.specimen, Threshold.kb_version,
    ).where(*_where(Threshold, only)).order_by(Threshold.human_id)  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, metric, operator, value, unit, assay, specimen, version in session.execute(query):
        text = threshold_text(
            {"metric": metric.value, "operator": operator.value, "value": value, "unit": unit}
        )
        rows.append(
            (hid, text, metric.value, operator.value, value, unit, assay, shown(specimen), version)
        )
        titles.append(text)
    return rows, titles


def _expressions(session: Session, only: Sequence[str] | None) -> Loaded:
    query = (
        select(Expression.human_id, Expression.text, Expression.kb_version)
        .where(*_where(Expression, only))
        .order_by(Expression.human_id)
    )
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, text, version in session.execute(query):
        rows.append((hid, text, version))
        titles.append(text)
    return rows, titles


def _drugs(session: Session, only: Sequence[str] | None) -> Loaded:
    query = (
        select(Drug.human_id, Drug.name, Drug.ncit_code, Drug.kb_version)
        .where(*_where(Drug, only))
        .order_by(Drug.human_id)
    )
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, name, ncit, version in session.execute(query):
        rows.append((hid, name, ncit, version))
        titles.append(name)
    return rows, titles


def _therapies(session: Session, only: Sequence[str] | None) -> Loaded:
    drugs: dict[str, list[str]] = defaultdict(list)
    links = (
        select(TherapyDrug.therapy_id, Drug.name)
        .join(Drug, TherapyDrug.drug_id == Drug.id)
        .order_by(TherapyDrug.therapy_id, TherapyDrug.position)
    )
    for therapy_id, name in session.execute(links):
        drugs[therapy_id].append(name)
    query = select(
        Therapy.id, Therapy.human_id, Therapy.name, Therapy.combination, Therapy.kb_version
    ).where(*_where(Therapy, only)).order_by(Therapy.human_id)  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for uuid, hid, name, combination, version in session.execute(query):
        rows.append((hid, name, shown(combination), ", ".join(drugs.get(uuid, [])), version))
        titles.append(name)
    return rows, titles


def _citations(session: Session, only: Sequence[str] | None) -> Loaded:
    query = select(
        Citation.human_id, Citation.kind, Citation.identifier, Citation.title,
        Citation.accessed, Citation.kb_version,
    ).where(*_where(Citation, only)).order_by(Citation.human_id)  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, kind, identifier, title, accessed, version in session.execute(query):
        rows.append(
            (hid, kind.value, identifier, title or "", accessed.isoformat() if accessed else None,
             version)
        )  # fmt: skip
        titles.append(f"{kind.value}:{identifier}")
    return rows, titles


def _approvals(session: Session, only: Sequence[str] | None) -> Loaded:
    query = (
        select(
            Approval.human_id, Therapy.name, Approval.agency, Approval.approval_date,
            Approval.indication, Approval.cdx, Approval.kb_version,
        )
        .join(Therapy, Approval.therapy_id == Therapy.id)
        .where(*_where(Approval, only))
        .order_by(Approval.human_id)
    )  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, therapy, agency, date, indication, cdx, version in session.execute(query):
        when = date.isoformat() if date else None
        rows.append((hid, therapy, agency.value, when, indication, cdx, version))
        titles.append(" ".join(part for part in (agency.value, when, therapy) if part))
    return rows, titles


def _plain(column: Any) -> Any:
    """An enum column read as its stored text: converting 100,000 values to enum members and
    back costs more than the query."""
    return type_coerce(column, String).label(column.key)


def _words(value: str | None) -> str | None:
    return value.replace("_", " ") if value else value


def _codes(
    session: Session, link: Any, owner: Any, owners: set[str] | None
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Included and excluded OncoTree codes per owner, in their stored order."""
    table = link.__table__.c
    owner_column = table[owner.key]
    query = select(owner_column, table.code, table.excluded, table.position)
    if owners is not None:
        query = query.where(owner_column.in_(list(owners)))
    found: dict[str, list[tuple[int, bool, str]]] = {}
    # Grouped here rather than ORDER BY owner: sorting 150,000 rows by a random UUID in SQL
    # costs more than this.
    for owner_id, code, is_excluded, position in session.connection().execute(query).all():
        items = found.get(owner_id)
        if items is None:
            found[owner_id] = [(position, bool(is_excluded), code)]
        else:
            items.append((position, bool(is_excluded), code))
    included: dict[str, list[str]] = {}
    excluded: dict[str, list[str]] = {}
    for owner_id, items in found.items():
        if len(items) == 1:
            position, is_excluded, code = items[0]
            (excluded if is_excluded else included)[owner_id] = [code]
            continue
        items.sort()
        included[owner_id] = [code for _, is_excluded, code in items if not is_excluded]
        excluded[owner_id] = [code for _, is_excluded, code in items if is_excluded]
    return included, excluded


def _scope(included: list[str], excluded: list[str]) -> str:
    text = ", ".join(included)
    if excluded:
        text += " (not " + ", ".join(excluded) + ")"
    return text


def _names(session: Session, model: Any, column: str) -> dict[str, str]:
    table = model.__table__.c
    return dict(session.connection().execute(select(table.id, table[column])).all())


def _assertions(session: Session, only: Sequence[str] | None) -> Loaded:
    a = Assertion.__table__.c
    query = select(
        a.id, a.human_id, a.expression_id, a.therapy_id, _plain(a.implication),
        _plain(a.evidence_level), _plain(a.line_of_therapy), a.kb_version,
        _plain(a.direction), _plain(a.pathogenicity), a.source_scheme, a.source_level,
    ).order_by(a.human_id)  # fmt: skip
    if only is not None:
        query = query.where(a.human_id.in_(list(only)))
    result = session.connection().execute(query).all()
    texts = _names(session, Expression, "text")
    therapies = _names(session, Therapy, "name")
    owners = {row[0] for row in result} if only is not None else None
    included, excluded = _codes(
        session, AssertionTumourType, AssertionTumourType.assertion_id, owners
    )
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    no_codes: list[str] = []
    for (
        uuid, hid, expression_id, therapy_id, implication, level, line, version,
        direction, pathogenicity, source_scheme, source_level,
    ) in result:  # fmt: skip
        text = texts.get(expression_id, "?")
        therapy = therapies.get(therapy_id) if therapy_id else None
        codes = included.get(uuid, no_codes)
        fields = {
            "implication": implication, "direction": direction, "pathogenicity": pathogenicity,
            "evidence_level": level, "source_scheme": source_scheme, "source_level": source_level,
        }  # fmt: skip
        shown = level_words(fields)
        what = implication_words(fields)
        rows.append(
            (hid, text, therapy, _scope(codes, excluded.get(uuid, no_codes)),
             what, shown.removeprefix("L"), _words(line), version)
        )  # fmt: skip
        # As kb.model.records.Titles writes it.
        titles.append(f"{text} · {therapy or what} · {', '.join(codes)} · {shown}")
    return rows, titles


def _trials(session: Session, only: Sequence[str] | None) -> Loaded:
    arms = dict(
        session.execute(select(TrialArm.trial_id, func.count()).group_by(TrialArm.trial_id)).all()
    )
    query = select(
        Trial.id, Trial.human_id, Trial.nct_id, Trial.protocol_no, Trial.title, Trial.phase,
        Trial.status, Trial.kb_version,
    ).where(*_where(Trial, only)).order_by(Trial.human_id)  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for uuid, hid, nct, protocol, title, phase, status, version in session.execute(query):
        # A trial without an NCT id yet is shown by its protocol number.
        key = nct or f"{protocol} (protocol, no NCT id yet)"
        rows.append(
            (hid, key, title or "", phase_words(phase), shown(status), arms.get(uuid, 0), version)
        )
        titles.append(f"{nct or protocol} {title or ''}".strip())
    return rows, titles


def _trial_arms(session: Session, only: Sequence[str] | None) -> Loaded:
    query = (
        select(
            TrialArm.id, TrialArm.human_id, Trial.nct_id, TrialArm.code, TrialArm.name,
            Expression.text, Therapy.name, TrialArm.suspended, TrialArm.kb_version,
        )
        .join(Trial, TrialArm.trial_id == Trial.id)
        .outerjoin(Expression, TrialArm.expression_id == Expression.id)
        .outerjoin(Therapy, TrialArm.therapy_id == Therapy.id)
        .where(*_where(TrialArm, only))
        .order_by(TrialArm.human_id)
    )  # fmt: skip
    result = session.execute(query).all()
    owners = {row[0] for row in result} if only is not None else None
    included, excluded = _codes(session, ArmTumourType, ArmTumourType.arm_id, owners)
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for uuid, hid, nct, code, name, text, therapy, suspended, version in result:
        scope = _scope(included.get(uuid, []), excluded.get(uuid, []))
        rows.append(
            (hid, nct, code, name or "", text, therapy, scope, shown(bool(suspended)), version)
        )
        titles.append(f"{nct} arm {code} {name or ''}".strip())
    return rows, titles


def _exon_maps(session: Session, only: Sequence[str] | None) -> Loaded:
    query = (
        select(ExonMap.human_id, Gene.symbol, ExonMap.transcript, ExonMap.exons, ExonMap.kb_version)
        .join(Gene, ExonMap.gene_id == Gene.id)
        .where(*_where(ExonMap, only))
        .order_by(ExonMap.human_id)
    )
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, symbol, transcript, exons, version in session.execute(query):
        rows.append((hid, symbol, transcript, "; ".join(exons or []), version))
        titles.append(f"{symbol} exons on {transcript}")
    return rows, titles


def _level_schemes(session: Session, only: Sequence[str] | None) -> Loaded:
    query = (
        select(LevelScheme.human_id, LevelScheme.name, LevelScheme.levels, LevelScheme.kb_version)
        .where(*_where(LevelScheme, only))
        .order_by(LevelScheme.human_id)
    )
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, name, levels, version in session.execute(query):
        codes = [str(level).split(":", 1)[0].strip() for level in levels or []]
        rows.append((hid, name, ", ".join(codes), version))
        titles.append(f"{name} ({len(codes)} levels)")
    return rows, titles


def _level_crosswalks(session: Session, only: Sequence[str] | None) -> Loaded:
    names = _names(session, LevelScheme, "name")
    query = (
        select(
            LevelCrosswalk.human_id, LevelCrosswalk.source_scheme_id,
            LevelCrosswalk.target_scheme_id, _plain(LevelCrosswalk.implication),
            LevelCrosswalk.entries, LevelCrosswalk.kb_version,
        )
        .where(*_where(LevelCrosswalk, only))
        .order_by(LevelCrosswalk.human_id)
    )  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, source, target, implication, entries, version in session.execute(query):
        source_name, target_name = names.get(source, "?"), names.get(target, "?")
        rows.append((hid, source_name, target_name, implication, "; ".join(entries or []), version))
        titles.append(f"{source_name} -> {target_name} ({implication})")
    return rows, titles


def _evidence_items(session: Session, only: Sequence[str] | None) -> Loaded:
    links = dict(
        session.execute(
            select(EvidenceItemAssertion.evidence_item_id, func.count()).group_by(
                EvidenceItemAssertion.evidence_item_id
            )
        ).all()
    )
    query = (
        select(
            EvidenceItem.id, EvidenceItem.human_id, EvidenceItem.source, EvidenceItem.source_id,
            _plain(EvidenceItem.evidence_type), _plain(EvidenceItem.direction),
            EvidenceItem.source_level, Expression.text, Therapy.name, EvidenceItem.disease,
            EvidenceItem.kb_version,
        )
        .outerjoin(Expression, EvidenceItem.expression_id == Expression.id)
        .outerjoin(Therapy, EvidenceItem.therapy_id == Therapy.id)
        .where(*_where(EvidenceItem, only))
        .order_by(EvidenceItem.human_id)
    )  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for (
        uuid,
        hid,
        source,
        source_id,
        kind,
        direction,
        level,
        text,
        therapy,
        disease,
        version,
    ) in session.execute(query):
        rows.append(
            (hid, f"{source} {source_id}", kind, _words(direction), level, text, therapy,
             disease, links.get(uuid, 0), version)
        )  # fmt: skip
        titles.append(f"{source} {source_id}")
    return rows, titles


def _oncogenicity(session: Session, only: Sequence[str] | None) -> Loaded:
    query = (
        select(
            OncogenicityRecord.human_id, Biomarker.label, Gene.symbol,
            _plain(OncogenicityRecord.oncogenicity), _plain(OncogenicityRecord.mutation_effect),
            OncogenicityRecord.kb_version,
        )
        .join(Biomarker, OncogenicityRecord.biomarker_id == Biomarker.id)
        .outerjoin(Gene, Biomarker.gene_id == Gene.id)
        .where(*_where(OncogenicityRecord, only))
        .order_by(OncogenicityRecord.human_id)
    )  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    titles: list[str] = []
    for hid, label, symbol, oncogenicity, effect, version in session.execute(query):
        rows.append((hid, label, symbol, _words(oncogenicity), _words(effect), version))
        # As kb.model.records.Titles writes it.
        shown = f", {_words(effect)}" if effect != "unknown" else ""
        titles.append(f"{label}: {_words(oncogenicity)}{shown}")
    return rows, titles


Loader = Callable[[Session, Sequence[str] | None], Loaded]

TABLES: dict[RecordType, tuple[tuple[Column, ...], Loader]] = {
    RecordType.GENE: (
        (_ID, Column("symbol", "Symbol"), Column("hgnc_id", "HGNC id"),
         Column("name", "Name", stretch=True), Column("role", "Role"),
         Column("aliases", "Aliases"), _VERSION),
        _genes,
    ),
    RecordType.BIOMARKER: (
        (_ID, Column("name", "Biomarker", stretch=True), Column("kind", "Kind"),
         Column("gene", "Gene"), Column("origin", "Origin"), _VERSION),
        _biomarkers,
    ),
    RecordType.THRESHOLD: (
        (_ID, Column("text", "Threshold", stretch=True), Column("metric", "Metric"),
         Column("operator", "Op"), Column("value", "Value"), Column("unit", "Unit"),
         Column("assay", "Assay / CDx"), Column("specimen", "Specimen"), _VERSION),
        _thresholds,
    ),
    RecordType.EXPRESSION: (
        (_ID, Column("text", "Biomarker expression", stretch=True), _VERSION),
        _expressions,
    ),
    RecordType.DRUG: (
        (_ID, Column("name", "Drug", stretch=True), Column("ncit_code", "NCIt code"), _VERSION),
        _drugs,
    ),
    RecordType.THERAPY: (
        (_ID, Column("name", "Therapy", stretch=True), Column("combination", "Combination"),
         Column("drugs", "Drugs"), _VERSION),
        _therapies,
    ),
    RecordType.CITATION: (
        (_ID, Column("kind", "Kind"), Column("identifier", "Identifier"),
         Column("title", "Title", stretch=True), Column("accessed", "Accessed"), _VERSION),
        _citations,
    ),
    RecordType.APPROVAL: (
        (_ID, Column("therapy", "Therapy"), Column("agency", "Agency"), Column("date", "Date"),
         Column("indication", "Indication", stretch=True), Column("cdx", "CDx"), _VERSION),
        _approvals,
    ),
    RecordType.ASSERTION: (
        (_ID, Column("expression", "Biomarker expression", stretch=True),
         Column("therapy", "Therapy"), Column("tumour_types", "Tumour types"),
         Column("implication", "Implication"), Column("level", "Level"),
         Column("line", "Line"), _VERSION),
        _assertions,
    ),
    RecordType.TRIAL: (
        (_ID, Column("nct_id", "NCT id"), Column("title", "Title", stretch=True),
         Column("phase", "Phase"), Column("status", "Status"),
         Column("arms", "Arms", numeric=True), _VERSION),
        _trials,
    ),
    RecordType.TRIAL_ARM: (
        (_ID, Column("trial", "Trial"), Column("code", "Arm"), Column("name", "Name"),
         Column("expression", "Biomarker expression", stretch=True),
         Column("therapy", "Therapy"), Column("tumour_types", "Tumour types"),
         Column("suspended", "Suspended"), _VERSION),
        _trial_arms,
    ),
    RecordType.EVIDENCE_ITEM: (
        (_ID, Column("source", "Source"), Column("type", "Type"), Column("direction", "Direction"),
         Column("level", "Level"), Column("expression", "Biomarker expression", stretch=True),
         Column("therapy", "Therapy"), Column("disease", "Disease"),
         Column("assertions", "Assertions", numeric=True), _VERSION),
        _evidence_items,
    ),
    RecordType.ONCOGENICITY: (
        (_ID, Column("biomarker", "Alteration", stretch=True), Column("gene", "Gene"),
         Column("oncogenicity", "Oncogenicity"), Column("effect", "Mutation effect"), _VERSION),
        _oncogenicity,
    ),
    RecordType.EXON_MAP: (
        (_ID, Column("gene", "Gene"), Column("transcript", "Transcript"),
         Column("exons", "Exons (codons)", stretch=True), _VERSION),
        _exon_maps,
    ),
    RecordType.LEVEL_SCHEME: (
        (_ID, Column("name", "Scheme", stretch=True), Column("levels", "Levels"), _VERSION),
        _level_schemes,
    ),
    RecordType.LEVEL_CROSSWALK: (
        (_ID, Column("source", "From"), Column("target", "To"),
         Column("implication", "Implication"), Column("entries", "Entries", stretch=True),
         _VERSION),
        _level_crosswalks,
    ),
}  # fmt: skip


def load_table(
    session: Session, rtype: RecordType, *, only: Sequence[str] | None = None
) -> TableData:
    """Every record of one type (or just the human ids in `only`) as table rows."""
    columns, loader = TABLES[rtype]
    rows, titles = loader(session, only)
    return TableData(
        rtype,
        columns,
        tuple(rows),
        tuple(titles),
        current_version(session),
        search_text=tuple(search_line(row) for row in rows),
    )


def search_line(row: Sequence[Cell]) -> str:
    """One row's search text: its cells, lower-cased, tab-separated (so a search never matches
    across two cells)."""
    return "\t".join("" if cell is None else str(cell) for cell in row).lower()


def load_first_page(session: Session, rtype: RecordType, *, size: int = 200) -> TableData:
    """The first `size` records of a type, to show while all of them load."""
    table = RECORD_CLASSES[rtype].__table__.c
    query = select(table.human_id).order_by(table.human_id).limit(size)
    first = list(session.connection().execute(query).scalars())
    data = load_table(session, rtype, only=first)
    return dataclasses.replace(data, complete=False)


def reference_titles(session: Session, human_ids: Iterable[str]) -> dict[str, str]:
    """The title of each record named (unknown or dangling ids are left out)."""
    by_type: dict[RecordType, list[str]] = defaultdict(list)
    for human_id in {h.upper() for h in human_ids if h}:
        try:
            by_type[type_of_human_id(human_id)].append(human_id)
        except NotFoundError:
            continue
    titles: dict[str, str] = {}
    for rtype, wanted in by_type.items():
        table = load_table(session, rtype, only=wanted)
        titles.update(
            {str(row[0]): title for row, title in zip(table.rows, table.titles, strict=True)}
        )
    return titles


# --- tumour types ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TumourTypeEntry:
    code: str
    name: str
    main_type: str | None
    tissue: str | None
    parent: str | None
    level: int
    # How many assertions and trial arms name this code (in scope or excluded).
    uses: int


@dataclass(frozen=True, slots=True)
class TumourTypeData:
    release: str | None
    entries: tuple[TumourTypeEntry, ...]


def load_tumour_types(session: Session) -> TumourTypeData:
    """The loaded OncoTree, ordered so that every parent comes before its children."""
    uses: dict[str, int] = defaultdict(int)
    for link in (AssertionTumourType, ArmTumourType):
        for code, count in session.execute(select(link.code, func.count()).group_by(link.code)):
            uses[code] += count
    query = select(
        TumourType.code, TumourType.name, TumourType.main_type, TumourType.tissue,
        TumourType.parent_code, TumourType.level,
    ).order_by(TumourType.path)  # fmt: skip
    entries = tuple(
        TumourTypeEntry(code, name, main, tissue, parent, level, uses.get(code, 0))
        for code, name, main, tissue, parent, level in session.execute(query)
    )
    return TumourTypeData(vocabulary_versions(session).get("oncotree"), entries)


def choices_from(table: TableData) -> list[tuple[str, str]]:
    """(human id, title) pairs for a completer."""
    return [(str(row[0]), title) for row, title in zip(table.rows, table.titles, strict=True)]
