"""Records as plain data: field specs, reading and writing ORM rows as field dicts.

Every curated record type is described by its fields (`SPECS`). A record crosses out of kb as a
`RecordRow` — frozen, JSON-ready, references as human ids — never as an ORM object. Writes go
through `create_record` / `update_record` / `delete_record`, which check each field and say, for a
bad one, which record, which field, what value and what was expected.

References accept natural keys where curators think in them (a gene symbol, a drug or therapy
name, an NCT id, `pmid:12345`) and are stored as the target's id.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kb.errors import KbError, NotFoundError
from kb.model import expression as exprs
from kb.model.enums import (
    HUMAN_ID_PREFIX,
    LEVEL_SCHEME,
    Agency,
    Assay,
    AssertionDirection,
    BiomarkerKind,
    Category,
    Characteristic,
    CitationKind,
    Combination,
    Consequence,
    CopyNumberType,
    EvidenceDirection,
    EvidenceLevel,
    EvidenceType,
    GeneRole,
    Implication,
    Inheritance,
    LineOfTherapy,
    MutationEffect,
    Oncogenicity,
    Operator,
    Origin,
    Pathogenicity,
    RecordType,
    Sex,
    Specimen,
    TrialPhase,
    TrialStatus,
)
from kb.model.exons import EXPECTED as EXONS_EXPECTED
from kb.model.exons import ExonMapError, parse_exons
from kb.model.levels import (
    ENTRIES_EXPECTED,
    LEVELS_EXPECTED,
    LevelSchemeError,
    parse_entries,
    parse_levels,
)
from kb.model.metrics import METRICS, Metric
from kb.model.orm import (
    RECORD_CLASSES,
    Approval,
    ArmTumourType,
    Assertion,
    AssertionCitation,
    AssertionTumourType,
    Biomarker,
    BiomarkerExclusion,
    Citation,
    EvidenceItem,
    EvidenceItemAssertion,
    EvidenceItemCitation,
    EvidenceItemTumourType,
    ExonMap,
    ExonMapCitation,
    Expression,
    ExpressionNode,
    HumanIdCounter,
    LevelCrosswalk,
    LevelCrosswalkCitation,
    LevelScheme,
    LevelSchemeCitation,
    OncogenicityCitation,
    OncogenicityRecord,
    RecordMixin,
    Therapy,
    TherapyDrug,
    Threshold,
    Trial,
    TrialArm,
    TrialCitation,
)
from kb.model.protein import ProteinChangeError, parse_protein_change

FieldKind = Literal[
    "str",
    "text",
    "int",
    "bool",
    "enum",
    "date",
    "ref",
    "refs",
    "codes",
    "strings",
    "tree",
    "protein",
]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: FieldKind
    required: bool = False
    enum: type[StrEnum] | None = None
    ref: RecordType | None = None
    help: str = ""

    def expected(self) -> str:
        """What a value of this field looks like, for error messages and editors."""
        match self.kind:
            case "enum":
                assert self.enum is not None
                return "one of " + ", ".join(member.value for member in self.enum)
            case "int":
                return "a whole number"
            case "bool":
                return "true or false"
            case "date":
                return "a date as YYYY-MM-DD"
            case "ref":
                return f"the id of a {self.ref} (e.g. {_example_id(self.ref)})"
            case "refs":
                return f"a list of {self.ref} ids (e.g. {_example_id(self.ref)})"
            case "codes":
                return "a list of OncoTree codes (or ALL_TUMOURS, ALL_SOLID, ALL_LIQUID)"
            case "strings":
                return "a list of text values"
            case "tree":
                return exprs.EXPECTED_TREE
            case "protein":
                return "an HGVS protein change such as p.V600E or p.Val600Glu"
            case _:
                return "text"


DBSNP_ID = re.compile(r"rs[1-9][0-9]{0,11}")
"""A dbSNP reference SNP id as stored: lower-case "rs" and its number (rs3184504)."""
DBSNP_EXPECTED = "a dbSNP rs id such as rs3184504"


def _example_id(rtype: RecordType | None) -> str:
    return f"{HUMAN_ID_PREFIX[rtype]}-00001" if rtype else "an id"


def _f(name: str, kind: FieldKind, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, **kw)


SPECS: dict[RecordType, tuple[FieldSpec, ...]] = {
    RecordType.GENE: (
        _f("symbol", "str", required=True, help="HGNC approved symbol"),
        _f("hgnc_id", "str", required=True, help="HGNC id, e.g. HGNC:3236"),
        _f("name", "text"),
        _f("aliases", "strings"),
        _f("role", "enum", enum=GeneRole),
    ),
    RecordType.BIOMARKER: (
        _f("kind", "enum", required=True, enum=BiomarkerKind),
        _f("gene", "ref", ref=RecordType.GENE),
        _f("origin", "enum", enum=Origin),
        _f("label", "str"),
        _f("protein_change", "protein"),
        _f("dna_change", "str", help="HGVS c. or g. change, e.g. c.393T>C (with or without p.)"),
        _f(
            "dbsnp_id",
            "str",
            help="dbSNP reference SNP id, e.g. rs3184504 (a germline SNP named by its rs id)",
        ),
        _f("exon", "int"),
        _f("codon_start", "int"),
        _f("codon_end", "int"),
        _f("consequence", "enum", enum=Consequence),
        _f("category", "enum", enum=Category),
        _f("exclusions", "refs", ref=RecordType.BIOMARKER),
        _f("copy_number", "enum", enum=CopyNumberType),
        _f("partner_5", "ref", ref=RecordType.GENE, help="5' partner; empty means any"),
        _f("partner_3", "ref", ref=RecordType.GENE, help="3' partner; empty means any"),
        _f("characteristic", "enum", enum=Characteristic),
        _f("status", "str"),
        _f("assay", "enum", enum=Assay),
    ),
    RecordType.THRESHOLD: (
        _f("metric", "enum", required=True, enum=Metric),
        _f("operator", "enum", required=True, enum=Operator),
        _f("value", "str", required=True, help="a number, or a scale value such as 3+"),
        _f("unit", "str"),
        _f("assay", "str", help="assay or companion diagnostic"),
        _f("specimen", "enum", enum=Specimen),
    ),
    RecordType.EXPRESSION: (_f("tree", "tree", required=True),),
    RecordType.DRUG: (
        _f("name", "str", required=True),
        _f("ncit_code", "str"),
    ),
    RecordType.THERAPY: (
        _f("name", "str", required=True),
        _f("combination", "enum", enum=Combination),
        _f("drugs", "refs", required=True, ref=RecordType.DRUG),
    ),
    RecordType.CITATION: (
        _f("kind", "enum", required=True, enum=CitationKind),
        _f("identifier", "str", required=True),
        _f("title", "text"),
        _f("url", "str"),
        _f("accessed", "date"),
    ),
    RecordType.APPROVAL: (
        _f("therapy", "ref", required=True, ref=RecordType.THERAPY),
        _f("agency", "enum", required=True, enum=Agency),
        _f("date", "date"),
        _f("indication", "text", required=True),
        _f("cdx", "text"),
        _f("citation", "ref", ref=RecordType.CITATION),
    ),
    RecordType.ASSERTION: (
        _f("expression", "ref", required=True, ref=RecordType.EXPRESSION),
        _f("therapy", "ref", ref=RecordType.THERAPY),
        _f("tumour_types", "codes", required=True),
        _f("excluded_tumour_types", "codes"),
        _f("implication", "enum", required=True, enum=Implication),
        _f(
            "evidence_level",
            "enum",
            enum=EvidenceLevel,
            help="in the KB's scheme; empty only for predisposing, or where the source's level "
            "has none (a crosswalk gap)",
        ),
        _f("level_scheme", "str"),
        _f("source_scheme", "str", help="the scheme the source levelled it in, e.g. CIViC"),
        _f("source_level", "str", help="the level in the source's scheme, e.g. B"),
        _f(
            "direction",
            "enum",
            enum=AssertionDirection,
            help="diagnostic: supports/excludes the diagnosis; prognostic: better/poorer outcome",
        ),
        _f("pathogenicity", "enum", enum=Pathogenicity, help="predisposing: ACMG/AMP class"),
        _f("inheritance", "enum", enum=Inheritance, help="predisposing: mode of inheritance"),
        _f("syndrome", "str", help="predisposing: the associated syndrome, e.g. Lynch syndrome"),
        _f("line_of_therapy", "enum", enum=LineOfTherapy),
        _f("specimen", "enum", enum=Specimen),
        _f("cdx", "text"),
        _f("confirmatory_test", "text"),
        _f("description", "text"),
        _f("citations", "refs", ref=RecordType.CITATION),
    ),
    RecordType.TRIAL: (
        _f(
            "nct_id",
            "str",
            help="the ClinicalTrials.gov id, e.g. NCT01234567; a trial without one is keyed by "
            "its protocol number until the registry sync finds it",
        ),
        _f(
            "protocol_no",
            "str",
            help="the sponsor's or site's protocol number, e.g. 10-002 (MatchMiner's trial key)",
        ),
        _f("title", "text"),
        _f("phase", "enum", enum=TrialPhase),
        _f("status", "enum", required=True, enum=TrialStatus),
        _f("citations", "refs", ref=RecordType.CITATION),
    ),
    RecordType.TRIAL_ARM: (
        _f("trial", "ref", required=True, ref=RecordType.TRIAL),
        _f("code", "str", required=True),
        _f("name", "text"),
        _f("expression", "ref", ref=RecordType.EXPRESSION),
        _f("therapy", "ref", ref=RecordType.THERAPY),
        _f("tumour_types", "codes"),
        _f("excluded_tumour_types", "codes"),
        _f("min_age", "int"),
        _f("max_age", "int"),
        _f("sex", "enum", enum=Sex),
        _f("suspended", "bool"),
    ),
    RecordType.EVIDENCE_ITEM: (
        _f("source", "str", required=True, help="where the statement comes from, e.g. CIViC"),
        _f("source_id", "str", required=True, help="its id there, e.g. EID1409"),
        _f("url", "str"),
        _f("evidence_type", "enum", required=True, enum=EvidenceType),
        _f("direction", "enum", required=True, enum=EvidenceDirection),
        _f("significance", "str", help="the source's own words, e.g. Sensitivity/Response"),
        _f("source_level", "str", help="the level in the source's scheme, e.g. B"),
        _f("rating", "int", help="the source's rating of the statement, e.g. 1-5"),
        _f("expression", "ref", ref=RecordType.EXPRESSION),
        _f("therapy", "ref", ref=RecordType.THERAPY),
        _f("tumour_types", "codes"),
        _f("disease", "str", help="the disease as the source names it, e.g. DOID:3908"),
        _f("assertions", "refs", ref=RecordType.ASSERTION, help="assertions it bears on"),
        _f(
            "oncogenicity",
            "ref",
            ref=RecordType.ONCOGENICITY,
            help="the oncogenicity record an oncogenic or functional statement bears on",
        ),
        _f("citations", "refs", ref=RecordType.CITATION),
        _f("status", "str", help="the source's status, e.g. accepted"),
        _f("description", "text"),
    ),
    RecordType.ONCOGENICITY: (
        _f("biomarker", "ref", required=True, ref=RecordType.BIOMARKER),
        _f("oncogenicity", "enum", required=True, enum=Oncogenicity),
        _f("mutation_effect", "enum", enum=MutationEffect),
        _f("description", "text"),
        _f("citations", "refs", ref=RecordType.CITATION),
    ),
    RecordType.LEVEL_SCHEME: (
        _f("name", "str", required=True, help="e.g. OncoKB therapeutic levels v2 (2019)"),
        _f("levels", "strings", required=True, help='strongest first, each "CODE: meaning"'),
        _f("description", "text"),
        _f("citations", "refs", ref=RecordType.CITATION),
    ),
    RecordType.LEVEL_CROSSWALK: (
        _f("source_scheme", "ref", required=True, ref=RecordType.LEVEL_SCHEME),
        _f("target_scheme", "ref", required=True, ref=RecordType.LEVEL_SCHEME),
        _f("implication", "enum", required=True, enum=Implication),
        _f(
            "entries",
            "strings",
            required=True,
            help='each "SOURCE -> TARGET"; "D -> " where the target has no level (a gap)',
        ),
        _f("description", "text"),
        _f("citations", "refs", ref=RecordType.CITATION),
    ),
    RecordType.EXON_MAP: (
        _f("gene", "ref", required=True, ref=RecordType.GENE),
        _f("transcript", "str", required=True, help="reference transcript, e.g. NM_005228.5"),
        _f("exons", "strings", required=True, help='each "EXON: FIRST-LAST" codons, "19: 729-761"'),
        _f("citations", "refs", ref=RecordType.CITATION),
    ),
}

# Fields held in a column of a different name.
_COLUMN = {(RecordType.APPROVAL, "date"): "approval_date"}
# Defaults applied when a new record leaves a field out.
_DEFAULTS: dict[RecordType, dict[str, Any]] = {
    RecordType.GENE: {"role": "unknown", "aliases": [], "name": ""},
    RecordType.BIOMARKER: {"origin": "somatic", "label": "", "exclusions": []},
    RecordType.THERAPY: {"combination": "monotherapy"},
    RecordType.ASSERTION: {
        "level_scheme": LEVEL_SCHEME,
        "line_of_therapy": "any",
        "excluded_tumour_types": [],
        "citations": [],
        "description": "",
    },
    RecordType.TRIAL: {"citations": []},
    RecordType.TRIAL_ARM: {
        "sex": "ALL",
        "suspended": False,
        "tumour_types": [],
        "excluded_tumour_types": [],
        "name": "",
    },
    RecordType.CITATION: {"title": ""},
    RecordType.EXON_MAP: {"citations": []},
    RecordType.ONCOGENICITY: {"mutation_effect": "unknown", "description": "", "citations": []},
    RecordType.LEVEL_SCHEME: {"description": "", "citations": []},
    RecordType.LEVEL_CROSSWALK: {"description": "", "citations": []},
    RecordType.EVIDENCE_ITEM: {
        "tumour_types": [],
        "assertions": [],
        "citations": [],
        "description": "",
    },
}


_SPEC_INDEX = {rtype: {spec.name: spec for spec in specs} for rtype, specs in SPECS.items()}


def field_spec(rtype: RecordType, name: str) -> FieldSpec:
    spec = _SPEC_INDEX[rtype].get(name)
    if spec is not None:
        return spec
    known = ", ".join(spec.name for spec in SPECS[rtype])
    raise FieldError(f"new {rtype}", name, None, f"one of the fields {known}", "unknown field")


def record_type_of(value: str) -> RecordType:
    """The record type named by `value` ("assertion", "assertions", "trial-arm" …)."""
    key = value.strip().lower().replace("-", "_")
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es")):
        try:
            return RecordType(candidate)
        except ValueError:
            continue
    raise KbError(
        f"unknown record type {value!r}; expected one of "
        + ", ".join(member.value for member in RecordType)
    )


def type_of_human_id(human_id: str) -> RecordType:
    prefix = human_id.split("-", 1)[0].upper()
    for rtype, known in HUMAN_ID_PREFIX.items():
        if known == prefix:
            return rtype
    raise NotFoundError(f"{human_id!r} is not a record id (expected e.g. AS-00001 or BM-00042)")


class FieldError(KbError):
    """A field value that does not fit: names the record, field, value and what was expected."""

    def __init__(
        self, record: str, field_name: str, value: object, expected: str, problem: str = ""
    ) -> None:
        self.record = record
        self.field = field_name
        self.value = value
        self.expected = expected
        self.problem = problem or "invalid value"
        super().__init__(
            f"{record}: field '{field_name}': {self.problem} {value!r}; expected {expected}"
        )


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One record as plain data, safe to hand to any thread."""

    type: RecordType
    id: str
    human_id: str
    kb_version: int
    title: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "id": self.human_id,
            "uuid": self.id,
            "kb_version": self.kb_version,
            "title": self.title,
            "fields": dict(self.fields),
        }


# --- id lookups -------------------------------------------------------------------------


class Ids:
    """Translates between UUIDs, human ids and natural keys within one session.

    Loads one record type's ids at a time, on first use, so converting many rows costs one
    query per type rather than one per reference.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._human: dict[str, str] = {}
        self._by_key: dict[RecordType, dict[str, str]] = {}
        self._titles: dict[str, str] = {}

    def _load(self, rtype: RecordType) -> dict[str, str]:
        known = self._by_key.get(rtype)
        if known is not None:
            return known
        cls = RECORD_CLASSES[rtype]
        keys: dict[str, str] = {}
        natural = _NATURAL_KEY.get(rtype)
        columns = [cls.id, cls.human_id]
        if natural:
            columns.append(getattr(cls, natural))
        if rtype is RecordType.CITATION:
            columns.append(Citation.kind)
        if rtype is RecordType.TRIAL:
            columns.append(Trial.protocol_no)
        for row in self.session.execute(select(*columns)):
            uuid, human = row[0], row[1]
            self._human[uuid] = human
            keys[human.upper()] = uuid
            if rtype is RecordType.TRIAL and row[2] is None and row[3] is not None:
                # Keyed by its protocol number until it has an NCT id.
                keys.setdefault(" ".join(str(row[3]).upper().split()), uuid)
            elif natural and row[2] is not None:
                key = str(row[2])
                if rtype is RecordType.CITATION:
                    key = f"{row[3]}:{key}"
                keys.setdefault(key.upper(), uuid)
        self._by_key[rtype] = keys
        return keys

    def forget(self, rtype: RecordType) -> None:
        self._by_key.pop(rtype, None)

    def human(self, rtype: RecordType, uuid: str | None) -> str | None:
        if uuid is None:
            return None
        if uuid not in self._human:
            self._load(rtype)
        return self._human.get(uuid)

    def ref(self, rtype: RecordType, uuid: str | None) -> str | None:
        """The human id for a stored reference; a dangling one shows as "missing:<uuid>"."""
        if uuid is None:
            return None
        return self.human(rtype, uuid) or f"missing:{uuid}"

    def resolve(self, rtype: RecordType, key: str) -> str | None:
        """The UUID for a human id or natural key of `rtype`, or None."""
        return self._load(rtype).get(key.strip().upper())

    def add(self, rtype: RecordType, uuid: str, human_id: str, natural: str | None) -> None:
        keys = self._load(rtype)
        self._human[uuid] = human_id
        keys[human_id.upper()] = uuid
        if natural:
            keys.setdefault(natural.upper(), uuid)

    def add_many(
        self,
        rtype: RecordType,
        uuids: Sequence[str],
        human_ids: Sequence[str],
        naturals: Sequence[str | None] | None = None,
    ) -> None:
        """`add` for many records of one type (an import stages 100,000): their uuids, human
        ids and natural keys (None: none has one), in one order."""
        keys = self._load(rtype)
        self._human.update(zip(uuids, human_ids, strict=True))
        keys.update(zip(map(str.upper, human_ids), uuids, strict=True))
        for uuid, natural in zip(uuids, naturals or (), strict=False):
            if natural:
                keys.setdefault(natural.upper(), uuid)


# Natural keys the database keeps unique: checked first so the error names the field.
_UNIQUE: dict[RecordType, tuple[tuple[str, ...], ...]] = {
    RecordType.GENE: (("symbol",), ("hgnc_id",)),
    RecordType.DRUG: (("name",),),
    RecordType.THERAPY: (("name",),),
    RecordType.TRIAL: (("nct_id",), ("protocol_no",)),
    RecordType.CITATION: (("kind", "identifier"),),
    RecordType.TRIAL_ARM: (("trial_id", "code"),),
    RecordType.EXON_MAP: (("gene_id",),),
    RecordType.ONCOGENICITY: (("biomarker_id",),),
    RecordType.EVIDENCE_ITEM: (("source", "source_id"),),
    RecordType.LEVEL_SCHEME: (("name",),),
    RecordType.LEVEL_CROSSWALK: (("source_scheme_id", "target_scheme_id", "implication"),),
}


@functools.cache
def unique_keys(rtype: RecordType) -> tuple[tuple[str, ...], ...]:
    """The field names of each value the database keeps unique for `rtype` (a gene's symbol,
    and its HGNC id; a trial arm's trial and code together); empty for a type with none."""
    names = {spec.name for spec in SPECS[rtype]}
    return tuple(
        tuple(c if c in names else c.removesuffix("_id") for c in columns)
        for columns in _UNIQUE.get(rtype, ())
    )


CLONE_MARK = " (copy)"
"""Appended to a clone's unique key (a gene's symbol, a drug's name, a trial arm's code), so the
copy can be staged beside its source and visibly needs a key of its own (kb.review.bulk)."""


def marked_keys(rtype: RecordType, fields: Mapping[str, Any]) -> list[str]:
    """The unique-key fields of a record that still carry `CLONE_MARK`: a clone's, waiting for
    values of its own."""
    out = []
    for key in unique_keys(rtype):
        value = fields.get(key[-1])
        if isinstance(value, str) and value.endswith(CLONE_MARK):
            out.append(key[-1])
    return out


_NATURAL_KEY: dict[RecordType, str] = {
    RecordType.GENE: "symbol",
    RecordType.DRUG: "name",
    RecordType.THERAPY: "name",
    RecordType.TRIAL: "nct_id",
    RecordType.CITATION: "identifier",
    RecordType.LEVEL_SCHEME: "name",
}


# --- reading ----------------------------------------------------------------------------


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _value(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def record_fields(obj: RecordMixin, rtype: RecordType, ids: Ids) -> dict[str, Any]:
    """The record's fields as JSON-ready plain data, references as human ids."""
    out: dict[str, Any] = {}
    for spec in SPECS[rtype]:
        match spec.kind:
            case "ref":
                assert spec.ref is not None
                out[spec.name] = ids.ref(spec.ref, getattr(obj, f"{spec.name}_id"))
            case "refs" | "codes" | "tree":
                out[spec.name] = _read_collection(obj, rtype, spec, ids)
            case _:
                out[spec.name] = _value(getattr(obj, _COLUMN.get((rtype, spec.name), spec.name)))
    return out


def _read_collection(obj: Any, rtype: RecordType, spec: FieldSpec, ids: Ids) -> Any:
    match (rtype, spec.name):
        case (RecordType.BIOMARKER, "exclusions"):
            return [ids.ref(RecordType.BIOMARKER, link.excluded_id) for link in obj.exclusion_links]
        case (RecordType.THERAPY, "drugs"):
            return [ids.ref(RecordType.DRUG, link.drug_id) for link in obj.drug_links]
        case (RecordType.EVIDENCE_ITEM, "assertions"):
            return [
                ids.ref(RecordType.ASSERTION, link.assertion_id) for link in obj.assertion_links
            ]
        case (_, "citations"):
            return [ids.ref(RecordType.CITATION, link.citation_id) for link in obj.citation_links]
        case (_, "tumour_types"):
            return [link.code for link in obj.tumour_links if not link.excluded]
        case (_, "excluded_tumour_types"):
            return [link.code for link in obj.tumour_links if link.excluded]
        case (RecordType.EXPRESSION, "tree"):
            return expression_tree(obj, ids)
    raise AssertionError(f"no reader for {rtype}.{spec.name}")


def expression_tree(obj: Expression, ids: Ids) -> exprs.Tree:
    flat = [
        exprs.FlatNode(
            node.ordinal,
            node.depth,
            node.op,
            ids.ref(RecordType.BIOMARKER, node.biomarker_id),
            ids.ref(RecordType.THRESHOLD, node.threshold_id),
        )
        for node in obj.nodes
    ]
    return exprs.unflatten(flat)


_LOADERS: dict[RecordType, Sequence[Any]] = {
    RecordType.BIOMARKER: (selectinload(Biomarker.exclusion_links),),
    RecordType.THERAPY: (selectinload(Therapy.drug_links),),
    RecordType.EXPRESSION: (selectinload(Expression.nodes),),
    RecordType.ASSERTION: (
        selectinload(Assertion.tumour_links),
        selectinload(Assertion.citation_links),
    ),
    RecordType.TRIAL: (selectinload(Trial.citation_links),),
    RecordType.TRIAL_ARM: (selectinload(TrialArm.tumour_links),),
    RecordType.EXON_MAP: (selectinload(ExonMap.citation_links),),
    RecordType.ONCOGENICITY: (selectinload(OncogenicityRecord.citation_links),),
    RecordType.LEVEL_SCHEME: (selectinload(LevelScheme.citation_links),),
    RecordType.LEVEL_CROSSWALK: (selectinload(LevelCrosswalk.citation_links),),
    RecordType.EVIDENCE_ITEM: (
        selectinload(EvidenceItem.tumour_links),
        selectinload(EvidenceItem.citation_links),
        selectinload(EvidenceItem.assertion_links),
    ),
}


def load_objects(session: Session, rtype: RecordType) -> list[Any]:
    cls = RECORD_CLASSES[rtype]
    query = select(cls).options(*_LOADERS.get(rtype, ())).order_by(cls.human_id)
    return list(session.scalars(query))


def list_records(session: Session, rtype: RecordType) -> list[RecordRow]:
    """Every record of one type, in human-id order."""
    ids = Ids(session)
    titles = Titles(session, ids)
    rows = []
    for obj in load_objects(session, rtype):
        fields = record_fields(obj, rtype, ids)
        rows.append(
            RecordRow(
                rtype, obj.id, obj.human_id, obj.kb_version, titles.title(rtype, fields), fields
            )
        )
    return rows


def get_object(session: Session, human_id: str) -> tuple[RecordType, Any]:
    """The ORM object for a human id (for kb's own use; never handed to the UI)."""
    rtype = type_of_human_id(human_id)
    cls = RECORD_CLASSES[rtype]
    obj = session.scalars(
        select(cls).options(*_LOADERS.get(rtype, ())).where(cls.human_id == human_id.upper())
    ).one_or_none()
    if obj is None:
        raise NotFoundError(f"no {rtype} {human_id}")
    return rtype, obj


def get_record(session: Session, human_id: str) -> RecordRow:
    """One record as plain data, by its human id."""
    rtype, obj = get_object(session, human_id)
    ids = Ids(session)
    fields = record_fields(obj, rtype, ids)
    return RecordRow(
        rtype,
        obj.id,
        obj.human_id,
        obj.kb_version,
        Titles(session, ids).title(rtype, fields),
        fields,
    )


def count_records(session: Session) -> dict[RecordType, int]:
    return {
        rtype: session.scalar(select(func.count()).select_from(cls)) or 0
        for rtype, cls in RECORD_CLASSES.items()
    }


# --- titles -------------------------------------------------------------------------------


def implication_words(fields: Mapping[str, Any]) -> str:
    """An implication with its direction or germline class, e.g. "prognostic, poorer outcome"."""
    extra = fields.get("direction") or fields.get("pathogenicity")
    words = str(fields["implication"])
    return f"{words}, {str(extra).replace('_', ' ')}" if extra else words


def level_words(fields: Mapping[str, Any]) -> str:
    """ "L1"; where the KB's scheme has no level, the source's ("CIViC D, no KB level")."""
    if fields.get("evidence_level"):
        return f"L{fields['evidence_level']}"
    source = " ".join(str(fields.get(k) or "") for k in ("source_scheme", "source_level")).strip()
    if fields.get("implication") == Implication.PREDISPOSING:
        return source or "germline"
    return f"{source}, no KB level" if source else "no level"


_CHARACTERISTIC_NAMES = {
    ("MSI", "high"): "MSI-H",
    ("MSI", "low"): "MSI-L",
    ("MSI", "stable"): "MSS",
    ("MMR", "deficient"): "dMMR",
    ("MMR", "proficient"): "pMMR",
    ("TMB", "high"): "TMB-H",
    ("TMB", "low"): "TMB-L",
    ("HRD", "positive"): "HRD positive",
    ("HRD", "negative"): "HRD negative",
}


def biomarker_name(fields: Mapping[str, Any], gene_symbol: Mapping[str, str]) -> str:
    """A biomarker's canonical display name, derived from its fields (e.g. "EGFR L858R")."""
    gene = gene_symbol.get(fields.get("gene") or "", "?")
    kind = fields.get("kind")
    germline = "germline " if fields.get("origin") == Origin.GERMLINE.value else ""
    match kind:
        case "sequence_variant":
            short = fields.get("protein_change") or ""
            with contextlib.suppress(ProteinChangeError):
                short = parse_protein_change(short).short if short else ""
            change = short or fields.get("dna_change") or fields.get("dbsnp_id") or ""
            return f"{gene} {germline}{change}".strip()
        case "range":
            consequence = (fields.get("consequence") or "any").replace("_", " ")
            consequence = consequence.replace("inframe", "in-frame").replace("exon ", "")
            if fields.get("exon") is not None:
                where = f"exon {fields['exon']}"
            elif fields.get("codon_start") is None:
                where = ""  # the whole gene
            elif fields.get("codon_end") not in (None, fields.get("codon_start")):
                where = f"codons {fields.get('codon_start')}-{fields.get('codon_end')}"
            else:
                where = f"codon {fields.get('codon_start')}"
            what = "" if consequence == "any" else f" {consequence}"
            return " ".join(f"{gene} {germline}{where}{what}".split())
        case "categorical":
            category = (fields.get("category") or "").replace("_", " ")
            return f"{gene} {germline}{category}".strip()
        case "copy_number":
            return f"{gene} {fields.get('copy_number')}"
        case "fusion":
            five = gene_symbol.get(fields.get("partner_5") or "")
            three = gene_symbol.get(fields.get("partner_3") or "")
            if five and three:
                return f"{five}::{three} fusion"
            return f"{five or three} fusion"
        case "characteristic":
            key = (fields.get("characteristic") or "", fields.get("status") or "")
            return _CHARACTERISTIC_NAMES.get(key, " ".join(part for part in key if part))
        case "expression":
            parts = [
                gene,
                fields.get("assay") or "expression",
                _EXPRESSION_WORDS.get(fields.get("status") or "", fields.get("status") or ""),
            ]
            return " ".join(part for part in parts if part)
        case "methylation":
            return f"{gene} promoter {fields.get('status') or 'methylation'}"
        case "wild_type":
            return f"{gene} {germline}wild type"
    return "?"


_EXPRESSION_WORDS = {"high": "overexpression", "low": "underexpression"}


def trial_key(fields: Mapping[str, Any]) -> str:
    """What names a trial: its NCT id, or its protocol number until it has one."""
    return str(fields.get("nct_id") or fields.get("protocol_no") or "")


def phase_words(phase: object) -> str:
    """A trial's phase as a person reads it ("phase not given" when the source gave none)."""
    return str(phase.value if isinstance(phase, StrEnum) else phase) if phase else "phase not given"


def with_unit(value: object, unit: str | None) -> str:
    """`10 mut/Mb`, `50%`; scores and ratios stay bare, as oncologists write them
    ("CPS >= 10", "ISH_RATIO >= 2.0")."""
    if not unit or unit in ("score", "ratio"):
        return str(value)
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


def leaf_text(name: str, subject: str, threshold: Mapping[str, Any] | None) -> str:
    """The canonical text of one expression leaf: the biomarker's `name` (`EGFR L858R`), or
    with a threshold ({metric, operator, value, unit}) the measured `subject` (gene or
    characteristic) and the comparison: `ERBB2 IHC >= 3+`, `TMB >= 10 mut/Mb`.

    Pure, so that the KB, a release's tables and an editor on the UI thread all render
    expressions identically."""
    if threshold is None:
        return name
    metric = str(threshold.get("metric"))
    try:
        short = METRICS[Metric(metric)].short
    except ValueError:  # a metric newer than this code: show it as stored
        short = metric
    subject = subject or name
    shown = "" if short == subject else f" {short}"
    value = with_unit(threshold.get("value"), threshold.get("unit"))
    return f"{subject}{shown} {threshold.get('operator')} {value}"


def threshold_text(fields: Mapping[str, Any]) -> str:
    value = with_unit(fields.get("value"), fields.get("unit"))
    return f"{fields.get('metric')} {fields.get('operator')} {value}"


class Titles:
    """Short human titles for records (list views, CLI, canonical expression text)."""

    def __init__(self, session: Session, ids: Ids) -> None:
        self.session = session
        self.ids = ids
        self._cache: dict[tuple[RecordType, str], Any] = {}

    def _column(self, rtype: RecordType, column: str) -> Mapping[str, Any]:
        key = (rtype, column)
        if key not in self._cache:
            cls = RECORD_CLASSES[rtype]
            query = select(cls.human_id, getattr(cls, column))
            self._cache[key] = dict(self.session.execute(query).all())
        return cast(Mapping[str, Any], self._cache[key])

    def invalidate(self, rtype: RecordType) -> None:
        """Forget cached names that a write to `rtype` may have changed."""
        for key in [key for key in self._cache if key[0] is rtype]:
            del self._cache[key]
        if rtype is RecordType.GENE:
            self._cache.pop((RecordType.BIOMARKER, "__names__"), None)

    def biomarkers(self) -> Mapping[str, tuple[str, str]]:
        """Per biomarker: its canonical name, and the subject a threshold on it measures
        (the gene, or the characteristic such as TMB)."""
        key = (RecordType.BIOMARKER, "__names__")
        if key not in self._cache:
            genes = self._column(RecordType.GENE, "symbol")
            names = {}
            query = select(Biomarker).options(selectinload(Biomarker.exclusion_links))
            for obj in self.session.scalars(query):
                fields = record_fields(obj, RecordType.BIOMARKER, self.ids)
                subject = genes.get(fields.get("gene") or "") or fields.get("characteristic") or ""
                names[obj.human_id] = (biomarker_name(fields, genes), subject)
            self._cache[key] = names
        return cast(Mapping[str, tuple[str, str]], self._cache[key])

    def thresholds(self) -> Mapping[str, Threshold]:
        key = (RecordType.THRESHOLD, "__rows__")
        if key not in self._cache:
            self._cache[key] = {t.human_id: t for t in self.session.scalars(select(Threshold))}
        return cast(Mapping[str, Threshold], self._cache[key])

    def leaf_text(self, leaf: exprs.Tree) -> str:
        """`EGFR L858R`; with a threshold, `ERBB2 IHC >= 3+`, `TMB >= 10 mut/Mb`."""
        name, subject = self.biomarkers().get(leaf["biomarker"], (leaf["biomarker"], ""))
        threshold_id = leaf.get("threshold")
        if not threshold_id:
            return name
        threshold = self.thresholds().get(threshold_id)
        if threshold is None:
            return f"{name} {threshold_id}"
        parts = {
            "metric": threshold.metric.value,
            "operator": threshold.operator.value,
            "value": threshold.value,
            "unit": threshold.unit,
        }
        return leaf_text(name, subject, parts)

    def expression_text(self, tree: exprs.Tree) -> str:
        return exprs.render(tree, self.leaf_text)

    def title(self, rtype: RecordType, fields: Mapping[str, Any]) -> str:
        match rtype:
            case RecordType.GENE:
                return str(fields["symbol"])
            case RecordType.BIOMARKER:
                return fields.get("label") or biomarker_name(
                    fields, self._column(RecordType.GENE, "symbol")
                )
            case RecordType.THRESHOLD:
                return threshold_text(fields)
            case RecordType.EXPRESSION:
                return self.expression_text(fields["tree"])
            case RecordType.DRUG | RecordType.THERAPY:
                return str(fields["name"])
            case RecordType.CITATION:
                return f"{fields['kind']}:{fields['identifier']}"
            case RecordType.APPROVAL:
                therapy = self._column(RecordType.THERAPY, "name").get(fields["therapy"], "?")
                return f"{fields['agency']} {fields.get('date') or ''} {therapy}".replace("  ", " ")
            case RecordType.ASSERTION:
                text = self._column(RecordType.EXPRESSION, "text").get(fields["expression"], "?")
                therapy = self._column(RecordType.THERAPY, "name").get(fields.get("therapy") or "")
                codes = ", ".join(fields.get("tumour_types") or [])
                return " · ".join(
                    str(part)
                    for part in (
                        text,
                        therapy or implication_words(fields),
                        codes,
                        level_words(fields),
                    )
                )
            case RecordType.TRIAL:
                return f"{trial_key(fields)} {fields.get('title') or ''}".strip()
            case RecordType.TRIAL_ARM:
                nct = self._column(RecordType.TRIAL, "nct_id").get(fields["trial"])
                if not nct:
                    nct = self._column(RecordType.TRIAL, "protocol_no").get(fields["trial"], "?")
                return f"{nct} arm {fields['code']} {fields.get('name') or ''}".strip()
            case RecordType.EXON_MAP:
                gene = self._column(RecordType.GENE, "symbol").get(fields["gene"], "?")
                return f"{gene} exons on {fields['transcript']}"
            case RecordType.LEVEL_SCHEME:
                return f"{fields['name']} ({len(fields.get('levels') or [])} levels)"
            case RecordType.LEVEL_CROSSWALK:
                schemes = self._column(RecordType.LEVEL_SCHEME, "name")
                source = schemes.get(fields["source_scheme"], fields["source_scheme"])
                target = schemes.get(fields["target_scheme"], fields["target_scheme"])
                return f"{source} -> {target} ({fields['implication']})"
            case RecordType.ONCOGENICITY:
                name = self._column(RecordType.BIOMARKER, "label").get(fields["biomarker"], "")
                what = str(fields["oncogenicity"]).replace("_", " ")
                effect = str(fields.get("mutation_effect") or "unknown").replace("_", " ")
                shown = f", {effect}" if effect != "unknown" else ""
                return f"{name or fields['biomarker']}: {what}{shown}"
            case RecordType.EVIDENCE_ITEM:
                direction = "" if fields["direction"] == "supports" else " (does not support)"
                level = f" level {fields['source_level']}" if fields.get("source_level") else ""
                return (
                    f"{fields['source']} {fields['source_id']}: {fields['evidence_type']}"
                    f"{level}{direction}"
                )


# --- writing ------------------------------------------------------------------------------


def next_human_id(session: Session, rtype: RecordType) -> str:
    """Allocate the next human id of a type; the counter row is locked on PostgreSQL."""
    prefix = HUMAN_ID_PREFIX[rtype]
    counter = session.get(HumanIdCounter, prefix, with_for_update=True)
    if counter is None:
        counter = HumanIdCounter(prefix=prefix, last=0)
        session.add(counter)
    counter.last += 1
    return f"{prefix}-{counter.last:05d}"


def _label(rtype: RecordType, obj: RecordMixin | None) -> str:
    return f"{rtype} {obj.human_id}" if obj is not None and obj.human_id else f"new {rtype}"


def coerce(rtype: RecordType, spec: FieldSpec, value: Any, *, record: str) -> Any:
    """Check one field value and turn it into its stored form (refs are resolved later)."""
    if value is None or value == "":
        if spec.required:
            raise FieldError(record, spec.name, value, spec.expected(), "a value is required, got")
        if spec.kind in ("refs", "codes", "strings"):
            return []
        if spec.kind == "bool":
            return False
        return None
    match spec.kind:
        case "enum":
            assert spec.enum is not None
            try:
                return spec.enum(value if not isinstance(value, str) else value.strip())
            except ValueError:
                raise FieldError(
                    record, spec.name, value, spec.expected(), "unknown value"
                ) from None
        case "int":
            if isinstance(value, bool):
                raise FieldError(record, spec.name, value, spec.expected())
            try:
                number = int(str(value).strip())
            except ValueError:
                raise FieldError(
                    record, spec.name, value, spec.expected(), "not a whole number"
                ) from None
            if number < 0:
                raise FieldError(
                    record, spec.name, value, "a whole number of 0 or more", "negative"
                )
            return number
        case "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "y"):
                return True
            if text in ("false", "no", "0", "n"):
                return False
            raise FieldError(record, spec.name, value, spec.expected())
        case "date":
            if isinstance(value, dt.date):
                return value
            try:
                return dt.date.fromisoformat(str(value).strip())
            except ValueError:
                raise FieldError(record, spec.name, value, spec.expected(), "not a date") from None
        case "refs" | "codes" | "strings":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple):
                raise FieldError(record, spec.name, value, spec.expected(), "not a list")
            cleaned = [str(item).strip() for item in items if str(item).strip()]
            if spec.kind == "codes":
                cleaned = [code.upper() for code in cleaned]
            if len(set(cleaned)) != len(cleaned):
                raise FieldError(record, spec.name, value, "each value once", "repeated value in")
            if spec.required and not cleaned:
                raise FieldError(
                    record, spec.name, value, spec.expected(), "a value is required, got"
                )
            if (rtype, spec.name) == (RecordType.LEVEL_SCHEME, "levels"):
                try:
                    parse_levels(cleaned)
                except LevelSchemeError as exc:
                    raise FieldError(record, spec.name, value, LEVELS_EXPECTED, str(exc)) from None
            if (rtype, spec.name) == (RecordType.LEVEL_CROSSWALK, "entries"):
                try:
                    parse_entries(cleaned)
                except LevelSchemeError as exc:
                    raise FieldError(record, spec.name, value, ENTRIES_EXPECTED, str(exc)) from None
            if (rtype, spec.name) == (RecordType.EXON_MAP, "exons"):
                try:
                    return [str(exon) for exon in parse_exons(cleaned)]
                except ExonMapError as exc:
                    raise FieldError(record, spec.name, value, EXONS_EXPECTED, str(exc)) from None
            return cleaned
        case "tree":
            try:
                return exprs.check_tree(value)
            except exprs.TreeError as exc:
                raise FieldError(record, spec.name, value, spec.expected(), exc.message) from None
        case "protein":
            try:
                return parse_protein_change(str(value)).hgvs
            except ProteinChangeError as exc:
                raise FieldError(record, spec.name, value, exc.expected, exc.message) from None
        case _ if (rtype, spec.name) == (RecordType.BIOMARKER, "dbsnp_id"):
            rs_id = value.strip().lower() if isinstance(value, str) else ""
            if not DBSNP_ID.fullmatch(rs_id):
                raise FieldError(record, spec.name, value, DBSNP_EXPECTED, "not a dbSNP rs id")
            return rs_id
        case _:
            if not isinstance(value, str | int | float):
                raise FieldError(record, spec.name, value, spec.expected(), "not text")
            return str(value).strip()


def normalise_fields(
    rtype: RecordType, fields: Mapping[str, Any], ids: Ids, *, record: str
) -> dict[str, Any]:
    """Check `fields` and return them in stored form: what `record_fields` would read back
    (enums as values, dates as ISO text, references as human ids, HGVS canonical)."""
    out: dict[str, Any] = {}
    for name, raw in fields.items():
        spec = field_spec(rtype, name)
        value = coerce(rtype, spec, raw, record=record)
        match spec.kind:
            case "ref":
                out[name] = None if value is None else _human_ref(spec, value, ids, record)
            case "refs":
                out[name] = [_human_ref(spec, key, ids, record) for key in value]
            case "tree":
                out[name] = _human_tree(value, ids, record)
            case _:
                out[name] = _value(_blank_text(rtype, spec, value))
    return out


def _blank_text(rtype: RecordType, spec: FieldSpec, value: Any) -> Any:
    # An empty optional text field is "" where the column cannot be NULL, None elsewhere:
    # the same value whichever way the record was written.
    if value is None and spec.kind in ("str", "text"):
        column = RECORD_CLASSES[rtype].__table__.c[_COLUMN.get((rtype, spec.name), spec.name)]
        if not column.nullable:
            return ""
    return value


def complete_fields(rtype: RecordType, fields: Mapping[str, Any], *, record: str) -> dict[str, Any]:
    """A new record's full field set in stored form: defaults filled in, requirements checked."""
    values = {**{k: _value(v) for k, v in _DEFAULTS.get(rtype, {}).items()}, **fields}
    out: dict[str, Any] = {}
    for spec in SPECS[rtype]:
        if spec.name not in values:
            if spec.required:
                raise FieldError(
                    record, spec.name, None, spec.expected(), "a value is required, got"
                )
            out[spec.name] = [] if spec.kind in ("refs", "codes", "strings") else None
            if spec.kind == "bool":
                out[spec.name] = False
        else:
            out[spec.name] = values[spec.name]
    if rtype is RecordType.THRESHOLD and "unit" not in fields and out.get("metric"):
        out["unit"] = METRICS[Metric(out["metric"])].unit
    return out


def _human_ref(spec: FieldSpec, key: str, ids: Ids, record: str) -> str:
    assert spec.ref is not None
    uuid = ids.resolve(spec.ref, key)
    human = ids.human(spec.ref, uuid) if uuid else None
    if human is None:
        raise FieldError(record, spec.name, key, spec.expected(), f"no {spec.ref}")
    return human


def _human_tree(tree: exprs.Tree, ids: Ids, record: str) -> exprs.Tree:
    if "op" in tree:
        return {"op": tree["op"], "args": [_human_tree(arg, ids, record) for arg in tree["args"]]}
    leaf: exprs.Tree = {}
    for key, target in (("biomarker", RecordType.BIOMARKER), ("threshold", RecordType.THRESHOLD)):
        if tree.get(key):
            uuid = ids.resolve(target, tree[key])
            human = ids.human(target, uuid) if uuid else None
            if human is None:
                raise FieldError(record, "tree", tree[key], f"a {target} id", f"no {target}")
            leaf[key] = human
    return leaf


class Writer:
    """Writes records within one session; references resolve through one shared `Ids`."""

    def __init__(self, session: Session, *, kb_version: int, ids: Ids | None = None) -> None:
        self.session = session
        self.ids = ids or Ids(session)
        self.kb_version = kb_version
        self.titles = Titles(session, self.ids)

    def _ref(self, rtype: RecordType, spec: FieldSpec, key: str, record: str) -> str:
        assert spec.ref is not None
        uuid = self.ids.resolve(spec.ref, key)
        if uuid is None:
            raise FieldError(record, spec.name, key, spec.expected(), f"no {spec.ref}")
        return uuid

    def create(
        self,
        rtype: RecordType,
        fields: Mapping[str, Any],
        *,
        uuid: str | None = None,
        human_id: str | None = None,
    ) -> RecordMixin:
        """Add a new record; missing optional fields take their defaults. A change set's
        records keep the id and human id they were given when staged."""
        for name in fields:
            field_spec(rtype, name)
        values = {**_DEFAULTS.get(rtype, {}), **fields}
        cls = RECORD_CLASSES[rtype]
        obj = cls()
        obj.human_id = ""
        if uuid is not None:
            obj.id = uuid
        for spec in SPECS[rtype]:
            if spec.name not in values and spec.required:
                raise FieldError(
                    f"new {rtype}", spec.name, None, spec.expected(), "a value is required, got"
                )
        self._apply(rtype, obj, values, creating=True)
        obj.human_id = human_id or next_human_id(self.session, rtype)
        obj.kb_version = self.kb_version
        self.session.add(obj)
        self.session.flush()
        natural = _NATURAL_KEY.get(rtype)
        key = getattr(obj, natural) if natural else None
        if rtype is RecordType.TRIAL and key is None and obj.protocol_no:
            key = " ".join(obj.protocol_no.upper().split())
        if rtype is RecordType.CITATION:
            key = f"{obj.kind.value}:{obj.identifier}"
        self.ids.add(rtype, obj.id, obj.human_id, str(key) if key else None)
        self.titles.invalidate(rtype)
        return cast(RecordMixin, obj)

    def update(
        self, rtype: RecordType, obj: RecordMixin, fields: Mapping[str, Any], *, flush: bool = True
    ) -> None:
        """Change the given fields of a record (a bulk caller may flush once at the end)."""
        for name in fields:
            field_spec(rtype, name)
        self._apply(rtype, obj, fields, creating=False)
        obj.kb_version = self.kb_version
        if flush:
            self.session.flush()
        self.titles.invalidate(rtype)

    def delete(self, rtype: RecordType, obj: RecordMixin) -> None:
        """Remove a record that nothing else refers to."""
        users = referrers(self.session, rtype, obj.id)
        if users:
            raise KbError(
                f"{obj.human_id} cannot be deleted: still used by {', '.join(users[:10])}"
                + (" …" if len(users) > 10 else "")
            )
        self.session.delete(obj)
        self.session.flush()

    def _apply(
        self, rtype: RecordType, obj: Any, values: Mapping[str, Any], *, creating: bool
    ) -> None:
        record = _label(rtype, obj if not creating else None)
        for spec in SPECS[rtype]:
            if spec.name not in values:
                continue
            value = coerce(rtype, spec, values[spec.name], record=record)
            match spec.kind:
                case "ref":
                    uuid = None if value is None else self._ref(rtype, spec, value, record)
                    setattr(obj, f"{spec.name}_id", uuid)
                case "refs" | "codes" | "tree":
                    self._write_collection(rtype, obj, spec, value, record)
                case "protein":
                    obj.protein_change = value
                    obj.protein_change_short = parse_protein_change(value).short if value else None
                case _:
                    column = _COLUMN.get((rtype, spec.name), spec.name)
                    setattr(obj, column, _blank_text(rtype, spec, value))
        if rtype is RecordType.THRESHOLD and creating and "unit" not in values:
            obj.unit = METRICS[obj.metric].unit
        if rtype is RecordType.TRIAL and not obj.nct_id and not obj.protocol_no:
            raise FieldError(
                record,
                "nct_id",
                None,
                "an NCT id, or the trial's protocol number until it has one",
                "a trial needs an NCT id or a protocol number, got",
            )
        self._check_unique(rtype, obj, record)

    def _check_unique(self, rtype: RecordType, obj: Any, record: str) -> None:
        cls = RECORD_CLASSES[rtype]
        for columns in _UNIQUE.get(rtype, ()):
            values = [getattr(obj, column) for column in columns]
            if any(value is None for value in values):
                continue
            query = select(cls.human_id).where(
                *(getattr(cls, c) == v for c, v in zip(columns, values, strict=True))
            )
            if obj.id is not None:
                query = query.where(cls.id != obj.id)
            with self.session.no_autoflush:
                other = self.session.scalar(query.limit(1))
            if other:
                name = columns[-1].removesuffix("_id") if len(columns) == 1 else columns[-1]
                shown = values[-1].value if isinstance(values[-1], StrEnum) else values[-1]
                raise FieldError(
                    record, name, shown, f"a value no other {rtype} has", f"{other} already has"
                )

    def _write_collection(
        self, rtype: RecordType, obj: Any, spec: FieldSpec, value: Any, record: str
    ) -> None:
        match (rtype, spec.name):
            case (RecordType.BIOMARKER, "exclusions"):
                obj.exclusion_links = [
                    BiomarkerExclusion(excluded_id=self._ref(rtype, spec, key, record), position=i)
                    for i, key in enumerate(value)
                ]
            case (RecordType.THERAPY, "drugs"):
                obj.drug_links = [
                    TherapyDrug(drug_id=self._ref(rtype, spec, key, record), position=i)
                    for i, key in enumerate(value)
                ]
            case (RecordType.ASSERTION, "citations"):
                obj.citation_links = [
                    AssertionCitation(citation_id=self._ref(rtype, spec, key, record), position=i)
                    for i, key in enumerate(value)
                ]
            case (RecordType.TRIAL, "citations"):
                obj.citation_links = [
                    TrialCitation(citation_id=self._ref(rtype, spec, key, record), position=i)
                    for i, key in enumerate(value)
                ]
            case (RecordType.EVIDENCE_ITEM, "citations"):
                obj.citation_links = [
                    EvidenceItemCitation(
                        citation_id=self._ref(rtype, spec, key, record), position=i
                    )
                    for i, key in enumerate(value)
                ]
            case (RecordType.EVIDENCE_ITEM, "assertions"):
                obj.assertion_links = [
                    EvidenceItemAssertion(
                        assertion_id=self._ref(rtype, spec, key, record), position=i
                    )
                    for i, key in enumerate(value)
                ]
            case (RecordType.ONCOGENICITY, "citations"):
                obj.citation_links = [
                    OncogenicityCitation(
                        citation_id=self._ref(rtype, spec, key, record), position=i
                    )
                    for i, key in enumerate(value)
                ]
            case (RecordType.LEVEL_SCHEME, "citations"):
                obj.citation_links = [
                    LevelSchemeCitation(citation_id=self._ref(rtype, spec, key, record), position=i)
                    for i, key in enumerate(value)
                ]
            case (RecordType.LEVEL_CROSSWALK, "citations"):
                obj.citation_links = [
                    LevelCrosswalkCitation(
                        citation_id=self._ref(rtype, spec, key, record), position=i
                    )
                    for i, key in enumerate(value)
                ]
            case (RecordType.EXON_MAP, "citations"):
                obj.citation_links = [
                    ExonMapCitation(citation_id=self._ref(rtype, spec, key, record), position=i)
                    for i, key in enumerate(value)
                ]
            case (_, "tumour_types" | "excluded_tumour_types"):
                self._write_codes(rtype, obj, spec.name == "excluded_tumour_types", value)
            case (RecordType.EXPRESSION, "tree"):
                self._write_tree(obj, value, record)
            case _:
                raise AssertionError(f"no writer for {rtype}.{spec.name}")

    def _write_codes(
        self, rtype: RecordType, obj: Any, excluded: bool, codes: Iterable[str]
    ) -> None:
        link = {
            RecordType.ASSERTION: AssertionTumourType,
            RecordType.EVIDENCE_ITEM: EvidenceItemTumourType,
        }.get(rtype, ArmTumourType)
        kept = [existing for existing in obj.tumour_links if existing.excluded != excluded]
        fresh = [link(code=code, excluded=excluded, position=i) for i, code in enumerate(codes)]
        if kept or obj.tumour_links:
            # Replacing rows under the same primary key: flush the removal first.
            obj.tumour_links = kept
            if obj in self.session:
                self.session.flush()
        obj.tumour_links = kept + fresh

    def _write_tree(self, obj: Expression, tree: exprs.Tree, record: str) -> None:
        spec = field_spec(RecordType.EXPRESSION, "tree")
        nodes = []
        for flat in exprs.flatten(tree):
            biomarker = threshold = None
            if flat.biomarker is not None:
                biomarker = self.ids.resolve(RecordType.BIOMARKER, flat.biomarker)
                if biomarker is None:
                    raise FieldError(
                        record, spec.name, flat.biomarker, "a biomarker id", "no biomarker"
                    )
            if flat.threshold is not None:
                threshold = self.ids.resolve(RecordType.THRESHOLD, flat.threshold)
                if threshold is None:
                    raise FieldError(
                        record, spec.name, flat.threshold, "a threshold id", "no threshold"
                    )
            nodes.append(
                ExpressionNode(
                    ordinal=flat.ordinal,
                    depth=flat.depth,
                    op=flat.op,
                    biomarker_id=biomarker,
                    threshold_id=threshold,
                )
            )
        if obj.nodes and obj in self.session:
            obj.nodes = []
            self.session.flush()
        obj.nodes = nodes
        obj.text = self.titles.expression_text(exprs.map_ids(tree, _identity, _identity))


class _Identity(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key


_identity = _Identity()


_REFERRERS: list[tuple[RecordType, Any, Any]] = [
    (RecordType.BIOMARKER, Biomarker.gene_id, Biomarker.human_id),
    (RecordType.BIOMARKER, Biomarker.partner_5_id, Biomarker.human_id),
    (RecordType.BIOMARKER, Biomarker.partner_3_id, Biomarker.human_id),
    (RecordType.EXPRESSION, ExpressionNode.biomarker_id, ExpressionNode.expression_id),
    (RecordType.EXPRESSION, ExpressionNode.threshold_id, ExpressionNode.expression_id),
    (RecordType.THERAPY, TherapyDrug.drug_id, TherapyDrug.therapy_id),
    (RecordType.APPROVAL, Approval.therapy_id, Approval.human_id),
    (RecordType.APPROVAL, Approval.citation_id, Approval.human_id),
    (RecordType.ASSERTION, Assertion.expression_id, Assertion.human_id),
    (RecordType.ASSERTION, Assertion.therapy_id, Assertion.human_id),
    (RecordType.ASSERTION, AssertionCitation.citation_id, AssertionCitation.assertion_id),
    (RecordType.TRIAL, TrialCitation.citation_id, TrialCitation.trial_id),
    (RecordType.EXON_MAP, ExonMap.gene_id, ExonMap.human_id),
    (RecordType.ONCOGENICITY, OncogenicityRecord.biomarker_id, OncogenicityRecord.human_id),
    (
        RecordType.ONCOGENICITY,
        OncogenicityCitation.citation_id,
        OncogenicityCitation.oncogenicity_id,
    ),
    (RecordType.EVIDENCE_ITEM, EvidenceItem.expression_id, EvidenceItem.human_id),
    (RecordType.EVIDENCE_ITEM, EvidenceItem.therapy_id, EvidenceItem.human_id),
    (
        RecordType.EVIDENCE_ITEM,
        EvidenceItemAssertion.assertion_id,
        EvidenceItemAssertion.evidence_item_id,
    ),
    (
        RecordType.EVIDENCE_ITEM,
        EvidenceItemCitation.citation_id,
        EvidenceItemCitation.evidence_item_id,
    ),
    (RecordType.EXON_MAP, ExonMapCitation.citation_id, ExonMapCitation.exon_map_id),
    (RecordType.EVIDENCE_ITEM, EvidenceItem.oncogenicity_id, EvidenceItem.human_id),
    (
        RecordType.LEVEL_SCHEME,
        LevelSchemeCitation.citation_id,
        LevelSchemeCitation.level_scheme_id,
    ),
    (RecordType.LEVEL_CROSSWALK, LevelCrosswalk.source_scheme_id, LevelCrosswalk.human_id),
    (RecordType.LEVEL_CROSSWALK, LevelCrosswalk.target_scheme_id, LevelCrosswalk.human_id),
    (
        RecordType.LEVEL_CROSSWALK,
        LevelCrosswalkCitation.citation_id,
        LevelCrosswalkCitation.level_crosswalk_id,
    ),
    (RecordType.TRIAL_ARM, TrialArm.trial_id, TrialArm.human_id),
    (RecordType.TRIAL_ARM, TrialArm.expression_id, TrialArm.human_id),
    (RecordType.TRIAL_ARM, TrialArm.therapy_id, TrialArm.human_id),
    (RecordType.BIOMARKER, BiomarkerExclusion.excluded_id, BiomarkerExclusion.biomarker_id),
]


def evidence_of(session: Session, assertion_human_id: str) -> list[RecordRow]:
    """The evidence items that bear on an assertion, supporting or not, in id order."""
    assertion = session.scalar(
        select(Assertion.id).where(Assertion.human_id == assertion_human_id.upper())
    )
    if assertion is None:
        return []
    ids = Ids(session)
    titles = Titles(session, ids)
    query = (
        select(EvidenceItem)
        .join(EvidenceItemAssertion, EvidenceItemAssertion.evidence_item_id == EvidenceItem.id)
        .where(EvidenceItemAssertion.assertion_id == assertion)
        .options(*_LOADERS[RecordType.EVIDENCE_ITEM])
        .order_by(EvidenceItem.human_id)
    )
    rows = []
    for obj in session.scalars(query):
        fields = record_fields(obj, RecordType.EVIDENCE_ITEM, ids)
        title = titles.title(RecordType.EVIDENCE_ITEM, fields)
        rows.append(
            RecordRow(RecordType.EVIDENCE_ITEM, obj.id, obj.human_id, obj.kb_version, title, fields)
        )
    return rows


def referrers(session: Session, rtype: RecordType, uuid: str) -> list[str]:
    """Human ids of the records that refer to record `uuid` (which blocks its deletion)."""
    del rtype  # any column may point at any type; the uuid alone identifies the target
    ids = Ids(session)
    found: list[str] = []
    for owner_type, column, owner in _REFERRERS:
        for value in session.scalars(select(owner).where(column == uuid).distinct()):
            human = value if owner.key == "human_id" else ids.human(owner_type, value)
            if human and human not in found:
                found.append(human)
    return found
