"""discord.py side of alert delivery: sends one alert and maps Discord's answer.

The rules (fallback, disabling, retries) live in core/alerts/channels/discord_dm.py;
this module only knows how discord.py reports things.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord
from lighthouse.bot import texts
from lighthouse.core.alerts.channels.base import Delivery
from lighthouse.core.alerts.channels.discord_dm import SendResult, SendStatus

log = logging.getLogger(__name__)

COLORS = {"critical": 0xE74C3C, "warning": 0xF1C40F, "info": 0x2ECC71}
ICONS = {"downtime": "🔴", "reminder": "🔴", "recovery": "🟢", "high_latency": "🟡",
         "certificate_expiry": "🔐", "low_balance": "💰"}
# Discord error codes: https://discord.com/developers/docs/topics/opcodes-and-status-codes
CANNOT_DM = {50007, 50001, 50278}  # can't send to user / missing access / no shared server
GONE_CODES = {10003, 10013, 50001, 50013}  # unknown channel, unknown user, no access/perms


def alert_title(delivery: Delivery) -> str:
    kind = str(delivery.payload.get("kind") or delivery.alert_type)
    icon = ICONS.get(kind, ICONS.get(delivery.alert_type, "🔔"))
    return f"{icon} {delivery.rendered.title}"


def alert_embed(delivery: Delivery) -> discord.Embed:
    r = delivery.rendered
    body, footer = (r.lines[:-1], r.lines[-1]) if r.lines else ([], "Lighthouse")
    embed = discord.Embed(
        title=texts.clip(r.title, 256),
        description=texts.clip("\n".join(body), 4000) or None,
        color=COLORS.get(delivery.severity, 0x95A5A6),
    )
    embed.set_footer(text=texts.clip(footer, 2048))
    return embed


def map_error(exc: BaseException, *, dm: bool) -> SendResult:
    if isinstance(exc, discord.RateLimited):
        return SendResult(SendStatus.RATE_LIMITED, f"rate limited ({exc.retry_after:.1f} s)",
                          retry_after_s=exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        detail = f"HTTP {exc.status} code {exc.code}: {exc.text}"[:300]
        if exc.status == 429:
            return SendResult(SendStatus.RATE_LIMITED, detail)
        if exc.status >= 500:
            return SendResult(SendStatus.TRANSIENT, detail)
        if dm and (exc.code in CANNOT_DM or exc.status == 403):
            return SendResult(SendStatus.REFUSED, detail)
        if exc.code in GONE_CODES or exc.status in (403, 404):
            return SendResult(SendStatus.GONE, detail)
        if exc.status == 401:  # the token was revoked under us: keep the alert
            log.error("Discord rejected the bot token while sending an alert")
            return SendResult(SendStatus.TRANSIENT, detail)
        return SendResult(SendStatus.INVALID, detail)
    if isinstance(exc, (aiohttp.ClientError, OSError, TimeoutError, asyncio.TimeoutError)):
        return SendResult(SendStatus.TRANSIENT, f"{type(exc).__name__}: {exc}"[:300])
    log.error("unexpected error sending a Discord alert", exc_info=exc)
    return SendResult(SendStatus.TRANSIENT, f"{type(exc).__name__}: {exc}"[:300])


class DiscordAlertSender:
    """Implements core's DiscordSender over a logged-in discord.py client (REST only: the
    gateway does not need to be connected)."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def open_dm(self, user_id: int) -> int | None:
        """Open (or find) the DM channel with a user; its id saves a request per alert."""
        try:
            async with asyncio.timeout(10):
                channel = await self._client.create_dm(discord.Object(id=user_id))
        except Exception:
            log.info("could not open a DM channel", exc_info=True)
            return None
        return channel.id

    async def send_dm(
        self, user_id: int, delivery: Delivery, *, nonce: str, dm_channel_id: int | None
    ) -> SendResult:
        if self._client.is_closed():
            return SendResult(SendStatus.TRANSIENT, "discord client is closed",
                              retry_after_s=30.0)
        content = texts.clip(alert_title(delivery), 2000)
        if dm_channel_id is not None:
            try:
                target = self._client.get_partial_messageable(
                    dm_channel_id, type=discord.ChannelType.private)
                await target.send(content=content, embed=alert_embed(delivery), nonce=nonce,
                                  allowed_mentions=discord.AllowedMentions.none())
                return SendResult.sent(dm_channel_id)
            except discord.NotFound:
                pass  # the stored DM channel is gone: open a new one below
            except Exception as exc:
                return map_error(exc, dm=True)
        try:
            channel = await self._client.create_dm(discord.Object(id=user_id))
            await channel.send(content=content, embed=alert_embed(delivery), nonce=nonce,
                               allowed_mentions=discord.AllowedMentions.none())
        except Exception as exc:
            return map_error(exc, dm=True)
        return SendResult.sent(channel.id)

    async def send_to_channel(
        self, channel_id: int, delivery: Delivery, *, nonce: str, mention_user_id: int | None
    ) -> SendResult:
        if self._client.is_closed():
            return SendResult(SendStatus.TRANSIENT, "discord client is closed",
                              retry_after_s=30.0)
        content = alert_title(delivery)
        mentions = discord.AllowedMentions.none()
        if mention_user_id is not None:
            lang = delivery.rendered.language
            content = f"{texts.alert_mention(lang, f'<@{mention_user_id}>')}\n{content}"
            mentions = discord.AllowedMentions(users=[discord.Object(id=mention_user_id)])
        try:
            channel = self._client.get_partial_messageable(channel_id)
            await channel.send(content=texts.clip(content, 2000), embed=alert_embed(delivery),
                               nonce=nonce, allowed_mentions=mentions)
        except Exception as exc:
            return map_error(exc, dm=False)
        return SendResult.sent()
