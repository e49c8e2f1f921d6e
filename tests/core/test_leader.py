"""The leader lease (core/leader.py) on a real PostgreSQL: one holder among contenders, a
standby takes over when the holder stops or stops renewing, and a holder that finds its
lease taken steps down and stops what it ran."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
import pytest
from lighthouse.core.leader import LeaderGate
from lighthouse.core.storage import leases

TTL = 1.5


class RecordingPart:
    """A component that only notes when the gate starts and stops it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")

    @property
    def running(self) -> bool:
        return bool(self.events) and self.events[-1] == "start"


async def until(predicate: Callable[[], bool], timeout: float) -> float:  # noqa: ASYNC109
    """Seconds until ``predicate()`` holds; fails after ``timeout``."""
    started = time.monotonic()
    for _ in range(int(timeout / 0.02) + 1):
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            break
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


def gate(pool: asyncpg.Pool, holder: str, part: RecordingPart) -> LeaderGate:
    return LeaderGate(pool, "chat", holder, [part], ttl_s=TTL)


async def test_one_of_three_leads_and_a_clean_stop_hands_over_at_once(
        pool: asyncpg.Pool) -> None:
    parts = [RecordingPart(f"p{i}") for i in range(3)]
    gates = [gate(pool, f"proc-{i}", p) for i, p in enumerate(parts)]
    await asyncio.gather(*(g.start() for g in gates))
    try:
        assert [g.leader for g in gates].count(True) == 1
        first = next(i for i, g in enumerate(gates) if g.leader)
        assert parts[first].events == ["start"]
        assert all(p.events == [] for i, p in enumerate(parts) if i != first)
        held = await leases.current(pool, "chat")
        assert held is not None and held.holder == f"proc-{first}"

        await gates[first].stop()
        assert parts[first].events == ["start", "stop"]
        # Released on a clean stop: a standby takes over within one poll, not one lease.
        waited = await until(lambda: any(g.running for g in gates), timeout=TTL)
        assert waited < TTL
        leaders = [g for g in gates if g.leader]
        assert len(leaders) == 1 and leaders[0] is not gates[first]
    finally:
        for g in gates:
            await g.stop()


async def test_a_holder_that_stops_renewing_is_replaced_within_one_lease(
        pool: asyncpg.Pool) -> None:
    a_part, b_part = RecordingPart("a"), RecordingPart("b")
    a, b = gate(pool, "proc-a", a_part), gate(pool, "proc-b", b_part)
    await a.start()
    await b.start()
    try:
        assert a.leader and not b.leader
        # A crash: the holder's tasks vanish without releasing anything.
        assert a._lease_task is not None and a._run_task is not None
        a._lease_task.cancel()
        a._run_task.cancel()
        crashed = time.monotonic()
        await until(lambda: b.running, timeout=TTL * 2 + 1)
        assert time.monotonic() - crashed <= TTL + TTL / 5 + 0.5
        assert b_part.events == ["start"]
    finally:
        a.leader = False  # crashed: nothing of it to release
        await a.stop()
        await b.stop()


async def test_a_holder_whose_lease_was_taken_steps_down(pool: asyncpg.Pool) -> None:
    part = RecordingPart("bots")
    g = gate(pool, "proc-a", part)
    await g.start()
    try:
        assert g.leader and part.running
        # Another process took it (e.g. this one stalled past its lease).
        await pool.execute("UPDATE leases SET holder = 'proc-z', "
                           "expires_at = now() + interval '1 minute' WHERE name = 'chat'")
        await until(lambda: not part.running, timeout=TTL)
        assert not g.leader and part.events == ["start", "stop"]
        # Its lease runs out: this one leads again and starts the parts again.
        await pool.execute("UPDATE leases SET expires_at = now() WHERE name = 'chat'")
        await until(lambda: part.running, timeout=TTL)
        assert part.events == ["start", "stop", "start"] and g.elections == 2
    finally:
        await g.stop()
    assert await leases.current(pool, "chat") is None


async def test_the_lease_statement_refuses_a_second_holder(pool: asyncpg.Pool) -> None:
    assert await leases.acquire(pool, "x", "one", 30)
    assert not await leases.acquire(pool, "x", "two", 30)
    assert await leases.acquire(pool, "x", "one", 30)  # renewal
    assert not await leases.release(pool, "x", "two")
    assert await leases.release(pool, "x", "one")
    assert await leases.acquire(pool, "x", "two", 30)


def test_a_lease_must_last() -> None:
    with pytest.raises(ValueError, match="positive"):
        LeaderGate(None, "chat", "me", [], ttl_s=0)  # type: ignore[arg-type]
