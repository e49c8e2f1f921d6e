"""python-telegram-bot side of alert delivery: one sendMessage, its answer mapped.

The rules (disable, migrate, retry-after, pacing) live in core/alerts/channels/telegram.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from lighthouse.bot import texts
from lighthouse.bot.discord.sender import ICONS
from lighthouse.core.alerts.channels.base import Delivery
from lighthouse.core.alerts.channels.telegram import TelegramSendResult, TelegramSendStatus
from telegram import Bot, LinkPreviewOptions
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

log = logging.getLogger(__name__)

MAX_TEXT = 4096
NOT_FOUND = ("chat not found", "user not found", "peer_id_invalid", "chat_id is empty")


def alert_text(delivery: Delivery) -> str:
    kind = str(delivery.payload.get("kind") or delivery.alert_type)
    icon = ICONS.get(kind, ICONS.get(delivery.alert_type, "🔔"))
    r = delivery.rendered
    return texts.clip("\n".join([f"{icon} {r.title}", *r.lines]), MAX_TEXT)


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def map_error(exc: BaseException) -> TelegramSendResult:
    # Order matters: BadRequest and TimedOut are NetworkErrors.
    detail = (str(exc) if isinstance(exc, TelegramError) else f"{type(exc).__name__}: {exc}")[:300]
    if isinstance(exc, ChatMigrated):
        return TelegramSendResult(TelegramSendStatus.MIGRATED, detail,
                                  new_chat_id=int(exc.new_chat_id))
    if isinstance(exc, RetryAfter):
        return TelegramSendResult(TelegramSendStatus.RATE_LIMITED, detail,
                                  retry_after_s=_seconds(exc._retry_after))
    if isinstance(exc, Forbidden):
        return TelegramSendResult(TelegramSendStatus.BLOCKED, detail)
    if isinstance(exc, BadRequest):
        if any(marker in str(exc).lower() for marker in NOT_FOUND):
            return TelegramSendResult(TelegramSendStatus.NOT_FOUND, detail)
        return TelegramSendResult(TelegramSendStatus.INVALID, detail)
    if isinstance(exc, TimedOut | NetworkError):
        return TelegramSendResult(TelegramSendStatus.TRANSIENT, detail)
    if isinstance(exc, InvalidToken):
        log.error("Telegram rejected the bot token while sending an alert")
        return TelegramSendResult(TelegramSendStatus.TRANSIENT, detail)
    if not isinstance(exc, TelegramError):
        log.error("unexpected error sending a Telegram alert", exc_info=exc)
    return TelegramSendResult(TelegramSendStatus.TRANSIENT, detail)


class TelegramAlertSender:
    """Implements core's TelegramSender over an initialized PTB Bot."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self.closed = False  # set before the bot shuts down: alerts wait in the outbox

    async def send_alert(self, chat_id: int, delivery: Delivery) -> TelegramSendResult:
        if self.closed:
            return TelegramSendResult(TelegramSendStatus.TRANSIENT, "telegram bot stopped",
                                      retry_after_s=30.0)
        try:
            await self._bot.send_message(
                chat_id, alert_text(delivery),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except Exception as exc:
            return map_error(exc)
        return TelegramSendResult.sent()
