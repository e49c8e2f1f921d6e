"""The HTTP check against real servers on 127.0.0.1 (plain and TLS)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trustme
from aiohttp import web
from lighthouse.core.checks import get_check_type, parse_config
from lighthouse.core.checks.base import CheckContext
from lighthouse.core.checks.runner import run_check
from lighthouse.core.http_client import make_session
from lighthouse.core.netguard import TargetGuard
from targets import Target


async def check(ctx: CheckContext, **config: Any) -> Any:
    return await run_check("http", config, ctx)


async def test_up_with_status_latency_timings_and_body_sample(check_context: CheckContext,
                                                              target: Target) -> None:
    target.body = b"x" * 5000
    r = await check(check_context, url=target.url)
    assert r.ok and r.status_code == 200 and r.error_code is None
    assert 0 < r.latency_ms < 5000
    t = r.details["timings"]
    assert {"connect_ms", "first_byte_ms", "total_ms"} <= set(t)
    assert t["first_byte_ms"] <= t["total_ms"]
    assert len(r.details["body_sample"]) == 1024


@pytest.mark.parametrize(
    ("status", "config", "ok", "code"),
    [
        (500, {}, False, "unexpected_status"),
        (404, {}, False, "unexpected_status"),
        (301, {"follow_redirects": False}, True, None),  # 3xx counts as up by default
        (201, {"valid_status_codes": [200]}, False, "unexpected_status"),
        (201, {"valid_status_codes": [200, 201]}, True, None),
        (503, {"valid_status_codes": [503]}, True, None),
    ],
)
async def test_status_judgement(check_context: CheckContext, target: Target, status: int,
                                config: dict[str, Any], ok: bool, code: str | None) -> None:
    target.status = status
    r = await check(check_context, url=target.url, **config)
    assert (r.ok, r.error_code, r.status_code) == (ok, code, status)


async def test_slow_and_timeout_are_distinct(check_context: CheckContext, target: Target) -> None:
    target.delay_s = 0.3
    slow = await check(check_context, url=target.url, max_latency_ms=100)
    assert (slow.ok, slow.error_code) == (False, "slow_response")
    timeout = await check(check_context, url=target.url, timeout_s=0.1)
    assert (timeout.ok, timeout.error_code) == (False, "timeout")


async def test_method_headers_and_body_are_sent(check_context: CheckContext) -> None:
    seen: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.Response:
        seen.update(method=request.method, h=request.headers.get("X-Probe"),
                    body=await request.text())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        r = await check(check_context, url=f"http://127.0.0.1:{port}/", method="post",
                        headers={"X-Probe": "1"}, body='{"a":1}')
    finally:
        await runner.cleanup()
    assert r.ok and seen == {"method": "POST", "h": "1", "body": '{"a":1}'}


async def test_parsed_url_is_kept_and_sends_what_the_text_would(check_context: CheckContext,
                                                                 target: Target) -> None:
    """The URL is parsed once per config (core/checks/http.py ``request_url``); the path
    and query the target sees are what aiohttp sends for the same URL given as text."""
    url = target.path("/a b/%7Euser/ñ?q=x y&r=%2F#frag")
    config = parse_config("http", {"url": url})
    for _ in range(2):
        assert (await get_check_type("http").run(config, check_context)).ok
    async with check_context.session.get(url) as resp:  # the same URL as text
        assert resp.status == 200
    assert config.request_url is config.request_url
    seen = target.raw_paths
    assert len(seen) == 3 and seen[0] == seen[1] == seen[2], seen
    assert seen[0].startswith("/a%20b/") and "#" not in seen[0], seen


async def test_redirect_policy(check_context: CheckContext, target: Target) -> None:
    followed = await check(check_context, url=target.path("/redirect"))
    assert followed.ok and followed.status_code == 200
    loop = await check(check_context, url=target.path("/loop"), max_redirects=3)
    assert (loop.ok, loop.error_code) == (False, "too_many_redirects")


async def test_connection_refused(check_context: CheckContext, make_free_port: Any) -> None:
    r = await check(check_context, url=f"http://127.0.0.1:{make_free_port()}/")
    assert (r.ok, r.error_code) == (False, "connection_error")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_target(ca: trustme.CA) -> AsyncIterator[int]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    app = web.Application()
    async def hello(_r: web.Request) -> web.Response:
        return web.Response(text="secure")

    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx).start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def test_untrusted_certificate_is_a_distinct_tls_error(check_context: CheckContext,
                                                             tls_target: int) -> None:
    r = await check(check_context, url=f"https://127.0.0.1:{tls_target}/")
    assert (r.ok, r.error_code) == (False, "tls_certificate")
    insecure = await check(check_context, url=f"https://127.0.0.1:{tls_target}/", verify_tls=False)
    assert insecure.ok and insecure.status_code == 200


async def test_plain_http_to_a_tls_port_is_a_protocol_error(check_context: CheckContext,
                                                            tls_target: int) -> None:
    r = await check(check_context, url=f"http://127.0.0.1:{tls_target}/")
    assert not r.ok and r.error_code in {"protocol_error", "http_error"}


async def test_guard_refuses_at_check_time_without_touching_the_target(target: Target) -> None:
    guard = TargetGuard(allow_private=False)
    async with make_session(guard) as session:
        ctx = CheckContext(session, guard)
        for url in (target.url, f"http://localhost:{target.port}/"):
            r = await check(ctx, url=url)
            assert (r.ok, r.error_code) == (False, "target_not_allowed"), url
    assert target.hits == 0


async def test_dns_rebinding_cannot_slip_past_the_connect_time_check(target: Target) -> None:
    """Vetting saw a public answer; the socket is about to connect to 127.0.0.1."""
    import aiohttp
    from aiohttp.abc import AbstractResolver
    from lighthouse.core.netguard import GuardedResolver

    class Rebinding(AbstractResolver):
        def __init__(self) -> None:
            self.calls = 0

        async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[Any]:
            self.calls += 1
            ip = "93.184.216.34" if self.calls == 1 else "127.0.0.1"
            return [{"hostname": host, "host": ip, "port": port, "family": 2, "proto": 0,
                     "flags": 0}]

        async def close(self) -> None:
            return None

    guard = TargetGuard(allow_private=False)
    rebinding = Rebinding()
    assert await GuardedResolver(guard, rebinding).resolve("rebind.test", 80)  # vetted: public
    # The connection path resolves again (the second answer) without the resolver guard:
    # only the connect-time check stands between it and 127.0.0.1.
    connector = aiohttp.TCPConnector(resolver=rebinding, socket_factory=guard.socket_factory,
                                     use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        r = await run_check("http", {"url": f"http://rebind.test:{target.port}/"},
                            CheckContext(session, guard))
    assert rebinding.calls == 2
    assert (r.ok, r.error_code) == (False, "target_not_allowed")
    assert target.hits == 0


async def test_conditions_are_evaluated_and_each_outcome_stored(check_context: CheckContext,
                                                                target: Target) -> None:
    target.body = b'{"status": "ok", "items": [1, 2]}'
    conds = ["[STATUS] == 200", '[BODY].status == "ok"', "len([BODY].items) >= 3",
             "[HEADER].content-type contains json"]
    r = await check(check_context, url=target.url, conditions=conds)
    assert (r.ok, r.error_code) == (False, "condition_failed")
    assert r.error == "len([BODY].items) >= 3: 2 is not >= 3"
    assert [c["ok"] for c in r.details["conditions"]] == [True, True, False, True]
    target.body = b"<html>maintenance</html>"
    r = await check(check_context, url=target.url, conditions=['[BODY].status == "ok"'])
    assert not r.ok and r.details["conditions"][0]["reason"] == "the body is not JSON"
    target.status = 503  # conditions decide the status too: no implicit 2xx rule
    r = await check(check_context, url=target.url, conditions=["[STATUS] == 503"])
    assert r.ok


async def test_malformed_condition_refused_at_creation_with_position(service: Any) -> None:
    from lighthouse.core.errors import InvalidConditionError
    from lighthouse.core.models import Identity, Provider

    with pytest.raises(InvalidConditionError) as info:
        await service.create_monitor(Identity(Provider.API, "c"), config={
            "url": "https://example.com", "conditions": ["[STATUS] == 200", "[STATUS] => 200"]})
    assert info.value.params["position"] == 9
    with pytest.raises(InvalidConditionError) as info:
        await service.create_monitor(Identity(Provider.API, "c"), config={
            "url": "https://example.com", "conditions": ["[BLOCK_AGE] < 5"]})
    assert "unknown placeholder" in info.value.params["reason"]


async def test_https_checks_carry_certificate_facts_and_expiry_signals(
    check_context: CheckContext, ca: trustme.CA
) -> None:
    from datetime import UTC, datetime, timedelta

    cert = ca.issue_cert("127.0.0.1", not_after=datetime.now(UTC) + timedelta(days=5, hours=1))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)

    async def hello(_r: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        r = await check(check_context, url=url, verify_tls=False,
                        conditions=["[CERT_EXPIRY] > 7d"])
        again = await check(check_context, url=url, verify_tls=False)
    finally:
        await runner.cleanup()
    assert 4.9 < r.details["tls"]["days_left"] < 5.1
    assert (r.ok, r.error_code) == (False, "condition_failed")
    [signal] = r.signals
    assert (signal.alert_type, signal.severity, signal.params["days_left"]) == (
        "certificate_expiry", "warning", 5)
    assert [s.dedupe_key for s in again.signals] == [signal.dedupe_key]  # same key: alerts once
