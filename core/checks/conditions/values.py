"""The values a condition sees: one check's measurements (ConditionContext), duration
literals, and one condition's outcome (ConditionResult)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from lighthouse.core.jsonsafe import JSON_MAX_DEPTH, json_depth

JSON_BODY_LIMIT: Final = 4 * 1024 * 1024  # a larger body is not parsed as JSON
MILLISECOND_PLACEHOLDERS: Final = frozenset({"RESPONSE_TIME"})
_MISSING: Final = object()


class _Unresolved(Exception):
    """An operand that does not resolve, or a type mismatch: the condition fails with this."""


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

    __slots__ = ("_body_cut_at", "_json", "_millis", "_text", "_values")

    def __init__(self, values: Mapping[str, Any] | None = None, /, *,
                 millisecond_names: Iterable[str] = MILLISECOND_PLACEHOLDERS,
                 body_cut_at: int | None = None, **more: Any) -> None:
        merged: dict[str, Any] = dict(values) if values is not None else {}
        merged.update(more)
        header = merged.get("HEADER")
        if isinstance(header, Mapping) and not isinstance(header, _Headers):
            merged["HEADER"] = _Headers(header)
        self._values = merged
        self._millis = frozenset(millisecond_names)
        self._text: str | None = None
        self._json: Any = _MISSING
        # The body went on past this many bytes and BODY holds only them: a JSON read that
        # fails then says so, instead of blaming the target for sending something not JSON.
        self._body_cut_at = body_cut_at

    @classmethod
    def for_http(cls, *, status: int | None = None, response_time_ms: float | None = None,
                 body: bytes | str | None = None, headers: Mapping[str, Any] | None = None,
                 cert_expiry: timedelta | None = None, body_cut_at: int | None = None,
                 **extra: Any) -> ConditionContext:
        """An HTTP check's values; an argument left as None is absent (not measured).
        ``body_cut_at``: the body was longer and ``body`` holds its first that many bytes."""
        values: dict[str, Any] = {"STATUS": status, "RESPONSE_TIME": response_time_ms,
                                  "BODY": body, "HEADER": headers, "CERT_EXPIRY": cert_expiry}
        values.update(extra)
        return cls({k: v for k, v in values.items() if v is not None}, body_cut_at=body_cut_at)

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
            if self._body_cut_at is not None:
                raise _Unresolved(f"the body is larger than {self._body_cut_at} bytes, the most "
                                  "read, so it is not whole JSON") from None
            raise _Unresolved("the body is not JSON") from None
        except RecursionError:
            raise _Unresolved(f"the body is JSON nested deeper than {JSON_MAX_DEPTH} levels") from None
