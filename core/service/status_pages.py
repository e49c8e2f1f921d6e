"""Status pages: an owner publishes some or all of their monitors on /status/<slug>.

The rules live here (slug shape, an unguessable slug unless the owner picks one, a page
shows only its owner's monitors); the SQL in core/storage/status_pages.py; the HTML in
api/status_page.py. A page's figures come from the rollups only (90 days of daily rows,
24 hours of hourly rows), so a page of 50 monitors costs a handful of indexed reads.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lighthouse.core.charts import CHART_HOURS, HourPoint, empty_series, first_hour, hour_series
from lighthouse.core.errors import (
    MonitorNotFoundError,
    SlugTakenError,
    StatusPageNotFoundError,
    TierFeatureError,
    ValidationError,
)
from lighthouse.core.models import Identity, Monitor, Provider, User
from lighthouse.core.state import State
from lighthouse.core.storage import rollups, tokens
from lighthouse.core.storage import status_pages as rows
from lighthouse.core.storage.database import Pool
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import lowest_tier_with, tier

SLUG = re.compile(r"^[a-z0-9-]{3,48}$")


def status_page_url(public_base_url: str, slug: str) -> str:
    """Where a page is served (the API's /status/<slug>), as every surface shows it."""
    return f"{public_base_url.rstrip('/')}/status/{slug}"
TITLE_MAX = 100
BAR_DAYS = 90
INCIDENTS_SHOWN = 10


@dataclass(frozen=True)
class StatusPage:
    slug: str
    title: str
    monitor_ids: tuple[int, ...]
    created_at: datetime
    # The public ids of the monitors named (empty: all of the owner's), as shown outside.
    monitors: tuple[str, ...] = ()
    managed_by: str | None = None
    owner_id: int = 0

    @classmethod
    def from_row(cls, row: Any) -> StatusPage:
        return cls(row["slug"], row["title"], tuple(row["monitor_ids"]), row["created_at"],
                   managed_by=row["managed_by"], owner_id=row["owner_id"])


@dataclass(frozen=True)
class Day:
    day: date
    checks: int
    ok_checks: int

    @property
    def uptime(self) -> float | None:
        return self.ok_checks / self.checks if self.checks else None


@dataclass(frozen=True)
class PageMonitor:
    public_id: str
    name: str
    state: State
    state_since: datetime
    last_check_at: datetime | None
    days: list[Day]  # BAR_DAYS entries, oldest first; checks == 0 where nothing ran
    hours: list[HourPoint]  # the response-time chart: CHART_HOURS rollup hours, oldest first
    uptime_90d: float | None


@dataclass(frozen=True)
class PageIncident:
    monitor: str
    started_at: datetime
    ended_at: datetime | None
    duration: timedelta


@dataclass(frozen=True)
class PageMaintenance:
    monitor: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class StatusView:
    page: StatusPage
    monitors: list[PageMonitor]
    incidents: list[PageIncident]
    maintenance: list[PageMaintenance]
    generated_at: datetime


def random_slug() -> str:
    """120 random bits in lowercase base32: 24 characters nobody guesses."""
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


class StatusPagesMixin:
    _pool: Pool
    _now: Callable[[], datetime]

    if TYPE_CHECKING:
        async def ensure_user(self, who: Identity, language: str | None = None) -> User: ...
        async def find_user(self, who: Identity) -> User | None: ...
        def _user(self, row: Any, who: Identity) -> User: ...
        async def _owned_monitor_row(self, owner_id: int, ref: str) -> Any: ...  # Monitors

    async def _page_owner(self, who: Identity, *, create: bool = False) -> User | None:
        """Whose pages a caller manages. A management token (the API, MCP) acts for the
        owner of the monitor it manages, the identity that owns /v1 monitors; a token
        that manages nothing is nobody."""
        if who.provider is Provider.TOKEN:
            row = (await tokens.owner_of(self._pool, who.subject)
                   if who.subject and len(who.subject) <= 200 else None)
            return None if row is None else self._user(row, who)
        return await (self.ensure_user(who) if create else self.find_user(who))

    async def _owned_monitor_ids(self, owner_id: int, refs: list[str]) -> list[int]:
        """Ids of the owner's monitors named by id, id prefix or name. Another owner's
        monitor reads as "not found": a page never shows it, nor learns it exists."""
        ids: list[int] = []
        for ref in refs:
            ref = clean_text(str(ref).strip())
            row = await self._owned_monitor_row(owner_id, ref)
            if row is None:
                raise MonitorNotFoundError("no such monitor", ref=ref[:100])
            ids.append(int(row["id"]))
        return list(dict.fromkeys(ids))

    @staticmethod
    def _page_fields(slug: str | None, title: str | None) -> str:
        if slug is not None and not SLUG.fullmatch(slug):
            raise ValidationError("slug: 3-48 lowercase letters, digits or dashes",
                                  field="slug", reason="format", value=slug[:64])
        title = clean_text((title or "").strip()) or "Status"
        if len(title) > TITLE_MAX:
            raise ValidationError("title too long", field="title", reason="too_long", max=TITLE_MAX)
        return title

    async def create_status_page(self, who: Identity, *, slug: str | None = None,
                                 title: str | None = None,
                                 monitors: list[str] | None = None,
                                 managed_by: str | None = None) -> StatusPage:
        """``monitors``: names or ids of the caller's monitors; none means all of them,
        now and later. The same call behind chat, the API, MCP, the CLI and the file."""
        title = self._page_fields(slug, title)
        user = await self._page_owner(who, create=True)
        if user is None:
            raise MonitorNotFoundError("no monitor for this token", ref="token")
        plan = tier(user.tier)
        if "status_page" not in plan.features:
            raise TierFeatureError("status pages need a higher tier", feature="status_page",
                                   tier=plan.name.value, needs=lowest_tier_with("status_page"))
        ids = await self._owned_monitor_ids(user.id, list(monitors or []))
        row = await rows.insert(self._pool, user.id, slug or random_slug(), title, ids,
                                managed_by)
        if row is None:
            raise SlugTakenError("slug taken", slug=slug)
        return (await self._pages_shown([StatusPage.from_row(row)]))[0]

    async def update_status_page(self, who: Identity, slug: str, *, title: str | None,
                                 monitors: list[str] | None) -> StatusPage:
        title = self._page_fields(slug, title)
        user = await self._page_owner(who)
        if user is None:
            raise StatusPageNotFoundError("no such status page", slug=slug)
        ids = await self._owned_monitor_ids(user.id, list(monitors or []))
        row = await rows.update(self._pool, user.id, slug, title, ids)
        if row is None:
            raise StatusPageNotFoundError("no such status page", slug=slug)
        return (await self._pages_shown([StatusPage.from_row(row)]))[0]

    async def list_status_pages(self, who: Identity) -> list[StatusPage]:
        user = await self._page_owner(who)
        if user is None:
            if who.provider is Provider.TOKEN:
                raise MonitorNotFoundError("no monitor for this token", ref="token")
            return []
        return await self._pages_shown([StatusPage.from_row(r)
                                  for r in await rows.of_owner(self._pool, user.id)])

    async def _pages_shown(self, pages: list[StatusPage]) -> list[StatusPage]:
        """Pages with their monitors' public ids (internal ids never leave the service)."""
        found = await rows.public_ids(self._pool, [i for p in pages for i in p.monitor_ids])
        return [replace(p, monitors=tuple(found[i] for i in p.monitor_ids if i in found))
                for p in pages]

    async def remove_status_page(self, who: Identity, slug: str) -> None:
        user = await self._page_owner(who)
        if user is None and who.provider is Provider.TOKEN:
            raise MonitorNotFoundError("no monitor for this token", ref="token")
        if user is None or not SLUG.fullmatch(slug) or not await rows.delete(
                self._pool, user.id, slug):
            raise StatusPageNotFoundError("no such status page", slug=slug[:64])

    async def watch_status_pages(self, on_change: Callable[[str], None],
                                 on_lost: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """Be told at once when what a status page shows changes, from any process:
        ``on_change('o:<owner id>')`` for a monitor's state, name or maintenance (or one
        added or removed), ``on_change('s:<slug>')`` for a page. Returns the closer."""
        return await rows.listen_changes(self._pool, on_change, on_lost)

    async def latency_hours(self, m: Monitor, hours: int = CHART_HOURS) -> list[HourPoint]:
        """One monitor's chart series (chat's status image), from the hourly rollups as on
        status pages (core/charts.py)."""
        start = first_hour(self._now(), hours)
        series = hour_series(await rows.hourly(self._pool, [m.id], start), start, hours)
        return series.get(m.id) or empty_series(start, hours)

    async def status_view(self, slug: str) -> StatusView:
        """What /status/<slug> shows; a malformed slug is "not found" without a query."""
        row = await rows.by_slug(self._pool, slug) if SLUG.fullmatch(slug) else None
        if row is None:
            raise StatusPageNotFoundError("no such status page", slug=slug)
        page = StatusPage.from_row(row)
        now = self._now()
        ms = [Monitor.from_row(r) for r in
              await rows.page_monitors(self._pool, row["owner_id"], page.monitor_ids)]
        ids = [m.id for m in ms]
        today = now.date()
        first = today - timedelta(days=BAR_DAYS - 1)
        start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
        daily: dict[tuple[int, date], Day] = {}
        for r in await rows.daily(self._pool, ids, start):
            d = r["bucket"].date()
            daily[(r["monitor_id"], d)] = Day(d, r["checks"], r["ok_checks"])
        hour0 = first_hour(now)
        today_rows: dict[int, list[int]] = {}
        midnight = datetime.combine(today, datetime.min.time(), tzinfo=now.tzinfo)
        hourly_rows = await rows.hourly(self._pool, ids, min(hour0, midnight))
        for r in hourly_rows:
            if r["bucket"].date() == today:
                acc = today_rows.setdefault(r["monitor_id"], [0, 0])
                acc[0] += r["checks"]
                acc[1] += r["ok_checks"]
        charts = hour_series(hourly_rows, hour0)
        out: list[PageMonitor] = []
        for m in ms:
            days = []
            for i in range(BAR_DAYS):
                d = first + timedelta(days=i)
                day = daily.get((m.id, d))
                if day is None and d == today and m.id in today_rows:
                    # Today has no daily row until the day is rolled up: its hours so far.
                    c, ok = today_rows[m.id]
                    day = Day(d, c, ok)
                days.append(day or Day(d, 0, 0))
            checks = sum(d.checks for d in days)
            out.append(PageMonitor(
                str(m.public_id), m.name, m.state, m.state_since, m.last_check_at, days,
                charts.get(m.id) or empty_series(hour0),
                sum(d.ok_checks for d in days) / checks if checks else None))
        names = {m.id: m.name for m in ms}
        incidents = [
            PageIncident(names[r["monitor_id"]], r["started_at"], r["ended_at"],
                         max((r["ended_at"] or now) - r["started_at"], timedelta(0)))
            for r in await rows.incidents(self._pool, ids, now - timedelta(days=BAR_DAYS),
                                          INCIDENTS_SHOWN)]
        windows = [PageMaintenance(names[m.id], m.state_since, m.maintenance_until)
                   for m in ms if m.state is State.MAINTENANCE and m.maintenance_until]
        windows += [PageMaintenance(names[r["monitor_id"]], r["starts_at"], r["ends_at"])
                    for r in await rows.maintenance(self._pool, ids, now)]
        return StatusView(page, out, incidents, windows, now)


@dataclass(frozen=True)
class BadgeFacts:
    """What a badge shows of one monitor: its state, and a figure from the rollups."""

    name: str
    state: State
    interval_s: int
    uptime: float | None = None
    latency_ms: float | None = None


BADGE_WINDOWS = ("24h", "7d", "30d")


class BadgesMixin:
    """Badges name a monitor by its public id (a random UUID: 122 random bits), never by
    its management token: a badge URL is pasted into READMEs, and the token is a
    credential. Only a published monitor (on one of its owner's status pages) has badges;
    any other is private and reads as unknown."""

    _pool: Pool
    _now: Callable[[], datetime]

    async def badge_facts(self, public_id: str, *, window: str | None = None,
                          latency: bool = False) -> BadgeFacts:
        try:
            pid = uuid.UUID(public_id)
        except ValueError:
            raise MonitorNotFoundError("no such monitor", ref=public_id[:64]) from None
        row = await rows.published_monitor(self._pool, pid)
        if row is None:
            # Unpublished monitors are private: the same "not found" as an unknown id.
            raise MonitorNotFoundError("no such monitor", ref=public_id)
        facts = BadgeFacts(row["name"], State(row["state"]), row["interval_s"])
        if window is None and not latency:
            return facts
        if window is not None and window not in BADGE_WINDOWS:
            raise ValidationError("window: 24h, 7d or 30d", field="window", reason="unknown",
                                  value=window[:16], known=list(BADGE_WINDOWS))
        # Rollups only (hourly for 24 h and 7 d, daily for 30 d): a badge never scans checks.
        [w] = await rollups.uptime_windows(self._pool, row["id"], self._now(),
                                           (window or "24h",))
        return replace(facts, uptime=w.uptime if w.checks else None,
                       latency_ms=w.avg_latency_ms)
