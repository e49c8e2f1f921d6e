"""What an operator sees: a real `lighthouse run` subprocess on an embedded PostgreSQL in a
temporary data dir, and the CLI beside it on the same data dir. The start banner, one log
line per state change and alert delivery, per-monitor gauges on /metrics, the CLI sharing
the running PostgreSQL (never a second one, never stopping it), and a taken port."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from adminkit import Service, alive, clean_env, cli, free_port, postmaster, running_receiver
from targets import Target


@pytest.fixture
def data_dir_env() -> Iterator[dict[str, str]]:
    # Under /tmp, not a home directory: pgserver opens the parents of its data dir when root.
    path = Path(tempfile.mkdtemp(prefix="lh-ops-", dir="/tmp")).resolve()
    yield clean_env(LIGHTHOUSE_DATA_DIR=str(path), API_PORT=str(free_port()),
                    METRICS_PORT=str(free_port()), LIGHTHOUSE_ALLOW_PRIVATE_TARGETS="1",
                    LOG_FORMAT="text")
    shutil.rmtree(path, ignore_errors=True)


async def _get(url: str) -> str:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.status == 200
        return await r.text()


async def _make_due(socket_dir: str) -> None:
    conn = await asyncpg.connect(f"postgresql://postgres@/lighthouse?host={socket_dir}")
    try:
        await conn.execute("UPDATE monitors SET next_due = now()")
    finally:
        await conn.close()


async def test_banner_state_changes_alerts_metrics_and_a_shared_postgres(
    data_dir_env: dict[str, str], target: Target
) -> None:
    env = data_dir_env
    pgdata = Path(env["LIGHTHOUSE_DATA_DIR"]) / "postgres"
    service = Service(env)
    await service.start()
    try:
        await service.wait_line(lambda line: line.startswith("Lighthouse is running"))
        await service.wait_line(lambda line: line.startswith("Stop with Ctrl+C"))
        banner = "\n".join(service.lines)
        api, metrics = f"http://127.0.0.1:{env['API_PORT']}", f"http://127.0.0.1:{env['METRICS_PORT']}"
        assert re.search(rf"API +{re.escape(api)} ", banner), banner
        assert re.search(rf"Metrics +{re.escape(metrics)}/metrics", banner)
        assert re.search(rf"Data dir +{re.escape(env['LIGHTHOUSE_DATA_DIR'])}\n", banner)
        assert re.search(r"Storage +embedded PostgreSQL, plain tables", banner)
        assert re.search(r"Chat +none \(set DISCORD_BOT_TOKEN", banner)
        assert re.search(r"Monitors +0\n.*\n +lighthouse monitor add https://example.com", banner)

        pid, socket_dir = postmaster(pgdata)
        async with running_receiver() as receiver:
            added = await cli("monitor", "add", target.url, "--name", "web", "--interval", "30s",
                              "--failure-threshold", "1", "--json", env=env)
            assert added.code == 0, added.err
            channel = await cli("channel", "add", "webhook", receiver.url, env=env)
            assert channel.code == 0, channel.err
            # The CLI used the running server and left it running, for the service alone.
            assert postmaster(pgdata)[0] == pid and alive(pid)
            assert json.loads((pgdata / ".handle_pids.json").read_text()) == [service.proc.pid]  # type: ignore[union-attr]
            monitor_id = added.json()["monitor"]["id"]

            await _make_due(socket_dir)
            up = await service.wait_line(
                lambda line: "monitor web (" in line and "is up (was pending)" in line)
            assert monitor_id[:8] in up and f"monitor_id={monitor_id}" in up
            exposed = await _get(f"{metrics}/metrics")
            assert f'lighthouse_monitor_up{{monitor_id="{monitor_id}",type="http"}} 1.0' in exposed
            assert re.search(rf'lighthouse_monitor_latency_seconds{{monitor_id="{monitor_id}",'
                             r'type="http"} \d', exposed)

            target.status = 503
            await _make_due(socket_dir)
            down = await service.wait_line(
                lambda line: "monitor web (" in line and "is down (was up)" in line)
            assert "WARNING" in down and "HTTP 503" in down
            delivered = await service.wait_line(
                lambda line: "alert downtime for monitor web (" in line and "delivered to webhook" in line)
            assert monitor_id[:8] in delivered
            assert receiver.received and receiver.received[0][1]["type"] == "downtime"
            exposed = await _get(f"{metrics}/metrics")
            assert f'lighthouse_monitor_up{{monitor_id="{monitor_id}",type="http"}} 0.0' in exposed
    finally:
        code = await service.stop()
    assert code == 0, service.tail()
    # The service was the last user: PostgreSQL stopped with it.
    for _ in range(100):
        if not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not alive(pid) and not (pgdata / "postmaster.pid").exists()


async def test_json_logs_carry_the_banner_as_one_record(dsn: str, redis_url: str) -> None:
    port, metrics_port = free_port(), free_port()
    service = Service(clean_env(DATABASE_URL=dsn, REDIS_URL=redis_url, API_PORT=str(port),
                                METRICS_PORT=str(metrics_port), LOG_FORMAT="json"))
    await service.start()
    try:
        line = await service.wait_line(lambda line: '"lighthouse ready"' in line)
    finally:
        assert await service.stop() == 0, service.tail()
    record = json.loads(line)
    assert record["api_url"] == f"http://127.0.0.1:{port}"
    assert record["metrics_url"] == f"http://127.0.0.1:{metrics_port}/metrics"
    assert (record["database"], record["storage"], record["monitors"]) == ("external", "plain", 0)
    assert record["data_dir"] is None and record["chat"] == ""
    assert record["next_step"] == "lighthouse monitor add https://example.com"
    assert all(line.startswith("{") for line in service.lines), service.tail()


@pytest.mark.parametrize("setting", ["API_PORT", "METRICS_PORT"])
async def test_a_taken_port_is_one_line_naming_its_setting_and_exit_1(
    setting: str, dsn: str, redis_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = {"API_PORT": str(free_port()), "METRICS_PORT": str(free_port()), setting: str(busy)}
        service = Service(clean_env(DATABASE_URL=dsn, REDIS_URL=redis_url, LOG_FORMAT="text", **ports))
        await service.start()
        assert service.proc is not None
        async with asyncio.timeout(60):
            code = await service.proc.wait()
        await service.stop()
    assert code == 1, service.tail()
    said = [line for line in service.lines if "already in use" in line]
    assert len(said) == 1 and f"{setting}={busy} is already in use on 127.0.0.1" in said[0]
    assert "ERROR" in said[0]
    assert not any("Traceback" in line for line in service.lines), service.tail()
