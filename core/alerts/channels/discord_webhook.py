"""Discord incoming webhook (the seed's DISCORD_WEBHOOK_URL, or a user's own)."""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp
from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.alerts.channels.config import (
    READ_ONLY,
    ChannelConfig,
    SecretHttpURL,
    read_config,
)
from lighthouse.core.alerts.channels.http_outcome import outcome_for_exception, outcome_for_response
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

COLORS = {"critical": 0xE74C3C, "warning": 0xF1C40F, "info": 0x2ECC71}


def embed(delivery: Delivery) -> dict[str, Any]:
    r = delivery.rendered
    return {
        "title": r.title[:256],
        "description": "\n".join(r.lines[:-1])[:4000],
        "color": COLORS.get(delivery.severity, 0x95A5A6),
        "footer": {"text": r.lines[-1][:2048] if r.lines else "Lighthouse"},
    }


class DiscordWebhookConfig(ChannelConfig):
    # The URL carries the webhook's token: whoever reads it can post as the webhook.
    url: SecretHttpURL | None = None
    # The operator channel (DISCORD_WEBHOOK_URL) stores no URL, only this marker, so the
    # secret stays in the environment; a user must never set it and borrow that webhook.
    from_settings: bool = Field(default=False, json_schema_extra=READ_ONLY)

    @model_validator(mode="after")
    def _one_target(self) -> DiscordWebhookConfig:
        if self.from_settings and self.url is not None:
            raise PydanticCustomError("url_and_settings", "url and from_settings exclude each "
                                      "other", {"field": "url"})
        if not self.from_settings and self.url is None:
            raise PydanticCustomError("missing", "Field required", {"field": "url"})
        return self

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"url": "https://discord.com/api/webhooks/123456789012345678/token"}


class DiscordWebhookChannel:
    kind: ClassVar[str] = "discord_webhook"
    config_model: ClassVar[type[DiscordWebhookConfig]] = DiscordWebhookConfig

    def __init__(self, session: aiohttp.ClientSession, default_url: str | None = None) -> None:
        self._session = session
        self._default_url = default_url

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        config = read_config(DiscordWebhookConfig, delivery)
        if isinstance(config, DeliveryResult):
            return config
        url = self._default_url if config.from_settings else (
            config.url.get_secret_value() if config.url is not None else None)
        if not url:
            # Not the channel's fault: the operator unset DISCORD_WEBHOOK_URL.
            return DeliveryResult(Outcome.PERMANENT, "no Discord webhook URL configured")
        body = {"embeds": [embed(delivery)], "allowed_mentions": {"parse": []}}
        try:
            async with self._session.post(
                url, json=body, params={"wait": "true"}, timeout=aiohttp.ClientTimeout(total=15)
            ) as resp:
                await resp.read()
                return outcome_for_response(resp.status, resp.headers)
        except Exception as exc:
            return outcome_for_exception(exc)
