"""Canary flows: ordered steps (HTTP request, JSON-RPC call, wait) run as one check.

Config::

    {"name": "purchase", "timeout_s": 60, "variables": {"USER": "alice"},
     "steps": [
       {"name": "login", "action": "http", "method": "POST", "url": "https://api.example/login",
        "body": {"user": "${USER}"}, "expect": {"status": 200},
        "extract": {"TOKEN": "$.token"}},
       {"name": "cart", "action": "GET", "url": "https://api.example/cart/[STEP1].body.cart_id",
        "headers": {"Authorization": "Bearer ${TOKEN}"},
        "expect": ["[STATUS] == 200", "[BODY].items[0].price > 0"]},
       {"action": "wait", "seconds": 2},
       {"name": "balance", "action": "rpc", "url": "https://rpc.example", "method": "eth_call",
        "params": [{"to": "0x...", "data": "0x70a08231${SELLER}"}, "latest"],
        "expect": {"conditions": ["[RESULT_INT] > 0"]}}]}

* ``action``: ``http`` (``method``, ``url``, ``headers``, ``body`` text or JSON), ``rpc``
  (``url``, JSON-RPC ``method``, ``params``) or ``wait`` (``seconds``). The plan's
  ``action: GET|POST|PUT|PATCH|DELETE|HEAD`` is read as ``http`` with that method.
* Values flow forward: ``extract: {"NAME": "$.path"}`` (a path into the step's JSON body
  or RPC result: ``$``, ``.key``, ``[n]``) is used later as ``${NAME}``; ``variables`` seed
  names. ``[STEPn].body.path`` (also ``.status``, ``.headers.<name>``) reads step n's
  response directly. References are checked at creation (a name must be extracted by an
  earlier step, n must be an earlier step) and fail closed at run time: a value that does
  not resolve fails the step; it never becomes "".
* ``expect``: ``status`` (int or list), ``body_contains``, ``conditions`` (the condition
  language: [STATUS], [RESPONSE_TIME], [BODY], [HEADER], [RESULT], [RESULT_INT] and
  [STEPn]); a list of strings is shorthand for ``conditions``. With neither ``status`` nor
  conditions an HTTP step wants 2xx/3xx (as the HTTP check); an RPC step always wants a
  result (a JSON-RPC error fails it).
* Timeouts: ``timeout_s`` per step (default 10) and for the whole flow (default 60); a
  step never gets more than what is left of the flow.
* Results: ``details.steps`` holds one entry per step run (ok, latency, status, error,
  condition outcomes, names extracted; never extracted values, which may be secrets);
  the first failing step stops the flow, is named in ``error`` and in
  ``details.failed_step``; ``error_code`` is that step's own code.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import aiohttp
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    Fact,
    PreflightContext,
    http_facts,
)
from lighthouse.core.checks.canary_config import (
    _STEP_REF,
    _VAR,
    CANARY_PLACEHOLDERS,
    MAX_STEPS,
    CanaryConfig,
    HttpStep,
    RpcStep,
    Step,
    StepExpect,
    WaitStep,
    canary_condition,
    parse_path,
)
from lighthouse.core.checks.conditions import ConditionContext
from lighthouse.core.checks.http import classify_exception
from lighthouse.core.checks.jsonrpc import RpcFailure, rpc_call
from lighthouse.core.jsonsafe import safe_json_loads
from lighthouse.core.streams import read_body

# The config models live in core/checks/canary_config.py; their public names stay
# importable from here, the check type's module.
__all__ = [
    "BODY_LIMIT",
    "CANARY_PLACEHOLDERS",
    "MAX_STEPS",
    "SAMPLE",
    "CanaryCheck",
    "CanaryConfig",
    "HttpStep",
    "RpcStep",
    "Step",
    "StepExpect",
    "WaitStep",
    "canary_condition",
    "parse_path",
]

BODY_LIMIT = 1024 * 1024
SAMPLE = 300


class _StepFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _walk(value: Any, path: tuple[str | int, ...], label: str) -> Any:
    walked = label
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or not -len(value) <= part < len(value):
                raise _StepFailed("unresolved", f"{walked}[{part}] does not exist")
            value = value[part]
            walked += f"[{part}]"
        else:
            if not isinstance(value, Mapping):
                raise _StepFailed("unresolved", f"{walked} is not an object")
            key = part.lower() if walked.endswith(".headers") else part
            if key not in value:
                raise _StepFailed("unresolved", f"{walked}.{part} is missing")
            value = value[key]
            walked += f".{part}"
    return value


class _Flow:
    """The state of one run: extracted names and each finished step's response."""

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.vars: dict[str, Any] = dict(variables)
        self.steps: dict[int, dict[str, Any]] = {}

    def lookup_var(self, name: str) -> Any:
        if name not in self.vars:
            raise _StepFailed("unresolved", f"${{{name}}} has no value")
        return self.vars[name]

    def lookup_step(self, n: int, path: str) -> Any:
        if n not in self.steps:
            raise _StepFailed("unresolved", f"[STEP{n}] has not run")
        return _walk(self.steps[n], parse_path(path), f"[STEP{n}]")

    def render(self, value: Any) -> Any:
        """Substitute references in strings (recursively); a whole-string reference keeps
        the value's JSON type (an int stays an int in RPC params and JSON bodies)."""
        if isinstance(value, str):
            whole_var = _VAR.fullmatch(value)
            if whole_var:
                return self.lookup_var(whole_var.group(1))
            whole_step = _STEP_REF.fullmatch(value)
            if whole_step:
                return self.lookup_step(int(whole_step.group(1)), whole_step.group(2))
            text = _VAR.sub(lambda m: _as_text(self.lookup_var(m.group(1))), value)
            return _STEP_REF.sub(
                lambda m: _as_text(self.lookup_step(int(m.group(1)), m.group(2))), text
            )
        if isinstance(value, Mapping):
            return {self.render(k): self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        return value

    def render_text(self, value: str) -> str:
        return _as_text(self.render(value))


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _hex_int(value: Any) -> int | None:
    if isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]{1,64}", value):
        return int(value, 16)
    return None


class CanaryCheck(CheckTypeBase):
    name: ClassVar[str] = "canary"
    config_model: ClassVar[type[CheckConfig]] = CanaryConfig
    required_feature: ClassVar[str | None] = "canary"
    limit_group: ClassVar[str | None] = "canary"
    example: ClassVar[dict[str, Any]] = {
        "name": "login flow",
        "steps": [{"action": "http", "url": "https://example.com/api/login", "method": "POST",
                   "body": {"user": "probe"}, "extract": {"token": "$.token"}},
                  {"action": "http", "url": "https://example.com/api/me",
                   "headers": {"Authorization": "Bearer {token}"}}]}


    def facts(self, data: dict[str, Any]) -> list[Fact]:
        return http_facts(data)
    def target_host(self, config: CanaryConfig) -> str:
        for step in config.steps:
            if not isinstance(step, WaitStep):
                return (urlsplit(step.url).hostname or "").lower()
        return ""

    def describe(self, config: CanaryConfig) -> str:
        return config.name or f"canary flow ({len(config.steps)} steps)"

    async def preflight(self, config: CanaryConfig, ctx: PreflightContext) -> None:
        """Every literal step host must be allowed; templated hosts are guarded at connect."""
        for step in config.steps:
            if isinstance(step, WaitStep):
                continue
            host = urlsplit(step.url).hostname or ""
            if not host or "${" in step.url.split("/")[2] or "[STEP" in step.url.split("/")[2]:
                continue
            try:
                await ctx.guard.resolve(host)
            except OSError:
                continue

    async def run(self, config: CanaryConfig, ctx: CheckContext) -> CheckResult:
        flow = _Flow(config.variables)
        results: list[dict[str, Any]] = []
        details: dict[str, Any] = {"steps": results}
        if config.name:
            details["flow"] = config.name
        started = time.perf_counter()
        deadline = started + config.timeout_s
        last_status: int | None = None
        for index, step in enumerate(config.steps, start=1):
            label = step.name or f"step {index}"
            entry: dict[str, Any] = {"step": index, "name": label, "action": step.action}
            results.append(entry)
            step_started = time.perf_counter()
            remaining = deadline - step_started
            try:
                if remaining <= 0:
                    raise _StepFailed("flow_timeout", f"flow timeout of {config.timeout_s:g} s")
                if isinstance(step, WaitStep):
                    if step.seconds > remaining:
                        await asyncio.sleep(remaining)
                        raise _StepFailed("flow_timeout",
                                          f"flow timeout of {config.timeout_s:g} s")
                    await asyncio.sleep(step.seconds)
                else:
                    budget = min(step.timeout_s, remaining)
                    flow_capped = budget < step.timeout_s
                    try:
                        if isinstance(step, HttpStep):
                            response = await self._http(step, flow, ctx, budget)
                        else:
                            response = await self._rpc(step, flow, ctx, budget)
                    except _StepFailed as exc:
                        if exc.code == "timeout" and flow_capped:
                            raise _StepFailed("flow_timeout",
                                              f"flow timeout of {config.timeout_s:g} s") from None
                        raise
                    entry["latency_ms"] = round(response["latency_ms"], 2)
                    if "status" in response:
                        entry["status"] = last_status = response["status"]
                    if response.get("truncated"):  # a cut body explains a failing condition
                        entry["body_truncated_at"] = BODY_LIMIT
                    flow.steps[index] = response
                    self._judge(step, response, flow, entry)
                    for name, path in step.extract.items():
                        try:
                            flow.vars[name] = _walk(response.get("body"), parse_path(path),
                                                    f"extract {name}: $")
                        except _StepFailed as exc:
                            raise _StepFailed("extract_failed", exc.message) from None
                    if step.extract:
                        entry["extracted"] = sorted(step.extract)
                entry["ok"] = True
            except _StepFailed as exc:
                entry.update(ok=False, error_code=exc.code, error=exc.message[:300])
                entry.setdefault("latency_ms",
                                 round((time.perf_counter() - step_started) * 1000, 2))
                details["failed_step"] = {"step": index, "name": label}
                return CheckResult(
                    ok=False, latency_ms=(time.perf_counter() - started) * 1000,
                    status_code=last_status, error_code=exc.code,
                    error=f"{label} failed: {exc.message}"[:300], details=details,
                )
        return CheckResult(ok=True, latency_ms=(time.perf_counter() - started) * 1000,
                           status_code=last_status, details=details)

    async def _http(self, step: HttpStep, flow: _Flow, ctx: CheckContext,
                    budget_s: float) -> dict[str, Any]:
        url = flow.render_text(step.url)
        headers = {flow.render_text(k): flow.render_text(v) for k, v in step.headers.items()}
        data: bytes | None = None
        if isinstance(step.body, str):
            data = flow.render_text(step.body).encode()
        elif step.body is not None:
            data = json.dumps(flow.render(step.body)).encode()
            headers.setdefault("Content-Type", "application/json")
        started = time.perf_counter()
        try:
            async with ctx.session.request(
                step.method, url, headers=headers or None, data=data,
                allow_redirects=step.follow_redirects,
                timeout=aiohttp.ClientTimeout(total=budget_s),
            ) as resp:
                raw, truncated = await read_body(resp.content, BODY_LIMIT)
                status = resp.status
                resp_headers = {k.lower(): v for k, v in resp.headers.items()}
        except Exception as exc:
            code, text = classify_exception(exc, budget_s)
            raise _StepFailed(code, text) from None
        latency = (time.perf_counter() - started) * 1000
        text = raw.decode("utf-8", "replace")
        try:
            body: Any = safe_json_loads(text)
        except ValueError:
            body = text
        return {"status": status, "body": body, "raw": raw, "headers": resp_headers,
                "latency_ms": latency, "truncated": truncated}

    async def _rpc(self, step: RpcStep, flow: _Flow, ctx: CheckContext,
                   budget_s: float) -> dict[str, Any]:
        url = flow.render_text(step.url)
        params = flow.render(step.params)
        headers = {flow.render_text(k): flow.render_text(v) for k, v in step.headers.items()}
        try:
            result, latency = await rpc_call(ctx.session, url, step.method, params,
                                             timeout_s=budget_s, headers=headers)
        except RpcFailure as exc:
            raise _StepFailed(exc.code, exc.message) from None
        return {"status": 200, "body": result, "result": result, "latency_ms": latency}

    @staticmethod
    def _judge(step: HttpStep | RpcStep, response: dict[str, Any], flow: _Flow,
               entry: dict[str, Any]) -> None:
        expect = step.expect
        status = response.get("status")
        if isinstance(step, HttpStep):
            wanted = expect.status
            codes = [wanted] if isinstance(wanted, int) else wanted
            if codes is not None and status not in codes:
                raise _StepFailed("unexpected_status", f"HTTP {status}, expected {wanted}")
            if (codes is None and not expect.conditions
                    and not (isinstance(status, int) and 200 <= status < 400)):
                raise _StepFailed("unexpected_status", f"HTTP {status}")
        if expect.body_contains is not None:
            body = response.get("body")
            text = body if isinstance(body, str) else _as_text(body)
            if expect.body_contains not in text:
                raise _StepFailed("body_mismatch",
                                  f"body does not contain {expect.body_contains[:60]!r}")
        if not expect.conditions:
            return
        values: dict[str, Any] = {f"STEP{n}": _public(r) for n, r in flow.steps.items()}
        values.update(RESPONSE_TIME=response["latency_ms"])
        if isinstance(step, HttpStep):
            values.update(STATUS=status, BODY=response["raw"], HEADER=response["headers"])
        else:
            result = response["result"]
            values.update(RESULT=result, BODY=_as_text(result))
            as_int = _hex_int(result)
            if as_int is not None:
                values["RESULT_INT"] = as_int
        cctx = ConditionContext(values, body_cut_at=BODY_LIMIT if response.get("truncated") else None)
        outcomes = [canary_condition(t).evaluate(cctx) for t in expect.conditions]
        entry["conditions"] = [o.to_dict() for o in outcomes]
        failed = next((o for o in outcomes if not o.ok), None)
        if failed is not None:
            raise _StepFailed("condition_failed", f"{failed.condition}: {failed.reason}")


def _public(response: dict[str, Any]) -> dict[str, Any]:
    """A step's response as [STEPn] sees it: status, body, headers (and result)."""
    return {k: v for k, v in response.items() if k in ("status", "body", "headers", "result")}
