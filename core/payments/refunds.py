"""Refunds: a settled payment whose paid action then failed is owed back to the payer.

The API refuses before payment whatever the service would refuse (its dry run), so this
is for races (a limit reached between the dry run and the creation) and outages. The
row goes ``settled -> refund_due`` with the reason; where the facilitator holds the paid
account's key (core/payments/facilitator.py, ``RefundSender``) the transfer back is sent
at once and again by every reconciler pass until it is decided:

    refund_due --claim--> refunding --receipt ok--> refunded (refund_tx)
                              |--nothing moved----> refund_due (tried again)
                              '--no receipt yet---> refunding (decided from refund_tx)

Claiming is one conditional UPDATE, so two processes never send the same refund. Rows no
facilitator can pay back stay ``refund_due`` for the operator
(``lighthouse payments refunds`` lists them, lighthouse/payments_cli.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from lighthouse.core.payments.facilitator import refund_sender
from lighthouse.core.payments.store import PaymentStore

log = logging.getLogger(__name__)

# How long a paid request waits for its refund before answering with "on its way".
INLINE_WAIT_S = 10.0


@dataclass(frozen=True)
class RefundStatus:
    state: str  # refund_due | refunding | refunded
    transaction: str | None  # the transfer back, once sent
    automatic: bool  # a facilitator here can send it; otherwise the operator does


class Refunds:
    def __init__(self, store: PaymentStore, facilitator: object, *,
                 inline_wait_s: float = INLINE_WAIT_S) -> None:
        self.store = store
        self.sender = refund_sender(facilitator)
        self.inline_wait_s = inline_wait_s
        # Attempts outlive the request that started them (a receipt can take longer than
        # the buyer should wait); held here so they are not garbage-collected midway.
        self._tasks: set[asyncio.Task[str]] = set()

    def automatic(self, row: dict[str, Any]) -> bool:
        return self.sender is not None and self.sender.can_refund(row["chain_id"], row["pay_to"])

    async def owe(self, payment_id: int, reason: str) -> RefundStatus:
        """Record the debt and start paying it back; the status after a bounded wait."""
        await self.store.refund_due(payment_id, reason)
        task = asyncio.create_task(self.attempt(payment_id), name=f"refund-{payment_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.wait({task}, timeout=self.inline_wait_s)
        row = await self.store.get(payment_id)
        assert row is not None
        return RefundStatus(row["state"], row["refund_tx"], self.automatic(row))

    async def attempt(self, payment_id: int) -> str:
        """Send one ``refund_due`` payment back if this process can; its state after."""
        row = await self.store.get(payment_id)
        if row is None or row["state"] != "refund_due" or not self.automatic(row):
            return "" if row is None else str(row["state"])
        claimed = await self.store.claim_refund(payment_id)
        if claimed is None:
            return "refunding"  # another process took it
        assert self.sender is not None
        try:
            result = await self.sender.refund(row["chain_id"], row["asset"], row["payer"],
                                              int(row["amount"]))
        except Exception as exc:  # a sender that raised sent nothing it knows of
            log.exception("refund failed to send", extra={"payment_id": payment_id})
            await self.store.refund_outcome(payment_id, "refund_due", error=str(exc)[:200])
            return "refund_due"
        if result.outcome == "success":
            await self.store.refund_outcome(payment_id, "refunded", tx=result.transaction)
            log.info("payment refunded", extra={"payment_id": payment_id, "tx": result.transaction})
            return "refunded"
        if result.outcome == "failed":
            await self.store.refund_outcome(payment_id, "refund_due", error=result.error)
            log.warning("refund not sent; retried later",
                        extra={"payment_id": payment_id, "error": result.error})
            return "refund_due"
        await self.store.refund_outcome(payment_id, "refunding", tx=result.transaction or None,
                                        error=result.error)
        return "refunding"

    async def run_once(self) -> dict[str, int]:
        """A reconciler pass: send what is owed, decide what was sent."""
        counts = {"refunded": 0, "due": 0, "undecided": 0}
        for row in await self.store.refunds():
            state = row["state"]
            if state == "refund_due":
                state = await self.attempt(row["id"])
            elif row["refund_tx"] and self.sender is not None:
                decided = await self.sender.refund_state(row["chain_id"], row["refund_tx"])
                if decided != "unknown":
                    state = "refunded" if decided == "refunded" else "refund_due"
                    await self.store.refund_outcome(row["id"], state,
                                                    error=None if decided == "refunded"
                                                    else "refund_reverted")
            counts["refunded" if state == "refunded" else
                   "due" if state == "refund_due" else "undecided"] += 1
        return counts

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Let attempts in flight finish (shutdown); what is left is decided next start."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
