"""Reading a patient's resources from the EHR's FHIR server when a CDS request came without
prefetch (CDS Hooks 2.0: `fhirServer` with the `fhirAuthorization` bearer token)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from kb.errors import KbError


class FhirServerError(KbError):
    """The EHR's FHIR server could not give what the service needs."""


QUERIES = {
    "patient": "Patient/{id}",
    "conditions": "Condition?patient={id}",
    "observations": "Observation?patient={id}&category=laboratory",
}
MAX_PAGES = 10


def fetch(
    server: str,
    token: str,
    patient_id: str,
    keys: Iterable[str],
    *,
    timeout: float,
    max_bytes: int,
) -> dict[str, Any]:
    """The resources the prefetch templates name, read from `server` (a Bundle per search,
    following `next` links up to MAX_PAGES pages)."""
    base = server.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    out: dict[str, Any] = {}
    with httpx.Client(timeout=timeout, headers=headers, follow_redirects=False) as client:
        for key in keys:
            url: str | None = f"{base}/{QUERIES[key].format(id=quote(patient_id, safe=''))}"
            entries: list[Any] = []
            first: Any = None
            for _page in range(MAX_PAGES):
                if url is None:
                    break
                document = _get(client, url, max_bytes)
                if first is None:
                    first = document
                if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
                    break
                entries.extend(document.get("entry") or [])
                url = next(
                    (
                        link.get("url")
                        for link in document.get("link") or []
                        if isinstance(link, dict) and link.get("relation") == "next"
                    ),
                    None,
                )
                if url is not None and not str(url).startswith(base):
                    raise FhirServerError("the FHIR server's next link leaves the server")
            if isinstance(first, dict) and first.get("resourceType") == "Bundle":
                out[key] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
            else:
                out[key] = first
    return out


def _get(client: httpx.Client, url: str, max_bytes: int) -> Any:
    try:
        with client.stream("GET", url) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise FhirServerError(f"the FHIR server answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FhirServerError(f"the FHIR server sent over {max_bytes} bytes")
    except httpx.HTTPError as exc:
        raise FhirServerError(f"the FHIR server could not be read ({type(exc).__name__})") from None
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        raise FhirServerError("the FHIR server sent something that is not JSON") from None
