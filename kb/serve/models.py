"""Request and response models of the HTTP interface (pydantic): what comes in is parsed into
these before anything else looks at it; what goes out is built from them.

CDS Hooks 2.0 objects allow extensions (`extension`) and hooks gain context fields over time, so
unknown fields are kept rather than refused; the fields we use are typed and bounded.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_ID = Field(min_length=1, max_length=512)


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")
    access_token: str = Field(min_length=1, max_length=16_384)
    token_type: Literal["Bearer"]
    expires_in: int | None = None
    scope: str = Field(max_length=4096)
    subject: str = Field(max_length=512)


class PatientViewContext(BaseModel):
    model_config = ConfigDict(extra="allow")
    userId: str = _ID
    patientId: str = _ID
    encounterId: str | None = Field(default=None, max_length=512)


class OrderContext(BaseModel):
    model_config = ConfigDict(extra="allow")
    userId: str = _ID
    patientId: str = _ID
    encounterId: str | None = Field(default=None, max_length=512)
    selections: list[str] = Field(default_factory=list, max_length=1000)
    draftOrders: dict[str, Any]


class CdsRequest(BaseModel):
    """A CDS Hooks 2.0 service request; `context` is checked per hook by the service."""

    model_config = ConfigDict(extra="allow")
    hook: str = Field(min_length=1, max_length=200)
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = Field(default=None, max_length=2048)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class Source(BaseModel):
    label: str
    url: str | None = None
    topic: dict[str, str] | None = None


class Link(BaseModel):
    label: str
    url: str
    type: Literal["absolute", "smart"] = "absolute"


class Action(BaseModel):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None


class Suggestion(BaseModel):
    label: str
    uuid: str
    isRecommended: bool | None = None
    actions: list[Action] = Field(default_factory=list)


class Card(BaseModel):
    uuid: str
    summary: str = Field(max_length=140)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    links: list[Link] | None = None


class CdsResponse(BaseModel):
    cards: list[Card]


class ServiceDescription(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None


class Discovery(BaseModel):
    services: list[ServiceDescription]


class ErrorBody(BaseModel):
    error: str
    status: int
