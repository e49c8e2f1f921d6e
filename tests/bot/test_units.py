"""The command layer's parsing and texts, the chart, and the chat channels' rules with
scripted senders (the real clients are exercised in test_discord.py / test_telegram.py)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from lighthouse.bot import texts
from lighthouse.bot.chart import HEIGHT, WIDTH, latency_chart
from lighthouse.bot.commands import parse_interval
from lighthouse.bot.ratelimit import MemoryChatRateLimiter, RedisChatRateLimiter, RedisSentLog
from lighthouse.core.alerts.channels.base import Delivery, Outcome
from lighthouse.core.alerts.channels.discord_dm import (
    DiscordChannelChannel,
    DiscordDMChannel,
    SendResult,
    SendStatus,
)
from lighthouse.core.alerts.channels.telegram import (
    TelegramChannel,
    TelegramSendResult,
    TelegramSendStatus,
)
from lighthouse.core.alerts.render import render
from lighthouse.core.charts import HourPoint
from lighthouse.core.checks import parse_shorthand
from lighthouse.core.errors import (
    InvalidConditionError,
    InvalidIntervalError,
    InvalidStateError,
    InvalidURLError,
    LighthouseError,
    MonitorLimitReachedError,
    MonitorNotFoundError,
    NotAdminError,
    TargetNotAllowedError,
    TierFeatureError,
    UnknownCheckTypeError,
    ValidationError,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("30 seg", 30), ("5m", 300), ("5 min", 300), ("10", 600), ("1h", 3600),
    ("2 horas", 7200), ("1d", 86400), ("3 días", 259200), ("15minutes", 900),
])
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


def test_parse_interval_refuses_nonsense() -> None:
    with pytest.raises(ValidationError) as info:
        parse_interval("soon")
    assert info.value.params == {"field": "interval", "reason": "format", "value": "soon"}


@pytest.mark.parametrize(("raw", "url"), [
    ("<https://x.io/a>", "https://x.io/a"),
    ("x.io/health", "https://x.io/health"),
    ("ftp://x.io", "ftp://x.io"),
    ("not a url", "not a url"),
    ("  http://x.io ", "http://x.io"),
])
def test_pasted_urls_become_http_targets(raw: str, url: str) -> None:
    assert parse_shorthand(raw) == ("http", {"url": url})


ERRORS: list[LighthouseError] = [
    InvalidURLError("x", field="url", reason="scheme", url="ftp://x"),
    InvalidURLError("x", field="url", reason="no_host", url="http://"),
    InvalidURLError("x", field="url", reason="port", url="http://x:99999"),
    InvalidURLError("x", field="url", reason="too_long"),
    InvalidURLError("x", field="url", reason="something pydantic said"),
    ValidationError("x", field="interval", reason="format", value="soon"),
    ValidationError("x", field="language", reason="unsupported"),
    ValidationError("x", field="name", reason="too_long", max=100),
    ValidationError("x", field="url", reason="missing"),
    ValidationError("x", field="headers", reason="bad"),
    InvalidIntervalError("x", interval=60, min=3600, tier="free"),
    InvalidIntervalError("x", interval=10, min=30, max=86400),
    UnknownCheckTypeError("x", type="ftp"),
    MonitorLimitReachedError("x", limit=1, tier="free"),
    MonitorLimitReachedError("x", limit=3, tier="basic"),
    TierFeatureError("x", feature="canary", tier="basic"),
    MonitorNotFoundError("x", ref="nope"),
    InvalidStateError("x", state="paused", name="api"),
    InvalidStateError("x", state="up", name="api"),
    InvalidStateError("x", state="maintenance"),
    TargetNotAllowedError("x", host="h", address="10.0.0.1", reason="private"),
    TargetNotAllowedError("x", host="h", address="127.0.0.1", reason="loopback"),
    InvalidConditionError("x", position=4),
    NotAdminError("x"),
    ValidationError("x", field="user", reason="format", value="bob"),
    ValidationError("x", field="tier", reason="unknown", value="gold", known=["free", "pro"]),
    ValidationError("x", field="days", reason="range", min=1, max=3650),
    LighthouseError("x"),
]


@pytest.mark.parametrize("exc", ERRORS, ids=lambda e: f"{e.code}-{sorted(e.params.items())}")
def test_every_error_code_has_an_english_and_a_spanish_message(exc: LighthouseError) -> None:
    en, es = texts.error("en", exc), texts.error("es", exc)
    assert en and es and en != es
    assert "{" not in en + es and "}" not in en + es


def test_plural_forms_and_numbers() -> None:
    assert texts.interval("es", 60) == "cada minuto"
    assert texts.interval("es", 300) == "cada 5 minutos"
    assert texts.interval("en", 7200) == "every 2 hours"
    assert texts.interval("en", 45) == "every 45 seconds"
    assert texts.percent("es", 0.99996) == "99,99%"  # floored: an outage stays visible
    assert texts.percent("en", None) == "no data"
    assert texts.millis("es", 1234.4) == "1.234 ms"
    assert texts.millis("en", 1234.4) == "1,234 ms"
    now = datetime(2026, 11, 24, 17, 5, tzinfo=UTC)
    assert texts.when("es", now - timedelta(minutes=3), now) == (
        "24 nov 2026, 17:02 UTC (hace 3 minutos)")


def test_chart_is_a_valid_png() -> None:
    now = datetime.now(UTC)
    points = [HourPoint(now - timedelta(hours=23 - i), 60, 60 if i % 7 else 55, 80.0 + i)
              for i in range(24)]
    png = latency_chart(points)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (WIDTH, HEIGHT)
    # Decompress the pixels: the hours with failed checks left red columns.
    idat = png[png.index(b"IDAT") + 4: png.index(b"IEND") - 8]
    raw = zlib.decompress(idat)
    assert len(raw) == HEIGHT * (1 + WIDTH * 3)
    assert bytes((254, 202, 202)) in raw
    assert bytes((37, 99, 235)) in raw  # the line
    assert latency_chart([]).startswith(b"\x89PNG")  # no data: still a picture
    quiet = zlib.decompress((p := latency_chart(points[1:2]))[p.index(b"IDAT") + 4:
                                                             p.index(b"IEND") - 8])
    assert bytes((254, 202, 202)) not in quiet


def delivery(chat: dict[str, Any], *, key: str = "m1:v1:down", lang: str = "es") -> Delivery:
    payload = {"kind": "down", "monitor_name": "api", "target": "https://x.io",
               "error": "timeout", "language": lang}
    return Delivery(
        outbox_id=1, alert_id=1, idempotency_key=key, alert_type="downtime", severity="critical",
        payload=payload, rendered=render("downtime", "critical", payload, lang), channel_id=9,
        channel_kind="x", channel_config=chat, attempt=1,
    )


@dataclass
class ScriptedDiscord:
    dm: list[SendResult] = field(default_factory=list)
    channel: list[SendResult] = field(default_factory=list)
    calls: list[tuple[str, int, str]] = field(default_factory=list)

    async def send_dm(self, user_id: int, delivery: Delivery, *, nonce: str,
                      dm_channel_id: int | None) -> SendResult:
        self.calls.append(("dm", user_id, nonce))
        return self.dm.pop(0) if self.dm else SendResult.sent(dm_channel_id or 77)

    async def send_to_channel(self, channel_id: int, delivery: Delivery, *, nonce: str,
                              mention_user_id: int | None) -> SendResult:
        self.calls.append(("channel", channel_id, nonce))
        return self.channel.pop(0) if self.channel else SendResult.sent()


async def test_discord_dm_rules() -> None:
    s = ScriptedDiscord(dm=[SendResult(SendStatus.REFUSED, "50007")],
                        channel=[SendResult(SendStatus.GONE, "50001")])
    ch = DiscordDMChannel(s)
    r = await ch.deliver(delivery({"user_id": "5", "fallback_channel_id": "6"}))
    assert r.outcome is Outcome.PERMANENT and r.disable_channel
    assert r.error is not None and r.error.startswith("dm_refused")
    assert [c[:2] for c in s.calls] == [("dm", 5), ("channel", 6)]
    assert s.calls[0][2] != s.calls[1][2] and all(len(c[2]) <= 25 for c in s.calls)
    # DMs work again: the refused flag goes.
    r = await ch.deliver(delivery({"user_id": "5", "dm_refused_at": "x"}))
    assert r.outcome is Outcome.DELIVERED
    assert r.new_config == {"user_id": "5", "dm_channel_id": "77"}  # kept for next time
    r = await ch.deliver(delivery({"user_id": "5", "dm_channel_id": "77"}))
    assert r.outcome is Outcome.DELIVERED and r.new_config is None
    s.dm = [SendResult(SendStatus.RATE_LIMITED, "429", retry_after_s=7.0)]
    r = await ch.deliver(delivery({"user_id": "5"}))
    assert (r.outcome, r.retry_after_s) == (Outcome.RETRY, 7.0)
    r = await ch.deliver(delivery({}))
    assert r.outcome is Outcome.PERMANENT and r.disable_channel
    s.channel = [SendResult(SendStatus.GONE, "10003")]
    r = await DiscordChannelChannel(s).deliver(delivery({"channel_id": "6"}))
    assert r.outcome is Outcome.PERMANENT and r.disable_channel
    assert r.error is not None and r.error.startswith("channel_unavailable")


@dataclass
class ScriptedTelegram:
    results: list[TelegramSendResult] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    async def send_alert(self, chat_id: int, delivery: Delivery) -> TelegramSendResult:
        self.sent.append(chat_id)
        return self.results.pop(0) if self.results else TelegramSendResult.sent()


async def test_telegram_group_pacing_requeues_instead_of_flooding() -> None:
    s = ScriptedTelegram()
    ch = TelegramChannel(s, limiter=MemoryChatRateLimiter())
    outcomes = [await ch.deliver(delivery({"chat_id": -42}, key=f"k{i}")) for i in range(3)]
    assert [o.outcome for o in outcomes] == [Outcome.DELIVERED, Outcome.DELIVERED, Outcome.DEFER]
    assert outcomes[2].retry_after_s is not None and 2 < outcomes[2].retry_after_s < 4
    assert s.sent == [-42, -42]


async def test_redis_bucket_and_sent_log(redis: aioredis.Redis) -> None:
    limiter = RedisChatRateLimiter(redis)
    waits = [await limiter.reserve("tg:1", 1.0, 3) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0] and 0 < waits[3] <= 1.0
    s = ScriptedTelegram()
    ch = TelegramChannel(s, sent_log=RedisSentLog(redis))
    d = delivery({"chat_id": 7})
    assert (await ch.deliver(d)).outcome is Outcome.DELIVERED
    # Re-claimed after a crash between "sent" and "recorded": not sent twice.
    assert (await ch.deliver(d)).outcome is Outcome.DELIVERED
    assert s.sent == [7]


async def test_telegram_flood_control_holds_every_chat() -> None:
    s = ScriptedTelegram(results=[TelegramSendResult(TelegramSendStatus.RATE_LIMITED, "429",
                                                     retry_after_s=30)])
    ch = TelegramChannel(s)
    first = await ch.deliver(delivery({"chat_id": 1}))
    other = await ch.deliver(delivery({"chat_id": 2}))
    assert (first.outcome, other.outcome) == (Outcome.RETRY, Outcome.DEFER)  # other: not tried
    assert other.retry_after_s is not None and 29 < other.retry_after_s <= 30
    assert s.sent == [1]


def test_alert_texts_list_failing_conditions_in_the_recipients_language() -> None:
    from lighthouse.bot.discord.sender import alert_embed, alert_title
    from lighthouse.bot.telegram.sender import alert_text

    payload = {"kind": "down", "monitor_name": "api", "target": "https://x.io/health",
               "status_code": 200, "conditions": [
                   {"condition": "[BODY].status == ok", "ok": False, "reason": "got 'degraded'"},
                   {"condition": "[STATUS] == 200", "ok": True}]}
    d = Delivery(1, 1, "k", "downtime", "critical", payload,
                 render("downtime", "critical", payload, "es"), 1, "telegram", {}, 1)
    text = alert_text(d)
    assert text.splitlines()[0] == "🔴 Caído: api"
    assert "Falló: [BODY].status == ok (got 'degraded')" in text
    assert "[STATUS] == 200" not in text
    cert = {"kind": "certificate_expiry", "monitor_name": "web", "days_left": 5}
    d = Delivery(1, 1, "k", "certificate_expiry", "warning", cert,
                 render("certificate_expiry", "warning", cert, "es"), 1, "discord_dm", {}, 1)
    assert alert_title(d) == "🔐 El certificado caduca pronto: web"
    embed = alert_embed(d)
    assert embed.description == "Días restantes: 5" and embed.color is not None
