"""Boot check of each network's EIP-712 domain against ``DOMAIN_SEPARATOR()`` on chain.

A mismatch drops the network (signatures would never verify); an unreachable chain is not
proof of a mismatch: the network stays offered, with a warning, and is checked again later.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from lighthouse.core.payments.requirements import Network

log = logging.getLogger(__name__)

DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

DomainState = Literal["ok", "mismatch", "unreachable"]


def expected_separator(net: Network) -> bytes:
    return keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [DOMAIN_TYPEHASH, keccak(text=net.name), keccak(text=net.version), net.chain_id,
         to_checksum_address(net.asset)],
    ))


async def check_domains(networks: list[Network], facilitator: Any) -> dict[str, DomainState]:
    """Compare each network's domain with the chain; returns caip2 -> state."""
    states: dict[str, DomainState] = {}
    reader = getattr(facilitator, "_onchain", None) or facilitator
    for net in networks:
        if reader is None or not hasattr(reader, "domain_separator") or not net.rpc_url:
            states[net.caip2] = "unreachable"
            continue
        try:
            actual = await reader.domain_separator(net.chain_id, net.asset)
        except Exception as exc:
            log.warning("domain check: chain unreachable", extra={"network": net.caip2, "error": str(exc)})
            states[net.caip2] = "unreachable"
            continue
        if actual == expected_separator(net):
            states[net.caip2] = "ok"
        else:
            log.error("domain check: EIP-712 domain mismatch; network dropped",
                      extra={"network": net.caip2, "domain_name": net.name, "domain_version": net.version})
            states[net.caip2] = "mismatch"
    return states
