"""The /v1 routes: pricing (free), paid one-off checks and paid monitors, token-managed reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from lighthouse.api import paid
from lighthouse.api.paid import channel_out, monitor_out, storable
from lighthouse.api.schemas import (
    ChannelCreated,
    ChannelDeleted,
    ChannelIn,
    ChannelList,
    CheckBody,
    Deleted,
    IncidentOut,
    Incidents,
    MaintenanceBody,
    MonitorBody,
    MonitorEnvelope,
    PaymentOut,
    PingUrl,
    StatusPageBody,
    StatusPageCreated,
    StatusPageDeleted,
    StatusPageList,
    StatusPageOut,
    SubscribeBody,
    Subscription,
    Uptime,
    UptimeWindowOut,
)
from lighthouse.api.x402.paywall import FINALIZE_KEY, PAID_KEY, Paywall
from lighthouse.core.checks.base import CheckResult
from lighthouse.core.errors import ChannelNotFoundError, UnauthorizedError, ValidationError
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.models import Identity, Monitor, Provider
from lighthouse.core.payments.verifier import Verified
from lighthouse.core.service import MonitorService
from lighthouse.core.service.monitors import MAX_INCIDENTS
from lighthouse.core.service.status_pages import StatusPage
from lighthouse.core.signing import ResultSigner
from lighthouse.core.streams import read_body
from lighthouse.core.tiers import (
    tier,
)
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

MAX_BODY = 64 * 1024
MAX_PAGE = 1000  # rows of history per page (MonitorService.history_of refuses more)
_DIGITS = re.compile(r"[0-9]{1,4}")
_CHANNEL_ID = re.compile(r"[0-9]{1,19}")
MAX_BIGINT = 2**63 - 1
RAW_KEY: web.RequestKey[bytes] = web.RequestKey("lh_raw_body", bytes)
BODY_KEY: web.RequestKey[BaseModel] = web.RequestKey("lh_json_body", BaseModel)


async def read_json(request: web.Request, model: type[BaseModel]) -> Any:
    cached = request.get(BODY_KEY)
    if cached is not None and isinstance(cached, model):
        return cached
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ValidationError("body too large", field="body", reason="size")
    if RAW_KEY not in request:
        raw, truncated = await read_body(request.content, MAX_BODY)
        if truncated:
            raise ValidationError("body too large", field="body", reason="size")
        request[RAW_KEY] = raw
    raw = request[RAW_KEY]
    try:
        data = safe_json_loads(raw or b"null")
        body = model.model_validate(data)
    except (ValueError, PydanticError) as exc:
        raise ValidationError(f"invalid JSON body: {str(exc)[:300]}", field="body", reason="json") from exc
    if not storable(data):
        # Refused before payment: PostgreSQL would refuse it when the paid monitor is stored.
        raise ValidationError("the body holds text with NUL or a lone surrogate, or a number "
                              "that is NaN or infinite", field="body", reason="unstorable")
    request[BODY_KEY] = body
    return body


def _limit(text: str, most: int = MAX_PAGE) -> int:
    # ASCII digits only: int() also reads " 5", "1_0" and other scripts' digits, and gives up
    # past 4300 digits with a ValueError of its own.
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= most:
        raise ValidationError(f"limit must be an integer from 1 to {most}", field="limit",
                              reason="range", min=1, max=most)
    return int(text)


def _before(text: str) -> datetime:
    """An RFC 3339 instant with its offset, as UTC.

    A naive time names no instant (asyncpg would silently take it as UTC); one whose UTC
    value leaves years 1..9999 (0001-01-01T00:00:00+14:00) cannot be sent to PostgreSQL.
    """
    try:
        value = datetime.fromisoformat(text) if len(text) <= 64 else None
    except ValueError:
        value = None
    if value is None:
        raise ValidationError("before must be an RFC 3339 date-time", field="before", reason="type")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("before needs a UTC offset (Z or +hh:mm)", field="before", reason="timezone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError("before is out of range", field="before", reason="range") from None


def answer(model: BaseModel, status: int = 200) -> web.Response:
    """A response from its published model (api/schemas.py), so it matches /openapi.json."""
    return web.json_response(model.model_dump(mode="json"), status=status)




class V1:
    def __init__(self, service: MonitorService, paywall: Paywall, signer: ResultSigner,
                 worker_id: str) -> None:
        self.service = service
        self.paywall = paywall
        self.signer = signer
        self.worker_id = worker_id

    def register(self, app: web.Application) -> None:
        app.router.add_get("/v1/pricing", self.pricing)
        app.router.add_get("/v1/check", self.check_get)
        app.router.add_post("/v1/checks", self.check_post)
        app.router.add_post("/v1/monitors", self.create_monitor)
        app.router.add_post("/subscribe", self.subscribe)
        app.router.add_get("/v1/monitors/{id}", self.get_monitor)
        app.router.add_get("/v1/monitors/{id}/checks", self.get_checks)
        app.router.add_get("/v1/monitors/{id}/uptime", self.get_uptime)
        app.router.add_delete("/v1/monitors/{id}", self.delete_monitor)
        app.router.add_post("/v1/monitors/{id}/token", self.rotate_token)
        app.router.add_put("/v1/monitors/{id}/maintenance", self.start_maintenance)
        app.router.add_delete("/v1/monitors/{id}/maintenance", self.end_maintenance)
        app.router.add_get("/v1/monitors/{id}/incidents", self.get_incidents)
        app.router.add_get("/v1/monitors/{id}/channels", self.get_channels)
        app.router.add_post("/v1/monitors/{id}/channels", self.add_channel)
        app.router.add_delete("/v1/monitors/{id}/channels/{channel_id}", self.delete_channel)
        app.router.add_post("/v1/status-pages", self.create_status_page)
        app.router.add_get("/v1/status-pages", self.list_status_pages)
        app.router.add_delete("/v1/status-pages/{slug}", self.delete_status_page)
        self.paywall.paid("GET", "/v1/check", self.price_check_get)
        self.paywall.paid("POST", "/v1/checks", self.price_check_post)
        self.paywall.paid("POST", "/v1/monitors", self.price_monitor)
        self.paywall.paid("POST", "/subscribe", self.price_subscribe)

    # --- pricing -----------------------------------------------------------------
    async def pricing(self, request: web.Request) -> web.Response:
        return answer(paid.pricing(self.paywall))

    async def price_check_get(self, request: web.Request) -> tuple[int, str]:
        return paid.check_url_price(request.query.get("url"))

    async def price_check_post(self, request: web.Request) -> tuple[int, str]:
        body: CheckBody = await read_json(request, CheckBody)
        return paid.check_price(body.type, body.config)

    async def price_monitor(self, request: web.Request) -> tuple[int, str]:
        return paid.monitor_price(self.service, await read_json(request, MonitorBody))

    async def price_subscribe(self, request: web.Request) -> tuple[int, str]:
        body: SubscribeBody = await read_json(request, SubscribeBody)
        t = paid.paid_tier(body.tier)
        paid.check_input(self.service, body.target_type, body.target_config, body.alert_channels)
        return tier(t).price_atomic_per_month, f"{t.value} subscription, 30 days"

    # --- one-off checks ------------------------------------------------------------
    async def check_get(self, request: web.Request) -> web.Response:
        config = {"url": request.query["url"]}
        result = await self.service.check_once("http", config)
        return self._signed_result(request, "http", config, result)

    async def check_post(self, request: web.Request) -> web.Response:
        body: CheckBody = await read_json(request, CheckBody)
        result = await self.service.check_once(body.type, body.config)
        return self._signed_result(request, body.type, body.config, result)

    def _signed_result(self, request: web.Request, type_name: str, config: dict[str, Any],
                       result: CheckResult) -> web.Response:
        """The result signed together with the payment that bought it. The transaction
        exists only once the paywall has settled, after this handler: the signed answer
        is therefore made by the paywall's finalizer (api/x402/paywall.py)."""
        out = paid.check_out(result, type_name, config, self.worker_id)

        def signed(payment: PaymentOut | None) -> web.Response:
            return web.json_response(paid.signed_check(self.signer, out, payment))

        if PAID_KEY not in request:
            return signed(None)

        async def finalize(v: Verified, payment_id: int, tx: str) -> web.Response:
            return signed(PaymentOut(transaction=tx, network=v.offer.network.caip2))

        request[FINALIZE_KEY] = finalize
        return web.json_response({"status": "accepted"}, status=202)

    # --- monitors --------------------------------------------------------------------
    def _ping_url(self, token: str) -> str:
        return paid.ping_url(self.paywall.public_base_url, token)

    async def _precheck(self, request: web.Request, *, type: str, config: dict[str, Any],
                        tier_name: str, interval_s: int | None, name: str | None = None,
                        language: str | None = None) -> None:
        await paid.precheck_monitor(self.service, request[PAID_KEY].auth.from_, type=type,
                                    config=config, tier_name=tier_name, interval_s=interval_s,
                                    name=name, language=language)

    async def create_monitor(self, request: web.Request) -> web.Response:
        body: MonitorBody = await read_json(request, MonitorBody)
        await self._precheck(request, type=body.type, config=body.config, tier_name=body.tier,
                             interval_s=body.interval_s, name=body.name, language=body.language)

        async def finalize(v: Verified, payment_id: int, tx: str) -> web.Response:
            return answer(await paid.create_monitor_answer(
                self.service, body, v, payment_id, tx, self.paywall.public_base_url), status=201)

        request[FINALIZE_KEY] = finalize
        return web.json_response({"status": "accepted"}, status=202)

    async def subscribe(self, request: web.Request) -> web.Response:
        body: SubscribeBody = await read_json(request, SubscribeBody)
        await self._precheck(request, type=body.target_type, config=body.target_config,
                             tier_name=body.tier, interval_s=None)

        async def finalize(v: Verified, payment_id: int, tx: str) -> web.Response:
            made = await paid.create_paid_monitor(
                self.service, v, payment_id, self.paywall.public_base_url, type=body.target_type,
                config=body.target_config, tier_name=body.tier, months=1, name=None,
                interval_s=None, language=None, channels=body.alert_channels)
            m = made.monitor
            return answer(Subscription(
                subscription_id=str(m.public_id), status="active", next_check_at=m.next_due,
                check_frequency=m.interval_s, payment_tx=tx, payment_chain=v.offer.network.caip2,
                management_token=made.token, ping_url=made.ping_url,
                alert_channels=made.channels), status=201)

        request[FINALIZE_KEY] = finalize
        return web.json_response({"status": "accepted"}, status=202)

    @staticmethod
    def _manager(request: web.Request) -> Identity:
        """The management token as the identity that reaches exactly its monitor; a wrong
        token or id reads as 404 from the service, so ids cannot be probed."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) > 200:
            raise UnauthorizedError("management token required (Authorization: Bearer …)")
        return Identity(Provider.TOKEN, auth[7:].strip())

    async def _authorized(self, request: web.Request) -> Monitor:
        return await self.service.get_monitor(self._manager(request), request.match_info["id"])

    async def get_monitor(self, request: web.Request) -> web.Response:
        m = await self._authorized(request)
        return answer(MonitorEnvelope(monitor=monitor_out(m)))

    async def get_checks(self, request: web.Request) -> web.Response:
        m = await self._authorized(request)
        limit = _limit(request.query.get("limit", "50"))
        before = _before(request.query["before"]) if "before" in request.query else None
        body = await paid.history(self.service, m, limit=limit, before=before, signer=self.signer)
        return web.json_response(body)

    async def get_uptime(self, request: web.Request) -> web.Response:
        m = await self._authorized(request)
        windows = await self.service.uptime_of(m)
        return answer(Uptime(uptime=[
            UptimeWindowOut(period=w.period, checks=w.checks, ok_checks=w.ok_checks, uptime=w.uptime,
                            avg_latency_ms=w.avg_latency_ms, p95_latency_ms=w.p95_latency_ms)
            for w in windows]))

    async def delete_monitor(self, request: web.Request) -> web.Response:
        m = await self.service.remove(self._manager(request), request.match_info["id"])
        return answer(Deleted(deleted=str(m.public_id)))

    # --- heartbeats, maintenance, incidents (management token) --------------------------
    async def rotate_token(self, request: web.Request) -> web.Response:
        m, token = await self.service.rotate_heartbeat_token(self._manager(request),
                                                             request.match_info["id"])
        return answer(PingUrl(monitor_id=str(m.public_id), ping_url=self._ping_url(token)))

    async def start_maintenance(self, request: web.Request) -> web.Response:
        body: MaintenanceBody = await read_json(request, MaintenanceBody)
        m = await self.service.set_maintenance(self._manager(request), request.match_info["id"],
                                               body.until)
        return answer(MonitorEnvelope(monitor=monitor_out(m)))

    async def end_maintenance(self, request: web.Request) -> web.Response:
        m = await self.service.set_maintenance(self._manager(request), request.match_info["id"], None)
        return answer(MonitorEnvelope(monitor=monitor_out(m)))

    async def get_incidents(self, request: web.Request) -> web.Response:
        limit = _limit(request.query.get("limit", "50"), MAX_INCIDENTS)
        found = await self.service.incidents(self._manager(request), request.match_info["id"],
                                             limit=limit)
        return answer(Incidents(incidents=[
            IncidentOut(id=i.id, started_at=i.started_at, ended_at=i.ended_at,
                        end_reason=i.end_reason,
                        duration_s=round(i.duration.total_seconds(), 3),
                        first_error_code=i.first_error_code, first_error=i.first_error,
                        checks_failed=i.checks_failed)
            for i in found]))

    # --- alert channels of a monitor (management token) ---------------------------------
    async def get_channels(self, request: web.Request) -> web.Response:
        rows = await self.service.monitor_channels(self._manager(request), request.match_info["id"])
        return answer(ChannelList(channels=[channel_out(r) for r in rows]))

    async def add_channel(self, request: web.Request) -> web.Response:
        who, ref = self._manager(request), request.match_info["id"]
        body: ChannelIn = await read_json(request, ChannelIn)
        channel_id = await self.service.add_channel(who, body.channel_kind, body.config,
                                                    monitor_ref=ref, language=body.language,
                                                    min_severity=body.min_severity)
        [row] = [r for r in await self.service.monitor_channels(who, ref) if r["id"] == channel_id]
        return answer(ChannelCreated(channel=channel_out(row)), status=201)

    async def delete_channel(self, request: web.Request) -> web.Response:
        who, ref = self._manager(request), request.match_info["id"]
        channel_id = _channel_id(request.match_info["channel_id"])
        await self.service.remove_monitor_channel(who, ref, channel_id)
        return answer(ChannelDeleted(deleted=channel_id))


    # --- status pages (management token: the pages of the token's monitor's owner) -----------
    def _page_out(self, page: StatusPage) -> StatusPageOut:
        return paid.status_page_out(page, self.paywall.public_base_url)

    async def create_status_page(self, request: web.Request) -> web.Response:
        who = self._manager(request)
        body: StatusPageBody = await read_json(request, StatusPageBody)
        page = await self.service.create_status_page(who, slug=body.slug, title=body.title,
                                                     monitors=body.monitors)
        return answer(StatusPageCreated(status_page=self._page_out(page)), status=201)

    async def list_status_pages(self, request: web.Request) -> web.Response:
        pages = await self.service.list_status_pages(self._manager(request))
        return answer(StatusPageList(status_pages=[self._page_out(p) for p in pages]))

    async def delete_status_page(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        await self.service.remove_status_page(self._manager(request), slug)
        return answer(StatusPageDeleted(deleted=slug))


def _channel_id(text: str) -> int:
    # Not a channel id is no channel, the same 404 as another monitor's channel.
    if not _CHANNEL_ID.fullmatch(text) or int(text) > MAX_BIGINT:
        raise ChannelNotFoundError("no such alert channel on this monitor", channel=text[:40])
    return int(text)
