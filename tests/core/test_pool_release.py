"""A pooled connection goes back to the pool without asyncpg's reset round trip
(core/storage/database.py ``_keep_session``), and nothing the code leaves on a session
could reach the next user of that connection."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from lighthouse.core.storage.database import create_pool
from lighthouse.core.storage.status_pages import listen_changes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def one_connection(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool of exactly one connection: every acquire gets the previous user's session."""
    p = await create_pool(dsn, min_size=1, max_size=1)
    yield p
    await p.close()


async def test_release_sends_nothing_to_the_server(one_connection: asyncpg.Pool) -> None:
    sent: list[str] = []
    async with one_connection.acquire() as conn:
        conn.add_query_logger(lambda record: sent.append(record.query))
    for _ in range(5):
        assert await one_connection.fetchval("SELECT 1") == 1
    # asyncpg's default release would add "SELECT pg_advisory_unlock_all(); ... RESET ALL"
    # after each of the five
    assert sent == ["SELECT 1"] * 5


async def test_a_transaction_left_open_is_rolled_back(one_connection: asyncpg.Pool) -> None:
    await one_connection.execute("CREATE TABLE t (x int)")
    conn = await one_connection.acquire()
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO t VALUES (1)")
    await one_connection.release(conn)
    async with one_connection.acquire() as again:
        assert not again.is_in_transaction()
        assert await again.fetchval("SELECT count(*) FROM t") == 0


async def test_the_status_page_listener_unlistens_before_release(
        one_connection: asyncpg.Pool) -> None:
    changes: list[str] = []
    close = await listen_changes(one_connection, changes.append, lambda: None)
    await close()
    async with one_connection.acquire() as conn:
        assert await conn.fetch("SELECT pg_listening_channels()") == []


# SQL here is written in capitals: SET name = / TO value, RESET name or ALL
_SESSION_SET = re.compile(
    r"""["'(]\s*(SET\s+(SESSION\s+)?(?!LOCAL\b|TRANSACTION\b)[\w.]+\s*(=|TO\b)"""
    r"""|RESET\s+[\w.]+)""")
_SESSION_CONFIG = re.compile(r"set_config\([^)]*,\s*false\s*\)", re.IGNORECASE)


def _statements_in(text: str) -> list[str]:
    return [m.group(0) for m in (*_SESSION_SET.finditer(text), *_SESSION_CONFIG.finditer(text))]


def test_the_guard_finds_session_settings() -> None:
    assert _statements_in('await conn.execute("SET work_mem = 1")')
    assert _statements_in("await conn.execute('RESET ALL')")
    assert _statements_in("SELECT set_config('x.y', '1', false)")
    assert not _statements_in('"SET LOCAL synchronous_commit = off"')
    assert not _statements_in("UPDATE monitors SET state = 'up'")


@pytest.mark.parametrize("package", ["core", "api", "bot", "lighthouse"])
def test_no_code_changes_a_session_setting(package: str) -> None:
    """A session-level SET would outlive its user now that release does not RESET ALL:
    use SET LOCAL inside the transaction instead."""
    found: dict[str, Any] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        hits = _statements_in(path.read_text(encoding="utf-8"))
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}
