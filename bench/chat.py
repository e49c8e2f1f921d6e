"""Chat benchmark: command round trips and alert fan-out through the real clients.

discord.py and python-telegram-bot run against the stand-ins in tests/standins (same
process, 127.0.0.1), over an embedded PostgreSQL and Redis:

* command round trip: from the moment the stand-in hands the client a command (gateway
  INTERACTION_CREATE / getUpdates answer) to the moment the reply reaches it (interaction
  callback / sendMessage), for ``/monitor list`` and ``/monitor status`` (with its chart),
  in Spanish. No check runs inside these commands.
* alert fan-out: N monitors of N users fail at once (one batched write of N DOWN results
  through the real state machine and outbox); the delivery worker sends N DMs (Discord)
  or N messages to N chats (Telegram). Time from the write to the last delivery. Telegram
  caps a bot at 30 messages/s (1,000/s with paid broadcasts): both are measured, the first
  is bounded below by N/30 s.

    .venv/bin/python bench/chat.py                    # ~1 minute
    .venv/bin/python bench/chat.py --fanout 200 --commands 100 --skip-slow-telegram

The stand-ins share this process's CPU with the bot, so absolute figures are pessimistic.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
import redis.asyncio as aioredis  # noqa: E402
from _common import emit, fresh_database, machine, percentile  # noqa: E402
from lighthouse.bot.commands import Commands  # noqa: E402
from lighthouse.bot.discord.client import LighthouseDiscord  # noqa: E402
from lighthouse.bot.discord.sender import DiscordAlertSender  # noqa: E402
from lighthouse.bot.ratelimit import RedisChatRateLimiter, RedisSentLog  # noqa: E402
from lighthouse.bot.telegram.bot import TelegramBot, TgApp, build_application  # noqa: E402
from lighthouse.bot.telegram.sender import TelegramAlertSender  # noqa: E402
from lighthouse.core.alerts.channels.discord_dm import DiscordDMChannel  # noqa: E402
from lighthouse.core.alerts.channels.telegram import TelegramChannel  # noqa: E402
from lighthouse.core.alerts.delivery import DeliveryWorker  # noqa: E402
from lighthouse.core.checks.base import CheckContext, CheckResult  # noqa: E402
from lighthouse.core.embedded import EmbeddedRedis  # noqa: E402
from lighthouse.core.http_client import make_session  # noqa: E402
from lighthouse.core.metrics import Metrics  # noqa: E402
from lighthouse.core.models import Identity, Provider  # noqa: E402
from lighthouse.core.netguard import TargetGuard  # noqa: E402
from lighthouse.core.service import MonitorService  # noqa: E402
from lighthouse.core.storage.database import Pool  # noqa: E402
from lighthouse.core.storage.results import Finished, ResultWriter  # noqa: E402
from lighthouse.core.storage.schedule import claim_due  # noqa: E402
from standins.discord_api import DiscordStandIn  # noqa: E402
from standins.telegram_api import TelegramStandIn  # noqa: E402

WAIT = 10.0


def ms(values: list[float]) -> dict[str, float | None]:
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return {"p50_ms": None if p50 is None else round(p50 * 1000, 2),
            "p99_ms": None if p99 is None else round(p99 * 1000, 2),
            "max_ms": round(max(values) * 1000, 2) if values else None, "n": len(values)}


async def start_telegram(tg: TelegramStandIn, commands: Commands, rate: float) -> TelegramBot:
    app = build_application(tg.token, api_base_url=tg.http_url, max_messages_per_second=rate)
    bot = TelegramBot(commands, app)
    bot.install()
    async with asyncio.timeout(WAIT):
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(allowed_updates=["message", "callback_query"])
    return bot


async def stop_telegram(app: TgApp) -> None:
    async with asyncio.timeout(WAIT):
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


async def round_trips(
    n: int, once: Callable[[int], Awaitable[float]], gap_s: float = 0.0
) -> list[float]:
    """Sequential commands; ``gap_s`` keeps Telegram under its 30 messages/s bot limit,
    which would otherwise be measured instead of our latency."""
    for i in range(min(5, n)):  # warm-up: connection pools, caches, first chart
        await once(i)
        await asyncio.sleep(gap_s)
    out = []
    for i in range(n):
        out.append(await once(i))
        await asyncio.sleep(gap_s)
    return out


async def discord_commands(dc: DiscordStandIn, user: int, n: int) -> dict[str, Any]:
    async def list_once(_i: int) -> float:
        t0 = time.monotonic()
        inter = await dc.inject_command("monitor list", locale="es-ES", user_id=user)
        call = await dc.wait_interaction_response(inter, timeout=WAIT)
        assert call.body["data"]["content"].startswith("Tienes 1 de"), call.body
        return call.time - t0

    async def status_once(_i: int) -> float:
        since = dc.mark()
        t0 = time.monotonic()
        inter = await dc.inject_command("monitor status", {"monitor": "bench"}, locale="es-ES",
                                        user_id=user)
        call = await dc.wait_call("followup", lambda c: c.params["token"] == inter["token"],
                                  since=since, timeout=WAIT)
        assert call.files, "status carries the chart"
        return call.time - t0

    return {"list": ms(await round_trips(n, list_once)),
            "status_with_chart": ms(await round_trips(max(10, n // 4), status_once))}


async def telegram_commands(tg: TelegramStandIn, chat: int, n: int) -> dict[str, Any]:
    async def once(text: str, expect: str) -> float:
        since = tg.mark()
        t0 = time.monotonic()
        await tg.inject_message(chat, text, language_code="es")
        call = await tg.wait_call("sendMessage", lambda c: c.params["chat_id"] == str(chat),
                                  since=since, timeout=WAIT)
        assert call.params["text"].startswith(expect), call.params["text"]
        return call.time - t0

    async def list_once(_i: int) -> float:
        return await once("/list", "Tienes 1 de")

    async def status_once(_i: int) -> float:
        return await once("/status bench", "🟢 bench")

    return {"list": ms(await round_trips(n, list_once, 0.05)),
            "status_with_chart": ms(await round_trips(max(10, n // 4), status_once, 0.1))}


async def make_monitors(service: MonitorService, who: list[Identity], kind: str,
                        url: str, dc: DiscordStandIn) -> None:
    sem = asyncio.Semaphore(16)

    async def one(i: int, identity: Identity) -> None:
        async with sem:
            m = await service.create_monitor(identity, config={"url": url}, name=f"svc-{i}",
                                             language="es", failure_threshold=1)
            if kind == "discord_dm":
                # As /monitor add leaves it: the user's DM channel is open and its id kept.
                dm_channel = dc.snowflake()
                dc.dm_channels[dm_channel] = int(identity.subject)
                await service.upsert_chat_channel(
                    identity, kind, key={"user_id": identity.subject},
                    config={"user_id": identity.subject, "dm_channel_id": str(dm_channel)},
                    monitor_id=m.id, language="es")
            else:
                chat = int(identity.subject)
                await service.upsert_chat_channel(
                    identity, kind, key={"chat_id": chat}, config={"chat_id": chat,
                                                                   "private": True},
                    monitor_id=m.id, language="es")

    await asyncio.gather(*(one(i, w) for i, w in enumerate(who)))


async def fail_all(pool: Pool, writer: ResultWriter, n: int) -> float:
    """One batched write of n DOWN results; returns its start time (monotonic)."""
    await pool.execute("UPDATE monitors SET next_due = CASE WHEN name LIKE 'svc-%' "
                       "THEN now() - interval '1 ms' ELSE now() + interval '1 day' END")
    claims = await claim_due(pool, "bench-scheduler", n)
    assert len(claims) == n, len(claims)
    now = datetime.now(UTC)
    for c in claims:
        writer.add(Finished(c, CheckResult(ok=False, latency_ms=None, error="connection refused",
                                           error_code="connection_error"), now,
                            str(c.config["url"])))
    t0 = time.monotonic()
    await writer.flush()
    return t0


async def fanout(
    pool: Pool, service: MonitorService, writer: ResultWriter, who: list[Identity], kind: str,
    wait_sends: Callable[[], Awaitable[list[float]]], limit_s: float, dc: DiscordStandIn,
) -> dict[str, Any]:
    await pool.execute("DELETE FROM monitors WHERE name LIKE 'svc-%'")
    await make_monitors(service, who, kind, "http://127.0.0.1:9/", dc)
    t0 = await fail_all(pool, writer, len(who))
    written = time.monotonic() - t0
    try:
        async with asyncio.timeout(limit_s):
            times = await wait_sends()
    except TimeoutError:
        rows = await pool.fetch("SELECT status, last_error, count(*) AS n FROM alert_outbox "
                                "GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5")
        extra = await pool.fetch("SELECT m.state, count(*) AS n, count(a.id) AS alerts, "
                                 "count(c.id) AS chans FROM monitors m LEFT JOIN alerts a ON "
                                 "a.monitor_id = m.id LEFT JOIN alert_channels c ON "
                                 "c.monitor_id = m.id WHERE m.name LIKE 'svc-%' GROUP BY 1")
        raise TimeoutError(f"fan-out stalled: {[dict(r) for r in rows]} "
                           f"{[dict(r) for r in extra]}") from None
    delivered = 0
    async with asyncio.timeout(WAIT):  # the worker records each send right after it
        while delivered < len(who):
            delivered = await pool.fetchval(
                "SELECT count(*) FROM alert_outbox WHERE status = 'delivered' "
                "AND channel_kind = $1", kind)
            await asyncio.sleep(0.02)
    rel = sorted(t - t0 for t in times)
    return {"events": len(who), "delivered": len(rel), "outbox_delivered": delivered,
            "write_s": round(written, 3), "first_s": round(rel[0], 3),
            "p50_s": round(rel[len(rel) // 2], 3), "last_s": round(rel[-1], 3)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="lh-bench-chat-", dir="/tmp"))
    out: dict[str, Any] = {"bench": "chat", "machine": machine(), "fanout_n": args.fanout}
    rd = EmbeddedRedis(tmp / "redis")
    redis_url = await rd.start()
    redis = aioredis.from_url(redis_url)
    guard = TargetGuard(allow_private=True)
    session = make_session(guard)
    dc = await DiscordStandIn().start()
    tg = await TelegramStandIn(max_poll_wait=1.0).start()
    dc.aim_discord_py()  # the process ends with the benchmark: nothing to undo
    try:
        async with fresh_database(max_size=30) as (pool, _dsn):
            service = MonitorService(pool, guard, CheckContext(session, guard))
            commands = Commands(service)
            client = LighthouseDiscord(commands, sync_commands=False, guild_ready_timeout=0.05,
                                       max_ratelimit_timeout=30.0)
            gateway = asyncio.create_task(client.start(dc.token))
            await dc.wait_call("gateway.identify", timeout=WAIT)
            async with asyncio.timeout(WAIT):
                await client.wait_until_ready()
            bot = await start_telegram(tg, commands, 30.0)
            try:
                # --- command round trips -------------------------------------------------
                d_user, t_chat = 9_000_001, 9_000_002
                for ident in (Identity(Provider.DISCORD, str(d_user)),
                              Identity(Provider.TELEGRAM, str(t_chat))):
                    await service.create_monitor(ident, config={"url": "http://127.0.0.1:9/"},
                                                 name="bench", language="es")
                await pool.execute(
                    "INSERT INTO check_history (time, monitor_id, ok, latency_ms) "
                    "SELECT now() - make_interval(mins => g), m.id, g % 97 <> 0, 80 + g % 50 "
                    "FROM monitors m, generate_series(1, 1440) g WHERE m.name = 'bench'")
                await pool.execute("UPDATE monitors SET state = 'up' WHERE name = 'bench'")
                out["discord_commands"] = await discord_commands(dc, d_user, args.commands)
                out["telegram_commands"] = await telegram_commands(tg, t_chat, args.commands)

                # --- fan-out -------------------------------------------------------------
                worker = DeliveryWorker(pool, {}, Metrics(), worker_id="bench-delivery",
                                        poll_s=0.05)
                sender = DiscordAlertSender(client)
                commands.open_dm = sender.open_dm
                worker.register(DiscordDMChannel(sender))
                limiter, sent_log = RedisChatRateLimiter(redis), RedisSentLog(redis)
                worker.register(TelegramChannel(TelegramAlertSender(bot.app.bot),
                                                limiter=limiter, sent_log=sent_log))
                writer = ResultWriter(pool, "bench-scheduler", max_batch=args.fanout + 1)
                worker.start()
                n = args.fanout
                try:
                    users = [Identity(Provider.DISCORD, str(10_000_000 + i)) for i in range(n)]
                    since = dc.mark()

                    async def discord_sends() -> list[float]:
                        while True:
                            mark = dc.mark()
                            sent = [c for c in dc.find("send_message", since=since)
                                    if c.status == 200]
                            if len(sent) >= n:
                                return [c.time for c in sent]
                            await dc.wait_call("send_message", since=mark, timeout=WAIT)

                    out["discord_fanout"] = await fanout(
                        pool, service, writer, users, "discord_dm", discord_sends, 120, dc)
                    dm_targets = [c.params["channel_id"] for c in dc.find("send_message",
                                                                           since=since)]
                    out["discord_fanout"]["duplicates"] = len(dm_targets) - len(set(dm_targets))

                    async def telegram_run(label: str, rate: float, offset: int) -> None:
                        nonlocal bot
                        await stop_telegram(bot.app)
                        bot = await start_telegram(tg, commands, rate)
                        worker.register(TelegramChannel(TelegramAlertSender(bot.app.bot),
                                                        limiter=limiter, sent_log=sent_log))
                        chats = [Identity(Provider.TELEGRAM, str(offset + i)) for i in range(n)]
                        mark = tg.mark()

                        async def sends() -> list[float]:
                            while True:
                                now_mark = tg.mark()
                                sent = [c for c in tg.find("sendMessage", since=mark)
                                        if c.status == 200]
                                if len(sent) >= n:
                                    return [c.time for c in sent]
                                await tg.wait_call("sendMessage", since=now_mark, timeout=WAIT)

                        result = await fanout(pool, service, writer, chats, "telegram", sends,
                                              n / rate + 60, dc)
                        result["rate_limit_per_s"] = rate
                        result["floor_s"] = round(n / rate, 2)
                        out[label] = result

                    await telegram_run("telegram_fanout_paid_broadcast", 1000.0, 20_000_000)
                    if not args.skip_slow_telegram:
                        await telegram_run("telegram_fanout", 30.0, 30_000_000)
                finally:
                    await worker.stop()
            finally:
                await stop_telegram(bot.app)
                await client.close()
                async with asyncio.timeout(WAIT):
                    await gateway
    finally:
        await dc.stop()
        await tg.stop()
        await session.close()
        await redis.aclose()
        await rd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    d, t = out["discord_commands"]["list"], out["telegram_commands"]["list"]
    out["summary"] = {
        "command_p50_ms": {"discord": d["p50_ms"], "telegram": t["p50_ms"]},
        "command_p99_ms": {"discord": d["p99_ms"], "telegram": t["p99_ms"]},
        "fanout_last_delivery_s": {
            k: out[k]["last_s"] for k in ("discord_fanout", "telegram_fanout_paid_broadcast",
                                          "telegram_fanout") if k in out},
    }
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fanout", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--skip-slow-telegram", action="store_true",
                        help="skip the Telegram fan-out at 30 msg/s (>= fanout/30 seconds)")
    emit(asyncio.run(asyncio.wait_for(main(parser.parse_args()), timeout=600)))
