"""Signed releases of the demo KB: the folder, reproducibility, offline verification (each way
it can fail), the consumer instructions, and publishing to a real HTTP server."""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import http.server
import io
import json
import multiprocessing
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kb.release.folder import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    PublishError,
    ReleaseError,
    ReleaseVerificationError,
    build_release,
    publish_release,
    read_previous_release,
    release_digest,
    verify_release,
    write_archive,
)
from kb.release.schema import SCHEMA_FILE, build_kb_schema, schema_bytes
from kb.release.signing import (
    KeyFiles,
    Reason,
    dumps_pretty,
    generate_keypair,
    load_private_key,
    sign_envelope,
    trust_init,
    trust_rotate,
)
from kb.storage.db import Kb, open_kb
from kb.storage.snapshot import build_snapshot, canonical_json

PASSPHRASE = b"release manager passphrase"
CREATED = "2026-11-01T09:30:00Z"
REPO = Path(__file__).resolve().parent.parent
CTML_SAMPLE = REPO.parent / "shared" / "data" / "ctml" / "all_open.json"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_json(demo_template: Path) -> dict[str, Any]:
    opened = open_kb(f"sqlite:///{demo_template}", migrate_schema=False)
    try:
        with opened.read() as session:
            return build_snapshot(session).as_json()
    finally:
        opened.close()


@pytest.fixture
def snapshot(demo_json: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(demo_json)


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyFiles]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: generate_keypair(folder, name=name, passphrase=PASSPHRASE) for name in "abc"}


@pytest.fixture(scope="module")
def keys(key_files: dict[str, KeyFiles]) -> dict[str, Ed25519PrivateKey]:
    return {name: load_private_key(f.private_path, PASSPHRASE) for name, f in key_files.items()}


@pytest.fixture(scope="module")
def root_a(key_files: dict[str, KeyFiles], keys: dict[str, Ed25519PrivateKey]) -> dict[str, Any]:
    return trust_init([key_files["a"].public_path], 1, [keys["a"]])


def approval(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Dr A. Reviewer",
        "time": "2026-10-31T17:00:00Z",
        "meaning": "approved for release",
        "reason": "monthly release",
        "digest": hashlib.sha256(canonical_json(data)).hexdigest(),
    }


def build(
    data: dict[str, Any],
    out: Path,
    root: dict[str, Any],
    signers: list[Ed25519PrivateKey],
    **overrides: Any,
) -> Path:
    arguments: dict[str, Any] = {
        "release_version": "2026.11.0",
        "release_sequence": 1,
        "previous_release_digest": None,
        "previous_snapshot": None,
        "approvals": [approval(data)],
        "created": CREATED,
        "trust_root_envelope": root,
        "signing_keys": signers,
        "out_dir": out,
    }
    arguments.update(overrides)
    build_release(data, **arguments)
    return out


@pytest.fixture
def release(
    snapshot: dict[str, Any],
    tmp_path: Path,
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
) -> Path:
    return build(snapshot, tmp_path / "release", root_a, [keys["a"]])


def statement_of(path: Path) -> dict[str, Any]:
    envelope = json.loads((path / "release.dsse.json").read_bytes())
    statement: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return statement


def resign(
    path: Path,
    signers: list[Ed25519PrivateKey],
    change: Callable[[dict[str, Any]], object] = lambda statement: None,
    payload_type: str = PAYLOAD_TYPE,
) -> None:
    """Replace the release's envelope with one over a (changed) statement."""
    statement = statement_of(path)
    change(statement)
    envelope = sign_envelope(payload_type, canonical_json(statement), signers)
    (path / "release.dsse.json").write_bytes(dumps_pretty(envelope))


def files_of(path: Path) -> dict[str, bytes]:
    return {
        item.relative_to(path).as_posix(): item.read_bytes()
        for item in sorted(path.rglob("*"))
        if item.is_file()
    }


def rejection(path: Path, root: dict[str, Any], **kwargs: Any) -> ReleaseVerificationError:
    with pytest.raises(ReleaseVerificationError) as excinfo:
        verify_release(path, trusted_root=root, **kwargs)
    return excinfo.value


# --- the folder -----------------------------------------------------------------------------


def test_release_folder_holds_exactly_the_agreed_files(
    release: Path, snapshot: dict[str, Any], key_files: dict[str, KeyFiles]
) -> None:
    ncts = sorted(entry["fields"]["nct_id"] for entry in snapshot["records"]["trial"])
    payload = {
        "payload/kb.json",
        "payload/kb.schema.json",
        "payload/kb.xlsx",
        "payload/changes.json",
        *(f"payload/tables/{name}.tsv" for name in ("assertions", "biomarkers", "therapies")),
        "payload/tables/trials.tsv",
        *(f"payload/ctml/{nct}.json" for nct in ncts),
        "payload/va-spec/statements.jsonl",
        "payload/va-spec/not-expressed.json",
    }
    assert set(files_of(release)) == payload | {"release.dsse.json", "trust/root.json", "VERIFY.md"}

    envelope = json.loads((release / "release.dsse.json").read_bytes())
    assert envelope["payloadType"] == PAYLOAD_TYPE
    assert [s["keyid"] for s in envelope["signatures"]] == [key_files["a"].key_id]
    statement = statement_of(release)
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == PREDICATE_TYPE
    names = [subject["name"] for subject in statement["subject"]]
    assert names == sorted(payload)
    for subject in statement["subject"]:
        data = (release / subject["name"]).read_bytes()
        assert subject["digest"] == {"sha256": hashlib.sha256(data).hexdigest()}
    predicate = statement["predicate"]
    assert predicate["kb_id"] == snapshot["kb_id"]
    assert predicate["version"] == "2026.11.0"
    assert predicate["release_sequence"] == 1
    assert predicate["previous_release_digest"] is None
    assert predicate["created"] == CREATED
    assert predicate["vocabularies"] == {
        "oncotree": snapshot["vocabularies"]["oncotree"],
        "hgnc": snapshot["vocabularies"]["hgnc"],
        "doid": snapshot["vocabularies"]["doid"],
        "level_scheme": "OncoKB therapeutic levels v2 (2019)",
    }
    assert predicate["approvals"][0]["name"] == "Dr A. Reviewer"
    assert (
        release_digest(release)
        == hashlib.sha256((release / "release.dsse.json").read_bytes()).hexdigest()
    )


def test_kb_json_is_rfc8785_and_valid_against_its_schema(
    release: Path, snapshot: dict[str, Any]
) -> None:
    kb_bytes = (release / "payload/kb.json").read_bytes()
    data = json.loads(kb_bytes)
    # kb.json is the snapshot itself: its sha256 is the digest the approvals signed.
    assert data == snapshot
    assert kb_bytes == rfc8785.dumps(data)

    schema = json.loads((release / "payload/kb.schema.json").read_bytes())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    # The shipped schema is the checked-in one, and that is what the specs generate.
    assert (release / "payload/kb.schema.json").read_bytes() == SCHEMA_FILE.read_bytes()
    assert SCHEMA_FILE.read_bytes() == schema_bytes(), (
        "kb/release/kb.schema.json is stale: run `python -m kb.release.schema`"
    )


def test_schema_is_strict_enough_to_catch_mistakes(release: Path) -> None:
    data = json.loads((release / "payload/kb.json").read_bytes())
    validator = jsonschema.Draft202012Validator(build_kb_schema())

    def errors_after(change: Callable[[dict[str, Any]], None]) -> list[str]:
        broken = copy.deepcopy(data)
        change(broken)
        return [error.message for error in validator.iter_errors(broken)]

    def at(d: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = d["records"]["assertion"][0]["fields"]
        return fields

    assert errors_after(lambda d: at(d).update(evidence_level="5"))
    assert errors_after(lambda d: at(d).update(mystery="field"))
    assert errors_after(lambda d: at(d).pop("implication"))
    assert errors_after(lambda d: at(d).update(therapy="GN-00001"))
    assert errors_after(lambda d: at(d).update(tumour_types="NSCLC"))
    assert errors_after(lambda d: d["records"]["expression"][0]["fields"].update(tree={"op": "OR"}))
    assert errors_after(lambda d: d.update(kb_version="November"))
    assert not errors_after(lambda d: None)


def test_two_builds_in_separate_processes_are_byte_identical(
    snapshot: dict[str, Any], root_a: dict[str, Any], key_files: dict[str, KeyFiles], tmp_path: Path
) -> None:
    previous = copy.deepcopy(snapshot)
    previous["records"]["assertion"].pop()
    (tmp_path / "snapshot.json").write_text(json.dumps(snapshot))
    (tmp_path / "previous.json").write_text(json.dumps(previous))
    (tmp_path / "root.json").write_bytes(dumps_pretty(root_a))
    script = tmp_path / "build.py"
    script.write_text(
        "import json, sys\n"
        "from pathlib import Path\n"
        "from kb.release.folder import build_release\n"
        "from kb.release.signing import load_private_key\n"
        "work = Path(sys.argv[1])\n"
        "snapshot = json.loads((work / 'snapshot.json').read_text())\n"
        "build_release(\n"
        "    snapshot, release_version='2026.11.0', release_sequence=2,\n"
        "    previous_release_digest='ab' * 32,\n"
        "    previous_snapshot=json.loads((work / 'previous.json').read_text()),\n"
        "    approvals=[{'name': 'Dr A. Reviewer'}], created=sys.argv[3],\n"
        "    trust_root_envelope=json.loads((work / 'root.json').read_text()),\n"
        f"    signing_keys=[load_private_key(Path(sys.argv[4]), {PASSPHRASE!r})],\n"
        "    out_dir=work / sys.argv[2])\n"
    )
    outputs = []
    for name in ("first", "second"):
        subprocess.run(
            [
                sys.executable,
                str(script),
                str(tmp_path),
                name,
                CREATED,
                str(key_files["a"].private_path),
            ],
            check=True,
            cwd=REPO,
        )
        outputs.append(files_of(tmp_path / name))
        # Zip entry times have a 2-second resolution: make sure the clock has moved on.
        time.sleep(2.1)
    first, second = outputs
    assert set(first) == set(second)
    for name in first:
        assert first[name] == second[name], f"{name} differs between two builds"
    with zipfile.ZipFile(tmp_path / "first/payload/kb.xlsx") as workbook:
        assert {info.date_time for info in workbook.infolist()} == {(2026, 11, 1, 9, 30, 0)}
    changes = json.loads(first["payload/changes.json"])
    assert changes["summary"]["new_assertion"] == 1

    # A different `created` is a different build.
    subprocess.run(
        [
            sys.executable,
            str(script),
            str(tmp_path),
            "third",
            "2026-11-02T09:30:00Z",
            str(key_files["a"].private_path),
        ],
        check=True,
        cwd=REPO,
    )
    third = files_of(tmp_path / "third")
    assert third["payload/kb.xlsx"] != first["payload/kb.xlsx"]
    assert third["payload/kb.json"] == first["payload/kb.json"]


def test_text_cells_never_become_formulas(
    snapshot: dict[str, Any],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    risky = {
        "AS-00001": '=HYPERLINK("http://evil.example/x","click")',
        "AS-00002": "-1+2",
        "AS-00003": "@SUM(A1:A2)",
        "AS-00004": "+1",
        "AS-00005": "\tleading tab",
        "AS-00006": "#N/A",
        "AS-00007": "two\nlines & <angles>",
    }
    for entry in snapshot["records"]["assertion"]:
        if entry["id"] in risky:
            entry["fields"]["description"] = risky[entry["id"]]
    path = build(snapshot, tmp_path / "release", root_a, [keys["a"]])

    kb_json = json.loads((path / "payload/kb.json").read_bytes())
    kept = {
        e["id"]: e["fields"]["description"]
        for e in kb_json["records"]["assertion"]
        if e["id"] in risky
    }
    assert kept == risky

    lines = (path / "payload/tables/assertions.tsv").read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    column = header.index("description")
    cells = {line.split("\t")[0]: line.split("\t")[column] for line in lines[1:] if line}
    assert cells["AS-00001"] == "'" + risky["AS-00001"]
    assert cells["AS-00002"] == "'-1+2"
    assert cells["AS-00003"] == "'@SUM(A1:A2)"
    assert cells["AS-00004"] == "'+1"
    assert cells["AS-00005"] == "'\\tleading tab"
    assert cells["AS-00006"] == "#N/A"
    assert cells["AS-00007"] == "two\\nlines & <angles>"
    assert len(lines) == len(snapshot["records"]["assertion"]) + 2  # header, rows, final LF

    workbook = openpyxl.load_workbook(path / "payload/kb.xlsx")
    sheet = workbook["assertions"]
    column_letter = openpyxl.utils.get_column_letter(column + 1)
    by_id = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    for human_id, text in risky.items():
        cell = by_id[human_id][column]
        assert cell.value == text, human_id
        assert cell.data_type == "s", f"{human_id} {column_letter} is {cell.data_type}"
    with zipfile.ZipFile(path / "payload/kb.xlsx") as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)


def test_tables_are_sorted_flat_views(release: Path) -> None:
    for name, prefix in (
        ("assertions", "AS-"),
        ("biomarkers", "BM-"),
        ("therapies", "TX-"),
        ("trials", "TR-"),
    ):
        data = (release / f"payload/tables/{name}.tsv").read_bytes()
        assert b"\r" not in data and data.endswith(b"\n")
        rows = data.decode("utf-8").splitlines()
        ids = [row.split("\t")[0] for row in rows[1:]]
        assert ids == sorted(ids) and all(i.startswith(prefix) for i in ids)
        assert all(row.count("\t") == rows[0].count("\t") for row in rows)
    assertions = (release / "payload/tables/assertions.tsv").read_text().splitlines()
    first = dict(zip(assertions[0].split("\t"), assertions[1].split("\t"), strict=True))
    assert first["biomarkers"] == "EGFR exon 19 deletion OR EGFR L858R"
    assert first["therapy"] == "Osimertinib"
    assert first["citations"].startswith("fda_label:")
    workbook = openpyxl.load_workbook(release / "payload/kb.xlsx")
    assert workbook.sheetnames == ["assertions", "biomarkers", "therapies", "trials"]
    assert workbook["assertions"].freeze_panes == "A2"
    assert workbook.properties.created.isoformat() == "2026-11-01T09:30:00"
    assert workbook.properties.modified.isoformat() == "2026-11-01T09:30:00"


def test_biomarker_table_names_a_variant_known_by_its_dna_change_or_rs_id(demo_kb: Kb) -> None:
    # Without these columns a DNA-only or rs-only variant read as the bare gene in the table.
    from kb.release.tables import snapshot_tables

    with demo_kb.read() as session:
        data = build_snapshot(session).as_json()
    biomarkers = data["records"]["biomarker"]
    variant = next(
        e for e in biomarkers if e["fields"]["kind"] == "sequence_variant" and e["fields"]["gene"]
    )
    snp = copy.deepcopy(variant)
    snp["id"], snp["uuid"] = "BM-99998", "00000000-0000-7000-8000-000000000998"
    snp["fields"].update(protein_change=None, dbsnp_id="rs3184504", origin="germline", label="")
    dna = copy.deepcopy(variant)
    dna["id"], dna["uuid"] = "BM-99999", "00000000-0000-7000-8000-000000000999"
    dna["fields"].update(protein_change=None, dna_change="c.393T>C", label="")
    biomarkers.extend([snp, dna])
    [table] = [t for t in snapshot_tables(data) if t.name == "biomarkers"]
    rows = {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    assert (rows["BM-99998"]["dbsnp_id"], rows["BM-99998"]["protein_change"]) == ("rs3184504", None)
    assert "rs3184504" in str(rows["BM-99998"]["name"])
    assert (rows["BM-99999"]["dna_change"], rows["BM-99999"]["dbsnp_id"]) == ("c.393T>C", None)
    assert rows[variant["id"]]["dna_change"] is None


def test_ctml_documents_follow_matchminer_shape(release: Path) -> None:
    if not CTML_SAMPLE.exists():
        pytest.skip(f"reference file {CTML_SAMPLE} is missing (shared/data beside the checkout)")
    reference = json.loads(CTML_SAMPLE.read_text())
    reference_arm = reference["treatment_list"]["step"][0]["arm"][0]
    documents = {p.stem: json.loads(p.read_bytes()) for p in (release / "payload/ctml").iterdir()}
    assert documents and all(re.fullmatch(r"NCT\d{8}", nct) for nct in documents)
    for nct, document in documents.items():
        assert document["nct_id"] == nct and document["protocol_no"] == nct
        assert {"protocol_no", "status", "treatment_list"} <= set(document)
        assert document["_summary"]["status"][0]["value"] == document["status"]
        for arm in document["treatment_list"]["step"][0]["arm"]:
            assert {"arm_code", "arm_description", "arm_suspended", "match", "dose_level"} <= set(
                arm
            ) and set(reference_arm) - {"arm_internal_id"} <= set(arm)
            assert arm["arm_suspended"] in ("Y", "N")

    def criteria(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("genomic", "clinical"):
                    yield key, value
                else:
                    yield from criteria(value)
        elif isinstance(node, list):
            for item in node:
                yield from criteria(item)

    found = list(criteria(documents))
    genomic = [c for kind, c in found if kind == "genomic"]
    clinical = [c for kind, c in found if kind == "clinical"]
    assert {
        "hugo_symbol": "BRAF",
        "variant_category": "Mutation",
        "protein_change": "p.V600E",
    }.items() <= next(c for c in genomic if c.get("hugo_symbol") == "BRAF").items()
    assert any(c.get("ms_status") == "MSI-H" for c in genomic)
    assert any(c.get("variant_category") == "Structural Variation" for c in genomic)
    assert any(str(c.get("oncotree_primary_diagnosis", "")).startswith("!") for c in clinical)
    assert any(c.get("oncotree_primary_diagnosis") == "_SOLID_" for c in clinical)
    assert any(c.get("age_numerical") == ">=18" for c in clinical)


def test_changes_json_types_the_differences(
    snapshot: dict[str, Any],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    previous = copy.deepcopy(snapshot)
    records = previous["records"]
    promoted = next(e for e in records["assertion"] if e["fields"]["evidence_level"] == "1")
    promoted["fields"]["evidence_level"] = "2"  # level 2 then, level 1 now: a promotion
    threshold = records["threshold"][0]
    threshold["fields"]["value"] = "5"
    trial = records["trial"][0]
    trial["fields"]["status"] = "RECRUITING"
    added = records["assertion"].pop()  # not there before: a new assertion now
    gone = copy.deepcopy(records["therapy"][0])
    gone.update(id="TX-09999", uuid="00000000-0000-4000-8000-000000009999")
    gone["fields"]["name"] = "Retired therapy"
    records["therapy"].append(gone)

    previous_digest = "cd" * 32
    path = build(
        snapshot,
        tmp_path / "release",
        root_a,
        [keys["a"]],
        release_sequence=2,
        previous_release_digest=previous_digest,
        previous_snapshot=previous,
    )
    changes = json.loads((path / "payload/changes.json").read_bytes())
    assert changes["from_release_digest"] == previous_digest
    found = {(item["category"], item["id"]): item for item in changes["categories"]}
    assert found["level_promoted", promoted["id"]]["old"] == "2"
    assert found["level_promoted", promoted["id"]]["new"] == "1"
    assert found["threshold_changed", threshold["id"]]["old"].endswith(" 5 mut/Mb")
    assert found["trial_status_changed", trial["id"]]["old"] == "RECRUITING"
    assert ("new_assertion", added["id"]) in found
    assert found["therapy_removed", "TX-09999"]["old"] == "Retired therapy"
    assert changes["summary"]["level_promoted"] == 1
    assert changes["records"]["assertion"]["added"] == [added["id"]]
    assert changes["records"]["therapy"]["removed"] == ["TX-09999"]


def test_build_refuses_what_could_not_verify(
    snapshot: dict[str, Any],
    key_files: dict[str, KeyFiles],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    def refused(match: str, **overrides: Any) -> None:
        out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}"
        signers = overrides.pop("signers", [keys["a"]])
        root = overrides.pop("root", root_a)
        with pytest.raises(ReleaseError, match=match):
            build(snapshot, out, root, signers, **overrides)
        assert not out.exists()

    refused("YEAR.MONTH.PATCH", release_version="November")
    refused("UTC time", created="2026-11-01 09:30")
    refused("at least one approval", approvals=[])
    refused("the approval is void", approvals=[{"name": "X", "digest": "0" * 64}])
    refused("needs the digest of release 1", release_sequence=2)
    refused("not in trust root", signers=[keys["b"]])
    two_of_two = trust_init(
        [key_files["a"].public_path, key_files["b"].public_path], 2, [keys["a"], keys["b"]]
    )
    refused("needs 2 signatures", root=two_of_two, signers=[keys["a"], keys["a"]])
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "file").write_text("x")
    with pytest.raises(ReleaseError, match="not empty"):
        build(snapshot, occupied, root_a, [keys["a"]])
    # Nothing half-built is left beside the target.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]


def test_a_cancelled_build_leaves_nothing(
    snapshot: dict[str, Any],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    seen: list[tuple[int, int]] = []

    class Stop(Exception):
        pass

    def cancel() -> None:
        if len(seen) >= 3:
            raise Stop

    with pytest.raises(Stop):
        build(
            snapshot,
            tmp_path / "release",
            root_a,
            [keys["a"]],
            progress=lambda done, total: seen.append((done, total)),
            cancel=cancel,
        )
    assert seen == [(1, 8), (2, 8), (3, 8)]
    assert list(tmp_path.iterdir()) == []


def test_the_rendition_beside_the_build_gives_the_same_bytes(
    snapshot: dict[str, Any],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    """The VA-Spec rendition runs in a forked process when it can (the CLI's builds) and in
    the build's own process when it cannot (the app builds in a worker thread): one release."""
    forked = files_of(build(snapshot, tmp_path / "forked", root_a, [keys["a"]], parallel=True))
    inline = files_of(build(snapshot, tmp_path / "inline", root_a, [keys["a"]], parallel=False))
    assert forked == inline
    assert forked["payload/va-spec/statements.jsonl"].count(b"\n") > 40
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("parallel", [True, False])
def test_a_failing_rendition_fails_the_build_and_leaves_nothing(
    *,
    snapshot: dict[str, Any],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    parallel: bool,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ReleaseError("statement AS-00007 cannot be rendered")

    monkeypatch.setattr("kb.release.folder.va_spec_rendition", broken)
    with pytest.raises(ReleaseError, match="AS-00007 cannot be rendered"):
        build(snapshot, tmp_path / "release", root_a, [keys["a"]], parallel=parallel)
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


def test_a_cancelled_build_stops_the_rendition_beside_it(
    snapshot: dict[str, Any],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    def cancel() -> None:
        if multiprocessing.active_children():
            raise KeyboardInterrupt  # what a user's Ctrl-C raises

    with pytest.raises(KeyboardInterrupt):
        build(snapshot, tmp_path / "release", root_a, [keys["a"]], cancel=cancel, parallel=True)
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []


# --- verification ---------------------------------------------------------------------------


def test_verify_accepts_records_state_and_allows_reverifying(
    release: Path, root_a: dict[str, Any], snapshot: dict[str, Any], tmp_path: Path
) -> None:
    state = tmp_path / "state" / "accepted.json"
    verified = verify_release(release, trusted_root=root_a, state_file=state)
    assert verified.kb_id == snapshot["kb_id"] and verified.release_sequence == 1
    assert verified.kb_json["records"] == snapshot["records"]
    assert verified.predicate["version"] == "2026.11.0" and not verified.root_rotated
    assert json.loads(state.read_bytes()) == {
        "kb_id": snapshot["kb_id"],
        "release_sequence": 1,
        "release_digest": release_digest(release),
    }
    # A service restarting on the release it runs verifies it again.
    verify_release(release, trusted_root=root_a, state_file=state)
    assert [p.name for p in state.parent.iterdir()] == ["accepted.json"]


def test_releases_chain_and_cannot_roll_back(
    snapshot: dict[str, Any],
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    first = build(snapshot, tmp_path / "r1", root_a, [keys["a"]])
    verify_release(first, trusted_root=root_a, state_file=state)

    previous = read_previous_release(first)
    assert previous.release_sequence == 1 and previous.release_digest == release_digest(first)
    snapshot["records"]["assertion"][0]["fields"]["description"] = "Updated wording."
    second = build(
        snapshot,
        tmp_path / "r2",
        root_a,
        [keys["a"]],
        release_version="2026.12.0",
        release_sequence=previous.release_sequence + 1,
        previous_release_digest=previous.release_digest,
        previous_snapshot=previous.kb_json,
        approvals=[approval(snapshot)],
    )
    verify_release(second, trusted_root=root_a, state_file=state)
    assert json.loads(state.read_bytes())["release_sequence"] == 2

    error = rejection(first, root_a, state_file=state)
    assert error.reason_code is Reason.ROLLBACK
    assert "not above 2" in error.message

    # A third release that chains to something other than release 2.
    third = build(
        snapshot,
        tmp_path / "r3",
        root_a,
        [keys["a"]],
        release_version="2027.1.0",
        release_sequence=3,
        previous_release_digest=release_digest(first),
    )
    assert rejection(third, root_a, state_file=state).reason_code is Reason.BROKEN_CHAIN
    assert json.loads(state.read_bytes())["release_sequence"] == 2


def _change_file(path: Path) -> None:
    with (path / "payload/tables/trials.tsv").open("a") as handle:
        handle.write("TR-99999\tNCT99999999\tinjected\n")


def _remove_file(path: Path) -> None:
    next((path / "payload/ctml").iterdir()).unlink()


def _add_file(path: Path) -> None:
    (path / "payload/notes.txt").write_text("not signed\n")


def _link_file(path: Path) -> None:
    target = path / "payload/kb.schema.json"
    moved = path.parent / "elsewhere.json"
    shutil.move(target, moved)
    target.symlink_to(moved)


def _garble_envelope(path: Path) -> None:
    (path / "release.dsse.json").write_text('{"payloadType": "x"')


def _empty_envelope(path: Path) -> None:
    (path / "release.dsse.json").write_text("{}")


@pytest.mark.parametrize(
    ("tamper", "reason", "needle"),
    [
        (_change_file, Reason.PAYLOAD_CHANGED, "payload/tables/trials.tsv"),
        (_remove_file, Reason.PAYLOAD_MISSING, "payload/ctml/"),
        (_add_file, Reason.PAYLOAD_EXTRA, "payload/notes.txt"),
        (_link_file, Reason.PAYLOAD_CHANGED, "symbolic link"),
        (_garble_envelope, Reason.MALFORMED_ENVELOPE, "not JSON"),
        (_empty_envelope, Reason.MALFORMED_ENVELOPE, "no payloadType"),
    ],
)
def test_tampered_folders_are_refused(
    release: Path,
    root_a: dict[str, Any],
    tamper: Callable[[Path], None],
    reason: Reason,
    needle: str,
) -> None:
    tamper(release)
    error = rejection(release, root_a)
    assert error.reason_code is reason
    assert needle in error.message


def test_bad_signature(release: Path, root_a: dict[str, Any]) -> None:
    envelope = json.loads((release / "release.dsse.json").read_bytes())
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 1
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    (release / "release.dsse.json").write_bytes(dumps_pretty(envelope))
    assert rejection(release, root_a).reason_code is Reason.BAD_SIGNATURE


def test_statement_with_changed_digest_is_a_bad_signature(
    release: Path, root_a: dict[str, Any]
) -> None:
    # Editing the statement to match an edited file breaks the signature over it.
    _change_file(release)
    envelope = json.loads((release / "release.dsse.json").read_bytes())
    statement = statement_of(release)
    for subject in statement["subject"]:
        if subject["name"] == "payload/tables/trials.tsv":
            data = (release / subject["name"]).read_bytes()
            subject["digest"]["sha256"] = hashlib.sha256(data).hexdigest()
    envelope["payload"] = base64.b64encode(canonical_json(statement)).decode()
    (release / "release.dsse.json").write_bytes(dumps_pretty(envelope))
    assert rejection(release, root_a).reason_code is Reason.BAD_SIGNATURE


def test_untrusted_key(
    release: Path, root_a: dict[str, Any], keys: dict[str, Ed25519PrivateKey]
) -> None:
    resign(release, [keys["c"]])
    error = rejection(release, root_a)
    assert error.reason_code is Reason.UNTRUSTED_KEY


def test_too_few_distinct_signatures(
    snapshot: dict[str, Any],
    key_files: dict[str, KeyFiles],
    keys: dict[str, Ed25519PrivateKey],
    tmp_path: Path,
) -> None:
    root = trust_init(
        [key_files["a"].public_path, key_files["b"].public_path], 2, [keys["a"], keys["b"]]
    )
    path = build(snapshot, tmp_path / "release", root, [keys["a"], keys["b"]])
    assert verify_release(path, trusted_root=root).signers == {
        key_files["a"].key_id,
        key_files["b"].key_id,
    }
    # Key a's signature twice in place of a's and b's: one distinct signer of the two required.
    envelope = json.loads((path / "release.dsse.json").read_bytes())
    mine = next(s for s in envelope["signatures"] if s["keyid"] == key_files["a"].key_id)
    envelope["signatures"] = [mine, dict(mine)]
    (path / "release.dsse.json").write_bytes(dumps_pretty(envelope))
    error = rejection(path, root)
    assert error.reason_code is Reason.TOO_FEW_SIGNATURES
    assert "1 of the 2 required" in error.message


_WRONG_KINDS: list[tuple[Callable[[dict[str, Any]], object], str, Reason]] = [
    (lambda s: None, "application/json", Reason.WRONG_PAYLOAD_TYPE),
    (
        lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"),
        PAYLOAD_TYPE,
        Reason.WRONG_STATEMENT_TYPE,
    ),
    (
        lambda s: s.update(predicateType="https://slsa.dev/provenance/v1"),
        PAYLOAD_TYPE,
        Reason.WRONG_PREDICATE_TYPE,
    ),
    (
        lambda s: s["subject"].append({"name": "../escape", "digest": {"sha256": "0" * 64}}),
        PAYLOAD_TYPE,
        Reason.MALFORMED_STATEMENT,
    ),
    (
        lambda s: s["predicate"].update(release_sequence="one"),
        PAYLOAD_TYPE,
        Reason.MALFORMED_STATEMENT,
    ),
]


@pytest.mark.parametrize("case", _WRONG_KINDS, ids=lambda case: case[2].value)
def test_statements_of_the_wrong_kind(
    release: Path,
    root_a: dict[str, Any],
    keys: dict[str, Ed25519PrivateKey],
    case: tuple[Callable[[dict[str, Any]], object], str, Reason],
) -> None:
    change, payload_type, reason = case
    resign(release, [keys["a"]], change, payload_type)
    assert rejection(release, root_a).reason_code is reason


def test_kb_json_must_match_the_statement(
    release: Path, root_a: dict[str, Any], keys: dict[str, Ed25519PrivateKey]
) -> None:
    kb_path = release / "payload/kb.json"
    data = json.loads(kb_path.read_bytes())
    data["kb_version"] = 99
    kb_path.write_bytes(canonical_json(data))

    def redigest(statement: dict[str, Any]) -> None:
        for subject in statement["subject"]:
            if subject["name"] == "payload/kb.json":
                subject["digest"]["sha256"] = hashlib.sha256(kb_path.read_bytes()).hexdigest()

    resign(release, [keys["a"]], redigest)
    assert rejection(release, root_a).reason_code is Reason.INCONSISTENT_RELEASE


def test_state_files_that_cannot_be_trusted(
    release: Path, root_a: dict[str, Any], tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    assert rejection(release, root_a, state_file=state).reason_code is Reason.STATE_INVALID
    state.write_text(json.dumps({"kb_id": "k", "release_sequence": 1}))
    assert rejection(release, root_a, state_file=state).reason_code is Reason.STATE_INVALID
    state.write_text(
        json.dumps({"kb_id": "another-kb", "release_sequence": 1, "release_digest": "0" * 64})
    )
    assert rejection(release, root_a, state_file=state).reason_code is Reason.STATE_MISMATCH


def test_not_a_release(tmp_path: Path, root_a: dict[str, Any]) -> None:
    assert rejection(tmp_path, root_a).reason_code is Reason.NOT_A_RELEASE


def test_trust_root_in_the_folder_must_be_the_pinned_one(
    release: Path,
    key_files: dict[str, KeyFiles],
    keys: dict[str, Ed25519PrivateKey],
    root_a: dict[str, Any],
) -> None:
    other = trust_init([key_files["b"].public_path], 1, [keys["b"]])
    error = rejection(release, other)
    assert error.reason_code is Reason.ROOT_MISMATCH


def test_rotated_root_is_followed_when_signed_by_the_pinned_keys(
    snapshot: dict[str, Any],
    key_files: dict[str, KeyFiles],
    keys: dict[str, Ed25519PrivateKey],
    root_a: dict[str, Any],
    tmp_path: Path,
) -> None:
    # Key a retires; root 2 trusts key b alone and is signed by a (the old root) and b (itself).
    root_b = trust_rotate(root_a, [key_files["b"].public_path], 1, [keys["a"], keys["b"]])
    path = build(snapshot, tmp_path / "rotated", root_b, [keys["b"]])
    verified = verify_release(path, trusted_root=root_a)
    assert verified.root_rotated and verified.trust_root.version == 2
    assert verified.signers == {key_files["b"].key_id}

    # A "root 2" that the pinned root's keys never signed is refused.
    forged = trust_rotate(root_a, [key_files["c"].public_path], 1, [keys["a"], keys["c"]])
    forged["signatures"] = [s for s in forged["signatures"] if s["keyid"] != key_files["a"].key_id]
    (path / "trust/root.json").write_bytes(dumps_pretty(forged))
    resign(path, [keys["c"]])
    assert rejection(path, root_a).reason_code is Reason.ROOT_ROTATION_INVALID


# --- VERIFY.md ------------------------------------------------------------------------------


def _code_block(path: Path, language: str) -> str:
    text = (path / "VERIFY.md").read_text(encoding="utf-8")
    match = re.search(rf"```{language}\n(.*?)```", text, re.DOTALL)
    assert match, f"VERIFY.md has no {language} block"
    return match.group(1)


def test_verify_md_python_steps_work_without_kb(
    release: Path, root_a: dict[str, Any], tmp_path: Path
) -> None:
    script = tmp_path / "verify_release.py"
    script.write_text(_code_block(release, "python"))
    pinned = tmp_path / "pinned.json"
    pinned.write_bytes(dumps_pretty(root_a))
    # -I: isolated mode, so the script runs without kb on its path; only cryptography is used.
    command = [sys.executable, "-I", str(script), str(release), str(pinned)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "verified 2026.11.0 sequence 1" in result.stdout
    _change_file(release)
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode != 0 and "trials.tsv changed" in result.stderr


def test_verify_md_shell_steps_work(release: Path, root_a: dict[str, Any], tmp_path: Path) -> None:
    for tool in ("bash", "jq", "openssl", "sha256sum", "base64"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    script = tmp_path / "verify.sh"
    script.write_text(_code_block(release, "bash").replace("/tmp/", f"{tmp_path}/"))
    pinned = tmp_path / "pinned.json"
    pinned.write_bytes(dumps_pretty(root_a))
    env = {"ROOT": str(pinned), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", str(script)], cwd=release, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout
    _add_file(release)
    result = subprocess.run(
        ["bash", str(script)], cwd=release, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "payload/notes.txt" in result.stdout


# --- publishing -----------------------------------------------------------------------------


class _Upload(http.server.BaseHTTPRequestHandler):
    """A release server: `plan` says how to answer each successive PUT."""

    server: _Server

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers), body))
        plan = self.server.plan
        action = plan.pop(0) if len(plan) > 1 else plan[0]
        if action == "sleep":
            time.sleep(1.5)
            action = "ok"
        if action == "ok":
            self._answer(200, {"sha256": hashlib.sha256(body).hexdigest(), "stored": True})
        elif action == "wrong":
            self._answer(201, {"sha256": "0" * 64})
        elif action == "busy":
            self._answer(503, {"error": "busy"}, retry_after="1")
        else:
            self._answer(int(action), {"error": "nope"})

    def _answer(self, status: int, body: dict[str, Any], retry_after: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        # The timeout test's client has given up waiting by the time the answer goes out.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    plan: list[str]
    requests: list[tuple[dict[str, str], bytes]]


@pytest.fixture
def server() -> Iterator[Callable[[list[str]], tuple[str, _Server]]]:
    started: list[_Server] = []

    def start(plan: list[str]) -> tuple[str, _Server]:
        instance = _Server(("127.0.0.1", 0), _Upload)
        instance.plan = list(plan)
        instance.requests = []
        threading.Thread(target=instance.serve_forever, daemon=True).start()
        started.append(instance)
        return f"http://127.0.0.1:{instance.server_address[1]}/releases/demo", instance

    yield start
    for instance in started:
        instance.shutdown()
        instance.server_close()


def test_archive_is_deterministic(release: Path) -> None:
    first, second = io.BytesIO(), io.BytesIO()
    write_archive(release, first)
    time.sleep(1.1)
    write_archive(release, second)
    assert first.getvalue() == second.getvalue()
    with tarfile.open(fileobj=io.BytesIO(first.getvalue()), mode="r:gz") as archive:
        members = archive.getmembers()
    names = [member.name for member in members]
    assert names == sorted(names) and f"{release.name}/release.dsse.json" in names
    assert {member.mtime for member in members} == {0}
    assert {member.uid for member in members} == {0}


def test_publish_retries_busy_server_then_succeeds(
    release: Path, server: Callable[[list[str]], tuple[str, _Server]]
) -> None:
    url, instance = server(["503", "busy", "ok"])
    started = time.monotonic()
    result = publish_release(release, url, retries=3, timeout=5, backoff=0.05)
    assert result.attempts == 3
    assert time.monotonic() - started >= 1.0  # the Retry-After of the second answer was honoured
    headers, body = instance.requests[-1]
    assert result.sha256 == hashlib.sha256(body).hexdigest() == headers["X-Content-SHA256"]
    assert headers["Content-Type"] == "application/gzip"
    assert result.response["stored"] is True
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
        assert f"{release.name}/payload/kb.json" in archive.getnames()
    # Every attempt sent the same bytes.
    assert len({sent for _, sent in instance.requests}) == 1


def test_publish_gives_up_on_a_failing_server(
    release: Path, server: Callable[[list[str]], tuple[str, _Server]]
) -> None:
    url, instance = server(["500"])
    with pytest.raises(PublishError, match="after 3 attempt"):
        publish_release(release, url, retries=2, timeout=5, backoff=0.01)
    assert len(instance.requests) == 3


def test_publish_times_out(
    release: Path, server: Callable[[list[str]], tuple[str, _Server]]
) -> None:
    url, instance = server(["sleep"])
    started = time.monotonic()
    with pytest.raises(PublishError, match=r"no answer .*Timeout"):
        publish_release(release, url, retries=1, timeout=0.3, backoff=0.01)
    assert time.monotonic() - started < 3
    assert len(instance.requests) == 2


def test_publish_needs_the_server_to_confirm(
    release: Path, server: Callable[[list[str]], tuple[str, _Server]]
) -> None:
    url, _ = server(["wrong"])
    with pytest.raises(PublishError, match="without confirming"):
        publish_release(release, url, retries=0, timeout=5)
    url, instance = server(["403"])
    with pytest.raises(PublishError, match=r"refused.*403"):
        publish_release(release, url, retries=3, timeout=5, backoff=0.01)
    assert len(instance.requests) == 1  # a refusal is not retried
    with pytest.raises(PublishError, match="not a release folder"):
        publish_release(release / "payload", url)
    # Credentials in the URL never reach an error message.
    secret_url = url.replace("http://", "http://user:hunter2@")
    with pytest.raises(PublishError) as excinfo:
        publish_release(release, secret_url, retries=0, timeout=5)
    assert "hunter2" not in str(excinfo.value)


def test_ctml_never_widens_a_biomarker_into_any_mutation() -> None:
    """KRAS codon 12 or a KRAS frameshift written as "any KRAS mutation" would offer a trial to
    patients it does not fit: what CTML cannot say exactly is a display name only (kb.json
    holds the rule); what it can, it says."""
    from kb.release.ctml_export import _leaf
    from kb.release.tables import SnapshotNames

    def biomarker(bm_id: str, **fields: Any) -> dict[str, Any]:
        return {"id": bm_id, "fields": {"gene": "GN-00001", "origin": "somatic", **fields}}

    names = SnapshotNames(
        {
            "records": {
                "gene": [{"id": "GN-00001", "fields": {"symbol": "KRAS"}}],
                "biomarker": [
                    biomarker("BM-00001", kind="range", codon_start=12, codon_end=12,
                              consequence="missense", label="KRAS G12"),
                    biomarker("BM-00002", kind="range", exon=2, consequence="frameshift",
                              label="KRAS exon 2 frameshift"),
                    biomarker("BM-00003", kind="categorical", category="oncogenic_mutations",
                              label="KRAS oncogenic mutations"),
                    biomarker("BM-00004", kind="range", exon=19, consequence="inframe_deletion",
                              label="exon 19 deletion"),
                    biomarker("BM-00005", kind="categorical", category="any_mutation",
                              label="KRAS any mutation"),
                ],
            }
        }
    )  # fmt: skip
    shown = {bm: _leaf({"biomarker": bm}, names, negate=False)["genomic"] for bm in
             ("BM-00001", "BM-00002", "BM-00003", "BM-00004", "BM-00005")}  # fmt: skip
    for vague in ("BM-00001", "BM-00002", "BM-00003"):
        assert set(shown[vague]) == {"display_name"}, shown[vague]
    assert shown["BM-00004"] == {
        "hugo_symbol": "KRAS", "variant_category": "Mutation", "exon": 19,
        "variant_classification": "In_Frame_Del", "display_name": "exon 19 deletion",
    }  # fmt: skip
    assert shown["BM-00005"]["variant_category"] == "Mutation"


def test_every_file_of_a_release_is_signed_or_refused(
    tmp_path: Path, release: Path, root_a: dict[str, Any]
) -> None:
    """Files outside payload/ are the envelope, the trust root copy and VERIFY.md only; a
    VERIFY.md whose steps were edited, or any other file or folder, fails verification."""
    verify_release(release, trusted_root=root_a)  # as built
    edits = {
        "VERIFY.md": lambda p: (p / "VERIFY.md").write_text(
            (p / "VERIFY.md").read_text() + "\nSkip step 2.\n"
        ),
        "a note": lambda p: (p / "NOTES.txt").write_text("unsigned"),
        "a folder": lambda p: ((p / "scripts").mkdir(), (p / "scripts/run.sh").write_text("x")),
        "in trust/": lambda p: (p / "trust/other.json").write_text("{}"),
    }
    for name, edit in edits.items():
        copy = tmp_path / name.replace(" ", "_").replace("/", "")
        shutil.copytree(release, copy)
        edit(copy)
        refused = rejection(copy, root_a)
        assert refused.reason_code in (Reason.PAYLOAD_CHANGED, Reason.PAYLOAD_EXTRA), name
        assert "VERIFY.md" in str(refused) or "unexpected file" in str(refused), name
