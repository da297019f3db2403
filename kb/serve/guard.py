"""An ASGI middleware in front of every route: body size limits, JSON content types, metrics,
and an error body for whatever it refuses. Pure ASGI (not Starlette's BaseHTTPMiddleware,
which costs a task and a stream copy per request)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from kb.serve.metrics import LATENCY, REQUESTS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_TYPES = ("application/json", "application/fhir+json")
_ROUTES = (
    "/match", "/release", "/healthz", "/metrics", "/cds-services", "/fhir/match", "/outcomes",
)  # fmt: skip


class BodyTooLarge(Exception):
    pass


def route_label(path: str) -> str:
    """A bounded label for metrics: the route template, never the raw path."""
    if path in _ROUTES:
        return path
    if path.startswith("/cds-services/"):
        return "/cds-services/{id}"
    return "other"


async def send_error(send: Send, status: int, reason: str) -> None:
    body = orjson.dumps({"error": reason, "status": status})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Guard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = route_label(scope.get("path", ""))
        status = 500
        response_started = False

        async def counting_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal:
                status = refusal[0]
                await send_error(send, *refusal)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise BodyTooLarge
                return message

            await self.app(scope, limited_receive, counting_send)
        except BodyTooLarge:
            status = 413
            if not response_started:
                await send_error(send, 413, f"request body over {self.max_body} bytes")
        finally:
            REQUESTS.labels(route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        if scope.get("method") not in ("POST", "PUT", "PATCH"):
            return None
        headers = dict(scope.get("headers") or ())
        length = headers.get(b"content-length")
        if length is not None:
            try:
                if int(length) > self.max_body:
                    return 413, f"request body over {self.max_body} bytes"
            except ValueError:
                return 400, "Content-Length is not a number"
        kind = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if kind.decode("latin-1") not in JSON_TYPES:
            return 415, "send JSON: Content-Type application/json (or application/fhir+json)"
        return None
