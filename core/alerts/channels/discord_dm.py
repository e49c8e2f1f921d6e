"""Discord alerts: a direct message to the monitor's owner, or a post in a server channel.

Core knows the rules, not the library: the bot package implements ``DiscordSender``
(with discord.py) and maps every Discord answer to a ``SendResult``. The rules:

* ``discord_dm`` (``DiscordDMConfig``): DM
  the user (through the DM channel opened at /monitor add, else a new one, whose id is
  then kept: one request per alert instead of two, across restarts). When
  Discord refuses the DM (50007: DMs closed, bot blocked, no shared server) and the
  monitor has a server channel, post there instead, mentioning the user, and flag the
  channel (``dm_refused_at``) so the user is told on their next command. Without a
  fallback the channel is disabled with reason ``dm_refused``; the next command tells
  the user and turns it back on.
* ``discord_channel`` (``DiscordChannelConfig``): post in that channel;
  missing access or a deleted channel disables it.
* Rate limits (429) and Discord outages (5xx, network) are retried by the outbox, after
  the retry-after when Discord gives one. A send carries a nonce derived from the
  idempotency key so that Discord itself drops a duplicate of a retried send.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.alerts.channels.config import (
    READ_ONLY,
    ChannelConfig,
    Snowflake,
    read_config,
)
from pydantic import Field

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 60.0


class DiscordDMConfig(ChannelConfig):
    chat_only: ClassVar[bool] = True
    chat_field: ClassVar[str | None] = "user_id"

    user_id: Snowflake
    fallback_channel_id: Snowflake | None = None  # a server channel, when DMs are refused
    guild_id: Snowflake | None = None  # the server of the fallback channel
    # Written by Lighthouse: the DM channel opened for this user (saves a request per
    # alert), and when DMs were last refused (the user is told on their next command).
    dm_channel_id: Snowflake | None = Field(default=None, json_schema_extra=READ_ONLY)
    dm_refused_at: str | None = Field(default=None, max_length=64, json_schema_extra=READ_ONLY)

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"user_id": "123456789012345678", "fallback_channel_id": "223456789012345678",
                "guild_id": "323456789012345678"}


class DiscordChannelConfig(ChannelConfig):
    chat_only: ClassVar[bool] = True
    chat_field: ClassVar[str | None] = "channel_id"

    channel_id: Snowflake
    guild_id: Snowflake | None = None

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"channel_id": "223456789012345678", "guild_id": "323456789012345678"}


class SendStatus(StrEnum):
    SENT = "sent"
    REFUSED = "refused"  # 50007 / 50001 on a DM: the user can't be messaged
    GONE = "gone"  # unknown user/channel, or no access to the channel: permanent
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"  # 5xx, network, timeout: try again later
    INVALID = "invalid"  # Discord refused this message (400): permanent for this alert


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    error: str | None = None
    retry_after_s: float | None = None
    dm_channel_id: int | None = None  # the DM channel a DM went through

    @classmethod
    def sent(cls, dm_channel_id: int | None = None) -> SendResult:
        return cls(SendStatus.SENT, dm_channel_id=dm_channel_id)


class DiscordSender(Protocol):
    """Implemented by the bot package over discord.py. Must not raise."""

    async def send_dm(
        self, user_id: int, delivery: Delivery, *, nonce: str, dm_channel_id: int | None
    ) -> SendResult: ...

    async def send_to_channel(
        self, channel_id: int, delivery: Delivery, *, nonce: str, mention_user_id: int | None
    ) -> SendResult: ...


def nonce_for(delivery: Delivery, target: str) -> str:
    """Discord nonces are at most 25 characters; enforce_nonce dedupes for a few minutes."""
    digest = hashlib.sha256(f"{delivery.idempotency_key}|{target}".encode()).hexdigest()
    return digest[:25]


def _opt_int(snowflake: str | None) -> int | None:
    return None if snowflake is None else int(snowflake)


def _retry(result: SendResult) -> DeliveryResult:
    return DeliveryResult(Outcome.RETRY, result.error or result.status.value,
                          retry_after_s=result.retry_after_s)


async def _guarded(call: Awaitable[SendResult]) -> SendResult:
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            return await call
    except TimeoutError:
        return SendResult(SendStatus.TRANSIENT, "timed out")
    except Exception as exc:  # a sender bug must not lose the alert
        log.exception("discord sender raised")
        return SendResult(SendStatus.TRANSIENT, f"{type(exc).__name__}: {exc}"[:300])


class DiscordDMChannel:
    kind: ClassVar[str] = "discord_dm"
    config_model: ClassVar[type[DiscordDMConfig]] = DiscordDMConfig

    def __init__(self, sender: DiscordSender) -> None:
        self._sender = sender

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        parsed = read_config(DiscordDMConfig, delivery)
        if isinstance(parsed, DeliveryResult):
            return parsed
        # Updates start from the stored dict, not the model, so that keys a newer process
        # wrote (and read_config dropped) survive this one's write-back.
        config = delivery.channel_config
        user_id = int(parsed.user_id)
        known = _opt_int(parsed.dm_channel_id)
        dm = await _guarded(self._sender.send_dm(
            user_id, delivery, nonce=nonce_for(delivery, f"u{user_id}"), dm_channel_id=known))
        if dm.status is SendStatus.SENT:
            fresh = {k: v for k, v in config.items() if k != "dm_refused_at"}  # DMs work again
            if dm.dm_channel_id is not None:
                fresh["dm_channel_id"] = str(dm.dm_channel_id)
            return DeliveryResult(Outcome.DELIVERED,
                                  new_config=fresh if fresh != config else None)
        if dm.status in (SendStatus.RATE_LIMITED, SendStatus.TRANSIENT):
            return _retry(dm)
        if dm.status is SendStatus.INVALID:
            return DeliveryResult(Outcome.PERMANENT, f"invalid: {dm.error}")
        if dm.status is SendStatus.GONE:
            return DeliveryResult(Outcome.PERMANENT, f"user_gone: {dm.error}",
                                  disable_channel=True)
        # REFUSED: fall back to the monitor's server channel when there is one.
        fallback = _opt_int(parsed.fallback_channel_id)
        if fallback is None:
            return DeliveryResult(Outcome.PERMANENT, f"dm_refused: {dm.error}",
                                  disable_channel=True)
        post = await _guarded(self._sender.send_to_channel(
            fallback, delivery, nonce=nonce_for(delivery, f"c{fallback}"),
            mention_user_id=user_id,
        ))
        flagged = {**config, "dm_refused_at": datetime.now(UTC).isoformat()}
        if post.status is SendStatus.SENT:
            return DeliveryResult(Outcome.DELIVERED, new_config=flagged)
        if post.status in (SendStatus.RATE_LIMITED, SendStatus.TRANSIENT):
            r = _retry(post)
            return DeliveryResult(r.outcome, f"dm_refused, fallback: {r.error}",
                                  retry_after_s=r.retry_after_s, new_config=flagged)
        return DeliveryResult(
            Outcome.PERMANENT, f"dm_refused: {dm.error}; fallback channel: {post.error}",
            disable_channel=True, new_config=flagged,
        )


class DiscordChannelChannel:
    """Alerts posted in a server channel chosen with /monitor channel."""

    kind: ClassVar[str] = "discord_channel"
    config_model: ClassVar[type[DiscordChannelConfig]] = DiscordChannelConfig

    def __init__(self, sender: DiscordSender) -> None:
        self._sender = sender

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        parsed = read_config(DiscordChannelConfig, delivery)
        if isinstance(parsed, DeliveryResult):
            return parsed
        channel_id = int(parsed.channel_id)
        post = await _guarded(self._sender.send_to_channel(
            channel_id, delivery, nonce=nonce_for(delivery, f"c{channel_id}"),
            mention_user_id=None,
        ))
        if post.status is SendStatus.SENT:
            return DeliveryResult.ok()
        if post.status in (SendStatus.RATE_LIMITED, SendStatus.TRANSIENT):
            return _retry(post)
        if post.status is SendStatus.INVALID:
            return DeliveryResult(Outcome.PERMANENT, f"invalid: {post.error}")
        return DeliveryResult(Outcome.PERMANENT, f"channel_unavailable: {post.error}",
                              disable_channel=True)
