"""SQLAlchemy 2 typed models: the KB's tables (DESIGN §2).

Curated records share `RecordMixin`: a UUID primary key, a unique human id (`BM-00042`), an
optimistic-locking counter and the KB version that last changed them. The typed tables hold the
main line as of the newest KB version; `Revision` rows hold every version of every record, so any
snapshot can be rebuilt and any two versions diffed without replaying history.

Tumour-type codes in scopes are plain strings checked by validation rather than foreign keys:
loading a newer OncoTree release must never fail on a code it revoked; validation reports it.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from kb.model.enums import (
    Agency,
    AlertKind,
    AlertStatus,
    ApprovalMeaning,
    Assay,
    AssertionDirection,
    BestResponse,
    BiomarkerKind,
    Category,
    ChangeOp,
    ChangeSetStatus,
    Characteristic,
    CitationKind,
    Combination,
    CommentKind,
    Consequence,
    CopyNumberType,
    CrosswalkKind,
    EvidenceDirection,
    EvidenceLevel,
    EvidenceType,
    ExpressionOp,
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
    Role,
    Sex,
    Specimen,
    StopReason,
    TrialPhase,
    TrialStatus,
    VocabularyKind,
)
from kb.model.metrics import Metric

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(enum_cls: type[StrEnum], name: str) -> Enum:
    # Stored as the enum's value in a VARCHAR with a CHECK constraint: portable across SQLite
    # and PostgreSQL, and a new member needs only a migration of the constraint.
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def new_uuid() -> str:
    """A new record id: a time-ordered UUID (version 7, RFC 9562 §5.7).

    Ids made one after another sort one after another, so a bulk insert appends to the end of
    every index on an id instead of writing all over it (measured: 100,000 staged changes insert
    in about half the time of random version-4 ids on SQLite). Uniqueness does not rest on the
    clock: a randomly seeded counter orders ids made in the same millisecond and 32 more bits
    are random per id (from `random`, which is seeded from os.urandom and reseeded in a forked
    child: ids need to be unique, not unpredictable).
    """
    return new_uuids(1)[0]


def new_uuids(count: int) -> list[str]:
    """`count` new record ids, in order, as `new_uuid` makes them one by one: the clock is read
    and the lock taken once for all of them (a bulk import makes 100,000)."""
    native = getattr(uuid, "uuid7", None)  # Python 3.14 has it
    if native is not None:
        return [str(native()) for _ in range(count)]
    ids: list[str] = []
    bits = random.getrandbits
    with _uuid_lock:
        now = time.time_ns() // 1_000_000
        millis, counter = _uuid_state
        for _ in range(count):
            if now > millis:
                millis, counter = now, bits(41)
            else:
                counter += 1
                if counter > _COUNTER_MASK:  # 2^41 ids in one millisecond: borrow the next one
                    millis, counter = millis + 1, bits(41)
            value = (
                (millis & 0xFFFF_FFFF_FFFF) << 80
                | 0x7 << 76  # version 7
                | (counter >> 30) << 64  # the counter's top 12 bits in rand_a
                | 0b10 << 62  # the RFC 4122 variant
                | (counter & 0x3FFF_FFFF) << 32
                | bits(32)
            )
            text = f"{value:032x}"
            ids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
        _uuid_state[:] = [millis, counter]
    return ids


# new_uuid's state: the last millisecond used and the counter within it (42 bits, seeded with
# its top bit clear so that it can count on without overflowing).
_COUNTER_MASK = (1 << 42) - 1
_uuid_state = [0, 0]
_uuid_lock = threading.Lock()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class RecordMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    human_id: Mapped[str] = mapped_column(String(16), unique=True)
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    kb_version: Mapped[int] = mapped_column(Integer, default=0)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # Optimistic locking: an UPDATE that finds another writer's row_version fails
        # instead of silently overwriting their change.
        return {"version_id_col": cls.row_version}


# --- KB-level metadata and versions -------------------------------------------------------


class KbMeta(Base):
    __tablename__ = "kb_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class HumanIdCounter(Base):
    __tablename__ = "human_id_counter"
    prefix: Mapped[str] = mapped_column(String(4), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class KbVersion(Base):
    __tablename__ = "kb_version"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    change_set_id: Mapped[str | None] = mapped_column(String(36))


class Revision(Base):
    __tablename__ = "revision"
    __table_args__ = (
        Index("ix_revision_record_version", "record_id", "kb_version"),
        UniqueConstraint("record_id", "kb_version", name="uq_revision_record_version"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(36))
    record_type: Mapped[str] = mapped_column(String(32))
    human_id: Mapped[str] = mapped_column(String(16), index=True)
    kb_version: Mapped[int] = mapped_column(ForeignKey("kb_version.number"), index=True)
    change_set_id: Mapped[str | None] = mapped_column(String(36))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- Vocabularies -------------------------------------------------------------------------


class VocabularyRelease(Base):
    __tablename__ = "vocabulary_release"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_vocabulary_release_kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[VocabularyKind] = mapped_column(_enum(VocabularyKind, "vocabulary_kind"))
    version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    current: Mapped[bool] = mapped_column(Boolean, default=True)


class VocabularyState(Base):
    """The vocabulary release a KB version was built with, pinned when it is loaded: a snapshot
    of version N reads the newest state at or before N, never the tables loaded since, so a
    later load cannot change what an approval of N signed. `content` keeps what the snapshot
    carries of the release (OncoTree's tumour types); other kinds carry only their version."""

    __tablename__ = "vocabulary_state"
    __table_args__ = (
        UniqueConstraint("kb_version", "kind", name="uq_vocabulary_state_version_kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kb_version: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TumourType(Base):
    """An OncoTree node. `path` ("/TISSUE/LUNG/NSCLC/") makes descendant queries a prefix match."""

    __tablename__ = "tumour_type"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    main_type: Mapped[str | None] = mapped_column(String(256))
    tissue: Mapped[str | None] = mapped_column(String(128))
    parent_code: Mapped[str | None] = mapped_column(String(32), index=True)
    level: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024), index=True)
    previous_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    revoked_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # NCI Thesaurus and UMLS codes ("NCI:C3512", "UMLS:C0152013"): the bridge to other
    # disease vocabularies (kb.vocab.doid).
    xrefs: Mapped[list[str]] = mapped_column(JSON, default=list)
    release: Mapped[str] = mapped_column(String(64))


class DoidTerm(Base):
    """A Disease Ontology term and its parents (DOIDs)."""

    __tablename__ = "doid_term"
    doid: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    parents: Mapped[list[str]] = mapped_column(JSON, default=list)
    release: Mapped[str] = mapped_column(String(64))


class DoidXref(Base):
    """A DO term's NCI Thesaurus or UMLS code."""

    __tablename__ = "doid_xref"
    doid: Mapped[str] = mapped_column(
        ForeignKey("doid_term.doid", ondelete="CASCADE"), primary_key=True
    )
    xref: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class DoidOncotree(Base):
    """The derived DOID -> OncoTree crosswalk (kb.vocab.doid.derive_crosswalk)."""

    __tablename__ = "doid_oncotree"
    doid: Mapped[str] = mapped_column(String(32), primary_key=True)
    codes: Mapped[list[str]] = mapped_column(JSON)
    kind: Mapped[CrosswalkKind] = mapped_column(_enum(CrosswalkKind, "crosswalk_kind"))
    via: Mapped[str] = mapped_column(String(256))


class HgncGene(Base):
    __tablename__ = "hgnc_gene"
    hgnc_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    entrez_id: Mapped[str | None] = mapped_column(String(16))
    release: Mapped[str] = mapped_column(String(64))


class HgncSynonym(Base):
    """Alias and previous symbols, upper-cased, for suggesting the approved symbol."""

    __tablename__ = "hgnc_synonym"
    synonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    hgnc_id: Mapped[str] = mapped_column(
        ForeignKey("hgnc_gene.hgnc_id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))


# --- Curated records ----------------------------------------------------------------------


class Gene(RecordMixin, Base):
    __tablename__ = "gene"
    symbol: Mapped[str] = mapped_column(String(64), unique=True)
    hgnc_id: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[GeneRole] = mapped_column(_enum(GeneRole, "gene_role"), default=GeneRole.UNKNOWN)


class BiomarkerExclusion(Base):
    __tablename__ = "biomarker_exclusion"
    biomarker_id: Mapped[str] = mapped_column(
        ForeignKey("biomarker.id", ondelete="CASCADE"), primary_key=True
    )
    excluded_id: Mapped[str] = mapped_column(ForeignKey("biomarker.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Biomarker(RecordMixin, Base):
    __tablename__ = "biomarker"
    __table_args__ = (
        CheckConstraint(
            "kind != 'sequence_variant' OR (gene_id IS NOT NULL "
            "AND (protein_change IS NOT NULL OR dna_change IS NOT NULL OR dbsnp_id IS NOT NULL))",
            name="sequence_variant_fields",
        ),
        # Without an exon or codons a range is the whole gene, for a named consequence only.
        CheckConstraint(
            "kind != 'range' OR (gene_id IS NOT NULL AND consequence IS NOT NULL "
            "AND (exon IS NOT NULL OR codon_start IS NOT NULL OR consequence != 'any'))",
            name="range_fields",
        ),
        CheckConstraint("kind != 'categorical' OR category IS NOT NULL", name="categorical_fields"),
        CheckConstraint(
            "kind != 'copy_number' OR (gene_id IS NOT NULL AND copy_number IS NOT NULL)",
            name="copy_number_fields",
        ),
        CheckConstraint(
            "kind != 'fusion' OR partner_5_id IS NOT NULL OR partner_3_id IS NOT NULL",
            name="fusion_fields",
        ),
        CheckConstraint(
            "kind != 'characteristic' OR characteristic IS NOT NULL", name="characteristic_fields"
        ),
        CheckConstraint("kind != 'expression' OR gene_id IS NOT NULL", name="expression_fields"),
        CheckConstraint(
            "kind != 'methylation' OR (gene_id IS NOT NULL AND status IS NOT NULL)",
            name="methylation_fields",
        ),
        CheckConstraint("kind != 'wild_type' OR gene_id IS NOT NULL", name="wild_type_fields"),
        CheckConstraint("codon_end IS NULL OR codon_end >= codon_start", name="codon_order"),
    )
    kind: Mapped[BiomarkerKind] = mapped_column(_enum(BiomarkerKind, "biomarker_kind"))
    gene_id: Mapped[str | None] = mapped_column(ForeignKey("gene.id"), index=True)
    origin: Mapped[Origin] = mapped_column(_enum(Origin, "origin"), default=Origin.SOMATIC)
    label: Mapped[str] = mapped_column(String(256), default="")
    protein_change: Mapped[str | None] = mapped_column(String(128))
    protein_change_short: Mapped[str | None] = mapped_column(String(64))
    # A coding or genomic DNA change (HGVS c. or g.), for variants named at the DNA level.
    dna_change: Mapped[str | None] = mapped_column(String(128))
    # A dbSNP reference SNP id (rs3184504), for a variant named by its rs id (a germline SNP).
    dbsnp_id: Mapped[str | None] = mapped_column(String(32))
    exon: Mapped[int | None] = mapped_column(Integer)
    codon_start: Mapped[int | None] = mapped_column(Integer)
    codon_end: Mapped[int | None] = mapped_column(Integer)
    consequence: Mapped[Consequence | None] = mapped_column(_enum(Consequence, "consequence"))
    category: Mapped[Category | None] = mapped_column(_enum(Category, "category"))
    copy_number: Mapped[CopyNumberType | None] = mapped_column(
        _enum(CopyNumberType, "copy_number_type")
    )
    partner_5_id: Mapped[str | None] = mapped_column(ForeignKey("gene.id"))
    partner_3_id: Mapped[str | None] = mapped_column(ForeignKey("gene.id"))
    characteristic: Mapped[Characteristic | None] = mapped_column(
        _enum(Characteristic, "characteristic")
    )
    status: Mapped[str | None] = mapped_column(String(32))
    assay: Mapped[Assay | None] = mapped_column(_enum(Assay, "assay"))

    gene: Mapped[Gene | None] = relationship(foreign_keys=[gene_id])
    partner_5: Mapped[Gene | None] = relationship(foreign_keys=[partner_5_id])
    partner_3: Mapped[Gene | None] = relationship(foreign_keys=[partner_3_id])
    exclusion_links: Mapped[list[BiomarkerExclusion]] = relationship(
        foreign_keys=[BiomarkerExclusion.biomarker_id],
        cascade="all, delete-orphan",
        order_by=BiomarkerExclusion.position,
    )


class Threshold(RecordMixin, Base):
    __tablename__ = "threshold"
    metric: Mapped[Metric] = mapped_column(_enum(Metric, "metric"))
    operator: Mapped[Operator] = mapped_column(_enum(Operator, "operator"))
    value: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str | None] = mapped_column(String(16))
    assay: Mapped[str | None] = mapped_column(String(256))
    specimen: Mapped[Specimen | None] = mapped_column(_enum(Specimen, "specimen"))


class Expression(RecordMixin, Base):
    """A biomarker expression: an AND / OR / NOT tree whose leaves are biomarkers (+ threshold)."""

    __tablename__ = "biomarker_expression"
    text: Mapped[str] = mapped_column(Text, default="")
    nodes: Mapped[list[ExpressionNode]] = relationship(
        back_populates="expression",
        cascade="all, delete-orphan",
        order_by="ExpressionNode.ordinal",
    )


class ExpressionNode(Base):
    __tablename__ = "expression_node"
    __table_args__ = (
        CheckConstraint("(op = 'LEAF') = (biomarker_id IS NOT NULL)", name="leaf_has_biomarker"),
        CheckConstraint("op = 'LEAF' OR threshold_id IS NULL", name="threshold_on_leaf"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    expression_id: Mapped[str] = mapped_column(
        ForeignKey("biomarker_expression.id", ondelete="CASCADE"), index=True
    )
    # Pre-order position in the tree and depth: enough to rebuild it without a self-join.
    ordinal: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer)
    op: Mapped[ExpressionOp] = mapped_column(_enum(ExpressionOp, "expression_op"))
    biomarker_id: Mapped[str | None] = mapped_column(ForeignKey("biomarker.id"), index=True)
    threshold_id: Mapped[str | None] = mapped_column(ForeignKey("threshold.id"), index=True)

    expression: Mapped[Expression] = relationship(back_populates="nodes")
    biomarker: Mapped[Biomarker | None] = relationship()
    threshold: Mapped[Threshold | None] = relationship()


class Drug(RecordMixin, Base):
    __tablename__ = "drug"
    name: Mapped[str] = mapped_column(String(256), unique=True)
    ncit_code: Mapped[str | None] = mapped_column(String(16))


class TherapyDrug(Base):
    __tablename__ = "therapy_drug"
    therapy_id: Mapped[str] = mapped_column(
        ForeignKey("therapy.id", ondelete="CASCADE"), primary_key=True
    )
    drug_id: Mapped[str] = mapped_column(ForeignKey("drug.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    drug: Mapped[Drug] = relationship()


class Therapy(RecordMixin, Base):
    __tablename__ = "therapy"
    name: Mapped[str] = mapped_column(String(512), unique=True)
    combination: Mapped[Combination] = mapped_column(
        _enum(Combination, "combination"), default=Combination.MONOTHERAPY
    )
    drug_links: Mapped[list[TherapyDrug]] = relationship(
        cascade="all, delete-orphan", order_by=TherapyDrug.position
    )


class Citation(RecordMixin, Base):
    __tablename__ = "citation"
    __table_args__ = (UniqueConstraint("kind", "identifier", name="uq_citation_kind_identifier"),)
    kind: Mapped[CitationKind] = mapped_column(_enum(CitationKind, "citation_kind"))
    identifier: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    accessed: Mapped[dt.date | None] = mapped_column(Date)


class Approval(RecordMixin, Base):
    __tablename__ = "regulatory_approval"
    therapy_id: Mapped[str] = mapped_column(ForeignKey("therapy.id"), index=True)
    agency: Mapped[Agency] = mapped_column(_enum(Agency, "agency"))
    approval_date: Mapped[dt.date | None] = mapped_column(Date)
    indication: Mapped[str] = mapped_column(Text)
    cdx: Mapped[str | None] = mapped_column(Text)
    citation_id: Mapped[str | None] = mapped_column(ForeignKey("citation.id"))
    therapy: Mapped[Therapy] = relationship()
    citation: Mapped[Citation | None] = relationship()


class AssertionTumourType(Base):
    __tablename__ = "assertion_tumour_type"
    assertion_id: Mapped[str] = mapped_column(
        ForeignKey("assertion.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    excluded: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class AssertionCitation(Base):
    __tablename__ = "assertion_citation"
    assertion_id: Mapped[str] = mapped_column(
        ForeignKey("assertion.id", ondelete="CASCADE"), primary_key=True
    )
    citation_id: Mapped[str] = mapped_column(ForeignKey("citation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[Citation] = relationship()


class Assertion(RecordMixin, Base):
    """The matching unit: biomarker expression x tumour types x therapy, with level."""

    __tablename__ = "assertion"
    __table_args__ = (
        CheckConstraint(
            "implication NOT IN ('sensitive', 'resistant') OR therapy_id IS NOT NULL",
            name="therapeutic_needs_therapy",
        ),
    )
    expression_id: Mapped[str] = mapped_column(ForeignKey("biomarker_expression.id"), index=True)
    therapy_id: Mapped[str | None] = mapped_column(ForeignKey("therapy.id"), index=True)
    implication: Mapped[Implication] = mapped_column(_enum(Implication, "implication"))
    # None only where the KB's scheme has no level for what the source says (a crosswalk gap,
    # reported at import) or for a predisposing assertion, which is classified instead.
    evidence_level: Mapped[EvidenceLevel | None] = mapped_column(
        _enum(EvidenceLevel, "evidence_level")
    )
    level_scheme: Mapped[str] = mapped_column(String(128))
    source_scheme: Mapped[str | None] = mapped_column(String(128))
    source_level: Mapped[str | None] = mapped_column(String(64))
    direction: Mapped[AssertionDirection | None] = mapped_column(
        _enum(AssertionDirection, "assertion_direction")
    )
    inheritance: Mapped[Inheritance | None] = mapped_column(_enum(Inheritance, "inheritance"))
    pathogenicity: Mapped[Pathogenicity | None] = mapped_column(
        _enum(Pathogenicity, "pathogenicity")
    )
    syndrome: Mapped[str | None] = mapped_column(Text)
    line_of_therapy: Mapped[LineOfTherapy] = mapped_column(
        _enum(LineOfTherapy, "line_of_therapy"), default=LineOfTherapy.ANY
    )
    specimen: Mapped[Specimen | None] = mapped_column(_enum(Specimen, "specimen"))
    cdx: Mapped[str | None] = mapped_column(Text)
    confirmatory_test: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")

    expression: Mapped[Expression] = relationship()
    therapy: Mapped[Therapy | None] = relationship()
    tumour_links: Mapped[list[AssertionTumourType]] = relationship(
        cascade="all, delete-orphan", order_by=AssertionTumourType.position
    )
    citation_links: Mapped[list[AssertionCitation]] = relationship(
        cascade="all, delete-orphan", order_by=AssertionCitation.position
    )


class TrialCitation(Base):
    __tablename__ = "trial_citation"
    trial_id: Mapped[str] = mapped_column(
        ForeignKey("trial.id", ondelete="CASCADE"), primary_key=True
    )
    citation_id: Mapped[str] = mapped_column(ForeignKey("citation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[Citation] = relationship()


PROTOCOL_NO_LENGTH = 64


class Trial(RecordMixin, Base):
    __tablename__ = "trial"
    __table_args__ = (
        CheckConstraint("nct_id LIKE 'NCT%'", name="nct_id_form"),
        # Keyed by its NCT id when it has one, by its protocol number until then.
        CheckConstraint("nct_id IS NOT NULL OR protocol_no IS NOT NULL", name="trial_key"),
    )
    # None until the registry knows the trial (a site's trial known by its protocol number
    # gains it through `kb trials sync`); unique where present.
    nct_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    # The sponsor's or site's own number (MatchMiner names trials by it): lets a CTML document
    # that carries only this number find its trial.
    protocol_no: Mapped[str | None] = mapped_column(String(PROTOCOL_NO_LENGTH), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[TrialPhase | None] = mapped_column(_enum(TrialPhase, "trial_phase"))
    status: Mapped[TrialStatus] = mapped_column(_enum(TrialStatus, "trial_status"))
    citation_links: Mapped[list[TrialCitation]] = relationship(
        cascade="all, delete-orphan", order_by=TrialCitation.position
    )


class EvidenceItemTumourType(Base):
    __tablename__ = "evidence_item_tumour_type"
    evidence_item_id: Mapped[str] = mapped_column(
        ForeignKey("evidence_item.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    excluded: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class EvidenceItemCitation(Base):
    __tablename__ = "evidence_item_citation"
    evidence_item_id: Mapped[str] = mapped_column(
        ForeignKey("evidence_item.id", ondelete="CASCADE"), primary_key=True
    )
    citation_id: Mapped[str] = mapped_column(ForeignKey("citation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[Citation] = relationship()


class EvidenceItemAssertion(Base):
    """An assertion an evidence item supports (or, with direction does_not_support, refutes)."""

    __tablename__ = "evidence_item_assertion"
    evidence_item_id: Mapped[str] = mapped_column(
        ForeignKey("evidence_item.id", ondelete="CASCADE"), primary_key=True
    )
    assertion_id: Mapped[str] = mapped_column(
        ForeignKey("assertion.id"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class EvidenceItem(RecordMixin, Base):
    """One source statement (a CIViC evidence item, a paper, a label): what it says, in the
    source's own terms and level, and the assertions it supports or refutes. Many per assertion
    is normal; assertions stay the curated, matchable summary."""

    __tablename__ = "evidence_item"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_evidence_item_source_id"),)
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    evidence_type: Mapped[EvidenceType] = mapped_column(_enum(EvidenceType, "evidence_type"))
    direction: Mapped[EvidenceDirection] = mapped_column(
        _enum(EvidenceDirection, "evidence_direction")
    )
    significance: Mapped[str | None] = mapped_column(String(128))
    source_level: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[int | None] = mapped_column(Integer)
    expression_id: Mapped[str | None] = mapped_column(
        ForeignKey("biomarker_expression.id"), index=True
    )
    therapy_id: Mapped[str | None] = mapped_column(ForeignKey("therapy.id"), index=True)
    disease: Mapped[str | None] = mapped_column(Text)
    # The oncogenicity record an oncogenic or functional statement bears on.
    oncogenicity_id: Mapped[str | None] = mapped_column(ForeignKey("oncogenicity.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    tumour_links: Mapped[list[EvidenceItemTumourType]] = relationship(
        cascade="all, delete-orphan", order_by=EvidenceItemTumourType.position
    )
    citation_links: Mapped[list[EvidenceItemCitation]] = relationship(
        cascade="all, delete-orphan", order_by=EvidenceItemCitation.position
    )
    assertion_links: Mapped[list[EvidenceItemAssertion]] = relationship(
        cascade="all, delete-orphan", order_by=EvidenceItemAssertion.position
    )


class OncogenicityCitation(Base):
    __tablename__ = "oncogenicity_citation"
    oncogenicity_id: Mapped[str] = mapped_column(
        ForeignKey("oncogenicity.id", ondelete="CASCADE"), primary_key=True
    )
    citation_id: Mapped[str] = mapped_column(ForeignKey("citation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[Citation] = relationship()


class OncogenicityRecord(RecordMixin, Base):
    """What an alteration does: oncogenic or not, and its mutation effect. The matcher reads
    these for "oncogenic" and "activating" biomarkers when a report carries no flag."""

    __tablename__ = "oncogenicity"
    biomarker_id: Mapped[str] = mapped_column(ForeignKey("biomarker.id"), unique=True)
    oncogenicity: Mapped[Oncogenicity] = mapped_column(_enum(Oncogenicity, "oncogenicity"))
    mutation_effect: Mapped[MutationEffect] = mapped_column(
        _enum(MutationEffect, "mutation_effect"), default=MutationEffect.UNKNOWN
    )
    description: Mapped[str] = mapped_column(Text, default="")
    citation_links: Mapped[list[OncogenicityCitation]] = relationship(
        cascade="all, delete-orphan", order_by=OncogenicityCitation.position
    )


class LevelSchemeCitation(Base):
    __tablename__ = "level_scheme_citation"
    level_scheme_id: Mapped[str] = mapped_column(
        ForeignKey("level_scheme.id", ondelete="CASCADE"), primary_key=True
    )
    citation_id: Mapped[str] = mapped_column(ForeignKey("citation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[Citation] = relationship()


class LevelScheme(RecordMixin, Base):
    """A level scheme as curated data (OncoKB therapeutic, AMP/ASCO/CAP tiers, ESCAT, CIViC
    A-E): its levels, strongest first, each "CODE: meaning"."""

    __tablename__ = "level_scheme"
    name: Mapped[str] = mapped_column(String(128), unique=True)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    citation_links: Mapped[list[LevelSchemeCitation]] = relationship(
        cascade="all, delete-orphan", order_by=LevelSchemeCitation.position
    )


class LevelCrosswalkCitation(Base):
    __tablename__ = "level_crosswalk_citation"
    level_crosswalk_id: Mapped[str] = mapped_column(
        ForeignKey("level_crosswalk.id", ondelete="CASCADE"), primary_key=True
    )
    citation_id: Mapped[str] = mapped_column(ForeignKey("citation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[Citation] = relationship()


class LevelCrosswalk(RecordMixin, Base):
    """How one scheme's levels read in another's, for one implication: entries "A -> 2", and
    "D -> " where the target has no level (a gap the import reports, never fills)."""

    __tablename__ = "level_crosswalk"
    __table_args__ = (
        UniqueConstraint(
            "source_scheme_id", "target_scheme_id", "implication", name="uq_level_crosswalk"
        ),
    )
    source_scheme_id: Mapped[str] = mapped_column(ForeignKey("level_scheme.id"), index=True)
    target_scheme_id: Mapped[str] = mapped_column(ForeignKey("level_scheme.id"), index=True)
    implication: Mapped[Implication] = mapped_column(_enum(Implication, "implication"))
    entries: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    citation_links: Mapped[list[LevelCrosswalkCitation]] = relationship(
        cascade="all, delete-orphan", order_by=LevelCrosswalkCitation.position
    )


class ExonMapCitation(Base):
    __tablename__ = "exon_map_citation"
    exon_map_id: Mapped[str] = mapped_column(
        ForeignKey("exon_map.id", ondelete="CASCADE"), primary_key=True
    )
    citation_id: Mapped[str] = mapped_column(ForeignKey("citation.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    citation: Mapped[Citation] = relationship()


class ExonMap(RecordMixin, Base):
    """A gene's reference transcript and the codons each exon encodes (kb.model.exons): how
    the matcher places a protein change in an exon. One map per gene."""

    __tablename__ = "exon_map"
    gene_id: Mapped[str] = mapped_column(ForeignKey("gene.id"), unique=True)
    transcript: Mapped[str] = mapped_column(String(64))
    exons: Mapped[list[str]] = mapped_column(JSON, default=list)
    citation_links: Mapped[list[ExonMapCitation]] = relationship(
        cascade="all, delete-orphan", order_by=ExonMapCitation.position
    )


class ArmTumourType(Base):
    __tablename__ = "arm_tumour_type"
    arm_id: Mapped[str] = mapped_column(
        ForeignKey("trial_arm.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    excluded: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class TrialArm(RecordMixin, Base):
    __tablename__ = "trial_arm"
    __table_args__ = (
        UniqueConstraint("trial_id", "code", name="uq_trial_arm_trial_code"),
        CheckConstraint("min_age IS NULL OR min_age >= 0", name="min_age_positive"),
        CheckConstraint(
            "max_age IS NULL OR min_age IS NULL OR max_age >= min_age", name="age_order"
        ),
    )
    trial_id: Mapped[str] = mapped_column(ForeignKey("trial.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text, default="")
    expression_id: Mapped[str | None] = mapped_column(ForeignKey("biomarker_expression.id"))
    therapy_id: Mapped[str | None] = mapped_column(ForeignKey("therapy.id"))
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[Sex] = mapped_column(_enum(Sex, "sex"), default=Sex.ALL)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)

    trial: Mapped[Trial] = relationship()
    expression: Mapped[Expression | None] = relationship()
    therapy: Mapped[Therapy | None] = relationship()
    tumour_links: Mapped[list[ArmTumourType]] = relationship(
        cascade="all, delete-orphan", order_by=ArmTumourType.position
    )


# --- Users, change sets, approvals, audit, releases -----------------------------------------


class User(Base):
    """A KB account. In SQLite mode it has a scrypt password hash; in PostgreSQL mode the
    database login of the same name is the identity and `password_hash` stays empty."""

    __tablename__ = "kb_user"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChangeSet(Base):
    __tablename__ = "change_set"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    human_id: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ChangeSetStatus] = mapped_column(
        _enum(ChangeSetStatus, "change_set_status"), index=True
    )
    author_id: Mapped[str] = mapped_column(ForeignKey("kb_user.id"), index=True)
    base_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("kb_user.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    merged_version: Mapped[int | None] = mapped_column(Integer)
    # The KB version the change set was last validated against (at submit): approving it
    # on that same version needs no second validation.
    validated_version: Mapped[int | None] = mapped_column(Integer)
    source_name: Mapped[str | None] = mapped_column(Text)
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    skipped: Mapped[list[Any]] = mapped_column(JSON, default=list)
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    changes: Mapped[list[Change]] = relationship(
        back_populates="change_set", cascade="all, delete-orphan", order_by="Change.position"
    )
    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012


class Change(Base):
    """One record's change within a change set: its new field values and, for updates and
    deletions, the values it was based on (what conflict checks compare against)."""

    __tablename__ = "change"
    __table_args__ = (
        UniqueConstraint("change_set_id", "record_id", name="uq_change_change_set_record"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Looked up through the unique index above, whose leading column it is.
    change_set_id: Mapped[str] = mapped_column(ForeignKey("change_set.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    op: Mapped[ChangeOp] = mapped_column(_enum(ChangeOp, "change_op"))
    record_type: Mapped[str] = mapped_column(String(32))
    # Not indexed alone: looked up only within its change set (the unique index above).
    record_id: Mapped[str] = mapped_column(String(36))
    human_id: Mapped[str] = mapped_column(String(16), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    author_id: Mapped[str] = mapped_column(ForeignKey("kb_user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    change_set: Mapped[ChangeSet] = relationship(back_populates="changes")


class ChangeComment(Base):
    """One remark in a change set's review thread: on the whole change set, or on one of its
    changes (`record`, the human id of the record changed). Append-only; written with an audit
    event (kb.review.comments)."""

    __tablename__ = "change_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_set_id: Mapped[str] = mapped_column(ForeignKey("change_set.id"), index=True)
    record: Mapped[str | None] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(ForeignKey("kb_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[CommentKind] = mapped_column(_enum(CommentKind, "comment_kind"))
    body: Mapped[str] = mapped_column(Text)


class VersionApproval(Base):
    """An electronic signature on a KB version: who, when, what it means, and the digest of
    the exact content approved (void if the version's content no longer has that digest)."""

    __tablename__ = "version_approval"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kb_version: Mapped[int] = mapped_column(ForeignKey("kb_version.number"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("kb_user.id"))
    printed_name: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    meaning: Mapped[ApprovalMeaning] = mapped_column(_enum(ApprovalMeaning, "approval_meaning"))
    reason: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    # The approver's electronic signature (kb.review.esign): a DSSE envelope over the approval's
    # statement, by the key `key_id`. Empty on approvals made before signed approvals (0011).
    key_id: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(Text)


class SigningKey(Base):
    """A user's approval key (Ed25519). The private half is sealed with the user's password
    (scrypt + AES-GCM), never stored in clear; `certificate` is the registration of the public
    half signed by trust-root keys held outside the database (kb.release.signers), which is what
    pins it. A retired key stays to verify the approvals it made."""

    __tablename__ = "signing_key"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("kb_user.id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    sealed_private_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    certificate: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    """Append-only, hash-chained: each event's hash covers its content and the previous hash.
    Database triggers refuse UPDATE and DELETE (migration 0002)."""

    __tablename__ = "audit_event"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(128), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip. Appenders update this one row first, which serialises them."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class MergeTicket(Base):
    """PostgreSQL: which transaction merged which change set into which version. Written only by
    the server's merge function (migration 0012); the typed-table guards admit a login's writes
    only for records the merge of its own transaction revised. Unused on SQLite."""

    __tablename__ = "kb_merge_ticket"
    change_set_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    xact: Mapped[str] = mapped_column(String(24), index=True)
    kb_version: Mapped[int] = mapped_column(Integer, unique=True)
    merged_by: Mapped[str] = mapped_column(String(128))
    audit_seq: Mapped[int] = mapped_column(Integer)
    merged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Release(Base):
    __tablename__ = "kb_release"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    kb_version: Mapped[int] = mapped_column(ForeignKey("kb_version.number"))
    release_digest: Mapped[str] = mapped_column(String(64))
    snapshot_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    location: Mapped[str] = mapped_column(Text, default="")


# --- Outcome records (kb.outcomes) ------------------------------------------------------------
# Real-world treatment episodes reported back, and the evidence alerts their analysis raises.
# Not curated records: no human id, no revisions, never in a snapshot, a digest or a release.
# Assertions are named by human id as plain text (as tumour-type codes are): an outcome must
# outlive a tombstoned assertion, and no outcome row may hold up a merge.


class OutcomeImport(Base):
    """One accepted intake of outcome records: who, when, from which file (by name and
    digest) and under which pseudonymisation key (by fingerprint, never the key)."""

    __tablename__ = "outcome_import"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(128))
    source_name: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    episodes: Mapped[int] = mapped_column(Integer)
    key_fingerprint: Mapped[str] = mapped_column(String(32))


class OutcomeEpisode(Base):
    """A de-identified treatment episode: a keyed hash for the patient, a shifted start date
    (or none), durations in days, the best response and why treatment stopped."""

    __tablename__ = "outcome_episode"
    __table_args__ = (
        CheckConstraint("days_on_treatment IS NULL OR days_on_treatment >= 0", name="tot"),
        CheckConstraint("pfs_days IS NULL OR pfs_days >= 0", name="pfs"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(
        ForeignKey("outcome_import.id", ondelete="CASCADE"), index=True
    )
    patient_key: Mapped[str] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(128))
    tumour_type: Mapped[str] = mapped_column(String(32))
    # Canonical biomarker forms, "; "-joined and sorted ("BRAF p.Val600Glu; TP53 p.Arg273His").
    biomarkers: Mapped[str] = mapped_column(Text)
    therapy: Mapped[str] = mapped_column(Text)
    therapy_key: Mapped[str] = mapped_column(String(512))
    line: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    days_on_treatment: Mapped[int | None] = mapped_column(Integer)
    best_response: Mapped[BestResponse] = mapped_column(_enum(BestResponse, "best_response"))
    pfs_days: Mapped[int | None] = mapped_column(Integer)
    progressed: Mapped[bool | None] = mapped_column(Boolean)
    reason_stopped: Mapped[StopReason] = mapped_column(_enum(StopReason, "stop_reason"))
    release_version: Mapped[str | None] = mapped_column(String(64))
    # Human ids of the assertions that recommended it, space-joined; "" when none is known.
    assertion_ids: Mapped[str] = mapped_column(String(512), default="")


class OutcomeAlert(Base):
    """An evidence alert: where outcomes diverge from what an assertion leads one to expect,
    or a biomarker-therapy pair is used with no assertion. `numbers` holds the test and the
    figures that raised it; a resolution (status, reason, who, when) is audited."""

    __tablename__ = "outcome_alert"
    __table_args__ = (UniqueConstraint("kind", "subject", name="uq_outcome_alert_kind_subject"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    kind: Mapped[AlertKind] = mapped_column(_enum(AlertKind, "alert_kind"))
    subject: Mapped[str] = mapped_column(String(512))
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus, "alert_status"), index=True)
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OutcomeSetting(Base):
    """A per-KB setting of outcome analysis (the small-cell threshold k), set by an admin."""

    __tablename__ = "outcome_setting"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


RECORD_CLASSES: dict[RecordType, type[Any]] = {
    RecordType.GENE: Gene,
    RecordType.BIOMARKER: Biomarker,
    RecordType.THRESHOLD: Threshold,
    RecordType.EXPRESSION: Expression,
    RecordType.DRUG: Drug,
    RecordType.THERAPY: Therapy,
    RecordType.CITATION: Citation,
    RecordType.APPROVAL: Approval,
    RecordType.ASSERTION: Assertion,
    RecordType.TRIAL: Trial,
    RecordType.TRIAL_ARM: TrialArm,
    RecordType.EXON_MAP: ExonMap,
    RecordType.EVIDENCE_ITEM: EvidenceItem,
    RecordType.ONCOGENICITY: OncogenicityRecord,
    RecordType.LEVEL_SCHEME: LevelScheme,
    RecordType.LEVEL_CROSSWALK: LevelCrosswalk,
}
