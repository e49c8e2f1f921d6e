"""EVM chains by name, for what people type in chat (``evm_rpc <url> base-sepolia``,
``evm_balance <address> avalanche-fuji``): the chain id, and a public RPC endpoint for a
balance check that names no node of its own."""

from __future__ import annotations

from dataclasses import dataclass

from lighthouse.core.errors import ValidationError


@dataclass(frozen=True)
class Chain:
    name: str  # canonical, what shorthands are written with
    chain_id: int
    rpc_url: str  # a public endpoint of the chain's own project where there is one


CHAINS: tuple[Chain, ...] = (
    Chain("ethereum", 1, "https://ethereum-rpc.publicnode.com"),
    Chain("sepolia", 11155111, "https://ethereum-sepolia-rpc.publicnode.com"),
    Chain("holesky", 17000, "https://ethereum-holesky-rpc.publicnode.com"),
    Chain("base", 8453, "https://mainnet.base.org"),
    Chain("base-sepolia", 84532, "https://sepolia.base.org"),
    Chain("avalanche", 43114, "https://api.avax.network/ext/bc/C/rpc"),
    Chain("avalanche-fuji", 43113, "https://api.avax-test.network/ext/bc/C/rpc"),
    Chain("optimism", 10, "https://mainnet.optimism.io"),
    Chain("optimism-sepolia", 11155420, "https://sepolia.optimism.io"),
    Chain("arbitrum", 42161, "https://arb1.arbitrum.io/rpc"),
    Chain("arbitrum-sepolia", 421614, "https://sepolia-rollup.arbitrum.io/rpc"),
    Chain("polygon", 137, "https://polygon-rpc.com"),
    Chain("polygon-amoy", 80002, "https://rpc-amoy.polygon.technology"),
    Chain("bsc", 56, "https://bsc-dataseed.bnbchain.org"),
    Chain("gnosis", 100, "https://rpc.gnosischain.com"),
)

# Other ways people write them (lowercase, '_' and ' ' read as '-').
_ALIASES = {
    "eth": "ethereum", "mainnet": "ethereum", "ethereum-mainnet": "ethereum",
    "ethereum-sepolia": "sepolia", "base-mainnet": "base", "avax": "avalanche",
    "avalanche-c": "avalanche", "fuji": "avalanche-fuji", "avax-fuji": "avalanche-fuji",
    "arbitrum-one": "arbitrum", "op": "optimism", "matic": "polygon", "amoy": "polygon-amoy",
    "bnb": "bsc", "binance": "bsc", "xdai": "gnosis",
}
_BY_NAME = {c.name: c for c in CHAINS}
_BY_ID = {c.chain_id: c for c in CHAINS}
_BY_RPC_URL = {c.rpc_url: c for c in CHAINS}


def _key(text: str) -> str:
    return text.strip().lower().replace("_", "-").replace(" ", "-")


def find_chain(text: str) -> Chain | None:
    key = _key(text)
    return _BY_NAME.get(_ALIASES.get(key, key))


def chain_by_id(chain_id: int) -> Chain | None:
    return _BY_ID.get(chain_id)


def chain_by_rpc_url(url: str) -> Chain | None:
    """The known chain whose public endpoint this is (shorthands write its name instead)."""
    return _BY_RPC_URL.get(url)


def chain_id_of(text: str) -> int:
    """A chain name (base-sepolia, fuji, ...) or a decimal/0x id -> the chain id; unknown
    names are refused with the names this knows."""
    raw = text.strip()
    if raw.isdigit() and len(raw) <= 20:
        return int(raw)
    if raw.lower().startswith("0x"):
        try:
            return int(raw, 16)
        except ValueError:
            pass
    chain = find_chain(raw)
    if chain is None:
        raise ValidationError(f"unknown chain {raw!r}", field="chain", reason="unknown_chain",
                              value=raw[:40], known=[c.name for c in CHAINS])
    return chain.chain_id


def chain_label(chain_id: int) -> str:
    """The name a chain id is shown (and written in shorthands) with; else the number."""
    chain = _BY_ID.get(chain_id)
    return chain.name if chain else str(chain_id)

