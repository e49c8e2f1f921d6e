"""Apply a monitors-as-code file: plan what differs from the database, refuse the whole file
on any problem, else change exactly that, in one transaction.

The file is owned by the operator (``Identity(Provider.OPERATOR, "admin")``) and manages
only what it declares (``managed_by``, sql/0015_managed_by.sql): monitors made from chat,
the API or the CLI are never changed or removed by it.

1. **Plan.** Each monitor entry has a stable key (its ``id``, else its ``name``). An entry
   whose hash (its text after defaults and variables, with the tier and the private-target
   setting it was judged under) equals the stored one is unchanged and not validated again:
   re-applying a file of 10,000 monitors costs a parse and one query. Others are added,
   changed in place (``MonitorService.update_monitor``: id, state and history stay),
   replaced (a new type), or removed (declared no more).
2. **Validate everything** through the service (``validate_many``: the rules of
   ``validate_monitor`` for each entry; ``check_fleet_room``: the tier's limits for the
   monitors the file leaves; ``validate_channel`` for channels). Any problem refuses the
   file with every problem's line; nothing was written.
3. **Apply** in the same transaction, under a lock that makes concurrent applies take
   turns. A dry run stops after 2, in a read-only transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Any
from uuid import UUID

from lighthouse.core.config_file.document import (
    ConfigFileError,
    Document,
    MonitorEntry,
    Problem,
    read_file,
)
from lighthouse.core.config_file.yamlsafe import Path
from lighthouse.core.errors import (
    InvalidIntervalError,
    LighthouseError,
    MonitorLimitReachedError,
    TargetNotAllowedError,
    TierFeatureError,
    UnknownChannelKindError,
    UnknownCheckTypeError,
)
from lighthouse.core.i18n import Message, verbatim
from lighthouse.core.i18n import message as _
from lighthouse.core.models import Identity, Provider, User
from lighthouse.core.service import MonitorDraft, MonitorService, MonitorSpec
from lighthouse.core.service.managed import ManagedMonitor
from lighthouse.core.state import State
from lighthouse.core.text import clean_text
from lighthouse.core.tiers import TierName

log = logging.getLogger("lighthouse.config")

OPERATOR = Identity(Provider.OPERATOR, "admin")
# The person running the instance is not a customer of it: no monitor limit, 30 s checks,
# every feature, unless their file says otherwise.
DEFAULT_OPERATOR_TIER = TierName.ENTERPRISE
# Part of every entry hash: a change in how entries are read re-validates them all.
_HASH_VERSION = "1"
_PARAM_HINTS = ("min", "max", "tier", "feature", "limit", "supported", "known")
_DEFAULTED = ("interval", "failure_threshold", "success_threshold", "language")


@dataclass
class Change:
    op: str  # "+" add, "~" change, "-" remove
    kind: str  # monitor | channel | maintenance | tier
    label: str
    detail: str = ""
    monitor_id: UUID | None = None

    def render(self) -> str:
        return f"{self.op} {self.kind} {self.label}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class ApplyReport:
    source: str
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    # Ping tokens of heartbeats created now without a token in the file: shown once.
    tokens: dict[str, str] = field(default_factory=dict)
    # The next maintenance window to start: the running service applies the file again then.
    next_window: datetime | None = None

    def count(self, op: str) -> int:
        return sum(1 for c in self.changes if c.op == op)

    def summary(self) -> str:
        verb = "plan" if self.dry_run else "applied"
        return (f"{verb}: {self.count('+')} to add, {self.count('~')} to change, "
                f"{self.count('-')} to remove, {self.unchanged} monitors unchanged")

    def lines(self) -> list[str]:
        return [c.render() for c in self.changes] + [self.summary()]


async def apply_file(service: MonitorService, path: FilePath, *, dry_run: bool = False,
                     env: Mapping[str, str] | None = None, now: datetime | None = None
                     ) -> ApplyReport:
    """Read the file and apply it (``ConfigFileError``: refused, nothing changed)."""
    return await apply_document(service, read_file(path, env), dry_run=dry_run, now=now)


async def apply_document(service: MonitorService, doc: Document, *, dry_run: bool = False,
                         now: datetime | None = None) -> ApplyReport:
    async with service.unit_of_work(read_only=dry_run) as svc:
        await svc.hold_apply_lock()
        run = _Apply(svc, doc, dry_run, now or datetime.now(UTC))
        await run.plan()
        if not dry_run:
            await run.execute()
    if not dry_run:
        for change in run.report.changes:
            log.info("config change", extra={"change": change.render(), "file": doc.source,
                                             "monitor_id": str(change.monitor_id or "")})
    return run.report


@dataclass
class _Entry:
    index: int
    entry: MonitorEntry
    spec: MonitorSpec
    entry_hash: str
    stored: ManagedMonitor | None = None
    draft: MonitorDraft | None = None
    fields: list[str] = field(default_factory=list)  # what an update changes
    public_id: UUID | None = None  # once it exists
    change: Change | None = None  # its line in the report (an add learns its id late)

    @property
    def path(self) -> Path:
        return ("monitors", self.index)

    @property
    def label(self) -> str:
        return json.dumps(self.entry.name, ensure_ascii=False)


class _Apply:
    def __init__(self, svc: MonitorService, doc: Document, dry_run: bool, now: datetime) -> None:
        self.svc, self.doc, self.now = svc, doc, now
        self.report = ApplyReport(doc.source, dry_run)
        self.problems: list[Problem] = []
        self.tier = (doc.config.tier or DEFAULT_OPERATOR_TIER).value
        self.user: User | None = None
        self.entries: list[_Entry] = []
        self.adds: list[_Entry] = []
        self.updates: list[_Entry] = []
        self.refresh: list[_Entry] = []
        self.removals: list[ManagedMonitor] = []
        self.channel_ops: list[tuple[int, dict[str, Any]]] = []  # (file index, stored config)
        self.channel_removals: list[int] = []
        self.windows: dict[str, datetime] = {}  # entry key -> maintenance until
        self.page_ops: list[tuple[int, bool]] = []  # (file index, exists already)
        self.page_removals: list[str] = []

    # --- plan -------------------------------------------------------------------------
    async def plan(self) -> None:
        self.user = await self.svc.find_user(OPERATOR)
        if self.user is None or self.user.tier != self.tier:
            before = self.user.tier if self.user else "none"
            self.report.changes.append(Change("~", "tier", f"{before} -> {self.tier}"))
        await self._plan_monitors()
        await self._plan_channels()
        self._plan_maintenance()
        await self._plan_status_pages()
        if self.problems:
            # One wrong default is one problem, however many monitors take it.
            self.problems = sorted(dict.fromkeys(self.problems), key=lambda p: p.line or 0)
            raise ConfigFileError(self.doc.source, self.problems)

    def _spec(self, m: MonitorEntry) -> tuple[MonitorSpec, tuple[Any, ...]]:
        d = self.doc.config.defaults
        config = dict(m.config)
        token = config.pop("token", None) if m.type == "heartbeat" else None
        spec = MonitorSpec(
            type=m.type, config=config, name=m.name,
            interval_s=m.interval if m.interval is not None else d.interval,
            language=m.language if m.language is not None else d.language,
            failure_threshold=m.failure_threshold if m.failure_threshold is not None
            else d.failure_threshold,
            success_threshold=m.success_threshold if m.success_threshold is not None
            else d.success_threshold,
            ping_token=token if isinstance(token, str) else None,
        )
        effective = (m.key, spec.type, spec.name, spec.interval_s, spec.language,
                     spec.failure_threshold, spec.success_threshold, token, config)
        return spec, effective

    def _hash(self, effective: tuple[Any, ...]) -> str:
        # repr, not sorted JSON: twice as fast on the path that must stay cheap, and the
        # values are plain data from YAML. Keys written in another order give another hash:
        # that entry is validated again and found unchanged, no more.
        text = repr((_HASH_VERSION, self.tier, self.svc.guard.allow_private, effective))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    async def _plan_monitors(self) -> None:
        managed = {k.lower(): m for k, m in (await self.svc.managed_monitors(OPERATOR)).items()}
        taken = {n.lower() for n in await self.svc.unmanaged_names(OPERATOR)}
        for i, m in enumerate(self.doc.config.monitors):
            spec, effective = self._spec(m)
            e = _Entry(i, m, spec, self._hash(effective), managed.pop(m.key.lower(), None))
            self.entries.append(e)
            if m.type == "heartbeat" and "token" in m.config and spec.ping_token is None:
                self._problem((*e.path, "config", "token"), _("expected text (the ping token)"))
            if m.name.strip().lower() in taken:
                self._problem((*e.path, "name"), _(
                    "a monitor named {name} exists that this file does not manage (made outside "
                    "it, e.g. with the CLI); rename one of them", name=repr(m.name)))
            if e.stored is None:
                self.adds.append(e)
            elif e.stored.type != spec.type:
                self.removals.append(e.stored)  # a new type is a new monitor (own history)
                e.stored = None
                self.adds.append(e)
            elif e.stored.entry_hash == e.entry_hash:
                e.public_id = e.stored.public_id
                self.report.unchanged += 1
            else:
                e.public_id = e.stored.public_id
                self.updates.append(e)
        self.removals.extend(managed.values())
        await self._validate()
        await self._diff_updates()
        removed = {r.key.lower() for r in self.removals}
        added = {e.entry.key.lower() for e in self.adds}
        for e in self.adds:
            replaces = e.entry.key.lower() in removed
            e.change = Change("+", "monitor", e.label,
                              e.entry.type + (", replaces one of another type" if replaces else ""))
            self.report.changes.append(e.change)
        for e in self.updates:
            self.report.changes.append(Change("~", "monitor", e.label, ", ".join(e.fields),
                                              e.public_id))
        for r in self.removals:
            if r.key.lower() not in added:
                self.report.changes.append(Change("-", "monitor", json.dumps(r.name), r.type,
                                                  r.public_id))

    async def _validate(self) -> None:
        todo = [*self.adds, *self.updates]
        results = await self.svc.validate_many([e.spec for e in todo], tier_name=self.tier)
        for e, result in zip(todo, results, strict=True):
            if isinstance(result, LighthouseError):
                self._error(e, result)
            else:
                e.draft = result
        if self.problems:
            return  # the room for monitors that are refused anyway would only add noise
        try:
            await self.svc.check_fleet_room(OPERATOR, tier_name=self.tier,
                                            types=[e.spec.type for e in self.entries])
        except MonitorLimitReachedError as exc:
            where: Path = ("tier",) if self.doc.config.tier is not None else ("monitors",)
            self._problem(where, _("{error}; raise tier: or declare fewer monitors",
                                   error=_service_text(exc)))

    async def _diff_updates(self) -> None:
        """Which fields an update changes; none (the text moved, not the monitor): only the
        stored hash is refreshed."""
        pending = [e for e in self.updates if e.draft is not None and e.stored is not None]
        stored = await self.svc.monitors_by_ids([e.stored.id for e in pending if e.stored])
        changed: list[_Entry] = []
        for e in pending:
            assert e.stored is not None and e.draft is not None
            m = stored.get(e.stored.id)
            if m is None:
                continue
            want = self.svc.planned_row(e.draft, self.user)
            have = {"name": m.name, "config": {k: v for k, v in m.config.items() if k != "token_hash"},
                    "interval_s": m.interval_s, "failure_threshold": m.failure_threshold,
                    "success_threshold": m.success_threshold, "language": m.language}
            want["config"] = {k: v for k, v in want["config"].items() if k != "token_hash"}
            e.fields = [k.removesuffix("_s") for k in have if want[k] != have[k]]
            if e.spec.ping_token is not None and e.stored.token_hash != _token_hash(e.spec.ping_token):
                e.fields.append("ping token")
            (changed if e.fields else self.refresh).append(e)
        self.updates = changed

    async def _plan_channels(self) -> None:
        existing = await self.svc.channels(OPERATOR)
        by_key = {e.entry.key.lower(): e for e in self.entries}
        by_name = {e.entry.name.strip().lower(): e for e in self.entries}
        matched: set[int] = set()
        for i, ch in enumerate(self.doc.config.channels):
            try:
                stored = self.svc.validate_channel(ch.kind, ch.config, language=ch.language,
                                                   min_severity=ch.min_severity)
            except LighthouseError as exc:
                self._channel_error(i, exc)
                continue
            target = None
            if ch.monitor is not None:
                target = by_key.get(ch.monitor.lower()) or by_name.get(ch.monitor.lower())
            label = f"{ch.kind} for " + (target.label if target else "all monitors")
            monitor_id = None
            if target is not None and target.stored is not None:
                monitor_id = target.stored.id
            same = next((c for c in existing if c["id"] not in matched and c["kind"] == ch.kind
                         and c["config"] == stored and c["monitor_id"] == monitor_id
                         and (target is None or monitor_id is not None)), None)
            if same is not None:
                matched.add(same["id"])
                if (same["enabled"] and same["min_severity"] == ch.min_severity
                        and (ch.language is None or same["language"] == ch.language)):
                    continue
                self.report.changes.append(Change("~", "channel", label, "re-enabled, severity "
                                                  "or language"))
            else:
                self.report.changes.append(Change("+", "channel", label))
            self.channel_ops.append((i, stored))
        for c in existing:
            if c["managed_by"] is not None and c["id"] not in matched:
                self.channel_removals.append(c["id"])
                self.report.changes.append(Change("-", "channel", f"{c['kind']} #{c['id']}"))

    def _plan_maintenance(self) -> None:
        by_ref: dict[str, _Entry] = {}
        for e in self.entries:
            by_ref.setdefault(e.entry.name.strip().lower(), e)
            by_ref[e.entry.key.lower()] = e
        upcoming: list[datetime] = []
        for w in self.doc.config.maintenance:
            if w.from_ > self.now:
                upcoming.append(w.from_)
                continue
            if w.until <= self.now:
                continue  # over: nothing to do
            for ref in w.monitors:
                e = by_ref[ref.lower()]
                key = e.entry.key.lower()
                self.windows[key] = max(self.windows.get(key, w.until), w.until)
        self.report.next_window = min(upcoming, default=None)
        for e in self.entries:
            until = self.windows.get(e.entry.key.lower())
            if until is None:
                continue
            s = e.stored
            if s is not None and s.state is State.MAINTENANCE and s.maintenance_until == until:
                self.windows.pop(e.entry.key.lower())
            elif s is not None and s.state is State.PAUSED:
                self.windows.pop(e.entry.key.lower())
                self.report.changes.append(Change("!", "maintenance", e.label,
                                                  "skipped: the monitor is paused"))
            else:
                self.report.changes.append(Change("~", "maintenance", e.label,
                                                  f"until {until.isoformat()}", e.public_id))

    def _page_entries(self, refs: list[str]) -> list[_Entry]:
        out = []
        for ref in refs:
            out.append(next(e for e in self.entries if ref.lower() in
                            (e.entry.key.lower(), e.entry.name.strip().lower())))
        return out

    async def _plan_status_pages(self) -> None:
        """Pages the file declares, by slug: added, changed (title or monitors) or removed
        (declared no more); pages made elsewhere are never touched."""
        pages = {p.slug: p for p in await self.svc.list_status_pages(OPERATOR)}
        declared = set()
        for i, want in enumerate(self.doc.config.status_pages):
            declared.add(want.slug)
            have = pages.get(want.slug)
            if have is not None and have.managed_by is None:
                self._problem(("status_pages", i, "slug"), _(
                    "a status page {slug} exists that this file does not manage (made outside "
                    "it); choose another slug", slug=repr(want.slug)))
                continue
            entries = self._page_entries(list(want.monitors))
            if have is None:
                self.page_ops.append((i, False))
                self.report.changes.append(Change("+", "status page", want.slug))
                continue
            same_monitors = all(e.public_id is not None for e in entries) and \
                list(dict.fromkeys(str(e.public_id) for e in entries)) == list(have.monitors)
            if not same_monitors or have.title != (clean_text((want.title or "").strip())
                                                   or "Status"):
                self.page_ops.append((i, True))
                self.report.changes.append(Change("~", "status page", want.slug))
        for slug, page in pages.items():
            if page.managed_by is not None and slug not in declared:
                self.page_removals.append(slug)
                self.report.changes.append(Change("-", "status page", slug))

    async def _apply_status_pages(self) -> None:
        for slug in self.page_removals:
            await self.svc.remove_status_page(OPERATOR, slug)
        for i, exists in self.page_ops:
            want = self.doc.config.status_pages[i]
            refs = [str(e.public_id) for e in self._page_entries(list(want.monitors))]
            try:
                if exists:
                    await self.svc.update_status_page(OPERATOR, want.slug, title=want.title,
                                                      monitors=refs)
                else:
                    await self.svc.create_status_page(OPERATOR, slug=want.slug, title=want.title,
                                                      monitors=refs, managed_by="file")
            except LighthouseError as exc:
                field_name = str(exc.params.get("field") or "")
                where: Path = ("status_pages", i, field_name if field_name == "title" else "slug")
                if isinstance(exc, TierFeatureError):
                    where = ("tier",) if self.doc.config.tier is not None else ("status_pages", i)
                self._problem(where, _message(exc))
                raise ConfigFileError(self.doc.source, self.problems) from None

    # --- execute ----------------------------------------------------------------------
    async def execute(self) -> None:
        svc = self.svc
        if self.user is None or self.user.tier != self.tier:
            self.user = await svc.set_tier(OPERATOR, OPERATOR, self.tier)
        await svc.remove_managed(OPERATOR, [r.id for r in self.removals])
        for e in self.updates:
            await self._guarded(e, self._update(e))
        await svc.refresh_managed_hashes([(e.stored.id, e.entry_hash) for e in self.refresh
                                          if e.stored is not None])
        plain = [e for e in self.adds if e.spec.type != "heartbeat"]
        made = await svc.create_managed(OPERATOR, [(e.entry.key, e.entry_hash, e.draft)
                                                   for e in plain if e.draft is not None])
        for e, m in zip(plain, made, strict=True):
            e.public_id = m.public_id
        for e in self.adds:
            if e.spec.type == "heartbeat":
                await self._guarded(e, self._heartbeat(e))
        for i, stored in self.channel_ops:
            await self._add_channel(i, stored)
        for channel_id in self.channel_removals:
            await svc.remove_managed_channel(OPERATOR, channel_id)
        for e in self.entries:
            until = self.windows.get(e.entry.key.lower())
            if until is not None and e.public_id is not None:
                await self._guarded(e, svc.set_maintenance(OPERATOR, str(e.public_id), until))
        await self._apply_status_pages()
        for e in self.adds:
            if e.change is not None:
                e.change.monitor_id = e.public_id

    async def _update(self, e: _Entry) -> None:
        assert e.draft is not None and e.public_id is not None
        row = self.svc.planned_row(e.draft, self.user)
        await self.svc.update_monitor(
            OPERATOR, str(e.public_id), config=e.spec.config, name=row["name"],
            interval_s=row["interval_s"], language=row["language"],
            failure_threshold=row["failure_threshold"], success_threshold=row["success_threshold"],
            managed_hash=e.entry_hash)
        if "ping token" in e.fields and e.spec.ping_token is not None:
            await self.svc.rotate_heartbeat_token(OPERATOR, str(e.public_id), e.spec.ping_token)

    async def _heartbeat(self, e: _Entry) -> None:
        assert e.draft is not None
        spec = MonitorSpec(**{**e.spec.__dict__,
                              "failure_threshold": e.draft.failure_threshold,
                              "success_threshold": e.draft.success_threshold})
        m, token = await self.svc.create_managed_heartbeat(OPERATOR, e.entry.key, e.entry_hash, spec)
        e.public_id = m.public_id
        if e.spec.ping_token is None:
            self.report.tokens[e.entry.name] = token

    async def _add_channel(self, i: int, stored: dict[str, Any]) -> None:
        ch = self.doc.config.channels[i]
        ref = None
        if ch.monitor is not None:
            target = next(e for e in self.entries if ch.monitor.lower() in
                          (e.entry.key.lower(), e.entry.name.strip().lower()))
            ref = str(target.public_id)
        try:
            await self.svc.add_channel(OPERATOR, ch.kind, ch.config, language=ch.language,
                                       monitor_ref=ref, min_severity=ch.min_severity,
                                       managed_by="file")
        except LighthouseError as exc:
            self._channel_error(i, exc)
            raise ConfigFileError(self.doc.source, self.problems) from None

    async def _guarded(self, e: _Entry, work: Any) -> None:
        """Run one entry's change; a refusal now (a race with another writer, a ping token
        taken meanwhile) refuses the file, located, and rolls everything back."""
        try:
            await work
        except LighthouseError as exc:
            self._error(e, exc)
            raise ConfigFileError(self.doc.source, self.problems) from None

    # --- problems -----------------------------------------------------------------------
    def _problem(self, path: Path, message: Message) -> None:
        self.problems.append(self.doc.problem(path, message))

    def _error(self, e: _Entry, exc: LighthouseError) -> None:
        path = _where(e, exc)
        # A value the entry took from defaults: is wrong where it is written.
        if (len(path) == 3 and path[2] in _DEFAULTED and getattr(e.entry, str(path[2])) is None
                and getattr(self.doc.config.defaults, str(path[2])) is not None):
            path = ("defaults", path[2])
        self._problem(path, _message(exc))

    def _channel_error(self, i: int, exc: LighthouseError) -> None:
        field_name = exc.params.get("field")
        if isinstance(exc, UnknownChannelKindError) or field_name == "kind":
            path: Path = ("channels", i, "kind")
        elif field_name in ("min_severity", "language"):
            path = ("channels", i, str(field_name))
        else:
            path = ("channels", i, "config", *_parts(str(field_name or "")))
        self._problem(path, _message(exc))


def _token_hash(token: str) -> str:
    from lighthouse.core.checks.heartbeat import hash_token

    return hash_token(token)


def _parts(dotted_field: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in dotted_field.split(".") if p)


def _where(e: _Entry, exc: LighthouseError) -> Path:
    """The place in the file an error from the service is about."""
    base = e.path
    field_name = exc.params.get("field")
    if isinstance(exc, InvalidIntervalError):
        return (*base, "interval")
    if isinstance(exc, TierFeatureError | UnknownCheckTypeError):
        return (*base, "type")
    if field_name in ("name", "failure_threshold", "success_threshold", "language"):
        return (*base, str(field_name))
    if field_name == "token":
        return (*base, "config", "token")
    if field_name:
        return (*base, "config", *_parts(str(field_name)))
    # No field named: the value it is about (a condition, a refused host) is in the config.
    wanted, inside = exc.params.get("condition"), False
    if isinstance(exc, TargetNotAllowedError):
        wanted, inside = exc.params.get("host"), True
    if isinstance(wanted, str) and wanted:
        found = _find(e.entry.config, wanted, inside)
        if found is not None:
            return (*base, "config", *found)
    return (*base, "config")


def _find(value: Any, wanted: str, inside: bool, path: tuple[str | int, ...] = ()
          ) -> tuple[str | int, ...] | None:
    """The path of the first string equal to ``wanted`` (``inside``: containing it)."""
    if isinstance(value, str) and (wanted in value if inside else value == wanted):
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for k, v in items:
        found = _find(v, wanted, inside, (*path, k))
        if found is not None:
            return found
    return None


def _message(exc: LighthouseError) -> Message:
    """The error in the reader's language where the file's terms say it better than the
    service's (an interval in seconds, a check config's pydantic error); else the service's
    own words (English, see docs/reliability.md) and what to change in the file."""
    if exc.said is not None:
        return exc.said
    p = exc.params
    if isinstance(exc, InvalidIntervalError) and p.get("tier"):
        return _("{interval} seconds is shorter than the {tier} tier allows ({min} seconds); raise "
                 "tier: in this file or choose a longer interval", interval=p.get("interval"),
                 tier=p["tier"], min=p.get("min"))
    if isinstance(exc, InvalidIntervalError):
        return _("expected {min} to {max} seconds", min=p.get("min"), max=p.get("max"))
    text = _service_text(exc)
    if isinstance(exc, TargetNotAllowedError):
        return _("{error}; LIGHTHOUSE_ALLOW_PRIVATE_TARGETS=true allows such targets", error=text)
    if isinstance(exc, TierFeatureError):
        return _("{error}; raise tier: in this file", error=text)
    return verbatim(text)


def _service_text(exc: LighthouseError) -> str:
    """The error's text with the limits that say what is expected."""
    params = exc.params
    hints = [f"{k} {_show(params[k])}" for k in _PARAM_HINTS if k in params]
    text = str(exc)
    field_name = params.get("field")
    if isinstance(field_name, str) and text.startswith(field_name + ": "):
        text = text[len(field_name) + 2:]  # the place already names the field
    return text + (f" ({', '.join(hints)})" if hints else "")


def _show(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


__all__ = ["DEFAULT_OPERATOR_TIER", "OPERATOR", "ApplyReport", "Change", "apply_document",
           "apply_file"]
