"""One paid call, whichever transport carried it (notes/x402.md §5).

The HTTP paywall (api/x402/paywall.py) reads the payment from a header, the MCP server
(api/mcp_server.py) from a tool call's ``_meta``; both hand the decoded object to
``Charger.charge`` and only translate what comes back. So a nonce is reserved in the one
``payments`` table whatever the transport, and the same authorization is served once even
when it is sent once over HTTP and once over MCP.

verify (pure, steps 1-6) -> reserve the nonce in PostgreSQL -> on-chain checks (7-9) ->
``run`` -> not a success: release, no settle -> settle -> success: ``settled``, then
``fulfil`` (paid side effects go live only now); failure: ``failed``; unknown: ``pending``,
decided later by the reconciler. A repeated payload gets the recorded outcome, never a
second run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lighthouse.core.errors import LighthouseError
from lighthouse.core.payments.facilitator import Facilitator
from lighthouse.core.payments.refunds import Refunds, RefundStatus
from lighthouse.core.payments.requirements import Offer
from lighthouse.core.payments.store import PaymentStore
from lighthouse.core.payments.verifier import PaymentError, Verified, verify_payload
from lighthouse.core.text import clean_text

log = logging.getLogger(__name__)

T = TypeVar("T")
UNAVAILABLE = "facilitator_unavailable"  # VerifyResult reason for "could not ask"
RETRY_AFTER_S = 10


@dataclass(frozen=True)
class Paid(Generic[T]):
    """Settled: ``value`` is what the caller gets, ``receipt`` the SettlementResponse."""

    value: T
    receipt: dict[str, Any]


@dataclass(frozen=True)
class Declined(Generic[T]):
    """``run`` answered with a refusal of its own: the nonce is released, nothing charged,
    and ``value`` goes back as it is."""

    value: T


@dataclass(frozen=True)
class Refused:
    """No paid content. ``status`` says what the buyer should do, in HTTP terms because
    both transports map from them: 400 the payment is malformed; 402 pay (again) with
    ``reason`` as the challenge's error; 503 the payment could not be checked, send the
    same one again after ``retry_after``; 500 settled but the paid action failed."""

    status: int
    reason: str
    message: str = ""
    receipt: dict[str, Any] | None = None
    retry_after: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


Outcome = Paid[T] | Declined[T] | Refused


@dataclass
class Charger:
    store: PaymentStore
    facilitator: Facilitator | None
    count: Callable[[str], None] = lambda outcome: None
    clock: Callable[[], float] = time.time
    refunds: Refunds | None = None

    def verify(self, payment: dict[str, Any], *, version: int, offers: list[Offer]) -> Verified | Refused:
        """Steps 2-6 against *our* offers for this call: no I/O, first failure answers."""
        try:
            return verify_payload(payment, header_version=version, offers=offers, now=int(self.clock()))
        except PaymentError as exc:
            self.count("invalid")
            return Refused(exc.status, exc.reason, str(exc))

    async def charge(
        self,
        offers: list[Offer],
        payment: dict[str, Any],
        *,
        version: int,
        label: str,
        run: Callable[[Verified], Awaitable[T]],
        declined: Callable[[T], str | None],
        fulfil: Callable[[T, Verified, int, str], Awaitable[T]] | None = None,
    ) -> Outcome[T]:
        """Verify ``payment`` (a decoded PaymentPayload) against ``offers``, reserve its nonce,
        run the call, settle unless ``declined`` gives a reason not to charge (recorded on the
        released row), then ``fulfil``.

        ``label`` names the call in the payment row (an HTTP method, ``tools/call``). An
        exception from ``run`` releases the nonce and propagates."""
        verified = self.verify(payment, version=version, offers=offers)
        if isinstance(verified, Refused):
            return verified
        if self.facilitator is None:
            return Refused(503, "payments_unavailable",
                           "no facilitator configured (FACILITATOR_URL, or PRIVATE_KEY with an RPC URL)")
        facilitator = self.facilitator
        # The resource URL may hold a request's decoded path and query: a NUL in it would fail
        # the reservation's INSERT.
        resource = clean_text(f"{label} {verified.offer.resource}")
        payment_id, existing = await self.store.reserve(verified, resource)
        if payment_id is None:
            self.count("replay")
            state = (existing or {}).get("state", "reserved")
            tx = (existing or {}).get("tx_hash") or ""
            reason = "settlement_pending" if state in ("pending", "reserved") else "invalid_transaction_state"
            return Refused(402, f"{reason}: authorization already {state}" + (f" (tx {tx})" if tx else ""))
        check = await facilitator.verify(verified)
        if not check.is_valid and check.invalid_reason == UNAVAILABLE:
            # The chain or facilitator could not be asked: the payment may well be good, so
            # asking for a new one would be wrong. The nonce is released: the same signed
            # payment can be sent again once the outage is over.
            self.count("unavailable")
            await self.store.mark(payment_id, "released", error=UNAVAILABLE)
            return Refused(503, UNAVAILABLE, "payment verification is unavailable (chain RPC or "
                           "facilitator unreachable); retry the same payment later",
                           retry_after=RETRY_AFTER_S)
        if not check.is_valid:
            self.count("invalid")
            final = check.invalid_reason == "invalid_transaction_state"
            await self.store.mark(payment_id, "failed" if final else "released", error=check.invalid_reason)
            return Refused(402, check.invalid_reason or "invalid_payment")
        try:
            value = await run(verified)
        except BaseException:
            await self.store.mark(payment_id, "released", error="handler_error")
            raise
        why_not = declined(value)
        if why_not is not None:
            await self.store.mark(payment_id, "released", error=why_not)
            return Declined(value)
        result = await facilitator.settle(verified)
        network = verified.offer.network
        receipt: dict[str, Any] = {"success": result.outcome == "success",
                                   "transaction": result.transaction, "payer": verified.auth.from_,
                                   "network": network.caip2 if verified.version == 2 else network.v1_name}
        if result.outcome != "success":
            state = "failed" if result.outcome == "failed" else "pending"
            await self.store.mark(payment_id, state, tx_hash=result.transaction or None, error=result.error)
            self.count(state)
            reason = result.error or "settlement_failed"
            if state == "pending":
                # Never ask for a new payment while this one is undecided (double pay).
                reason = "settlement_pending" + (f" (tx {result.transaction})" if result.transaction else "")
            receipt["errorReason"] = reason
            return Refused(402, reason, receipt=receipt)
        await self.store.mark(payment_id, "settled", tx_hash=result.transaction)
        self.count("settled")
        if fulfil is not None:
            try:
                value = await fulfil(value, verified, payment_id, result.transaction)
            except Exception as exc:
                return await self._unfulfilled(payment_id, result.transaction, exc, receipt)
        return Paid(value, receipt)

    async def _unfulfilled(self, payment_id: int, tx: str, exc: Exception,
                           receipt: dict[str, Any]) -> Refused:
        """A paid action that failed after settlement (a race the pre-payment dry run could
        not see): the payment becomes ``refund_due`` (sent back at once where a facilitator
        here can), and the buyer hears the error that stopped it and where the refund stands,
        never a bare 500."""
        if isinstance(exc, LighthouseError):
            status, reason, detail = exc.http_status, exc.code, str(exc)
            log.warning("paid action refused after settlement; refund owed",
                        extra={"payment_id": payment_id, "tx": tx, "reason": reason})
        else:
            status, reason, detail = 500, "internal_error", "internal error"
            log.error("paid action failed after settlement; refund owed",
                      extra={"payment_id": payment_id, "tx": tx}, exc_info=exc)
        self.count("refund_due")
        params: dict[str, Any] = {"payment_id": payment_id, "transaction": tx, "reason": reason}
        try:
            if self.refunds is not None:
                refund = await self.refunds.owe(payment_id, f"{reason}: {detail}")
            else:
                await self.store.refund_due(payment_id, f"{reason}: {detail}")
                refund = RefundStatus("refund_due", None, automatic=False)
        except Exception:
            log.exception("could not record the refund", extra={"payment_id": payment_id})
            return Refused(500, "fulfilment_failed",
                           f"payment settled (tx {tx}) but the action failed and the refund "
                           f"could not be recorded; contact the operator with payment {payment_id}",
                           receipt=receipt, params={**params, "refund": {"state": "unknown"}})
        if refund.state == "refunded":
            told = f"the payment was refunded (tx {refund.transaction})"
        elif refund.state == "refunding":
            told = "the refund has been sent" + (f" (tx {refund.transaction})" if refund.transaction else "")
        elif refund.automatic:
            told = "the payment will be refunded automatically"
        else:
            told = f"the payment is owed back: the operator refunds it (payment {payment_id})"
        return Refused(status, "fulfilment_failed",
                       f"payment settled but the action failed ({reason}: {detail}); {told}",
                       receipt=receipt, params={**params, "refund": {
                           "state": refund.state, "transaction": refund.transaction,
                           "automatic": refund.automatic}})
