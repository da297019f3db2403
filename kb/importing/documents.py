"""Text documents an import reads (CTML, KB records files): JSON or YAML, read as untrusted.

A document file is size-capped, must be UTF-8 without NUL bytes, and YAML is read without
anchors and aliases — the way a few hundred bytes expand into billions of nodes ("billion
laughs"). Every problem is a `SourceError` naming the file and, where known, the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kb.importing.limits import DEFAULT_LIMITS, check_size, fail
from kb.importing.model import SourceError


class NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: none of our documents needs them."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not accepted", self.get_mark()
            )
        return super().compose_node(parent, index)


# libyaml where this PyYAML has it: the pure-Python reader is ten times slower.
_FastLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose_yaml(text: str, file: str) -> yaml.Node | None:
    """The node tree of a one-document YAML text (nodes carry their line numbers). Aliases are
    refused by an event scan first, so no expansion can happen; both passes run in libyaml."""
    try:
        for event in yaml.parse(text, Loader=_FastLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise fail(file, "bad_yaml", "YAML aliases (*name) are not accepted", row=line)
        return yaml.compose(text, Loader=_FastLoader)
    except yaml.YAMLError as exc:
        raise yaml_failure(file, exc) from None
    except RecursionError:
        raise fail(file, "too_deep", "the document is nested too deeply") from None


def construct(node: yaml.Node) -> Any:
    """Plain data (safe types only) from a composed node."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_text(path: Path, *, what: str) -> str:
    """The file's text; `what` names the kind of file in errors ("a CTML text file")."""
    name = path.name
    check_size(path, name, DEFAULT_LIMITS)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(name, "unreadable", f"cannot read the file: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise fail(name, "bad_encoding", f"byte {exc.start} (line {line}) is not UTF-8") from None
    if "\x00" in text:
        raise fail(name, "not_text", f"the file holds NUL bytes; it is not {what}")
    return text


def yaml_failure(file: str, exc: yaml.YAMLError) -> SourceError:
    """A located error for YAML that does not parse."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return fail(
        file, "bad_yaml", f"not valid YAML{where}: {problem}", row=mark.line + 1 if mark else None
    )
