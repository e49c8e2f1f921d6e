"""Connection pool, schema migrations and storage-mode detection."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, TypeAlias

import asyncpg
import orjson
from lighthouse.core.text import clean_json

log = logging.getLogger(__name__)

StorageMode = Literal["timescaledb", "plain"]
Pool: TypeAlias = asyncpg.Pool

# Every process that migrates takes this lock first, so two starting at once
# apply each migration exactly once.
_MIGRATION_LOCK = 7_263_411_902
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(timescaledb|plain))?\.sql$")


# The database is there but cannot take this request now (connections exhausted, starting
# up): adapters answer "busy, try again" instead of an apology with a reference.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
)

# A value PostgreSQL (or asyncpg encoding an argument) refused: out of range, NUL in
# text. Reaching an adapter, it came from the request: a 400, never a 500.
DATA_ERRORS: tuple[type[Exception], ...] = (asyncpg.DataError,)


def _json_bytes(value: Any) -> bytes:
    """Compact JSON for a json or jsonb parameter: every check result's details pass here."""
    try:
        data = orjson.dumps(value)
    except orjson.JSONEncodeError:  # a lone surrogate, an integer past 64 bits, an int key
        return _standard_json(value)
    # PostgreSQL refuses NUL in json and jsonb; one such value fails its whole statement.
    return _standard_json(value) if b"\\u0000" in data else data


def _standard_json(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"))
    # json.dumps escapes every non-ASCII character, so a NUL or a lone surrogate shows as
    # one of these escapes (astral characters too, as pairs: those pass through unchanged).
    if "\\u0000" in text or "\\ud" in text:
        text = json.dumps(clean_json(value), separators=(",", ":"))
    return text.encode()


def _json_text(value: Any) -> str:
    return _json_bytes(value).decode()


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + _json_bytes(value)


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary jsonb (version byte + text) so COPY, which is binary, can write jsonb columns.
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=_json_text, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's release step after asyncpg's own (which rolls back a transaction left
    open and drops the connection's listener callbacks): nothing more.

    asyncpg's default also sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` as one more round trip after every use of a pooled connection: 0.1-0.5 ms
    on every query (a third of a 90-day summary on TimescaleDB over TCP,
    docs/performance.md) and a second committed transaction per use. Here it has nothing
    to undo: the code sets no session setting (only ``SET LOCAL``), keeps no cursor past
    its transaction, releases the migration's advisory lock in a ``finally``, and the one
    LISTEN (status pages) UNLISTENs before its connection goes back
    (tests/core/test_pool_release.py holds the code to that)."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=60,
        server_settings={"application_name": "lighthouse", "timezone": "UTC"},
    )
    assert pool is not None
    return pool  # type: ignore[no-any-return]


async def detect_mode(conn: asyncpg.Connection) -> StorageMode:
    """TimescaleDB iff installed, or available *and* preloaded.

    Never try-and-catch CREATE EXTENSION: without the preload it raises FATAL and
    kills the connection. The preload is visible through the loader's settings.
    """
    installed = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname='timescaledb'")
    if installed:
        return "timescaledb"
    available = await conn.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name='timescaledb'"
    )
    preloaded = await conn.fetchval(
        "SELECT current_setting('timescaledb.max_background_workers', true) IS NOT NULL"
    )
    return "timescaledb" if available and preloaded else "plain"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    variant: str | None  # None: both modes; else only the named mode
    sql: str


def load_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("lighthouse.sql").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        version, name, variant = match.groups()
        found.append(Migration(int(version), name, variant, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: (m.version, m.variant or ""))
    return found


def _statements(sql: str) -> list[str]:
    """Split on the `-- statement` marker: TimescaleDB policies want one transaction each."""
    parts = [p.strip() for p in re.split(r"^--\s*statement\s*$", sql, flags=re.MULTILINE)]
    return [p for p in parts if p]


async def migrate(pool: Pool) -> StorageMode:
    """Apply pending migrations in order, forward only; return the storage mode."""
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            mode = await detect_mode(conn)
            if mode == "timescaledb":
                await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            await conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer NOT NULL,
                    variant text NOT NULL DEFAULT '',
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (version, variant)
                );
                CREATE TABLE IF NOT EXISTS schema_meta (
                    key text PRIMARY KEY, value text NOT NULL
                );
                """
            )
            done = {
                (r["version"], r["variant"])
                for r in await conn.fetch("SELECT version, variant FROM schema_migrations")
            }
            stored_mode = await conn.fetchval("SELECT value FROM schema_meta WHERE key='mode'")
            if stored_mode and stored_mode != mode:
                log.warning(
                    "storage mode changed since first migration; keeping the stored one",
                    extra={"stored": stored_mode, "detected": mode},
                )
                mode = stored_mode  # type: ignore[assignment]
            for m in load_migrations():
                if m.variant not in (None, mode) or (m.version, m.variant or "") in done:
                    continue
                log.info("applying migration", extra={"version": m.version, "migration": m.name})
                statements = _statements(m.sql)
                if m.variant == "timescaledb":
                    for stmt in statements:  # each policy in its own transaction
                        await conn.execute(stmt)
                    async with conn.transaction():
                        await _record(conn, m)
                else:
                    async with conn.transaction():
                        for stmt in statements:
                            await conn.execute(stmt)
                        await _record(conn, m)
            await conn.execute(
                "INSERT INTO schema_meta(key, value) VALUES ('mode', $1) "
                "ON CONFLICT (key) DO NOTHING",
                mode,
            )
            return mode
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)


async def _record(conn: asyncpg.Connection, m: Migration) -> None:
    await conn.execute(
        "INSERT INTO schema_migrations(version, variant, name) VALUES ($1, $2, $3)",
        m.version,
        m.variant or "",
        m.name,
    )


async def storage_mode(pool: Pool) -> StorageMode:
    value: Any = await pool.fetchval("SELECT value FROM schema_meta WHERE key='mode'")
    return "timescaledb" if value == "timescaledb" else "plain"


class OneConnection:
    """One connection seen as a pool: code written against the pool (every storage
    function, the service) runs on this connection, so inside one transaction. A nested
    ``conn.transaction()`` becomes a savepoint; calls must not overlap (one connection)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def acquire(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext(self._conn)

    async def execute(self, query: str, *args: Any) -> Any:
        return await self._conn.execute(query, *args)

    async def fetch(self, query: str, *args: Any) -> Any:
        return await self._conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return await self._conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._conn.fetchval(query, *args)
