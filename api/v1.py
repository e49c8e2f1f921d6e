"""The /v1 routes: pricing (free), paid one-off checks and paid monitors, token-managed reads."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from lighthouse.api.heartbeat import ping_path
from lighthouse.api.schemas import (
    ChannelCreated,
    ChannelDeleted,
    ChannelIn,
    ChannelList,
    ChannelOut,
    CheckBody,
    CheckHistory,
    CheckRecordOut,
    CheckResultOut,
    Deleted,
    IncidentOut,
    Incidents,
    MaintenanceBody,
    MonitorBody,
    MonitorCreated,
    MonitorEnvelope,
    MonitorOut,
    NetworkOut,
    PaymentOut,
    PingUrl,
    Pricing,
    SubscribeBody,
    Subscription,
    TierOut,
    Uptime,
    UptimeWindowOut,
)
from lighthouse.api.x402.paywall import FINALIZE_KEY, PAID_KEY, Paywall
from lighthouse.core.checks import heartbeat, parse_config, target_label
from lighthouse.core.checks.base import CheckResult
from lighthouse.core.errors import ChannelNotFoundError, UnauthorizedError, ValidationError
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.models import Identity, Monitor, Provider
from lighthouse.core.payments.verifier import Verified
from lighthouse.core.service import MonitorService, Purchase
from lighthouse.core.service.monitors import MAX_INCIDENTS
from lighthouse.core.signing import CHECK_FIELDS, HISTORY_FIELDS, ResultSigner
from lighthouse.core.streams import read_body
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import (
    ONE_OFF_CHECK_PRICE_ATOMIC,
    TIERS,
    TierName,
    tier,
)
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

MAX_BODY = 64 * 1024
MAX_PAGE = 1000  # rows of history per page (MonitorService.history_of refuses more)
_DIGITS = re.compile(r"[0-9]{1,4}")
_CHANNEL_ID = re.compile(r"[0-9]{1,19}")
MAX_BIGINT = 2**63 - 1
PERIOD_DAYS = 30
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
    if not _storable(data):
        # Refused before payment: PostgreSQL would refuse it when the paid monitor is stored.
        raise ValidationError("the body holds text with NUL or a lone surrogate, or a number "
                              "that is NaN or infinite", field="body", reason="unstorable")
    request[BODY_KEY] = body
    return body


def _storable(value: Any) -> bool:
    """Whether PostgreSQL text/jsonb can hold every string and number in a JSON value."""
    if isinstance(value, str):
        return clean_text(value) is value
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _paid_tier(name: str) -> TierName:
    try:
        t = TierName(name)
    except ValueError as exc:
        raise ValidationError("unknown tier", field="tier", reason="choice") from exc
    if tier(t).price_atomic_per_month <= 0:
        raise ValidationError("the free tier is not sold over the API", field="tier", reason="choice")
    return t


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


def monitor_out(m: Monitor) -> MonitorOut:
    return MonitorOut(
        id=str(m.public_id), name=m.name, type=m.type, config=m.config, interval_s=m.interval_s,
        tier=m.tier, state=m.state.value, created_at=m.created_at, next_due=m.next_due,
        expires_at=m.expires_at, last_check_at=m.last_check_at, last_ok=m.last_ok,
        last_latency_ms=m.last_latency_ms, last_error=m.last_error,
        maintenance_until=m.maintenance_until,
    )


def answer(model: BaseModel, status: int = 200) -> web.Response:
    """A response from its published model (api/schemas.py), so it matches /openapi.json."""
    return web.json_response(model.model_dump(mode="json"), status=status)


# History pages longer than this are signed in a worker thread (about 0.1 ms each),
# so a page of 1000 does not hold the event loop.
SIGN_INLINE_MAX = 64


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
        self.paywall.paid("GET", "/v1/check", self.price_check_get)
        self.paywall.paid("POST", "/v1/checks", self.price_check_post)
        self.paywall.paid("POST", "/v1/monitors", self.price_monitor)
        self.paywall.paid("POST", "/subscribe", self.price_subscribe)

    # --- pricing -----------------------------------------------------------------
    async def pricing(self, request: web.Request) -> web.Response:
        return answer(Pricing(
            currency="USDC", decimals=6, period_days=PERIOD_DAYS,
            tiers=[TierOut(name=t.name.value, price_atomic_per_month=str(t.price_atomic_per_month),
                           interval_s=t.interval_s, max_monitors=t.max_monitors,
                           retention_days=t.retention_days) for t in TIERS.values()],
            one_off_check_atomic=str(ONE_OFF_CHECK_PRICE_ATOMIC),
            networks=[NetworkOut(network=n.caip2, asset=n.asset) for n in self.paywall.networks],
            pay_to=self.paywall.pay_to,
        ))

    async def price_check_get(self, request: web.Request) -> tuple[int, str]:
        url = request.query.get("url")
        if not url or len(url) > 2048:
            raise ValidationError("query parameter url is required", field="url", reason="required")
        parse_config("http", {"url": url})
        return ONE_OFF_CHECK_PRICE_ATOMIC, "One HTTP check of a URL, result returned at once"

    async def price_check_post(self, request: web.Request) -> tuple[int, str]:
        body: CheckBody = await read_json(request, CheckBody)
        parse_config(body.type, body.config)
        return ONE_OFF_CHECK_PRICE_ATOMIC, f"One {body.type} check, result returned at once"

    async def price_monitor(self, request: web.Request) -> tuple[int, str]:
        body: MonitorBody = await read_json(request, MonitorBody)
        t = _paid_tier(body.tier)
        self._check_input(body.type, body.config, body.alert_channels)
        return tier(t).price_atomic_per_month * body.months, f"{t.value} monitor, {body.months} x 30 days"

    async def price_subscribe(self, request: web.Request) -> tuple[int, str]:
        body: SubscribeBody = await read_json(request, SubscribeBody)
        t = _paid_tier(body.tier)
        self._check_input(body.target_type, body.target_config, body.alert_channels)
        return tier(t).price_atomic_per_month, f"{t.value} subscription, 30 days"

    def _check_input(self, type: str, config: dict[str, Any], channels: list[ChannelIn]) -> None:
        """What can be judged before the buyer signs anything (no payer yet): the config by
        its type's model, each alert channel by the service's own rules (untrusted: no
        chat-only kinds). The payer's limits come after, still before settlement."""
        parse_config(type, heartbeat.draft_config(config) if type == "heartbeat" else config)
        for ch in channels:
            self.service.validate_channel(ch.channel_kind, ch.config, language=ch.language,
                                          min_severity=ch.min_severity)

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
        out = CheckResultOut(**result.to_dict(), request_id=str(uuid.uuid4()), type=type_name,
                             target=target_label(type_name, config),
                             conditions=result.details.get("conditions", []),
                             checked_at=datetime.now(UTC), worker_id=self.worker_id)

        def signed(payment: PaymentOut | None) -> web.Response:
            body = out.model_copy(update={"payment": payment}).model_dump(mode="json")
            return web.json_response(self.signer.sign(body, CHECK_FIELDS))

        if PAID_KEY not in request:
            return signed(None)

        async def finalize(v: Verified, payment_id: int, tx: str) -> web.Response:
            return signed(PaymentOut(transaction=tx, network=v.offer.network.caip2))

        request[FINALIZE_KEY] = finalize
        return web.json_response({"status": "accepted"}, status=202)

    # --- monitors --------------------------------------------------------------------
    async def _create(self, v: Verified, payment_id: int, *, type: str, config: dict[str, Any],
                      tier_name: str, months: int, name: str | None, interval_s: int | None,
                      language: str | None, channels: list[ChannelIn]) -> Created:
        """The paid monitor, its tier period (stored together, or neither), its token, its
        ping URL (heartbeats) and alert channels. Raising here after settlement makes the
        payment a refund (api/x402/paywall.py), so a monitor already stored is removed
        first: it must not outlive its refund."""
        who = Identity(Provider.WALLET, v.auth.from_)
        purchase = Purchase(tier_name, timedelta(days=PERIOD_DAYS * months))
        ping: str | None = None
        if type == "heartbeat":
            m, ping_token = await self.service.create_heartbeat(
                who, config=config, name=name, interval_s=interval_s, language=language,
                purchase=purchase)
            ping = self._ping_url(ping_token)
        else:
            m = await self.service.create_monitor(who, config=config, type=type, name=name,
                                                  interval_s=interval_s, language=language,
                                                  purchase=purchase)
        try:
            token = await self.service.issue_management_token(m, payment_id)
            ref = str(m.public_id)
            for ch in channels:
                await self.service.add_channel(who, ch.channel_kind, ch.config, monitor_ref=ref,
                                               language=ch.language, min_severity=ch.min_severity)
            shown = await self.service.monitor_channels(who, ref) if channels else []
        except BaseException:
            with contextlib.suppress(Exception):
                await self.service.remove(who, str(m.public_id))
            raise
        return Created(m, token, ping, [channel_out(c) for c in shown])

    def _ping_url(self, token: str) -> str:
        return self.paywall.public_base_url.rstrip("/") + ping_path(token)

    async def _precheck(self, request: web.Request, *, type: str, config: dict[str, Any],
                        tier_name: str, interval_s: int | None, name: str | None = None,
                        language: str | None = None) -> None:
        """Refuse before settlement what creation would refuse after it (nothing is charged):
        the service's own rules, judged with the tier being bought."""
        payer = request[PAID_KEY].auth.from_
        await self.service.validate_monitor(
            Identity(Provider.WALLET, payer), type=type, config=config, name=name,
            interval_s=interval_s, language=language, tier_name=tier_name)

    async def create_monitor(self, request: web.Request) -> web.Response:
        body: MonitorBody = await read_json(request, MonitorBody)
        await self._precheck(request, type=body.type, config=body.config, tier_name=body.tier,
                             interval_s=body.interval_s, name=body.name, language=body.language)

        async def finalize(v: Verified, payment_id: int, tx: str) -> web.Response:
            made = await self._create(v, payment_id, type=body.type, config=body.config,
                                      tier_name=body.tier, months=body.months, name=body.name,
                                      interval_s=body.interval_s, language=body.language,
                                      channels=body.alert_channels)
            return answer(MonitorCreated(
                monitor=monitor_out(made.monitor), management_token=made.token,
                payment=PaymentOut(transaction=tx, network=v.offer.network.caip2),
                ping_url=made.ping_url, alert_channels=made.channels), status=201)

        request[FINALIZE_KEY] = finalize
        return web.json_response({"status": "accepted"}, status=202)

    async def subscribe(self, request: web.Request) -> web.Response:
        body: SubscribeBody = await read_json(request, SubscribeBody)
        await self._precheck(request, type=body.target_type, config=body.target_config,
                             tier_name=body.tier, interval_s=None)

        async def finalize(v: Verified, payment_id: int, tx: str) -> web.Response:
            made = await self._create(v, payment_id, type=body.target_type,
                                      config=body.target_config, tier_name=body.tier, months=1,
                                      name=None, interval_s=None, language=None,
                                      channels=body.alert_channels)
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
        records = await self.service.history_of(m, limit=limit, before=before)
        target = target_label(m.type, m.config) or None
        items = [CheckRecordOut(time=r.time, ok=r.ok, status_code=r.status_code,
                                latency_ms=r.latency_ms, error_code=r.error_code, error=r.error,
                                monitor_id=str(m.public_id), type=m.type, target=target,
                                conditions=(r.details or {}).get("conditions", []),
                                checked_at=r.time, worker_id=r.worker_id)
                 for r in records]
        nxt = items[-1].time if len(items) == limit else None
        body = CheckHistory(checks=items, next_before=nxt).model_dump(mode="json")
        key = self.signer.prepare()
        if len(items) > SIGN_INLINE_MAX:
            await asyncio.to_thread(self.signer.sign_with, key, body["checks"], HISTORY_FIELDS)
        else:
            self.signer.sign_with(key, body["checks"], HISTORY_FIELDS)
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
        await self.service.remove_channel(who, ref, channel_id)
        return answer(ChannelDeleted(deleted=channel_id))


@dataclass(frozen=True)
class Created:
    monitor: Monitor
    token: str
    ping_url: str | None
    channels: list[ChannelOut]


def channel_out(row: dict[str, Any]) -> ChannelOut:
    return ChannelOut(id=row["id"], kind=row["kind"], config=row["config"],
                      language=row["language"], min_severity=row["min_severity"],
                      enabled=row["enabled"], disabled_reason=row["disabled_reason"])


def _channel_id(text: str) -> int:
    # Not a channel id is no channel, the same 404 as another monitor's channel.
    if not _CHANNEL_ID.fullmatch(text) or int(text) > MAX_BIGINT:
        raise ChannelNotFoundError("no such alert channel on this monitor", channel=text[:40])
    return int(text)
