"""The JSON bodies of ``/api/v1/releases``: what a client sends and gets back.

Their field descriptions are the OpenAPI schema's (``/api/v1/openapi.json``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pressdispatch.characters import bad_character
from pressdispatch.web.api.common import ProblemItem

EXAMPLE_TIME = "e.g. 2026-12-01T10:00:00+01:00"

# --------------------------------------------------------------------------- #
# Bodies
# --------------------------------------------------------------------------- #


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _text(cls, value: object) -> object:
        # JSON may escape a lone surrogate (\ud800), which no file can hold as UTF-8.
        # Everything else about the text is the loader's to judge, once it is a file.
        for item in value if isinstance(value, list) else [value]:
            bad = bad_character(item, lines=True) if isinstance(item, str) else None
            if bad is not None and "\ud800" <= bad.char <= "\udfff":
                raise ValueError(bad.message())
        return value


class ContactIn(_Strict):
    name: str | None = None
    role: str | None = None
    phone: str | None = None
    email: str | None = None


class TranslationIn(_Strict):
    title: str | None = Field(default=None, description="one line, at most 300 characters")
    summary: str | None = None
    dateline: str | None = None
    body_markdown: str = Field(default="", description="the release text, in Markdown")


class ReleaseIn(_Strict):
    """The fields of ``release.toml``, plus each language file, as in docs/releases.md."""

    id: str = Field(description="the folder name: lowercase letters, digits and hyphens")
    publish_at: str | None = Field(default=None, description=f"with a UTC offset, {EXAMPLE_TIME}")
    embargo_send_at: str | None = Field(default=None, description="earlier than publish_at")
    status: str | None = Field(default=None, description="ready (the default), draft or cancelled")
    original_language: str | None = None
    regions: list[str] | None = Field(default=None, description='default ["world"]')
    topics: list[str] | None = None
    contacts: list[ContactIn] = Field(default_factory=list)
    translations: dict[str, TranslationIn] = Field(
        default_factory=dict, description="language code → that language's version"
    )


class ScheduleIn(_Strict):
    publish_at: str = Field(description=f"with a UTC offset, {EXAMPLE_TIME}")
    embargo_send_at: str | None = Field(
        default=None,
        description="a time earlier than publish_at; null removes the embargo; "
        "left out, the embargo time stays as it is",
    )


# --------------------------------------------------------------------------- #
# Answers
# --------------------------------------------------------------------------- #


class ReleaseOut(BaseModel):
    id: str
    state: str = Field(description="as `pressdispatch status` reports it")
    status: str = Field(description="as release.toml says: ready, draft or cancelled")
    publish_at: str = Field(description="ISO 8601, UTC")
    embargo_send_at: str | None = Field(description="ISO 8601, UTC")
    original_language: str
    languages: list[str] = Field(description="the original language first")
    regions: list[str]
    topics: list[str]


class ReleaseList(BaseModel):
    releases: list[ReleaseOut]


class ContactOut(BaseModel):
    name: str
    role: str
    phone: str
    email: str


class TranslationOut(BaseModel):
    language: str
    title: str
    summary: str
    dateline: str
    body_markdown: str


class ReleaseDetail(ReleaseOut):
    changed: bool = Field(description="the files were edited after the dispatch started")
    contacts: list[ContactOut]
    translations: list[TranslationOut] = Field(description="the text being sent, once frozen")


class ReleaseCreated(ReleaseDetail):
    warnings: list[ProblemItem] = Field(
        description="what the loader reported without refusing the release (HTML it removed)"
    )


class VariantCount(BaseModel):
    language: str
    tier: str
    status: str
    count: int


class DeliveryError(BaseModel):
    address: str
    status: str
    attempts: int
    code: int | None
    reply: str
    at: str | None


class Paused(BaseModel):
    since: str
    reason: str = Field(description="too many hard bounces or complaints: what the breaker saw")


class ReleaseStatus(BaseModel):
    """The same document as one release of `pressdispatch status --json`."""

    id: str
    state: str
    changed: bool
    publish_at: str
    publish_at_local: str
    embargo_send_at: str | None
    paused: Paused | None = Field(
        description="held by the circuit breaker (too many hard bounces or spam complaints) "
        "until `pressdispatch send` or the console's Resume; null while it is not"
    )
    total: int
    by_status: dict[str, int]
    by_variant: list[VariantCount]
    errors: list[DeliveryError]


class WithdrawIn(_Strict):
    reason: str = Field(
        description="why it is withdrawn: shown on its page (410 Gone) and in the notices",
        examples=["The figures in the second paragraph were wrong; a corrected release follows."],
    )
    notify: bool = Field(
        default=False,
        description="send a short withdrawal notice to every journalist who received it",
    )


class Withdrawn(BaseModel):
    id: str
    state: str = Field(description="withdrawn")
    stopped: int = Field(description="pending deliveries cancelled by this request")
    notices: int = Field(description="withdrawal notices queued (0 without notify)")


class Cancelled(BaseModel):
    id: str
    state: str
    stopped: int = Field(description="pending deliveries cancelled by this request")
