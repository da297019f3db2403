"""The release's GA4GH VA-Spec rendition: one statement per assertion and per oncogenicity record,
biomarkers as Cat-VRS categorical variants, built and checked with the standard's own pydantic
models (`ga4gh.va_spec` 0.4, `ga4gh.cat_vrs` 0.7, `ga4gh.vrs` 2), and a list of what could not be
expressed, each with its reason. docs/va-spec.md maps every KB field to its place.

Profiles. Sensitive and resistant assertions become AMP/ASCO/CAP 2017
`VariantTherapeuticResponseStudyStatement`s, diagnostic and prognostic ones the profile's
diagnostic and prognostic statements, predisposing ones ACMG 2015
`VariantPathogenicityStatement`s, oncogenicity records ClinGen/CGC/VICC 2022
`VariantOncogenicityStudyStatement`s. Evidence items that bear on a statement's record are its
evidence lines.

Never wider than the KB. A statement says no more than its assertion: an assertion whose
biomarker expression needs AND, NOT or a threshold, a biomarker Cat-VRS 0.7 cannot categorise
(a fusion, an expression or characteristic, a functional category such as "activating
mutations", a range restricted to one consequence), or excluded tumour types, is not expressed
rather than expressed more broadly; it is listed in `not-expressed.json` with the reason. A
disjunction of expressible biomarkers (EGFR L858R OR exon 19 ...) is one statement per
alternative: "A or B predicts X" says exactly "A predicts X" and "B predicts X", and a VA-Spec
proposition has one subject variant.

Identifiers. A statement's id is `urn:uuid:` + the uuid of its assertion (or oncogenicity
record), so a statement keeps its id across releases while its record lives; an alternative of
a split assertion takes a name-based uuid (uuid5) of the assertion's uuid and the biomarker's.
VA-Spec does not content-address statements, so no digest enters the id. Evidence lines take
their evidence item's uuid the same way. VRS computed identifiers (`ga4gh:VA.…`) digest the
reference sequence: where the KB knows no refget accession for a protein (it never does today;
it names genes, and exon maps name RefSeq transcripts, not sequence digests), the allele is given
with its coordinates and change but without an id, and listed.

Release provenance. Each statement's `reportedIn` starts with a Document for the release (VA-
Spec's "document in which the information entity is reported"), whose `kbRelease` extension
holds the KB id, release version and sequence, and the sha256 of payload/kb.json: Document has
no digest field, and the statement's `id` must not change with the release. The signed release
statement then covers the va-spec files like every other payload file.
"""

from __future__ import annotations

import gc
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kb.model.enums import ALL_LIQUID, ALL_SOLID, ALL_TUMOURS
from kb.model.exons import ExonMapError, parse_exons
from kb.model.expression import Tree
from kb.model.protein import ProteinChangeError, parse_protein_change
from kb.release.tables import SnapshotNames

Entry = Mapping[str, Any]

STATEMENTS_FILE = "va-spec/statements.jsonl"
NOT_EXPRESSED_FILE = "va-spec/not-expressed.json"
NOT_EXPRESSED_FORMAT = "kb-curator-va-spec-gaps/1"

HGNC = "https://www.genenames.org"
NCIT = "https://ncit.nci.nih.gov"
ONCOTREE = "https://oncotree.mskcc.org"
DOID = "https://disease-ontology.org"
HPO = "https://hpo.jax.org"
SEQUENCE_ONTOLOGY = "http://www.sequenceontology.org"
KB_TUMOUR_SCOPES = "https://kb-curator.dev/tumour-scopes"
OBO = "http://purl.obolibrary.org/obo/"

# The AMP/ASCO/CAP 2017 level of each OncoKB v2 level, as OncoKB aligns its levels with the
# AMP/ASCO/CAP tiers (oncokb.org/levels); R2 takes the weaker of the two it could be, so a
# statement never claims more than the assertion.
_AMP_LEVEL_OF_ONCOKB = {
    "1": "A",
    "2": "A",
    "3A": "B",
    "3B": "C",
    "4": "D",
    "R1": "A",
    "R2": "C",
}
_AMP_TIER_OF_LEVEL = {"A": "Tier I", "B": "Tier I", "C": "Tier II", "D": "Tier II"}
_AMP_SOURCE = re.compile(r"^\s*Tier\s+(I{1,2})\s*-\s*Level\s+([A-D])\s*$", re.IGNORECASE)

_ACMG = {
    "pathogenic": ("pathogenic", "supports", "definitive"),
    "likely_pathogenic": ("likely pathogenic", "supports", "likely"),
    "uncertain_significance": ("uncertain significance", "neutral", None),
    "likely_benign": ("likely benign", "disputes", "likely"),
    "benign": ("benign", "disputes", "definitive"),
}
_CCV = {
    "oncogenic": ("oncogenic", "supports", "definitive"),
    "likely_oncogenic": ("likely oncogenic", "supports", "likely"),
    "inconclusive": ("uncertain significance", "neutral", None),
}
# HPO's mode-of-inheritance terms.
_INHERITANCE = {
    "autosomal_dominant": ("HP:0000006", "Autosomal dominant inheritance"),
    "autosomal_recessive": ("HP:0000007", "Autosomal recessive inheritance"),
    "x_linked_dominant": ("HP:0001423", "X-linked dominant inheritance"),
    "x_linked_recessive": ("HP:0001419", "X-linked recessive inheritance"),
    "mitochondrial": ("HP:0001427", "Mitochondrial inheritance"),
}
# Cat-VRS copy change terms (EFO-based) for the KB's copy-number biomarkers; a KB "gain" also
# matches an amplification, and "loss" a deep deletion, as the general terms do.
_COPY_CHANGE = {
    "amplification": "high-level gain",
    "gain": "gain",
    "loss": "loss",
    "deletion": "complete genomic loss",
}
_SCOPE_NAMES = {
    ALL_TUMOURS: "All tumour types",
    ALL_SOLID: "All solid tumours",
    ALL_LIQUID: "All haematological (liquid) tumours",
}
_DOID = re.compile(r"\(?\b(DOID:\d+)\)?")
_DOI = re.compile(r"^10\.(\d+)(\.\d+)*\/[\w\-\.]+")
_URL = re.compile(r"^(https?|s?ftp)://")


@dataclass(slots=True)
class VaSpecRendition:
    """Statements as JSON-ready dicts, each as its VA-Spec model dumps it, and what could not
    be expressed, each with its reason.

    `shared` holds the parts many statements share (a variant, a therapy, a condition, a
    document ...) by `id()`: the statements' bytes take each one's JSON once."""

    statements: list[dict[str, Any]] = field(default_factory=list)
    not_expressed: list[dict[str, Any]] = field(default_factory=list)
    partial: list[dict[str, Any]] = field(default_factory=list)
    vrs_ids: list[dict[str, Any]] = field(default_factory=list)
    shared: dict[int, Any] = field(default_factory=dict)

    def statements_bytes(self) -> bytes:
        """JSON lines, one statement per line in id order, keys sorted: deterministic bytes,
        each line what `json.dumps(statement, sort_keys=True, separators=(",", ":"),
        ensure_ascii=False)` gives, with the JSON of each shared part made once."""
        collecting = gc.isenabled()
        gc.disable()  # as in the rendition: millions of small objects, no cycles
        try:
            return self._statements_bytes()
        finally:
            if collecting:
                gc.enable()

    def _statements_bytes(self) -> bytes:
        texts: dict[int, str] = {}

        def text(value: Any) -> str:
            if id(value) not in self.shared:
                return _compact(value)
            known = texts.get(id(value))
            if known is None:
                known = texts[id(value)] = _compact(value)
            return known

        lines = []
        for statement in self.statements:
            parts = []
            for key in sorted(statement):
                value = statement[key]
                if key == "proposition" and isinstance(value, dict):
                    inner = ",".join(f"{_key(name)}:{text(value[name])}" for name in sorted(value))
                    parts.append(f"{_key(key)}:{{{inner}}}")
                elif key in ("reportedIn", "hasEvidenceLines") and isinstance(value, list):
                    parts.append(f"{_key(key)}:[{','.join(map(text, value))}]")
                else:
                    parts.append(f"{_key(key)}:{text(value)}")
            lines.append(f"{{{','.join(parts)}}}")
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

    def not_expressed_bytes(self) -> bytes:
        document = {
            "format": NOT_EXPRESSED_FORMAT,
            "statements_not_expressed": self.not_expressed,
            "partially_expressed": self.partial,
            "vrs_identifiers_not_computed": self.vrs_ids,
        }
        collecting = gc.isenabled()
        gc.disable()  # json's indenting encoder is pure Python: many lists, no cycles
        try:
            text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
        finally:
            if collecting:
                gc.enable()
        return (text + "\n").encode()


class _Unexpressible(Exception):
    """Why a record (or one alternative of it) has no faithful VA-Spec form."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def va_spec_rendition(
    snapshot: Mapping[str, Any],
    *,
    release_version: str,
    release_sequence: int,
    kb_json_sha256: str,
    refget_accessions: Mapping[str, str] | None = None,
) -> VaSpecRendition:
    """The VA-Spec statements of a snapshot (its JSON form) for one release.

    `refget_accessions` maps a gene's HGNC id to the refget accession (`SQ.…`) of the protein
    sequence its protein changes are numbered on; with one, alleles get their VRS computed
    identifier. A release passes none: the KB holds no sequence digests and fetching them is
    not offline work.
    """
    # The rendition makes millions of small dicts and no reference cycles worth collecting:
    # the cyclic collector's passes over the growing heap took more than half its time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Renderer(snapshot, refget_accessions or {}).render(
            release_version=release_version,
            release_sequence=release_sequence,
            kb_json_sha256=kb_json_sha256,
        )
    finally:
        if collecting:
            gc.enable()


# `json.dumps` with these arguments, without making an encoder per call.
_compact = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


_KEYS: dict[str, str] = {}


def _key(name: str) -> str:
    known = _KEYS.get(name)
    if known is None:
        known = _KEYS[name] = json.dumps(name, ensure_ascii=False)
    return known


def _stable_id(record_uuid: str, *parts: str) -> str:
    if not parts:
        return f"urn:uuid:{record_uuid}"
    return f"urn:uuid:{uuid.uuid5(uuid.UUID(record_uuid), '|'.join(parts))}"


def _no_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", [])}


class _Renderer:
    def __init__(self, snapshot: Mapping[str, Any], refget: Mapping[str, str]) -> None:
        # Imported here: the models take a while to import, and only a release build needs them.
        from ga4gh.cat_vrs import models as catvrs
        from ga4gh.core import models as core
        from ga4gh.va_spec import aac_2017, acmg_2015, base, ccv_2022
        from ga4gh.vrs import models as vrs
        from pydantic import RootModel

        self.RootModel = RootModel

        self.core, self.catvrs, self.vrs, self.base = core, catvrs, vrs, base
        self.aac, self.acmg, self.ccv = aac_2017, acmg_2015, ccv_2022
        self.snapshot = snapshot
        self.refget = refget
        self.names = SnapshotNames(snapshot)
        records: Mapping[str, Sequence[Entry]] = snapshot.get("records") or {}
        self.entries = {rtype: {e["id"]: e for e in items} for rtype, items in records.items()}
        self.oncotree_version = str((snapshot.get("vocabularies") or {}).get("oncotree") or "")
        self.exon_maps = {
            e["fields"].get("gene"): e for e in self.entries.get("exon_map", {}).values()
        }
        self.evidence_of_assertion: dict[str, list[Entry]] = {}
        self.evidence_of_oncogenicity: dict[str, list[Entry]] = {}
        for item in sorted(self.entries.get("evidence_item", {}).values(), key=_by_id):
            for assertion in item["fields"].get("assertions") or ():
                self.evidence_of_assertion.setdefault(assertion, []).append(item)
            if item["fields"].get("oncogenicity"):
                self.evidence_of_oncogenicity.setdefault(item["fields"]["oncogenicity"], []).append(
                    item
                )
        self._variants: dict[str, Any] = {}
        self._genes: dict[str, Any] = {}
        self._therapies: dict[str, Any] = {}
        self._documents: dict[str, Any] = {}
        self._conditions: dict[tuple[str, ...], Any] = {}
        self._codings: dict[tuple[str, str], Any] = {}
        self._origins: dict[str, Any] = {}
        self._tumours: dict[str, Any] = {}
        self._inheritance: dict[str, dict[str, Any]] = {}
        self._lines: dict[str, dict[str, Any]] = {}
        self._line_shapes: dict[int, tuple[Any, ...]] = {}
        self._checked: set[tuple[Any, ...]] = set()
        # Dumps of shared parts (a variant, a therapy, a condition ...), made once: a statement
        # is dumped around them, as dumping each statement's whole tree costs most of the time.
        self._dumps: dict[int, tuple[Any, Any]] = {}
        # The guideline by reference to its publication: the packages' recommended Method
        # repeats the paper's title in every statement (0.7 kB each, 70 MB in 100,000).
        self.methods = {
            module: self.base.Method(
                name=module.METHOD.name,
                methodType=module.METHOD.methodType,
                reportedIn=self.core.iriReference(root=module.METHOD.reportedIn.id),
            )
            for module in (aac_2017, acmg_2015, ccv_2022)
        }
        self.method_dumps = {
            module: method.model_dump(mode="json", exclude_none=True)
            for module, method in self.methods.items()
        }
        self._vrs_listed: set[str] = set()
        self.result = VaSpecRendition()

    # --- the whole rendition ---------------------------------------------------------------

    def render(
        self, *, release_version: str, release_sequence: int, kb_json_sha256: str
    ) -> VaSpecRendition:
        kb_id = str(self.snapshot.get("kb_id") or "")
        self.release_document = self.base.Document(
            id=f"urn:kb-curator:release:{kb_id}:{release_sequence}",
            name=f"KB release {release_version}",
            documentType="knowledge base release",
            extensions=[
                self.core.Extension(
                    name="kbRelease",
                    value={
                        "kbId": kb_id,
                        "releaseVersion": release_version,
                        "releaseSequence": release_sequence,
                        "kbJsonSha256": kb_json_sha256,
                    },
                )
            ],
        )
        self.release_reference = self._dumped(self.release_document)
        built: list[dict[str, Any]] = []
        for entry in sorted(self.entries.get("assertion", {}).values(), key=_by_id):
            built.extend(self._assertion(entry))
        for entry in sorted(self.entries.get("oncogenicity", {}).values(), key=_by_id):
            try:
                built.append(self._oncogenicity(entry))
            except _Unexpressible as gap:
                self._not_expressed(entry, "oncogenicity", gap.reason)
        self.result.statements = sorted(built, key=lambda statement: str(statement["id"]))
        shared = [dump for _model, dump in self._dumps.values()]
        shared += [*self.method_dumps.values(), *self._lines.values()]
        self.result.shared = {id(part): part for part in shared if isinstance(part, dict | list)}
        for listing in (self.result.not_expressed, self.result.partial, self.result.vrs_ids):
            listing.sort(key=lambda item: (str(item["record"]), str(item.get("biomarker", ""))))
        return self.result

    def _dumped(self, model: Any) -> Any:
        known = self._dumps.get(id(model))
        if known is not None:
            return known[1]
        while isinstance(model, self.RootModel):
            model = model.root
        if isinstance(model, str | int | float | bool) or model is None:
            return model
        known = self._dumps.get(id(model))
        if known is None:
            known = (model, model.model_dump(mode="json", exclude_none=True))
            self._dumps[id(model)] = known
        return known[1]

    def _statement(self, model: Any, statement: dict[str, Any]) -> dict[str, Any]:
        """A statement built as its dump (`model_dump(mode="json", exclude_none=True)`): `None`
        and empty parts left out, the defaults (`type`, a profile's fixed predicate) set.
        Validating every statement with the models would cost most of a release build, so the
        first statement of each shape is validated and its dump compared with the dict: a
        builder that drifts from the models fails the build (the tests validate every
        statement)."""
        statement = _without_none(statement)
        proposition = statement["proposition"]
        shape = (
            model,
            tuple(statement),
            tuple(proposition),
            tuple(
                constraint["type"] for constraint in proposition["subjectVariant"]["constraints"]
            ),
            tuple(_part_type(proposition.get(name)) for name in _SHAPED_PROPOSITION_PARTS),
            tuple(
                self._line_shapes.get(id(line)) for line in statement.get("hasEvidenceLines", ())
            ),
        )
        if shape not in self._checked:
            checked = model.model_validate(statement).model_dump(mode="json", exclude_none=True)
            if checked != statement:
                raise AssertionError(
                    f"the VA-Spec statement {statement['id']} differs from its model's dump: "
                    f"{_compact(statement)} != {_compact(checked)}"
                )
            self._checked.add(shape)
        return statement

    def _not_expressed(self, entry: Entry, rtype: str, reason: str) -> None:
        self.result.not_expressed.append(
            {"record": entry["id"], "uuid": entry["uuid"], "type": rtype, "reason": reason}
        )

    # --- assertions ------------------------------------------------------------------------

    def _assertion(self, entry: Entry) -> list[Any]:
        fields = entry["fields"]
        try:
            if fields.get("excluded_tumour_types"):
                raise _Unexpressible(
                    "excludes tumour types ("
                    + ", ".join(fields["excluded_tumour_types"])
                    + "); a VA-Spec condition cannot exclude, and without the exclusion the "
                    "statement would claim more than the assertion"
                )
            make = self._proposition_maker(fields)
            alternatives = self._alternatives(fields.get("expression"))
        except _Unexpressible as gap:
            self._not_expressed(entry, "assertion", gap.reason)
            return []
        statements = []
        split = len(alternatives) > 1
        partial_from = len(self.result.partial)
        for biomarker_id in alternatives:
            biomarker = self.entries.get("biomarker", {}).get(biomarker_id)
            try:
                if biomarker is None:
                    raise _Unexpressible(f"biomarker {biomarker_id} is not in the release")
                variant = self._variant(biomarker)
            except _Unexpressible as gap:
                if split:
                    self.result.partial.append(
                        {
                            "record": entry["id"],
                            "uuid": entry["uuid"],
                            "type": "assertion",
                            "biomarker": biomarker_id,
                            "reason": f"the alternative {self.names.biomarker(biomarker_id)[0]} "
                            f"is not expressed: {gap.reason}",
                        }
                    )
                else:
                    self._not_expressed(entry, "assertion", gap.reason)
                continue
            assert biomarker is not None
            statement_id = (
                _stable_id(entry["uuid"], biomarker["uuid"]) if split else _stable_id(entry["uuid"])
            )
            statements.append(make(entry, statement_id, variant, biomarker))
        if split and not statements:
            reasons = self.result.partial[partial_from:]  # this assertion's, all its alternatives
            del self.result.partial[partial_from:]
            self._not_expressed(entry, "assertion", "; ".join(str(p["reason"]) for p in reasons))
        return statements

    def _alternatives(self, expression_id: str | None) -> list[str]:
        """The biomarkers an expression is a disjunction of, or why it is not one."""
        expression = self.entries.get("expression", {}).get(expression_id or "")
        if expression is None:
            raise _Unexpressible(f"its biomarker expression {expression_id} is missing")
        found: list[str] = []

        def walk(node: Tree) -> None:
            if "biomarker" in node:
                if node.get("threshold"):
                    raise _Unexpressible(
                        f"its biomarker expression ({self.names.expression(expression_id)}) "
                        f"holds a threshold ({self.names.leaf_text(node)}); Cat-VRS categorises "
                        "molecular variation, not measured values"
                    )
                found.append(str(node["biomarker"]))
                return
            if node.get("op") != "OR":
                raise _Unexpressible(
                    f"its biomarker expression ({self.names.expression(expression_id)}) "
                    f"combines biomarkers with {node.get('op')}; a VA-Spec proposition has one "
                    "subject variant and Cat-VRS 0.7 has no AND or NOT of variants"
                )
            for child in node.get("args") or ():
                walk(child)

        walk(expression["fields"]["tree"])
        return list(dict.fromkeys(found))

    def _proposition_maker(self, fields: Mapping[str, Any]) -> Any:
        implication = fields.get("implication")
        if implication in ("sensitive", "resistant"):
            if not fields.get("therapy"):
                raise _Unexpressible(f"a {implication} assertion without a therapy")
            classification, strength = self._amp(fields)
            therapy = self._therapy(fields["therapy"])
            condition = self._condition(fields.get("tumour_types") or [])
            predicate = (
                "predictsSensitivityTo" if implication == "sensitive" else "predictsResistanceTo"
            )

            def therapeutic(entry: Entry, sid: str, variant: Any, biomarker: Entry) -> Any:
                proposition = {
                    "type": "VariantTherapeuticResponseProposition",
                    "subjectVariant": self._dumped(variant),
                    "predicate": predicate,
                    "objectTherapeutic": self._dumped(therapy),
                    "conditionQualifier": self._dumped(condition),
                    **self._qualifiers(biomarker),
                }
                return self._statement(
                    self.aac.VariantTherapeuticResponseStudyStatement,
                    {
                        "proposition": proposition,
                        "classification": classification,
                        "strength": strength,
                        "specifiedBy": self.method_dumps[self.aac],
                        **self._statement_common(entry, sid, "supports"),
                    },
                )

            return therapeutic
        if implication in ("diagnostic", "prognostic"):
            direction = fields.get("direction")
            predicates = {
                "supports_diagnosis": "isDiagnosticInclusionCriterionFor",
                "excludes_diagnosis": "isDiagnosticExclusionCriterionFor",
                "better_outcome": "associatedWithBetterOutcomeFor",
                "poorer_outcome": "associatedWithWorseOutcomeFor",
            }
            if direction not in predicates:
                raise _Unexpressible(f"a {implication} assertion without its direction")
            classification, strength = self._amp(fields)
            condition = self._condition(fields.get("tumour_types") or [])
            proposition_type, statement_class = (
                ("VariantDiagnosticProposition", self.aac.VariantDiagnosticStudyStatement)
                if implication == "diagnostic"
                else ("VariantPrognosticProposition", self.aac.VariantPrognosticStudyStatement)
            )

            def clinical(entry: Entry, sid: str, variant: Any, biomarker: Entry) -> Any:
                proposition = {
                    "type": proposition_type,
                    "subjectVariant": self._dumped(variant),
                    "predicate": predicates[str(direction)],
                    "objectCondition": self._dumped(condition),
                    **self._qualifiers(biomarker),
                }
                return self._statement(
                    statement_class,
                    {
                        "proposition": proposition,
                        "classification": classification,
                        "strength": strength,
                        "specifiedBy": self.method_dumps[self.aac],
                        **self._statement_common(entry, sid, "supports"),
                    },
                )

            return clinical
        if implication == "predisposing":
            acmg = _ACMG.get(str(fields.get("pathogenicity") or ""))
            if acmg is None:
                raise _Unexpressible(
                    "a predisposing assertion without an ACMG/AMP pathogenicity class"
                )
            code, direction, strength_code = acmg
            condition = (
                self._syndrome(str(fields["syndrome"]))
                if fields.get("syndrome")
                else self._condition(fields.get("tumour_types") or [])
            )
            inheritance = self._mode_of_inheritance(str(fields.get("inheritance") or ""))
            system = self.acmg.SYSTEM.value

            def pathogenicity(entry: Entry, sid: str, variant: Any, biomarker: Entry) -> Any:
                proposition = {
                    "type": "VariantPathogenicityProposition",
                    "subjectVariant": self._dumped(variant),
                    "predicate": "isCausalFor",
                    "objectCondition": self._dumped(condition),
                    "modeOfInheritanceQualifier": inheritance,
                    **self._qualifiers(biomarker),
                }
                return self._statement(
                    self.acmg.VariantPathogenicityStatement,
                    {
                        "proposition": _without_none(proposition),
                        "classification": self._dumped(self._coded(system, code)),
                        "strength": (
                            self._dumped(self._coded(system, strength_code))
                            if strength_code
                            else None
                        ),
                        "specifiedBy": self.method_dumps[self.acmg],
                        **self._statement_common(entry, sid, direction),
                    },
                )

            return pathogenicity
        raise _Unexpressible(f"implication {implication!r} has no VA-Spec profile")

    def _amp(self, fields: Mapping[str, Any]) -> tuple[Any, Any]:
        """The AMP/ASCO/CAP tier and level of an assertion: from the source if it levelled the
        assertion in AMP/ASCO/CAP tiers, else from the KB's OncoKB level."""
        level: str | None = None
        source = _AMP_SOURCE.match(str(fields.get("source_level") or ""))
        if source and "amp" in str(fields.get("source_scheme") or "").lower():
            level = source.group(2).upper()
        elif fields.get("evidence_level") and "oncokb" in str(fields.get("level_scheme")).lower():
            level = _AMP_LEVEL_OF_ONCOKB.get(str(fields["evidence_level"]))
        if level is None:
            shown = " ".join(
                str(fields.get(key) or "") for key in ("source_scheme", "source_level")
            ).strip()
            raise _Unexpressible(
                "no AMP/ASCO/CAP tier can be given (KB level "
                f"{fields.get('evidence_level') or 'none'} in {fields.get('level_scheme')!r}"
                + (f", source level {shown}" if shown else "")
                + "); the AMP/ASCO/CAP profile requires a classification"
            )
        system = self.aac.SYSTEM.value
        return (
            self._dumped(self._coded(system, _AMP_TIER_OF_LEVEL[level])),
            self._dumped(self._coded(system, f"Level {level}")),
        )

    def _mode_of_inheritance(self, inheritance: str) -> dict[str, Any] | None:
        term = _INHERITANCE.get(inheritance)
        if term is None:
            return None
        known = self._inheritance.get(inheritance)
        if known is None:
            known = self._dumped(
                self._concept("Mode of inheritance", term[1], HPO, term[0], obo=True)
            )
            self._inheritance[inheritance] = known
        return known

    def _statement_common(self, entry: Entry, statement_id: str, direction: str) -> dict[str, Any]:
        fields = entry["fields"]
        extension = _no_none(
            {
                "record": entry["id"],
                "uuid": entry["uuid"],
                "biomarkerExpression": self.names.expression(fields.get("expression")),
                "evidenceLevel": fields.get("evidence_level"),
                "levelScheme": fields.get("level_scheme") if fields.get("evidence_level") else None,
                "sourceScheme": fields.get("source_scheme"),
                "sourceLevel": fields.get("source_level"),
                "lineOfTherapy": fields.get("line_of_therapy"),
                "specimen": fields.get("specimen"),
                "companionDiagnostic": fields.get("cdx"),
                "confirmatoryTest": fields.get("confirmatory_test"),
                "tumourTypes": list(fields.get("tumour_types") or []),
            }
        )
        return {
            "type": "Statement",
            "id": statement_id,
            "description": fields.get("description") or None,
            "direction": direction,
            "reportedIn": [self.release_reference, *self._citations(fields.get("citations"))],
            "hasEvidenceLines": self._evidence_lines(
                self.evidence_of_assertion.get(entry["id"], ())
            )
            or None,
            "extensions": [{"name": "kbAssertion", "value": extension}],
        }

    def _qualifiers(self, biomarker: Entry) -> dict[str, Any]:
        fields = biomarker["fields"]
        qualifiers: dict[str, Any] = {}
        if fields.get("gene"):
            qualifiers["geneContextQualifier"] = self._dumped(self._gene(fields["gene"]))
        origin = fields.get("origin")
        if origin in ("somatic", "germline"):
            known = self._origins.get(origin)
            if known is None:
                known = self.core.MappableConcept(conceptType="AlleleOrigin", name=origin)
                known = self._dumped(known)
                self._origins[origin] = known
            qualifiers["alleleOriginQualifier"] = known
        return qualifiers

    # --- oncogenicity ----------------------------------------------------------------------

    def _oncogenicity(self, entry: Entry) -> Any:
        fields = entry["fields"]
        ccv = _CCV.get(str(fields.get("oncogenicity")))
        if ccv is None:
            raise _Unexpressible(
                f"oncogenicity {fields.get('oncogenicity')!r} has no ClinGen/CGC/VICC 2022 class "
                "(the CCV classes are oncogenic, likely oncogenic, uncertain significance, likely "
                "benign and benign; 'likely neutral' does not claim benign)"
            )
        biomarker = self.entries.get("biomarker", {}).get(fields.get("biomarker") or "")
        if biomarker is None:
            raise _Unexpressible(f"biomarker {fields.get('biomarker')} is not in the release")
        variant = self._variant(biomarker)
        code, direction, strength = ccv
        proposition = {
            "type": "VariantOncogenicityProposition",
            "subjectVariant": self._dumped(variant),
            "predicate": "isOncogenicFor",
            "objectTumorType": self._dumped(self._condition([ALL_TUMOURS])),
            **self._qualifiers(biomarker),
        }
        system = self.ccv.SYSTEM.value
        return self._statement(
            self.ccv.VariantOncogenicityStudyStatement,
            {
                "type": "Statement",
                "id": _stable_id(entry["uuid"]),
                "proposition": proposition,
                "direction": direction,
                "classification": self._dumped(self._coded(system, code)),
                "strength": self._dumped(self._coded(system, strength)) if strength else None,
                "specifiedBy": self.method_dumps[self.ccv],
                "description": fields.get("description") or None,
                "reportedIn": [self.release_reference, *self._citations(fields.get("citations"))],
                "hasEvidenceLines": self._evidence_lines(
                    self.evidence_of_oncogenicity.get(entry["id"], ())
                )
                or None,
                "extensions": [
                    {
                        "name": "kbOncogenicity",
                        "value": _no_none(
                            {
                                "record": entry["id"],
                                "uuid": entry["uuid"],
                                "oncogenicity": fields.get("oncogenicity"),
                                "mutationEffect": fields.get("mutation_effect"),
                            }
                        ),
                        "description": "the KB oncogenicity record this statement renders; the "
                        "record holds across tumour types",
                    }
                ],
            },
        )

    # --- evidence --------------------------------------------------------------------------

    def _evidence_lines(self, items: Iterable[Entry]) -> list[Any]:
        lines = []
        for item in items:
            line = self._lines.get(item["id"])
            if line is None:
                line = self._evidence_line(item)
                self._lines[item["id"]] = line
                self._line_shapes[id(line)] = (
                    tuple(line),
                    tuple(line["strengthOfEvidenceProvided"]),
                    tuple(map(_part_type, line.get("reportedIn", ()))),
                )
            lines.append(line)
        return lines

    def _evidence_line(self, item: Entry) -> dict[str, Any]:
        """An evidence item's line, built as its dump (checked with its statement's shape)."""
        fields = item["fields"]
        source, level = str(fields.get("source") or ""), fields.get("source_level")
        direction = "supports" if fields.get("direction") == "supports" else "disputes"
        strength = (
            {
                "conceptType": "Evidence strength",
                "name": f"{source} level {level}",
                "primaryCoding": {"system": source, "code": str(level)},
            }
            if level
            else {"conceptType": "Evidence strength", "name": f"not levelled by {source}"}
        )
        url = fields.get("url")
        reference = url if url and _URL.match(str(url)) else f"{source}:{fields['source_id']}"
        line = {
            "type": "EvidenceLine",
            "id": _stable_id(item["uuid"]),
            "description": fields.get("description") or None,
            "directionOfEvidenceProvided": direction,
            "strengthOfEvidenceProvided": strength,
            "hasEvidenceItems": [reference],
            "reportedIn": self._citations(fields.get("citations")) or None,
            "extensions": [
                {
                    "name": "kbEvidenceItem",
                    "value": _no_none(
                        {
                            "record": item["id"],
                            "uuid": item["uuid"],
                            "source": source,
                            "sourceId": fields.get("source_id"),
                            "evidenceType": fields.get("evidence_type"),
                            "significance": fields.get("significance"),
                            "rating": fields.get("rating"),
                            "status": fields.get("status"),
                            "disease": fields.get("disease"),
                            "tumourTypes": list(fields.get("tumour_types") or []),
                        }
                    ),
                }
            ],
        }
        return _without_none(line)

    def _citations(self, ids: Iterable[str] | None) -> list[Any]:
        documents = []
        for citation_id in ids or ():
            known = self._documents.get(citation_id)
            if known is None:
                entry = self.entries.get("citation", {}).get(citation_id)
                if entry is None:
                    continue
                known = self._dumped(self._document(entry))
                self._documents[citation_id] = known
            documents.append(known)
        return documents

    def _document(self, entry: Entry) -> Any:
        fields = entry["fields"]
        kind, identifier = str(fields["kind"]), str(fields["identifier"])
        urls = [fields["url"]] if fields.get("url") and _URL.match(str(fields["url"])) else []
        extra: dict[str, Any] = {}
        if kind == "pmid" and identifier.isdigit():
            extra["pmid"] = identifier
            urls = urls or [f"https://pubmed.ncbi.nlm.nih.gov/{identifier}/"]
        elif kind == "doi" and _DOI.fullmatch(identifier):
            extra["doi"] = identifier
            urls = urls or [f"https://doi.org/{identifier}"]
        return self.base.Document(
            id=f"{kind}:{identifier}" if kind in ("pmid", "doi") else _stable_id(entry["uuid"]),
            name=identifier,
            title=fields.get("title") or None,
            documentType=kind,
            urls=urls or None,
            **extra,
        )

    # --- concepts --------------------------------------------------------------------------

    def _coded(self, system: str, code: str) -> Any:
        known = self._codings.get((system, code))
        if known is None:
            known = self.core.MappableConcept(
                primaryCoding=self.core.Coding(system=system, code=code), name=code
            )
            self._codings[system, code] = known
        return known

    def _concept(
        self,
        concept_type: str,
        name: str,
        system: str | None,
        code: str | None,
        *,
        obo: bool = False,
        version: str | None = None,
    ) -> Any:
        coding = None
        if system and code:
            iris = [f"{OBO}{code.replace(':', '_')}"] if obo else None
            coding = self.core.Coding(
                system=system, code=code, name=name, systemVersion=version or None, iris=iris
            )
        return self.core.MappableConcept(conceptType=concept_type, name=name, primaryCoding=coding)

    def _gene(self, gene_id: str) -> Any:
        known = self._genes.get(gene_id)
        if known is None:
            fields = (self.entries.get("gene", {}).get(gene_id) or {}).get("fields") or {}
            known = self._concept(
                "Gene", str(fields.get("symbol") or gene_id), HGNC, fields.get("hgnc_id")
            )
            self._genes[gene_id] = known
        return known

    def _therapy(self, therapy_id: str) -> Any:
        known = self._therapies.get(therapy_id)
        if known is None:
            therapy = self.entries.get("therapy", {}).get(therapy_id)
            if therapy is None:
                raise _Unexpressible(f"therapy {therapy_id} is not in the release")
            drugs = []
            for drug_id in therapy["fields"].get("drugs") or ():
                drug = (self.entries.get("drug", {}).get(drug_id) or {}).get("fields") or {}
                code = drug.get("ncit_code")
                drugs.append(
                    self._concept(
                        "Drug",
                        str(drug.get("name") or drug_id),
                        NCIT if code else None,
                        code,
                        obo=False,
                    )
                )
            if len(drugs) == 1:
                known = drugs[0]
            elif drugs:
                known = self.base.TherapyGroup(
                    id=_stable_id(therapy["uuid"]),
                    therapies=drugs,
                    membershipOperator="AND",
                    extensions=[
                        self.core.Extension(name="name", value=str(therapy["fields"]["name"]))
                    ],
                )
            else:
                raise _Unexpressible(f"therapy {therapy_id} names no drug")
            self._therapies[therapy_id] = known
        return known

    def _condition(self, codes: Sequence[str]) -> Any:
        key = tuple(codes)
        known = self._conditions.get(key)
        if known is None:
            known = self._new_condition(key)
            self._conditions[key] = known
        return known

    def _new_condition(self, codes: Sequence[str]) -> Any:
        concepts = []
        for code in codes:
            if code in _SCOPE_NAMES:
                concepts.append(
                    self._concept("Disease", _SCOPE_NAMES[code], KB_TUMOUR_SCOPES, code)
                )
            else:
                concepts.append(self._tumour(code))
        if not concepts:
            raise _Unexpressible("no tumour type")
        if len(concepts) == 1:
            return concepts[0]
        return self.base.ConditionSet(conditions=concepts, membershipOperator="OR")

    def _tumour(self, code: str) -> Any:
        known = self._tumours.get(code)
        if known is None:
            known = self._concept(
                "Disease",
                self.names.tumour_names.get(code, code),
                ONCOTREE,
                code,
                version=self.oncotree_version,
            )
            self._tumours[code] = known
        return known

    def _syndrome(self, text: str) -> Any:
        found = _DOID.search(text)
        name = _DOID.sub("", text).strip() or text
        return self._concept(
            "Disease", name, DOID if found else None, found.group(1) if found else None, obo=True
        )

    # --- biomarkers as Cat-VRS categorical variants ----------------------------------------

    def _variant(self, biomarker: Entry) -> Any:
        known = self._variants.get(biomarker["id"])
        if isinstance(known, _Unexpressible):
            raise known
        if known is None:
            try:
                known = self._categorical_variant(biomarker)
            except _Unexpressible as gap:
                self._variants[biomarker["id"]] = gap
                raise
            self._variants[biomarker["id"]] = known
        return known

    def _categorical_variant(self, biomarker: Entry) -> Any:
        fields = biomarker["fields"]
        kind = fields.get("kind")
        name = self.names.biomarker(biomarker["id"])[0]
        catvrs = self.catvrs
        constraints: list[Any] = []
        if kind == "sequence_variant":
            constraints.append(self._allele_constraint(biomarker, name))
        elif kind == "range":
            constraints.append(self._location_constraint(biomarker))
        elif kind == "copy_number":
            change = _COPY_CHANGE.get(str(fields.get("copy_number")))
            if change is None:
                raise _Unexpressible(
                    f"copy number {fields.get('copy_number')!r} has no Cat-VRS term"
                )
            constraints.append(catvrs.CopyChangeConstraint(copyChange=change))
        else:
            raise _Unexpressible(_KIND_REASONS.get(str(kind), f"a {kind} biomarker"))
        if not fields.get("gene"):
            raise _Unexpressible(f"{name} names no gene")
        constraints.append(
            catvrs.FeatureContextConstraint(featureContext=self._gene(fields["gene"]))
        )
        return catvrs.CategoricalVariant(
            id=_stable_id(biomarker["uuid"]),
            name=name,
            constraints=constraints,
            extensions=[
                self.core.Extension(
                    name="kbBiomarker",
                    value=_no_none(
                        {
                            "record": biomarker["id"],
                            "uuid": biomarker["uuid"],
                            "kind": kind,
                            "origin": fields.get("origin"),
                        }
                    ),
                )
            ],
        )

    def _allele_constraint(self, biomarker: Entry, name: str) -> Any:
        fields = biomarker["fields"]
        text = fields.get("protein_change")
        if not text and not fields.get("dna_change") and fields.get("dbsnp_id"):
            # A dbSNP mapping on a categorical variant whose only constraint is its gene would
            # read, to anyone not resolving the mapping, as every variant of the gene: wider
            # than the KB. Listed instead, as a DNA-only change is.
            raise _Unexpressible(
                f"{name} is given only as its dbSNP id ({fields['dbsnp_id']}); a Cat-VRS allele "
                "needs the reference sequence, position and new base that the id stands for, "
                "which the KB does not hold (resolving it needs dbSNP or a variant normaliser)"
            )
        if not text:
            raise _Unexpressible(
                f"{name} is given only as a DNA change ({fields.get('dna_change')}); placing it "
                "needs its reference sequence"
            )
        try:
            change = parse_protein_change(str(text))
        except ProteinChangeError as exc:
            raise _Unexpressible(f"its protein change does not parse: {exc}") from None
        if change.kind not in ("missense", "nonsense") or change.end_pos is not None:
            raise _Unexpressible(
                f"{change.hgvs} is a {change.kind}; only single-residue substitutions have a "
                "literal VRS allele state here"
            )
        vrs = self.vrs
        gene = self.entries.get("gene", {}).get(fields.get("gene") or "") or {}
        hgnc_id = str((gene.get("fields") or {}).get("hgnc_id") or "")
        accession = self.refget.get(hgnc_id)
        location = vrs.SequenceLocation(
            start=change.start_pos - 1,  # VRS counts in inter-residue coordinates
            end=change.start_pos,
            sequenceReference=(
                vrs.SequenceReference(refgetAccession=accession, residueAlphabet="aa")
                if accession
                else None
            ),
        )
        allele = vrs.Allele(
            location=location,
            state=vrs.LiteralSequenceExpression(sequence=change.short[-1]),
            name=f"{name} ({change.hgvs})",
        )
        if accession:
            allele.id = allele.get_or_create_ga4gh_identifier()
            allele.location.id = allele.location.get_or_create_ga4gh_identifier()
        elif biomarker["id"] not in self._vrs_listed:
            self._vrs_listed.add(biomarker["id"])
            transcript = ((self.exon_maps.get(fields.get("gene")) or {}).get("fields") or {}).get(
                "transcript"
            )
            self.result.vrs_ids.append(
                {
                    "record": biomarker["id"],
                    "uuid": biomarker["uuid"],
                    "biomarker": name,
                    "protein_change": change.hgvs,
                    "reason": "no refget accession for the protein sequence it is numbered on: "
                    "a VRS identifier digests that sequence, which the KB does not hold"
                    + (
                        f" (its exon map names RefSeq transcript {transcript}, an accession, "
                        "not a sequence digest)"
                        if transcript
                        else ""
                    )
                    + "; computing one needs SeqRepo or a refget server, so the allele is given "
                    "with its residue coordinates and new residue but without a sequence "
                    "reference or id",
                }
            )
        relation = self.core.MappableConcept(
            primaryCoding=self.core.Coding(system=SEQUENCE_ONTOLOGY, code="translation_of")
        )
        return self.catvrs.DefiningAlleleConstraint(allele=allele, relations=[relation])

    def _location_constraint(self, biomarker: Entry) -> Any:
        fields = biomarker["fields"]
        name = self.names.biomarker(biomarker["id"])[0]
        consequence = fields.get("consequence") or "any"
        if consequence != "any":
            raise _Unexpressible(
                f"{name} is restricted to one consequence ({consequence.replace('_', ' ')}); "
                "Cat-VRS 0.7 has no consequence constraint, and the location alone would take in "
                "every variant there"
            )
        if fields.get("exon") is not None:
            exon_map = self.exon_maps.get(fields.get("gene"))
            if exon_map is None:
                raise _Unexpressible(f"{name}: the KB has no exon map for its gene")
            try:
                exons = {e.number: e for e in parse_exons(exon_map["fields"].get("exons") or ())}
            except ExonMapError as exc:
                raise _Unexpressible(f"{name}: its gene's exon map does not parse: {exc}") from None
            exon = exons.get(int(fields["exon"]))
            if exon is None:
                raise _Unexpressible(f"{name}: exon {fields['exon']} is not in its exon map")
            first, last = exon.first, exon.last
        elif fields.get("codon_start") is not None:
            first = int(fields["codon_start"])
            last = int(fields.get("codon_end") or first)
        else:
            raise _Unexpressible(f"{name} spans the whole gene with any consequence")
        location = self.vrs.SequenceLocation(start=first - 1, end=last)
        return self.catvrs.DefiningLocationConstraint(
            location=location,
            relations=[
                self.core.MappableConcept(
                    primaryCoding=self.core.Coding(system=SEQUENCE_ONTOLOGY, code="translation_of")
                )
            ],
            matchCharacteristic=self.core.MappableConcept(name="is_within"),
        )


# The parts of a proposition whose kind (a concept, a set, a group) makes a statement's shape.
_SHAPED_PROPOSITION_PARTS = (
    "objectTherapeutic",
    "conditionQualifier",
    "objectCondition",
    "objectTumorType",
)


def _part_type(part: Any) -> Any:
    if not isinstance(part, dict):
        return None
    return part.get("type") or part.get("conceptType")


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


_KIND_REASONS = {
    "categorical": "a functional category of variants (e.g. activating or truncating "
    "mutations); Cat-VRS 0.7 has no constraint for a variant's function or oncogenicity",
    "fusion": "a fusion; Cat-VRS 0.7 has no categorical form for gene fusions",
    "characteristic": "a tumour characteristic (TMB, MSI, MMR, HRD), not a molecular variation",
    "expression": "an expression (protein or RNA level) biomarker, not a molecular variation",
    "methylation": "promoter methylation, not a sequence or copy-number variation",
    "wild_type": "the absence of variation (wild type); Cat-VRS cannot negate",
}


def _by_id(entry: Entry) -> str:
    return str(entry["id"])
