"""The parser: a condition's text to a Condition, once (the grammar is in the package's
docstring). A malformed condition raises InvalidConditionError with the 0-based position
of the problem."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final

import regex  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lighthouse.core.checks.conditions.compare import _NUMBER, _parse_number
from lighthouse.core.checks.conditions.schema import _remote_reference, _SchemaValidator
from lighthouse.core.checks.conditions.tree import (
    _EQUALITY,
    _FIELD,
    _ORDERING,
    OPERATORS,
    Condition,
    Operand,
)
from lighthouse.core.checks.conditions.values import Duration
from lighthouse.core.errors import InvalidConditionError
from lighthouse.core.jsonsafe import JSON_MAX_DEPTH, json_depth

MAX_CONDITION_LENGTH: Final = 1000
MAX_PATTERN_LENGTH: Final = 300

_SYMBOL_OPERATORS = _EQUALITY | _ORDERING
_WORD_OPERATORS = frozenset({"contains", "matches", "in", "schema"})
_NEGATABLE = frozenset({"contains", "matches", "in"})
_OPERATOR_LIST = ", ".join(OPERATORS)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UPPER_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_INDEX = re.compile(r"-?\d+")
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


@functools.lru_cache(maxsize=8192)
def cached_condition(text: str, allowed: frozenset[str] | None = None) -> Condition:
    """Parse once per distinct (text, placeholder set): monitors evaluate every check."""
    return parse_condition(text, allowed)


def quote(text: str) -> str:
    """``text`` as a double-quoted string literal of the condition language."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'
