"""Discovery: /.well-known/x402, /openapi.json (+ /.well-known/openapi.json), /docs, agent card,
and the keys that sign check results (/.well-known/lighthouse-keys.json, docs/signing.md)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from lighthouse.api.mcp_server import MCP_PATH, PAYMENT_META, RECEIPT_META, LighthouseTools
from lighthouse.api.schemas import (
    ChannelCreated,
    ChannelDeleted,
    ChannelIn,
    ChannelList,
    CheckBody,
    CheckHistory,
    CheckResultOut,
    Deleted,
    ErrorResponse,
    Incidents,
    MaintenanceBody,
    MonitorBody,
    MonitorCreated,
    MonitorEnvelope,
    PaymentRequiredV1,
    PingUrl,
    Pricing,
    SigningKeys,
    StatusPageBody,
    StatusPageCreated,
    StatusPageDeleted,
    StatusPageList,
    SubscribeBody,
    Subscription,
    Uptime,
    component_schemas,
    ref,
)
from lighthouse.api.v1 import MAX_BIGINT, MAX_PAGE
from lighthouse.api.x402.paywall import Paywall
from lighthouse.core.service.monitors import MAX_INCIDENTS
from lighthouse.core.signing import ResultSigner
from lighthouse.core.tiers import ONE_OFF_CHECK_PRICE_ATOMIC, TIERS
from lighthouse.core.verify import ALG, TYP
from pydantic import BaseModel

# Paid operations: (path, method, summary, price mode, request body model or None, 2xx).
PAID_OPERATIONS: list[tuple[str, str, str, str, type[BaseModel] | None, tuple[str, type[BaseModel]]]] = [
    ("/v1/check", "get", "One-off HTTP check of ?url=", "fixed", None, ("200", CheckResultOut)),
    ("/v1/checks", "post", "One-off check of any registered type", "fixed", CheckBody,
     ("200", CheckResultOut)),
    ("/v1/monitors", "post", "Create a monitor paid by tier and months", "dynamic", MonitorBody,
     ("201", MonitorCreated)),
    ("/subscribe", "post", "Seed alias of POST /v1/monitors", "dynamic", SubscribeBody,
     ("201", Subscription)),
]
PAID = [(path, method, summary, mode) for path, method, summary, mode, *_ in PAID_OPERATIONS]
KEYS_PATH = "/.well-known/lighthouse-keys.json"


def _base(paywall: Paywall) -> str:
    return paywall.public_base_url.rstrip("/")


def signing_info(paywall: Paywall) -> dict[str, str]:
    """Where a buyer finds the keys that sign its results (one shape in every document)."""
    return {"keys": _base(paywall) + KEYS_PATH, "alg": ALG, "format": TYP}


def mcp_listing(paywall: Paywall, tools: LighthouseTools | None, *, schemas: bool = False) -> dict[str, Any]:
    """The MCP endpoint (api/mcp_server.py) and its tools; paid ones name their x402
    resource (``mcp://tool/<name>``, the x402 MCP transport's convention)."""
    listed: list[dict[str, Any]] = []
    for tool in tools.listing() if tools is not None else []:
        is_paid = tools is not None and tools.is_paid(tool.name)
        entry: dict[str, Any] = {"name": tool.name, "description": tool.description, "paid": is_paid}
        if is_paid:
            entry["resource"] = f"mcp://tool/{tool.name}"
        if schemas:
            entry["inputSchema"] = tool.input_schema
        listed.append(entry)
    return {"endpoint": _base(paywall) + MCP_PATH, "transport": "streamable-http",
            "stdio": "lighthouse mcp", "x402": {"paymentMeta": PAYMENT_META, "receiptMeta": RECEIPT_META},
            "tools": listed}


def well_known(paywall: Paywall, tools: LighthouseTools | None = None) -> dict[str, Any]:
    base = _base(paywall)
    return {
        "version": 1,
        "resources": [base + path for path, *_ in PAID],
        "routes": [{"endpoint": path, "method": method.upper(), "x402_version": 2}
                   for path, method, *_ in PAID],
        "ownershipProofs": [],
        "resultSigning": signing_info(paywall),
        # Not an HTTP resource list entry (indexers probe those with HTTP): its own key.
        "mcp": mcp_listing(paywall, tools),
    }


def _json(schema: dict[str, Any], description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _error(description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    return _json(ref(ErrorResponse), description, **headers)


_RETRY_AFTER = {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
_PAYMENT_HEADERS = [
    {"name": "PAYMENT-SIGNATURE", "in": "header", "required": False,
     "description": "x402 v2 payment: base64 of the PaymentPayload JSON",
     "schema": {"type": "string", "maxLength": 16384}},
    {"name": "X-PAYMENT", "in": "header", "required": False,
     "description": "x402 v1 payment: base64 of the payment JSON",
     "schema": {"type": "string", "maxLength": 16384}},
]
_ID = {"name": "id", "in": "path", "required": True, "description": "The monitor's id",
       "schema": {"type": "string", "format": "uuid"}}
_TOKEN: list[dict[str, list[str]]] = [{"managementToken": []}]


def _paid_operation(summary: str, mode: str, body: type[BaseModel] | None,
                    ok: tuple[str, type[BaseModel]], prices: list[int]) -> dict[str, Any]:
    info: dict[str, Any] = {"protocols": ["x402"], "price": {"mode": mode, "currency": "USDC"}}
    if mode == "fixed":
        info["price"]["amount"] = str(ONE_OFF_CHECK_PRICE_ATOMIC)
    else:
        info["price"].update({"min": str(prices[0]), "max": str(prices[-1] * 12)})
    status, model = ok
    responses: dict[str, Any] = {
        status: _json(ref(model), "Paid result (receipt in PAYMENT-RESPONSE)",
                      **{"PAYMENT-RESPONSE": {"description": "x402 settlement receipt (base64 JSON)",
                                              "schema": {"type": "string"}}}),
        "402": _json(ref(PaymentRequiredV1), "Payment required, or the payment was refused",
                     **{"PAYMENT-REQUIRED": {"description": "x402 v2 challenge (base64 JSON)",
                                             "schema": {"type": "string"}}}),
        "400": _error("Malformed request or payment"),
        "422": _error("Target not allowed (private or reserved address)"),
        "503": _error("Payments not configured, or the chain/facilitator is unreachable",
                      **{"Retry-After": _RETRY_AFTER}),
    }
    if status == "201":  # creation: checked against the tier, fulfilled after settlement
        responses["403"] = _error("Monitor limit or tier feature (before payment; after it, "
                                  "code fulfilment_failed with the refund in params.refund)")
        responses["500"] = _error("Payment settled but the monitor could not be created: "
                                  "fulfilment_failed, params.refund says where the refund stands")
    op: dict[str, Any] = {"summary": summary, "x-payment-info": info,
                          "parameters": list(_PAYMENT_HEADERS), "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": ref(body)}}}
    return op


def _managed(summary: str, model: type[BaseModel], *,
             query: list[dict[str, Any]] | None = None, body: type[BaseModel] | None = None,
             status: str = "200", errors: dict[str, str] | None = None,
             path: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An operation behind the management token; ``errors``: further status -> meaning."""
    responses: dict[str, Any] = {status: _json(ref(model), "ok")}
    if query:
        responses["400"] = _error("Invalid query parameter")
    if body is not None:
        responses["400"] = _error("Invalid body")
    responses["401"] = _error("No management token")
    responses["404"] = _error("No such monitor for this token")
    responses.update({code: _error(text) for code, text in (errors or {}).items()})
    op: dict[str, Any] = {"summary": summary, "security": _TOKEN,
                          "parameters": [_ID, *(path or []), *(query or [])], "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": ref(body)}}}
    return op


def _owner_op(summary: str, model: type[BaseModel], *, body: type[BaseModel] | None = None,
              status: str = "200", errors: dict[str, str] | None = None,
              path: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An operation on what the token's owner has (status pages): no monitor id in the path."""
    op = _managed(summary, model, body=body, status=status, errors=errors, path=path)
    op["parameters"] = [p for p in op["parameters"] if p is not _ID]
    return op


def openapi(paywall: Paywall, tools: LighthouseTools | None = None) -> dict[str, Any]:
    prices = sorted(t.price_atomic_per_month for t in TIERS.values() if t.price_atomic_per_month)
    paths: dict[str, Any] = {}
    for path, method, summary, mode, body, ok in PAID_OPERATIONS:
        op = _paid_operation(summary, mode, body, ok, prices)
        if path == "/v1/check":
            op["parameters"] = [{"name": "url", "in": "query", "required": True,
                                 "description": "http:// or https:// URL to check",
                                 "schema": {"type": "string", "minLength": 1, "maxLength": 2048}},
                                *op["parameters"]]
        paths.setdefault(path, {})[method] = op
    paths["/v1/pricing"] = {"get": {"summary": "Tiers and prices",
                                    "responses": {"200": _json(ref(Pricing), "ok")}}}
    history_query = [
        {"name": "limit", "in": "query", "required": False, "description": "Rows per page",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50}},
        {"name": "before", "in": "query", "required": False,
         "description": "Only checks before this instant (RFC 3339 with an offset)",
         "schema": {"type": "string", "format": "date-time"}},
    ]
    paths["/v1/monitors/{id}"] = {
        "get": _managed("Read a monitor with its management token", MonitorEnvelope),
        "delete": _managed("Delete a monitor with its management token", Deleted),
    }
    paths["/v1/monitors/{id}/checks"] = {"get": _managed("Check history, newest first", CheckHistory,
                                                         query=history_query)}
    paths["/v1/monitors/{id}/uptime"] = {"get": _managed("Uptime over 24 h, 7 d, 30 d", Uptime)}
    paths[KEYS_PATH] = {"get": {"summary": "Public keys that sign check results, retired ones too",
                                "responses": {"200": _json(ref(SigningKeys), "ok")}}}
    paths["/v1/monitors/{id}/token"] = {"post": _managed(
        "A new ping URL for a heartbeat monitor (the old one stops working)", PingUrl,
        errors={"400": "Not a heartbeat monitor"})}
    paths["/v1/monitors/{id}/maintenance"] = {
        "put": _managed("Maintenance until a time: checks go on, alerts stop", MonitorEnvelope,
                        body=MaintenanceBody, errors={"409": "The monitor is paused"}),
        "delete": _managed("End maintenance now (a note follows the next check)", MonitorEnvelope,
                           errors={"409": "The monitor is not in maintenance"}),
    }
    paths["/v1/monitors/{id}/incidents"] = {"get": _managed(
        "Outages, newest first: first failing check to recovery", Incidents,
        query=[{"name": "limit", "in": "query", "required": False, "description": "Incidents",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INCIDENTS,
                           "default": 50}}])}
    paths["/v1/monitors/{id}/channels"] = {
        "get": _managed("The monitor's alert channels (secrets masked)", ChannelList),
        "post": _managed("Send the monitor's alerts to a channel too", ChannelCreated,
                         body=ChannelIn, status="201"),
    }
    paths["/v1/monitors/{id}/channels/{channel_id}"] = {"delete": _managed(
        "Remove one of the monitor's alert channels", ChannelDeleted,
        path=[{"name": "channel_id", "in": "path", "required": True,
               "description": "The channel's id", "schema": {"type": "integer", "minimum": 0,
                                                             "maximum": MAX_BIGINT}}])}
    no_token = "No management token, or one that manages no monitor"
    paths["/v1/status-pages"] = {
        "post": _owner_op("Publish monitors of the token's owner on a status page",
                          StatusPageCreated, body=StatusPageBody, status="201", errors={
                              "403": "The owner's plan has no status pages",
                              "404": no_token + ", or a monitor that is not the owner's",
                              "409": "The slug is taken"}),
        "get": _owner_op("The status pages of the token's owner", StatusPageList,
                         errors={"404": no_token}),
    }
    paths["/v1/status-pages/{slug}"] = {"delete": _owner_op(
        "Remove one of the owner's status pages", StatusPageDeleted,
        path=[{"name": "slug", "in": "path", "required": True, "description": "The page's slug",
               "schema": {"type": "string", "minLength": 1, "maxLength": 64}}],
        errors={"404": no_token + ", or no such page of the owner"})}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lighthouse x402 API", "version": "1"},
        "servers": [{"url": _base(paywall)}],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {"managementToken": {
                "type": "http", "scheme": "bearer",
                "description": "The management_token returned when the monitor was bought"}},
        },
        "x-discovery": {"ownershipProofs": [], "resultSigning": signing_info(paywall)},
        # MCP is one JSON-RPC endpoint, not REST operations: described here rather than as a
        # path, with each tool's input schema (the same models as the bodies above).
        "x-mcp": {"url": _base(paywall) + MCP_PATH, **{
            k: v for k, v in mcp_listing(paywall, tools, schemas=True).items() if k != "endpoint"}},
    }


def agent_card(paywall: Paywall, tools: LighthouseTools | None = None) -> dict[str, Any]:
    mcp = mcp_listing(paywall, tools)
    return {
        "name": "Lighthouse",
        "description": "Monitoring for websites, APIs and EVM infrastructure, paid per call in USDC (x402).",
        "url": _base(paywall), "version": "1",
        "capabilities": {"x402": True, "signedResults": True, "mcp": True},
        "resultSigning": signing_info(paywall),
        "mcp": {"url": mcp["endpoint"], "transport": mcp["transport"], "stdio": mcp["stdio"],
                "tools": [t["name"] for t in mcp["tools"]]},
        "skills": [{"id": p.strip("/").replace("/", "-"), "name": s, "endpoint": p, "method": m.upper()}
                   for p, m, s, _ in PAID],
        "payment": {"protocol": "x402", "networks": [n.caip2 for n in paywall.networks],
                    "payTo": paywall.pay_to, "oneOffCheckAtomic": str(ONE_OFF_CHECK_PRICE_ATOMIC)},
    }


DOCS_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Lighthouse API</title></head>
<body><h1>Lighthouse x402 API</h1><p>Pay per call in USDC with x402. Machine-readable:
<a href="/openapi.json">/openapi.json</a>, <a href="/.well-known/x402">/.well-known/x402</a>,
<a href="/.well-known/agent-card">/.well-known/agent-card</a>,
<a href="/v1/pricing">/v1/pricing</a>. Check results are signed (Ed25519):
<a href="/.well-known/lighthouse-keys.json">/.well-known/lighthouse-keys.json</a>.
MCP (streamable HTTP): <code>/mcp</code>.</p>
<ul><li>GET /v1/check?url=… — one check, 0.001 USDC</li><li>POST /v1/checks — one check of any type</li>
<li>POST /v1/monitors — a monitor (tier × months); returns a management token</li>
<li>GET|DELETE /v1/monitors/{id}, /checks, /uptime, /incidents — Authorization: Bearer &lt;token&gt;</li>
<li>PUT|DELETE /v1/monitors/{id}/maintenance, GET|POST /v1/monitors/{id}/channels,
POST /v1/monitors/{id}/token (heartbeats: a new ping URL)</li>
</ul></body></html>"""


def register(app: web.Application, paywall: Paywall, signer: ResultSigner,
             tools: LighthouseTools | None = None) -> None:
    async def wk(request: web.Request) -> web.Response:
        return web.json_response(well_known(paywall, tools))

    async def oa(request: web.Request) -> web.Response:
        return web.json_response(openapi(paywall, tools))

    async def card(request: web.Request) -> web.Response:
        return web.json_response(agent_card(paywall, tools))

    async def keys(request: web.Request) -> web.Response:
        # Short cache: a rotation must reach verifiers within minutes.
        return web.json_response(SigningKeys.model_validate(signer.document()).model_dump(mode="json"),
                                 headers={"Cache-Control": "public, max-age=300"})

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=DOCS_HTML, content_type="text/html")

    app.router.add_get("/.well-known/x402", wk)
    app.router.add_get("/openapi.json", oa)
    app.router.add_get("/.well-known/openapi.json", oa)
    app.router.add_get("/.well-known/agent-card", card)
    app.router.add_get("/docs", docs)
    app.router.add_get(KEYS_PATH, keys)
