"""Generic signed webhook: POST JSON, HMAC-SHA256 over timestamp and body.

Receivers verify ``X-Lighthouse-Signature: t=<unix>,v1=<hex>`` with their secret and
deduplicate on ``X-Lighthouse-Idempotency-Key`` (delivery is at-least-once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, ClassVar

import aiohttp
from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult
from lighthouse.core.alerts.channels.config import ChannelConfig, HttpURL, Secret, read_config
from lighthouse.core.alerts.channels.http_outcome import outcome_for_exception, outcome_for_response


class WebhookConfig(ChannelConfig):
    url: HttpURL
    # Without a secret the body is sent unsigned; receivers then rely on the URL alone.
    secret: Secret | None = None

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"url": "https://example.com/lighthouse-hook", "secret": "a-long-random-string"}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookChannel:
    kind: ClassVar[str] = "webhook"
    config_model: ClassVar[type[WebhookConfig]] = WebhookConfig

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        config = read_config(WebhookConfig, delivery)
        if isinstance(config, DeliveryResult):
            return config
        body_obj: dict[str, Any] = {
            "id": delivery.idempotency_key,
            "type": delivery.alert_type,
            "severity": delivery.severity,
            "title": delivery.rendered.title,
            "text": delivery.rendered.text,
            "language": delivery.rendered.language,
            "data": delivery.payload,
        }
        body = json.dumps(body_obj, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Lighthouse-Idempotency-Key": delivery.idempotency_key,
        }
        if config.secret is not None:
            headers["X-Lighthouse-Signature"] = sign(
                config.secret.get_secret_value(), int(time.time()), body)
        try:
            async with self._session.post(
                config.url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=15)
            ) as resp:
                await resp.read()
                return outcome_for_response(resp.status, resp.headers)
        except Exception as exc:
            return outcome_for_exception(exc)
