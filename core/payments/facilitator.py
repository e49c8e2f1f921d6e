"""Facilitators: on-chain checks (§4 steps 7-9) and settlement.

``LocalFacilitator`` relays ``transferWithAuthorization`` itself through AsyncWeb3 (never sync
web3 on the loop); the relayer holds gas. Outcomes are success, failed, or unknown (pending,
with the tx hash when one was sent): unknown is never guessed, the reconciler decides it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from eth_account import Account
from lighthouse.core.payments.verifier import Verified
from web3 import AsyncHTTPProvider, AsyncWeb3

log = logging.getLogger(__name__)

TOKEN_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "transferWithAuthorization", "stateMutability": "nonpayable",
     "inputs": [{"name": n, "type": t} for n, t in (
         ("from", "address"), ("to", "address"), ("value", "uint256"), ("validAfter", "uint256"),
         ("validBefore", "uint256"), ("nonce", "bytes32"), ("v", "uint8"), ("r", "bytes32"),
         ("s", "bytes32"))], "outputs": []},
    {"type": "function", "name": "authorizationState", "stateMutability": "view",
     "inputs": [{"name": "authorizer", "type": "address"}, {"name": "nonce", "type": "bytes32"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "account", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "DOMAIN_SEPARATOR", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "bytes32"}]},
    {"type": "function", "name": "transfer", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
]

REVERT_REASONS = (
    ("expired", "invalid_exact_evm_payload_authorization_valid_before"),
    ("not yet valid", "invalid_exact_evm_payload_authorization_valid_after"),
    ("used or canceled", "invalid_transaction_state"),
    ("exceeds balance", "insufficient_funds"),
    ("invalid signature", "invalid_exact_evm_payload_signature"),
)


@dataclass(frozen=True)
class VerifyResult:
    is_valid: bool
    invalid_reason: str | None = None
    payer: str | None = None


@dataclass(frozen=True)
class SettleResult:
    outcome: Literal["success", "failed", "unknown"]
    transaction: str = ""
    error: str | None = None


class Facilitator(Protocol):
    async def verify(self, v: Verified) -> VerifyResult: ...

    async def settle(self, v: Verified) -> SettleResult: ...

    async def tx_state(self, v: Verified, tx_hash: str | None) -> Literal["settled", "failed", "unknown"]: ...

    async def close(self) -> None: ...


RefundState = Literal["refunded", "failed", "unknown"]


@runtime_checkable
class RefundSender(Protocol):
    """A facilitator that can pay a settled payment back (core/payments/refunds.py).

    x402 has no refund: it is an ordinary token transfer from the account that received
    the payment, so only a facilitator holding that account's key can send it."""

    def can_refund(self, chain_id: int, pay_to: str) -> bool: ...

    async def refund(self, chain_id: int, asset: str, to: str, amount: int) -> SettleResult: ...

    async def refund_state(self, chain_id: int, tx_hash: str) -> RefundState: ...


def refund_sender(facilitator: object) -> RefundSender | None:
    return facilitator if isinstance(facilitator, RefundSender) else None


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    for needle, reason in REVERT_REASONS:
        if needle in text:
            return reason
    return "invalid_transaction_state"


def _refund_error(exc: BaseException) -> str:
    text = str(exc).lower()
    if "exceeds balance" in text:
        return "refund_insufficient_funds"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class LocalFacilitator:
    def __init__(self, rpc_urls: dict[int, str], relayer_key: str, *,
                 receipt_timeout_s: float = 30.0) -> None:
        self._w3 = {cid: AsyncWeb3(AsyncHTTPProvider(url, request_kwargs={"timeout": 15}))
                    for cid, url in rpc_urls.items()}
        self._relayer = Account.from_key(relayer_key)
        self._locks: dict[int, asyncio.Lock] = {cid: asyncio.Lock() for cid in rpc_urls}
        self._receipt_timeout = receipt_timeout_s

    def _token(self, v: Verified) -> Any:
        w3 = self._w3.get(v.offer.network.chain_id)
        if w3 is None:
            raise LookupError("no RPC for this network")
        return w3.eth.contract(address=w3.to_checksum_address(v.offer.network.asset), abi=TOKEN_ABI)

    def _args(self, v: Verified) -> tuple[Any, ...]:
        a = v.auth
        vv, r, s = a.vrs()
        cs = AsyncWeb3.to_checksum_address
        return (cs(a.from_), cs(a.to), a.value, a.valid_after, a.valid_before,
                bytes.fromhex(a.nonce[2:]), vv, r, s)

    async def domain_separator(self, chain_id: int, asset: str) -> bytes:
        w3 = self._w3[chain_id]
        token = w3.eth.contract(address=w3.to_checksum_address(asset), abi=TOKEN_ABI)
        return bytes(await token.functions.DOMAIN_SEPARATOR().call())

    async def verify(self, v: Verified) -> VerifyResult:
        payer = v.auth.from_
        try:
            token = self._token(v)
            cs = AsyncWeb3.to_checksum_address
            if await token.functions.authorizationState(cs(payer), bytes.fromhex(v.auth.nonce[2:])).call():
                return VerifyResult(False, "invalid_transaction_state", payer)
            if await token.functions.balanceOf(cs(payer)).call() < v.auth.value:
                return VerifyResult(False, "insufficient_funds", payer)
            await token.functions.transferWithAuthorization(*self._args(v)).call(
                {"from": self._relayer.address})
        except (TimeoutError, LookupError, OSError) as exc:
            log.warning("verify unavailable", extra={"error": str(exc)})
            return VerifyResult(False, "facilitator_unavailable", payer)
        except Exception as exc:
            return VerifyResult(False, _reason(exc), payer)
        return VerifyResult(True, None, payer)

    async def settle(self, v: Verified) -> SettleResult:
        chain_id = v.offer.network.chain_id
        tx_hash = ""
        try:
            token = self._token(v)
            w3 = self._w3[chain_id]
            async with self._locks[chain_id]:
                nonce = await w3.eth.get_transaction_count(self._relayer.address, "pending")
                tx = await token.functions.transferWithAuthorization(*self._args(v)).build_transaction({
                    "from": self._relayer.address, "nonce": nonce, "chainId": chain_id,
                })
                signed = self._relayer.sign_transaction(tx)
                tx_hash = "0x" + bytes(await w3.eth.send_raw_transaction(signed.raw_transaction)).hex()
        except (TimeoutError, OSError) as exc:
            return SettleResult("unknown", tx_hash, str(exc))
        except Exception as exc:
            if tx_hash:
                return SettleResult("unknown", tx_hash, str(exc))
            return SettleResult("failed", "", _reason(exc))
        try:
            receipt = await w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self._receipt_timeout, poll_latency=0.05)  # type: ignore[arg-type]
        except Exception as exc:
            return SettleResult("unknown", tx_hash, f"settlement_pending: {exc}")
        if receipt["status"] != 1:
            return SettleResult("failed", tx_hash, "invalid_transaction_state")
        return SettleResult("success", tx_hash)

    async def tx_state(self, v: Verified, tx_hash: str | None) -> Literal["settled", "failed", "unknown"]:
        w3 = self._w3[v.offer.network.chain_id]
        if tx_hash:
            try:
                receipt = await w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
                if receipt is not None and receipt["status"] == 1:
                    return "settled"
            except Exception:
                pass
        token = self._token(v)
        used = await token.functions.authorizationState(
            AsyncWeb3.to_checksum_address(v.auth.from_), bytes.fromhex(v.auth.nonce[2:])).call()
        return "settled" if used else "unknown"

    # --- refunds (RefundSender) ------------------------------------------------------
    def can_refund(self, chain_id: int, pay_to: str) -> bool:
        """The relayer is the account that was paid (PAYMENT_ADDRESS is its address), so it
        holds the funds and can send them back; otherwise the operator refunds by hand."""
        return chain_id in self._w3 and pay_to.lower() == self._relayer.address.lower()

    async def refund(self, chain_id: int, asset: str, to: str, amount: int) -> SettleResult:
        """``transfer(to, amount)`` from the relayer. ``failed`` only when nothing can have
        been sent (or it was mined and reverted); a transaction that may be out is
        ``unknown`` with its hash, for ``refund_state`` to decide later."""
        cs = AsyncWeb3.to_checksum_address
        sent = ""
        try:
            w3 = self._w3[chain_id]
            call = w3.eth.contract(address=cs(asset), abi=TOKEN_ABI).functions.transfer(cs(to), amount)
            await call.call({"from": self._relayer.address})  # reverts on a short balance
            async with self._locks[chain_id]:
                nonce = await w3.eth.get_transaction_count(self._relayer.address, "pending")
                tx = await call.build_transaction({"from": self._relayer.address, "nonce": nonce,
                                                   "chainId": chain_id})
                signed = self._relayer.sign_transaction(tx)
                # Known before sending: a send that fails halfway may still have gone out.
                sent = "0x" + bytes(signed.hash).hex()
                await w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            return SettleResult("unknown" if sent else "failed", sent, _refund_error(exc))
        try:
            receipt = await w3.eth.wait_for_transaction_receipt(
                sent, timeout=self._receipt_timeout, poll_latency=0.05)  # type: ignore[arg-type]
        except Exception as exc:
            return SettleResult("unknown", sent, f"refund_pending: {_refund_error(exc)}")
        if receipt["status"] != 1:
            return SettleResult("failed", sent, "refund_reverted")
        return SettleResult("success", sent)

    async def refund_state(self, chain_id: int, tx_hash: str) -> RefundState:
        try:
            receipt = await self._w3[chain_id].eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except Exception:  # not mined (yet), or the node cannot say: nothing is decided
            return "unknown"
        if receipt is None:
            return "unknown"
        return "refunded" if receipt["status"] == 1 else "failed"

    async def close(self) -> None:
        for w3 in self._w3.values():
            provider = w3.provider
            if hasattr(provider, "disconnect"):
                await provider.disconnect()
