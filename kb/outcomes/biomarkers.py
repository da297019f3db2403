"""Biomarkers as outcome records name them, and which assertions cover a biomarker and a
therapy.

An episode lists the biomarkers found, separated by ";", in the forms the matcher reads: a gene
and a protein change (`BRAF V600E`, `BRAF p.Val600Glu`: parsed by kb.model.protein and stored in
the canonical 3-letter form), a gene and a copy-number or fusion word (`ERBB2 amplification`,
`ALK fusion`, `BCR::ABL1 fusion`), a characteristic (`MSI-H`, `TMB-H`, `dMMR`), or the label of
one of the KB's biomarkers (`EGFR exon 19 deletion`). Gene symbols must be HGNC-approved.

Coverage ("is there an assertion at all for this biomarker with this therapy?") is generous on
purpose, since it decides off-label alerts: a variant is covered by an assertion whose expression
names the same variant, the same label, or a range or categorical biomarker of the same gene
(exon and category semantics are the matcher's business, not this check's).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.model.enums import RecordType
from kb.model.orm import HgncGene
from kb.model.protein import ProteinChangeError, parse_protein_change
from kb.storage.revisions import current_version
from kb.storage.snapshot import latest_rows

SEPARATOR = ";"
_WORDS = {
    "amplification": "amplification",
    "amplified": "amplification",
    "amp": "amplification",
    "deletion": "deletion",
    "homozygous deletion": "deletion",
    "fusion": "fusion",
    "rearrangement": "fusion",
    "overexpression": "overexpression",
    "mutation": "mutation",
    "mutant": "mutation",
}
_CHARACTERISTICS = {
    "msi-h": "MSI-H",
    "msi high": "MSI-H",
    "dmmr": "dMMR",
    "mmr deficient": "dMMR",
    "tmb-h": "TMB-H",
    "tmb high": "TMB-H",
    "hrd": "HRD",
    "hrd positive": "HRD",
}
_CHARACTERISTIC_OF = {
    ("MSI", "high"): "MSI-H",
    ("MMR", "deficient"): "dMMR",
    ("TMB", "high"): "TMB-H",
}
_FUSION = re.compile(r"^([A-Za-z0-9-]+)::([A-Za-z0-9-]+)$")
_THERAPY_SPLIT = re.compile(r"\s*(?:\+|/|,|;|\band\b|\bwith\b|\bplus\b)\s*", re.IGNORECASE)


def therapy_key(name: str) -> str:
    """A therapy's name for comparison: its parts lower-cased and sorted ("Trametinib +
    dabrafenib" == "dabrafenib and trametinib")."""
    parts = [part for part in _THERAPY_SPLIT.split(name.strip().lower()) if part]
    return " + ".join(sorted(" ".join(part.split()) for part in parts))


@dataclass
class BiomarkerIndex:
    """What the KB holds about biomarkers and therapies, read once per import or analysis."""

    symbols: frozenset[str]
    labels: dict[str, str]  # lower-cased label -> label
    # therapy key -> assertion human ids; assertion -> (exact keys, genes covered wholesale)
    assertions_by_therapy: dict[str, list[str]] = field(default_factory=dict)
    keys_of: dict[str, set[str]] = field(default_factory=dict)
    genes_of: dict[str, set[str]] = field(default_factory=dict)
    assertions: dict[str, dict[str, Any]] = field(default_factory=dict)
    therapy_names: dict[str, str] = field(default_factory=dict)  # assertion -> therapy name
    evidence: list[Mapping[str, Any]] = field(default_factory=list)
    _parsed: dict[str, str | ValueError] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> BiomarkerIndex:
        version = current_version(session)

        def records(rtype: RecordType) -> dict[str, dict[str, Any]]:
            return {h: f for _, h, _, _, f in latest_rows(session, version, rtype=rtype)}

        genes = {h: f.get("symbol") or "" for h, f in records(RecordType.GENE).items()}
        symbols = set(session.scalars(select(HgncGene.symbol))) | set(genes.values())
        biomarkers = records(RecordType.BIOMARKER)
        index = cls(
            symbols=frozenset(s for s in symbols if s),
            labels={
                str(f.get("label") or "").lower(): str(f.get("label"))
                for f in biomarkers.values()
                if f.get("label")
            },
        )
        leaf_keys = {h: _leaf_keys(f, genes) for h, f in biomarkers.items()}
        expressions = records(RecordType.EXPRESSION)
        therapies = records(RecordType.THERAPY)
        index.assertions = records(RecordType.ASSERTION)
        for human_id, fields in index.assertions.items():
            keys: set[str] = set()
            wholesale: set[str] = set()
            tree = (expressions.get(fields.get("expression") or "") or {}).get("tree")
            for leaf in _leaves(tree):
                exact, genes_covered = leaf_keys.get(leaf, (set(), set()))
                keys |= exact
                wholesale |= genes_covered
            index.keys_of[human_id] = keys
            index.genes_of[human_id] = wholesale
            name = (therapies.get(fields.get("therapy") or "") or {}).get("name")
            if name:
                index.therapy_names[human_id] = str(name)
                index.assertions_by_therapy.setdefault(therapy_key(name), []).append(human_id)
        index.evidence = list(records(RecordType.EVIDENCE_ITEM).values())
        return index

    def canonical(self, text: str) -> str:
        """The canonical form of one biomarker as found; ValueError saying what is expected."""
        known = self._parsed.get(text)
        if known is None:
            try:
                known = self._canonical(text)
            except ValueError as exc:
                known = exc
            self._parsed[text] = known
        if isinstance(known, ValueError):
            raise known
        return known

    def canonical_list(self, text: str) -> str:
        """A cell of biomarkers ("BRAF V600E; TP53 R273H") as its canonical, sorted form."""
        items = sorted({self.canonical(part) for part in text.split(SEPARATOR) if part.strip()})
        if not items:
            raise ValueError("no biomarker given; list those found, separated by ';'")
        return "; ".join(items)

    def _canonical(self, text: str) -> str:
        item = " ".join(text.split())
        lower = item.lower()
        if lower in _CHARACTERISTICS:
            return _CHARACTERISTICS[lower]
        gene, _, rest = item.partition(" ")
        fusion = _FUSION.match(gene)
        if fusion and rest.lower() in ("", "fusion"):
            for symbol in fusion.groups():
                self._check_symbol(symbol.upper(), item)
            return f"{fusion.group(1).upper()}::{fusion.group(2).upper()} fusion"
        if rest and gene.upper() in self.symbols:
            symbol = gene.upper()
            word = _WORDS.get(rest.lower())
            if word:
                return f"{symbol} {word}"
            try:
                return f"{symbol} {parse_protein_change(rest).hgvs}"
            except ProteinChangeError:
                pass
        if lower in self.labels:
            return self.labels[lower]
        if rest and gene.upper() not in self.symbols and gene.isalnum():
            self._check_symbol(gene.upper(), item)
        raise ValueError(
            f"biomarker {item!r} is not in a form the matcher reads: a gene and a protein change "
            "(BRAF V600E), a gene and amplification / deletion / fusion, GENE1::GENE2 fusion, "
            "MSI-H, TMB-H, dMMR, or a KB biomarker's label"
        )

    def _check_symbol(self, symbol: str, item: str) -> None:
        if symbol not in self.symbols:
            raise ValueError(f"biomarker {item!r}: {symbol} is not an HGNC-approved gene symbol")

    def covering(self, biomarker: str, therapy: str) -> list[str]:
        """Assertions (human ids) with this therapy whose expression covers this biomarker."""
        found = []
        gene = biomarker.split(" ", 1)[0].split("::", maxsplit=1)[0]
        for human_id in self.assertions_by_therapy.get(therapy, ()):
            if (
                biomarker in self.keys_of[human_id]
                or biomarker.lower() in self.keys_of[human_id]
                or gene in self.genes_of[human_id]
            ):
                found.append(human_id)
        return found


def _leaves(tree: Any) -> Iterable[str]:
    if not isinstance(tree, Mapping):
        return
    if tree.get("biomarker"):
        yield str(tree["biomarker"])
    for arg in tree.get("args") or ():
        yield from _leaves(arg)


def _leaf_keys(fields: Mapping[str, Any], genes: Mapping[str, str]) -> tuple[set[str], set[str]]:
    """The canonical forms an episode may name this biomarker by, and the genes it covers
    wholesale (ranges and categories)."""
    exact: set[str] = set()
    wholesale: set[str] = set()
    label = fields.get("label")
    if label:
        exact.add(str(label))
        exact.add(str(label).lower())
    symbol = genes.get(fields.get("gene") or "", "")
    kind = fields.get("kind")
    if kind == "sequence_variant" and symbol and fields.get("protein_change"):
        with contextlib.suppress(ProteinChangeError):
            exact.add(f"{symbol} {parse_protein_change(fields['protein_change']).hgvs}")
    elif kind == "copy_number" and symbol and fields.get("copy_number"):
        word = "amplification" if fields["copy_number"] in ("amplification", "gain") else "deletion"
        exact.add(f"{symbol} {word}")
    elif kind == "fusion":
        five = genes.get(fields.get("partner_5") or "", "")
        three = genes.get(fields.get("partner_3") or "", "")
        for partner in (symbol, five, three):
            if partner:
                exact.add(f"{partner} fusion")
        if five and three:
            exact.add(f"{five}::{three} fusion")
    elif kind in ("range", "categorical", "wild_type") and symbol:
        wholesale.add(symbol)
    elif kind == "characteristic":
        short = _CHARACTERISTIC_OF.get(
            (str(fields.get("characteristic")), str(fields.get("status")))
        )
        if short:
            exact.add(short)
    return exact, wholesale
