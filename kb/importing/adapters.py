"""Which adapter reads a file: `kb import --profile NAME` resolved to the module that knows it.

The registry sits above every adapter module, so none of them needs to know the others.
"""

from __future__ import annotations

from pathlib import Path

from kb.errors import KbError
from kb.importing.civic import assertion_adapter, evidence_adapter
from kb.importing.ctml import ctml_adapter
from kb.importing.engine import Adapter
from kb.importing.profiles import profile_adapter
from kb.importing.records_file import records_adapter
from kb.importing.template import template_adapter

BUILTIN_ADAPTERS: dict[str, Adapter] = {
    "template": template_adapter,
    "civic-evidence": evidence_adapter,
    "civic-assertion": assertion_adapter,
    "ctml": ctml_adapter,
    "kb-records": records_adapter,
}


def adapter_for(profile: str) -> Adapter:
    """The adapter for `kb import --profile`: template, civic-evidence, civic-assertion, ctml,
    kb-records,
    or the path of a TOML profile."""
    if profile in BUILTIN_ADAPTERS:
        return BUILTIN_ADAPTERS[profile]
    path = Path(profile)
    if path.suffix.lower() == ".toml":
        return profile_adapter(path)
    raise KbError(
        f"unknown profile {profile!r}; expected "
        + ", ".join(BUILTIN_ADAPTERS)
        + ", or the path of a .toml mapping profile"
    )
