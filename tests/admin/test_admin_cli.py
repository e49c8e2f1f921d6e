"""The operator's CLI, run as the installed console script against a real PostgreSQL
(DATABASE_URL: this test's database): round trips through MonitorService with the exit
codes scripts rely on (0 done, 1 down, 2 bad input) and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import ast
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from adminkit import clean_env, cli, running_receiver
from cryptography.fernet import Fernet
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.runner import run_check
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from lighthouse.core.storage.results import Finished, ResultWriter
from lighthouse.core.storage.schedule import claim_due
from targets import Target

ROOT = Path(__file__).resolve().parents[2]


def env_for(dsn: str, **extra: str) -> dict[str, str]:
    return clean_env(DATABASE_URL=dsn, LIGHTHOUSE_ALLOW_PRIVATE_TARGETS="1", **extra)


async def one_check_round(pool: asyncpg.Pool, ctx: CheckContext) -> None:
    """The scheduler's path once: claim what is due, check it for real, write the result."""
    await pool.execute("UPDATE monitors SET next_due = now() - interval '1 ms'")
    writer = ResultWriter(pool, "test-cli")
    for claim in await claim_due(pool, "test-cli", 100):
        result = await run_check(claim.type, claim.config, ctx)
        writer.add(Finished(claim, result, datetime.now(UTC), str(claim.config.get("url"))))
    await writer.flush()


async def test_monitor_round_trip_with_exit_codes(
    dsn: str, pool: asyncpg.Pool, target: Target, check_context: CheckContext
) -> None:
    env = env_for(dsn)
    added = await cli("monitor", "add", target.url, "--name", "web", "--interval", "30s",
                      "--failure-threshold", "1", "--json", env=env)
    assert added.code == 0, added.err
    web = added.json()["monitor"]
    assert (web["name"], web["type"], web["interval_s"], web["state"]) == ("web", "http", 30, "pending")
    # Independent commands run side by side: each CLI start costs a second.
    tcp, typed = await asyncio.gather(
        cli("monitor", "add", f"tcp://127.0.0.1:{target.port}", env=env),
        cli("monitor", "add", "--type", "http", "--name", "conditions", "--config",
            f'{{"url": "{target.url}", "conditions": ["[STATUS] == 200"]}}', env=env))
    assert tcp.code == 0 and "tcp" in tcp.out, tcp.err
    assert typed.code == 0, typed.err

    listed, table, spanish = await asyncio.gather(
        cli("monitor", "list", "--json", env=env), cli("monitor", "list", env=env),
        cli("monitor", "list", env={**env, "LANG": "es_ES.UTF-8"}))
    assert sorted(m["type"] for m in listed.json()["monitors"]) == ["http", "http", "tcp"]
    assert table.out.splitlines()[0].split()[:4] == ["ID", "NAME", "TYPE", "STATE"]
    assert any(line.split()[1] == "web" for line in table.out.splitlines()[1:])
    assert spanish.out.splitlines()[0].split()[:2] == ["ID", "NOMBRE"]

    # One real check through the writer: failing target, failure threshold 1 -> down.
    target.status = 503
    await one_check_round(pool, check_context)
    shown = await cli("monitor", "show", "web", env=env)
    assert shown.code == 1, shown.out + shown.err  # down
    assert "web" in shown.out.splitlines()[0] and "down" in shown.out
    history = await cli("monitor", "history", "web", "--json", env=env)
    [check] = history.json()["checks"]
    assert (check["ok"], check["status_code"]) == (False, 503)
    tested = await cli("monitor", "test", "web", env=env)
    assert tested.code == 1 and tested.out.startswith("❌ web is down"), tested.out
    target.status = 200
    tested = await cli("monitor", "test", "web", "--json", env=env)
    assert tested.code == 0 and tested.json()["result"]["ok"] is True

    assert (await cli("monitor", "pause", "web", env=env)).code == 0
    again = await cli("monitor", "pause", "web", env=env)
    assert again.code == 2 and "already paused" in again.err
    resumed = await cli("monitor", "resume", web["id"][:8], "--json", env=env)
    assert resumed.code == 0 and resumed.json()["monitor"]["state"] == "pending"
    assert (await cli("monitor", "remove", "web", env=env)).code == 0
    gone = await cli("monitor", "show", "web", "--json", env=env)
    assert gone.code == 2 and gone.json()["error"]["code"] == "monitor_not_found"


async def test_bad_input_exits_2_with_a_sentence(dsn: str) -> None:
    env = env_for(dsn)
    cases: list[tuple[tuple[str, ...], str]] = [
        (("monitor", "add"), "Give a target"),
        (("monitor", "add", "gopher://x.example"), "http:// or https://"),
        (("monitor", "add", "--type", "tcp", "--config", "{nope"), "--config is not valid JSON"),
        (("monitor", "add", "https://example.com", "--interval", "soon"), "is not an interval"),
        (("monitor", "add", "https://example.com", "--interval", "5s"), "interval"),
        (("maintenance", "add", "nothing", "--until", "tomorrow"), "is not a time"),
    ]
    results = await asyncio.gather(*(cli(*args, env=env) for args, _said in cases))
    for (args, said), out in zip(cases, results, strict=True):
        assert out.code == 2, (args, out.out, out.err)
        assert said in out.err and "Traceback" not in out.err, (args, out.err)
    bad = await cli("monitor", "add", "--type", "nope", "--config", "{}", "--json", env=env)
    assert bad.code == 2 and bad.json()["error"]["code"] == "unknown_check_type"


async def test_a_refused_private_target_names_the_setting(dsn: str, target: Target) -> None:
    env = clean_env(DATABASE_URL=dsn)  # LIGHTHOUSE_ALLOW_PRIVATE_TARGETS unset: refused
    refused = await cli("monitor", "add", target.url, env=env)
    assert refused.code == 2
    assert "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS=true" in refused.err, refused.err
    as_json = await cli("monitor", "add", target.url, "--json", env=env)
    assert as_json.json()["error"]["code"] == "target_not_allowed"
    assert target.hits == 0


async def test_channels_round_trip_and_test_alerts(dsn: str) -> None:
    env = env_for(dsn)
    async with running_receiver() as receiver:
        added = await cli("channel", "add", "webhook", receiver.url, "--secret", "s3cret-value",
                          "--min-severity", "warning", "--json", env=env)
        assert added.code == 0, added.err
        channel = added.json()["channel"]
        # The secret is shown as a hint, never whole (core/service/channels.py shown_config).
        assert channel["config"]["url"] == receiver.url
        assert channel["config"]["secret"].startswith("…") and "s3cret" not in channel["config"]["secret"]
        listed = await cli("channel", "list", env=env)
        assert "s3cret-value" not in listed.out and receiver.url in listed.out
        number = str(channel["id"])

        sent = await cli("channel", "test", number, env=env)
        assert sent.code == 0, sent.out + sent.err
        [(headers, body)] = receiver.received
        assert body["type"] == "test" and body["title"].startswith("Test alert")
        assert headers["X-Lighthouse-Signature"].startswith("t=")
        receiver.status = 500
        failed = await cli("channel", "test", number, "--json", env=env)
        assert failed.code == 1 and failed.json()["delivered"] is False
        still = (await cli("channel", "list", "--json", env=env)).json()["channels"]
        assert still[0]["enabled"] is True  # a failed test does not disable the channel

    assert (await cli("channel", "test", "999", env=env)).code == 2
    chat_only = await cli("channel", "add", "telegram", "--config", '{"chat_id": 1}', env=env)
    assert chat_only.code == 2
    removed = await cli("channel", "remove", number, env=env)
    assert removed.code == 0 and f"#{number}" in removed.out
    assert (await cli("channel", "list", "--json", env=env)).json()["channels"] == []


async def test_user_tier_sets_a_plan_the_service_then_applies(
    dsn: str, pool: asyncpg.Pool, guard: TargetGuard
) -> None:
    env = env_for(dsn)
    out = await cli("user", "tier", "discord:1234", "pro", "--days", "30", "--json", env=env)
    assert out.code == 0, out.err
    body = out.json()
    assert (body["user"], body["tier"]) == ("discord:1234", "pro")
    ends = datetime.fromisoformat(body["tier_expires_at"])
    assert timedelta(days=29) < ends - datetime.now(UTC) <= timedelta(days=30)
    forever = await cli("user", "tier", "telegram:55", "enterprise", env=env)
    assert forever.code == 0 and "no end date" in forever.out

    service = MonitorService(pool, guard)
    user = await service.find_user(Identity(Provider.DISCORD, "1234"))
    assert user is not None and user.tier == "pro"
    await service.create_monitor(Identity(Provider.DISCORD, "1234"),
                                 config={"url": "http://127.0.0.1:9/"}, name="theirs")
    theirs = await cli("monitor", "list", "--owner", "discord:1234", "--json", env=env)
    assert [m["name"] for m in theirs.json()["monitors"]] == ["theirs"]

    # The instance's default outranks a lower plan, and the CLI says so.
    raised = await cli("user", "tier", "discord:77", "basic", "--json",
                       env={**env, "LIGHTHOUSE_DEFAULT_TIER": "standard"})
    assert raised.json()["tier"] == "standard" and raised.json()["raised_by_default_tier"]

    cases = [("discord:abc", "pro"), ("discord:1", "gold"), ("discord:1", "pro", "--days", "0"),
             ("api:x", "pro")]
    for args, bad in zip(cases, await asyncio.gather(*(cli("user", "tier", *a, env=env)
                                                       for a in cases)), strict=True):
        assert bad.code == 2 and bad.err.startswith("lighthouse: "), (args, bad.err)


async def test_maintenance_now_planned_listed_and_ended(dsn: str, target: Target) -> None:
    env = env_for(dsn)
    assert (await cli("monitor", "add", target.url, "--name", "api", env=env)).code == 0
    now = await cli("maintenance", "add", "api", "--until", "+1h", "--json", env=env)
    assert now.code == 0, now.err
    assert now.json()["monitor"]["state"] == "maintenance" and now.json()["window"] is None
    start = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%MZ")
    planned = await cli("maintenance", "add", "api", "--from", start, "--until", "+2d", env=env)
    assert planned.code == 0 and "planned from" in planned.out, planned.err
    listed: dict[str, Any] = (await cli("maintenance", "list", "--json", env=env)).json()
    assert [m["name"] for m in listed["current"]] == ["api"]
    assert [w["monitor_name"] for w in listed["planned"]] == ["api"]

    past, backwards = await asyncio.gather(
        cli("maintenance", "add", "api", "--until", "2000-01-01T00:00Z", env=env),
        cli("maintenance", "add", "api", "--from", "+2h", "--until", "+1h", env=env))
    assert past.code == 2 and "--until must be in the future" in past.err
    assert backwards.code == 2 and "--until must be after --from" in backwards.err

    ended = await cli("maintenance", "end", "api", "--json", env=env)
    assert ended.code == 0 and ended.json()["cancelled_windows"] == 1
    assert (await cli("maintenance", "list", "--json", env=env)).json()["planned"] == []


def test_the_operator_modules_hold_no_sql() -> None:
    """The CLI and the banner go through MonitorService; statements live in core/storage/."""
    for name in ("admin_cli.py", "admin_commands.py", "banner.py", "operator_texts.py"):
        path = ROOT / "lighthouse" / name
        text = path.read_text()
        assert not [w for w in ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM") if w in text]
        modules = {n.module for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ImportFrom)}
        assert not {m for m in modules if m and m.startswith("asyncpg")}, name


async def test_channel_secrets_from_the_cli_are_stored_encrypted(
    dsn: str, pool: asyncpg.Pool
) -> None:
    """LIGHTHOUSE_SECRET_KEY set: the row holds no plaintext (read with SQL), the CLI never
    prints it, and a test alert from another process with the same key is still signed and
    sent; one without the key sends nothing rather than a ciphertext."""
    env = env_for(dsn, LIGHTHOUSE_SECRET_KEY=Fernet.generate_key().decode())
    async with running_receiver() as receiver:
        added = await cli("channel", "add", "webhook", receiver.url, "--secret", "s3cret-value",
                          "--json", env=env)
        assert added.code == 0, added.err
        number = str(added.json()["channel"]["id"])
        stored = await pool.fetchval("SELECT config::text FROM alert_channels")
        assert "s3cret" not in stored and "lhenc:v1:" in stored and receiver.url in stored
        listed = await cli("channel", "list", "--json", env=env)
        assert "s3cret" not in listed.out and "lhenc" not in listed.out
        sent = await cli("channel", "test", number, env=env)
        assert sent.code == 0, sent.out + sent.err
        [(headers, _body)] = receiver.received
        assert headers["X-Lighthouse-Signature"].startswith("t=")
        keyless = await cli("channel", "test", number, "--json", env=env_for(dsn))
        assert keyless.code == 1 and keyless.json()["delivered"] is False
        assert len(receiver.received) == 1
