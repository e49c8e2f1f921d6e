"""Alert-channel registry. A new channel is one module here plus one line in ``_CHANNELS``.

The registry knows each kind's config model; the composition root builds the channel
instances (they need sessions and chat senders) and registers them on the delivery worker.
"""

from __future__ import annotations

from typing import Any

from lighthouse.core.alerts.channels.apprise import AppriseChannel
from lighthouse.core.alerts.channels.base import (
    AlertChannel,
    Delivery,
    DeliveryResult,
    Outcome,
)
from lighthouse.core.alerts.channels.config import ChannelConfig, first_error
from lighthouse.core.alerts.channels.discord_dm import DiscordChannelChannel, DiscordDMChannel
from lighthouse.core.alerts.channels.discord_webhook import DiscordWebhookChannel
from lighthouse.core.alerts.channels.telegram import TelegramChannel
from lighthouse.core.alerts.channels.webhook import WebhookChannel
from lighthouse.core.errors import InvalidURLError, UnknownChannelKindError, ValidationError
from pydantic import ValidationError as PydanticValidationError

_CHANNELS: dict[str, type[ChannelConfig]] = {
    WebhookChannel.kind: WebhookChannel.config_model,
    DiscordWebhookChannel.kind: DiscordWebhookChannel.config_model,
    DiscordDMChannel.kind: DiscordDMChannel.config_model,
    DiscordChannelChannel.kind: DiscordChannelChannel.config_model,
    TelegramChannel.kind: TelegramChannel.config_model,
    AppriseChannel.kind: AppriseChannel.config_model,
}

# Pydantic error types on a URL field that chat already explains as invalid_url reasons.
_URL_REASONS = {
    "url_scheme": "scheme", "url_no_host": "no_host", "url_port": "port",
    "url_malformed": "malformed", "string_too_long": "too_long", "too_long": "too_long",
    "string_too_short": "malformed", "too_short": "malformed",
}


def channel_kinds() -> list[str]:
    return sorted(_CHANNELS)


def channel_config_model(kind: str) -> type[ChannelConfig]:
    try:
        return _CHANNELS[kind]
    except KeyError:
        raise UnknownChannelKindError(
            f"unknown alert channel kind {kind!r}", kind=kind, known=channel_kinds()
        ) from None


def channel_config_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every kind's config (for OpenAPI and client docs).

    A chat-only kind is marked ``readOnly`` as a whole: clients see it in listings but
    cannot create it.
    """
    schemas: dict[str, dict[str, Any]] = {}
    for kind in channel_kinds():
        model = _CHANNELS[kind]
        schema = model.model_json_schema()
        if model.chat_only:
            schema["readOnly"] = True
        schemas[kind] = schema
    return schemas


def parse_channel_config(kind: str, raw: Any, *, trusted: bool = False) -> ChannelConfig:
    """Validate a channel config into its kind's model, or raise a typed error.

    ``trusted`` is for configs Lighthouse builds itself (a chat adapter from the ids its
    platform gave it, the operator channel, a stored row); untrusted input (an API body)
    may not create chat-only kinds nor set read-only fields. Store ``.stored()`` of the
    result: a plain ``model_dump`` masks secrets.

    Errors: ``unknown_channel_kind`` (params kind, known); ``invalid_url`` (params field,
    reason in scheme | no_host | port | too_long | malformed, and url unless the URL is a
    secret); otherwise ``invalid_input`` with params field and reason: ``not_object``,
    ``chat_only`` (field "kind"), ``read_only``, or pydantic's stable error type
    (``missing``, ``extra_forbidden``, ``string_type``, ``int_type``, ``string_too_long``,
    ...) with its limits (``max_length``, ``ge``, ...) as further params.
    """
    model = channel_config_model(kind)
    if not isinstance(raw, dict):
        raise ValidationError("config must be a JSON object", field="config", reason="not_object",
                              channel=kind)
    if not trusted:
        if model.chat_only:
            raise ValidationError(f"{kind} channels are set up from chat, not through the API",
                                  field="kind", reason="chat_only", kind=kind, channel=kind)
        if refused := sorted(model.read_only_fields() & raw.keys()):
            raise ValidationError(f"{refused[0]} is set by Lighthouse", field=refused[0],
                                  reason="read_only", channel=kind)
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        field, reason, ctx = first_error(exc)
        if field in model.url_fields() and reason in _URL_REASONS:
            why = _URL_REASONS[reason]
            url = raw.get(field)
            # Echoed so chat can quote it, unless it is a credential or too long to quote.
            shown = ({"url": url} if isinstance(url, str) and why != "too_long"
                     and field not in model.secret_fields() else {})
            raise InvalidURLError(f"{field}: not a valid http(s) URL", field=field,
                                  reason=why, channel=kind, **shown) from None
        # Only the bounds (max_length, ge, ...): pydantic's context may also describe the
        # input, e.g. the length of a secret.
        limits = {k: v for k, v in ctx.items()
                  if isinstance(v, int | float) and not k.startswith("actual")}
        raise ValidationError(f"{field}: {reason}", field=field, reason=reason, channel=kind,
                              **limits) from None


__all__ = [
    "AlertChannel",
    "ChannelConfig",
    "Delivery",
    "DeliveryResult",
    "Outcome",
    "channel_config_model",
    "channel_config_schemas",
    "channel_kinds",
    "parse_channel_config",
]
