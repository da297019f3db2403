"""Biomarker expressions: AND / OR / NOT trees over biomarkers and thresholds.

A tree is plain data: a leaf `{"biomarker": "BM-00001", "threshold": "TH-00002"}` (threshold
optional) or a node `{"op": "AND" | "OR" | "NOT", "args": [...]}`. In the database it is a list
of rows in pre-order with their depth. Its canonical text (`ERBB2 IHC >= 3+ OR (ERBB2 IHC == 2+
AND ERBB2 ISH_RATIO >= 2.0)`) is derived, never edited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kb.model.enums import ExpressionOp

Tree = dict[str, Any]
MAX_DEPTH = 32


class TreeError(ValueError):
    """A malformed expression tree; `path` locates the node (e.g. "args[1].args[0]")."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or 'root'}: {message}")
        self.path = path
        self.message = message


EXPECTED_TREE = (
    'a leaf {"biomarker": ID, "threshold": ID (optional)}'
    ' or {"op": "AND"|"OR"|"NOT", "args": [...]}'
    " (NOT takes exactly one argument, AND/OR at least two)"
)


def check_tree(tree: object, path: str = "", depth: int = 0) -> Tree:
    """Return `tree` if it is well formed, else raise TreeError naming the node."""
    if depth > MAX_DEPTH:
        raise TreeError(path, f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(tree, dict):
        raise TreeError(path, f"expected an object, got {type(tree).__name__}")
    if "op" in tree:
        op = tree["op"]
        if op not in ("AND", "OR", "NOT"):
            raise TreeError(path, f"unknown operator {op!r}")
        args = tree.get("args")
        if not isinstance(args, list):
            raise TreeError(path, "an operator needs a list 'args'")
        if op == "NOT" and len(args) != 1:
            raise TreeError(path, "NOT takes exactly one argument")
        if op != "NOT" and len(args) < 2:
            raise TreeError(path, f"{op} needs at least two arguments")
        extra = set(tree) - {"op", "args"}
        if extra:
            raise TreeError(path, f"unexpected keys {sorted(extra)}")
        for index, arg in enumerate(args):
            check_tree(arg, f"{path}.args[{index}]".lstrip("."), depth + 1)
        return tree
    biomarker = tree.get("biomarker")
    if not isinstance(biomarker, str) or not biomarker:
        raise TreeError(path, "a leaf needs a 'biomarker'")
    threshold = tree.get("threshold")
    if threshold is not None and not isinstance(threshold, str):
        raise TreeError(path, "'threshold' must be an id")
    extra = set(tree) - {"biomarker", "threshold"}
    if extra:
        raise TreeError(path, f"unexpected keys {sorted(extra)}")
    return tree


@dataclass(frozen=True, slots=True)
class FlatNode:
    ordinal: int
    depth: int
    op: ExpressionOp
    biomarker: str | None
    threshold: str | None


def flatten(tree: Tree) -> list[FlatNode]:
    """The tree in pre-order with depths: how it is stored."""
    out: list[FlatNode] = []

    def walk(node: Tree, depth: int) -> None:
        if "op" in node:
            out.append(FlatNode(len(out), depth, ExpressionOp(node["op"]), None, None))
            for arg in node["args"]:
                walk(arg, depth + 1)
        else:
            out.append(
                FlatNode(
                    len(out), depth, ExpressionOp.LEAF, node["biomarker"], node.get("threshold")
                )
            )

    walk(tree, 0)
    return out


def unflatten(nodes: list[FlatNode]) -> Tree:
    """Rebuild a tree from its pre-order rows."""
    if not nodes:
        raise TreeError("", "an expression needs at least one biomarker")
    iterator = iter(sorted(nodes, key=lambda node: node.ordinal))
    first = next(iterator)
    root = _node(first)
    if first.op is ExpressionOp.LEAF:
        if next(iterator, None) is not None:
            raise TreeError("", "stored nodes do not form one tree")
        return root
    stack = [(first.depth, root)]
    for node in iterator:
        while stack and stack[-1][0] >= node.depth:
            stack.pop()
        if not stack:
            raise TreeError("", "stored nodes do not form one tree")
        built = _node(node)
        stack[-1][1]["args"].append(built)
        if node.op is not ExpressionOp.LEAF:
            stack.append((node.depth, built))
    return root


def _node(node: FlatNode) -> Tree:
    if node.op is ExpressionOp.LEAF:
        leaf: Tree = {"biomarker": node.biomarker}
        if node.threshold:
            leaf["threshold"] = node.threshold
        return leaf
    return {"op": node.op.value, "args": []}


def leaves(tree: Tree) -> Iterator[Tree]:
    if "op" in tree:
        for arg in tree["args"]:
            yield from leaves(arg)
    else:
        yield tree


def render(tree: Tree, leaf_text: Callable[[Tree], str]) -> str:
    """Canonical text: operators upper case, parentheses only where precedence needs them."""
    if "op" not in tree:
        return leaf_text(tree)
    op = tree["op"]
    if op == "NOT":
        inner = tree["args"][0]
        text = render(inner, leaf_text)
        return f"NOT ({text})" if "op" in inner else f"NOT {text}"
    parts = []
    for arg in tree["args"]:
        text = render(arg, leaf_text)
        parts.append(f"({text})" if arg.get("op") in ("AND", "OR") and arg["op"] != op else text)
    return f" {op} ".join(parts)


def map_ids(tree: Tree, biomarkers: Mapping[str, str], thresholds: Mapping[str, str]) -> Tree:
    """A copy of `tree` with its ids translated (e.g. UUID to human id)."""
    if "op" in tree:
        return {
            "op": tree["op"],
            "args": [map_ids(a, biomarkers, thresholds) for a in tree["args"]],
        }
    leaf: Tree = {"biomarker": biomarkers[tree["biomarker"]]}
    if tree.get("threshold"):
        leaf["threshold"] = thresholds[tree["threshold"]]
    return leaf
