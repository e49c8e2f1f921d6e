"""An x402 facilitator over HTTP (``POST /verify``, ``POST /settle``, ``GET /supported``).

The JSON body is parsed at any status (CDP answers ``settlement_pending`` as a 500). A timeout,
a transport error, a non-JSON or truncated body, or a 5xx without a verdict is *unknown*: the
payment stays ``pending`` with any tx hash we learnt, and the reconciler decides it.
"""

from __future__ import annotations

from typing import Any, Literal

import aiohttp
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.payments.facilitator import SettleResult, VerifyResult
from lighthouse.core.payments.verifier import Verified


def requirements_json(v: Verified) -> dict[str, Any]:
    return v.offer.v2() if v.version == 2 else v.offer.v1()


class HttpFacilitator:
    def __init__(self, base_url: str, *, timeout_s: float = 30.0,
                 onchain: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._onchain = onchain  # optional LocalFacilitator used by the reconciler's tx_state

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _post(self, path: str, v: Verified) -> tuple[int, Any]:
        body = {"x402Version": v.version, "paymentPayload": v.payload,
                "paymentRequirements": requirements_json(v)}
        async with self._http().post(self.base_url + path, json=body) as r:
            raw = await r.read()
        try:
            return r.status, safe_json_loads(raw)
        except ValueError:
            return r.status, None

    async def supported(self) -> list[dict[str, Any]]:
        async with self._http().get(self.base_url + "/supported") as r:
            data = await r.json(content_type=None)
        kinds = data.get("kinds") if isinstance(data, dict) else None
        return [k for k in kinds or [] if isinstance(k, dict)]

    async def verify(self, v: Verified) -> VerifyResult:
        try:
            _status, data = await self._post("/verify", v)
        except (TimeoutError, aiohttp.ClientError, OSError):
            return VerifyResult(False, "facilitator_unavailable", v.auth.from_)
        if not isinstance(data, dict) or not isinstance(data.get("isValid"), bool):
            return VerifyResult(False, "facilitator_unavailable", v.auth.from_)
        reason = data.get("invalidReason")
        return VerifyResult(data["isValid"], str(reason) if reason else None, v.auth.from_)

    async def settle(self, v: Verified) -> SettleResult:
        try:
            status, data = await self._post("/settle", v)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return SettleResult("unknown", "", f"facilitator: {type(exc).__name__}")
        if not isinstance(data, dict):
            return SettleResult("unknown", "", f"facilitator answered {status} without JSON")
        tx = data.get("transaction") if isinstance(data.get("transaction"), str) else ""
        reason = str(data.get("errorReason") or data.get("error") or "")
        if data.get("success") is True and status == 200 and tx:
            return SettleResult("success", tx)
        if "pending" in reason or status >= 500 or data.get("success") is True:
            return SettleResult("unknown", tx or "", reason or f"facilitator answered {status}")
        if data.get("success") is False:
            return SettleResult("failed", tx or "", reason or "settlement_failed")
        return SettleResult("unknown", tx or "", f"facilitator answered {status}")

    async def tx_state(self, v: Verified, tx_hash: str | None) -> Literal["settled", "failed", "unknown"]:
        if self._onchain is None:
            return "unknown"
        state: Literal["settled", "failed", "unknown"] = await self._onchain.tx_state(v, tx_hash)
        return state

    # Refunds are transfers on chain, which only the local settler can send.
    def can_refund(self, chain_id: int, pay_to: str) -> bool:
        return self._onchain is not None and bool(self._onchain.can_refund(chain_id, pay_to))

    async def refund(self, chain_id: int, asset: str, to: str, amount: int) -> SettleResult:
        if self._onchain is None:
            return SettleResult("failed", "", "refunds need PRIVATE_KEY and an RPC URL")
        result: SettleResult = await self._onchain.refund(chain_id, asset, to, amount)
        return result

    async def refund_state(self, chain_id: int, tx_hash: str) -> Literal["refunded", "failed", "unknown"]:
        if self._onchain is None:
            return "unknown"
        state: Literal["refunded", "failed", "unknown"] = await self._onchain.refund_state(chain_id, tx_hash)
        return state

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._onchain is not None:
            await self._onchain.close()
