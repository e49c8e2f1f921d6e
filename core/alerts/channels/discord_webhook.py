"""Discord incoming webhook (the seed's DISCORD_WEBHOOK_URL, or a user's own)."""

from __future__ import annotations

from typing import Any, ClassVar

import aiohttp
from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.alerts.channels.http_outcome import outcome_for_exception, outcome_for_response

COLORS = {"critical": 0xE74C3C, "warning": 0xF1C40F, "info": 0x2ECC71}


def embed(delivery: Delivery) -> dict[str, Any]:
    r = delivery.rendered
    return {
        "title": r.title[:256],
        "description": "\n".join(r.lines[:-1])[:4000],
        "color": COLORS.get(delivery.severity, 0x95A5A6),
        "footer": {"text": r.lines[-1][:2048] if r.lines else "Lighthouse"},
    }


class DiscordWebhookChannel:
    kind: ClassVar[str] = "discord_webhook"

    def __init__(self, session: aiohttp.ClientSession, default_url: str | None = None) -> None:
        self._session = session
        self._default_url = default_url

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        url = delivery.channel_config.get("url")
        if delivery.channel_config.get("from_settings"):
            url = self._default_url
        if not isinstance(url, str) or not url:
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
