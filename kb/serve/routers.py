"""Routers other modules add to the service, each a `RouterFactory(context) -> APIRouter`.

Each reads the current release from `context.holder` per request (a swap may happen between
two requests, never within one) and guards itself with `context.require_token`. The FHIR
endpoint (`POST /fhir/match`: a Genomics Reporting Bundle in, therapeutic implications out) is
kb.serve.fhir_route's; `POST /outcomes` (report-backs checked at the door and spooled for
the KB) is kb.serve.outcomes_route's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fastapi import APIRouter

    from kb.serve.context import RouterFactory, ServeContext


def _fhir(context: ServeContext) -> APIRouter:
    # Imported on use: fhir.resources' models load only in a service that routes FHIR.
    from kb.serve.fhir_route import fhir_router

    return fhir_router(context)


def _outcomes(context: ServeContext) -> APIRouter:
    from kb.serve.outcomes_route import outcomes_router

    return outcomes_router(context)


ROUTERS: Sequence[RouterFactory] = (_fhir, _outcomes)
