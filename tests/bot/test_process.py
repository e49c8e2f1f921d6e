"""Both bots inside the real composition root (lighthouse.runtime.serve), aimed at the
stand-ins (Telegram through its setting, Discord by the ``dc`` fixture, since discord.py
has no per-client endpoint): they start after the delivery worker, answer, report on
/health/chat, and stop in order; a refused token stops the process cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from lighthouse.core.settings import Settings
from standins.discord_api import DiscordStandIn
from standins.telegram_api import TelegramStandIn
from targets import Target

from lighthouse.runtime import serve

WAIT = 10.0
TESTS = str(Path(__file__).resolve().parents[1])  # for `python -m standins.aimed_cli`


def settings(dsn: str, redis_url: str, port: int, tmp: Path, dc: DiscordStandIn,
             tg: TelegramStandIn, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": dsn, "REDIS_URL": redis_url,
        "API_HOST": "127.0.0.1", "API_PORT": port, "METRICS_PORT": 0,
        "LIGHTHOUSE_DATA_DIR": str(tmp), "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": True,
        "DISCORD_BOT_TOKEN": dc.token,
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.http_url,
        **extra,
    }
    return Settings(**values)


async def _health(base: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as s, s.get(f"{base}/health/chat") as r:
        return r.status, await r.json()


async def test_both_bots_run_in_the_service_and_stop_in_order(
    dsn: str, redis_url: str, tmp_path: Path, dc: DiscordStandIn, tg: TelegramStandIn,
    target: Target, make_free_port: Any,
) -> None:
    port = make_free_port()
    stop = asyncio.Event()
    before = asyncio.all_tasks()
    run = asyncio.create_task(serve(settings(dsn, redis_url, port, tmp_path, dc, tg),
                                    stop=stop))
    base = f"http://127.0.0.1:{port}"
    try:
        await dc.wait_call("gateway.identify", timeout=WAIT)
        await tg.wait_call("getUpdates", timeout=WAIT)
        async with asyncio.timeout(WAIT):
            while True:
                try:
                    status, body = await _health(base)
                except aiohttp.ClientError:
                    status, body = 0, {}
                if status == 200:
                    break
                await asyncio.sleep(0.1)
        assert body == {"discord": True, "telegram": True}
        since = tg.mark()
        await tg.inject_message(9001, f"/monitor add {target.url} web", language_code="es")
        reply = await tg.wait_call("sendMessage", since=since, timeout=WAIT)
        assert reply.params["text"].startswith("✅ Ahora monitoreo web")
        inter = await dc.inject_command("monitor list", locale="es-419", user_id=31337)
        answer = await dc.wait_interaction_response(inter, timeout=WAIT)
        assert answer.body["data"]["content"].startswith("Todavía no tienes monitores.")
    finally:
        stop.set()
        async with asyncio.timeout(30):
            code = await run
    assert code == 0
    # Telegram acknowledged its last updates on the way out; Discord closed its socket.
    assert tg.find("getUpdates")[-1].params.get("timeout") in ("0", 0, None)
    left = {t for t in asyncio.all_tasks() - before if not t.done()}
    if left:
        await asyncio.wait(left, timeout=3)
    assert [t for t in left if not t.done()] == []


async def test_a_refused_token_stops_the_process_cleanly(
    dsn: str, redis_url: str, tmp_path: Path, dc: DiscordStandIn, tg: TelegramStandIn,
    make_free_port: Any,
) -> None:
    s = settings(dsn, redis_url, make_free_port(), tmp_path, dc, tg,
                 DISCORD_BOT_TOKEN="wrong-token")
    async with asyncio.timeout(30):
        code = await serve(s, stop=asyncio.Event())
    assert code == 1  # stopped cleanly, but a refused token is an operator error
    assert dc.find("get_me")[0].status == 401
    assert dc.find("gateway.identify") == []


async def test_telegram_webhook_mode_shares_the_http_server(
    dsn: str, redis_url: str, tmp_path: Path, dc: DiscordStandIn, tg: TelegramStandIn,
    make_free_port: Any,
) -> None:
    port = make_free_port()
    s = settings(dsn, redis_url, port, tmp_path, dc, tg, DISCORD_BOT_TOKEN=None,
                 TELEGRAM_WEBHOOK_URL="https://lighthouse.example/telegram/webhook",
                 TELEGRAM_WEBHOOK_SECRET="s3cret-token")
    stop = asyncio.Event()
    run = asyncio.create_task(serve(s, stop=stop))
    try:
        hook = await tg.wait_call("setWebhook", timeout=WAIT)
        assert hook.params["url"] == "https://lighthouse.example/telegram/webhook"
        assert hook.params["secret_token"] == "s3cret-token"
        update = {"update_id": 1, "message": {
            "message_id": 5, "date": 0, "chat": {"id": 8080, "type": "private"},
            "from": tg.user_obj(8080, "es"), "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as r:
                assert r.status == 403
            async with http.post(url, json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                assert r.status == 403
            async with http.post(url, json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}) as r:
                assert r.status == 200
        reply = await tg.wait_call("sendMessage", timeout=WAIT)
        assert reply.params["text"].startswith("Lighthouse vigila tus sitios web y APIs")
        assert tg.find("getUpdates") == []
        assert dc.calls == []  # no Discord token: no Discord
    finally:
        stop.set()
        async with asyncio.timeout(30):
            assert await run == 0


async def test_process_started_from_the_environment_exits_cleanly_on_sigterm(
    dsn: str, redis_url: str, tmp_path: Path, dc: DiscordStandIn, tg: TelegramStandIn,
    make_free_port: Any,
) -> None:
    """`lighthouse run` as a deployment starts it: settings from the environment only.
    Only discord.py's endpoints are set by the test's launcher (standins/aimed_cli.py)."""
    import os
    import signal
    import sys

    env = {
        **os.environ, "DATABASE_URL": dsn, "REDIS_URL": redis_url,
        "API_HOST": "127.0.0.1", "API_PORT": str(make_free_port()), "METRICS_PORT": "0",
        "LIGHTHOUSE_DATA_DIR": str(tmp_path), "LOG_FORMAT": "text",
        "DISCORD_BOT_TOKEN": dc.token,
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.http_url,
        "STANDIN_DISCORD_API_BASE": dc.api_base, "STANDIN_DISCORD_GATEWAY": dc.gateway_url,
        "PYTHONPATH": os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH")) if p),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "dev", "-m", "standins.aimed_cli", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await dc.wait_call("gateway.identify", timeout=30)
        await tg.wait_call("getUpdates", timeout=30)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"ResourceWarning" not in err, err.decode()[-2000:]
    assert tg.find("getUpdates")[-1].params.get("timeout") in ("0", 0, None)
