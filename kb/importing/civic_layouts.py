"""CIViC's older TSV export layouts, recognised by their header and read as the current one.

`kb.importing.civic` maps the current (CIViC 2, molecular-profile) evidence and assertion
summaries. CIViC 1 exported the same knowledge under other column names and spellings; this
module recognises those files by their header (`recognise_layout`) and hands the adapter each
row under the current names and spellings (`Layout.read`), so every mapping rule stays in one
place. The layouts themselves are data: civic_layouts.toml.

Where the facts come from (public sources, read; no code taken):

* Current evidence layout: griffithlab/civic-v2 ``EvidenceItemTsvFormatter`` (molecular_profile,
  molecular_profile_id, …, therapies, therapy_interaction_type, …, significance, citation_id,
  source_type, asco_abstract_id, …, is_flagged), as in the shared 2024-08-01 sample.
* The 2021 layout: griffithlab/civic-server app/presenters/evidence_item_tsv_presenter.rb in its
  last form (gene, entrez_id, variant, disease, doid, phenotypes, drugs, drug_interaction_type,
  evidence_type, evidence_direction, evidence_level, clinical_significance, evidence_statement,
  citation_id, source_type, asco_abstract_id, citation, nct_ids, rating, evidence_status,
  evidence_id, variant_id, gene_id, coordinates, variant_summary, variant_origin,
  last_review_date, the three CIViC URLs); consumers' copies of the nightly header agree, one
  with is_flagged at the end.
* The 2018 layout: an earlier form of the same presenter (gene, entrez_id, variant, disease,
  doid, drugs, evidence_type, evidence_direction, evidence_level, clinical_significance,
  evidence_statement, pubmed_id, citation, rating, evidence_status, evidence_id, variant_id,
  gene_id, coordinates, variant_summary, variant_origin, last_review_date, URLs). It has no
  phenotypes and no drug_interaction_type column (civic-server#461 proposed adding it;
  hartwigmedical/hmftools' CIViC importer of the time fetched interaction types from the CIViC
  API instead). A file that has drug_interaction_type is read with it.
* Assertions: griffithlab/civic-server app/presenters/assertion_tsv_presenter.rb (gene,
  entrez_id, variant, disease, doid, phenotypes, drugs, assertion_type, assertion_direction,
  clinical_significance, acmg_codes, amp_category, nccn_guideline, nccn_guideline_version,
  regulatory_approval, fda_companion_test, assertion_summary, assertion_description,
  assertion_id, evidence_item_ids, variant_id, gene_id, last_review_date, four URLs, and later
  is_flagged). Neither it nor today's has a therapy interaction column.
* Spellings: civic-server app/const/constants.rb over time ('Sensitivity' and 'Resistance or
  Non-Response' became 'Sensitivity/Response' and 'Resistance', discussed in
  civic-client#882; variant origins 'Somatic Mutation', 'Germline Mutation', 'Germline
  Polymorphism' became 'Somatic', 'Rare Germline', 'Common Germline', civic-client#877).
  Fusion variants were renamed from ``ACTB-GLI1`` to ``ACTB::GLI1`` in 2022
  (civic-client#1639). Evidence types, directions (Supports / Does Not Support), levels and
  the other significance terms are spelled as today.

What an older row lacks, and what is derived rather than read:

* No molecular profile: it names one gene and one variant. The profile is derived as
  "GENE VARIANT", the name CIViC 2 gave each variant's single-variant profile; a hyphenated
  fusion variant (``EML4-ALK`` under ALK) is rewritten ``EML4::ALK`` when exactly one hyphen
  splits it into the row's gene and another symbol, and left as written otherwise (reported
  by the profile parser if it has no KB form). Errors about the profile point at the variant
  column. Combinations (AND / OR / NOT) did not exist.
* 2018: no source_type (every source was PubMed: derived), no interaction type (several drugs
  are then reported as needing one: the evidence item imports without a therapy and supports
  no assertion), no ASCO abstracts, no phenotypes.
* 2021: predisposing and oncogenic evidence carry evidence direction and significance N/A
  (civic-client#1121, #1585); these are not translated (no source says which way they point)
  and the adapter reports the direction, located.
* CIViC URLs are kept as written (CIViC 1's link forms); the evidence item's url and a
  non-PubMed citation use them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from kb.errors import KbError
from kb.importing.model import ImportError_, Location, SourceError

__all__ = ["Layout", "old_layouts", "recognise_layout"]

_DATA = "civic_layouts.toml"
# The column only the current layout has: a header with it is a current file, however damaged.
_CURRENT_MARK = "molecular_profile"
_SHOWN_COLUMNS = 40


@dataclass(frozen=True, slots=True)
class Layout:
    """One CIViC export layout and how its rows read under the current column names.

    `required` are this layout's own column names that the importer needs. The current layout
    is the identity: `read` returns a row as it came.
    """

    key: str
    title: str
    kind: str
    signature: tuple[str, ...]
    required: tuple[str, ...]
    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    profile: tuple[str, str] | None = None
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def current(self) -> bool:
        return self.key == "current"

    @property
    def provides(self) -> frozenset[str]:
        """The current column names a row of this layout can be read under."""
        derived = {"molecular_profile"} if self.profile else set()
        return frozenset({*self.required, *self.columns, *self.constants, *derived})

    def read(
        self, cells: Mapping[str, str], letters: Mapping[str, str]
    ) -> tuple[Mapping[str, str], Mapping[str, str]]:
        """A row's cells and column letters under the current names and spellings (the cells
        of older columns stay, unread). A derived or implied value points at the column it was
        derived from, or at no column."""
        if self.current:
            return cells, letters
        out = dict(cells)
        where = dict(letters)
        for name, column in self.columns.items():
            out[name] = cells.get(column, "")
            _point(where, name, letters.get(column))
        for name, value in self.constants.items():
            out[name] = value
            where.pop(name, None)
        if self.profile is not None:
            gene_column, variant_column = self.profile
            gene = cells.get(gene_column, "").strip()
            variant = _fusion_delimiter(gene, cells.get(variant_column, "").strip())
            out["molecular_profile"] = f"{gene} {variant}".strip()
            _point(where, "molecular_profile", letters.get(variant_column))
        for name, spellings in self.values.items():
            today = spellings.get(_spelling_key(out.get(name, "")))
            if today is not None:
                out[name] = today
        return out, where


def recognise_layout(header: Sequence[str], required: Sequence[str], where: Location) -> Layout:
    """The layout of a CIViC TSV, from its header (row 1 at `where`): the current one (whose
    columns are `required`) or an older export of the same summary.

    A header with the current layout's marker column, or an older layout's signature, is that
    layout even when columns are missing: the caller reports them against the returned
    layout's `required`. A header that is none of them raises SourceError, located at the
    header row: one missing_column error per current column it lacks, and an unknown_layout
    error listing the columns each layout is recognised by and the columns found.
    """
    present = {column for column in header if column}
    current = Layout("current", "current CIViC summary", "", (_CURRENT_MARK,), tuple(required))
    if all(column in present for column in required):
        return current
    kind = "assertion" if "assertion_id" in required else "evidence"
    candidates = [layout for layout in old_layouts() if layout.kind == kind]
    for layout in candidates:
        if all(column in present for column in layout.signature):
            lacking = [name for name in required if name not in layout.provides]
            if lacking:  # the current adapter reads a column this layout cannot supply
                raise SourceError(
                    [
                        ImportError_(
                            where,
                            name,
                            "missing_column",
                            f"the importer needs {name!r}, which the {layout.title} lacks",
                            name,
                        )
                        for name in lacking
                    ]
                )
            return layout
    if _CURRENT_MARK in present:
        return current
    missing = [
        ImportError_(
            where,
            column,
            "missing_column",
            f"the header lacks the column {column!r}; is this a CIViC {kind} summary TSV?",
            column,
        )
        for column in required
        if column not in present
    ]
    found = [column for column in header if column]
    shown = ", ".join(found[:_SHOWN_COLUMNS]) or "(none)"
    if len(found) > _SHOWN_COLUMNS:
        shown += f" and {len(found) - _SHOWN_COLUMNS} more"
    older = "; ".join(f"{', '.join(layout.signature)} ({layout.key})" for layout in candidates)
    summary = ImportError_(
        where,
        None,
        "unknown_layout",
        f"the header is none of the CIViC {kind} summary layouts this importer reads. "
        f"Expected the current columns ({', '.join(required)}), or an older export's "
        f"distinguishing columns: {older}. Found: {shown}",
        None,
    )
    raise SourceError([*missing, summary])


@cache
def old_layouts() -> tuple[Layout, ...]:
    """CIViC's older layouts, as civic_layouts.toml describes them."""
    text = resources.files("kb.importing").joinpath(_DATA).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    values = {
        name: {_spelling_key(old): _text(new, f"values.{name}") for old, new in table.items()}
        for name, table in _tables(data.get("values", {}), "values").items()
    }
    layouts: list[Layout] = []
    for entry in data.get("layout", []):
        if not isinstance(entry, dict):
            raise KbError(f"{_DATA}: each [[layout]] must be a table")
        key = _text(entry.get("key"), "layout.key")
        profile = _names(entry.get("profile", []), f"{key}.profile")
        if profile and len(profile) != 2:
            raise KbError(f"{_DATA}: {key}.profile names a gene column and a variant column")
        layouts.append(
            Layout(
                key=key,
                title=_text(entry.get("title"), f"{key}.title"),
                kind=_text(entry.get("kind"), f"{key}.kind"),
                signature=_names(entry.get("signature"), f"{key}.signature"),
                required=_names(entry.get("required"), f"{key}.required"),
                columns=_strings(entry.get("columns", {}), f"{key}.columns"),
                constants=_strings(entry.get("constants", {}), f"{key}.constants"),
                profile=(profile[0], profile[1]) if profile else None,
                values=values,
            )
        )
    return tuple(layouts)


def _point(where: dict[str, str], name: str, letter: str | None) -> None:
    if letter:
        where[name] = letter
    else:
        where.pop(name, None)


# A variant such as "EML4-ALK": symbols joined by hyphens, nothing else (symbols may hold
# hyphens themselves, as NKX2-1 does, hence the split below).
_HYPHENATED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.]*(?:-[A-Za-z0-9][A-Za-z0-9.]*)+$")


def _fusion_delimiter(gene: str, variant: str) -> str:
    """CIViC 1's ``A-B`` fusion name as CIViC 2 writes it (``A::B``), when exactly one hyphen
    splits it into the row's gene and another name; else the variant as written."""
    if not gene or not _HYPHENATED.match(variant):
        return variant
    parts = variant.split("-")
    splits = [("-".join(parts[:i]), "-".join(parts[i:])) for i in range(1, len(parts))]
    hits = [
        (five, three) for five, three in splits if gene.upper() in (five.upper(), three.upper())
    ]
    if len(hits) != 1:
        return variant
    five, three = hits[0]
    return f"{five}::{three}"


def _spelling_key(text: str) -> str:
    return " ".join(text.lower().split())


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise KbError(f"{_DATA}: {where} must be a non-empty string")
    return value


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise KbError(f"{_DATA}: {where} must be a list of column names")
    return tuple(_text(item, where) for item in value)


def _tables(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(t, dict) for t in value.values()):
        raise KbError(f"{_DATA}: [{where}] must hold tables")
    return value


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise KbError(f"{_DATA}: [{where}] must be a table")
    return {_text(name, where): _text(item, f"{where}.{name}") for name, item in value.items()}
