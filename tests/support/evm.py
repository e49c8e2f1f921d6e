"""A real EVM on this machine for tests and benchmarks, served over HTTP JSON-RPC.

``LocalChain`` runs py-evm (through eth-tester) in this process, deploys the EIP-3009 token from
``contracts/EIP3009Token.json`` and serves standard Ethereum JSON-RPC (single and batch requests)
on ``http://127.0.0.1:<free port>/``, so any client (``AsyncWeb3(AsyncHTTPProvider(...))``, the
x402 SDK's synchronous ``FacilitatorWeb3Signer``, plain aiohttp) talks to it the way it talks to a
node. Everything is pip-only: no Node, no compiler, no network at test time.

The HTTP server runs on its own thread with its own event loop, so it keeps answering while the
caller's loop is blocked by synchronous code (sync web3 inside the x402 SDK, for instance).
Every chain operation, from HTTP or from the Python API, is serialized by one lock.

Usage::

    async with LocalChain(chain_id=43113) as chain:          # token "USD Coin"/"2"
        buyer = chain.new_account()
        await chain.mint(buyer.address, 5_000_000)
        auth = chain.sign_authorization(buyer, to=chain.accounts[2].address, value=1_000)
        receipt = await chain.transfer_with_authorization(auth)   # sent by chain.relayer
        assert await chain.token_balance(buyer.address) == 4_999_000
        w3 = chain.web3()                                       # AsyncWeb3 over HTTP

Semantics worth knowing (they differ from eth-tester's defaults on purpose):

* Chain id: any positive id (``43113``, ``84532``, ...); ``eth_chainId``, ``net_version``, the
  CHAINID opcode and transaction validation all use it.
* Clock: block timestamps follow the wall clock plus an offset (``advance_time``/``set_time``);
  several blocks may share one second (like Avalanche), so mining many blocks or sending many
  transactions never pushes the chain into the future.
* ``eth_call``/``eth_estimateGas`` at ``latest`` (or ``pending``, or no block) execute on top of
  the latest state in a block stamped *now*, like a node that produces blocks continuously; a
  simulation of an expired authorization therefore reverts even if no block was mined for a
  while. An explicit block number executes in that block's context.
* Auto-mine (default on) mines one block per transaction. With it off, or while the chain is
  stalled, transactions wait in a pool (several per sender, mined in nonce order; a same-nonce
  resend needs a higher fee; ``eth_getTransactionCount(..., "pending")`` counts them) until a
  block is mined; meanwhile their receipts are ``null`` and simulations do not see them.
  ``stall()`` freezes automatic block production (``eth_blockNumber`` stops advancing);
  explicit ``mine()`` calls still mine; ``resume()`` mines the waiting transactions at once.
* ``block_time=`` adds interval mining (one block every ``block_time`` seconds, waiting
  transactions included), for checks that expect a live chain; stalling stops it too.
* Reverts: ``eth_call``/``eth_estimateGas`` answer JSON-RPC error code 3, message
  ``"execution reverted: <reason>"`` and the raw revert ``data``, like geth. Mined transactions
  that revert get a receipt with ``status`` 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from aiohttp import web
from eth.exceptions import Revert
from eth.vm.forks import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import (
    BlockNotFound,
    FilterNotFound,
    TransactionFailed,
    TransactionNotFound,
)
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils import keccak, to_checksum_address
from eth_utils.exceptions import ValidationError as EthUtilsValidationError

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = [
    "ANVIL_MNEMONIC",
    "DEFAULT_TOKEN_DOMAINS",
    "TOKEN_ARTIFACT_PATH",
    "DeployedToken",
    "ExecutionReverted",
    "LocalChain",
    "RpcError",
    "SignedAuthorization",
    "TokenDomain",
    "artifact_is_fresh",
    "default_token_domain",
    "domain_separator",
    "load_token_artifact",
    "random_nonce",
    "recover_transfer_authorization_signer",
    "revert_reason",
    "sign_cancel_authorization",
    "sign_transfer_authorization",
    "transfer_authorization_typed_data",
]

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
TOKEN_ARTIFACT_PATH: Final = REPO_ROOT / "contracts" / "EIP3009Token.json"

#: The mnemonic anvil and hardhat use: ``chain.accounts`` are the same ten well-known addresses
#: (``0xf39F…2266`` first) on every run. Test keys only; never fund them on a public network.
ANVIL_MNEMONIC: Final = "test test test test test test test test test test test junk"

#: EIP-712 domain (name, version) of the real USDC per chain id (``notes/x402.md`` §3).
DEFAULT_TOKEN_DOMAINS: Final[Mapping[int, tuple[str, str]]] = {
    43113: ("USD Coin", "2"),  # Avalanche Fuji
    84532: ("USDC", "2"),  # Base Sepolia
}

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
GWEI: Final = 10**9
ETHER: Final = 10**18

_EIP712_DOMAIN_FIELDS: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_TRANSFER_FIELDS: Final = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
_CANCEL_FIELDS: Final = [
    {"name": "authorizer", "type": "address"},
    {"name": "nonce", "type": "bytes32"},
]
_ERROR_SELECTOR: Final = keccak(text="Error(string)")[:4]
_PANIC_SELECTOR: Final = keccak(text="Panic(uint256)")[:4]
_NAMED_BLOCKS: Final = frozenset({"latest", "earliest", "pending", "safe", "finalized"})
_TESTER_ERRORS: Final = (TesterValidationError, EthUtilsValidationError, ValueError, TypeError)


# --------------------------------------------------------------------------- errors


class RpcError(Exception):
    """A JSON-RPC error answered by the chain (also raised by ``LocalChain.rpc``)."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ExecutionReverted(RpcError):
    """EVM execution reverted; ``reason`` is the decoded ``Error(string)`` when there is one."""

    def __init__(self, reason: str | None, data: bytes = b"", message: str | None = None) -> None:
        text = message or (f"execution reverted: {reason}" if reason else "execution reverted")
        super().__init__(3, text, "0x" + data.hex() if data else None)
        self.reason = reason
        self.raw_data = data


def _decode_revert_data(data: bytes) -> str | None:
    if data[:4] == _ERROR_SELECTOR:
        try:
            return str(abi_decode(["string"], data[4:])[0])
        except Exception:
            return None
    if data[:4] == _PANIC_SELECTOR and len(data) >= 36:
        return f"panic: 0x{int.from_bytes(data[4:36], 'big'):02x}"
    return None


def revert_reason(exc: BaseException) -> str | None:
    """The revert reason inside an exception from any backend, or None.

    Understands ``ExecutionReverted``/``RpcError`` from this module, web3's ``ContractLogicError``
    (HTTP), eth-tester's ``TransactionFailed`` (in-process provider) and ``Web3RPCError``:
    anything whose ``data`` is ``Error(string)`` or whose text contains ``execution reverted:``.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ExecutionReverted) and current.reason:
            return current.reason
        data = getattr(current, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            with contextlib.suppress(ValueError):
                decoded = _decode_revert_data(bytes.fromhex(data[2:]))
                if decoded:
                    return decoded
        for arg in (*getattr(current, "args", ()), str(current)):
            text = arg.get("message") if isinstance(arg, dict) else arg
            if isinstance(text, str) and "execution reverted" in text:
                tail = text.split("execution reverted", 1)[1].lstrip(": ").strip()
                if tail:
                    return tail
        current = current.__cause__ or current.__context__
    return None


# --------------------------------------------------------------------------- artifact


@functools.cache
def load_token_artifact() -> dict[str, Any]:
    """The compiled token (``abi``, ``bytecode``, ``compiler``, ``sourceSha256``...)."""
    artifact: dict[str, Any] = json.loads(TOKEN_ARTIFACT_PATH.read_text(encoding="utf-8"))
    return artifact


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def _calldata(signature: str, types: Sequence[str] = (), args: Sequence[Any] = ()) -> str:
    return "0x" + (_selector(signature) + abi_encode(list(types), list(args))).hex()


# --------------------------------------------------------------------------- EIP-712 / EIP-3009


@dataclass(frozen=True)
class TokenDomain:
    """The EIP-712 domain of an EIP-3009 token (``extra.name``/``extra.version`` in x402)."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }

    def separator(self) -> bytes:
        """``DOMAIN_SEPARATOR()`` computed off-chain from first principles."""
        return domain_separator(self.name, self.version, self.chain_id, self.verifying_contract)


def default_token_domain(chain_id: int) -> tuple[str, str]:
    """(name, version) of USDC's domain on the chain; ``("USD Coin", "2")`` for unknown ids."""
    return DEFAULT_TOKEN_DOMAINS.get(chain_id, ("USD Coin", "2"))


def domain_separator(name: str, version: str, chain_id: int, verifying_contract: str) -> bytes:
    """keccak256(abi.encode(typehash, keccak(name), keccak(version), chainId, contract))."""
    typehash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                typehash,
                keccak(text=name),
                keccak(text=version),
                chain_id,
                to_checksum_address(verifying_contract),
            ],
        )
    )


def random_nonce() -> bytes:
    """A fresh 32-byte EIP-3009 nonce."""
    return secrets.token_bytes(32)


def _nonce_bytes(nonce: bytes | str) -> bytes:
    if isinstance(nonce, str):
        raw = bytes.fromhex(nonce[2:] if nonce.startswith("0x") else nonce)
    else:
        raw = bytes(nonce)
    if len(raw) != 32:
        raise ValueError(f"an EIP-3009 nonce is 32 bytes, got {len(raw)}")
    return raw


def transfer_authorization_typed_data(
    domain: TokenDomain,
    *,
    from_address: str,
    to: str,
    value: int,
    valid_after: int,
    valid_before: int,
    nonce: bytes | str,
) -> dict[str, Any]:
    """The full EIP-712 message for ``TransferWithAuthorization`` (eth-account ``full_message``)."""
    return {
        "types": {"EIP712Domain": _EIP712_DOMAIN_FIELDS, "TransferWithAuthorization": _TRANSFER_FIELDS},
        "primaryType": "TransferWithAuthorization",
        "domain": domain.as_dict(),
        "message": {
            "from": to_checksum_address(from_address),
            "to": to_checksum_address(to),
            "value": int(value),
            "validAfter": int(valid_after),
            "validBefore": int(valid_before),
            "nonce": _nonce_bytes(nonce),
        },
    }


@dataclass(frozen=True)
class SignedAuthorization:
    """A signed EIP-3009 ``TransferWithAuthorization`` (the ``payload`` of an x402 payment)."""

    from_address: str
    to: str
    value: int
    valid_after: int
    valid_before: int
    nonce: bytes
    signature: bytes

    @property
    def r(self) -> bytes:
        return self.signature[:32]

    @property
    def s(self) -> bytes:
        return self.signature[32:64]

    @property
    def v(self) -> int:
        v = self.signature[64]
        return v + 27 if v < 27 else v

    @property
    def signature_hex(self) -> str:
        return "0x" + self.signature.hex()

    @property
    def nonce_hex(self) -> str:
        return "0x" + self.nonce.hex()

    def authorization_json(self) -> dict[str, str]:
        """x402 ``payload.authorization``: decimal strings, 0x nonce."""
        return {
            "from": to_checksum_address(self.from_address),
            "to": to_checksum_address(self.to),
            "value": str(self.value),
            "validAfter": str(self.valid_after),
            "validBefore": str(self.valid_before),
            "nonce": self.nonce_hex,
        }

    def to_x402(self) -> dict[str, Any]:
        """x402 exact-EVM ``payload``: ``{"signature": ..., "authorization": {...}}``."""
        return {"signature": self.signature_hex, "authorization": self.authorization_json()}

    @classmethod
    def from_x402(cls, payload: Mapping[str, Any]) -> SignedAuthorization:
        """From an x402 ``payload`` dict (e.g. ``PaymentPayload.payload`` of the SDK)."""
        auth = payload["authorization"]
        sig = str(payload["signature"])
        return cls(
            from_address=to_checksum_address(auth["from"]),
            to=to_checksum_address(auth["to"]),
            value=int(auth["value"]),
            valid_after=int(auth["validAfter"]),
            valid_before=int(auth["validBefore"]),
            nonce=_nonce_bytes(str(auth["nonce"])),
            signature=bytes.fromhex(sig[2:] if sig.startswith("0x") else sig),
        )

    def transfer_args(self) -> tuple[Any, ...]:
        """Arguments of ``transferWithAuthorization(from,to,value,after,before,nonce,v,r,s)``."""
        return (
            to_checksum_address(self.from_address),
            to_checksum_address(self.to),
            self.value,
            self.valid_after,
            self.valid_before,
            self.nonce,
            self.v,
            self.r,
            self.s,
        )

    def transfer_calldata(self) -> str:
        return _calldata(
            "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)",
            ["address", "address", "uint256", "uint256", "uint256", "bytes32", "uint8", "bytes32", "bytes32"],
            self.transfer_args(),
        )


def _as_account(signer: LocalAccount | str | bytes) -> LocalAccount:
    if isinstance(signer, LocalAccount):
        return signer
    account: LocalAccount = Account.from_key(signer)
    return account


def sign_transfer_authorization(
    signer: LocalAccount | str | bytes,
    domain: TokenDomain,
    *,
    to: str,
    value: int,
    valid_after: int = 0,
    valid_before: int | None = None,
    nonce: bytes | str | None = None,
    from_address: str | None = None,
    validity_seconds: int = 3600,
) -> SignedAuthorization:
    """Sign ``TransferWithAuthorization`` with eth-account (``encode_typed_data(full_message=)``).

    ``valid_before`` defaults to now + ``validity_seconds`` (wall clock); ``nonce`` to random.
    ``from_address`` defaults to the signer; pass another address to forge a wrong-signer case.
    """
    account = _as_account(signer)
    frm = to_checksum_address(from_address or account.address)
    before = int(time.time()) + validity_seconds if valid_before is None else int(valid_before)
    raw_nonce = random_nonce() if nonce is None else _nonce_bytes(nonce)
    typed = transfer_authorization_typed_data(
        domain,
        from_address=frm,
        to=to,
        value=value,
        valid_after=valid_after,
        valid_before=before,
        nonce=raw_nonce,
    )
    signed = account.sign_message(encode_typed_data(full_message=typed))
    return SignedAuthorization(
        from_address=frm,
        to=to_checksum_address(to),
        value=int(value),
        valid_after=int(valid_after),
        valid_before=before,
        nonce=raw_nonce,
        signature=bytes(signed.signature),
    )


def recover_transfer_authorization_signer(auth: SignedAuthorization, domain: TokenDomain) -> str:
    """The address that signed ``auth`` under ``domain`` (compare with ``auth.from_address``)."""
    typed = transfer_authorization_typed_data(
        domain,
        from_address=auth.from_address,
        to=auth.to,
        value=auth.value,
        valid_after=auth.valid_after,
        valid_before=auth.valid_before,
        nonce=auth.nonce,
    )
    signature = auth.signature[:64] + bytes([auth.v])
    recovered: str = Account.recover_message(encode_typed_data(full_message=typed), signature=signature)
    return recovered


def sign_cancel_authorization(
    signer: LocalAccount | str | bytes, domain: TokenDomain, *, nonce: bytes | str
) -> bytes:
    """Sign ``CancelAuthorization(authorizer, nonce)``; returns the 65-byte signature."""
    account = _as_account(signer)
    typed = {
        "types": {"EIP712Domain": _EIP712_DOMAIN_FIELDS, "CancelAuthorization": _CANCEL_FIELDS},
        "primaryType": "CancelAuthorization",
        "domain": domain.as_dict(),
        "message": {"authorizer": account.address, "nonce": _nonce_bytes(nonce)},
    }
    return bytes(account.sign_message(encode_typed_data(full_message=typed)).signature)


# --------------------------------------------------------------------------- accounts


@functools.cache
def _mnemonic_accounts(count: int) -> tuple[LocalAccount, ...]:
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)
    )


# --------------------------------------------------------------------------- py-evm backend


class _SameSecondPragueVM(PragueVM):
    """Prague, except that a block may share its parent's timestamp (as on Avalanche)."""

    @classmethod
    def validate_header(cls, header: Any, parent_header: Any) -> None:
        if parent_header is not None and header.timestamp == parent_header.timestamp:
            header = header.copy(timestamp=header.timestamp + 1)
        super().validate_header(header, parent_header)


class _Backend(PyEVMBackend):  # type: ignore[misc]
    """PyEVMBackend with a chosen chain id, same-second blocks and geth-like simulations."""

    chain: Any

    def __init__(self, chain_id: int, genesis_state: dict[bytes, Any], keys: Sequence[Any]) -> None:
        self._chain_id = chain_id
        self._keys = tuple(keys)
        super().__init__(genesis_state=genesis_state)

    def reset_to_genesis(
        self,
        genesis_params: Any = None,
        genesis_state: Any = None,
        num_accounts: Any = None,
        vm_configuration: Any = None,
        mnemonic: Any = None,
        hd_path: Any = None,
    ) -> None:
        super().reset_to_genesis(
            genesis_params, genesis_state, num_accounts, ((0, _SameSecondPragueVM),), mnemonic, hd_path
        )
        # eth-tester pins chain_id as a class attribute of a class local to setup_tester_chain;
        # a subclass with our id, reopened on the same database, is seen by get_vm (CHAINID
        # opcode, transaction validation) and survives revert_to_snapshot(genesis).
        chain_cls = type(f"LocalChain{self._chain_id}", (type(self.chain),), {"chain_id": self._chain_id})
        self.chain = chain_cls(self.chain.chaindb.db)
        self.account_keys = self._keys

    def send_raw_transaction(self, raw_transaction: bytes) -> bytes:
        vm = self.chain.get_vm()
        try:
            tx = vm.get_transaction_builder().decode(raw_transaction)
        except Exception as exc:
            raise TesterValidationError(f"rlp: cannot decode transaction ({exc})") from None
        tx_chain_id = getattr(tx, "chain_id", None)
        if tx_chain_id is not None and tx_chain_id != self._chain_id:
            raise TesterValidationError(
                f"invalid chain id for signer: have {tx_chain_id} want {self._chain_id}"
            )
        tx_hash: bytes = super().send_raw_transaction(raw_transaction)
        return tx_hash

    def _header_for(self, block_number: Any) -> Any:
        chain = self.chain
        if block_number in ("latest", "pending", "safe", "finalized"):
            return chain.header  # the pending block, stamped "now" by _Node
        number = 0 if block_number == "earliest" else int(block_number)
        if not 0 <= number <= chain.get_canonical_head().block_number:
            raise BlockNotFound(f"No block found for block number: {block_number}")
        return chain.get_canonical_block_header_by_number(number)

    def _free_state(self, header: Any) -> Any:
        """The state after ``header`` in its block context, with a zero base fee.

        Like geth's eth_call: no fee fields means no fee (any ``from`` can simulate) and the
        account nonce is not checked.
        """
        chain = self.chain
        vm = chain.get_vm(header)
        free_header = header.copy(base_fee_per_gas=0)
        return vm.build_state(chain.chaindb.db, free_header, vm.chain_context, vm.previous_hashes)

    def _spoofed(self, transaction: dict[str, Any], state: Any) -> Any:
        tx = dict(transaction)
        if not any(k in tx for k in ("gas_price", "max_fee_per_gas", "max_priority_fee_per_gas")):
            tx["max_fee_per_gas"] = 0
            tx["max_priority_fee_per_gas"] = 0
        tx.setdefault("gas", state.gas_limit)
        tx["nonce"] = state.get_nonce(transaction["from"])  # canonical bytes at this layer
        unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, "latest")
        return SpoofTransaction(unsigned, from_=transaction["from"])

    def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> bytes:
        state = self._free_state(self._header_for(block_number))
        computation = state.apply_transaction(self._spoofed(transaction, state))
        if computation.is_error:
            raise _reverted_from(computation.error)
        return bytes(computation.output)

    def estimate_gas(self, transaction: dict[str, Any], block_number: Any = "latest") -> int:
        state = self._free_state(self._header_for(block_number))
        spoofed = self._spoofed(transaction, state)
        # Execute once first so a revert answers with its reason, like geth's estimateGas.
        snapshot = state.snapshot()
        computation = state.apply_transaction(spoofed)
        state.revert(snapshot)
        if computation.is_error:
            raise _reverted_from(computation.error)
        # Try the gas used, then used + 1/63 (EIP-150) + a margin, instead of py-evm's ~25-run
        # binary search; fall back to that search if both are short.
        used = spoofed.gas - computation.get_gas_remaining()
        for guess in (used, min(state.gas_limit, used * 64 // 63 + 5_000)):
            snapshot = state.snapshot()
            trial = state.apply_transaction(SpoofTransaction(spoofed, gas=guess))
            state.revert(snapshot)
            if not trial.is_error:
                return int(guess)
        gas: int = self.chain.gas_estimator(state, spoofed)
        return gas


class _TesterReverted(TransactionFailed):  # type: ignore[misc]
    def __init__(self, error: ExecutionReverted) -> None:
        super().__init__(error.message)
        self.error = error


def _reverted_from(error: BaseException) -> _TesterReverted:
    if isinstance(error, Revert):
        data = error.args[0] if error.args and isinstance(error.args[0], bytes) else b""
        return _TesterReverted(ExecutionReverted(_decode_revert_data(data), data))
    # Out of gas, invalid opcode, ...: geth answers code -32000 with the VM error text.
    return _TesterReverted(ExecutionReverted(None, b"", message=str(error) or type(error).__name__))


# --------------------------------------------------------------------------- JSON-RPC formatting


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _jsonable(value: Any) -> Any:
    """eth-tester values → JSON-RPC: ints become hex quantities, bytes hex data."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _camel_keys(obj: Mapping[str, Any], renames: Mapping[str, str] | None = None) -> dict[str, Any]:
    renames = renames or {}
    return {renames.get(key, _camel(key)): item for key, item in obj.items()}


def _format_access_list(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [_camel_keys(item) for item in items]


def _format_tx(tx: Mapping[str, Any]) -> dict[str, Any]:
    out = _camel_keys(tx, {"data": "input"})
    if out.get("to") == "":
        out["to"] = None
    if "accessList" in out:
        out["accessList"] = _format_access_list(out["accessList"])
    if "authorizationList" in out:
        out["authorizationList"] = [_camel_keys(item) for item in out["authorizationList"]]
    return out


def _format_log(log: Mapping[str, Any]) -> dict[str, Any]:
    out = _camel_keys(log)
    out.pop("type", None)
    out.setdefault("removed", False)
    return out


def _logs_bloom(logs: Iterable[Mapping[str, Any]]) -> str:
    from eth_bloom import BloomFilter

    bloom = BloomFilter()
    for log in logs:
        bloom.add(bytes.fromhex(str(log["address"])[2:]))
        for topic in log.get("topics", ()):
            bloom.add(bytes.fromhex(str(topic)[2:]) if isinstance(topic, str) else bytes(topic))
    return "0x" + int(bloom).to_bytes(256, "big").hex()


def _format_receipt(receipt: Mapping[str, Any]) -> dict[str, Any]:
    out = _camel_keys(receipt)
    out.pop("stateRoot", None)  # post-Byzantium receipts carry status, not a state root
    out["logs"] = [_format_log(log) for log in out.get("logs", ())]
    out["logsBloom"] = _logs_bloom(receipt.get("logs", ()))
    if out.get("to") == "":
        out["to"] = None
    return out


def _format_block(block: Mapping[str, Any]) -> dict[str, Any]:
    out = _camel_keys(block, {"coinbase": "miner"})
    bloom = out.get("logsBloom")
    if isinstance(bloom, int):
        out["logsBloom"] = "0x" + bloom.to_bytes(256, "big").hex()
    out["transactions"] = [
        _format_tx(tx) if isinstance(tx, Mapping) else tx for tx in out.get("transactions", ())
    ]
    if "withdrawals" in out:
        out["withdrawals"] = [_camel_keys(w) for w in out["withdrawals"]]
    return out


def _quantity(value: Any, name: str = "value") -> int:
    if isinstance(value, bool):
        raise RpcError(-32602, f"invalid {name}: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16) if value.startswith(("0x", "0X")) else int(value)
        except ValueError:
            pass
    raise RpcError(-32602, f"invalid {name}: {value!r}")


_TX_KEYS: Final = {
    "from": "from",
    "to": "to",
    "gas": "gas",
    "gasPrice": "gas_price",
    "maxFeePerGas": "max_fee_per_gas",
    "maxPriorityFeePerGas": "max_priority_fee_per_gas",
    "value": "value",
    "nonce": "nonce",
    "chainId": "chain_id",
    "accessList": "access_list",
}
_TX_QUANTITIES: Final = frozenset(
    {"gas", "gas_price", "max_fee_per_gas", "max_priority_fee_per_gas", "value", "nonce", "chain_id"}
)


def _tx_request(obj: Any) -> dict[str, Any]:
    """A JSON-RPC transaction object → eth-tester's form."""
    if not isinstance(obj, Mapping):
        raise RpcError(-32602, "transaction must be an object")
    tx: dict[str, Any] = {}
    for key, value in obj.items():
        if value is None:
            continue
        name = _TX_KEYS.get(key)
        if name is None:
            continue  # type, input/data (below), blob fields...
        if name in _TX_QUANTITIES:
            tx[name] = _quantity(value, key)
        elif name == "access_list":
            tx[name] = tuple(
                {"address": item["address"], "storage_keys": tuple(item.get("storageKeys", ()))}
                for item in value
            )
        else:
            tx[name] = value
    data = obj.get("input") if obj.get("input") is not None else obj.get("data")
    if data is not None:
        tx["data"] = data
    tx.setdefault("from", ZERO_ADDRESS)
    if tx.get("to") in ("", "0x"):
        tx.pop("to")
    if "gas_price" in tx and ("max_fee_per_gas" in tx or "max_priority_fee_per_gas" in tx):
        tx.pop("gas_price")
    return tx


def _geth_message(text: str) -> str:
    """py-evm's wording of common transaction rejections → geth's, which clients match on."""
    nonce = re.match(r"Invalid transaction nonce: Expected (\d+), but got (\d+)", text)
    if nonce:
        want, got = int(nonce.group(1)), int(nonce.group(2))
        kind = "too low" if got < want else "too high"
        return f"nonce {kind}: next nonce {want}, tx nonce {got}"
    if "cannot afford txn gas" in text:
        return f"insufficient funds for gas * price + value ({text})"
    return text


# --------------------------------------------------------------------------- the chain core


class _PooledTx:
    """A signed transaction waiting for a block (auto-mine off or chain stalled)."""

    def __init__(self, raw: bytes, tx: Any) -> None:
        self.raw = raw
        self.tx = tx
        self.hash = "0x" + bytes(tx.hash).hex()
        self.sender_bytes: bytes = bytes(tx.sender)
        self.sender = "0x" + self.sender_bytes.hex()
        self.nonce = int(tx.nonce)
        self.max_fee = int(getattr(tx, "max_fee_per_gas", 0) or getattr(tx, "gas_price", 0))

    def as_rpc(self) -> dict[str, Any]:
        tx = self.tx
        out: dict[str, Any] = {
            "hash": self.hash,
            "from": to_checksum_address(self.sender),
            "to": to_checksum_address(tx.to) if tx.to else None,
            "nonce": hex(self.nonce),
            "value": hex(tx.value),
            "gas": hex(tx.gas),
            "input": "0x" + bytes(tx.data).hex(),
            "blockHash": None,
            "blockNumber": None,
            "transactionIndex": None,
            "r": hex(tx.r),
            "s": hex(tx.s),
        }
        type_id = getattr(tx, "type_id", None)
        out["type"] = hex(type_id or 0)
        if getattr(tx, "chain_id", None) is not None:
            out["chainId"] = hex(tx.chain_id)
        if hasattr(tx, "max_fee_per_gas"):
            out["maxFeePerGas"] = hex(tx.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = hex(tx.max_priority_fee_per_gas)
            out["gasPrice"] = hex(tx.max_fee_per_gas)
            out["yParity"] = hex(tx.y_parity)
            out["v"] = hex(tx.y_parity)
            out["accessList"] = []
        else:
            out["gasPrice"] = hex(tx.gas_price)
            out["v"] = hex(tx.v)
        return out


_T = TypeVar("_T")


def _locked(method: Callable[..., _T]) -> Callable[..., _T]:
    @functools.wraps(method)
    def wrapper(self: _Node, *args: Any, **kwargs: Any) -> _T:
        with self.lock:
            return method(self, *args, **kwargs)

    return wrapper


class _Node:
    """The chain and its JSON-RPC dispatcher. Thread-safe: every entry point takes ``lock``."""

    def __init__(self, chain_id: int, accounts: Sequence[LocalAccount], balance_wei: int,
                 contracts: Mapping[bytes, Any] | None = None) -> None:
        if not 0 < chain_id < 2**64:
            raise ValueError(f"chain id must be in (0, 2**64), got {chain_id}")
        from eth_keys import keys as eth_keys

        self.chain_id = chain_id
        self.lock = threading.RLock()
        self.calls: Counter[str] = Counter()
        self.time_offset = 0
        self._snapshot_offsets: dict[int, int] = {}
        self.stalled = False
        self.auto_mine = True
        genesis = {
            bytes.fromhex(acct.address[2:]): {"balance": balance_wei, "nonce": 0, "code": b"", "storage": {}}
            for acct in accounts
        }
        genesis.update(contracts or {})
        keys = [eth_keys.PrivateKey(bytes(acct.key)) for acct in accounts]
        self._signers = {acct.address.lower(): acct for acct in accounts}
        # Transactions waiting while auto-mine is off or the chain is stalled, in arrival order.
        # eth-tester's own "auto-mine off" mode cannot hold two transactions of one sender, so
        # eth-tester always auto-mines and the pool lives here.
        self.pool: list[_PooledTx] = []
        self.backend = _Backend(chain_id, genesis, keys)
        self.tester = EthereumTester(self.backend, auto_mine_transactions=True)
        self._refresh_pending_header()
        self._methods: dict[str, Callable[[list[Any]], Any]] = self._build_methods()

    # -- clock and blocks

    def now(self) -> int:
        return int(time.time()) + self.time_offset

    def _refresh_pending_header(self) -> None:
        """Stamp the (empty) pending block with the chain clock, never before its parent."""
        chain = self.backend.chain
        header = chain.header
        if header.gas_used != 0:
            return
        parent = chain.get_canonical_head()
        stamp = max(parent.timestamp, self.now())
        if header.timestamp != stamp:
            chain.header = header.copy(timestamp=stamp)

    @property
    def pooling(self) -> bool:
        """True when new transactions wait in the pool instead of being mined at once."""
        return self.stalled or not self.auto_mine

    def _mine_one(self) -> None:
        """Mine one block holding as many waiting transactions as can go in, in nonce order."""
        self._refresh_pending_header()
        progress = True
        while progress and self.pool:  # bounded: each pass removes a transaction or stops
            progress = False
            for pooled in list(self.pool):
                state_nonce = self.backend.chain.get_vm().state.get_nonce(pooled.sender_bytes)
                if pooled.nonce > state_nonce:
                    continue  # a gap: wait for the missing nonce
                self.pool.remove(pooled)
                progress = True
                if pooled.nonce < state_nonce:
                    continue  # replaced or made stale meanwhile
                try:
                    self.backend.send_raw_transaction(pooled.raw)
                except Exception as exc:  # invalid by now (funds spent...): dropped, like a node
                    if "gas limit" in str(exc).lower():
                        self.pool.insert(0, pooled)  # the block is full: next block
                        progress = False
                        break
        self.tester.mine_blocks(1)

    def _pool_add(self, raw_hex: str) -> str:
        raw = bytes.fromhex(raw_hex[2:] if raw_hex.startswith("0x") else raw_hex)
        vm = self.backend.chain.get_vm()
        try:
            tx = vm.get_transaction_builder().decode(raw)
        except Exception as exc:
            raise TesterValidationError(f"rlp: cannot decode transaction ({exc})") from None
        tx_chain_id = getattr(tx, "chain_id", None)
        if tx_chain_id is not None and tx_chain_id != self.chain_id:
            raise TesterValidationError(
                f"invalid chain id for signer: have {tx_chain_id} want {self.chain_id}"
            )
        tx.validate()
        pooled = _PooledTx(raw=raw, tx=tx)
        state_nonce = vm.state.get_nonce(pooled.sender_bytes)
        if pooled.nonce < state_nonce:
            raise TesterValidationError(
                f"Invalid transaction nonce: Expected {state_nonce}, but got {pooled.nonce}"
            )
        for other in self.pool:
            if other.hash == pooled.hash:
                raise TesterValidationError("already known")
            if other.sender_bytes == pooled.sender_bytes and other.nonce == pooled.nonce:
                if pooled.max_fee <= other.max_fee:
                    raise TesterValidationError("replacement transaction underpriced")
                self.pool.remove(other)
                break
        self.pool.append(pooled)
        return pooled.hash

    def _pooled(self, tx_hash: str) -> _PooledTx | None:
        wanted = tx_hash.lower()
        return next((p for p in self.pool if p.hash == wanted), None)

    @_locked
    def mine(self, blocks: int = 1) -> int:
        if not 0 <= blocks <= 100_000:
            raise ValueError("mine between 0 and 100000 blocks at a time")
        for _ in range(blocks):
            self._mine_one()
        self._refresh_pending_header()
        return self.block_number()

    @_locked
    def block_number(self) -> int:
        number: int = self.tester.get_block_by_number("latest")["number"]
        return number

    @_locked
    def set_auto_mine(self, enabled: bool) -> None:
        self.auto_mine = bool(enabled)
        if not self.pooling and self.pool:
            self._mine_one()  # like a node switched back to instant mining

    @_locked
    def set_stalled(self, stalled: bool) -> None:
        self.stalled = bool(stalled)
        if not self.pooling and self.pool:
            self._mine_one()

    @_locked
    def set_time(self, timestamp: int) -> None:
        latest = self.tester.get_block_by_number("latest")["timestamp"]
        if timestamp < latest:
            raise ValueError(f"cannot move the clock before the latest block ({latest})")
        self.time_offset = int(timestamp) - int(time.time())
        self._refresh_pending_header()

    @_locked
    def advance_time(self, seconds: int) -> int:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.time_offset += int(seconds)
        self._refresh_pending_header()
        return self.now()

    @_locked
    def snapshot(self) -> int:
        snapshot_id: int = self.tester.take_snapshot()
        self._snapshot_offsets[snapshot_id] = self.time_offset
        return snapshot_id

    @_locked
    def revert(self, snapshot_id: int) -> None:
        """Back to the snapshot's state and clock offset (time moved since is undone too)."""
        self.tester.revert_to_snapshot(snapshot_id)
        self.pool.clear()
        self.time_offset = self._snapshot_offsets.get(snapshot_id, self.time_offset)
        self._refresh_pending_header()

    def _pending_nonce(self, address: str) -> int:
        nonce: int = self.tester.get_nonce(address, "latest")
        waiting = {p.nonce for p in self.pool if p.sender == address.lower()}
        while nonce in waiting:  # bounded by the pool size
            nonce += 1
        return nonce

    # -- JSON-RPC

    @_locked
    def rpc(self, method: str, params: Any) -> Any:
        """Execute one call; returns the JSON ``result`` or raises ``RpcError``."""
        self.calls[method] = self.calls[method] + 1
        handler = self._methods.get(method)
        if handler is None:
            raise RpcError(-32601, f"the method {method} does not exist/is not available")
        if params is None:
            params = []
        if not isinstance(params, list):
            raise RpcError(-32602, "params must be an array")
        self._refresh_pending_header()
        try:
            return handler(params)
        except RpcError:
            raise
        except _TesterReverted as exc:
            raise exc.error from None
        except (BlockNotFound, TransactionNotFound) as exc:
            raise RpcError(-32000, f"header not found: {exc}") from None
        except FilterNotFound:
            raise RpcError(-32000, "filter not found") from None
        except TransactionFailed as exc:
            raise ExecutionReverted(None, b"", message=f"execution reverted: {exc}") from None
        except _TESTER_ERRORS as exc:
            raise RpcError(-32000, _geth_message(str(exc) or type(exc).__name__)) from None
        except IndexError:
            raise RpcError(-32602, f"missing params for {method}") from None
        except Exception as exc:  # an EVM-level rejection we did not classify
            raise RpcError(-32603, f"{type(exc).__name__}: {exc}") from None
        finally:
            self._refresh_pending_header()

    def handle_message(self, message: Any) -> dict[str, Any] | None:
        """One JSON-RPC 2.0 request object → response object (None for a notification)."""
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
        is_notification = "id" not in message
        request_id = message.get("id")
        try:
            result = self.rpc(message["method"], message.get("params"))
            response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": result}
        except RpcError as exc:
            response = {"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()}
        return None if is_notification else response

    # -- method table

    def _block_id(self, value: Any, *, state: bool = True) -> Any:
        if value is None:
            return "latest"
        if isinstance(value, Mapping):
            if "blockHash" in value:
                number: int = self.tester.get_block_by_hash(value["blockHash"])["number"]
                return number
            value = value.get("blockNumber", "latest")
        if isinstance(value, str) and value in _NAMED_BLOCKS:
            if state and value in ("safe", "finalized"):
                return "latest"
            return value
        return _quantity(value, "block")

    def _state_block(self, params: list[Any], index: int) -> Any:
        block = self._block_id(params[index] if len(params) > index else None)
        return "latest" if block == "pending" else block

    def _call(self, params: list[Any]) -> str:
        tx = _tx_request(params[0])
        block = self._block_id(params[1] if len(params) > 1 else None)
        result: str = self.tester.call(tx, block)
        return result

    def _estimate(self, params: list[Any]) -> str:
        tx = _tx_request(params[0])
        tx.pop("nonce", None)
        block = self._block_id(params[1] if len(params) > 1 else None)
        return hex(self.tester.estimate_gas(tx, block))

    def _send_raw(self, params: list[Any]) -> str:
        raw_hex = str(params[0])
        if self.pooling:
            return self._pool_add(raw_hex)
        tx_hash: str = self.tester.send_raw_transaction(raw_hex)
        return tx_hash

    def _send_transaction(self, params: list[Any]) -> str:
        """eth_sendTransaction from one of the chain's accounts (signed here, then raw)."""
        request = params[0] if params and isinstance(params[0], Mapping) else {}
        signer = self._signers.get(str(request.get("from", "")).lower())
        if signer is None:
            raise RpcError(-32000, "unknown account")
        tx = _tx_request(request)
        estimate_request = {k: v for k, v in tx.items() if k not in ("nonce", "chain_id")}
        signed: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": tx.get("nonce", self._pending_nonce(signer.address)),
            "value": tx.get("value", 0),
            "data": tx.get("data", "0x"),
            "gas": tx.get("gas") or int(self.tester.estimate_gas(estimate_request, "pending") * 1.2),
        }
        if "to" in tx:
            signed["to"] = to_checksum_address(tx["to"])
        if "gas_price" in tx:
            signed["gasPrice"] = tx["gas_price"]
        else:
            tip = tx.get("max_priority_fee_per_gas", GWEI)
            signed["type"] = 2
            signed["maxPriorityFeePerGas"] = tip
            signed["maxFeePerGas"] = tx.get("max_fee_per_gas", 2 * self._base_fee() + tip)
        raw = signer.sign_transaction(signed).raw_transaction
        return self._send_raw(["0x" + bytes(raw).hex()])

    def _base_fee(self) -> int:
        base: int = self.backend.chain.header.base_fee_per_gas
        return base

    def _get_block(self, block: Any, full: bool) -> Any:
        try:
            return _format_block(self.tester.get_block_by_number(block, bool(full)))
        except BlockNotFound:
            return None

    def _get_block_by_hash(self, block_hash: str, full: bool) -> Any:
        try:
            return _format_block(self.tester.get_block_by_hash(block_hash, bool(full)))
        except (BlockNotFound, TesterValidationError):
            return None

    def _get_tx(self, tx_hash: str) -> Any:
        pooled = self._pooled(tx_hash)
        if pooled is not None:
            return pooled.as_rpc()
        try:
            return _format_tx(self.tester.get_transaction_by_hash(tx_hash))
        except TransactionNotFound:
            return None

    def _get_receipt(self, tx_hash: str) -> Any:
        try:
            receipt = self.tester.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        if receipt.get("block_number") is None:
            return None
        return _format_receipt(receipt)

    def _filter_params(self, obj: Any) -> dict[str, Any]:
        if not isinstance(obj, Mapping):
            raise RpcError(-32602, "filter must be an object")
        out: dict[str, Any] = {}
        if obj.get("blockHash") is not None:
            number = self.tester.get_block_by_hash(obj["blockHash"])["number"]
            out["from_block"] = out["to_block"] = number
        else:
            for key, name in (("fromBlock", "from_block"), ("toBlock", "to_block")):
                if obj.get(key) is not None:
                    out[name] = self._block_id(obj[key])
        if obj.get("address") is not None:
            out["address"] = obj["address"]
        if obj.get("topics") is not None:
            out["topics"] = obj["topics"]
        return out

    def _evm_mine(self, params: list[Any]) -> str:
        if params and isinstance(params[0], (int, str)):
            self.set_time(_quantity(params[0], "timestamp"))
        self.mine(1)
        return "0x0"

    def _anvil_mine(self, params: list[Any]) -> None:
        blocks = _quantity(params[0], "blocks") if params and params[0] is not None else 1
        interval = _quantity(params[1], "interval") if len(params) > 1 and params[1] is not None else 0
        for _ in range(blocks):
            self.mine(1)
            if interval:
                self.advance_time(interval)

    def _fee_history(self, params: list[Any]) -> dict[str, Any]:
        count = _quantity(params[0], "block count")
        if not 1 <= count <= 1024:
            raise RpcError(-32602, "block count must be between 1 and 1024")
        newest_id = self._block_id(params[1] if len(params) > 1 else "latest", state=False)
        newest = int(self.tester.get_block_by_number(newest_id)["number"])
        percentiles = params[2] if len(params) > 2 and params[2] else []
        chain = self.backend.chain
        oldest = max(0, newest - count + 1)
        headers = [chain.get_canonical_block_header_by_number(n) for n in range(oldest, newest + 1)]
        head = chain.get_canonical_head().block_number
        following = chain.header if newest >= head else chain.get_canonical_block_header_by_number(newest + 1)
        return {
            "oldestBlock": hex(oldest),
            # One entry more than blocks: the base fee of the block after the newest.
            "baseFeePerGas": [hex(h.base_fee_per_gas) for h in [*headers, following]],
            "gasUsedRatio": [h.gas_used / h.gas_limit for h in headers],
            "reward": [[hex(GWEI)] * len(percentiles) for _ in headers] if percentiles else [],
        }

    def _get_storage_at(self, params: list[Any]) -> str:
        slot = hex(_quantity(params[1], "slot"))
        value = self.tester.get_storage_at(params[0], slot, self._state_block(params, 2))
        number = value if isinstance(value, int) else int(str(value), 16)
        return "0x" + number.to_bytes(32, "big").hex()

    def _increase_time(self, seconds: int) -> int:
        self.advance_time(seconds)
        return self.time_offset

    def _uninstall_filter(self, params: list[Any]) -> bool:
        try:
            self.tester.delete_filter(_quantity(params[0], "filter id"))
        except FilterNotFound:
            return False
        return True

    def _evm_revert(self, params: list[Any]) -> bool:
        try:
            self.revert(_quantity(params[0], "snapshot id"))
        except (TesterValidationError, KeyError, ValueError):
            return False
        return True

    def _build_methods(self) -> dict[str, Callable[[list[Any]], Any]]:
        t = self.tester
        chain_hex = hex(self.chain_id)
        return {
            "web3_clientVersion": lambda p: "LocalChain/eth-tester+py-evm",
            "web3_sha3": lambda p: "0x" + keccak(hexstr=p[0]).hex(),
            "net_version": lambda p: str(self.chain_id),
            "net_listening": lambda p: True,
            "net_peerCount": lambda p: "0x0",
            "eth_chainId": lambda p: chain_hex,
            "eth_syncing": lambda p: False,
            "eth_mining": lambda p: self.auto_mine and not self.stalled,
            "eth_blockNumber": lambda p: hex(self.block_number()),
            "eth_accounts": lambda p: list(t.get_accounts()),
            "eth_gasPrice": lambda p: hex(self._base_fee() + GWEI),
            "eth_maxPriorityFeePerGas": lambda p: hex(GWEI),
            "eth_blobBaseFee": lambda p: "0x1",
            "eth_feeHistory": self._fee_history,
            "eth_getBalance": lambda p: hex(t.get_balance(p[0], self._state_block(p, 1))),
            "eth_getTransactionCount": lambda p: hex(
                self._pending_nonce(p[0])
                if (p[1] if len(p) > 1 else "latest") == "pending"
                else t.get_nonce(p[0], self._state_block(p, 1))
            ),
            "eth_getCode": lambda p: t.get_code(p[0], self._state_block(p, 1)),
            "eth_getStorageAt": self._get_storage_at,
            "eth_call": self._call,
            "eth_estimateGas": self._estimate,
            "eth_sendRawTransaction": self._send_raw,
            "eth_sendTransaction": self._send_transaction,
            "eth_getTransactionByHash": lambda p: _jsonable(self._get_tx(p[0])),
            "eth_getTransactionReceipt": lambda p: _jsonable(self._get_receipt(p[0])),
            "eth_getBlockByNumber": lambda p: _jsonable(
                self._get_block(self._block_id(p[0], state=False), p[1] if len(p) > 1 else False)
            ),
            "eth_getBlockByHash": lambda p: _jsonable(
                self._get_block_by_hash(p[0], p[1] if len(p) > 1 else False)
            ),
            "eth_getBlockTransactionCountByNumber": lambda p: hex(
                len(t.get_block_by_number(self._block_id(p[0], state=False))["transactions"])
            ),
            "eth_getLogs": lambda p: _jsonable(
                [_format_log(log) for log in t.get_logs(**self._filter_params(p[0]))]
            ),
            "eth_newFilter": lambda p: hex(t.create_log_filter(**self._filter_params(p[0]))),
            "eth_newBlockFilter": lambda p: hex(t.create_block_filter()),
            "eth_getFilterChanges": lambda p: _jsonable(
                [
                    _format_log(x) if isinstance(x, Mapping) else x
                    for x in t.get_only_filter_changes(_quantity(p[0]))
                ]
            ),
            "eth_getFilterLogs": lambda p: _jsonable(
                [
                    _format_log(x) if isinstance(x, Mapping) else x
                    for x in t.get_all_filter_logs(_quantity(p[0]))
                ]
            ),
            "eth_uninstallFilter": self._uninstall_filter,
            # anvil / hardhat style controls
            "evm_mine": self._evm_mine,
            "anvil_mine": self._anvil_mine,
            "hardhat_mine": self._anvil_mine,
            "evm_setAutomine": lambda p: self.set_auto_mine(bool(p[0])),
            "evm_increaseTime": lambda p: hex(self._increase_time(_quantity(p[0], "seconds"))),
            "evm_setNextBlockTimestamp": lambda p: self.set_time(_quantity(p[0], "timestamp")),
            "evm_snapshot": lambda p: hex(self.snapshot()),
            "evm_revert": self._evm_revert,
        }


# --------------------------------------------------------------------------- the HTTP server


class _RpcServer:
    """aiohttp JSON-RPC endpoint on 127.0.0.1, on its own thread and event loop."""

    def __init__(self, node: _Node, block_time: float | None) -> None:
        self._node = node
        self._block_time = block_time
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.port = 0

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="local-evm-rpc", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the local JSON-RPC server did not start in time")
        if self._startup_error is not None:
            raise RuntimeError("the local JSON-RPC server failed to start") from self._startup_error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._cleanup())
            loop.close()

    async def _startup(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        app.router.add_route("GET", "/{tail:.*}", self._describe)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        if self._block_time:
            self._ticker = asyncio.get_running_loop().create_task(self._tick(self._block_time))

    async def _tick(self, interval: float) -> None:
        """Interval mining: one block per ``interval`` seconds unless stalled (until stop)."""
        while True:
            await asyncio.sleep(interval)
            if not self._node.stalled:
                self._node.mine(1)

    async def _cleanup(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None

    async def _describe(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"jsonrpc": "2.0", "chainId": self._node.chain_id, "hint": "POST JSON-RPC 2.0 requests here"},
            status=405,
            headers={"Allow": "POST"},
        )

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload = json.loads(body)
        except ValueError:
            return web.json_response(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
            )
        if isinstance(payload, list):
            if not payload:
                return web.json_response(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "empty batch"}}
                )
            responses = [r for r in map(self._node.handle_message, payload) if r is not None]
            return web.json_response(responses) if responses else web.Response(status=204)
        response = self._node.handle_message(payload)
        return web.json_response(response) if response is not None else web.Response(status=204)


# --------------------------------------------------------------------------- public API


def _short_string_slot(text: str) -> int:
    """A Solidity ``string`` state variable of under 32 bytes, as its one storage word: the
    bytes left-aligned, twice the length in the lowest byte."""
    raw = text.encode()
    if len(raw) > 31:
        raise ValueError("only strings under 32 bytes fit one storage slot")
    return int.from_bytes(raw.ljust(31, b"\0") + bytes([2 * len(raw)]), "big")


def _token_genesis(name: str, symbol: str, version: str, owner: LocalAccount) -> dict[str, Any]:
    """The token as a genesis account: its runtime code and the storage its constructor
    would have written (slots in declaration order: name, symbol, version, totalSupply,
    owner; contracts/EIP3009Token.sol). Lets a test put it at a real token's address."""
    artifact = load_token_artifact()
    code = bytes.fromhex(artifact["deployedBytecode"].removeprefix("0x"))
    storage = {0: _short_string_slot(name), 1: _short_string_slot(symbol),
               2: _short_string_slot(version), 4: int(owner.address, 16)}
    return {"balance": 0, "nonce": 1, "code": code, "storage": storage}


@dataclass(frozen=True)
class DeployedToken:
    address: str
    domain: TokenDomain
    symbol: str


class LocalChain:
    """A local EVM with the EIP-3009 token deployed, served over HTTP JSON-RPC.

    ``async with LocalChain(chain_id=43113) as chain:`` (or ``with`` from sync code).
    Roles: ``accounts[0]`` (``deployer``) owns and mints the token; ``accounts[1]``
    (``relayer``) submits authorizations; the rest are free for tests. All hold
    ``balance_eth`` of native coin from genesis; ``new_account()`` makes fresh ones.
    """

    def __init__(
        self,
        chain_id: int = 43113,
        *,
        token_name: str | None = None,
        token_version: str | None = None,
        token_symbol: str = "USDC",
        token_at: str | None = None,
        deploy_token: bool = True,
        accounts: int = 10,
        balance_eth: int = 10_000,
        auto_mine: bool = True,
        block_time: float | None = None,
    ) -> None:
        if accounts < 2:
            raise ValueError("at least 2 accounts: the deployer and the relayer")
        default_name, default_version = default_token_domain(chain_id)
        self.chain_id = chain_id
        self._token_name = token_name if token_name is not None else default_name
        self._token_version = token_version if token_version is not None else default_version
        self._token_symbol = token_symbol
        self._token_at = to_checksum_address(token_at) if token_at is not None else None
        self._deploy_token = deploy_token
        self._account_count = accounts
        self._balance_wei = balance_eth * ETHER
        self._initial_auto_mine = auto_mine
        if block_time is not None and block_time <= 0:
            raise ValueError("block_time must be positive (or None for no interval mining)")
        self._block_time = block_time
        self._node: _Node | None = None
        self._server: _RpcServer | None = None
        self._faucet: LocalAccount | None = None
        self.accounts: list[LocalAccount] = []
        self.token: DeployedToken | None = None
        self.startup_seconds = 0.0
        self._web3s: list[tuple[asyncio.AbstractEventLoop, AsyncWeb3[Any]]] = []

    # -- lifecycle

    def start(self) -> LocalChain:
        """Build the chain, deploy the token, serve HTTP (blocking; ~0.1 s)."""
        if self._node is not None:
            raise RuntimeError("LocalChain already started")
        began = time.perf_counter()
        keys = _mnemonic_accounts(self._account_count + 1)
        self.accounts = list(keys[: self._account_count])
        self._faucet = keys[self._account_count]
        name, version, symbol = self._token_name, self._token_version, self._token_symbol
        placed: dict[bytes, Any] = {}
        if self._deploy_token and self._token_at is not None:
            token = _token_genesis(name, symbol, version, self.deployer)
            placed = {bytes.fromhex(self._token_at[2:]): token}
        self._node = _Node(self.chain_id, list(keys), self._balance_wei, placed)
        try:
            if self._deploy_token:
                address = self._token_at or self._deploy_token_sync(name, version, symbol)
                self.token = DeployedToken(
                    address=address,
                    domain=TokenDomain(name, version, self.chain_id, address),
                    symbol=symbol,
                )
            if not self._initial_auto_mine:
                self._node.set_auto_mine(False)
            self._server = _RpcServer(self._node, self._block_time)
            self._server.start()
        except BaseException:
            self._server = None
            self._node = None
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None
        self._node = None

    async def __aenter__(self) -> LocalChain:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._disconnect_web3s()
        await asyncio.to_thread(self.close)

    def __enter__(self) -> LocalChain:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- facts

    @property
    def node(self) -> _Node:
        if self._node is None:
            raise RuntimeError("LocalChain is not running")
        return self._node

    @property
    def rpc_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalChain is not running")
        return f"http://127.0.0.1:{self._server.port}/"

    @property
    def network(self) -> str:
        """CAIP-2 id, e.g. ``eip155:43113``."""
        return f"eip155:{self.chain_id}"

    @property
    def token_address(self) -> str:
        return self._token().address

    @property
    def domain(self) -> TokenDomain:
        return self._token().domain

    @property
    def deployer(self) -> LocalAccount:
        return self.accounts[0]

    @property
    def relayer(self) -> LocalAccount:
        return self.accounts[1]

    @property
    def rpc_calls(self) -> Counter[str]:
        """How many times each JSON-RPC method was called (HTTP and in-process)."""
        return self.node.calls

    @property
    def auto_mine(self) -> bool:
        return self.node.auto_mine

    @property
    def stalled(self) -> bool:
        return self.node.stalled

    def now(self) -> int:
        """The chain clock: wall clock plus the offset from ``advance_time``/``set_time``."""
        return self.node.now()

    def _token(self, token: str | None = None) -> DeployedToken:
        if token is not None:
            return DeployedToken(
                to_checksum_address(token),
                TokenDomain(self._token_name, self._token_version, self.chain_id, token),
                self._token_symbol,
            )
        if self.token is None:
            raise RuntimeError("no token deployed (deploy_token=False)")
        return self.token

    # -- raw access

    def rpc_sync(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call in-process (same dispatcher as HTTP); raises ``RpcError``."""
        return self.node.rpc(method, list(params))

    async def rpc(self, method: str, *params: Any) -> Any:
        return await asyncio.to_thread(self.rpc_sync, method, *params)

    def web3(self, **provider_kwargs: Any) -> AsyncWeb3[Any]:
        """An ``AsyncWeb3`` over HTTP to ``rpc_url``, cached per event loop.

        Its aiohttp session is closed when the chain is left with ``async with``.
        """
        from web3 import AsyncHTTPProvider, AsyncWeb3

        loop = asyncio.get_running_loop()
        if provider_kwargs:
            w3: AsyncWeb3[Any] = AsyncWeb3(AsyncHTTPProvider(self.rpc_url, **provider_kwargs))
            self._web3s.append((loop, w3))
            return w3
        for owner, cached in self._web3s:
            if owner is loop:
                return cached
        w3 = AsyncWeb3(AsyncHTTPProvider(self.rpc_url))
        self._web3s.append((loop, w3))
        return w3

    async def _disconnect_web3s(self) -> None:
        loop = asyncio.get_running_loop()
        mine = [w3 for owner, w3 in self._web3s if owner is loop]
        self._web3s = [(owner, w3) for owner, w3 in self._web3s if owner is not loop]
        for w3 in mine:
            with contextlib.suppress(Exception):
                await w3.provider.disconnect()

    # -- controls

    async def mine(self, blocks: int = 1) -> int:
        """Mine ``blocks`` blocks (with any waiting transactions); returns the new number."""
        return await asyncio.to_thread(self.node.mine, blocks)

    async def block_number(self) -> int:
        return await asyncio.to_thread(self.node.block_number)

    async def set_auto_mine(self, enabled: bool) -> None:
        await asyncio.to_thread(self.node.set_auto_mine, enabled)

    async def stall(self) -> None:
        """Stop automatic block production: the block number freezes, transactions wait."""
        await asyncio.to_thread(self.node.set_stalled, True)

    async def resume(self) -> None:
        """Undo ``stall()``; with auto-mine on, waiting transactions are mined at once."""
        await asyncio.to_thread(self.node.set_stalled, False)

    async def advance_time(self, seconds: int, *, mine: bool = True) -> int:
        """Move the chain clock forward; by default mine a block carrying the new time."""
        now = await asyncio.to_thread(self.node.advance_time, seconds)
        if mine:
            await self.mine(1)
        return now

    async def set_time(self, timestamp: int, *, mine: bool = True) -> None:
        """Set the chain clock (not before the latest block); by default mine a block."""
        await asyncio.to_thread(self.node.set_time, timestamp)
        if mine:
            await self.mine(1)

    async def snapshot(self) -> int:
        return await asyncio.to_thread(self.node.snapshot)

    async def revert(self, snapshot_id: int) -> None:
        await asyncio.to_thread(self.node.revert, snapshot_id)

    # -- transactions

    def send_transaction_sync(
        self,
        sender: LocalAccount,
        *,
        to: str | None,
        data: str | bytes = b"",
        value: int = 0,
        gas: int | None = None,
    ) -> str:
        """Sign with eth-account and send raw (as a wallet would); returns the tx hash."""
        node = self.node
        data_hex = data if isinstance(data, str) else "0x" + bytes(data).hex()
        with node.lock:
            tx: dict[str, Any] = {
                "type": 2,
                "chainId": self.chain_id,
                "nonce": _quantity(node.rpc("eth_getTransactionCount", [sender.address, "pending"])),
                "value": value,
                "data": data_hex,
                "maxPriorityFeePerGas": GWEI,
                "maxFeePerGas": 2 * node._base_fee() + GWEI,
            }
            if to is not None:
                tx["to"] = to_checksum_address(to)
            if gas is None:
                request = {"from": sender.address, "data": data_hex, "value": hex(value)}
                if to is not None:
                    request["to"] = tx["to"]
                gas = int(_quantity(node.rpc("eth_estimateGas", [request])) * 1.25) + 10_000
            tx["gas"] = gas
            raw = sender.sign_transaction(tx).raw_transaction
            tx_hash: str = node.rpc("eth_sendRawTransaction", ["0x" + bytes(raw).hex()])
            return tx_hash

    async def send_transaction(
        self,
        sender: LocalAccount,
        *,
        to: str | None,
        data: str | bytes = b"",
        value: int = 0,
        gas: int | None = None,
    ) -> str:
        return await asyncio.to_thread(
            functools.partial(self.send_transaction_sync, sender, to=to, data=data, value=value, gas=gas)
        )

    async def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The JSON-RPC receipt (hex quantities) or None while the transaction waits."""
        result: dict[str, Any] | None = await self.rpc("eth_getTransactionReceipt", tx_hash)
        return result

    def _require_success(self, tx_hash: str, what: str) -> dict[str, Any]:
        receipt: dict[str, Any] | None = self.node.rpc("eth_getTransactionReceipt", [tx_hash])
        if receipt is None:
            raise RuntimeError(f"{what}: transaction {tx_hash} is not mined (auto-mine off or stalled)")
        if receipt["status"] != "0x1":
            raise RuntimeError(f"{what}: transaction {tx_hash} reverted")
        return receipt

    def _deploy_token_sync(self, name: str, version: str, symbol: str) -> str:
        artifact = load_token_artifact()
        data = (
            artifact["bytecode"] + abi_encode(["string", "string", "string"], [name, symbol, version]).hex()
        )
        tx_hash = self.send_transaction_sync(self.deployer, to=None, data=data, gas=3_000_000)
        receipt = self._require_success(tx_hash, "deploy token")
        return to_checksum_address(receipt["contractAddress"])

    async def deploy_token(self, name: str, version: str = "2", symbol: str = "USDC") -> str:
        """Deploy another EIP-3009 token (owner: ``deployer``); returns its address."""
        return await asyncio.to_thread(self._deploy_token_sync, name, version, symbol)

    def token_domain(self, token: str) -> TokenDomain:
        """The domain of a token deployed with this chain's default name and version."""
        return self._token(token).domain

    async def fund(self, address: str, wei: int) -> str:
        """Send native coin (gas money) to ``address`` from a hidden faucet account."""
        if self._faucet is None:
            raise RuntimeError("LocalChain is not running")
        faucet = self._faucet

        def run() -> str:
            tx_hash = self.send_transaction_sync(faucet, to=address, value=wei, gas=21_000)
            if self.node.auto_mine and not self.node.stalled:
                self._require_success(tx_hash, "fund")
            return tx_hash

        return await asyncio.to_thread(run)

    async def mint(self, to: str, amount: int, *, token: str | None = None) -> str:
        """Mint token units (6 decimals: 1_000_000 = 1 USDC) to ``to``."""
        data = _calldata("mint(address,uint256)", ["address", "uint256"], [to_checksum_address(to), amount])
        target = self._token(token).address

        def run() -> str:
            tx_hash = self.send_transaction_sync(self.deployer, to=target, data=data)
            if self.node.auto_mine and not self.node.stalled:
                self._require_success(tx_hash, "mint")
            return tx_hash

        return await asyncio.to_thread(run)

    def new_account(self) -> LocalAccount:
        """A fresh random account (no funds; see ``fund``/``mint``)."""
        account: LocalAccount = Account.create(os.urandom(32))
        return account

    # -- reads

    async def _eth_call(self, to: str, data: str) -> bytes:
        result = await self.rpc("eth_call", {"to": to, "data": data}, "latest")
        return bytes.fromhex(str(result)[2:])

    async def native_balance(self, address: str) -> int:
        return _quantity(await self.rpc("eth_getBalance", to_checksum_address(address), "latest"))

    async def token_balance(self, address: str, *, token: str | None = None) -> int:
        out = await self._eth_call(
            self._token(token).address,
            _calldata("balanceOf(address)", ["address"], [to_checksum_address(address)]),
        )
        return int(abi_decode(["uint256"], out)[0])

    async def authorization_state(
        self, authorizer: str, nonce: bytes | str, *, token: str | None = None
    ) -> bool:
        out = await self._eth_call(
            self._token(token).address,
            _calldata(
                "authorizationState(address,bytes32)",
                ["address", "bytes32"],
                [to_checksum_address(authorizer), _nonce_bytes(nonce)],
            ),
        )
        return bool(abi_decode(["bool"], out)[0])

    async def domain_separator(self, *, token: str | None = None) -> bytes:
        return await self._eth_call(self._token(token).address, _calldata("DOMAIN_SEPARATOR()"))

    # -- EIP-3009

    def sign_authorization(
        self,
        payer: LocalAccount | str | bytes,
        *,
        to: str,
        value: int,
        valid_after: int = 0,
        valid_before: int | None = None,
        nonce: bytes | str | None = None,
        token: str | None = None,
        from_address: str | None = None,
    ) -> SignedAuthorization:
        """``sign_transfer_authorization`` under this chain's token domain."""
        return sign_transfer_authorization(
            payer,
            self._token(token).domain,
            to=to,
            value=value,
            valid_after=valid_after,
            valid_before=valid_before,
            nonce=nonce,
            from_address=from_address,
        )

    async def simulate_transfer_with_authorization(
        self, auth: SignedAuthorization, *, sender: str | None = None, token: str | None = None
    ) -> None:
        """``eth_call`` it from the relayer; raises ``ExecutionReverted`` with FiatToken's reason."""
        await self.rpc(
            "eth_call",
            {
                "from": sender or self.relayer.address,
                "to": self._token(token).address,
                "data": auth.transfer_calldata(),
            },
            "latest",
        )

    async def transfer_with_authorization(
        self,
        auth: SignedAuthorization,
        *,
        relayer: LocalAccount | None = None,
        token: str | None = None,
        simulate: bool = True,
    ) -> dict[str, Any] | None:
        """Submit from the relayer; returns the receipt (None if not mined yet).

        With ``simulate`` (default) a failing authorization raises ``ExecutionReverted`` before
        anything is sent; with ``simulate=False`` it is mined and its receipt has status 0x0.
        """
        sender = relayer or self.relayer
        if simulate:
            await self.simulate_transfer_with_authorization(auth, sender=sender.address, token=token)
        tx_hash = await self.send_transaction(
            sender,
            to=self._token(token).address,
            data=auth.transfer_calldata(),
            gas=None if simulate else 200_000,
        )
        return await self.receipt(tx_hash)


def artifact_is_fresh() -> bool:
    """True when the committed artifact was built from the committed Solidity source."""
    artifact = load_token_artifact()
    source = (REPO_ROOT / artifact["sourcePath"]).read_bytes()
    return bool(hashlib.sha256(source).hexdigest() == artifact["sourceSha256"])
