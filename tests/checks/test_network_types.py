"""tcp, dns and tls checks against real local counterparts on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import trustme
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.runner import run_check
from lighthouse.core.errors import LighthouseError, TargetNotAllowedError, ValidationError
from lighthouse.core.http_client import make_session
from lighthouse.core.models import Identity, Provider
from lighthouse.core.netguard import TargetGuard
from lighthouse.core.service import MonitorService
from net_targets import ca_pem, dns_listener, tcp_listener, tls_listener

LIGHTHOUSE = str(Path(sys.executable).with_name("lighthouse"))
WHO = Identity(Provider.API, "net")


# --- counterparts (tests/checks/net_targets.py) ------------------------------------
@pytest.fixture
async def tcp_server() -> AsyncIterator[int]:
    async with tcp_listener() as port:
        yield port


@pytest.fixture
async def dns_server() -> AsyncIterator[str]:
    async with dns_listener() as server:
        yield server


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


# --- tcp -----------------------------------------------------------------------------
async def test_tcp_connect_banner_and_failures(check_context: CheckContext, tcp_server: int,
                                               make_free_port: Any) -> None:
    up = await run_check("tcp", {"host": "127.0.0.1", "port": tcp_server}, check_context)
    assert up.ok and up.latency_ms is not None and up.details["address"] == "127.0.0.1"
    banner = await run_check("tcp", {"host": "localhost", "port": tcp_server, "send": "PING\r\n",
                                     "expect": "+PONG"}, check_context)
    assert banner.ok, banner
    wrong = await run_check("tcp", {"host": "127.0.0.1", "port": tcp_server, "expect": "SSH-2.0"},
                            check_context)
    assert (wrong.ok, wrong.error_code) == (False, "unexpected_banner")
    refused = await run_check("tcp", {"host": "127.0.0.1", "port": make_free_port()}, check_context)
    assert (refused.ok, refused.error_code) == (False, "connection_refused")


# --- dns -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "ok", "code"),
    [
        ({"name": "api.lighthouse.test", "expected": ["203.0.113.7"]}, True, None),
        ({"name": "api.lighthouse.test", "expected": ["203.0.113.7"], "match": "exact"},
         False, "unexpected_answer"),
        ({"name": "api.lighthouse.test", "expected": ["203.0.113.8", "203.0.113.7"],
          "match": "exact"}, True, None),
        ({"name": "api.lighthouse.test", "expected": ["198.51.100.1"]}, False, "unexpected_answer"),
        ({"name": "lighthouse.test", "record_type": "mx", "expected": ["10 mail.lighthouse.test."]},
         True, None),
        ({"name": "lighthouse.test", "record_type": "TXT", "expected": ["v=spf1 -all"]}, True, None),
        ({"name": "nope.lighthouse.test"}, False, "unexpected_rcode"),
        ({"name": "nope.lighthouse.test", "rcode": "NXDOMAIN"}, True, None),
    ],
)
async def test_dns_answers_and_rcodes(check_context: CheckContext, dns_server: str,
                                      config: dict[str, Any], ok: bool, code: str | None) -> None:
    r = await run_check("dns", {**config, "server": dns_server}, check_context)
    assert (r.ok, r.error_code) == (ok, code), r
    assert "rcode" in r.details


async def test_dns_timeout_against_a_silent_server(check_context: CheckContext,
                                                   make_free_port: Any) -> None:
    r = await run_check("dns", {"name": "x.test", "server": f"127.0.0.1:{make_free_port()}",
                                "timeout_s": 0.3}, check_context)
    assert not r.ok and r.error_code in {"timeout", "dns_error"}


# --- tls -----------------------------------------------------------------------------
async def test_tls_valid_certificate_with_days_left(check_context: CheckContext,
                                                    ca: trustme.CA) -> None:
    async with tls_listener(ca, "localhost", days=60) as port:
        r = await run_check("tls", {"host": "localhost", "port": port, "ca_pem": ca_pem(ca)},
                            check_context)
    assert r.ok, r
    assert 59.5 < r.details["tls"]["days_left"] < 60.1 and r.details["tls"]["verified"]
    assert r.signals == []


async def test_tls_expiring_soon_signals_once_per_threshold(check_context: CheckContext,
                                                            ca: trustme.CA) -> None:
    async with tls_listener(ca, "localhost", days=5) as port:
        cfg = {"host": "localhost", "port": port, "ca_pem": ca_pem(ca)}
        first = await run_check("tls", cfg, check_context)
        second = await run_check("tls", cfg, check_context)
        strict = await run_check("tls", {**cfg, "min_days": 7}, check_context)
    assert first.ok
    [sig] = first.signals
    assert (sig.alert_type, sig.severity, sig.params["days_left"]) == ("certificate_expiry",
                                                                       "warning", 4)
    assert sig.dedupe_key.endswith(":7")
    assert [s.dedupe_key for s in second.signals] == [sig.dedupe_key]
    assert (strict.ok, strict.error_code) == (False, "tls_expiring")


async def test_tls_failures_are_distinct(check_context: CheckContext, ca: trustme.CA) -> None:
    async with tls_listener(ca, "localhost", days=-1) as p1, \
            tls_listener(ca, "other.example", days=30) as p2:
        r1 = await run_check("tls", {"host": "localhost", "port": p1, "ca_pem": ca_pem(ca)},
                             check_context)
        r2 = await run_check("tls", {"host": "localhost", "port": p2, "ca_pem": ca_pem(ca)},
                             check_context)
        r3 = await run_check("tls", {"host": "localhost", "port": p2}, check_context)  # system CAs
    assert (r1.ok, r1.error_code) == (False, "tls_expired")
    assert r1.signals and r1.signals[0].severity == "critical"
    assert (r2.ok, r2.error_code) == (False, "tls_hostname_mismatch")
    assert (r3.ok, r3.error_code) == (False, "tls_certificate")
    assert r2.details["tls"]["verified"] is False  # still reports the certificate it saw


# --- through the service, with the guard ---------------------------------------------
async def test_types_are_creatable_and_bad_configs_refused(service: MonitorService,
                                                           pool: asyncpg.Pool) -> None:
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    made = [
        await service.create_monitor(WHO, type="tcp", config={"host": "127.0.0.1", "port": 5432}),
        await service.create_monitor(WHO, type="dns", config={"name": "example.com",
                                                              "server": "127.0.0.1:5353"}),
        await service.create_monitor(WHO, type="tls", config={"host": "localhost"}),
    ]
    assert [m.type for m in made] == ["tcp", "dns", "tls"]
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("tcp", {"host": "127.0.0.1"}, "port"),
        ("tcp", {"host": "127.0.0.1", "port": 70000}, "port"),
        ("tcp", {"host": "not a host!", "port": 80}, "host"),
        ("dns", {"name": "example.com", "record_type": "BOGUS"}, "record_type"),
        ("dns", {"name": "example.com", "server": "dns.google"}, "server"),
        ("dns", {"name": "example.com", "rcode": "MAYBE"}, "rcode"),
        ("tls", {"host": "example.com", "warn_days": [0]}, "warn_days"),
        ("tls", {"host": "example.com", "ca_pem": "nope"}, "ca_pem"),
    ]
    for type_, config, field in bad:
        with pytest.raises(ValidationError) as info:
            await service.create_monitor(WHO, type=type_, config=config)
        assert info.value.params["field"] == field, (type_, config)
    assert await pool.fetchval("SELECT count(*) FROM monitors") == 3


async def test_guard_refuses_private_targets_for_each_type(pool: asyncpg.Pool, tcp_server: int,
                                                           dns_server: str) -> None:
    strict = MonitorService(pool, TargetGuard(allow_private=False))
    for type_, config in (("tcp", {"host": "127.0.0.1", "port": tcp_server}),
                          ("tcp", {"host": "localhost", "port": tcp_server}),
                          ("dns", {"name": "example.com", "server": dns_server}),
                          ("tls", {"host": "localhost", "port": 443})):
        with pytest.raises(TargetNotAllowedError):
            await strict.create_monitor(WHO, type=type_, config=config)
    guard = TargetGuard(allow_private=False)
    async with make_session(guard) as session:
        ctx = CheckContext(session, guard)
        for type_, config in (("tcp", {"host": "127.0.0.1", "port": tcp_server}),
                              ("dns", {"name": "x.test", "server": dns_server}),
                              ("tls", {"host": "127.0.0.1", "port": tcp_server})):
            r = await run_check(type_, config, ctx)
            assert (r.ok, r.error_code) == (False, "target_not_allowed"), type_


async def _cli(*args: str) -> tuple[int, dict[str, Any]]:
    env = {**os.environ, "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": "1"}
    proc = await asyncio.create_subprocess_exec(LIGHTHOUSE, "check", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, json.loads(out)


async def test_cli_runs_any_type(tcp_server: int, make_free_port: Any, dns_server: str) -> None:
    code, body = await _cli("--type", "tcp", "--config",
                            json.dumps({"host": "127.0.0.1", "port": tcp_server}))
    assert code == 0 and body["ok"] is True and body["type"] == "tcp"
    code, body = await _cli("--type", "tcp", "--config",
                            json.dumps({"host": "127.0.0.1", "port": make_free_port()}))
    assert code == 1 and body["error_code"] == "connection_refused"
    code, body = await _cli("--type", "dns", "--config", json.dumps(
        {"name": "api.lighthouse.test", "server": dns_server, "expected": ["203.0.113.7"]}))
    assert code == 0 and body["details"]["answers"]
    code, body = await _cli("--type", "tcp", "--config", '{"host": "127.0.0.1"}')
    assert code == 2 and body["error"]["code"] == "invalid_input"
    code, body = await _cli("--type", "teleport", "--config", "{}")
    assert code == 2 and body["error"]["code"] == "unknown_check_type"


def test_error_codes_are_lighthouse_errors() -> None:
    assert issubclass(TargetNotAllowedError, LighthouseError)


def test_every_type_publishes_a_json_schema_of_its_config() -> None:
    from lighthouse.core.checks import check_types, config_schemas

    schemas = config_schemas()
    assert set(schemas) == set(check_types())
    assert schemas["tcp"]["required"] == ["host", "port"]
    assert schemas["http"]["additionalProperties"] is False
