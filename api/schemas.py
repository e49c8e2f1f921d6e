"""The API's request and response models: handlers validate and answer with them, and
/openapi.json is generated from them, so the published schema cannot drift from the code.

Request models refuse unknown fields. Response models name every field a handler sends
but do not forbid more, so a field added later does not break a client that validates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from lighthouse.core.alerts.channels import channel_config_model, channel_kinds
from lighthouse.core.checks import check_types
from lighthouse.core.limits import MAX_NAME, Language
from lighthouse.core.service.status_pages import SLUG
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import JsonSchemaMode, models_json_schema

REF = "#/components/schemas/{model}"
_CONFIG_DOC = ("The check type's configuration; its schema is components.schemas.<Type>Config "
               "(for example HttpConfig for type http).")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests --------------------------------------------------------------------------
MAX_CHANNELS = 5  # alert channels created with one monitor
_KIND_DOC = "An alert channel kind the API may create (webhook, discord_webhook, ...)"


class ChannelIn(_Strict):
    """An alert channel for one monitor: its alerts go there too. ``type`` is the seed's
    name for ``kind`` (POST /subscribe); give either."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "anyOf": [{"required": ["kind"]}, {"required": ["type"]}]})

    kind: str | None = Field(default=None, min_length=1, max_length=32, description=_KIND_DOC)
    type: str | None = Field(default=None, min_length=1, max_length=32, description="Alias of kind")
    config: dict[str, Any] = Field(description="The kind's config; its schema is "
                                   "components.schemas.<Kind>Config (WebhookConfig for webhook)")
    language: Language | None = Field(default=None, description="The monitor's language by default")
    min_severity: Literal["info", "warning", "critical"] = "info"

    @model_validator(mode="after")
    def _one_kind(self) -> ChannelIn:
        if self.kind is None and self.type is None:
            raise ValueError("kind is required")
        if self.kind is not None and self.type is not None and self.kind != self.type:
            raise ValueError("kind and type name different channel kinds")
        return self

    @property
    def channel_kind(self) -> str:
        kind = self.kind or self.type
        assert kind is not None  # _one_kind
        return kind


class CheckBody(_Strict):
    """POST /v1/checks: one check of any registered type, run now."""

    type: str = Field(default="http", max_length=32, description="A check type: http, tcp, dns, ...")
    config: dict[str, Any] = Field(description=_CONFIG_DOC)


class MonitorBody(_Strict):
    """POST /v1/monitors: a monitor paid for ``months`` periods of 30 days. Type
    ``heartbeat`` (config period_s, grace_s, max_run_s) answers with its ping URL."""

    type: str = Field(default="http", max_length=32)
    config: dict[str, Any] = Field(description=_CONFIG_DOC)
    tier: str = Field(default="basic", max_length=32, description="A paid tier (see /v1/pricing)")
    months: int = Field(default=1, ge=1, le=12)
    name: str | None = Field(default=None, max_length=MAX_NAME)
    interval_s: int | None = Field(default=None, description="Seconds between checks; the tier's by default")
    language: Language | None = None
    alert_channels: list[ChannelIn] = Field(default_factory=list, max_length=MAX_CHANNELS,
                                            description="Where this monitor's alerts go")


class SubscribeBody(_Strict):
    """The seed's POST /subscribe shape (payment travels in the x402 headers)."""

    user_address: str | None = None
    target_type: str = Field(default="http", max_length=32)
    target_config: dict[str, Any] = Field(description=_CONFIG_DOC)
    tier: str = Field(default="basic", max_length=32)
    alert_channels: list[ChannelIn] = Field(default_factory=list, max_length=MAX_CHANNELS)
    payment_signature: str | None = None


# --- MCP tool arguments (api/mcp_server.py) ---------------------------------------------
# The paid tools take CheckBody and MonitorBody above; these are the arguments of the rest,
# the management token standing where HTTP has the Authorization header.
class NoArgs(_Strict):
    """No arguments."""


class CheckUrlArgs(_Strict):
    """One HTTP check of a URL (the MCP form of GET /v1/check?url=)."""

    url: str = Field(min_length=1, max_length=2048, description="http:// or https:// URL to check")


class ManagedArgs(_Strict):
    """A monitor bought over the API, reached with the token returned when it was bought."""

    id: str = Field(max_length=64, description="The monitor's id", json_schema_extra={"format": "uuid"})
    management_token: str = Field(min_length=1, max_length=200,
                                  description="The management_token returned by create_monitor")


class HistoryArgs(ManagedArgs):
    limit: int = Field(default=50, ge=1, le=1000, description="Rows per page, newest first")
    before: AwareDatetime | None = Field(
        default=None, description="Only checks before this instant (RFC 3339 with an offset); "
                                  "next_before of the previous page")


class MaintenanceBody(_Strict):
    """PUT /v1/monitors/{id}/maintenance: checks go on, alerts stop until ``until``."""

    until: AwareDatetime = Field(description="The end of the window, with its offset; at most 366 days ahead")


SLUG_PATTERN = SLUG.pattern  # the service's own rule


class StatusPageBody(_Strict):
    """POST /v1/status-pages: publish monitors of the token's owner on /status/<slug>."""

    slug: str | None = Field(default=None, pattern=SLUG_PATTERN, description=(
        "The page's address, 3-48 lowercase letters, digits or dashes; absent: a random, "
        "unguessable one"))
    title: str | None = Field(default=None, max_length=100, description="The page's heading")
    monitors: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100, description=(
            "Ids of monitors with the same owner as the token's; empty: all of them, now and "
            "later"))


class OwnerArgs(_Strict):
    """MCP: what the owner of a monitor bought over the API has, reached with its token."""

    management_token: str = Field(min_length=1, max_length=200, description=(
        "A management_token returned by create_monitor: it acts for that monitor's owner"))


class StatusPageArgs(StatusPageBody, OwnerArgs):
    pass


class StatusPageSlugArgs(OwnerArgs):
    slug: str = Field(min_length=1, max_length=64, description="The page's slug")


# --- responses -------------------------------------------------------------------------
class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_input")
    message: str
    params: dict[str, Any]


class ErrorResponse(BaseModel):
    """Every error the API answers (but 402, which is the x402 challenge)."""

    error: ErrorDetail


class X402AcceptV1(BaseModel):
    """One x402 v1 offer; field names are the wire names."""

    scheme: str
    network: str
    maxAmountRequired: str
    resource: str
    description: str
    mimeType: str
    payTo: str
    maxTimeoutSeconds: int
    asset: str
    extra: dict[str, Any]


class PaymentRequiredV1(BaseModel):
    """The 402 body (x402 v1); the v2 challenge is the PAYMENT-REQUIRED header."""

    x402Version: Literal[1]
    error: str
    accepts: list[X402AcceptV1]


class TierOut(BaseModel):
    name: str
    price_atomic_per_month: str
    interval_s: int
    max_monitors: int | None
    retention_days: int


class NetworkOut(BaseModel):
    network: str
    asset: str
    known_to_clients: bool = Field(description="Official x402 clients pay this asset with their "
                                   "default spend controls")
    allow_asset: dict[str, str] | None = Field(
        description="When they do not: the entry a buyer adds to the client's allowed assets "
                    "(@x402/fetch spendControls.allowedAssets) to pay here")


class Pricing(BaseModel):
    currency: Literal["USDC"]
    decimals: int
    period_days: int
    tiers: list[TierOut]
    one_off_check_atomic: str
    networks: list[NetworkOut]
    pay_to: str | None
    buyer_note: str = Field(description="How a buyer with default client settings pays each network")


class ConditionOut(BaseModel):
    condition: str
    ok: bool
    actual: str | None
    reason: str | None


class ResultSignature(BaseModel):
    """Ed25519 over RFC 8785 (JCS) JSON: docs/signing.md; a verifier to copy: core/verify.py."""

    alg: Literal["Ed25519"]
    kid: str = Field(description="Key id (16 hex digits); the key is in /.well-known/lighthouse-keys.json")
    signed_at: datetime
    digests: dict[str, str] = Field(description="Each covered field's name and the base64url SHA-256 "
                                                "of its RFC 8785 encoding")
    sig: str = Field(description="base64url Ed25519 signature of the RFC 8785 encoding of "
                                 '{"typ": "lighthouse-result/1", "alg", "kid", "signed_at", "digests"}')


_SIGNED = "Signed with the result (see signature)"


class CheckResultOut(BaseModel):
    ok: bool
    latency_ms: float | None
    status_code: int | None
    error_code: str | None
    error: str | None
    details: dict[str, Any]
    # Present in every answer of the API; defaults keep the model usable before signing.
    request_id: str | None = Field(default=None, json_schema_extra={"format": "uuid"})
    type: str | None = None
    target: str | None = None
    conditions: list[ConditionOut] = Field(default_factory=list)
    checked_at: datetime | None = None
    worker_id: str | None = Field(default=None, description="The Lighthouse process that ran the check")
    payment: PaymentOut | None = Field(default=None, description="The payment that bought this check")
    signature: ResultSignature | None = Field(default=None, description=_SIGNED)


class MonitorOut(BaseModel):
    id: str = Field(json_schema_extra={"format": "uuid"})
    name: str
    type: str
    config: dict[str, Any]
    interval_s: int
    tier: str
    state: str
    created_at: datetime
    next_due: datetime
    expires_at: datetime | None
    last_check_at: datetime | None
    last_ok: bool | None
    last_latency_ms: int | None
    last_error: str | None
    maintenance_until: datetime | None = None


class MonitorEnvelope(BaseModel):
    monitor: MonitorOut


class PaymentOut(BaseModel):
    transaction: str
    network: str


class ChannelOut(BaseModel):
    id: int
    kind: str
    config: dict[str, Any] = Field(description="Secrets are shown as a hint only, never in full")
    language: str
    min_severity: str
    enabled: bool
    disabled_reason: str | None


_PING_DOC = ("Heartbeat monitors only: the secret URL the job calls (append /fail, /start or "
             "/<exit status>). Shown once; POST /v1/monitors/{id}/token makes a new one")


class MonitorCreated(BaseModel):
    monitor: MonitorOut
    management_token: str = Field(description="Authorization: Bearer <token> for /v1/monitors/{id}")
    payment: PaymentOut
    ping_url: str | None = Field(default=None, description=_PING_DOC)
    alert_channels: list[ChannelOut] = Field(default_factory=list)


class Subscription(BaseModel):
    subscription_id: str = Field(json_schema_extra={"format": "uuid"})
    status: Literal["active"]
    next_check_at: datetime
    check_frequency: int
    payment_tx: str
    payment_chain: str
    management_token: str
    ping_url: str | None = Field(default=None, description=_PING_DOC)
    alert_channels: list[ChannelOut] = Field(default_factory=list)


class PingUrl(BaseModel):
    monitor_id: str = Field(json_schema_extra={"format": "uuid"})
    ping_url: str = Field(description="The new secret ping URL (the old one stops working); shown once")


class ChannelList(BaseModel):
    channels: list[ChannelOut]


class ChannelCreated(BaseModel):
    channel: ChannelOut


class ChannelDeleted(BaseModel):
    deleted: int


class IncidentOut(BaseModel):
    id: int
    started_at: datetime = Field(description="The first failing check")
    ended_at: datetime | None = Field(description="The check that confirmed recovery; null while open")
    end_reason: Literal["recovered", "paused", "maintenance"] | None
    duration_s: float = Field(description="To the end, or to now while open")
    first_error_code: str | None
    first_error: str | None
    checks_failed: int


class Incidents(BaseModel):
    incidents: list[IncidentOut] = Field(description="Newest first")


class CheckRecordOut(BaseModel):
    time: datetime
    ok: bool
    status_code: int | None
    latency_ms: int | None
    error_code: str | None
    error: str | None
    # Signed when served (core/signing.py); ``checked_at`` is ``time`` under the name the
    # one-off results use.
    monitor_id: str | None = Field(default=None, json_schema_extra={"format": "uuid"})
    type: str | None = None
    target: str | None = None
    conditions: list[ConditionOut] = Field(default_factory=list)
    checked_at: datetime | None = None
    worker_id: str | None = None
    signature: ResultSignature | None = Field(default=None, description=_SIGNED)


class CheckHistory(BaseModel):
    checks: list[CheckRecordOut]
    next_before: datetime | None = Field(description="Pass as ?before= for the next page; null at the end")


class UptimeWindowOut(BaseModel):
    period: str
    checks: int
    ok_checks: int
    uptime: float | None
    avg_latency_ms: float | None
    p95_latency_ms: float | None


class Uptime(BaseModel):
    uptime: list[UptimeWindowOut]


class StatusPageOut(BaseModel):
    slug: str
    title: str
    url: str = Field(description="The public page")
    monitors: list[str] = Field(description="Ids of the monitors shown; empty: all of the owner's")
    created_at: datetime


class StatusPageCreated(BaseModel):
    status_page: StatusPageOut


class StatusPageList(BaseModel):
    status_pages: list[StatusPageOut]


class StatusPageDeleted(BaseModel):
    deleted: str = Field(description="The slug of the removed page")


class Deleted(BaseModel):
    deleted: str = Field(json_schema_extra={"format": "uuid"})


class SigningKeyOut(BaseModel):
    """One key that signs results: a JWK (OKP, Ed25519) with its validity window."""

    kid: str
    alg: Literal["Ed25519"]
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    use: Literal["sig"]
    x: str = Field(description="The raw 32-byte public key, base64url")
    not_before: datetime | None = Field(description="Signatures made earlier do not verify; null: no bound")
    not_after: datetime | None = Field(description="Signatures made later do not verify; null: still signing")
    status: Literal["current", "retired"]


class SigningKeys(BaseModel):
    """/.well-known/lighthouse-keys.json: every key that signed results, retired ones too."""

    format: str = Field(description="The signature format these keys sign (docs/signing.md)")
    keys: list[SigningKeyOut]


REQUESTS: tuple[type[BaseModel], ...] = (CheckBody, MonitorBody, SubscribeBody, MaintenanceBody,
                                         ChannelIn, StatusPageBody)
RESPONSES: tuple[type[BaseModel], ...] = (
    ErrorResponse, PaymentRequiredV1, Pricing, CheckResultOut, MonitorEnvelope, MonitorCreated,
    Subscription, CheckHistory, Uptime, Deleted, SigningKeys, PingUrl, ChannelList, ChannelCreated,
    ChannelDeleted, Incidents, StatusPageCreated, StatusPageList, StatusPageDeleted,
)


def api_channel_models() -> list[type[BaseModel]]:
    """Config models of the channel kinds an API body may create (not the chat-only ones)."""
    models = (channel_config_model(kind) for kind in channel_kinds())
    return [m for m in models if not m.chat_only]


def component_schemas() -> dict[str, Any]:
    """components.schemas: the models above and every check type's config, refs resolved there.

    Generated together so nested models ($defs of a single model's schema, which would point
    at the document root inside OpenAPI) become components of their own.
    """
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in REQUESTS]
    models += [(m, "serialization") for m in RESPONSES]
    models += [(c.config_model, "validation") for _, c in sorted(check_types().items())]
    models += [(m, "validation") for m in api_channel_models()]
    _, doc = models_json_schema(models, ref_template=REF)
    schemas: dict[str, Any] = doc.get("$defs", {})
    return schemas


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


MCP_REF = "#/$defs/{model}"


def tool_input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An MCP tool's inputSchema: ``model``'s JSON Schema, self-contained (``$defs``). A model
    with ``type`` and ``config`` fields gets each registered check type's config schema,
    chosen by ``type`` (``http`` when absent), so a client sees the same fields the API
    validates."""
    fields = model.model_fields
    configs = sorted(check_types().items()) if "config" in fields and "type" in fields else []
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(model, "validation")]
    models += [(c.config_model, "validation") for _, c in configs]
    refs, doc = models_json_schema(models, ref_template=MCP_REF)
    defs: dict[str, Any] = dict(doc.get("$defs", {}))
    schema: dict[str, Any] = defs.pop(model.__name__)
    if configs:
        schema["properties"]["type"]["enum"] = [name for name, _ in configs]
        default = fields["type"].default
        rules: list[dict[str, Any]] = [
            {"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
             "then": {"properties": {"config": refs[(c.config_model, "validation")]}}}
            for name, c in configs]
        rules.append({"if": {"not": {"required": ["type"]}},
                      "then": {"properties": {"config": refs[(check_types()[default].config_model,
                                                                "validation")]}}})
        schema["allOf"] = rules
    if defs:
        schema["$defs"] = defs
    return schema


def tool_output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """An MCP tool's outputSchema: what its structuredContent holds on success."""
    return model.model_json_schema(mode="serialization", ref_template=MCP_REF)
