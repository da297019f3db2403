"""The VA-Spec rendition of a release (kb/release/vaspec.py): real release folders of the demo KB,
every statement validated with the GA4GH packages' own models, ids stable across builds and
releases, the files signed and verified with the rest, and what could not be expressed listed
with its reason."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ga4gh.core import sha512t24u
from ga4gh.va_spec import aac_2017, acmg_2015, ccv_2022
from ga4gh.vrs import models as vrs

from kb.model.enums import RecordType
from kb.model.records import SPECS
from kb.release.folder import ReleaseVerificationError, build_release, verify_release
from kb.release.signing import KeyFiles, Reason, generate_keypair, load_private_key, trust_init
from kb.release.vaspec import NOT_EXPRESSED_FILE, STATEMENTS_FILE, va_spec_rendition
from kb.storage.db import open_kb
from kb.storage.snapshot import build_snapshot, canonical_json

PASSPHRASE = b"va-spec passphrase"
CREATED = "2026-11-01T09:30:00Z"
BRAF = "HGNC:1097"
MODEL_OF = {
    "VariantTherapeuticResponseProposition": aac_2017.VariantTherapeuticResponseStudyStatement,
    "VariantDiagnosticProposition": aac_2017.VariantDiagnosticStudyStatement,
    "VariantPrognosticProposition": aac_2017.VariantPrognosticStudyStatement,
    "VariantPathogenicityProposition": acmg_2015.VariantPathogenicityStatement,
    "VariantOncogenicityProposition": ccv_2022.VariantOncogenicityStudyStatement,
}


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_json(demo_template: Path) -> dict[str, Any]:
    opened = open_kb(f"sqlite:///{demo_template}", migrate_schema=False)
    try:
        with opened.read() as session:
            return build_snapshot(session).as_json()
    finally:
        opened.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyFiles, Ed25519PrivateKey]:
    files = generate_keypair(tmp_path_factory.mktemp("keys"), name="a", passphrase=PASSPHRASE)
    return files, load_private_key(files.private_path, PASSPHRASE)


@pytest.fixture(scope="module")
def root(keys: tuple[KeyFiles, Ed25519PrivateKey]) -> dict[str, Any]:
    return trust_init([keys[0].public_path], 1, [keys[1]])


def _record(rtype: RecordType, human_id: str, **fields: Any) -> dict[str, Any]:
    """A record as kb.json holds it: every field of its type, the given ones set."""
    blank = {
        spec.name: [] if spec.kind in ("refs", "codes", "strings") else None
        for spec in SPECS[rtype]
    }
    return {
        "id": human_id,
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"test:{human_id}")),
        "fields": {**blank, **fields},
    }


def _germline_variant(records: dict[str, Any], number: str, **fields: Any) -> None:
    """A germline sequence variant BM-<number> and the expression BX-<number> naming it."""
    records["biomarker"].append(
        _record(
            RecordType.BIOMARKER,
            f"BM-{number}",
            kind="sequence_variant",
            origin="germline",
            **fields,
        )
    )
    records["expression"].append(
        _record(RecordType.EXPRESSION, f"BX-{number}", tree={"biomarker": f"BM-{number}"})
    )


@pytest.fixture
def snapshot(demo_json: dict[str, Any]) -> dict[str, Any]:
    """The demo KB with what it lacks to exercise every profile: evidence items (supporting and
    not), a diagnostic, a prognostic and a predisposing assertion on expressible variants."""
    data = copy.deepcopy(demo_json)
    records = data["records"]
    _germline_variant(
        records, "90001", gene="GN-00020", label="BRCA1 C61G", protein_change="p.Cys61Gly"
    )
    records["assertion"] += [
        _record(
            RecordType.ASSERTION,
            "AS-90001",
            expression="BX-90001",
            tumour_types=["ALL_TUMOURS"],
            implication="predisposing",
            pathogenicity="pathogenic",
            inheritance="autosomal_dominant",
            syndrome="Hereditary breast and ovarian cancer syndrome (DOID:5683)",
            line_of_therapy="any",
            level_scheme="OncoKB therapeutic levels v2 (2019)",
            citations=["CT-00060"],
        ),
        _record(
            RecordType.ASSERTION,
            "AS-90002",
            expression="BX-00011",
            tumour_types=["HCL"],
            implication="diagnostic",
            direction="supports_diagnosis",
            evidence_level="2",
            level_scheme="OncoKB therapeutic levels v2 (2019)",
            line_of_therapy="any",
        ),
        _record(
            RecordType.ASSERTION,
            "AS-90003",
            expression="BX-00011",
            tumour_types=["COADREAD"],
            implication="prognostic",
            direction="poorer_outcome",
            level_scheme="OncoKB therapeutic levels v2 (2019)",
            source_scheme="AMP/ASCO/CAP tiers",
            source_level="Tier I - Level B",
            line_of_therapy="any",
        ),
    ]
    records["evidence_item"] = [
        _record(
            RecordType.EVIDENCE_ITEM,
            "EV-90001",
            source="CIViC",
            source_id="EID1",
            url="https://civicdb.org/evidence/1",
            evidence_type="predictive",
            direction="supports",
            source_level="B",
            assertions=["AS-00004"],
            citations=["CT-00001"],
        ),
        _record(
            RecordType.EVIDENCE_ITEM,
            "EV-90002",
            source="CIViC",
            source_id="EID2",
            evidence_type="predictive",
            direction="does_not_support",
            assertions=["AS-00004"],
        ),
        _record(
            RecordType.EVIDENCE_ITEM,
            "EV-90003",
            source="CIViC",
            source_id="EID3",
            evidence_type="oncogenic",
            direction="supports",
            source_level="D",
            oncogenicity="OG-00010",
        ),
    ]
    return data


def build(
    data: dict[str, Any],
    out: Path,
    root: dict[str, Any],
    key: Ed25519PrivateKey,
    **overrides: Any,
) -> Path:
    digest = hashlib.sha256(canonical_json(data)).hexdigest()
    arguments: dict[str, Any] = {
        "release_version": "2026.11.0",
        "release_sequence": 1,
        "previous_release_digest": None,
        "previous_snapshot": None,
        "approvals": [{"name": "Dr A. Reviewer", "digest": digest}],
        "created": CREATED,
        "trust_root_envelope": root,
        "signing_keys": [key],
        "out_dir": out,
    }
    arguments.update(overrides)
    build_release(data, **arguments)
    return out


def statements_of(release: Path) -> list[dict[str, Any]]:
    text = (release / "payload" / STATEMENTS_FILE).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def record_of(statement: dict[str, Any]) -> str:
    extension = statement["extensions"][0]
    assert extension["name"] in ("kbAssertion", "kbOncogenicity")
    return str(extension["value"]["record"])


def without_release(statement: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(statement)
    copied["reportedIn"] = copied["reportedIn"][1:]
    return copied


@pytest.fixture
def release(
    snapshot: dict[str, Any],
    tmp_path: Path,
    root: dict[str, Any],
    keys: tuple[KeyFiles, Ed25519PrivateKey],
) -> Path:
    return build(snapshot, tmp_path / "release", root, keys[1])


# --- the statements -------------------------------------------------------------------------


def test_every_statement_validates_with_the_packages_models(
    release: Path, snapshot: dict[str, Any], root: dict[str, Any]
) -> None:
    verify_release(release, trusted_root=root)
    statements = statements_of(release)
    assert statements and [s["id"] for s in statements] == sorted(s["id"] for s in statements)
    kinds = set()
    for statement in statements:
        kind = statement["proposition"]["type"]
        kinds.add(kind)
        model = MODEL_OF[kind].model_validate(statement)
        # What we wrote is what the model reads: nothing dropped or coerced on the way.
        assert model.model_dump(mode="json", exclude_none=True) == statement
        assert statement["proposition"]["subjectVariant"]["type"] == "CategoricalVariant"
    assert kinds == set(MODEL_OF)

    # The release version and the digest of kb.json on each statement.
    kb_sha = hashlib.sha256((release / "payload/kb.json").read_bytes()).hexdigest()
    for statement in statements:
        document = statement["reportedIn"][0]
        assert document["documentType"] == "knowledge base release"
        assert document["extensions"][0]["value"] == {
            "kbId": snapshot["kb_id"],
            "releaseVersion": "2026.11.0",
            "releaseSequence": 1,
            "kbJsonSha256": kb_sha,
        }

    by_record: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        by_record.setdefault(record_of(statement), []).append(statement)
    # EGFR T790M sensitivity: AMP Tier I Level A from OncoKB level 1, the drug coded in NCIt.
    t790m = by_record["AS-00004"][0]
    assert t790m["id"] == f"urn:uuid:{_uuid(snapshot, 'assertion', 'AS-00004')}"
    assert t790m["classification"]["primaryCoding"]["code"] == "Tier I"
    assert t790m["strength"]["primaryCoding"]["code"] == "Level A"
    proposition = t790m["proposition"]
    assert proposition["predicate"] == "predictsSensitivityTo"
    assert proposition["objectTherapeutic"]["primaryCoding"]["code"] == "C116377"
    assert proposition["conditionQualifier"]["primaryCoding"]["code"] == "NSCLC"
    assert proposition["geneContextQualifier"]["primaryCoding"]["code"] == "HGNC:3236"
    allele = proposition["subjectVariant"]["constraints"][0]["allele"]
    assert (allele["location"]["start"], allele["location"]["end"]) == (789, 790)
    assert allele["state"]["sequence"] == "M"
    # Its evidence items are its evidence lines, "does not support" as disputes.
    lines = {line["extensions"][0]["value"]["record"]: line for line in t790m["hasEvidenceLines"]}
    assert lines["EV-90001"]["directionOfEvidenceProvided"] == "supports"
    assert lines["EV-90001"]["hasEvidenceItems"] == ["https://civicdb.org/evidence/1"]
    assert lines["EV-90001"]["strengthOfEvidenceProvided"]["primaryCoding"]["code"] == "B"
    assert lines["EV-90002"]["directionOfEvidenceProvided"] == "disputes"
    assert lines["EV-90002"]["hasEvidenceItems"] == ["CIViC:EID2"]

    assert "AS-00021" not in by_record  # KRAS/NRAS "activating mutations": no Cat-VRS form
    diagnostic = by_record["AS-90002"][0]["proposition"]
    assert diagnostic["predicate"] == "isDiagnosticInclusionCriterionFor"
    prognostic = by_record["AS-90003"][0]
    assert prognostic["proposition"]["predicate"] == "associatedWithWorseOutcomeFor"
    assert prognostic["strength"]["primaryCoding"]["code"] == "Level B"  # from the source
    germline = by_record["AS-90001"][0]
    assert germline["classification"]["primaryCoding"]["code"] == "pathogenic"
    assert germline["proposition"]["objectCondition"]["primaryCoding"]["code"] == "DOID:5683"
    assert germline["proposition"]["modeOfInheritanceQualifier"]["primaryCoding"]["code"] == (
        "HP:0000006"
    )
    assert germline["proposition"]["alleleOriginQualifier"]["name"] == "germline"
    oncogenic = by_record["OG-00010"][0]
    assert oncogenic["classification"]["primaryCoding"]["code"] == "oncogenic"
    assert oncogenic["hasEvidenceLines"][0]["extensions"][0]["value"]["record"] == "EV-90003"

    # A disjunction splits into one statement per alternative it can express, with a
    # name-based id; the inexpressible alternative is listed.
    split = by_record["AS-00001"]
    assert len(split) == 1 and split[0]["proposition"]["subjectVariant"]["name"] == "EGFR L858R"
    assert split[0]["id"] == "urn:uuid:" + str(
        uuid.uuid5(
            uuid.UUID(_uuid(snapshot, "assertion", "AS-00001")),
            _uuid(snapshot, "biomarker", "BM-00001"),
        )
    )
    gaps = json.loads((release / "payload" / NOT_EXPRESSED_FILE).read_bytes())
    assert any(
        p["record"] == "AS-00001" and "exon 19" in p["reason"] for p in gaps["partially_expressed"]
    )


def _uuid(snapshot: dict[str, Any], rtype: str, human_id: str) -> str:
    return next(str(e["uuid"]) for e in snapshot["records"][rtype] if e["id"] == human_id)


def test_every_assertion_is_expressed_or_listed_with_a_reason(
    release: Path, snapshot: dict[str, Any]
) -> None:
    statements = statements_of(release)
    gaps = json.loads((release / "payload" / NOT_EXPRESSED_FILE).read_bytes())
    assert gaps["format"] == "kb-curator-va-spec-gaps/1"
    expressed = {record_of(s) for s in statements}
    listed = {g["record"] for g in gaps["statements_not_expressed"]}
    for rtype in ("assertion", "oncogenicity"):
        ids = {e["id"] for e in snapshot["records"][rtype]}
        assert ids <= expressed | listed
        assert not (expressed & listed)
    for gap in gaps["statements_not_expressed"] + gaps["partially_expressed"]:
        assert gap["reason"] and gap["uuid"]
    reasons = {g["record"]: g["reason"] for g in gaps["statements_not_expressed"]}
    # Never wider than the KB: AND/NOT, thresholds, exclusions, fusions are left out, each said.
    assert "combines biomarkers with AND" in reasons["AS-00039"]
    assert "threshold" in reasons["AS-00036"]
    assert "excludes tumour types" in reasons["AS-00016"]
    assert "fusion" in reasons["AS-00007"]
    # Protein alleles have coordinates but no refget accession offline: no VRS id, and why.
    vrs_gaps = {g["record"]: g for g in gaps["vrs_identifiers_not_computed"]}
    assert vrs_gaps["BM-00013"]["protein_change"] == "p.Val600Glu"
    assert "refget" in vrs_gaps["BM-00013"]["reason"]
    assert "NM_005228.5" in vrs_gaps["BM-00001"]["reason"]  # EGFR's exon map transcript
    alleles = [
        c["allele"]
        for s in statements
        for c in s["proposition"]["subjectVariant"]["constraints"]
        if c["type"] == "DefiningAlleleConstraint"
    ]
    assert alleles and not any("id" in allele for allele in alleles)


def test_vrs_identifier_is_computed_where_a_refget_accession_is_known(
    snapshot: dict[str, Any],
) -> None:
    """The path a SeqRepo-backed build would take: with the protein's refget accession, the
    allele gets the identifier ga4gh.vrs computes for it."""
    accession = "SQ." + sha512t24u(b"MAALSGGGGGGAEPGQALFNGDMEPEAGAGAGAAASSAADPAIPEEVWNIKQMIKLTQE")
    rendition = va_spec_rendition(
        snapshot,
        release_version="2026.11.0",
        release_sequence=1,
        kb_json_sha256="0" * 64,
        refget_accessions={BRAF: accession},
    )
    expected = vrs.Allele(
        location=vrs.SequenceLocation(
            sequenceReference=vrs.SequenceReference(refgetAccession=accession),
            start=599,
            end=600,
        ),
        state=vrs.LiteralSequenceExpression(sequence="E"),
    ).compute_ga4gh_identifier()
    assert expected.startswith("ga4gh:VA.")
    found = {
        c["allele"]["id"]
        for s in rendition.statements
        for c in s["proposition"]["subjectVariant"]["constraints"]
        if c["type"] == "DefiningAlleleConstraint" and "id" in c["allele"]
    }
    assert expected in found
    assert not any(g["record"] == "BM-00013" for g in rendition.vrs_ids)


def test_a_snp_named_only_by_its_dbsnp_id_is_listed_not_widened(
    snapshot: dict[str, Any],
) -> None:
    records = snapshot["records"]
    records["gene"].append(
        _record(RecordType.GENE, "GN-90001", symbol="SH2B3", hgnc_id="HGNC:29605", aliases=[])
    )
    _germline_variant(records, "90002", gene="GN-90001", dbsnp_id="rs3184504")
    records["assertion"].append(
        _record(
            RecordType.ASSERTION,
            "AS-90004",
            expression="BX-90002",
            tumour_types=["COADREAD"],
            implication="predisposing",
            pathogenicity="likely_pathogenic",
            line_of_therapy="any",
            level_scheme="OncoKB therapeutic levels v2 (2019)",
        )
    )
    rendition = va_spec_rendition(
        snapshot, release_version="2026.11.0", release_sequence=1, kb_json_sha256="0" * 64
    )
    assert not any(record_of(s) == "AS-90004" for s in rendition.statements)
    (gap,) = [g for g in rendition.not_expressed if g["record"] == "AS-90004"]
    assert "SH2B3 germline rs3184504 is given only as its dbSNP id" in gap["reason"]
    assert "reference sequence" in gap["reason"]


# --- ids and bytes across builds and releases ------------------------------------------------


def test_ids_stay_the_same_across_builds_and_releases(
    snapshot: dict[str, Any],
    tmp_path: Path,
    root: dict[str, Any],
    keys: tuple[KeyFiles, Ed25519PrivateKey],
) -> None:
    first = build(snapshot, tmp_path / "first", root, keys[1])
    again = build(snapshot, tmp_path / "again", root, keys[1])
    for name in (STATEMENTS_FILE, NOT_EXPRESSED_FILE):
        assert (first / "payload" / name).read_bytes() == (again / "payload" / name).read_bytes()

    changed = copy.deepcopy(snapshot)
    changed["kb_version"] = snapshot["kb_version"] + 1
    target = next(e for e in changed["records"]["assertion"] if e["id"] == "AS-00004")
    target["fields"]["description"] = "Revised wording."
    second = build(
        changed,
        tmp_path / "second",
        root,
        keys[1],
        release_version="2026.12.0",
        release_sequence=2,
        previous_release_digest=hashlib.sha256(
            (first / "release.dsse.json").read_bytes()
        ).hexdigest(),
        previous_snapshot=snapshot,
    )
    before = {s["id"]: s for s in statements_of(first)}
    after = {s["id"]: s for s in statements_of(second)}
    assert set(before) == set(after)
    changed_id = f"urn:uuid:{target['uuid']}"
    for statement_id, statement in after.items():
        assert statement["reportedIn"][0]["extensions"][0]["value"]["releaseVersion"] == (
            "2026.12.0"
        )
        if statement_id == changed_id:
            assert statement["description"] == "Revised wording."
            assert statement["description"] != before[statement_id]["description"]
        else:
            assert without_release(statement) == without_release(before[statement_id])


# --- verification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "damage", "reason"),
    [
        (STATEMENTS_FILE, "change", Reason.PAYLOAD_CHANGED),
        (NOT_EXPRESSED_FILE, "change", Reason.PAYLOAD_CHANGED),
        (STATEMENTS_FILE, "remove", Reason.PAYLOAD_MISSING),
    ],
)
def test_a_tampered_va_spec_file_fails_verification(
    release: Path, root: dict[str, Any], name: str, damage: str, reason: Reason
) -> None:
    path = release / "payload" / name
    if damage == "remove":
        path.unlink()
    else:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("Tier I", "Tier II", 1).replace("fusion", "fusions", 1))
    with pytest.raises(ReleaseVerificationError) as excinfo:
        verify_release(release, trusted_root=root)
    assert excinfo.value.reason_code is reason
    assert f"payload/{name}" in excinfo.value.message
