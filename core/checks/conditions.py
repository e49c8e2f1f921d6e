"""The condition language: what "up" means for a monitor, one line per condition.

    [STATUS] == 200                         [RESPONSE_TIME] < 500
    [BODY].data.items[0].id == 42           [BODY] contains "healthy"
    [BODY] matches "^OK"                    [HEADER].content-type contains json
    [CERT_EXPIRY] > 7d                      len([BODY].data.items) >= 1
    [STATUS] in [200, 201, 202]             [BODY] schema {"type": "object", "required": ["status"]}

A condition is parsed once, when a monitor is created (a malformed one is refused with
the position of the error), and evaluated against each check's values. It fails closed:
an operand that does not resolve (a missing JSON field, a body that is not JSON, text
where a number is needed) fails the condition and says why; it never becomes 0 or "".
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lighthouse.core.errors import InvalidConditionError

MAX_CONDITION_LENGTH = 1000
MAX_PATTERN_LENGTH = 300
ACTUAL_MAX = 120
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "not contains", "contains", "matches", "in", "schema")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")
_FIELD = re.compile(r"[A-Za-z0-9_$-]+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_BAREWORD = re.compile(r"[^\s,\]\[\"']+")
_MISSING = object()


@dataclass(frozen=True)
class ConditionResult:
    condition: str
    ok: bool
    actual: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.condition, "ok": self.ok, "actual": self.actual,
                "reason": self.reason}


class _Unresolved(Exception):
    """An operand that does not resolve: the condition fails with this reason."""


class ConditionContext:
    """The values one check measured, by placeholder name.

    BODY may be bytes or str and is parsed as JSON at most once, on first need; HEADER is
    a mapping with case-insensitive names.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)
        if isinstance(self._values.get("HEADER"), Mapping):
            self._values["HEADER"] = {str(k).lower(): v for k, v in self._values["HEADER"].items()}
        self._json: Any = _MISSING

    @classmethod
    def for_http(cls, *, status: int | None, response_time_ms: float | None, body: bytes | str,
                 headers: Mapping[str, str], cert_expiry: timedelta | None = None,
                 **extra: Any) -> ConditionContext:
        values: dict[str, Any] = {"STATUS": status, "RESPONSE_TIME": response_time_ms,
                                  "BODY": body, "HEADER": headers, **extra}
        if cert_expiry is not None:
            values["CERT_EXPIRY"] = cert_expiry
        return cls({k: v for k, v in values.items() if v is not None})

    def has(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> Any:
        if name not in self._values:
            raise _Unresolved(f"[{name}] is not measured by this check")
        return self._values[name]

    def body_text(self) -> str:
        body = self.get("BODY")
        return body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)

    def body_json(self) -> Any:
        if self._json is _MISSING:
            try:
                self._json = json.loads(self.body_text())
            except ValueError:
                self._json = _Unresolved("the body is not JSON")
        if isinstance(self._json, _Unresolved):
            raise self._json
        return self._json


# --- the tree ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Operand:
    name: str
    path: tuple[str | int, ...] = ()
    length: bool = False

    def text(self) -> str:
        out = f"[{self.name}]" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        return f"len({out})" if self.length else out

    def resolve(self, ctx: ConditionContext) -> Any:
        if self.name == "BODY" and self.path:
            value: Any = ctx.body_json()
        elif self.name == "BODY":
            value = ctx.body_text()
        else:
            value = ctx.get(self.name)
        walked = f"[{self.name}]"
        for step in self.path:
            if isinstance(step, int):
                if not isinstance(value, list):
                    raise _Unresolved(f"{walked} is not a list")
                if not -len(value) <= step < len(value):
                    raise _Unresolved(f"{walked}[{step}] is out of range (length {len(value)})")
                value = value[step]
                walked += f"[{step}]"
            else:
                if not isinstance(value, Mapping):
                    raise _Unresolved(f"{walked} is not an object")
                key = step.lower() if self.name == "HEADER" else step
                if key not in value:
                    raise _Unresolved(f"{walked}.{step} is missing")
                value = value[key]
                walked += f".{step}"
        if self.length:
            if isinstance(value, str | bytes | list | dict):
                return len(value)
            raise _Unresolved(f"len() of {type(value).__name__} is undefined")
        return value


@dataclass(frozen=True)
class Condition:
    text: str
    left: Operand
    op: str
    right: Any
    pattern: re.Pattern[str] | None = None
    validator: Draft202012Validator | None = None

    def evaluate(self, ctx: ConditionContext) -> ConditionResult:
        try:
            left = self.left.resolve(ctx)
        except _Unresolved as exc:
            return ConditionResult(self.text, False, None, str(exc))
        actual = _show(left)
        try:
            ok, reason = self._compare(left)
        except _Unresolved as exc:
            return ConditionResult(self.text, False, actual, str(exc))
        return ConditionResult(self.text, ok, actual, None if ok else reason)

    def _compare(self, left: Any) -> tuple[bool, str]:
        op, right = self.op, self.right
        if op in ("==", "!="):
            equal = _equal(left, right)
            return (equal if op == "==" else not equal), f"{_show(left)} {op} {_show(right)} is false"
        if op in ("<", "<=", ">", ">="):
            a, b = _number(left, "left side"), _number(right, "right side")
            ok = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            return ok, f"{_show(left)} is not {op} {_show(right)}"
        if op in ("contains", "not contains"):
            found = _contains(left, right)
            ok = found if op == "contains" else not found
            return ok, f"{'does not contain' if op == 'contains' else 'contains'} {_show(right)}"
        if op == "matches":
            if not isinstance(left, str):
                raise _Unresolved(f"matches needs text, got {type(left).__name__}")
            assert self.pattern is not None
            return self.pattern.search(left) is not None, f"does not match {self.pattern.pattern!r}"
        if op == "in":
            return any(_equal(left, item) for item in right), f"{_show(left)} is not in {_show(right)}"
        if op == "schema":
            assert self.validator is not None
            doc = left
            if isinstance(left, str):
                try:
                    doc = json.loads(left)
                except ValueError:
                    raise _Unresolved("the body is not JSON") from None
            error = next(iter(self.validator.iter_errors(doc)), None)
            if error is None:
                return True, ""
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            return False, f"schema: {where}: {error.message}"[:300]
        raise _Unresolved(f"unknown operator {op}")  # unreachable: the parser checks


def _show(value: Any) -> str:
    if isinstance(value, timedelta):
        text = f"{value.total_seconds() / 86400:.2f}d"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= ACTUAL_MAX else text[: ACTUAL_MAX - 1] + "…"


def _number(value: Any, side: str) -> float:
    if isinstance(value, bool) or value is None:
        raise _Unresolved(f"{side} is {_show(value)}, not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Duration):
        return value.seconds
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    raise _Unresolved(f"{side} is {_show(value)!r}, not a number")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(right, Duration) or isinstance(left, timedelta):
        return _number(left, "left side") == _number(right, "right side")
    if isinstance(right, bool) or right is None:
        return left is right or (isinstance(left, str) and left.lower() == json.dumps(right))
    if isinstance(right, int | float):
        return _number(left, "left side") == float(right)
    if isinstance(left, dict | list):
        raise _Unresolved(f"cannot compare {type(left).__name__} with text")
    if isinstance(left, bool):
        return json.dumps(left) == str(right).lower()
    return str(left) == str(right)


def _contains(left: Any, right: Any) -> bool:
    if isinstance(left, str):
        return str(right) in left
    if isinstance(left, list):
        return any(_equal(item, right) for item in left if not isinstance(item, dict | list))
    if isinstance(left, Mapping):
        return str(right) in left
    raise _Unresolved(f"contains needs text, a list or an object, got {type(left).__name__}")


@dataclass(frozen=True)
class Duration:
    seconds: float
    text: str

    def __str__(self) -> str:
        return self.text


# --- the parser -------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, allowed: frozenset[str] | None) -> None:
        self.s = text
        self.i = 0
        self.allowed = allowed

    def fail(self, reason: str, at: int | None = None) -> InvalidConditionError:
        pos = self.i if at is None else at
        return InvalidConditionError(
            f"{reason} at position {pos}", condition=self.s, position=pos, reason=reason
        )

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def take(self, token: str) -> bool:
        if self.s.startswith(token, self.i):
            self.i += len(token)
            return True
        return False

    def parse(self) -> Condition:
        self.ws()
        left = self.operand()
        self.ws()
        op_at = self.i
        op = next((o for o in OPERATORS if self._op_here(o)), None)
        if op is None:
            raise self.fail("expected an operator (==, !=, <, <=, >, >=, contains, "
                            "not contains, matches, in, schema)")
        self.i += len(op)
        self.ws()
        value_at = self.i
        if self.i >= len(self.s):
            raise self.fail("expected a value after the operator")
        pattern = validator = None
        if op == "in":
            right: Any = self.value()
            if not isinstance(right, list):
                raise self.fail("in needs a list like [200, 201]", value_at)
        elif op == "schema":
            right = self.json_value(value_at)
            if not isinstance(right, dict):
                raise self.fail("schema needs a JSON object", value_at)
            try:
                Draft202012Validator.check_schema(right)
            except SchemaError as exc:
                raise self.fail(f"invalid JSON schema: {exc.message}", value_at) from None
            validator = Draft202012Validator(right)
        else:
            right = self.value()
            if op == "matches":
                if not isinstance(right, str):
                    raise self.fail("matches needs a quoted regular expression", value_at)
                if len(right) > MAX_PATTERN_LENGTH:
                    raise self.fail("regular expression too long", value_at)
                try:
                    pattern = re.compile(right)
                except re.error as exc:
                    raise self.fail(f"invalid regular expression: {exc.msg}", value_at) from None
            if op in ("<", "<=", ">", ">=") and not isinstance(right, int | float | Duration):
                raise self.fail(f"{op} needs a number or a duration like 7d", value_at)
        self.ws()
        if self.i != len(self.s):
            raise self.fail("unexpected text after the value")
        del op_at
        return Condition(self.s, left, op, right, pattern, validator)

    def _op_here(self, op: str) -> bool:
        if not self.s.startswith(op, self.i):
            return False
        if op[0].isalpha():  # a word operator must end at a word boundary
            end = self.i + len(op)
            return end == len(self.s) or not (self.s[end].isalnum() or self.s[end] == "_")
        return True

    def operand(self) -> Operand:
        if self.take("len("):
            self.ws()
            inner = self.operand()
            self.ws()
            if not self.take(")"):
                raise self.fail("expected ) to close len(")
            return Operand(inner.name, inner.path, length=True)
        start = self.i
        m = _PLACEHOLDER.match(self.s, self.i)
        if not m:
            raise self.fail("expected a placeholder like [STATUS] or [BODY]", start)
        name = m.group(1)
        if self.allowed is not None and name not in self.allowed:
            raise self.fail(f"unknown placeholder [{name}] (this monitor knows "
                            f"{', '.join('[' + a + ']' for a in sorted(self.allowed))})", start)
        self.i = m.end()
        path: list[str | int] = []
        while True:
            if self.take("."):
                f = _FIELD.match(self.s, self.i)
                if not f:
                    raise self.fail("expected a field name after .")
                path.append(f.group(0))
                self.i = f.end()
            elif self.s.startswith("[", self.i) and not self.s.startswith("[", self.i + 1):
                close = self.s.find("]", self.i)
                idx = self.s[self.i + 1: close] if close != -1 else ""
                if not re.fullmatch(r"-?\d+", idx):
                    raise self.fail("expected a list index like [0]")
                path.append(int(idx))
                self.i = close + 1
            else:
                return Operand(name, tuple(path))

    def value(self) -> Any:
        ch = self.s[self.i]
        if ch in "\"'":
            return self.string()
        if ch == "[":
            self.i += 1
            items: list[Any] = []
            self.ws()
            if self.take("]"):
                return items
            while True:
                self.ws()
                if self.i >= len(self.s):
                    raise self.fail("unterminated list")
                items.append(self.value())
                self.ws()
                if self.i >= len(self.s):
                    raise self.fail("unterminated list")
                if self.take("]"):
                    return items
                if not self.take(","):
                    raise self.fail("expected , or ] in the list")
        m = _BAREWORD.match(self.s, self.i)
        if not m:
            raise self.fail("expected a value")
        word = m.group(0)
        self.i = m.end()
        if _NUMBER.fullmatch(word):
            return float(word) if any(c in word for c in ".eE") else int(word)
        d = _DURATION.match(word)
        if d:
            return Duration(float(d.group(1)) * _UNITS[d.group(2)], word)
        return {"true": True, "false": False, "null": None}.get(word, word)

    def string(self) -> str:
        quote, start = self.s[self.i], self.i
        out: list[str] = []
        self.i += 1
        while self.i < len(self.s):
            ch = self.s[self.i]
            if ch == "\\" and self.i + 1 < len(self.s):
                out.append(self.s[self.i + 1])
                self.i += 2
                continue
            if ch == quote:
                self.i += 1
                return "".join(out)
            out.append(ch)
            self.i += 1
        raise self.fail("unterminated string", start)

    def json_value(self, at: int) -> Any:
        try:
            value, end = json.JSONDecoder().raw_decode(self.s, self.i)
        except ValueError as exc:
            raise self.fail(f"invalid JSON: {exc}", at) from None
        self.i = end
        return value


def parse_condition(text: str, allowed: Iterable[str] | None = None) -> Condition:
    """Parse once; raise InvalidConditionError with the 0-based position of the problem."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidConditionError("empty condition", condition=str(text), position=0,
                                    reason="empty condition")
    if len(text) > MAX_CONDITION_LENGTH:
        raise InvalidConditionError("condition too long", condition=text[:80] + "…",
                                    position=MAX_CONDITION_LENGTH, reason="condition too long")
    return _Parser(text.strip(), frozenset(allowed) if allowed is not None else None).parse()


def parse_conditions(texts: Sequence[str], allowed: Iterable[str] | None = None) -> list[Condition]:
    names = frozenset(allowed) if allowed is not None else None
    return [parse_condition(t, names) for t in texts]


def evaluate_all(conditions: Sequence[Condition], ctx: ConditionContext) -> list[ConditionResult]:
    return [c.evaluate(ctx) for c in conditions]


def all_ok(results: Sequence[ConditionResult]) -> bool:
    return all(r.ok for r in results)


def conditions_from_shorthand(valid_status_codes: Sequence[int] | None,
                              max_latency_ms: int | None) -> list[str]:
    """The plan's shorthands as conditions."""
    out: list[str] = []
    if valid_status_codes:
        codes = sorted(set(valid_status_codes))
        out.append(f"[STATUS] == {codes[0]}" if len(codes) == 1
                   else f"[STATUS] in [{', '.join(map(str, codes))}]")
    if max_latency_ms is not None:
        out.append(f"[RESPONSE_TIME] <= {max_latency_ms}")
    return out


@functools.lru_cache(maxsize=8192)
def cached_condition(text: str, allowed: frozenset[str] | None = None) -> Condition:
    """Parse once per distinct (text, placeholder set): monitors evaluate every check."""
    return parse_condition(text, allowed)


def evaluate_into(result: Any, conditions: Sequence[str], allowed: frozenset[str] | None,
                  values: ConditionContext | Mapping[str, Any]) -> None:
    """Evaluate into ``result.details['conditions']``; the first failure fails and explains."""
    if not conditions:
        return
    cctx = values if isinstance(values, ConditionContext) else ConditionContext(
        {k: v for k, v in values.items() if v is not None})
    outcomes = [cached_condition(t, allowed).evaluate(cctx) for t in conditions]
    result.details["conditions"] = [o.to_dict() for o in outcomes]
    failed = next((o for o in outcomes if not o.ok), None)
    if failed is not None and result.ok:
        result.ok = False
        result.error_code = "condition_failed"
        result.error = f"{failed.condition}: {failed.reason}"[:300]
