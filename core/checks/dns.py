"""DNS check: ask a resolver for a record; compare rcode and answers with what is expected."""

from __future__ import annotations

import ipaddress
import time
from typing import ClassVar, Literal

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
from lighthouse.core.checks.base import CheckConfig, CheckContext, CheckResult
from lighthouse.core.checks.netcommon import validate_host
from lighthouse.core.errors import TargetNotAllowedError
from lighthouse.core.netguard import TargetGuard
from pydantic import Field, field_validator

RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA"]
RCODES = ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP")


class DnsConfig(CheckConfig):
    name: str = Field(max_length=253)
    record_type: RecordType = "A"
    server: str | None = Field(default=None, max_length=64)  # "ip" or "ip:port"; None: system
    expected: list[str] = Field(default_factory=list, max_length=50)
    match: Literal["subset", "exact", "any"] = "subset"
    rcode: str = "NOERROR"
    timeout_s: float = Field(default=5.0, gt=0, le=30)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return validate_host(value)

    @field_validator("record_type", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("rcode")
    @classmethod
    def _rcode(cls, value: str) -> str:
        value = value.upper()
        if value not in RCODES:
            raise ValueError(f"rcode must be one of {', '.join(RCODES)}")
        return value

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_server(value)
        return value


def parse_server(value: str) -> tuple[str, int]:
    host, port = value, 53
    if value.count(":") == 1:  # ipv4:port
        host, _, p = value.partition(":")
        port = int(p) if p.isdigit() else -1
    elif value.startswith("[") and "]:" in value:  # [ipv6]:port
        host, _, p = value[1:].partition("]:")
        port = int(p) if p.isdigit() else -1
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError("server must be an IP address, optionally with :port") from None
    if not 1 <= port <= 65535:
        raise ValueError("server port must be 1..65535")
    return host, port


def _normalize(text: str) -> str:
    return text.strip().strip('"').rstrip(".").lower()


class DnsCheck:
    name: ClassVar[str] = "dns"
    config_model: ClassVar[type[CheckConfig]] = DnsConfig

    def target_host(self, config: DnsConfig) -> str:
        return parse_server(config.server)[0] if config.server else "system-resolver"

    def describe(self, config: DnsConfig) -> str:
        via = f" @{config.server}" if config.server else ""
        return f"{config.name} {config.record_type}{via}"

    async def preflight(self, config: DnsConfig, guard: TargetGuard) -> None:
        if config.server:
            host = parse_server(config.server)[0]
            guard.check_ip(host, host)

    async def run(self, config: DnsConfig, ctx: CheckContext) -> CheckResult:
        started = time.perf_counter()
        rdtype = dns.rdatatype.from_text(config.record_type)
        try:
            if config.server:
                host, port = parse_server(config.server)
                ctx.guard.check_ip(host, host)
                query = dns.message.make_query(config.name, rdtype)
                response = await dns.asyncquery.udp(query, host, port=port, timeout=config.timeout_s)
                if response.flags & dns.flags.TC:
                    response = await dns.asyncquery.tcp(query, host, port=port,
                                                        timeout=config.timeout_s)
                rcode = dns.rcode.to_text(response.rcode())
                answers = [r.to_text() for rrset in response.answer if rrset.rdtype == rdtype
                           for r in rrset]
            else:
                resolver = dns.asyncresolver.Resolver()
                resolver.lifetime = config.timeout_s
                try:
                    answer = await resolver.resolve(config.name, rdtype, raise_on_no_answer=False)
                    rcode = dns.rcode.to_text(answer.response.rcode())
                    answers = [r.to_text() for r in answer] if answer.rrset is not None else []
                except dns.resolver.NXDOMAIN:
                    rcode, answers = "NXDOMAIN", []
        except TargetNotAllowedError as exc:
            return CheckResult(False, error_code="target_not_allowed", error=str(exc))
        except dns.exception.Timeout:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="timeout", error="DNS query timed out")
        except (dns.exception.DNSException, OSError) as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="dns_error", error=f"DNS query failed: {exc}"[:300])
        latency = (time.perf_counter() - started) * 1000
        details: dict[str, object] = {"rcode": rcode, "answers": answers[:50]}
        if rcode != config.rcode:
            return CheckResult(False, latency, error_code="unexpected_rcode",
                               error=f"rcode {rcode}, expected {config.rcode}", details=details)
        got = {_normalize(a) for a in answers}
        want = {_normalize(e) for e in config.expected}
        if want:
            if config.match == "exact":
                ok = got == want
            elif config.match == "any":
                ok = bool(got & want)
            else:
                ok = want <= got
            if not ok:
                missing = sorted(want - got)
                return CheckResult(
                    False, latency, error_code="unexpected_answer",
                    error=f"answers {sorted(got)} do not match ({config.match}) {sorted(want)}"
                    + (f"; missing {missing}" if missing else ""), details=details)
        return CheckResult(True, latency, details=details)
