"""Hypothesis over the chat command path (issue 16): whatever a user types, the answer is a
localized reply, never an exception and never the "something went wrong" of a bug.

Driven: the Telegram text parser (``TelegramBot.dispatch``: verbs and whitespace-split
arguments, as python-telegram-bot hands them over) and the command layer it calls
(bot/commands.py, the same methods the Discord slash commands call with their options),
over the real PostgreSQL. Every input is sent twice, by an English and by a Spanish user:
an error is refused with the same code in both, and the Spanish text is not the English
one. ``/monitor test`` is left out: it checks the target over the network by design.

Host names are not resolved (OfflineGuard): an unresolvable host is accepted at creation
anyway, and nothing here may reach the internet.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from lighthouse.bot.commands import Commands
from lighthouse.bot.plumbing import Chat, Ctx, Reply
from lighthouse.bot.telegram.bot import TelegramBot
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService

pytestmark = pytest.mark.faults

SEED = int(os.environ.get("LIGHTHOUSE_FUZZ_SEED", "16"))  # another value explores other inputs
MAX_EXAMPLES = 150
CALL_TIMEOUT_S = 30.0


class OfflineGuard(TargetGuard):
    """The real guard for IP literals; names resolve to nothing (no DNS from tests)."""

    async def resolve(self, host: str, port: int = 0) -> list[str]:
        if _is_literal(host):
            return await super().resolve(host, port)
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: not resolved in tests")


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


VERBS = ["add", "list", "status", "pause", "resume", "remove", "token", "incidents",
         "maintenance", "help", "nonsense", ""]
WORDS = ["heartbeat", "tcp", "dns", "tls", "http", "ws", "evm_rpc", "evm_balance", "x402",
         "canary", "5m", "30s", "0s", "-1m", "1d", "99999999d", "1h30m", "off", "2h",
         "2026-12-24T18:00", "1999-01-01T00:00", "api", "https://example.com/health",
         "http://127.0.0.1:1/", "http://[::1]/", "tcp://1.1.1.1:53", "tcp://h:99999",
         "dns://example.com", "{", "}", '{"host":', '"1.1.1.1",', '"port":', "53}",
         '{"url":', "1}", "[[[[", "null", "example.com", "ftp://x", "https://", "a" * 300]
TOKEN = st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=30).filter(
    lambda s: not any(ch.isspace() for ch in s)))
MESSAGE = st.one_of(
    st.tuples(st.just("add"), st.lists(TOKEN, min_size=1, max_size=5)),  # the richest parse
    st.tuples(st.sampled_from(["add", "maintenance"]),
              st.tuples(st.sampled_from(WORDS[:12]), TOKEN).map(list)),
    st.tuples(st.one_of(st.sampled_from(VERBS), TOKEN), st.lists(TOKEN, max_size=6)),
)
TEXT = st.one_of(st.sampled_from(WORDS), st.text(max_size=120))
OPTIONAL = st.one_of(st.none(), TEXT)


USERS = ((9_100_001, "en"), (9_100_002, "es"))


def _ctx(user: int, lang: str) -> Ctx:
    return Ctx(Identity(Provider.TELEGRAM, str(user)),
               Chat(Provider.TELEGRAM, str(user), private=True), lang)


class _Driver:
    """Runs one input for both languages on the test's loop, from hypothesis' thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, bot: TelegramBot, pool: asyncpg.Pool) -> None:
        self.loop, self.bot, self.pool, self.inputs = loop, bot, pool, 0
        self.by_code: dict[str | None, int] = {}

    def _call(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT_S)  # type: ignore[arg-type]

    def both(self, run: Callable[[Ctx], Awaitable[Reply]]) -> None:
        self.inputs += 1
        en, es = (self._call(run(_ctx(user, lang))) for user, lang in USERS)
        # /language may have switched a user's language: each input starts from the client's.
        self._call(self.pool.execute("UPDATE users SET language = NULL"))
        for reply in (en, es):
            assert reply.error != "internal", reply.full_text
            assert reply.full_text.strip(), reply
        self.by_code[en.error] = self.by_code.get(en.error, 0) + 1
        if en.error is not None and es.error is not None:
            assert es.lang == "es" and en.lang == "en"
            assert es.text != en.text, (en.text, es.text)


@pytest.fixture
async def bot(pool: asyncpg.Pool, check_context: CheckContext) -> TelegramBot:
    guard = OfflineGuard(allow_private=False)
    service = MonitorService(pool, guard, CheckContext(check_context.session, guard))
    for user, _lang in USERS:  # room for many monitors: limits are not the point
        await service.upgrade_tier(Identity(Provider.TELEGRAM, str(user)), "enterprise",
                                   timedelta(days=30))
    return TelegramBot(Commands(service), app=None)  # type: ignore[arg-type]  # dispatch only


def _run_fuzz(driver: _Driver, strategy: st.SearchStrategy[Any],
              each: Callable[[_Driver, Any], None]) -> None:
    @seed(SEED)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def run(value: Any) -> None:
        each(driver, value)

    run()


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged == [], [r.getMessage() for r in logged]


async def test_any_telegram_command_text_gets_a_localized_reply(
        bot: TelegramBot, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    driver = _Driver(asyncio.get_running_loop(), bot, pool)

    def each(d: _Driver, message: tuple[str, list[str]]) -> None:
        verb, args = message
        if verb.lower() == "test":
            return  # checks the target over the network
        d.both(lambda ctx: d.bot.dispatch(ctx, verb.lower(), list(args)))

    await asyncio.to_thread(_run_fuzz, driver, MESSAGE, each)
    print(f"telegram commands: {driver.inputs} inputs x 2 languages, replies by code "
          f"{sorted(driver.by_code.items(), key=str)}")
    _no_errors_logged(caplog)
    assert driver.inputs >= MAX_EXAMPLES // 2
    assert len(driver.by_code) >= 5  # refused in many ways, and accepted too
    assert None in driver.by_code


async def test_any_slash_command_option_gets_a_localized_reply(
        bot: TelegramBot, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture) -> None:
    """The command layer with the free-text options Discord's slash commands pass."""
    driver = _Driver(asyncio.get_running_loop(), bot, pool)
    c = bot.commands
    calls = st.one_of(
        st.tuples(st.just("add"), TEXT, OPTIONAL, OPTIONAL),
        st.tuples(st.just("heartbeat"), TEXT, OPTIONAL, OPTIONAL),
        st.tuples(st.just("maintenance"), TEXT, TEXT, st.none()),
        st.tuples(st.just("status"), TEXT, st.none(), st.none()),
        st.tuples(st.just("language"), OPTIONAL, st.none(), st.none()),
        st.tuples(st.just("alerts"), TEXT, TEXT, st.none()),
    )

    def each(d: _Driver, call: tuple[str, Any, Any, Any]) -> None:
        name, a, b, x = call
        runs: dict[str, Callable[[Ctx], Awaitable[Reply]]] = {
            "add": lambda ctx: c.add(ctx, a, b, x),
            "heartbeat": lambda ctx: c.add_heartbeat(ctx, a, *[v for v in (b, x) if v is not None]),
            "maintenance": lambda ctx: c.maintenance(ctx, a, b),
            "status": lambda ctx: c.status(ctx, a, chart=False),
            "language": lambda ctx: c.set_language(ctx, a),
            "alerts": lambda ctx: c.alerts_add(ctx, a, b),
        }
        d.both(runs[name])

    await asyncio.to_thread(_run_fuzz, driver, calls, each)
    print(f"slash options: {driver.inputs} inputs x 2 languages, replies by code "
          f"{sorted(driver.by_code.items(), key=str)}")
    _no_errors_logged(caplog)
    assert len(driver.by_code) >= 5
