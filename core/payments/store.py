"""Payment rows in PostgreSQL: the unique key is the one-use nonce reservation."""

from __future__ import annotations

from typing import Any

from lighthouse.core.payments.verifier import Verified
from lighthouse.core.text import clean_text

OPEN_STATES = ("reserved", "pending")
# Owed back to the payer (sql/0013_refunds.sql): not yet sent, or sent and undecided.
REFUND_STATES = ("refund_due", "refunding")


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

    # --- refunds --------------------------------------------------------------------
    async def refund_due(self, payment_id: int, reason: str) -> None:
        """A settled payment whose paid action failed: owed back, with the reason."""
        await self._pool.execute(
            "UPDATE payments SET state = 'refund_due', refund_reason = $2, updated_at = now() "
            "WHERE id = $1 AND state = 'settled'",
            payment_id, clean_text(reason)[:2000],
        )

    async def claim_refund(self, payment_id: int) -> dict[str, Any] | None:
        """Take a ``refund_due`` row for sending (-> ``refunding``); None when another
        process has it, or it is not owed. Nothing else ever sends the same refund."""
        row = await self._pool.fetchrow(
            "UPDATE payments SET state = 'refunding', error = NULL, updated_at = now() "
            "WHERE id = $1 AND state = 'refund_due' RETURNING *",
            payment_id,
        )
        return dict(row) if row else None

    async def refund_outcome(self, payment_id: int, state: str, *, tx: str | None = None,
                             error: str | None = None) -> None:
        """``refunded`` (with its tx), back to ``refund_due`` (nothing moved, try again), or
        still ``refunding`` with the tx that may be out (decided from its receipt)."""
        await self._pool.execute(
            """UPDATE payments SET state = $2, refund_tx = coalesce($3, refund_tx), error = $4,
                   refunded_at = CASE WHEN $2 = 'refunded' THEN now() ELSE refunded_at END,
                   updated_at = now()
               WHERE id = $1 AND state = 'refunding'""",
            payment_id, state, tx, clean_text(error)[:2000] if error else None,
        )

    async def refunds(self, states: tuple[str, ...] = REFUND_STATES, limit: int = 500
                      ) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT id, state, payer, pay_to, amount, network, chain_id, asset, resource, tx_hash, "
            "refund_reason, refund_tx, refunded_at, error, created_at, updated_at FROM payments "
            "WHERE state = ANY($1::text[]) ORDER BY id LIMIT $2",
            list(states), limit,
        )
        return [dict(r) for r in rows]
