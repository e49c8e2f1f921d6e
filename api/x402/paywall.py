"""The paywall middleware (notes/x402.md §5): x402 over HTTP headers.

The payment step itself (verify, reserve the nonce, run, settle after success, fulfil, and
a refund when the fulfilment fails after settlement) is
``Charger.charge`` in core/payments/charge.py, shared with the MCP tools
(api/mcp_server.py); this module reads the payment from ``PAYMENT-SIGNATURE`` or
``X-PAYMENT``, runs the route's handler through that step and turns its outcome into HTTP:
the challenge (402 + ``PAYMENT-REQUIRED``), the receipt header, the error bodies.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from lighthouse.api.errors import error_response
from lighthouse.api.x402.codec import V1_PAYMENT, V1_RESPONSE, V2_PAYMENT, V2_REQUIRED, V2_RESPONSE, encode
from lighthouse.core.payments.charge import RETRY_AFTER_S, UNAVAILABLE, Charger, Declined, Refused
from lighthouse.core.payments.facilitator import Facilitator
from lighthouse.core.payments.refunds import Refunds
from lighthouse.core.payments.requirements import Network, Offer, payment_required
from lighthouse.core.payments.store import PaymentStore
from lighthouse.core.payments.verifier import PaymentError, Verified, decode_header

# (amount in atomic USDC, description); may raise LighthouseError for a bad request.
PriceFn = Callable[[web.Request], Awaitable[tuple[int, str]]]
Finalizer = Callable[[Verified, int, str], Awaitable[web.Response]]
FINALIZE_KEY: web.RequestKey[Finalizer] = web.RequestKey("x402_finalize", Finalizer)  # type: ignore[arg-type]
EXPOSE = "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-PAYMENT-RESPONSE"
PAID_KEY: web.RequestKey[Verified] = web.RequestKey("x402_verified", Verified)
__all__ = ["EXPOSE", "FINALIZE_KEY", "PAID_KEY", "RETRY_AFTER_S", "UNAVAILABLE", "Paywall", "PriceFn"]


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

    def count(self, outcome: str) -> None:
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
        why = self.unavailable()
        if why is not None:
            return error_response(503, "payments_unavailable", why)
        amount, description = await price(request)
        offers = self.offers(request, amount, description)
        v2 = request.headers.get(V2_PAYMENT)
        v1 = request.headers.get(V1_PAYMENT)
        if request.method == "HEAD" or (v2 is None and v1 is None):
            self.count("challenged")
            return self.challenge(offers, "payment required")
        try:
            obj = decode_header(v2 if v2 is not None else v1 or "")
        except PaymentError as exc:
            self.count("invalid")
            return error_response(400, exc.reason, str(exc))
        version = 2 if v2 is not None else 1

        async def run(verified: Verified) -> web.StreamResponse:
            request[PAID_KEY] = verified
            return await handler(request)

        async def fulfil(response: web.StreamResponse, verified: Verified, payment_id: int,
                         tx: str) -> web.StreamResponse:
            finalize: Finalizer | None = request.get(FINALIZE_KEY)
            return response if finalize is None else await finalize(verified, payment_id, tx)

        outcome = await self.charger.charge(offers, obj, version=version, label=method, run=run,
                                            declined=_not_2xx, fulfil=fulfil)
        if isinstance(outcome, Declined):
            return outcome.value
        if isinstance(outcome, Refused):
            return self._refused(outcome, offers, version)
        response = outcome.value
        self._add_receipt(response, outcome.receipt, version)
        return response

    @property
    def charger(self) -> Charger:
        """The shared payment step over this paywall's current store and facilitator (a
        test may swap the facilitator while the app runs)."""
        assert self.store is not None
        return Charger(self.store, self.facilitator, self.count, self.clock, self.refunds)

    def unavailable(self) -> str | None:
        """Why paid calls cannot be taken at all, or None."""
        if not self.pay_to or not self.networks or self.store is None:
            return ("paid routes are disabled: PAYMENT_ADDRESS (and a network: RPC_URL_FUJI, "
                    "RPC_URL_BASE_SEPOLIA or FACILITATOR_URL) not configured")
        return None

    @staticmethod
    def _add_receipt(response: web.StreamResponse, receipt: dict[str, Any], version: int) -> None:
        response.headers[V2_RESPONSE if version == 2 else V1_RESPONSE] = encode(receipt)
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Access-Control-Expose-Headers"] = EXPOSE

    def _refused(self, refused: Refused, offers: list[Offer], version: int) -> web.Response:
        if refused.status == 402:
            name = V2_RESPONSE if version == 2 else V1_RESPONSE
            extra = {name: encode(refused.receipt)} if refused.receipt is not None else None
            return self.challenge(offers, refused.reason, extra_headers=extra)
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after is not None else None
        response = error_response(refused.status, refused.reason, refused.message or refused.reason,
                                  headers=headers, **refused.params)
        if refused.receipt is not None:  # settled, then the paid action failed
            self._add_receipt(response, refused.receipt, version)
        return response


def _not_2xx(response: web.StreamResponse) -> str | None:
    """Why a handler's answer is not charged: anything but a complete 2xx response."""
    if isinstance(response, web.Response) and not response.prepared and 200 <= response.status < 300:
        return None
    return f"handler_status_{response.status}"
