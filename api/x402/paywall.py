"""The paywall middleware (notes/x402.md §5).

verify (pure, steps 1-6) -> reserve the nonce in PostgreSQL -> on-chain checks (7-9) ->
handler (a complete ``web.Response``) -> not 2xx: release, no settle -> settle ->
success: ``settled``, run the route's finalizer (paid side effects go live only now), add
``PAYMENT-RESPONSE``; failure: ``failed``, 402; unknown: ``pending``, 402, reconciled later.
A repeated payload gets the recorded outcome, never a second handler run.

A finalizer that fails after settlement (a race the pre-payment dry run could not see)
leaves the payment ``refund_due`` and answers ``fulfilment_failed`` naming the refund,
with the status of the error that stopped it (core/payments/refunds.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from lighthouse.api.errors import error_response
from lighthouse.api.x402.codec import V1_PAYMENT, V1_RESPONSE, V2_PAYMENT, V2_REQUIRED, V2_RESPONSE, encode
from lighthouse.core.errors import LighthouseError
from lighthouse.core.payments.facilitator import Facilitator
from lighthouse.core.payments.refunds import Refunds, RefundStatus
from lighthouse.core.payments.requirements import Network, Offer, payment_required
from lighthouse.core.payments.store import PaymentStore
from lighthouse.core.payments.verifier import PaymentError, Verified, decode_header, verify_payload
from lighthouse.core.text import clean_text

log = logging.getLogger(__name__)

# (amount in atomic USDC, description); may raise LighthouseError for a bad request.
PriceFn = Callable[[web.Request], Awaitable[tuple[int, str]]]
Finalizer = Callable[[Verified, int, str], Awaitable[web.Response]]
FINALIZE_KEY: web.RequestKey[Finalizer] = web.RequestKey("x402_finalize", Finalizer)  # type: ignore[arg-type]
EXPOSE = "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-PAYMENT-RESPONSE"
PAID_KEY: web.RequestKey[Verified] = web.RequestKey("x402_verified", Verified)
UNAVAILABLE = "facilitator_unavailable"  # VerifyResult reason for "could not ask"
RETRY_AFTER_S = 10


@dataclass
class Paywall:
    store: PaymentStore | None
    facilitator: Facilitator | None
    networks: list[Network]
    pay_to: str | None
    public_base_url: str
    metrics: Any = None
    clock: Callable[[], float] = time.time
    refunds: Refunds | None = None

    def __post_init__(self) -> None:
        self.rules: dict[tuple[str, str], PriceFn] = {}

    def paid(self, method: str, path: str, price: PriceFn) -> None:
        self.rules[(method.upper(), path)] = price

    def _count(self, outcome: str) -> None:
        counter = getattr(self.metrics, "payments_total", None)
        if counter is not None:
            counter.labels(outcome=outcome).inc()

    def offers(self, request: web.Request, amount: int, description: str) -> list[Offer]:
        return self.offers_for_url(self.public_base_url.rstrip("/") + request.rel_url.path_qs,
                                   amount, description)

    def offers_for_url(self, resource: str, amount: int, description: str) -> list[Offer]:
        return [Offer(n, self.pay_to or "", amount, resource, description) for n in self.networks]

    def challenge(self, offers: list[Offer], error: str, *, status: int = 402,
                  extra_headers: dict[str, str] | None = None) -> web.Response:
        v2, v1 = payment_required(offers, error)
        headers = {V2_REQUIRED: encode(v2), "Cache-Control": "no-store"}
        headers.update(extra_headers or {})
        return web.json_response(v1, status=status, headers=headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        method = "GET" if request.method == "HEAD" else request.method
        route = request.match_info.route.resource
        path = route.canonical if route is not None else request.path
        price = self.rules.get((method, path))
        if price is None:
            return await handler(request)
        if not self.pay_to or not self.networks or self.store is None:
            return error_response(503, "payments_unavailable",
                                  "paid routes are disabled: PAYMENT_ADDRESS (and a network: "
                                  "RPC_URL_FUJI, RPC_URL_BASE_SEPOLIA or FACILITATOR_URL) not configured")
        amount, description = await price(request)
        offers = self.offers(request, amount, description)
        v2 = request.headers.get(V2_PAYMENT)
        v1 = request.headers.get(V1_PAYMENT)
        if request.method == "HEAD" or (v2 is None and v1 is None):
            self._count("challenged")
            return self.challenge(offers, "payment required")
        try:
            obj = decode_header(v2 if v2 is not None else v1 or "")
            verified = verify_payload(obj, header_version=2 if v2 is not None else 1,
                                      offers=offers, now=int(self.clock()))
        except PaymentError as exc:
            self._count("invalid")
            if exc.status == 400:
                return error_response(400, exc.reason, str(exc))
            return self.challenge(offers, exc.reason)
        if self.facilitator is None:
            return error_response(503, "payments_unavailable",
                                  "no facilitator configured "
                                  "(FACILITATOR_URL, or PRIVATE_KEY with an RPC URL)")
        return await self._paid(request, handler, verified, offers, method, path)

    async def _paid(self, request: web.Request, handler: Handler, verified: Verified,
                    offers: list[Offer], method: str, path: str) -> web.StreamResponse:
        assert self.store is not None and self.facilitator is not None
        # The resource URL holds the request's decoded path and query: a NUL in it would fail
        # the reservation's INSERT.
        resource = clean_text(f"{method} {verified.offer.resource}")
        payment_id, existing = await self.store.reserve(verified, resource)
        if payment_id is None:
            self._count("replay")
            state = (existing or {}).get("state", "reserved")
            tx = (existing or {}).get("tx_hash") or ""
            reason = "settlement_pending" if state in ("pending", "reserved") else "invalid_transaction_state"
            return self.challenge(offers, f"{reason}: authorization already {state}"
                                  + (f" (tx {tx})" if tx else ""))
        check = await self.facilitator.verify(verified)
        if not check.is_valid and check.invalid_reason == UNAVAILABLE:
            # The chain or facilitator could not be asked: the payment may well be good, so
            # a 402 ("pay again") would be wrong. The nonce is released: the same signed
            # payment can be sent again once the outage is over.
            self._count("unavailable")
            await self.store.mark(payment_id, "released", error=UNAVAILABLE)
            return error_response(503, UNAVAILABLE,
                                  "payment verification is unavailable (chain RPC or facilitator "
                                  "unreachable); retry the same payment later",
                                  headers={"Retry-After": str(RETRY_AFTER_S)})
        if not check.is_valid:
            self._count("invalid")
            final = check.invalid_reason == "invalid_transaction_state"
            await self.store.mark(payment_id, "failed" if final else "released",
                                  error=check.invalid_reason)
            return self.challenge(offers, check.invalid_reason or "invalid_payment")
        request[PAID_KEY] = verified
        try:
            response = await handler(request)
        except BaseException:
            await self.store.mark(payment_id, "released", error="handler_error")
            raise
        if not isinstance(response, web.Response) or response.prepared or not 200 <= response.status < 300:
            await self.store.mark(payment_id, "released", error=f"handler_status_{response.status}")
            return response
        result = await self.facilitator.settle(verified)
        network = verified.offer.network
        receipt: dict[str, Any] = {"success": result.outcome == "success",
                                   "transaction": result.transaction, "payer": verified.auth.from_,
                                   "network": network.caip2 if verified.version == 2 else network.v1_name}
        if result.outcome != "success":
            state = "failed" if result.outcome == "failed" else "pending"
            await self.store.mark(payment_id, state, tx_hash=result.transaction or None, error=result.error)
            self._count(state)
            reason = result.error or "settlement_failed"
            if state == "pending":
                reason = "settlement_pending" + (f" (tx {result.transaction})" if result.transaction else "")
            receipt["errorReason"] = reason
            name = V2_RESPONSE if verified.version == 2 else V1_RESPONSE
            return self.challenge(offers, reason, extra_headers={name: encode(receipt)})
        await self.store.mark(payment_id, "settled", tx_hash=result.transaction)
        self._count("settled")
        finalize: Finalizer | None = request.get(FINALIZE_KEY)
        if finalize is not None:
            try:
                response = await finalize(verified, payment_id, result.transaction)
            except Exception as exc:
                response = await self._unfulfilled(payment_id, result.transaction, exc)
        response.headers[V2_RESPONSE if verified.version == 2 else V1_RESPONSE] = encode(receipt)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Access-Control-Expose-Headers"] = EXPOSE
        return response

    async def _unfulfilled(self, payment_id: int, tx: str, exc: Exception) -> web.Response:
        """The answer to a paid request whose action failed after settlement: the error
        that stopped it (its status and code as ``reason``) and where the refund stands."""
        assert self.store is not None
        if isinstance(exc, LighthouseError):
            status, reason, detail = exc.http_status, exc.code, str(exc)
            log.warning("paid action refused after settlement; refund owed",
                        extra={"payment_id": payment_id, "tx": tx, "reason": reason})
        else:
            status, reason, detail = 500, "internal_error", "internal error"
            log.error("paid action failed after settlement; refund owed",
                      extra={"payment_id": payment_id, "tx": tx}, exc_info=exc)
        self._count("refund_due")
        try:
            if self.refunds is not None:
                refund = await self.refunds.owe(payment_id, f"{reason}: {detail}")
            else:
                await self.store.refund_due(payment_id, f"{reason}: {detail}")
                refund = RefundStatus("refund_due", None, automatic=False)
        except Exception:
            log.exception("could not record the refund", extra={"payment_id": payment_id})
            return error_response(500, "fulfilment_failed",
                                  f"payment settled (tx {tx}) but the action failed and the "
                                  f"refund could not be recorded; contact the operator with "
                                  f"payment {payment_id}", payment_id=payment_id,
                                  transaction=tx, reason=reason, refund={"state": "unknown"})
        if refund.state == "refunded":
            told = f"the payment was refunded (tx {refund.transaction})"
        elif refund.state == "refunding":
            told = "the refund has been sent" + (f" (tx {refund.transaction})"
                                                 if refund.transaction else "")
        elif refund.automatic:
            told = "the payment will be refunded automatically"
        else:
            told = f"the payment is owed back: the operator refunds it (payment {payment_id})"
        return error_response(
            status, "fulfilment_failed",
            f"payment settled but the action failed ({reason}: {detail}); {told}",
            payment_id=payment_id, transaction=tx, reason=reason,
            refund={"state": refund.state, "transaction": refund.transaction,
                    "automatic": refund.automatic},
        )
