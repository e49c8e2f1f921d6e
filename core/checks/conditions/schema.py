"""The ``schema`` operator's JSON Schema (Draft 2020-12): its ``pattern`` keywords run on
the ``regex`` engine under one time budget (jsonschema would run them on ``re``, which has
no time limit), and a ``$ref`` outside the schema itself is refused (nothing is fetched)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Final

import regex  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as SchemaViolation
from lighthouse.core.checks.conditions.compare import _preview
from lighthouse.core.checks.conditions.values import _Unresolved

SCHEMA_TIMEOUT_S: Final = 0.2  # for all the `pattern` keywords of one schema evaluation

_SCHEMA_DEADLINE: ContextVar[float | None] = ContextVar("lighthouse_schema_deadline", default=None)


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
