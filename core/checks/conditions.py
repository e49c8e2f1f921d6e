"""The condition language: what "up" means for a monitor, one line per condition.

    [STATUS] == 200                         [RESPONSE_TIME] < 500
    [STATUS] in [200, 201, 202]             [RESPONSE_TIME] < 1.5s
    [BODY].data.items[0].id == 42           [BODY].status == "ok"
    [BODY] contains "healthy"               [BODY] matches "^OK.*$"
    [HEADER].content-type contains json     [CERT_EXPIRY] > 7d
    len([BODY].data.items) >= 1             len([BODY]) < 10000
    [BODY] schema {"type": "object", "required": ["status"]}
    [BLOCK_AGE] < 60s   [CHAIN_ID] == 43113   [STEP1].body.token != null   [RCODE] == NOERROR

Grammar (spaces are allowed between tokens)::

    condition   := operand operator value
    operand     := reference | "len(" reference ")"
    reference   := "[" NAME "]" segment*               NAME := [A-Z][A-Z0-9_]*
    segment     := "." FIELD | "[" INTEGER "]" | "[" STRING "]"    FIELD := [A-Za-z0-9_$-]+
    operator    := "==" | "!=" | "<" | "<=" | ">" | ">="
                 | ["not"] "contains" | ["not"] "matches" | ["not"] "in" | "schema"
    value       := scalar                              (==, !=, contains: any scalar)
                 | NUMBER | DURATION                   (<, <=, >, >=)
                 | STRING                              (matches: a regular expression)
                 | "[" scalar ("," scalar)* "]"        (in, not in: a non-empty list)
                 | JSON object                         (schema: JSON Schema, Draft 2020-12)
    scalar      := STRING | NUMBER | DURATION | true | false | null | BAREWORD
    STRING      := "..." or '...'; \\" \\' \\\\ \\n \\t \\r are escapes, any other \\x stays as written
    NUMBER      := -?digits[.digits][(e|E)[+-]digits]            (compared exactly, as decimals)
    DURATION    := (digits[.digits] unit)+, unit ms|s|m|h|d      (7d, 1h30m, 500ms)
    BAREWORD    := a run without spaces, quotes, brackets or commas; it is a string (json, NOERROR)

Word operators and true/false/null are case-insensitive; placeholder names are upper-case.

Semantics: a condition is parsed once (a malformed one raises InvalidConditionError with
the 0-based position of the problem) and evaluated against each check's values, held in a
ConditionContext. Evaluation fails closed: an operand that does not resolve (a missing
field, an index out of range, a body that is not JSON, a placeholder this check does not
measure) or a value of the wrong type (text where a number is needed, a list compared with
a string) fails the condition with a reason; nothing silently becomes 0, "" or false.

* [BODY] alone is the body as text; [BODY] followed by a path reads the body as JSON
  (parsed at most once per context; refused above JSON_BODY_LIMIT bytes or JSON_MAX_DEPTH
  levels). [HEADER] names are case-insensitive; repeated headers are joined with ", ".
* ``==``/``!=`` compare numbers as exact decimals (numeric text counts as a number), text
  with text, booleans with booleans; ``!= null`` means "present and not null".
* Durations compare with timedelta values (CERT_EXPIRY) and with plain numbers, read as
  seconds, or as milliseconds for the names in ``millisecond_names`` (RESPONSE_TIME).
* ``matches`` (a search, anchor with ^ and $) runs on the ``regex`` engine with a time
  limit and sees at most the first MATCH_INPUT_LIMIT characters; the ``pattern`` keywords
  of a ``schema`` share a time budget too. Running out of time fails the condition.
* A schema may only ``$ref`` into itself (nothing is fetched): this module does no I/O.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

import regex  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as SchemaViolation
from lighthouse.core.errors import InvalidConditionError, ValidationError
from lighthouse.core.jsonsafe import JSON_MAX_DEPTH, json_depth

__all__ = [
    "ACTUAL_MAX",
    "JSON_BODY_LIMIT",
    "JSON_MAX_DEPTH",
    "MATCH_INPUT_LIMIT",
    "MATCH_TIMEOUT_S",
    "MAX_CONDITION_LENGTH",
    "MAX_PATTERN_LENGTH",
    "MILLISECOND_PLACEHOLDERS",
    "OPERATORS",
    "SCHEMA_TIMEOUT_S",
    "Condition",
    "ConditionContext",
    "ConditionResult",
    "Duration",
    "Operand",
    "all_ok",
    "cached_condition",
    "conditions_from_shorthand",
    "evaluate_all",
    "evaluate_into",
    "parse_condition",
    "parse_conditions",
    "quote",
]

MAX_CONDITION_LENGTH: Final = 1000
MAX_PATTERN_LENGTH: Final = 300
MATCH_INPUT_LIMIT: Final = 64 * 1024  # characters a `matches` pattern sees
MATCH_TIMEOUT_S: Final = 0.05  # per `matches` evaluation
SCHEMA_TIMEOUT_S: Final = 0.2  # for all the `pattern` keywords of one schema evaluation
JSON_BODY_LIMIT: Final = 4 * 1024 * 1024  # a larger body is not parsed as JSON
ACTUAL_MAX: Final = 120  # characters of `actual`
MILLISECOND_PLACEHOLDERS: Final = frozenset({"RESPONSE_TIME"})
OPERATORS: Final = ("==", "!=", "<", "<=", ">", ">=", "contains", "not contains",
                    "matches", "not matches", "in", "not in", "schema")

_EQUALITY = frozenset({"==", "!="})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_SYMBOL_OPERATORS = _EQUALITY | _ORDERING
_WORD_OPERATORS = frozenset({"contains", "matches", "in", "schema"})
_NEGATABLE = frozenset({"contains", "matches", "in"})
_OPERATOR_LIST = ", ".join(OPERATORS)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UPPER_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_FIELD = re.compile(r"[A-Za-z0-9_$-]+")
_INDEX = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": Decimal("0.001"), "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600),
                 "d": Decimal(86400)}
_BAREWORD = re.compile(r"[^\s,\[\]\"']+")
_SYMBOLS = re.compile(r"[=!<>~]+")
_WORD = re.compile(r"[A-Za-z_]+")
_REFERENCE_AHEAD = re.compile(r"\[[A-Z][A-Z0-9_]*\]")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}
_LITERAL_WORDS: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_MISSING: Final = object()


class _Unresolved(Exception):
    """An operand that does not resolve, or a type mismatch: the condition fails with this."""


# --- values -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Duration:
    """A duration literal (``7d``, ``1h30m``, ``500ms``): exact seconds and the source text."""

    seconds: Decimal
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition's outcome: ``actual`` is the resolved left value (truncated)."""

    condition: str
    ok: bool
    actual: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.condition, "ok": self.ok, "actual": self.actual,
                "reason": self.reason}


class _Headers(Mapping[str, str]):
    """Header values by case-insensitive name; repeated headers are joined with ", "."""

    __slots__ = ("_items",)

    def __init__(self, headers: Mapping[str, Any]) -> None:
        items: dict[str, str] = {}
        for name, value in headers.items():
            key = str(name).lower()
            items[key] = f"{items[key]}, {value}" if key in items else str(value)
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<headers {sorted(self._items)}>"


class ConditionContext(Mapping[str, Any]):
    """The values one check measured, by placeholder name (a read-only mapping).

    Any name may be present: STATUS (int), RESPONSE_TIME (milliseconds), BODY (bytes or
    str, read as JSON lazily and at most once; an already parsed dict or list is used as
    is), HEADER (a mapping, made case-insensitive), CERT_EXPIRY (timedelta), BLOCK_AGE,
    CHAIN_ID, BALANCE, STEP1... A name that is absent fails the conditions that use it.
    Plain numbers under ``millisecond_names`` are milliseconds when compared with a
    duration literal; other plain numbers are seconds.
    """

    __slots__ = ("_json", "_millis", "_text", "_values")

    def __init__(self, values: Mapping[str, Any] | None = None, /, *,
                 millisecond_names: Iterable[str] = MILLISECOND_PLACEHOLDERS,
                 **more: Any) -> None:
        merged: dict[str, Any] = dict(values) if values is not None else {}
        merged.update(more)
        header = merged.get("HEADER")
        if isinstance(header, Mapping) and not isinstance(header, _Headers):
            merged["HEADER"] = _Headers(header)
        self._values = merged
        self._millis = frozenset(millisecond_names)
        self._text: str | None = None
        self._json: Any = _MISSING

    @classmethod
    def for_http(cls, *, status: int | None = None, response_time_ms: float | None = None,
                 body: bytes | str | None = None, headers: Mapping[str, Any] | None = None,
                 cert_expiry: timedelta | None = None, **extra: Any) -> ConditionContext:
        """An HTTP check's values; an argument left as None is absent (not measured)."""
        values: dict[str, Any] = {"STATUS": status, "RESPONSE_TIME": response_time_ms,
                                  "BODY": body, "HEADER": headers, "CERT_EXPIRY": cert_expiry}
        values.update(extra)
        return cls({k: v for k, v in values.items() if v is not None})

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:  # names only: bodies and headers may hold secrets
        return f"<ConditionContext {sorted(self._values)}>"

    def in_milliseconds(self, name: str) -> bool:
        return name in self._millis

    def _lookup(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise _Unresolved(f"[{name}] is not measured by this check") from None

    def _body_text(self) -> str:
        if self._text is None:
            body = self._lookup("BODY")
            if isinstance(body, bytes | bytearray | memoryview):
                self._text = bytes(body).decode("utf-8", "replace")
            elif isinstance(body, str):
                self._text = body
            elif isinstance(body, dict | list):
                self._text = json.dumps(body, ensure_ascii=False, default=str)
            else:
                self._text = str(body)
        return self._text

    def _body_json(self) -> Any:
        if self._json is _MISSING:
            try:
                self._json = self._parse_body()
            except _Unresolved as exc:
                self._json = exc
        if isinstance(self._json, _Unresolved):
            raise _Unresolved(*self._json.args)  # a fresh one: no traceback piles up
        return self._json

    def _parse_body(self) -> Any:
        body = self._lookup("BODY")
        if isinstance(body, dict | list):
            return body
        raw: bytes | str = bytes(body) if isinstance(body, bytearray | memoryview) else body
        if not isinstance(raw, bytes | str):
            raise _Unresolved("the body is not JSON")
        if len(raw) > JSON_BODY_LIMIT:
            unit = "bytes" if isinstance(raw, bytes) else "characters"
            raise _Unresolved(f"the body is too large to read as JSON ({len(raw)} {unit}, "
                              f"the limit is {JSON_BODY_LIMIT})")
        if not raw.strip():
            raise _Unresolved("the body is empty, not JSON")
        if json_depth(raw) > JSON_MAX_DEPTH:
            raise _Unresolved(f"the body is JSON nested deeper than {JSON_MAX_DEPTH} levels")
        try:
            return json.loads(raw)
        except ValueError:
            raise _Unresolved("the body is not JSON") from None
        except RecursionError:
            raise _Unresolved(f"the body is JSON nested deeper than {JSON_MAX_DEPTH} levels") from None


# --- the tree ---------------------------------------------------------------------------
def _segment_text(step: str | int) -> str:
    if isinstance(step, int):
        return f"[{step}]"
    return f".{step}" if _FIELD.fullmatch(step) else f"[{json.dumps(step)}]"


@dataclass(frozen=True, slots=True)
class Operand:
    """The left side: a placeholder, a path of fields and indexes into it, maybe len()."""

    name: str
    path: tuple[str | int, ...] = ()
    length: bool = False

    def text(self, upto: int | None = None) -> str:
        path = self.path if upto is None else self.path[:upto]
        ref = f"[{self.name}]" + "".join(_segment_text(s) for s in path)
        return f"len({ref})" if self.length and upto is None else ref

    def resolve(self, ctx: ConditionContext) -> Any:
        """The value, or _Unresolved saying why there is none."""
        if self.name == "BODY":
            value: Any = ctx._body_json() if self.path else ctx._body_text()
        else:
            value = ctx._lookup(self.name)
        for i, step in enumerate(self.path):
            if isinstance(step, int):
                if not isinstance(value, list | tuple):
                    raise _Unresolved(f"{self.text(i)} is {_kind(value)}, not a list")
                if not -len(value) <= step < len(value):
                    items = "1 item" if len(value) == 1 else f"{len(value)} items"
                    raise _Unresolved(f"{self.text(i + 1)} is out of range (the list has {items})")
                value = value[step]
            else:
                if not isinstance(value, Mapping):
                    hint = "; pick an item with [0]" if isinstance(value, list | tuple) else ""
                    raise _Unresolved(f"{self.text(i)} is {_kind(value)}, not an object{hint}")
                found = value.get(step, _MISSING)
                if found is _MISSING:
                    raise _Unresolved(f"{self.text(i + 1)} does not exist")
                value = found
        if self.length:
            if isinstance(value, str | bytes | list | tuple | Mapping):
                return len(value)
            raise _Unresolved(f"len() needs text, a list or an object; "
                              f"{self.text(len(self.path))} is {_kind(value)}")
        return value


_SCHEMA_DEADLINE: ContextVar[float | None] = ContextVar("lighthouse_schema_deadline", default=None)


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """A parsed condition; reusable and cheap to evaluate. Build it with parse_condition."""

    text: str
    left: Operand
    op: str
    right: Any  # str | int | Decimal | bool | None | Duration | tuple[scalar, ...] | dict
    right_text: str
    _needle: str = field(default="", repr=False)  # contains: the right side as text
    _pattern: Any = field(default=None, repr=False)  # matches: compiled regex
    _validator: Any = field(default=None, repr=False)  # schema: jsonschema validator

    def __str__(self) -> str:
        return self.text

    def evaluate(self, ctx: ConditionContext) -> ConditionResult:
        left = self.left
        try:
            if self.op == "schema" and left.name == "BODY" and not left.path and not left.length:
                value: Any = ctx._body_json()
                actual = _preview(ctx._body_text())
            else:
                value = left.resolve(ctx)
                actual = _preview(value)
        except _Unresolved as exc:
            return ConditionResult(self.text, False, None, str(exc))
        try:
            failure = self._check(value, ctx)
        except _Unresolved as exc:
            return ConditionResult(self.text, False, actual, str(exc))
        except RecursionError:
            return ConditionResult(self.text, False, actual, "the value is nested too deeply")
        return ConditionResult(self.text, failure is None, actual, failure)

    def _check(self, value: Any, ctx: ConditionContext) -> str | None:
        """None when the condition holds, else the reason it does not."""
        op = self.op
        if op in _EQUALITY:
            equal = _equal(value, self._right_for(value, ctx))
            if equal is None:
                raise _Unresolved(self._mismatch(value))
            if equal == (op == "=="):
                return None
            return f"{_preview(value)} {'does not equal' if op == '==' else 'equals'} {self.right_text}"
        if op in _ORDERING:
            a = _number(value)
            if a is None:
                raise _Unresolved(f"{self.left.text()} is {_describe(value)}, not a number")
            b = self._right_for(value, ctx)
            if op == "<":
                ok = a < b
            elif op == "<=":
                ok = a <= b
            elif op == ">":
                ok = a > b
            else:
                ok = a >= b
            return None if ok else f"{_preview(value)} is not {op} {self.right_text}"
        if op == "contains" or op == "not contains":
            found = self._contains(value)
            if found == (op == "contains"):
                return None
            return f"{'does not contain' if op == 'contains' else 'contains'} {self.right_text}"
        if op == "matches" or op == "not matches":
            return self._matches(value, op == "matches")
        if op == "in" or op == "not in":
            if isinstance(value, list | tuple | Mapping):
                raise _Unresolved(f"{op} needs a single value; {self.left.text()} is {_kind(value)}")
            member = _any_equal(_equal(value, item) for item in self.right)
            if member is None:
                raise _Unresolved(f"{self.left.text()} is {_describe(value)}; no item of "
                                  f"{self.right_text} is of that kind")
            if member == (op == "in"):
                return None
            return f"{_preview(value)} is {'not ' if op == 'in' else ''}one of {self.right_text}"
        return self._schema(value)

    def _right_for(self, value: Any, ctx: ConditionContext) -> Any:
        right = self.right
        if isinstance(right, Duration):
            if isinstance(value, timedelta) or not ctx.in_milliseconds(self.left.name):
                return right.seconds
            return right.seconds * 1000
        return right

    def _mismatch(self, value: Any) -> str:
        right = self.right
        if isinstance(right, bool):
            wanted = "a boolean"
        elif isinstance(right, int | Decimal | Duration):
            wanted = "a number"
        else:
            wanted = "text"
        hint = ""
        if isinstance(value, bool) and isinstance(right, str):
            hint = "; write true or false without quotes"
        elif isinstance(value, list | tuple | Mapping):
            hint = "; compare one of its fields or items, or use len(), contains or schema"
        return f"{self.left.text()} is {_describe(value)}, not {wanted}{hint}"

    def _contains(self, value: Any) -> bool:
        if isinstance(value, str):
            return self._needle in value
        if isinstance(value, bytes | bytearray):
            return self._needle.encode() in value
        if isinstance(value, list | tuple):
            found = _any_equal(_equal(item, self.right) for item in value)
            if found is None:
                raise _Unresolved(f"{self.left.text()} holds no item comparable with "
                                  f"{self.right_text}")
            return found
        if isinstance(value, Mapping):
            return self._needle in value
        raise _Unresolved(f"contains needs text, a list or an object; {self.left.text()} "
                          f"is {_kind(value)}")

    def _matches(self, value: Any, want: bool) -> str | None:
        if isinstance(value, str):
            text = value
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            text = _preview(value)
        else:
            raise _Unresolved(f"matches needs text; {self.left.text()} is {_kind(value)}")
        try:
            found = self._pattern.search(text, 0, MATCH_INPUT_LIMIT,
                                         timeout=MATCH_TIMEOUT_S) is not None
        except TimeoutError:
            raise _Unresolved(f"the regular expression took longer than "
                              f"{MATCH_TIMEOUT_S * 1000:.0f} ms") from None
        if found == want:
            return None
        scope = f" in its first {MATCH_INPUT_LIMIT} characters" if len(text) > MATCH_INPUT_LIMIT else ""
        return f"{'does not match' if want else 'matches'} {self.right_text}{scope}"

    def _schema(self, value: Any) -> str | None:
        token = _SCHEMA_DEADLINE.set(time.monotonic() + SCHEMA_TIMEOUT_S)
        try:
            error = next(iter(self._validator.iter_errors(value)), None)
        finally:
            _SCHEMA_DEADLINE.reset(token)
        if error is None:
            return None
        where = self.left.text() + "".join(_segment_text(p) for p in error.absolute_path)
        message = str(error.message)
        if len(message) > 200:
            message = message[:199] + "…"
        return f"schema: {where}: {message}"


# --- comparisons ------------------------------------------------------------------------
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if (isinstance(value, float) and not math.isfinite(value)) or (
            isinstance(value, Decimal) and not value.is_finite()):
        return "a non-finite number"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, timedelta):
        return "a duration"
    if isinstance(value, bytes | bytearray):
        return "bytes"
    return f"a {type(value).__name__}"


def _describe(value: Any) -> str:
    """The kind of a value, with a short preview for text: ``text ('ok')``."""
    if isinstance(value, str):
        return f"text ({_preview(value, 40)!r})"
    if isinstance(value, bool | int | float | Decimal | timedelta):
        return f"{_kind(value)} ({_preview(value, 40)})"
    return _kind(value)


def _parse_number(text: str) -> int | Decimal:
    if "." not in text and "e" not in text and "E" not in text:
        try:
            return int(text)
        except ValueError:  # more digits than int() accepts from text
            return Decimal(text)
    return Decimal(text)


def _seconds(value: timedelta) -> int | Decimal:
    whole = value.days * 86400 + value.seconds
    return whole if not value.microseconds else whole + Decimal(value.microseconds).scaleb(-6)


def _number(value: Any) -> int | Decimal | None:
    """An exact number for comparing, or None when the value is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, timedelta):
        return _seconds(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) <= 400 and _NUMBER.fullmatch(text):
            return _parse_number(text)
    return None


def _equal(left: Any, right: Any) -> bool | None:
    """Whether left equals the literal right; None when their types cannot be compared."""
    if right is None:
        return left is None
    if isinstance(right, bool):
        if isinstance(left, bool):
            return left is right
        if isinstance(left, str) and left.strip().lower() in ("true", "false"):
            return (left.strip().lower() == "true") is right
        return None
    if isinstance(right, int | Decimal):
        number = _number(left)
        return None if number is None else number == right
    if isinstance(right, str):
        if isinstance(left, str):
            return left == right
        if isinstance(left, bytes | bytearray):
            return bytes(left) == right.encode()
        if isinstance(left, int | float | Decimal) and not isinstance(left, bool):
            number, wanted = _number(left), _number(right)
            return None if number is None or wanted is None else number == wanted
        return None
    return None


def _any_equal(outcomes: Iterable[bool | None]) -> bool | None:
    """True if any comparison is; None if there were some and none could compare."""
    seen = comparable = False
    for equal in outcomes:
        if equal:
            return True
        seen = True
        comparable = comparable or equal is not None
    return False if comparable or not seen else None


def _preview(value: Any, limit: int = ACTUAL_MAX) -> str:
    """A short text for a value: JSON-like for containers, never longer than ``limit``."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes | bytearray):
        text = bytes(value[: limit * 4]).decode("utf-8", "replace")
    elif value is None or isinstance(value, bool):
        text = json.dumps(value)
    elif isinstance(value, int):
        text = str(value) if value.bit_length() < 4000 else f"an integer of {value.bit_length()} bits"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, timedelta):
        text = _format_timedelta(value)
    elif isinstance(value, list | tuple | Mapping):
        text = _container_preview(value, limit)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _container_preview(value: Any, limit: int) -> str:
    parts: list[str] = []
    size = 0

    def emit(piece: str) -> bool:
        nonlocal size
        parts.append(piece)
        size += len(piece)
        return size <= limit

    def walk(item: Any, depth: int) -> bool:
        if isinstance(item, Mapping | list | tuple) and depth > 32:
            return emit("…")
        if isinstance(item, Mapping):
            if not emit("{"):
                return False
            for n, (key, sub) in enumerate(item.items()):
                if (n and not emit(", ")) or not emit(json.dumps(str(key)[:limit]) + ": "):
                    return False
                if not walk(sub, depth + 1):
                    return False
            return emit("}")
        if isinstance(item, list | tuple):
            if not emit("["):
                return False
            for n, sub in enumerate(item):
                if (n and not emit(", ")) or not walk(sub, depth + 1):
                    return False
            return emit("]")
        if isinstance(item, str):
            return emit(json.dumps(item[:limit], ensure_ascii=False))
        return emit(_preview(item, limit))

    walk(value, 0)
    return "".join(parts)


def _format_timedelta(value: timedelta) -> str:
    total = value.total_seconds()
    sign, total = ("-", -total) if total < 0 else ("", total)
    if total < 60:
        return f"{sign}{total:.3f}".rstrip("0").rstrip(".") + "s"
    whole = int(total)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    units = ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
    return sign + "".join(f"{n}{u}" for n, u in units if n)


# --- JSON Schema with bounded regular expressions ----------------------------------------
@functools.lru_cache(maxsize=512)
def _schema_regex(pattern: str) -> Any:
    return regex.compile(pattern)


def _schema_search(pattern: str, text: str) -> bool:
    deadline = _SCHEMA_DEADLINE.get()
    remaining = SCHEMA_TIMEOUT_S if deadline is None else deadline - time.monotonic()
    too_slow = f"the schema's regular expressions took longer than {SCHEMA_TIMEOUT_S * 1000:.0f} ms"
    if remaining <= 0:
        raise _Unresolved(too_slow)
    try:
        return _schema_regex(pattern).search(text, timeout=remaining) is not None
    except TimeoutError:
        raise _Unresolved(too_slow) from None
    except regex.error:
        raise _Unresolved(f"the schema's pattern {pattern!r} is not usable") from None


def _pattern_keyword(validator: Any, pattern: str, instance: Any,
                     schema: Any) -> Iterator[SchemaViolation]:
    if validator.is_type(instance, "string") and not _schema_search(pattern, instance):
        yield SchemaViolation(f"{_preview(instance, 60)!r} does not match {pattern!r}")


def _pattern_properties_keyword(validator: Any, patterns: Mapping[str, Any], instance: Any,
                                schema: Any) -> Iterator[SchemaViolation]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _schema_search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_SchemaValidator: Any = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern_keyword, "patternProperties": _pattern_properties_keyword},
)


def _remote_reference(schema: Any) -> str | None:
    """The first $ref that does not point inside the schema itself, if any."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and isinstance(value, str) \
                        and not value.startswith("#"):
                    return value
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return None


# --- the parser -------------------------------------------------------------------------
def _refused(condition: str, position: int, reason: str) -> InvalidConditionError:
    return InvalidConditionError(f"{reason} at position {position}", condition=condition,
                                 position=position, reason=reason)


class _Parser:
    __slots__ = ("allowed", "i", "s")

    def __init__(self, text: str, allowed: frozenset[str] | None) -> None:
        self.s = text
        self.i = 0
        self.allowed = allowed

    def error(self, reason: str, at: int | None = None) -> InvalidConditionError:
        return _refused(self.s, self.i if at is None else at, reason)

    def skip_spaces(self) -> None:
        s, i = self.s, self.i
        while i < len(s) and s[i].isspace():
            i += 1
        self.i = i

    def at_end(self) -> bool:
        return self.i >= len(self.s)

    def parse(self) -> Condition:
        self.skip_spaces()
        left = self.operand()
        self.skip_spaces()
        op = self.operator()
        self.skip_spaces()
        if self.at_end():
            raise self.error(f"expected a value after {op}")
        start = self.i
        needle, pattern, validator = "", None, None
        if op in _EQUALITY:
            self.refuse_list(op)
            right, right_text = self.scalar()
        elif op in _ORDERING:
            right, right_text = self.scalar()
            if isinstance(right, bool) or not isinstance(right, int | Decimal | Duration):
                raise self.error(f"{op} needs a number or a duration like 7d", start)
            if left.length and isinstance(right, Duration):
                raise self.error("len() counts items; compare it with a number", start)
        elif op in ("contains", "not contains"):
            self.refuse_list(op)
            right, right_text = self.scalar()
            needle = right_text if not isinstance(right, str) else right
            if right is None or isinstance(right, bool):
                needle = json.dumps(right)
        elif op in ("matches", "not matches"):
            right, right_text, pattern = self.regular_expression(op)
        elif op in ("in", "not in"):
            right, right_text = self.value_list(op)
        else:
            right, validator = self.schema()
            right_text = self.s[start:self.i]
        self.skip_spaces()
        if not self.at_end():
            raise self.error("unexpected text after the value")
        return Condition(self.s.strip(), left, op, right, right_text, needle, pattern, validator)

    # left side
    def operand(self) -> Operand:
        s = self.i
        if self.s.startswith("len", s):
            j = s + 3
            while j < len(self.s) and self.s[j].isspace():
                j += 1
            if j < len(self.s) and self.s[j] == "(":
                self.i = j + 1
                self.skip_spaces()
                inner = self.reference()
                self.skip_spaces()
                if not self.s.startswith(")", self.i):
                    raise self.error("expected ) to close len(")
                self.i += 1
                return Operand(inner.name, inner.path, length=True)
        return self.reference()

    def reference(self) -> Operand:
        start = self.i
        if not self.s.startswith("[", start):
            raise self.error("expected a placeholder like [STATUS] or len([BODY])", start)
        m = _NAME.match(self.s, start + 1)
        if m is None:
            raise self.error("expected a placeholder name like STATUS after [", start + 1)
        name = m.group(0)
        if not self.s.startswith("]", m.end()):
            raise self.error("expected ] to close the placeholder", m.end())
        if not _UPPER_NAME.fullmatch(name):
            raise self.error(f"unknown placeholder [{name}]; placeholder names are upper-case, "
                             f"like [{name.upper()}]", start)
        if self.allowed is not None and name not in self.allowed:
            known = sorted(self.allowed)
            shown = ", ".join(f"[{k}]" for k in known[:10]) + (", …" if len(known) > 10 else "")
            raise self.error(f"unknown placeholder [{name}] for this monitor (known: {shown})", start)
        self.i = m.end() + 1
        path: list[str | int] = []
        while not self.at_end():
            ch = self.s[self.i]
            if ch == ".":
                self.i += 1
                f = _FIELD.match(self.s, self.i)
                if f is None:
                    raise self.error("expected a field name after .")
                path.append(f.group(0))
                self.i = f.end()
            elif ch == "[":
                path.append(self.segment())
            else:
                break
        return Operand(name, tuple(path))

    def segment(self) -> str | int:
        open_at = self.i
        self.i += 1
        self.skip_spaces()
        if not self.at_end() and self.s[self.i] in "\"'":
            step: str | int = self.string()
        else:
            m = _INDEX.match(self.s, self.i)
            if m is None:
                raise self.error('expected a list index like [0] or a quoted key like ["name"]',
                                 open_at)
            step = int(m.group(0))
            self.i = m.end()
        self.skip_spaces()
        if not self.s.startswith("]", self.i):
            raise self.error("expected ] to close the index")
        self.i += 1
        return step

    # operator
    def operator(self) -> str:
        start = self.i
        m = _SYMBOLS.match(self.s, start)
        if m is not None:
            token = m.group(0)
            if token not in _SYMBOL_OPERATORS:
                raise self.error(f"unknown operator {token!r} (use {_OPERATOR_LIST})", start)
            self.i = m.end()
            return token
        m = _WORD.match(self.s, start)
        if m is None:
            raise self.error(f"expected an operator ({_OPERATOR_LIST})", start)
        word = m.group(0).lower()
        self.i = m.end()
        if word == "not":
            self.skip_spaces()
            after = _WORD.match(self.s, self.i)
            if after is None or after.group(0).lower() not in _NEGATABLE:
                raise self.error("expected contains, matches or in after not")
            self.i = after.end()
            return f"not {after.group(0).lower()}"
        if word not in _WORD_OPERATORS:
            raise self.error(f"unknown operator {m.group(0)!r} (use {_OPERATOR_LIST})", start)
        return word

    # right side
    def refuse_list(self, op: str) -> None:
        if self.s.startswith("[", self.i):
            if _REFERENCE_AHEAD.match(self.s, self.i):
                raise self.error("the right side must be a value; comparing two placeholders "
                                 "is not supported")
            raise self.error(f"a list is only allowed after in or not in, not after {op}")

    def scalar(self) -> tuple[Any, str]:
        start = self.i
        if self.s[start] in "\"'":
            value = self.string()
            return value, self.s[start:self.i]
        if self.s[start] in "[],":
            raise self.error("expected a value")
        m = _BAREWORD.match(self.s, start)
        if m is None:  # pragma: no cover - every other character starts a bareword
            raise self.error("expected a value")
        word = m.group(0)
        self.i = m.end()
        if _NUMBER.fullmatch(word):
            return _parse_number(word), word
        if _DURATION.fullmatch(word):
            seconds = sum((Decimal(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(word)),
                          Decimal(0))
            return Duration(seconds, word), word
        lowered = word.lower()
        if lowered in _LITERAL_WORDS:
            return _LITERAL_WORDS[lowered], lowered
        return word, word

    def string(self) -> str:
        quote_char, start = self.s[self.i], self.i
        out: list[str] = []
        i = self.i + 1
        s = self.s
        while i < len(s):
            ch = s[i]
            if ch == "\\" and i + 1 < len(s):
                nxt = s[i + 1]
                out.append(_ESCAPES.get(nxt, ch + nxt))
                i += 2
                continue
            if ch == quote_char:
                self.i = i + 1
                return "".join(out)
            out.append(ch)
            i += 1
        raise self.error("unterminated string", start)

    def regular_expression(self, op: str) -> tuple[str, str, Any]:
        start = self.i
        if self.s[start] not in "\"'":
            raise self.error(f'{op.split()[-1]} needs a quoted regular expression, like "^OK"')
        pattern = self.string()
        source = self.s[start:self.i]
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise self.error(f"the regular expression is longer than {MAX_PATTERN_LENGTH} "
                             "characters", start)
        try:
            compiled = regex.compile(pattern)
        except regex.error as exc:
            where = start
            if len(source) == len(pattern) + 2 and isinstance(exc.pos, int):  # no escapes
                where = start + 1 + exc.pos
            raise self.error(f"invalid regular expression: {exc.msg}", where) from None
        except (OverflowError, RecursionError, ValueError):
            raise self.error("invalid regular expression: too complex", start) from None
        return pattern, source, compiled

    def value_list(self, op: str) -> tuple[tuple[Any, ...], str]:
        open_at = self.i
        if not self.s.startswith("[", open_at):
            raise self.error(f"{op} needs a list like [200, 201]", open_at)
        self.i += 1
        items: list[Any] = []
        while True:
            self.skip_spaces()
            if self.at_end():
                raise self.error("unterminated list (no closing ])", open_at)
            if self.s[self.i] == "]" and not items:
                raise self.error("the list is empty", open_at)
            if self.s[self.i] == "[":
                raise self.error("lists cannot be nested")
            items.append(self.scalar()[0])
            self.skip_spaces()
            if self.at_end():
                raise self.error("unterminated list (no closing ])", open_at)
            if self.s[self.i] == "]":
                self.i += 1
                return tuple(items), self.s[open_at:self.i]
            if self.s[self.i] != ",":
                raise self.error("expected , or ] in the list")
            self.i += 1

    def schema(self) -> tuple[dict[str, Any], Any]:
        start = self.i
        if json_depth(self.s[start:]) > JSON_MAX_DEPTH:
            raise self.error(f"the schema is nested deeper than {JSON_MAX_DEPTH} levels", start)
        try:
            schema, end = json.JSONDecoder().raw_decode(self.s, start)
        except json.JSONDecodeError as exc:
            raise self.error(f"invalid JSON: {exc.msg}", exc.pos) from None
        except RecursionError:
            raise self.error("the schema is nested too deeply", start) from None
        if not isinstance(schema, dict):
            raise self.error("schema needs a JSON object", start)
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            raise self.error(f"invalid JSON schema: {exc.message}" + (f" (at {where})" if where else ""),
                             start) from None
        remote = _remote_reference(schema)
        if remote is not None:
            raise self.error(f"the schema may only refer to itself: $ref {remote!r} must start "
                             "with #", start)
        self.i = end
        return schema, _SchemaValidator(schema)


# --- public API -------------------------------------------------------------------------
def parse_condition(text: str, allowed: Iterable[str] | None = None) -> Condition:
    """Parse one condition once; ``allowed`` limits the placeholder names (None: any).

    Raises InvalidConditionError with params ``position`` (0-based, into ``condition``),
    ``condition`` and ``reason``.
    """
    if not isinstance(text, str):
        raise _refused(repr(text)[:80], 0, "a condition must be text")
    if len(text) > MAX_CONDITION_LENGTH:
        raise _refused(text[:MAX_CONDITION_LENGTH] + "…", MAX_CONDITION_LENGTH,
                       f"the condition is longer than {MAX_CONDITION_LENGTH} characters")
    if not text.strip():
        raise _refused(text, 0, "empty condition")
    names = allowed if allowed is None or isinstance(allowed, frozenset) else frozenset(allowed)
    return _Parser(text, names).parse()


def parse_conditions(texts: Sequence[str], allowed: Iterable[str] | None = None) -> list[Condition]:
    """Parse a list; an error also carries ``index``, the position of the bad condition."""
    names = allowed if allowed is None or isinstance(allowed, frozenset) else frozenset(allowed)
    out: list[Condition] = []
    for index, text in enumerate(texts):
        try:
            out.append(parse_condition(text, names))
        except InvalidConditionError as exc:
            raise InvalidConditionError(str(exc), **exc.params, index=index) from None
    return out


def evaluate_all(conditions: Iterable[Condition], ctx: ConditionContext) -> list[ConditionResult]:
    return [c.evaluate(ctx) for c in conditions]


def all_ok(results: Iterable[ConditionResult]) -> bool:
    """Whether the check passes: every condition holds (true for no conditions)."""
    return all(r.ok for r in results)


def quote(text: str) -> str:
    """``text`` as a double-quoted string literal of the condition language."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def conditions_from_shorthand(valid_status_codes: Sequence[int] | None,
                              max_latency_ms: int | None) -> list[str]:
    """The plan's HTTP shorthands as conditions: valid_status_codes and max_latency_ms.

    ``None`` or an empty list adds nothing. Raises ValidationError (``field``) for a status
    code outside 100-599 or a latency that is not a positive whole number.
    """
    out: list[str] = []
    if valid_status_codes:
        for code in valid_status_codes:
            if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
                raise ValidationError("invalid status code", field="valid_status_codes",
                                      reason="range", value=code)
        codes = sorted(set(valid_status_codes))
        out.append(f"[STATUS] == {codes[0]}" if len(codes) == 1
                   else f"[STATUS] in [{', '.join(map(str, codes))}]")
    if max_latency_ms is not None:
        if isinstance(max_latency_ms, bool) or not isinstance(max_latency_ms, int) \
                or max_latency_ms <= 0:
            raise ValidationError("invalid latency", field="max_latency_ms", reason="range",
                                  value=max_latency_ms)
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
