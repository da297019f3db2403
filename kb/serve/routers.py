"""Routers other modules add to the service, each a `RouterFactory(context) -> APIRouter`.

The FHIR endpoint (`POST /fhir/match`: a Genomics Reporting Bundle in, therapeutic implications
out) goes here once its module exists; it reads the current release from `context.holder`
per request and guards itself with `context.require_token`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kb.serve.app import RouterFactory

ROUTERS: Sequence[RouterFactory] = ()
