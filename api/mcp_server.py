"""Lighthouse as an MCP server: the API's calls as tools for agents.

Two transports, one server: streamable HTTP at ``/mcp`` on the API's own aiohttp app
(``McpHttp``, through the ASGI bridge in api/asgi.py) and stdio (``lighthouse mcp``,
lighthouse/mcp_cli.py). The official SDK's low-level ``Server`` is used rather than its
decorator layer: the tools' schemas come from the API's own pydantic models
(api/schemas.py), and x402 needs the raw ``_meta`` of each call and of each result.

Paid tools speak x402's MCP transport, tool-result binding (specs/transports-v2/mcp.md in
the x402 repository): an unpaid call answers ``isError`` with the ``PaymentRequired``
object in ``structuredContent`` and as JSON text in ``content[0]``; the payment comes in
``params._meta["x402/payment"]``; the receipt goes out in ``result._meta["x402/payment-
response"]``. The payment itself runs through ``Charger.charge`` (core/payments/charge.py),
the same step as the HTTP paywall. Everything else a tool does is a call to
``MonitorService``, through the helpers the HTTP routes use (api/paid.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import mcp_types as types
from aiohttp import web
from lighthouse.api import paid
from lighthouse.api.asgi import serve_asgi
from lighthouse.api.schemas import (
    CheckBody,
    CheckHistory,
    CheckResultOut,
    CheckUrlArgs,
    Deleted,
    HistoryArgs,
    ManagedArgs,
    MonitorBody,
    MonitorCreated,
    MonitorEnvelope,
    NoArgs,
    OwnerArgs,
    PaymentOut,
    Pricing,
    StatusPageArgs,
    StatusPageCreated,
    StatusPageDeleted,
    StatusPageList,
    StatusPageSlugArgs,
    Uptime,
    tool_input_schema,
    tool_output_schema,
)
from lighthouse.api.x402.paywall import Paywall
from lighthouse.core.errors import LighthouseError, ValidationError
from lighthouse.core.jsonsafe import JSON_MAX_DEPTH, json_depth
from lighthouse.core.payments.charge import Declined, Refused
from lighthouse.core.payments.requirements import Offer, payment_required
from lighthouse.core.payments.verifier import Verified
from lighthouse.core.service import MonitorService
from lighthouse.core.signing import ResultSigner
from lighthouse.core.storage.database import DATA_ERRORS
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
PAYMENT_META = "x402/payment"
RECEIPT_META = "x402/payment-response"
PAID_LABEL = "tools/call"  # the call's name in the payments table (HTTP rows hold the method)
INSTRUCTIONS = (
    "Lighthouse checks websites, APIs and EVM infrastructure. check_url, check and "
    "create_monitor are paid in USDC with x402: call once without payment to get the "
    "PaymentRequired object (isError, structuredContent), sign one of its accepts, and call "
    "again with the PaymentPayload in _meta['x402/payment']; the receipt comes back in "
    "_meta['x402/payment-response']. create_monitor returns a management_token: pass it to "
    "get_monitor, list_checks, uptime and delete_monitor. pricing is free."
)


@dataclass(frozen=True)
class Answer:
    """What a tool produced: its published model, or an error in the API's shape."""

    model: BaseModel | None = None
    error: dict[str, Any] | None = None
    # A signed answer, sent exactly as signed (a round trip through its model could
    # re-render a value the signature covers).
    signed: dict[str, Any] | None = None

    @classmethod
    def failed(cls, exc: LighthouseError) -> Answer:
        return cls(error=exc.to_dict())


def _declined(answer: Answer) -> str | None:
    """Why a paid tool's answer is not charged (recorded on the released payment row)."""
    return None if answer.error is None else f"tool_error_{answer.error['code']}"


Run = Callable[[Any], Awaitable[Answer]]
PaidRun = Callable[[Any, Verified], Awaitable[Answer]]
Fulfil = Callable[[Any, Answer, Verified, int, str], Awaitable[Answer]]
Price = Callable[[Any], tuple[int, str]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    output: type[BaseModel]
    annotations: types.ToolAnnotations
    run: Run | None = None  # free tools
    price: Price | None = None  # paid tools: price, run (before settlement), fulfil (after)
    run_paid: PaidRun | None = None
    fulfil: Fulfil | None = None

    def listing(self) -> types.Tool:
        return types.Tool(name=self.name, description=self.description,
                          input_schema=tool_input_schema(self.args),
                          output_schema=tool_output_schema(self.output), annotations=self.annotations)


_READ = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)
_PROBE = types.ToolAnnotations(read_only_hint=True, open_world_hint=True)


class LighthouseTools:
    """The tools, their listing and their dispatch; transport-free (the server below and
    the tests call ``call`` the same way)."""

    def __init__(self, service: MonitorService, paywall: Paywall, signer: ResultSigner | None = None,
                 worker_id: str = "") -> None:
        self.service = service
        self.paywall = paywall
        self.signer = signer
        self.worker_id = worker_id
        price = "0.001 USDC"
        paid_note = " Paid with x402 (see the server's instructions)."
        self.tools: dict[str, Tool] = {t.name: t for t in (
            Tool("pricing", "Tiers, prices, networks and assets accepted, and how a buyer with "
                 "default client settings pays on each network. Free.", NoArgs, Pricing, _READ,
                 run=self._pricing),
            Tool("check_url", f"Run one HTTP check of a URL now and return the result. {price}."
                 + paid_note, CheckUrlArgs, CheckResultOut, _PROBE,
                 price=lambda a: paid.check_url_price(a.url), run_paid=self._check_url,
                 fulfil=self._sign_paid_check),
            Tool("check", f"Run one check of any registered type (http, tcp, dns, tls, evm_rpc, ...) "
                 f"with its config now and return the result. {price}." + paid_note, CheckBody,
                 CheckResultOut, _PROBE, price=lambda a: paid.check_price(a.type, a.config),
                 run_paid=self._check, fulfil=self._sign_paid_check),
            Tool("create_monitor", "Create a monitor of any check type, paid by tier and months; "
                 "returns the monitor and its management_token." + paid_note, MonitorBody,
                 MonitorCreated, types.ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                                       idempotent_hint=False, open_world_hint=True),
                 price=lambda a: paid.monitor_price(self.service, a),
                 run_paid=self._precheck_monitor, fulfil=self._create_monitor),
            Tool("get_monitor", "Read a monitor bought over the API (management token). Free.",
                 ManagedArgs, MonitorEnvelope, _READ, run=self._get_monitor),
            Tool("list_checks", "A monitor's check history, newest first, paged with before. Free.",
                 HistoryArgs, CheckHistory, _READ, run=self._list_checks),
            Tool("uptime", "A monitor's uptime and latency over 24 h, 7 d, 30 d and 90 d. Free.",
                 ManagedArgs, Uptime, _READ, run=self._uptime),
            Tool("delete_monitor", "Delete a monitor bought over the API (management token). Free.",
                 ManagedArgs, Deleted, types.ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                                             idempotent_hint=True, open_world_hint=False),
                 run=self._delete_monitor),
            Tool("create_status_page", "Publish monitors of the token's owner on a public status "
                 "page (/status/<slug>; a random slug unless one is given). Free.",
                 StatusPageArgs, StatusPageCreated, types.ToolAnnotations(
                     read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                     open_world_hint=False), run=self._create_status_page),
            Tool("list_status_pages", "The status pages of the token's owner. Free.", OwnerArgs,
                 StatusPageList, _READ, run=self._list_status_pages),
            Tool("delete_status_page", "Remove one of the owner's status pages. Free.",
                 StatusPageSlugArgs, StatusPageDeleted, types.ToolAnnotations(
                     read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                     open_world_hint=False), run=self._delete_status_page),
        )}
        self._listing: dict[str, types.Tool] = {}

    # --- listing ------------------------------------------------------------------------
    def listing(self) -> list[types.Tool]:
        if not self._listing:  # the schemas are fixed for the life of the process
            self._listing = {name: t.listing() for name, t in self.tools.items()}
        return list(self._listing.values())

    def is_paid(self, name: str) -> bool:
        tool = self.tools.get(name)
        return tool is not None and tool.price is not None

    def input_schema(self, name: str) -> dict[str, Any] | None:
        self.listing()
        tool = self._listing.get(name)
        return None if tool is None else tool.input_schema

    # --- dispatch -----------------------------------------------------------------------
    async def call(self, name: str, arguments: dict[str, Any] | None,
                   meta: dict[str, Any] | None) -> types.CallToolResult:
        tool = self.tools.get(name)
        if tool is None:
            return _error({"code": "unknown_tool", "message": f"no tool named {name[:64]!r}",
                           "params": {"known": sorted(self.tools)}})
        try:
            args = tool.args.model_validate(arguments or {})
            if not paid.storable(arguments or {}):
                raise ValidationError("an argument holds text with NUL or a lone surrogate, or a "
                                      "number that is NaN or infinite", field="arguments",
                                      reason="unstorable")
            if tool.run is not None:
                return _answer(await tool.run(args))
            return await self._call_paid(tool, args, meta or {})
        except PydanticError as exc:
            return _error(ValidationError(f"invalid arguments: {str(exc)[:300]}", field="arguments",
                                          reason="schema").to_dict())
        except LighthouseError as exc:
            return _error(exc.to_dict())
        except DATA_ERRORS:
            return _error(ValidationError("a value in the arguments is out of range or malformed",
                                          field="arguments", reason="range").to_dict())
        except Exception:
            log.exception("MCP tool failed", extra={"tool": name})
            return _error({"code": "internal_error", "message": "internal error", "params": {}})

    async def _call_paid(self, tool: Tool, args: Any, meta: dict[str, Any]) -> types.CallToolResult:
        assert tool.price is not None and tool.run_paid is not None
        amount, description = tool.price(args)  # refuses a bad request before any payment
        why = self.paywall.unavailable()
        if why is not None:
            return _error({"code": "payments_unavailable", "message": why, "params": {}})
        offers = self.paywall.offers_for_url(f"mcp://tool/{tool.name}", amount, description)
        payment = meta.get(PAYMENT_META)
        if payment is None:
            self.paywall.count("challenged")
            return _challenge(offers, "payment required")
        if not isinstance(payment, dict):
            self.paywall.count("invalid")
            return _challenge(offers, "invalid_payload")
        run_paid, fulfil = tool.run_paid, tool.fulfil
        outcome = await self.paywall.charger.charge(
            offers, payment, version=2, label=PAID_LABEL, run=lambda v: run_paid(args, v),
            declined=_declined, fulfil=None if fulfil is None else (
                lambda answer, v, payment_id, tx: fulfil(args, answer, v, payment_id, tx)))
        if isinstance(outcome, Declined):
            return _answer(outcome.value)
        if isinstance(outcome, Refused):
            meta_out = {RECEIPT_META: outcome.receipt} if outcome.receipt is not None else None
            if outcome.status in (400, 402):
                # The tool-result binding signals every payment problem as PaymentRequired,
                # its error naming the reason: the buyer signs again.
                return _challenge(offers, outcome.reason, meta=meta_out)
            params = dict(outcome.params)
            if outcome.retry_after is not None:
                params["retry_after_s"] = outcome.retry_after
            # Not a PaymentRequired: the payment may be good (503, send the same one again)
            # or already settled (500), and a new one must not be asked for.
            return _error({"code": outcome.reason, "message": outcome.message, "params": params},
                          meta=meta_out)
        return _answer(outcome.value, meta={RECEIPT_META: outcome.receipt})

    # --- the tools ------------------------------------------------------------------------
    async def _pricing(self, args: NoArgs) -> Answer:
        return Answer(paid.pricing(self.paywall))

    async def _probe(self, type_name: str, config: dict[str, Any]) -> Answer:
        try:
            return Answer(await paid.check_once(self.service, type_name, config, self.worker_id))
        except LighthouseError as exc:  # e.g. the guard refused the target: not charged
            return Answer.failed(exc)

    async def _check_url(self, args: CheckUrlArgs, v: Verified) -> Answer:
        return await self._probe("http", {"url": args.url})

    async def _check(self, args: CheckBody, v: Verified) -> Answer:
        return await self._probe(args.type, args.config)

    async def _precheck_monitor(self, args: MonitorBody, v: Verified) -> Answer:
        try:
            await paid.precheck_monitor(self.service, v.auth.from_, type=args.type, config=args.config,
                                        tier_name=args.tier, interval_s=args.interval_s,
                                        name=args.name, language=args.language)
        except LighthouseError as exc:
            return Answer.failed(exc)
        return Answer()

    async def _sign_paid_check(self, args: Any, answer: Answer, v: Verified, payment_id: int,
                               tx: str) -> Answer:
        """As over HTTP: the result signed with the transaction that paid for it."""
        if self.signer is None or not isinstance(answer.model, CheckResultOut):
            return answer
        return Answer(signed=paid.signed_check(self.signer, answer.model, PaymentOut(
            transaction=tx, network=v.offer.network.caip2)))

    async def _create_monitor(self, args: MonitorBody, answer: Answer, v: Verified, payment_id: int,
                              tx: str) -> Answer:
        return Answer(await paid.create_monitor_answer(self.service, args, v, payment_id, tx,
                                                       self.paywall.public_base_url))

    async def _get_monitor(self, args: ManagedArgs) -> Answer:
        m = await self.service.get_monitor(paid.manager(args.management_token), args.id)
        return Answer(MonitorEnvelope(monitor=paid.monitor_out(m)))

    async def _list_checks(self, args: HistoryArgs) -> Answer:
        m = await self.service.get_monitor(paid.manager(args.management_token), args.id)
        try:
            before = args.before.astimezone(UTC) if args.before is not None else None
        except OverflowError:
            raise ValidationError("before is out of range", field="before", reason="range") from None
        return Answer(signed=await paid.history(self.service, m, limit=args.limit, before=before,
                                                signer=self.signer))

    async def _uptime(self, args: ManagedArgs) -> Answer:
        m = await self.service.get_monitor(paid.manager(args.management_token), args.id)
        return Answer(await paid.uptime(self.service, m))

    async def _delete_monitor(self, args: ManagedArgs) -> Answer:
        m = await self.service.remove(paid.manager(args.management_token), args.id)
        return Answer(Deleted(deleted=str(m.public_id)))

    # --- status pages: the same service calls as /v1/status-pages ---------------------------
    async def _create_status_page(self, args: StatusPageArgs) -> Answer:
        page = await self.service.create_status_page(
            paid.manager(args.management_token), slug=args.slug, title=args.title,
            monitors=args.monitors)
        return Answer(StatusPageCreated(status_page=paid.status_page_out(
            page, self.paywall.public_base_url)))

    async def _list_status_pages(self, args: OwnerArgs) -> Answer:
        pages = await self.service.list_status_pages(paid.manager(args.management_token))
        return Answer(StatusPageList(status_pages=[
            paid.status_page_out(p, self.paywall.public_base_url) for p in pages]))

    async def _delete_status_page(self, args: StatusPageSlugArgs) -> Answer:
        await self.service.remove_status_page(paid.manager(args.management_token), args.slug)
        return Answer(StatusPageDeleted(deleted=args.slug))


Meta = dict[str, Any] | None


def _result(payload: dict[str, Any], *, error: bool, meta: Meta = None) -> types.CallToolResult:
    # structuredContent for clients that read it, the same JSON as text for those that do not.
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(payload, separators=(",", ":"), ensure_ascii=False))],
        structured_content=payload, is_error=error, meta=meta)


def _error(error: dict[str, Any], *, meta: Meta = None) -> types.CallToolResult:
    return _result({"error": error}, error=True, meta=meta)


def _answer(answer: Answer, *, meta: Meta = None) -> types.CallToolResult:
    if answer.error is not None:
        return _error(answer.error, meta=meta)
    if answer.signed is not None:
        return _result(answer.signed, error=False, meta=meta)
    assert answer.model is not None
    return _result(answer.model.model_dump(mode="json"), error=False, meta=meta)


def _challenge(offers: list[Offer], error: str, *, meta: Meta = None) -> types.CallToolResult:
    v2, _ = payment_required(offers, error)
    return _result(v2, error=True, meta=meta)


def build_server(tools: LighthouseTools, version: str = "1") -> Server[Any]:
    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools.listing())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await tools.call(params.name, params.arguments, dict(params.meta or {}))

    server: Server[Any] = Server("lighthouse", version=version, instructions=INSTRUCTIONS,
                                 on_list_tools=list_tools, on_call_tool=call_tool,
                                 get_tool_input_schema=tools.input_schema)
    # The SDK's default middleware opens an OpenTelemetry span per message; nothing here
    # exports spans, so it would be work on every paid call for nothing.
    server.middleware = []
    return server


def _security(public_base_url: str) -> TransportSecuritySettings:
    """DNS-rebinding protection: the Host must be the public one or loopback, and a browser
    Origin (absent for agents) must be one of them too."""
    public = urlsplit(public_base_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if public.netloc:
        hosts.append(public.netloc)
        origins.append(f"{public.scheme}://{public.netloc}")
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=origins)


class McpHttp:
    """``/mcp`` on the API's aiohttp app: the SDK's streamable HTTP transport, stateless with
    JSON answers. Stateless because a session kept in one process's memory would break
    behind a load balancer over several API processes (PostgreSQL is what they share);
    JSON because no tool streams or calls back to the client."""

    def __init__(self, tools: LighthouseTools, public_base_url: str) -> None:
        self.tools = tools
        self.public_base_url = public_base_url
        self._manager: StreamableHTTPSessionManager | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def register(self, app: web.Application) -> None:
        app.router.add_route("*", MCP_PATH, self.handle)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._close)

    async def _start(self, _app: web.Application) -> None:
        # The manager is single-use and runs inside an anyio task group, which must be left
        # by the task that entered it: it gets a task of its own for the app's lifetime.
        manager = StreamableHTTPSessionManager(
            build_server(self.tools), json_response=True, stateless=True,
            security_settings=_security(self.public_base_url))
        started = asyncio.Event()

        async def run() -> None:
            async with manager.run():
                started.set()
                await self._stop.wait()

        self._stop.clear()
        self._task = asyncio.create_task(run(), name="mcp-http")
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._task.done():
            self._task.result()  # raises what stopped it
        self._manager = manager

    async def _close(self, _app: web.Application) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._manager = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._manager is None:
            raise web.HTTPServiceUnavailable(reason="MCP not started")
        body = await request.read()  # bounded by the app's client_max_size (413 past it)
        if json_depth(body) > JSON_MAX_DEPTH:
            # The SDK parses the body itself; a body nested this deep is refused first, as
            # every other JSON from outside is (core/jsonsafe.py).
            return web.json_response({"jsonrpc": "2.0", "id": None, "error": {
                "code": -32700, "message": f"JSON nested deeper than {JSON_MAX_DEPTH} levels"}},
                status=400)
        return await serve_asgi(self._manager.handle_request, request, body)
