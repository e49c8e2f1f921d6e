"""Conditions as the check types use them: the HTTP shorthands written as conditions, and
a check's conditions evaluated into its result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lighthouse.core.checks.conditions.parser import cached_condition
from lighthouse.core.checks.conditions.values import ConditionContext
from lighthouse.core.errors import ValidationError


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
