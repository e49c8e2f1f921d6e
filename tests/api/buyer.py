"""The official x402 Python client as a buyer of our API."""

from __future__ import annotations

from typing import Any

from eth_account.signers.local import LocalAccount
from x402 import x402Client
from x402.http import decode_payment_required_header, encode_payment_signature_header
from x402.mechanisms.evm import EthAccountSigner
from x402.mechanisms.evm.exact import register_exact_evm_client


def official_client(account: LocalAccount) -> Any:
    client = register_exact_evm_client(x402Client(), EthAccountSigner(account))
    client.set_spend_controls(False)
    return client


async def pay_header(client: Any, payment_required_header: str) -> dict[str, str]:
    required = decode_payment_required_header(payment_required_header)
    payload = await client.create_payment_payload(required)
    return {"PAYMENT-SIGNATURE": encode_payment_signature_header(payload)}
