"""What we ask for: one offer per configured network (scheme ``exact``, USDC, EIP-3009)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FUJI_USDC = "0x5425890298aed601595a70AB815c96711a31Bc65"
BASE_SEPOLIA_USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
V1_NAMES = {43113: "avalanche-fuji", 84532: "base-sepolia"}
# Assets the official x402 clients (Python x402Client, @x402/fetch) pay with their default
# spend controls; any other asset they refuse until the buyer lists it. Of our networks only
# Base Sepolia USDC is among them, which is why it is offered beside Fuji.
KNOWN_TO_CLIENTS = frozenset({(84532, BASE_SEPOLIA_USDC.lower())})


@dataclass(frozen=True)
class Network:
    chain_id: int
    asset: str
    name: str  # EIP-712 domain name
    version: str
    rpc_url: str | None = None

    @property
    def caip2(self) -> str:
        return f"eip155:{self.chain_id}"

    @property
    def known_to_clients(self) -> bool:
        return (self.chain_id, self.asset.lower()) in KNOWN_TO_CLIENTS

    @property
    def v1_name(self) -> str:
        return V1_NAMES.get(self.chain_id, self.caip2)


@dataclass(frozen=True)
class Offer:
    network: Network
    pay_to: str
    amount: int
    resource: str  # public URL
    description: str
    max_timeout_s: int = 60

    def v2(self) -> dict[str, Any]:
        return {
            "scheme": "exact", "network": self.network.caip2, "amount": str(self.amount),
            "asset": self.network.asset, "payTo": self.pay_to,
            "maxTimeoutSeconds": self.max_timeout_s,
            "extra": {"name": self.network.name, "version": self.network.version},
        }

    def v1(self) -> dict[str, Any]:
        return {
            "scheme": "exact", "network": self.network.v1_name,
            "maxAmountRequired": str(self.amount), "resource": self.resource,
            "description": self.description, "mimeType": "application/json",
            "payTo": self.pay_to, "maxTimeoutSeconds": self.max_timeout_s,
            "asset": self.network.asset,
            "extra": {"name": self.network.name, "version": self.network.version},
        }


def payment_required(offers: list[Offer], error: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(v2 object for the PAYMENT-REQUIRED header, v1 object for the body)."""
    first = offers[0]
    v2 = {
        "x402Version": 2, "error": error,
        "resource": {"url": first.resource, "description": first.description,
                     "mimeType": "application/json"},
        "accepts": [o.v2() for o in offers], "extensions": {},
    }
    v1 = {"x402Version": 1, "error": error, "accepts": [o.v1() for o in offers]}
    return v2, v1
