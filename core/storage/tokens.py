"""Management tokens of monitors bought over the API. Only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from lighthouse.core.storage.database import Pool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(pool: Pool, monitor_id: int, token: str, payment_id: int | None) -> None:
    await pool.execute(
        "INSERT INTO api_tokens (token_hash, monitor_id, payment_id) VALUES ($1, $2, $3)",
        token_hash(token), monitor_id, payment_id,
    )


async def monitor_for(pool: Pool, token: str, public_id: uuid.UUID) -> int | None:
    """The monitor id when ``token`` manages the monitor ``public_id``; None otherwise."""
    value = await pool.fetchval(
        "SELECT t.monitor_id FROM api_tokens t JOIN monitors m ON m.id = t.monitor_id "
        "WHERE t.token_hash = $1 AND m.public_id = $2",
        token_hash(token), public_id,
    )
    return None if value is None else int(value)


async def owner_of(pool: Pool, token: str) -> Any | None:
    """The users row owning the monitor that ``token`` manages; None for no such token."""
    return await pool.fetchrow(
        "SELECT u.* FROM api_tokens t JOIN monitors m ON m.id = t.monitor_id "
        "JOIN users u ON u.id = m.owner_id WHERE t.token_hash = $1", token_hash(token))
