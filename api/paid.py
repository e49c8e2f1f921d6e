"""What the paid calls sell and what the free ones read, shared by the two ways agents
reach them: the HTTP routes (api/v1.py) and the MCP tools (api/mcp_server.py).

Prices, the checks made before a payment is settled, and the answers are written once
here, over ``MonitorService``, so the same request costs and means the same over both.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lighthouse.api.heartbeat import ping_path
from lighthouse.api.schemas import (
    ChannelIn,
    ChannelOut,
    CheckHistory,
    CheckRecordOut,
    CheckResultOut,
    MonitorBody,
    MonitorCreated,
    MonitorOut,
    NetworkOut,
    PaymentOut,
    Pricing,
    StatusPageOut,
    TierOut,
    Uptime,
    UptimeWindowOut,
)
from lighthouse.api.x402.paywall import Paywall
from lighthouse.core.checks import heartbeat, parse_config, target_label
from lighthouse.core.checks.base import CheckResult
from lighthouse.core.errors import ValidationError
from lighthouse.core.models import Identity, Monitor, Provider
from lighthouse.core.payments.requirements import Network
from lighthouse.core.payments.verifier import Verified
from lighthouse.core.service import MonitorService, Purchase
from lighthouse.core.service.status_pages import StatusPage, status_page_url
from lighthouse.core.signing import CHECK_FIELDS, HISTORY_FIELDS, ResultSigner
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import ONE_OFF_CHECK_PRICE_ATOMIC, TIERS, TierName, tier

PERIOD_DAYS = 30
MAX_URL = 2048
BUYER_NOTE = (
    "Official x402 clients pay only assets they know unless the buyer allows more: Base "
    "Sepolia USDC is known to them, the Fuji asset is not. To pay on Fuji, add the network's "
    "allow_asset entry to the client's spend controls (@x402/fetch: spendControls.allowedAssets; "
    "Python x402Client: set_spend_controls({'allowed_assets': [...]})), optionally with a "
    "per-payment cap (maxAmountPerPayment / max_amount_per_payment, atomic units). Known "
    "assets are capped at 1 USD per payment by default."
)


def storable(value: Any) -> bool:
    """Whether PostgreSQL text/jsonb can hold every string and number in a JSON value: what
    it would refuse when a paid monitor is stored is refused before the payment."""
    if isinstance(value, str):
        return clean_text(value) is value
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v) for v in value)
    return True


def paid_tier(name: str) -> TierName:
    try:
        t = TierName(name)
    except ValueError as exc:
        raise ValidationError("unknown tier", field="tier", reason="choice") from exc
    if tier(t).price_atomic_per_month <= 0:
        raise ValidationError("the free tier is not sold over the API", field="tier", reason="choice")
    return t


def check_url_price(url: str | None) -> tuple[int, str]:
    if not url or len(url) > MAX_URL:
        raise ValidationError("query parameter url is required", field="url", reason="required")
    parse_config("http", {"url": url})
    return ONE_OFF_CHECK_PRICE_ATOMIC, "One HTTP check of a URL, result returned at once"


def check_price(type_name: str, config: dict[str, Any]) -> tuple[int, str]:
    parse_config(type_name, config)
    return ONE_OFF_CHECK_PRICE_ATOMIC, f"One {type_name} check, result returned at once"


def monitor_price(service: MonitorService, body: MonitorBody) -> tuple[int, str]:
    t = paid_tier(body.tier)
    check_input(service, body.type, body.config, body.alert_channels)
    return tier(t).price_atomic_per_month * body.months, f"{t.value} monitor, {body.months} x 30 days"


def check_input(service: MonitorService, type: str, config: dict[str, Any],
                channels: list[ChannelIn]) -> None:
    """What can be judged before the buyer signs anything (no payer yet): the config by
    its type's model, each alert channel by the service's own rules (untrusted: no
    chat-only kinds). The payer's limits come after, still before settlement."""
    parse_config(type, heartbeat.draft_config(config) if type == "heartbeat" else config)
    for ch in channels:
        service.validate_channel(ch.channel_kind, ch.config, language=ch.language,
                                 min_severity=ch.min_severity)


def allow_asset(net: Network) -> dict[str, str] | None:
    """The spend-controls entry a buyer adds to pay this network's asset, when official
    clients do not know it by default."""
    if net.known_to_clients:
        return None
    # Only the two keys both clients read under the same names (a cap is
    # maxAmountPerPayment in @x402/fetch, max_amount_per_payment in Python).
    return {"network": net.caip2, "asset": net.asset}


def pricing(paywall: Paywall) -> Pricing:
    return Pricing(
        currency="USDC", decimals=6, period_days=PERIOD_DAYS,
        tiers=[TierOut(name=t.name.value, price_atomic_per_month=str(t.price_atomic_per_month),
                       interval_s=t.interval_s, max_monitors=t.max_monitors,
                       retention_days=t.retention_days) for t in TIERS.values()],
        one_off_check_atomic=str(ONE_OFF_CHECK_PRICE_ATOMIC),
        networks=[NetworkOut(network=n.caip2, asset=n.asset, known_to_clients=n.known_to_clients,
                             allow_asset=allow_asset(n)) for n in paywall.networks],
        pay_to=paywall.pay_to,
        buyer_note=BUYER_NOTE,
    )


async def check_once(service: MonitorService, type_name: str, config: dict[str, Any],
                     worker_id: str = "") -> CheckResultOut:
    result = await service.check_once(type_name, config)
    return check_out(result, type_name, config, worker_id)


def check_out(result: CheckResult, type_name: str, config: dict[str, Any], worker_id: str
              ) -> CheckResultOut:
    """A one-off result with what its signature covers (core/signing.py CHECK_FIELDS)."""
    return CheckResultOut(**result.to_dict(), request_id=str(uuid.uuid4()), type=type_name,
                          target=target_label(type_name, config),
                          conditions=result.details.get("conditions", []),
                          checked_at=datetime.now(UTC), worker_id=worker_id)


def signed_check(signer: ResultSigner, out: CheckResultOut, payment: PaymentOut | None
                 ) -> dict[str, Any]:
    """The result signed together with the payment that bought it (known only once the
    payment settled, so both transports sign in their after-settlement step)."""
    body = out.model_copy(update={"payment": payment}).model_dump(mode="json")
    return signer.sign(body, CHECK_FIELDS)


def monitor_out(m: Monitor) -> MonitorOut:
    return MonitorOut(
        id=str(m.public_id), name=m.name, type=m.type, config=m.config, interval_s=m.interval_s,
        tier=m.tier, state=m.state.value, created_at=m.created_at, next_due=m.next_due,
        expires_at=m.expires_at, last_check_at=m.last_check_at, last_ok=m.last_ok,
        last_latency_ms=m.last_latency_ms, last_error=m.last_error,
        maintenance_until=m.maintenance_until,
    )


async def precheck_monitor(service: MonitorService, payer: str, *, type: str, config: dict[str, Any],
                           tier_name: str, interval_s: int | None, name: str | None = None,
                           language: str | None = None) -> None:
    """Refuse before settlement what creation would refuse after it (nothing is charged):
    the service's own rules, judged with the tier being bought."""
    await service.validate_monitor(
        Identity(Provider.WALLET, payer), type=type, config=config, name=name,
        interval_s=interval_s, language=language, tier_name=tier_name)


@dataclass(frozen=True)
class Created:
    monitor: Monitor
    token: str
    ping_url: str | None
    channels: list[ChannelOut]


def ping_url(public_base_url: str, token: str) -> str:
    return public_base_url.rstrip("/") + ping_path(token)


async def create_paid_monitor(service: MonitorService, v: Verified, payment_id: int,
                              public_base_url: str, *, type: str, config: dict[str, Any],
                              tier_name: str, months: int, name: str | None, interval_s: int | None,
                              language: str | None, channels: list[ChannelIn]) -> Created:
    """The paid side effect, run only once the payment is settled: the monitor with its tier
    period (stored together, or neither), its token, its ping URL (heartbeats) and alert
    channels. Raising here after settlement makes the payment a refund
    (core/payments/charge.py), so a monitor already stored is removed first: it must not
    outlive its refund."""
    who = Identity(Provider.WALLET, v.auth.from_)
    purchase = Purchase(tier_name, timedelta(days=PERIOD_DAYS * months))
    ping: str | None = None
    if type == "heartbeat":
        m, ping_token = await service.create_heartbeat(
            who, config=config, name=name, interval_s=interval_s, language=language,
            purchase=purchase)
        ping = ping_url(public_base_url, ping_token)
    else:
        m = await service.create_monitor(who, config=config, type=type, name=name,
                                         interval_s=interval_s, language=language, purchase=purchase)
    try:
        token = await service.issue_management_token(m, payment_id)
        ref = str(m.public_id)
        for ch in channels:
            await service.add_channel(who, ch.channel_kind, ch.config, monitor_ref=ref,
                                      language=ch.language, min_severity=ch.min_severity)
        shown = await service.monitor_channels(who, ref) if channels else []
    except BaseException:
        with contextlib.suppress(Exception):
            await service.remove(who, str(m.public_id))
        raise
    return Created(m, token, ping, [channel_out(c) for c in shown])


async def create_monitor_answer(service: MonitorService, body: MonitorBody, v: Verified,
                                payment_id: int, tx: str, public_base_url: str) -> MonitorCreated:
    made = await create_paid_monitor(
        service, v, payment_id, public_base_url, type=body.type, config=body.config,
        tier_name=body.tier, months=body.months, name=body.name, interval_s=body.interval_s,
        language=body.language, channels=body.alert_channels)
    return MonitorCreated(monitor=monitor_out(made.monitor), management_token=made.token,
                          payment=PaymentOut(transaction=tx, network=v.offer.network.caip2),
                          ping_url=made.ping_url, alert_channels=made.channels)


def channel_out(row: dict[str, Any]) -> ChannelOut:
    return ChannelOut(id=row["id"], kind=row["kind"], config=row["config"],
                      language=row["language"], min_severity=row["min_severity"],
                      enabled=row["enabled"], disabled_reason=row["disabled_reason"])


def status_page_out(page: StatusPage, public_base_url: str) -> StatusPageOut:
    """A status page as HTTP and MCP answer it."""
    return StatusPageOut(slug=page.slug, title=page.title,
                         url=status_page_url(public_base_url, page.slug),
                         monitors=list(page.monitors), created_at=page.created_at)


def manager(token: str) -> Identity:
    """A management token as the identity that reaches exactly its monitor; a wrong token
    or id reads as "not found" from the service, so ids cannot be probed."""
    return Identity(Provider.TOKEN, token.strip())


# History pages longer than this are signed in a worker thread (about 0.1 ms each),
# so a page of 1000 does not hold the event loop.
SIGN_INLINE_MAX = 64


async def history(service: MonitorService, m: Monitor, *, limit: int, before: datetime | None,
                  signer: ResultSigner | None = None) -> dict[str, Any]:
    """A page of a monitor's checks, newest first, each item signed when a signer is given
    (HTTP and MCP serve the same signed items)."""
    records = await service.history_of(m, limit=limit, before=before)
    target = target_label(m.type, m.config) or None
    items = [CheckRecordOut(time=r.time, ok=r.ok, status_code=r.status_code,
                            latency_ms=r.latency_ms, error_code=r.error_code, error=r.error,
                            monitor_id=str(m.public_id), type=m.type, target=target,
                            conditions=(r.details or {}).get("conditions", []),
                            checked_at=r.time, worker_id=r.worker_id)
             for r in records]
    nxt = items[-1].time if len(items) == limit else None
    body = CheckHistory(checks=items, next_before=nxt).model_dump(mode="json")
    if signer is not None:
        key = signer.prepare()
        if len(items) > SIGN_INLINE_MAX:
            await asyncio.to_thread(signer.sign_with, key, body["checks"], HISTORY_FIELDS)
        else:
            signer.sign_with(key, body["checks"], HISTORY_FIELDS)
    return body


async def uptime(service: MonitorService, m: Monitor) -> Uptime:
    windows = await service.uptime_of(m)
    return Uptime(uptime=[
        UptimeWindowOut(period=w.period, checks=w.checks, ok_checks=w.ok_checks, uptime=w.uptime,
                        avg_latency_ms=w.avg_latency_ms, p95_latency_ms=w.p95_latency_ms)
        for w in windows])
