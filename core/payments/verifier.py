"""The pure part of verification (x402.md §4 steps 1-6): no I/O, first failure answers."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.payments.requirements import Offer

MAX_HEADER_BYTES = 16 * 1024
_ADDR = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SIG = re.compile(r"^0x[0-9a-fA-F]{130}$")
_UINT = re.compile(r"^[0-9]{1,78}$")


class PaymentError(Exception):
    """A refused payment: ``reason`` uses the spec's names; ``status`` 400 or 402."""

    def __init__(self, reason: str, status: int = 402, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Authorization:
    from_: str  # lowercase
    to: str
    value: int
    valid_after: int
    valid_before: int
    nonce: str  # lowercase 0x hex
    signature: str

    def vrs(self) -> tuple[int, bytes, bytes]:
        raw = bytes.fromhex(self.signature[2:])
        v = raw[64]
        return (v + 27 if v < 27 else v), raw[:32], raw[32:64]


@dataclass(frozen=True)
class Verified:
    offer: Offer
    auth: Authorization
    version: int
    payload: dict[str, Any]


def decode_header(value: str) -> dict[str, Any]:
    """Step 1: size cap, base64, JSON object. Any failure is 400 ``invalid_payload``."""
    if len(value) > MAX_HEADER_BYTES:
        raise PaymentError("invalid_payload", 400, "payment header too large")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        obj = safe_json_loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise PaymentError("invalid_payload", 400, "payment header is not base64 JSON") from exc
    if not isinstance(obj, dict):
        raise PaymentError("invalid_payload", 400, "payment header is not a JSON object")
    return obj


def _str(obj: Any, key: str, pattern: re.Pattern[str]) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, str) or not pattern.match(value):
        raise PaymentError("invalid_payload", 400, f"missing or malformed {key}")
    return value


def parse_authorization(payload: Any) -> Authorization:
    if not isinstance(payload, dict):
        raise PaymentError("invalid_payload", 400, "payload must be an object")
    auth = payload.get("authorization")
    sig = _str(payload, "signature", _SIG)
    if not isinstance(auth, dict):
        raise PaymentError("invalid_payload", 400, "missing authorization")
    return Authorization(
        from_=_str(auth, "from", _ADDR).lower(), to=_str(auth, "to", _ADDR).lower(),
        value=int(_str(auth, "value", _UINT)), valid_after=int(_str(auth, "validAfter", _UINT)),
        valid_before=int(_str(auth, "validBefore", _UINT)), nonce=_str(auth, "nonce", _NONCE).lower(),
        signature=sig,
    )


def _match_v2(obj: dict[str, Any], offers: list[Offer]) -> Offer:
    accepted = obj.get("accepted")
    if not isinstance(accepted, dict):
        raise PaymentError("invalid_payload", 400, "missing accepted")
    resource = obj.get("resource")
    url = resource.get("url") if isinstance(resource, dict) else None
    for offer in offers:
        want = offer.v2()
        if all(str(accepted.get(k, "")).lower() == str(want[k]).lower()
               for k in ("scheme", "network", "amount", "asset", "payTo")) \
                and accepted.get("maxTimeoutSeconds") == want["maxTimeoutSeconds"]:
            extra = accepted.get("extra")
            if not isinstance(extra, dict) or any(extra.get(k) != v for k, v in want["extra"].items()):
                continue
            if url is not None and url != offer.resource:
                raise PaymentError("invalid_payment_requirements", 402, "payment for another resource")
            return offer
    networks = {o.network.caip2 for o in offers}
    if accepted.get("network") not in networks:
        raise PaymentError("invalid_network", 402, "network not offered")
    raise PaymentError("invalid_payment_requirements", 402, "accepted does not match our offer")


def _match_v1(obj: dict[str, Any], offers: list[Offer]) -> Offer:
    for offer in offers:
        if obj.get("scheme") == "exact" and obj.get("network") == offer.network.v1_name:
            return offer
    raise PaymentError("invalid_network", 402, "scheme/network not offered")


def verify_payload(obj: dict[str, Any], *, header_version: int, offers: list[Offer],
                   now: int) -> Verified:
    """Steps 2-6 on a decoded header object against *our* offers for this request."""
    version = obj.get("x402Version")
    if version not in (1, 2) or isinstance(version, bool):
        raise PaymentError("invalid_x402_version", 400, "x402Version must be 1 or 2")
    if version != header_version:
        raise PaymentError("invalid_x402_version", 400, "x402Version does not match the header")
    auth = parse_authorization(obj.get("payload"))
    offer = _match_v2(obj, offers) if version == 2 else _match_v1(obj, offers)
    if auth.to != offer.pay_to.lower():
        raise PaymentError("invalid_exact_evm_payload_recipient_mismatch")
    if auth.value != offer.amount:
        raise PaymentError("invalid_exact_evm_payload_authorization_value_mismatch")
    if auth.valid_after > now:
        raise PaymentError("invalid_exact_evm_payload_authorization_valid_after")
    if auth.valid_before < now + 6 or auth.valid_before > now + offer.max_timeout_s + 60:
        raise PaymentError("invalid_exact_evm_payload_authorization_valid_before")
    if recover_signer(auth, offer) != auth.from_:
        raise PaymentError("invalid_exact_evm_payload_signature")
    return Verified(offer, auth, version, obj)


def typed_data(auth: Authorization, offer: Offer) -> dict[str, Any]:
    net = offer.network
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "TransferWithAuthorization": [
                {"name": "from", "type": "address"}, {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
                {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"},
            ],
        },
        "primaryType": "TransferWithAuthorization",
        "domain": {"name": net.name, "version": net.version, "chainId": net.chain_id,
                   "verifyingContract": net.asset},
        "message": {"from": auth.from_, "to": auth.to, "value": auth.value,
                    "validAfter": auth.valid_after, "validBefore": auth.valid_before,
                    "nonce": bytes.fromhex(auth.nonce[2:])},
    }


def recover_signer(auth: Authorization, offer: Offer) -> str:
    v, r, s = auth.vrs()
    try:
        message = encode_typed_data(full_message=typed_data(auth, offer))
        signer: str = Account.recover_message(message, vrs=(v, r, s))
    except Exception:
        return ""
    return signer.lower()
