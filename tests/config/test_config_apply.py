"""Applying a monitors-as-code file to the real database: every check type, changes in
place, removals of the file's own monitors only, a refused file changing nothing
(core/config_file/apply.py, core/service/managed.py)."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from lighthouse.core.checks import check_types
from lighthouse.core.checks.heartbeat import hash_token, record_ping
from lighthouse.core.config_file.apply import OPERATOR, ApplyReport, apply_document, apply_file
from lighthouse.core.config_file.document import ConfigFileError, parse_text
from lighthouse.core.errors import InvalidIntervalError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "lighthouse.yaml"
EXAMPLE_ENV = {"ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook",
               "WEBSITE_DISCORD_WEBHOOK": "https://discord.com/api/webhooks/1/abc",
               "BACKUP_PING_TOKEN": "backup-ping-token-0123456789"}
CHAT_USER = Identity(Provider.DISCORD, "4242")

BASE = """\
defaults:
  interval: 60
monitors:
  - id: site
    name: Site
    config:
      url: http://127.0.0.1:9/health
      conditions: ["[STATUS] == 200"]
  - name: Mail
    type: tcp
    config: {host: 127.0.0.1, port: 25}
  - name: Gone
    config: {url: "http://127.0.0.1:9/gone"}
"""


class OfflineGuard(TargetGuard):
    """Private targets allowed and no name ever resolved: the example's public host names
    are judged as if they were this machine, and no test asks a DNS server."""

    async def resolve(self, host: str, port: int = 0) -> list[str]:
        self.check_ip(host, "127.0.0.1")
        return ["127.0.0.1"]


@pytest.fixture
def svc(pool: asyncpg.Pool) -> MonitorService:
    return MonitorService(pool, OfflineGuard(allow_private=True))


async def apply_text(svc: MonitorService, text: str, *, env: dict[str, str] | None = None,
                     dry_run: bool = False, now: datetime | None = None) -> ApplyReport:
    return await apply_document(svc, parse_text(text, "f.yaml", env or {}), dry_run=dry_run,
                                now=now)


async def refused(svc: MonitorService, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigFileError) as info:
        await apply_text(svc, text, env=env)
    return str(info.value).splitlines()


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    """Everything an apply may write, to compare before and after."""
    return {
        "users": [tuple(r) for r in await pool.fetch(
            "SELECT id, tier, tier_expires_at FROM users ORDER BY id")],
        "monitors": [tuple(r) for r in await pool.fetch(
            "SELECT id, public_id, owner_id, name, type, config, interval_s, tier, "
            "failure_threshold, success_threshold, language, state, maintenance_until, "
            "managed_by, managed_hash, next_due FROM monitors ORDER BY id")],
        "channels": [tuple(r) for r in await pool.fetch(
            "SELECT id, owner_id, monitor_id, kind, config, enabled, min_severity, managed_by "
            "FROM alert_channels ORDER BY id")],
        "heartbeats": [tuple(r) for r in await pool.fetch(
            "SELECT token_hash, monitor_id FROM heartbeats ORDER BY token_hash")],
    }


async def ids(pool: asyncpg.Pool) -> dict[str, Any]:
    return {r["name"]: r["public_id"] for r in await pool.fetch("SELECT name, public_id FROM monitors")}


async def test_the_example_file_applies_and_covers_every_check_type(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    declared = {m["type"] for m in yaml.safe_load(EXAMPLE.read_text())["monitors"]}
    missing = sorted(set(check_types()) - declared)
    assert missing == [], f"add an entry of each new type to examples/lighthouse.yaml: {missing}"

    report = await apply_file(svc, EXAMPLE, env=EXAMPLE_ENV)
    # + 2 channels and a status page
    assert report.count("+") == len(declared) + 3 and report.count("-") == 0
    assert report.tokens == {}  # the heartbeat's token is in the file
    assert report.next_window == datetime(2030, 1, 5, 2, tzinfo=UTC)
    rows = await pool.fetch(
        "SELECT m.type, m.managed_by, i.provider, i.subject, u.tier FROM monitors m "
        "JOIN users u ON u.id = m.owner_id JOIN user_identities i ON i.user_id = u.id")
    assert {r["type"] for r in rows} == set(check_types())
    assert {(r["provider"], r["subject"], r["tier"]) for r in rows} == {("operator", "admin",
                                                                           "enterprise")}
    assert all(r["managed_by"].startswith("file:") for r in rows)
    channels = await pool.fetch("SELECT kind, config, monitor_id, managed_by FROM alert_channels")
    assert sorted((c["kind"], c["config"]["url"], c["monitor_id"] is None) for c in channels) == [
        ("discord_webhook", EXAMPLE_ENV["WEBSITE_DISCORD_WEBHOOK"], False),
        ("webhook", EXAMPLE_ENV["ALERT_WEBHOOK_URL"], True)]
    ping = hash_token(EXAMPLE_ENV["BACKUP_PING_TOKEN"])
    assert await pool.fetchval("SELECT monitor_id FROM heartbeats WHERE token_hash = $1", ping)

    before = await snapshot(pool)
    again = await apply_file(svc, EXAMPLE, env=EXAMPLE_ENV)
    assert again.changes == [] and again.unchanged == len(declared)
    assert await snapshot(pool) == before


async def test_changes_apply_in_place_and_only_the_files_monitors_are_touched(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    chat = await svc.create_monitor(CHAT_USER, config={"url": "http://127.0.0.1:9/chat"},
                                    name="Gone")
    by_hand = await svc.create_monitor(OPERATOR, config={"url": "http://127.0.0.1:9/hand"},
                                       name="By hand")
    await apply_text(svc, BASE)
    first = await ids(pool)
    site = await pool.fetchval("SELECT id FROM monitors WHERE name = 'Site'")
    await pool.execute("INSERT INTO check_history (time, monitor_id, ok) VALUES (now(), $1, true)",
                       site)
    others = "SELECT * FROM monitors WHERE id = ANY($1::bigint[]) ORDER BY id"
    untouched = [tuple(r) for r in await pool.fetch(others, [chat.id, by_hand.id])]

    changed = BASE.replace("name: Site", "name: Website").replace(
        "url: http://127.0.0.1:9/health", "url: http://127.0.0.1:9/healthz\n      method: HEAD"
    ).replace("    type: tcp\n", "    type: tcp\n    failure_threshold: 5\n").replace(
        '  - name: Gone\n    config: {url: "http://127.0.0.1:9/gone"}\n',
        '  - name: New\n    interval: 2m\n    config: {url: "http://127.0.0.1:9/new"}\n')
    report = await apply_text(svc, changed)
    assert report.lines() == [
        '+ monitor "New" (http)',
        '~ monitor "Website" (name, config)',
        '~ monitor "Mail" (failure_threshold)',
        '- monitor "Gone" (http)',
        "applied: 1 to add, 2 to change, 1 to remove, 0 monitors unchanged",
    ]
    now = await ids(pool)
    assert now["Website"] == first["Site"] and now["Mail"] == first["Mail"]  # in place
    assert await pool.fetchval("SELECT count(*) FROM check_history WHERE monitor_id = $1", site) == 1
    row = await pool.fetchrow("SELECT config, interval_s FROM monitors WHERE name = 'Website'")
    assert row["config"]["method"] == "HEAD" and row["interval_s"] == 60
    assert await pool.fetchval("SELECT interval_s FROM monitors WHERE name = 'New'") == 120
    assert [tuple(r) for r in await pool.fetch(others, [chat.id, by_hand.id])] == untouched

    # A monitor the file does not manage keeps its name: the file may not take it.
    lines = await refused(svc, changed + "  - name: by HAND\n    config: {url: 'http://127.0.0.1:9/x'}\n")
    assert any(line.startswith("f.yaml:17: monitors[3].name: a monitor named 'by HAND' exists "
                               "that this file does not manage") for line in lines), lines

    # Removing every entry removes the file's monitors, and nothing else.
    emptied = await apply_text(svc, "monitors: []\n")
    assert emptied.count("-") == 3
    assert sorted(await ids(pool)) == ["By hand", "Gone"]
    assert [tuple(r) for r in await pool.fetch(others, [chat.id, by_hand.id])] == untouched


async def test_a_broken_file_is_refused_whole_with_its_lines(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    await apply_text(svc, BASE)
    before = await snapshot(pool)
    broken = BASE.replace("port: 25", "port: 99999").replace(
        '["[STATUS] == 200"]', '["[STATUS] =! 200"]').replace(
        '  - name: Gone\n    config: {url: "http://127.0.0.1:9/gone"}\n',
        "  - name: Fast\n    interval: 10\n    config: {url: 'http://127.0.0.1:9/f'}\n"
        "  - name: Odd\n    type: htp\n    config: {}\n")
    lines = await refused(svc, broken)
    assert lines == [
        "f.yaml:8: monitors[0].config.conditions[0]: unknown operator '=!' (use ==, !=, <, <=, "
        ">, >=, contains, not contains, matches, not matches, in, not in, schema) at position 9",
        "f.yaml:11: monitors[1].config.port: expected 65535 or less",
        "f.yaml:13: monitors[2].interval: expected 30 to 86400 seconds",
        "f.yaml:16: monitors[3].type: unknown check type 'htp' (known canary, dns, evm_balance, "
        "evm_rpc, heartbeat, http, tcp, tls, ws, x402)",
    ]
    assert await snapshot(pool) == before  # Gone not removed, nothing added or changed


async def test_environment_variables_reach_configs_and_an_unset_one_is_named(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    text = BASE + textwrap.dedent("""\
        channels:
          - kind: webhook
            config: {url: "${HOOK_URL}", secret: "${HOOK_SECRET}"}
            min_severity: critical
          - kind: webhook
            monitor: site
            config: {url: "${HOOK_URL}/site"}
        """)
    env = {"HOOK_URL": "http://127.0.0.1:9/hook", "HOOK_SECRET": "s3cret-signing-key"}
    report = await apply_text(svc, text, env=env)
    assert [c.render() for c in report.changes if c.kind == "channel"] == [
        "+ channel webhook for all monitors", '+ channel webhook for "Site"']
    stored = await pool.fetch("SELECT config, monitor_id, min_severity FROM alert_channels ORDER BY id")
    assert stored[0]["config"] == {"url": env["HOOK_URL"], "secret": env["HOOK_SECRET"]}
    assert stored[1]["config"] == {"url": env["HOOK_URL"] + "/site"}
    assert stored[1]["monitor_id"] == await pool.fetchval("SELECT id FROM monitors WHERE name = 'Site'")
    assert (await apply_text(svc, text, env=env)).changes == []

    before = await snapshot(pool)
    lines = await refused(svc, text, {"HOOK_URL": env["HOOK_URL"]})
    assert lines == ["f.yaml:16: environment variable HOOK_SECRET is not set (write "
                     "$${HOOK_SECRET} for a literal ${HOOK_SECRET}, e.g. a canary variable)"]
    assert await snapshot(pool) == before

    # A channel dropped from the file goes; one the operator added by hand stays.
    await svc.add_channel(OPERATOR, "webhook", {"url": "http://127.0.0.1:9/by-hand"})
    trimmed = await apply_text(svc, BASE, env=env)
    assert [c.op for c in trimmed.changes] == ["-", "-"]
    left = await pool.fetch("SELECT config, managed_by FROM alert_channels")
    assert [(r["config"]["url"], r["managed_by"]) for r in left] == [("http://127.0.0.1:9/by-hand", None)]


async def test_a_dry_run_prints_the_plan_and_changes_nothing(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    empty = await snapshot(pool)
    plan = await apply_text(svc, BASE, dry_run=True)
    assert plan.lines() == [
        "~ tier none -> enterprise", '+ monitor "Site" (http)', '+ monitor "Mail" (tcp)',
        '+ monitor "Gone" (http)', "plan: 3 to add, 1 to change, 0 to remove, 0 monitors unchanged"]
    assert await snapshot(pool) == empty
    await apply_text(svc, BASE)
    applied = await snapshot(pool)
    plan = await apply_text(svc, BASE.replace("port: 25", "port: 2525"), dry_run=True)
    assert [c.render() for c in plan.changes] == ['~ monitor "Mail" (config)']
    assert await snapshot(pool) == applied


async def test_targets_and_tiers_are_judged_by_the_services_rules(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    strict = MonitorService(pool, OfflineGuard(allow_private=False))
    lines = await refused(strict, BASE)
    assert lines[0].startswith("f.yaml:7: monitors[0].config.url: 127.0.0.1 resolves to 127.0.0.1, a "
                               "loopback address") and "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS=true" in lines[0]
    assert await pool.fetchval("SELECT count(*) FROM monitors") == 0

    assert await refused(svc, "tier: free\n" + BASE.removeprefix("defaults:\n  interval: 60\n")) == [
        "f.yaml:1: tier: monitor limit reached (tier free, limit 1); raise tier: or declare "
        "fewer monitors"]
    canary = ("tier: pro\nmonitors:\n  - name: Flow\n    type: canary\n    interval: 10m\n"
              "    config: {steps: [{action: http, url: 'http://127.0.0.1:9/'}]}\n"
              "  - {name: Slow, interval: 30, config: {url: 'http://127.0.0.1:9/s'}}\n")
    assert await refused(svc, canary.replace("tier: pro", "tier: basic")) == [
        "f.yaml:4: monitors[0].type: canary monitors need a higher tier (tier basic, feature "
        "canary); raise tier: in this file",
        "f.yaml:7: monitors[1].interval: 30 seconds is shorter than the basic tier allows (900 "
        "seconds); raise tier: in this file or choose a longer interval"]
    assert (await apply_text(svc, canary.replace("interval: 30", "interval: 60"))).count("+") == 2
    assert await pool.fetchval("SELECT tier FROM users") == "pro"


async def test_a_heartbeat_keeps_its_ping_url_and_takes_a_new_token_from_the_file(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    first, second = "first-token-0123456789abc", "second-token-0123456789ab"
    text = ("monitors:\n  - name: Backup\n    type: heartbeat\n"
            "    config: {period_s: 3600, token: '${PING}'}\n")
    await apply_text(svc, text, env={"PING": first})
    assert await record_ping(pool, first, "success")
    monitor = await pool.fetchrow("SELECT id, failure_threshold, success_threshold FROM monitors")
    assert (monitor["failure_threshold"], monitor["success_threshold"]) == (1, 1)

    report = await apply_text(svc, text.replace("3600", "7200"), env={"PING": first})
    assert [c.render() for c in report.changes] == ['~ monitor "Backup" (config)']
    assert await record_ping(pool, first, "success")  # same URL
    report = await apply_text(svc, text, env={"PING": second})
    assert [c.render() for c in report.changes] == ['~ monitor "Backup" (config, ping token)']
    assert not await record_ping(pool, first, "success") and await record_ping(pool, second, "start")
    assert await pool.fetchval("SELECT id FROM monitors") == monitor["id"]

    # Without a token one is made, and returned once (`lighthouse apply` prints it).
    report = await apply_text(svc, text.replace("token: '${PING}'", "grace_s: 60"))
    assert report.tokens == {} and await record_ping(pool, second, "success")
    report = await apply_text(svc, "monitors:\n  - name: Cron\n    type: heartbeat\n"
                                   "    config: {period_s: 3600}\n")
    (made,) = report.tokens.values()
    assert await record_ping(pool, made, "success")
    assert await refused(svc, text, {"PING": "short"}) == [
        "f.yaml:4: monitors[0].config.token: a ping token is 20 to 64 letters, digits, - or _"]


async def test_a_new_type_replaces_the_monitor(svc: MonitorService, pool: asyncpg.Pool) -> None:
    await apply_text(svc, BASE)
    before = await ids(pool)
    report = await apply_text(svc, BASE.replace("    type: tcp\n    config: {host: 127.0.0.1, port: 25}",
                                                "    type: tls\n    config: {host: 127.0.0.1, port: 465}"))
    assert [c.render() for c in report.changes] == ['+ monitor "Mail" (tls, replaces one of another type)']
    assert (await ids(pool))["Mail"] != before["Mail"]
    assert await pool.fetchval("SELECT type FROM monitors WHERE name = 'Mail'") == "tls"


async def test_maintenance_windows_start_when_due(svc: MonitorService, pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now + timedelta(hours=1), now + timedelta(hours=2)
    text = BASE + (f"maintenance:\n  - monitors: [site, Mail]\n"
                   f"    from: {start.isoformat()}\n    until: {end.isoformat()}\n")
    report = await apply_text(svc, text, now=now)
    assert report.next_window == start
    assert await pool.fetchval("SELECT count(*) FROM monitors WHERE state = 'maintenance'") == 0

    during = await apply_text(svc, text, now=start + timedelta(minutes=1))
    assert [c.render() for c in during.changes] == [
        f'~ maintenance "Site" (until {end.isoformat()})', f'~ maintenance "Mail" (until {end.isoformat()})']
    rows = await pool.fetch("SELECT name, maintenance_until FROM monitors WHERE state = 'maintenance'")
    assert sorted((r["name"], r["maintenance_until"]) for r in rows) == [("Mail", end), ("Site", end)]
    assert (await apply_text(svc, text, now=start + timedelta(minutes=2))).changes == []
    # Over: nothing more to do, and no next window.
    after = await apply_text(svc, text, now=end + timedelta(minutes=1))
    assert after.changes == [] and after.next_window is None


async def test_concurrent_applies_take_turns(svc: MonitorService, pool: asyncpg.Pool) -> None:
    one, two = await asyncio.gather(apply_text(svc, BASE), apply_text(svc, BASE))
    assert sorted([one.count("+"), two.count("+")]) == [0, 3]
    assert await pool.fetchval("SELECT count(*) FROM monitors") == 3


async def test_update_monitor_validates_and_the_next_apply_restores_the_file(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    await apply_text(svc, BASE)
    with pytest.raises(InvalidIntervalError):
        await svc.update_monitor(OPERATOR, "Mail", interval_s=10)
    m = await svc.update_monitor(OPERATOR, "Mail", interval_s=600, name="Mail server")
    assert (m.interval_s, m.name) == (600, "Mail server")
    assert await pool.fetchval("SELECT managed_hash FROM monitors WHERE id = $1", m.id) is None
    report = await apply_text(svc, BASE)
    assert [c.render() for c in report.changes] == ['~ monitor "Mail" (name, interval)']
    assert await pool.fetchval("SELECT interval_s FROM monitors WHERE id = $1", m.id) == 60


async def test_the_readme_file_applies(svc: MonitorService, pool: asyncpg.Pool) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Add your first monitor", 1)[1]
    text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    report = await apply_text(svc, text, env={"ALERT_WEBHOOK_URL": "https://hooks.example.com/x"})
    assert [c.op for c in report.changes] == ["~", "+", "+"]  # tier, the monitor, the channel
    assert await pool.fetchval("SELECT interval_s FROM monitors WHERE name = 'Website'") == 60


PAGES = BASE + """\
status_pages:
  - slug: acme
    title: Acme
    monitors: [site, Mail]
  - slug: everything
"""


async def test_status_pages_apply_idempotently_like_monitors(
        svc: MonitorService, pool: asyncpg.Pool) -> None:
    report = await apply_text(svc, PAGES)
    assert [c.render() for c in report.changes if c.kind == "status page"] == [
        "+ status page acme", "+ status page everything"]
    shown = {p.slug: p for p in await svc.list_status_pages(OPERATOR)}
    mine = await ids(pool)
    assert shown["acme"].monitors == (str(mine["Site"]), str(mine["Mail"]))
    assert shown["acme"].title == "Acme" and shown["everything"].monitors == ()
    assert (await apply_text(svc, PAGES)).changes == []  # unchanged: nothing to do
    # A page made outside the file (the CLI, chat) is left alone, and its slug refused.
    await svc.create_status_page(OPERATOR, slug="by-hand")
    changed = PAGES.replace("monitors: [site, Mail]", "monitors: [Mail]").replace(
        "  - slug: everything\n", "")
    report = await apply_text(svc, changed)
    assert [c.render() for c in report.changes] == [
        "~ status page acme", "- status page everything"]
    shown = {p.slug: p for p in await svc.list_status_pages(OPERATOR)}
    assert set(shown) == {"acme", "by-hand"} and shown["acme"].monitors == (str(mine["Mail"]),)
    lines = await refused(svc, changed + "  - slug: by-hand\n")
    assert lines == ["f.yaml:18: status_pages[1].slug: a status page 'by-hand' exists that this "
                     "file does not manage (made outside it); choose another slug"]
    lines = await refused(svc, BASE + "status_pages:\n  - slug: Bad.Slug\n    monitors: [nope]\n")
    assert lines == ["f.yaml:15: status_pages[0].slug: expected 3-48 lowercase letters, digits "
                     "or dashes", "f.yaml:16: status_pages[0].monitors[0]: no monitor 'nope' in "
                     "this file"]
    assert {p.slug for p in await svc.list_status_pages(OPERATOR)} == {"acme", "by-hand"}
