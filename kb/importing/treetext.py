"""Expression trees as one line of ids, for spreadsheet cells: `BM-00001 AND (BM-00002[TH-00003]
OR NOT BM-00004)`.

A leaf is a biomarker id with an optional threshold id in brackets; operators are AND, OR, NOT
(any case); every nested AND/OR is written in parentheses, so the text maps back to exactly the
same tree (`A AND (B AND C)` and `A AND B AND C` are different trees and stay different).
Mixing AND and OR without parentheses is refused rather than guessed. A cell starting with `{`
is read as the JSON form instead. Ids may be any token other than the operators, so an import
can name records it creates (see kb/importing/template.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from kb.model.expression import Tree

_TOKEN = re.compile(r"\s*(?:(\()|(\))|([^\s()\[\]]+)(?:\[([^\s()\[\]]+)\])?)")
_OPERATORS = {"AND", "OR", "NOT"}


class TreeTextError(ValueError):
    """A cell that is not an expression; the message says where and why."""


def render_ids(tree: Tree) -> str:
    """The one-line id form of a tree (references as they are in the tree)."""
    if "op" not in tree:
        threshold = tree.get("threshold")
        return f"{tree['biomarker']}[{threshold}]" if threshold else str(tree["biomarker"])
    if tree["op"] == "NOT":
        inner = tree["args"][0]
        text = render_ids(inner)
        return f"NOT ({text})" if "op" in inner else f"NOT {text}"
    parts = []
    for arg in tree["args"]:
        text = render_ids(arg)
        parts.append(f"({text})" if "op" in arg and arg["op"] != "NOT" else text)
    return f" {tree['op']} ".join(parts)


def parse_ids(text: str) -> Tree:
    """Read the id form (or JSON, if the text starts with "{") into a tree of plain strings."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value: Any = json.loads(stripped)
        except ValueError as exc:
            raise TreeTextError(f"not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise TreeTextError("the JSON form must be an object")
        return value
    tokens = _tokens(stripped)
    if not tokens:
        raise TreeTextError("empty expression")
    parser = _Parser(tokens)
    tree = parser.expression()
    if parser.position != len(tokens):
        raise TreeTextError(f"unexpected {parser.describe()}")
    return tree


def _tokens(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip() == "":
                break
            raise TreeTextError(f"cannot read {text[position:].strip()[:20]!r}")
        position = match.end()
        if match[1]:
            out.append(("(", None))
        elif match[2]:
            out.append((")", None))
        else:
            word = match[3]
            if word.upper() in _OPERATORS and match[4] is None:
                out.append((word.upper(), None))
            else:
                out.append(("ID", word if match[4] is None else f"{word}\x00{match[4]}"))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str | None]]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def describe(self) -> str:
        kind = self.peek()
        if kind is None:
            return "end of expression"
        value = self.tokens[self.position][1]
        return repr(
            value.replace("\x00", "[") + "]" if value and "\x00" in value else value or kind
        )

    def expression(self) -> Tree:
        first = self.unary()
        op = self.peek()
        if op not in ("AND", "OR"):
            return first
        args = [first]
        while self.peek() == op:
            self.position += 1
            args.append(self.unary())
        if self.peek() in ("AND", "OR"):
            raise TreeTextError("mixing AND and OR needs parentheses to say which comes first")
        return {"op": op, "args": args}

    def unary(self) -> Tree:
        kind = self.peek()
        if kind == "NOT":
            self.position += 1
            return {"op": "NOT", "args": [self.unary()]}
        if kind == "(":
            self.position += 1
            inner = self.expression()
            if self.peek() != ")":
                raise TreeTextError(f"expected ')' but found {self.describe()}")
            self.position += 1
            return inner
        if kind == "ID":
            value = self.tokens[self.position][1] or ""
            self.position += 1
            biomarker, _, threshold = value.partition("\x00")
            leaf: Tree = {"biomarker": biomarker}
            if threshold:
                leaf["threshold"] = threshold
            return leaf
        raise TreeTextError(f"expected a biomarker id but found {self.describe()}")
