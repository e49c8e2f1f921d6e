"""Table-driven tests for the condition language: true, false, malformed, unresolvable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lighthouse.core.checks.conditions import (
    ConditionContext,
    conditions_from_shorthand,
    evaluate_all,
    parse_condition,
)
from lighthouse.core.errors import InvalidConditionError

BODY = b'{"status": "ok", "data": {"items": [{"id": 42, "name": "a"}, {"id": 7}]}, "n": "12"}'


def ctx(**over: object) -> ConditionContext:
    values: dict[str, object] = dict(
        status=200, response_time_ms=120.0, body=BODY,
        headers={"Content-Type": "application/json; charset=utf-8", "X-Version": "3"},
        cert_expiry=timedelta(days=10),
    )
    values.update(over)
    return ConditionContext.for_http(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("condition", "ok", "actual"),
    [
        ("[STATUS] == 200", True, "200"),
        ("[STATUS] != 200", False, "200"),
        ("[STATUS] < 400", True, "200"),
        ("[STATUS] in [200, 201, 202]", True, "200"),
        ("[STATUS] in [500, 503]", False, "200"),
        ("[RESPONSE_TIME] < 500", True, "120.0"),
        ("[RESPONSE_TIME] <= 100", False, "120.0"),
        ("[BODY].data.items[0].id == 42", True, "42"),
        ("[BODY].data.items[-1].id == 7", True, "7"),
        ('[BODY].status == "ok"', True, "ok"),
        ("[BODY].status == ok", True, "ok"),
        ('[BODY] contains "ok"', True, None),
        ('[BODY] not contains "error"', True, None),
        ('[BODY] matches "^\\\\{\\"status\\""', True, None),
        ('[BODY] matches "^OK"', False, None),
        ("[HEADER].content-type contains json", True, "application/json; charset=utf-8"),
        ("[HEADER].X-VERSION == 3", True, "3"),
        ("[CERT_EXPIRY] > 7d", True, "10.00d"),
        ("[CERT_EXPIRY] > 14d", False, "10.00d"),
        ("len([BODY].data.items) >= 1", True, "2"),
        ("len([BODY].data.items) == 3", False, "2"),
        ("len([BODY]) < 10000", True, str(len(BODY))),
        ("[BODY].n > 10", True, "12"),
        ('[BODY] schema {"type": "object", "required": ["status"]}', True, None),
        ('[BODY].data schema {"type": "object", "properties": {"items": {"maxItems": 1}}}',
         False, None),
    ],
)
def test_evaluates(condition: str, ok: bool, actual: str | None) -> None:
    result = parse_condition(condition).evaluate(ctx())
    assert result.ok is ok, result
    if actual is not None:
        assert result.actual == actual
    assert (result.reason is None) is ok


@pytest.mark.parametrize(
    ("condition", "position", "reason"),
    [
        ("[STATUS] = 200", 9, "expected an operator"),
        ("[STATUS] ==", 11, "expected a value after the operator"),
        ('[BODY] contains "healthy', 16, "unterminated string"),
        ("STATUS == 200", 0, "expected a placeholder"),
        ("[status] == 200", 0, "expected a placeholder"),
        ("[BODY]. == 1", 7, "expected a field name"),
        ("[BODY].items[x] == 1", 12, "expected a list index"),
        ("len([BODY] > 1", 11, "expected ) to close len("),
        ('[BODY] matches "(unclosed"', 15, "invalid regular expression"),
        ("[BODY] schema [1, 2]", 14, "schema needs a JSON object"),
        ('[BODY] schema {"type": "nonsense"}', 14, "invalid JSON schema"),
        ("[BODY] schema {nope", 14, "invalid JSON"),
        ("[STATUS] in 200", 12, "in needs a list"),
        ("[STATUS] < fast", 11, "< needs a number or a duration"),
        ("[STATUS] == 200 extra", 16, "unexpected text after the value"),
        ("[STATUS] in [200, 201", 21, "unterminated list"),
        ("", 0, "empty condition"),
    ],
)
def test_malformed_is_refused_with_position(condition: str, position: int, reason: str) -> None:
    with pytest.raises(InvalidConditionError) as info:
        parse_condition(condition)
    assert info.value.code == "invalid_condition"
    assert info.value.params["position"] == position
    assert info.value.params["reason"].startswith(reason)


def test_unknown_placeholder_for_a_type_is_refused() -> None:
    with pytest.raises(InvalidConditionError) as info:
        parse_condition("[BLOCK_AGE] < 60", allowed={"STATUS", "BODY"})
    assert info.value.params["position"] == 0
    assert "[BLOCK_AGE]" in info.value.params["reason"]
    assert parse_condition("[BLOCK_AGE] < 60", allowed={"BLOCK_AGE"}).left.name == "BLOCK_AGE"


def test_too_long_is_refused() -> None:
    with pytest.raises(InvalidConditionError):
        parse_condition("[STATUS] == " + "1" * 2000)


@pytest.mark.parametrize(
    ("condition", "body", "reason"),
    [
        ("[BODY].missing == 1", BODY, "[BODY].missing is missing"),
        ("[BODY].data.items[5].id == 1", BODY, "[BODY].data.items[5] is out of range (length 2)"),
        ("[BODY].status.deep == 1", BODY, "[BODY].status is not an object"),
        ("[BODY].data.items.id == 1", BODY, "[BODY].data.items is not an object"),
        ("[BODY].status == 1", BODY, "left side is 'ok', not a number"),
        ("[BODY].status > 1", BODY, "left side is 'ok', not a number"),
        ("[BODY].x == 0", b"<html>not json</html>", "the body is not JSON"),
        ("len([BODY].data.items[0].id) > 0", BODY, "len() of int is undefined"),
        ("[BODY].data == hello", BODY, "cannot compare dict with text"),
        ("[BALANCE] > 0.1", BODY, "[BALANCE] is not measured by this check"),
    ],
)
def test_unresolvable_operands_fail_closed_and_say_why(condition: str, body: bytes,
                                                       reason: str) -> None:
    result = parse_condition(condition).evaluate(ctx(body=body))
    assert result.ok is False
    assert result.reason == reason


def test_other_types_placeholders_and_literals() -> None:
    c = ConditionContext({"BLOCK_AGE": 12.5, "CHAIN_ID": 43113, "CONNECTED": True,
                          "RCODE": "NOERROR", "ANSWERS": ["1.2.3.4", "5.6.7.8"],
                          "STEP1": {"body": {"token": "abc"}}})
    results = evaluate_all([parse_condition(t) for t in (
        "[BLOCK_AGE] < 60", "[CHAIN_ID] == 43113", "[CONNECTED] == true", "[RCODE] == NOERROR",
        "[ANSWERS] contains 1.2.3.4", '[STEP1].body.token == "abc"', "[CONNECTED] == false",
    )], c)
    assert [r.ok for r in results] == [True, True, True, True, True, True, False]


def test_long_actual_values_are_truncated() -> None:
    result = parse_condition('[BODY] contains "zzz"').evaluate(ctx(body=b"x" * 5000))
    assert result.actual is not None and len(result.actual) == 120 and result.actual.endswith("…")


def test_shorthands() -> None:
    assert conditions_from_shorthand([200], 5000) == ["[STATUS] == 200", "[RESPONSE_TIME] <= 5000"]
    assert conditions_from_shorthand([202, 200, 201], None) == ["[STATUS] in [200, 201, 202]"]
    assert conditions_from_shorthand(None, None) == []
