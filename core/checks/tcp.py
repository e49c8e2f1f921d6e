"""TCP check: connect to host:port (through the SSRF guard), optionally send and expect."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from lighthouse.core.checks.base import CheckConfig, CheckContext, CheckResult
from lighthouse.core.checks.netcommon import preflight_host, validate_host, vetted_address
from lighthouse.core.errors import TargetNotAllowedError
from lighthouse.core.netguard import TargetGuard
from pydantic import Field, field_validator

BANNER_LIMIT = 4096


class TcpConfig(CheckConfig):
    host: str = Field(max_length=253)
    port: int = Field(ge=1, le=65535)
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    send: str | None = Field(default=None, max_length=1024)
    expect: str | None = Field(default=None, max_length=1024)
    max_latency_ms: int | None = Field(default=None, gt=0, le=60_000)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return validate_host(value)


class TcpCheck:
    name: ClassVar[str] = "tcp"
    config_model: ClassVar[type[CheckConfig]] = TcpConfig

    def target_host(self, config: TcpConfig) -> str:
        return config.host

    def describe(self, config: TcpConfig) -> str:
        return f"{config.host}:{config.port}"

    async def preflight(self, config: TcpConfig, guard: TargetGuard) -> None:
        await preflight_host(guard, config.host, config.port)

    async def run(self, config: TcpConfig, ctx: CheckContext) -> CheckResult:
        started = time.perf_counter()
        details: dict[str, object] = {}
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(config.timeout_s):
                ip = await vetted_address(ctx.guard, config.host, config.port)
                details["address"] = ip
                reader, writer = await asyncio.open_connection(ip, config.port)
                connect_ms = (time.perf_counter() - started) * 1000
                details["connect_ms"] = round(connect_ms, 2)
                if config.send is not None:
                    writer.write(config.send.encode())
                    await writer.drain()
                if config.expect is not None:
                    banner = await _read_until(reader, config.expect.encode(), BANNER_LIMIT)
                    details["banner"] = banner[:200].decode("utf-8", "replace")
                    if config.expect.encode() not in banner:
                        return CheckResult(False, connect_ms, error_code="unexpected_banner",
                                           error=f"expected {config.expect!r} in the reply",
                                           details=details)
        except TargetNotAllowedError as exc:
            return CheckResult(False, error_code="target_not_allowed", error=str(exc))
        except TimeoutError:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="timeout", error="timed out", details=details)
        except ConnectionRefusedError:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="connection_refused", error="connection refused",
                               details=details)
        except OSError as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="connection_error", error=f"connection failed: {exc}",
                               details=details)
        finally:
            if writer is not None:
                writer.close()
        if config.max_latency_ms is not None and connect_ms > config.max_latency_ms:
            return CheckResult(False, connect_ms, error_code="slow_response",
                               error=f"{connect_ms:.0f} ms > {config.max_latency_ms} ms",
                               details=details)
        return CheckResult(True, connect_ms, details=details)


async def _read_until(reader: asyncio.StreamReader, needle: bytes, limit: int) -> bytes:
    data = b""
    while len(data) < limit and needle not in data:
        chunk = await reader.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data
