"""CTML import: MatchMiner clinical trial markup (JSON or YAML, one or many documents per file)
becomes a trial, its arms, and the biomarkers, thresholds and expressions of their eligibility
(DESIGN §4). A JSON file holds one document, a list of them, or several one after another (one
object a line, as MatchMiner's loaders read them).

`ctml_adapter(path)` yields one `SourceRow` per trial document, following the interface in
kb/importing/engine.py. Errors are located by the document's JSON path in `Location.column`
(e.g. ``treatment_list.step[0].arm[2].match[0].and[1].genomic.cnv_call``); in a file holding
several documents, `Location.row` is the document's number (1-based), otherwise it is empty.
Pass ``lookup=KbLookup.from_session(session)`` so that OncoTree names (which CTML uses, e.g.
"Non-Small Cell Lung Cancer") resolve to codes and genes the KB lacks are proposed with their
HGNC ids, and so that a document carrying only a protocol number finds the KB trial that has it;
without it only OncoTree codes are accepted and genes are referred to by symbol.

How a document maps, and why:

* The trial is keyed by its NCT id when it has one, and by its protocol number until then
  (the registry sync, `kb trials sync`, later finds its NCT id). The NCT id is read from
  ``nct_id``, else ``_summary.nct_number`` (where MatchMiner copies it), else ``protocol_no``
  when that is itself an NCT id (as our own export writes it); ids that disagree are reported.
  A document with only a sponsor's ``protocol_no`` (as MatchMiner's test fixtures are) is the
  trial that carries that protocol number in the KB (the trial's ``protocol_no`` field, looked
  up through `KbLookup`; with or without an NCT id), or the one ``nct_ids={"10-002":
  "NCT01234567"}`` names; failing those, ``by_protocol=True`` (``kb import --key-by-protocol``)
  makes it a new trial keyed by the number, and without it the document is refused, naming the
  protocol number and the options. A ``protocol_no`` that is not an NCT id is recorded on the
  trial, so later documents carrying only that number find it; a document giving an NCT id for
  a trial the KB knows only by its protocol number gives that trial its id.
* A directory is read file by file (`ctml_files`) into one import: record keys and errors name
  the file, and one trial described by two files is refused.
* ``long_title`` (else ``short_title`` / ``title``), ``phase`` and ``status`` are mapped when
  present and otherwise left out, so an existing trial keeps its values (a new one needs a
  status; title and phase may stay empty, "phase not given" where a person reads it).
* ``status`` (any case; underscores, hyphens and commas read as spaces): OnCore/MatchMiner and
  NCI CTRP statuses map to ClinicalTrials.gov ones: open to accrual, open, active (CTRP's word
  for open) -> RECRUITING; closed to accrual (and intervention) -> ACTIVE_NOT_RECRUITING;
  suspended, on hold, temporarily closed … -> SUSPENDED; IRB study closure, complete(d) ->
  COMPLETED; administratively complete (CTRP: ended early) -> TERMINATED; new, approved, in
  review, not yet open -> NOT_YET_RECRUITING; ClinicalTrials.gov values ("Active, not
  recruiting", RECRUITING …) are accepted as they are. Anything else ("closed" alone is one of
  them: closed to accrual, or closed for good?) is reported with the accepted spellings.
* ``phase``: I, II, III, IV in Roman or Arabic numerals, with or without "Phase"; a sub-phase is
  its phase (Ib -> PHASE1, IIa -> PHASE2); two joined by /, _, -, & or "and" (I/II, I_II, IB/II,
  1/2, Phase 1/Phase 2) -> PHASE1_PHASE2 or PHASE2_PHASE3; Early Phase 1 and Phase 0 ->
  EARLY_PHASE1; N/A, NA, Not Applicable -> NA; ClinicalTrials.gov values as they are. Anything
  else is reported: "Pilot" names no phase, and guessing one would put a wrong phase in the
  release.
* Each ``treatment_list.step[].arm[]`` becomes a trial arm (code ``arm_code``, name
  ``arm_description``). MatchMiner matches at step, arm and dose level independently, each
  closed by its own flag; the KB has arms only, so: an arm's criteria are its own ``match``
  (an arm whose ``match`` is empty never matches in MatchMiner and is not made a KB arm,
  where an arm without criteria would match everyone); a dose level with its own ``match``
  becomes an arm of its own, coded ``<arm_code> / <level_code>``, suspended by its
  ``level_suspended`` alone; a step with its own ``match`` becomes an arm coded
  ``step <step_code>``, suspended when every arm of the step is. An arm is suspended by its
  ``arm_suspended`` alone. Arms sharing an ``arm_code`` are told apart by their
  ``arm_internal_id`` (``ARM 1 #212``), as MatchMiner keys arms by it.
* A ``match`` tree of ``and`` / ``or`` / ``not`` over ``clinical`` and ``genomic`` nodes is
  split into the arm's clinical fields and its biomarker expression. Clinical criteria combine
  only under ``and`` (a list of diagnoses may be an ``or``); an ``or`` that mixes clinical and
  genomic criteria cannot be written as one arm and is reported.
* ``clinical``: ``oncotree_primary_diagnosis`` (name or code; ``!`` excludes; ``_SOLID_`` /
  ``_LIQUID_`` -> ALL_SOLID / ALL_LIQUID; exclusions alone scope the arm to ALL_TUMOURS);
  ``age_numerical`` as MatchMiner compares birth dates (">=18" and ">18" -> min_age 18,
  "<75" and "<=75" -> max_age 74, whole years);
  ``gender``; ``tmb_numerical`` (">=10" -> a TMB characteristic biomarker with a TMB threshold
  record: metric TMB, operator >=, value "10", unit mut/Mb; status "high" for >, >=, == and
  "low" for <, <=).
* ``genomic``: ``protein_change`` -> sequence variant; ``wildcard_protein_change`` ("p.G12") ->
  range at that codon (consequence from ``variant_classification``, else any, as MatchMiner
  matches any change there); ``exon`` -> range at that exon (consequence from
  ``variant_classification``, else any); ``variant_classification`` with neither -> that
  consequence anywhere in the gene
  (a range with no exon or codons, e.g. EGFR In_Frame_Del -> EGFR inframe deletion; MAF's
  Frame_Shift_Del and _Ins are both the KB's frameshift); ``variant_category`` CNV with
  ``cnv_call`` High level amplification / Homozygous deletion -> copy number (Gain and
  Heterozygous deletion are reported: the KB's gain and loss include amplification and deep
  deletion, MatchMiner's calls do not); SV (or a node naming only
  ``fusion_partner_hugo_symbol``) -> fusion in either orientation (A::B OR B::A; no partner,
  ``any_gene`` or ``intergenic``: the gene on either side with any partner); Mutation -> categorical
  oncogenic mutations; Any Variation -> oncogenic mutations OR amplification OR deletion OR
  fusion; ``mmr_status`` / ``ms_status`` -> MMR / MSI characteristic biomarkers;
  ``apobec_signature``, ``pole_signature``, ``tobacco_signature``, ``temozolomide_signature``,
  ``uva_signature`` ("Yes" / "No") -> signature characteristics, positive / negative. ``!``
  negations inside genomic values are reported (they mean "a variant of this gene other than
  …", which the KB cannot express).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from kb.importing.civic import (
    BiomarkerSpec,
    KbLookup,
    Leaf,
    Node,
    RecordBuilder,
    SpecTree,
    ThresholdSpec,
    combine,
)
from kb.importing.documents import NoAliasLoader, read_text, yaml_failure
from kb.importing.model import ImportError_, Location, SourceError, SourceRow
from kb.model.enums import (
    ALL_LIQUID,
    ALL_SOLID,
    ALL_TUMOURS,
    SIGNATURES,
    BiomarkerKind,
    Category,
    Characteristic,
    Consequence,
    CopyNumberType,
    Operator,
    Origin,
    RecordType,
    Sex,
    TrialPhase,
    TrialStatus,
)
from kb.model.expression import MAX_DEPTH
from kb.model.metrics import Metric
from kb.model.orm import PROTOCOL_NO_LENGTH
from kb.model.protein import ProteinChangeError, parse_protein_change

__all__ = ["ctml_adapter", "read_documents"]

_MAX_DOCUMENTS = 10_000
_CTML_SUFFIXES = (".json", ".jsonl", ".ndjson", ".yaml", ".yml")
_NCT = re.compile(r"^NCT[0-9]{8}$")
_COMPARATOR = re.compile(r"^\s*(>=|<=|==|=|>|<)?\s*([0-9]+(?:\.[0-9]+)?)\s*$")


# --- reading documents ------------------------------------------------------------------------


def read_documents(path: Path) -> tuple[str, list[Any]]:
    """The file's name and its documents (JSON: an object or a list of objects; YAML: one or
    more documents, each an object or a list). Raises SourceError for an unreadable file."""
    name = path.name
    text = read_text(path, what="a CTML text file")
    suffix = path.suffix.lower()
    as_json = suffix == ".json" or (
        suffix not in (".yaml", ".yml") and text.lstrip().startswith(("{", "["))
    )
    documents: list[Any] = []
    if as_json:
        try:
            values = _json_values(text)
        except json.JSONDecodeError as exc:
            raise _fail(
                name,
                "bad_json",
                f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            ) from None
        except RecursionError:
            raise _fail(name, "too_deep", "the JSON is nested too deeply") from None
        for loaded in values:
            documents.extend(loaded if isinstance(loaded, list) else [loaded])
    else:
        try:
            for loaded in yaml.load_all(text, Loader=NoAliasLoader):
                if loaded is None:
                    continue  # an empty document (e.g. a trailing "---")
                documents.extend(loaded if isinstance(loaded, list) else [loaded])
                if len(documents) > _MAX_DOCUMENTS:
                    break
        except yaml.YAMLError as exc:
            raise yaml_failure(name, exc) from None
        except RecursionError:
            raise _fail(name, "too_deep", "the YAML is nested too deeply") from None
    if not documents:
        raise _fail(name, "empty_file", "the file holds no CTML document")
    if len(documents) > _MAX_DOCUMENTS:
        raise _fail(name, "too_many_documents", f"more than {_MAX_DOCUMENTS} documents")
    return name, documents


def _json_values(text: str) -> list[Any]:
    """The JSON values of `text`: one, or several one after another (one object a line, as
    MatchMiner's loaders and mongoimport read them). Raises json.JSONDecodeError."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    end, size = 0, len(text)
    while True:
        while end < size and text[end] in " \t\r\n":
            end += 1
        if end == size and values:
            return values
        value, end = decoder.raw_decode(text, end)
        values.append(value)
        if len(values) > _MAX_DOCUMENTS:
            return values


def _fail(file: str, code: str, message: str) -> SourceError:
    return SourceError(ImportError_(Location(file), None, code, message))


# --- the adapter ------------------------------------------------------------------------------


def ctml_adapter(
    path: Path,
    *,
    lookup: KbLookup | None = None,
    nct_ids: Mapping[str, str] | None = None,
    nct_id: str | None = None,
    by_protocol: bool = False,
) -> Iterator[SourceRow]:
    """Read a CTML file, or a directory of them: one SourceRow per trial document.

    `nct_ids` maps a document's ``protocol_no`` to the NCT id to use when the document has no
    NCT id of its own; it is consulted before the KB trials' protocol numbers in `lookup`.
    `nct_id` is the NCT id of a file's only document when it names none (MatchMiner's loader
    fixtures name a trial by nothing but their file name). With `by_protocol`, a document that
    has no NCT id from any of these is keyed by its ``protocol_no`` (a new trial without an NCT
    id, which the registry sync later gives one); without it such a document is refused.

    A directory is read file by file (`ctml_files`: its .json, .jsonl, .ndjson, .yaml and .yml
    files, by name), every error naming its file; one trial described by two files is refused.
    """
    files = ctml_files(path) if path.is_dir() else [path]
    if nct_id is not None and path.is_dir():
        raise _fail(
            path.name,
            "several_documents",
            f"{path.name} is a directory of {len(files)} file(s); one NCT id names one trial "
            "(give each document its nct_id, or key them by protocol number)",
        )
    # Read every file first: a file that cannot be read stops the whole import before anything
    # is proposed.
    read = [read_documents(file) for file in files]
    seen: dict[str, str] = {}
    for file, (read_name, documents) in zip(files, read, strict=True):
        name = file.relative_to(path).as_posix() if path.is_dir() else read_name
        many = len(documents) > 1
        if nct_id is not None and many:
            raise _fail(
                name,
                "several_documents",
                f"the file holds {len(documents)} documents; one NCT id names one trial "
                "(give protocol numbers their NCT ids instead)",
            )
        for index, document in enumerate(documents, start=1):
            mapper = _Document(
                name,
                index if many else None,
                lookup,
                nct_ids or {},
                nct_id,
                by_protocol=by_protocol,
                prefix=name if path.is_dir() else None,
            )
            row = mapper.run(document)
            key = mapper.trial_key
            where = f"document {index}" if many else "the document"
            if path.is_dir():
                where = f"{name}" + (f" document {index}" if many else "")
            if key and key in seen:
                mapper.error(
                    "nct_id" if mapper.nct_id else "protocol_no",
                    "duplicate_trial",
                    f"{seen[key]} describes {key} already",
                    key,
                )
                row = SourceRow(row.location, errors=tuple(mapper.builder.errors))
            elif key:
                seen[key] = where
            yield row


def ctml_files(directory: Path) -> list[Path]:
    """The CTML files of a directory, by name: .json, .jsonl, .ndjson, .yaml and .yml files
    directly in it (hidden files left out). Raises SourceError when there are none."""
    try:
        files = sorted(
            entry
            for entry in directory.iterdir()
            if entry.is_file()
            and not entry.name.startswith(".")
            and entry.suffix.lower() in _CTML_SUFFIXES
        )
    except OSError as exc:
        raise _fail(directory.name, "unreadable", f"the directory cannot be read: {exc}") from None
    if not files:
        raise _fail(
            directory.name,
            "empty_directory",
            "the directory holds no CTML file (" + ", ".join(_CTML_SUFFIXES) + ")",
        )
    if len(files) > _MAX_DOCUMENTS:
        raise _fail(directory.name, "too_many_documents", f"more than {_MAX_DOCUMENTS} files")
    return files


@dataclass
class _Criteria:
    """A match tree split into what a trial arm can hold."""

    tree: SpecTree | None = None
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    sex: Sex | None = None

    @property
    def clinical(self) -> bool:
        return bool(
            self.include is not None
            or self.exclude
            or self.min_age is not None
            or self.max_age is not None
            or self.sex is not None
        )

    @property
    def diagnoses_only(self) -> bool:
        return (
            self.include is not None
            and not self.exclude
            and self.tree is None
            and self.min_age is None
            and self.max_age is None
            and self.sex is None
        )


@dataclass
class _Arm:
    code: str
    name: str
    suspended: bool
    criteria: _Criteria | None
    path: str
    # The arm's therapy by name, where the document says (the kb_curator block that
    # kb.release.ctml_export writes);
    # MatchMiner CTML has no therapy field, so other documents leave the KB's value alone.
    therapy: str | None = None
    # MatchMiner's arm_internal_id (level_internal_id, step_internal_id), where given.
    internal: str | None = None


@dataclass
class _Document:
    file: str
    number: int | None
    lookup: KbLookup | None
    nct_ids: Mapping[str, str]
    given_nct_id: str | None = None
    by_protocol: bool = False
    # Record keys are unique within an import: a directory's files prefix them with their name.
    prefix: str | None = None
    nct_id: str | None = None
    # What keys the trial: its NCT id, or its protocol number until it has one.
    trial_key: str | None = None
    builder: RecordBuilder = field(init=False)

    def __post_init__(self) -> None:
        prefix = f"document {self.number}" if self.number else "document"
        if self.prefix:
            prefix = f"{self.prefix} {prefix}"
        self.builder = RecordBuilder(prefix, self.location, self.lookup)

    @property
    def location(self) -> Location:
        return Location(self.file, None, self.number, None)

    def at(self, path: str) -> Location:
        return Location(self.file, None, self.number, path or None)

    def error(self, path: str, code: str, message: str, value: Any = None) -> None:
        field_name = path.rsplit(".", 1)[-1] if path else None
        if field_name:
            field_name = re.sub(r"\[[0-9]+\]$", "", field_name)
        self.builder.error(self.at(path), field_name, code, message, _shown(value))

    # -- the document ---------------------------------------------------------------------

    def run(self, document: Any) -> SourceRow:
        if not isinstance(document, dict):
            self.error("", "not_a_document", f"a CTML document is an object, not {_kind(document)}")
            return SourceRow(self.location, errors=tuple(self.builder.errors))
        trial_fields = self._trial(document)
        arms = self._arms(document)
        if self.builder.errors or trial_fields is None:
            return SourceRow(self.location, errors=tuple(self.builder.errors))
        fields, columns, human_id = trial_fields
        trial = self.builder.add(RecordType.TRIAL, fields, columns, human_id=human_id)
        for arm in arms:
            self._propose_arm(trial, arm)
        if self.builder.errors:
            return SourceRow(self.location, errors=tuple(self.builder.errors))
        return SourceRow(self.location, records=tuple(self.builder.records))

    def _trial(
        self, document: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str], str | None] | None:
        """The trial's fields, the path each came from, and the human id of the KB trial it is
        when the engine cannot tell by its key (a KB trial keyed by this protocol number that
        the document gives its NCT id); None if it has no usable key."""
        protocol = _scalar(document.get("protocol_no"))
        found = self._nct_id(document, protocol)
        if found is None:
            return None
        nct, path = found
        human_id: str | None = None
        known = self.lookup.protocol_trials if self.lookup else {}
        if protocol and _protocol_key(protocol) in known and nct:
            # The KB knows this trial by its protocol number only: the document gives its id.
            human_id = known[_protocol_key(protocol)]
        self.nct_id = nct
        self.trial_key = nct or protocol
        fields: dict[str, Any] = {"nct_id": nct}
        # Where each field is (or would be): a new trial lacking one gets an error located there.
        columns = {"nct_id": path, "title": "long_title", "phase": "phase", "status": "status"}
        if not nct:
            fields.pop("nct_id")  # keyed by its protocol number; an NCT id the KB has stays
        if protocol and not _NCT.match(protocol.upper()):
            if len(protocol) > PROTOCOL_NO_LENGTH:
                self.error(
                    "protocol_no",
                    "too_long",
                    f"a protocol number has at most {PROTOCOL_NO_LENGTH} characters",
                    protocol,
                )
                return None
            # Recorded on the trial, so that a later document carrying only this number finds it.
            fields["protocol_no"], columns["protocol_no"] = protocol, "protocol_no"
        for key in ("long_title", "short_title", "title"):
            title = _scalar(document.get(key))
            if title:
                fields["title"], columns["title"] = " ".join(title.split()), key
                break
        phase_text = _scalar(document.get("phase"))
        if phase_text:
            phase = _phase(phase_text)
            if phase is None:
                self.error("phase", "unknown_phase", _phase_expected(phase_text), phase_text)
            else:
                fields["phase"], columns["phase"] = phase.value, "phase"
        status_text = _scalar(document.get("status"))
        if status_text:
            status = _status(status_text)
            if status is None:
                self.error("status", "unknown_status", _STATUS_EXPECTED, status_text)
            else:
                fields["status"], columns["status"] = status.value, "status"
        # kb.release.ctml_export keeps the ClinicalTrials.gov status it had to simplify for
        # MatchMiner; reading it back makes our own export re-import without a change.
        ours = document.get("kb_curator")
        exact = _scalar(ours.get("overall_status")) if isinstance(ours, dict) else None
        if exact and exact in TrialStatus.__members__:
            fields["status"], columns["status"] = TrialStatus[exact].value, "kb_curator"
        return fields, columns, human_id

    def _nct_id(self, document: Mapping[str, Any], protocol: str | None) -> tuple[str, str] | None:
        """The document's NCT id and the path it came from ("" for a trial keyed by its
        protocol number), or None (with the error recorded).

        MatchMiner writes it as ``nct_id`` and copies it to ``_summary.nct_number``; our own
        export (and some sites) put it in ``protocol_no`` too. Failing those, the protocol
        number is looked up: in `nct_ids`, then among the KB's trials' protocol numbers (a KB
        trial keyed by it, without an NCT id, is this trial). Failing that too, `by_protocol`
        keys a new trial by the protocol number.
        """
        written: list[tuple[str, str]] = []
        own = _scalar(document.get("nct_id"))
        if own:
            written.append(("nct_id", own))
        summary = document.get("_summary")
        copied = _scalar(summary.get("nct_number")) if isinstance(summary, dict) else None
        if copied:
            written.append(("_summary.nct_number", copied))
        if protocol and _NCT.match(protocol.upper()):
            written.append(("protocol_no", protocol))
        if not written and self.given_nct_id:
            written.append(("nct_id", self.given_nct_id))
        if not written and protocol:
            known = self.lookup.trial_protocols if self.lookup else {}
            if protocol in self.nct_ids:
                written.append(("protocol_no", self.nct_ids[protocol]))
            elif _protocol_key(protocol) in known:
                kb_nct = known[_protocol_key(protocol)]
                if kb_nct is None:
                    return "", "protocol_no"  # the KB trial keyed by this number
                written.append(("protocol_no", kb_nct))
            elif self.by_protocol and not _NCT.match(protocol.upper()):
                return "", "protocol_no"
        if not written:
            self.error(
                "nct_id",
                "missing_nct_id",
                "the document has no NCT id (nct_id, or MatchMiner's _summary.nct_number)"
                + (
                    f" and no KB trial has the protocol number {protocol!r}: key the trial by "
                    "it (kb import --key-by-protocol; the registry sync later finds its NCT id), "
                    "give the file its NCT id (kb import --nct-id), or add the nct_id to the "
                    "document"
                    if protocol
                    else " and no protocol_no to key it by: add one of them to the document, or "
                    "give the file its NCT id (kb import --nct-id)"
                ),
            )
            return None
        ids: dict[str, str] = {}
        for path, text in written:
            nct = text.strip().upper()
            if not _NCT.match(nct):
                self.error(
                    path, "malformed_id", "is not an NCT id (NCT followed by 8 digits)", text
                )
                return None
            ids.setdefault(nct, path)
        if len(ids) > 1:
            where = ", ".join(f"{path} {nct}" for nct, path in ids.items())
            self.error(
                written[-1][0],
                "conflicting_ids",
                f"the document names more than one NCT id ({where}); which trial it describes "
                "is unclear",
                written[-1][1],
            )
            return None
        ((nct, path),) = ids.items()
        return nct, path

    def _arms(self, document: Mapping[str, Any]) -> list[_Arm]:
        arms: list[_Arm] = []
        treatment = document.get("treatment_list")
        if treatment is None:
            self.error(
                "treatment_list",
                "missing_field",
                "a CTML document needs a treatment_list with steps and arms",
            )
            return arms
        if not isinstance(treatment, dict):
            self.error(
                "treatment_list",
                "invalid_value",
                f"treatment_list must be an object, not {_kind(treatment)}",
            )
            return arms
        steps = self._list(treatment.get("step"), "treatment_list.step")
        for s, step in enumerate(steps):
            step_path = f"treatment_list.step[{s}]"
            if not isinstance(step, dict):
                self.error(step_path, "invalid_value", f"a step is an object, not {_kind(step)}")
                continue
            step_criteria = self._criteria(step.get("match"), f"{step_path}.match")
            arm_flags: list[bool] = []
            for a, arm in enumerate(self._list(step.get("arm"), f"{step_path}.arm")):
                arm_path = f"{step_path}.arm[{a}]"
                if not isinstance(arm, dict):
                    self.error(arm_path, "invalid_value", f"an arm is an object, not {_kind(arm)}")
                    continue
                code = _scalar(arm.get("arm_code"))
                if not code:
                    self.error(f"{arm_path}.arm_code", "missing_field", "an arm needs an arm_code")
                    continue
                # MatchMiner closes an arm by its own flag only (not when its dose levels are
                # all closed), and a dose level by its own flag only (not when its arm is).
                suspended = self._flag(arm.get("arm_suspended"), f"{arm_path}.arm_suspended")
                arm_flags.append(suspended)
                # An arm's criteria are its own `match`; it inherits nothing from its step. An
                # arm whose match is empty never matches in MatchMiner: it is not made a KB arm,
                # where an arm without criteria would match every patient.
                criteria = self._criteria(arm.get("match"), f"{arm_path}.match")
                name = _scalar(arm.get("arm_description")) or ""
                ours = arm.get("kb_curator")
                therapy = _scalar(ours.get("therapy")) if isinstance(ours, dict) else None
                internal = _scalar(arm.get("arm_internal_id"))
                if criteria is not None or therapy is not None:
                    arms.append(_Arm(code, name, suspended, criteria, arm_path, therapy, internal))
                levels = self._list(arm.get("dose_level"), f"{arm_path}.dose_level")
                for d, level in enumerate(levels):
                    level_path = f"{arm_path}.dose_level[{d}]"
                    if not isinstance(level, dict):
                        self.error(
                            level_path,
                            "invalid_value",
                            f"a dose level is an object, not {_kind(level)}",
                        )
                        continue
                    level_closed = self._flag(
                        level.get("level_suspended"), f"{level_path}.level_suspended"
                    )
                    if not level.get("match"):
                        continue
                    level_code = _scalar(level.get("level_code")) or str(d + 1)
                    arms.append(
                        _Arm(
                            f"{code} / {level_code}",
                            _scalar(level.get("level_description")) or name,
                            level_closed,
                            self._criteria(level["match"], f"{level_path}.match"),
                            level_path,
                            internal=_scalar(level.get("level_internal_id")),
                        )
                    )
            if step_criteria is not None:
                # The step's own criteria, matched on their own as MatchMiner does; a step is
                # closed only when every one of its arms is.
                step_code = _scalar(step.get("step_code")) or str(s + 1)
                arms.append(
                    _Arm(
                        f"step {step_code}",
                        _scalar(step.get("step_type")) or "",
                        bool(arm_flags) and all(arm_flags),
                        step_criteria,
                        step_path,
                        internal=_scalar(step.get("step_internal_id")),
                    )
                )
        return self._unique_codes(arms)

    def _unique_codes(self, arms: list[_Arm]) -> list[_Arm]:
        """MatchMiner keys arms by their internal id, and two arms may share an arm_code: such
        arms are told apart by their internal id in the code (``ARM 1 #212``). Arms sharing a
        code without internal ids to tell them apart are reported."""
        by_code: dict[str, list[_Arm]] = {}
        for arm in arms:
            by_code.setdefault(arm.code, []).append(arm)
        for code, same in by_code.items():
            if len(same) < 2:
                continue
            internals = [arm.internal for arm in same]
            if all(internals) and len(set(internals)) == len(internals):
                for arm in same:
                    arm.code = f"{code} #{arm.internal}"
                continue
            first = same[0]
            for arm in same[1:]:
                self.error(
                    f"{arm.path}.arm_code",
                    "duplicate_arm",
                    f"arm code {code!r} is used at {first.path} already, and arm_internal_id "
                    "does not tell them apart",
                    code,
                )
        return arms

    def _propose_arm(self, trial: Any, arm: _Arm) -> None:
        criteria = arm.criteria or _Criteria()
        expression = None
        if criteria.tree is not None:
            expression = self.builder.expression(
                criteria.tree, Origin.SOMATIC, self.at(f"{arm.path}.match"), "match"
            )
            if expression is None:
                return
        include = list(criteria.include or ())
        if criteria.exclude and not include:
            include = [ALL_TUMOURS]
        extra = {"therapy": arm.therapy} if arm.therapy else {}
        self.builder.add(
            RecordType.TRIAL_ARM,
            {
                **extra,
                "trial": trial,
                "code": arm.code,
                "name": arm.name,
                "expression": expression,
                "tumour_types": include,
                "excluded_tumour_types": list(criteria.exclude),
                "min_age": criteria.min_age,
                "max_age": criteria.max_age,
                "sex": (criteria.sex or Sex.ALL).value,
                "suspended": arm.suspended,
            },
            {
                "code": f"{arm.path}.arm_code",
                "suspended": f"{arm.path}.arm_suspended",
                "expression": f"{arm.path}.match",
                "tumour_types": f"{arm.path}.match",
                "excluded_tumour_types": f"{arm.path}.match",
            },
        )

    def _list(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, dict):
            return [value]  # a one-element list written as an object, as YAML authors do
        if not isinstance(value, list):
            self.error(path, "invalid_value", f"expected a list, not {_kind(value)}")
            return []
        return value

    def _flag(self, value: Any, path: str) -> bool:
        if value is None or value == "":
            return False
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("y", "yes", "true", "1"):
            return True
        if text in ("n", "no", "false", "0"):
            return False
        self.error(path, "invalid_value", 'expected "Y" or "N"', value)
        return False

    # -- match trees ----------------------------------------------------------------------

    def _criteria(self, match: Any, path: str) -> _Criteria | None:
        """The criteria of a `match` list (its trees joined by AND), or None if it is empty.
        A tree that cannot be mapped records its errors and yields empty criteria."""
        if match is None or match == []:
            return None
        roots = match if isinstance(match, list) else [match]
        parts: list[_Criteria] = []
        failed = False
        for i, root in enumerate(roots):
            found = self._node(root, f"{path}[{i}]" if isinstance(match, list) else path, 0)
            if found is None:
                failed = True
            else:
                parts.append(found)
        if failed:
            return _Criteria()
        return self._and(parts, path) or _Criteria()

    def _node(self, node: Any, path: str, depth: int) -> _Criteria | None:
        if depth > MAX_DEPTH:
            self.error(path, "too_deep", f"the match tree is nested deeper than {MAX_DEPTH}")
            return None
        if not isinstance(node, dict) or len(node) != 1:
            self.error(
                path,
                "invalid_node",
                "a match node is an object with one key: and, or, not, clinical or genomic",
                _shown(node),
            )
            return None
        ((key, value),) = node.items()
        key_path = f"{path}.{key}"
        match str(key).lower():
            case "and" | "or" | "not" as op:
                items = value if isinstance(value, list) else [value]
                if not items:
                    self.error(key_path, "invalid_node", f"'{op}' needs at least one criterion")
                    return None
                children = [
                    self._node(
                        item, f"{key_path}[{i}]" if isinstance(value, list) else key_path, depth + 1
                    )
                    for i, item in enumerate(items)
                ]
                if any(child is None for child in children):
                    return None
                found = [child for child in children if child is not None]
                if op == "and":
                    return self._and(found, key_path)
                if op == "or":
                    return self._or(found, key_path)
                return self._not(found, key_path)
            case "clinical":
                return self._clinical(value, key_path)
            case "genomic":
                return self._genomic(value, key_path)
        self.error(
            path,
            "invalid_node",
            f"unknown match key {key!r}; expected and, or, not, clinical or genomic",
            key,
        )
        return None

    def _and(self, parts: Sequence[_Criteria], path: str) -> _Criteria | None:
        out = _Criteria()
        trees = [part.tree for part in parts if part.tree is not None]
        out.tree = combine("AND", trees) if trees else None
        includes = [part.include for part in parts if part.include is not None]
        if len(includes) > 1 and len({frozenset(i) for i in includes}) > 1:
            self.error(
                path,
                "unrepresentable",
                "several diagnosis criteria joined by 'and'; a trial arm holds one list "
                "of tumour types (use one diagnosis, or 'or' between diagnoses)",
            )
            return None
        out.include = includes[0] if includes else None
        out.exclude = tuple(dict.fromkeys(code for part in parts for code in part.exclude))
        lows = [part.min_age for part in parts if part.min_age is not None]
        highs = [part.max_age for part in parts if part.max_age is not None]
        out.min_age = max(lows) if lows else None
        out.max_age = min(highs) if highs else None
        sexes = {part.sex for part in parts if part.sex is not None}
        if len(sexes) > 1:
            self.error(path, "unrepresentable", "conflicting gender criteria under 'and'")
            return None
        out.sex = sexes.pop() if sexes else None
        return out

    def _or(self, parts: Sequence[_Criteria], path: str) -> _Criteria | None:
        if all(not part.clinical and part.tree is not None for part in parts):
            return _Criteria(tree=combine("OR", [p.tree for p in parts if p.tree is not None]))
        # Diagnoses in an "or", each perhaps repeating the same other clinical criteria (how
        # kb.release.ctml_export writes a list of tumour types with an age limit): one list of
        # codes.
        first = parts[0]
        if all(
            part.tree is None
            and part.include is not None
            and (part.exclude, part.min_age, part.max_age, part.sex)
            == (first.exclude, first.min_age, first.max_age, first.sex)
            for part in parts
        ):
            codes = tuple(dict.fromkeys(code for part in parts for code in part.include or ()))
            return _Criteria(
                include=codes,
                exclude=first.exclude,
                min_age=first.min_age,
                max_age=first.max_age,
                sex=first.sex,
            )
        self.error(
            path,
            "unrepresentable",
            "an 'or' over clinical criteria other than diagnoses, or mixing clinical and "
            "genomic criteria, cannot be written as one trial arm; split it into arms",
        )
        return None

    def _not(self, parts: Sequence[_Criteria], path: str) -> _Criteria | None:
        if len(parts) == 1 and parts[0].tree is not None and not parts[0].clinical:
            return _Criteria(tree=Node("NOT", (parts[0].tree,)))
        if len(parts) == 1 and parts[0].diagnoses_only:
            return _Criteria(exclude=parts[0].include or ())
        self.error(
            path,
            "unrepresentable",
            "'not' applies to one genomic criterion or one list of diagnoses",
        )
        return None

    # -- clinical criteria ----------------------------------------------------------------

    def _clinical(self, value: Any, path: str) -> _Criteria | None:
        if not isinstance(value, dict) or not value:
            self.error(
                path, "invalid_node", "a clinical criterion is a non-empty object", _shown(value)
            )
            return None
        parts: list[_Criteria] = []
        ok = True
        for key, raw in value.items():
            key_path = f"{path}.{key}"
            text = _scalar(raw)
            name = str(key).lower()
            if text is None:
                self.error(key_path, "invalid_value", "expected a text value", _shown(raw))
                ok = False
                continue
            part: _Criteria | None
            if name == "oncotree_primary_diagnosis":
                part = self._diagnosis(text, key_path)
            elif name == "age_numerical":
                part = self._age(text, key_path)
            elif name == "gender":
                part = self._gender(text, key_path)
            elif name == "tmb_numerical":
                part = self._tmb(text, key_path)
            else:
                self.error(
                    key_path,
                    "unsupported_criterion",
                    f"clinical criterion {key!r} has no counterpart in the KB",
                    text,
                )
                part = None
            if part is None:
                ok = False
            else:
                parts.append(part)
        return self._and(parts, path) if ok else None

    def _diagnosis(self, text: str, path: str) -> _Criteria | None:
        negated = text.startswith("!")
        name = text[1:].strip() if negated else text.strip()
        code = self._tumour_code(name, path)
        if code is None:
            return None
        return _Criteria(exclude=(code,)) if negated else _Criteria(include=(code,))

    def _tumour_code(self, name: str, path: str) -> str | None:
        special = {"_SOLID_": ALL_SOLID, "_LIQUID_": ALL_LIQUID}
        if name.upper() in special:
            return special[name.upper()]
        lookup = self.lookup
        if lookup is None or not lookup.tumour_codes:
            if re.fullmatch(r"[A-Z0-9_/\-]+", name):
                return name  # a code; checked against OncoTree when the import is validated
            self.error(
                path,
                "vocabulary_missing",
                "OncoTree names need the OncoTree vocabulary (kb vocab load oncotree "
                "FILE); or write the OncoTree code",
                name,
            )
            return None
        codes = lookup.tumour_names.get(" ".join(name.lower().split()), ())
        if len(codes) == 1:
            return codes[0]
        if len(codes) > 1:
            self.error(
                path,
                "ambiguous_diagnosis",
                f"several OncoTree types are named {name!r} ({', '.join(codes)}); "
                "write the code instead",
                name,
            )
            return None
        if name.upper() in lookup.tumour_codes:
            return name.upper()
        self.error(
            path,
            "unknown_diagnosis",
            f"{name!r} is neither an OncoTree name nor a code in the loaded release",
            name,
        )
        return None

    def _age(self, text: str, path: str) -> _Criteria | None:
        parsed = _comparison(text)
        if parsed is None:
            self.error(path, "invalid_value", 'expected an age comparison such as ">=18"', text)
            return None
        operator, written = parsed
        number = Decimal(written)
        # As MatchMiner compares them: the birth date against the day N years ago, so ">18"
        # and ">=18" both mean an 18th birthday reached, "<18" and "<=18" both one not yet
        # reached (docs/ctml.md). The arm holds whole years, so a fraction rounds up.
        whole_years = {
            Operator.GE: ("min", math.ceil(number)),
            Operator.GT: ("min", math.ceil(number)),
            Operator.LE: ("max", math.ceil(number) - 1),
            Operator.LT: ("max", math.ceil(number) - 1),
        }
        if operator is Operator.EQ:
            return _Criteria(min_age=int(number), max_age=int(number))
        bound, years = whole_years[operator]
        if years < 0:
            self.error(path, "invalid_value", "the age bound is below zero", text)
            return None
        return _Criteria(min_age=years) if bound == "min" else _Criteria(max_age=years)

    def _gender(self, text: str, path: str) -> _Criteria | None:
        sexes = {"male": Sex.MALE, "female": Sex.FEMALE, "all": Sex.ALL, "both": Sex.ALL}
        sex = sexes.get(text.strip().lower())
        if sex is None:
            self.error(path, "invalid_value", "expected Male, Female or All", text)
            return None
        return _Criteria(sex=sex)

    def _tmb(self, text: str, path: str) -> _Criteria | None:
        negated = text.startswith("!")
        parsed = _comparison(text[1:] if negated else text)
        if parsed is None:
            self.error(path, "invalid_value", 'expected a TMB comparison such as ">=10"', text)
            return None
        operator, value = parsed
        status = "low" if operator in (Operator.LT, Operator.LE) else "high"
        leaf = Leaf(
            BiomarkerSpec(
                BiomarkerKind.CHARACTERISTIC, characteristic=Characteristic.TMB, status=status
            ),
            ThresholdSpec(Metric.TMB, operator.value, value),
        )
        return _Criteria(tree=Node("NOT", (leaf,)) if negated else leaf)

    # -- genomic criteria -----------------------------------------------------------------

    def _genomic(self, value: Any, path: str) -> _Criteria | None:
        """A genomic node: its gene/variant criterion and any MMR / MSI status, all required.
        A "!" before variant_category, ms_status or mmr_status negates that criterion (how
        MatchMiner, and kb.release.ctml_export, write NOT)."""
        if not isinstance(value, dict) or not value:
            self.error(
                path, "invalid_node", "a genomic criterion is a non-empty object", _shown(value)
            )
            return None
        fields: dict[str, str] = {}
        negated: set[str] = set()
        ok = True
        for key, raw in value.items():
            name = str(key).lower()
            text = _scalar(raw)
            if name == "display_name":
                continue  # a label for people; the other keys carry the criterion
            if name not in _GENOMIC_KEYS:
                self.error(
                    f"{path}.{key}",
                    "unsupported_criterion",
                    f"genomic criterion {key!r} has no counterpart in the KB",
                    _shown(raw),
                )
                ok = False
            elif text is None:
                self.error(f"{path}.{key}", "invalid_value", "expected a text value", _shown(raw))
                ok = False
            elif text.startswith("!") and name not in _NEGATABLE:
                self.error(
                    f"{path}.{key}",
                    "unsupported_criterion",
                    f"a negated {name} means 'a variant of this gene other than …', which the "
                    "KB cannot express; negate variant_category or use a 'not' node",
                    text,
                )
                ok = False
            else:
                if text.startswith("!"):
                    negated.add(name)
                    text = text[1:].strip()
                fields[name] = text
        if not ok:
            return None
        if not fields:
            self.error(
                path,
                "unsupported_criterion",
                "the genomic criterion has only a display_name, no criterion the KB can read",
                _shown(value.get("display_name")),
            )
            return None
        trees: list[SpecTree] = []
        for name, characteristic, statuses in (
            ("mmr_status", Characteristic.MMR, _MMR),
            ("ms_status", Characteristic.MSI, _MSI),
        ):
            if name in fields:
                status = statuses.get(fields[name].strip().lower())
                if status is None:
                    self.error(
                        f"{path}.{name}",
                        "invalid_value",
                        f"unknown {name} (expected one of {', '.join(sorted(set(statuses)))})",
                        fields[name],
                    )
                    return None
                leaf = Leaf(
                    BiomarkerSpec(
                        BiomarkerKind.CHARACTERISTIC, characteristic=characteristic, status=status
                    )
                )
                trees.append(Node("NOT", (leaf,)) if name in negated else leaf)
        for name, signature in _SIGNATURE_KEYS.items():
            if name in fields:
                present = _YES_NO.get(fields[name].strip().lower())
                if present is None:
                    self.error(
                        f"{path}.{name}", "invalid_value", 'expected "Yes" or "No"', fields[name]
                    )
                    return None
                leaf = Leaf(
                    BiomarkerSpec(
                        BiomarkerKind.CHARACTERISTIC, characteristic=signature, status=present
                    )
                )
                trees.append(Node("NOT", (leaf,)) if name in negated else leaf)
        gene_fields = set(fields) - {"mmr_status", "ms_status", "variant_category"}
        gene_fields -= set(_SIGNATURE_KEYS)
        category = _category(fields.get("variant_category", ""))
        if gene_fields or category not in ("", "signature"):
            tree = self._gene_variant(fields, path)
            if tree is None:
                return None
            trees.append(Node("NOT", (tree,)) if "variant_category" in negated else tree)
        if not trees:
            self.error(
                path,
                "invalid_node",
                "the genomic criterion names no gene, variant or signature",
                _shown(value),
            )
            return None
        return _Criteria(tree=combine("AND", trees))

    def _gene_variant(self, fields: Mapping[str, str], path: str) -> SpecTree | None:
        symbol = fields.get("hugo_symbol", "").strip().upper()
        category = _category(fields.get("variant_category", ""))
        partner = fields.get("fusion_partner_hugo_symbol", "").strip().upper()
        if category == "sv" or partner:
            return self._structural_variant(symbol, partner, path)
        if not symbol:
            self.error(
                f"{path}.hugo_symbol", "missing_field", "a gene criterion needs a hugo_symbol"
            )
            return None
        classification = fields.get("variant_classification", "").strip()
        consequence: Consequence | None = None
        if classification:
            consequence = _CLASSIFICATIONS.get(classification.lower())
            if consequence is None:
                self.error(
                    f"{path}.variant_classification",
                    "invalid_value",
                    "unknown variant classification (MAF terms such as Missense_Mutation, "
                    "In_Frame_Del, Frame_Shift_Ins)",
                    classification,
                )
                return None
        if "protein_change" in fields:
            return self._protein(
                symbol,
                fields["protein_change"],
                consequence,
                f"{path}.protein_change",
                wildcard=False,
            )
        if "wildcard_protein_change" in fields:
            return self._protein(
                symbol,
                fields["wildcard_protein_change"],
                consequence,
                f"{path}.wildcard_protein_change",
                wildcard=True,
            )
        if "exon" in fields:
            text = fields["exon"].strip()
            if not text.isdigit() or not 0 < int(text) < 1000:
                self.error(f"{path}.exon", "invalid_value", "expected an exon number", text)
                return None
            return Leaf(
                BiomarkerSpec(
                    BiomarkerKind.RANGE,
                    symbol,
                    exon=int(text),
                    consequence=consequence or Consequence.ANY,
                )
            )
        if "cnv_call" in fields or category == "cnv":
            call = " ".join(fields.get("cnv_call", "").lower().split())
            copy_number = _CNV_CALLS.get(call)
            if copy_number is None:
                self.error(
                    f"{path}.cnv_call",
                    "unrepresentable",
                    "the KB reads High level amplification and Homozygous deletion; "
                    f"{fields.get('cnv_call') or 'a CNV without cnv_call'!r} has no KB kind "
                    "that means the same (the KB's gain and loss include amplification and "
                    "deep deletion)",
                    fields.get("cnv_call"),
                )
                return None
            return Leaf(BiomarkerSpec(BiomarkerKind.COPY_NUMBER, symbol, copy_number=copy_number))
        if consequence is not None:
            # That consequence anywhere in the gene: a range with no exon or codons.
            return Leaf(BiomarkerSpec(BiomarkerKind.RANGE, symbol, consequence=consequence))
        if category in ("mutation", ""):
            return Leaf(
                BiomarkerSpec(
                    BiomarkerKind.CATEGORICAL, symbol, category=Category.ONCOGENIC_MUTATIONS
                )
            )
        if category == "any variation":
            return combine(
                "OR",
                [
                    Leaf(
                        BiomarkerSpec(
                            BiomarkerKind.CATEGORICAL, symbol, category=Category.ONCOGENIC_MUTATIONS
                        )
                    ),
                    Leaf(
                        BiomarkerSpec(
                            BiomarkerKind.COPY_NUMBER,
                            symbol,
                            copy_number=CopyNumberType.AMPLIFICATION,
                        )
                    ),
                    Leaf(
                        BiomarkerSpec(
                            BiomarkerKind.COPY_NUMBER, symbol, copy_number=CopyNumberType.DELETION
                        )
                    ),
                    _either_orientation(symbol, None),
                ],
            )
        self.error(
            f"{path}.variant_category",
            "invalid_value",
            "expected Mutation, CNV, SV, Any Variation or Signature",
            fields.get("variant_category"),
        )
        return None

    def _structural_variant(self, symbol: str, partner: str, path: str) -> SpecTree | None:
        """A structural variant between `symbol` and `partner`, in either orientation (CTML
        names no 5' or 3' side). ``any_gene`` or no partner: any partner; ``intergenic``: the
        KB has no intergenic partner, so any partner (docs/ctml.md); only a partner: that
        gene with any partner."""
        genes = [
            gene for gene in (symbol, partner) if gene and gene not in (_ANY_GENE, _INTERGENIC)
        ]
        if not genes:
            self.error(
                f"{path}.hugo_symbol",
                "unrepresentable",
                "a structural variant between any two genes (or intergenic regions) names no "
                "gene; the KB's fusions name at least one",
                symbol or partner or None,
            )
            return None
        if len(genes) == 1:
            return _either_orientation(genes[0], None)
        return _either_orientation(genes[0], genes[1])

    def _protein(
        self, symbol: str, text: str, consequence: Consequence | None, path: str, *, wildcard: bool
    ) -> SpecTree | None:
        try:
            change = parse_protein_change(text.strip())
        except ProteinChangeError as exc:
            self.error(path, "malformed_hgvs", exc.message, text)
            return None
        if change.kind == "codon":
            # MatchMiner matches a wildcard (p.V600) to any change at that codon: missense,
            # in-frame, truncating (but see docs/ctml.md on synonymous changes).
            return Leaf(
                BiomarkerSpec(
                    BiomarkerKind.RANGE,
                    symbol,
                    codon_start=change.start_pos,
                    codon_end=change.start_pos,
                    consequence=consequence or Consequence.ANY,
                )
            )
        if wildcard:
            self.error(
                path, "invalid_value", "a wildcard protein change names a codon, e.g. p.G12", text
            )
            return None
        return Leaf(
            BiomarkerSpec(BiomarkerKind.SEQUENCE_VARIANT, symbol, protein_change=change.hgvs)
        )


_GENOMIC_KEYS = frozenset(
    {
        "hugo_symbol",
        "variant_category",
        "protein_change",
        "wildcard_protein_change",
        "variant_classification",
        "cnv_call",
        "fusion_partner_hugo_symbol",
        "exon",
        "mmr_status",
        "ms_status",
        *(f"{name}_signature" for name in SIGNATURES.values()),
    }
)
_CLASSIFICATIONS = {
    "missense_mutation": Consequence.MISSENSE,
    "nonsense_mutation": Consequence.NONSENSE,
    "frame_shift_del": Consequence.FRAMESHIFT,
    "frame_shift_ins": Consequence.FRAMESHIFT,
    "in_frame_del": Consequence.INFRAME_DELETION,
    "in_frame_ins": Consequence.INFRAME_INSERTION,
    "splice_site": Consequence.SPLICE,
    "splice_region": Consequence.SPLICE,
}
_SIGNATURE_KEYS = {f"{name}_signature": signature for signature, name in SIGNATURES.items()}
_NEGATABLE = frozenset({"variant_category", "ms_status", "mmr_status", *_SIGNATURE_KEYS})
_YES_NO = dict.fromkeys(("yes", "y", "true"), "positive") | dict.fromkeys(
    ("no", "n", "false"), "negative"
)
# MatchMiner's structural-variant words: a partner that is any gene, or no gene at all.
_ANY_GENE = "ANY_GENE"
_INTERGENIC = "INTERGENIC"
_CATEGORY_ALIASES = {
    "copy number variation": "cnv",
    "copy number variant": "cnv",
    "structural variation": "sv",
    "structural variant": "sv",
}


def _category(text: str) -> str:
    """variant_category in one spelling: mutation, cnv, sv, any variation, signature."""
    key = " ".join(text.lower().split())
    return _CATEGORY_ALIASES.get(key, key)


_CNV_CALLS = {
    "high level amplification": CopyNumberType.AMPLIFICATION,
    "high amplification": CopyNumberType.AMPLIFICATION,
    "amplification": CopyNumberType.AMPLIFICATION,
    "homozygous deletion": CopyNumberType.DELETION,
}
_MMR = {
    "mmr-deficient": "deficient",
    "deficient": "deficient",
    "dmmr": "deficient",
    "mmr-proficient": "proficient",
    "proficient": "proficient",
    "pmmr": "proficient",
}
_MSI = {"msi-h": "high", "msi-high": "high", "msi-l": "low", "msi-low": "low", "mss": "stable"}


def _either_orientation(symbol: str, partner: str | None) -> SpecTree:
    """A CTML structural variant: MatchMiner matches it whichever gene is 5' (KIF5B-ALK and
    ALK-KIF5B alike), so it is both orientations joined by OR; with no partner, the gene on
    either side."""
    if partner is None:
        return Node(
            "OR",
            (
                Leaf(BiomarkerSpec(BiomarkerKind.FUSION, symbol, partner_5=symbol)),
                Leaf(BiomarkerSpec(BiomarkerKind.FUSION, symbol, partner_3=symbol)),
            ),
        )
    if partner == symbol:
        return Leaf(BiomarkerSpec(BiomarkerKind.FUSION, symbol, partner_5=symbol, partner_3=symbol))
    return Node(
        "OR",
        (
            Leaf(BiomarkerSpec(BiomarkerKind.FUSION, symbol, partner_5=partner, partner_3=symbol)),
            Leaf(BiomarkerSpec(BiomarkerKind.FUSION, symbol, partner_5=symbol, partner_3=partner)),
        ),
    )


_OPERATORS = {
    ">=": Operator.GE,
    "<=": Operator.LE,
    ">": Operator.GT,
    "<": Operator.LT,
    "==": Operator.EQ,
    "=": Operator.EQ,
    None: Operator.EQ,
}


def _comparison(text: str) -> tuple[Operator, str] | None:
    """A CTML comparison (">=10", "<40", "==40", a bare "40" meaning ==): operator and number as
    written, so the threshold value is stored exactly as the source gives it."""
    match = _COMPARATOR.match(text)
    if match is None:
        return None
    return _OPERATORS[match[1]], match[2]


# A phase as one number: Roman or Arabic, with an optional sub-phase letter (Ib, IIa, 1b):
# a sub-phase is part of its phase, as ClinicalTrials.gov registers it.
_PHASE_PART = re.compile(r"^(IV|III|II|I|[0-4])[ABC]?$")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
_PHASE_SETS = {
    (0,): TrialPhase.EARLY_PHASE1,  # Phase 0 is registered as Early Phase 1
    (1,): TrialPhase.PHASE1,
    (1, 2): TrialPhase.PHASE1_PHASE2,
    (2,): TrialPhase.PHASE2,
    (2, 3): TrialPhase.PHASE2_PHASE3,
    (3,): TrialPhase.PHASE3,
    (4,): TrialPhase.PHASE4,
}


def _phase(text: str) -> TrialPhase | None:
    """A phase as MatchMiner and OnCore write it ("I", "Ib", "I/II", "I_II", "IB/II",
    "Phase 1/Phase 2", "1/2", "Early Phase 1", "N/A", "NA") or as ClinicalTrials.gov does
    ("PHASE1_PHASE2"); None for anything else."""
    upper = " ".join(text.upper().split())
    try:
        return TrialPhase(upper.replace(" ", "_"))
    except ValueError:
        pass
    words = upper.replace("PHASE", " ")
    if re.sub(r"[^A-Z]", "", words) in ("NA", "NOTAPPLICABLE"):
        return TrialPhase.NA
    parts = [part for part in re.split(r"[\s/,&_+-]+", words) if part and part != "AND"]
    early = bool(parts) and parts[0].startswith("EARLY")
    if early:
        parts = [parts[0].removeprefix("EARLY"), *parts[1:]]
        parts = [part for part in parts if part]
    numbers: set[int] = set()
    for part in parts:
        match = _PHASE_PART.match(part)
        if match is None:
            return None
        numbers.add(_ROMAN.get(match[1]) or int(match[1]))
    if early:
        return TrialPhase.EARLY_PHASE1 if numbers == {1} else None
    return _PHASE_SETS.get(tuple(sorted(numbers)))


def _phase_expected(text: str) -> str:
    accepted = (
        "expected a trial phase: I, II, III or IV (sub-phases such as Ib or IIa count as "
        "their phase), I/II or II/III (also written I_II, IB/II, 1/2, Phase 1/Phase 2), "
        "Early Phase 1 or Phase 0, N/A, or a ClinicalTrials.gov phase such as PHASE1_PHASE2"
    )
    if "PILOT" in text.upper():
        return (
            "a pilot study has no phase of its own: give the phase it is registered with on "
            f"ClinicalTrials.gov; {accepted}"
        )
    return accepted


# OnCore's and NCI CTRP's statuses (as MatchMiner carries them) -> ClinicalTrials.gov's. Keys are
# lower case with underscores, hyphens and commas read as spaces.
_STATUSES = {
    "open to accrual": TrialStatus.RECRUITING,
    "open": TrialStatus.RECRUITING,
    "active": TrialStatus.RECRUITING,  # NCI CTRP: open to accrual
    "closed to accrual": TrialStatus.ACTIVE_NOT_RECRUITING,
    "closed to accrual and intervention": TrialStatus.ACTIVE_NOT_RECRUITING,
    "closed to new accrual": TrialStatus.ACTIVE_NOT_RECRUITING,
    "suspended": TrialStatus.SUSPENDED,
    "on hold": TrialStatus.SUSPENDED,
    "temporarily closed": TrialStatus.SUSPENDED,
    "temporarily closed to accrual": TrialStatus.SUSPENDED,
    "temporarily closed to accrual and intervention": TrialStatus.SUSPENDED,
    "irb study closure": TrialStatus.COMPLETED,
    "completed": TrialStatus.COMPLETED,
    "complete": TrialStatus.COMPLETED,
    "administratively complete": TrialStatus.TERMINATED,  # NCI CTRP: closed before its end
    "terminated": TrialStatus.TERMINATED,
    "withdrawn": TrialStatus.WITHDRAWN,
    "new": TrialStatus.NOT_YET_RECRUITING,
    "approved": TrialStatus.NOT_YET_RECRUITING,
    "in review": TrialStatus.NOT_YET_RECRUITING,
    "not yet open": TrialStatus.NOT_YET_RECRUITING,
    "enrolling by invitation": TrialStatus.ENROLLING_BY_INVITATION,
}
_STATUS_EXPECTED = (
    "expected a trial status (any case; spaces, underscores or hyphens): "
    + ", ".join(f"'{key}'" for key in _STATUSES)
    + "; or a ClinicalTrials.gov status: "
    + ", ".join(status.value for status in TrialStatus)
)


def _status(text: str) -> TrialStatus | None:
    key = " ".join(re.sub(r"[_,-]", " ", text.lower()).split())
    if key in _STATUSES:
        return _STATUSES[key]
    for status in TrialStatus:
        if status.value.lower().replace("_", " ") == key:
            return status
    return None


def _protocol_key(protocol: str) -> str:
    """A protocol number as kb.importing.civic.KbLookup.trial_protocols keys it."""
    return " ".join(protocol.upper().split())


def _scalar(value: Any) -> str | None:
    """A scalar as text (numbers too, as YAML reads `arm_code: 1`); None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return None


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return f"the {type(value).__name__} {_shown(value)!r}"


def _shown(value: Any) -> Any:
    """A value fit for an error report: scalars as they are, structures as short JSON."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"
