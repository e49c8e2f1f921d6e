"""DNS check: ask a resolver for a record; compare rcode and answers with what is expected.

The resolver is the system's (``server`` unset) or an explicit server ``ip`` / ``ip:port`` /
``[ipv6]:port``; an explicit server goes through the SSRF guard like any target.
Conditions may use [RCODE] ("NOERROR", "NXDOMAIN", ...), [ANSWERS] (the normalized
answers, a list: ``[ANSWERS] contains "203.0.113.7"``, ``len([ANSWERS]) >= 2``),
[TTL] (the lowest TTL of the answers, s) and [RESPONSE_TIME] (ms). Without an explicit
``rcode``, NOERROR is required unless a condition judges [RCODE] itself.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any, ClassVar, Literal

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.resolver
from lighthouse.core.checks.base import (
    CheckConfig,
    CheckContext,
    CheckResult,
    CheckTypeBase,
    PreflightContext,
)
from lighthouse.core.checks.conditions import cached_condition, evaluate_into
from lighthouse.core.checks.netcommon import validate_host
from lighthouse.core.errors import TargetNotAllowedError, ValidationError
from pydantic import Field, field_validator, model_validator

RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA"]
RCODES = ("NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP")
DNS_PLACEHOLDERS = frozenset({"RCODE", "ANSWERS", "TTL", "RESPONSE_TIME"})
_CASE_SENSITIVE = frozenset({"TXT", "CAA"})  # record data compared as written
MAX_ANSWERS_STORED = 50


class DnsConfig(CheckConfig):
    name: str = Field(max_length=253, description="the name to look up")
    record_type: RecordType = "A"
    server: str | None = Field(default=None, max_length=64,
                               description='"ip", "ip:port" or "[ipv6]:port"; unset: the '
                                           "system resolver")
    expected: list[str] = Field(default_factory=list, max_length=50,
                                description="answers to find (see match)")
    match: Literal["subset", "exact", "any"] = Field(
        default="subset", description="subset: every expected answer is there; exact: the "
                                      "same set; any: at least one expected answer is there")
    rcode: str | None = Field(default=None, description="the rcode required; unset: NOERROR, "
                                                        "unless a condition judges [RCODE]")
    timeout_s: float = Field(default=5.0, gt=0, le=30)
    conditions: list[str] = Field(default_factory=list, max_length=20,
                                  description="over [RCODE], [ANSWERS], [TTL] (s), "
                                              "[RESPONSE_TIME] (ms)")

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
    def _rcode(cls, value: str | None) -> str | None:
        if value is None:
            return None
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

    @field_validator("expected")
    @classmethod
    def _expected(cls, value: list[str]) -> list[str]:
        if any(not v.strip() or len(v) > 1024 for v in value):
            raise ValueError("each expected answer must be 1 to 1024 characters")
        return value

    @field_validator("conditions")
    @classmethod
    def _conditions(cls, value: list[str]) -> list[str]:
        for text in value:
            cached_condition(text, DNS_PLACEHOLDERS)  # raises with the position
        return value

    @model_validator(mode="after")
    def _expected_fit_the_type(self) -> DnsConfig:
        if self.record_type in ("A", "AAAA"):
            version = 4 if self.record_type == "A" else 6
            for item in self.expected:
                try:
                    ok = ipaddress.ip_address(item.strip()).version == version
                except ValueError:
                    ok = False
                if not ok:
                    reason = (f"expected answer {item!r} is not an IPv{version} address "
                              f"(record type {self.record_type})")
                    raise ValidationError(f"expected: {reason}", field="expected", reason=reason)
        return self

    def expected_rcode(self) -> str | None:
        """The rcode the check requires, or None when the conditions judge it."""
        if self.rcode is not None:
            return self.rcode
        judged = any(cached_condition(t, DNS_PLACEHOLDERS).left.name == "RCODE"
                     for t in self.conditions)
        return None if judged else "NOERROR"


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


def answer_text(rdata: dns.rdata.Rdata) -> str:
    """An answer as text. A TXT record is its strings joined and decoded, as published:
    to_text() would quote them and escape quotes and non-ASCII bytes (\\195\\169)."""
    if isinstance(rdata, dns.rdtypes.txtbase.TXTBase):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    return rdata.to_text()


def normalize(record_type: str, text: str) -> str:
    """One spelling per answer and expected value: addresses canonical, names without the
    final dot, case folded except for TXT and CAA data; a TXT value written in quotes
    ("v=spf1 -all") loses them, as the answers carry none."""
    text = text.strip()
    if record_type in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            return text
    if record_type == "TXT":
        quoted = len(text) >= 2 and text[0] == text[-1] == '"'
        return text[1:-1] if quoted else text
    text = text.rstrip(".")
    return text if record_type in _CASE_SENSITIVE else text.lower()


class DnsCheck(CheckTypeBase):
    name: ClassVar[str] = "dns"
    config_model: ClassVar[type[CheckConfig]] = DnsConfig
    example: ClassVar[dict[str, Any]] = {"name": "example.com", "record_type": "A",
                                         "conditions": ["[RCODE] == NOERROR"]}

    def from_shorthand(self, text: str) -> dict[str, Any] | None:
        """dns://name[/TYPE][@server[:port]]"""
        raw = text.strip()
        if not raw.lower().startswith("dns://"):
            return None
        rest, _at, server = raw[6:].partition("@")
        name, _slash, rtype = rest.partition("/")
        config: dict[str, Any] = {"name": name}
        if rtype:
            config["record_type"] = rtype.upper()
        if server:
            config["server"] = server
        return config

    def shorthand(self, config: DnsConfig) -> str | None:
        via = f"@{config.server}" if config.server else ""
        return f"dns://{config.name}/{config.record_type}{via}"

    def target_host(self, config: DnsConfig) -> str:
        return parse_server(config.server)[0] if config.server else "system-resolver"

    def describe(self, config: DnsConfig) -> str:
        via = f" @{config.server}" if config.server else ""
        return f"{config.name} {config.record_type}{via}"

    async def preflight(self, config: DnsConfig, ctx: PreflightContext) -> None:
        if config.server:
            host = parse_server(config.server)[0]
            ctx.guard.check_ip(host, host)

    async def run(self, config: DnsConfig, ctx: CheckContext) -> CheckResult:
        started = time.perf_counter()
        rdtype = dns.rdatatype.from_text(config.record_type)
        ttl: int | None = None
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
                rrsets = [rrset for rrset in response.answer if rrset.rdtype == rdtype]
                answers = [answer_text(r) for rrset in rrsets for r in rrset]
                ttl = min((rrset.ttl for rrset in rrsets), default=None)
            else:
                resolver = dns.asyncresolver.Resolver()
                resolver.lifetime = config.timeout_s
                try:
                    answer = await resolver.resolve(config.name, rdtype, raise_on_no_answer=False)
                    rcode = dns.rcode.to_text(answer.response.rcode())
                    answers = [answer_text(r) for r in answer] if answer.rrset is not None else []
                    ttl = answer.rrset.ttl if answer.rrset is not None else None
                except dns.resolver.NXDOMAIN:
                    rcode, answers = "NXDOMAIN", []
        except TargetNotAllowedError as exc:
            return CheckResult(False, error_code="target_not_allowed", error=str(exc))
        except dns.exception.Timeout:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="timeout",
                               error=f"no DNS answer within {config.timeout_s:g} s")
        except (dns.exception.DNSException, OSError) as exc:
            return CheckResult(False, (time.perf_counter() - started) * 1000,
                               error_code="dns_error", error=f"DNS query failed: {exc}"[:300])
        latency = (time.perf_counter() - started) * 1000
        got = [normalize(config.record_type, a) for a in answers]
        details: dict[str, Any] = {"rcode": rcode, "answers": got[:MAX_ANSWERS_STORED]}
        if ttl is not None:
            details["ttl"] = ttl
        result = self._judge(config, rcode, got, latency, details)
        evaluate_into(result, config.conditions, DNS_PLACEHOLDERS,
                      {"RCODE": rcode, "ANSWERS": got, "TTL": ttl, "RESPONSE_TIME": latency})
        return result

    @staticmethod
    def _judge(config: DnsConfig, rcode: str, got: list[str], latency: float,
               details: dict[str, Any]) -> CheckResult:
        want_rcode = config.expected_rcode()
        if want_rcode is not None and rcode != want_rcode:
            return CheckResult(False, latency, error_code="unexpected_rcode",
                               error=f"rcode {rcode}, expected {want_rcode}", details=details)
        have = set(got)
        want = {normalize(config.record_type, e) for e in config.expected}
        if want:
            if config.match == "exact":
                ok = have == want
            elif config.match == "any":
                ok = bool(have & want)
            else:
                ok = want <= have
            if not ok:
                missing = sorted(want - have) if config.match != "any" else []
                extra = sorted(have - want) if config.match == "exact" else []
                return CheckResult(
                    False, latency, error_code="unexpected_answer",
                    error=(f"answers {sorted(have)} do not match ({config.match}) {sorted(want)}"
                           + (f"; missing {missing}" if missing else "")
                           + (f"; unexpected {extra}" if extra else ""))[:300],
                    details=details)
        return CheckResult(True, latency, details=details)
