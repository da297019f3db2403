"""`POST /outcomes`: systems that treated patients report back what happened (issue 15).

The service holds a verified release, not a KB database, so it does not import: it checks each
report-back at the door and spools it for the KB (kb.outcomes.spool). A body is a FHIR R4
Bundle (read as `kb outcomes import BUNDLE.json` reads one; the reporting site as `?site=`) or
`{"site": ..., "records": [{...}]}` in the record form `import_records` takes. Identifier keys,
identifier text, or a Patient resource carrying a name, identifier, birth date, address or
telecom are refused with 422 and the located reasons (never the values), and nothing is
written. Otherwise the patient ids are replaced by their keyed hashes and the dates shifted
with the KB's outcomes key, and the records are written as one spool file, atomically; the
answer is 202 with the file's name. `kb outcomes drain SPOOL` takes the files into the KB.

Authenticated like /match (a configured bearer token). Configured by `outcomes_spool` (the
folder) and the key: `outcomes_key_file`, else KB_OUTCOMES_KEY or KB_OUTCOMES_KEY_FILE. Without
`outcomes_spool` there is no route (404); with it but no key, the service does not start.
Nothing about a report-back is logged but its count of episodes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from kb.errors import KbError
from kb.outcomes.keys import ENV_KEY, ENV_KEY_FILE, OutcomeKey
from kb.outcomes.spool import DoorRefused, pseudonymise, records_at_door, write_spool
from kb.serve.config import ConfigError

if TYPE_CHECKING:
    from kb.serve.config import ServeConfig
    from kb.serve.context import ServeContext

log = logging.getLogger("kb.serve")


def service_key(config: ServeConfig) -> OutcomeKey:
    """The outcomes key the service pseudonymises with; ConfigError if there is none."""
    try:
        if config.outcomes_key_file:
            return OutcomeKey.read(Path(config.outcomes_key_file))
        if os.environ.get(ENV_KEY):
            return OutcomeKey.from_hex(os.environ[ENV_KEY], where=ENV_KEY)
        if os.environ.get(ENV_KEY_FILE):
            return OutcomeKey.read(Path(os.environ[ENV_KEY_FILE]))
    except KbError as exc:
        raise ConfigError(f"outcomes key: {exc}") from None
    raise ConfigError(
        f"outcomes_spool needs the KB's outcomes key: outcomes_key_file, {ENV_KEY} or "
        f"{ENV_KEY_FILE}"
    )


def outcomes_router(context: ServeContext) -> APIRouter:
    router = APIRouter()
    if not context.config.outcomes_spool:
        return router
    folder = Path(context.config.outcomes_spool)
    key = service_key(context.config)

    @router.post("/outcomes")
    async def outcomes(request: Request, site: str | None = None) -> Response:
        context.require_token(request)
        payload = await context.json_body(request)
        try:
            records = records_at_door(payload, site=site, source="report")
            records = pseudonymise(records, key, source="report")
        except DoorRefused as exc:
            body = {
                "error": "refused at the door; nothing was stored",
                "status": 422,
                "errors": [error.as_json() for error in exc.errors],
            }
            return Response(orjson.dumps(body), status_code=422, media_type="application/json")
        path = await run_in_threadpool(write_spool, folder, records, key=key)
        log.info("outcomes: spooled %d episode(s) as %s", len(records), path.name)
        answer = {
            "status": "accepted",
            "episodes": len(records),
            "spool_file": path.name,
            "key_fingerprint": key.fingerprint,
        }
        return Response(orjson.dumps(answer), status_code=202, media_type="application/json")

    return router
