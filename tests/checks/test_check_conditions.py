"""Conditions wired into the tcp, dns, tls and http checks, against real servers on 127.0.0.1.

Each condition's outcome is stored in details["conditions"]; an operand that does not
resolve fails the check and says why; a malformed condition is refused at creation with
its position; `lighthouse check --type ...` prints every outcome and exits 0/1/2.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import trustme
from aiohttp import web
from lighthouse.core.checks.base import CheckContext, CheckResult
from lighthouse.core.checks.runner import run_check
from lighthouse.core.checks.tls import _dns_name_matches
from lighthouse.core.errors import InvalidConditionError, ValidationError
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from net_targets import ca_pem, dns_listener, tcp_listener, tls_listener
from targets import Target

LIGHTHOUSE = str(Path(sys.executable).with_name("lighthouse"))
WHO = Identity(Provider.API, "conditions")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def dns_server() -> AsyncIterator[str]:
    async with dns_listener() as server:
        yield server


def outcomes(r: CheckResult) -> list[bool]:
    return [c["ok"] for c in r.details["conditions"]]


def reasons(r: CheckResult) -> list[str | None]:
    return [c["reason"] for c in r.details["conditions"]]


# --- tcp -----------------------------------------------------------------------------
async def test_tcp_conditions_judge_the_banner_and_the_connect_time(
        check_context: CheckContext) -> None:
    async with tcp_listener() as port:
        base = {"host": "127.0.0.1", "port": port}
        up = await run_check("tcp", {**base, "conditions": [
            '[BANNER] matches "^220 "', "[RESPONSE_TIME] < 5s", "[BANNER] contains ESMTP"]},
            check_context)
        down = await run_check("tcp", {**base, "conditions": [
            "[RESPONSE_TIME] < 5000", '[BANNER] contains "SSH-2.0"']}, check_context)
        pong = await run_check("tcp", {**base, "send": "PING\r\n", "expect": "+PONG",
                                       "conditions": ['[BANNER] contains "+PONG"']}, check_context)
        unresolved = await run_check("tcp", {**base, "conditions": [
            "[BANNER].version == 2", "[BANNER] > 5"]}, check_context)
    assert up.ok, up
    assert outcomes(up) == [True, True, True]
    assert up.details["conditions"][0] == {"condition": '[BANNER] matches "^220 "', "ok": True,
                                           "actual": "220 lighthouse-test ESMTP ready",
                                           "reason": None}
    assert (down.ok, down.error_code, outcomes(down)) == (False, "condition_failed", [True, False])
    assert down.error is not None and down.error.startswith('[BANNER] contains "SSH-2.0": ')
    assert pong.ok and outcomes(pong) == [True]
    # Fail closed: text is neither an object nor a number, and the reason says so.
    assert (unresolved.ok, outcomes(unresolved)) == (False, [False, False])
    assert all(r and "text" in r for r in reasons(unresolved)), reasons(unresolved)


async def test_tcp_without_an_answer_judges_no_conditions(check_context: CheckContext,
                                                          make_free_port: Any) -> None:
    async with tcp_listener(banner=None) as port:
        silent = await run_check("tcp", {"host": "127.0.0.1", "port": port, "timeout_s": 0.3,
                                         "conditions": ["[BANNER] contains 220"]}, check_context)
        quick = await run_check("tcp", {"host": "127.0.0.1", "port": port, "timeout_s": 0.3,
                                        "conditions": ["[RESPONSE_TIME] < 5s"]}, check_context)
    assert (silent.ok, silent.error_code, silent.error) == (False, "timeout", "no reply within 0.3 s")
    assert "conditions" not in silent.details
    assert quick.ok and outcomes(quick) == [True]  # no banner condition: nothing is read
    refused = await run_check("tcp", {"host": "127.0.0.1", "port": make_free_port(),
                                      "conditions": ["[RESPONSE_TIME] < 5s"]}, check_context)
    assert (refused.ok, refused.error_code) == (False, "connection_refused")
    assert "conditions" not in refused.details


# --- dns -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("config", "ok", "code", "checks"),
    [
        ({"name": "api.lighthouse.test", "conditions": [
            '[ANSWERS] contains "203.0.113.8"', "len([ANSWERS]) == 2", "[TTL] >= 5m",
            "[RCODE] == NOERROR", "[RESPONSE_TIME] < 5s"]}, True, None, [True] * 5),
        # canonical addresses and names on both sides
        ({"name": "api.lighthouse.test", "record_type": "AAAA", "expected": ["2001:DB8:0:0::7"],
          "match": "exact"}, True, None, None),
        ({"name": "www.lighthouse.test", "record_type": "CNAME",
          "expected": ["api.lighthouse.test"]}, True, None, None),
        # TXT data keeps its case
        ({"name": "lighthouse.test", "record_type": "TXT", "expected": ["Verify=AbC123"]},
         True, None, None),
        ({"name": "lighthouse.test", "record_type": "TXT", "expected": ["verify=abc123"]},
         False, "unexpected_answer", None),
        ({"name": "lighthouse.test", "record_type": "TXT", "expected": ["Verify=AbC123", "x"],
          "match": "any"}, True, None, None),
        # TXT strings are joined and decoded, not compared in their escaped zone-file form;
        # an expected value written in quotes loses them
        ({"name": "txt.lighthouse.test", "record_type": "TXT", "expected": ['say "hi" café'],
          "match": "exact", "conditions": ["[ANSWERS][0] == 'say \"hi\" café'"]},
         True, None, [True]),
        ({"name": "lighthouse.test", "record_type": "TXT", "expected": ['"v=spf1 -all"']},
         True, None, None),
        # a condition on [RCODE] replaces the implicit NOERROR; an explicit rcode still rules
        ({"name": "nope.lighthouse.test", "conditions": ["[RCODE] == NXDOMAIN"]},
         True, None, [True]),
        ({"name": "nope.lighthouse.test", "rcode": "NOERROR",
          "conditions": ["[RCODE] == NXDOMAIN"]}, False, "unexpected_rcode", [True]),
        ({"name": "api.lighthouse.test", "conditions": ["[TTL] > 1h"]},
         False, "condition_failed", [False]),
        # fail closed: out of range, and a TTL that was not measured (no answers)
        ({"name": "api.lighthouse.test", "conditions": ["[ANSWERS][5] == 192.0.2.1"]},
         False, "condition_failed", [False]),
        ({"name": "lighthouse.test", "conditions": ["len([ANSWERS]) >= 1", "[TTL] < 1h"]},
         False, "condition_failed", [False, False]),
    ],
)
async def test_dns_conditions_and_answer_matching(check_context: CheckContext, dns_server: str,
                                                  config: dict[str, Any], ok: bool,
                                                  code: str | None,
                                                  checks: list[bool] | None) -> None:
    r = await run_check("dns", {**config, "server": dns_server}, check_context)
    assert (r.ok, r.error_code) == (ok, code), r
    if checks is not None:
        assert outcomes(r) == checks, r.details["conditions"]
    if code == "condition_failed":
        assert all(reasons(r)), r.details["conditions"]


async def test_dns_unresolvable_operands_say_why(check_context: CheckContext,
                                                 dns_server: str) -> None:
    r = await run_check("dns", {"name": "lighthouse.test", "server": dns_server,
                                "conditions": ["[TTL] < 1h", "[ANSWERS][5] == x"]}, check_context)
    assert r.details["answers"] == [] and r.details["rcode"] == "NOERROR"
    ttl, index = reasons(r)
    assert ttl == "[TTL] is not measured by this check"
    assert index is not None and "out of range" in index


# --- tls -----------------------------------------------------------------------------
async def test_tls_reports_chain_name_issuer_version_and_conditions(
        check_context: CheckContext, ca: trustme.CA) -> None:
    async with tls_listener(ca, "localhost", days=60) as port:
        r = await run_check("tls", {"host": "localhost", "port": port, "ca_pem": ca_pem(ca),
                                    "conditions": [
                                        "[CERT_EXPIRY] > 30d", "[HOSTNAME_MATCH] == true",
                                        "[CHAIN_VALID] == true", '[ISSUER] contains "trustme"',
                                        '[TLS_VERSION] matches "^TLSv1\\.[23]$"',
                                        "[RESPONSE_TIME] < 5s"]}, check_context)
    assert r.ok, r
    assert outcomes(r) == [True] * 6
    tls = r.details["tls"]
    assert tls["chain_valid"] and tls["hostname_match"] and tls["verified"]
    assert "Testing CA" in tls["issuer"] and "Testing cert" in tls["subject"]
    assert tls["tls_version"].startswith("TLSv1.") and tls["sni"] == "localhost"
    assert 59.5 < tls["days_left"] < 60.1 and tls["not_after"]


@pytest.mark.parametrize(
    ("days", "key", "severity", "days_left"),
    [(40, None, None, None), (10, "14", "warning", 9), (5, "7", "warning", 4),
     (2, "3", "critical", 1), (0.5, "1", "critical", 0), (-1, "expired", "critical", 0)],
)
async def test_tls_expiry_thresholds(check_context: CheckContext, ca: trustme.CA, days: float,
                                     key: str | None, severity: str | None,
                                     days_left: int | None) -> None:
    async with tls_listener(ca, "localhost", days=days) as port:
        r = await run_check("tls", {"host": "localhost", "port": port, "ca_pem": ca_pem(ca)},
                            check_context)
    if key is None:
        assert r.ok and r.signals == []
        return
    [signal] = r.signals  # only the tightest threshold crossed
    assert (signal.alert_type, signal.severity, signal.params["days_left"]) == (
        "certificate_expiry", severity, days_left)
    assert signal.dedupe_key == f"cert:{r.details['tls']['serial']}:{key}"
    assert r.ok is (days > 0)


async def test_tls_hostname_is_matched_apart_from_the_chain(check_context: CheckContext,
                                                            ca: trustme.CA) -> None:
    async with tls_listener(ca, "*.lighthouse.test", "127.0.0.1", days=30) as port:
        base = {"host": "127.0.0.1", "port": port, "ca_pem": ca_pem(ca)}
        wildcard = await run_check("tls", {**base, "server_name": "api.lighthouse.test"},
                                   check_context)
        by_ip = await run_check("tls", base, check_context)
        too_deep = await run_check("tls", {**base, "server_name": "a.b.lighthouse.test"},
                                   check_context)
        apex = await run_check("tls", {**base, "server_name": "lighthouse.test",
                                       "conditions": ["[HOSTNAME_MATCH] == true"]}, check_context)
        untrusted = await run_check("tls", {"host": "127.0.0.1", "port": port,
                                            "conditions": ["[CHAIN_VALID] == false"]},
                                    check_context)
    assert wildcard.ok and wildcard.details["tls"]["hostname_match"], wildcard
    assert by_ip.ok and by_ip.details["tls"]["hostname_match"], by_ip
    for r in (too_deep, apex):
        assert (r.ok, r.error_code) == (False, "tls_hostname_mismatch")
        assert r.details["tls"]["chain_valid"] and not r.details["tls"]["hostname_match"]
    assert outcomes(apex) == [False]
    assert (untrusted.ok, untrusted.error_code) == (False, "tls_certificate")
    assert not untrusted.details["tls"]["chain_valid"]
    assert untrusted.details["tls"]["hostname_match"]
    assert "verify_error" in untrusted.details["tls"]
    assert outcomes(untrusted) == [True]  # judged, yet the invalid chain still fails the check


@pytest.mark.parametrize(
    ("pattern", "host", "ok"),
    [("*.a.test", "x.a.test", True), ("*.a.test", "a.test", False),
     ("*.a.test", "y.x.a.test", False), ("A.Test", "a.test.", True),
     ("f*.a.test", "fo.a.test", False), ("*.test", "a.test", False),
     ("x.*.test", "x.y.test", False), ("a.test", "b.test", False)],
)
def test_dns_name_matching_rules(pattern: str, host: str, ok: bool) -> None:
    assert _dns_name_matches(pattern, host) is ok


# --- http ----------------------------------------------------------------------------
async def test_http_shorthands_are_stored_as_conditions(check_context: CheckContext,
                                                        target: Target) -> None:
    target.status = 201
    r = await run_check("http", {"url": target.url, "valid_status_codes": [201, 200],
                                 "max_latency_ms": 5000,
                                 "conditions": ["[BODY] contains ok"]}, check_context)
    assert r.ok, r
    assert [c["condition"] for c in r.details["conditions"]] == [
        "[STATUS] in [200, 201]", "[RESPONSE_TIME] <= 5000", "[BODY] contains ok"]
    target.status = 503
    r = await run_check("http", {"url": target.url, "valid_status_codes": [200]}, check_context)
    assert (r.ok, r.error_code) == (False, "unexpected_status")  # the shorthand's own code
    assert r.details["conditions"][0]["ok"] is False and r.details["conditions"][0]["actual"] == "503"


async def test_http_unresolvable_operands_fail_and_say_why(check_context: CheckContext,
                                                           target: Target) -> None:
    target.body = b'{"data": {"items": []}, "count": "many"}'
    r = await run_check("http", {"url": target.url, "conditions": [
        "[STATUS] == 200", "[BODY].data.items[0].id == 42", "[BODY].count > 3",
        "[BODY].missing == null", "[CERT_EXPIRY] > 7d"]}, check_context)
    assert (r.ok, r.error_code) == (False, "condition_failed")
    assert outcomes(r) == [True, False, False, False, False]
    _, index, number, missing, cert = reasons(r)
    assert index is not None and "out of range" in index
    assert number is not None and "not a number" in number
    assert missing is not None and "does not exist" in missing
    assert cert == "[CERT_EXPIRY] is not measured by this check"  # plain http: no certificate
    assert r.error is not None and r.error.startswith("[BODY].data.items[0].id == 42: ")


async def test_https_certificate_facts_on_every_check(check_context: CheckContext,
                                                      ca: trustme.CA) -> None:
    cert = ca.issue_cert("127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)

    async def hello(_r: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/"
    try:  # two checks: the second reuses the kept-alive connection and still sees the cert
        results = [await run_check("http", {"url": url, "verify_tls": False, "conditions": [
            "[CERT_EXPIRY] > 30d", '[BODY].status == "ok"']}, check_context) for _ in range(2)]
    finally:
        await runner.cleanup()
    for r in results:
        assert r.ok and outcomes(r) == [True, True], r
        tls = r.details["tls"]
        assert "Testing CA" in tls["issuer"] and tls["days_left"] > 30 and tls["not_after"]
        assert r.signals == []


# --- through the service -------------------------------------------------------------
async def test_conditions_are_stored_and_malformed_ones_refused_with_position(
        service: MonitorService, pool: asyncpg.Pool) -> None:
    await service.ensure_user(WHO)
    await pool.execute("UPDATE users SET tier = 'enterprise'")
    made = [
        await service.create_monitor(WHO, type="tcp", config={
            "host": "127.0.0.1", "port": 25, "conditions": ['[BANNER] matches "^220"']}),
        await service.create_monitor(WHO, type="dns", config={
            "name": "example.com", "server": "127.0.0.1:5353",
            "conditions": ["[RCODE] == NXDOMAIN"]}),
        await service.create_monitor(WHO, type="tls", config={
            "host": "localhost", "conditions": ["[CERT_EXPIRY] > 14d"]}),
    ]
    stored = await pool.fetch("SELECT type, config FROM monitors ORDER BY id")
    assert [(r["type"], len(r["config"]["conditions"])) for r in stored] == [
        ("tcp", 1), ("dns", 1), ("tls", 1)]
    assert [m.type for m in made] == ["tcp", "dns", "tls"]
    bad: list[tuple[str, dict[str, Any], str, int]] = [
        ("tcp", {"host": "127.0.0.1", "port": 25, "conditions": ["[BANNER] contans x"]},
         "[BANNER] contans x", 9),
        ("dns", {"name": "example.com", "conditions": ["[RCODE] = NOERROR"]},
         "[RCODE] = NOERROR", 8),
        ("tls", {"host": "example.com", "conditions": ["[CERT_EXPIRY] > 7d", "[CERT_EXPIRY] >"]},
         "[CERT_EXPIRY] >", 15),
    ]
    for type_, config, text, position in bad:
        with pytest.raises(InvalidConditionError) as info:
            await service.create_monitor(WHO, type=type_, config=config)
        assert info.value.code == "invalid_condition"
        assert (info.value.params["condition"], info.value.params["position"]) == (text, position)
    # a placeholder another type measures is refused too, naming the ones this type knows
    for type_, config in (("tcp", {"host": "127.0.0.1", "port": 25}),
                          ("dns", {"name": "example.com"}), ("tls", {"host": "example.com"})):
        with pytest.raises(InvalidConditionError) as info:
            await service.create_monitor(WHO, type=type_, config={
                **config, "conditions": ["[STATUS] == 200"]})
        assert info.value.params["position"] == 0, type_
    for type_, config, field in (
        ("dns", {"name": "example.com", "expected": ["example.org"]}, "expected"),
        ("dns", {"name": "example.com", "record_type": "AAAA", "expected": ["192.0.2.1"]},
         "expected"),
        ("tcp", {"host": "127.0.0.1", "port": 25, "send": ""}, "send"),
        ("tcp", {"host": "127.0.0.1", "port": 25, "conditions": ["[BANNER] == x"] * 21},
         "conditions"),
        ("tls", {"host": "example.com", "min_days": 400}, "min_days"),
    ):
        with pytest.raises(ValidationError) as vinfo:
            await service.create_monitor(WHO, type=type_, config=config)
        assert vinfo.value.params["field"] == field, (type_, config, vinfo.value.params)
    assert await pool.fetchval("SELECT count(*) FROM monitors") == 3


# --- the CLI -------------------------------------------------------------------------
async def _cli(*args: str, allow_private: bool = True) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS"}
    if allow_private:
        env["LIGHTHOUSE_ALLOW_PRIVATE_TARGETS"] = "1"
    proc = await asyncio.create_subprocess_exec(LIGHTHOUSE, "check", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    assert out, err.decode()
    return proc.returncode, json.loads(out)


async def test_cli_prints_each_condition_outcome_and_exits_by_result(ca: trustme.CA) -> None:
    async with tcp_listener() as port, tls_listener(ca, "localhost", days=5) as tls_port:
        cfg = {"host": "127.0.0.1", "port": port}
        code, up = await _cli("--type", "tcp", "--config", json.dumps(
            {**cfg, "conditions": ["[RESPONSE_TIME] < 5s", '[BANNER] matches "^220 "']}))
        assert code == 0, up
        assert up["ok"] is True and up["type"] == "tcp" and up["target"] == f"127.0.0.1:{port}"
        assert [(c["condition"], c["ok"]) for c in up["conditions"]] == [
            ("[RESPONSE_TIME] < 5s", True), ('[BANNER] matches "^220 "', True)]
        assert set(up["conditions"][0]) == {"condition", "ok", "actual", "reason"}

        code, down = await _cli("--type", "tcp", "--config", json.dumps(
            {**cfg, "conditions": ["[RESPONSE_TIME] < 5s", "[BANNER] contains SSH"]}))
        assert code == 1 and down["error_code"] == "condition_failed"
        assert [c["ok"] for c in down["conditions"]] == [True, False]
        assert down["conditions"][1]["reason"] and down["conditions"][1]["actual"]

        code, bad = await _cli("--type", "tcp", "--config", json.dumps(
            {**cfg, "conditions": ["[BANNER] contains SSH", "[BANNER] ~ SSH"]}))
        assert code == 2 and bad["error"]["code"] == "invalid_condition"
        assert bad["error"]["params"]["position"] == 9

        code, refused = await _cli("--type", "tcp", "--config", json.dumps(cfg),
                                   allow_private=False)
        assert code == 1 and refused["error"]["code"] == "target_not_allowed"

        code, tls = await _cli("--type", "tls", "--config", json.dumps(
            {"host": "localhost", "port": tls_port, "ca_pem": ca_pem(ca),
             "conditions": ["[CERT_EXPIRY] > 3d"]}))
        assert code == 0, tls
        assert [s["alert_type"] for s in tls["signals"]] == ["certificate_expiry"]
        assert tls["signals"][0]["severity"] == "warning"
        assert tls["conditions"][0]["ok"] is True
