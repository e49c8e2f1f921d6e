"""TCP check: connect to host:port (through the SSRF guard), optionally send and expect.

Conditions (core/checks/conditions/) may use [RESPONSE_TIME] (connect time, ms) and
[BANNER] (what the server sent first, up to the first line break, or up to ``expect``;
read only when a condition or ``expect`` needs it)::

    {"host": "mail.example.com", "port": 25, "conditions": ["[BANNER] matches \\"^220 \\""]}

Conditions are judged once the target answered (connected, and the banner read when
needed); a refused or timed-out connection fails the check with its own error code.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    PreflightContext,
    host_port_shorthand,
)
from lighthouse.core.checks.conditions import cached_condition, evaluate_into
from lighthouse.core.checks.netcommon import preflight_host, validate_host, vetted_address
from lighthouse.core.errors import TargetNotAllowedError
from pydantic import Field, field_validator

BANNER_LIMIT = 4096
BANNER_SAMPLE = 200
TCP_PLACEHOLDERS = frozenset({"RESPONSE_TIME", "BANNER"})


class TcpConfig(CheckConfig):
    host: str = Field(max_length=253, description="host name or IP address")
    port: int = Field(ge=1, le=65535)
    timeout_s: float = Field(default=10.0, gt=0, le=60, description="connect, send and read")
    send: str | None = Field(default=None, min_length=1, max_length=1024,
                             description="text sent once connected")
    expect: str | None = Field(default=None, min_length=1, max_length=1024,
                               description="text the reply must contain")
    max_latency_ms: int | None = Field(default=None, gt=0, le=60_000,
                                       description="shorthand for [RESPONSE_TIME] <= N")
    conditions: list[str] = Field(default_factory=list, max_length=20,
                                  description="over [RESPONSE_TIME] (ms) and [BANNER]")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return validate_host(value)

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            cached_condition(text, TCP_PLACEHOLDERS)  # raises with the position
        return value

    def needs_banner(self) -> bool:
        return self.expect is not None or any(
            cached_condition(t, TCP_PLACEHOLDERS).left.name == "BANNER" for t in self.conditions
        )


class TcpCheck(CheckTypeBase):
    name: ClassVar[str] = "tcp"
    config_model: ClassVar[type[CheckConfig]] = TcpConfig
    example: ClassVar[dict[str, Any]] = {"host": "example.com", "port": 25,
                                         "conditions": ['[BANNER] matches "^220 "']}

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        """``tcp://host:port`` or ``tcp host[:port]``."""
        return host_port_shorthand("tcp", text)

    def shorthand(self, config: TcpConfig) -> str | None:
        return f"tcp://{self.describe(config)}"

    def target_host(self, config: TcpConfig) -> str:
        return config.host

    def describe(self, config: TcpConfig) -> str:
        host = f"[{config.host}]" if ":" in config.host else config.host
        return f"{host}:{config.port}"

    async def preflight(self, config: TcpConfig, ctx: PreflightContext) -> None:
        await preflight_host(ctx.guard, config.host, config.port)

    async def run(self, config: TcpConfig, ctx: CheckContext) -> CheckResult:
        values: dict[str, Any] = {}
        result, answered = await self._probe(config, ctx, values)
        if answered:  # connected (and read, if asked): the conditions have values to judge
            evaluate_into(result, config.conditions, TCP_PLACEHOLDERS, values)
        return result

    async def _probe(self, config: TcpConfig, ctx: CheckContext,
                     values: dict[str, Any]) -> tuple[CheckResult, bool]:
        started = time.perf_counter()
        details: dict[str, Any] = {}
        writer: asyncio.StreamWriter | None = None
        connect_ms: float | None = None
        banner_ok = True
        try:
            async with asyncio.timeout(config.timeout_s):
                ip = await vetted_address(ctx.guard, config.host, config.port)
                details["address"] = ip
                reader, writer = await asyncio.open_connection(ip, config.port)
                connect_ms = (time.perf_counter() - started) * 1000
                details["connect_ms"] = round(connect_ms, 2)
                values["RESPONSE_TIME"] = connect_ms
                if config.send is not None:
                    writer.write(config.send.encode())
                    await writer.drain()
                if config.needs_banner():
                    needle = config.expect.encode() if config.expect is not None else b"\n"
                    text = (await _read_until(reader, needle, BANNER_LIMIT)).decode(
                        "utf-8", "replace")
                    details["banner"] = text[:BANNER_SAMPLE]
                    values["BANNER"] = text.rstrip("\r\n")
                    banner_ok = config.expect is None or config.expect in text
        except TargetNotAllowedError as exc:
            return CheckResult(False, error_code="target_not_allowed", error=str(exc)), False
        except TimeoutError:
            if connect_ms is None:
                return CheckResult(False, (time.perf_counter() - started) * 1000,
                                   error_code="timeout",
                                   error=f"no connection within {config.timeout_s:g} s",
                                   details=details), False
            return CheckResult(False, connect_ms, error_code="timeout",
                               error=f"no reply within {config.timeout_s:g} s",
                               details=details), False
        except ConnectionRefusedError:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="connection_refused", error="connection refused",
                               details=details), False
        except OSError as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="connection_error", error=f"connection failed: {exc}",
                               details=details), False
        finally:
            if writer is not None:
                writer.close()
        assert connect_ms is not None
        if not banner_ok:
            return CheckResult(False, connect_ms, error_code="unexpected_banner",
                               error=f"expected {config.expect!r} in the reply",
                               details=details), True
        if config.max_latency_ms is not None and connect_ms > config.max_latency_ms:
            return CheckResult(False, connect_ms, error_code="slow_response",
                               error=f"{connect_ms:.0f} ms > {config.max_latency_ms} ms",
                               details=details), True
        return CheckResult(True, connect_ms, details=details), True


async def _read_until(reader: asyncio.StreamReader, needle: bytes, limit: int) -> bytes:
    """Read until ``needle`` arrives, the peer closes, or ``limit`` bytes: whichever first."""
    data = b""
    while len(data) < limit and needle not in data:
        chunk = await reader.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data
