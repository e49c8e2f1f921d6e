"""The condition language, table-driven: true, false, malformed, unresolvable, bounded."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lighthouse.core.checks import conditions as cond_module
from lighthouse.core.checks.conditions import (
    JSON_BODY_LIMIT,
    JSON_MAX_DEPTH,
    MATCH_INPUT_LIMIT,
    OPERATORS,
    ConditionContext,
    ConditionResult,
    Duration,
    Operand,
    all_ok,
    cached_condition,
    conditions_from_shorthand,
    evaluate_all,
    evaluate_into,
    parse_condition,
    parse_conditions,
    quote,
)
from lighthouse.core.errors import InvalidConditionError, ValidationError
from multidict import CIMultiDict

BODY = (b'{"status": "ok", "data": {"items": [{"id": 42, "name": "a"}, {"id": 7}]}, "n": "12", '
        b'"price": 0.1, "big": 1000000000000000001, "flag": true, "none": null, '
        b'"tags": ["x", "y"], "a.b": 5}')
BODY_ACTUAL = BODY.decode()[:119] + "…"  # `actual` of a condition on the whole body
OPS = ", ".join(OPERATORS)


def http(**over: Any) -> ConditionContext:
    values: dict[str, Any] = {
        "status": 200, "response_time_ms": 120.0, "body": BODY,
        "headers": {"Content-Type": "application/json; charset=utf-8", "X-Version": "3"},
        "cert_expiry": timedelta(days=10),
    }
    values.update(over)
    return ConditionContext.for_http(**values)


def other() -> ConditionContext:
    """Values of the other monitor types: RPC, balance, TCP, DNS, canary steps."""
    return ConditionContext({
        "BLOCK_AGE": 12.5, "CHAIN_ID": 43113, "BALANCE": Decimal("0.25"),
        "BALANCE_RAW": 250000000000000000, "CONNECTED": True, "RCODE": "NOERROR",
        "ANSWERS": ["1.2.3.4", "5.6.7.8"], "STEP1": {"status": 200, "body": {"token": "abc", "n": 3}},
    })


# --- valid conditions: (condition, ok, actual, reason) -----------------------------------
HTTP_CASES = [
    ("[STATUS] == 200", True, "200", None),
    ("[STATUS]==200", True, "200", None),
    ("  [STATUS] == 200  ", True, "200", None),
    ("[STATUS] != 200", False, "200", "200 equals 200"),
    ("[STATUS] == 200.0", True, "200", None),
    ("[STATUS] < 400", True, "200", None),
    ("[STATUS] >= 500", False, "200", "200 is not >= 500"),
    ("[STATUS] in [200, 201, 202]", True, "200", None),
    ("[STATUS] in [500,503]", False, "200", "200 is not one of [500,503]"),
    ("[STATUS] not in [500, 503]", True, "200", None),
    ("[STATUS] not in [200]", False, "200", "200 is one of [200]"),
    ("[RESPONSE_TIME] < 500", True, "120.0", None),
    ("[RESPONSE_TIME] <= 100", False, "120.0", "120.0 is not <= 100"),
    ("[RESPONSE_TIME] < 1s", True, "120.0", None),  # RESPONSE_TIME is in milliseconds
    ("[RESPONSE_TIME] < 100ms", False, "120.0", "120.0 is not < 100ms"),
    ("[BODY].data.items[0].id == 42", True, "42", None),
    ("[BODY].data.items[-1].id == 7", True, "7", None),
    ("[BODY].data.items[ 1 ].id != 7", False, "7", "7 equals 7"),
    ('[BODY].status == "ok"', True, "ok", None),
    ("[BODY].status == 'ok'", True, "ok", None),
    ("[BODY].status == ok", True, "ok", None),
    ('[BODY].status != "down"', True, "ok", None),
    ('[BODY].status == "OK"', False, "ok", 'ok does not equal "OK"'),
    ('[BODY]["a.b"] == 5', True, "5", None),
    ("[BODY].n > 10", True, "12", None),  # a numeric string compares as a number
    ("[BODY].n == 12", True, "12", None),
    ('[BODY].data.items[0].id == "42"', True, "42", None),
    ("[BODY].price == 0.1", True, "0.1", None),  # exact decimals: 0.1 is 0.1
    ("[BODY].price >= 0.1", True, "0.1", None),
    ("[BODY].price > 0.1", False, "0.1", "0.1 is not > 0.1"),
    ("[BODY].big > 1000000000000000000", True, "1000000000000000001", None),
    ("[BODY].big == 1000000000000000000", False, "1000000000000000001",
     "1000000000000000001 does not equal 1000000000000000000"),
    ("[BODY].flag == true", True, "true", None),
    ("[BODY].flag == false", False, "true", "true does not equal false"),
    ("[BODY].none == null", True, "null", None),
    ("[BODY].status != null", True, "ok", None),
    ("[BODY].none != null", False, "null", "null equals null"),
    ('[BODY] contains "ok"', True, BODY_ACTUAL, None),
    ("[BODY] contains healthy", False, BODY_ACTUAL, "does not contain healthy"),
    ('[BODY] not contains "error"', True, BODY_ACTUAL, None),
    ('[BODY] not contains "status"', False, BODY_ACTUAL, 'contains "status"'),
    ("[BODY] contains 1000000000000000001", True, BODY_ACTUAL, None),
    ("[BODY].tags contains x", True, '["x", "y"]', None),
    ("[BODY].tags contains z", False, '["x", "y"]', "does not contain z"),
    ("[BODY].tags not contains z", True, '["x", "y"]', None),
    ("[BODY].data contains items", True, '{"items": [{"id": 42, "name": "a"}, {"id": 7}]}', None),
    ('[BODY] matches "^\\{\\"status\\""', True, BODY_ACTUAL, None),
    ('[BODY] matches "^OK.*$"', False, BODY_ACTUAL, 'does not match "^OK.*$"'),
    ('[BODY].status matches "^o[a-z]$"', True, "ok", None),
    ('[BODY].status not matches "^err"', True, "ok", None),
    ('[BODY].status not matches "^o"', False, "ok", 'matches "^o"'),
    ('[STATUS] matches "^2\\d\\d$"', True, "200", None),
    ("[HEADER].content-type contains json", True, "application/json; charset=utf-8", None),
    ("[HEADER].Content-Type contains JSON", False, "application/json; charset=utf-8",
     "does not contain JSON"),
    ("[HEADER].X-VERSION == 3", True, "3", None),
    ("[HEADER] contains x-version", True,
     '{"content-type": "application/json; charset=utf-8", "x-version": "3"}', None),
    ("[CERT_EXPIRY] > 7d", True, "10d", None),
    ("[CERT_EXPIRY] > 14d", False, "10d", "10d is not > 14d"),
    ("[CERT_EXPIRY] > 864000", False, "10d", "10d is not > 864000"),  # plain numbers: seconds
    ("[CERT_EXPIRY] >= 864000", True, "10d", None),
    ("[CERT_EXPIRY] < 1h30m", False, "10d", "10d is not < 1h30m"),
    ("[CERT_EXPIRY] == 240h", True, "10d", None),
    ("len([BODY].data.items) >= 1", True, "2", None),
    ("len( [BODY].data.items ) == 3", False, "2", "2 does not equal 3"),
    ("len([BODY]) < 10000", True, str(len(BODY)), None),
    ("len([BODY]) < 100", False, str(len(BODY)), f"{len(BODY)} is not < 100"),
    ("len([BODY].status) == 2", True, "2", None),
    ("len([BODY].data) == 1", True, "1", None),
    ("len([HEADER]) == 2", True, "2", None),
    ('[BODY] schema {"type": "object", "required": ["status"]}', True, BODY_ACTUAL, None),
    ('[BODY] schema {"type": "object", "required": ["missing"]}', False, BODY_ACTUAL,
     "schema: [BODY]: 'missing' is a required property"),
    ('[BODY].data schema {"type": "object", "properties": {"items": {"maxItems": 1}}}', False,
     '{"items": [{"id": 42, "name": "a"}, {"id": 7}]}',
     "schema: [BODY].data.items: [{'id': 42, 'name': 'a'}, {'id': 7}] is too long"),
    ('[BODY].data.items[0].id schema {"type": "integer", "minimum": 40}', True, "42", None),
    ('[BODY].status schema {"enum": ["ok", "degraded"]}', True, "ok", None),
    ('[BODY] schema {"properties": {"status": {"pattern": "^o+k$"}}}', True, BODY_ACTUAL, None),
    ('[BODY] schema {"properties": {"status": {"pattern": "^x"}}}', False, BODY_ACTUAL,
     "schema: [BODY].status: 'ok' does not match '^x'"),
    ('[BODY] schema {"patternProperties": {"^a\\\\.": {"type": "string"}}}', False, BODY_ACTUAL,
     "schema: [BODY][\"a.b\"]: 5 is not of type 'string'"),
    ('[BODY] schema {"$defs": {"s": {"const": "ok"}}, "properties": {"status": {"$ref": "#/$defs/s"}}}',
     True, BODY_ACTUAL, None),
]

OTHER_CASES = [
    ("[BLOCK_AGE] < 60", True, "12.5", None),
    ("[BLOCK_AGE] < 10s", False, "12.5", "12.5 is not < 10s"),  # plain numbers are seconds
    ("[BLOCK_AGE] < 1m", True, "12.5", None),
    ("[CHAIN_ID] == 43113", True, "43113", None),
    ("[CHAIN_ID] == 1", False, "43113", "43113 does not equal 1"),
    ("[BALANCE] > 0.1", True, "0.25", None),
    ("[BALANCE] >= 0.25", True, "0.25", None),
    ("[BALANCE] < 0.25", False, "0.25", "0.25 is not < 0.25"),
    ("[BALANCE_RAW] == 250000000000000000", True, "250000000000000000", None),
    ("[BALANCE_RAW] == 250000000000000001", False, "250000000000000000",
     "250000000000000000 does not equal 250000000000000001"),
    ("[CONNECTED] == true", True, "true", None),
    ("[CONNECTED] != true", False, "true", "true equals true"),
    ("[RCODE] == NOERROR", True, "NOERROR", None),
    ("[RCODE] == NXDOMAIN", False, "NOERROR", "NOERROR does not equal NXDOMAIN"),
    ("[RCODE] in [NOERROR, NXDOMAIN]", True, "NOERROR", None),
    ("[ANSWERS] contains 1.2.3.4", True, '["1.2.3.4", "5.6.7.8"]', None),
    ("[ANSWERS] contains 9.9.9.9", False, '["1.2.3.4", "5.6.7.8"]', "does not contain 9.9.9.9"),
    ("len([ANSWERS]) == 2", True, "2", None),
    ('[STEP1].body.token == "abc"', True, "abc", None),
    ("[STEP1].body.n >= 3", True, "3", None),
    ("[STEP1].status == 200", True, "200", None),
]


@pytest.mark.parametrize(("condition", "ok", "actual", "reason"), HTTP_CASES)
def test_http_conditions(condition: str, ok: bool, actual: str, reason: str | None) -> None:
    assert parse_condition(condition).evaluate(http()) == ConditionResult(
        condition.strip(), ok, actual, reason)


@pytest.mark.parametrize(("condition", "ok", "actual", "reason"), OTHER_CASES)
def test_other_monitor_types(condition: str, ok: bool, actual: str, reason: str | None) -> None:
    assert parse_condition(condition).evaluate(other()) == ConditionResult(condition, ok, actual, reason)


# --- malformed: (condition, position, reason) --------------------------------------------
MALFORMED = [
    ("", 0, "empty condition"),
    ("   ", 0, "empty condition"),
    ("[STATUS] = 200", 9, f"unknown operator '=' (use {OPS})"),
    ("[STATUS] => 200", 9, f"unknown operator '=>' (use {OPS})"),
    ("[STATUS] <> 200", 9, f"unknown operator '<>' (use {OPS})"),
    ("[STATUS] === 200", 9, f"unknown operator '===' (use {OPS})"),
    ("  [STATUS] = 200", 11, f"unknown operator '=' (use {OPS})"),  # offsets count leading spaces
    ("[BODY] includes x", 7, f"unknown operator 'includes' (use {OPS})"),
    ("[BODY] containsjson", 7, f"unknown operator 'containsjson' (use {OPS})"),
    ("[STATUS] 200", 9, f"expected an operator ({OPS})"),
    ("[STATUS]", 8, f"expected an operator ({OPS})"),
    ("[BODY] .status == 1", 7, f"expected an operator ({OPS})"),
    ("[BODY] not x", 11, "expected contains, matches or in after not"),
    ("[STATUS] ==", 11, "expected a value after =="),
    ("[STATUS] in   ", 14, "expected a value after in"),
    ('[BODY] contains "healthy', 16, "unterminated string"),
    ("[BODY].status == 'ok", 17, "unterminated string"),
    ('[BODY].status == "ok\\"', 17, "unterminated string"),
    ("STATUS == 200", 0, "expected a placeholder like [STATUS] or len([BODY])"),
    ("200 == [STATUS]", 0, "expected a placeholder like [STATUS] or len([BODY])"),
    ("len(STATUS) > 1", 4, "expected a placeholder like [STATUS] or len([BODY])"),
    ("[status] == 200", 0, "unknown placeholder [status]; placeholder names are upper-case, like [STATUS]"),
    ("[] == 1", 1, "expected a placeholder name like STATUS after ["),
    ("[STATUS == 200", 7, "expected ] to close the placeholder"),
    ("[BODY]. == 1", 7, "expected a field name after ."),
    ("[BODY].items[x] == 1", 12, 'expected a list index like [0] or a quoted key like ["name"]'),
    ("[BODY].items[0 == 1", 15, "expected ] to close the index"),
    ("len([BODY] > 1", 11, "expected ) to close len("),
    ('[BODY] matches "(unclosed"', 25, "invalid regular expression: missing )"),
    ('[BODY] matches ^OK', 15, 'matches needs a quoted regular expression, like "^OK"'),
    ('[BODY] not matches 5', 19, 'matches needs a quoted regular expression, like "^OK"'),
    ('[BODY] matches "' + "a" * 301 + '"', 15, "the regular expression is longer than 300 characters"),
    ("[BODY] schema [1, 2]", 14, "schema needs a JSON object"),
    ('[BODY] schema {"type": "nonsense"}', 14,
     "invalid JSON schema: 'nonsense' is not valid under any of the given schemas (at type)"),
    ('[BODY] schema {"properties": {"a": {"pattern": "(x"}}}', 14,
     "invalid JSON schema: '(x' is not a 'regex' (at properties/a/pattern)"),
    ("[BODY] schema {nope", 15, "invalid JSON: Expecting property name enclosed in double quotes"),
    ('[BODY] schema {"type": "object"', 31, "invalid JSON: Expecting ',' delimiter"),
    ('[BODY] schema {"$ref": "https://example.com/s.json"}', 14,
     "the schema may only refer to itself: $ref 'https://example.com/s.json' must start with #"),
    ('[BODY] schema {"type": "object"} extra', 33, "unexpected text after the value"),
    ("[STATUS] in 200", 12, "in needs a list like [200, 201]"),
    ("[STATUS] not in 200", 16, "not in needs a list like [200, 201]"),
    ("[STATUS] in []", 12, "the list is empty"),
    ("[STATUS] in [200, 201", 12, "unterminated list (no closing ])"),
    ("[STATUS] in [200 201]", 17, "expected , or ] in the list"),
    ("[STATUS] in [200, ]", 18, "expected a value"),
    ("[STATUS] in [[200]]", 13, "lists cannot be nested"),
    ("[STATUS] < fast", 11, "< needs a number or a duration like 7d"),
    ("[STATUS] >= true", 12, ">= needs a number or a duration like 7d"),
    ('[STATUS] < "5"', 11, "< needs a number or a duration like 7d"),
    ("len([BODY]) > 7d", 14, "len() counts items; compare it with a number"),
    ("[STATUS] == 200 extra", 16, "unexpected text after the value"),
    ('[BODY] contains "a" "b"', 20, "unexpected text after the value"),
    ("[STATUS] == [BODY].code", 12,
     "the right side must be a value; comparing two placeholders is not supported"),
    ("[STATUS] == [200, 201]", 12, "a list is only allowed after in or not in, not after =="),
    ("[BODY] contains [x]", 16, "a list is only allowed after in or not in, not after contains"),
]


@pytest.mark.parametrize(("condition", "position", "reason"), MALFORMED)
def test_malformed_is_refused_with_position(condition: str, position: int, reason: str) -> None:
    with pytest.raises(InvalidConditionError) as info:
        parse_condition(condition)
    assert info.value.code == "invalid_condition"
    assert info.value.params == {"condition": condition, "position": position, "reason": reason}
    assert str(info.value) == f"{reason} at position {position}"


def test_invalid_regex_position_points_into_the_pattern() -> None:
    with pytest.raises(InvalidConditionError) as info:
        parse_condition('[BODY] matches "^OK[a-"')
    assert info.value.params["position"] == 22  # the quote is at 15, the pattern starts at 16
    assert info.value.params["reason"] == "invalid regular expression: unterminated character set"


def test_too_long_and_not_text_are_refused() -> None:
    with pytest.raises(InvalidConditionError) as info:
        parse_condition("[STATUS] == " + "1" * 2000)
    assert info.value.params["position"] == 1000
    assert info.value.params["reason"] == "the condition is longer than 1000 characters"
    assert len(info.value.params["condition"]) == 1001
    with pytest.raises(InvalidConditionError) as info:
        parse_condition(None)  # type: ignore[arg-type]
    assert (info.value.params["position"], info.value.params["reason"]) == (0, "a condition must be text")


def test_placeholders_can_be_limited_per_monitor_type() -> None:
    with pytest.raises(InvalidConditionError) as info:
        parse_condition("  [BLOCK_AGE] < 60", allowed={"STATUS", "BODY"})
    assert info.value.params["position"] == 2
    assert info.value.params["reason"] == (
        "unknown placeholder [BLOCK_AGE] for this monitor (known: [BODY], [STATUS])")
    assert parse_condition("[BLOCK_AGE] < 60", allowed={"BLOCK_AGE"}).left == Operand("BLOCK_AGE")


def test_parse_conditions_names_the_bad_one() -> None:
    parsed = parse_conditions(["[STATUS] == 200", "[RESPONSE_TIME] < 1s"])
    assert [c.text for c in parsed] == ["[STATUS] == 200", "[RESPONSE_TIME] < 1s"]
    with pytest.raises(InvalidConditionError) as info:
        parse_conditions(["[STATUS] == 200", "[STATUS] => 200"])
    assert info.value.params == {"condition": "[STATUS] => 200", "position": 9,
                                 "reason": f"unknown operator '=>' (use {OPS})", "index": 1}


def test_the_tree() -> None:
    c = parse_condition("len([BODY].data[\"a b\"][0]) >= 1")
    assert (c.left, c.op, c.right, c.right_text) == (Operand("BODY", ("data", "a b", 0), True), ">=", 1, "1")
    assert c.left.text() == 'len([BODY].data["a b"][0])'
    c = parse_condition("[CERT_EXPIRY] > 1h30m")
    assert c.right == Duration(Decimal(5400), "1h30m")
    c = parse_condition("[BALANCE] > 0.10")
    assert (c.right, c.right_text) == (Decimal("0.10"), "0.10")
    c = parse_condition("[STATUS] not in [200, ok, 'x y', true, null, 1.5]")
    assert (c.op, c.right) == ("not in", (200, "ok", "x y", True, None, Decimal("1.5")))
    assert parse_condition("[BODY] CONTAINS x").op == "contains"
    assert parse_condition("[BODY].s == 'it\\'s'").right == "it's"


# --- operands that do not resolve, and type mismatches: they fail and say why ---------------
UNRESOLVED = [
    ("[BODY].missing == 1", BODY, None, "[BODY].missing does not exist"),
    ("[BODY].data.items[5].id == 1", BODY, None,
     "[BODY].data.items[5] is out of range (the list has 2 items)"),
    ("[BODY].data.items[-3].id == 1", BODY, None,
     "[BODY].data.items[-3] is out of range (the list has 2 items)"),
    ("[BODY].status.deep == 1", BODY, None, "[BODY].status is text, not an object"),
    ("[BODY].data.items.id == 1", BODY, None,
     "[BODY].data.items is a list, not an object; pick an item with [0]"),
    ("[BODY].data[0] == 1", BODY, None, "[BODY].data is an object, not a list"),
    ("len([BODY].data.items[0].id) > 0", BODY, None,
     "len() needs text, a list or an object; [BODY].data.items[0].id is a number"),
    ("[BODY].status == 1", BODY, "ok", "[BODY].status is text ('ok'), not a number"),
    ("[BODY].status > 1", BODY, "ok", "[BODY].status is text ('ok'), not a number"),
    ("[BODY].status != 1", BODY, "ok", "[BODY].status is text ('ok'), not a number"),
    ("[BODY].flag > 0", BODY, "true", "[BODY].flag is a boolean (true), not a number"),
    ("[BODY].none < 5", BODY, "null", "[BODY].none is null, not a number"),
    ('[BODY].flag == "true"', BODY, "true",
     "[BODY].flag is a boolean (true), not text; write true or false without quotes"),
    ("[BODY].status == true", BODY, "ok", "[BODY].status is text ('ok'), not a boolean"),
    ("[BODY].data == hello", BODY, '{"items": [{"id": 42, "name": "a"}, {"id": 7}]}',
     "[BODY].data is an object, not text; compare one of its fields or items, or use len(), "
     "contains or schema"),
    ("[BODY].data.items[0].id contains 4", BODY, "42",
     "contains needs text, a list or an object; [BODY].data.items[0].id is a number"),
    ('[BODY].data matches "x"', BODY, '{"items": [{"id": 42, "name": "a"}, {"id": 7}]}',
     "matches needs text; [BODY].data is an object"),
    ("[BODY].tags in [x, y]", BODY, '["x", "y"]', "in needs a single value; [BODY].tags is a list"),
    ("[BODY].status not in [1, 2]", BODY, "ok",
     "[BODY].status is text ('ok'); no item of [1, 2] is of that kind"),
    ("[BODY].tags not contains 5", BODY, '["x", "y"]', "[BODY].tags holds no item comparable with 5"),
    ("[BODY].x == 0", b"<html>not json</html>", None, "the body is not JSON"),
    ("[BODY].x == 0", b"  ", None, "the body is empty, not JSON"),
    ("[BODY] schema {}", b"<html>", None, "the body is not JSON"),
    ("[BODY][0] == 1", b"[" * 100_000 + b"]" * 100_000, None,
     "the body is JSON nested deeper than 256 levels"),
    ("[BODY].v == 1", b'{"v": NaN}', "nan", "[BODY].v is a non-finite number (nan), not a number"),
    ("[BODY].v > 1", b'{"v": Infinity}', "inf", "[BODY].v is a non-finite number (inf), not a number"),
]


@pytest.mark.parametrize(("condition", "body", "actual", "reason"), UNRESOLVED)
def test_unresolvable_operands_fail_closed_and_say_why(condition: str, body: bytes,
                                                       actual: str | None, reason: str) -> None:
    assert parse_condition(condition).evaluate(http(body=body)) == ConditionResult(
        condition, False, actual, reason)


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("[BALANCE] > 0.1", "[BALANCE] is not measured by this check"),
        ("[CERT_EXPIRY] > 7d", "[CERT_EXPIRY] is not measured by this check"),
        ("[STATUS] == 200", "[STATUS] is not measured by this check"),
        ("[BODY] contains ok", "[BODY] is not measured by this check"),
    ],
)
def test_placeholders_absent_from_a_check_fail(condition: str, reason: str) -> None:
    ctx = ConditionContext.for_http(response_time_ms=5.0)  # no status: the request failed
    assert parse_condition(condition).evaluate(ctx) == ConditionResult(condition, False, None, reason)


def test_type_mismatches_of_other_kinds_fail_closed() -> None:
    results = evaluate_all(parse_conditions([
        "[CERT_EXPIRY] == ok", "[STATUS] != ok", "[STATUS] == true", "[CONNECTED] == 1",
    ]), ConditionContext({"CERT_EXPIRY": timedelta(hours=1), "STATUS": 200, "CONNECTED": True}))
    assert [(r.ok, r.reason) for r in results] == [
        (False, "[CERT_EXPIRY] is a duration (1h), not text"),
        (False, "[STATUS] is a number (200), not text"),
        (False, "[STATUS] is a number (200), not a boolean"),
        (False, "[CONNECTED] is a boolean (true), not a number"),
    ]


# --- bounded work --------------------------------------------------------------------------
def test_huge_body_is_bounded() -> None:
    body = b"x" * MATCH_INPUT_LIMIT + b"NEEDLE" + b"y" * (8 * 1024 * 1024)
    ctx = http(body=body)
    started = time.perf_counter()
    results = evaluate_all(parse_conditions([
        "len([BODY]) > 1000", "[BODY] contains NEEDLE", '[BODY] matches "NEEDLE"', "[BODY].a == 1",
    ]), ctx)
    assert time.perf_counter() - started < 2
    assert [r.ok for r in results] == [True, True, False, False]
    assert results[0].actual == str(len(body))
    assert results[1].actual == "x" * 119 + "…"
    assert results[2].reason == f'does not match "NEEDLE" in its first {MATCH_INPUT_LIMIT} characters'
    assert results[3].reason == (f"the body is too large to read as JSON ({len(body)} bytes, "
                                 f"the limit is {JSON_BODY_LIMIT})")


def test_catastrophic_regex_is_cut_off() -> None:
    c = parse_condition('[BODY] matches "(a|aa)+$"')
    started = time.perf_counter()
    result = c.evaluate(http(body=b"a" * 5000 + b"!"))
    assert time.perf_counter() - started < 1
    assert result == ConditionResult(c.text, False, "a" * 119 + "…",
                                     "the regular expression took longer than 50 ms")
    negated = parse_condition('[BODY] not matches "(a|aa)+$"')
    assert negated.evaluate(http(body=b"a" * 5000 + b"!")).ok is False  # a timeout never passes


def test_catastrophic_schema_pattern_is_cut_off() -> None:
    c = parse_condition('[BODY] schema {"properties": {"s": {"pattern": "(a|aa)+$"}}}')
    body = json.dumps({"s": "a" * 5000 + "!"}).encode()
    started = time.perf_counter()
    result = c.evaluate(http(body=body))
    assert time.perf_counter() - started < 2
    assert (result.ok, result.reason) == (False, "the schema's regular expressions took longer than 200 ms")


def test_deep_json_is_refused_before_the_decoder_can_overflow_the_stack() -> None:
    # web3's dependencies raise the recursion limit to 100000 on import; the C decoder then
    # recurses until the process dies on such a body. The depth is checked before parsing.
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        c = parse_condition('[BODY] schema {"type": "array"}')
        deepest = b"[" * JSON_MAX_DEPTH + b"]" * JSON_MAX_DEPTH
        too_deep = b'["[[[[", ' + b"[" * JSON_MAX_DEPTH + b"]" * JSON_MAX_DEPTH + b"]"
        assert c.evaluate(http(body=deepest)).ok is True
        assert c.evaluate(http(body=b'["' + b"[" * 5000 + b'"]')).ok is True  # brackets in a string
        assert c.evaluate(http(body=too_deep)).reason == "the body is JSON nested deeper than 256 levels"
        assert c.evaluate(http(body=b"{" * 2_000_000)).reason == (
            "the body is JSON nested deeper than 256 levels")
    finally:
        sys.setrecursionlimit(previous)
    with pytest.raises(InvalidConditionError) as info:
        parse_condition('[BODY] schema {"enum": ' + "[" * 300 + "]" * 300 + "}")
    assert (info.value.params["position"], info.value.params["reason"]) == (
        14, "the schema is nested deeper than 256 levels")


def test_body_json_is_parsed_once_per_context(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = json.loads

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(json, "loads", counting)
    conditions = parse_conditions(["[BODY].status == ok", "len([BODY].data.items) == 2",
                                   '[BODY] schema {"type": "object"}', "[BODY].nope == 1"])
    ctx = http()
    assert [r.ok for r in evaluate_all(conditions, ctx)] == [True, True, True, False]
    assert [r.ok for r in evaluate_all(conditions, ctx)] == [True, True, True, False]
    assert len(calls) == 1
    bad = http(body=b"<html>")
    assert [r.reason for r in evaluate_all(conditions[:2], bad)] == ["the body is not JSON"] * 2
    assert len(calls) == 2


def test_a_parsed_condition_is_reused_across_contexts() -> None:
    c = parse_condition("[STATUS] in [200, 204]")
    assert [c.evaluate(http(status=s)).ok for s in (200, 204, 500)] == [True, True, False]
    assert cached_condition("[STATUS] == 200") is cached_condition("[STATUS] == 200")


# --- the context ---------------------------------------------------------------------------
def test_context_is_a_mapping_and_keeps_secrets_out_of_repr() -> None:
    ctx = http(body=b'{"token": "s3cret"}')
    assert sorted(ctx) == ["BODY", "CERT_EXPIRY", "HEADER", "RESPONSE_TIME", "STATUS"]
    assert ctx["STATUS"] == 200 and "BALANCE" not in ctx and ctx.get("BALANCE") is None
    assert ctx["HEADER"]["CONTENT-TYPE"] == "application/json; charset=utf-8"
    assert "s3cret" not in repr(ctx)
    assert repr(ctx) == "<ConditionContext ['BODY', 'CERT_EXPIRY', 'HEADER', 'RESPONSE_TIME', 'STATUS']>"


def test_repeated_headers_are_joined_and_names_case_insensitive() -> None:
    headers = CIMultiDict([("Set-Cookie", "a=1"), ("set-cookie", "b=2"), ("ETag", '"v1"')])
    ctx = ConditionContext.for_http(status=200, headers=headers)
    results = evaluate_all(parse_conditions([
        '[HEADER].set-cookie == "a=1, b=2"', '[HEADER].etag == "\\"v1\\""', "[HEADER] contains ETAG",
        "[HEADER].x-missing == 1",
    ]), ctx)
    assert [(r.ok, r.reason) for r in results] == [
        (True, None), (True, None), (True, None), (False, "[HEADER].x-missing does not exist")]


def test_durations_follow_the_unit_of_the_placeholder() -> None:
    plain = ConditionContext({"LATENCY": 1500})
    millis = ConditionContext({"LATENCY": 1500}, millisecond_names={"LATENCY"})
    c = parse_condition("[LATENCY] < 2s")
    assert (c.evaluate(plain).ok, c.evaluate(millis).ok) == (False, True)
    assert parse_condition("[LATENCY] == 1.5s").evaluate(millis).ok is True
    assert parse_condition("[AGE] < 1.5m").evaluate(ConditionContext(AGE=89.5)).ok is True
    age = ConditionContext(AGE=timedelta(seconds=0.75))
    assert parse_condition("[AGE] > 500ms").evaluate(age) == ConditionResult("[AGE] > 500ms", True, "0.75s")


def test_an_already_parsed_body_is_used_as_is() -> None:
    ctx = ConditionContext({"BODY": {"a": [1, 2]}})
    results = evaluate_all(parse_conditions(["[BODY].a[1] == 2", '[BODY] contains "\\"a\\""',
                                             '[BODY] schema {"required": ["a"]}']), ctx)
    assert [(r.ok, r.actual) for r in results] == [(True, "2"), (True, '{"a": [1, 2]}'),
                                                   (True, '{"a": [1, 2]}')]


def test_quote_round_trips() -> None:
    for text in ['say "hi"', "back\\slash", "line\nbreak\ttab", "it's", "\\d+"]:
        assert parse_condition(f"[BODY] contains {quote(text)}").right == text


# --- overall pass, evaluate_into, shorthands ------------------------------------------------
def test_evaluate_all_and_all_ok() -> None:
    results = evaluate_all(parse_conditions(["[STATUS] == 200", "[RESPONSE_TIME] < 100"]), http())
    assert results == [ConditionResult("[STATUS] == 200", True, "200", None),
                       ConditionResult("[RESPONSE_TIME] < 100", False, "120.0", "120.0 is not < 100")]
    assert all_ok(results) is False
    assert all_ok(results[:1]) is True
    assert all_ok([]) is True
    assert results[1].to_dict() == {"condition": "[RESPONSE_TIME] < 100", "ok": False,
                                    "actual": "120.0", "reason": "120.0 is not < 100"}


@dataclass
class _Result:
    ok: bool = True
    error_code: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def test_evaluate_into_fails_the_result_with_the_first_failure() -> None:
    result = _Result()
    evaluate_into(result, ["[CHAIN_ID] == 43113", "[BLOCK_AGE] < 5", "[LAG] < 3"],
                  frozenset({"CHAIN_ID", "BLOCK_AGE", "LAG"}),
                  {"CHAIN_ID": 43113, "BLOCK_AGE": 9, "LAG": None})
    assert (result.ok, result.error_code, result.error) == (
        False, "condition_failed", "[BLOCK_AGE] < 5: 9 is not < 5")
    assert [c["ok"] for c in result.details["conditions"]] == [True, False, False]
    assert result.details["conditions"][2]["reason"] == "[LAG] is not measured by this check"
    untouched = _Result()
    evaluate_into(untouched, [], None, {})
    assert untouched == _Result()


def test_shorthands() -> None:
    assert conditions_from_shorthand([200], 5000) == ["[STATUS] == 200", "[RESPONSE_TIME] <= 5000"]
    assert conditions_from_shorthand([202, 200, 201, 200], None) == ["[STATUS] in [200, 201, 202]"]
    assert conditions_from_shorthand(None, 250) == ["[RESPONSE_TIME] <= 250"]
    assert conditions_from_shorthand(None, None) == []
    assert conditions_from_shorthand([], None) == []
    conds = parse_conditions(conditions_from_shorthand([200, 301, 302], 5000))
    assert [r.ok for r in evaluate_all(conds, http(status=302, response_time_ms=5000.0))] == [True, True]
    assert [r.ok for r in evaluate_all(conds, http(status=404, response_time_ms=5000.5))] == [False, False]


@pytest.mark.parametrize(
    ("codes", "latency", "field_name"),
    [([700], None, "valid_status_codes"), ([True], None, "valid_status_codes"),
     (None, 0, "max_latency_ms"), (None, -5, "max_latency_ms")],
)
def test_shorthands_refuse_nonsense(codes: list[int] | None, latency: int | None, field_name: str) -> None:
    with pytest.raises(ValidationError) as info:
        conditions_from_shorthand(codes, latency)
    assert info.value.params["field"] == field_name


def test_the_module_does_no_io() -> None:
    package = Path(cond_module.__file__).parent  # the language is a package of modules
    for path in sorted(package.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for forbidden in ("import aiohttp", "import socket", "import asyncio", "open(", "requests"):
            assert forbidden not in source
