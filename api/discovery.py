"""Discovery: /.well-known/x402, /openapi.json (+ /.well-known/openapi.json), /docs, agent card."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from lighthouse.api.x402.paywall import Paywall
from lighthouse.core.checks import config_schemas
from lighthouse.core.tiers import ONE_OFF_CHECK_PRICE_ATOMIC, TIERS

PAID = [
    ("/v1/check", "get", "One-off HTTP check of ?url=", "fixed"),
    ("/v1/checks", "post", "One-off check of any registered type", "fixed"),
    ("/v1/monitors", "post", "Create a monitor paid by tier and months", "dynamic"),
    ("/subscribe", "post", "Seed alias of POST /v1/monitors", "dynamic"),
]


def _base(paywall: Paywall) -> str:
    return paywall.public_base_url.rstrip("/")


def well_known(paywall: Paywall) -> dict[str, Any]:
    base = _base(paywall)
    return {
        "version": 1,
        "resources": [base + path for path, *_ in PAID],
        "routes": [{"endpoint": path, "method": method.upper(), "x402_version": 2}
                   for path, method, *_ in PAID],
        "ownershipProofs": [],
    }


def openapi(paywall: Paywall) -> dict[str, Any]:
    prices = sorted(t.price_atomic_per_month for t in TIERS.values() if t.price_atomic_per_month)
    paths: dict[str, Any] = {}
    for path, method, summary, mode in PAID:
        info: dict[str, Any] = {"protocols": ["x402"], "price": {"mode": mode, "currency": "USDC"}}
        if mode == "fixed":
            info["price"]["amount"] = str(ONE_OFF_CHECK_PRICE_ATOMIC)
        else:
            info["price"].update({"min": str(prices[0]), "max": str(prices[-1] * 12)})
        paths.setdefault(path, {})[method] = {
            "summary": summary, "x-payment-info": info,
            "responses": {"200": {"description": "Paid result"},
                          "402": {"description": "Payment required (PAYMENT-REQUIRED header)"},
                          "400": {"description": "Malformed request or payment"}},
        }
    paths["/v1/pricing"] = {"get": {"summary": "Tiers and prices",
                                    "responses": {"200": {"description": "ok"}}}}
    for sub in ("", "/checks", "/uptime"):
        paths[f"/v1/monitors/{{id}}{sub}"] = {"get": {
            "summary": "Read with the management token (Authorization: Bearer)",
            "responses": {"200": {"description": "ok"}, "401": {"description": "no token"}}}}
    paths["/v1/monitors/{id}"]["delete"] = {"summary": "Delete with the management token",
                                            "responses": {"200": {"description": "deleted"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lighthouse x402 API", "version": "1"},
        "servers": [{"url": _base(paywall)}],
        "paths": paths,
        "components": {"schemas": {f"{k}Config": v for k, v in config_schemas().items()}},
        "x-discovery": {"ownershipProofs": []},
    }


def agent_card(paywall: Paywall) -> dict[str, Any]:
    return {
        "name": "Lighthouse",
        "description": "Monitoring for websites, APIs and EVM infrastructure, paid per call in USDC (x402).",
        "url": _base(paywall), "version": "1",
        "capabilities": {"x402": True},
        "skills": [{"id": p.strip("/").replace("/", "-"), "name": s, "endpoint": p, "method": m.upper()}
                   for p, m, s, _ in PAID],
        "payment": {"protocol": "x402", "networks": [n.caip2 for n in paywall.networks],
                    "payTo": paywall.pay_to, "oneOffCheckAtomic": str(ONE_OFF_CHECK_PRICE_ATOMIC)},
    }


DOCS_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Lighthouse API</title></head>
<body><h1>Lighthouse x402 API</h1><p>Pay per call in USDC with x402. Machine-readable:
<a href="/openapi.json">/openapi.json</a>, <a href="/.well-known/x402">/.well-known/x402</a>,
<a href="/.well-known/agent-card">/.well-known/agent-card</a>,
<a href="/v1/pricing">/v1/pricing</a>.</p>
<ul><li>GET /v1/check?url=… — one check, 0.001 USDC</li><li>POST /v1/checks — one check of any type</li>
<li>POST /v1/monitors — a monitor (tier × months); returns a management token</li>
<li>GET|DELETE /v1/monitors/{id}, /checks, /uptime — Authorization: Bearer &lt;token&gt;</li>
</ul></body></html>"""


def register(app: web.Application, paywall: Paywall) -> None:
    async def wk(request: web.Request) -> web.Response:
        return web.json_response(well_known(paywall))

    async def oa(request: web.Request) -> web.Response:
        return web.json_response(openapi(paywall))

    async def card(request: web.Request) -> web.Response:
        return web.json_response(agent_card(paywall))

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=DOCS_HTML, content_type="text/html")

    app.router.add_get("/.well-known/x402", wk)
    app.router.add_get("/openapi.json", oa)
    app.router.add_get("/.well-known/openapi.json", oa)
    app.router.add_get("/.well-known/agent-card", card)
    app.router.add_get("/docs", docs)
