"""Schemathesis over /openapi.json against the real app (issue 17, point 6).

The app is the one from tests/api/conftest.py: x402 payments configured on the local EVM,
the embedded PostgreSQL behind it, listening on 127.0.0.1. Every operation of the published
document is exercised with generated path, query, header and body values, valid and
invalid (schemathesis' positive and negative modes), and the operations behind a management
token a second time with a real monitor's id and token, so the 200 answers are checked too.

Asserted: no response >= 500, every response conforms to the document (status code
declared, content type, headers, body schema), invalid input is refused, every operation
was exercised, and methods the document does not declare answer 405 with ``Allow``.
Bounded: MAX_EXAMPLES per operation and mode, deterministic by default (set
LIGHTHOUSE_FUZZ_SEED to explore other inputs).

The schemathesis calls are synchronous (requests), so they run in a worker thread while
the app keeps serving on the test's event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from lighthouse.core.models import Identity, Provider
from lighthouse.core.service import MonitorService
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.evm import LocalChain

from .conftest import Server, ServerFactory

MAX_EXAMPLES = 25
SEED = int(os.environ.get("LIGHTHOUSE_FUZZ_SEED", "17"))
TIME_BUDGET_S = 90.0  # the whole run: about 22 s on a 2-core machine
WALLET = Identity(Provider.WALLET, "0x" + "cd" * 20)
METHODS = ("get", "put", "post", "delete", "patch")
RESPONSE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_headers_conformance, response_schema_conformance]


@dataclass
class Report:
    cases: Counter[str] = field(default_factory=Counter)  # by operation label
    modes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, mode)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def server_errors(self) -> list[tuple[str, int]]:
        return [key for key in self.statuses if key[1] >= 500]


def _run_operation(op: Any, strategy: Any, mode: GenerationMode, base_url: str,
                   session: requests.Session, report: Report) -> None:
    checks = RESPONSE_CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

    @seed(SEED)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, timeout=30)
        report.cases[op.label] += 1
        report.modes[(op.label, mode.value)] += 1
        report.statuses[(op.label, response.status_code)] += 1
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as exc:  # collected, not raised: one run reports every kind
            if len(report.failures) < 40:
                report.failures.append(f"{op.label} [{mode.value}]: {str(exc)[:1500]}")

    run()


def _with_query(name: str, case: Any, value: str) -> Any:
    case.query = {**(case.query or {}), name: value}
    return case


# Instants at the ends of the datetime range, with offsets up to +-23:59 (RFC 3339 allows
# them): converted to UTC they leave years 1..9999. Generated date-times almost never land
# there (not once in 300 examples), so they get a run of their own.
EDGE_INSTANTS = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
    st.sampled_from([datetime.min, datetime.max, datetime.min + timedelta(hours=12),
                     datetime.max - timedelta(hours=12)]) | st.datetimes(),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59),
)


def fuzz(doc: dict[str, Any], base_url: str, fixed: dict[str, dict[str, Any]],
         edges: dict[str, tuple[str, st.SearchStrategy[str]]]) -> Report:
    """Every operation in both modes; then again with the inputs in ``fixed[label]`` held
    valid, so generation reaches what lies behind them (the handlers' 200s behind a token,
    the payment headers behind a valid paid request); then with ``edges[label]``, a query
    parameter drawn from boundary values."""
    schema = schemathesis.openapi.from_dict(doc)
    report = Report()
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment between us and 127.0.0.1
    started = time.monotonic()
    # DELETE last, and the monitor's own last of all: its run with the real token removes
    # the monitor the others read.
    operations = sorted((r.ok() for r in schema.get_all_operations()),
                        key=lambda op: (op.label == "DELETE /v1/monitors/{id}",
                                        op.method == "delete", op.label))
    for op in operations:
        runs: list[tuple[GenerationMode, dict[str, Any]]] = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            runs.append((mode, {}))
            if op.label in fixed:
                runs.append((mode, fixed[op.label]))
        for mode, kwargs in runs:
            free = [p for p in op.iter_parameters() if p.name not in kwargs.get("path_parameters", {})
                    and p.name not in kwargs.get("query", {}) and p.name not in kwargs.get("headers", {})]
            if mode is GenerationMode.NEGATIVE and not free and (not op.body or "body" in kwargs):
                continue  # nothing left to make invalid (hypothesis would be Unsatisfiable)
            strategy = op.as_strategy(generation_mode=mode, **kwargs)
            _run_operation(op, strategy, mode, base_url, session, report)
            assert time.monotonic() - started < TIME_BUDGET_S, "fuzzing ran over its time budget"
        if op.label in edges:
            param, values = edges[op.label]
            strategy = st.builds(partial(_with_query, param),
                                 op.as_strategy(GenerationMode.POSITIVE, **fixed.get(op.label, {})), values)
            _run_operation(op, strategy, GenerationMode.POSITIVE, base_url, session, report)
    session.close()
    return report


@dataclass
class Fuzzed:
    srv: Server
    monitor_id: str
    token: str
    heartbeat_id: str  # a heartbeat monitor (POST .../token answers 200 for it)
    heartbeat_token: str
    channel_id: int  # one of the monitor's alert channels


async def _token_for(srv: Server, monitor_id: int, token: str) -> str:
    await srv.pool.execute("INSERT INTO api_tokens (token_hash, monitor_id) VALUES ($1, $2)",
                           hashlib.sha256(token.encode()).hexdigest(), monitor_id)
    return token


@pytest.fixture
async def fuzz_server(chain: LocalChain, make_server: ServerFactory, service: MonitorService,
                      target: Any) -> Fuzzed:
    srv = await make_server(chain)
    await service.upgrade_tier(WALLET, "pro", timedelta(days=30))
    m = await service.create_monitor(WALLET, config={"url": target.url}, type="http")
    token = await _token_for(srv, m.id, "lhm_fuzz_" + "t" * 32)
    hb, _ping = await service.create_heartbeat(WALLET, config={"period_s": 60})
    hb_token = await _token_for(srv, hb.id, "lhm_fuzz_" + "h" * 32)
    channel_id = await service.add_channel(WALLET, "webhook", {"url": target.url},
                                           monitor_ref=str(m.public_id))
    now = datetime.now(UTC)
    await srv.pool.executemany(
        "INSERT INTO check_history (time, monitor_id, ok, status_code, latency_ms, error_code, error) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(now - timedelta(minutes=i), m.id, i % 3 != 0, 200 if i % 3 else 503, 10 + i,
          None if i % 3 else "unexpected_status", None if i % 3 else "HTTP 503") for i in range(1, 60)])
    await srv.pool.execute(
        "INSERT INTO incidents (monitor_id, started_at, ended_at, end_reason, first_error_code, "
        "first_error, checks_failed) VALUES ($1, $2, $3, 'recovered', 'unexpected_status', "
        "'HTTP 503', 3)", m.id, now - timedelta(hours=2), now - timedelta(hours=1))
    await service.create_status_page(WALLET, slug="fuzz-page", monitors=[str(m.public_id)])
    return Fuzzed(srv, str(m.public_id), token, str(hb.public_id), hb_token, channel_id)


# Answered 200 (201) by the runs with a real id and token behind them.
REACHED_OK = ("GET /v1/monitors/{id}/checks", "GET /v1/monitors/{id}/uptime", "GET /v1/monitors/{id}",
              "DELETE /v1/monitors/{id}", "POST /v1/monitors/{id}/token",
              "PUT /v1/monitors/{id}/maintenance", "DELETE /v1/monitors/{id}/maintenance",
              "GET /v1/monitors/{id}/incidents", "GET /v1/monitors/{id}/channels",
              "DELETE /v1/monitors/{id}/channels/{channel_id}", "GET /v1/status-pages",
              "DELETE /v1/status-pages/{slug}")


async def test_schemathesis_finds_no_server_error(fuzz_server: Fuzzed, target: Any) -> None:
    srv = fuzz_server.srv
    async with srv.session.get(srv.url + "/openapi.json") as r:
        assert r.status == 200
        doc = await r.json()
    operations = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert len(operations) == 20

    headers = {"Authorization": f"Bearer {fuzz_server.token}"}
    auth = {"path_parameters": {"id": fuzz_server.monitor_id}, "headers": headers}
    config = {"url": target.url}
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    fixed: dict[str, dict[str, Any]] = {
        "GET /v1/monitors/{id}": auth, "DELETE /v1/monitors/{id}": auth,
        "GET /v1/monitors/{id}/checks": auth, "GET /v1/monitors/{id}/uptime": auth,
        "GET /v1/monitors/{id}/incidents": auth, "GET /v1/monitors/{id}/channels": auth,
        "POST /v1/monitors/{id}/channels": {**auth, "body": {"kind": "webhook", "config": config}},
        "DELETE /v1/monitors/{id}/channels/{channel_id}": {
            "path_parameters": {"id": fuzz_server.monitor_id, "channel_id": fuzz_server.channel_id},
            "headers": headers},
        "PUT /v1/monitors/{id}/maintenance": {**auth, "body": {"until": until}},
        "DELETE /v1/monitors/{id}/maintenance": auth,
        "POST /v1/monitors/{id}/token": {
            "path_parameters": {"id": fuzz_server.heartbeat_id},
            "headers": {"Authorization": f"Bearer {fuzz_server.heartbeat_token}"}},
        "POST /v1/status-pages": {"headers": headers,
                                  "body": {"monitors": [fuzz_server.monitor_id]}},
        "GET /v1/status-pages": {"headers": headers},
        "DELETE /v1/status-pages/{slug}": {"path_parameters": {"slug": "fuzz-page"},
                                           "headers": headers},
        "GET /v1/check": {"query": config},
        "POST /v1/checks": {"body": {"type": "http", "config": config}},
        "POST /v1/monitors": {"body": {"type": "http", "config": config, "tier": "basic"}},
        "POST /subscribe": {"body": {"target_config": config, "tier": "basic"}},
    }
    started = time.monotonic()
    edges = {"GET /v1/monitors/{id}/checks": ("before", EDGE_INSTANTS)}
    report = await asyncio.to_thread(fuzz, doc, srv.url, fixed, edges)
    elapsed = time.monotonic() - started
    total = sum(report.cases.values())
    print(f"schemathesis: {len(report.cases)} operations, {total} cases, {elapsed:.1f} s, "
          f"statuses {sorted(Counter(s for _, s in report.statuses.elements()).items())}")

    assert report.server_errors() == [], report.server_errors()
    assert report.failures == [], "\n\n".join(report.failures)
    labels = {f"{method.upper()} {path}" for method, path in operations}
    assert set(report.cases) == labels
    # Each operation with inputs saw many generated values (pricing and the keys have none).
    no_inputs = {"GET /v1/pricing", "GET /.well-known/lighthouse-keys.json"}
    assert all(n >= 2 * MAX_EXAMPLES for label, n in report.cases.items() if label not in no_inputs), \
        report.cases
    # ... invalid ones among them: every operation with inputs got negative data.
    negative = GenerationMode.NEGATIVE.value
    assert all(report.modes[(label, negative)] > 0 for label in labels - no_inputs), report.modes
    # The runs with fixed valid inputs reached what lies behind them: the handlers' 200s
    # behind the token, the x402 challenge (402) behind a valid paid request.
    for label in REACHED_OK:
        assert report.statuses[(label, 200)] > 0, label
    assert report.statuses[("POST /v1/monitors/{id}/channels", 201)] > 0
    assert report.statuses[("POST /v1/status-pages", 201)] > 0
    for label in ("GET /v1/check", "POST /v1/checks", "POST /v1/monitors", "POST /subscribe"):
        assert report.statuses[(label, 402)] > 0, label


async def test_undeclared_methods_answer_405_with_allow(fuzz_server: Fuzzed) -> None:
    srv, monitor_id = fuzz_server.srv, fuzz_server.monitor_id
    async with srv.session.get(srv.url + "/openapi.json") as r:
        doc = await r.json()
    for path, item in doc["paths"].items():
        declared = {m.upper() for m in item}
        url = srv.url + path.replace("{id}", monitor_id).replace(
            "{channel_id}", str(fuzz_server.channel_id)).replace("{slug}", "fuzz-page")
        for method in METHODS:
            if method.upper() in declared:
                continue
            async with srv.session.request(method.upper(), url) as r:
                assert r.status == 405, (method, path, r.status)
                allow = {m.strip() for m in r.headers["Allow"].split(",")}
                assert allow - {"HEAD"} == declared, (path, allow)
                assert (await r.json())["error"]["code"] == "method_not_allowed"
