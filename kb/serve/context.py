"""What route modules share with the app: the request refusal, the context each router factory
gets (configuration, release holder, guards) and the factory type. Kept apart from kb.serve.app
so that routers plugging into the app need not import it (no import circle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request

from kb.serve.auth import CdsAuth, TokenCheck
from kb.serve.config import ServeConfig
from kb.serve.releases import ReleaseHolder


class RequestError(Exception):
    """A request the service refuses with a 4xx and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ServeContext:
    """What route modules get: the configuration, the release holder and the guards."""

    config: ServeConfig
    holder: ReleaseHolder
    tokens: TokenCheck
    cds_auth: CdsAuth

    def require_token(self, request: Request) -> None:
        """Refuse (401) unless the request carries a configured /match bearer token."""
        self.tokens.check(request.headers.get("authorization"))

    async def json_body(self, request: Request) -> Any:
        """The request body parsed as JSON (size and content type were checked by the Guard)."""
        body = await request.body()
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestError(400, f"body is not JSON: {exc.msg}") from None


RouterFactory = Callable[[ServeContext], APIRouter]
