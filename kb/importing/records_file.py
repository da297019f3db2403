"""KB records as one YAML (or JSON) document: content that reviews as a diff (the demo KB ships
this way; a team can keep reference content the same way).

    format: kb-curator-records/1
    records:
      gene:
      - key: EGFR
        symbol: EGFR
        hgnc_id: HGNC:3236
      biomarker:
      - key: EGFR_L858R
        kind: sequence_variant
        gene: EGFR              # the key of a record in this file, or one the KB has
        protein_change: p.L858R
      expression:
      - key: EX_EGFR
        tree: EGFR_L858R OR EGFR_EX19DEL   # or the JSON form of the tree

Record types are those of `kb.model.records.SPECS`, fields are their fields. Every record has
a `key`, unique among records of its type in the file, by which other records of the file refer
to it; a reference that is no key of the file names a record the KB already has (its human id,
or its natural key: gene symbol, drug or therapy name, NCT id, "pmid:123"). A record may carry
the `id` of an existing KB record to update it. Errors are located by line and path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from kb.importing.documents import compose_yaml, construct, read_text
from kb.importing.limits import fail
from kb.importing.model import ImportError_, Location, ProposedRecord, Ref, SourceRow
from kb.importing.treetext import TreeTextError, parse_ids
from kb.model.enums import RecordType
from kb.model.records import SPECS

FORMAT = "kb-curator-records/1"

_SPECS = {rtype: {spec.name: spec for spec in specs} for rtype, specs in SPECS.items()}
_RESERVED = ("key", "id")


def records_adapter(path: Path) -> Iterator[SourceRow]:
    """Read a KB records file: one SourceRow per record, in file order."""
    name = path.name
    text = read_text(path, what="a KB records file")
    root = compose_yaml(text, name)
    data = construct(root) if root is not None else None
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise fail(name, "not_records", f"expected a mapping with format: {FORMAT} and records")
    if data.get("format") != FORMAT:
        raise fail(
            name,
            "unknown_format",
            f"the document's format is {data.get('format')!r}; expected {FORMAT!r}",
            row=_line(_child(root, "format") or root),
        )
    records = data.get("records")
    records_node = _child(root, "records")
    if not isinstance(records, dict) or not isinstance(records_node, yaml.MappingNode):
        raise fail(name, "no_records", "expected `records:`, a mapping of record type to a list")
    unknown = sorted(str(key) for key in data if key not in ("format", "records"))
    if unknown:
        raise fail(name, "unknown_key", f"unknown top-level key(s) {', '.join(unknown)}")

    # Every key of the file first, so a reference can point forwards as well as back.
    keys: dict[RecordType, set[str]] = {}
    entries: list[tuple[RecordType, int, Any, yaml.Node]] = []
    for type_node, items_node in records_node.value:
        type_name = type_node.value
        try:
            rtype = RecordType(type_name)
        except ValueError:
            raise fail(
                name,
                "unknown_type",
                f"unknown record type {type_name!r}; expected one of "
                + ", ".join(r.value for r in RecordType),
                row=_line(type_node),
            ) from None
        items = records[type_name]
        if not isinstance(items, list) or not isinstance(items_node, yaml.SequenceNode):
            raise fail(name, "not_a_list", f"records.{rtype} must be a list", row=_line(items_node))
        for index, (item, item_node) in enumerate(zip(items, items_node.value, strict=True)):
            entries.append((rtype, index, item, item_node))
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                keys.setdefault(rtype, set()).add(item["key"])

    seen: set[tuple[RecordType, str]] = set()
    for rtype, index, item, node in entries:
        yield _record(name, rtype, index, item, node, keys, seen)


def _record(  # noqa: PLR0917 - one record's whole context, called from one place
    file: str,
    rtype: RecordType,
    index: int,
    item: Any,
    node: yaml.Node,
    keys: Mapping[RecordType, set[str]],
    seen: set[tuple[RecordType, str]],
) -> SourceRow:
    path = f"records.{rtype}[{index}]"
    location = Location(file, None, _line(node), path)
    errors: list[ImportError_] = []

    def error(field: str | None, code: str, message: str, value: Any = None) -> None:
        column = f"{path}.{field}" if field else path
        row = _line(_child(node, field) or node) if field else location.row
        errors.append(ImportError_(Location(file, None, row, column), field, code, message, value))

    if not isinstance(item, dict):
        error(None, "not_a_record", f"a {rtype} must be a mapping of field to value")
        return SourceRow(location, errors=tuple(errors))
    key = item.get("key")
    if not isinstance(key, str) or not key.strip():
        error("key", "missing_key", "every record needs a `key` other records can refer to")
        return SourceRow(location, errors=tuple(errors))
    if (rtype, key) in seen:
        error("key", "duplicate_key", f"another {rtype} of this file has the key {key!r}", key)
    seen.add((rtype, key))
    specs = _SPECS[rtype]
    fields: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for field, value in item.items():
        if field in _RESERVED:
            continue
        spec = specs.get(field)
        if spec is None:
            error(
                str(field),
                "unknown_field",
                f"a {rtype} has no field {field!r}; expected one of " + ", ".join(specs),
            )
            continue
        columns[field] = f"{path}.{field}"
        if spec.kind == "ref" and spec.ref is not None:
            fields[field] = _ref(spec.ref, value, keys)
        elif spec.kind == "refs" and spec.ref is not None and isinstance(value, list):
            target = spec.ref
            fields[field] = [_ref(target, one, keys) for one in value]
        elif spec.kind == "tree":
            try:
                fields[field] = _tree(value, keys)
            except TreeTextError as exc:
                error(field, "bad_expression", str(exc), value)
        else:
            fields[field] = value
    human_id = item.get("id")
    if human_id is not None and not isinstance(human_id, str):
        error("id", "bad_id", "`id` names an existing record, e.g. BM-00042", human_id)
        human_id = None
    if errors:
        return SourceRow(location, errors=tuple(errors))
    record = ProposedRecord(
        rtype, _qualified(rtype, key), fields, location, human_id=human_id, columns=columns
    )
    return SourceRow(location, records=(record,))


def _qualified(rtype: RecordType, key: str) -> str:
    return f"{rtype}:{key}"


def _ref(target: RecordType, value: Any, keys: Mapping[RecordType, set[str]]) -> Any:
    if isinstance(value, str) and value in keys.get(target, ()):
        return Ref(_qualified(target, value))
    return value


def _tree(value: Any, keys: Mapping[RecordType, set[str]]) -> Any:
    tree = parse_ids(value) if isinstance(value, str) else value
    return _tree_refs(tree, keys)


def _tree_refs(node: Any, keys: Mapping[RecordType, set[str]]) -> Any:
    if not isinstance(node, dict):
        return node  # the engine says what is wrong with it
    if "op" in node:
        args = node.get("args")
        if isinstance(args, list):
            return {**node, "args": [_tree_refs(arg, keys) for arg in args]}
        return node
    leaf = dict(node)
    for name, rtype in (("biomarker", RecordType.BIOMARKER), ("threshold", RecordType.THRESHOLD)):
        if name in leaf:
            leaf[name] = _ref(rtype, leaf[name], keys)
    return leaf


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node  # type: ignore[no-any-return]
    return None


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1
