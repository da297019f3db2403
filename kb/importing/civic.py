"""CIViC import: the AcceptedClinicalEvidenceSummaries and AcceptedAssertionSummaries TSVs (the
2024 molecular-profile schema) become biomarkers, expressions, drugs, therapies, citations and
assertions (DESIGN §4).

Adapters: `evidence_adapter(path)` and `assertion_adapter(path)` yield one `SourceRow` per data
row (header = row 1), following the interface in kb/importing/engine.py. They never query the
database; pass ``lookup=KbLookup.from_session(session)`` so that they can refer to genes, drugs,
therapies and citations the KB already has and propose new genes with their HGNC ids. Without a
lookup, genes are referred to by symbol (the engine reports those the KB lacks) and drugs,
therapies and citations are proposed for the engine to match.

How a row maps, and why:

* ``molecular_profile`` is parsed into an AND / OR / NOT tree (`parse_molecular_profile`);
  each component ``GENE VARIANT`` becomes one biomarker (`component_tree`):
  ``V600E``-style protein changes -> sequence_variant (canonical HGVS via kb.model.protein);
  a bare codon ``G12`` -> range at that codon, consequence missense (CIViC's codon-level
  variants gather missense changes, as OncoKB's ``G12`` does); ``G12/G13`` -> OR of codons;
  ``Exon 19 Deletion`` / ``Insertion`` / ``Skipping Mutation`` / ``Mutation`` -> range at that
  exon (in-frame deletion / in-frame insertion / exon skipping / any); ``A::B`` or
  ``A::B Fusion`` -> fusion with both partners; ``X Fusion`` -> fusion with X as the 3' partner
  (5' for genes that lead their fusions, `FIVE_PRIME_GENES`); ``Amplification`` / ``Deletion``
  -> copy number; ``Mutation`` -> categorical oncogenic mutations (the KB has no "any
  mutation" category; this is the nearest); ``Activating Mutation``, ``Truncating Mutation``,
  ``Loss-of-function`` / ``Loss`` -> their categories. A nucleotide note such as
  ``L89P (c.266T>C)`` keeps the protein change only (the KB keys variants on protein change).
  A dbSNP id (``RS3184504``) -> a sequence variant with that ``dbsnp_id`` (rs3184504), matched
  by the rs id a patient file gives. Other forms CIViC names are reported, not guessed.
* ``variant_origin``: Somatic -> somatic; Rare / Common Germline -> germline; N/A, Unknown or
  empty -> somatic (the KB default). The assertion file has no origin column: somatic.
* ``therapies`` (comma-joined) with ``therapy_interaction_type``: one drug -> monotherapy;
  Combination -> one combination therapy; Substitutes -> one assertion per drug; Sequential ->
  reported (the KB has no sequential therapies); several drugs with no type -> reported in the
  evidence file, a combination in the assertion file (which has no such column and lists the
  drugs of one regimen).
* ``evidence_type`` + ``significance`` -> implication: Predictive Sensitivity/Response ->
  sensitive, Predictive Resistance -> resistant, Diagnostic Positive -> diagnostic, Prognostic
  Better / Poor Outcome -> prognostic (the direction is kept in the description: the KB has no
  prognostic polarity). Predisposing, Oncogenic and Functional evidence, Reduced Sensitivity,
  Adverse Response and negative diagnostic evidence have no counterpart and are reported.
* ``evidence_direction`` / ``assertion_direction`` "Does Not Support": reported, not imported.
  The KB states positive assertions; importing such a row as sensitive would invert it, and a
  flag nobody matches on would be lost in releases.
* ``evidence_level`` A-E (evidence) or ``amp_category`` (assertions) -> KB level through
  civic_levels.toml (curator-editable; pass ``levels=`` to override entries).
* ``disease`` / ``doid`` -> OncoTree codes through doid_oncotree.toml (curator-editable; pass
  ``doid_map=`` to override entries). Unmapped DOIDs are reported with their location.
* ``citation_id`` with ``source_type`` PubMed -> a pmid citation; other sources (ASCO, ASH
  abstracts) -> a url citation of the CIViC evidence page, titled with the abstract.
  Assertions cite their NCCN guideline (when given) and their CIViC assertion page.
* ``nct_ids`` are not turned into trials: a trial record needs a title, phase and status that
  CIViC does not give (``kb trials sync`` fetches them from ClinicalTrials.gov).

Every data row yields exactly one SourceRow: with records when it maps, else with located
errors (file, row as the file shows it, column letter, column name, code, message, value).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from kb.errors import KbError
from kb.importing.civic_layouts import recognise_layout
from kb.importing.limits import column_letter
from kb.importing.model import (
    ImportError_,
    Location,
    ProposedRecord,
    Ref,
    SourceError,
    SourceRow,
)
from kb.importing.readers import cell_error_in, read_workbook
from kb.model.enums import (
    ALL_TUMOURS,
    LEVEL_SCHEME,
    LEVELLED,
    SPECIAL_SCOPES,
    AssertionDirection,
    BiomarkerKind,
    Category,
    Characteristic,
    CitationKind,
    Combination,
    Consequence,
    CopyNumberType,
    CrosswalkKind,
    EvidenceDirection,
    EvidenceLevel,
    EvidenceType,
    Implication,
    MutationEffect,
    Oncogenicity,
    Origin,
    Pathogenicity,
    RecordType,
)
from kb.model.identity import freeze
from kb.model.levels import Crosswalk, LevelSchemeError, level_key, parse_entries
from kb.model.metrics import METRICS, Metric
from kb.model.orm import (
    Citation,
    Drug,
    Gene,
    HgncGene,
    HgncSynonym,
    LevelCrosswalk,
    LevelScheme,
    Therapy,
    TherapyDrug,
    Trial,
    TumourType,
)
from kb.model.protein import ProteinChangeError, parse_protein_change
from kb.vocab.doid import DoidCrosswalk

__all__ = [
    "FIVE_PRIME_GENES",
    "BiomarkerSpec",
    "DiseaseMap",
    "KbLookup",
    "Leaf",
    "LevelTable",
    "Node",
    "ProfileError",
    "RecordBuilder",
    "SpecTree",
    "ThresholdSpec",
    "assertion_adapter",
    "component_tree",
    "evidence_adapter",
    "parse_molecular_profile",
    "profile_tree",
]


# Genes that keep the 5' end of their oncogenic fusions (EWSR1::FLI1, BCR::ABL1, FGFR3::TACC3 …).
# A fusion named by one gene only ("EWSR1 Fusion") puts that gene 5' when it is listed here, 3'
# otherwise (ALK, ROS1, RET, NTRK1-3, PDGFRB … are 3' partners).
FIVE_PRIME_GENES = frozenset(
    {
        "BCR",
        "CBFB",
        "CD74",
        "DNAJB1",
        "EML4",
        "ETV6",
        "EWSR1",
        "FGFR2",
        "FGFR3",
        "FUS",
        "KMT2A",
        "NAB2",
        "NPM1",
        "PAX3",
        "PAX7",
        "PML",
        "RUNX1",
        "SS18",
        "TMPRSS2",
    }
)


# --- a snapshot of what the KB already has ------------------------------------------------


@dataclass(frozen=True, slots=True)
class KbLookup:
    """Plain-data snapshot of the KB's names, so adapters can map rows without a database.

    Build it with `from_session` in the caller's unit of work and pass it to an adapter; all
    keys are normalised (symbols upper-case, drug names and citation keys lower-case).
    """

    genes: Mapping[str, str] = field(default_factory=dict)
    """Upper-cased symbol -> symbol as stored, for genes in the KB."""
    hgnc: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    """Upper-cased approved symbol -> (symbol, HGNC id, approved name)."""
    hgnc_synonyms: Mapping[str, str] = field(default_factory=dict)
    """Upper-cased alias or previous symbol -> approved symbol."""
    drugs: Mapping[str, str] = field(default_factory=dict)
    """Lower-cased drug name -> name as stored."""
    therapies: Mapping[frozenset[str], str] = field(default_factory=dict)
    """Lower-cased drug names of a therapy -> its human id."""
    citations: frozenset[str] = frozenset()
    """"kind:identifier" of every citation, lower-cased."""
    tumour_codes: frozenset[str] = frozenset()
    """OncoTree codes of the loaded release."""
    tumour_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Lower-cased OncoTree name -> the codes bearing it (a few names are shared)."""
    diseases: DoidCrosswalk | None = None
    """The DOID -> OncoTree crosswalk derived from the loaded vocabularies (kb.vocab.doid)."""
    crosswalks: Mapping[tuple[str, str], Crosswalk] = field(default_factory=dict)
    """(source scheme name, implication) -> the KB's crosswalk into its own level scheme."""
    trial_protocols: Mapping[str, str | None] = field(default_factory=dict)
    """Upper-cased protocol number -> the NCT id of the KB trial that carries it (None: that
    trial has no NCT id yet and is keyed by the protocol number)."""
    protocol_trials: Mapping[str, str] = field(default_factory=dict)
    """Upper-cased protocol number -> the human id of the KB trial keyed by it (one without an
    NCT id yet)."""

    @classmethod
    def from_session(cls, session: Session) -> KbLookup:
        """Read the names once (a handful of queries); the result is safe to pass anywhere."""
        genes = {symbol.upper(): symbol for symbol in session.scalars(select(Gene.symbol))}
        # HGNC's ~40,000 genes through Core: a third of the ORM's time per row.
        connection = session.connection()
        gene, synonym = HgncGene.__table__.c, HgncSynonym.__table__.c
        hgnc = {
            symbol.upper(): (symbol, hgnc_id, name or "")
            for symbol, hgnc_id, name in connection.execute(
                select(gene.symbol, gene.hgnc_id, gene.name)
            )
        }
        synonyms: dict[str, str] = {}
        query = (
            select(synonym.synonym, gene.symbol)
            .join_from(HgncSynonym.__table__, HgncGene.__table__, gene.hgnc_id == synonym.hgnc_id)
            .order_by(synonym.kind.desc(), gene.symbol)
        )
        for text, symbol in connection.execute(query):
            synonyms.setdefault(text.upper(), symbol)
        drugs = {name.lower(): name for name in session.scalars(select(Drug.name))}
        members: dict[str, set[str]] = {}
        for human_id, name in session.execute(
            select(Therapy.human_id, Drug.name)
            .join(TherapyDrug, TherapyDrug.therapy_id == Therapy.id)
            .join(Drug, Drug.id == TherapyDrug.drug_id)
        ):
            members.setdefault(human_id, set()).add(name.lower())
        therapies: dict[frozenset[str], str] = {}
        for human_id in sorted(members):
            therapies.setdefault(frozenset(members[human_id]), human_id)
        citations = frozenset(
            f"{kind.value}:{identifier}".lower()
            for kind, identifier in session.execute(select(Citation.kind, Citation.identifier))
        )
        names: dict[str, list[str]] = {}
        codes = []
        for code, name in session.execute(select(TumourType.code, TumourType.name)):
            codes.append(code)
            names.setdefault(name.strip().lower(), []).append(code)
        protocols: dict[str, str | None] = {}
        keyed: dict[str, str] = {}
        shared: set[str] = set()  # numbers differing only in case: ambiguous, so not looked up
        for protocol, nct_id, human_id in session.execute(
            select(Trial.protocol_no, Trial.nct_id, Trial.human_id).where(
                Trial.protocol_no.is_not(None)
            )
        ):
            key = " ".join(str(protocol).upper().split())
            if key in protocols:
                shared.add(key)
            protocols[key] = nct_id
            if nct_id is None:
                keyed[key] = human_id
        return cls(
            genes=genes,
            hgnc=hgnc,
            hgnc_synonyms=synonyms,
            drugs=drugs,
            therapies=therapies,
            citations=citations,
            tumour_codes=frozenset(codes),
            tumour_names={name: tuple(sorted(found)) for name, found in names.items()},
            diseases=DoidCrosswalk.from_session(session),
            crosswalks=_crosswalks(session),
            trial_protocols={k: v for k, v in protocols.items() if k not in shared},
            protocol_trials={k: v for k, v in keyed.items() if k not in shared},
        )


def _crosswalks(session: Session) -> dict[tuple[str, str], Crosswalk]:
    """The KB's crosswalks into its own scheme (records that do not read are left to `kb
    validate`, which reports them)."""
    source, target = aliased(LevelScheme), aliased(LevelScheme)
    query = (
        select(LevelCrosswalk, source.name, target.name)
        .join(source, source.id == LevelCrosswalk.source_scheme_id)
        .join(target, target.id == LevelCrosswalk.target_scheme_id)
        .where(target.name == LEVEL_SCHEME)
    )
    found: dict[tuple[str, str], Crosswalk] = {}
    for crosswalk, source_name, target_name in session.execute(query):
        try:
            entries = parse_entries(crosswalk.entries or [])
        except LevelSchemeError:
            continue
        implication = Implication(crosswalk.implication).value
        found[(source_name, implication)] = Crosswalk(
            source_name, target_name, implication, entries, crosswalk.human_id
        )
    return found


# --- biomarker specs and expression trees ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class BiomarkerSpec:
    """A biomarker's defining fields as a source describes it, genes by symbol."""

    kind: BiomarkerKind
    gene: str | None = None
    protein_change: str | None = None
    exon: int | None = None
    codon_start: int | None = None
    codon_end: int | None = None
    consequence: Consequence | None = None
    category: Category | None = None
    copy_number: CopyNumberType | None = None
    partner_5: str | None = None
    partner_3: str | None = None
    characteristic: Characteristic | None = None
    status: str | None = None
    dna_change: str | None = None
    dbsnp_id: str | None = None

    def symbols(self) -> tuple[str, ...]:
        return tuple(s for s in (self.gene, self.partner_5, self.partner_3) if s)


@dataclass(frozen=True, slots=True)
class ThresholdSpec:
    """A numeric threshold; the unit is always the metric's, so re-imports match."""

    metric: Metric
    operator: str
    value: str


@dataclass(frozen=True, slots=True)
class Leaf:
    biomarker: BiomarkerSpec
    threshold: ThresholdSpec | None = None


@dataclass(frozen=True, slots=True)
class Node:
    op: Literal["AND", "OR", "NOT"]
    args: tuple[SpecTree, ...]


SpecTree = Leaf | Node


def combine(op: Literal["AND", "OR"], parts: Sequence[SpecTree]) -> SpecTree:
    """`parts` joined by `op`, with nested nodes of the same operator flattened (one canonical
    shape, so the same profile always gives the same tree) and repeats dropped."""
    args: list[SpecTree] = []
    for part in parts:
        for item in part.args if isinstance(part, Node) and part.op == op else (part,):
            if item not in args:
                args.append(item)
    return args[0] if len(args) == 1 else Node(op, tuple(args))


# --- building proposed records --------------------------------------------------------------


_REPEATABLE = frozenset(
    {
        RecordType.GENE,
        RecordType.BIOMARKER,
        RecordType.THRESHOLD,
        RecordType.EXPRESSION,
        RecordType.DRUG,
        RecordType.THERAPY,
        RecordType.CITATION,
    }
)


class RecordBuilder:
    """Collects the proposed records and errors of one source row.

    Records the row proposes twice (the same gene in two components) are proposed once;
    keys are "<prefix> <type> <n>", unique within an import because the prefix names the row.
    """

    def __init__(self, prefix: str, location: Location, lookup: KbLookup | None) -> None:
        self.prefix = prefix
        self.location = location
        self.lookup = lookup
        self.records: list[ProposedRecord] = []
        self.errors: list[ImportError_] = []
        self._seen: dict[tuple[Any, ...], Ref] = {}
        self._counts: dict[RecordType, int] = {}
        self._genes: dict[str, str | Ref | None] = {}

    def error(
        self, where: Location, field_name: str | None, code: str, message: str, value: Any = None
    ) -> None:
        self.errors.append(ImportError_(where, field_name, code, message, value))

    def add(
        self,
        rtype: RecordType,
        fields: Mapping[str, Any],
        columns: Mapping[str, str] | None = None,
        *,
        update: bool = True,
        human_id: str | None = None,
    ) -> Ref:
        """Propose a record (once per row for the same fields) and return a reference to it."""
        # Only the building blocks repeat within a row (a gene in two components): the row's
        # own evidence item and assertions are proposed once, and need no costly key.
        seen_key = (rtype, freeze(_plain(fields))) if rtype in _REPEATABLE else None
        known = self._seen.get(seen_key) if seen_key else None
        if known is not None:
            return known
        count = self._counts.get(rtype, 0) + 1
        self._counts[rtype] = count
        key = f"{self.prefix} {rtype.value} {count}"
        self.records.append(
            ProposedRecord(
                rtype,
                key,
                dict(fields),
                self.location,
                human_id=human_id,
                columns=dict(columns or {}),
                update=update,
            )
        )
        ref = Ref(key)
        if seen_key:
            self._seen[seen_key] = ref
        return ref

    def gene(self, symbol: str, where: Location, field_name: str) -> str | Ref | None:
        """A reference to the gene `symbol`: the KB's gene, a proposed new gene (with its HGNC
        id), or None after recording why it cannot be had."""
        key = symbol.upper()
        if key in self._genes:
            return self._genes[key]
        found = self._resolve_gene(symbol, where, field_name)
        self._genes[key] = found
        return found

    def _resolve_gene(self, symbol: str, where: Location, field_name: str) -> str | Ref | None:
        lookup = self.lookup
        if lookup is None:
            return symbol  # the engine resolves the symbol, and reports it if the KB lacks it
        key = symbol.upper()
        if key in lookup.genes:
            return lookup.genes[key]
        approved = lookup.hgnc.get(key)
        if approved is not None:
            approved_symbol, hgnc_id, name = approved
            fields = {"symbol": approved_symbol, "hgnc_id": hgnc_id}
            if name:
                fields["name"] = name
            return self.add(RecordType.GENE, fields, dict.fromkeys(fields, where.column or ""))
        if not lookup.hgnc:
            self.error(
                where,
                field_name,
                "vocabulary_missing",
                f"gene {symbol} is not in the KB and no HGNC gene list is loaded to add it "
                "(kb vocab load hgnc FILE)",
                symbol,
            )
            return None
        suggestion = lookup.hgnc_synonyms.get(key)
        if suggestion:
            self.error(
                where,
                field_name,
                "not_approved_symbol",
                f"{symbol} is not an HGNC approved symbol; it stands for {suggestion}",
                symbol,
            )
        else:
            self.error(where, field_name, "unknown_gene", f"unknown gene {symbol}", symbol)
        return None

    def biomarker(
        self, spec: BiomarkerSpec, origin: Origin, where: Location, field_name: str
    ) -> Ref | None:
        fields: dict[str, Any] = {"kind": spec.kind.value, "origin": origin.value}
        ok = True
        for name in ("gene", "partner_5", "partner_3"):
            symbol = getattr(spec, name)
            if symbol:
                ref = self.gene(symbol, where, field_name)
                ok = ok and ref is not None
                fields[name] = ref
        if not ok:
            return None
        for name in (
            "protein_change",
            "exon",
            "codon_start",
            "codon_end",
            "status",
            "dna_change",
            "dbsnp_id",
        ):
            value = getattr(spec, name)
            if value is not None:
                fields[name] = value
        for name in ("consequence", "category", "copy_number", "characteristic"):
            value = getattr(spec, name)
            if value is not None:
                fields[name] = value.value
        if spec.kind is BiomarkerKind.FUSION:
            # Both partners are defining; an unnamed one is "any", stored as empty.
            fields.setdefault("partner_5", None)
            fields.setdefault("partner_3", None)
        return self.add(RecordType.BIOMARKER, fields, dict.fromkeys(fields, where.column or ""))

    def threshold(self, spec: ThresholdSpec, where: Location) -> Ref:
        fields = {
            "metric": spec.metric.value,
            "operator": spec.operator,
            "value": spec.value,
            "unit": METRICS[spec.metric].unit,
        }
        return self.add(RecordType.THRESHOLD, fields, {"value": where.column or ""})

    def tree(
        self, tree: SpecTree, origin: Origin, where: Location, field_name: str
    ) -> dict[str, Any] | None:
        """The expression tree with Ref leaves, proposing each biomarker and threshold."""
        if isinstance(tree, Leaf):
            biomarker = self.biomarker(tree.biomarker, origin, where, field_name)
            if biomarker is None:
                return None
            leaf: dict[str, Any] = {"biomarker": biomarker}
            if tree.threshold is not None:
                leaf["threshold"] = self.threshold(tree.threshold, where)
            return leaf
        args = [self.tree(arg, origin, where, field_name) for arg in tree.args]
        if any(arg is None for arg in args):
            return None
        return {"op": tree.op, "args": args}

    def expression(
        self, tree: SpecTree, origin: Origin, where: Location, field_name: str
    ) -> Ref | None:
        built = self.tree(tree, origin, where, field_name)
        if built is None:
            return None
        return self.add(RecordType.EXPRESSION, {"tree": built}, {"tree": where.column or ""})

    def drug(self, name: str, where: Location) -> str | Ref:
        if self.lookup is not None and name.lower() in self.lookup.drugs:
            return self.lookup.drugs[name.lower()]
        return self.add(RecordType.DRUG, {"name": name}, {"name": where.column or ""})

    def therapy(self, names: Sequence[str], where: Location) -> str | Ref:
        """A monotherapy or combination of `names`: the KB's therapy with those drugs if there
        is one, else a proposed one named "A + B". Drugs go in alphabetical order, in the name
        and the drug list alike, so two sources listing them in different orders propose the
        same therapy."""
        stored = [
            self.lookup.drugs.get(name.lower(), name) if self.lookup else name for name in names
        ]
        if self.lookup is not None:
            existing = self.lookup.therapies.get(frozenset(name.lower() for name in stored))
            if existing:
                return existing
        ordered = sorted(stored, key=lambda name: (name.lower(), name))
        drugs = [self.drug(name, where) for name in ordered]
        # Therapy names read as the demo KB's do ("Dabrafenib + Trametinib") even where the
        # drug records hold lower-case INNs.
        shown = [name[:1].upper() + name[1:] for name in ordered]
        fields = {
            "name": " + ".join(shown),
            "combination": (
                Combination.COMBINATION if len(ordered) > 1 else Combination.MONOTHERAPY
            ).value,
            "drugs": drugs,
        }
        return self.add(RecordType.THERAPY, fields, {"drugs": where.column or ""})

    def citation(
        self, kind: CitationKind, identifier: str, title: str, where: Location
    ) -> str | Ref:
        key = f"{kind.value}:{identifier}"
        if self.lookup is not None and key.lower() in self.lookup.citations:
            return key
        fields = {"kind": kind.value, "identifier": identifier}
        if title:
            fields["title"] = title
        return self.add(RecordType.CITATION, fields, {"identifier": where.column or ""})


def _plain(value: Any) -> Any:
    """`value` with Refs turned into tagged tuples, so `freeze` can hash it."""
    if isinstance(value, Ref):
        return ("ref", value.key)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# --- molecular profiles ---------------------------------------------------------------------


class ProfileError(ValueError):
    """A molecular profile (or one component) that cannot be mapped; says why."""

    def __init__(self, message: str, code: str = "unparseable_profile") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Component:
    """One variant of a molecular profile: the feature (gene or fusion) and the variant name."""

    gene: str
    variant: str

    @property
    def text(self) -> str:
        return f"{self.gene} {self.variant}".strip()


@dataclass(frozen=True, slots=True)
class Combined:
    op: Literal["AND", "OR", "NOT"]
    args: tuple[Profile, ...]


Profile = Component | Combined

_BOOLEAN = ("AND", "OR")
_MAX_PROFILE_LENGTH = 2000


def parse_molecular_profile(text: str) -> Profile:
    """Parse a CIViC molecular-profile name such as ``EGFR L858R OR EGFR Exon 19 Deletion``.

    Operators are the upper-case words AND, OR and NOT (AND binds tighter than OR); parentheses
    group. A parenthesis inside a variant name (``VHL P154= (c.462A>C)``) is part of the name.
    """
    if len(text) > _MAX_PROFILE_LENGTH:
        raise ProfileError(f"longer than {_MAX_PROFILE_LENGTH} characters")
    tokens = _profile_tokens(text)
    if not tokens:
        raise ProfileError("empty molecular profile")
    parser = _ProfileParser(tokens)
    profile = parser.parse_or()
    if parser.i != len(tokens):
        raise ProfileError(f"unexpected {_token_text(tokens[parser.i])!r}")
    return profile


_Token = str | Component


def _token_text(token: _Token) -> str:
    return token.text if isinstance(token, Component) else token


def _profile_tokens(text: str) -> list[_Token]:
    words = text.split()
    tokens: list[_Token] = []
    i = 0
    expect_operand = True
    while i < len(words):
        word = words[i]
        if not expect_operand:
            if word not in _BOOLEAN and word != ")":
                raise ProfileError(f"expected AND or OR before {word!r}")
            tokens.append(word)
            expect_operand = word != ")"
            i += 1
            continue
        if word == "NOT":
            tokens.append(word)
            i += 1
            continue
        while word.startswith("("):
            tokens.append("(")
            word = word[1:]
        if not word:
            i += 1
            continue
        parts = [word]
        i += 1
        while i < len(words) and words[i] not in (*_BOOLEAN, "NOT"):
            parts.append(words[i])
            i += 1
        component = " ".join(parts)
        # Closing parentheses beyond the component's own (as in "(ATI)") close a group.
        closes = 0
        while component.endswith(")") and component.count(")") > component.count("("):
            component = component[:-1].rstrip()
            closes += 1
        if not component:
            raise ProfileError("a parenthesis closes an empty group")
        gene, _, variant = component.partition(" ")
        tokens.append(Component(gene, variant.strip()))
        tokens.extend(")" for _ in range(closes))
        expect_operand = False
    return tokens


class _ProfileParser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse_or(self) -> Profile:
        return self._binary("OR", self.parse_and)

    def parse_and(self) -> Profile:
        return self._binary("AND", self.parse_unary)

    def _binary(self, op: Literal["AND", "OR"], operand: Callable[[], Profile]) -> Profile:
        args = [operand()]
        while self.peek() == op:
            self.i += 1
            args.append(operand())
        return args[0] if len(args) == 1 else Combined(op, tuple(args))

    def parse_unary(self) -> Profile:
        token = self.peek()
        if token is None:
            raise ProfileError("the profile ends where a variant was expected")
        self.i += 1
        if token == "NOT":
            return Combined("NOT", (self.parse_unary(),))
        if token == "(":
            inner = self.parse_or()
            if self.peek() != ")":
                raise ProfileError("a parenthesis is not closed")
            self.i += 1
            return inner
        if isinstance(token, Component):
            return token
        raise ProfileError(f"unexpected {token!r} where a variant was expected")


def profile_tree(profile: Profile) -> SpecTree:
    """The biomarker tree of a parsed profile; raises ProfileError for a component that has no
    biomarker form (the message names it)."""
    if isinstance(profile, Component):
        try:
            return component_tree(profile.gene, profile.variant)
        except ProfileError as exc:
            raise ProfileError(f"{profile.text!r}: {exc.message}", exc.code) from None
    args = [profile_tree(arg) for arg in profile.args]
    if profile.op == "NOT":
        return Node("NOT", (args[0],))
    return combine(profile.op, args)


_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
_FUSION = re.compile(r"^(?P<five>[^\s:]+)::(?P<three>[^\s:]+)(?:\s+fusions?)?$", re.IGNORECASE)
_EXON = re.compile(r"^exon\s+(?P<exon>[0-9]{1,3})\s+(?P<what>.+)$", re.IGNORECASE)
_CODONS = re.compile(r"^[A-Z][0-9]{1,5}(?:/[A-Z][0-9]{1,5})+$")
_ALTERNATIVES = re.compile(r"^(?P<ref>[A-Z])(?P<pos>[0-9]{1,5})(?P<alts>[A-Z](?:/[A-Z])+)$")
_NUCLEOTIDE_NOTE = re.compile(r"\s*\((?:c|g|n)\.[^()]*\)$")
_TRAILING_DNA = re.compile(r"\s+[cg]\.\S+$")
_FS_X = re.compile(r"FSX([0-9]+)$", re.IGNORECASE)
_RESIDUES_AFTER = re.compile(r"(del|dup)[A-Z]+$")
_ARROW_DELINS = re.compile(r"^([A-Z][0-9]+_[A-Z][0-9]+)>([A-Z]+)$")
_UPPER_KEYWORD = re.compile(r"(?<=[0-9])(DELINS|DEL|INS|DUP|FS)(?=[A-Z*0-9]*$)")

_EXON_CONSEQUENCES = {
    "deletion": Consequence.INFRAME_DELETION,
    "deletions": Consequence.INFRAME_DELETION,
    "insertion": Consequence.INFRAME_INSERTION,
    "insertions": Consequence.INFRAME_INSERTION,
    "skipping": Consequence.EXON_SKIPPING,
    "skipping mutation": Consequence.EXON_SKIPPING,
    "skipping mutations": Consequence.EXON_SKIPPING,
    "mutation": Consequence.ANY,
    "mutations": Consequence.ANY,
    "frameshift": Consequence.FRAMESHIFT,
    "frameshifts": Consequence.FRAMESHIFT,
    "missense": Consequence.MISSENSE,
}
_CATEGORIES = {
    # CIViC's plain "Mutation" is any mutation of the gene; "Oncogenic Mutation" says more.
    "mutation": Category.ANY_MUTATION,
    "mutations": Category.ANY_MUTATION,
    "any mutation": Category.ANY_MUTATION,
    "oncogenic mutation": Category.ONCOGENIC_MUTATIONS,
    "oncogenic mutations": Category.ONCOGENIC_MUTATIONS,
    "activating mutation": Category.ACTIVATING_MUTATIONS,
    "activating mutations": Category.ACTIVATING_MUTATIONS,
    "gain-of-function": Category.ACTIVATING_MUTATIONS,
    "gain of function": Category.ACTIVATING_MUTATIONS,
    "truncating mutation": Category.TRUNCATING_MUTATIONS,
    "truncating mutations": Category.TRUNCATING_MUTATIONS,
    "loss-of-function": Category.LOSS_OF_FUNCTION,
    "loss of function": Category.LOSS_OF_FUNCTION,
    "inactivating mutation": Category.LOSS_OF_FUNCTION,
    "inactivating mutations": Category.LOSS_OF_FUNCTION,
    # CIViC's "Loss" gathers deletion, truncation and loss of expression: loss of function.
    "loss": Category.LOSS_OF_FUNCTION,
    "truncation": Category.TRUNCATING_MUTATIONS,
    "truncating": Category.TRUNCATING_MUTATIONS,
}
_COPY_NUMBER = {
    "amplification": CopyNumberType.AMPLIFICATION,
    "copy number gain": CopyNumberType.GAIN,
    "gain": CopyNumberType.GAIN,
    "copy number loss": CopyNumberType.LOSS,
    "deletion": CopyNumberType.DELETION,
    "homozygous deletion": CopyNumberType.DELETION,
    "deep deletion": CopyNumberType.DELETION,
}
# Expression without a threshold: the status the biomarker asks for. CIViC names no assay.
_EXPRESSION = {
    "expression": "positive",
    "positive": "positive",
    "negative": "negative",
    "overexpression": "high",
    "high expression": "high",
    "underexpression": "low",
    "low expression": "low",
    "loss of expression": "negative",
    "decreased expression": "low",
}
_METHYLATION = {
    "methylation": "methylated",
    "promoter methylation": "methylated",
    "promoter hypermethylation": "methylated",
    "hypermethylation": "methylated",
    "promoter demethylation": "unmethylated",
    "promoter hypomethylation": "unmethylated",
    "unmethylated": "unmethylated",
}
_GENE_WIDE = {
    "itd": Consequence.INTERNAL_TANDEM_DUPLICATION,
    "internal tandem duplication": Consequence.INTERNAL_TANDEM_DUPLICATION,
    "internal duplication": Consequence.INTERNAL_TANDEM_DUPLICATION,
    "promoter mutation": Consequence.PROMOTER,
    "promoter mutations": Consequence.PROMOTER,
    "frameshift": Consequence.FRAMESHIFT,
    "frameshift truncation": Consequence.FRAMESHIFT,
    "frameshift mutation": Consequence.FRAMESHIFT,
    "nonsense": Consequence.NONSENSE,
    "splice site mutation": Consequence.SPLICE,
    "splice site": Consequence.SPLICE,
}
_CODON_RANGE = re.compile(
    r"^(?P<what>del|ins|deletion|insertion)\s+(?P<start>[0-9]{1,5})\s*-\s*(?P<end>[0-9]{1,5})$",
    re.IGNORECASE,
)
_CODON_INSERTION = re.compile(r"^(?P<ref>[A-Z])(?P<pos>[0-9]{1,5})ins$", re.IGNORECASE)
_DNA = re.compile(r"^(?P<dna>[cg]\.[-*]?[0-9][A-Za-z0-9_+*>-]*)$")
_RSID = re.compile(r"^rs[0-9]+$", re.IGNORECASE)
# Names that are no biomarker form of the KB, with the reason a curator reads; matched on the
# lower-cased variant name, by the first phrase it contains.
_NOT_FORMS: tuple[tuple[str, str], ...] = (
    (
        "phosphorylation",
        "a phosphorylation state is a protein modification, not a genomic biomarker",
    ),
    ("serum level", "a serum level is a circulating measurement, not a tumour biomarker"),
    ("nuclear", "a subcellular localisation of expression is not a form the KB has"),
    ("cytoplasmic", "a subcellular localisation of expression is not a form the KB has"),
    ("mislocalization", "a subcellular localisation of expression is not a form the KB has"),
    ("translocation", "a subcellular translocation is not a form the KB has"),
    ("domain", "a protein domain needs its codons: give the codon range instead"),
    ("tkd", "a protein domain needs its codons: give the codon range instead"),
    ("polymorphism", "an untranslated-region polymorphism needs its DNA change (c.)"),
    ("tandem repeat", "a repeat polymorphism has no HGVS form the KB can match"),
    ("intron", "an intronic variant needs its DNA change (c.)"),
    ("loh", "loss of heterozygosity is not a copy-number call the KB has (loss, deletion)"),
    ("copy number variation", "a copy-number variation names no direction (gain or loss)"),
    ("rare mutation", '"rare" names no variant the KB can match'),
    ("deleterious mutation", '"deleterious" needs a category: use loss-of-function'),
    ("peri-therapeutic", "a change during therapy is not a biomarker form"),
    ("biallelic", "biallelic inactivation needs both alleles' events; the KB has no such form"),
    ("alu insertion", "a mobile-element insertion has no HGVS form the KB can match"),
    ("snp", "a polymorphism needs its HGVS change"),
    ("homozygosity", "a pharmacogenomic genotype is not a tumour biomarker form"),
)
_EXON_SPAN = re.compile(r"^exons?\s+[0-9]+\s*-\s*[0-9]+\b", re.IGNORECASE)
_FUSION_BREAKPOINT = re.compile(r"^e[0-9]+::e[0-9]+$", re.IGNORECASE)
_CODON_WORD = re.compile(
    r"^(?P<ref>[A-Z])(?P<pos>[0-9]{1,5})\s+(?P<what>deletion|insertion)$", re.IGNORECASE
)
_CHARACTERISTIC_GENES = {"TMB": Characteristic.TMB, "MSI": Characteristic.MSI}
_FUSION_WORDS = {"fusion", "fusions", "rearrangement", "rearrangements", "translocation"}


def component_tree(gene: str, variant: str) -> SpecTree:
    """The biomarker(s) for one profile component (``BRAF`` + ``V600E``); see the module doc."""
    fusion = _FUSION.match(gene) if "::" in gene else None
    if fusion and _FUSION_BREAKPOINT.match(variant):
        raise ProfileError(
            f"exon-specific breakpoints ({variant}) are not a form the KB has; the plain fusion is",
            "unsupported_variant",
        )
    if fusion:
        if variant and variant.lower() not in _FUSION_WORDS:
            raise ProfileError(
                f"fusion variant {variant!r} is not supported (only plain fusions)",
                "unsupported_variant",
            )
        return Leaf(_fusion(fusion["five"], fusion["three"], None))
    if not _SYMBOL.match(gene):
        raise ProfileError(f"{gene!r} is not a gene symbol", "unparseable_profile")
    gene = gene.upper()
    if not variant:
        raise ProfileError("a gene needs a variant (e.g. BRAF V600E)", "unparseable_profile")
    if variant.upper().startswith(f"{gene} ") and len(variant) > len(gene) + 1:
        variant = variant[len(gene) + 1 :]  # "NRG1 NRG1 FUSIONS": the gene written twice
    lowered = " ".join(variant.lower().split())
    if " & " in f" {lowered} ":
        raise ProfileError(
            f"{variant!r} joins two variants with '&': write them as two joined by AND",
            "unparseable_profile",
        )
    if lowered.startswith("non-"):
        raise ProfileError(
            f"{variant!r} is a negation: write NOT and the variant it excludes",
            "unparseable_profile",
        )
    match = _FUSION.match(variant)
    if match:
        if gene not in (match["five"].upper(), match["three"].upper()):
            raise ProfileError(f"fusion {variant} does not involve {gene}", "unparseable_profile")
        return Leaf(_fusion(match["five"], match["three"], gene))
    if lowered in _FUSION_WORDS:
        five = gene in FIVE_PRIME_GENES
        return Leaf(
            BiomarkerSpec(
                BiomarkerKind.FUSION,
                gene=gene,
                partner_5=gene if five else None,
                partner_3=None if five else gene,
            )
        )
    if lowered in _COPY_NUMBER:
        return Leaf(
            BiomarkerSpec(BiomarkerKind.COPY_NUMBER, gene, copy_number=_COPY_NUMBER[lowered])
        )
    if gene in _CHARACTERISTIC_GENES and lowered in ("high", "low"):
        return Leaf(
            BiomarkerSpec(
                BiomarkerKind.CHARACTERISTIC,
                characteristic=_CHARACTERISTIC_GENES[gene],
                status=lowered,
            )
        )
    if variant.upper().startswith(f"{gene}*"):
        raise ProfileError(
            f"{variant!r} is a pharmacogenomic star allele, not a form the KB has",
            "unsupported_variant",
        )
    if _EXON_SPAN.match(variant):
        raise ProfileError(
            f"{variant!r} spans several exons; the KB's range biomarkers name one exon or codons",
            "unsupported_variant",
        )
    if lowered in ("viii", "egfrviii", "viii deletion"):
        raise ProfileError(
            "EGFRvIII (exons 2-7 deleted) is a named structural variant the KB has no form for",
            "unsupported_variant",
        )
    if lowered in ("wildtype", "wild type", "wild-type", "wt"):
        return Leaf(BiomarkerSpec(BiomarkerKind.WILD_TYPE, gene))
    if lowered in _EXPRESSION:
        return Leaf(BiomarkerSpec(BiomarkerKind.EXPRESSION, gene, status=_EXPRESSION[lowered]))
    if lowered in _METHYLATION:
        return Leaf(BiomarkerSpec(BiomarkerKind.METHYLATION, gene, status=_METHYLATION[lowered]))
    if lowered in _GENE_WIDE:
        return Leaf(BiomarkerSpec(BiomarkerKind.RANGE, gene, consequence=_GENE_WIDE[lowered]))
    dna = _DNA.match(_NUCLEOTIDE_NOTE.sub("", variant).strip())
    if dna:
        return Leaf(BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, gene, dna_change=dna["dna"]))
    span = _CODON_RANGE.match(lowered)
    if span:
        start, end = int(span["start"]), int(span["end"])
        if end < start:
            raise ProfileError(f"codon range {variant!r} runs backwards", "unparseable_profile")
        return _codon_span(gene, start, end, deletion=span["what"].startswith("del"))
    worded = _CODON_WORD.match(variant)
    if worded:
        position = int(worded["pos"])
        deletion = worded["what"].lower() == "deletion"
        return _codon_span(gene, position, position, deletion=deletion)
    inserted = _CODON_INSERTION.match(variant)
    if inserted:
        position = int(inserted["pos"])
        return _codon_span(gene, position, position, deletion=False)
    if _RSID.match(variant):
        # A SNP named by its dbSNP id (CIViC's "SH2B3 RS3184504", mostly common germline
        # polymorphisms): matched by the rs id a patient file gives (VCF ID, MAF dbSNP_RS).
        return Leaf(BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, gene, dbsnp_id=variant.lower()))
    for phrase, reason in _NOT_FORMS:
        if phrase in lowered:
            raise ProfileError(f"{variant!r}: {reason}", "unsupported_variant")
    if lowered.endswith(" expression"):
        raise ProfileError(
            f"{variant!r}: expression of a named isoform or product is not a form the KB has; "
            "use the gene's expression",
            "unsupported_variant",
        )
    if lowered in _CATEGORIES:
        return Leaf(BiomarkerSpec(BiomarkerKind.CATEGORICAL, gene, category=_CATEGORIES[lowered]))
    exon = _EXON.match(variant)
    if exon:
        what = " ".join(exon["what"].lower().split())
        consequence = _EXON_CONSEQUENCES.get(what)
        if consequence is None:
            raise ProfileError(
                f"exon-level change {exon['what']!r} is not supported", "unsupported_variant"
            )
        return Leaf(
            BiomarkerSpec(
                BiomarkerKind.RANGE, gene, exon=int(exon["exon"]), consequence=consequence
            )
        )
    if _CODONS.match(variant):
        return combine("OR", [_codon(gene, int(part[1:])) for part in variant.split("/")])
    alternatives = _ALTERNATIVES.match(variant)
    if alternatives:
        return combine(
            "OR",
            [
                _protein(gene, f"{alternatives['ref']}{alternatives['pos']}{alt}")
                for alt in alternatives["alts"].split("/")
            ],
        )
    return _protein(gene, variant)


def _protein(gene: str, variant: str) -> SpecTree:
    note = _NUCLEOTIDE_NOTE.search(variant)
    text = _NUCLEOTIDE_NOTE.sub("", variant).strip()
    text = _TRAILING_DNA.sub("", text)  # "R474C c.1420C>T": the protein change leads
    text = _FS_X.sub(r"fs*\1", text)  # "T148HFSX9" -> "T148Hfs*9"
    text = _UPPER_KEYWORD.sub(lambda m: m.group(1).lower(), text)
    text = _RESIDUES_AFTER.sub(r"\1", text)  # "P551_E554delPMYE": HGVS names no residues there
    text = _ARROW_DELINS.sub(r"\1delins\2", text)  # "E746_T751>I"
    try:
        change = parse_protein_change(text)
    except ProteinChangeError as exc:
        dna = _DNA.match(note.group(0).strip()[1:-1]) if note else None
        if dna:
            # "Splice Site (c.1641+2T>G)", "3'UTR alteration (c.*70C>A)": the DNA change names it.
            return Leaf(BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, gene, dna_change=dna["dna"]))
        if " " in text:
            raise ProfileError(
                f"{variant!r} is no form the KB knows: a protein or DNA change, an exon or "
                "codons with a consequence, a fusion, a copy-number call, expression, "
                "methylation, wild type, or a mutation category",
                "unsupported_variant",
            ) from None
        raise ProfileError(
            f"{variant!r} is not a variant the KB can express ({exc.message})",
            "unsupported_variant",
        ) from None
    if change.kind == "codon":
        return _codon(gene, change.start_pos)
    return Leaf(BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, gene, protein_change=change.hgvs))


def _codon_span(gene: str, start: int, end: int, *, deletion: bool) -> Leaf:
    """An in-frame deletion or insertion at codons `start`..`end` ("DEL 485-490", "P780INS")."""
    consequence = Consequence.INFRAME_DELETION if deletion else Consequence.INFRAME_INSERTION
    return Leaf(
        BiomarkerSpec(
            BiomarkerKind.RANGE, gene, codon_start=start, codon_end=end, consequence=consequence
        )
    )


def _codon(gene: str, position: int) -> Leaf:
    return Leaf(
        BiomarkerSpec(
            BiomarkerKind.RANGE,
            gene,
            codon_start=position,
            codon_end=position,
            consequence=Consequence.MISSENSE,
        )
    )


def _fusion(five: str, three: str, feature: str | None) -> BiomarkerSpec:
    """A fusion of `five`::`three` ("?" or "v" for an unnamed partner). The biomarker's gene is
    the CIViC feature when one is named, else the 3' partner (as the demo KB files BCR::ABL1)."""
    partners: list[str | None] = []
    for symbol in (five, three):
        if symbol in ("?", "v", "V"):
            partners.append(None)
        elif _SYMBOL.match(symbol):
            partners.append(symbol.upper())
        else:
            raise ProfileError(f"{symbol!r} is not a gene symbol", "unparseable_profile")
    if partners[0] is None and partners[1] is None:
        raise ProfileError("a fusion needs at least one named partner", "unparseable_profile")
    gene = feature or partners[1] or partners[0]
    return BiomarkerSpec(
        BiomarkerKind.FUSION, gene=gene, partner_5=partners[0], partner_3=partners[1]
    )


# --- mapping tables ---------------------------------------------------------------------------

_DEFAULT_DOID_MAP = "doid_oncotree.toml"
_DEFAULT_LEVELS = "civic_levels.toml"
# The names of CIViC's schemes as level-scheme records (resources/demo/kb.yaml holds them).
CIVIC_SCHEME = "CIViC evidence levels"
AMP_SCHEME = "AMP/ASCO/CAP tiers"


def _load_toml(source: Path | None, default: str) -> tuple[dict[str, Any], str]:
    if source is None:
        text = resources.files("kb.importing").joinpath(default).read_text(encoding="utf-8")
        name = default
    else:
        try:
            text = source.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise KbError(f"{source}: cannot read the mapping file: {exc}") from None
        name = str(source)
    try:
        return tomllib.loads(text), name
    except tomllib.TOMLDecodeError as exc:
        raise KbError(f"{name}: not a valid TOML mapping file: {exc}") from None


def _doid_key(value: str) -> str | None:
    text = value.strip().upper().removeprefix("DOID:").strip()
    return str(int(text)) if text.isdigit() else None


@dataclass(frozen=True, slots=True)
class DiseaseMap:
    """DOID (or disease name) -> OncoTree codes, from doid_oncotree.toml plus a curator's file."""

    by_doid: Mapping[str, tuple[str, ...]]
    by_name: Mapping[str, tuple[str, ...]]
    unmapped: Mapping[str, str]
    sources: tuple[str, ...]

    @classmethod
    def load(cls, override: Path | None = None) -> DiseaseMap:
        """The shipped table, with `override`'s entries (same layout) replacing its own."""
        by_doid: dict[str, tuple[str, ...]] = {}
        by_name: dict[str, tuple[str, ...]] = {}
        unmapped: dict[str, str] = {}
        sources = []
        for source in (None, override) if override is not None else (None,):
            data, name = _load_toml(source, _DEFAULT_DOID_MAP)
            sources.append(name)
            for key, value in _table(data, "doid", name).items():
                doid = _doid_key(key)
                if doid is None:
                    raise KbError(f"{name}: [doid] key {key!r} is not a DOID such as DOID:3908")
                by_doid[doid] = _codes(value, name, f"doid.{key}")
                unmapped.pop(doid, None)
            for key, value in _table(data, "name", name).items():
                by_name[" ".join(key.lower().split())] = _codes(value, name, f"name.{key}")
            for key, value in _table(data, "unmapped", name).items():
                doid = _doid_key(key)
                if doid is None or not isinstance(value, str):
                    raise KbError(f"{name}: [unmapped] {key!r} needs a DOID key and a reason")
                unmapped[doid] = value
                by_doid.pop(doid, None)
        return cls(by_doid, by_name, unmapped, tuple(sources))

    def codes(
        self, doid: str, disease: str, derived: DoidCrosswalk | None = None
    ) -> tuple[str, ...] | str:
        """The codes for a row's disease, or a message saying why there are none. The curated
        tables come first; then the crosswalk `derived` from the vocabularies, whose exact and
        same-name entries are taken and whose broader ones wait for a curator to confirm."""
        key = _doid_key(doid) if doid.strip() else None
        if key is not None:
            if key in self.by_doid:
                return self.by_doid[key]
            if key in self.unmapped:
                return f"DOID:{key} ({disease}) is not mapped: {self.unmapped[key]}"
            found = derived.get(key) if derived is not None else None
            if found is not None and found.kind is not CrosswalkKind.BROADER:
                return found.codes
            if found is not None:
                return (
                    f"DOID:{key} ({disease}) maps to OncoTree only broadly ({found.describe()}); "
                    f"confirm or correct it: {_doid_hint(key, found.codes)}"
                )
            return f"DOID:{key} ({disease}) has no OncoTree mapping; {_doid_hint(key, ())}"
        name = " ".join(disease.lower().split())
        if name in self.by_name:
            return self.by_name[name]
        if doid.strip():
            return f"{doid!r} is not a DOID number"
        if not disease.strip():
            return "the row names no disease"
        return f"disease {disease!r} has no DOID and no mapping by name"


def _doid_hint(key: str, codes: Sequence[str]) -> str:
    """What to do about a DOID without a mapping, in steps that work: the file, its line, and
    where to pass it (`kb import --doid-map`, or the DOID mapping field of the app's import)."""
    shown = ", ".join(f'"{code}"' for code in codes) or '"CODE"'
    return (
        f'put the line "DOID:{key}" = [{shown}] under [doid] in a TOML file and pass it with '
        "kb import --doid-map FILE.toml (in the app: the DOID mapping file on the import's "
        "first page)"
    )


def _table(data: Mapping[str, Any], name: str, source: str) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise KbError(f"{source}: [{name}] must be a table")
    return table


def _codes(value: Any, source: str, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(item, str) and item.strip() for item in items)
    ):
        raise KbError(f"{source}: {key} must be an OncoTree code or a list of codes")
    return tuple(dict.fromkeys(item.strip().upper() for item in items))


@dataclass(frozen=True, slots=True)
class LevelTable:
    """CIViC level (A-E) or AMP category -> KB evidence level ("" for a gap), per implication,
    and where each table came from (`origin`: a crosswalk record's id, or a file)."""

    evidence: Mapping[str, Mapping[str, str]]
    assertion: Mapping[str, Mapping[str, str]]
    approved: Mapping[str, str]
    origin: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def describe(self, part: str, implication: str) -> str:
        return self.origin.get((part, implication), _DEFAULT_LEVELS)

    @classmethod
    def load(cls, override: Path | None = None, lookup: KbLookup | None = None) -> LevelTable:
        """The shipped civic_levels.toml, then the KB's own crosswalk records (curated data:
        they win where they exist), then a curator's `override` file, key by key."""
        evidence: dict[str, dict[str, str]] = {}
        assertion: dict[str, dict[str, str]] = {}
        origin: dict[tuple[str, str], str] = {}
        data, name = _load_toml(None, _DEFAULT_LEVELS)
        cls._read(data, name, evidence, assertion, origin)
        crosswalks = lookup.crosswalks if lookup else {}
        for (scheme, implication), crosswalk in crosswalks.items():
            part = {CIVIC_SCHEME: "evidence", AMP_SCHEME: "assertion"}.get(scheme)
            if part is None:
                continue
            table = (evidence if part == "evidence" else assertion).setdefault(implication, {})
            table.clear()
            for level, mapped in crosswalk.entries.items():
                if mapped is not None and mapped not in _LEVEL_VALUES:
                    raise KbError(
                        f"crosswalk {crosswalk.record}: {level} -> {mapped} is not a level of "
                        f"{LEVEL_SCHEME}"
                    )
                table[level_key(level)] = mapped or ""
            origin[(part, implication)] = f"crosswalk {crosswalk.record}"
        if override is not None:
            data, name = _load_toml(override, _DEFAULT_LEVELS)
            cls._read(data, name, evidence, assertion, origin)
        approved = assertion.pop("approved", {})
        return cls(evidence, assertion, approved, origin)

    @staticmethod
    def _read(
        data: Mapping[str, Any],
        name: str,
        evidence: dict[str, dict[str, str]],
        assertion: dict[str, dict[str, str]],
        origin: dict[tuple[str, str], str],
    ) -> None:
        for part, target in (("evidence", evidence), ("assertion", assertion)):
            for group, table in _table(data, part, name).items():
                if not isinstance(table, Mapping):
                    raise KbError(f"{name}: [{part}.{group}] must be a table")
                if group != "approved" or part != "assertion":
                    _check_group(group, name, part)
                for key, level in table.items():
                    if not isinstance(level, str) or (level and level not in _LEVEL_VALUES):
                        raise KbError(
                            f"{name}: {part}.{group}.{key} must be one of "
                            f'{", ".join(sorted(_LEVEL_VALUES))} or ""'
                        )
                    target.setdefault(group, {})[level_key(key)] = level
                origin[(part, group)] = name


_LEVEL_VALUES = frozenset(level.value for level in EvidenceLevel)


def _check_group(group: str, source: str, part: str) -> None:
    if group not in {member.value for member in Implication}:
        raise KbError(
            f"{source}: [{part}.{group}] is not an implication "
            f"({', '.join(member.value for member in Implication)})"
        )


# --- reading the TSV ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    file: str
    sheet: str | None
    number: int
    cells: Mapping[str, str]
    letters: Mapping[str, str]

    def get(self, name: str) -> str:
        return self.cells.get(name, "").strip()

    def at(self, name: str) -> Location:
        return Location(self.file, self.sheet, self.number, self.letters.get(name))

    @property
    def location(self) -> Location:
        return Location(self.file, self.sheet, self.number)


def _read_tsv(path: Path, required: Sequence[str]) -> Iterator[_Row | SourceRow]:
    """The data rows of a CIViC TSV (or of a workbook a curator saved it as); a row that cannot
    be read comes back as an invalid SourceRow. Problems with the whole file raise SourceError.

    The shared reader does the untrusted-file work: size limits, UTF-8 with or without BOM, any
    line ending, a TSV saved under an .xls name. Quoting is off because CIViC free text holds
    literal double quotes that are not CSV quoting.
    """
    workbook = read_workbook(path, delimiter="\t", quoting=False)
    sheet = workbook.sheet()
    name = workbook.file
    strict = workbook.kind == "tsv"  # a spreadsheet may trim trailing empty cells; text may not
    if not sheet.rows:
        raise SourceError(ImportError_(Location(name), None, "empty_file", "the file is empty"))
    header = [_text(cell).strip() for cell in sheet.rows[0]]
    layout = recognise_layout(header, required, Location(name, sheet.location_name, 1))
    required = layout.required  # an older CIViC export is checked against its own columns
    letters = {column: column_letter(i) for i, column in enumerate(header) if column}
    problems = [
        ImportError_(
            Location(name, sheet.location_name, 1, column_letter(i)),
            column,
            "duplicate_column",
            f"column {column!r} appears more than once",
            column,
        )
        for i, column in enumerate(header)
        if column and column in header[:i]
    ]
    what = "assertion" if "assertion_id" in required else "evidence"
    problems.extend(
        ImportError_(
            Location(name, sheet.location_name, 1),
            column,
            "missing_column",
            f"the header lacks the column {column!r}; is this a CIViC {what} summary TSV?",
            column,
        )
        for column in required
        if column not in header
    )
    if problems:
        raise SourceError(problems)
    for index, raw in enumerate(sheet.rows[1:], start=2):
        cells = [_text(cell) for cell in raw]
        if not any(cell.strip() for cell in cells):
            continue  # a blank line is not a row
        where = Location(name, sheet.location_name, index)
        read_errors = [
            error for column in range(len(cells)) if (error := cell_error_in(sheet, index, column))
        ]
        extra = [cell for cell in cells[len(header) :] if cell.strip()]
        if (strict and len(cells) != len(header)) or extra:
            read_errors.append(
                ImportError_(
                    where,
                    None,
                    "wrong_cell_count",
                    f"the row has {len(cells)} tab-separated cells, the header {len(header)}; "
                    "a tab or line break inside a cell splits rows",
                    len(cells),
                )
            )
        if read_errors:
            yield SourceRow(where, errors=tuple(read_errors))
            continue
        cells += [""] * (len(header) - len(cells))
        yield _Row(
            name,
            sheet.location_name,
            index,
            *layout.read(dict(zip(header, cells, strict=False)), letters),
        )


def _text(cell: Any) -> str:
    """A cell as text; whole-number floats (how spreadsheets store ids) without ".0"."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


# --- mapping rows ---------------------------------------------------------------------------------

_EVIDENCE_COLUMNS = (
    "molecular_profile",
    "disease",
    "doid",
    "therapies",
    "therapy_interaction_type",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "significance",
    "evidence_statement",
    "citation_id",
    "source_type",
    "citation",
    "evidence_id",
    "variant_origin",
    "evidence_civic_url",
)
_ASSERTION_COLUMNS = (
    "molecular_profile",
    "disease",
    "doid",
    "therapies",
    "assertion_type",
    "assertion_direction",
    "significance",
    "amp_category",
    "nccn_guideline",
    "nccn_guideline_version",
    "regulatory_approval",
    "assertion_summary",
    "assertion_description",
    "assertion_id",
    "assertion_civic_url",
)

_IMPLICATIONS: dict[tuple[str, str], Implication] = {
    ("predictive", "sensitivity/response"): Implication.SENSITIVE,
    ("predictive", "resistance"): Implication.RESISTANT,
    ("diagnostic", "positive"): Implication.DIAGNOSTIC,
    ("diagnostic", "negative"): Implication.DIAGNOSTIC,
    ("prognostic", "better outcome"): Implication.PROGNOSTIC,
    ("prognostic", "poor outcome"): Implication.PROGNOSTIC,
    ("predisposing", "predisposition"): Implication.PREDISPOSING,
    ("predisposing", "positive"): Implication.PREDISPOSING,  # CIViC before 2022
    ("predisposing", "uncertain significance"): Implication.PREDISPOSING,
    ("predisposing", "pathogenic"): Implication.PREDISPOSING,
    ("predisposing", "likely pathogenic"): Implication.PREDISPOSING,
}
_ASSERTION_DIRECTIONS = {
    "positive": AssertionDirection.SUPPORTS_DIAGNOSIS,
    "negative": AssertionDirection.EXCLUDES_DIAGNOSIS,
    "better outcome": AssertionDirection.BETTER_OUTCOME,
    "poor outcome": AssertionDirection.POORER_OUTCOME,
}
# A predisposing statement's significance as an ACMG/AMP class, where it says one; CIViC's
# "Predisposition" does not (pathogenic or likely pathogenic is for a curator to classify).
_PATHOGENICITY = {
    "uncertain significance": Pathogenicity.UNCERTAIN_SIGNIFICANCE,
    "pathogenic": Pathogenicity.PATHOGENIC,
    "likely pathogenic": Pathogenicity.LIKELY_PATHOGENIC,
}
# Oncogenic and functional statements bear on an alteration's oncogenicity record.
_ONCOGENIC_TYPES = frozenset({"oncogenic", "functional"})
# A functional statement's significance as a mutation effect. One study makes it "likely":
# OncoKB's unqualified effects need the literature as a whole.
_EFFECTS = {
    "gain of function": MutationEffect.LIKELY_GAIN_OF_FUNCTION,
    "loss of function": MutationEffect.LIKELY_LOSS_OF_FUNCTION,
    "dominant negative": MutationEffect.LIKELY_LOSS_OF_FUNCTION,
    "neomorphic": MutationEffect.SWITCH_OF_FUNCTION,
    "unaltered function": MutationEffect.NEUTRAL,
    "unknown": MutationEffect.UNKNOWN,
}
_EVIDENCE_TYPES = {kind.value: kind for kind in EvidenceType}
_DIRECTIONS = {
    "supports": EvidenceDirection.SUPPORTS,
    "does not support": EvidenceDirection.DOES_NOT_SUPPORT,
}
_ORIGINS = {
    "somatic": Origin.SOMATIC,
    "rare germline": Origin.GERMLINE,
    "common germline": Origin.GERMLINE,
    "germline": Origin.GERMLINE,
    "n/a": Origin.SOMATIC,
    "unknown": Origin.SOMATIC,
    "": Origin.SOMATIC,
}


@dataclass(frozen=True, slots=True)
class _Options:
    diseases: DiseaseMap
    levels: LevelTable
    lookup: KbLookup | None


@dataclass
class _Draft:
    """What a row says, read and checked before any record is built."""

    row: _Row
    builder: RecordBuilder
    tree: SpecTree | None = None
    origin: Origin = Origin.SOMATIC
    codes: tuple[str, ...] = ()
    implication: Implication | None = None
    level: str | None = None  # in the KB's scheme
    source_level: str | None = None  # in the source's (CIViC A-E, an AMP category)
    gap: str | None = None  # why `level` is None though `source_level` is set
    direction: AssertionDirection | None = None
    pathogenicity: Pathogenicity | None = None
    syndrome: str | None = None  # a predisposing row's disease that is no OncoTree type
    oncogenic: bool = False  # an oncogenic or functional statement (an oncogenicity record)
    therapies: list[list[str]] = field(default_factory=list)
    supports: bool = True  # False: "Does Not Support"
    linkable: bool = True  # False: no disease or therapy to tie it to an assertion
    # Why the row's evidence item cannot support an assertion (None: it can); the item is
    # imported either way.
    blocked: str | None = None

    def error(self, column: str | None, code: str, message: str, value: Any = None) -> None:
        where = self.row.at(column) if column else self.row.location
        self.builder.error(where, column, code, message, value)

    def block(self, reason: str) -> None:
        """Record why the row's evidence item supports no assertion (it imports anyway)."""
        self.blocked = f"{self.blocked}; {reason}" if self.blocked else reason

    @property
    def proposes(self) -> bool:
        """Whether the row, supporting, can propose its assertion: with a KB level, through a
        crosswalk gap (the source's level kept), or as a germline finding (classified)."""
        return self.supports and (
            self.level is not None
            or self.gap is not None
            or self.implication is Implication.PREDISPOSING
        )


def evidence_adapter(
    path: Path,
    *,
    doid_map: Path | None = None,
    levels: Path | None = None,
    lookup: KbLookup | None = None,
) -> Iterator[SourceRow]:
    """Read a CIViC AcceptedClinicalEvidenceSummaries TSV: one SourceRow per evidence item.

    Every row whose biomarker and citation can be read becomes an evidence item (any type,
    either direction, any level). Rows that agree on (biomarker, tumour types, therapy,
    implication, direction) also support one assertion: the KB's, if it has it (never
    rewritten by the source), else one proposed from them at the best level their supporting
    rows reach, for a curator to accept or drop; a refuting row points at the KB's assertion
    if it has one. Oncogenic and functional rows bear on the alteration's oncogenicity record
    the same way. `doid_map` and `levels` name curator TOML files whose entries override the
    shipped doid_oncotree.toml and the KB's level crosswalks; `lookup` is a snapshot of the
    KB's names, crosswalks and DOID mapping.
    """
    options = _Options(DiseaseMap.load(doid_map), LevelTable.load(levels, lookup), lookup)
    drafts: list[_Draft | SourceRow] = []
    for item in _read_tsv(path, _EVIDENCE_COLUMNS):
        drafts.append(item if isinstance(item, SourceRow) else _evidence_draft(item, options))
    groups = _assertion_groups([d for d in drafts if isinstance(d, _Draft)])
    for draft in drafts:
        yield draft if isinstance(draft, SourceRow) else _evidence_row(draft, groups)


def assertion_adapter(
    path: Path,
    *,
    doid_map: Path | None = None,
    levels: Path | None = None,
    lookup: KbLookup | None = None,
) -> Iterator[SourceRow]:
    """Read a CIViC AcceptedAssertionSummaries TSV: one SourceRow per assertion."""
    options = _Options(DiseaseMap.load(doid_map), LevelTable.load(levels, lookup), lookup)
    for item in _read_tsv(path, _ASSERTION_COLUMNS):
        yield item if isinstance(item, SourceRow) else _assertion_row(item, options)


def _evidence_draft(row: _Row, options: _Options) -> _Draft:
    """Read an evidence row: what its evidence item needs, and whether it can support an
    assertion (`blocked` says why not)."""
    draft = _Draft(row, RecordBuilder(f"row {row.number}", row.location, options.lookup))
    unmapped = _read_profile_and_disease(draft, options, strict=False)
    origin_text = " ".join(row.get("variant_origin").lower().split())
    if origin_text in _ORIGINS:
        draft.origin = _ORIGINS[origin_text]
    else:
        draft.error(
            "variant_origin",
            "unsupported_origin",
            "variant origin is not Somatic or Germline",
            row.get("variant_origin"),
        )
    kind = row.get("evidence_type").lower()
    if kind not in _EVIDENCE_TYPES:
        draft.error(
            "evidence_type",
            "unsupported_evidence_type",
            "expected Predictive, Diagnostic, Prognostic, Predisposing, Oncogenic or Functional",
            row.get("evidence_type"),
        )
    direction = row.get("evidence_direction").lower()
    if direction not in _DIRECTIONS:
        draft.error(
            "evidence_direction",
            "unsupported_direction",
            "expected Supports or Does Not Support",
            row.get("evidence_direction"),
        )
    if not row.get("citation_id"):
        draft.error("citation_id", "missing_citation", "the evidence item has no citation")
    draft.supports = direction != "does not support"
    significance = row.get("significance").lower()
    letter = row.get("evidence_level").upper()
    draft.source_level = letter or None
    if kind in _ONCOGENIC_TYPES:
        draft.oncogenic = True
        if kind == "functional" and significance not in _EFFECTS:
            draft.block(f"functional significance {row.get('significance') or '(none)'} is no "
                        "mutation effect the KB knows")  # fmt: skip
        if draft.tree is not None and not _single_alteration(draft.tree):
            draft.block("an oncogenicity record is about one alteration, not a combination")
        return draft
    draft.implication = _IMPLICATIONS.get((kind, significance))
    if draft.implication is None:
        draft.block(
            f"{row.get('evidence_type') or '(no type)'} evidence with significance "
            f"{row.get('significance') or '(none)'} has no implication in the KB's assertions"
        )
    draft.direction = _ASSERTION_DIRECTIONS.get(significance) if kind != "predictive" else None
    if draft.implication is Implication.PREDISPOSING:
        draft.pathogenicity = _PATHOGENICITY.get(significance)
        unmapped = _as_syndrome(draft, unmapped)
    if unmapped:
        draft.block(unmapped)
        draft.linkable = False
    if draft.implication in LEVELLED:
        assert draft.implication is not None
        table = options.levels.evidence.get(draft.implication.value, {})
        level = table.get(level_key(letter))
        if level:
            draft.level = level
        elif level == "":
            draft.gap = (
                f"CIViC level {letter} has no {draft.implication.value} level in the KB's scheme "
                f"({options.levels.describe('evidence', draft.implication.value)}): the "
                "assertion is proposed with the source's level for a curator to settle"
            )
        else:
            draft.block(
                f"CIViC level {letter or '(none)'} is not in the {draft.implication.value} "
                f"crosswalk ({options.levels.describe('evidence', draft.implication.value)})"
            )
    _read_therapies(
        draft,
        interaction=row.get("therapy_interaction_type"),
        default_combination=False,
        strict=False,
    )
    return draft


def _disease_name(row: _Row) -> str | None:
    """The row's disease as CIViC names it, with its DOID: "Lynch Syndrome (DOID:3883)"."""
    disease, doid = row.get("disease"), row.get("doid")
    return f"{disease} (DOID:{doid})" if doid else disease or None


def _as_syndrome(draft: _Draft, unmapped: str | None) -> str | None:
    """A predisposing row's disease that is no OncoTree type is a hereditary syndrome: the
    finding matters whatever the tumour. Returns why the disease stays unmapped, if it does."""
    name = _disease_name(draft.row) if unmapped else None
    if name is None:
        return unmapped
    draft.syndrome = name
    draft.codes = (ALL_TUMOURS,)
    return None


def _single_alteration(tree: SpecTree) -> bool:
    return isinstance(tree, Leaf) and tree.threshold is None


def _group_key(draft: _Draft, names: Sequence[str]) -> tuple[Any, ...]:
    if draft.oncogenic:
        return ("oncogenicity", draft.tree, draft.origin)
    return (
        draft.tree,
        draft.origin,
        draft.codes,
        tuple(names),
        draft.implication,
        draft.direction,
        draft.pathogenicity,
    )


def _assertion_groups(drafts: Sequence[_Draft]) -> dict[tuple[Any, ...], _Group]:
    """Rows that describe the same assertion (or oncogenicity record), and the level the
    supporting ones reach."""
    groups: dict[tuple[Any, ...], _Group] = {}
    for draft in drafts:
        if draft.builder.errors or draft.tree is None or draft.blocked:
            continue
        if not draft.oncogenic and (draft.implication is None or not draft.linkable):
            continue
        for names in draft.therapies or [[]]:
            group = groups.setdefault(_group_key(draft, names), _Group(len(groups) + 1))
            group.members.append(draft)
            if draft.oncogenic and draft.supports:
                group.proposer = group.proposer or draft
                continue
            if not draft.proposes:
                continue
            if draft.level is not None and (
                group.level is None or _LEVEL_RANK[draft.level] < _LEVEL_RANK[group.level]
            ):
                group.level = draft.level
            if draft.source_level and (
                group.source_level is None or draft.source_level < group.source_level
            ):
                group.source_level = draft.source_level
            group.proposer = group.proposer or draft
    return groups


@dataclass
class _Group:
    number: int
    members: list[_Draft] = field(default_factory=list)
    proposer: _Draft | None = None  # the first supporting row: it proposes the assertion
    level: str | None = None  # the best KB level of the supporting rows
    source_level: str | None = None  # the best CIViC level of the supporting rows

    @property
    def key(self) -> str:
        return f"civic assertion {self.number}"


_LEVEL_RANK = {level.value: rank for rank, level in enumerate(EvidenceLevel)}


def _evidence_row(draft: _Draft, groups: Mapping[tuple[Any, ...], _Group]) -> SourceRow:
    row, builder = draft.row, draft.builder
    expression = (
        builder.expression(
            draft.tree, draft.origin, row.at("molecular_profile"), "molecular_profile"
        )
        if draft.tree is not None
        else None
    )
    if builder.errors or expression is None:
        return SourceRow(row.location, errors=tuple(builder.errors))
    therapies = [builder.therapy(names, row.at("therapies")) for names in draft.therapies]
    cited = _evidence_citations(draft)
    if builder.errors:
        return SourceRow(row.location, errors=tuple(builder.errors))
    letters = row.letters
    linked: list[str | Ref] = []
    oncogenicity: Ref | None = None
    notes: list[str] = []
    choices: list[str | Ref | None] = [*therapies] if therapies else [None]
    for names, therapy in zip(draft.therapies or [[]], choices, strict=True):
        group = groups.get(_group_key(draft, names))
        if group is None:
            notes.append(draft.blocked or "it bears on no assertion")
            continue
        if draft.oncogenic:
            oncogenicity = _propose_oncogenicity(draft, group)
            break
        if group.proposer is draft:
            _propose_assertion(draft, group, expression, therapy)
        elif group.proposer is None and group.members[0] is draft:
            # Only refuting rows: they point at the KB's assertion if it has one.
            _propose_assertion(draft, group, expression, therapy, create=False)
        if draft.gap and group.proposer is draft:
            notes.append(draft.gap)
        linked.append(Ref(group.key))
    evidence_id = row.get("evidence_id")
    fields: dict[str, Any] = {
        "source": "CIViC",
        "source_id": f"EID{evidence_id}",
        "url": row.get("evidence_civic_url") or None,
        "evidence_type": _EVIDENCE_TYPES[row.get("evidence_type").lower()].value,
        "direction": _DIRECTIONS[row.get("evidence_direction").lower()].value,
        "significance": row.get("significance") or None,
        "source_level": row.get("evidence_level").upper() or None,
        "rating": int(row.get("rating")) if row.get("rating").isdigit() else None,
        "expression": expression,
        "therapy": therapies[0] if len(therapies) == 1 else None,
        "tumour_types": [c for c in draft.codes if c != ALL_TUMOURS or not draft.syndrome],
        "disease": _disease_name(row),
        "assertions": linked,
        "oncogenicity": oncogenicity,
        "citations": cited,
        "status": row.get("evidence_status").lower() or None,
        "description": row.get("evidence_statement"),
    }
    columns = {
        "source_id": letters.get("evidence_id", ""),
        "evidence_type": letters.get("evidence_type", ""),
        "direction": letters.get("evidence_direction", ""),
        "source_level": letters.get("evidence_level", ""),
        "expression": letters.get("molecular_profile", ""),
        "therapy": letters.get("therapies", ""),
        "tumour_types": letters.get("doid", ""),
    }
    builder.add(RecordType.EVIDENCE_ITEM, fields, {k: v for k, v in columns.items() if v})
    return SourceRow(
        row.location, records=tuple(builder.records), notes=tuple(dict.fromkeys(notes))
    )


def _group_citations(members: Sequence[_Draft]) -> list[str | Ref]:
    citations: list[str | Ref] = []
    for member in members:
        citation_id = member.row.get("citation_id")
        if member.row.get("source_type").lower() == "pubmed" and citation_id.isdigit():
            key = f"pmid:{citation_id}"
        else:
            key = f"url:{member.row.get('evidence_civic_url')}"
        if key not in citations:
            citations.append(key)
    return citations


def _propose_assertion(
    draft: _Draft, group: _Group, expression: Ref, therapy: Any, *, create: bool = True
) -> None:
    """The assertion a group's rows support: the KB's own if it has it (left as curated),
    else a draft at the best level they reach, citing every supporting row. Not `create`:
    only the KB's own, for rows that refute it."""
    assert draft.implication is not None
    supporting = [m for m in group.members if m.proposes]
    eids = ", ".join(f"EID{m.row.get('evidence_id')}" for m in supporting or group.members)
    letters = draft.row.letters
    columns = {
        "expression": letters.get("molecular_profile", ""),
        "therapy": letters.get("therapies", ""),
        "tumour_types": letters.get("doid", ""),
        "evidence_level": letters.get("evidence_level", ""),
        "implication": letters.get("significance", ""),
    }
    germline = draft.implication is Implication.PREDISPOSING
    description = f"Drafted from CIViC evidence {eids}; curate before approval."
    if germline and draft.pathogenicity is None:
        description += " CIViC says predisposition: classify it (ACMG/AMP) before approval."
    draft.builder.records.append(
        ProposedRecord(
            RecordType.ASSERTION,
            group.key,
            {
                "expression": expression,
                "therapy": therapy,
                "tumour_types": list(draft.codes),
                "excluded_tumour_types": [],
                "implication": draft.implication.value,
                "evidence_level": None if germline else group.level,
                "source_scheme": CIVIC_SCHEME,
                "source_level": group.source_level or draft.source_level,
                "direction": draft.direction.value if draft.direction else None,
                "pathogenicity": draft.pathogenicity.value if draft.pathogenicity else None,
                "syndrome": draft.syndrome,
                "line_of_therapy": "any",
                "description": description,
                "citations": _group_citations(supporting),
            },
            draft.row.location,
            columns={name: letter for name, letter in columns.items() if letter},
            update=False,
            create=create,
            absent="it refutes an association that neither the KB nor this file asserts: "
            "there is nothing to link it to",
        )
    )


def _propose_oncogenicity(draft: _Draft, group: _Group) -> Ref | None:
    """The oncogenicity record of the row's alteration: the KB's own if it has one (left as
    curated), else a draft from the group's supporting rows; refuting rows only point at the
    KB's. The first member proposes it; the others refer to it."""
    key = f"civic oncogenicity {group.number}"
    if group.members[0] is not draft:
        return Ref(key)
    assert isinstance(draft.tree, Leaf)
    biomarker = draft.builder.biomarker(
        draft.tree.biomarker, draft.origin, draft.row.at("molecular_profile"), "molecular_profile"
    )
    if biomarker is None:
        return None
    supporting = [m for m in group.members if m.supports]
    oncogenic = any(m.row.get("evidence_type").lower() == "oncogenic" for m in supporting)
    effects = {
        _EFFECTS[m.row.get("significance").lower()]
        for m in supporting
        if m.row.get("evidence_type").lower() == "functional"
    }
    effect = effects.pop() if len(effects) == 1 else MutationEffect.UNKNOWN
    eids = ", ".join(f"EID{m.row.get('evidence_id')}" for m in supporting or group.members)
    draft.builder.records.append(
        ProposedRecord(
            RecordType.ONCOGENICITY,
            key,
            {
                "biomarker": biomarker,
                # One source's evidence makes it likely; a curator weighs it (ClinGen/CGC/VICC).
                "oncogenicity": (
                    Oncogenicity.LIKELY_ONCOGENIC if oncogenic else Oncogenicity.INCONCLUSIVE
                ).value,
                "mutation_effect": effect.value,
                "description": f"Drafted from CIViC evidence {eids}; curate before approval.",
                "citations": _group_citations(supporting),
            },
            draft.row.location,
            columns={"biomarker": draft.row.letters.get("molecular_profile", "")},
            update=False,
            create=bool(supporting),
            absent="it refutes an oncogenicity or function that neither the KB nor this file "
            "records: there is nothing to link it to",
        )
    )
    return Ref(key)


def _evidence_citations(draft: _Draft) -> list[str | Ref]:
    row, builder = draft.row, draft.builder
    citation_id = row.get("citation_id")
    if not citation_id:
        return []
    if row.get("source_type").lower() == "pubmed":
        if not citation_id.isdigit():
            draft.error("citation_id", "invalid_citation", "a PubMed id is a number", citation_id)
            return []
        return [
            builder.citation(
                CitationKind.PMID, citation_id, row.get("citation"), row.at("citation_id")
            )
        ]
    url = row.get("evidence_civic_url")
    if not url:
        draft.error(
            "evidence_civic_url",
            "missing_citation",
            "a non-PubMed source needs the CIViC evidence URL to cite",
        )
        return []
    title = f"{row.get('source_type')} {citation_id}: {row.get('citation')}".strip(": ")
    return [builder.citation(CitationKind.URL, url, title, row.at("evidence_civic_url"))]


def _assertion_row(row: _Row, options: _Options) -> SourceRow:
    draft = _Draft(row, RecordBuilder(f"row {row.number}", row.location, options.lookup))
    _read_common(
        draft, options, direction_column="assertion_direction", kind_column="assertion_type"
    )
    if draft.implication in LEVELLED:
        assert draft.implication is not None
        category = level_key(row.get("amp_category"))
        draft.source_level = row.get("amp_category") or None
        level = options.levels.assertion.get(draft.implication.value, {}).get(category)
        approved = row.get("regulatory_approval").lower() == "true"
        if approved and draft.implication is Implication.SENSITIVE:
            level = options.levels.approved.get(category, level)
        _set_level(
            draft,
            "amp_category",
            category,
            level,
            f"AMP category {row.get('amp_category') or '(none)'}",
            origin=options.levels.describe("assertion", draft.implication.value),
        )
    _read_therapies(
        draft, interaction=row.get("therapy_interaction_type"), default_combination=True
    )
    description = _join(
        row.get("assertion_summary"),
        row.get("assertion_description"),
        f"CIViC AID{row.get('assertion_id')} ({row.get('assertion_type')}, "
        f"{row.get('assertion_direction')}, {row.get('amp_category') or 'no AMP category'}, "
        f"{row.get('significance')}): {row.get('assertion_civic_url')}",
        f"ACMG/AMP criteria: {row.get('acmg_codes')}" if row.get("acmg_codes") else "",
    )

    def citations(builder: RecordBuilder) -> list[str | Ref]:
        found: list[str | Ref] = []
        guideline = row.get("nccn_guideline")
        if guideline:
            version = row.get("nccn_guideline_version")
            identifier = f"NCCN {guideline}" + (f" v{version}" if version else "")
            found.append(
                builder.citation(
                    CitationKind.GUIDELINE,
                    identifier,
                    f"NCCN Clinical Practice Guidelines in Oncology: {guideline}"
                    + (f", version {version}" if version else ""),
                    row.at("nccn_guideline"),
                )
            )
        url = row.get("assertion_civic_url")
        if url:
            found.append(
                builder.citation(
                    CitationKind.URL,
                    url,
                    f"CIViC assertion AID{row.get('assertion_id')}",
                    row.at("assertion_civic_url"),
                )
            )
        if not found:
            draft.error(
                "assertion_civic_url",
                "missing_citation",
                "the assertion has neither a guideline nor a CIViC URL to cite",
            )
        return found

    return _finish(draft, description, citations)


def _read_common(
    draft: _Draft, options: _Options, *, direction_column: str, kind_column: str
) -> None:
    unmapped = _read_profile_and_disease(draft, options, strict=False)
    _read_kind_and_direction(draft, direction_column=direction_column, kind_column=kind_column)
    row = draft.row
    if draft.implication is Implication.PREDISPOSING:
        # Predisposition is germline by definition (the assertion file has no origin column).
        draft.origin = Origin.GERMLINE
        unmapped = _as_syndrome(draft, unmapped)
    if unmapped:
        column = "doid" if row.get("doid") else "disease"
        code = "unmapped_disease" if row.get("doid") or row.get("disease") else "missing_disease"
        draft.error(column, code, unmapped, row.get(column))


def _read_profile_and_disease(
    draft: _Draft, options: _Options, *, strict: bool = True
) -> str | None:
    """The row's biomarker tree and tumour types. Not `strict` (evidence items): a disease
    with no OncoTree counterpart is returned as the reason, for the caller to weigh."""
    row = draft.row
    profile_text = row.get("molecular_profile")
    tree = _profile_tree_of(profile_text)
    if isinstance(tree, ProfileError):
        draft.error("molecular_profile", tree.code, tree.message, profile_text)
    else:
        draft.tree = tree
    derived = options.lookup.diseases if options.lookup else None
    codes = options.diseases.codes(row.get("doid"), row.get("disease"), derived)
    if isinstance(codes, str):
        column = "doid" if row.get("doid") else "disease"
        code = (
            "missing_disease"
            if not (row.get("doid") or row.get("disease"))
            else ("unmapped_disease")
        )
        if not strict:
            return codes
        draft.error(column, code, codes, row.get(column))
    else:
        known = options.lookup.tumour_codes if options.lookup else frozenset()
        unknown = [c for c in codes if known and c not in known and c not in SPECIAL_SCOPES]
        if unknown:
            draft.error(
                "doid",
                "unknown_code",
                f"the DOID mapping gives {', '.join(unknown)}, which the loaded OncoTree "
                "release lacks; correct the mapping file",
                row.get("doid"),
            )
        draft.codes = codes
    return None


@lru_cache(maxsize=16_384)
def _profile_tree_of(text: str) -> SpecTree | ProfileError:
    """A profile's tree, or why it has none; a release names each profile on many rows, and
    trees are immutable, so each is read once."""
    try:
        return profile_tree(parse_molecular_profile(text))
    except ProfileError as exc:
        return exc


def _read_kind_and_direction(draft: _Draft, *, direction_column: str, kind_column: str) -> None:
    row = draft.row
    kind = row.get(kind_column)
    direction = row.get(direction_column)
    significance = row.get("significance")
    if kind.lower() in _ONCOGENIC_TYPES:
        draft.error(
            kind_column,
            "unsupported_evidence_type",
            "an oncogenicity assertion is no assertion of the KB: import CIViC's evidence "
            "items, which propose the alteration's oncogenicity record",
            kind,
        )
    else:
        implication = _IMPLICATIONS.get((kind.lower(), significance.lower()))
        if implication is None:
            draft.error(
                "significance",
                "unsupported_significance",
                f"{kind or '(no type)'} evidence with significance {significance or '(none)'} "
                "has no implication in the KB (sensitive, resistant, diagnostic, prognostic, "
                "predisposing)",
                significance,
            )
        draft.implication = implication
        if kind.lower() != "predictive":
            draft.direction = _ASSERTION_DIRECTIONS.get(significance.lower())
        if implication is Implication.PREDISPOSING:
            draft.pathogenicity = _PATHOGENICITY.get(significance.lower())
    if direction.lower() == "does not support":
        draft.error(
            direction_column,
            "not_supported",
            "the evidence does not support the association; the KB records positive "
            "assertions only, so it is not imported",
            direction,
        )
    elif direction.lower() != "supports":
        draft.error(
            direction_column,
            "unsupported_direction",
            "expected Supports or Does Not Support",
            direction,
        )


def _set_level(
    draft: _Draft, column: str, key: str, level: str | None, what: str, *, origin: str
) -> None:
    assert draft.implication is not None
    if level:
        draft.level = level
    elif level == "":
        draft.gap = (
            f"{what} has no {draft.implication.value} level in the KB's scheme ({origin}): the "
            "assertion is proposed with the source's level for a curator to settle"
        )
    else:
        draft.error(
            column,
            "unknown_level",
            f"{what} is not in the level table for {draft.implication.value} "
            "assertions (civic_levels.toml)",
            key,
        )


def _read_therapies(
    draft: _Draft, *, interaction: str, default_combination: bool, strict: bool = True
) -> None:
    """The row's therapies as lists of drug names (one list per therapy). Not `strict`
    (evidence items): a problem blocks only the assertion, saying why."""
    row = draft.row
    if not strict:
        relaxed = _Draft(row, RecordBuilder("therapies", row.location, None))
        relaxed.implication = draft.implication
        _read_therapies(relaxed, interaction=interaction, default_combination=default_combination)
        problems = [error.message for error in relaxed.builder.errors]
        if problems:
            draft.block(problems[0])
            draft.linkable = False
        draft.therapies = relaxed.therapies
        return
    names = list(dict.fromkeys(n.strip() for n in row.get("therapies").split(",") if n.strip()))
    if not names:
        if draft.implication in (Implication.SENSITIVE, Implication.RESISTANT):
            draft.error(
                "therapies",
                "missing_therapy",
                f"a {draft.implication.value} assertion needs a therapy",
            )
        return
    kind = interaction.strip().lower()
    column = "therapy_interaction_type"
    if len(names) == 1 or kind == "combination" or (not kind and default_combination):
        draft.therapies = [names]
    elif kind == "substitutes":
        draft.therapies = [[name] for name in names]
    elif kind == "sequential":
        draft.error(
            column,
            "unsupported_therapy",
            "sequential therapies have no counterpart in the KB",
            interaction,
        )
    elif not kind:
        draft.error(
            column,
            "missing_interaction",
            "several therapies need an interaction type (Combination or Substitutes)",
            row.get("therapies"),
        )
    else:
        draft.error(
            column,
            "unsupported_therapy",
            "expected Combination, Substitutes or Sequential",
            interaction,
        )


def _finish(
    draft: _Draft, description: str, citations: Callable[[RecordBuilder], list[str | Ref]]
) -> SourceRow:
    row, builder = draft.row, draft.builder
    # Genes are checked even when the row has other errors, so one pass reports them all.
    expression = (
        builder.expression(
            draft.tree, draft.origin, row.at("molecular_profile"), "molecular_profile"
        )
        if draft.tree is not None
        else None
    )
    levelled = draft.level is not None or draft.gap is not None
    if (
        builder.errors
        or expression is None
        or draft.implication is None
        or not (levelled or draft.implication is Implication.PREDISPOSING)
    ):
        return SourceRow(row.location, errors=tuple(builder.errors))
    therapies = [builder.therapy(names, row.at("therapies")) for names in draft.therapies]
    cited = citations(builder)
    if builder.errors or expression is None:
        return SourceRow(row.location, errors=tuple(builder.errors))
    letters = row.letters
    columns = {
        "expression": letters.get("molecular_profile", ""),
        "therapy": letters.get("therapies", ""),
        "tumour_types": letters.get("doid", ""),
        "evidence_level": letters.get("evidence_level") or letters.get("amp_category", ""),
        "implication": letters.get("significance", ""),
    }
    choices: list[str | Ref | None] = [*therapies] if therapies else [None]
    for therapy in choices:
        builder.add(
            RecordType.ASSERTION,
            {
                "expression": expression,
                "therapy": therapy,
                "tumour_types": list(draft.codes),
                "excluded_tumour_types": [],
                "implication": draft.implication.value,
                "evidence_level": draft.level,
                "source_scheme": AMP_SCHEME if draft.source_level else None,
                "source_level": draft.source_level,
                "direction": draft.direction.value if draft.direction else None,
                "pathogenicity": draft.pathogenicity.value if draft.pathogenicity else None,
                "syndrome": draft.syndrome,
                "line_of_therapy": "any",
                "description": description,
                "citations": cited,
            },
            {name: letter for name, letter in columns.items() if letter},
            update=False,  # a matching curated assertion stays as it is
        )
    notes = (draft.gap,) if draft.gap else ()
    return SourceRow(row.location, records=tuple(builder.records), notes=notes)


def _join(*parts: str) -> str:
    return "\n\n".join(part.strip() for part in parts if part and part.strip())
