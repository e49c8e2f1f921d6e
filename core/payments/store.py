"""Payment rows in PostgreSQL: the unique key is the one-use nonce reservation."""

from __future__ import annotations

from typing import Any

from lighthouse.core.payments.verifier import Verified
from lighthouse.core.text import clean_text

OPEN_STATES = ("reserved", "pending")


class PaymentStore:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def reserve(self, v: Verified, resource: str) -> tuple[int | None, dict[str, Any] | None]:
        """(new row id, None) when reserved; (None, existing row) when the nonce is taken."""
        a, o = v.auth, v.offer
        row = await self._pool.fetchrow(
            """
            INSERT INTO payments (chain_id, asset, payer, nonce, pay_to, amount, network,
                                  resource, valid_before, payload)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (chain_id, asset, payer, nonce) DO UPDATE
                SET state = 'reserved', resource = EXCLUDED.resource, updated_at = now(),
                    payload = EXCLUDED.payload, error = NULL
                WHERE payments.state = 'released'
            RETURNING id
            """,
            o.network.chain_id, o.network.asset.lower(), a.from_, a.nonce, a.to, a.value,
            o.network.caip2, resource, a.valid_before, v.payload,
        )
        if row is not None:
            return row["id"], None
        existing = await self._pool.fetchrow(
            "SELECT * FROM payments WHERE chain_id=$1 AND asset=$2 AND payer=$3 AND nonce=$4",
            o.network.chain_id, o.network.asset.lower(), a.from_, a.nonce,
        )
        return None, dict(existing) if existing else {"state": "reserved"}

    async def mark(self, payment_id: int, state: str, *, tx_hash: str | None = None,
                   error: str | None = None) -> None:
        await self._pool.execute(
            """UPDATE payments SET state=$2, tx_hash=coalesce($3, tx_hash), error=$4,
               updated_at=now() WHERE id=$1""",
            payment_id, state, tx_hash, clean_text(error)[:2000] if error else None,
        )

    async def get(self, payment_id: int) -> dict[str, Any] | None:
        row = await self._pool.fetchrow("SELECT * FROM payments WHERE id=$1", payment_id)
        return dict(row) if row else None

    async def open_rows(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT * FROM payments WHERE state = ANY($1::text[]) ORDER BY id LIMIT $2",
            list(OPEN_STATES), limit,
        )
        return [dict(r) for r in rows]
