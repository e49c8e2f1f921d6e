"""An MCP buyer: the official MCP SDK client, paying with the official x402 client's signer.

``pay_meta`` reads the PaymentRequired out of an unpaid tool result and returns the
``_meta`` of the paid retry, with the x402 package's own MCP helpers (x402.mcp.utils), so
the wire shapes are the SDK's, not ours. ``SdkAdapter`` lets x402's MCP client
(``x402MCPClient``, which drives the whole flow itself) talk through the MCP SDK client.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import mcp_types as types
from mcp import Client
from x402.mcp.utils import (
    attach_payment_to_meta,
    convert_mcp_result,
    extract_payment_required_from_result,
    extract_payment_response_from_meta,
)


def wire(result: types.CallToolResult) -> SimpleNamespace:
    """A tool result as x402.mcp reads it: the JSON wire names as attributes."""
    data = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    return SimpleNamespace(content=data.get("content", []), isError=data.get("isError", False),
                           _meta=data.get("_meta", {}), structuredContent=data.get("structuredContent"))


def payment_required(result: types.CallToolResult) -> Any:
    """The PaymentRequired in a tool result, as x402's MCP client finds it (None if absent)."""
    return extract_payment_required_from_result(convert_mcp_result(wire(result)))


def receipt(result: types.CallToolResult) -> Any:
    return extract_payment_response_from_meta(convert_mcp_result(wire(result)))


async def pay_meta(buyer: Any, unpaid: types.CallToolResult) -> dict[str, Any]:
    required = payment_required(unpaid)
    assert required is not None, unpaid
    payload = await buyer.create_payment_payload(required)
    meta: dict[str, Any] = attach_payment_to_meta({}, payload)["_meta"]
    return meta


class SdkAdapter:
    """x402.mcp calls ``call_tool(params, **options)`` with a JSON-RPC params dict and reads
    camelCase attributes back; the MCP SDK client takes name, arguments and meta and returns
    a pydantic model. Only the shapes are translated."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call_tool(self, params: dict[str, Any], **options: Any) -> SimpleNamespace:
        timeout = options.get("read_timeout_seconds")  # a timedelta in the 1.x SDK's API
        if isinstance(timeout, timedelta):
            timeout = timeout.total_seconds()
        result = await self.client.call_tool(params["name"], params.get("arguments"),
                                             read_timeout_seconds=timeout, meta=params.get("_meta"))
        return wire(result)
