"""Comparing a resolved value with a literal (exactly, as decimals), and the short previews
of values shown in ``actual`` and in failure reasons."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

ACTUAL_MAX: Final = 120  # characters of `actual`

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


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
