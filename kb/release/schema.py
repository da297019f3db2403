"""The JSON Schema (draft 2020-12) of a release's kb.json.

The schema is derived from the record field specs (`kb.model.records.SPECS`) and the controlled
vocabularies, so it cannot drift from what the KB stores. `kb.schema.json` beside this module is
the same schema checked in, so that a change to the public format shows up in review; a test
keeps the two equal (regenerate it with `python -m kb.release.schema`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kb.model.enums import HUMAN_ID_PREFIX, RecordType
from kb.model.records import SPECS, FieldSpec
from kb.storage.snapshot import SNAPSHOT_FORMAT

SCHEMA_FILE = Path(__file__).with_name("kb.schema.json")
SCHEMA_ID = "https://kb-curator.dev/schemas/kb/1"
RELEASE_VERSION_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.-]+)?$"
_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_CODE = "^[A-Z0-9][A-Z0-9_/-]*$"
_DATE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _id_pattern(rtype: RecordType) -> str:
    return f"^{HUMAN_ID_PREFIX[rtype]}-[0-9]{{5,}}$"


def _nullable(schema: dict[str, Any], required: bool) -> dict[str, Any]:
    if required:
        return schema
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    match spec.kind:
        case "str" | "text":
            base: dict[str, Any] = {"type": "string"}
            if spec.required:
                base["minLength"] = 1
        case "int":
            base = {"type": "integer"}
        case "bool":
            base = {"type": "boolean"}
        case "enum":
            assert spec.enum is not None
            base = {"enum": [member.value for member in spec.enum]}
        case "date":
            base = {"type": "string", "pattern": _DATE}
        case "protein":
            base = {"type": "string", "pattern": "^p\\."}
        case "ref":
            assert spec.ref is not None
            base = {"type": "string", "pattern": _id_pattern(spec.ref)}
        case "refs":
            assert spec.ref is not None
            # Lists are never null: an empty list says "none".
            return {"type": "array", "items": {"type": "string", "pattern": _id_pattern(spec.ref)}}
        case "codes":
            return {"type": "array", "items": {"$ref": "#/$defs/tumour_code"}}
        case "strings":
            return {"type": "array", "items": {"type": "string"}}
        case "tree":
            return {"$ref": "#/$defs/tree"}
    return _nullable(base, spec.required)


def _record_schema(rtype: RecordType) -> dict[str, Any]:
    specs = SPECS[rtype]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "uuid", "fields"],
        "properties": {
            "id": {"type": "string", "pattern": _id_pattern(rtype)},
            "uuid": {"type": "string", "pattern": _UUID},
            "fields": {
                "type": "object",
                "additionalProperties": False,
                # Only required fields must be present: a record last saved before an optional
                # field existed lacks that key, and is still valid.
                "required": [spec.name for spec in specs if spec.required],
                "properties": {spec.name: _field_schema(spec) for spec in specs},
            },
        },
    }


def _tree_schema() -> dict[str, Any]:
    node = {"$ref": "#/$defs/tree"}
    return {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["biomarker"],
                "properties": {
                    "biomarker": {"type": "string", "pattern": _id_pattern(RecordType.BIOMARKER)},
                    "threshold": {"type": "string", "pattern": _id_pattern(RecordType.THRESHOLD)},
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["op", "args"],
                "properties": {
                    "op": {"enum": ["AND", "OR"]},
                    "args": {"type": "array", "minItems": 2, "items": node},
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["op", "args"],
                "properties": {
                    "op": {"const": "NOT"},
                    "args": {"type": "array", "minItems": 1, "maxItems": 1, "items": node},
                },
            },
        ]
    }


def build_kb_schema() -> dict[str, Any]:
    """The JSON Schema of kb.json, generated from the record specs."""
    types = list(RecordType)
    defs: dict[str, Any] = {
        "tumour_code": {"type": "string", "pattern": _CODE},
        "tree": _tree_schema(),
        "tumour_type": {
            "type": "object",
            "additionalProperties": False,
            "required": ["code", "name", "main_type", "tissue", "parent", "level"],
            "properties": {
                "code": {"$ref": "#/$defs/tumour_code"},
                "name": {"type": "string"},
                "main_type": {"type": ["string", "null"]},
                "tissue": {"type": ["string", "null"]},
                "parent": {"type": ["string", "null"]},
                "level": {"type": ["integer", "null"]},
            },
        },
    }
    defs.update({rtype.value: _record_schema(rtype) for rtype in types})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "KB Curator knowledge base release (kb.json)",
        "description": (
            "The whole knowledge base at one KB version: every curated record by type, with "
            "references between records as human ids (e.g. BM-00042), and the OncoTree tumour "
            "types it uses. Decimals are strings; the file is RFC 8785 canonical JSON."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": [
            "format",
            "kb_id",
            "kb_version",
            "vocabularies",
            "tumour_types",
            "records",
        ],
        "properties": {
            "format": {"const": SNAPSHOT_FORMAT},
            "kb_id": {"type": "string", "minLength": 1},
            "kb_version": {"type": "integer", "minimum": 0},
            "vocabularies": {"type": "object", "additionalProperties": {"type": "string"}},
            "tumour_types": {"type": "array", "items": {"$ref": "#/$defs/tumour_type"}},
            "records": {
                "type": "object",
                "additionalProperties": False,
                "required": [rtype.value for rtype in types],
                "properties": {
                    rtype.value: {"type": "array", "items": {"$ref": f"#/$defs/{rtype.value}"}}
                    for rtype in types
                },
            },
        },
        "$defs": defs,
    }


def schema_bytes() -> bytes:
    """The schema as written to kb.schema.json and to each release: indented, final newline."""
    return (json.dumps(build_kb_schema(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


if __name__ == "__main__":
    SCHEMA_FILE.write_bytes(schema_bytes())
    print(f"wrote {SCHEMA_FILE}")
