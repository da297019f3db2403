"""Record diffs and their clinical categories."""

from __future__ import annotations

import copy
import json
from typing import Any

from kb.review.diff import (
    CATEGORIES,
    categorise,
    changes_document,
    diff_records,
    diff_snapshots,
    index_records,
)


def entry(human_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": human_id, "uuid": f"uuid-{human_id}", "fields": fields}


def assertion(human_id: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "expression": "BX-00001",
        "therapy": "TX-00001",
        "tumour_types": ["NSCLC"],
        "excluded_tumour_types": [],
        "implication": "sensitive",
        "evidence_level": "2",
        "description": "",
    }
    fields.update(overrides)
    return entry(human_id, **fields)


def kb(*entries: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    index: dict[str, dict[str, dict[str, Any]]] = {}
    for item in entries:
        rtype = {
            "AS": "assertion",
            "TX": "therapy",
            "TH": "threshold",
            "TR": "trial",
            "TA": "trial_arm",
            "GN": "gene",
        }[item["id"][:2]]
        index.setdefault(rtype, {})[item["id"]] = item
    return index


OLD = kb(
    assertion("AS-00001", evidence_level="2"),
    assertion("AS-00002", evidence_level="3A"),
    assertion("AS-00003", evidence_level="4"),
    assertion("AS-00004", tumour_types=["NSCLC"], description="old words"),
    assertion("AS-00005"),
    entry("TX-00001", name="Osimertinib", drugs=["DR-00001"]),
    entry("TX-00002", name="Gefitinib", drugs=["DR-00002"]),
    entry("TH-00001", metric="TMB", operator=">=", value="10", unit="mut/Mb"),
    entry("TR-00001", nct_id="NCT00000001", status="RECRUITING", title="A"),
    entry("TA-00001", trial="TR-00001", code="A", suspended=False, tumour_types=["MEL"]),
    entry("GN-00001", symbol="EGFR", aliases=[]),
)
NEW = kb(
    assertion("AS-00001", evidence_level="1"),
    assertion("AS-00002", evidence_level="3B"),
    assertion("AS-00003", evidence_level="R1"),
    assertion("AS-00004", tumour_types=["NSCLC", "LUAD"], description="new words"),
    assertion("AS-00006"),
    entry("TX-00001", name="Osimertinib", drugs=["DR-00001"]),
    entry("TX-00003", name="Amivantamab", drugs=["DR-00003"]),
    entry("TH-00001", metric="TMB", operator=">=", value="16", unit="mut/Mb"),
    entry("TR-00001", nct_id="NCT00000001", status="ACTIVE_NOT_RECRUITING", title="A"),
    entry("TA-00001", trial="TR-00001", code="A", suspended=True, tumour_types=["MEL"]),
    entry("GN-00001", symbol="EGFR", aliases=["ERBB1"]),
)


def test_diff_records_by_record_and_field() -> None:
    diff = diff_records(OLD, NEW)
    assertions = diff.types["assertion"]
    assert assertions.added == ["AS-00006"]
    assert assertions.removed == ["AS-00005"]
    assert [change["id"] for change in assertions.changed] == [
        "AS-00001",
        "AS-00002",
        "AS-00003",
        "AS-00004",
    ]
    assert assertions.changed[3]["fields"] == {
        "description": {"old": "old words", "new": "new words"},
        "tumour_types": {"old": ["NSCLC"], "new": ["NSCLC", "LUAD"]},
    }
    assert diff.types["therapy"].added == ["TX-00003"]
    assert diff.types["therapy"].removed == ["TX-00002"]
    assert not diff.empty

    data = diff.as_json()
    assert json.loads(json.dumps(data)) == data  # JSON-ready as it is
    assert set(data) == set(OLD) | set(NEW)
    assert data["gene"]["changed"] == [
        {"id": "GN-00001", "fields": {"aliases": {"old": [], "new": ["ERBB1"]}}}
    ]

    text = diff.text()
    assert "assertion: 1 added, 1 removed, 4 changed" in text
    assert "  + AS-00006" in text and "  - AS-00005" in text
    assert '      evidence_level: "2" → "1"' in text


def test_identical_inputs_and_reused_ids() -> None:
    assert diff_records(OLD, copy.deepcopy(OLD)).empty
    assert diff_records(OLD, OLD).text() == "no differences"
    # A human id that now names another record (another uuid) is a removal and an addition.
    reborn = copy.deepcopy(OLD)
    reborn["gene"]["GN-00001"]["uuid"] = "another"
    genes = diff_records(OLD, reborn).types["gene"]
    assert genes.added == genes.removed == ["GN-00001"] and genes.changed == []


def test_categories() -> None:
    diff = diff_records(OLD, NEW)
    items = categorise(diff, OLD, NEW)
    found = {(item["category"], item["id"]) for item in items}
    assert {
        ("new_assertion", "AS-00006"),
        ("assertion_removed", "AS-00005"),
        ("level_promoted", "AS-00001"),
        ("level_demoted", "AS-00002"),
        ("therapy_added", "TX-00003"),
        ("therapy_removed", "TX-00002"),
        ("threshold_changed", "TH-00001"),
        ("trial_status_changed", "TR-00001"),
        ("trial_status_changed", "TA-00001"),
        ("tumour_scope_changed", "AS-00004"),
        ("other_change", "AS-00004"),
        ("other_change", "GN-00001"),
        # 4 -> R1 changes the scale, so it is neither a promotion nor a demotion.
        ("other_change", "AS-00003"),
    } == found

    by_key = {(item["category"], item["id"]): item for item in items}
    assert by_key["level_promoted", "AS-00001"] == {
        "category": "level_promoted",
        "type": "assertion",
        "id": "AS-00001",
        "old": "2",
        "new": "1",
    }
    assert by_key["threshold_changed", "TH-00001"]["old"] == "TMB >= 10 mut/Mb"
    assert by_key["threshold_changed", "TH-00001"]["new"] == "TMB >= 16 mut/Mb"
    assert by_key["trial_status_changed", "TR-00001"]["new"] == "ACTIVE_NOT_RECRUITING"
    assert by_key["trial_status_changed", "TA-00001"]["new"] == "suspended"
    assert by_key["therapy_removed", "TX-00002"]["old"] == "Gefitinib"
    # Fields a specific category claimed are not repeated as other changes.
    assert by_key["other_change", "AS-00004"]["fields"] == ["description"]
    assert by_key["other_change", "AS-00003"]["fields"] == ["evidence_level"]
    # Sorted by category order, then type and id.
    order = [CATEGORIES.index(item["category"]) for item in items]
    assert order == sorted(order)


def test_changes_document() -> None:
    document = changes_document(OLD, NEW, from_release_digest="ab" * 32)
    assert document["from_release_digest"] == "ab" * 32
    assert list(document["summary"]) == list(CATEGORIES)
    assert document["summary"]["level_promoted"] == 1
    assert document["summary"]["trial_status_changed"] == 2
    assert sum(document["summary"].values()) == len(document["categories"])

    first = changes_document(None, NEW, from_release_digest=None)
    assert first["categories"] == [] and set(first["summary"].values()) == {0}
    assert all(
        lists == {"added": [], "removed": [], "changed": []} for lists in first["records"].values()
    )


def test_diff_snapshots_takes_the_json_form() -> None:
    old = {"records": {"assertion": [assertion("AS-00001")]}}
    new = {"records": {"assertion": [assertion("AS-00001", evidence_level="1")]}}
    diff = diff_snapshots(old, new)
    assert diff.types["assertion"].changed[0]["fields"]["evidence_level"] == {
        "old": "2",
        "new": "1",
    }
    assert index_records(new["records"])["assertion"]["AS-00001"] is new["records"]["assertion"][0]


def test_many_records() -> None:
    old = {"assertion": {f"AS-{i:06d}": assertion(f"AS-{i:06d}") for i in range(20_000)}}
    new = {"assertion": dict(old["assertion"])}
    for i in range(0, 20_000, 20):
        human_id = f"AS-{i:06d}"
        new["assertion"][human_id] = assertion(human_id, evidence_level="1")
    diff = diff_records(old, new)
    assert len(diff.types["assertion"].changed) == 1000
    assert len(categorise(diff, old, new)) == 1000
