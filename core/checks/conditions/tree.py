"""A parsed condition, its left side (Operand), operator and literal, and its evaluation
against a ConditionContext (failing closed, as the package's docstring says)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from lighthouse.core.checks.conditions.compare import (
    _any_equal,
    _describe,
    _equal,
    _kind,
    _number,
    _preview,
)
from lighthouse.core.checks.conditions.schema import _SCHEMA_DEADLINE, SCHEMA_TIMEOUT_S
from lighthouse.core.checks.conditions.values import (
    _MISSING,
    ConditionContext,
    ConditionResult,
    Duration,
    _Unresolved,
)

MATCH_INPUT_LIMIT: Final = 64 * 1024  # characters a `matches` pattern sees
MATCH_TIMEOUT_S: Final = 0.05  # per `matches` evaluation
OPERATORS: Final = ("==", "!=", "<", "<=", ">", ">=", "contains", "not contains",
                    "matches", "not matches", "in", "not in", "schema")

_EQUALITY = frozenset({"==", "!="})
_ORDERING = frozenset({"<", "<=", ">", ">="})
_FIELD = re.compile(r"[A-Za-z0-9_$-]+")


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


def evaluate_all(conditions: Iterable[Condition], ctx: ConditionContext) -> list[ConditionResult]:
    return [c.evaluate(ctx) for c in conditions]


def all_ok(results: Iterable[ConditionResult]) -> bool:
    """Whether the check passes: every condition holds (true for no conditions)."""
    return all(r.ok for r in results)
