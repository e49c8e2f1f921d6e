"""Telegram alerts: a message to the chat where the monitor was added.

Core holds the rules; the bot package implements ``TelegramSender`` with
python-telegram-bot and maps every Bot API answer to a ``TelegramSendResult``:

* blocked / kicked / never started (403 ``Forbidden``): disable the channel with reason
  ``bot_blocked``; the bot turns it back on when that chat talks to it again (/start).
* chat migrated to a supergroup (``ChatMigrated``): store the new chat id (the worker
  saves ``new_config``) and send once more, there.
* ``chat not found``: disable (``chat_not_found``). Other 400s fail this alert only.
* 429 (``RetryAfter``): requeue after the retry-after, and hold every other Telegram
  alert of this process for as long (flood control is per bot).
* 5xx, timeouts, network errors: the outbox retries with backoff.
* Per-chat pacing: Telegram allows about one message a second in a private chat and
  twenty a minute in a group; a token bucket per chat (Redis, shared by all processes)
  spaces alerts out, waiting inline for short gaps and requeueing for long ones.
* Sent log: a send that succeeded is remembered by idempotency key, so a delivery
  re-claimed after a crash between "sent" and "recorded" is not sent twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from lighthouse.core.alerts.channels.base import Delivery, DeliveryResult, Outcome
from lighthouse.core.alerts.channels.config import ChannelConfig, read_config
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 60.0
MAX_INLINE_WAIT_S = 2.0
# (tokens per second, burst) per chat: private chats vs groups/channels (negative ids).
PRIVATE_RATE = (1.0, 3)
GROUP_RATE = (18 / 60, 2)


# Telegram chat ids have at most 52 significant bits; the bound keeps them exact in JSON.
_MAX_CHAT_ID = 2**53 - 1


class TelegramConfig(ChannelConfig):
    chat_only: ClassVar[bool] = True
    chat_field: ClassVar[str | None] = "chat_id"

    # Negative for groups and channels. A group that becomes a supergroup gets a new id,
    # which the delivery (or the bot, on the migration update) writes back here.
    chat_id: int = Field(ge=-_MAX_CHAT_ID, le=_MAX_CHAT_ID)
    private: bool | None = None  # a one-to-one chat with the user, as the bot saw it

    @field_validator("chat_id")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise PydanticCustomError("chat_id_zero", "chat_id cannot be 0")
        return value

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"chat_id": -1001234567890, "private": False}


class TelegramSendStatus(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    NOT_FOUND = "not_found"
    MIGRATED = "migrated"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    INVALID = "invalid"


@dataclass(frozen=True)
class TelegramSendResult:
    status: TelegramSendStatus
    error: str | None = None
    retry_after_s: float | None = None
    new_chat_id: int | None = None

    @classmethod
    def sent(cls) -> TelegramSendResult:
        return cls(TelegramSendStatus.SENT)


class TelegramSender(Protocol):
    """Implemented by the bot package over python-telegram-bot. Must not raise."""

    async def send_alert(self, chat_id: int, delivery: Delivery) -> TelegramSendResult: ...


class ChatRateLimiter(Protocol):
    async def reserve(self, key: str, rate_per_s: float, burst: int) -> float:
        """Take one token and return 0, or return the seconds until one is available."""
        ...


class SentLog(Protocol):
    async def seen(self, key: str) -> bool: ...

    async def mark(self, key: str) -> None: ...


class TelegramChannel:
    kind: ClassVar[str] = "telegram"
    config_model: ClassVar[type[TelegramConfig]] = TelegramConfig

    def __init__(
        self,
        sender: TelegramSender,
        *,
        limiter: ChatRateLimiter | None = None,
        sent_log: SentLog | None = None,
    ) -> None:
        self._sender = sender
        self._limiter = limiter
        self._sent_log = sent_log
        self._paused_until = 0.0  # loop time until which flood control holds every send

    def _pause_left(self) -> float:
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    async def _pace(self, chat_id: int) -> float:
        """0 when this chat may get a message now, else the seconds to come back after."""
        if self._limiter is None:
            return 0.0
        rate, burst = PRIVATE_RATE if chat_id > 0 else GROUP_RATE
        for _ in range(3):
            try:
                wait = await self._limiter.reserve(f"tg:{chat_id}", rate, burst)
            except Exception:  # pacing is best effort: Telegram's 429 still protects us
                log.warning("telegram rate limiter unavailable", exc_info=True)
                return 0.0
            if wait <= 0:
                return 0.0
            if wait > MAX_INLINE_WAIT_S:
                return wait
            await asyncio.sleep(wait)
        return 1.0

    async def _send(self, chat_id: int, delivery: Delivery) -> TelegramSendResult:
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                return await self._sender.send_alert(chat_id, delivery)
        except TimeoutError:
            return TelegramSendResult(TelegramSendStatus.TRANSIENT, "timed out")
        except Exception as exc:  # a sender bug must not lose the alert
            log.exception("telegram sender raised")
            return TelegramSendResult(TelegramSendStatus.TRANSIENT,
                                      f"{type(exc).__name__}: {exc}"[:300])

    async def _remember(self, op: Awaitable[object]) -> None:
        try:
            await op
        except Exception:
            log.warning("telegram sent log unavailable", exc_info=True)

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        config = read_config(TelegramConfig, delivery)
        if isinstance(config, DeliveryResult):
            return config
        chat_id = config.chat_id
        sent_key = f"{delivery.idempotency_key}|{delivery.channel_id}"
        if self._sent_log is not None:
            try:
                if await self._sent_log.seen(sent_key):
                    return DeliveryResult.ok()
            except Exception:
                log.warning("telegram sent log unavailable", exc_info=True)
        held = self._pause_left()
        if held > 0:
            return DeliveryResult(Outcome.DEFER, "flood control", retry_after_s=held)
        wait = await self._pace(chat_id)
        if wait > 0:
            return DeliveryResult(Outcome.DEFER, "paced", retry_after_s=wait)

        result = await self._send(chat_id, delivery)
        new_config = None
        if result.status is TelegramSendStatus.MIGRATED and result.new_chat_id:
            chat_id = result.new_chat_id
            new_config = {**delivery.channel_config, "chat_id": chat_id}
            result = await self._send(chat_id, delivery)
        if result.status is TelegramSendStatus.SENT:
            if self._sent_log is not None:
                await self._remember(self._sent_log.mark(sent_key))
            return DeliveryResult(Outcome.DELIVERED, new_config=new_config)
        if result.status is TelegramSendStatus.RATE_LIMITED:
            after = result.retry_after_s if result.retry_after_s is not None else 5.0
            self._paused_until = max(self._paused_until,
                                     asyncio.get_running_loop().time() + after)
            return DeliveryResult(Outcome.RETRY, f"rate_limited: {result.error}",
                                  retry_after_s=after, new_config=new_config)
        if result.status in (TelegramSendStatus.TRANSIENT, TelegramSendStatus.MIGRATED):
            return DeliveryResult(Outcome.RETRY, f"transient: {result.error}",
                                  retry_after_s=result.retry_after_s, new_config=new_config)
        if result.status is TelegramSendStatus.BLOCKED:
            return DeliveryResult(Outcome.PERMANENT, f"bot_blocked: {result.error}",
                                  disable_channel=True, new_config=new_config)
        if result.status is TelegramSendStatus.NOT_FOUND:
            return DeliveryResult(Outcome.PERMANENT, f"chat_not_found: {result.error}",
                                  disable_channel=True, new_config=new_config)
        return DeliveryResult(Outcome.PERMANENT, f"invalid: {result.error}",
                              new_config=new_config)
