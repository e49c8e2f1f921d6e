"""The local chain: token, EIP-3009 over HTTP JSON-RPC, the official x402 client, controls."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from support.evm import (
    REPO_ROOT,
    ExecutionReverted,
    LocalChain,
    RpcError,
    SignedAuthorization,
    TokenDomain,
    artifact_is_fresh,
    domain_separator,
    load_token_artifact,
    random_nonce,
    recover_transfer_authorization_signer,
    revert_reason,
    sign_cancel_authorization,
    sign_transfer_authorization,
    transfer_authorization_typed_data,
)

USED = "FiatTokenV2: authorization is used or canceled"
EXPIRED = "FiatTokenV2: authorization is expired"
NOT_YET = "FiatTokenV2: authorization is not yet valid"
BAD_SIG = "FiatTokenV2: invalid signature"
NO_FUNDS = "ERC20: transfer amount exceeds balance"


@pytest.fixture(scope="module")
async def fuji() -> AsyncIterator[LocalChain]:
    async with LocalChain(chain_id=43113) as chain:
        yield chain


@pytest.fixture(scope="module", params=[43113, 84532], ids=["fuji", "base-sepolia"])
async def either(request: pytest.FixtureRequest) -> AsyncIterator[LocalChain]:
    async with LocalChain(chain_id=request.param) as chain:
        yield chain


async def jsonrpc(url: str, body: Any) -> Any:
    """Plain aiohttp JSON-RPC (no web3): what an RPC monitor check would send."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=10)) as resp,
    ):
        assert resp.status in (200, 204)
        return await resp.json() if resp.status == 200 else None


async def block_number_http(chain: LocalChain) -> int:
    reply = await jsonrpc(chain.rpc_url, {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"})
    return int(reply["result"], 16)


async def wait_for_block_above(chain: LocalChain, number: int, within_s: float = 5.0) -> int:
    for _ in range(int(within_s / 0.05)):
        current = await block_number_http(chain)
        if current > number:
            return current
        await asyncio.sleep(0.05)
    return await block_number_http(chain)


def token_contract(w3: AsyncWeb3[Any], chain: LocalChain) -> Any:
    return w3.eth.contract(address=chain.token_address, abi=load_token_artifact()["abi"])


async def relay_over_http(chain: LocalChain, auth: SignedAuthorization) -> dict[str, Any]:
    """What our settler does: AsyncWeb3 over HTTP, simulate, sign locally, send, receipt."""
    w3 = chain.web3()
    token = token_contract(w3, chain)
    fn = token.functions.transferWithAuthorization(*auth.transfer_args())
    relayer = chain.relayer
    await fn.call({"from": relayer.address})
    tx = await fn.build_transaction(
        {
            "from": relayer.address,
            "chainId": chain.chain_id,
            "nonce": await w3.eth.get_transaction_count(relayer.address, "pending"),
        }
    )
    tx_hash = await w3.eth.send_raw_transaction(relayer.sign_transaction(tx).raw_transaction)
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.05)
    return dict(receipt)


async def funded_buyer(chain: LocalChain, amount: int = 5_000_000) -> Any:
    buyer = chain.new_account()
    await chain.mint(buyer.address, amount)
    return buyer


# --------------------------------------------------------------------------- artifact


def test_artifact_matches_source_and_records_the_compiler() -> None:
    artifact = load_token_artifact()
    assert artifact_is_fresh(), "contracts/EIP3009Token.json is stale: rebuild (contracts/README.md)"
    assert artifact["compiler"]["version"].startswith("0.8.")
    assert artifact["bytecode"].startswith("0x60") and len(artifact["abi"]) > 20
    assert not (REPO_ROOT / "contracts" / "node_modules").exists()
    names = {item.get("name") for item in artifact["abi"]}
    assert {"transferWithAuthorization", "receiveWithAuthorization", "cancelAuthorization"} <= names
    assert {"authorizationState", "DOMAIN_SEPARATOR", "mint", "version"} <= names


def test_offline_domain_separator_reproduces_the_real_usdc_domains() -> None:
    # Values from notes/x402.md §3, computed for the real USDC contracts.
    fuji = domain_separator("USD Coin", "2", 43113, "0x5425890298aed601595a70AB815c96711a31Bc65")
    base = domain_separator("USDC", "2", 84532, "0x036CbD53842c5426634e7929541eC2318f3dCF7e")
    assert fuji.hex() == "fe9fa105a0e9629446730e544caa6b8d05d8d4fc93451750dc50e2ddd6d374b3"
    assert base.hex() == "71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818"


# --------------------------------------------------------------------------- deploy and domain


async def test_token_placed_at_the_real_base_sepolia_usdc_address() -> None:
    """token_at: the token lives at a real asset's address (clients that pay only assets
    they know pay it), with the real contract's EIP-712 domain, and works as deployed."""
    real = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
    async with LocalChain(chain_id=84532, token_at=real) as chain:
        assert chain.token_address == real
        token = token_contract(chain.web3(), chain)
        assert await token.functions.name().call() == "USDC"
        assert await token.functions.symbol().call() == "USDC"
        assert await token.functions.version().call() == "2"
        assert await token.functions.owner().call() == chain.deployer.address
        assert bytes(await token.functions.DOMAIN_SEPARATOR().call()).hex() == (
            "71f17a3b2ff373b803d70a5a07c046c1a2bc8e89c09ef722fcb047abe94c9818")
        buyer = await funded_buyer(chain, 5_000)
        payee = chain.new_account().address
        receipt = await chain.transfer_with_authorization(
            chain.sign_authorization(buyer, to=payee, value=2_000))
        assert int(receipt["status"], 16) == 1
        assert await chain.token_balance(payee) == 2_000
        assert await chain.token_balance(buyer.address) == 3_000


async def test_deployed_token_and_domain_over_http(either: LocalChain) -> None:
    chain = either
    chain_id = chain.chain_id
    name = {43113: "USD Coin", 84532: "USDC"}[chain_id]
    w3 = chain.web3()
    assert await w3.eth.chain_id == chain_id
    token = token_contract(w3, chain)
    assert await token.functions.name().call() == name
    assert await token.functions.version().call() == "2"
    assert await token.functions.decimals().call() == 6
    assert await token.functions.owner().call() == chain.deployer.address
    on_chain = bytes(await token.functions.DOMAIN_SEPARATOR().call())
    assert on_chain == domain_separator(name, "2", chain_id, chain.token_address)
    typed = transfer_authorization_typed_data(
        TokenDomain(name, "2", chain_id, chain.token_address),
        from_address=chain.accounts[3].address,
        to=chain.accounts[4].address,
        value=1,
        valid_after=0,
        valid_before=1,
        nonce=bytes(32),
    )
    assert encode_typed_data(full_message=typed).header == on_chain
    assert chain.domain == TokenDomain(name, "2", chain_id, chain.token_address)
    assert chain.network == f"eip155:{chain_id}"


async def test_another_token_with_its_own_domain(fuji: LocalChain) -> None:
    address = await fuji.deploy_token("Other Coin", "7", symbol="OTH")
    assert address != fuji.token_address
    expected = domain_separator("Other Coin", "7", 43113, address)
    assert await fuji.domain_separator(token=address) == expected
    buyer = fuji.new_account()
    await fuji.mint(buyer.address, 10, token=address)
    assert await fuji.token_balance(buyer.address, token=address) == 10
    assert await fuji.token_balance(buyer.address) == 0


# --------------------------------------------------------------------------- EIP-3009 over HTTP


async def test_relayed_authorization_moves_balance_exactly_once(fuji: LocalChain) -> None:
    buyer = await funded_buyer(fuji)
    payee = fuji.new_account().address
    supply_before = await token_contract(fuji.web3(), fuji).functions.totalSupply().call()
    auth = fuji.sign_authorization(buyer, to=payee, value=1_000)
    assert recover_transfer_authorization_signer(auth, fuji.domain) == buyer.address

    receipt = await relay_over_http(fuji, auth)
    assert receipt["status"] == 1
    token = token_contract(fuji.web3(), fuji)
    transfers = token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert [(e.args["from"], e.args["to"], e.args["value"]) for e in transfers] == [
        (buyer.address, payee, 1_000)
    ]
    assert await fuji.token_balance(buyer.address) == 4_999_000
    assert await fuji.token_balance(payee) == 1_000
    assert await token.functions.totalSupply().call() == supply_before
    assert await fuji.authorization_state(buyer.address, auth.nonce)

    # Replay: the simulation reverts with FiatToken's reason, over HTTP (web3) ...
    with pytest.raises(ContractLogicError) as caught:
        await token.functions.transferWithAuthorization(*auth.transfer_args()).call(
            {"from": fuji.relayer.address}
        )
    assert revert_reason(caught.value) == USED
    # ... and in-process; a replay sent anyway is mined as a failure and moves nothing.
    with pytest.raises(ExecutionReverted) as again:
        await fuji.simulate_transfer_with_authorization(auth)
    assert again.value.reason == USED
    failed = await fuji.transfer_with_authorization(auth, simulate=False)
    assert failed is not None and failed["status"] == "0x0"
    assert await fuji.token_balance(buyer.address) == 4_999_000
    assert await fuji.token_balance(payee) == 1_000


async def test_concurrent_relayers_settle_one_authorization_once(fuji: LocalChain) -> None:
    buyer = await funded_buyer(fuji, 1_000)
    payee = fuji.new_account().address
    auth = fuji.sign_authorization(buyer, to=payee, value=300)
    w3 = fuji.web3()
    token = token_contract(w3, fuji)
    data = token.functions.transferWithAuthorization(*auth.transfer_args())._encode_transaction_data()

    async def submit(relayer: Any) -> int:
        nonce = await w3.eth.get_transaction_count(relayer.address, "pending")
        tx = {
            "type": 2, "chainId": fuji.chain_id, "nonce": nonce, "to": fuji.token_address,
            "data": data, "gas": 200_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
        }  # fmt: skip
        tx_hash = await w3.eth.send_raw_transaction(relayer.sign_transaction(tx).raw_transaction)
        receipt = await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10, poll_latency=0.05)
        return int(receipt["status"])

    statuses = await asyncio.gather(*(submit(r) for r in fuji.accounts[3:8]))
    assert sorted(statuses) == [0, 0, 0, 0, 1]
    assert await fuji.token_balance(payee) == 300
    assert await fuji.token_balance(buyer.address) == 700


async def test_revert_reasons_in_simulation(fuji: LocalChain) -> None:
    buyer = await funded_buyer(fuji, 2_000)
    payee = fuji.accounts[5].address
    impostor = Account.create()
    now = fuji.now()
    cases = {
        BAD_SIG: sign_transfer_authorization(
            impostor, fuji.domain, to=payee, value=1, from_address=buyer.address
        ),
        EXPIRED: fuji.sign_authorization(buyer, to=payee, value=1, valid_before=now - 1),
        NOT_YET: fuji.sign_authorization(buyer, to=payee, value=1, valid_after=now + 3600),
        NO_FUNDS: fuji.sign_authorization(buyer, to=payee, value=2_001),
    }
    wrong_domain = sign_transfer_authorization(
        buyer, TokenDomain("USDC", "2", 43113, fuji.token_address), to=payee, value=1
    )
    cases_http: list[tuple[str, SignedAuthorization]] = [*cases.items(), (BAD_SIG, wrong_domain)]
    token = token_contract(fuji.web3(), fuji)
    for reason, auth in cases_http:
        with pytest.raises(ExecutionReverted) as caught:
            await fuji.simulate_transfer_with_authorization(auth)
        assert caught.value.reason == reason
        with pytest.raises(ContractLogicError) as over_http:
            await token.functions.transferWithAuthorization(*auth.transfer_args()).call(
                {"from": fuji.relayer.address}
            )
        assert revert_reason(over_http.value) == reason
    assert await fuji.token_balance(buyer.address) == 2_000


async def test_raw_json_rpc_revert_is_geth_shaped(fuji: LocalChain) -> None:
    buyer = await funded_buyer(fuji, 10)
    auth = fuji.sign_authorization(buyer, to=fuji.accounts[5].address, value=1, valid_before=1)
    call = {"to": fuji.token_address, "data": auth.transfer_calldata()}
    for method, params in (("eth_call", [call, "latest"]), ("eth_estimateGas", [call])):
        reply = await jsonrpc(fuji.rpc_url, {"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
        error = reply["error"]
        assert error["code"] == 3 and error["message"] == f"execution reverted: {EXPIRED}"
        assert error["data"].startswith("0x08c379a0")


async def test_time_makes_authorizations_valid_and_then_expired(fuji: LocalChain) -> None:
    # Moving the clock of a shared chain would expire every wall-clock-signed authorization
    # after this test: snapshot/revert undoes the state and the clock.
    snapshot = await fuji.snapshot()
    try:
        await _time_travel_scenario(fuji)
    finally:
        await fuji.revert(snapshot)
    assert abs(fuji.now() - time.time()) < 5


async def _time_travel_scenario(fuji: LocalChain) -> None:
    buyer = await funded_buyer(fuji, 100)
    payee = fuji.accounts[6].address
    start = fuji.now()
    later = fuji.sign_authorization(buyer, to=payee, value=1, valid_after=start + 100)
    short = fuji.sign_authorization(buyer, to=payee, value=1, valid_before=start + 200)
    with pytest.raises(ExecutionReverted, match=NOT_YET):
        await fuji.simulate_transfer_with_authorization(later)
    await fuji.advance_time(150)
    latest = await fuji.web3().eth.get_block("latest")
    assert latest["timestamp"] >= start + 150
    receipt = await fuji.transfer_with_authorization(later)
    assert receipt is not None and receipt["status"] == "0x1"
    await fuji.advance_time(100)
    with pytest.raises(ExecutionReverted, match=EXPIRED):
        await fuji.simulate_transfer_with_authorization(short)
    assert await fuji.token_balance(payee) >= 1


async def test_cancel_authorization(fuji: LocalChain) -> None:
    buyer = await funded_buyer(fuji, 100)
    auth = fuji.sign_authorization(buyer, to=fuji.accounts[5].address, value=5)
    signature = sign_cancel_authorization(buyer, fuji.domain, nonce=auth.nonce)
    token = token_contract(fuji.web3(), fuji)
    data = token.encode_abi("cancelAuthorization", args=[buyer.address, auth.nonce, signature])
    tx_hash = await fuji.send_transaction(fuji.relayer, to=fuji.token_address, data=data)
    receipt = await fuji.receipt(tx_hash)
    assert receipt is not None and receipt["status"] == "0x1"
    assert await fuji.authorization_state(buyer.address, auth.nonce)
    with pytest.raises(ExecutionReverted, match=USED):
        await fuji.simulate_transfer_with_authorization(auth)


async def test_signature_overloads_and_receive_with_authorization(fuji: LocalChain) -> None:
    buyer = await funded_buyer(fuji, 1_000)
    payee = fuji.accounts[7]
    w3 = fuji.web3()
    token = token_contract(w3, fuji)

    # FiatToken v2.2 `bytes signature` overload (what the x402 SDK uses for long signatures).
    auth = fuji.sign_authorization(buyer, to=payee.address, value=10)
    by_bytes = token.get_function_by_signature(
        "transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
    )(*auth.transfer_args()[:6], auth.signature)
    data = by_bytes._encode_transaction_data()
    receipt = await fuji.receipt(await fuji.send_transaction(fuji.relayer, to=fuji.token_address, data=data))
    assert receipt is not None and receipt["status"] == "0x1"

    # A malformed v is refused the way FiatToken's ECRecover refuses it.
    bad_v = fuji.sign_authorization(buyer, to=payee.address, value=1)
    bad_v = dataclasses.replace(bad_v, signature=bad_v.signature[:64] + bytes([29]))
    with pytest.raises(ExecutionReverted, match="ECRecover: invalid signature 'v' value"):
        await fuji.simulate_transfer_with_authorization(bad_v)

    # receiveWithAuthorization: same fields, its own typehash, only the payee may submit it.
    typed = transfer_authorization_typed_data(
        fuji.domain,
        from_address=buyer.address,
        to=payee.address,
        value=20,
        valid_after=0,
        valid_before=fuji.now() + 600,
        nonce=random_nonce(),
    )
    typed["types"] = {
        "EIP712Domain": typed["types"]["EIP712Domain"],
        "ReceiveWithAuthorization": typed["types"]["TransferWithAuthorization"],
    }
    typed["primaryType"] = "ReceiveWithAuthorization"
    signature = bytes(buyer.sign_message(encode_typed_data(full_message=typed)).signature)
    msg = typed["message"]
    args = [buyer.address, payee.address, 20, 0, msg["validBefore"], msg["nonce"], signature]
    receive = token.get_function_by_signature(
        "receiveWithAuthorization(address,address,uint256,uint256,uint256,bytes32,bytes)"
    )(*args)
    with pytest.raises(ContractLogicError, match="FiatTokenV2: caller must be the payee"):
        await receive.call({"from": fuji.relayer.address})
    data = receive._encode_transaction_data()
    receipt = await fuji.receipt(await fuji.send_transaction(payee, to=fuji.token_address, data=data))
    assert receipt is not None and receipt["status"] == "0x1"
    assert await fuji.token_balance(buyer.address) == 970


async def test_historical_reads_and_geth_worded_rejections(fuji: LocalChain) -> None:
    buyer = fuji.new_account()
    before = await fuji.block_number()
    await fuji.mint(buyer.address, 42)
    token = token_contract(fuji.web3(), fuji)
    assert await token.functions.balanceOf(buyer.address).call(block_identifier=before) == 0
    assert await token.functions.balanceOf(buyer.address).call() == 42

    relayer = fuji.relayer
    stale = {
        "type": 2, "chainId": 43113, "nonce": 0, "to": buyer.address, "value": 1,
        "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    await fuji.send_transaction(relayer, to=buyer.address, value=1)  # relayer nonce >= 1
    raw = "0x" + bytes(relayer.sign_transaction(stale).raw_transaction).hex()
    with pytest.raises(RpcError, match="nonce too low"):
        await fuji.rpc("eth_sendRawTransaction", raw)
    poor = fuji.new_account()
    raw = "0x" + bytes(poor.sign_transaction(stale).raw_transaction).hex()
    with pytest.raises(RpcError, match="insufficient funds"):
        await fuji.rpc("eth_sendRawTransaction", raw)


async def test_transaction_signed_for_another_chain_is_refused(fuji: LocalChain) -> None:
    relayer = fuji.relayer
    nonce = int(await fuji.rpc("eth_getTransactionCount", relayer.address, "pending"), 16)
    tx = {
        "type": 2, "chainId": 84532, "nonce": nonce, "to": fuji.accounts[7].address, "value": 1,
        "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    raw = "0x" + bytes(relayer.sign_transaction(tx).raw_transaction).hex()
    with pytest.raises(RpcError, match="invalid chain id"):
        await fuji.rpc("eth_sendRawTransaction", raw)


# --------------------------------------------------------------------------- official x402 SDK


def _requirements(chain: LocalChain, pay_to: str, amount: str = "1000") -> Any:
    from x402 import PaymentRequirements

    return PaymentRequirements(
        scheme="exact",
        network=chain.network,
        asset=chain.token_address,
        amount=amount,
        pay_to=pay_to,
        max_timeout_seconds=60,
        extra={"name": chain.domain.name, "version": chain.domain.version},
    )


async def test_official_x402_client_signature_settles(either: LocalChain) -> None:
    from x402 import PaymentRequired, x402Client
    from x402.mechanisms.evm import EthAccountSigner
    from x402.mechanisms.evm.exact import register_exact_evm_client

    chain = either
    buyer = await funded_buyer(chain, 1_000_000)
    payee = chain.new_account().address
    requirements = _requirements(chain, payee)
    client = register_exact_evm_client(x402Client(), EthAccountSigner(buyer))
    client.set_spend_controls(
        {
            "allowed_assets": [
                {"network": chain.network, "asset": chain.token_address, "max_amount_per_payment": "1000000"}
            ]
        }
    )
    payload = await client.create_payment_payload(PaymentRequired(accepts=[requirements]))
    auth = SignedAuthorization.from_x402(payload.payload)
    assert auth.from_address == buyer.address and auth.to == payee and auth.value == 1000
    assert recover_transfer_authorization_signer(auth, chain.domain) == buyer.address

    receipt = await relay_over_http(chain, auth)
    assert receipt["status"] == 1
    assert await chain.token_balance(payee) == 1000
    assert await chain.token_balance(buyer.address) == 999_000
    with pytest.raises(ExecutionReverted, match=USED):
        await chain.simulate_transfer_with_authorization(auth)


async def test_official_x402_facilitator_verifies_and_settles_over_http(fuji: LocalChain) -> None:
    """The unmodified SDK facilitator (sync web3, HTTPProvider) against our endpoint."""
    from x402 import PaymentRequired, x402Client, x402Facilitator
    from x402.mechanisms.evm import EthAccountSigner, FacilitatorWeb3Signer
    from x402.mechanisms.evm.exact import register_exact_evm_client, register_exact_evm_facilitator

    buyer = await funded_buyer(fuji, 50_000)
    payee = fuji.new_account().address
    requirements = _requirements(fuji, payee, amount="20000")
    client = register_exact_evm_client(x402Client(), EthAccountSigner(buyer))
    client.set_spend_controls(False)
    payload = await client.create_payment_payload(PaymentRequired(accepts=[requirements]))

    relayer = fuji.accounts[8]
    signer = FacilitatorWeb3Signer(
        "0x" + bytes(relayer.key).hex(), fuji.rpc_url, confirmation_timeout_seconds=10
    )
    facilitator = register_exact_evm_facilitator(x402Facilitator(), signer, networks=fuji.network)

    # The SDK blocks in sync web3 calls; our server thread answers meanwhile.
    verified = await facilitator.verify(payload, requirements)
    assert verified.is_valid, verified
    settled = await facilitator.settle(payload, requirements)
    assert settled.success, settled
    assert settled.transaction.startswith("0x")
    assert await fuji.token_balance(payee) == 20_000
    again = await facilitator.verify(payload, requirements)
    assert not again.is_valid


# --------------------------------------------------------------------------- controls over HTTP


async def test_mine_stall_resume_and_auto_mine_over_http() -> None:
    async with LocalChain(chain_id=84532) as chain:
        start = await block_number_http(chain)
        assert await chain.mine(3) == start + 3
        assert await block_number_http(chain) == start + 3

        await chain.stall()
        assert chain.stalled
        w3 = chain.web3()
        sender, receiver = chain.accounts[2].address, chain.accounts[3].address
        tx_hash = await w3.eth.send_transaction({"from": sender, "to": receiver, "value": 5})
        relayer = chain.accounts[4]
        raw_txs = [
            relayer.sign_transaction(
                {
                    "type": 2,
                    "chainId": chain.chain_id,
                    "nonce": n,
                    "to": receiver,
                    "value": 1,
                    "gas": 21_000,
                    "maxFeePerGas": 10**10,
                    "maxPriorityFeePerGas": 10**9,
                }
            ).raw_transaction
            for n in (0, 1)
        ]
        relayed = [await w3.eth.send_raw_transaction(raw) for raw in raw_txs]
        with pytest.raises(Exception, match="already known"):
            await w3.eth.send_raw_transaction(raw_txs[1])
        await asyncio.sleep(0.3)
        assert await block_number_http(chain) == start + 3
        receipt = await jsonrpc(
            chain.rpc_url,
            {"jsonrpc": "2.0", "id": 2, "method": "eth_getTransactionReceipt", "params": [tx_hash.hex()]},
        )
        assert receipt["result"] is None
        waiting = await w3.eth.get_transaction(relayed[1])
        assert waiting["blockNumber"] is None and waiting["nonce"] == 1
        # Waiting transactions count for the pending nonce, not for the latest one.
        assert await w3.eth.get_transaction_count(relayer.address, "pending") == 2
        assert await w3.eth.get_transaction_count(relayer.address, "latest") == 0

        await chain.resume()
        assert await block_number_http(chain) == start + 4
        for waited in (tx_hash, *relayed):
            mined = await w3.eth.get_transaction_receipt(waited)
            assert mined["status"] == 1 and mined["blockNumber"] == start + 4

        await chain.set_auto_mine(False)
        tx2 = await w3.eth.send_transaction(
            {"from": chain.accounts[2].address, "to": chain.accounts[3].address, "value": 6}
        )
        assert await block_number_http(chain) == start + 4
        await jsonrpc(chain.rpc_url, {"jsonrpc": "2.0", "id": 3, "method": "evm_mine", "params": []})
        assert (await w3.eth.get_transaction_receipt(tx2))["blockNumber"] == start + 5
        await chain.set_auto_mine(True)


async def test_interval_mining_advances_until_stalled() -> None:
    async with LocalChain(chain_id=43113, block_time=0.1, deploy_token=False) as chain:
        first = await block_number_http(chain)
        assert await wait_for_block_above(chain, first + 2) >= first + 3
        await chain.stall()
        await asyncio.sleep(0.15)  # let a tick that was already running finish
        frozen = await block_number_http(chain)
        await asyncio.sleep(0.5)
        assert await block_number_http(chain) == frozen
        latest = await chain.rpc("eth_getBlockByNumber", "latest", False)
        assert int(latest["timestamp"], 16) <= chain.now()
        await chain.resume()
        assert await wait_for_block_above(chain, frozen) > frozen


async def test_block_timestamps_follow_the_clock() -> None:
    async with LocalChain(chain_id=43113, deploy_token=False) as chain:
        before = await chain.rpc("eth_getBlockByNumber", "latest", False)
        await chain.mine(20)  # many blocks in one second do not run ahead of the clock
        after = await chain.rpc("eth_getBlockByNumber", "latest", False)
        assert int(after["timestamp"], 16) <= chain.now()
        assert int(after["timestamp"], 16) >= int(before["timestamp"], 16)
        target = chain.now() + 10_000
        await chain.set_time(target)
        stamped = await chain.rpc("eth_getBlockByNumber", "latest", False)
        assert target <= int(stamped["timestamp"], 16) <= target + 2
        with pytest.raises(ValueError, match="before the latest block"):
            await chain.set_time(target - 100)


async def test_fund_and_native_balances_over_http(fuji: LocalChain) -> None:
    fresh = fuji.new_account()
    await fuji.fund(fresh.address, 10**18)
    assert await fuji.web3().eth.get_balance(fresh.address) == 10**18
    assert await fuji.native_balance(fuji.accounts[9].address) > 9_000 * 10**18


async def test_batch_and_protocol_errors(fuji: LocalChain) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []},  # notification
        {"jsonrpc": "2.0", "id": "b", "method": "eth_nope", "params": []},
        {"jsonrpc": "2.0", "id": "c", "method": "net_version"},
        "garbage",
    ]
    replies = await jsonrpc(fuji.rpc_url, batch)
    assert [r["id"] for r in replies] == ["a", "b", "c", None]
    assert replies[0]["result"] == hex(43113)
    assert replies[1]["error"]["code"] == -32601
    assert replies[2]["result"] == "43113"
    assert replies[3]["error"]["code"] == -32600
    assert (await jsonrpc(fuji.rpc_url, []))["error"]["code"] == -32600

    async with (
        aiohttp.ClientSession() as session,
        session.post(fuji.rpc_url, data=b"{not json", headers={"Content-Type": "application/json"}) as resp,
    ):
        assert (await resp.json())["error"]["code"] == -32700

    # A web3 batch goes through the same endpoint.
    w3 = fuji.web3()
    async with w3.batch_requests() as batch_req:
        batch_req.add(w3.eth.get_block("latest"))
        batch_req.add(w3.eth.get_balance(fuji.accounts[0].address))
        block, balance = await batch_req.async_execute()
    assert block["number"] >= 1 and balance > 0


async def test_starting_a_chain_is_fast() -> None:
    began = time.perf_counter()
    async with LocalChain(chain_id=84532) as chain:
        elapsed = time.perf_counter() - began
        assert await chain.token_balance(chain.accounts[0].address) == 0
    # Informational figure for benchmarks: start + deploy + HTTP server, warm process.
    print(
        json.dumps(
            {"local_chain_start_seconds": round(elapsed, 3), "inside": round(chain.startup_seconds, 3)}
        )
    )
    assert elapsed < 3.0


def test_sync_context_manager_and_random_nonce() -> None:
    with LocalChain(chain_id=1337, token_name="Test", token_version="1") as chain:
        assert chain.rpc_sync("eth_chainId") == hex(1337)
        assert chain.domain == TokenDomain("Test", "1", 1337, chain.token_address)
        assert Path(chain.rpc_url.split("//")[1].split(":")[0]) == Path("127.0.0.1")
    assert len(random_nonce()) == 32 and random_nonce() != random_nonce()
