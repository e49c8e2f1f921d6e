"""A real browser loads a status page: headless Chromium (Debian's /usr/bin/chromium)
driven over the DevTools protocol with the websockets client the project already installs.

It checks the states a visitor sees, that the same-origin stylesheet applied under the
Content-Security-Policy (a day cell has its colour), and fails on any console error, page
exception or CSP violation the browser logs. The screenshot goes to the test's temporary
directory, and to docs/img/status-page.png (the README's) when
LIGHTHOUSE_UPDATE_SCREENSHOT=1, so an ordinary run leaves the checkout unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
import websockets
from aiohttp import web
from lighthouse.api.app import make_app
from lighthouse.api.status_page import StatusPages
from lighthouse.core.service import MonitorService

from .test_status_pages import OWNER, _monitors

CHROMIUM = os.environ.get("LIGHTHOUSE_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason=f"no Chromium at {CHROMIUM} (`python3 tasks.py test` installs Debian's chromium when "
           "run as root with apt-get; or set LIGHTHOUSE_CHROMIUM)")


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[str]:
    """A headless Chromium on 127.0.0.1; yields its DevTools HTTP base."""
    proc = await asyncio.create_subprocess_exec(
        # No sandbox (root in a container), no GPU, and nothing that reaches out on its own
        # (QUIC probes, component updates, sync): the test's traffic stays on 127.0.0.1.
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-extensions", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1000,1400",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("Chromium did not open its DevTools port in 30 s")
        yield f"http://127.0.0.1:{port_file.read_text().split()[0]}"
    finally:
        proc.terminate()
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


class Tab:
    """One page over CDP: commands by id, every event kept for the checks."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.events, self._ids = ws, [], itertools.count(1)
        self.events: list[dict[str, Any]]

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        await self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        async with asyncio.timeout(30):
            while True:
                msg = json.loads(await self.ws.recv())
                if msg.get("id") == ident:
                    assert "error" not in msg, msg
                    return dict(msg.get("result", {}))
                self.events.append(msg)

    async def wait_event(self, method: str) -> None:
        async with asyncio.timeout(30):
            while not any(e.get("method") == method for e in self.events):
                self.events.append(json.loads(await self.ws.recv()))

    async def value(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def problems(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            console_error = m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert")
            if m == "Runtime.exceptionThrown" or console_error:
                out.append(json.dumps(p)[:300])
            elif m == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                out.append(p["entry"].get("text", "")[:300])
            elif m == "Audits.issueAdded" and "ContentSecurityPolicy" in json.dumps(p):
                out.append(json.dumps(p)[:300])
        return out


async def test_a_browser_shows_the_page_without_errors_or_csp_violations(
    pool: asyncpg.Pool, redis: aioredis.Redis, service: MonitorService, tmp_path: Path
) -> None:
    await _monitors(service, pool)
    await service.create_status_page(OWNER, slug="browser-page", title="Acme status")
    runner = web.AppRunner(make_app(pool, redis, hooks=[StatusPages(service).register]))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/status/browser-page?lang=en"
    try:
        async with chromium(tmp_path / "profile") as devtools:
            async with aiohttp.ClientSession() as s, s.get(f"{devtools}/json/list") as resp:
                pages = [t for t in await resp.json() if t["type"] == "page"]
            async with websockets.connect(pages[0]["webSocketDebuggerUrl"],
                                          max_size=64 * 2**20) as ws:
                tab = Tab(ws)
                for domain in ("Runtime", "Log", "Page", "Audits"):
                    await tab.call(f"{domain}.enable")
                await tab.call("Emulation.setDeviceMetricsOverride", width=1000, height=1400,
                               deviceScaleFactor=1, mobile=False)
                await tab.call("Page.navigate", url=url)
                await tab.wait_event("Page.loadEventFired")
                states = await tab.value(
                    "[...document.querySelectorAll('.state')].map(e => e.innerText)")
                assert sorted(states) == sorted(
                    ["Operational", "Down", "Checking", "Paused", "Under maintenance"])
                names = await tab.value(
                    "[...document.querySelectorAll('.name')].map(e => e.innerText)")
                assert "<script>alert(1)</script> api" in names  # shown as text
                assert await tab.value("document.scripts.length") == 0
                assert await tab.value("document.querySelectorAll('ol.bar li').length") == 450
                # The response-time chart (core/charts.py) drew its line.
                assert await tab.value("document.querySelectorAll('svg.chart polyline').length") >= 1
                # The stylesheet applied: a bad day is red, the layout is a flex row.
                colour = await tab.value(
                    "getComputedStyle(document.querySelector('ol.bar li.d-down')).backgroundColor")
                assert colour == "rgb(179, 38, 30)"
                shot = await tab.call("Page.captureScreenshot", format="png",
                                      captureBeyondViewport=True)
                await asyncio.sleep(0.2)  # late console messages (a blocked resource)
                await tab.call("Runtime.evaluate", expression="1")
                assert tab.problems() == []
                # The detector itself: an inline style the CSP refuses must be reported.
                await tab.value("document.body.insertAdjacentHTML('beforeend', "
                                "'<p style=\"color: red\">x</p>')")
                await asyncio.sleep(0.3)
                await tab.call("Runtime.evaluate", expression="1")
                assert any("Content" in p and "Security" in p for p in tab.problems()), tab.events
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG")
        (tmp_path / "status-page.png").write_bytes(png)
        if os.environ.get("LIGHTHOUSE_UPDATE_SCREENSHOT") == "1":
            (ROOT / "docs" / "img" / "status-page.png").write_bytes(png)
    finally:
        await runner.cleanup()
