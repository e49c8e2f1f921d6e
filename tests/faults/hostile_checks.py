"""What each check type must make of the hostile targets (tests/faults/hostile.py), and
the pieces the tests and bench/hostile.py share to run them: through the real scheduler,
with this process's resident memory sampled."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.http_client import make_session
from lighthouse.core.metrics import Metrics
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.scheduler import Scheduler
from lighthouse.core.storage.database import create_pool
from lighthouse.core.storage.results import ResultWriter

TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Case:
    """One hostile kind against one check type, and the error it must end as."""

    kind: str
    type: str
    config: Callable[[int], dict[str, Any]]
    codes: frozenset[str]  # acceptable error codes
    says: str  # a piece of the error text, so the error is clear, not just a code

    @property
    def label(self) -> str:
        return f"{self.kind}-{self.type}"


def _url(port: int, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{port}/"


def _http(**extra: Any) -> Callable[[int], dict[str, Any]]:
    return lambda port: {"url": _url(port), "timeout_s": TIMEOUT_S, **extra}


def _rpc(port: int) -> dict[str, Any]:
    return {"url": _url(port), "chain_id": 1, "timeout_s": TIMEOUT_S}


def _canary(port: int, step: dict[str, Any]) -> dict[str, Any]:
    return {"timeout_s": TIMEOUT_S, "steps": [{**step, "timeout_s": TIMEOUT_S}]}


BODY_CONDITION = ['[BODY].result == "ok"']
TIMEOUT = frozenset({"timeout"})

CASES = [
    # (1) accepts TCP and never answers
    Case("silent", "http", _http(), TIMEOUT, "timed out after 2 s"),
    Case("silent", "evm_rpc", _rpc, TIMEOUT, "timed out after 2 s"),
    Case("silent", "tcp", lambda p: {"host": "127.0.0.1", "port": p, "send": "PING\r\n",
                                     "expect": "PONG", "timeout_s": TIMEOUT_S},
         TIMEOUT, "no reply"),
    Case("silent", "ws", lambda p: {"url": _url(p, "ws"), "timeout_s": TIMEOUT_S}, TIMEOUT,
         "timed out after 2 s"),
    # (2) an endless body
    Case("endless", "http", _http(conditions=BODY_CONDITION), frozenset({"condition_failed"}),
         "larger than"),
    Case("endless", "evm_rpc", _rpc, frozenset({"rpc_invalid_response"}), "larger than"),
    # (3) a 50 MB body
    Case("huge", "http", _http(conditions=BODY_CONDITION), frozenset({"condition_failed"}),
         "larger than"),
    Case("huge", "evm_rpc", _rpc, frozenset({"rpc_invalid_response"}), "larger than"),
    # (4) JSON 100,000 levels deep
    Case("deep_json", "http", _http(conditions=BODY_CONDITION), frozenset({"condition_failed"}),
         "nested deeper"),
    Case("deep_json", "evm_rpc", _rpc, frozenset({"rpc_invalid_response"}), "nested deeper"),
    # (5) slowloris headers
    Case("slowloris", "http", _http(), TIMEOUT, "timed out after 2 s"),
    Case("slowloris", "evm_rpc", _rpc, TIMEOUT, "timed out after 2 s"),
    Case("slowloris", "tcp", lambda p: {"host": "127.0.0.1", "port": p, "send": "GET / HTTP/1.1\r\n\r\n",
                                        "expect": "PONG", "timeout_s": TIMEOUT_S},
         TIMEOUT, "no reply"),
    # (6) a TLS handshake that stalls
    Case("tls_stall", "http", lambda p: {"url": _url(p, "https"), "timeout_s": TIMEOUT_S},
         TIMEOUT, "timed out after 2 s"),
    Case("tls_stall", "tls", lambda p: {"host": "127.0.0.1", "port": p, "timeout_s": TIMEOUT_S},
         TIMEOUT, "no TLS handshake"),
    Case("tls_stall", "ws", lambda p: {"url": _url(p, "wss"), "timeout_s": TIMEOUT_S}, TIMEOUT,
         "timed out after 2 s"),
    # the multi-step and paid-endpoint types read bodies and JSON their own way
    Case("huge", "canary", lambda p: _canary(p, {"action": "http", "url": _url(p),
                                                 "expect": BODY_CONDITION}),
         frozenset({"condition_failed"}), "larger than"),
    Case("deep_json", "canary", lambda p: _canary(p, {"action": "rpc", "url": _url(p),
                                                      "method": "eth_chainId"}),
         frozenset({"rpc_invalid_response"}), "nested deeper"),
    Case("slowloris", "canary", lambda p: _canary(p, {"action": "http", "url": _url(p)}),
         frozenset({"flow_timeout"}), "flow timeout of 2 s"),
    Case("silent", "x402", lambda p: {"url": _url(p), "timeout_s": TIMEOUT_S}, TIMEOUT,
         "timed out after 2 s"),
    Case("tls_stall", "x402", lambda p: {"url": _url(p, "https"), "timeout_s": TIMEOUT_S},
         TIMEOUT, "timed out after 2 s"),
]


def rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """Samples this process's resident memory every 20 ms while checks run."""

    def __init__(self) -> None:
        self.baseline = self.peak = rss_now_mb()
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        for _ in range(30_000):  # 10 minutes at most
            self.peak = max(self.peak, rss_now_mb())
            await asyncio.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, rss_now_mb())

    @property
    def growth_mb(self) -> float:
        return self.peak - self.baseline


@asynccontextmanager
async def loopback_context() -> AsyncIterator[CheckContext]:
    """A check context whose guard lets checks reach 127.0.0.1 (the hostile servers)."""
    guard = TargetGuard(allow_private=True)
    session = make_session(guard)
    try:
        yield CheckContext(session, guard)
    finally:
        await session.close()


async def insert_monitors(pool: asyncpg.Pool, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Monitors (name, type, config) of one enterprise user, all due now."""
    owner = await pool.fetchval("INSERT INTO users (tier) VALUES ('enterprise') RETURNING id")
    await pool.executemany(
        "INSERT INTO monitors (owner_id, name, type, config, target_host, interval_s, tier, next_due) "
        "VALUES ($1, $2, $3, $4::jsonb, '127.0.0.1', 3600, 'enterprise', now() - interval '1 second')",
        [(owner, name, type_, config) for name, type_, config in rows])


async def run_scheduler(dsn: str, pool: asyncpg.Pool, expected: int, *,
                         concurrency: int) -> list[asyncpg.Record]:
    """The real scheduler (claim, run, batched writes) until ``expected`` results are stored."""
    sched_pool = await create_pool(dsn, min_size=1, max_size=5)
    writer = ResultWriter(sched_pool, "hostile", max_delay_s=0.05)
    writer.start()
    try:
        async with loopback_context() as ctx:
            scheduler = Scheduler(sched_pool, ctx, writer, Metrics(), worker_id="hostile",
                                  max_concurrency=concurrency, per_host_concurrency=concurrency,
                                  claim_batch=concurrency)
            try:
                async with asyncio.timeout(TIMEOUT_S * 4 + 60):
                    while await pool.fetchval("SELECT count(*) FROM check_history") < expected:
                        await scheduler.tick()
                        await asyncio.sleep(0.05)
            finally:
                await scheduler.stop()
    finally:
        await sched_pool.close()
    return await pool.fetch(
        "SELECT m.name, h.ok, h.error_code, h.error, h.latency_ms FROM check_history h "
        "JOIN monitors m ON m.id = h.monitor_id ORDER BY m.name")


def hostile_monitors(ports: dict[str, int], n: int) -> list[tuple[str, str, dict[str, Any]]]:
    """n monitors (name, type, config) cycling through CASES."""
    cases = [CASES[i % len(CASES)] for i in range(n)]
    return [(f"{c.label}-{i:04d}", c.type, c.config(ports[c.kind])) for i, c in enumerate(cases)]
